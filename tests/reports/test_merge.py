"""esr1calls report: validate earlier calls.json files, re-render them, merge them into a cohort."""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json

import pytest

from esr1calls.reports.options import ReportOptions
from esr1calls.reports.write import write_reports
from esr1calls.testing import TESTDATA
from esr1calls.testing.runs import NGS_COMMAND, PCR_COMMAND, ngs_run, pcr_run

PCR_JSON = TESTDATA / "expected" / "reports" / "pcr" / "calls.json"
NGS_JSON = TESTDATA / "expected" / "reports" / "ngs" / "calls.json"


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def runs(tmp_path):
    write_reports(pcr_run(), tmp_path / "pcr", ReportOptions(PCR_COMMAND))
    write_reports(ngs_run(), tmp_path / "ngs", ReportOptions(NGS_COMMAND))
    return tmp_path / "pcr" / "calls.json", tmp_path / "ngs" / "calls.json"


def test_merge_keeps_every_source_run(run_cli, runs, tmp_path, validate_calls_json):
    pcr, ngs = runs
    result = run_cli(
        ["report", pcr, ngs, "-o", tmp_path / "cohort", "--fhir", "--vcf", "--multiqc"]
    )
    assert result.exit_code == 0, result.stderr
    merged = validate_calls_json(tmp_path / "cohort" / "calls.json")
    run = merged["run"]
    assert run["command"].startswith("esr1calls report ") and run["review_status"] == "unreviewed"
    assert [(i["path"], i["sha256"]) for i in run["inputs"]] == [
        (str(pcr), sha256(pcr)), (str(ngs), sha256(ngs))
    ]  # fmt: skip
    originals = [json.loads(p.read_text()) for p in runs]
    assert [s["run"] for s in run["sources"]] == [o["run"] for o in originals]
    assert [s["sha256"] for s in run["sources"]] == [sha256(pcr), sha256(ngs)]
    assert [s["source_index"] for s in merged["samples"]] == [0] * 9 + [1] * 2
    assert merged["samples"][0]["calls"] == originals[0]["samples"][0]["calls"]
    assert {q["source_index"] for q in merged["run_qc"]} == {0}
    assert merged["plates"][0]["source_index"] == 0
    assert {d["source_index"] for d in merged["dropped"]} == {1}
    assert run["kit"] == originals[0]["run"]["kit"]  # the only kit of the cohort
    assert run["thresholds"] == {}  # PCR and NGS differ: each source keeps its own
    assert any("PLACEHOLDER" in n for n in run["notices"])
    assert any("No panel of normals" in n for n in run["notices"])
    with (tmp_path / "cohort" / "samples.tsv").open() as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    assert [r["sample_id"] for r in rows] == [f"S{i}" for i in range(1, 10)] + ["T01", "T02"]
    calls = (tmp_path / "cohort" / "calls.tsv").read_text().splitlines()
    assert len(calls) == 1 + 11 * 11
    names = {p.name for p in (tmp_path / "cohort").iterdir()}
    assert {"report.html", "calls.fhir.json", "detected.vcf", "esr1calls_calls_mqc.json"} <= names
    page = (tmp_path / "cohort" / "report.html").read_text()
    assert "Source 1: " in page and "Source 2: " in page and sha256(ngs) in page
    assert result.stdout.splitlines()[0] == "sample_id\tmethod\tstatus\tdetected"
    assert "T01\tNGS\tPOSITIVE\tD538G" in result.stdout.splitlines()


def test_the_cohort_notice_reaches_every_format(run_cli, tmp_path):
    """A notice about the merge itself (the runs used different panels) is in every file, not
    only calls.json and report.html; each run's own notices stay with its samples in FHIR."""
    from esr1calls.hotspots import load_panel

    write_reports(pcr_run(), tmp_path / "pcr", ReportOptions(PCR_COMMAND))
    extended = dataclasses.replace(ngs_run(), panel=load_panel("extended").describe())
    write_reports(extended, tmp_path / "ngs", ReportOptions(NGS_COMMAND))
    out = tmp_path / "cohort"
    inputs = [tmp_path / "pcr" / "calls.json", tmp_path / "ngs" / "calls.json"]
    result = run_cli(["report", *inputs, "-o", out, "--fhir", "--vcf", "--multiqc"])
    assert result.exit_code == 0, result.stderr
    notice = "The merged runs used different panels (default, extended)"
    assert any(
        n.startswith(notice) for n in json.loads((out / "calls.json").read_text())["run"]["notices"]
    )
    for name in ("report.html", "esr1calls_calls_mqc.json", "detected.vcf", "calls.fhir.json"):
        assert notice in (out / name).read_text(), name
    assert f"\n##esr1calls_notice={notice}" in (out / "detected.vcf").read_text()
    bundle = json.loads((out / "calls.fhir.json").read_text())
    reports = [e["resource"] for e in bundle["entry"]
               if e["resource"]["resourceType"] == "DiagnosticReport"]  # fmt: skip
    shown = [
        [x["valueString"] for x in r["extension"] if x["url"].endswith("/notice")] for r in reports
    ]
    assert len(shown) == 9 + 2 and all(any(n.startswith(notice) for n in s) for s in shown)
    assert [any("PLACEHOLDER" in n for n in s) for s in shown] == [True] * 9 + [False] * 2
    assert [any("No panel of normals" in n for n in s) for s in shown] == [False] * 9 + [True] * 2


