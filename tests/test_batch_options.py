"""esr1calls batch: the single commands' options for a whole batch (a directory scan has no
options column), flags that are neither on nor off, --plan (what the workflow reads) and -o."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from esr1calls.batch import BatchJob, job_command, read_manifest
from esr1calls.reports.formats import optional_formats
from esr1calls.testing import TESTDATA

UMI_BAM = TESTDATA / "bam" / "plasma_07.umi.bam"
VCF = TESTDATA / "vcf" / "mutect2" / "esr1_tumour_normal.vcf"
PLATE = TESTDATA / "plates" / "quantstudio" / "esr1_demo_quantstudio.txt"
DEMO_MAP = TESTDATA / "plates" / "esr1_demo_platemap.csv"


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


@pytest.fixture
def bams(tmp_path: Path) -> Path:
    """A folder with one UMI-tagged BAM (consensus reads carrying MI), as a lab would drop it."""
    folder = tmp_path / "bams"
    folder.mkdir()
    shutil.copy(UMI_BAM, folder / "plasma.bam")
    shutil.copy(UMI_BAM.with_name(UMI_BAM.name + ".csi"), folder / "plasma.bam.csi")
    return folder


def _statuses(path: Path) -> dict[str, tuple[str, str]]:
    return {r["hotspot"]: (r["status"], r["reasons"]) for r in _rows(path)}


def test_a_directory_scan_takes_umi_and_counts_molecules(bams, tmp_path, run_cli):
    plain, umi = tmp_path / "plain", tmp_path / "umi"
    assert run_cli(["batch", bams, "-o", plain, "--reproducible"]).exit_code == 0
    result = run_cli(["batch", bams, "--umi", "-o", umi, "--reproducible"])
    assert result.exit_code == 0, result.stderr
    # per read, no hotspot can be NOT_DETECTED (duplicates never marked) ...
    counted = _statuses(plain / "calls.tsv")
    assert all("UNMARKED_DUPLICATES" in reasons for _, reasons in counted.values())
    assert not any(status == "NOT_DETECTED" for status, _ in counted.values())
    # ... and the report names the flag that fixes it
    notices = json.loads((plain / "plasma" / "calls.json").read_text())["run"]["notices"]
    assert any(n.endswith("count molecules with --umi") for n in notices), notices
    # with --umi the molecules are counted, exactly as `esr1calls ngs --umi` counts them
    molecules = _statuses(umi / "calls.tsv")
    assert not any("UNMARKED_DUPLICATES" in reasons for _, reasons in molecules.values())
    assert sum(status == "NOT_DETECTED" for status, _ in molecules.values()) == 8
    single = tmp_path / "single"
    direct = run_cli(["ngs", bams / "plasma.bam", "--umi", "-o", single, "--reproducible"])
    assert direct.exit_code == 0, direct.stderr
    assert (umi / "plasma" / "calls.tsv").read_text() == (single / "calls.tsv").read_text()


def test_batch_wide_options_go_to_the_jobs_of_their_type_and_a_row_wins(tmp_path, run_cli):
    for source in (UMI_BAM, UMI_BAM.with_name(UMI_BAM.name + ".csi"), VCF, PLATE, DEMO_MAP):
        shutil.copy(source, tmp_path / source.name)
    manifest = tmp_path / "manifest.tsv"
    manifest.write_text(
        "id\ttype\tinputs\tplate_map\toptions\n"
        f"bam\tngs\t{UMI_BAM.name}\t\tmin_allele_fraction=0.01\n"
        f"vcf\tngs\t{VCF.name}\t\t\n"
        f"plate\tpcr\t{PLATE.name}\t{DEMO_MAP.name}\t\n"
    )
    result = run_cli(["batch", manifest, "--plan", "--umi", "--min-allele-fraction", "0.005",
                      "--format", "quantstudio", "--hotspots", "D538G,Y537S"])  # fmt: skip
    assert result.exit_code == 0, result.stderr
    commands = {job["id"]: job["command"] for job in json.loads(result.stdout)["jobs"]}
    assert commands["bam"] == ["ngs", str(tmp_path / UMI_BAM.name), "--hotspots", "D538G,Y537S",
                               "--umi", "--min-allele-fraction", "0.01"]  # fmt: skip
    assert commands["vcf"] == ["ngs", str(tmp_path / VCF.name), "--hotspots", "D538G,Y537S",
                               "--umi", "--min-allele-fraction", "0.005"]  # fmt: skip
    assert commands["plate"] == ["pcr", str(tmp_path / PLATE.name), "--plate-map",
                                 str(tmp_path / DEMO_MAP.name), "--format", "quantstudio",
                                 "--hotspots", "D538G,Y537S"]  # fmt: skip


def test_a_directory_scan_takes_one_plate_map_and_a_kit(tmp_path, run_cli):
    plates = tmp_path / "plates"
    plates.mkdir()
    shutil.copy(PLATE, plates / "run1.txt")  # no platemap.csv beside it
    maps = tmp_path / "maps"
    maps.mkdir()
    shutil.copy(DEMO_MAP, maps / "run1_map.csv")
    out = tmp_path / "out"
    no_map = run_cli(["batch", plates, "-o", out])
    assert no_map.exit_code == 1
    assert "no plate map" in _rows(out / "batch_errors.tsv")[0]["error"]
    kit = TESTDATA.parent / "esr1calls" / "data" / "kits" / "esr1-11-arms-example.toml"
    result = run_cli(["batch", plates, "--plate-map", maps / "run1_map.csv", "--kit", kit,
                      "-o", out, "--reproducible"])  # fmt: skip
    assert result.exit_code == 0, result.stderr
    document = json.loads((out / "run1" / "calls.json").read_text())
    assert [Path(i["path"]).name for i in document["run"]["inputs"]][:2] == [
        "run1.txt",
        "run1_map.csv",
    ]
    assert document["run"]["kit"]["sha256"]


def test_a_bad_batch_wide_kit_or_hotspot_stops_the_batch_before_any_job(tmp_path, run_cli, bams):
    bad_kit = tmp_path / "kit.toml"
    bad_kit.write_text("not = [toml\n")
    out = tmp_path / "out"
    result = run_cli(["batch", bams, "--kit", bad_kit, "-o", out])
    assert result.exit_code == 1
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith("esr1calls: error: kit.toml: not valid TOML")
    result = run_cli(["batch", bams, "--hotspots", "D538X", "-o", out])
    assert result.exit_code == 1
    assert len(result.stderr.splitlines()) == 1 and "D538X" in result.stderr
    assert not out.exists()  # nothing was written


def test_plate_map_is_for_directory_scans(tmp_path, run_cli):
    manifest = tmp_path / "manifest.tsv"
    manifest.write_text(f"type\tinputs\tplate_map\npcr\t{PLATE}\t{DEMO_MAP}\n")
    result = run_cli(["batch", manifest, "--plate-map", DEMO_MAP, "-o", tmp_path / "out"])
    assert result.exit_code == 1
    assert result.stderr == (
        f"esr1calls: error: {manifest}: --plate-map applies to a directory scan; a manifest names "
        "each plate's map in its plate_map column: drop --plate-map\n"
    )
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("value", ["ture", "on", "", "2"])
def test_a_flag_that_is_neither_on_nor_off_fails_its_job(tmp_path, run_cli, value):
    shutil.copy(VCF, tmp_path / "t.vcf")
    manifest = tmp_path / "manifest.tsv"
    manifest.write_text(
        f"id\ttype\tinputs\toptions\nt\tngs\tt.vcf\tumi={value}\nok\tngs\tt.vcf\t\n"
    )
    if value == "":  # a bare "umi=" reads as umi=true, like a bare key
        assert job_command(read_manifest(manifest)[0])[-1] == "--umi"
        return
    out = tmp_path / "out"
    result = run_cli(["batch", manifest, "-o", out])
    assert result.exit_code == 1
    error = _rows(out / "batch_errors.tsv")[0]
    assert error["job_id"] == "t"
    assert error["error"] == (
        f"manifest.tsv, line 2: option umi={value!r} is neither on (true, yes, 1) nor off "
        "(false, no, 0); write umi=true or umi=false"
    )
    assert {r["job_id"]: r["state"] for r in _rows(out / "batch_jobs.tsv")}["ok"] == "done"
    plan = json.loads(run_cli(["batch", manifest, "--plan"]).stdout)
    assert plan["jobs"][0]["error"] == error["error"]
    assert plan["jobs"][0]["command"] == [] and plan["jobs"][0]["files"] == []


def test_job_command_refuses_what_the_job_would_refuse():
    job = BatchJob("x", "ngs", (Path("x.vcf"),), origin="m.tsv, line 3",
                   options={"min_base_quality": "20.5"})  # fmt: skip
    with pytest.raises(Exception, match=r"min_base_quality=20\.5 is not a whole number"):
        job_command(job)
    job = BatchJob("x", "pcr", (Path("x.txt"),), origin="m.tsv, line 3", options={"umi": "true"})
    with pytest.raises(Exception, match=r"unknown option umi for a pcr job"):
        job_command(job)
    options = {"min_base_quality": "30.0", "pon": "n.tsv"}
    job = BatchJob("x", "ngs", (Path("x.vcf"),), options=options, base=Path("/m"))
    assert job_command(job) == ["ngs", "x.vcf", "--min-base-quality", "30", "--pon", "/m/n.tsv"]


def test_plan_lists_jobs_files_skips_and_the_report_formats(tmp_path, run_cli):
    shutil.copy(PLATE, tmp_path / "run1.txt")
    shutil.copy(DEMO_MAP, tmp_path / "platemap.csv")
    (tmp_path / "notes.txt").write_text("not a plate\n")
    result = run_cli(["batch", tmp_path, "--plan"])
    assert result.exit_code == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["jobs"] == [
        {
            "id": "run1",
            "type": "pcr",
            "command": ["pcr", str(tmp_path / "run1.txt"), "--plate-map",
                        str(tmp_path / "platemap.csv")],
            "files": [str(tmp_path / "run1.txt"), str(tmp_path / "platemap.csv")],
            "error": None,
            "patient_id": None,
        }
    ]  # fmt: skip
    assert plan["monitor_files"] == ["monitor.json", "monitor.tsv", "timeline.html"]
    assert plan["skipped"] == [
        {
            "file": "notes.txt",
            "reason": "not a recognised plate export, dPCR export, VCF, BCF, BAM or CRAM",
        }
    ]
    assert {"multiqc": "--multiqc", "fhir": "--fhir", "vcf": "--vcf"}.items() <= plan[
        "formats"
    ].items()
    # every format of the registry, each with the flag its commands take
    assert {f.name: f.flag for f in optional_formats()}.items() <= plan["formats"].items()
    assert plan["formats"]["detected_only"] == "--detected-only"
    assert not list(tmp_path.glob("*.tsv"))  # --plan writes nothing


def test_outdir_is_needed_unless_planning(tmp_path, run_cli, bams):
    result = run_cli(["batch", bams])
    assert result.exit_code == 2
    assert "Missing option '-o' / '--outdir'" in result.stderr


def test_batch_help_says_what_o_receives(run_cli):
    text = " ".join(run_cli(["batch", "--help"]).stdout.split())
    assert "Directory for the cohort tables (samples.tsv, calls.tsv, batch_jobs.tsv, " in text
    assert "one folder per job holding that job's report" in text
    assert "Directory for calls.json" not in text


def test_a_dpcr_job_is_its_dpcr_command_and_takes_only_the_assays_batch_wide():
    from esr1calls.batch import EXAMPLE_ASSAYS, with_batch_options

    job = BatchJob("d", "dpcr", (Path("d.csv"),), (Path("m.csv"),), base=Path("/m"),
                   options={"assays": "a.toml", "format": "quantasoft"})  # fmt: skip
    assert job_command(job) == ["dpcr", "d.csv", "--plate-map", "m.csv", "--assays",
                                "/m/a.toml", "--format", "quantasoft"]  # fmt: skip
    bundled = BatchJob("d", "dpcr", (Path("d.csv"),), (Path("m.csv"),))
    wide = {"assays": EXAMPLE_ASSAYS, "format": "quantstudio", "umi": "true"}
    (given,) = with_batch_options([bundled], wide)
    assert job_command(given)[-2:] == ["--assays", EXAMPLE_ASSAYS]  # an id, not a path
    assert dict(given.options) == {"assays": EXAMPLE_ASSAYS}  # a plate format is not dPCR's
    wrong = BatchJob("d", "dpcr", (Path("d.csv"),), origin="m.tsv, line 2", options={"umi": "1"})
    with pytest.raises(Exception, match=r"m\.tsv, line 2: unknown option umi for a dpcr job"):
        job_command(wrong)


def test_a_rows_patient_and_collection_date_are_on_its_planned_command(tmp_path, run_cli):
    (tmp_path / "manifest.tsv").write_text(
        "id\ttype\tinputs\tplate_map\tkit\tsample\toptions\tpatient_id\tcollected\n"
        f"plasma\tngs\t{VCF}\t\t\t\t\tPT-7\t2026-03-02\n"
        f"plate\tpcr\t{PLATE}\t{DEMO_MAP}\t\t\t\t\t\n"
    )
    result = run_cli(["batch", tmp_path / "manifest.tsv", "--plan"])
    assert result.exit_code == 0, result.stderr
    jobs = {job["id"]: job for job in json.loads(result.stdout)["jobs"]}
    command = jobs["plasma"]["command"]
    assert command[-4:] == ["--patient", "PT-7", "--collected", "2026-03-02"]
    assert "--patient" not in jobs["plate"]["command"]  # no columns, no options
    # and the plan says which rows name a patient (the workflow's monitor: auto)
    assert (jobs["plasma"]["patient_id"], jobs["plate"]["patient_id"]) == ("PT-7", None)
    # the planned command records what the batch job records
    assert run_cli([*command, "--reproducible", "-o", tmp_path / "by_hand"]).exit_code == 0
    assert run_cli(["batch", tmp_path / "manifest.tsv", "-o", tmp_path / "batch"]).exit_code == 0
    for folder in (tmp_path / "by_hand", tmp_path / "batch" / "plasma"):
        (sample,) = json.loads((folder / "calls.json").read_text())["samples"]
        assert (sample["patient_id"], sample["collected"]) == ("PT-7", "2026-03-02"), folder


def test_plan_refuses_a_sample_sheet_it_could_not_honour(tmp_path, run_cli, bams):
    sheet = tmp_path / "sheet.tsv"
    sheet.write_text("sample_id\tpatient_id\tcollected\nplasma:S1\tPT-1\t2026-01-05\n")
    result = run_cli(["batch", bams, "--plan", "--samples", sheet])
    assert result.exit_code == 2
    assert "--samples" in result.stderr and "patient_id and collected" in result.stderr
    assert result.stdout == ""


def test_dpcr_takes_a_patient_for_a_run_of_one_sample_only(tmp_path, run_cli):
    args = ["dpcr", TESTDATA / "dpcr" / "quantasoft" / "esr1_demo_quantasoft.csv", "--plate-map",
            TESTDATA / "dpcr" / "esr1_demo_dpcr_platemap.csv", "--patient", "PT-1", "-o",
            tmp_path / "out"]  # fmt: skip
    result = run_cli(args)
    assert result.exit_code != 0
    assert "--patient" in result.stderr and "this run holds 4 samples" in result.stderr
    assert not (tmp_path / "out" / "calls.json").exists()
