"""The damaged-input corpus for monitoring (testdata/damaged/monitor_*, platemap_*): each gives
exactly the one-line error in testdata/expected/damaged/<name>.txt, and nothing is written. The
sheets are read against two PCR runs made here, plate1 and plate2, each with samples S1 and S2
(plate2's S1 recorded in its calls.json as patient PT-2's)."""

from __future__ import annotations

import pytest

from esr1calls.testing import TESTDATA
from esr1calls.testing.golden import assert_golden

from .monitor_factory import document, sample, write

DAMAGED = TESTDATA / "damaged"
EXPECTED = TESTDATA / "expected" / "damaged"
SHEETS = sorted(DAMAGED.glob("monitor_sheet_*"))
MAPS = sorted(DAMAGED.glob("platemap_*"))


def _runs(root):
    plate1 = document([sample("S1", "PCR", []), sample("S2", "PCR", [])], "esr1calls pcr 1")
    plate2 = document(
        [sample("S1", "PCR", [], patient="PT-2", collected="2024-03-05"), sample("S2", "PCR", [])],
        "esr1calls pcr 2",
    )
    return [write(root / "plate1", plate1), write(root / "plate2", plate2)]


def _outcome(result, out) -> str:
    assert "Traceback" not in result.stderr
    assert not out.exists(), "an error must leave nothing written"
    return f"exit {result.exit_code}\n{result.stderr}"


@pytest.mark.parametrize("sheet", SHEETS, ids=[p.name for p in SHEETS])
def test_damaged_sample_sheet_gives_its_one_line_error(sheet, tmp_path, run_cli, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runs = [p.relative_to(tmp_path) for p in _runs(tmp_path)]
    result = run_cli(["monitor", *runs, "--samples", sheet, "-o", "out"])
    assert_golden(_outcome(result, tmp_path / "out"), EXPECTED / f"{sheet.name}.txt")


def test_damaged_calls_json_gives_its_one_line_error(tmp_path, run_cli, monkeypatch):
    monkeypatch.chdir(tmp_path)
    damaged = DAMAGED / "monitor_calls_json_cut_short.json"
    (tmp_path / "cut").mkdir()
    (tmp_path / "cut" / "calls.json").write_bytes(damaged.read_bytes())
    result = run_cli(["monitor", "cut/calls.json", "-o", "out"])
    assert_golden(_outcome(result, tmp_path / "out"), EXPECTED / f"{damaged.name}.txt")


@pytest.mark.parametrize("plate_map", MAPS, ids=[p.name for p in MAPS])
def test_damaged_plate_map_gives_its_one_line_error(plate_map, tmp_path, run_cli):
    export = TESTDATA / "plates" / "esr1_demo_plate.tsv"
    out = tmp_path / "out"
    result = run_cli(["pcr", export, "--plate-map", plate_map, "--format", "generic", "-o", out])
    assert_golden(_outcome(result, out), EXPECTED / f"{plate_map.name}.txt")
