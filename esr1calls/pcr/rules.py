# Size: about 1,000 lines: the ordered PCR rules (run controls, sample reference, each target,
# replicates, same-codon groups, fraction) in one file, read top to bottom in docs/pcr.md's order.
"""The ARMS-PCR rules, pure: a run's Ct values, its plate map entries and the kit in; run QC and
one SampleReport per sample out (docs/pcr.md, "The rules, in the order they are applied": the
first failing rule wins at each level). No file is read here: ``run.py`` reads the exports, the
map and the kit, builds the ``CtTable`` and calls ``interpret_run``.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ..hotspots import Hotspot, Panel
from ..model import (
    Call,
    CallStatus,
    Method,
    QcCheck,
    Reason,
    SampleReport,
    WellRole,
    derive_sample_status,
)
from ..stats import poisson_ci
from ..text import exact_percent
from .kit import IC, REF, AssaySettings, Kit
from .platemap import (
    MapEntry,
    NameCheck,
    NameMismatch,
    compare_names,
    describe_mismatches,
)

__all__ = [
    "CtTable",
    "ReferenceOutcome",
    "TargetOutcome",
    "call_target",
    "clean_ct",
    "estimate_fraction",
    "estimate_genome_copies",
    "evaluate_reference",
    "evaluate_run_controls",
    "interpret_run",
    "interpret_sample",
    "name_checks",
    "ntc_ic_by_mix",
    "run_action",
]

FULL_SENSITIVITY_COPIES = 1500.0  # genome copies at ct_full_sensitivity (kit calibration claim)
RUN_REASON_ORDER = (
    Reason.MAP_EXPORT_MISMATCH,  # first: a wrong map may explain the other control failures
    Reason.MISSING_CONTROL,
    Reason.PC_FAIL,
    Reason.NTC_AMPLIFIED,
    Reason.CONTROL_IC_FAIL,
    Reason.WT_CTRL_POSITIVE,
    Reason.THRESHOLD_MISMATCH,
    Reason.PASSIVE_REF_CONFLICT,
)
# run failures that a re-analysis of the same run in the instrument software mends
_REANALYSIS = {
    Reason.THRESHOLD_MISMATCH: "the kit's fixed Ct thresholds",
    Reason.PASSIVE_REF_CONFLICT: "the kit's passive reference",
}
# a control well's channel that the export does not hold (its QC value)
MISSING_ROW = "no row in the export (or omitted there)"
MISSING_CONTROL_ACTION = (
    "re-export the full results table (every well and channel) and check the plate map; if "
    "the control was not run, repeat the run"
)
# instrument flags that say a curve did not amplify (AB NOAMP/EXPFAIL, Design & Analysis
# Amp Status "No Amp"), even when a Ct is written beside them
NO_AMPLIFICATION_FLAGS = frozenset({"NOAMP", "NO_AMP", "EXPFAIL"})
MAP_MISMATCH_ACTION = (
    "check the plate map against the instrument's sample names; if the lab relabelled on "
    "purpose, re-run with --trust-map"
)


@dataclass(frozen=True)
class CtTable:
    """Ct values of one run by (well, kit channel). A missing key means no data for that channel;
    NaN means the channel was read and did not amplify."""

    run_id: str
    values: Mapping[tuple[str, str], float]
    sources: tuple[str, ...] = ()  # export file names
    # kit channel -> the Ct thresholds the export records for it (AUTO_THRESHOLD when the
    # software chose it); a channel the export says nothing about is absent
    ct_thresholds: Mapping[str, tuple[float | str, ...]] = field(default_factory=dict)
    # the passive reference the export says the run was normalised to ("none", a kit channel or
    # a dye name); None when the export does not say
    passive_reference: str | None = None
    # the instrument's own flags per (well, kit channel), e.g. NOAMP, EXPFAIL
    flags: Mapping[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)
    # the names the export gives: well -> its sample names (one per row, "" when none), and
    # (well, kit channel) -> the target name; held against the plate map by compare_names
    sample_names: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    target_names: Mapping[tuple[str, str], str] = field(default_factory=dict)

    def has_well(self, well: str) -> bool:
        return any(w == well for w, _ in self.values)

    def get(self, well: str, channel: str) -> float | None:
        return self.values.get((well, channel))

    def get_vouching(self, well: str, channel: str) -> float | None:
        """A Ct whose amplification would vouch for something (an IC, a reference, a PC): NaN
        when the instrument itself flagged the curve as not amplified, whatever Ct it wrote.
        Where amplification is the alarm (a mutation channel, an NTC) the Ct is used as is."""
        ct = self.get(well, channel)
        if ct is not None and NO_AMPLIFICATION_FLAGS & set(self.flags.get((well, channel), ())):
            return math.nan
        return ct


def _cycles(value: float) -> float:
    """A Ct difference or mean as compared with a limit: to 1e-6 cycles, so binary floating
    point never moves a boundary (32.02 - 23.02 is 9.000000000000004, not above a 9.0 cut-off).

    >>> _cycles(32.02 - 23.02) <= 9.0
    True
    """
    return round(value, 6)


def _amplified(ct: float | None, ct_max: float) -> bool:
    return ct is not None and not math.isnan(ct) and ct <= ct_max


def clean_ct(ct: float | None) -> float | None:
    """A Ct as the reports show it: None for no data and for no amplification (NaN)."""
    return None if ct is None or math.isnan(ct) else ct


# ----------------------------------------------------------------------------- run controls
def evaluate_run_controls(
    table: CtTable, entries: Sequence[MapEntry], kit: Kit
) -> tuple[list[QcCheck], tuple[Reason, ...]]:
    """Level 1: PC windows, NTC clean, optional WT negative. Returns the checks and the reasons
    that invalidate the whole run (empty when the run is valid)."""
    checks: list[QcCheck] = []
    run = table.run_id

    def add(
        check: str,
        subject: str,
        value: float | str | None,
        expected: str,
        ok: bool,
        reason: Reason,
    ) -> None:
        """One check; a NaN Ct is recorded as None, a missing control's value says why."""
        shown = clean_ct(value) if isinstance(value, float) else value
        checks.append(QcCheck(run, check, subject, shown, expected, ok, None if ok else reason))

    for mix, channels in kit.mixes.items():
        for role in (WellRole.PC, WellRole.NTC):
            wells = [e for e in entries if e.role is role and e.mix == mix]
            present = [e for e in wells if table.has_well(e.well)]
            # every mapped control must be read: an omitted NTC may be the contaminated one
            missing = [
                f"well {e.well} not in export (or omitted there)" for e in wells if e not in present
            ]
            for why in missing or ([] if wells else ["not in the plate map"]):
                add(role.value, f"mix {mix}", why, "a control well", False, Reason.MISSING_CONTROL)
            for entry in present:
                for channel, target in channels.items():
                    # a PC or an IC vouches for the run; an NTC's signal is the alarm
                    vouches = role is WellRole.PC or target == IC
                    get = table.get_vouching if vouches else table.get
                    ct = get(entry.well, channel)
                    subject = f"well {entry.well} {channel} ({target})"
                    if ct is None:
                        # the export lacks this channel's row (cut short, filtered, omitted):
                        # the control was not measured wrong, it is not there to judge
                        check = role.value + (" IC" if target == IC else "")
                        add(check, subject, MISSING_ROW, "a row", False, Reason.MISSING_CONTROL)
                    elif role is WellRole.PC and target != IC:
                        window = (
                            kit.pc_reference_window if target == REF else kit.pc_mutation_window
                        )
                        ok = not math.isnan(ct) and window.contains(ct)
                        add("PC", subject, ct, str(window), ok, Reason.PC_FAIL)
                    elif role is WellRole.NTC and target != IC:
                        limit = kit.ntc_max_ct.value
                        ok = not _amplified(ct, limit)
                        add("NTC", subject, ct, f"no Ct <= {limit:g}", ok, Reason.NTC_AMPLIFIED)
                    elif role is WellRole.NTC and target == IC:
                        ok = _amplified(ct, kit.ic_ct_max.value)
                        add(
                            "NTC IC",
                            subject,
                            ct,
                            f"Ct <= {kit.ic_ct_max.value:g}",
                            ok,
                            Reason.CONTROL_IC_FAIL,
                        )
    wt_entries = [e for e in entries if e.role is WellRole.WT]
    if kit.wt_required and not wt_entries:
        add("WT", "WT control", None, "a WT control", False, Reason.MISSING_CONTROL)
    for wt_sample in dict.fromkeys(e.sample_id for e in wt_entries):
        mine = [e for e in wt_entries if e.sample_id == wt_sample]
        reference = _reference_ct(table, mine, kit)
        for assay in kit.assays.values():
            well = next((e.well for e in mine if e.mix == assay.mix), None)
            ct = table.get(well, assay.channel) if well else None
            if reference is None or well is None or ct is None:
                if kit.wt_required:
                    add(
                        "WT",
                        f"{wt_sample} {assay.hotspot}",
                        None,
                        "evaluable",
                        False,
                        Reason.MISSING_CONTROL,
                    )
                continue
            delta = _cycles(ct - reference) if _amplified(ct, assay.ct_max.value) else math.inf
            ok = delta > assay.cutoff.value
            add(
                "WT",
                f"well {well} {assay.channel} ({assay.hotspot})",
                None if math.isinf(delta) else round(delta, 3),
                f"delta-Ct > {assay.cutoff.value:g}",
                ok,
                Reason.WT_CTRL_POSITIVE,
            )
    if table.passive_reference is not None:
        add(
            "passive reference",
            "run normalisation",
            table.passive_reference,
            f"{kit.passive_reference} (the kit's)",
            table.passive_reference == kit.passive_reference,
            Reason.PASSIVE_REF_CONFLICT,
        )
    for channel, expected in kit.ct_thresholds.items():
        for used in table.ct_thresholds.get(channel, ()):
            ok = isinstance(used, float) and math.isclose(used, expected.value, rel_tol=1e-3)
            add(
                "threshold",
                f"{channel} Ct threshold",
                used,
                f"{expected.value:g} (fixed, from the kit)",
                ok,
                Reason.THRESHOLD_MISMATCH,
            )
    failed = {c.reason for c in checks if not c.passed and c.reason}
    return checks, tuple(r for r in RUN_REASON_ORDER if r in failed)


