"""NGS calls: the depth-aware 0.2 % rule of docs/ngs.md ("The rule"), over AlleleCounts.

The rule functions here are pure (numbers in, a Call out) and know nothing about VCF or BAM;
``esr1calls.ngs.call_ngs`` (in ``ngs/__init__.py``) reads the files and applies them: to the
VCF's counts, or to the reads' counts whenever a sample has a BAM/CRAM.

For x alt observations at informative depth n (molecules with ``--umi``), background error e,
reportable fraction f* and false-positive budget alpha:

* k_req(n) = max(k_min, smallest k with P(Bin(n, e) >= k) <= alpha)
* DETECTED: x >= k_req and x/n >= f*, unless the caller flagged an artefact
  (then INDETERMINATE ARTEFACT_FILTER) or every alt read is on one strand (STRAND_BIAS)
* INDETERMINATE LOW_LEVEL: x >= k_req but x/n < f*
* NOT_DETECTED: x < k_req and P(Bin(n, f*) >= k_req) >= 0.95, at the actual n
* INDETERMINATE INSUFFICIENT_DEPTH otherwise, with lod95; no depth at all: NO_COVERAGE

When the VCF gives only a range for x (phase unknown, or an unlisted allele bounded by the reads
a caller left unassigned), a status is claimed only if it holds over the whole range.

Reads whose duplicates were never marked (``reads.py`` rule 7) are judged again: no NOT_DETECTED
without the DNA input, a DETECTED only on alt fragments at distinct coordinates, and with
``--input-ng``/``--input-copies`` n and x in molecules (section "unmarked duplicates" below).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..hotspots import Hotspot, Panel
from ..model import (
    DEFAULT_MIN_ALLELE_FRACTION,
    AlleleCounts,
    Call,
    CallStatus,
    Method,
    Reason,
    SampleStatus,
)
from ..stats import clopper_pearson, detection_power, k_required, lod95
from ..text import exact_percent, short_percent
from .callers import FilterKind, classify_filter
from .options import (
    DEFAULT_ALPHA,
    DEFAULT_K_MIN,
    READ_BACKGROUND_ERROR,
    REQUIRED_POWER,
    UMI_BACKGROUND_ERROR,
    ReadOptions,
)
from .pon import PanelOfNormals
from .reads import CodonEvidence, Duplicates, DuplicateState, ReadCounts

__all__ = [
    "Background",
    "NgsSettings",
    "UnmarkedDuplicates",
    "call_hotspot",
    "duplicate_notices",
    "excludes",
    "k_and_power",
    "shows",
    "summarize_sample",
]


@dataclass(frozen=True)
class Background:
    """The background error rate e used for one hotspot, and where it came from."""

    error_rate: float
    source: str
    is_default: bool


@dataclass(frozen=True)
class NgsSettings:
    """Every number the NGS rule uses; validated on creation (ConfigError names the option)."""

    min_allele_fraction: float = DEFAULT_MIN_ALLELE_FRACTION
    alpha: float = DEFAULT_ALPHA
    k_min: int = DEFAULT_K_MIN
    power: float = REQUIRED_POWER
    # how BAM/CRAM reads are counted; its ``umi`` (depths are UMI molecules) is the run's, VCFs'
    # depths included
    reads: ReadOptions = field(default_factory=ReadOptions)
    background_error: float | None = None  # --background-error: overrides the default
    pon_error_rates: Mapping[str, float] = field(default_factory=dict)  # hotspot -> e (upper)
    pon_name: str = ""
    pon: PanelOfNormals | None = None  # the PoN itself, to check it fits each sample's counts

    def __post_init__(self) -> None:
        fraction = self.min_allele_fraction
        if not 0.0 < fraction < 1.0:
            raise ConfigError(
                f"--min-allele-fraction {fraction} is not a fraction between 0 and 1 "
                "(0.002 means 0.2 %)"
            )
        if self.background_error is not None and not 0.0 < self.background_error < fraction:
            raise ConfigError(
                f"--background-error {self.background_error} must be above 0 and below "
                f"--min-allele-fraction {fraction}: a background at or above the reportable "
                "fraction makes every call meaningless"
            )
        if not 0.0 < self.alpha < 1.0 or self.k_min < 1 or not 0.5 <= self.power < 1.0:
            raise ConfigError("alpha, k_min and power must be 0<alpha<1, k_min>=1, 0.5<=power<1")
        for name, rate in self.pon_error_rates.items():
            if not 0.0 < rate < 1.0:
                raise ConfigError(f"{self.pon_name}: background {rate} for {name} is not in (0, 1)")

    @property
    def umi(self) -> bool:
        """Depths are UMI molecules (--umi): the reads' ``umi``, the one place it is set."""
        return self.reads.umi

    @property
    def default_background(self) -> float:
        return UMI_BACKGROUND_ERROR if self.umi else READ_BACKGROUND_ERROR

    @property
    def depth_unit(self) -> str:
        return "molecules (--umi)" if self.umi else "reads"

    def background(self, hotspot: str) -> Background:
        """e for one hotspot: the PoN upper bound, else --background-error, else the default."""
        if hotspot in self.pon_error_rates:
            source = f"panel of normals {self.pon_name} (one-sided 95 % upper bound)"
            return Background(self.pon_error_rates[hotspot], source, False)
        if self.background_error is not None:
            return Background(self.background_error, "--background-error", False)
        kind = "UMI consensus" if self.umi else "read-level"
        return Background(self.default_background, f"default {kind} background", True)

    def thresholds(self, panel: Panel) -> dict[str, Any]:
        """Every number used, for the report's ``thresholds``."""
        backgrounds = {h.name: self.background(h.name) for h in panel}
        return {
            "min_allele_fraction": self.min_allele_fraction,
            "alpha": self.alpha,
            "k_min": self.k_min,
            "required_power": self.power,
            "k_required": "max(k_min, smallest k with P(Binomial(n, e) >= k) <= alpha)",
            "umi": self.umi,
            "depth_unit": self.depth_unit,
            "background_error_default": self.default_background,
            "background_error_option": self.background_error,
            "background_error": {name: b.error_rate for name, b in backgrounds.items()},
            "background_source": {name: b.source for name, b in backgrounds.items()},
        }