def test_re_rendering_one_run_gives_the_same_calls(run_cli, runs, tmp_path):
    pcr, _ = runs
    assert run_cli(["report", pcr, "-o", tmp_path / "again"]).exit_code == 0
    for name in ("calls.tsv", "samples.tsv"):
        assert (tmp_path / "again" / name).read_text() == (pcr.parent / name).read_text()


def test_a_cohort_merged_again_stays_flat(run_cli, runs, tmp_path, validate_calls_json):
    pcr, ngs = runs
    run_cli(["report", pcr, "-o", tmp_path / "first"])
    cohort = tmp_path / "first" / "calls.json"
    result = run_cli(["report", cohort, ngs, "-o", tmp_path / "second"])
    assert result.exit_code == 0, result.stderr
    merged = validate_calls_json(tmp_path / "second" / "calls.json")
    sources = merged["run"]["sources"]
    assert [s["sha256"] for s in sources] == [sha256(pcr), sha256(ngs)]
    assert sources[0]["via"] == {"path": str(cohort), "sha256": sha256(cohort)}
    assert "via" not in sources[1]
    assert [s["source_index"] for s in merged["samples"]] == [0] * 9 + [1] * 2


def test_the_same_run_twice_is_an_error(run_cli, runs, tmp_path):
    pcr, _ = runs
    copy = tmp_path / "copy.json"
    copy.write_bytes(pcr.read_bytes())
    result = run_cli(["report", pcr, copy, "-o", tmp_path / "out"])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"esr1calls: error: {copy}: holds the run of {pcr} again (calls.json sha256 "
        f"{sha256(pcr)[:12]}...); give each run once"
    ]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "damage, expected",
    [
        (lambda d: d["samples"][1]["calls"][3].update(status="MAYBE"),
         "at samples[1].calls[3].status: 'MAYBE' is not one of"),
        (lambda d: d["run"].pop("review_status"),
         "at run: 'review_status' is a required property"),
        (lambda d: d["samples"][0]["calls"][0].update(status="NOT_DETECTED",
                                                       reasons=["NO_COVERAGE"]),
         "at samples[0].calls[0].reasons:"),
        (lambda d: d.update(schema_version="2.0.0"), "schema_version 2.0.0 is not 1.x"),
        (lambda d: d.pop("schema_version"), "not an esr1calls calls.json (no schema_version)"),
    ],
)  # fmt: skip
def test_a_bad_calls_json_is_a_one_line_error(run_cli, tmp_path, damage, expected):
    document = json.loads(NGS_JSON.read_text())
    damage(document)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(document))
    result = run_cli(["report", PCR_JSON, bad, "-o", tmp_path / "out"])
    assert result.exit_code == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"esr1calls: error: {bad}") and expected in line, line
    assert not (tmp_path / "out").exists()  # nothing written before every input is checked


def test_not_json_names_the_line(run_cli, tmp_path):
    bad = tmp_path / "calls.json"
    bad.write_text('{"schema_version": "1.1.0",\n  "tool": nope}\n')
    result = run_cli(["report", bad, "-o", tmp_path / "out"])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"esr1calls: error: {bad}, line 2 column 11: not valid JSON")
    assert len(result.stderr.splitlines()) == 1


def test_a_1_0_0_calls_json_is_accepted(run_cli, tmp_path, validate_calls_json):
    document = json.loads(PCR_JSON.read_text())
    document["schema_version"] = "1.0.0"
    old = tmp_path / "old.json"
    old.write_text(json.dumps(document))
    assert run_cli(["report", old, "-o", tmp_path / "out"]).exit_code == 0
    assert validate_calls_json(tmp_path / "out" / "calls.json")["schema_version"] == "1.6.0"


def test_build_option_moves_pcr_positions(run_cli, tmp_path):
    result = run_cli(["report", PCR_JSON, "-o", tmp_path, "--vcf", "--build", "GRCh37"])
    assert result.exit_code == 0, result.stderr
    vcf = (tmp_path / "detected.vcf").read_text()
    assert "##reference=GRCh37" in vcf and "\n6\t152332832\t" in vcf


