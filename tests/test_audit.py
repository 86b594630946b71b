"""Sign-off and verify (esr1calls/audit.py): the hash chain, the HMAC, overrides, what report.html
shows, and every way a signed folder can be changed afterwards, each named by verify."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import shutil
import threading
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from esr1calls import audit
from esr1calls.audit import (
    Decision,
    Entry,
    OverrideRequest,
    canonical_json,
    effective_calls,
    parse_overrides,
    read_key,
    review_summary,
    sign,
    verify,
)
from esr1calls.errors import AuditError, ConfigError
from esr1calls.model import CallStatus
from esr1calls.reports.calls_json import to_json_document
from esr1calls.reports.html import render_html
from esr1calls.reports.options import ReportOptions
from esr1calls.reports.write import write_document
from esr1calls.testing.runs import NGS_COMMAND, PCR_COMMAND, ngs_run, pcr_run

KEY = b"0123456789abcdef0123456789abcdef"
OTHER_KEY = b"fedcba9876543210fedcba9876543210"
T0 = dt.datetime(2026, 3, 2, 9, 15, tzinfo=dt.UTC)


def clock(start: dt.datetime = T0, step_s: int = 60):
    """A clock that advances a minute a call, from 2026-03-02T09:15:00Z."""
    moments = iter(start + dt.timedelta(seconds=step_s * i) for i in range(1000))
    return lambda: next(moments)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def pcr_document():
    return to_json_document(pcr_run(), ReportOptions(PCR_COMMAND, reproducible=True))


@pytest.fixture(scope="module")
def ngs_document():
    return to_json_document(ngs_run(), ReportOptions(NGS_COMMAND, reproducible=True))


@pytest.fixture
def results(tmp_path, pcr_document) -> Path:
    """The demo plate's report folder, as esr1calls pcr writes it: not signed yet."""
    outdir = tmp_path / "results"
    write_document(pcr_document, outdir, ReportOptions(PCR_COMMAND, reproducible=True))
    return outdir


def approve(outdir: Path, reviewer: str = "A. Chen", **kwargs) -> Entry:
    kwargs.setdefault("clock", clock())
    return sign(outdir, reviewer=reviewer, decision="approve", **kwargs)


def override(text: str, reason: str = "confirmed by NGS") -> list[OverrideRequest]:
    return parse_overrides([text], [reason])


def lines_of(outdir: Path) -> list[bytes]:
    return (outdir / "audit.jsonl").read_bytes().splitlines()


def signed_twice(outdir: Path, key: bytes | None = None) -> None:
    tick = clock()
    approve(outdir, key=key, clock=tick)
    approve(outdir, "B. Li", key=key, clock=tick,
            overrides=override("S4:Y537C=NOT_DETECTED", "NGS shows Y537S only"))  # fmt: skip


def problem(outdir: Path, key: bytes | None = None) -> str:
    result = verify(outdir, key)
    assert not result.ok and result.problem, "verify passed"
    return result.problem


# ----------------------------------------------------------------------------- the trail line
def test_a_sign_off_is_one_canonical_line_chained_to_calls_json(results):
    calls_before = (results / "calls.json").read_bytes()
    entry = approve(results, comment="run log checked")
    (line,) = lines_of(results)
    fields = json.loads(line)
    assert canonical_json(fields) == line  # sorted keys, no spaces, UTF-8
    assert fields["prev"] == sha(calls_before)  # the first line chains to calls.json
    assert fields["time"] == "2026-03-02T09:15:00Z"
    assert (fields["n"], fields["reviewer"], fields["decision"]) == (1, "A. Chen", "approve")
    assert fields["comment"] == "run log checked" and fields["overrides"] == []
    assert set(fields["files"]) == {
        "calls.json", "calls.tsv", "samples.tsv", "report.html", "clinical.html"
    }  # fmt: skip
    for name, digest in fields["files"].items():
        assert sha((results / name).read_bytes()) == digest, name  # as sign left them
    assert "hmac" not in fields
    assert fields["digest"] == entry.computed_digest()
    assert (results / "calls.json").read_bytes() == calls_before  # never edited
    assert json.loads(calls_before)["run"]["review_status"] == "unreviewed"


