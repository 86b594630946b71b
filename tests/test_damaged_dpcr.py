"""The damaged dPCR exports in testdata/damaged/: each class of damage the dPCR readers handle,
run through the CLI with the demo plate map, against its expected outcome in
testdata/expected/damaged/<name>.txt (the exact one-line error, or the calls with the notices
and dropped rows that explain them). scripts/make_dpcr_fixtures.py writes the files.

Update deliberately, in its own commit:
    ESR1CALLS_UPDATE_GOLDEN=1 pytest tests/test_damaged_dpcr.py
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from esr1calls.testing import TESTDATA
from esr1calls.testing.golden import assert_golden

DAMAGED = TESTDATA / "damaged"
EXPECTED = TESTDATA / "expected" / "damaged"
DEMO_MAP = TESTDATA / "dpcr" / "esr1_demo_dpcr_platemap.csv"
CASES = {
    "quantasoft_cut_inside_accepted_droplets.csv": "17745 cut to 177: never a smaller N",
    "qxmanager_no_call_count.csv": "No Call where a count should be: never zero",
    "quantasoft_well_and_target_twice.csv": "a (well, target) row repeated",
    "quantasoft_combinations_disagree.csv": "Ch1+Ch2- no longer gives the FAM positives",
    "absoluteq_combination_row_missing.csv": "a combination row lost mid-file",
    "qxmanager_samples_swapped.csv": "P1 and N1 swapped in the D538G wells",
    "qiacuity_micro_sign_misencoded.csv": "Âµ for µ in the header: read as the demo",
}
PLACEHOLDER = "uses PLACEHOLDER values"


def render(result: Result, outdir: Path) -> str:
    lines = [f"exit {result.exit_code}"]
    if result.exit_code != 0:
        return "\n".join([*lines, result.stderr.strip()]) + "\n"
    document = json.loads((outdir / "calls.json").read_text(encoding="utf-8"))
    notices = document["run"].get("notices") or []
    lines += [f"notice: {n}" for n in notices if PLACEHOLDER not in n]
    lines += [f"dropped: {d['source']}, {d['place']}: {d['reason']}" for d in document["dropped"]]
    for sample in document["samples"]:
        lines.append(f"{sample['sample_id']}\t{sample['status']}")
        for call in sample["calls"]:
            reasons = ";".join(call["reasons"])
            lines.append(f"{sample['sample_id']}\t{call['hotspot']}\t{call['status']}\t{reasons}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("name", list(CASES))
def test_damaged_dpcr_export_gives_its_expected_outcome(
    tmp_path: Path, run_cli: Callable[..., Result], name: str
) -> None:
    outdir = tmp_path / "out"
    result = run_cli(["dpcr", DAMAGED / name, "--plate-map", DEMO_MAP, "-o", outdir])
    assert result.exit_code in (0, 1), result.output
    if result.exit_code == 1:
        assert result.stderr.count("\n") == 1 and result.stderr.startswith("esr1calls: error: ")
        assert not outdir.exists()
    assert_golden(render(result, outdir), EXPECTED / f"{name}.txt")


def test_every_damaged_dpcr_file_has_a_case():
    prefixes = ("quantasoft_", "qxmanager_", "qiacuity_", "absoluteq_")
    assert {p.name for p in DAMAGED.iterdir() if p.name.startswith(prefixes)} == set(CASES)
