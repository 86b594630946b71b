"""The call model: enums for closed sets and frozen records that leave a module.

Everything a report says is built from these types; ``reports/`` turns them into files.
Fractions are fractions (0.002), never percents; coordinates are 1-based, VCF style.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from .defaults import DEFAULT_MIN_ALLELE_FRACTION, DEFAULT_REQUIRED_POWER
from .errors import ConfigError
from .text import exact_percent

__all__ = [
    "DEFAULT_MIN_ALLELE_FRACTION",
    "DEFAULT_REQUIRED_POWER",
    "AlleleCounts",
    "Build",
    "Call",
    "CallStatus",
    "Dropped",
    "InputFile",
    "Method",
    "QcCheck",
    "Reason",
    "RunResult",
    "SampleReport",
    "SampleStatus",
    "WellRole",
    "derive_sample_status",
    "parse_build",
    "reportable_fraction",
    "required_power",
    "sample_status_of",
]


class Build(StrEnum):
    """Reference genome build. ESR1 lies on chr6, + strand, in both."""

    GRCH37 = "GRCh37"
    GRCH38 = "GRCh38"

    @property
    def chr6_length(self) -> int:
        return _CHR6_LENGTH[self]

    @classmethod
    def from_chr6_length(cls, length: int) -> Build | None:
        """The build whose chr6 has this length; None for any other length.

        >>> Build.from_chr6_length(170_805_979), Build.from_chr6_length(1_000)
        (<Build.GRCH38: 'GRCh38'>, None)
        """
        return next((build for build in cls if build.chr6_length == length), None)

    @classmethod
    def parse(cls, text: str) -> Build:
        """Accept the usual spellings: GRCh38, hg38, b38, 38; GRCh37, hg19, b37, 37.

        >>> Build.parse("hg19")
        <Build.GRCH37: 'GRCh37'>
        """
        key = text.strip().lower()
        for build, aliases in _BUILD_ALIASES.items():
            if key in aliases:
                return build
        raise ValueError(f"unknown genome build {text!r}; use GRCh37 or GRCh38")


def parse_build(build: Build | str | None) -> Build | None:
    """A ``--build`` value given as a Build or any spelling :meth:`Build.parse` accepts.

    Raises ConfigError for an unknown build (a user's option, not a bug).

    >>> parse_build("hg38"), parse_build(None)
    (<Build.GRCH38: 'GRCh38'>, None)
    """
    if build is None or isinstance(build, Build):
        return build
    try:
        return Build.parse(build)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc


_CHR6_LENGTH = {Build.GRCH37: 171_115_067, Build.GRCH38: 170_805_979}
_BUILD_ALIASES = {
    Build.GRCH37: {"grch37", "hg19", "b37", "37", "hs37d5", "grch37.p13"},
    Build.GRCH38: {"grch38", "hg38", "b38", "38", "grch38.p14", "hs38"},
}


class Method(StrEnum):
    PCR = "PCR"
    NGS = "NGS"
    DPCR = "dPCR"  # digital PCR: partition counts (docs/dpcr.md)


class CallStatus(StrEnum):
    """One status per (sample, hotspot); the value is exactly what appears in reports."""

    DETECTED = "DETECTED"
    NOT_DETECTED = "NOT_DETECTED"  # a claim: 0.2 % would have been seen with >= 95 % probability
    INDETERMINATE = "INDETERMINATE"  # neither can be claimed; reasons say why
    INVALID = "INVALID"  # a control or QC rule failed; repeat

    @property
    def fhir_value(self) -> str:
        return _FHIR_VALUE[self]


_FHIR_VALUE = {
    CallStatus.DETECTED: "Present",
    CallStatus.NOT_DETECTED: "Absent",
    CallStatus.INDETERMINATE: "Indeterminate",
    CallStatus.INVALID: "No call",
}


class SampleStatus(StrEnum):
    POSITIVE = "POSITIVE"  # any hotspot DETECTED
    NEGATIVE = "NEGATIVE"  # every hotspot NOT_DETECTED
    INDETERMINATE = "INDETERMINATE"
    INVALID = "INVALID"  # the run or the sample failed QC


class WellRole(StrEnum):
    """Role of a well in a PCR plate map. Roles are never guessed from positions."""

    SAMPLE = "SAMPLE"
    PC = "PC"
    NTC = "NTC"
    WT = "WT"
    EMPTY = "EMPTY"


class Reason(StrEnum):
    """Reason codes attached to calls; ``description`` is the sentence shown to people."""

    # run level (PCR)
    PC_FAIL = "PC_FAIL"
    NTC_AMPLIFIED = "NTC_AMPLIFIED"
    WT_CTRL_POSITIVE = "WT_CTRL_POSITIVE"
    MISSING_CONTROL = "MISSING_CONTROL"
    CONTROL_IC_FAIL = "CONTROL_IC_FAIL"
    THRESHOLD_MISMATCH = "THRESHOLD_MISMATCH"
    PASSIVE_REF_CONFLICT = "PASSIVE_REF_CONFLICT"
    # sample level (PCR)
    REF_NO_AMP = "REF_NO_AMP"
    REF_CT_LOW = "REF_CT_LOW"
    REF_CT_HIGH = "REF_CT_HIGH"
    LOW_INPUT = "LOW_INPUT"
    MISSING_WELL = "MISSING_WELL"
    MAP_EXPORT_MISMATCH = "MAP_EXPORT_MISMATCH"
    # target level (PCR)
    IC_FAIL = "IC_FAIL"
    IC_FAIL_POSITIVE = "IC_FAIL_POSITIVE"
    IC_DELAYED = "IC_DELAYED"
    EQUIVOCAL = "EQUIVOCAL"
    POSSIBLE_CROSS_REACTIVITY = "POSSIBLE_CROSS_REACTIVITY"
    SAME_CODON_MULTIPLE = "SAME_CODON_MULTIPLE"
    POSSIBLE_CROSSTALK = "POSSIBLE_CROSSTALK"
    DCT_NEGATIVE = "DCT_NEGATIVE"
    MUT_CT_EARLY = "MUT_CT_EARLY"
    REPLICATE_DISCORDANT = "REPLICATE_DISCORDANT"
    NOT_TESTED = "NOT_TESTED"
    # NGS
    NO_COVERAGE = "NO_COVERAGE"
    INSUFFICIENT_DEPTH = "INSUFFICIENT_DEPTH"
    LOW_LEVEL = "LOW_LEVEL"
    ARTEFACT_FILTER = "ARTEFACT_FILTER"
    CALLER_FILTER = "CALLER_FILTER"
    DEFAULT_BACKGROUND = "DEFAULT_BACKGROUND"
    STRAND_BIAS = "STRAND_BIAS"
    OTHER_CHANGE_IN_CODON = "OTHER_CHANGE_IN_CODON"
    PHASE_UNKNOWN = "PHASE_UNKNOWN"
    ALLELE_NOT_REPORTED = "ALLELE_NOT_REPORTED"
    SOURCES_DISAGREE = "SOURCES_DISAGREE"
    LOW_QUALITY_SUPPORT = "LOW_QUALITY_SUPPORT"
    UNMARKED_DUPLICATES = "UNMARKED_DUPLICATES"
    # digital PCR
    LOW_PARTITIONS = "LOW_PARTITIONS"
    WT_BACKGROUND_HIGH = "WT_BACKGROUND_HIGH"
    ALLELE_NOT_RESOLVED = "ALLELE_NOT_RESOLVED"
    NO_PARTITION_COMBINATIONS = "NO_PARTITION_COMBINATIONS"
    PARTITIONS_SATURATED = "PARTITIONS_SATURATED"

    @property
    def description(self) -> str:
        """The sentence without any run's numbers ("the reportable fraction"); people are shown
        :meth:`describe`, which names the numbers the run used."""
        return _REASON_TEXT[self]

    def describe(self, thresholds: Mapping[str, Any] | None) -> str:
        """The sentence for people, with the numbers of the run that made the call.

        ``thresholds`` is that run's ``thresholds`` block (calls.json ``run.thresholds``, or a
        cohort source's): a reason whose sentence holds a number takes it from there, so a
        report re-rendered from calls.json says what the run that wrote it said.

        >>> Reason.LOW_LEVEL.describe({"min_allele_fraction": 0.0025})
        'significant evidence of the mutation, below the 0.25 % reportable fraction'
        >>> Reason.LOW_LEVEL.describe({})
        'significant evidence of the mutation, below the reportable fraction'
        """
        flag = _FLAG_TEXT.get(self)
        if flag is not None:  # a PCR flag's limit, from the kit's [flags]
            key, words = flag
            limit = _flag_limit(thresholds or {}, key)
            return self.description if limit is None else words.format(limit=limit)
        template = _NUMBERED_TEXT.get(self)
        if template is None:
            return _REASON_TEXT[self]
        fraction = reportable_fraction(thresholds or {})
        if fraction is None:
            return self.description
        return template.format(
            fraction=exact_percent(fraction),
            power=exact_percent(required_power(thresholds or {})),
        )


_REASON_TEXT = {
    Reason.PC_FAIL: "positive control Ct outside its acceptance window; repeat the run",
    Reason.NTC_AMPLIFIED: "no-template control amplified (contamination); repeat the run",
    Reason.WT_CTRL_POSITIVE: "wild-type control called a mutation; repeat the run",
    Reason.MISSING_CONTROL: "a required control well is missing from the plate; repeat the run",
    Reason.CONTROL_IC_FAIL: "internal control failed in a control well, so it proves nothing",
    Reason.THRESHOLD_MISMATCH: "instrument threshold differs from the kit definition",
    Reason.PASSIVE_REF_CONFLICT: (
        "the run was normalised to another passive reference dye than the kit's (a reporter "
        "dye used as passive reference distorts every channel's Ct)"
    ),
    Reason.REF_NO_AMP: "reference (total ESR1) assay did not amplify; re-extract",
    Reason.REF_CT_LOW: "reference Ct below its window (too much DNA); dilute and re-test",
    Reason.REF_CT_HIGH: "reference Ct above its window (too little DNA); re-extract",
    Reason.LOW_INPUT: (
        "DNA input below that needed for the limit of detection at the reportable fraction"
    ),
    Reason.MISSING_WELL: "a well this call needs is missing from the export",
    Reason.MAP_EXPORT_MISMATCH: (
        "the plate map and the export's own sample or target names disagree for a well this "
        "call needs"
    ),
    Reason.IC_FAIL: "internal control failed in a negative well (inhibition or PCR failure)",
    Reason.IC_FAIL_POSITIVE: "internal control failed but the mutation signal proves amplification",
    Reason.IC_DELAYED: "internal control later than expected (possible inhibition)",
    Reason.EQUIVOCAL: "delta-Ct in the kit's equivocal band; re-test",
    Reason.POSSIBLE_CROSS_REACTIVITY: (
        "far weaker than a same-codon positive: may be cross-reactivity"
    ),
    Reason.SAME_CODON_MULTIPLE: "several mutations detected in the same codon group",
    Reason.POSSIBLE_CROSSTALK: "late signal next to a strong signal in an adjacent dye channel",
    Reason.DCT_NEGATIVE: (
        "delta-Ct below the kit's limit: check for a swapped well or amplification"
    ),
    Reason.MUT_CT_EARLY: "mutation Ct unusually early: check for positive-control contamination",
    Reason.REPLICATE_DISCORDANT: "replicates disagree",
    Reason.NOT_TESTED: "the kit or input does not test this hotspot",
    Reason.NO_COVERAGE: "no depth information at this hotspot in the inputs",
    Reason.INSUFFICIENT_DEPTH: (
        "depth too low to exclude the reportable fraction with the required probability"
    ),
    Reason.LOW_LEVEL: "significant evidence of the mutation, below the reportable fraction",
    Reason.ARTEFACT_FILTER: "the caller flagged the variant as a likely artefact",
    Reason.CALLER_FILTER: "the caller filtered the record for a reason that does not disqualify it",
    Reason.DEFAULT_BACKGROUND: (
        "no panel of normals (NGS) or usable wild-type control wells (dPCR): a default "
        "background error rate was used"
    ),
    Reason.STRAND_BIAS: "alt reads on one strand only",
    Reason.OTHER_CHANGE_IN_CODON: "a different change at this codon was observed",
    Reason.PHASE_UNKNOWN: (
        "several changes in this codon without phase: which amino acid they make is uncertain"
    ),
    Reason.ALLELE_NOT_REPORTED: (
        "depth is known here, but the caller does not report this allele at low fractions"
    ),
    Reason.SOURCES_DISAGREE: (
        "two sources of this sample's evidence disagree at this hotspot: the reads (BAM/CRAM) "
        "and the VCF, or two records of the VCF that list the same allele"
    ),
    Reason.LOW_QUALITY_SUPPORT: (
        "reads showing this allele were left out for low base or mapping quality, enough of "
        "them that it cannot be excluded"
    ),
    Reason.UNMARKED_DUPLICATES: (
        "duplicate reads were never marked, so the depth counts reads, not molecules"
    ),
    Reason.LOW_PARTITIONS: (
        "a well has fewer accepted partitions than the instrument's minimum; it is left out "
        "of its replicate sum"
    ),
    Reason.WT_BACKGROUND_HIGH: (
        "the wild-type controls show more mutant-positive partitions than the assay allows; "
        "repeat the assay"
    ),
    Reason.ALLELE_NOT_RESOLVED: (
        "the drop-off assay found a mutation in its region but cannot say which one; confirm "
        "by a specific assay or NGS"
    ),
    Reason.NO_PARTITION_COMBINATIONS: (
        "the export has no partition-combination counts, which a drop-off assay needs"
    ),
    Reason.PARTITIONS_SATURATED: (
        "every partition of a channel is positive, so its copies cannot be counted; dilute "
        "and re-test"
    ),
}

# the same sentences with the run's numbers: {fraction} is the reportable fraction, {power} the
# probability NOT_DETECTED requires; see Reason.describe
_NUMBERED_TEXT = {
    Reason.LOW_INPUT: "DNA input below that needed for the {fraction} limit of detection",
    Reason.INSUFFICIENT_DEPTH: "depth too low to exclude {fraction} with {power} probability",
    Reason.LOW_LEVEL: (
        "significant evidence of the mutation, below the {fraction} reportable fraction"
    ),
}


# reasons whose sentence names a limit of the kit's [flags] (run.thresholds.flags.<key>)
_FLAG_TEXT = {
    Reason.DCT_NEGATIVE: (
        "delta_ct_negative_below",
        "delta-Ct below {limit:g}: check for a swapped well or amplification",
    ),
}


def _flag_limit(thresholds: Mapping[str, Any], key: str) -> float | None:
    """A PCR flag's limit as the run recorded it, or None.

    >>> _flag_limit({"flags": {"delta_ct_negative_below": {"value": -1.5, "source": "x"}}},
    ...             "delta_ct_negative_below")
    -1.5
    >>> Reason.DCT_NEGATIVE.describe({"flags": {"delta_ct_negative_below": {"value": -1.0}}})
    'delta-Ct below -1: check for a swapped well or amplification'
    """
    flags = thresholds.get("flags")
    setting = flags.get(key) if isinstance(flags, Mapping) else None
    value = setting.get("value") if isinstance(setting, Mapping) else setting
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _fraction_setting(thresholds: Mapping[str, Any], key: str) -> float | None:
    value = thresholds.get(key)
    if isinstance(value, Mapping):  # a kit setting: {"value": v, "source": s}
        value = value.get("value")
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < 1:
        return float(value)
    return None


def reportable_fraction(thresholds: Mapping[str, Any]) -> float | None:
    """The reportable fraction a run used, from its thresholds block: NGS
    ``min_allele_fraction``, PCR ``reportable_fraction`` (the kit's). None when it recorded none.

    >>> reportable_fraction({"min_allele_fraction": 0.01}), reportable_fraction({})
    (0.01, None)
    """
    for key in ("min_allele_fraction", "reportable_fraction"):
        found = _fraction_setting(thresholds, key)
        if found is not None:
            return found
    return None


def required_power(thresholds: Mapping[str, Any]) -> float:
    """The probability of detection NOT_DETECTED and lod95 were computed at: the run's
    ``required_power`` (NGS), else 95 %, the definition of lod95 (PCR kits claim an LoD95)."""
    return _fraction_setting(thresholds, "required_power") or DEFAULT_REQUIRED_POWER


@dataclass(frozen=True)
class Call:
    """The decision for one (sample, hotspot)."""

    sample_id: str
    hotspot: str  # protein short form, e.g. "D538G"
    method: Method
    status: CallStatus
    reasons: tuple[Reason, ...] = ()
    hgvs_c: str = ""
    hgvs_p: str = ""
    action: str | None = None  # what the lab should do next, for INVALID/INDETERMINATE
    allele_fraction: float | None = None  # a fraction: 0.002, never 0.2
    allele_fraction_ci95: tuple[float, float] | None = None
    alt_count: int | None = None
    depth: int | None = None
    lod95: float | None = None  # achieved 95 % limit of detection, as a fraction
    delta_ct: float | None = None  # PCR only
    ct_mutation: float | None = None
    ct_reference: float | None = None
    ct_ic: float | None = None
    cutoff: float | None = None  # delta-Ct cut-off (PCR)
    evidence: Mapping[str, Any] = field(default_factory=dict)  # read-only by convention

    def __post_init__(self) -> None:
        if self.allele_fraction is not None and not 0.0 <= self.allele_fraction <= 1.0:
            raise ValueError(f"allele_fraction must be a fraction, got {self.allele_fraction}")


@dataclass(frozen=True)
class AlleleCounts:
    """What one NGS evidence source (a VCF record, a gVCF block, the reads) says about a hotspot.

    ``alt_count`` is x and ``depth`` is n of the NGS rule (docs/ngs.md, "The rule"; molecules
    with UMI data).
    ``depth is None`` means the source has no depth information at the hotspot: such a source can
    never support NOT_DETECTED. ``fields`` records which fields or rules produced x and n.
    """

    hotspot: str
    alt_count: int | None
    depth: int | None
    source: str  # "vcf", "vcf-block" (a gVCF reference block), "bam", "cram", "bam+vcf"...
    place: str = ""  # e.g. "tumour.vcf.gz, record chr6:152098791"
    fields: Mapping[str, str] = field(default_factory=dict)  # e.g. {"alt_count": "FORMAT/AD[1]"}
    filters: tuple[str, ...] = ()  # caller FILTER values (PASS excluded)
    alt_forward: int | None = None
    alt_reverse: int | None = None
    # reads (BAM/CRAM) that show this allele but fell below the base- or mapping-quality floor:
    # left out of x and n, yet enough of them make a NOT_DETECTED unsafe
    excluded_alt: int = 0


@dataclass(frozen=True)
class SampleReport:
    """All calls for one sample from one method, with its derived status and summary."""

    sample_id: str
    method: Method
    status: SampleStatus
    summary: str
    calls: tuple[Call, ...]
    source: str = ""  # the input(s) the sample came from
    details: Mapping[str, Any] = field(default_factory=dict)  # per-sample QC figures
    # who and when, for serial monitoring (plate map columns, --patient/--collected); None when
    # not given. ``collected`` is an ISO date, YYYY-MM-DD
    patient_id: str | None = None
    collected: str | None = None
    # what the DNA came from: "plasma", "tissue" or "other" (interpretation.Specimen); None when
    # not given (plate map/manifest column specimen, --specimen)
    specimen: str | None = None
    # NGS: the ctDNA-fraction proxy from the sample's other somatic variants (ngs/ctdna.py)
    ctdna: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class QcCheck:
    """One control or QC rule evaluated against its acceptance range (MIQE style)."""

    run_id: str
    check: str  # e.g. "PC", "NTC", "IC", "REF"
    subject: str  # e.g. "well A1 FAM (D538G)"
    value: float | str | None
    expected: str  # e.g. "26.0-30.0"
    passed: bool
    reason: Reason | None = None


@dataclass(frozen=True)
class Dropped:
    """An input row or record that was read but not used, and why."""

    source: str
    place: str
    reason: str


@dataclass(frozen=True)
class InputFile:
    path: str
    sha256: str
    format: str = ""


def derive_sample_status(calls: Iterable[Call], *, sample_invalid: bool = False) -> SampleStatus:
    """Sample status from its calls: any DETECTED wins; all NOT_DETECTED is NEGATIVE.

    >>> c = Call("S1", "D538G", Method.PCR, CallStatus.NOT_DETECTED)
    >>> derive_sample_status([c]).value
    'NEGATIVE'
    >>> derive_sample_status([]).value
    'INDETERMINATE'
    """
    return sample_status_of([c.status for c in calls], sample_invalid=sample_invalid)


def sample_status_of(
    statuses: Iterable[CallStatus], *, sample_invalid: bool = False
) -> SampleStatus:
    """The same rule on the call statuses alone (a reviewed sample's, after overrides).

    >>> sample_status_of([CallStatus.NOT_DETECTED, CallStatus.DETECTED]).value
    'POSITIVE'
    """
    statuses = list(statuses)
    if CallStatus.DETECTED in statuses:
        return SampleStatus.POSITIVE
    if sample_invalid or (statuses and all(s is CallStatus.INVALID for s in statuses)):
        return SampleStatus.INVALID
    if statuses and all(s is CallStatus.NOT_DETECTED for s in statuses):
        return SampleStatus.NEGATIVE
    return SampleStatus.INDETERMINATE


@dataclass(frozen=True)
class RunResult:
    """Everything one command produced, ready for ``report.write_reports``.

    ``panel``, ``kit`` and ``thresholds`` are plain mappings (already JSON-ready) so a report
    can be re-rendered from calls.json without the objects that made it.
    """

    samples: tuple[SampleReport, ...]
    inputs: tuple[InputFile, ...] = ()
    run_qc: tuple[QcCheck, ...] = ()
    dropped: tuple[Dropped, ...] = ()
    panel: Mapping[str, Any] = field(default_factory=dict)
    kit: Mapping[str, Any] | None = None
    thresholds: Mapping[str, Any] = field(default_factory=dict)
    notices: tuple[str, ...] = ()  # plain-language warnings every report must show
    plates: tuple[Mapping[str, Any], ...] = ()  # PCR plate layouts (wells, roles, Cts) for reports