def test_signing_twice_chains_the_second_line_to_the_first(results):
    signed_twice(results)
    first, second = lines_of(results)
    assert json.loads(second)["prev"] == sha(first)
    assert json.loads(second)["n"] == 2
    result = verify(results)
    assert result.ok and [e.reviewer for e in result.entries] == ["A. Chen", "B. Li"]
    assert result.summary() == (
        "verified: 2 entries, last signed by B. Li at 2026-03-02T09:16:00Z (approve); chain "
        "only: signed without a key (tamper-evident, not tamper-proof)"
    )


def test_the_optional_reports_present_are_covered(tmp_path, pcr_document):
    outdir = tmp_path / "results"
    write_document(
        pcr_document,
        outdir,
        ReportOptions(PCR_COMMAND, reproducible=True, formats=frozenset({"fhir", "vcf"})),
    )
    approve(outdir)
    files = json.loads(lines_of(outdir)[0])["files"]
    assert {"calls.fhir.json", "detected.vcf"} <= set(files)
    (outdir / "detected.vcf").write_text("##fileformat=VCFv4.2\n", encoding="utf-8")
    assert problem(outdir).startswith(f"{outdir}/detected.vcf: changed since sign-off 1")


def test_times_are_utc_with_z_from_any_zone(results):
    tokyo = dt.timezone(dt.timedelta(hours=9))
    entry = approve(results, clock=lambda: dt.datetime(2026, 3, 2, 18, 0, 5, tzinfo=tokyo))
    assert entry.time == "2026-03-02T09:00:05Z"
    with pytest.raises(ValueError, match="aware"):
        approve(results, clock=lambda: dt.datetime(2026, 3, 2, 9, 0))


# ----------------------------------------------------------------------------- tamper tests
def _flip(path: Path, at: int) -> None:
    data = bytearray(path.read_bytes())
    data[at] ^= 0x01
    path.write_bytes(bytes(data))


def _rewrite_line(outdir: Path, index: int, change, *, reseal: bool) -> None:
    """Change one field of a line; ``reseal`` recomputes its digest (a careful forger)."""
    lines = lines_of(outdir)
    fields = json.loads(lines[index])
    change(fields)
    if reseal:
        fields.pop("hmac", None)
        content = {k: v for k, v in fields.items() if k != "digest"}
        fields["digest"] = sha(canonical_json(content))
    lines[index] = canonical_json(fields)
    (outdir / "audit.jsonl").write_bytes(b"".join(line + b"\n" for line in lines))


def test_one_byte_of_calls_json_changed_is_named(results):
    signed_twice(results)
    text = (results / "calls.json").read_bytes()
    (results / "calls.json").write_bytes(text.replace(b'"NOT_DETECTED"', b'"NOT_DETECTEd"', 1))
    assert problem(results).startswith(
        f"{results}/calls.json: changed since it was signed (sha256 now "
    )


def test_one_byte_of_report_html_changed_is_named(results):
    signed_twice(results)
    _flip(results / "report.html", 5000)
    assert problem(results).startswith(f"{results}/report.html: changed since sign-off 2 (")


def test_one_byte_of_a_tsv_changed_is_named(results):
    signed_twice(results)
    _flip(results / "samples.tsv", 40)
    assert problem(results).startswith(f"{results}/samples.tsv: changed since sign-off 2")


def test_one_byte_of_an_audit_line_changed_is_named(results):
    signed_twice(results)
    trail = results / "audit.jsonl"
    trail.write_bytes(trail.read_bytes().replace(b'"reviewer":"A. Chen"', b'"reviewer":"A. Cheo"'))
    assert problem(results) == (
        f"{trail}, line 1: changed after it was written (its digest does not match its fields)"
    )


def test_a_line_edited_and_resealed_breaks_the_link_to_the_next(results):
    signed_twice(results)
    _rewrite_line(results, 0, lambda f: f.update(reviewer="Someone Else"), reseal=True)
    assert problem(results) == (
        f"{results}/audit.jsonl, line 2: does not chain to line 1 (prev is not its sha256): "
        "line 1 was changed, or a line was deleted or inserted"
    )


def test_a_line_made_non_canonical_is_named(results):
    signed_twice(results)
    trail = results / "audit.jsonl"
    trail.write_bytes(trail.read_bytes().replace(b'"n":2,', b'"n": 2,'))
    assert problem(results) == (
        f"{trail}, line 2: not in the form sign writes (sorted keys, no spaces): the line was "
        "edited"
    )


