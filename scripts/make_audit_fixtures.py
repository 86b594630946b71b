#!/usr/bin/env python3
"""Write the signed report folder and the damaged review records of the test data.

    python scripts/make_audit_fixtures.py

``testdata/audit/signed/`` is the report folder of ``esr1calls ngs
testdata/vcf/mutect2/esr1_tumour_normal.vcf --reproducible``, signed twice with the test key
``testdata/audit/test-hmac.key`` (a key for tests only, never for a lab): sign-off 1 approves,
sign-off 2 approves with one override. The clock is fixed, so the folder is the same each time
this esr1calls version writes it; ``esr1calls verify`` needs no particular version to check it.

``testdata/damaged/audit_*`` are one file each, a copy of one file of that folder with one kind
of damage; tests/test_damaged.py puts each in place of its namesake in a copy of the folder
(``.json``: calls.json, ``.html``: report.html, ``.jsonl``: audit.jsonl) and compares what
``esr1calls verify --key-file`` says with ``testdata/expected/damaged/<name>.txt``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from esr1calls.audit import canonical_json, parse_overrides, sign  # noqa: E402
from esr1calls.cli import main  # noqa: E402

SIGNED = REPO / "testdata" / "audit" / "signed"
KEY_FILE = REPO / "testdata" / "audit" / "test-hmac.key"
DAMAGED = REPO / "testdata" / "damaged"
VCF = "testdata/vcf/mutect2/esr1_tumour_normal.vcf"
NOT_THE_KEY = b"an attacker's guess at the key, not the key"


def _clock():
    moments = iter([dt.datetime(2026, 3, 2, 9, 15, tzinfo=dt.UTC),
                    dt.datetime(2026, 3, 2, 11, 40, tzinfo=dt.UTC)])  # fmt: skip
    return lambda: next(moments)


def write_signed() -> None:
    key = KEY_FILE.read_bytes().strip()
    with tempfile.TemporaryDirectory() as scratch:
        outdir = Path(scratch) / "signed"
        try:
            main(["ngs", VCF, "--reproducible", "-o", str(outdir)])
        except SystemExit as exit_:
            if exit_.code:
                raise
        tick = _clock()
        sign(outdir, reviewer="A. Chen", decision="approve", key=key, clock=tick)
        sign(
            outdir, reviewer="B. Li", decision="approve", key=key, clock=tick,
            comment="E380Q is germline (49 % in the normal too)",
            overrides=parse_overrides(
                ["PLASMA_01:S463P=INVALID"], ["1,530 reads at S463P: re-sequence the library"]
            ),
        )  # fmt: skip
        shutil.rmtree(SIGNED, ignore_errors=True)
        SIGNED.mkdir(parents=True)
        for name in ("calls.json", "calls.tsv", "samples.tsv", "report.html", "audit.jsonl"):
            shutil.copy(outdir / name, SIGNED / name)


def write_damaged() -> None:
    calls = (SIGNED / "calls.json").read_bytes()
    (DAMAGED / "audit_calls_json_call_rewritten.json").write_bytes(
        calls.replace(b'"status": "INDETERMINATE"', b'"status": "NOT_DETECTED"', 1)
    )
    report = (SIGNED / "report.html").read_bytes()
    (DAMAGED / "audit_report_html_cut_short.html").write_bytes(report[:1500])
    first, second = (SIGNED / "audit.jsonl").read_bytes().splitlines()
    edited = first.replace(b'"reviewer":"A. Chen"', b'"reviewer":"A. Chan"')
    assert edited != first
    trails = {
        "audit_line_edited.jsonl": [edited, second],
        "audit_first_line_deleted.jsonl": [second],
        "audit_last_line_deleted.jsonl": [first],
        "audit_lines_reordered.jsonl": [second, first],
        "audit_line_forged_without_the_key.jsonl": [first, _forged(second)],
    }
    for name, lines in trails.items():
        (DAMAGED / name).write_bytes(b"".join(line + b"\n" for line in lines))


def _forged(line: bytes) -> bytes:
    """The line with another reviewer, an HMAC made without the key and its digest recomputed."""
    fields = json.loads(line)
    fields["reviewer"] = "Someone Else"
    content = {k: v for k, v in fields.items() if k not in ("digest", "hmac")}
    fields["hmac"] = hmac.new(NOT_THE_KEY, canonical_json(content), hashlib.sha256).hexdigest()
    sealed = {**content, "hmac": fields["hmac"]}
    fields["digest"] = hashlib.sha256(canonical_json(sealed)).hexdigest()
    return canonical_json(fields)


if __name__ == "__main__":
    write_signed()
    write_damaged()