def k_and_power(n: int, error_rate: float, settings: NgsSettings) -> tuple[int, float]:
    """k_req(n), the fewest alt observations that are significant at depth n, and the power to
    see the reportable fraction there: what every claim at depth n rests on.

    >>> k_and_power(12_000, 5e-4, NgsSettings())[0]
    16
    """
    k = k_required(n, error_rate, settings.alpha, settings.k_min)
    return k, detection_power(n, k, settings.min_allele_fraction)


def shows(alt_count: int, k: int) -> bool:
    """The alt count reaches k_req: significant evidence of the allele. A DETECTED needs it of
    the certain count of a range, a NOT_DETECTED its absence in the possible one."""
    return alt_count >= k


def excludes(alt_count: int, k: int, power: float, required_power: float) -> bool:
    """The allele is excluded: the alt count is below k_req at a depth with the required power
    (NOT_DETECTED's test, made on the possible count of a range)."""
    return not shows(alt_count, k) and power >= required_power


_UNCERTAIN = (Reason.PHASE_UNKNOWN, Reason.ALLELE_NOT_REPORTED, Reason.UNMARKED_DUPLICATES)


# The exact tails are bisected; the 11 hotspots of a sample mostly share (x, n), so cache them.
_interval = lru_cache(maxsize=4096)(clopper_pearson)
_lod95 = lru_cache(maxsize=4096)(lod95)
_FORCE_CALL = "force-call the panel (esr1calls hotspots --format vcf; Mutect2 --alleles)"


