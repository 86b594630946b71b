"""The review as the LIS formats send it (results.hl7 and results_lis.csv, docs/lis.md).

``esr1calls sign`` renders both again from calls.json and the verified review record (the
``review`` dict of ``audit.review_summary``, the one report.html gets). This module reads that
dict once for both: the state a LIS may act on, each sample's and each call's value after review,
and the HL7 result status of each (tables 0085 for OBX-11 and 0123 for OBR-25, which the CSV's
``result_status`` repeats):

* never signed, or a record that does not verify: ``P`` (preliminary), calls.json's values;
* the last sign-off approves: ``F`` (final), the reviewer's values (overrides applied); a value
  that differs from what an earlier approval sent as final is ``C`` (corrected: "replaces a
  final result"), and an order holding one is ``C`` too. An override in the first approval
  corrects nothing the LIS holds as final (it only ever had ``P``), so it is ``F``;
* the last sign-off rejects: ``X`` everywhere ("results cannot be obtained"; OBR-25 "no results
  available"), and no value: a rejected result must not look reportable, and a LIS that holds
  an earlier final learns it no longer stands.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ..model import CallStatus
from .document import sample_labels

__all__ = ["LisReview", "ResultStatus", "ReviewedCall", "ReviewedSample", "lis_review", "reviewed"]

Review = Mapping[str, Any] | None  # audit.review_summary: None = never signed


class ResultStatus(StrEnum):
    """HL7 v2 result status codes (OBX-11, table 0085; OBR-25, table 0123)."""

    PRELIMINARY = "P"
    FINAL = "F"
    CORRECTED = "C"
    CANCELLED = "X"  # OBX-11: results cannot be obtained; OBR-25: no results available


@dataclass(frozen=True)
class LisReview:
    """What the LIS is told of the review. ``state``: unreviewed, approved or rejected (a record
    that does not verify is unreviewed, ``problem`` saying why)."""

    state: str = "unreviewed"
    reviewer: str | None = None
    time: str | None = None  # UTC, ISO 8601 with Z
    signoff: int | None = None
    comment: str | None = None
    keyed: bool = False
    problem: str | None = None
    final_signoff: int | None = None  # the latest earlier approval: what the LIS holds as final

    @property
    def signed(self) -> bool:
        """A verified sign-off decides the result (approved or rejected)."""
        return self.state in ("approved", "rejected")

    @property
    def rejected(self) -> bool:
        return self.state == "rejected"

    def sentence(self) -> str:
        """The review in one sentence, for the NTE after OBR."""
        if self.state == "approved":
            text = f"Review status: approved by {self.reviewer} at {self.time}"
        elif self.state == "rejected":
            text = (
                f"Review status: rejected by {self.reviewer} at {self.time}: these results must "
                "not be reported"
            )
        elif self.problem:
            return (
                "Review status: unreviewed: the review record does not verify "
                f"({self.problem}). Treat every call as unreviewed."
            )
        else:
            return (
                "Review status: unreviewed. esr1calls never signs out results: qualified "
                "laboratory staff must review every call before it is reported."
            )
        record = "HMAC-keyed" if self.keyed else "hash-chained, without a key"
        text += f" (sign-off {self.signoff} of audit.jsonl, {record})."
        return text + (f" Comment: {self.comment}" if self.comment else "")


@dataclass(frozen=True)
class ReviewedCall:
    """One call of calls.json as the LIS gets it: ``status`` after review, ``override`` the
    review's override item (original, status, reason, reviewer, time, signoff) when changed."""

    call: Mapping[str, Any]
    status: CallStatus
    result_status: ResultStatus
    override: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class ReviewedSample:
    """One sample as the LIS gets it: its ``status`` after review (calls.json's ``original``),
    the result status of that overall result and of the order (OBR-25), and every call."""

    sample: Mapping[str, Any]
    label: str
    status: str
    original: str
    result_status: ResultStatus
    order_status: ResultStatus
    calls: tuple[ReviewedCall, ...]


def lis_review(review: Review) -> LisReview:
    """The review dict of ``audit.review_summary`` (None: never signed) as the LIS sees it."""
    if review is None:
        return LisReview()
    state = str(review.get("state"))
    if state not in ("approved", "rejected"):
        return LisReview(problem=str(review.get("problem") or "the record does not verify"))
    final = review.get("final_signoff")
    return LisReview(
        state=state,
        reviewer=str(review.get("reviewer")),
        time=str(review.get("time")),
        signoff=int(review["signoff"]),
        comment=review.get("comment"),
        keyed=bool(review.get("keyed")),
        final_signoff=int(final) if final is not None else None,
    )


def _status(signed: LisReview, corrected: bool) -> ResultStatus:
    if signed.state == "approved":
        return ResultStatus.CORRECTED if corrected else ResultStatus.FINAL
    if signed.state == "rejected":
        return ResultStatus.CANCELLED
    return ResultStatus.PRELIMINARY


def reviewed(document: Mapping[str, Any], review: Review) -> list[ReviewedSample]:
    """Every sample of the document after review, in the document's order."""
    signed = lis_review(review)
    approved = signed.state == "approved"
    overrides: dict[tuple[str, str], Mapping[str, Any]] = {}
    corrected_calls: set[tuple[str, str]] = set()
    changed: Mapping[str, Any] = {}
    corrected_samples: set[str] = set()
    if approved and review is not None:  # overrides count only in a result that stands
        for item in review.get("overrides") or []:
            overrides[(str(item["sample"]), str(item["hotspot"]))] = item
        corrected_calls = {(str(s), str(h)) for s, h in review.get("corrected_calls") or []}
        changed = review.get("samples") or {}
        corrected_samples = {str(s) for s in review.get("corrected_samples") or []}
    samples: Sequence[Mapping[str, Any]] = document.get("samples") or []
    out = []
    for sample, label in zip(samples, sample_labels(samples), strict=True):
        calls = []
        for call in sample.get("calls") or []:
            key = (label, str(call.get("hotspot")))
            item = overrides.get(key)
            after = CallStatus(str(item["status"] if item else call.get("status")))
            calls.append(ReviewedCall(call, after, _status(signed, key in corrected_calls), item))
        original = str(sample.get("status"))
        status = str((changed.get(label) or {}).get("status") or original)
        sample_status = _status(signed, label in corrected_samples)
        any_corrected = sample_status is ResultStatus.CORRECTED or any(
            c.result_status is ResultStatus.CORRECTED for c in calls
        )
        order = ResultStatus.CORRECTED if any_corrected else sample_status
        out.append(
            ReviewedSample(sample, label, status, original, sample_status, order, tuple(calls))
        )
    return out
