"""End to end through the real readers: the same plate from every instrument family gives the
same calls, and bad inputs are one-line errors."""

from __future__ import annotations

import csv
import re

import pytest

from .conftest import TESTDATA

PLATES = TESTDATA / "plates"
DEMO_MAP = PLATES / "esr1_demo_platemap.csv"
TUBE_MAP = PLATES / "rotorgene" / "esr1_demo_platemap.csv"
GOLDEN_CALLS = TESTDATA / "expected" / "pcr" / "demo.calls.tsv"

FAMILIES = [
    pytest.param(["quantstudio/esr1_demo_quantstudio.txt"], DEMO_MAP, id="quantstudio-txt"),
    pytest.param(["quantstudio/esr1_demo_quantstudio.xlsx"], DEMO_MAP, id="quantstudio-xlsx"),
    pytest.param(["quantstudio/esr1_demo_quantstudio.xls"], DEMO_MAP, id="quantstudio-xls"),
    pytest.param(["abi7500/esr1_demo_7500.txt"], DEMO_MAP, id="7500"),
    pytest.param(["abi7500/esr1_demo_steponeplus.csv"], DEMO_MAP, id="steponeplus"),
    pytest.param(["cfx/esr1_demo_cfx - Quantification Cq Results.csv"], DEMO_MAP, id="cfx-csv"),
    pytest.param(["cfx/esr1_demo_cfx - Quantification Cq Results.xlsx"], DEMO_MAP, id="cfx-xlsx"),
    pytest.param(["cfx/esr1_demo_cfx_semicolon - Quantification Cq Results.csv"], DEMO_MAP,
                 id="cfx-semicolon"),
    pytest.param([f"lightcycler480/esr1_demo_lc480_{f}.txt"
                  for f in ("fam_465-510", "hex_533-580", "rox_533-610", "cy5_618-660")],
                 DEMO_MAP, id="lightcycler480-4-files"),
    pytest.param(["lightcycler96/esr1_demo_lc96.csv"], DEMO_MAP, id="lightcycler96"),
    pytest.param(["rotorgene/esr1_demo_rotorgene.csv"], TUBE_MAP, id="rotorgene"),
    pytest.param(["slan/esr1_demo_slan.xlsx"], DEMO_MAP, id="slan"),
    pytest.param(["rdml/esr1_demo_rdml12.rdml"], DEMO_MAP, id="rdml"),
    pytest.param(["generic/esr1_demo_generic.csv"], DEMO_MAP, id="generic"),
]  # fmt: skip


def _calls_without_source(path):
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return [{k: v for k, v in row.items() if k != "source"} for row in rows]


@pytest.mark.parametrize("exports, plate_map", FAMILIES)
def test_every_instrument_family_gives_the_demo_calls(exports, plate_map, run_cli, tmp_path,
                                                      validate_calls_json):  # fmt: skip
    out = tmp_path / "out"
    result = run_cli(["pcr", *[PLATES / e for e in exports], "--plate-map", plate_map, "-o", out,
                      "--reproducible", "-v"])  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "Detected plate format" in result.stderr
    assert _calls_without_source(out / "calls.tsv") == _calls_without_source(GOLDEN_CALLS)
    document = validate_calls_json(out / "calls.json")
    assert document["run"]["kit"]["id"] == "esr1-11-arms-example"
    assert any("PLACEHOLDER" in n for n in document["run"]["notices"])
    formats = {i["format"] for i in document["run"]["inputs"]}
    assert "plate map" in formats and any(f.startswith("plate export") for f in formats)
    assert all(len(i["sha256"]) == 64 for i in document["run"]["inputs"])


def test_verbose_shows_each_runs_controls(run_cli, tmp_path):
    args = ["pcr", PLATES / "generic" / "esr1_demo_generic.csv", "--plate-map", DEMO_MAP,
            "-o", tmp_path]  # fmt: skip
    quiet, verbose = run_cli(args), run_cli([*args, "-v"])
    assert quiet.exit_code == verbose.exit_code == 0
    assert "run controls" not in quiet.stderr
    lines = [line for line in verbose.stderr.splitlines() if "run controls" in line]
    assert len(lines) == 1 and re.fullmatch(
        r"esr1calls: run \S+: 9 sample\(s\), run controls passed", lines[0]
    ), verbose.stderr


def test_reproducible_pcr_reports_are_byte_identical(run_cli, tmp_path):
    args = ["pcr", PLATES / "generic" / "esr1_demo_generic.csv", "--plate-map", DEMO_MAP,
            "--reproducible"]  # fmt: skip
    names = ("calls.json", "calls.tsv", "samples.tsv")
    assert run_cli([*args, "-o", tmp_path / "out"]).exit_code == 0
    first = {name: (tmp_path / "out" / name).read_bytes() for name in names}
    assert run_cli([*args, "-o", tmp_path / "out"]).exit_code == 0
    assert first == {name: (tmp_path / "out" / name).read_bytes() for name in names}


def test_unknown_export_is_a_one_line_error_and_writes_nothing(run_cli, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("hello\n")
    result = run_cli(["pcr", notes, "--plate-map", DEMO_MAP, "-o", tmp_path / "out"])
    assert result.exit_code == 1
    assert result.stderr.startswith("esr1calls: error: notes.txt: not a recognised plate export")
    assert len(result.stderr.splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_plate_map_error_names_the_line(run_cli, tmp_path):
    bad_map = tmp_path / "map.csv"
    bad_map.write_text("well,sample_id,role,mix\nA1,PC,PC,RM7\n")
    result = run_cli(["pcr", PLATES / "generic" / "esr1_demo_generic.csv", "--plate-map", bad_map,
                      "-o", tmp_path / "out"])  # fmt: skip
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "esr1calls: error: map.csv, line 2: mix 'RM7' is not a mix of kit esr1-11-arms-example "
        "(RM1, RM2, RM3, RM4, RM5)"
    )


def test_forced_format_that_does_not_fit_is_an_error(run_cli, tmp_path):
    result = run_cli(["pcr", PLATES / "generic" / "esr1_demo_generic.csv", "--plate-map", DEMO_MAP,
                      "--format", "rdml", "-o", tmp_path / "out"])  # fmt: skip
    assert result.exit_code == 1
    assert result.stderr.startswith("esr1calls: error: esr1_demo_generic.csv")
    assert "drop --format or pass --format generic" in result.stderr
    assert len(result.stderr.splitlines()) == 1
