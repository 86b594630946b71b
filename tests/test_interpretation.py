"""A negative's reading (docs/clinical.md): the guideline step, the ctDNA status, the specimen."""

from __future__ import annotations

import json

import pytest

from esr1calls.errors import ConfigError
from esr1calls.interpretation import GUIDELINE_STEP, TISSUE_STEP, interpret, parse_specimen


@pytest.mark.parametrize("method", ["PCR", "dPCR"])
def test_a_pcr_blood_negative_carries_the_step_and_an_unknown_ctdna(method):
    reading = interpret("NEGATIVE", method, "plasma", None)
    assert reading is not None
    assert reading["reading"] == "BLOOD_NEGATIVE" and reading["step"] == GUIDELINE_STEP
    assert reading["ctdna"]["status"] == "CTDNA_UNKNOWN"
    assert "not archival primary tissue" in GUIDELINE_STEP and "next progression" in GUIDELINE_STEP


def test_an_ngs_negative_keeps_the_proxy_and_without_one_is_low_or_unknown():
    proxy = {"status": "CTDNA_ADEQUATE", "fraction": 0.08}
    assert interpret("NEGATIVE", "NGS", "plasma", proxy)["ctdna"] == proxy
    assert interpret("NEGATIVE", "NGS", "plasma", None)["ctdna"]["status"] == "CTDNA_LOW_OR_UNKNOWN"


def test_tissue_gets_the_tissue_reading_and_unknown_specimens_the_blood_step():
    assert interpret("NEGATIVE", "NGS", "tissue", None) == {
        "reading": "TISSUE_NEGATIVE",
        "step": TISSUE_STEP,
    }
    assert interpret("NEGATIVE", "PCR", None, None)["reading"] == "SPECIMEN_NOT_STATED_NEGATIVE"
    assert interpret("NEGATIVE", "PCR", "other", None)["reading"] == "OTHER_SPECIMEN_NEGATIVE"
    for reading in (interpret("NEGATIVE", "PCR", s, None) for s in (None, "other")):
        assert reading["step"] == GUIDELINE_STEP


@pytest.mark.parametrize("status", ["POSITIVE", "INDETERMINATE", "INVALID"])
def test_only_a_negative_has_a_reading(status):
    assert interpret(status, "PCR", "plasma", None) is None


def test_a_specimen_is_one_of_three_words():
    with pytest.raises(ConfigError, match=r"map\.csv, line 3: specimen 'serum' is not one of"):
        parse_specimen("serum", "map.csv, line 3")


def _map_with_specimen(testdata, tmp_path, cells):
    lines = (testdata / "plates" / "esr1_demo_platemap.csv").read_text().splitlines()
    out = [lines[0] + ",specimen"]
    for line in lines[1:]:
        sample = line.split(",")[1]
        out.append(line + "," + cells.get((sample, line.split(",")[0]), cells.get(sample, "")))
    path = tmp_path / "map.csv"
    path.write_text("\n".join(out) + "\n")
    return path


def _pcr(run_cli, testdata, plate_map, out, *extra):
    return run_cli(
        ["pcr", testdata / "plates" / "esr1_demo_plate.tsv", "--plate-map", plate_map,
         *extra, "-o", out]
    )  # fmt: skip


def test_the_plate_maps_specimen_column_reaches_calls_json(run_cli, testdata, tmp_path):
    plate_map = _map_with_specimen(testdata, tmp_path, {"S1": "Tissue", "S2": "plasma"})
    result = _pcr(run_cli, testdata, plate_map, tmp_path / "out")
    assert result.exit_code == 0, result.stderr
    samples = {
        s["sample_id"]: s
        for s in json.loads((tmp_path / "out" / "calls.json").read_text())["samples"]
    }
    assert samples["S1"]["specimen"] == "tissue" and samples["S1"]["status"] == "NEGATIVE"
    assert samples["S1"]["interpretation"]["reading"] == "TISSUE_NEGATIVE"
    assert samples["S2"]["specimen"] == "plasma" and "interpretation" not in samples["S2"]
    assert "specimen" not in samples["S3"]