def test_a_deleted_first_line_is_named(results):
    signed_twice(results)
    trail = results / "audit.jsonl"
    trail.write_bytes(lines_of(results)[1] + b"\n")
    assert problem(results) == (f"{trail}, line 1: holds sign-off 2, not 1: sign-off 1 was deleted")


def test_a_repeated_line_is_named(results):
    signed_twice(results)
    first, second = lines_of(results)
    (results / "audit.jsonl").write_bytes(first + b"\n" + first + b"\n" + second + b"\n")
    assert problem(results) == (
        f"{results}/audit.jsonl, line 2: holds sign-off 1, not 2: a line was inserted or repeated"
    )


def test_a_deleted_last_line_is_named_by_the_report_it_left(results):
    signed_twice(results)
    trail = results / "audit.jsonl"
    trail.write_bytes(lines_of(results)[0] + b"\n")
    assert problem(results) == (
        f"{trail}: ends at sign-off 1, but report.html shows sign-off 2: the last line(s) were "
        "deleted"
    )


def test_two_lines_reordered_are_named(results):
    signed_twice(results)
    first, second = lines_of(results)
    (results / "audit.jsonl").write_bytes(second + b"\n" + first + b"\n")
    assert problem(results) == (
        f"{results}/audit.jsonl, line 1: holds sign-off 2, not 1: the lines were reordered"
    )


def test_a_deleted_trail_is_named_by_the_report(results):
    signed_twice(results)
    (results / "audit.jsonl").unlink()
    result = verify(results)
    assert result.problem == (
        f"{results}/audit.jsonl: missing, but report.html shows sign-off 2: the review record "
        "was deleted or moved"
    )
    assert result.state == "not_verified"


def test_a_trail_cut_short_is_named(results):
    signed_twice(results)
    trail = results / "audit.jsonl"
    trail.write_bytes(trail.read_bytes()[:-40])
    assert problem(results).startswith(f"{trail}, line 2: cut short (no line end)")


def test_a_report_file_deleted_or_added_after_sign_off_is_named(results):
    signed_twice(results)
    (results / "detected.vcf").write_text("##fileformat=VCFv4.2\n", encoding="utf-8")
    assert problem(results) == (
        f"{results}/detected.vcf: not covered by the review record (written after sign-off 2); "
        f"move it out of {results}"
    )
    (results / "detected.vcf").unlink()
    (results / "calls.tsv").unlink()
    assert problem(results) == f"{results}/calls.tsv: missing; sign-off 2 covers it"


def test_a_trail_copied_from_another_folder_does_not_verify(tmp_path, results, ngs_document):
    signed_twice(results)
    other = tmp_path / "other"
    write_document(ngs_document, other, ReportOptions(NGS_COMMAND, reproducible=True))
    shutil.copy(results / "audit.jsonl", other / "audit.jsonl")
    assert problem(other).startswith(f"{other}/calls.json: changed since it was signed")


def test_an_override_calls_json_does_not_hold_is_refused_even_when_resealed(results):
    approve(results)
    _rewrite_line(
        results, 0,
        lambda f: f.update(overrides=[{"sample": "S99", "hotspot": "D538G", "from": "NOT_DETECTED",
                                       "to": "DETECTED", "reason": "x"}]),
        reseal=True,
    )  # fmt: skip
    assert problem(results) == (
        f"{results}/audit.jsonl, line 1: overrides S99:D538G, a call calls.json does not hold: "
        "the line does not belong to this folder"
    )


def test_without_a_key_a_resealed_last_line_passes_the_chain(results):
    """The limit the README states: without a key, whoever can write the folder can rewrite
    the last line consistently. With a key the same forgery fails (next test)."""
    signed_twice(results)
    _rewrite_line(results, 1, lambda f: f.update(reviewer="Forger"), reseal=True)
    assert verify(results).ok


# ----------------------------------------------------------------------------- HMAC
def test_a_keyed_trail_verifies_with_the_key_and_says_chain_only_without(results):
    signed_twice(results, key=KEY)
    for line in lines_of(results):
        fields = json.loads(line)
        signed = {k: v for k, v in fields.items() if k not in ("hmac", "digest")}
        assert fields["hmac"] == hmac.new(KEY, canonical_json(signed), hashlib.sha256).hexdigest()
        sealed = {k: v for k, v in fields.items() if k != "digest"}
        assert fields["digest"] == sha(canonical_json(sealed))  # the HMAC included
    assert verify(results, KEY).summary().endswith("(approve); HMAC checked with the key")
    assert (
        verify(results)
        .summary()
        .endswith("(approve); chain only: the entries carry HMACs, give --key-file to check them")
    )