def call_hotspot(
    hotspot: Hotspot,
    counts: AlleleCounts,
    settings: NgsSettings,
    *,
    sample_id: str,
    alt_count_range: tuple[int, int] | None = None,
    reasons: Iterable[Reason] = (),
    details: Mapping[str, Any] | None = None,
) -> Call:
    """Apply the 0.2 % rule to one hotspot's evidence.

    Args:
        counts: x (``alt_count``) and n (``depth``); ``depth is None`` means no depth source.
        alt_count_range: (certain, possible) alt count when x is not known exactly.
        reasons: flags from the reader (OTHER_CHANGE_IN_CODON; PHASE_UNKNOWN or
            ALLELE_NOT_REPORTED, which explain a range or an unknown x).
        details: reader facts copied into the call's ``evidence``.
    """
    given = list(dict.fromkeys(reasons))
    background = settings.background(hotspot.name)
    f_star = settings.min_allele_fraction
    n = counts.depth
    evidence: dict[str, Any] = {
        "source": counts.source,
        "place": counts.place,
        "fields": dict(counts.fields),
        **(details or {}),
        "filters": list(counts.filters),
        "background_error": background.error_rate,
        "background_source": background.source,
        "min_allele_fraction": f_star,
        "alpha": settings.alpha,
        "k_min": settings.k_min,
    }
    if counts.alt_forward is not None and counts.alt_reverse is not None:
        evidence["alt_strands"] = {"forward": counts.alt_forward, "reverse": counts.alt_reverse}
    if counts.excluded_alt:
        evidence["excluded_reads_showing_allele"] = counts.excluded_alt
    from_reads = _from_reads(counts)
    if n is None or n <= 0:
        keep = [r for r in given if r is Reason.OTHER_CHANGE_IN_CODON]
        missing = (
            "no usable read covers this codon (evidence.codon lists the excluded and unusable "
            "reads): check that the capture covers it and the read filters"
            if from_reads
            else f"no record, reference row or gVCF block covers this hotspot: {_FORCE_CALL} or "
            "supply the BAM"
        )
        return Call(
            sample_id, hotspot.name, Method.NGS, CallStatus.INDETERMINATE,
            (Reason.NO_COVERAGE, *keep), hgvs_c=hotspot.hgvs_c, hgvs_p=hotspot.hgvs_p,
            action=missing, depth=n, evidence=evidence,
        )  # fmt: skip
    k, power = k_and_power(n, background.error_rate, settings)
    limit = _lod95(n, k, settings.power)
    evidence.update({"k_required": k, "power": power, "lod95": limit})
    if counts.alt_count is not None and counts.alt_count > n:
        raise ValueError(f"{hotspot.name}: alt count {counts.alt_count} exceeds depth {n}")
    low: int | None = None
    high: int | None = None
    if alt_count_range is not None:
        low, high = (min(bound, n) for bound in alt_count_range)
    elif counts.alt_count is not None:
        low = high = counts.alt_count
    kinds = {name: classify_filter(name) for name in counts.filters}
    artefacts = [name for name, (kind, _) in kinds.items() if kind is FilterKind.ARTEFACT]
    benign = [name for name, (kind, _) in kinds.items() if kind is FilterKind.BENIGN]
    if kinds:
        evidence["filter_kinds"] = {name: kind.value for name, (kind, _) in kinds.items()}
    uncertain = next((r for r in given if r in _UNCERTAIN), Reason.ALLELE_NOT_REPORTED)
    one_strand = (
        counts.alt_forward is not None
        and counts.alt_reverse is not None
        and min(counts.alt_forward, counts.alt_reverse) == 0
    )
    status = CallStatus.INDETERMINATE
    primary: list[Reason] = []
    if low is None or high is None:
        primary = [Reason.ALLELE_NOT_REPORTED]
        if power < settings.power:
            primary.append(Reason.INSUFFICIENT_DEPTH)
    elif shows(low, k):
        if artefacts:
            primary = [Reason.ARTEFACT_FILTER]
        elif one_strand:
            primary = [Reason.STRAND_BIAS]
        elif low / n >= f_star:
            status = CallStatus.DETECTED
        elif high / n < f_star:
            primary = [Reason.LOW_LEVEL]
        else:
            primary = [uncertain]
        if primary and primary[0] is not Reason.LOW_LEVEL and high / n < f_star:
            primary.append(Reason.LOW_LEVEL)
    elif not shows(high, k):
        if artefacts:
            primary = [Reason.ARTEFACT_FILTER]
        elif shows(high + counts.excluded_alt, k):  # high alone does not: the excluded reach it
            # reads showing the allele were left out for quality: together they reach k_req
            primary = [Reason.LOW_QUALITY_SUPPORT]
        elif excludes(high, k, power, settings.power):
            status = CallStatus.NOT_DETECTED
        else:
            primary = [Reason.INSUFFICIENT_DEPTH]
    else:
        primary = [uncertain] + ([Reason.ARTEFACT_FILTER] if artefacts else [])
    extra: list[Reason] = [r for r in given if r is Reason.OTHER_CHANGE_IN_CODON]
    if benign and Reason.ARTEFACT_FILTER not in primary:
        extra.append(Reason.CALLER_FILTER)
    if background.is_default:
        extra.append(Reason.DEFAULT_BACKGROUND)
    all_reasons = tuple(dict.fromkeys([*primary, *extra]))
    x = counts.alt_count
    fraction = None if x is None else x / n
    interval = None
    if high is not None:
        interval = (_interval(low or 0, n)[0], _interval(high, n)[1])
    action: str | None = None
    if status is CallStatus.INDETERMINATE:
        action = _action(primary[0], n=n, k=k, limit=limit, low=low, high=high,
                         f_star=f_star, artefacts=artefacts, from_reads=from_reads)  # fmt: skip
    return Call(
        sample_id,
        hotspot.name,
        Method.NGS,
        status,
        all_reasons,
        hgvs_c=hotspot.hgvs_c,
        hgvs_p=hotspot.hgvs_p,
        action=action,
        allele_fraction=fraction,
        allele_fraction_ci95=interval,
        alt_count=x,
        depth=n,
        lod95=limit,
        evidence=evidence,
    )


