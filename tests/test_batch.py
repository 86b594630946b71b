"""esr1calls batch: manifests and directories, parallel workers, failures isolated, re-runs."""

from __future__ import annotations

import contextlib
import csv
import errno
import gzip
import io
import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from esr1calls.batch import (
    COHORT_TABLES,
    RUNNERS,
    BatchJob,
    _fingerprint,
    read_manifest,
)
from esr1calls.reports.options import ReportOptions
from esr1calls.testing import TESTDATA

PLATES = TESTDATA / "plates"
DEMO_MAP = PLATES / "esr1_demo_platemap.csv"
PANEL_TSV = Path(__file__).resolve().parents[1] / "esr1calls" / "data" / "hotspots.tsv"
EXAMPLE_KIT_FILE = PANEL_TSV.parent / "kits" / "esr1-11-arms-example.toml"


def _rows(path):
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


@pytest.fixture
def workdir(tmp_path):
    """Two good plates, a plate map, and three bad inputs."""
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(PLATES / "generic" / "esr1_demo_generic.csv", data / "plate1.csv")
    shutil.copy(PLATES / "quantstudio" / "esr1_demo_quantstudio.txt", data / "plate2.txt")
    shutil.copy(DEMO_MAP, data / "platemap.csv")
    (data / "notes.txt").write_text("not a plate\n")
    vcf = TESTDATA / "vcf" / "mutect2" / "esr1_tumour_normal.vcf"
    shutil.copy(vcf, data / "tumour.vcf")
    shutil.copy(TESTDATA / "bam" / "plasma_07.umi.bam", data / "plasma.bam")
    shutil.copy(TESTDATA / "bam" / "plasma_07.umi.bam.csi", data / "plasma.bam.csi")
    raw = gzip.compress(vcf.read_bytes())
    (data / "truncated.vcf.gz").write_bytes(raw[: len(raw) // 2])
    return data


def _manifest(workdir, rows):
    path = workdir / "manifest.tsv"
    path.write_text("id\ttype\tinputs\tplate_map\tkit\tsample\toptions\n" +
                    "".join("\t".join(r) + "\n" for r in rows))  # fmt: skip
    return path


GOOD = [["run1", "pcr", "plate1.csv", "platemap.csv", "", "", ""],
        ["run2", "pcr", "plate2.txt", "platemap.csv", "", "", "format=quantstudio"],
        ["plasma", "ngs", "tumour.vcf", "", "", "", "panel=default"],
        ["umi_bam", "ngs", "plasma.bam", "", "", "", "umi=true min_family_size=1"]]  # fmt: skip
BAD = [["unknown", "pcr", "notes.txt", "platemap.csv", "", "", ""],
       ["missing", "ngs", "absent.vcf.gz", "", "", "", ""],
       ["truncated", "ngs", "truncated.vcf.gz", "", "", "", ""]]  # fmt: skip


def test_bad_inputs_never_stop_the_good_ones(workdir, tmp_path, run_cli):
    manifest = _manifest(workdir, [GOOD[0], *BAD, GOOD[1], GOOD[2], GOOD[3]])
    out = tmp_path / "out"
    result = run_cli(["batch", manifest, "-o", out, "-j", "2"])
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (
        f"esr1calls: error: 3 of 7 input(s) failed; see {out / 'batch_errors.tsv'}"
    )
    jobs = {r["job_id"]: r for r in _rows(out / "batch_jobs.tsv")}
    expected = {"run1": "done", "run2": "done", "plasma": "done", "umi_bam": "done",
                "unknown": "failed", "missing": "failed", "truncated": "failed"}  # fmt: skip
    assert {k: v["state"] for k, v in jobs.items()} == expected
    errors = {r["job_id"]: r["error"] for r in _rows(out / "batch_errors.tsv")}
    assert errors["unknown"].startswith("notes.txt: not a recognised plate export")
    assert (
        errors["missing"] == "absent.vcf.gz: no such file; check the path in manifest.tsv, line 4"
    )
    assert errors["truncated"].startswith("truncated.vcf.gz")
    assert len(errors["truncated"].splitlines()) == 1
    samples = _rows(out / "samples.tsv")
    assert len(samples) == 20  # both good plates (nine samples each), the VCF and the BAM sample
    assert {s["job_id"] for s in samples} == {"run1", "run2", "plasma", "umi_bam"}
    umi_calls = [r for r in _rows(out / "calls.tsv") if r["job_id"] == "umi_bam"]
    assert len(umi_calls) == 11 and all(int(r["depth"]) > 0 for r in umi_calls)
    assert (out / "plasma" / "calls.json").is_file()
    # nothing half-written: failed jobs left no report, no temporary files anywhere
    assert not (out / "unknown").exists() and not (out / "truncated" / "calls.json").exists()
    assert not [p for p in out.rglob("*.tmp")]


def test_parallel_and_serial_give_the_same_cohort(workdir, tmp_path, run_cli):
    manifest = _manifest(workdir, GOOD)
    for jobs in ("1", "2"):
        assert run_cli(["batch", manifest, "-o", tmp_path / jobs, "-j", jobs,
                        "--reproducible"]).exit_code == 0  # fmt: skip
    for name in ("samples.tsv", "calls.tsv"):
        assert (tmp_path / "1" / name).read_text() == (tmp_path / "2" / name).read_text()


def test_up_to_date_inputs_are_skipped_by_content(workdir, tmp_path, run_cli):
    manifest = _manifest(workdir, GOOD)
    out = tmp_path / "out"
    assert run_cli(["batch", manifest, "-o", out]).exit_code == 0
    result = run_cli(["batch", manifest, "-o", out])
    assert "4 up to date" in result.stderr
    assert len(_rows(out / "samples.tsv")) == 20  # cohort still complete
    # a changed input (same name, new content) is recomputed
    text = (workdir / "plate1.csv").read_text()
    (workdir / "plate1.csv").write_text(text.replace("28.28", "28.31", 1))
    result = run_cli(["batch", manifest, "-o", out])
    assert "1 done, 3 up to date" in result.stderr


def test_directory_scan_by_content(workdir, tmp_path, run_cli):
    out = tmp_path / "out"
    result = run_cli(["batch", workdir, "-o", out])
    jobs = {r["job_id"]: r["state"] for r in _rows(out / "batch_jobs.tsv")}
    assert jobs == {"plate1": "done", "plate2": "done", "tumour": "done", "plasma": "done",
                    "truncated": "failed"}  # fmt: skip
    assert result.exit_code == 1
    assert "skipped notes.txt" in result.stderr
    skipped = [r["inputs"] for r in _rows(out / "batch_errors.tsv")]
    assert "notes.txt" in skipped and "manifest.tsv" not in jobs


def test_directory_scan_joins_a_samples_reads_and_its_vcf(tmp_path, run_cli):
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(TESTDATA / "bam" / "plasma_07.umi.bam", data / "plasma_07.bam")
    shutil.copy(TESTDATA / "bam" / "plasma_07.umi.bam.csi", data / "plasma_07.bam.csi")
    (data / "plasma_07.vcf").write_text(
        "##fileformat=VCFv4.2\n##contig=<ID=chr6,length=170805979>\n"
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
    )
    out = tmp_path / "out"
    run_cli(["batch", data, "-o", out])
    (job,) = _rows(out / "batch_jobs.tsv")
    assert job["job_id"] == "plasma_07"
    assert job["inputs"].split(";") == [str(data / "plasma_07.bam"), str(data / "plasma_07.vcf")]


def test_directory_plate_without_a_plate_map_fails_that_job(tmp_path, run_cli):
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(PLATES / "generic" / "esr1_demo_generic.csv", data / "plate1.csv")
    result = run_cli(["batch", data, "-o", tmp_path / "out"])
    assert result.exit_code == 1
    (error,) = _rows(tmp_path / "out" / "batch_errors.tsv")
    assert "no plate map: add plate1.platemap.csv or platemap.csv" in error["error"]


def test_malformed_manifest_rows_are_job_errors(workdir, tmp_path):
    manifest = _manifest(workdir, [["x", "qpcr", "plate1.csv", "", "", "", ""],
                                   ["y", "pcr", "plate1.csv", "", "", "", ""]])  # fmt: skip
    problems = [job.problem for job in read_manifest(manifest)]
    assert problems == ["type 'qpcr' is not one of pcr, ngs, dpcr", "a pcr job needs a plate_map"]


def test_manifest_without_required_columns_is_an_error(tmp_path, run_cli):
    manifest = tmp_path / "m.tsv"
    manifest.write_text("id\tfiles\nx\ty\n")
    result = run_cli(["batch", manifest, "-o", tmp_path / "out"])
    assert result.exit_code == 1
    assert result.stderr.strip().startswith(
        "esr1calls: error: m.tsv, line 1: column type, inputs is missing"
    )


def test_format_flags_are_written_in_every_job_directory(workdir, tmp_path, run_cli):
    manifest = _manifest(workdir, GOOD)
    out = tmp_path / "out"
    assert run_cli(["batch", manifest, "-o", out, "-j", "2"]).exit_code == 0
    result = run_cli(["batch", manifest, "-o", out, "-j", "2", "--fhir", "--vcf", "--multiqc"])
    assert result.exit_code == 0, result.stderr
    assert "4 done" in result.stderr  # the formats are part of each job's fingerprint
    optional = {"calls.fhir.json", "detected.vcf"}
    multiqc = {"esr1calls_calls_mqc.json", "esr1calls_general_stats_mqc.json"}
    for job in ("run1", "run2", "plasma", "umi_bam"):
        assert optional <= {p.name for p in (out / job).iterdir()}, job
        # MultiQC: one pair for the batch, in OUTDIR, never one per job (multiqc OUTDIR would
        # find every job's S1 under one name and keep one)
        assert not multiqc & {p.name for p in (out / job).iterdir()}, job
    assert multiqc <= {p.name for p in out.iterdir()}
    # and back without them: the earlier run's files do not stay beside the new calls
    result = run_cli(["batch", manifest, "-o", out, "-j", "2"])
    assert "4 done" in result.stderr, result.stderr
    for job in ("run1", "run2", "plasma", "umi_bam"):
        assert not optional & {p.name for p in (out / job).iterdir()}, job
    assert not multiqc & {p.name for p in out.iterdir()}


def test_batch_multiqc_keeps_every_sample_of_two_plates_and_names_every_run(
    workdir, tmp_path, run_cli
):
    """Two plates with samples S1..S9 each: 18 MultiQC rows, JOB:SAMPLE, and one description
    naming both jobs with their inputs and the placeholder kit; a failed job is named too."""
    manifest = _manifest(workdir, [GOOD[0], GOOD[1], BAD[0]])
    out = tmp_path / "out"
    result = run_cli(["batch", manifest, "-o", out, "-j", "1", "--multiqc"])
    assert result.exit_code == 1, result.stderr  # the bad row, not MultiQC
    table = json.loads((out / "esr1calls_calls_mqc.json").read_text())
    general = json.loads((out / "esr1calls_general_stats_mqc.json").read_text())
    expected = [f"{job}:S{n}" for job in ("run1", "run2") for n in range(1, 10)]
    assert list(table["data"]) == expected and list(general["data"]) == expected
    assert table["data"]["run1:S2"]["D538G"].startswith("DETECTED")
    description = table["description"]
    assert "2 runs combined, samples named RUN:SAMPLE: <strong>run1</strong>, " in description
    for job, plate in (("run1", "plate1.csv"), ("run2", "plate2.txt")):
        assert f"Run <strong>{job}</strong>" in description
        assert plate in description
        notice = f"<strong>Notice ({job}):</strong> Kit esr1-11-arms-example uses PLACEHOLDER"
        assert notice in description
    assert "Job unknown failed and is not in these results: notes.txt" in description
    # up to date on a second run: the pair is written again from the job folders
    again = run_cli(["batch", manifest, "-o", out, "-j", "1", "--multiqc"])
    assert "2 up to date" in again.stderr
    assert json.loads((out / "esr1calls_calls_mqc.json").read_text()) == table


def test_a_changed_option_or_tool_version_recomputes(workdir, tmp_path, run_cli, monkeypatch):
    out = tmp_path / "out"
    assert run_cli(["batch", _manifest(workdir, GOOD[:2]), "-o", out]).exit_code == 0
    changed = [GOOD[0], [*GOOD[1][:6], "format=quantstudio hotspots=D538G,Y537S"]]
    result = run_cli(["batch", _manifest(workdir, changed), "-o", out])
    assert "1 done, 1 up to date" in result.stderr  # run2's options changed
    monkeypatch.setattr("esr1calls.batch.__version__", "999.0")
    result = run_cli(["batch", _manifest(workdir, changed), "-o", out, "-j", "1"])
    assert "2 done" in result.stderr  # another esr1calls version recomputes everything


class _Stderr(io.StringIO):
    terminal = False

    def isatty(self):
        return self.terminal


@pytest.mark.parametrize("terminal", [True, False], ids=["terminal", "log"])
def test_progress_bar_shows_on_a_terminal_only(workdir, tmp_path, monkeypatch, terminal):
    from esr1calls.cli import main

    stderr = _Stderr()
    stderr.terminal = terminal
    monkeypatch.setattr(sys, "stderr", stderr)
    with pytest.raises(SystemExit) as done:
        main(["batch", str(_manifest(workdir, GOOD[:2])), "-o", str(tmp_path / "out"), "-j", "1"])
    assert done.value.code == 0
    assert ("esr1calls batch" in stderr.getvalue()) is terminal, stderr.getvalue()
    assert "esr1calls: batch: 2 done" in stderr.getvalue()


def test_directory_plate_prefers_its_own_plate_map(tmp_path, run_cli):
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(PLATES / "generic" / "esr1_demo_generic.csv", data / "plate1.csv")
    shutil.copy(PLATES / "quantstudio" / "esr1_demo_quantstudio.txt", data / "plate2.txt")
    shutil.copy(DEMO_MAP, data / "plate1.platemap.csv")
    shutil.copy(DEMO_MAP, data / "platemap.csv")
    out = tmp_path / "out"
    assert run_cli(["batch", data, "-o", out]).exit_code == 0
    for job, plate_map in (("plate1", "plate1.platemap.csv"), ("plate2", "platemap.csv")):
        run = json.loads((out / job / "calls.json").read_text())["run"]
        maps = [i["path"] for i in run["inputs"] if i["format"] == "plate map"]
        assert maps == [str(data / plate_map)], job


# ----------------------------------------------------------------------------- job ids
def _errors(out):
    return {r["job_id"]: r["error"] for r in _rows(out / "batch_errors.tsv")}


def test_a_job_id_naming_a_cohort_table_is_refused(workdir, tmp_path, run_cli):
    rows = [["samples.tsv", *GOOD[0][1:]], ["Calls.TSV", *GOOD[0][1:]], GOOD[0]]
    out = tmp_path / "out"
    result = run_cli(["batch", _manifest(workdir, rows), "-o", out])
    assert result.exit_code == 1
    assert _errors(out) == {
        "samples.tsv": "manifest.tsv, line 2: job id 'samples.tsv' is the name of samples.tsv, a "
        "cohort table batch writes in OUTDIR; give the row another id",
        "Calls.TSV": "manifest.tsv, line 3: job id 'Calls.TSV' is the name of calls.tsv, a cohort "
        "table batch writes in OUTDIR; give the row another id",
    }
    assert (out / "samples.tsv").is_file() and (out / "calls.tsv").is_file()
    assert {r["job_id"] for r in _rows(out / "samples.tsv")} == {"run1"}
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["run1"]


@pytest.mark.parametrize(
    "job_id, why",
    [
        ("../escape", "holds a path separator, which a folder name cannot hold"),
        ("a/b", "holds a path separator, which a folder name cannot hold"),
        ("a\\b", "holds a path separator, which a folder name cannot hold"),
        ("..", "is not a folder name"),
        (".", "is not a folder name"),
        (".hidden", "starts with '.', which would hide its folder"),
        ("run:1", "holds ':', which a folder name cannot hold"),
        ("what?", "holds '?', which a folder name cannot hold"),
        ("run1.", "starts or ends with a space, or ends with '.', which Windows drops"),
        ("CON", "is a device name on Windows"),
        ("nul.txt", "is a device name on Windows"),
        ("x" * 256, "is longer than a folder name can be (255 bytes)"),
        ("batch_jobs.tsv", "is the name of batch_jobs.tsv, a cohort table batch writes in OUTDIR"),
    ],
)
def test_a_job_id_that_cannot_name_a_folder_is_refused(workdir, job_id, why):
    manifest = _manifest(workdir, [GOOD[0], [job_id, *GOOD[0][1:]]])
    good, bad = read_manifest(manifest)
    assert good.problem is None and good.own_folder
    assert bad.problem == f"job id {job_id!r} {why}; give the row another id"
    assert not bad.own_folder  # it never writes, replaces or removes anything in OUTDIR


def test_a_refused_id_never_touches_outdir(workdir, tmp_path, run_cli):
    out = tmp_path / "out"
    (out / "escape").mkdir(parents=True)
    (out / "escape" / "calls.json").write_text("kept\n")
    (tmp_path / "escape").mkdir()
    rows = [["../escape", *GOOD[0][1:]], ["escape/..", *GOOD[0][1:]]]
    assert run_cli(["batch", _manifest(workdir, rows), "-o", out]).exit_code == 1
    assert (out / "escape" / "calls.json").read_text() == "kept\n"
    assert not list((tmp_path / "escape").iterdir())
    assert {r["state"] for r in _rows(out / "batch_jobs.tsv")} == {"failed"}


def test_job_ids_used_twice_or_differing_in_case_are_refused(workdir, tmp_path, run_cli):
    rows = [["run1", *GOOD[0][1:]], ["RUN1", *GOOD[1][1:]], ["run1", *GOOD[1][1:]]]
    out = tmp_path / "out"
    assert run_cli(["batch", _manifest(workdir, rows), "-o", out]).exit_code == 1
    assert _errors(out) == {
        "RUN1": "manifest.tsv, line 3: job id 'RUN1' is already used on line 2 as 'run1' "
        "(folder names ignore letter case); give the row another id",
        "run1": "manifest.tsv, line 4: job id 'run1' is already used on line 2; give the row "
        "another id",
    }
    # the refused rows left the first row's report alone
    jobs = _rows(out / "batch_jobs.tsv")
    assert [(r["job_id"], r["state"], r["outdir"]) for r in jobs] == [
        ("run1", "done", "run1"), ("RUN1", "failed", ""), ("run1", "failed", "")]  # fmt: skip
    assert (out / "run1" / "calls.json").is_file()
    assert {r["job_id"] for r in _rows(out / "samples.tsv")} == {"run1"}


def test_an_id_made_from_a_file_name_never_takes_a_written_one(workdir):
    rows = [["", *GOOD[0][1:]], ["plate1", *GOOD[1][1:]], ["", "pcr", "Plate1.csv", "platemap.csv"]]
    jobs = read_manifest(_manifest(workdir, rows))
    assert [(j.job_id, j.problem) for j in jobs] == [
        ("plate1_2", None), ("plate1", None), ("Plate1_3", None)]  # fmt: skip


def test_manifest_lines_are_numbered_as_in_the_file(workdir):
    """A BOM, CRLF line ends, comments and blank lines: errors still name the file's own line."""
    text = (
        "\ufeff# ESR1 batch, week 12\r\nid\ttype\tinputs\tplate_map\r\n\r\n"
        "run1\tpcr\tplate1.csv\tplatemap.csv\r\n# run 2 was repeated\r\n"
        "run2\tqpcr\tplate2.txt\tplatemap.csv\r\n"
    )
    path = workdir / "crlf.tsv"
    path.write_bytes(text.encode("utf-8"))
    run1, run2 = read_manifest(path)
    assert (run1.job_id, run1.origin, run1.problem) == ("run1", "crlf.tsv, line 4", None)
    assert run1.inputs == (workdir / "plate1.csv",)
    assert (run2.origin, run2.problem) == (
        "crlf.tsv, line 6",
        "type 'qpcr' is not one of pcr, ngs, dpcr",
    )


def test_an_open_quote_does_not_swallow_the_rows_after_it(workdir):
    rows = [['"run1', *GOOD[0][1:]], GOOD[1], GOOD[2]]
    jobs = read_manifest(_manifest(workdir, rows))
    assert [(j.job_id, j.origin, j.problem is None) for j in jobs] == [
        ("line2", "manifest.tsv, line 2", False),
        ("run2", "manifest.tsv, line 3", True),
        ("plasma", "manifest.tsv, line 4", True),
    ]
    assert jobs[0].problem.startswith('a quote (") opens a cell and is not closed')


def test_a_column_given_twice_is_an_error(tmp_path, run_cli):
    manifest = tmp_path / "m.tsv"
    manifest.write_text("id\ttype\tinputs\toptions\toptions\nx\tngs\tt.vcf\tpanel=extended\t\n")
    result = run_cli(["batch", manifest, "-o", tmp_path / "out"])
    assert result.exit_code == 1
    assert result.stderr == (
        "esr1calls: error: m.tsv, line 1: column options appears more than once (one would be "
        "ignored); keep one\n"
    )
    assert not (tmp_path / "out").exists()


def test_a_repeated_option_or_a_stray_cell_is_the_rows_error(workdir):
    rows = [[*GOOD[2][:6], "panel=default hotspots=D538G panel=extended"],
            [*GOOD[3], "min_family_size=3"]]  # fmt: skip
    jobs = read_manifest(_manifest(workdir, rows))
    assert [j.problem for j in jobs] == [
        "option panel is given twice; keep one",
        "more cells than the header's 7: a tab inside a cell? ('min_family_size=3')",
    ]


# ----------------------------------------------------------------------------- OUTDIR
def test_an_outdir_that_cannot_be_created_is_one_line_before_any_job(workdir, tmp_path, run_cli):
    (tmp_path / "afile").write_text("in the way\n")
    out = tmp_path / "afile" / "out"
    result = run_cli(["batch", _manifest(workdir, GOOD[:2]), "-o", out])
    assert result.exit_code == 1
    assert result.stderr == (
        f"esr1calls: error: {out}: cannot create the output directory (Not a directory); "
        "choose another -o\n"
    )


def test_a_read_only_outdir_is_one_line_before_any_job(workdir, tmp_path, run_cli, monkeypatch):
    """Root ignores folder permissions, so the file system's refusal is simulated."""

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    def never(job):
        raise AssertionError(f"job {job.job_id} ran")

    monkeypatch.setattr("esr1calls.batch.tempfile.mkstemp", read_only)
    monkeypatch.setitem(RUNNERS, "pcr", never)
    out = tmp_path / "out"
    result = run_cli(["batch", _manifest(workdir, GOOD[:2]), "-o", out])
    assert result.exit_code == 1
    assert result.stderr == (
        f"esr1calls: error: {out}: cannot write in the output directory (Read-only file "
        "system); choose another -o\n"
    )


def test_a_folder_in_the_way_of_a_cohort_table_is_one_line(workdir, tmp_path, run_cli):
    out = tmp_path / "out"
    (out / "calls.tsv").mkdir(parents=True)
    result = run_cli(["batch", _manifest(workdir, GOOD[:1]), "-o", out])
    assert result.exit_code == 1
    assert result.stderr == (
        f"esr1calls: error: {out / 'calls.tsv'}: a folder is in the way of the cohort table "
        "calls.tsv; move it away, or choose another -o\n"
    )
    assert not (out / "run1").exists()  # found before any job ran


def test_a_file_in_the_way_of_a_job_folder_fails_that_job(workdir, tmp_path, run_cli):
    out = tmp_path / "out"
    out.mkdir()
    (out / "run1").write_text("a note\n")
    assert run_cli(["batch", _manifest(workdir, GOOD[:2]), "-o", out]).exit_code == 1
    assert _errors(out) == {
        "run1": f"{out / 'run1'}: a file or link is in the way of the job's report folder; move "
        "it away, or choose another -o"
    }
    assert (out / "run1").read_text() == "a note\n"
    assert {r["job_id"] for r in _rows(out / "samples.tsv")} == {"run2"}


def _full_disk_for(names, monkeypatch, folder=None):
    """fsync fails with ENOSPC for files whose name starts with one of ``names`` (in ``folder``
    if given; Linux)."""
    real_fsync = os.fsync

    def fsync(fd):
        path = Path(f"/proc/self/fd/{fd}").readlink()
        if path.name.startswith(names) and folder in (None, path.parent):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc/self/fd")
def test_a_full_disk_while_writing_the_cohort_is_one_line(workdir, tmp_path, run_cli, monkeypatch):
    out = tmp_path / "out"
    manifest = _manifest(workdir, GOOD[:2])
    assert run_cli(["batch", manifest, "-o", out, "-j", "1"]).exit_code == 0
    _full_disk_for((".calls.tsv.",), monkeypatch, folder=out)
    (workdir / "plate2.txt").write_bytes((workdir / "plate2.txt").read_bytes() + b"\n")
    result = run_cli(["batch", manifest, "-o", out, "-j", "1"])
    assert result.exit_code == 1
    assert result.stderr == (
        f"esr1calls: error: {out / 'calls.tsv'}: cannot write the cohort table (No space left "
        "on device); free some space or choose another -o\n"
    )
    # no cohort table at all (samples.tsv was written, then removed with the rest): none of an
    # earlier run, none half of this one
    assert sorted(p.name for p in out.iterdir()) == ["run1", "run2"]


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc/self/fd")
def test_a_full_disk_while_writing_a_job_fails_that_job(workdir, tmp_path, run_cli, monkeypatch):
    out = tmp_path / "out"
    manifest = _manifest(workdir, GOOD[:2])
    assert run_cli(["batch", manifest, "-o", out, "-j", "1"]).exit_code == 0
    (workdir / "plate1.csv").write_bytes((workdir / "plate1.csv").read_bytes() + b"\n")
    _full_disk_for((".report.html.",), monkeypatch)
    result = run_cli(["batch", manifest, "-o", out, "-j", "1"])
    assert result.exit_code == 1
    (error,) = _errors(out).values()
    assert error == f"{out / 'run1' / 'report.html'}: cannot write (No space left on device)"
    # its earlier report is gone (the inputs changed), the staging folder too
    assert sorted(p.name for p in out.iterdir()) == sorted([*COHORT_TABLES, "run2"])


# ----------------------------------------------------------------------------- stale results
def test_a_job_failing_on_a_rerun_leaves_no_earlier_report(workdir, tmp_path, run_cli):
    manifest = _manifest(workdir, GOOD[:2])
    out = tmp_path / "out"
    assert run_cli(["batch", manifest, "-o", out]).exit_code == 0
    good = (workdir / "plate1.csv").read_bytes()
    (workdir / "plate1.csv").write_bytes(b"well,sample\nA1,S1\n")  # no Ct column: an error
    result = run_cli(["batch", manifest, "-o", out])
    assert result.exit_code == 1
    assert not (out / "run1").exists()
    assert "run1" in _errors(out)
    assert {r["job_id"] for r in _rows(out / "samples.tsv")} == {"run2"}
    assert not [p for p in out.iterdir() if p.name.startswith(".")]
    # the whole input back: recomputed, never the earlier report brought back as "up to date"
    (workdir / "plate1.csv").write_bytes(good)
    result = run_cli(["batch", manifest, "-o", out])
    assert "1 done, 1 up to date" in result.stderr
    # a row that became malformed (a typo in its type) fails the same way
    rows = [[*GOOD[0][:1], "qpcr", *GOOD[0][2:]], GOOD[1]]
    assert run_cli(["batch", _manifest(workdir, rows), "-o", out]).exit_code == 1
    assert not (out / "run1").exists()


def test_a_failed_rerun_keeps_files_esr1calls_did_not_write(workdir, tmp_path, run_cli):
    manifest = _manifest(workdir, GOOD[:1])
    out = tmp_path / "out"
    assert run_cli(["batch", manifest, "-o", out]).exit_code == 0
    (out / "run1" / "review notes.txt").write_text("checked by AB\n")
    (workdir / "plate1.csv").write_text("well,sample\n")
    assert run_cli(["batch", manifest, "-o", out]).exit_code == 1
    assert sorted(p.name for p in (out / "run1").iterdir()) == ["review notes.txt"]
    # and a new report is never mixed into a folder holding someone's files
    shutil.copy(PLATES / "generic" / "esr1_demo_generic.csv", workdir / "plate1.csv")
    assert run_cli(["batch", manifest, "-o", out]).exit_code == 1
    assert _errors(out)["run1"] == (
        f"{out / 'run1' / 'review notes.txt'}: not written by esr1calls, in the job's report "
        "folder, which batch replaces as a whole; move it elsewhere"
    )
    assert sorted(p.name for p in (out / "run1").iterdir()) == ["review notes.txt"]


def test_an_edited_report_is_never_up_to_date(workdir, tmp_path, run_cli):
    manifest = _manifest(workdir, GOOD[:2])
    out = tmp_path / "out"
    assert run_cli(["batch", manifest, "-o", out]).exit_code == 0
    calls = out / "run1" / "calls.tsv"
    original = calls.read_text()
    calls.write_text(original.replace("DETECTED", "NOT_DETECTED", 1))
    result = run_cli(["batch", manifest, "-o", out])
    assert "1 done, 1 up to date" in result.stderr
    assert calls.read_text() == original


def test_a_crashed_worker_leaves_no_earlier_report(workdir, tmp_path, run_cli, monkeypatch):
    manifest = _manifest(workdir, GOOD[:2])
    out = tmp_path / "out"
    assert run_cli(["batch", manifest, "-o", out]).exit_code == 0
    (workdir / "plate1.csv").write_bytes((workdir / "plate1.csv").read_bytes() + b"\n")
    (workdir / "plate2.txt").write_bytes((workdir / "plate2.txt").read_bytes() + b"\n")
    monkeypatch.setitem(RUNNERS, "pcr", lambda job: os._exit(3))  # the forked workers die
    result = run_cli(["batch", manifest, "-o", out, "-j", "2"])
    assert result.exit_code == 1
    errors = _errors(out)
    assert set(errors) == {"run1", "run2"}
    assert all(e.startswith("worker crashed (BrokenProcessPool") for e in errors.values())
    assert sorted(p.name for p in out.iterdir()) == sorted(COHORT_TABLES)


# ----------------------------------------------------------------------------- files a job reads
def _lab_panel(path, names):
    lines = PANEL_TSV.read_text().splitlines(keepends=True)
    header = [line for line in lines if line.startswith(("#", "name\t"))]
    path.write_text("".join(header + [line for line in lines if line.split("\t")[0] in names]))


def test_every_path_in_a_manifest_is_relative_to_its_folder(workdir, tmp_path, monkeypatch,
                                                           run_cli):  # fmt: skip
    (workdir / "kits").mkdir()
    shutil.copy(EXAMPLE_KIT_FILE, workdir / "kits" / "lab_kit")  # a kit file without .toml
    _lab_panel(workdir / "lab_panel.tsv", {"D538G", "Y537S"})
    rows = [[*GOOD[0][:4], "kits/lab_kit", "", "panel=lab_panel.tsv"]]
    manifest = _manifest(workdir, rows)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    result = run_cli(["batch", manifest, "-o", "out"])
    assert result.exit_code == 0, _rows(elsewhere / "out" / "batch_errors.tsv")
    calls = _rows(elsewhere / "out" / "calls.tsv")
    assert {c["hotspot"] for c in calls} == {"D538G", "Y537S"}
    run = json.loads((elsewhere / "out" / "run1" / "calls.json").read_text())["run"]
    assert run["kit"]["path"] == str(workdir / "kits" / "lab_kit")


def test_an_edited_panel_reruns_its_jobs(workdir, tmp_path, monkeypatch, run_cli):
    _lab_panel(workdir / "lab_panel.tsv", {"D538G", "Y537S"})
    manifest = _manifest(workdir, [[*GOOD[0][:6], "panel=lab_panel.tsv"], GOOD[1]])
    monkeypatch.chdir(workdir)
    out = tmp_path / "out"
    assert run_cli(["batch", manifest, "-o", out]).exit_code == 0
    _lab_panel(workdir / "lab_panel.tsv", {"D538G"})
    result = run_cli(["batch", manifest, "-o", out])
    assert "1 done, 1 up to date" in result.stderr
    assert {c["hotspot"] for c in _rows(out / "calls.tsv") if c["job_id"] == "run1"} == {"D538G"}


def test_the_fingerprint_covers_every_file_a_job_reads(tmp_path):
    for name in ("t.cram", "ref.fa", "ref.fa.fai", "n.pon.tsv", "p.tsv"):
        (tmp_path / name).write_text(f"{name}\n")
    files = {"reference": "ref.fa", "pon": "n.pon.tsv", "panel": "p.tsv"}
    job = BatchJob("t", "ngs", (tmp_path / "t.cram",), base=tmp_path, options=files)
    options = ReportOptions(command="")
    before = _fingerprint(job, options)
    for name in ("ref.fa.fai", "ref.fa", "n.pon.tsv", "p.tsv", "t.cram"):
        (tmp_path / name).write_text(f"{name} edited\n")
        after = _fingerprint(job, options)
        assert after != before, name
        before = after


# ----------------------------------------------------------------------------- Ctrl-C
def _no_process_mentions(text):
    """True when no running process has ``text`` in its command line (Linux /proc)."""
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if text.encode() in cmdline.read_bytes():
                return False
        except OSError:
            continue
    return True


def _complete(folder):
    """A job folder holds the whole report its state file lists, each file as written."""
    import hashlib

    state = json.loads((folder / ".esr1calls-job.json").read_text())
    files = state["files"]
    listed = {name: hashlib.sha256((folder / name).read_bytes()).hexdigest() for name in files}
    return listed == files and {p.name for p in folder.iterdir()} == {*files, ".esr1calls-job.json"}


@pytest.mark.skipif(not Path("/proc/self/cmdline").is_file(), reason="needs Linux /proc")
@pytest.mark.parametrize("workers", ["1", "2"])
def test_ctrl_c_stops_the_batch_at_once_and_leaves_nothing_partial(tmp_path, workers):
    import signal
    import subprocess
    import time

    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(TESTDATA / "bam" / "plasma_07.umi.bam", data / "plasma.bam")
    shutil.copy(TESTDATA / "bam" / "plasma_07.umi.bam.csi", data / "plasma.bam.csi")
    rows = [[f"bam{i:03d}", "ngs", "plasma.bam", "", "", "", "umi=true"] for i in range(200)]
    manifest = _manifest(data, rows)
    out = tmp_path / "out"
    out.mkdir()
    (out / "samples.tsv").write_text("job_id\tsample_id\nold\tfrom an earlier batch\n")
    command = [sys.executable, "-m", "esr1calls", "batch", str(manifest), "-o", str(out),
               "-j", workers]  # fmt: skip

    # a shell's background job starts with SIGINT ignored; the CLI must see it as a terminal does
    def as_from_a_terminal():
        signal.signal(signal.SIGINT, signal.SIG_DFL)

    batch = subprocess.Popen(command, stderr=subprocess.PIPE, text=True,
                             preexec_fn=as_from_a_terminal, start_new_session=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not any(p.name.startswith("bam") for p in out.iterdir()):
            assert batch.poll() is None and time.monotonic() < deadline, "no job finished"
            time.sleep(0.05)
        time.sleep(0.2)  # jobs under way
        sent = time.monotonic()
        batch.send_signal(signal.SIGINT)
        _, stderr = batch.communicate(timeout=30)
        elapsed = time.monotonic() - sent
        workers_stopped = _no_process_mentions(str(out))
    finally:  # whatever happened, nothing of this batch outlives the test
        with contextlib.suppress(ProcessLookupError):
            os.killpg(batch.pid, signal.SIGKILL)
    assert batch.returncode == 130, stderr
    assert elapsed < 5, f"stopped {elapsed:.1f} s after Ctrl-C"
    assert stderr.splitlines()[-1] == "esr1calls: interrupted", stderr
    assert "Traceback" not in stderr
    assert workers_stopped  # every worker stopped with the batch
    entries = sorted(p.name for p in out.iterdir())
    # no cohort table, nothing hidden, only whole job folders
    assert all(name.startswith("bam") for name in entries), entries
    assert 0 < len(entries) < 150
    assert all(_complete(out / name) for name in entries)


# ----------------------------------------------------------------------------- directory scans
def test_a_scan_names_the_entries_it_cannot_use(workdir, tmp_path, run_cli):
    (workdir / "tumour2.vcf").symlink_to(workdir / "gone.vcf")
    (workdir / "loop_a.vcf").symlink_to(workdir / "loop_b.vcf")
    (workdir / "loop_b.vcf").symlink_to(workdir / "loop_a.vcf")
    os.mkfifo(workdir / "plate3.csv")  # a pipe: opening it to sniff would hang the batch
    (workdir / "archive").mkdir()  # folders are not looked into, and not listed
    out = tmp_path / "out"
    result = run_cli(["batch", workdir, "-o", out])
    skipped = {r["inputs"]: r["error"] for r in _rows(out / "batch_errors.tsv") if not r["job_id"]}
    assert skipped == {
        "loop_a.vcf": "skipped: a symbolic link that loops",
        "loop_b.vcf": "skipped: a symbolic link that loops",
        "notes.txt": "skipped: not a recognised plate export, dPCR export, VCF, BCF, BAM or CRAM",
        "plate3.csv": "skipped: not a regular file (a pipe, socket or device)",
        "tumour2.vcf": "skipped: a symbolic link to nothing",
    }
    assert "esr1calls: warning: skipped tumour2.vcf: a symbolic link to nothing" in result.stderr


def test_a_scan_of_its_own_outdir_does_not_read_the_cohort_tables(workdir, tmp_path, run_cli):
    for name in ("notes.txt", "truncated.vcf.gz"):
        (workdir / name).unlink()
    assert run_cli(["batch", workdir, "-o", workdir]).exit_code == 0
    result = run_cli(["batch", workdir, "-o", workdir])
    assert result.exit_code == 0
    assert result.stderr == (
        f"esr1calls: batch: 4 up to date; cohort tables in {workdir}/\n"
    )  # no "skipped samples.tsv" and the like


def test_a_folder_with_nothing_to_call_is_an_error(tmp_path, run_cli):
    data = tmp_path / "data"
    (data / "plates").mkdir(parents=True)
    (data / "notes.txt").write_text("plates are in plates/\n")
    result = run_cli(["batch", data, "-o", tmp_path / "out"])
    assert result.exit_code == 1
    assert result.stderr == (
        f"esr1calls: error: {data}: no plate export, dPCR export, VCF, BCF, BAM or CRAM in this "
        "folder (the scan does not look into sub-folders); skipped: notes.txt\n"
    )
    assert not (tmp_path / "out").exists()


def test_scanned_file_names_differing_in_case_get_distinct_ids(tmp_path, run_cli):
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(PLATES / "generic" / "esr1_demo_generic.csv", data / "Plate1.csv")
    shutil.copy(PLATES / "quantstudio" / "esr1_demo_quantstudio.txt", data / "plate1.txt")
    shutil.copy(DEMO_MAP, data / "platemap.csv")
    out = tmp_path / "out"
    assert run_cli(["batch", data, "-o", out]).exit_code == 0
    assert [r["job_id"] for r in _rows(out / "batch_jobs.tsv")] == ["Plate1", "plate1_2"]


# ----------------------------------------------------------------------------- digital PCR
DPCR = TESTDATA / "dpcr"
DPCR_MAP = DPCR / "esr1_demo_dpcr_platemap.csv"
EXAMPLE_ASSAYS_FILE = PANEL_TSV.parent / "assays" / "esr1-dpcr-example.toml"


@pytest.fixture
def dpcr_dir(tmp_path):
    """The dPCR demo plate in two export formats, each with its own plate map, and a PCR plate
    with the shared one: the scan must tell them apart by content."""
    data = tmp_path / "dpcr"
    data.mkdir()
    for fmt in ("quantasoft", "absoluteq"):
        shutil.copy(DPCR / fmt / f"esr1_demo_{fmt}.csv", data / f"{fmt}.csv")
        shutil.copy(DPCR_MAP, data / f"{fmt}.platemap.csv")
    shutil.copy(PLATES / "generic" / "esr1_demo_generic.csv", data / "plate1.csv")
    shutil.copy(DEMO_MAP, data / "platemap.csv")
    return data


def test_a_dpcr_manifest_job_gives_what_the_dpcr_command_gives(dpcr_dir, tmp_path, run_cli):
    """The same library call: the job's calls.json is the command's, but for the command line."""
    shutil.copy(EXAMPLE_ASSAYS_FILE, dpcr_dir / "assays.toml")
    manifest = _manifest(dpcr_dir, [
        ["qs", "dpcr", "quantasoft.csv", "quantasoft.platemap.csv", "", "", ""],
        ["qs_own", "dpcr", "quantasoft.csv", "quantasoft.platemap.csv", "", "",
         "assays=assays.toml format=quantasoft"],
    ])  # fmt: skip
    out = tmp_path / "out"
    result = run_cli(["batch", manifest, "-o", out, "--reproducible"])
    assert result.exit_code == 0, result.stderr
    jobs = {
        r["job_id"]: (r["type"], r["state"], r["samples"]) for r in _rows(out / "batch_jobs.tsv")
    }
    assert jobs == {"qs": ("dpcr", "done", "4"), "qs_own": ("dpcr", "done", "4")}
    single = tmp_path / "single"
    command = ["dpcr", dpcr_dir / "quantasoft.csv", "--plate-map"]
    assert run_cli([*command, dpcr_dir / "quantasoft.platemap.csv", "-o", single,
                    "--reproducible"]).exit_code == 0  # fmt: skip
    for job in ("qs", "qs_own"):
        assert (out / job / "calls.tsv").read_text() == (single / "calls.tsv").read_text()
    batch_doc = json.loads((out / "qs_own" / "calls.json").read_text())
    assert batch_doc["run"]["kit"]["path"] == str(dpcr_dir / "assays.toml")
    assert {r["method"] for r in _rows(out / "samples.tsv")} == {"dPCR"}
    assert {r["job_id"] for r in _rows(out / "calls.tsv")} == {"qs", "qs_own"}
    # an edited assay file re-runs the job that reads it, and only that one
    text = (dpcr_dir / "assays.toml").read_text()
    (dpcr_dir / "assays.toml").write_text(text + "\n# edited\n")
    result = run_cli(["batch", manifest, "-o", out, "--reproducible"])
    assert "1 done, 1 up to date" in result.stderr


def test_a_directory_scan_tells_dpcr_exports_from_plates_by_content(dpcr_dir, tmp_path, run_cli):
    out = tmp_path / "out"
    result = run_cli(["batch", dpcr_dir, "-o", out])
    assert result.exit_code == 0, result.stderr
    jobs = {r["job_id"]: (r["type"], r["state"]) for r in _rows(out / "batch_jobs.tsv")}
    assert jobs == {"absoluteq": ("dpcr", "done"), "plate1": ("pcr", "done"),
                    "quantasoft": ("dpcr", "done")}  # fmt: skip
    methods = {(r["job_id"], r["method"]) for r in _rows(out / "samples.tsv")}
    assert {m for _, m in methods} == {"dPCR", "PCR"}
    calls = {
        (r["job_id"], r["sample_id"], r["hotspot"]): r["status"]
        for r in _rows(out / "calls.tsv")
        if r["job_id"] != "plate1"
    }
    # the same plate in two formats: the same calls (Absolute Q carries the combinations too)
    assert {k[1:]: v for k, v in calls.items() if k[0] == "quantasoft"} == {
        k[1:]: v for k, v in calls.items() if k[0] == "absoluteq"
    }


def test_a_scanned_dpcr_export_without_a_plate_map_fails_that_job(tmp_path, run_cli):
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(DPCR / "quantasoft" / "esr1_demo_quantasoft.csv", data / "run.csv")
    result = run_cli(["batch", data, "-o", tmp_path / "out"])
    assert result.exit_code == 1
    (error,) = _rows(tmp_path / "out" / "batch_errors.tsv")
    assert error["type"] == "dpcr"
    assert "no plate map: add run.platemap.csv or platemap.csv" in error["error"]


@pytest.mark.parametrize(
    "row, error",
    [
        (["x", "dpcr", "quantasoft.csv", "", "", "", ""], "a dpcr job needs a plate_map"),
        (["x", "dpcr", "quantasoft.csv", "quantasoft.platemap.csv", "kit.toml", "", ""],
         "a dpcr job takes no kit: name its assay definition with the option assays=FILE"),
        (["x", "dpcr", "quantasoft.csv", "quantasoft.platemap.csv", "", "", "umi=yes"],
         "unknown option umi for a dpcr job; known: assays, format, specimen"),
        (["x", "dpcr", "quantasoft.csv", "quantasoft.platemap.csv", "", "", "assays=none.toml"],
         "none.toml"),
        (["x", "dpcr", "plate1.csv", "platemap.csv", "", "", ""],
         "not a recognised digital PCR export"),
    ],
)  # fmt: skip
def test_a_bad_dpcr_row_fails_that_job_only(dpcr_dir, tmp_path, run_cli, row, error):
    good = ["qs", "dpcr", "quantasoft.csv", "quantasoft.platemap.csv", "", "", ""]
    out = tmp_path / "out"
    result = run_cli(["batch", _manifest(dpcr_dir, [good, row]), "-o", out])
    assert result.exit_code == 1
    states = {r["job_id"]: r["state"] for r in _rows(out / "batch_jobs.tsv")}
    assert states == {"qs": "done", "x": "failed"}
    (failed,) = _rows(out / "batch_errors.tsv")
    assert error in failed["error"] and "\n" not in failed["error"]


def test_the_fingerprint_covers_a_dpcr_jobs_assay_file(tmp_path):
    for name in ("run.csv", "map.csv", "assays.toml"):
        (tmp_path / name).write_text(f"{name}\n")
    job = BatchJob("t", "dpcr", (tmp_path / "run.csv",), (tmp_path / "map.csv",),
                   base=tmp_path, options={"assays": "assays.toml"})  # fmt: skip
    options = ReportOptions(command="")
    before = _fingerprint(job, options)
    for name in ("assays.toml", "map.csv", "run.csv"):
        (tmp_path / name).write_text(f"{name} edited\n")
        after = _fingerprint(job, options)
        assert after != before, name
        before = after
    bundled = BatchJob("t", "dpcr", (tmp_path / "run.csv",), (tmp_path / "map.csv",),
                       base=tmp_path, options={"assays": "esr1-dpcr-example"})  # fmt: skip
    assert _fingerprint(bundled, options)  # the bundled set's id is not a file to read
    assert RUNNERS["dpcr"].__name__ == "_run_dpcr"


def _monitor(out):
    document = json.loads((out / "monitor.json").read_text())
    return {
        p["patient_id"]: [
            (t["collected"], [s["sample_id"] for s in t["samples"]]) for t in p["timepoints"]
        ]
        for p in document["patients"]
    }


def test_batch_follows_patients_from_the_manifest_and_the_sample_sheet(workdir, tmp_path, run_cli):
    """Two plates whose samples are both S1..S9, and one NGS sample: the sheet names plate
    samples by JOB:SAMPLE, the manifest names the NGS job's patient; OUTDIR gets the monitor
    outputs, where run1's S1 and run2's S1 are two timepoints of one patient, never one sample."""
    rows = [GOOD[0], GOOD[1], [*GOOD[2], "P01", "2024-05-02"]]
    manifest = workdir / "manifest.tsv"
    manifest.write_text(
        "id\ttype\tinputs\tplate_map\tkit\tsample\toptions\tpatient_id\tcollected\n"
        + "".join("\t".join(r) + "\n" for r in rows)
    )
    sheet = workdir / "samples.csv"
    sheet.write_text(
        "sample_id,patient_id,collected\nrun1:S1,P01,2024-01-10\nrun2:S1,P01,2024-03-12\n"
        "run2:S2,P02,2024-03-12\n"
    )
    out = tmp_path / "out"
    result = run_cli(["batch", manifest, "-o", out, "-j", "1", "--samples", sheet])
    assert result.exit_code == 0, result.stderr
    followed = _monitor(out)
    plasma = json.loads((out / "plasma" / "calls.json").read_text())["samples"][0]
    assert (plasma["patient_id"], plasma["collected"]) == ("P01", "2024-05-02")
    assert followed == {
        "P01": [("2024-01-10", ["run1:S1"]), ("2024-03-12", ["run2:S1"]),
                ("2024-05-02", [f"plasma:{plasma['sample_id']}"])],
        "P02": [("2024-03-12", ["run2:S2"])],
    }  # fmt: skip
    assert {"monitor.json", "monitor.tsv", "timeline.html"} <= {p.name for p in out.iterdir()}
    assert "esr1calls: monitor: 2 patient(s), 4 timepoint(s)" in result.stderr
    # the cohort table tells the two S1 apart by their job
    s1 = [r["job_id"] for r in _rows(out / "samples.tsv") if r["sample_id"] == "S1"]
    assert s1 == ["run1", "run2"]
    # the manifest alone names a patient: monitored; the sheet's samples are then unassigned
    again = run_cli(["batch", manifest, "-o", out, "-j", "1"])
    assert again.exit_code == 0, again.stderr
    assert _monitor(out) == {"P01": [("2024-05-02", [f"plasma:{plasma['sample_id']}"])]}
    # no patient anywhere: no monitor outputs, and the earlier ones are gone
    assert run_cli(["batch", _manifest(workdir, GOOD[:2]), "-o", out, "-j", "1"]).exit_code == 0
    assert not {"monitor.json", "monitor.tsv", "timeline.html"} & {p.name for p in out.iterdir()}


def test_batch_patient_columns_are_checked(workdir, tmp_path, run_cli):
    rows = [[*GOOD[0], "P01", "2024-01-10"], [*GOOD[2], "P01", "05/02/2024"]]
    manifest = workdir / "manifest.tsv"
    manifest.write_text(
        "id\ttype\tinputs\tplate_map\tkit\tsample\toptions\tpatient_id\tcollected\n"
        + "".join("\t".join(r) + "\n" for r in rows)
    )
    out = tmp_path / "out"
    result = run_cli(["batch", manifest, "-o", out, "-j", "1"])
    assert result.exit_code == 1
    errors = _errors(out)
    # a plate of nine samples: the plate map or a sample sheet says whose each is
    assert errors["run1"].startswith(
        "manifest.tsv, line 2: columns patient_id and collected name the patient of one sample, "
        "but this run holds 9 samples"
    )
    assert errors["plasma"] == (
        "manifest.tsv, line 3: column collected: collected '05/02/2024' is not an ISO date; "
        "write it as YYYY-MM-DD, e.g. 2024-03-05"
    )
    assert not (out / "monitor.json").exists()


def test_batch_sample_sheet_that_could_name_either_plate_is_an_error(workdir, tmp_path, run_cli):
    sheet = workdir / "samples.tsv"
    sheet.write_text("sample_id\tpatient_id\tcollected\nS1\tP01\t2024-01-10\n")
    out = tmp_path / "out"
    result = run_cli(["batch", _manifest(workdir, GOOD[:2]), "-o", out, "--samples", sheet])
    assert result.exit_code == 1
    last = result.stderr.splitlines()[-1]
    assert last.startswith("esr1calls: error: monitor: ") and "run1:S1" in last, last
    assert not (out / "monitor.json").exists()
    assert (out / "samples.tsv").exists()  # the cohort tables stand


def test_batch_does_not_load_monitoring_and_names_its_files_as_monitor_does():
    import subprocess

    from esr1calls.batch import MONITOR_FILES, TIMELINE_DIR
    from esr1calls.monitor_html import TIMELINE_DIR as PAGES
    from esr1calls.monitor_html import TIMELINE_HTML
    from esr1calls.monitor_report import MONITOR_JSON, MONITOR_TSV

    assert MONITOR_FILES == (MONITOR_JSON, MONITOR_TSV, TIMELINE_HTML) and TIMELINE_DIR == PAGES
    code = "import sys, esr1calls.batch; print(any('monitor' in m for m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


# ----------------------------------------------------------------------------- throughput
def test_the_largest_inputs_run_first(tmp_path):
    from esr1calls.batch import biggest_first

    sizes = {"small.vcf": 10, "big.bam": 5000, "map.csv": 300, "plate.txt": 4800, "tie.vcf": 10}
    for name, size in sizes.items():
        (tmp_path / name).write_bytes(b"x" * size)
    jobs = [
        BatchJob("small", "ngs", (tmp_path / "small.vcf",)),
        BatchJob("missing", "ngs", (tmp_path / "absent.vcf",)),  # fails at once: last
        BatchJob("plate", "pcr", (tmp_path / "plate.txt",), (tmp_path / "map.csv",)),  # 5100
        BatchJob("big", "ngs", (tmp_path / "big.bam",)),
        BatchJob("tie", "ngs", (tmp_path / "tie.vcf",)),  # as small: manifest order
    ]
    assert [jobs[i].job_id for i in biggest_first(jobs)] == [
        "plate", "big", "small", "tie", "missing"
    ]  # fmt: skip


def test_cohort_rows_are_written_in_job_order_as_jobs_finish(workdir, tmp_path):
    """Rows of a job that finished before an earlier one wait for it, then both are written;
    nothing is in place before the end."""
    from esr1calls.batch import _CohortTables, execute_job, read_manifest

    out = tmp_path / "out"
    out.mkdir()
    options = ReportOptions("esr1calls batch", reproducible=True)
    jobs = read_manifest(_manifest(workdir, GOOD[:3]))
    outcomes = [execute_job(job, str(out), options) for job in jobs]
    assert [o.state for o in outcomes] == ["done"] * 3
    cohort = _CohortTables(out)
    (_, _, samples), _ = cohort.writers

    def written() -> list[str]:
        samples.flush()
        (draft,) = [p for p in out.iterdir() if p.name.startswith(".samples.tsv.")]
        rows = draft.read_text().splitlines()[1:]
        return list(dict.fromkeys(line.split("\t")[0] for line in rows))

    try:
        cohort.add(2, outcomes[2])
        cohort.add(1, outcomes[1])
        assert written() == []  # job 0 still running
        cohort.add(0, outcomes[0])
        assert written() == ["run1", "run2", "plasma"]
        assert not (out / "samples.tsv").exists()
        cohort.commit()
    finally:
        cohort.discard()
    for name in ("samples.tsv", "calls.tsv"):
        assert list(dict.fromkeys(r["job_id"] for r in _rows(out / name))) == [
            "run1", "run2", "plasma"
        ]  # fmt: skip
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]


def test_a_job_table_that_cannot_be_read_fails_the_cohort_at_the_end_not_the_batch(
    workdir, tmp_path, run_cli, monkeypatch
):
    """A job's table from an incompatible version is met while other jobs still run: they all
    finish, then the cohort is refused with the one-line error, and no cohort table is left."""
    out = tmp_path / "out"
    manifest = _manifest(workdir, GOOD[:3])
    assert run_cli(["batch", manifest, "-o", out, "-j", "1"]).exit_code == 0
    samples = out / "run1" / "samples.tsv"
    samples.write_text("sample\tstatus\nS1\tPOSITIVE\n")
    state = json.loads((out / "run1" / ".esr1calls-job.json").read_text())
    state["files"]["samples.tsv"] = __import__("hashlib").sha256(samples.read_bytes()).hexdigest()
    (out / "run1" / ".esr1calls-job.json").write_text(json.dumps(state))
    result = run_cli(["batch", manifest, "-o", out, "-j", "1"])
    assert result.exit_code == 1
    assert result.stderr == (
        f"esr1calls: error: {samples}: columns differ from this version's; delete the directory "
        "to recompute it\n"
    )
    assert sorted(p.name for p in out.iterdir()) == ["plasma", "run1", "run2"]


def test_a_draft_cohort_table_of_a_killed_batch_is_removed(workdir, tmp_path, run_cli):
    out = tmp_path / "out"
    out.mkdir()
    (out / ".calls.tsv.k1ll3d.tmp").write_text("job_id\tsample_id\nold\thalf a row")
    (out / ".notes.tmp").write_text("not esr1calls'")
    assert run_cli(["batch", _manifest(workdir, GOOD[:1]), "-o", out]).exit_code == 0
    assert not (out / ".calls.tsv.k1ll3d.tmp").exists()
    assert (out / ".notes.tmp").read_text() == "not esr1calls'"
    assert [r["job_id"] for r in _rows(out / "calls.tsv")] == ["run1"] * 11 * len(
        {r["sample_id"] for r in _rows(out / "samples.tsv")}
    )
