# Size: about 1,000 lines, one concept: the review record. sign, verify and the effective calls
# share its format (canonical JSON, the hash chain, the HMAC, the overrides), kept in one place.
"""Review sign-off: a hash-chained audit trail beside calls.json, optionally keyed with an HMAC.

``esr1calls sign OUTDIR`` appends one line to ``OUTDIR/audit.jsonl``: the UTC time, the reviewer,
the decision (approve or reject), a comment, the calls the reviewer overrode with the reason for
each, the sha256 of calls.json and of every report file in OUTDIR, and ``prev``, the sha256 of the
line before (the first line's is calls.json's sha256). calls.json is never edited: an override
lives in the trail, and report.html is re-rendered to show the original and the reviewer's call
side by side (clinical.html and clinical.pdf, where the folder has them, to show the review;
results.hl7 and results_lis.csv, where it has them, to send the signed result to a LIS).
``esr1calls verify OUTDIR`` recomputes every hash and the chain and names the first broken link;
reports show "reviewed" only from a trail that verifies.

A sign-off, in order (docs/signoff.md): verify the existing trail (refuse if it does not); render
report.html with the new review into a temporary file; hash the files as ``sign`` will leave
them; replace the trail by itself plus the new line (temporary file, fsync, rename); then rename
report.html into place. A crash leaves the old trail and the old report, or the new trail and the
old report (``verify`` names that report as an older sign-off's): never a report that shows a
review the trail does not hold. A lock file (``.audit.lock``) makes concurrent sign-offs wait.

Without a key the chain is tamper-evident: an edited file or line, a deleted or reordered line is
found. It is not tamper-proof: whoever can write the folder can recompute every hash. With
``--key-file`` every line carries an HMAC-SHA256 that cannot be made without the key.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import hmac
import json
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from .errors import AuditError, ConfigError, Esr1CallsError
from .model import CallStatus, sample_status_of
from .reports.calls_json import CALLS_JSON
from .reports.clinical import CLINICAL_HTML, CLINICAL_PDF
from .reports.document import sample_labels
from .reports.formats import ALWAYS_WRITTEN, FILES
from .reports.html import REPORT_HTML
from .reports.write import AUDIT_TRAIL, write_text_atomic

__all__ = [
    "AUDIT_TRAIL",
    "COVERED_FILES",
    "Decision",
    "EffectiveCall",
    "Entry",
    "Override",
    "OverrideRequest",
    "Verification",
    "canonical_json",
    "effective_calls",
    "parse_overrides",
    "read_key",
    "review_summary",
    "sign",
    "verify",
]

AUDIT_VERSION = 1
LOCK_FILE = ".audit.lock"
# every file esr1calls writes into OUTDIR; those present when a folder is signed are covered
REPORT_FILES = tuple(name for name in FILES if name != CALLS_JSON)
COVERED_FILES = (CALLS_JSON, *REPORT_FILES)
# clinical.html is new in 0.2.0: a folder written before it can still be signed
_ALWAYS_WRITTEN = frozenset(ALWAYS_WRITTEN) - {CLINICAL_HTML}
MIN_KEY_BYTES = 16
SIGNOFF_META = "esr1calls-signoff"  # <meta> in a signed report.html: its sign-off number
_SIGNOFF_TAG = re.compile(rb'<meta name="esr1calls-signoff" content="(\d+)">')
_LANG_TAG = re.compile(rb'<meta name="esr1calls-lang" content="([A-Za-z-]+)">')
_FIELDS = frozenset(
    {"audit_version", "n", "time", "reviewer", "decision", "comment", "overrides", "files"}
    | {"prev", "digest"}
)
_OVERRIDE_FIELDS = frozenset({"sample", "hotspot", "from", "to", "reason"})
_HEX64 = re.compile(r"[0-9a-f]{64}")
_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
_NOT_ONE_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
Clock = Callable[[], dt.datetime]


class Decision(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


def canonical_json(value: Any) -> bytes:
    """The one byte form of a trail line: sorted keys, no spaces, UTF-8.

    >>> canonical_json({"b": 1, "a": "é"})
    b'{"a":"\\xc3\\xa9","b":1}'
    """
    text = json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return text.encode("utf-8")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Override:
    """A call the reviewer changed: ``sample`` is its label in calls.json (the sample id,
    qualified when ids repeat), ``previous`` the call before this sign-off."""

    sample: str
    hotspot: str
    previous: CallStatus
    status: CallStatus
    reason: str

    def as_json(self) -> dict[str, str]:
        return {
            "sample": self.sample,
            "hotspot": self.hotspot,
            "from": self.previous.value,
            "to": self.status.value,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Entry:
    """One line of audit.jsonl: one sign-off."""

    number: int
    time: str  # UTC, ISO 8601 with Z
    reviewer: str
    decision: Decision
    comment: str | None = None
    overrides: tuple[Override, ...] = ()
    files: Mapping[str, str] = field(default_factory=dict)  # name -> sha256, as sign left them
    prev: str = ""  # sha256 of the line before; of calls.json for the first line
    hmac: str | None = None  # with --key-file: HMAC-SHA256 over the signed fields (content)
    digest: str = ""  # sha256 of every other field, hmac included: any changed byte shows

    def content(self) -> dict[str, Any]:
        """The signed fields: all but hmac and digest."""
        return {
            "audit_version": AUDIT_VERSION,
            "n": self.number,
            "time": self.time,
            "reviewer": self.reviewer,
            "decision": self.decision.value,
            "comment": self.comment,
            "overrides": [o.as_json() for o in self.overrides],
            "files": dict(self.files),
            "prev": self.prev,
        }

    def _sealed_fields(self) -> dict[str, Any]:
        fields = self.content()
        if self.hmac is not None:
            fields["hmac"] = self.hmac
        return fields

    def computed_digest(self) -> str:
        return _sha256(canonical_json(self._sealed_fields()))

    def computed_hmac(self, key: bytes) -> str:
        return hmac.new(key, canonical_json(self.content()), hashlib.sha256).hexdigest()

    def sealed(self, key: bytes | None) -> Entry:
        """The entry with, given a key, its HMAC, then its digest."""
        entry = replace(self, hmac=None if key is None else self.computed_hmac(key))
        return replace(entry, digest=entry.computed_digest())

    def line(self) -> bytes:
        """The line's exact bytes, without the line end."""
        return canonical_json({**self._sealed_fields(), "digest": self.digest})