def _lod_text(n: int, k: int, limit: float | None) -> str:
    if limit is None:
        return f"n={n:,} is below the {k} alt observations a call needs"
    return f"lod95 {short_percent(limit)} at n={n:,}"


def _action(
    reason: Reason,
    *,
    n: int,
    k: int,
    limit: float | None,
    low: int | None,
    high: int | None,
    f_star: float,
    artefacts: Sequence[str],
    from_reads: bool,
) -> str:
    if reason is Reason.INSUFFICIENT_DEPTH:
        if from_reads:
            return f"sequence deeper, or from more input DNA: {_lod_text(n, k, limit)}"
        return f"sequence deeper or supply the BAM: {_lod_text(n, k, limit)}"
    if reason is Reason.LOW_LEVEL:
        return (
            f"review: {low} alt observations are significant (k_req {k}) but below the "
            f"{exact_percent(f_star)} reportable fraction; re-test or report as below the cut-off"
        )
    if reason is Reason.ARTEFACT_FILTER:
        return (
            f"review the caller's {', '.join(artefacts)} filter: a flagged record supports "
            "neither a detection nor an exclusion"
        )
    if reason is Reason.LOW_QUALITY_SUPPORT:
        return (
            "review the reads: reads below the base- or mapping-quality floor show this allele "
            f"(evidence.excluded_reads_showing_allele; k_req {k}); re-sequence or inspect them"
        )
    if reason is Reason.STRAND_BIAS:
        return "review the reads: every alt read is on one strand"
    if reason is Reason.PHASE_UNKNOWN:
        return (
            f"supply the BAM so the changes in this codon can be phased "
            f"(alt count between {low} and {high}, k_req {k})"
        )
    return f"{_FORCE_CALL} or supply the BAM ({_lod_text(n, k, limit)})"


def _from_reads(counts: AlleleCounts) -> bool:
    """x and n were counted from reads (a BAM/CRAM, alone or with its VCF)."""
    return counts.source.split("+")[0] in ("bam", "cram")