def _reference_ct(table: CtTable, entries: Sequence[MapEntry], kit: Kit) -> float | None:
    """Mean reference Ct of a sample's reference wells (separate_mix) or all wells (in_well)."""
    values = [
        table.get_vouching(e.well, kit.reference_channel)
        for e in entries
        if kit.reference_mode == "in_well" or e.mix == kit.reference_mix
    ]
    return _mean(values)


# ----------------------------------------------------------------------------- sample level
@dataclass(frozen=True)
class ReferenceOutcome:
    """Level 2: whether the sample's DNA quantity allows calls, and at what LoD."""

    ct: float | None
    invalid: Reason | None = None
    low_input: bool = False
    discordant: bool = False
    action: str | None = None
    genome_copies: float | None = None
    lod95: float | None = None
    wells: tuple[str, ...] = ()
    replicate_cts: tuple[float | None, ...] = ()


def _reference_amplification(kit: Kit) -> float:
    return statistics.median(a.amplification_factor.value for a in kit.assays.values())


def estimate_genome_copies(ref_ct: float, kit: Kit) -> float:
    """Genome copies per reaction from the reference Ct: the kit's standard curve when it has
    one, else relative to ct_full_sensitivity (calibrated to ~1,500 copies)."""
    if kit.standard_curve:
        slope, intercept = kit.standard_curve
        return float(10 ** ((ref_ct - intercept) / slope))
    factor = _reference_amplification(kit)
    return float(FULL_SENSITIVITY_COPIES * factor ** (kit.ref_ct_full_sensitivity.value - ref_ct))