@dataclass(frozen=True)
class Verification:
    """What ``verify`` found. ``ok``: the trail exists, every hash and link holds; ``problem``
    names the first broken link otherwise (None with no trail at all: never signed)."""

    outdir: Path
    entries: tuple[Entry, ...] = ()
    problem: str | None = None
    signed: bool = False  # audit.jsonl exists
    keyed: bool = False  # its lines carry HMACs
    key_checked: bool = False  # ... and they were checked against a key

    @property
    def ok(self) -> bool:
        return self.signed and self.problem is None and bool(self.entries)

    @property
    def last(self) -> Entry | None:
        return self.entries[-1] if self.entries else None

    @property
    def state(self) -> str:
        """unreviewed, not_verified, approved or rejected: what a report may say."""
        if self.problem is not None:
            return "not_verified"
        if self.last is None:
            return "unreviewed"
        return "approved" if self.last.decision is Decision.APPROVE else "rejected"

    def summary(self) -> str:
        """The one line ``esr1calls verify`` prints when the record verifies."""
        last = self.last
        if not self.ok or last is None:
            raise ValueError("summary() of a record that does not verify")
        count = len(self.entries)
        text = (
            f"verified: {count} {'entry' if count == 1 else 'entries'}, last signed by "
            f"{last.reviewer} at {last.time} ({last.decision.value})"
        )
        if self.key_checked:
            return text + "; HMAC checked with the key"
        if self.keyed:
            return text + "; chain only: the entries carry HMACs, give --key-file to check them"
        return text + "; chain only: signed without a key (tamper-evident, not tamper-proof)"


class _ChainError(Exception):
    """The first broken link, as the one line verify reports."""


# ------------------------------------------------------------------------------------ verify
def verify(outdir: str | Path, key: bytes | None = None) -> Verification:
    """Recompute every hash of OUTDIR's review record and the chain; never raises for a broken
    record (``problem`` names it). With ``key``, every line's HMAC is checked too."""
    outdir = Path(outdir)
    try:
        verification, _ = _verify(outdir, key)
    except _ChainError as broken:
        return Verification(outdir, problem=str(broken), signed=(outdir / AUDIT_TRAIL).exists())
    return verification