_REASON_WORDS = {
    Reason.NO_COVERAGE: "no coverage",
    Reason.INSUFFICIENT_DEPTH: "insufficient depth",
    Reason.ARTEFACT_FILTER: "artefact filter",
    Reason.LOW_QUALITY_SUPPORT: "low-quality support",
    Reason.STRAND_BIAS: "strand bias",
    Reason.PHASE_UNKNOWN: "phase unknown",
    Reason.ALLELE_NOT_REPORTED: "allele not reported",
    Reason.SOURCES_DISAGREE: "sources disagree",
    Reason.UNMARKED_DUPLICATES: "duplicates not marked",
}


def summarize_sample(
    calls: Sequence[Call], status: SampleStatus, *, min_allele_fraction: float | None = None
) -> str:
    """One plain sentence for a sample; ``min_allele_fraction`` is the reportable fraction the
    calls were made at (LOW_LEVEL reads "below" it; without it, "below the reportable fraction").

    >>> c = Call("S", "D538G", Method.NGS, CallStatus.NOT_DETECTED)
    >>> summarize_sample([c], SampleStatus.NEGATIVE)
    'No ESR1 hotspot mutation detected: all 1 hotspots excluded at the reportable fraction.'
    >>> low = Call("S", "D538G", Method.NGS, CallStatus.INDETERMINATE, (Reason.LOW_LEVEL,))
    >>> text = summarize_sample([low], SampleStatus.INDETERMINATE, min_allele_fraction=0.0025)
    >>> text[text.index("("):]
    '(below 0.25 % 1), so an ESR1 mutation is not excluded.'
    """
    total = len(calls)
    detected = [c for c in calls if c.status is CallStatus.DETECTED]
    indeterminate = [c for c in calls if c.status is CallStatus.INDETERMINATE]
    not_detected = sum(c.status is CallStatus.NOT_DETECTED for c in calls)
    words = {
        **_REASON_WORDS,
        Reason.LOW_LEVEL: "below the reportable fraction"
        if min_allele_fraction is None
        else f"below {exact_percent(min_allele_fraction)}",
    }
    why = Counter(
        words.get(c.reasons[0], c.reasons[0].value.lower()) if c.reasons else "other"
        for c in indeterminate
    )
    why_text = ", ".join(f"{word} {count}" for word, count in sorted(why.items()))
    if detected:
        names = [
            f"{c.hotspot} ({short_percent(c.allele_fraction)})" if c.allele_fraction else c.hotspot
            for c in detected
        ]
        found = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        rest = f"{not_detected} not detected"
        if indeterminate:
            rest += f", {len(indeterminate)} indeterminate ({why_text})"
        return f"ESR1 {found} detected; of the other hotspots {rest}."
    if status is SampleStatus.NEGATIVE:
        return (
            f"No ESR1 hotspot mutation detected: all {total} hotspots excluded at the "
            "reportable fraction."
        )
    return (
        f"No ESR1 hotspot mutation detected, but {len(indeterminate)} of {total} hotspots are "
        f"indeterminate ({why_text}), so an ESR1 mutation is not excluded."
    )


# ------------------------------------------------------------------ unmarked duplicates
#
# Reads whose duplicates were never marked (reads.py, rule 7) may be many reads of one molecule:
# n overstates the molecules, and x can be one mutant molecule read many times.
#
# * Without a choice, a NOT_DETECTED is INDETERMINATE UNMARKED_DUPLICATES (it would rest on reads,
#   not molecules). A DETECTED stands only if the alt fragments at distinct coordinates (a lower
#   bound on alt molecules: reads of one molecule share its coordinates) alone reach k_req(n) and
#   f* at the read depth n: molecules are at most n and k_req grows with n, so the molecule counts
#   pass too. Otherwise it is INDETERMINATE UNMARKED_DUPLICATES. Any other INDETERMINATE call keeps
#   its reason and is flagged. Below DUPLICATES_EXPECTED_FRAGMENTS (state NOT_PRESUMED), only the
#   DETECTED check applies.
# * With the DNA input (--input-ng / --input-copies, C haploid genome copies), n is the molecules
#   n reads of C copies are expected to show, C(1 - e^(-n/C)) (at most n and C), and x is a range
#   at that n: the reads' alt fraction applied to the molecules (x·n_mol/n, rounded out), raised
#   to the distinct alt coordinates outside amplicon data (a certain lower bound). A status is
#   claimed only if it holds over the whole range, else INDETERMINATE UNMARKED_DUPLICATES.