def evaluate_reference(
    cts: Sequence[float | None], kit: Kit, *, every_well: bool = True
) -> ReferenceOutcome:
    """Apply the reference window to a sample's reference Ct(s) (one per replicate).

    ``every_well``: a mapped reference well missing from the export makes the sample INVALID
    (as a missing mutation replicate does); in_well kits judge each well on its own instead.
    """
    present = [c for c in cts if c is not None]
    if not present or (every_well and len(present) < len(cts)):
        return ReferenceOutcome(
            None, Reason.MISSING_WELL, action=_MISSING_WELL_ACTION, replicate_cts=tuple(cts)
        )
    amplified = [c for c in present if not math.isnan(c)]
    if not amplified:
        return ReferenceOutcome(
            None,
            Reason.REF_NO_AMP,
            replicate_cts=tuple(cts),
            action="re-extract: the reference (total ESR1) assay did not amplify",
        )
    ct = _cycles(statistics.fmean(amplified))
    discordant = len(amplified) < len(present) or (
        len(amplified) > 1 and statistics.stdev(amplified) > kit.replicate_reference_sd_max.value
    )
    copies = estimate_genome_copies(ct, kit)
    base = ReferenceOutcome(
        ct, genome_copies=copies, discordant=discordant, replicate_cts=tuple(cts)
    )
    if ct < kit.ref_ct_min.value:
        factor = _reference_amplification(kit)
        exact = factor ** (kit.ref_ct_target.value - ct)
        dilution = 2 ** max(1, math.floor(math.log2(exact)))
        expected = ct + math.log(dilution) / math.log(factor)
        return replace(
            base,
            invalid=Reason.REF_CT_LOW,
            action=f"dilute x{dilution} (expected reference Ct ~{expected:.1f}) and re-test",
        )
    if ct > kit.ref_ct_max.value:
        return replace(
            base,
            invalid=Reason.REF_CT_HIGH,
            action=f"re-extract with more input: reference Ct {ct:.2f} > "
            f"{kit.ref_ct_max.value:g} (too little DNA)",
        )
    # the kit's reportable fraction (0.2 % in the example kit) needs ~1,500 genome copies in the
    # reaction. Without a standard curve the copies are derived from ct_full_sensitivity, so the
    # two tests agree; with one, the curve may put fewer copies below that Ct, and either
    # shortfall is low input.
    full_sensitivity = kit.ref_ct_full_sensitivity.value
    low_input = ct > full_sensitivity or copies < FULL_SENSITIVITY_COPIES
    if not low_input:
        return base
    fraction = kit.reportable_fraction.value
    lod = min(1.0, max(fraction, fraction * FULL_SENSITIVITY_COPIES / copies))
    shortfall = (
        f"input ~{copies:,.0f} genome copies"
        if copies < FULL_SENSITIVITY_COPIES
        else f"reference Ct {ct:.2f} > {full_sensitivity:g}, the kit's full-sensitivity Ct"
    )
    # the limit is the setting itself when the copies suffice: shown exactly, never rounded
    achievable = exact_percent(lod) if lod == fraction else f"~{lod:.2%}"
    action = (
        f"{shortfall}: {exact_percent(fraction)} cannot be excluded (achievable LoD "
        f"{achievable}); re-extract with more plasma or test by NGS"
    )
    return replace(base, low_input=True, lod95=lod, action=action)


_MISSING_WELL_ACTION = "a well is missing from the export: check the plate map and the export"


# ----------------------------------------------------------------------------- target level
@dataclass(frozen=True)
class TargetOutcome:
    status: CallStatus
    reasons: tuple[Reason, ...] = ()
    delta_ct: float | None = None
    action: str | None = None
    lod95: float | None = None  # set when this well's own input limits the LoD (in_well mode)