def _verify(outdir: Path, key: bytes | None) -> tuple[Verification, bytes]:
    """The verification and the trail's bytes as read (what ``sign`` appends to)."""
    trail = outdir / AUDIT_TRAIL
    try:
        raw = trail.read_bytes()
    except FileNotFoundError:
        claimed = _claimed_signoff(outdir / REPORT_HTML)
        if claimed is not None:
            raise _ChainError(
                f"{trail}: missing, but report.html shows sign-off {claimed}: the review record "
                "was deleted or moved"
            ) from None
        return Verification(outdir), b""
    except OSError as exc:
        raise _ChainError(f"{trail}: cannot read ({exc.strerror})") from exc
    calls_sha = _file_sha256(outdir / CALLS_JSON)
    if calls_sha is None:
        raise _ChainError(f"{outdir / CALLS_JSON}: missing; the review record ({trail}) covers it")
    if not raw:
        raise _ChainError(
            f"{trail}: empty; a sign-off always writes a line: the lines were deleted"
        )
    lines = raw.split(b"\n")
    if lines[-1]:
        raise _ChainError(
            f"{trail}, line {len(lines)}: cut short (no line end): the file was cut or written "
            "by something other than esr1calls sign"
        )
    lines.pop()
    entries: list[Entry] = []
    keyed = False
    for number, line in enumerate(lines, 1):
        where = f"{trail}, line {number}"
        entry = _parse_line(line, where)
        if number == 1:  # line 1 sets the rule: every line keyed, or none
            keyed = entry.hmac is not None
        if entry.number != number:
            raise _ChainError(f"{where}: {_out_of_place(lines, number, entry.number)}")
        if entry.digest != entry.computed_digest():
            raise _ChainError(
                f"{where}: changed after it was written (its digest does not match its fields)"
            )
        if number == 1 and entry.prev != calls_sha:
            raise _ChainError(_calls_changed(outdir, calls_sha, entry.prev))
        if number > 1 and entry.prev != _sha256(lines[number - 2]):
            raise _ChainError(
                f"{where}: does not chain to line {number - 1} (prev is not its sha256): line "
                f"{number - 1} was changed, or a line was deleted or inserted"
            )
        if entry.files.get(CALLS_JSON) != calls_sha:
            raise _ChainError(_calls_changed(outdir, calls_sha, entry.files.get(CALLS_JSON, "")))
        _check_hmac(entry, where, keyed, key)
        entries.append(entry)
    _check_overrides(entries, outdir, trail)
    _check_files(outdir, entries[-1])
    return Verification(outdir, tuple(entries), None, True, keyed, key is not None), raw


def _out_of_place(lines: Sequence[bytes], number: int, found: int) -> str:
    """Why line ``number`` holds sign-off ``found``: lines reordered, deleted or inserted."""
    held = []
    for line in lines:
        with contextlib.suppress(ValueError, AttributeError):
            held.append(json.loads(line).get("n"))
    text = f"holds sign-off {found}, not {number}"
    if sorted(held, key=str) == sorted(range(1, len(lines) + 1), key=str):
        return f"{text}: the lines were reordered"
    if found > number:
        return f"{text}: sign-off {number} was deleted"
    return f"{text}: a line was inserted or repeated"


def _check_hmac(entry: Entry, where: str, keyed: bool, key: bytes | None) -> None:
    if entry.hmac is None and key is not None:
        raise _ChainError(
            f"{where}: carries no HMAC, but a key was given: the record was signed without a "
            "key, or its HMACs were removed"
        )
    if (entry.hmac is not None) != keyed:
        raise _ChainError(
            f"{where}: {'has an HMAC' if entry.hmac else 'has no HMAC'} where line 1 "
            f"{'has one' if keyed else 'has none'}: a line was added with another key setting"
        )
    if key is not None and not hmac.compare_digest(str(entry.hmac), entry.computed_hmac(key)):
        raise _ChainError(
            f"{where}: the HMAC does not match the key: the line was forged or changed by "
            "someone without the key, or signed with another key"
        )


def _calls_changed(outdir: Path, actual: str, signed: str) -> str:
    return (
        f"{outdir / CALLS_JSON}: changed since it was signed (sha256 now {actual[:12]}..., "
        f"signed {signed[:12]}...); calls.json is never edited: re-run the analysis into a new "
        "folder and review that"
    )


