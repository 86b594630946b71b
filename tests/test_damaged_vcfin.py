"""The damaged-input corpus of the VCF input checks: each file's exact outcome, through the CLI.

Each file named in ``CASES`` lies in ``testdata/damaged/``; ``esr1calls ngs`` runs on a copy of it
(with its companions: an index, a second input) in its own process, and what it gives (the one
line of an error, or the calls, notices and dropped records) must equal
``testdata/expected/damaged/<name>.txt``.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from esr1calls.testing import TESTDATA
from esr1calls.testing.golden import assert_golden

from .real_cli import run_esr1calls

DAMAGED = TESTDATA / "damaged"
EXPECTED = TESTDATA / "expected" / "damaged"


def _index_newer_than_its_file(folder: Path, name: str) -> list[Path]:
    """git keeps no file times: the index is made newer than the data, as it was when the data
    was replaced by a copy that kept its old time, so only the index's content can betray it."""
    data = folder / name
    index = folder / f"{name}.tbi"
    later = data.stat().st_mtime + 60
    os.utime(index, (later, later))
    return [data]


def _as_is(folder: Path, name: str) -> list[Path]:
    return [folder / name]


# file -> (its companions in testdata/damaged/, how the inputs are given)
CASES = {
    "vcf_index_made_before_the_file_was_replaced.vcf.gz": (
        [".tbi"], _index_newer_than_its_file,
    ),
    "vcf_record_cut_mid_line.vcf": ([], _as_is),
    "vcf_chrom_line_with_spaces.vcf": ([], _as_is),
    "vcf_same_allele_in_two_runs_records.vcf": ([], _as_is),
}  # fmt: skip


def outcome(done, outdir: Path) -> str:
    """What a user gets: the exit status, stdout, an error line, or the calls and notices."""
    lines = [f"exit {done.returncode}"]
    lines += [f"stdout: {line}" for line in done.stdout.splitlines()]
    if done.returncode != 0:
        return "\n".join([*lines, *(f"stderr: {x}" for x in done.stderr.splitlines())]) + "\n"
    document = json.loads((outdir / "calls.json").read_text())
    for sample in document["samples"]:
        for call in sample["calls"]:
            reasons = ",".join(call["reasons"])
            lines.append(
                f"call: {sample['sample_id']} {call['hotspot']} {call['status']} {reasons}"
            )
            lines += [f"  disagreement: {d}" for d in call["evidence"].get("disagreement", [])]
    lines += [f"notice: {n}" for n in document["run"]["notices"]]
    lines += [
        f"dropped: {Path(d['source']).name}, {d['place']}: {d['reason']}"
        for d in document["dropped"]
    ]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("name", list(CASES))
def test_damaged_input_gives_its_expected_outcome(name, tmp_path):
    companions, arrange = CASES[name]
    for suffix in ["", *companions]:
        shutil.copy(DAMAGED / f"{name}{suffix}", tmp_path / f"{name}{suffix}")
    inputs = arrange(tmp_path, name)
    done = run_esr1calls("ngs", *inputs, "-o", tmp_path / "out", "--reproducible")
    assert_golden(outcome(done, tmp_path / "out"), EXPECTED / f"{Path(name).name}.txt")