def call_target(
    ct_mutation: float | None,
    ct_reference: float,
    ct_ic: float | None,
    assay: AssaySettings,
    kit: Kit,
    ntc_ic: float | None = None,
) -> TargetOutcome:
    """Level 3 for one well: no Ct -> IC decides; delta-Ct <= cut-off -> DETECTED; band; else ND.

    ``ct_mutation``/``ct_ic`` None means no data; NaN means no amplification. ``ntc_ic`` is the
    IC Ct of the NTC of this mix: with the kit's ``delay_max_vs_ntc``, an IC later than that by
    more is inhibition, which can hide a mutant signal, so a negative is INVALID IC_DELAYED.
    """
    if ct_mutation is None:
        return TargetOutcome(
            CallStatus.INVALID, (Reason.MISSING_WELL,), action=_MISSING_WELL_ACTION
        )
    ic_ok = _amplified(ct_ic, kit.ic_ct_max.value)
    positive_ic_flag = Reason.IC_FAIL_POSITIVE  # how a positive carries a failed IC
    delay: float | None = None  # set when the IC is later than the NTC's by more than allowed
    if ic_ok and kit.ic_delay_max and ntc_ic is not None and ct_ic is not None:
        delay = _cycles(ct_ic - ntc_ic)
        if delay > kit.ic_delay_max.value:
            ic_ok, positive_ic_flag = False, Reason.IC_DELAYED
        else:
            delay = None
    if not _amplified(ct_mutation, assay.ct_max.value):
        return _NOT_DETECTED if ic_ok else _ic_failure(ct_ic, delay, assay)
    delta = _cycles(ct_mutation - ct_reference)
    cutoff = assay.cutoff.value
    flags: list[Reason] = []
    if delta < kit.delta_ct_negative_below.value:
        flags.append(Reason.DCT_NEGATIVE)
    if ct_mutation < kit.mutation_ct_early_below.value:
        flags.append(Reason.MUT_CT_EARLY)
    if delta <= cutoff:
        # IC failure is tolerated for positives: the mutant signal proves amplification
        reasons = ([] if ic_ok else [positive_ic_flag]) + flags
        return TargetOutcome(CallStatus.DETECTED, tuple(reasons), delta)
    if not ic_ok:
        return _ic_failure(ct_ic, delay, assay, delta)
    if delta <= _cycles(cutoff + assay.equivocal_band.value):
        return TargetOutcome(
            CallStatus.INDETERMINATE,
            (Reason.EQUIVOCAL, *flags),
            delta,
            action="re-test: delta-Ct is in the kit's equivocal band",
        )
    return TargetOutcome(CallStatus.NOT_DETECTED, tuple(flags), delta)


_NOT_DETECTED = TargetOutcome(CallStatus.NOT_DETECTED)


def _ic_failure(
    ct_ic: float | None, delay: float | None, assay: AssaySettings, delta: float | None = None
) -> TargetOutcome:
    """The INVALID outcome of a failed internal control (built only when one is returned)."""
    if delay is not None:
        return TargetOutcome(
            CallStatus.INVALID,
            (Reason.IC_DELAYED,),
            delta,
            action=f"re-purify or dilute the DNA and repeat mix {assay.mix}: the internal "
            f"control is {delay:.1f} cycles later than the NTC's (inhibition suspected)",
        )
    if ct_ic is None:  # no IC row in the export (one cut short): a missing well, not a failed IC
        return TargetOutcome(
            CallStatus.INVALID, (Reason.MISSING_WELL,), delta, action=_MISSING_WELL_ACTION
        )
    return TargetOutcome(
        CallStatus.INVALID,
        (Reason.IC_FAIL,),
        delta,
        action=f"repeat mix {assay.mix} for this sample: the internal control failed "
        "(inhibition or PCR failure)",
    )


def estimate_fraction(
    delta_ct: float, assay: AssaySettings, genome_copies: float | None
) -> tuple[float, tuple[float, float], str]:
    """Semi-quantitative allele fraction A^-(dCt - dCt100) with a 95 % interval combining the
    delta-Ct repeatability (kit delta_ct_sd) and Poisson sampling of the implied mutant copies."""
    factor = assay.amplification_factor.value
    shift = assay.delta_ct_100.value
    spread = 1.96 * assay.delta_ct_sd.value
    fraction = min(1.0, factor ** -(delta_ct - shift))
    low = min(1.0, factor ** -(delta_ct + spread - shift))
    high = min(1.0, factor ** -(delta_ct - spread - shift))
    method = f"A^-(dCt - {shift:g}), A = {factor:g}; 95 % interval: dCt +/- {spread:.2f}"
    if genome_copies:
        copies = fraction * genome_copies
        poisson_low, poisson_high = poisson_ci(copies)
        low = min(low, poisson_low / genome_copies)
        high = min(1.0, max(high, poisson_high / genome_copies))
        method += f" and Poisson on ~{copies:.1f} mutant copies"
    return fraction, (low, high), method


# ----------------------------------------------------------------------------- one sample
@dataclass
class _Draft:
    """A call under construction (mutable until the group rules have run)."""

    hotspot: Hotspot
    status: CallStatus
    reasons: list[Reason] = field(default_factory=list)
    action: str | None = None
    delta_ct: float | None = None
    ct_mutation: float | None = None
    ct_reference: float | None = None
    ct_ic: float | None = None
    cutoff: float | None = None
    lod95: float | None = None
    evidence: dict[str, Any] = field(default_factory=dict)