def _parse_line(line: bytes, where: str) -> Entry:
    """One trail line -> Entry, refusing anything sign would not have written."""
    try:
        data = json.loads(line.decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError):
        raise _ChainError(f"{where}: not a JSON object: the line was edited or cut") from None
    if not isinstance(data, dict):
        raise _ChainError(f"{where}: not a JSON object: the line was edited")
    version = data.get("audit_version")
    if isinstance(version, int) and not isinstance(version, bool) and version > AUDIT_VERSION:
        raise _ChainError(
            f"{where}: audit version {version}, written by a newer esr1calls; verify it with that"
        )
    if canonical_json(data) != line:
        raise _ChainError(
            f"{where}: not in the form sign writes (sorted keys, no spaces): the line was edited"
        )
    missing = sorted(_FIELDS - set(data))
    unknown = sorted(set(data) - _FIELDS - {"hmac"})
    if missing or unknown or version != AUDIT_VERSION:
        problem = f"lacks {', '.join(missing)}" if missing else f"has {', '.join(unknown)}"
        if not missing and not unknown:
            problem = f"has audit version {version!r}"
        raise _ChainError(f"{where}: {problem}, which sign never writes: the line was edited")

    def bad(name: str, expected: str) -> _ChainError:
        return _ChainError(f"{where}: {name} is not {expected}: the line was edited")

    number = data["n"]
    if not isinstance(number, int) or isinstance(number, bool) or number < 1:
        raise bad("n", "a sign-off number")
    if not isinstance(data["time"], str) or not _TIME.fullmatch(data["time"]):
        raise bad("time", "a UTC time like 2026-01-31T09:15:00Z")
    if not isinstance(data["reviewer"], str) or not data["reviewer"].strip():
        raise bad("reviewer", "a name")
    if data["decision"] not in {d.value for d in Decision}:
        raise bad("decision", "approve or reject")
    if data["comment"] is not None and not isinstance(data["comment"], str):
        raise bad("comment", "text")
    for name in ("prev", "digest", *(("hmac",) if "hmac" in data else ())):
        if not isinstance(data[name], str) or not _HEX64.fullmatch(data[name]):
            raise bad(name, "a sha256 in hex")
    files = data["files"]
    if (
        not isinstance(files, dict)
        or not _ALWAYS_WRITTEN <= set(files) <= set(COVERED_FILES)
        or not all(isinstance(v, str) and _HEX64.fullmatch(v) for v in files.values())
    ):
        raise bad("files", "the report files with their sha256")
    if not isinstance(data["overrides"], list):
        raise bad("overrides", "a list")
    overrides = []
    for item in data["overrides"]:
        if not isinstance(item, dict) or set(item) != _OVERRIDE_FIELDS:
            raise bad("overrides", "a list of sample, hotspot, from, to and reason")
        try:
            overrides.append(
                Override(
                    _text(item["sample"]),
                    _text(item["hotspot"]),
                    CallStatus(item["from"]),
                    CallStatus(item["to"]),
                    _text(item["reason"]),
                )
            )
        except (TypeError, ValueError):
            raise bad("overrides", "a list of calls with their statuses") from None
    return Entry(
        number=number,
        time=data["time"],
        reviewer=data["reviewer"],
        decision=Decision(data["decision"]),
        comment=data["comment"],
        overrides=tuple(overrides),
        files=dict(files),
        prev=data["prev"],
        digest=data["digest"],
        hmac=data.get("hmac"),
    )


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise TypeError("not text")
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _check_overrides(entries: Sequence[Entry], outdir: Path, trail: Path) -> None:
    """Every override names a call of calls.json and starts from the call as it then was."""
    if not any(e.overrides for e in entries):
        return
    try:
        document = json.loads((outdir / CALLS_JSON).read_bytes())
        current = _call_statuses(document)
    except (OSError, ValueError, TypeError, AttributeError, KeyError):
        raise _ChainError(f"{outdir / CALLS_JSON}: not a calls.json esr1calls can read") from None
    for entry in entries:
        for override in entry.overrides:
            key = (override.sample, override.hotspot)
            where = f"{trail}, line {entry.number}"
            if key not in current:
                raise _ChainError(
                    f"{where}: overrides {override.sample}:{override.hotspot}, a call calls.json "
                    "does not hold: the line does not belong to this folder"
                )
            if current[key] is not override.previous:
                raise _ChainError(
                    f"{where}: says {override.sample}:{override.hotspot} was "
                    f"{override.previous.value}, but it was {current[key].value}: the line "
                    "does not belong to this record"
                )
            current[key] = override.status


def _call_statuses(document: Mapping[str, Any]) -> dict[tuple[str, str], CallStatus]:
    """(sample label, hotspot) -> status, from calls.json."""
    samples = document["samples"]
    return {
        (label, str(call["hotspot"])): CallStatus(call["status"])
        for sample, label in zip(samples, sample_labels(samples), strict=True)
        for call in sample["calls"]
    }


def _check_files(outdir: Path, last: Entry) -> None:
    """The files as the last sign-off left them; no report file it does not cover."""
    for name in COVERED_FILES:
        path = outdir / name
        recorded = last.files.get(name)
        actual = _file_sha256(path)
        if recorded is None:
            if actual is not None:
                raise _ChainError(
                    f"{path}: not covered by the review record (written after sign-off "
                    f"{last.number}); move it out of {outdir}"
                )
            continue
        if actual is None:
            raise _ChainError(f"{path}: missing; sign-off {last.number} covers it")
        if actual == recorded:
            continue
        claimed = _claimed_signoff(path) if name == REPORT_HTML else None
        if claimed is not None and claimed > last.number:
            raise _ChainError(
                f"{outdir / AUDIT_TRAIL}: ends at sign-off {last.number}, but report.html shows "
                f"sign-off {claimed}: the last line(s) were deleted"
            )
        if claimed is not None and claimed < last.number:
            raise _ChainError(
                f"{path}: the report of sign-off {claimed}, but the record holds "
                f"{last.number}: sign-off {last.number} was interrupted before its report was "
                "written, or an older report.html was put back"
            )
        raise _ChainError(
            f"{path}: changed since sign-off {last.number} (sha256 now {actual[:12]}..., "
            f"signed {recorded[:12]}...)"
        )


def _file_sha256(path: Path) -> str | None:
    """The file's sha256, read now; None when it does not exist. (Not provenance.sha256_file:
    its cache keys on size and mtime, and a same-size edit within one mtime tick must show.)"""
    try:
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise _ChainError(f"{path}: cannot read ({exc.strerror})") from exc
    return digest.hexdigest()


