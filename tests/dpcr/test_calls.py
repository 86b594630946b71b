"""esr1calls dpcr end to end: the demo plate in all four formats, its goldens, the evidence
behind every call, and what the map and the export must agree on."""

from __future__ import annotations

import csv
import html
import json
import math
from pathlib import Path

import pytest

from esr1calls.dpcr import call_dpcr
from esr1calls.model import CallStatus, Method, Reason, SampleStatus
from esr1calls.testing import TESTDATA
from esr1calls.testing.golden import assert_golden

DPCR = TESTDATA / "dpcr"
DEMO_MAP = DPCR / "esr1_demo_dpcr_platemap.csv"
EXPECTED = TESTDATA / "expected" / "dpcr"
FORMATS = ("quantasoft", "qxmanager", "qiacuity", "absoluteq")
REGION = {"L536H", "L536P", "L536R", "L536Q", "Y537C", "Y537N", "EX8_DROPOFF"}


def demo(fmt: str) -> Path:
    return DPCR / fmt / f"esr1_demo_{fmt}.csv"


def run(run_cli, tmp_path: Path, *args) -> Path:
    out = tmp_path / "out"
    result = run_cli(["dpcr", *args, "-o", out, "--reproducible"])
    assert result.exit_code == 0, result.stderr
    return out


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_format_gives_its_golden_calls(fmt, run_cli, tmp_path, validate_calls_json):
    out = run(run_cli, tmp_path, demo(fmt), "--plate-map", DEMO_MAP)
    assert_golden((out / "calls.tsv").read_text(encoding="utf-8"), EXPECTED / f"{fmt}.calls.tsv")
    assert_golden(
        (out / "samples.tsv").read_text(encoding="utf-8"), EXPECTED / f"{fmt}.samples.tsv"
    )
    document = validate_calls_json(out / "calls.json")
    assert document["run"]["kit"]["id"] == "esr1-dpcr-example"
    assert {s["method"] for s in document["samples"]} == {"dPCR"}
    placeholder = [n for n in document["run"]["notices"] if "PLACEHOLDER" in n]
    page = (out / "report.html").read_text(encoding="utf-8")
    assert placeholder and html.escape(placeholder[0]) in page


def test_the_same_plate_in_all_four_formats_gives_the_same_calls(run_cli, tmp_path):
    """QuantaSoft, QX Manager and Absolute Q carry the partition combinations: identical calls.
    QIAcuity has none: identical for every hotspot a specific assay decides, and the drop-off
    region (and the hotspots it alone decides) INDETERMINATE NO_PARTITION_COMBINATIONS."""
    tables = {}
    for fmt in FORMATS:
        out = run(run_cli, tmp_path / fmt, demo(fmt), "--plate-map", DEMO_MAP)
        tables[fmt] = [
            {k: v for k, v in row.items() if k != "source"} for row in rows(out / "calls.tsv")
        ]
    assert tables["qxmanager"] == tables["quantasoft"]
    assert tables["absoluteq"] == tables["quantasoft"]
    for bio_rad, qiagen in zip(tables["quantasoft"], tables["qiacuity"], strict=True):
        if bio_rad["hotspot"] in REGION:
            assert qiagen["status"] in ("INDETERMINATE", "INVALID")
            if qiagen["status"] == "INDETERMINATE":
                assert qiagen["reasons"].startswith("NO_PARTITION_COMBINATIONS")
        else:
            assert qiagen == bio_rad


@pytest.fixture(scope="module")
def result():
    return call_dpcr([demo("quantasoft")], DEMO_MAP)


def calls_of(result, sample_id: str) -> dict:
    sample = next(s for s in result.samples if s.sample_id == sample_id)
    return {c.hotspot: c for c in sample.calls}


def test_the_demo_samples_have_the_statuses_they_were_made_for(result):
    statuses = {s.sample_id: s.status for s in result.samples}
    assert statuses == {
        "P1": SampleStatus.POSITIVE,
        "N1": SampleStatus.NEGATIVE,
        "D1": SampleStatus.POSITIVE,
        "L1": SampleStatus.INDETERMINATE,
    }
    assert result.panel["regions"] == ["EX8_DROPOFF"]
    assert "V422del" not in result.panel["hotspots"]  # no assay covers it: not in the panel