def _combine_replicates(
    outcomes: list[TargetOutcome], assay: AssaySettings, kit: Kit
) -> TargetOutcome:
    """Replicates: all positive -> DETECTED; some positive -> DETECTED if the mean delta-Ct is
    within cut-off + margin (flagged), else INDETERMINATE; none positive and any invalid -> INVALID.
    """
    if len(outcomes) == 1:
        return outcomes[0]
    positives = [o for o in outcomes if o.status is CallStatus.DETECTED]
    invalid = [o for o in outcomes if o.status is CallStatus.INVALID]
    deltas = [o.delta_ct for o in outcomes if o.delta_ct is not None]
    mean = statistics.fmean(deltas) if deltas else None
    if positives and len(positives) == len(outcomes):
        reasons = tuple(dict.fromkeys(r for o in outcomes for r in o.reasons))
        return TargetOutcome(CallStatus.DETECTED, reasons, mean)
    if positives:
        # a replicate with no Ct counts as far above the cut-off for the mean
        no_ct = len(outcomes) - len(deltas)
        padded = deltas + [assay.cutoff.value + 10.0] * no_ct
        padded_mean = statistics.fmean(padded)
        limit = _cycles(assay.cutoff.value + kit.replicate_mean_margin.value)
        if not invalid and _cycles(padded_mean) <= limit:
            return TargetOutcome(CallStatus.DETECTED, (Reason.REPLICATE_DISCORDANT,), padded_mean)
        return TargetOutcome(
            CallStatus.INDETERMINATE,
            (Reason.REPLICATE_DISCORDANT,),
            padded_mean,
            action=f"re-test: {len(positives)} of {len(outcomes)} replicates positive",
        )
    if invalid:
        return invalid[0]
    if any(o.status is CallStatus.INDETERMINATE for o in outcomes):
        return next(o for o in outcomes if o.status is CallStatus.INDETERMINATE)
    return TargetOutcome(CallStatus.NOT_DETECTED, (), mean)


def _apply_groups(drafts: Mapping[str, _Draft], kit: Kit) -> None:
    """Level 4: several DETECTED in a same-codon/neighbour group: the lowest delta-Ct is primary;
    one >= margin weaker becomes INDETERMINATE POSSIBLE_CROSS_REACTIVITY."""
    margin = kit.cross_reactivity_margin.value
    for group in kit.groups:
        detected = [
            drafts[h]
            for h in group
            if h in drafts
            and drafts[h].status is CallStatus.DETECTED
            and drafts[h].delta_ct is not None
        ]
        if len(detected) < 2:
            continue
        primary = min(detected, key=lambda d: d.delta_ct or 0.0)
        for draft in detected:
            if draft is primary:
                continue
            gap = _cycles((draft.delta_ct or 0.0) - (primary.delta_ct or 0.0))
            if gap >= margin:
                draft.status = CallStatus.INDETERMINATE
                draft.reasons.insert(0, Reason.POSSIBLE_CROSS_REACTIVITY)
                draft.action = (
                    f"review: {gap:.1f} cycles weaker than {primary.hotspot.name} in "
                    "the same codon group; confirm by an orthogonal method"
                )
                draft.evidence["primary"] = primary.hotspot.name
        still = [d for d in detected if d.status is CallStatus.DETECTED]
        if len(still) > 1:
            for draft in still:
                if Reason.SAME_CODON_MULTIPLE not in draft.reasons:
                    draft.reasons.append(Reason.SAME_CODON_MULTIPLE)