def test_reproducible_cohort_is_byte_identical(run_cli, tmp_path):
    args = ["report", PCR_JSON, NGS_JSON, "-o", tmp_path / "out", "--reproducible", "--fhir",
            "--vcf", "--multiqc"]  # fmt: skip
    assert run_cli(args).exit_code == 0
    first = {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()}
    assert run_cli(args).exit_code == 0  # the same command again (it is recorded in the files)
    assert {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()} == first


def test_format_flags_belong_to_every_report_writing_command(run_cli):
    help_text = run_cli(["report", "--help"]).stdout
    for flag in ("--multiqc", "--fhir", "--vcf", "--reproducible", "-o, --outdir"):
        assert flag in help_text


def test_output_options_carry_the_formats_without_new_parameters(tmp_path):
    """Every command decorated with output_options gets --multiqc/--fhir/--vcf, and its
    report_options carries them: commands keep their (outdir, reproducible) signature."""
    import click
    from click.testing import CliRunner

    from esr1calls.cli import output_options, report_options

    seen = {}

    @click.command()
    @output_options
    @click.pass_context
    def fake(ctx, outdir, reproducible):
        seen["options"] = report_options(ctx, reproducible)

    result = CliRunner().invoke(fake, ["-o", str(tmp_path), "--fhir", "--vcf", "--reproducible"])
    assert result.exit_code == 0, result.output
    options = seen["options"]
    assert options.formats == frozenset({"fhir", "vcf"})
    assert options.reproducible and options.build is None


def test_a_run_without_samples_still_renders_every_format(tmp_path, validate_calls_json):
    from esr1calls.hotspots import load_panel
    from esr1calls.model import RunResult

    empty = RunResult(samples=(), panel=load_panel().describe())
    options = ReportOptions("x", reproducible=True, formats=frozenset({"multiqc", "fhir", "vcf"}))
    written = write_reports(empty, tmp_path, options)
    assert len(written) == 9
    validate_calls_json(tmp_path / "calls.json")
    assert "0 sample(s)" in (tmp_path / "report.html").read_text()
    assert "This run holds no samples." in (tmp_path / "clinical.html").read_text()


def test_merged_tables_start_with_the_run_that_tells_two_plates_s1_apart(run_cli, tmp_path):
    """Two plates with the same sample ids merged: each row of samples.tsv and calls.tsv says
    its run (the calls.json folder, as MultiQC's RUN:SAMPLE keys and monitor name it), not only
    the export's file name; one run's tables have no run column."""
    exports = {
        "plate1": TESTDATA / "plates" / "quantstudio" / "esr1_demo_quantstudio.txt",
        "plate2": TESTDATA / "plates" / "cfx" / "esr1_demo_cfx - Quantification Cq Results.csv",
    }
    plate_map = TESTDATA / "plates" / "esr1_demo_platemap.csv"
    for plate, export in exports.items():
        done = run_cli(["pcr", export, "--plate-map", plate_map, "-o", tmp_path / plate])
        assert done.exit_code == 0, done.stderr
    inputs = [tmp_path / "plate1" / "calls.json", tmp_path / "plate2" / "calls.json"]
    out = tmp_path / "cohort"
    assert run_cli(["report", *inputs, "--multiqc", "-o", out]).exit_code == 0
    with (out / "samples.tsv").open(newline="") as handle:
        samples = list(csv.DictReader(handle, delimiter="\t"))
    assert list(samples[0])[:2] == ["run", "sample_id"]
    keys = [f"{row['run']}:{row['sample_id']}" for row in samples]
    assert len(keys) == 18 and len(set(keys)) == 18
    assert {"plate1:S1", "plate2:S1"} <= set(keys)
    mqc = json.loads((out / "esr1calls_calls_mqc.json").read_text())
    assert set(mqc["data"]) == set(keys)  # the same qualified ids as MultiQC's rows
    with (out / "calls.tsv").open(newline="") as handle:
        calls = list(csv.DictReader(handle, delimiter="\t"))
    assert len(calls) == 18 * 11
    assert {(row["run"], row["sample_id"]) for row in calls} == {
        (row["run"], row["sample_id"]) for row in samples
    }
    by_run = {(r["run"], r["sample_id"], r["hotspot"]): r["status"] for r in calls}
    assert by_run[("plate1", "S2", "D538G")] == by_run[("plate2", "S2", "D538G")] == "DETECTED"
    # re-rendering one run alone: the tables as that run wrote them
    run_cli(["report", inputs[0], "-o", tmp_path / "alone"])
    assert (tmp_path / "alone" / "samples.tsv").read_text().startswith("sample_id\t")
