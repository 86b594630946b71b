"""Reads and a VCF of the same sample: do they agree at a hotspot?

When a sample has both a BAM/CRAM and a VCF, the reads give x, n and the strand counts (they are
the stronger evidence: every read is classified by its whole codon, nothing is left out below a
caller's threshold) and the VCF gives the caller's FILTER and its records. The call is made on the
reads by the usual rule; this module then asks whether the VCF, read alone, tells a different
story. If it does, the call becomes INDETERMINATE ``SOURCES_DISAGREE`` with both views in its
evidence, whatever the reads alone would say. So a VCF can take a claim away, never add one.

The two sources disagree at a hotspot when:

1. the VCF shows the allele (its certain alt count reaches k_req at its depth) and the reads do
   not (x below k_req), e.g. the VCF detects, the BAM shows nothing;
2. the reads show the allele and the VCF excludes it (its highest possible alt count is below
   k_req at a depth with >= 95 % power), e.g. the caller saw those reads and found nothing;
3. the VCF's depth is more than ``MAX_DEPTH_RATIO`` times the most reads a caller could have
   counted there: the BAM cannot be the file the VCF was called from (a caller that counts both
   overlapping mates explains 2x, and stricter base-quality floors a little more). That is the
   reads' usable depth, or with UMIs the raw reads behind the molecules (a VCF called on raw
   grouped reads counts every one of them). The reverse is expected and not flagged: callers
   downsample (Mutect2 per start position, bcftools mpileup ``-d``).

Both views are judged with the same rule and background as the call. A VCF without depth at the
hotspot has no view: the reads decide alone (that is how a BAM makes NOT_DETECTED possible where
the VCF has no record). A VCF with depth but without a count for the allele neither shows nor
excludes it, so only its depth is compared (3.). Where a VCF cannot phase changes in a codon
(L536Q as two SNVs, Y537T), its count is a range: "shows" uses the certain end and "excludes" the
possible end, so the reads' phasing never creates a false disagreement.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from ..model import Call, CallStatus, Reason
from .rule import NgsSettings, excludes, k_and_power, shows

__all__ = ["MAX_DEPTH_RATIO", "SourceView", "compare_sources", "mark_disagreement", "view_of"]

MAX_DEPTH_RATIO = 3.0


@dataclass(frozen=True)
class SourceView:
    """What one source alone says about one hotspot, in the terms of the calling rule."""

    alt_low: int | None  # the certain alt count (None: not given)
    alt_high: int | None  # the possible alt count
    depth: int | None
    k_required: int | None = None
    power: float | None = None

    @property
    def has_depth(self) -> bool:
        return self.depth is not None and self.depth > 0

    @property
    def shows(self) -> bool:
        """Significant evidence of the allele: the certain count reaches k_req (``rule.shows``)."""
        return (
            self.has_depth
            and self.alt_low is not None
            and self.k_required is not None
            and shows(self.alt_low, self.k_required)
        )

    def excludes(self, required_power: float) -> bool:
        """The allele is excluded at this depth: even the possible count is below k_req, with the
        required power (``rule.excludes``)."""
        return (
            self.has_depth
            and self.alt_high is not None
            and self.k_required is not None
            and self.power is not None
            and excludes(self.alt_high, self.k_required, self.power, required_power)
        )

    def describe(self) -> str:
        alt = (
            "x unknown"
            if self.alt_low is None or self.alt_high is None
            else f"x {self.alt_low}"
            if self.alt_low == self.alt_high
            else f"x {self.alt_low}-{self.alt_high}"
        )
        return f"{alt} of {self.depth or 0:,}, k_req {self.k_required}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "alt_count_range": [self.alt_low, self.alt_high],
            "depth": self.depth,
            "k_required": self.k_required,
            "power": self.power,
        }


def view_of(
    alt_low: int | None,
    alt_high: int | None,
    depth: int | None,
    *,
    error_rate: float,
    settings: NgsSettings,
) -> SourceView:
    """A source's view: its counts with k_req and power at its own depth, as the rule has them
    (``rule.k_and_power``).

    >>> v = view_of(25, 25, 10_000, error_rate=1e-4, settings=NgsSettings())
    >>> v.shows, v.k_required
    (True, 6)
    """
    if depth is None or depth <= 0:
        return SourceView(alt_low, alt_high, depth)
    k, power = k_and_power(depth, error_rate, settings)
    return SourceView(alt_low, alt_high, depth, k, power)


def compare_sources(
    reads: SourceView, vcf: SourceView, *, required_power: float, raw_reads: int | None = None
) -> list[str]:
    """Every way the VCF contradicts the reads at one hotspot (empty when they agree).

    ``raw_reads`` (UMI data) is the number of raw reads behind the reads' molecules: a caller run
    on raw grouped reads may count each of them.

    >>> def v(x, n):
    ...     return view_of(x, x, n, error_rate=1e-4, settings=NgsSettings())
    >>> compare_sources(v(25, 10_000), v(24, 9_000), required_power=0.95)
    []
    >>> print(*compare_sources(v(0, 10_000), v(24, 9_000), required_power=0.95))
    the VCF shows the allele (x 24 of 9,000, k_req 6) but the reads do not (x 0 of 10,000,
    k_req 6)
    """
    findings = []
    if vcf.shows and not reads.shows:
        findings.append(
            f"the VCF shows the allele ({vcf.describe()}) but the reads do not ({reads.describe()})"
        )
    if reads.shows and vcf.excludes(required_power):
        findings.append(
            f"the reads show the allele ({reads.describe()}) but the VCF excludes it "
            f"({vcf.describe()}, power {vcf.power:.0%})"
        )
    most = max(reads.depth or 0, raw_reads or 0)
    if vcf.has_depth and (vcf.depth or 0) > MAX_DEPTH_RATIO * most:
        found = f"{reads.depth:,}" if reads.has_depth else "none"
        if raw_reads and raw_reads > (reads.depth or 0):
            found += f" molecules from {raw_reads:,} raw reads"
        findings.append(
            f"the VCF's depth {vcf.depth:,} is more than {MAX_DEPTH_RATIO:g} times the reads' "
            f"usable depth ({found}): the BAM cannot be the file the VCF was called from"
        )
    return findings


def mark_disagreement(call: Call, findings: list[str], *, reads_name: str, vcf_name: str) -> Call:
    """The call made INDETERMINATE ``SOURCES_DISAGREE``, with the findings in its evidence."""
    reasons = (
        Reason.SOURCES_DISAGREE,
        *(r for r in call.reasons if r is not Reason.SOURCES_DISAGREE),
    )
    action = (
        f"check that {reads_name} and {vcf_name} are the same sample and library, then review "
        f"the reads at this codon: {findings[0]}"
    )
    if call.action:
        action += f" (reads alone: {call.action})"
    evidence = {
        **call.evidence,
        "disagreement": findings,
        "reads_alone": call.status.value,
    }
    return replace(
        call, status=CallStatus.INDETERMINATE, reasons=reasons, action=action, evidence=evidence
    )