def interpret_sample(
    sample_id: str,
    entries: Sequence[MapEntry],
    table: CtTable,
    kit: Kit,
    panel: Panel,
    run_reasons: tuple[Reason, ...],
    ntc_ic: Mapping[str, float],
    mismatches: Sequence[str],
    failed_run_action: str = "",
) -> SampleReport:
    """Levels 2-5 for one sample (``run_reasons`` non-empty means the run already failed, and
    ``failed_run_action`` says what to do about it; ``ntc_ic``: the NTC's IC Ct by mix, for the
    kit's IC delay rule; ``mismatches``: where the export's names contradict the map for this
    sample, which makes every call INVALID)."""
    by_mix: dict[str, list[MapEntry]] = {}
    for entry in sorted(entries, key=lambda e: e.replicate):
        by_mix.setdefault(entry.mix, []).append(entry)
    reference_wells = (
        by_mix.get(kit.reference_mix or "", [])
        if kit.reference_mode == "separate_mix"
        else list(entries)
    )
    ref_cts = [table.get_vouching(e.well, kit.reference_channel) for e in reference_wells]
    reference = evaluate_reference(ref_cts, kit, every_well=kit.reference_mode == "separate_mix")
    reference = replace(reference, wells=tuple(e.well for e in reference_wells))
    drafts: dict[str, _Draft] = {}
    for hotspot in panel:
        draft = _Draft(hotspot, CallStatus.INDETERMINATE)
        drafts[hotspot.name] = draft
        assay = kit.assays.get(hotspot.name)
        if assay is None:
            draft.reasons = [Reason.NOT_TESTED]
            draft.action = f"not tested by kit {kit.id}; test by NGS if required"
            continue
        wells = by_mix.get(assay.mix, [])
        ic_channel = kit.ic_channel(assay.mix)
        draft.cutoff = assay.cutoff.value
        draft.ct_reference = reference.ct
        draft.evidence = {
            "run_id": table.run_id,
            "mix": assay.mix,
            "channel": assay.channel,
            "wells": [e.well for e in wells],
            "reference_wells": list(reference.wells),
            "ic_channel": ic_channel,
        }
        if not wells:
            draft.status, draft.reasons = CallStatus.INVALID, [Reason.MISSING_WELL]
            draft.reasons += [Reason.MAP_EXPORT_MISMATCH] if mismatches else []
            draft.action = f"mix {assay.mix} for {sample_id} is not in the plate map"
            continue
        cts = [table.get(e.well, assay.channel) for e in wells]
        ics = [table.get_vouching(e.well, ic_channel) if ic_channel else math.nan for e in wells]
        draft.ct_mutation = clean_ct(cts[0]) if len(cts) == 1 else _mean(cts)
        draft.ct_ic = clean_ct(ics[0]) if len(ics) == 1 else _mean(ics)
        flagged = {
            f"{e.well} {channel}": ";".join(table.flags[e.well, channel])
            for e in wells
            for channel in (assay.channel, ic_channel)
            if channel
            and (e.well, channel) in table.flags
            and not math.isnan(table.get(e.well, channel) or math.nan)
        }
        if flagged:  # the instrument's own flags beside a written Ct (NOAMP, EXPFAIL...)
            draft.evidence["instrument_flags"] = flagged
        if len(wells) > 1:
            draft.evidence["replicates"] = [
                {"well": e.well, "ct_mutation": clean_ct(c), "ct_ic": clean_ct(i)}
                for e, c, i in zip(wells, cts, ics, strict=True)
            ]
        if mismatches:
            # a swapped label or a misplaced mix: every call may be another patient's or
            # another target's, so the whole sample is the unit that is in doubt
            draft.evidence["map_export_mismatch"] = list(mismatches)
        if run_reasons:
            draft.status, draft.reasons = CallStatus.INVALID, list(run_reasons)
            draft.action = failed_run_action or run_action(run_reasons, (), kit)
            if mismatches:
                draft.reasons.append(Reason.MAP_EXPORT_MISMATCH)
            continue
        if mismatches:
            draft.status, draft.reasons = CallStatus.INVALID, [Reason.MAP_EXPORT_MISMATCH]
            draft.action = MAP_MISMATCH_ACTION
            continue
        if reference.invalid and not _overload_tolerated(reference, kit):
            draft.status, draft.reasons = CallStatus.INVALID, [reference.invalid]
            draft.action = reference.action
            continue
        assert reference.ct is not None
        if kit.reference_mode == "in_well":
            own_cts = [table.get_vouching(e.well, kit.reference_channel) for e in wells]
            draft.ct_reference = _mean(own_cts)
            outcomes = [
                _call_in_well(entry.well, ct, own, ic, assay, kit, ntc_ic.get(assay.mix))
                for entry, ct, own, ic in zip(wells, cts, own_cts, ics, strict=True)
            ]
        else:
            outcomes = [
                call_target(ct, reference.ct, ic, assay, kit, ntc_ic.get(assay.mix))
                for ct, ic in zip(cts, ics, strict=True)
            ]
        outcome = _combine_replicates(outcomes, assay, kit)
        draft.status, draft.reasons = outcome.status, list(outcome.reasons)
        draft.delta_ct, draft.action = outcome.delta_ct, outcome.action
        draft.lod95 = outcome.lod95
    _apply_groups(drafts, kit)
    if _overload_tolerated(reference, kit) and not mismatches:
        # overload raises the false-positive risk (wild-type leakage), not the false-negative one
        for draft in drafts.values():
            if (
                draft.status is not CallStatus.NOT_DETECTED
                and Reason.NOT_TESTED not in draft.reasons
            ):
                draft.status, draft.reasons = CallStatus.INVALID, [Reason.REF_CT_LOW]
                draft.action = reference.action
    calls = []
    for draft in drafts.values():
        _finish_draft(draft, reference, kit)
        calls.append(_to_call(sample_id, draft))
    sample_invalid = (
        bool(run_reasons)
        or bool(mismatches)
        or (reference.invalid is not None and not _overload_tolerated(reference, kit))
    )
    status = derive_sample_status(calls, sample_invalid=sample_invalid)
    details = {
        "run_id": table.run_id,
        "reference_ct": reference.ct,
        "reference_replicate_cts": [clean_ct(c) for c in reference.replicate_cts],
        "genome_copies_estimate": None
        if reference.genome_copies is None
        else round(reference.genome_copies),
        "low_input": reference.low_input,
        "achieved_lod95": reference.lod95
        if reference.low_input
        else (None if reference.ct is None or reference.invalid else kit.reportable_fraction.value),
        "run_invalid_reasons": [r.value for r in run_reasons],
        **({"map_export_mismatch": list(mismatches)} if mismatches else {}),
    }
    return SampleReport(
        sample_id=sample_id,
        method=Method.PCR,
        status=status,
        summary=_summary(status, calls, reference, run_reasons, panel, kit, mismatches),
        calls=tuple(calls),
        source=", ".join(table.sources),
        details=details,
    )


def _call_in_well(
    well: str,
    ct_mutation: float | None,
    ct_reference: float | None,
    ct_ic: float | None,
    assay: AssaySettings,
    kit: Kit,
    ntc_ic: float | None = None,
) -> TargetOutcome:
    """Level 3 for one well of an in_well kit: the well's own reference channel passes the
    reference window before its delta-Ct counts, since the sample's mean can hide one well with
    too little (or no) DNA; a negative in a well under full sensitivity is LOW_INPUT."""
    own = evaluate_reference([ct_reference], kit)
    if own.invalid and not _overload_tolerated(own, kit):
        return TargetOutcome(
            CallStatus.INVALID, (own.invalid,), action=f"well {well}: {own.action}"
        )
    assert own.ct is not None
    outcome = call_target(ct_mutation, own.ct, ct_ic, assay, kit, ntc_ic)
    if own.invalid and outcome.status is not CallStatus.NOT_DETECTED:
        # overload tolerated for negatives only: wild-type leakage can fake a positive
        return TargetOutcome(
            CallStatus.INVALID, (own.invalid,), outcome.delta_ct, f"well {well}: {own.action}"
        )
    if own.low_input and outcome.status is CallStatus.NOT_DETECTED:
        return TargetOutcome(
            CallStatus.INDETERMINATE,
            (Reason.LOW_INPUT, *outcome.reasons),
            outcome.delta_ct,
            action=f"well {well}: {own.action}",
            lod95=own.lod95,
        )
    return outcome


