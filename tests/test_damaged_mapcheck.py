"""The damaged-input corpus for plate maps the export's own names contradict: each file in
testdata/damaged/ is a demo export with two samples' labels swapped, a mix moved or a control
relabelled; the calls that result are in testdata/expected/damaged/<name>.txt."""

from __future__ import annotations

from collections import Counter

import pytest

from esr1calls.pcr.run import call_pcr
from esr1calls.testing import TESTDATA
from esr1calls.testing.golden import assert_golden

DAMAGED = TESTDATA / "damaged"
EXPECTED = TESTDATA / "expected" / "damaged"
DEMO_MAP = TESTDATA / "plates" / "esr1_demo_platemap.csv"
CASES = [
    "quantstudio_samples_swapped.txt",
    "cfx_mix_moved.csv",
    "generic_ntc_and_sample_swapped.csv",
]


def outcome(name: str, trust_map: bool = False) -> str:
    """One line per sample: its status, its calls by status, and the reasons they carry."""
    result = call_pcr([DAMAGED / name], DEMO_MAP, trust_map=trust_map)
    lines = []
    for sample in result.samples:
        counts = Counter(c.status.value for c in sample.calls)
        reasons = sorted({r.value for c in sample.calls for r in c.reasons}) or ["-"]
        shown = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        lines.append(f"{sample.sample_id}\t{sample.status.value}\t{shown}\t{';'.join(reasons)}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("name", CASES)
def test_damaged_export_gives_the_expected_calls(name):
    assert_golden(outcome(name), EXPECTED / f"{name}.txt")


@pytest.mark.parametrize("name", CASES)
def test_with_trust_map_the_damaged_export_calls_as_the_demo(name):
    demo = outcome("quantstudio_samples_swapped.txt", trust_map=True)
    assert outcome(name, trust_map=True) == demo
    assert "MAP_EXPORT_MISMATCH" not in demo