def test_specimen_given_on_one_well_only_or_contradicted(run_cli, testdata, tmp_path):
    bad = _map_with_specimen(testdata, tmp_path, {"S1": "plasma", ("S1", "A4"): "tissue"})
    result = _pcr(run_cli, testdata, bad, tmp_path / "out")
    assert result.exit_code == 1 and not (tmp_path / "out").exists()
    assert (
        "sample S1 has specimen" in result.stderr and "one sample has one specimen" in result.stderr
    )


def test_a_control_well_with_a_specimen_and_a_bad_word_are_refused(run_cli, testdata, tmp_path):
    bad = _map_with_specimen(testdata, tmp_path, {"PC": "plasma"})
    result = _pcr(run_cli, testdata, bad, tmp_path / "out")
    assert result.exit_code == 1 and "well has a specimen" in result.stderr
    bad = _map_with_specimen(testdata, tmp_path, {"S2": "blood"})
    result = _pcr(run_cli, testdata, bad, tmp_path / "out")
    assert result.exit_code == 1 and "specimen 'blood' is not one of" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_the_specimen_option_fills_every_sample_and_a_contradiction_is_refused(
    run_cli, testdata, tmp_path
):
    plain = testdata / "plates" / "esr1_demo_platemap.csv"
    result = _pcr(run_cli, testdata, plain, tmp_path / "out", "--specimen", "plasma")
    assert result.exit_code == 0, result.stderr
    document = json.loads((tmp_path / "out" / "calls.json").read_text())
    assert {s.get("specimen") for s in document["samples"]} == {"plasma"}
    negative = next(s for s in document["samples"] if s["status"] == "NEGATIVE")
    assert negative["interpretation"]["ctdna"]["status"] == "CTDNA_UNKNOWN"
    tissue = _map_with_specimen(testdata, tmp_path, {"S1": "tissue"})
    result = _pcr(run_cli, testdata, tissue, tmp_path / "out2", "--specimen", "plasma")
    assert result.exit_code == 1 and not (tmp_path / "out2").exists()
    assert "--specimen plasma contradicts the plate map" in result.stderr


def test_a_batch_manifest_gives_each_job_its_specimen(run_cli, testdata, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    for name in ("esr1_demo_plate.tsv", "esr1_demo_platemap.csv"):
        (data / name).write_bytes((testdata / "plates" / name).read_bytes())
    rows = [
        [
            "blood",
            "pcr",
            "esr1_demo_plate.tsv",
            "esr1_demo_platemap.csv",
            "",
            "",
            "specimen=plasma",
        ],
        [
            "biopsy",
            "pcr",
            "esr1_demo_plate.tsv",
            "esr1_demo_platemap.csv",
            "",
            "",
            "specimen=tissue",
        ],
        ["bad", "pcr", "esr1_demo_plate.tsv", "esr1_demo_platemap.csv", "", "", "specimen=serum"],
    ]
    manifest = data / "manifest.tsv"
    manifest.write_text(
        "id\ttype\tinputs\tplate_map\tkit\tsample\toptions\n"
        + "".join("\t".join(r) + "\n" for r in rows)
    )
    out = tmp_path / "out"
    result = run_cli(["batch", manifest, "-o", out, "-j", "1"])
    assert result.exit_code == 1  # the bad job fails alone
    for job, specimen, reading in (("blood", "plasma", "BLOOD_NEGATIVE"),
                                   ("biopsy", "tissue", "TISSUE_NEGATIVE")):  # fmt: skip
        document = json.loads((out / job / "calls.json").read_text())
        assert {s["specimen"] for s in document["samples"]} == {specimen}
        negative = next(s for s in document["samples"] if s["status"] == "NEGATIVE")
        assert negative["interpretation"]["reading"] == reading
        assert (out / job / "clinical.html").is_file()
    errors = (out / "batch_errors.tsv").read_text()
    assert "specimen 'serum' is not one of plasma, tissue, other" in errors
    assert not (out / "bad").exists()