def run_action(run_reasons: Sequence[Reason], checks: Sequence[QcCheck], kit: Kit) -> str:
    """What to do about a failed run, the first cause first: the map, then a control the export
    or the map lacks (named, as the run QC rows name it), then repeating or re-analysing."""
    if Reason.MAP_EXPORT_MISMATCH in run_reasons:
        # the control wells may hold something else than the map says: the map comes first
        others: list[Reason] = [r for r in run_reasons if r is not Reason.MAP_EXPORT_MISMATCH]
        then = f"; then {run_action(others, checks, kit)}" if others else ""
        return MAP_MISMATCH_ACTION + then
    if Reason.MISSING_CONTROL in run_reasons:
        # a control that is not there cannot be judged: find it before judging the others
        missing = [f"{c.check} {c.subject}" for c in checks if c.reason is Reason.MISSING_CONTROL]
        rest: list[Reason] = [r for r in run_reasons if r is not Reason.MISSING_CONTROL]
        then = f"; then {run_action(rest, checks, kit)}" if rest else ""
        named = f" (missing: {', '.join(missing)})" if missing else ""
        return f"{MISSING_CONTROL_ACTION}{named}{then}"
    if all(r in _REANALYSIS for r in run_reasons):
        # the amplification was fine: the Cts were read with the wrong analysis settings
        settings = " and ".join(_REANALYSIS[r] for r in run_reasons)
        return f"re-analyse the run with {settings} and export it again"
    thresholds = _text_thresholds(kit)
    return "repeat the run: " + "; ".join(r.describe(thresholds) for r in run_reasons)


def _text_thresholds(kit: Kit) -> dict[str, float]:
    """The numbers a reason's sentence may name, as the run's thresholds record them."""
    return {"reportable_fraction": kit.reportable_fraction.value}


def _overload_tolerated(reference: ReferenceOutcome, kit: Kit) -> bool:
    return (
        reference.invalid is Reason.REF_CT_LOW
        and kit.overload_policy == "invalidate_positives_only"
    )


def _mean(values: Sequence[float | None]) -> float | None:
    amplified = [v for v in values if v is not None and not math.isnan(v)]
    return statistics.fmean(amplified) if amplified else None


def _finish_draft(draft: _Draft, reference: ReferenceOutcome, kit: Kit) -> None:
    """Level 2 consequences for negatives (LOW_INPUT, discordant reference) and level 5."""
    assay = kit.assays.get(draft.hotspot.name)
    if assay is None or draft.status is CallStatus.INVALID:
        return
    if draft.status is CallStatus.NOT_DETECTED:
        if reference.low_input:
            draft.status = CallStatus.INDETERMINATE
            draft.reasons.insert(0, Reason.LOW_INPUT)
            draft.action = reference.action
            draft.lod95 = reference.lod95
        elif reference.discordant:
            draft.status = CallStatus.INDETERMINATE
            draft.reasons.insert(0, Reason.REPLICATE_DISCORDANT)
            draft.action = "re-test: the reference replicates disagree"
        else:
            draft.lod95 = kit.reportable_fraction.value
    if draft.status is CallStatus.DETECTED and draft.delta_ct is not None:
        fraction, interval, method = estimate_fraction(
            draft.delta_ct, assay, reference.genome_copies
        )
        draft.evidence.update(
            {
                "allele_fraction": fraction,
                "allele_fraction_ci95": list(interval),
                "fraction_method": method,
                "semi_quantitative": True,
            }
        )
        if reference.low_input:
            draft.evidence["note"] = "detected despite low input"


def _to_call(sample_id: str, draft: _Draft) -> Call:
    fraction = draft.evidence.pop("allele_fraction", None)
    interval = draft.evidence.pop("allele_fraction_ci95", None)
    return Call(
        sample_id=sample_id,
        hotspot=draft.hotspot.name,
        method=Method.PCR,
        status=draft.status,
        reasons=tuple(dict.fromkeys(draft.reasons)),
        hgvs_c=draft.hotspot.hgvs_c,
        hgvs_p=draft.hotspot.hgvs_p,
        action=draft.action,
        allele_fraction=fraction,
        allele_fraction_ci95=(interval[0], interval[1]) if interval else None,
        lod95=draft.lod95,
        delta_ct=None if draft.delta_ct is None else round(draft.delta_ct, 4),
        ct_mutation=draft.ct_mutation,
        ct_reference=draft.ct_reference,
        ct_ic=draft.ct_ic,
        cutoff=draft.cutoff,
        evidence=draft.evidence,
    )