def test_a_forged_line_without_the_key_fails_when_a_key_is_used(results):
    signed_twice(results, key=KEY)
    _rewrite_line(results, 1, lambda f: f.update(reviewer="Forger"), reseal=True)
    assert verify(results).ok is False  # a line without HMAC among keyed ones
    fields = json.loads(lines_of(results)[1])
    signed = {k: v for k, v in fields.items() if k != "digest"}
    fields["hmac"] = hmac.new(OTHER_KEY, canonical_json(signed), hashlib.sha256).hexdigest()
    fields["digest"] = sha(canonical_json({k: v for k, v in fields.items() if k != "digest"}))
    (results / "audit.jsonl").write_bytes(lines_of(results)[0] + b"\n" + canonical_json(fields)
                                          + b"\n")  # fmt: skip
    assert verify(results).ok  # chain and digest hold: only the key can tell
    assert problem(results, KEY) == (
        f"{results}/audit.jsonl, line 2: the HMAC does not match the key: the line was forged or "
        "changed by someone without the key, or signed with another key"
    )


def test_an_unkeyed_line_added_to_a_keyed_trail_is_named(results):
    approve(results, key=KEY)
    approve(results, key=KEY)
    _rewrite_line(results, 1, lambda f: None, reseal=True)  # drops line 2's HMAC
    assert problem(results) == (
        f"{results}/audit.jsonl, line 2: has no HMAC where line 1 has one: a line was added "
        "with another key setting"
    )
    assert problem(results, KEY).startswith(
        f"{results}/audit.jsonl, line 2: carries no HMAC, but a key was given"
    )


def test_another_key_fails_at_line_one(results):
    approve(results, key=KEY)
    assert problem(results, OTHER_KEY).startswith(
        f"{results}/audit.jsonl, line 1: the HMAC does not match the key"
    )


def test_a_key_and_no_key_do_not_mix(results):
    approve(results, key=KEY)
    with pytest.raises(AuditError, match=r"signed with a key .* give the same --key-file"):
        approve(results)
    assert len(lines_of(results)) == 1


def test_a_key_cannot_be_added_to_a_trail_signed_without_one(results):
    approve(results)
    with pytest.raises(AuditError, match="signed without a key; a keyed sign-off cannot"):
        approve(results, key=KEY)
    assert problem(results, KEY).startswith(f"{results}/audit.jsonl, line 1: carries no HMAC")


def test_the_key_file_must_lie_outside_outdir_and_be_long_enough(results, tmp_path):
    inside = results / "key"
    inside.write_bytes(KEY)
    with pytest.raises(ConfigError, match=r"lies inside .*keep the key outside"):
        read_key(inside, results)
    linked = tmp_path / "link"
    linked.symlink_to(inside)
    with pytest.raises(ConfigError, match="lies inside"):
        read_key(linked, results)
    short = tmp_path / "short"
    short.write_bytes(b"secret\n")
    with pytest.raises(ConfigError, match="6 bytes; a key has at least 16"):
        read_key(short, results)
    good = tmp_path / "good"
    good.write_bytes(KEY + b"\n")
    assert read_key(good, results) == KEY  # the line end of `openssl rand -hex 32 > key`


