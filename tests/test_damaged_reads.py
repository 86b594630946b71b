"""The damaged-input corpus for reads (BAM/CRAM): each file in testdata/damaged/bam_* has one kind
of damage, and its outcome, the exact one-line error or the calls and notices that result, is in
testdata/expected/damaged/<name>.txt. scripts/make_bam_fixtures.py writes the BAMs (its --check
is run by tests/ngs/test_from_reads.py); the expected files were checked by hand against the
molecules that script lists.

Update the expected files deliberately, in their own commit:
ESR1CALLS_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_damaged_reads.py
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from esr1calls.testing import REPO, TESTDATA
from esr1calls.testing.golden import assert_golden

DAMAGED = TESTDATA / "damaged"
EXPECTED = TESTDATA / "expected" / "damaged"

# file -> the options it is run with (beyond -o and --reproducible)
CASES: dict[str, tuple[str, ...]] = {
    "bam_mate_suffixes.bam": (),
    "bam_unmarked_duplicates.bam": (),
    "bam_read_group_without_sm.bam": (),
    "bam_chr6_test_contig.bam": ("--build", "GRCh38"),
    "bam_unsorted.bam": (),
}


def test_every_damaged_bam_has_a_case():
    assert sorted(p.name for p in DAMAGED.glob("bam_*.bam")) == sorted(CASES)


def outcome(result, outdir: Path, command: str) -> str:
    """What a person sees: the error line, or the notices and the calls."""
    lines = [f"$ {command}", f"exit {result.exit_code}"]
    if result.exit_code != 0:
        return "\n".join([*lines, *result.stderr.strip().splitlines()]) + "\n"
    document = json.loads((outdir / "calls.json").read_text(encoding="utf-8"))
    lines += [f"notice: {notice}" for notice in document["run"]["notices"]]
    rows = csv.DictReader(io.StringIO((outdir / "calls.tsv").read_text()), delimiter="\t")
    columns = ("hotspot", "status", "reasons", "alt_count", "depth")
    lines.append("\t".join(columns))
    lines += ["\t".join(row[c] for c in columns) for row in rows]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("name", sorted(CASES))
def test_damaged_bam_gives_its_expected_outcome(run_cli, tmp_path, monkeypatch, name):
    monkeypatch.chdir(REPO)  # messages name the file as given
    path = f"testdata/damaged/{name}"
    outdir = tmp_path / "out"
    result = run_cli(["ngs", path, *CASES[name], "-o", outdir, "--reproducible"])
    command = " ".join(["esr1calls ngs", path, *CASES[name]])
    assert_golden(outcome(result, outdir, command), EXPECTED / f"{name}.txt")
    if result.exit_code != 0:
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr  # one line
        assert not outdir.exists()