def _claimed_signoff(report: Path) -> int | None:
    """The sign-off number a signed report.html names in its <meta>; None for an unsigned one."""
    try:
        found = _SIGNOFF_TAG.search(report.read_bytes())
    except OSError:
        return None
    return int(found.group(1)) if found else None


# ------------------------------------------------------------------------- effective calls
@dataclass(frozen=True)
class EffectiveCall:
    """A call after review: ``status`` is the latest override's in a verified record, else
    calls.json's (``original``). ``entry`` is the sign-off that made the override."""

    sample: str
    hotspot: str
    original: CallStatus
    original_reasons: tuple[str, ...]
    status: CallStatus
    override: Override | None = None
    entry: Entry | None = None


def effective_calls(
    document: Mapping[str, Any], verification: Verification
) -> dict[tuple[str, str], EffectiveCall]:
    """Every call of a calls.json document after review, keyed by (sample label, hotspot).

    Overrides count only from a record that verifies; otherwise every call is calls.json's
    (and reports say the record does not verify)."""
    samples = document.get("samples") or []
    calls: dict[tuple[str, str], EffectiveCall] = {}
    for sample, label in zip(samples, sample_labels(samples), strict=True):
        for call in sample.get("calls") or []:
            status = CallStatus(call["status"])
            reasons = tuple(str(r) for r in call.get("reasons") or [])
            calls[(label, str(call["hotspot"]))] = EffectiveCall(
                label, str(call["hotspot"]), status, reasons, status
            )
    if verification.ok:
        for entry in verification.entries:
            for override in entry.overrides:
                key = (override.sample, override.hotspot)
                calls[key] = replace(calls[key], status=override.status, override=override,
                                     entry=entry)  # fmt: skip
    return calls


def review_summary(
    document: Mapping[str, Any], verification: Verification
) -> dict[str, Any] | None:
    """What a report shows of the review (report_html takes it): None when never signed."""
    state = verification.state
    if state == "unreviewed":
        return None
    if state == "not_verified":
        return {"state": state, "problem": verification.problem}
    last = verification.entries[-1]
    calls = effective_calls(document, verification)
    samples = document.get("samples") or []
    statuses = _sample_statuses(document, calls)
    changed_samples = {
        label: {"original": sample.get("status"), "status": statuses[label]}
        for sample, label in zip(samples, sample_labels(samples), strict=True)
        if statuses[label] != sample.get("status")
    }
    return {
        "state": state,
        "signoff": last.number,
        "reviewer": last.reviewer,
        "time": last.time,
        "decision": last.decision.value,
        "comment": last.comment,
        "keyed": verification.keyed,
        "calls_sha256": last.files.get(CALLS_JSON),
        "history": [
            {
                "signoff": e.number,
                "time": e.time,
                "reviewer": e.reviewer,
                "decision": e.decision.value,
                "comment": e.comment,
                "overrides": len(e.overrides),
            }
            for e in verification.entries
        ],
        "overrides": [
            {
                "sample": c.sample,
                "hotspot": c.hotspot,
                "original": c.original.value,
                "original_reasons": list(c.original_reasons),
                "status": c.status.value,
                "reason": c.override.reason,
                "reviewer": c.entry.reviewer,
                "time": c.entry.time,
                "signoff": c.entry.number,
            }
            for c in calls.values()
            if c.override is not None and c.entry is not None
        ],
        "samples": changed_samples,
        **_reported(document, verification, calls, statuses),
    }


def _sample_statuses(
    document: Mapping[str, Any], calls: Mapping[tuple[str, str], EffectiveCall]
) -> dict[str, str]:
    """Each sample's status (by label) on these calls: calls.json's, unless an override changed
    one of its calls (then the usual rule on the calls after review)."""
    by_sample: dict[str, list[EffectiveCall]] = {}
    for call in calls.values():
        by_sample.setdefault(call.sample, []).append(call)
    samples = document.get("samples") or []
    statuses = {}
    for sample, label in zip(samples, sample_labels(samples), strict=True):
        mine = by_sample.get(label, [])
        overridden = any(c.override for c in mine)
        statuses[label] = (
            sample_status_of(c.status for c in mine).value if overridden else sample.get("status")
        )
    return statuses


