"""Damaged inputs of the settings that texts name (testdata/damaged/, expected outcomes in
testdata/expected/damaged/<name>.txt): each is refused with its exact one-line error, by every
command that reads it, before any report is written."""

from __future__ import annotations

import pytest

from esr1calls.testing import TESTDATA
from esr1calls.testing.plates import DEMO_MAP, DEMO_TABLE

DAMAGED = TESTDATA / "damaged"
EXPECTED = TESTDATA / "expected" / "damaged"

# a kit file -> the commands that read it (the file's path is appended or given with --kit)
KITS = ["kit_reportable_fraction_as_percent.toml"]


def _expected(name: str) -> str:
    return (EXPECTED / f"{name.rsplit('.', 1)[0]}.txt").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", KITS)
@pytest.mark.parametrize("command", ["validate", "pcr"])
def test_a_damaged_kit_is_one_line_error(run_cli, tmp_path, name, command):
    path = DAMAGED / name
    if command == "validate":
        args = ["kit", "validate", path]
    else:
        args = ["pcr", DEMO_TABLE, "--plate-map", DEMO_MAP, "--kit", path, "-o", tmp_path / "out"]
    result = run_cli(args)
    assert result.exit_code == 1
    assert result.stderr == _expected(name)
    assert not (tmp_path / "out").exists()