def _summary(
    status: Any,
    calls: Sequence[Call],
    reference: ReferenceOutcome,
    run_reasons: tuple[Reason, ...],
    panel: Panel,
    kit: Kit,
    mismatches: Sequence[str],
) -> str:
    fraction = exact_percent(kit.reportable_fraction.value)
    thresholds = _text_thresholds(kit)
    detected = [c for c in calls if c.status is CallStatus.DETECTED]
    if detected:
        parts = [
            f"{c.hotspot} (~{c.allele_fraction:.2%}, semi-quantitative)"
            if c.allele_fraction is not None
            else c.hotspot
            for c in detected
        ]
        other = [
            c
            for c in calls
            if c.status in (CallStatus.INDETERMINATE, CallStatus.INVALID)
            and Reason.NOT_TESTED not in c.reasons
        ]
        reasons = sorted({c.reasons[0].value for c in other if c.reasons})
        tail = (
            f"; {len(other)} other hotspot(s) not evaluable ({', '.join(reasons)})" if other else ""
        )
        return f"ESR1 mutation(s) detected: {', '.join(parts)}{tail}."
    if run_reasons:
        return "Invalid run: " + "; ".join(r.describe(thresholds) for r in run_reasons) + "."
    if mismatches:
        return (
            f"Invalid: the plate map and the export's names disagree ({'; '.join(mismatches)}); "
            f"action: {MAP_MISMATCH_ACTION}."
        )
    if reference.invalid:
        invalid = reference.invalid.describe(thresholds)
        return f"Invalid: {invalid}; action: {reference.action}."
    tested = [c for c in calls if Reason.NOT_TESTED not in c.reasons]
    if (
        tested
        and all(c.status is CallStatus.NOT_DETECTED for c in tested)
        and len(tested) == len(calls)
    ):
        return (
            f"No ESR1 mutation detected among the {len(calls)} hotspots tested (reference Ct "
            f"{reference.ct:.2f}: input sufficient for the {fraction} limit of detection)."
        )
    if reference.low_input:
        return f"No mutation detected, but {fraction} cannot be excluded: {reference.action}."
    unresolved = [c for c in calls if c.status is not CallStatus.NOT_DETECTED]
    reasons = sorted({r.value for c in unresolved for r in c.reasons})
    return (
        f"Indeterminate: {', '.join(c.hotspot for c in unresolved)} not evaluable "
        f"({', '.join(reasons)}); no mutation detected in the others."
    )


# ----------------------------------------------------------------------------- one run
def ntc_ic_by_mix(table: CtTable, entries: Sequence[MapEntry], kit: Kit) -> dict[str, float]:
    """The median IC Ct of each mix's NTC wells: what an uninhibited IC reads on this run."""
    found: dict[str, list[float]] = {}
    for entry in entries:
        channel = kit.ic_channel(entry.mix) if entry.role is WellRole.NTC else None
        ct = table.get_vouching(entry.well, channel) if channel else None
        if ct is not None and _amplified(ct, kit.ic_ct_max.value):
            found.setdefault(entry.mix, []).append(ct)
    return {mix: statistics.median(cts) for mix, cts in found.items()}


def interpret_run(
    table: CtTable,
    entries: Sequence[MapEntry],
    kit: Kit,
    panel: Panel,
    *,
    names: NameCheck | None = None,
    trust_map: bool = False,
) -> tuple[list[SampleReport], list[QcCheck]]:
    """Every level for one run: the controls and the plate map against the export's names first,
    then each SAMPLE in plate-map order.

    ``names``: the comparison of the export's names with the map (made here when None). A
    contradiction makes the samples it concerns INVALID MAP_EXPORT_MISMATCH, and the run when it
    concerns a control well; ``trust_map`` keeps the map's word (the checks still show them).
    """
    if names is None:
        names = compare_names(entries, table.sample_names, table.target_names, kit)
    checks, run_reasons = evaluate_run_controls(table, entries, kit)
    checks += name_checks(table.run_id, names, trust_map)
    samples = [e for e in entries if e.role is WellRole.SAMPLE]
    doubted: dict[str, list[NameMismatch]] = {}
    if not trust_map:
        for mismatch in names.mismatches:
            # a contradicted control well is in every sample's evidence: it voids the run
            concerned = {e.sample_id for e in samples} if mismatch.control else mismatch.samples
            for sample_id in concerned:
                doubted.setdefault(sample_id, []).append(mismatch)
        if any(m.control for m in names.mismatches):
            failed = {*run_reasons, Reason.MAP_EXPORT_MISMATCH}
            run_reasons = tuple(r for r in RUN_REASON_ORDER if r in failed)
    ntc_ic = ntc_ic_by_mix(table, entries, kit) if kit.ic_delay_max else {}
    failed_run_action = run_action(run_reasons, checks, kit) if run_reasons else ""
    wells_of: dict[str, list[MapEntry]] = {}  # each sample's entries, in plate-map order
    for entry in samples:
        wells_of.setdefault(entry.sample_id, []).append(entry)
    reports = [
        interpret_sample(
            sample_id,
            sample_entries,
            table,
            kit,
            panel,
            run_reasons,
            ntc_ic,
            describe_mismatches(doubted.get(sample_id, ())),
            failed_run_action,
        )
        for sample_id, sample_entries in wells_of.items()
    ]
    return reports, checks


def name_checks(run_id: str, names: NameCheck, trust_map: bool) -> list[QcCheck]:
    """The run QC rows of the comparison: what was compared, then each contradiction."""
    overridden = " (--trust-map: the map is trusted)" if trust_map else ""
    checks = []
    for subject, counts, unit in (
        ("sample names", names.samples, "wells"),
        ("target names", names.targets, "well channels"),
    ):
        total = sum(counts.values())
        shown = ", ".join(f"{counts[v]} {v}" for v in ("agree", "contradict", "unknown", "generic"))
        checks.append(
            QcCheck(
                run_id,
                "map vs export",
                subject,
                f"{total} {unit}: {shown}" if total else "the export names none",
                f"no contradiction{overridden}",
                trust_map or not counts["contradict"],
                None if trust_map or not counts["contradict"] else Reason.MAP_EXPORT_MISMATCH,
            )
        )
    for mismatch in names.mismatches:
        checks.append(
            QcCheck(
                run_id,
                "map vs export",
                f"well {mismatch.well} {mismatch.subject}",
                mismatch.exported,
                f"{mismatch.expected}{overridden}",
                trust_map,
                None if trust_map else Reason.MAP_EXPORT_MISMATCH,
            )
        )
    return checks