def test_a_specific_assay_decides_its_hotspot_and_the_region_is_reported_as_measured(result):
    p1, d1 = calls_of(result, "P1"), calls_of(result, "D1")
    assert p1["D538G"].status is CallStatus.DETECTED  # the specific assay
    assert p1["EX8_DROPOFF"].status is CallStatus.DETECTED  # the same mutation, seen again
    assert "specific assay D538G" in p1["D538G"].evidence["decided_by"]
    assert d1["D538G"].status is CallStatus.NOT_DETECTED  # the region is positive, D538G not
    assert d1["EX8_DROPOFF"].status is CallStatus.DETECTED
    for hotspot in ("L536H", "L536P", "L536R", "L536Q", "Y537C", "Y537N"):
        assert d1[hotspot].status is CallStatus.INDETERMINATE
        assert d1[hotspot].reasons == (Reason.ALLELE_NOT_RESOLVED,)
        assert d1[hotspot].action == "confirm which allele by a specific assay or NGS"


def test_a_left_out_replicate_is_never_hidden_by_the_other(result):
    l1 = calls_of(result, "L1")
    assert l1["E380Q"].status is CallStatus.NOT_DETECTED
    assert Reason.LOW_PARTITIONS in l1["E380Q"].reasons
    assert l1["E380Q"].evidence["wells_excluded"] == [
        {"well": "A9", "partitions": 8214, "reason": "LOW_PARTITIONS"}
    ]
    assert l1["S463P"].status is CallStatus.INVALID  # both wells under the minimum
    assert l1["S463P"].reasons == (Reason.LOW_PARTITIONS,)
    assert any(
        n.startswith("Run esr1_demo_quantasoft: well A9 (L1, E380Q) has 8,214")
        for n in result.notices
    )
    layout = {w["well"]: w for w in result.plates[0]["wells"]}
    assert layout["A9"]["qc"] == ["LOW_PARTITIONS"] and layout["A10"]["qc"] == []


def test_every_number_is_in_the_evidence(result):
    call = calls_of(result, "P1")["D538G"]
    evidence = call.evidence
    for key in (
        "partitions",
        "mutant_partitions",
        "wild_type_partitions",
        "lambda_mutant",
        "lambda_wild_type",
        "copies_per_ul",
        "copies_per_20ul_well",
        "fraction",
        "fraction_ci95",
        "p0",
        "p0_source",
        "k_req",
        "power_at_reportable_fraction",
        "lod95",
        "copies_per_ml_plasma",
        "partition_volume_nl",
        "min_partitions",
    ):
        assert evidence.get(key) is not None, key
    n, k_m, k_w = (
        evidence["partitions"],
        evidence["mutant_partitions"],
        evidence["wild_type_partitions"],
    )
    assert (call.alt_count, call.depth) == (k_m, n)
    volume_ul = 0.85e-3
    for channel, positives in (("mutant", k_m), ("wild_type", k_w)):
        formula = -math.log(1 - positives / n) / volume_ul
        assert evidence["copies_per_ul"][channel] == pytest.approx(formula, rel=1e-9, abs=0)
        assert evidence["copies_per_20ul_well"][channel] == pytest.approx(20 * formula, rel=1e-9)
        # 4 mL plasma, 60 uL eluate, 8 uL of it in a 20 uL reaction
        assert evidence["copies_per_ml_plasma"][channel] == pytest.approx(
            formula * 20 / 8 * 60 / 4, rel=1e-9
        )
    assert "wild-type controls D3, D4, D5" in evidence["p0_source"]
    assert call.allele_fraction == evidence["fraction"]
    assert call.allele_fraction_ci95[0] < call.allele_fraction < call.allele_fraction_ci95[1]


def test_a_drop_off_call_counts_reference_positive_wild_type_negative_partitions(result):
    region = calls_of(result, "D1")["EX8_DROPOFF"].evidence
    n, k_w, k_m = (
        region["partitions"],
        region["wild_type_positive_partitions"],
        region["mutant_partitions"],
    )
    lambda_w = -math.log(1 - k_w / n)
    lambda_m = -math.log(1 - k_m / (n - k_w))
    assert region["fraction"] == pytest.approx(lambda_m / (lambda_m + lambda_w), rel=1e-12)
    assert region["mutant_partitions_are"].startswith("FAM+ HEX-")


def test_a_run_with_a_contaminated_ntc_is_invalid_in_every_call(tmp_path):
    text = demo("quantasoft").read_bytes().decode("utf-8")
    lines = text.split("\r\n")
    cells = lines[1].split(",")  # A01 FAM: 0 positive
    assert cells[3] == "NTC" and cells[14] == "0"
    cells[14], cells[15], cells[17], cells[19] = (
        "3",
        str(int(cells[15]) - 3),
        "3",
        str(int(cells[19]) - 3),
    )
    lines[1] = ",".join(cells)
    hex_cells = lines[2].split(",")
    hex_cells[17], hex_cells[19] = "3", str(int(hex_cells[19]) - 3)
    lines[2] = ",".join(hex_cells)
    path = tmp_path / "ntc.csv"
    path.write_bytes("\r\n".join(lines).encode("utf-8"))
    contaminated = call_dpcr([path], DEMO_MAP)
    assert {c.status for s in contaminated.samples for c in s.calls} == {CallStatus.INVALID}
    assert {c.reasons for s in contaminated.samples for c in s.calls} == {(Reason.NTC_AMPLIFIED,)}
    assert {s.status for s in contaminated.samples} == {SampleStatus.INVALID}