def _reported(
    document: Mapping[str, Any],
    verification: Verification,
    calls: Mapping[tuple[str, str], EffectiveCall],
    statuses: Mapping[str, str],
) -> dict[str, Any]:
    """What the LIS was last sent as final: ``final_signoff`` is the latest approval before the
    last sign-off (None when there is none), ``corrected_calls`` the (sample, hotspot) whose call
    differs now from that approval's, ``corrected_samples`` the samples whose status does. HL7
    marks those corrected (OBX-11 C) rather than final (docs/lis.md)."""
    earlier = [e for e in verification.entries[:-1] if e.decision is Decision.APPROVE]
    if not earlier:
        return {"final_signoff": None, "corrected_calls": [], "corrected_samples": []}
    final = earlier[-1].number
    then = effective_calls(document, replace(verification, entries=verification.entries[:final]))
    then_statuses = _sample_statuses(document, then)
    return {
        "final_signoff": final,
        "corrected_calls": [
            key for key, call in calls.items() if call.status is not then[key].status
        ],
        "corrected_samples": [s for s, status in statuses.items() if status != then_statuses[s]],
    }


# -------------------------------------------------------------------------------------- sign
@dataclass(frozen=True)
class OverrideRequest:
    """``--override SAMPLE:HOTSPOT=STATUS`` with its ``--reason``, not yet checked against
    calls.json."""

    text: str
    sample: str
    hotspot: str
    status: CallStatus
    reason: str


def _one_line(option: str, value: str | None) -> str:
    text = (value or "").strip()
    if not text or _NOT_ONE_LINE.search(text):
        raise ConfigError(f"{option}: give it as one line of text (got {value!r})")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ConfigError(f"{option}: not valid text (got {value!r})") from None
    return text


def parse_overrides(texts: Sequence[str], reasons: Sequence[str]) -> list[OverrideRequest]:
    """``--override`` values with their ``--reason``s: one reason for all, or one each."""
    if reasons and not texts:
        raise ConfigError(
            "--reason without --override: a reason explains an override; a remark goes in --comment"
        )
    if texts and not reasons:
        raise ConfigError(f"--override {texts[0]} needs --reason: say why the call is changed")
    if len(reasons) not in (1, len(texts)):
        raise ConfigError(
            f"{len(texts)} --override and {len(reasons)} --reason: give one --reason for all of "
            "them, or one per --override in the same order"
        )
    each = reasons if len(reasons) == len(texts) else [reasons[0]] * len(texts)
    paired = zip(texts, each, strict=True)
    requests: list[OverrideRequest] = []
    for text, reason in paired:
        head, equals, status_text = text.rpartition("=")
        sample, colon, hotspot = head.rpartition(":")
        if not (equals and colon and sample.strip() and hotspot.strip() and status_text.strip()):
            raise ConfigError(
                f"--override {text}: expected SAMPLE:HOTSPOT=STATUS, e.g. S1:D538G=INDETERMINATE"
            )
        try:
            status = CallStatus(status_text.strip().upper())
        except ValueError:
            raise ConfigError(
                f"--override {text}: {status_text.strip()} is not a call status; use "
                f"{', '.join(s.value for s in CallStatus)}"
            ) from None
        request = OverrideRequest(
            text, sample.strip(), hotspot.strip(), status, _one_line("--reason", reason)
        )
        if any((r.sample, r.hotspot) == (request.sample, request.hotspot) for r in requests):
            raise ConfigError(f"--override {text}: {sample}:{hotspot} is overridden twice")
        requests.append(request)
    return requests


def _resolve(
    requests: Sequence[OverrideRequest],
    document: Mapping[str, Any],
    current: Verification,
    calls_path: Path,
) -> tuple[Override, ...]:
    """Check each request against calls.json and the calls as the record has them now."""
    samples = document.get("samples") or []
    labels = sample_labels(samples)
    calls = effective_calls(document, current)
    resolved = []
    for request in requests:
        if request.sample not in labels:
            same_id = [
                label
                for label, s in zip(labels, samples, strict=True)
                if s.get("sample_id") == request.sample
            ]
            if same_id:
                raise ConfigError(
                    f"--override {request.text}: {request.sample} names {len(same_id)} samples "
                    f"in {calls_path}; give one of their labels: {', '.join(same_id)}"
                )
            raise ConfigError(
                f"--override {request.text}: no sample {request.sample} in {calls_path} "
                f"(samples: {_listed(labels)})"
            )
        hotspots = [h for (label, h) in calls if label == request.sample]
        hotspot = next((h for h in hotspots if h.casefold() == request.hotspot.casefold()), None)
        if hotspot is None:
            raise ConfigError(
                f"--override {request.text}: sample {request.sample} has no {request.hotspot} "
                f"call in {calls_path} (its hotspots: {_listed(hotspots)})"
            )
        call = calls[(request.sample, hotspot)]
        if call.status is request.status:
            earlier = f" since sign-off {call.entry.number}" if call.entry else ""
            raise ConfigError(
                f"--override {request.text}: {request.sample}:{hotspot} is already "
                f"{call.status.value}{earlier}; an override must change the call"
            )
        resolved.append(
            Override(request.sample, hotspot, call.status, request.status, request.reason)
        )
    return tuple(resolved)


def _listed(names: Sequence[str], most: int = 12) -> str:
    shown = ", ".join(names[:most])
    return shown + (f", ... ({len(names)} in all)" if len(names) > most else "") or "none"


