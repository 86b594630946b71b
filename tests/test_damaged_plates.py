"""The damaged plate exports in testdata/damaged/: each class of damage the plate readers handle,
run through the CLI, against its expected outcome in testdata/expected/damaged/<name>.txt (the
exact one-line error, or the calls with the notices and dropped rows that explain them).

Update deliberately, in its own commit:
    ESR1CALLS_UPDATE_GOLDEN=1 pytest tests/test_damaged_plates.py
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from click.testing import Result

from esr1calls.testing import REPO
from esr1calls.testing.golden import assert_golden
from esr1calls.testing.plate_goldens import PLATES

DAMAGED = REPO / "testdata" / "damaged"
EXPECTED = REPO / "testdata" / "expected" / "damaged"
DEMO_MAP = PLATES / "esr1_demo_platemap.csv"
LC480_OTHERS = [
    PLATES / "lightcycler480" / f"esr1_demo_lc480_{slug}.txt"
    for slug in ("hex_533-580", "rox_533-610", "cy5_618-660")
]

# file -> the other exports of its run (if any); the demo plate map serves them all
CASES: dict[str, Sequence[Path]] = {
    "cfx_cut_inside_cq.csv": (),  # '35.33' cut to '3': a Cq of 3 was a DETECTED
    "cfx_cut_at_a_line_end.csv": (),  # the Cy5 block stops part-way: said, never negative
    "lc480_cut_before_last_cp.txt": LC480_OTHERS,  # an empty Cp read as no amplification
    "generic_cut_after_last_separator.csv": (),  # an empty ct read as no amplification
    "abi7500_utf16_cut_inside_a_character.txt": (),  # was refused as "binary data"
    "quantstudio_blank_line_in_results.txt": (),  # the RM5 rows were taken for a footer
    "rdml_cut_inside_a_react.xml": (),  # one-line XML: the error names the react, not line 1
    "rdml_runs_not_one_plate.xml": (),  # was "well A1, dye FAM appears twice"
    "slan_error_cell.xls": (),  # an Excel error cell in the Ct column
}
PLACEHOLDER = "uses PLACEHOLDER values"


def render(result: Result, outdir: Path) -> str:
    """The outcome as the expected file holds it."""
    lines = [f"exit {result.exit_code}"]
    if result.exit_code != 0:
        return "\n".join([*lines, result.stderr.strip()]) + "\n"
    document = json.loads((outdir / "calls.json").read_text(encoding="utf-8"))
    notices = document["run"].get("notices") or []
    lines += [f"notice: {n}" for n in notices if PLACEHOLDER not in n]
    lines += [f"dropped: {d['source']}, {d['place']}: {d['reason']}" for d in document["dropped"]]
    for sample in document["samples"]:
        for call in sample["calls"]:
            reasons = ";".join(call["reasons"])
            lines.append(f"{sample['sample_id']}\t{call['hotspot']}\t{call['status']}\t{reasons}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("name", list(CASES))
def test_damaged_export_gives_its_expected_outcome(
    tmp_path: Path, run_cli: Callable[..., Result], name: str
) -> None:
    exports = [DAMAGED / name, *CASES[name]]
    outdir = tmp_path / "out"
    result = run_cli(["pcr", *exports, "--plate-map", DEMO_MAP, "-o", outdir])
    assert result.exit_code in (0, 1), result.output
    if result.exit_code == 1:
        assert result.stderr.count("\n") == 1 and result.stderr.startswith("esr1calls: error: ")
    assert_golden(render(result, outdir), EXPECTED / f"{name}.txt")