# ----------------------------------------------------------------------------- overrides
@pytest.mark.parametrize(
    "texts, reasons, message",
    [
        (["S1:D538G"], ["r"], "--override S1:D538G: expected SAMPLE:HOTSPOT=STATUS"),
        (["S1=DETECTED"], ["r"], "--override S1=DETECTED: expected SAMPLE:HOTSPOT=STATUS"),
        (["S1:D538G=POSITIVE"], ["r"], "--override S1:D538G=POSITIVE: POSITIVE is not a call "
         "status; use DETECTED, NOT_DETECTED, INDETERMINATE, INVALID"),
        (["S1:D538G=DETECTED"], [], "--override S1:D538G=DETECTED needs --reason: say why the "
         "call is changed"),
        ([], ["r"], "--reason without --override"),
        (["S1:D538G=DETECTED", "S2:E380Q=INVALID", "S3:S463P=INVALID"], ["a", "b"],
         "3 --override and 2 --reason: give one --reason for all of them, or one per --override"),
        (["S1:D538G=DETECTED", "S1:D538G=INVALID"], ["r"],
         "--override S1:D538G=INVALID: S1:D538G is overridden twice"),
        (["S1:D538G=DETECTED"], ["  "], "--reason: give it as one line of text"),
        (["S1:D538G=DETECTED"], ["two\nlines"], "--reason: give it as one line of text"),
    ],
)  # fmt: skip
def test_override_options_that_make_no_sense_are_one_line_errors(texts, reasons, message):
    with pytest.raises(ConfigError) as caught:
        parse_overrides(texts, reasons)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_override_status_case_and_sample_ids_with_colons():
    (request,) = parse_overrides(["run:2:S1:D538G=not_detected"], ["gel"])
    assert (request.sample, request.hotspot, request.status) == (
        "run:2:S1", "D538G", CallStatus.NOT_DETECTED,
    )  # fmt: skip


@pytest.mark.parametrize(
    "text, message",
    [
        ("S99:D538G=DETECTED", "--override S99:D538G=DETECTED: no sample S99 in "),
        ("S1:D999G=DETECTED", "--override S1:D999G=DETECTED: sample S1 has no D999G call in "),
        ("S1:D538G=NOT_DETECTED", "--override S1:D538G=NOT_DETECTED: S1:D538G is already "
         "NOT_DETECTED; an override must change the call"),
    ],
)  # fmt: skip
def test_overrides_are_checked_against_calls_json(results, text, message):
    with pytest.raises(ConfigError) as caught:
        approve(results, overrides=override(text))
    assert str(caught.value).startswith(message)
    assert not (results / "audit.jsonl").exists()


def test_a_rejected_result_takes_no_override(results):
    with pytest.raises(ConfigError, match="--override with --decision reject"):
        sign(results, reviewer="A. Chen", decision="reject",
             overrides=override("S1:D538G=DETECTED"), clock=clock())  # fmt: skip


def test_the_latest_override_in_a_verified_trail_is_the_effective_call(results, pcr_document):
    tick = clock()
    approve(results, clock=tick, overrides=override("S1:D538G=DETECTED", "band on the gel"))
    with pytest.raises(ConfigError, match="already DETECTED since sign-off 1"):
        approve(results, clock=tick, overrides=override("S1:d538g=DETECTED"))
    approve(results, "B. Li", clock=tick, overrides=override("S1:D538G=INDETERMINATE", "recheck"))
    calls = effective_calls(pcr_document, verify(results))
    d538g = calls[("S1", "D538G")]
    assert (d538g.original, d538g.status) == (CallStatus.NOT_DETECTED, CallStatus.INDETERMINATE)
    assert d538g.entry is not None and d538g.entry.reviewer == "B. Li"
    assert d538g.override is not None and d538g.override.previous is CallStatus.DETECTED
    assert calls[("S1", "E380Q")].override is None
    # back to the call calls.json holds: allowed, and recorded as an override
    approve(results, clock=tick, overrides=override("S1:D538G=NOT_DETECTED", "recheck clean"))
    assert effective_calls(pcr_document, verify(results))[("S1", "D538G")].status is (
        CallStatus.NOT_DETECTED
    )


def test_overrides_count_only_from_a_record_that_verifies(results, pcr_document):
    approve(results, overrides=override("S1:D538G=DETECTED"))
    _flip(results / "calls.tsv", 30)
    result = verify(results)
    assert effective_calls(pcr_document, result)[("S1", "D538G")].status is (
        CallStatus.NOT_DETECTED
    )
    assert review_summary(pcr_document, result) == {
        "state": "not_verified",
        "problem": result.problem,
    }