def test_a_well_missing_from_the_export_is_invalid_never_negative(tmp_path):
    lines = demo("qxmanager").read_bytes().split(b"\r\n")
    kept = [line for line in lines if not line.startswith(b"D07,")]  # N1's D538G well
    path = tmp_path / "missing.csv"
    path.write_bytes(b"\r\n".join(kept))
    n1 = calls_of(call_dpcr([path], DEMO_MAP), "N1")
    assert (n1["D538G"].status, n1["D538G"].reasons) == (CallStatus.INVALID, (Reason.MISSING_WELL,))
    assert n1["E380Q"].status is CallStatus.NOT_DETECTED


def test_sample_names_that_contradict_the_map_invalidate_those_samples(tmp_path):
    """P1 and N1 swapped in the export's D538G row: both samples' D538G-assay calls become
    INVALID MAP_EXPORT_MISMATCH (never N1 POSITIVE)."""
    text = demo("qxmanager").read_text(encoding="utf-8-sig")
    text = (
        text.replace("D06,P1,", "D06,@@,")
        .replace("D07,N1,", "D07,P1,")
        .replace("D06,@@,", "D06,N1,")
    )
    path = tmp_path / "swapped.csv"
    path.write_text(text, encoding="utf-8")
    swapped = call_dpcr([path], DEMO_MAP)
    for sample_id in ("P1", "N1"):
        calls = calls_of(swapped, sample_id)
        assert calls["D538G"].status is CallStatus.INVALID
        assert calls["D538G"].reasons == (Reason.MAP_EXPORT_MISMATCH,)
    statuses = {s.sample_id: s.status for s in swapped.samples}
    assert statuses["N1"] is not SampleStatus.POSITIVE
    assert any(c.check == "map vs export" and not c.passed for c in swapped.run_qc)


def test_an_ntc_named_on_a_sample_well_fails_the_run(tmp_path):
    text = demo("qxmanager").read_text(encoding="utf-8-sig").replace("A01,NTC,", "A01,P1,")
    path = tmp_path / "ntc_named.csv"
    path.write_text(text, encoding="utf-8")
    contradicted = call_dpcr([path], DEMO_MAP)
    assert {c.reasons[0] for s in contradicted.samples for c in s.calls} == {
        Reason.MAP_EXPORT_MISMATCH
    }


def test_a_qiacuity_target_of_another_assay_is_a_contradiction(tmp_path):
    """QIAcuity names no dye: a row's channel is its target's. L1's D538G well naming the
    Y537S assay's mutant target contradicts the map: L1 is INVALID MAP_EXPORT_MISMATCH."""
    text = demo("qiacuity").read_bytes().decode("utf-8")
    old = '"D9","L1","Sample","D538G","D538G"'
    assert text.count(old) == 1
    path = tmp_path / "target.csv"
    path.write_bytes(text.replace(old, '"D9","L1","Sample","D538G","Y537S"').encode("utf-8"))
    result = call_dpcr([path], DEMO_MAP)
    l1 = calls_of(result, "L1")
    assert {c.reasons for c in l1.values()} == {(Reason.MAP_EXPORT_MISMATCH,)}  # alone
    check = next(c for c in result.run_qc if c.check == "map vs export")
    assert check.subject == "well D9" and "assay Y537S" in str(check.value)
    assert calls_of(result, "P1")["D538G"].status is CallStatus.DETECTED


def test_a_sample_without_an_assay_is_not_tested_for_its_hotspots(tmp_path):
    lines = DEMO_MAP.read_text(encoding="utf-8").splitlines()
    kept = [line for line in lines if not line.startswith(("A7,", "B7,"))]  # N1: no E380Q, S463P
    path = tmp_path / "map.csv"
    path.write_text("\n".join(kept) + "\n", encoding="utf-8")
    result = call_dpcr([demo("quantasoft")], path)
    n1 = calls_of(result, "N1")
    assert n1["E380Q"].reasons == (Reason.NOT_TESTED,)
    assert n1["D538G"].status is CallStatus.NOT_DETECTED
    status = next(s.status for s in result.samples if s.sample_id == "N1")
    assert status is SampleStatus.INDETERMINATE  # never NEGATIVE with untested hotspots
    assert any(d.reason == "has data but is not in the plate map" for d in result.dropped)


