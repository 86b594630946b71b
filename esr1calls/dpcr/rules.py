"""The dPCR rules of docs/dpcr.md, pure: run and well QC in their order, then the call
of each sample × assay, then each hotspot's call (a specific assay decides its hotspot; a
drop-off assay's region call is inherited by the hotspots no specific assay decides).

Inputs are counts already read and mapped (:class:`WellCounts`); nothing here reads files.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..model import CallStatus, QcCheck, Reason, WellRole
from ..text import percent
from .assays import Assay, AssaySettings
from .partitions import (
    PartitionCounts,
    background_upper_bound,
    detection_power,
    estimate,
    fraction_lod95,
    required_mutant_partitions,
)

__all__ = [
    "REQUIRED_POWER",
    "RUN_REASON_ORDER",
    "AssayOutcome",
    "Background",
    "RuleOutcome",
    "WellCounts",
    "call_counts",
    "evaluate_assay",
    "evaluate_controls",
    "inherit",
]

REQUIRED_POWER = 0.95  # NOT_DETECTED: the reportable fraction is seen with this probability
# the run's failures, in the order they are listed on every call (docs/dpcr.md, "Run and well
# QC": the NTC, then the PC; a contradicted control well first, since a wrong map explains the
# rest)
RUN_REASON_ORDER = (
    Reason.MAP_EXPORT_MISMATCH,
    Reason.NTC_AMPLIFIED,
    Reason.PC_FAIL,
    Reason.MISSING_CONTROL,
)
FRACTION_INTERVAL = (
    "each channel's copies within its 97.5 % Wilson score interval (both together >= 95 %)"
)


@dataclass(frozen=True)
class WellCounts:
    """One plate-map well, its assay and what the export says about it.

    ``partitions`` is None when the well is not usable as read (``missing`` says why).
    ``mutant`` is k_m: the mutant channel's positives (duplex) or the reference-positive,
    wild-type-negative partitions (drop-off; None when the export has no combinations).
    ``positives`` holds each channel's positive partitions (the NTC is judged on them).
    """

    well: str
    role: WellRole
    sample_id: str
    assay: str
    partitions: int | None = None
    mutant: int | None = None
    wild_type: int | None = None
    positives: Mapping[str, int] = field(default_factory=dict)
    missing: str = ""
    stands_for: tuple[str, ...] = ()  # a merged row: the plate-map wells it counts for
    sources: tuple[str, ...] = ()  # where the counts were read ("file.csv row 12")

    def counts(self, drop_off: bool) -> PartitionCounts | None:
        if self.partitions is None or self.mutant is None or self.wild_type is None:
            return None
        return PartitionCounts(self.partitions, self.mutant, self.wild_type, drop_off)


@dataclass(frozen=True)
class Background:
    """p0 of one assay: from the run's WT-control wells, or the assay's default."""

    p0: float
    default: bool
    source: str
    mutant: int = 0  # Σ k_m over the WT wells used
    partitions: int = 0  # Σ N
    wells: tuple[str, ...] = ()
    too_high: bool = False

    @property
    def observed(self) -> float | None:
        return self.mutant / self.partitions if self.partitions else None


@dataclass(frozen=True)
class RuleOutcome:
    """The call rule applied to summed counts."""

    status: CallStatus
    reasons: tuple[Reason, ...]
    k_req: int
    power: float
    lod95: float | None
    fraction: float | None
    fraction_ci95: tuple[float, float] | None
    lambda_mutant: float
    lambda_wild_type: float


def call_counts(
    counts: PartitionCounts,
    p0: float,
    *,
    reportable_fraction: float,
    alpha: float,
    k_min: int,
    required_power: float = REQUIRED_POWER,
) -> RuleOutcome:
    """DETECTED, LOW_LEVEL, NOT_DETECTED or LOW_INPUT for unsaturated counts (docs/dpcr.md).

    >>> o = call_counts(PartitionCounts(20000, 6, 2000), 5e-5, reportable_fraction=0.002,
    ...                 alpha=1e-3, k_min=2)
    >>> o.status.value, o.k_req, round(o.fraction, 4)
    ('DETECTED', 6, 0.0028)
    """
    k_req = required_mutant_partitions(counts.partitions, p0, alpha, k_min)
    found = estimate(counts)
    power = detection_power(counts, p0, reportable_fraction, k_req)
    lod95 = fraction_lod95(counts, p0, k_req, required_power)
    fraction = found.fraction
    reasons: tuple[Reason, ...]
    if counts.mutant >= k_req:
        if fraction is not None and fraction >= reportable_fraction:
            status, reasons = CallStatus.DETECTED, ()
        else:
            status, reasons = CallStatus.INDETERMINATE, (Reason.LOW_LEVEL,)
    elif power >= required_power:
        status, reasons = CallStatus.NOT_DETECTED, ()
    else:
        status, reasons = CallStatus.INDETERMINATE, (Reason.LOW_INPUT,)
    return RuleOutcome(
        status,
        reasons,
        k_req,
        power,
        lod95,
        fraction,
        found.fraction_ci95,
        found.lambda_mutant,
        found.lambda_wild_type,
    )


# ------------------------------------------------------------------------------------- controls
def minimum_partitions(well: WellCounts, settings: AssaySettings) -> int:
    """The partitions a well needs: the minimum, times its members for a merged well (whose
    members' own counts the export no longer shows)."""
    return int(settings.min_partitions.value) * max(1, len(well.stands_for))


def _usable(well: WellCounts, settings: AssaySettings) -> bool:
    return well.partitions is not None and well.partitions >= minimum_partitions(well, settings)


def evaluate_controls(
    run_id: str,
    wells: Sequence[WellCounts],
    assays: Mapping[str, Assay],
    settings: Mapping[str, AssaySettings],
    tested: Sequence[str],
) -> tuple[list[QcCheck], tuple[Reason, ...], dict[str, Background]]:
    """The run's controls, in docs/dpcr.md's order: each NTC (a channel at or above the failing
    count fails the run), each PC (its fraction within the window), then each assay's
    WT-control background. ``tested`` are the assays with SAMPLE wells: each needs a valid NTC
    and PC. Returns the checks, the run's failures and each assay's background."""
    checks: list[QcCheck] = []
    failed: set[Reason] = set()
    valid: dict[tuple[str, WellRole], int] = {}

    def add(
        check: str, subject: str, value: Any, expected: str, passed: bool, reason: Reason | None
    ) -> None:
        checks.append(
            QcCheck(run_id, check, subject, value, expected, passed, None if passed else reason)
        )

    for well in wells:
        if well.role not in (WellRole.NTC, WellRole.PC):
            continue
        assay, rule = assays[well.assay], settings[well.assay]
        subject = f"well {well.well} ({well.assay})"
        if well.partitions is None:
            add(
                well.role.value,
                subject,
                well.missing or "not in the export",
                "in the export",
                False,
                Reason.MISSING_CONTROL,
            )
            continue
        if well.role is WellRole.NTC:
            limit = int(rule.ntc_positives_fail.value)
            amplified = False
            for channel in assay.channels:
                positives = well.positives.get(channel)
                target = assay.target_of(channel)
                passed = positives is not None and positives < limit
                amplified |= positives is not None and positives >= limit
                add(
                    "NTC",
                    f"well {well.well} {channel} ({target})",
                    "not in the export" if positives is None else positives,
                    f"< {limit} positive partitions",
                    passed,
                    Reason.NTC_AMPLIFIED if positives is not None else Reason.MISSING_CONTROL,
                )
                if positives is None:
                    failed.add(Reason.MISSING_CONTROL)
            if amplified:  # present, and failed: not also a missing control
                failed.add(Reason.NTC_AMPLIFIED)
                valid[well.assay, WellRole.NTC] = valid.get((well.assay, WellRole.NTC), 0) + 1
                continue
        if not _usable(well, rule):
            add(
                "partitions",
                subject,
                well.partitions,
                f">= {int(rule.min_partitions.value):,} accepted partitions",
                False,
                Reason.LOW_PARTITIONS,
            )
            continue
        if well.role is WellRole.NTC:
            valid[well.assay, WellRole.NTC] = valid.get((well.assay, WellRole.NTC), 0) + 1
            continue
        counts = well.counts(assay.drop_off)
        window = rule.pc_fraction_window
        if counts is None:  # a drop-off PC without combination counts
            add(
                "PC",
                subject,
                "no partition combinations in the export",
                f"fraction {window}",
                False,
                Reason.NO_PARTITION_COMBINATIONS,
            )
            valid[well.assay, WellRole.PC] = valid.get((well.assay, WellRole.PC), 0) + 1
            continue
        fraction = None if counts.saturated else estimate(counts).fraction
        passed = fraction is not None and window.contains(fraction)
        add(
            "PC",
            subject,
            "saturated" if counts.saturated else fraction,
            f"fraction {window}",
            passed,
            Reason.PC_FAIL,
        )
        if not passed:
            failed.add(Reason.PC_FAIL)
        valid[well.assay, WellRole.PC] = valid.get((well.assay, WellRole.PC), 0) + 1
    for name in tested:
        for role in (WellRole.NTC, WellRole.PC):
            if not valid.get((name, role)):
                present = any(w.assay == name and w.role is role for w in wells)
                add(
                    role.value,
                    f"assay {name}",
                    "no valid well" if present else "none in the plate map",
                    f"a valid {role.value} well",
                    False,
                    Reason.MISSING_CONTROL,
                )
                failed.add(Reason.MISSING_CONTROL)
    backgrounds = {
        name: _background(run_id, name, assays[name], settings[name], wells, checks)
        for name in dict.fromkeys([*tested, *(w.assay for w in wells if w.assay)])
    }
    return checks, tuple(r for r in RUN_REASON_ORDER if r in failed), backgrounds


def _background(
    run_id: str,
    name: str,
    assay: Assay,
    rule: AssaySettings,
    wells: Sequence[WellCounts],
    checks: list[QcCheck],
) -> Background:
    """p0 from the WT-control wells with enough partitions, else the default (docs/dpcr.md)."""
    used: list[WellCounts] = []
    for well in wells:
        if well.role is not WellRole.WT or well.assay != name:
            continue
        subject = f"well {well.well} ({name})"
        if well.partitions is None:
            checks.append(
                QcCheck(
                    run_id,
                    "WT",
                    subject,
                    well.missing or "not in the export",
                    "in the export",
                    False,
                    Reason.MISSING_WELL,
                )
            )
        elif not _usable(well, rule):
            checks.append(
                QcCheck(
                    run_id,
                    "partitions",
                    subject,
                    well.partitions,
                    f">= {int(rule.min_partitions.value):,} accepted partitions",
                    False,
                    Reason.LOW_PARTITIONS,
                )
            )
        elif well.mutant is None:
            checks.append(
                QcCheck(
                    run_id,
                    "WT",
                    subject,
                    "no partition combinations in the export",
                    "mutant partitions counted",
                    False,
                    Reason.NO_PARTITION_COMBINATIONS,
                )
            )
        else:
            used.append(well)
    default = rule.default_background
    if not used:
        return Background(
            default.value,
            True,
            f"the assay's default ({default.source}): no usable wild-type control well",
        )
    mutant = sum(int(w.mutant or 0) for w in used)
    partitions = sum(int(w.partitions or 0) for w in used)
    p0 = background_upper_bound(mutant, partitions)
    observed = mutant / partitions
    maximum = rule.max_wt_background
    too_high = observed > maximum.value
    wells_text = ", ".join(w.well for w in used)
    checks.append(
        QcCheck(
            run_id,
            "WT background",
            f"assay {name} (wells {wells_text})",
            observed,
            f"<= {maximum.value:g} mutant-positive partitions per partition",
            not too_high,
            Reason.WT_BACKGROUND_HIGH if too_high else None,
        )
    )
    return Background(
        p0,
        False,
        f"wild-type controls {wells_text}: {mutant} mutant-positive of {partitions:,} "
        "partitions; the one-sided 95 % Clopper-Pearson upper bound",
        mutant,
        partitions,
        tuple(w.well for w in used),
        too_high,
    )


# ------------------------------------------------------------------------------------- samples
@dataclass(frozen=True)
class AssayOutcome:
    """One sample × assay: its status, reasons, action and every number behind it."""

    assay: str
    status: CallStatus
    reasons: tuple[Reason, ...]
    action: str | None
    evidence: Mapping[str, Any]
    fraction: float | None = None
    fraction_ci95: tuple[float, float] | None = None
    mutant: int | None = None
    partitions: int | None = None
    lod95: float | None = None

    @property
    def failed(self) -> bool:
        return self.status is CallStatus.INVALID


def _action(reason: Reason, assay: Assay, detail: str = "") -> str:
    actions = {
        Reason.MAP_EXPORT_MISMATCH: (
            "check the plate map against the instrument's sample and target names"
        ),
        Reason.NTC_AMPLIFIED: "repeat the run: a no-template control has positive partitions",
        Reason.PC_FAIL: "repeat the run: a positive control is outside its fraction window",
        Reason.MISSING_CONTROL: "repeat the run with a valid NTC and PC for every assay",
        Reason.MISSING_WELL: (
            "a well is missing from the export: check the plate map and the export"
        ),
        Reason.WT_BACKGROUND_HIGH: (
            f"repeat assay {assay.name}: its wild-type controls show too much background"
        ),
        Reason.LOW_PARTITIONS: f"repeat the assay {assay.name} wells: too few accepted partitions",
        Reason.NO_PARTITION_COMBINATIONS: (
            "export the partition-combination counts (Bio-Rad Ch1+Ch2- columns, Absolute Q "
            "channel combinations), or confirm by the specific assays or NGS"
        ),
        Reason.PARTITIONS_SATURATED: "dilute the DNA and re-test: every partition is positive",
        Reason.LOW_INPUT: "add DNA (more plasma, or more replicate wells) and re-test",
        Reason.LOW_LEVEL: "review; re-test with more input, or report as below the cut-off",
        Reason.ALLELE_NOT_RESOLVED: "confirm which allele by a specific assay or NGS",
    }
    text = actions.get(reason, "review")
    return f"{text} ({detail})" if detail else text


def evaluate_assay(
    sample_id: str,
    assay: Assay,
    rule: AssaySettings,
    wells: Sequence[WellCounts],
    background: Background,
    *,
    reportable_fraction: float,
    run_reasons: tuple[Reason, ...] = (),
    mismatch: str = "",
    required_power: float = REQUIRED_POWER,
) -> AssayOutcome:
    """One sample × assay, first failing rule first: the run, a map contradiction, a missing
    well, the WT background, the wells' partitions, the combinations a drop-off needs,
    saturation; then the call rule on the summed counts of the wells that pass."""
    minimum = int(rule.min_partitions.value)
    evidence: dict[str, Any] = {
        "assay": assay.name,
        "design": assay.design,
        "wells": [w.well for w in wells],
        "read_from": [s for w in wells for s in w.sources],
        "min_partitions": minimum,
        "partition_volume_nl": rule.partition_volume_nl.value,
        "p0": background.p0,
        "p0_source": background.source,
        "reportable_fraction": reportable_fraction,
        "alpha": rule.alpha.value,
        "k_min": int(rule.k_min.value),
    }
    flags: list[Reason] = []  # on a call stopped by a QC rule: only a left-out well

    def stop(status: CallStatus, reason: Reason, detail: str = "") -> AssayOutcome:
        return AssayOutcome(
            assay.name, status, (reason, *flags), _action(reason, assay, detail), evidence
        )

    if run_reasons:
        return AssayOutcome(
            assay.name, CallStatus.INVALID, run_reasons, _action(run_reasons[0], assay), evidence
        )
    if mismatch:
        evidence["map_export_mismatch"] = mismatch
        return stop(CallStatus.INVALID, Reason.MAP_EXPORT_MISMATCH)
    absent = [w for w in wells if w.partitions is None]
    if absent:
        evidence["missing_wells"] = {w.well: w.missing for w in absent}
        return stop(CallStatus.INVALID, Reason.MISSING_WELL, ", ".join(w.well for w in absent))
    if background.too_high:
        evidence["wt_background"] = background.observed
        evidence["max_wt_background"] = rule.max_wt_background.value
        return stop(CallStatus.INVALID, Reason.WT_BACKGROUND_HIGH)
    low = [w for w in wells if int(w.partitions or 0) < minimum_partitions(w, rule)]
    kept = [w for w in wells if w not in low]
    if low:
        evidence["wells_excluded"] = [
            {"well": w.well, "partitions": w.partitions, "reason": Reason.LOW_PARTITIONS.value}
            for w in low
        ]
        flags.append(Reason.LOW_PARTITIONS)
    if not kept:
        shown = ", ".join(f"{w.well} {w.partitions:,}" for w in low)
        flags.remove(Reason.LOW_PARTITIONS)
        return stop(CallStatus.INVALID, Reason.LOW_PARTITIONS, f"{shown} < {minimum:,}")
    evidence["wells_used"] = [w.well for w in kept]
    if any(w.mutant is None for w in kept):
        return stop(CallStatus.INDETERMINATE, Reason.NO_PARTITION_COMBINATIONS)
    total = PartitionCounts(0, 0, 0, assay.drop_off)
    for well in kept:
        counts = well.counts(assay.drop_off)
        assert counts is not None  # every kept well has its counts (checked above)
        total = total + counts
    evidence.update(_count_evidence(total, assay))
    if total.saturated:
        return stop(CallStatus.INVALID, Reason.PARTITIONS_SATURATED)
    outcome = call_counts(
        total,
        background.p0,
        reportable_fraction=reportable_fraction,
        alpha=rule.alpha.value,
        k_min=int(rule.k_min.value),
        required_power=required_power,
    )
    volume_ul = rule.partition_volume_nl.value / 1000.0
    evidence.update(
        {
            "lambda_mutant": outcome.lambda_mutant,
            "lambda_wild_type": outcome.lambda_wild_type,
            "copies_per_ul": {
                "mutant": outcome.lambda_mutant / volume_ul,
                "wild_type": outcome.lambda_wild_type / volume_ul,
            },
            "copies_per_20ul_well": {
                "mutant": 20 * outcome.lambda_mutant / volume_ul,
                "wild_type": 20 * outcome.lambda_wild_type / volume_ul,
            },
            "fraction": outcome.fraction,
            "fraction_ci95": outcome.fraction_ci95,
            "fraction_interval": FRACTION_INTERVAL,
            "k_req": outcome.k_req,
            "power_at_reportable_fraction": outcome.power,
            "lod95": outcome.lod95,
        }
    )
    detail = ""
    if outcome.status is CallStatus.INDETERMINATE and Reason.LOW_INPUT in outcome.reasons:
        limit = "none reachable" if outcome.lod95 is None else percent(outcome.lod95)
        detail = f"lod95 {limit} with {total.partitions:,} partitions"
    if background.default:
        flags.insert(0, Reason.DEFAULT_BACKGROUND)
    reasons = (*outcome.reasons, *flags)
    action = None
    if outcome.status in (CallStatus.INDETERMINATE, CallStatus.INVALID):
        action = _action(outcome.reasons[0], assay, detail)
    return AssayOutcome(
        assay.name,
        outcome.status,
        tuple(dict.fromkeys(reasons)),
        action,
        evidence,
        outcome.fraction,
        outcome.fraction_ci95,
        total.mutant,
        total.partitions,
        outcome.lod95,
    )


def _count_evidence(total: PartitionCounts, assay: Assay) -> dict[str, Any]:
    if assay.drop_off:
        return {
            "partitions": total.partitions,
            "wild_type_positive_partitions": total.wild_type,
            "wild_type_negative_partitions": total.partitions - total.wild_type,
            "mutant_partitions": total.mutant,
            "mutant_partitions_are": (
                f"{assay.mutant_channel}+ {assay.wild_type_channel}- (reference-positive, "
                "wild-type-negative)"
            ),
            "formula": (
                "lambda_w = -ln(1 - k_W+/N); lambda_m = -ln(1 - k_R+W-/(N - k_W+)); "
                "f = lambda_m / (lambda_m + lambda_w)"
            ),
        }
    return {
        "partitions": total.partitions,
        "mutant_partitions": total.mutant,
        "wild_type_partitions": total.wild_type,
        "mutant_partitions_are": f"{assay.mutant_channel}-positive",
        "formula": "lambda = -ln(1 - k/N) per channel; f = lambda_m / (lambda_m + lambda_w)",
    }


def inherit(region: AssayOutcome) -> tuple[CallStatus, tuple[Reason, ...], str | None]:
    """A hotspot's call from its drop-off region's: NOT_DETECTED stays; DETECTED becomes
    INDETERMINATE ALLELE_NOT_RESOLVED; INDETERMINATE and INVALID keep their reasons."""
    if region.status is CallStatus.DETECTED:
        reasons = (Reason.ALLELE_NOT_RESOLVED, *region.reasons)
        return CallStatus.INDETERMINATE, reasons, "confirm which allele by a specific assay or NGS"
    return region.status, region.reasons, region.action


def plasma_copies(
    copies_per_ul: float,
    reaction_ul: float,
    template_ul: float,
    elution_ul: float,
    plasma_ml: float,
) -> float:
    """Copies per mL of plasma from copies per µL of reaction.

    >>> plasma_copies(10.0, 20.0, 8.0, 60.0, 4.0)
    375.0
    """
    return copies_per_ul * reaction_ul / template_ul * elution_ul / plasma_ml


def well_fraction(well: WellCounts, drop_off: bool) -> tuple[float | None, Any]:
    """A single well's fraction and interval, for the plate drawing (None when undefined)."""
    counts = well.counts(drop_off)
    if counts is None or counts.saturated:
        return None, None
    found = estimate(counts)
    return found.fraction, found.fraction_ci95