class UnmarkedDuplicates:
    """The unmarked-duplicates rule for one hotspot's read counts (the comment above)."""

    def __init__(
        self,
        hotspot: str,
        counts: AlleleCounts,
        codon: CodonEvidence,
        duplicates: Duplicates,
        genome_copies: float | None,
    ) -> None:
        self.hotspot = hotspot
        self.counts = counts
        self.duplicates = duplicates
        self.genome_copies = genome_copies
        coordinates = codon.coordinates
        self.alt_distinct = 0 if coordinates is None else coordinates.alt_distinct.get(hotspot, 0)

    def evidence(self) -> dict[str, Any]:
        found: dict[str, Any] = {
            **self.duplicates.as_dict(),
            "alt_distinct_coordinates": self.alt_distinct,
            "reads": {"alt_count": self.counts.alt_count, "depth": self.counts.depth},
        }
        if self.genome_copies is not None:
            molecules, alt_range = self.in_molecules()
            found.update(
                genome_copies=round(self.genome_copies, 1),
                molecules=molecules.depth,
                alt_molecules=list(alt_range),
                rule="n = C(1 - e^(-n_reads/C)); x = x_reads·n/n_reads, rounded out"
                + ("" if self.duplicates.amplicon else ", at least the distinct alt coordinates"),
            )
        return found

    def in_molecules(self) -> tuple[AlleleCounts, tuple[int, int]]:
        """The counts in molecules, with the range of alt molecules, given the DNA input."""
        copies = self.genome_copies
        assert copies is not None  # only called with --input-ng or --input-copies
        n_reads = self.counts.depth or 0
        x_reads = self.counts.alt_count or 0
        n = min(n_reads, max(1, math.floor(-copies * math.expm1(-n_reads / copies))))
        scale = n / n_reads if n_reads else 0.0
        estimate = x_reads * scale
        low, high = math.floor(estimate + 1e-9), math.ceil(estimate - 1e-9)
        if not self.duplicates.amplicon:
            low = max(low, min(self.alt_distinct, n))
            high = max(high, low)
        high = min(high, n)
        molecules = replace(
            self.counts,
            alt_count=min(max(round(estimate), low), high),
            depth=n,
            excluded_alt=math.ceil(self.counts.excluded_alt * scale - 1e-9),
        )
        return molecules, (low, high)

    def _why(self, file_name: str) -> str:
        return (
            f"duplicates were never marked in {file_name} (no marking program in @PG, no read "
            f"flagged duplicate): {_duplicate_advice(self.duplicates)}"
        )

    def without_input(self, call: Call, settings: NgsSettings, file_name: str) -> Call:
        """A call made from the reads, judged again knowing duplicates may fill them."""
        evidence = dict(call.evidence)
        n = call.depth or 0
        unmarked = self.duplicates.state is DuplicateState.UNMARKED
        if call.status is CallStatus.DETECTED:
            k = int(evidence["k_required"])
            distinct = self.alt_distinct
            if distinct >= k and distinct / n >= settings.min_allele_fraction:
                evidence["duplicates"] = {
                    **evidence["duplicates"],
                    "detected": f"stands: {distinct} alt fragments at distinct coordinates reach "
                    f"k_req {k} and the reportable fraction at n={n:,}",
                }
                flag = (Reason.UNMARKED_DUPLICATES,) if unmarked else ()
                return replace(call, reasons=(*call.reasons, *flag), evidence=evidence)
            evidence["duplicates"] = {
                **evidence["duplicates"],
                "detected": f"not claimed: only {distinct} alt fragments at distinct coordinates "
                f"(k_req {k})",
            }
            return self._indeterminate(call, evidence, file_name)
        if not unmarked:
            return call
        if call.status is CallStatus.NOT_DETECTED:
            return self._indeterminate(call, evidence, file_name)
        if call.status is CallStatus.INDETERMINATE and Reason.NO_COVERAGE not in call.reasons:
            return replace(
                call,
                reasons=(*call.reasons, Reason.UNMARKED_DUPLICATES),
                action=f"{call.action}; and {self._why(file_name)}",
            )
        return call

    def _indeterminate(self, call: Call, evidence: dict[str, Any], file_name: str) -> Call:
        return replace(
            call,
            status=CallStatus.INDETERMINATE,
            reasons=(Reason.UNMARKED_DUPLICATES, *call.reasons),
            action=self._why(file_name),
            lod95=None,  # the molecules, not the reads, would set it
            evidence=evidence,
        )

    def range_action(self, call: Call) -> str:
        low, high = self.in_molecules()[1]
        return (
            f"the reads allow {low} to {high} alt molecules among {call.depth:,} "
            f"(k_req {call.evidence['k_required']}), so duplicates decide: mark them or use UMIs"
            if not self.duplicates.amplicon
            else f"the reads allow {low} to {high} alt molecules among {call.depth:,} (k_req "
            f"{call.evidence['k_required']}): use UMIs, or re-test with more DNA"
        )