def test_the_map_names_an_assay_of_the_set(run_cli, tmp_path):
    path = tmp_path / "map.csv"
    path.write_text("well,sample_id,role,assay\nA1,S1,SAMPLE,Y537X\n", encoding="utf-8")
    result = run_cli(["dpcr", demo("quantasoft"), "--plate-map", path, "-o", tmp_path / "o"])
    assert result.exit_code == 1
    assert result.stderr == (
        "esr1calls: error: map.csv, line 2: assay 'Y537X' is not an assay of esr1-dpcr-example "
        "(E380Q, S463P, Y537S, D538G, EX8_DROPOFF)\n"
    )
    assert not (tmp_path / "o").exists()


def test_a_pcr_plate_export_is_refused_with_a_one_line_error(run_cli, tmp_path):
    plate = TESTDATA / "plates" / "generic" / "esr1_demo_generic.csv"
    result = run_cli(["dpcr", plate, "--plate-map", DEMO_MAP, "-o", tmp_path / "o"])
    assert result.exit_code == 1
    assert result.stderr.startswith(
        "esr1calls: error: esr1_demo_generic.csv: not a recognised digital PCR export"
    )
    assert result.stderr.count("\n") == 1


def test_mix_is_accepted_for_assay_and_the_report_is_reproducible(run_cli, tmp_path):
    path = tmp_path / "map.csv"
    path.write_text(
        DEMO_MAP.read_text(encoding="utf-8").replace(",assay,", ",mix,", 1), encoding="utf-8"
    )
    first = run(run_cli, tmp_path, demo("absoluteq"), "--plate-map", path)
    written = {
        name: (first / name).read_bytes()
        for name in ("calls.json", "calls.tsv", "samples.tsv", "report.html")
    }
    again = run(run_cli, tmp_path, demo("absoluteq"), "--plate-map", path)
    for name, data in written.items():
        assert (again / name).read_bytes() == data, name
    document = json.loads((first / "calls.json").read_text(encoding="utf-8"))
    assert document["samples"][0]["method"] == Method.DPCR.value
    assert document["plates"][0]["instrument"] == "absoluteq"
    well = next(w for w in document["plates"][0]["wells"] if w["well"] == "D6")
    assert set(well) >= {"partitions", "channels", "fraction", "fraction_ci95", "p0", "qc"}


def test_the_dpcr_command_is_in_the_help(run_cli):
    result = run_cli(["dpcr", "--help"])
    assert result.exit_code == 0
    for option in ("--plate-map", "--assays", "--format", "--multiqc", "--reproducible"):
        assert option in result.stdout


def test_the_cli_offers_every_reader():
    from esr1calls import cli, dpcr

    assert cli.DPCR_FORMATS == dpcr.DPCR_FORMATS


def test_a_dpcr_result_is_re_rendered_and_merged_by_report(run_cli, tmp_path):
    out = run(run_cli, tmp_path / "run", demo("qxmanager"), "--plate-map", DEMO_MAP, "--vcf",
              "--multiqc")  # fmt: skip
    assert (out / "detected.vcf").is_file() and (out / "esr1calls_calls_mqc.json").is_file()
    pcr = TESTDATA / "expected" / "reports" / "pcr" / "calls.json"
    cohort = tmp_path / "cohort"
    merged = run_cli(["report", out / "calls.json", pcr, "-o", cohort, "--fhir", "--vcf"])
    assert merged.exit_code == 0, merged.stderr
    methods = {row["method"] for row in rows(cohort / "samples.tsv")}
    assert methods == {"dPCR", "PCR"}
    bundle = json.loads((cohort / "calls.fhir.json").read_text(encoding="utf-8"))
    texts = {
        e["resource"]["method"]["text"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "Observation"
    }
    assert texts == {"ARMS-PCR", "Digital PCR"}
    vcf = (cohort / "detected.vcf").read_text(encoding="utf-8")
    assert ":dPCR" in vcf and ":PCR" in vcf  # FORMAT/MT of the dPCR and the PCR samples
    page = (cohort / "report.html").read_text(encoding="utf-8")
    assert "<h2>PCR plates</h2>" in page and "<h2>Digital PCR plates</h2>" in page


def test_fhir_is_written_for_dpcr(run_cli, tmp_path):
    """Before, a one-line error (and before that a KeyError traceback)."""
    out = run(run_cli, tmp_path, demo("quantasoft"), "--plate-map", DEMO_MAP, "--fhir")
    bundle = json.loads((out / "calls.fhir.json").read_text(encoding="utf-8"))
    methods = {
        json.dumps(e["resource"]["method"], sort_keys=True)
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "Observation"
    }
    assert len(methods) == 1 and "1303992007" in methods.pop()
