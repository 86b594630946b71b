"""The damaged-input corpus of the review record: each file of testdata/damaged/audit_* takes the
place of its namesake in a copy of the signed folder testdata/audit/signed/ (``.json``:
calls.json, ``.html``: report.html, ``.jsonl``: audit.jsonl), and ``esr1calls verify
--key-file`` must exit 1 with exactly the line in ``testdata/expected/damaged/<name>.txt``.
scripts/make_audit_fixtures.py writes them all."""

from __future__ import annotations

import shutil

import pytest

from esr1calls.testing import TESTDATA
from esr1calls.testing.golden import assert_golden

SIGNED = TESTDATA / "audit" / "signed"
KEY_FILE = TESTDATA / "audit" / "test-hmac.key"
DAMAGED = TESTDATA / "damaged"
EXPECTED = TESTDATA / "expected" / "damaged"
REPLACES = {".json": "calls.json", ".html": "report.html", ".jsonl": "audit.jsonl"}
CASES = sorted(p.name for p in DAMAGED.glob("audit_*"))


def test_the_corpus_has_every_class_of_damage():
    assert CASES == [
        "audit_calls_json_call_rewritten.json",
        "audit_first_line_deleted.jsonl",
        "audit_last_line_deleted.jsonl",
        "audit_line_edited.jsonl",
        "audit_line_forged_without_the_key.jsonl",
        "audit_lines_reordered.jsonl",
        "audit_report_html_cut_short.html",
    ]


def test_the_signed_folder_verifies(run_cli, tmp_path, monkeypatch):
    shutil.copytree(SIGNED, tmp_path / "signed")
    monkeypatch.chdir(tmp_path)
    result = run_cli(["verify", "signed", "--key-file", KEY_FILE])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == (
        "verified: 2 entries, last signed by B. Li at 2026-03-02T11:40:00Z (approve); HMAC "
        "checked with the key\n"
    )


@pytest.mark.parametrize("name", CASES)
def test_a_damaged_record_is_named_by_verify(run_cli, tmp_path, monkeypatch, name):
    folder = tmp_path / "signed"
    shutil.copytree(SIGNED, folder)
    shutil.copy(DAMAGED / name, folder / REPLACES[(DAMAGED / name).suffix])
    monkeypatch.chdir(tmp_path)
    result = run_cli(["verify", "signed", "--key-file", KEY_FILE])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert_golden(result.stderr, EXPECTED / f"{name}.txt")
