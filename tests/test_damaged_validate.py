"""Damaged inputs of ``esr1calls validate`` (testdata/damaged/validate_*, expected outcomes in
testdata/expected/damaged/<name>.txt): each is refused with its exact one-line error before any
file is written. A design sheet with a percent, a misspelt column or a sample twice would have
moved replicates between levels or hotspots; a pairing sheet with a sample twice would count a
sample twice; a calls.json cut short is not a run."""

from __future__ import annotations

import pytest

from esr1calls.testing import REPO, TESTDATA
from esr1calls.testing.golden import assert_golden

DAMAGED = TESTDATA / "damaged"
EXPECTED = TESTDATA / "expected" / "damaged"
VCF = "testdata/vcf/generic/esr1_ad_dp.vcf"

CASES = [
    "validate_design_percent.csv",
    "validate_design_hotspot_misspelt.csv",
    "validate_design_row_twice.csv",
    "validate_pairs_test_sample_twice.csv",
    "validate_calls_cut_short.json",
]


@pytest.fixture
def runs(run_cli, tmp_path, monkeypatch):
    """Two calls.json of one NGS sample (two runs of one VCF); paths relative to the repo, as a
    user in the checkout types them, so the error lines do not name the tmp folder."""
    monkeypatch.chdir(REPO)
    made = []
    for name in ("first", "second"):
        result = run_cli(["ngs", VCF, "-o", tmp_path / name, "--reproducible"])
        assert result.exit_code == 0, result.stderr
        made.append(tmp_path / name / "calls.json")
    return made


@pytest.mark.parametrize("name", CASES)
def test_damaged_validation_input_is_a_one_line_error(run_cli, runs, tmp_path, name):
    damaged = f"testdata/damaged/{name}"
    first, second = runs
    out = tmp_path / "out"
    if name.startswith("validate_design"):
        args = ["validate", "lod", first, "--design", damaged, "-o", out]
    elif name.startswith("validate_pairs"):
        args = ["validate", "concordance", first, "--reference", second, "--pairs", damaged]
        args += ["-o", out]
    else:
        design = tmp_path / "design.csv"
        design.write_text("sample_id,expected_fraction\nPLASMA_10,0\n", encoding="utf-8")
        args = ["validate", "lod", first, damaged, "--design", design, "-o", out]
    result = run_cli(args)
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("esr1calls: error: ")
    assert_golden(result.stderr, EXPECTED / f"{name}.txt")
    assert not out.exists()


def test_every_damaged_validation_file_is_checked():
    assert sorted(p.name for p in DAMAGED.glob("validate_*")) == sorted(CASES)
