from __future__ import annotations

import csv
import dataclasses
import json
import os

import pytest

from esr1calls.hotspots import load_panel
from esr1calls.model import (
    Call,
    CallStatus,
    Dropped,
    InputFile,
    Method,
    QcCheck,
    Reason,
    RunResult,
    SampleReport,
    derive_sample_status,
)
from esr1calls.reports.calls_json import load_schema, to_json_document
from esr1calls.reports.options import ReportOptions
from esr1calls.reports.tables import CALL_COLUMNS, SAMPLE_COLUMNS
from esr1calls.reports.write import render_files, write_reports, write_text_atomic
from esr1calls.testing import TESTDATA
from esr1calls.testing.golden import assert_golden
from esr1calls.testing.runs import (
    DPCR_COMMAND,
    NGS_COMMAND,
    PCR_COMMAND,
    dpcr_run,
    ngs_run,
    pcr_run,
)


def _result(sample_id="S1") -> RunResult:
    calls = (
        Call(sample_id, "D538G", Method.NGS, CallStatus.DETECTED, allele_fraction=0.0123,
             allele_fraction_ci95=(0.01, 0.015), alt_count=123, depth=10000, lod95=0.0009,
             evidence={"alt_field": "AD", "depth_field": "sum(AD)"}),
        Call(sample_id, "Y537S", Method.NGS, CallStatus.INDETERMINATE, (Reason.NO_COVERAGE,),
             action="supply a BAM or a gVCF", evidence={"caller_af": float("nan")}),
    )  # fmt: skip
    sample = SampleReport(sample_id, Method.NGS, derive_sample_status(calls), "D538G detected",
                          calls, source="tumour.vcf")  # fmt: skip
    return RunResult(
        samples=(sample,),
        inputs=(InputFile("tumour.vcf", "0" * 64, "vcf"),),
        run_qc=(QcCheck("run1", "PC", "well A1 FAM", 27.5, "26.0-30.0", True),),
        dropped=(Dropped("tumour.vcf", "record 12", "not at a hotspot"),),
        panel=load_panel().describe(),
        thresholds={"min_allele_fraction": 0.002},
    )


def test_reports_are_written_and_valid_against_the_schema(tmp_path, validate_calls_json):
    written = write_reports(_result(), tmp_path, ReportOptions("esr1calls ngs tumour.vcf"))
    assert sorted(p.name for p in written) == [
        "calls.json",
        "calls.tsv",
        "clinical.html",
        "report.html",
        "samples.tsv",
    ]  # the optional formats only when asked for
    document = validate_calls_json(tmp_path / "calls.json")
    assert document["schema_version"] == "1.6.0"
    assert document["run"]["review_status"] == "unreviewed"
    assert document["run"]["utc_time"].endswith("Z")
    call = document["samples"][0]["calls"][1]
    assert call["evidence"]["caller_af"] is None  # NaN never reaches JSON
    assert call["reasons"] == ["NO_COVERAGE"]


def test_tsv_columns_are_fixed(tmp_path):
    write_reports(_result(), tmp_path, ReportOptions("x"))
    with (tmp_path / "calls.tsv").open() as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    assert tuple(rows[0]) == CALL_COLUMNS
    assert rows[0]["allele_fraction"] == "0.0123" and rows[1]["reasons"] == "NO_COVERAGE"
    header = (tmp_path / "samples.tsv").read_text().splitlines()[0]
    assert tuple(header.split("\t")) == SAMPLE_COLUMNS