# ----------------------------------------------------------------------------- report.html
def test_report_html_shows_the_sign_off_and_each_override_beside_the_original(results):
    approve(results, comment="run log <checked>",
            overrides=override("S1:D538G=DETECTED", "band on the gel"))  # fmt: skip
    page = (results / "report.html").read_text(encoding="utf-8")
    assert "Reviewed by A. Chen at 2026-03-02T09:15:00Z (approved)</strong>" in page
    assert "Comment: run log &lt;checked&gt;" in page
    assert '<meta name="esr1calls-signoff" content="1">' in page
    row = (
        '<td>S1</td><td><strong>D538G</strong></td><td><span class="badge s-NOT_DETECTED">'
        'NOT_DETECTED</span></td><td><span class="badge s-DETECTED">DETECTED</span></td><td>'
        "band on the gel</td><td>A. Chen, 2026-03-02T09:15:00Z (sign-off 1)</td>"
    )
    assert row in page
    # the sample's status after review, beside the one calls.json gives
    assert (
        '<h3>S1 <span class="badge s-NEGATIVE">NEGATIVE</span> → after review <span class="badge '
        's-POSITIVE">POSITIVE</span></h3>'
    ) in page
    assert "Review status: approved by A. Chen at 2026-03-02T09:15:00Z" in page
    assert "Review status: <strong>unreviewed</strong>" not in page


def test_a_rejected_sign_off_says_the_results_must_not_be_reported(results):
    sign(results, reviewer="A. Chen", decision=Decision.REJECT, comment="NTC late Ct",
         clock=clock())  # fmt: skip
    page = (results / "report.html").read_text(encoding="utf-8")
    assert "(rejected)</strong>: these results must not be reported" in page
    assert verify(results).state == "rejected"


def test_a_record_that_does_not_verify_is_said_so_and_never_reviewed(pcr_document):
    review = {"state": "not_verified", "problem": "results/report.html: changed since sign-off 2"}
    page = render_html(pcr_document, review)
    assert "The review record does not verify</strong>: results/report.html: changed" in page
    assert "Reviewed by" not in page and "esr1calls-signoff" not in page
    assert "Review status: unreviewed: the review record does not verify" in page


def test_an_unsigned_report_is_unchanged(pcr_document):
    page = render_html(pcr_document)
    assert page == render_html(pcr_document, None)
    assert "Review status: <strong>unreviewed</strong>" in page and "Reviewed by" not in page


# ----------------------------------------------------------------------------- refusals
def test_sign_is_refused_on_a_record_that_does_not_verify(results):
    approve(results)
    _flip(results / "report.html", 100)
    before = (results / "audit.jsonl").read_bytes()
    with pytest.raises(AuditError) as caught:
        approve(results, "B. Li")
    assert str(caught.value) == (
        f"{results}/report.html: changed since sign-off 1 "
        + str(caught.value).split("sign-off 1 ", 1)[1].split("; nothing")[0]
        + f"; nothing was signed: the existing review record does not verify (esr1calls verify "
        f"{results} names the first broken link)"
    )
    assert (results / "audit.jsonl").read_bytes() == before


def test_sign_needs_a_report_folder(tmp_path):
    with pytest.raises(AuditError, match=r"calls.json: not found; sign a folder that esr1calls"):
        approve(tmp_path)


def test_a_signed_folder_is_not_overwritten_by_a_new_report(results, pcr_document):
    approve(results)
    before = {p.name: p.read_bytes() for p in results.iterdir()}
    with pytest.raises(Exception, match=r"holds a signed review .*write them to another -o"):
        write_document(pcr_document, results, ReportOptions(PCR_COMMAND, reproducible=True))
    assert {p.name: p.read_bytes() for p in results.iterdir()} == before
    assert verify(results).ok