def _duplicate_advice(duplicates: Duplicates) -> str:
    """Which of the user's choices fits a BAM whose duplicates were never marked."""
    tags = [t for t in duplicates.molecule_tags if t in ("MI", "UG")]
    if tags or duplicates.grouping:
        what = f"carry UMI molecule tags ({', '.join(tags)})" if tags else "are grouped by UMI"
        return f"the reads {what}: count molecules with --umi"
    if "cD" in duplicates.molecule_tags:  # consensus reads (fgbio) whose MI and @PG are gone
        return (
            "the reads carry consensus tags (cD): each is a molecule already; say so with "
            "--reads-are-molecules"
        )
    raw = [t for t in duplicates.molecule_tags if t in ("RX", "BX")]
    if raw:
        return (
            f"the reads carry UMIs ({', '.join(raw)}) not grouped into molecules: group them "
            "(fgbio GroupReadsByUmi or umi_tools group) and count molecules with --umi"
        )
    if duplicates.amplicon:
        return (
            "amplicon reads share their start and end, so duplicates cannot be marked by "
            "position: give the DNA input (--input-ng NG or --input-copies N) or use UMIs"
        )
    return (
        "mark duplicates (samtools markdup or Picard MarkDuplicates) and run again, or give the "
        "DNA input (--input-ng NG or --input-copies N); if the reads are already molecules (a "
        "consensus BAM whose @PG lines were stripped), say so with --reads-are-molecules"
    )


def duplicate_notices(reads: ReadCounts, options: ReadOptions) -> list[str]:
    """What a report must say about one BAM/CRAM's duplicates and the choice made for them."""
    duplicates = reads.duplicates
    name = Path(reads.path).name
    copies = options.genome_copies
    if duplicates is None:
        return []
    given = (
        f"--input-ng {options.input_ng:g}"
        if options.input_ng is not None
        else f"--input-copies {options.input_copies or 0:g}"
    )
    if copies is not None and not duplicates.unmarked:
        return [f"{name}: {given} is not used: n already counts molecules ({duplicates.state})"]
    if duplicates.state is DuplicateState.DECLARED:
        return [
            f"{name}: no duplicate marking found; the reads are taken as molecules, as "
            "--reads-are-molecules says (n counts them)"
        ]
    if not duplicates.unmarked:
        return []
    if copies is not None:
        return [
            f"{name}: duplicates were never marked; n is capped at the molecules {copies:,.0f} "
            f"haploid genome copies ({given}) can give at each codon, and x is scaled with it"
        ]
    if duplicates.state is DuplicateState.NOT_PRESUMED:
        return []
    return [
        f"{name}: duplicates were never marked (no MarkDuplicates, markdup or consensus step in "
        f"the @PG header lines, and no read flagged duplicate among up to "
        f"{duplicates.deepest:,} fragments at a codon), so n counts reads, not molecules: no "
        f"hotspot is NOT_DETECTED from these reads. Fix: {_duplicate_advice(duplicates)}"
    ]