def test_reproducible_reports_are_byte_identical(tmp_path):
    for run in ("a", "b"):
        write_reports(_result(), tmp_path / run, ReportOptions("x", reproducible=True))
    for name in ("calls.json", "calls.tsv", "samples.tsv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert json.loads((tmp_path / "a" / "calls.json").read_text())["run"]["utc_time"] is None


@pytest.mark.parametrize("name", ['=HYPERLINK("x")', "+1+1", "-2+3", "@SUM(A1)", " =1+1"])
def test_formula_injection_is_inert_in_tsv(tmp_path, name):
    write_reports(_result(name), tmp_path, ReportOptions("x"))
    for table in ("calls.tsv", "samples.tsv"):
        first_cells = [line.split("\t")[0] for line in (tmp_path / table).read_text().splitlines()]
        assert all(cell.startswith("'") for cell in first_cells[1:]), first_cells


def test_atomic_write_leaves_nothing_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "calls.json"
    target.write_text("old")

    def broken_fsync(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError):
        write_text_atomic(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["calls.json"]


def test_schema_reason_codes_are_exactly_the_model_enum():
    schema = load_schema()
    assert set(schema["$defs"]["reason"]["enum"]) == {r.value for r in Reason}


def test_schema_refuses_a_not_detected_claim_without_coverage(calls_validator):
    result = _result()
    from esr1calls.reports.calls_json import to_json_document

    document = to_json_document(result, ReportOptions("x"))
    bad = document["samples"][0]["calls"][1]
    bad["status"] = "NOT_DETECTED"
    assert not calls_validator.is_valid(document)
    bad["status"] = "INDETERMINATE"
    bad["reasons"] = []
    assert not calls_validator.is_valid(document)


def test_sample_status_rules():
    def call(status, reasons=()):
        return Call("S", "D538G", Method.PCR, status, reasons)

    nd, det = call(CallStatus.NOT_DETECTED), call(CallStatus.DETECTED)
    ind = call(CallStatus.INDETERMINATE, (Reason.LOW_INPUT,))
    inv = call(CallStatus.INVALID, (Reason.IC_FAIL,))
    assert derive_sample_status([nd, det, inv]).value == "POSITIVE"
    assert derive_sample_status([nd, nd]).value == "NEGATIVE"
    assert derive_sample_status([nd, ind]).value == "INDETERMINATE"
    assert derive_sample_status([nd, inv]).value == "INDETERMINATE"
    assert derive_sample_status([inv, inv]).value == "INVALID"
    assert derive_sample_status([nd], sample_invalid=True).value == "INVALID"


def test_allele_fraction_must_be_a_fraction():
    with pytest.raises(ValueError, match="fraction"):
        Call("S", "D538G", Method.NGS, CallStatus.DETECTED, allele_fraction=12.3)


# ------------------------------------------------------------------ every format, golden
GOLDEN = TESTDATA / "expected" / "reports"
EVERY_FORMAT = ReportOptions("x", reproducible=True, formats=frozenset({"multiqc", "fhir", "vcf"}))
ALL_FILES = [
    "calls.fhir.json", "calls.json", "calls.tsv", "clinical.html", "detected.vcf",
    "esr1calls_calls_mqc.json", "esr1calls_general_stats_mqc.json", "report.html", "samples.tsv",
]  # fmt: skip


@pytest.mark.parametrize(
    "name, make, command",
    [
        ("pcr", pcr_run, PCR_COMMAND),
        ("ngs", ngs_run, NGS_COMMAND),
        ("dpcr", dpcr_run, DPCR_COMMAND),
    ],
)
def test_every_format_matches_golden(name, make, command, tmp_path, validate_calls_json):
    options = dataclasses.replace(EVERY_FORMAT, command=command)
    written = write_reports(make(), tmp_path, options)
    assert sorted(p.name for p in written) == ALL_FILES
    validate_calls_json(tmp_path / "calls.json")
    for path in written:
        assert_golden(path.read_text(encoding="utf-8"), GOLDEN / name / path.name)


def test_every_format_is_byte_identical_on_rerun(tmp_path):
    for run in ("a", "b"):
        write_reports(ngs_run(), tmp_path / run, EVERY_FORMAT)
    for name in ALL_FILES:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_renderers_work_from_the_document_alone(tmp_path):
    """Rendering a loaded calls.json gives the same files as rendering the run that made it."""
    write_reports(pcr_run(), tmp_path / "run", EVERY_FORMAT)
    document = json.loads((tmp_path / "run" / "calls.json").read_text())
    files = render_files(document, EVERY_FORMAT)
    for name, text in files.items():
        assert text == (tmp_path / "run" / name).read_text(), name


def test_a_rerun_without_a_format_removes_the_earlier_runs_file(tmp_path, caplog):
    """An old detected.vcf beside new calls would show the earlier run's mutations."""
    write_reports(pcr_run(), tmp_path, EVERY_FORMAT)
    (tmp_path / "mine.vcf").write_text("a user's own file\n")
    plain = ReportOptions("esr1calls pcr (re-run)", reproducible=True)
    written = write_reports(pcr_run(), tmp_path, plain)
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted([*(p.name for p in written), "mine.vcf"])
    assert not any(name in left for name in ("detected.vcf", "calls.fhir.json"))
    assert "removed" in caplog.text and "detected.vcf" in caplog.text


def test_rerendering_the_same_calls_keeps_the_other_formats(tmp_path):
    """`esr1calls report` into the directory of the same calls.json: nothing is stale."""
    write_reports(pcr_run(), tmp_path, EVERY_FORMAT)
    document = json.loads((tmp_path / "calls.json").read_text())
    from esr1calls.reports.write import write_document

    write_document(
        document, tmp_path, dataclasses.replace(EVERY_FORMAT, formats=frozenset({"multiqc"}))
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ALL_FILES


def test_reports_are_readable_like_any_file_the_user_writes(tmp_path):
    old = os.umask(0o022)
    try:
        written = write_reports(_result(), tmp_path, ReportOptions("x"))
    finally:
        os.umask(old)
    assert {oct(p.stat().st_mode & 0o777) for p in written} == {"0o644"}


def test_a_1_0_0_document_is_still_valid(calls_validator):
    document = to_json_document(_result(), ReportOptions("x"))
    document["schema_version"] = "1.0.0"
    assert calls_validator.is_valid(document)
    document["schema_version"] = "2.0.0"
    assert not calls_validator.is_valid(document)


@pytest.mark.parametrize("name", ['=HYPERLINK("x")', "<script>alert(1)</script>"])
def test_hostile_sample_names_are_inert_in_tsv_and_html(tmp_path, name):
    write_reports(_result(name), tmp_path, EVERY_FORMAT)
    for table in ("calls.tsv", "samples.tsv"):
        cells = [line.split("\t")[0] for line in (tmp_path / table).read_text().splitlines()[1:]]
        if name.startswith("="):
            assert cells and all(c == "'" + name for c in cells)
        else:
            assert cells and all(c == name for c in cells)  # text, harmless in a spreadsheet
    page = (tmp_path / "report.html").read_text()
    assert "<script" not in page and "alert(1)" not in page.replace("&lt;script&gt;alert(1)", "")
    mqc = (tmp_path / "esr1calls_calls_mqc.json").read_text()
    assert "<script" not in mqc