# ----------------------------------------------------------------------------- atomicity
def test_a_crash_while_writing_the_trail_leaves_the_old_record(results, monkeypatch):
    approve(results)
    before = {p.name: p.read_bytes() for p in results.iterdir()}

    def crash(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(audit.os, "fsync", crash)
    with pytest.raises(KeyboardInterrupt):
        approve(results, "B. Li")
    monkeypatch.undo()
    assert {p.name: p.read_bytes() for p in results.iterdir()} == before  # no temporary left
    assert verify(results).ok


def test_a_crash_between_trail_and_report_never_shows_an_unsigned_review(results, monkeypatch):
    approve(results)
    real_replace = Path.replace

    def crash_on_report(self, target):
        if Path(target).name == "report.html":
            raise KeyboardInterrupt
        return real_replace(self, target)

    monkeypatch.setattr(Path, "replace", crash_on_report)
    with pytest.raises(KeyboardInterrupt):
        approve(results, "B. Li")
    monkeypatch.undo()
    assert "Reviewed by A. Chen" in (results / "report.html").read_text(encoding="utf-8")
    assert problem(results) == (
        f"{results}/report.html: the report of sign-off 1, but the record holds 2: sign-off 2 was "
        "interrupted before its report was written, or an older report.html was put back"
    )


def test_two_sign_offs_at_once_do_not_lose_a_line(results):
    """Each sign-off reads the trail, then asks the clock, then writes: without the lock both
    would read one line and write line 2, and one sign-off would be lost."""

    def slow_clock():
        time.sleep(0.3)
        return T0

    errors: list[BaseException] = []

    def run(name: str) -> None:
        try:
            approve(results, name, clock=slow_clock)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in ("A. Chen", "B. Li")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    result = verify(results)
    assert result.ok and len(result.entries) == 2
    assert {e.reviewer for e in result.entries} == {"A. Chen", "B. Li"}


# ----------------------------------------------------------------------------- any byte
@pytest.fixture(scope="module")
def signed_ngs(tmp_path_factory, ngs_document) -> Path:
    outdir = tmp_path_factory.mktemp("signed") / "results"
    write_document(ngs_document, outdir, ReportOptions(NGS_COMMAND, reproducible=True))
    tick = clock()
    approve(outdir, key=KEY, clock=tick)
    approve(outdir, "B. Li", key=KEY, clock=tick,
            overrides=override("T01:D538G=INDETERMINATE", "low input"))  # fmt: skip
    assert verify(outdir, KEY).ok and verify(outdir).ok
    return outdir


COVERED = ["calls.json", "calls.tsv", "samples.tsv", "report.html", "audit.jsonl"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_single_byte_change_of_a_covered_file_fails_verify(signed_ngs, data):
    name = data.draw(st.sampled_from(COVERED), label="file")
    path = signed_ngs / name
    original = path.read_bytes()
    at = data.draw(st.integers(0, len(original) - 1), label="position")
    kind = data.draw(st.sampled_from(["replace", "delete", "insert"]), label="kind")
    if kind == "replace":
        byte = data.draw(st.integers(0, 255).filter(lambda b: b != original[at]), label="byte")
        changed = original[:at] + bytes([byte]) + original[at + 1 :]
    elif kind == "delete":
        changed = original[:at] + original[at + 1 :]
    else:
        changed = original[:at] + bytes([data.draw(st.integers(0, 255))]) + original[at:]
    try:
        path.write_bytes(changed)
        assert not verify(signed_ngs).ok
        assert not verify(signed_ngs, KEY).ok
    finally:
        path.write_bytes(original)


# ----------------------------------------------------------------------------- the commands
def test_sign_and_verify_commands(run_cli, results, tmp_path):
    key_file = tmp_path / "review.key"
    key_file.write_bytes(KEY + b"\n")
    signed = run_cli(["sign", results, "--reviewer", "A. Chen", "--decision", "approve",
                      "--override", "S1:D538G=DETECTED", "--reason", "band on the gel",
                      "--key-file", key_file])  # fmt: skip
    assert signed.exit_code == 0, signed.stderr
    assert signed.stdout.startswith(f"signed: sign-off 1 in {results}/audit.jsonl: approve by ")
    assert signed.stdout.endswith(", 1 call(s) overridden; report.html shows it\n")
    checked = run_cli(["verify", results, "--key-file", key_file])
    assert checked.exit_code == 0 and checked.stderr == ""
    assert checked.stdout.startswith("verified: 1 entry, last signed by A. Chen at 20")
    assert checked.stdout.endswith("Z (approve); HMAC checked with the key\n")
    _flip(results / "calls.tsv", 10)
    broken = run_cli(["verify", results, "--key-file", key_file])
    assert broken.exit_code == 1 and broken.stdout == ""
    assert broken.stderr.startswith(f"esr1calls: error: {results}/calls.tsv: changed since ")
    assert broken.stderr.count("\n") == 1


def test_verify_of_an_unsigned_folder_exits_1(run_cli, results):
    result = run_cli(["verify", results])
    assert result.exit_code == 1
    assert result.stderr == (
        f"esr1calls: error: {results}: not signed (no audit.jsonl); sign it with esr1calls sign\n"
    )


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--override", "S1:D538G=DETECTED"],
         "esr1calls: error: --override S1:D538G=DETECTED needs --reason: say why the call is "
         "changed\n"),
        (["--key-file", "{outdir}/calls.tsv"],
         "esr1calls: error: --key-file {outdir}/calls.tsv: lies inside {outdir}; keep the key "
         "outside the signed folder (whoever can change the folder could then forge sign-offs)\n"),
    ],
)  # fmt: skip
def test_sign_option_errors_are_one_line(run_cli, results, extra, message):
    extra = [e.format(outdir=results) for e in extra]
    result = run_cli(["sign", results, "--reviewer", "A. Chen", "--decision", "approve", *extra])
    assert result.exit_code == 1
    assert result.stderr == message.format(outdir=results)
    assert not (results / "audit.jsonl").exists()