def read_key(path: str | Path, outdir: str | Path) -> bytes:
    """The HMAC key from ``--key-file``: outside OUTDIR, at least 16 bytes (surrounding white
    space, such as the line end of ``openssl rand -hex 32 > key``, is not part of it)."""
    path = Path(path)
    if path.resolve().is_relative_to(Path(outdir).resolve()):
        raise ConfigError(
            f"--key-file {path}: lies inside {outdir}; keep the key outside the signed folder "
            "(whoever can change the folder could then forge sign-offs)"
        )
    try:
        key = path.read_bytes().strip()
    except OSError as exc:
        raise ConfigError(f"--key-file {path}: cannot read ({exc.strerror})") from exc
    if len(key) < MIN_KEY_BYTES:
        raise ConfigError(
            f"--key-file {path}: {len(key)} bytes; a key has at least {MIN_KEY_BYTES} (make one "
            "with: openssl rand -hex 32 > KEYFILE)"
        )
    return key


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _utc_text(moment: dt.datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("the sign-off clock must give an aware datetime")
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def sign(
    outdir: str | Path,
    *,
    reviewer: str,
    decision: Decision | str,
    comment: str | None = None,
    overrides: Sequence[OverrideRequest] = (),
    key: bytes | None = None,
    clock: Clock | None = None,
) -> Entry:
    """Append one sign-off to OUTDIR/audit.jsonl and re-render report.html (and clinical.html,
    in its language, clinical.pdf, results.hl7 and results_lis.csv, where the folder has them)
    to show it.

    Refused when the existing record does not verify, when ``key`` is given for a record signed
    without one (or the reverse), and for overrides that do not fit calls.json. ``clock`` gives
    the time (tests inject one); there is no reproducible mode: a sign-off is an event."""
    from .reports.clinical import render_clinical
    from .reports.html import render_html
    from .reports.merge import load_calls_json  # schema-checks calls.json

    outdir = Path(outdir)
    reviewer = _one_line("--reviewer", reviewer)
    comment = None if comment is None else _one_line("--comment", comment)
    decision = Decision(decision)
    if overrides and decision is Decision.REJECT:
        raise ConfigError(
            "--override with --decision reject: a rejected result is not reported, so no call "
            "of it is changed; reject it, or approve it with the overrides"
        )
    calls_path = outdir / CALLS_JSON
    if not calls_path.is_file():
        raise AuditError(
            f"{calls_path}: not found; sign a folder that esr1calls pcr, ngs or report wrote "
            "(in a batch, each job's OUTDIR/<job>/)"
        )
    try:
        with _locked(outdir):
            current, raw = _verify_for_signing(outdir, key)
            loaded = load_calls_json(calls_path)
            if current.last and loaded.sha256 != current.last.files[CALLS_JSON]:
                raise AuditError(f"{calls_path}: changed while it was being signed; sign again")
            pending = Entry(
                number=len(current.entries) + 1,
                time=_utc_text((clock or _utc_now)()),
                reviewer=reviewer,
                decision=decision,
                comment=comment,
                overrides=_resolve(overrides, loaded.document, current, calls_path),
                files={CALLS_JSON: loaded.sha256},  # the rest once report.html is rendered
                prev=_sha256(raw.split(b"\n")[-2]) if current.entries else loaded.sha256,
            )
            review = review_summary(
                loaded.document,
                replace(current, entries=(*current.entries, pending), signed=True,
                        keyed=key is not None, key_checked=key is not None),
            )  # fmt: skip
            # report.html last: a crash before it is in place leaves the report of the previous
            # sign-off, and verify names the interrupted sign-off by it
            pages = _lis_files(outdir, loaded.document, review)
            if (outdir / CLINICAL_HTML).is_file():
                language = _page_language(outdir / CLINICAL_HTML)
                pages[CLINICAL_HTML] = render_clinical(loaded.document, language, review)
            pages[REPORT_HTML] = render_html(loaded.document, review)
            files = {CALLS_JSON: loaded.sha256}
            files.update({name: _sha256(text.encode("utf-8")) for name, text in pages.items()})
            for name in REPORT_FILES:
                sha = None if name in files else _file_sha256(outdir / name)
                if sha is not None:
                    files[name] = sha
            missing = sorted(_ALWAYS_WRITTEN - set(files))
            if missing:
                raise AuditError(
                    f"{outdir / missing[0]}: missing; write the folder's reports again (esr1calls "
                    f"report {calls_path} -o NEWDIR) and sign that folder"
                )
            # clinical.pdf shows the review too: printed again first, put in place last
            printed = _print_clinical_pdf(outdir, pages) if CLINICAL_PDF in files else None
            try:
                if printed is not None:
                    files[CLINICAL_PDF] = _file_sha256(printed) or ""
                entry = replace(pending, files=files).sealed(key)
                # the record first: a crash before the report is in place leaves the older
                # report beside the new line (verify names it), never a review the record
                # does not hold
                trail = (raw + entry.line() + b"\n").decode("utf-8")
                write_text_atomic(outdir / AUDIT_TRAIL, trail)
                _fsync_dir(outdir)
                for name, text in pages.items():
                    if name != REPORT_HTML:
                        write_text_atomic(outdir / name, text)
                if printed is not None:
                    printed.replace(outdir / CLINICAL_PDF)
                write_text_atomic(outdir / REPORT_HTML, pages[REPORT_HTML])
                _fsync_dir(outdir)
            finally:
                if printed is not None:
                    printed.unlink(missing_ok=True)
    except _ChainError as broken:  # a file unreadable while hashing
        raise AuditError(str(broken)) from None
    except OSError as exc:
        raise AuditError(
            f"{outdir}: cannot sign ({exc.strerror}{': ' + exc.filename if exc.filename else ''})"
        ) from exc
    return entry


def _lis_files(outdir: Path, document: Mapping[str, Any], review: Any) -> dict[str, str]:
    """results.hl7 and results_lis.csv, where the folder has them, rendered with the review: a
    LIS gets the signed result (final, corrected or rejected), not the preliminary one.
    results.hl7 keeps the facility, receiver and patient id authority it was written with."""
    from .reports.hl7 import HL7_RESULTS, render_hl7, settings_of
    from .reports.lis import LIS_CSV, render_lis_csv
    from .reports.options import ReportOptions

    files: dict[str, str] = {}
    hl7_path = outdir / HL7_RESULTS
    if hl7_path.is_file():
        try:
            written = hl7_path.read_bytes().decode("utf-8")
            settings = settings_of(written, hl7_path)
        except (UnicodeDecodeError, ConfigError) as exc:
            detail = str(exc) if isinstance(exc, ConfigError) else f"{hl7_path}: not UTF-8"
            raise AuditError(
                f"{detail}; sign needs the file as esr1calls wrote it, to send the signed result "
                f"to the same LIS: write the reports again (esr1calls report "
                f"{outdir / CALLS_JSON} -o NEWDIR --hl7 ...) and sign that folder"
            ) from None
        options = ReportOptions("esr1calls sign", settings=settings)
        files[HL7_RESULTS] = render_hl7(document, options, review)
    if (outdir / LIS_CSV).is_file():
        files[LIS_CSV] = render_lis_csv(document, review)
    return files


def _page_language(clinical: Path) -> str:
    """The language clinical.html was written in (its <meta>), so a sign-off keeps it."""
    try:
        found = _LANG_TAG.search(clinical.read_bytes())
    except OSError:
        return "en"
    return found.group(1).decode("ascii") if found else "en"


def _print_clinical_pdf(outdir: Path, pages: Mapping[str, str]) -> Path:
    """clinical.pdf printed again from the signed clinical.html, into a temporary file beside it
    (renamed into place after the record is written). Refused without Chromium: the old PDF
    would show a review state the record no longer holds."""
    from .reports.clinical import check_pdf_renderer, render_pdf

    try:
        browser = check_pdf_renderer()
    except Esr1CallsError as exc:
        raise AuditError(
            f"{outdir / CLINICAL_PDF}: must be printed again to show this sign-off, but {exc}"
        ) from None
    html = outdir / f".{CLINICAL_HTML}.sign.tmp.html"
    pdf = outdir / f".{CLINICAL_PDF}.sign.tmp"
    try:
        write_text_atomic(html, pages[CLINICAL_HTML])
        render_pdf(html, pdf, browser)
    finally:
        html.unlink(missing_ok=True)
    return pdf


def _verify_for_signing(outdir: Path, key: bytes | None) -> tuple[Verification, bytes]:
    """The record as it stands, verified (with ``key`` when it is keyed); refused otherwise."""
    try:
        current, raw = _verify(outdir, None)
        if current.entries and current.keyed and key is None:
            raise AuditError(
                f"{outdir / AUDIT_TRAIL}: signed with a key (its lines carry HMACs); give the "
                "same --key-file to sign it"
            )
        if current.entries and not current.keyed and key is not None:
            raise AuditError(
                f"{outdir / AUDIT_TRAIL}: signed without a key; a keyed sign-off cannot be added "
                "to it (sign without --key-file, or review a new copy of the results with the key)"
            )
        return _verify(outdir, key) if key is not None else (current, raw)
    except _ChainError as broken:
        raise AuditError(
            f"{broken}; nothing was signed: the existing review record does not verify (esr1calls "
            f"verify {outdir} names the first broken link)"
        ) from None


@contextlib.contextmanager
def _locked(outdir: Path) -> Iterator[None]:
    """Hold OUTDIR/.audit.lock: a second sign-off waits until this one is written."""
    descriptor = os.open(outdir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # closing releases the lock


def _fsync_dir(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
