"""The damaged batch manifests in testdata/damaged/ (batch_*.tsv): each gives exactly the outcome
in testdata/expected/damaged/<name>.txt: the exit code, what the terminal shows, and each failed
job's one-line error from batch_errors.tsv. Never a traceback, never a silently lost row."""

from __future__ import annotations

import csv

import pytest

from esr1calls.testing import TESTDATA
from esr1calls.testing.golden import assert_golden

DAMAGED = sorted((TESTDATA / "damaged").glob("batch_*"))


def _outcome(result, out) -> str:
    lines = [f"exit {result.exit_code}"]
    lines += [line.replace(str(out), "OUTDIR") for line in result.stderr.splitlines()]
    errors = out / "batch_errors.tsv"
    if errors.is_file():
        with errors.open(encoding="utf-8") as handle:
            for row in csv.DictReader(handle, delimiter="\t"):
                lines.append(f"{row['job_id']}: {row['error']}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("manifest", DAMAGED, ids=[p.name for p in DAMAGED])
def test_damaged_manifest_gives_its_expected_outcome(manifest, tmp_path, run_cli):
    out = tmp_path / "out"
    result = run_cli(["batch", manifest, "-o", out, "-j", "1", "--reproducible"])
    assert "Traceback" not in result.stderr
    expected = TESTDATA / "expected" / "damaged" / f"{manifest.name}.txt"
    assert_golden(_outcome(result, out), expected)