def test_sign_takes_only_approve_or_reject(run_cli, results):
    result = run_cli(["sign", results, "--reviewer", "A. Chen", "--decision", "maybe"])
    assert result.exit_code == 2


def test_pcr_into_a_signed_folder_is_refused(run_cli, results, testdata):
    approve(results)
    result = run_cli(["pcr", testdata / "plates" / "esr1_demo_plate.tsv", "--plate-map",
                      testdata / "plates" / "esr1_demo_platemap.csv", "-o", results])  # fmt: skip
    assert result.exit_code == 1
    assert result.stderr == (
        f"esr1calls: error: {results}: holds a signed review (audit.jsonl); new reports there "
        "would replace the signed ones and break the record: write them to another -o\n"
    )
    assert verify(results).ok


def test_every_byte_of_the_last_line_is_covered_without_a_key(signed_ngs):
    """No later line chains to the last one: each of its bytes changed in turn (its HMAC
    included, which only the digest covers when no key is given) fails verify."""
    path = signed_ngs / "audit.jsonl"
    original = path.read_bytes()
    start = original.rindex(b"\n", 0, len(original) - 1) + 1
    passed = []
    try:
        for at in range(start, len(original)):
            path.write_bytes(original[:at] + bytes([original[at] ^ 0x01]) + original[at + 1 :])
            if verify(signed_ngs).ok:
                passed.append(at)
    finally:
        path.write_bytes(original)
    assert passed == []


def test_batch_never_replaces_or_removes_a_signed_job_folder(run_cli, tmp_path, testdata):
    """Re-running a batch found the signed job's report outdated (sign re-renders report.html),
    refused the folder for its audit.jsonl, then removed every report file but audit.jsonl."""
    manifest = testdata / "batch" / "manifest.tsv"
    assert run_cli(["batch", manifest, "-o", tmp_path / "out"]).exit_code == 0
    job = tmp_path / "out" / "qs_run"
    approve(job)
    before = {p.name: p.read_bytes() for p in job.iterdir()}
    again = run_cli(["batch", manifest, "-o", tmp_path / "out"])
    assert again.exit_code == 1
    assert {p.name: p.read_bytes() for p in job.iterdir()} == before
    errors = (tmp_path / "out" / "batch_errors.tsv").read_text(encoding="utf-8")
    assert f"{job}: holds a signed review (audit.jsonl); batch never replaces a signed report" in (
        errors
    )
    assert verify(job).ok


@pytest.mark.slow
def test_a_signed_report_renders_in_headless_chromium_with_hostile_texts(results, tmp_path):
    """Reviewer, comment and reason are typed by people: on the page they are text, never
    markup; the signed page runs nothing and fetches nothing."""
    from .browser import chromium_page, load_report

    hostile = "<img src=x onerror=alert(1)>"
    approve(results, hostile, comment='=HYPERLINK("x")',
            overrides=override("S1:D538G=DETECTED", "<script>alert(2)</script>"))  # fmt: skip
    path = results / "report.html"
    with chromium_page(tmp_path / "profile") as page:
        load_report(page, path)
        requests = [e["request"]["url"] for e in page.named("Network.requestWillBeSent")]
        assert requests == [path.resolve().as_uri()]
        assert not page.named("Runtime.exceptionThrown")
        assert not page.named("Page.javascriptDialogOpening")
        facts = page.evaluate(
            """({
            review: document.querySelector('#review').textContent,
            images: document.images.length,
            scripts: document.scripts.length,
            })"""
        )
    assert facts["images"] == 0 and facts["scripts"] == 0
    assert f"Reviewed by {hostile} at 2026-03-02T09:15:00Z (approved)" in facts["review"]
    assert "<script>alert(2)</script>" in facts["review"]
