# Size: about 950 lines: call_dpcr and its wiring (an export's wells held against the plate map,
# one run's wells to calls); the readers, assays, partition statistics and rules are apart.
"""Digital PCR: exports, assays, partition statistics and calls (docs/dpcr.md).

``read_export`` recognises an export by its content and reads it into the common well table
(``wells.py``); ``call_dpcr`` holds each run's wells against its plate map and assay set,
applies the rules of ``rules.py`` and returns one ``RunResult`` for ``report.write_reports``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType
from typing import Any

from ..errors import InputError, UnknownFormatError
from ..hotspots import EXTENDED_PANEL, Panel, load_panel
from ..model import (
    Call,
    CallStatus,
    Dropped,
    InputFile,
    Method,
    QcCheck,
    Reason,
    RunResult,
    SampleReport,
    WellRole,
    derive_sample_status,
)
from ..pcr.platemap import CONTROL_NAMES, GENERIC_NAMES
from ..plates._source import Export, head_text
from ..text import exact_percent
from . import absoluteq, qiacuity, quantasoft, qxmanager
from .assays import Assay, AssaySet, AssaySettings, load_assays
from .partitions import copies_per_partition
from .platemap import DpcrMap, DpcrMapEntry, read_dpcr_map
from .rules import (
    REQUIRED_POWER,
    RUN_REASON_ORDER,
    AssayOutcome,
    Background,
    WellCounts,
    evaluate_assay,
    evaluate_controls,
    inherit,
    minimum_partitions,
    plasma_copies,
    well_fraction,
)
from .wells import Combinations, DpcrExport, TargetRow

__all__ = ["DPCR_FORMATS", "READERS", "call_dpcr", "read_export", "sniff_export"]

log = logging.getLogger(__name__)

# most specific first: every one of them is a header of its own
READERS: dict[str, ModuleType] = {
    quantasoft.FORMAT_ID: quantasoft,
    qxmanager.FORMAT_ID: qxmanager,
    qiacuity.FORMAT_ID: qiacuity,
    absoluteq.FORMAT_ID: absoluteq,
}
DPCR_FORMATS: tuple[str, ...] = tuple(READERS)
# the export's concentrations are rounded (QuantaSoft: 3 significant digits)
VOLUME_TOLERANCE = 0.02
PLACEHOLDER_NOTICE = (
    "Assay set {assays} uses PLACEHOLDER values (example assays, not clinical): calls are for "
    "testing only until the lab replaces them with its assays' instructions or its own "
    "validation."
)


def sniff_export(path: str | Path) -> str:
    """The format id of a dPCR export, from its content."""
    return _sniff(Export.read(Path(path)))


def _sniff(export: Export) -> str:
    head = head_text(export)
    for fmt, reader in READERS.items():
        if reader.sniff(head):
            return fmt
    expected = "; ".join(reader.LABEL for reader in READERS.values())
    raise UnknownFormatError(
        export.path,
        f"not a recognised digital PCR export (expected one of: {expected}). Pass --format if "
        "you know it.",
    )


def read_export(path: str | Path, fmt: str | None = None) -> DpcrExport:
    """Read one dPCR export (its format detected from its content unless ``fmt`` is given).

    The file is read from disk once; the sniffer and the reader see those bytes, and the export
    carries their sha256 (what was interpreted, even if the file changes after)."""
    path = Path(path)
    if fmt is None or fmt == "auto":
        export_file = Export.read(path)
        chosen = _sniff(export_file)
        log.info("Detected dPCR export: %s (%s)", READERS[chosen].LABEL, chosen)
    elif fmt in READERS:
        chosen = fmt
        export_file = Export.read(path)
    else:
        raise UnknownFormatError(
            path, f"unknown dPCR export format {fmt!r}; use one of: {', '.join(DPCR_FORMATS)}"
        )
    export: DpcrExport = READERS[chosen].read(export_file)
    return replace(export, sha256=export_file.sha256)


# ----------------------------------------------------------------------------- export -> wells
def _assay_targets(assay: Assay) -> str:
    return ", ".join(f"{c} {assay.target_of(c)}" for c in assay.channels)


def _combination_counts(
    combinations: Combinations | None, assay: Assay, assay_set: AssaySet
) -> int | None:
    """k_R+W− of a drop-off well: reference-positive, wild-type-negative partitions."""
    if combinations is None:
        return None
    canonical = {d: assay_set.canonical_channel(d) for d in combinations.channels}
    ref = [d for d, c in canonical.items() if c == assay.mutant_channel]
    wild = [d for d, c in canonical.items() if c == assay.wild_type_channel]
    if len(ref) != 1 or len(wild) != 1:
        return None
    return combinations.count(ref, wild)


@dataclass(frozen=True)
class _Mapped:
    """One run's export held against its plate map."""

    wells: list[WellCounts]
    dropped: list[Dropped]
    mismatches: list[tuple[DpcrMapEntry, str]]  # (entry, what contradicts the map)
    rows_of: Mapping[str, Sequence[TargetRow]]


def _channel_rows(
    rows: Sequence[TargetRow], assay: Assay, assay_set: AssaySet
) -> tuple[dict[str, TargetRow], list[str], list[TargetRow]]:
    """The rows of one well by the assay's channels; contradictions; rows of no channel."""
    targets = assay_set.target_names
    found: dict[str, list[TargetRow]] = {}
    contradictions: list[str] = []
    unplaced: list[TargetRow] = []
    for row in rows:
        named = targets.get(row.target.casefold()) if row.target else None
        if row.dye:
            channel = assay_set.canonical_channel(row.dye)
            if named is not None and named != (assay.name, channel):
                contradictions.append(
                    f"the export names target {row.target!r} in {row.dye} (assay {named[0]} "
                    f"{named[1]}); the map's assay {assay.name} has "
                    f"{assay.target_of(channel) if channel in assay.channels else 'nothing'} there"
                )
        elif named is not None:
            channel = named[1] if named[0] == assay.name else None
            if named[0] != assay.name:
                contradictions.append(
                    f"the export names target {row.target!r} (assay {named[0]}); the map's "
                    f"assay is {assay.name}"
                )
        else:
            channel = None
        if channel in assay.channels:
            found.setdefault(str(channel), []).append(row)
        else:
            unplaced.append(row)
    chosen: dict[str, TargetRow] = {}
    for channel, candidates in found.items():
        exact = [
            r for r in candidates if r.target.casefold() == assay.target_of(channel).casefold()
        ]
        pick = exact if len(candidates) > 1 else candidates
        if len(pick) == 1:
            chosen[channel] = pick[0]
        else:
            unplaced.extend(candidates)
    return chosen, contradictions, unplaced


def _well_counts(
    entry: DpcrMapEntry,
    label: str,
    rows: Sequence[TargetRow],
    combinations: Combinations | None,
    assay: Assay,
    assay_set: AssaySet,
    source: str,
) -> tuple[WellCounts, list[str], list[TargetRow]]:
    chosen, contradictions, unplaced = _channel_rows(rows, assay, assay_set)
    base = WellCounts(label, entry.role, entry.sample_id, entry.assay)
    lacking = [c for c in assay.channels if c not in chosen]
    sources = tuple(f"{source} row {r.source_row}" for r in chosen.values())
    if lacking:
        names = ", ".join(f"{c} ({assay.target_of(c)})" for c in lacking)
        why = f"no usable {names} row in the export"
        if unplaced and not any(r.dye for r in unplaced):
            shown = ", ".join(repr(r.target) for r in unplaced)
            why += (
                f" (its rows name {shown}; the export has no dye column, so targets are "
                "matched by name)"
            )
        return replace(base, missing=why, sources=sources), contradictions, unplaced
    partitions = next(iter(chosen.values())).partitions
    positives = {c: r.positives for c, r in chosen.items()}
    wild_type = positives[assay.wild_type_channel]
    if assay.drop_off:
        mutant = _combination_counts(combinations, assay, assay_set)
    else:
        mutant = positives[assay.mutant_channel]
    counts = replace(
        base,
        partitions=partitions,
        mutant=mutant,
        wild_type=wild_type,
        positives=positives,
        sources=sources,
    )
    return counts, contradictions, unplaced


def _map_wells(export: DpcrExport, entries: Sequence[DpcrMapEntry], assay_set: AssaySet) -> _Mapped:
    source = export.path.name
    rows_of: dict[str, list[TargetRow]] = {}
    merged: dict[str, list[TargetRow]] = {}
    for row in export.rows:
        (merged if row.members else rows_of).setdefault(row.well, []).append(row)
    by_well = {e.well: e for e in entries}
    wells: list[WellCounts] = []
    dropped: list[Dropped] = []
    mismatches: list[tuple[DpcrMapEntry, str]] = []
    used_merged: set[str] = set()
    for entry in entries:
        if entry.role is WellRole.EMPTY:
            continue
        assay = assay_set.assays[entry.assay]
        rows = rows_of.get(entry.well)
        if rows:
            counts, contradictions, unplaced = _well_counts(
                entry,
                entry.well,
                rows,
                export.combinations.get(entry.well),
                assay,
                assay_set,
                source,
            )
        else:
            group = next((m for m, r in merged.items() if entry.well in r[0].members), None)
            if group is None:
                wells.append(
                    WellCounts(
                        entry.well,
                        entry.role,
                        entry.sample_id,
                        entry.assay,
                        missing="not in the export",
                    )
                )
                continue
            if group in used_merged:
                continue  # counted once, with the first of its members in the map
            used_merged.add(group)
            members = merged[group][0].members
            others = [by_well.get(w) for w in members]
            if any(
                o is None
                or (o.sample_id, o.role, o.assay) != (entry.sample_id, entry.role, entry.assay)
                for o in others
            ):
                shown = ", ".join(
                    f"{w} ({o.sample_id} {o.assay})" if o else f"{w} (not in the map)"
                    for w, o in zip(members, others, strict=True)
                )
                mismatches.append(
                    (entry, f"merged well {group} joins {shown}: not one sample and assay")
                )
                wells.append(
                    WellCounts(
                        entry.well,
                        entry.role,
                        entry.sample_id,
                        entry.assay,
                        missing=f"merged well {group} joins other wells",
                    )
                )
                continue
            counts, contradictions, unplaced = _well_counts(
                entry,
                f"{group} ({'+'.join(members)})",
                merged[group],
                export.combinations.get(group),
                assay,
                assay_set,
                source,
            )
            counts = replace(counts, stands_for=members)
        wells.append(counts)
        mismatches.extend((entry, c) for c in contradictions)
        for row in unplaced:
            dye = f" {row.dye}" if row.dye else ""
            target = f" {row.target!r}" if row.target else ""
            dropped.append(
                Dropped(
                    source,
                    f"row {row.source_row}",
                    f"well {row.well}{dye}{target}: not a channel or target of assay "
                    f"{assay.name} ({_assay_targets(assay)})",
                )
            )
    mapped = {e.well for e in entries if e.role is not WellRole.EMPTY}
    empty = {e.well for e in entries if e.role is WellRole.EMPTY}
    for row in export.rows:
        wells_of_row = row.members or (row.well,)
        place = f"row {row.source_row}, well {row.well}"
        if any(w in mapped for w in wells_of_row):
            continue
        if merged.get(row.well) and row.well in used_merged:
            continue
        if all(w in empty for w in wells_of_row):
            dropped.append(Dropped(source, place, "EMPTY in the plate map"))
        else:
            dropped.append(Dropped(source, place, "has data but is not in the plate map"))
    return _Mapped(wells, dropped, mismatches, rows_of)


# ----------------------------------------------------------------------------- the map's names
def _folded(text: str) -> str:
    return " ".join(text.casefold().split())


_GENERIC = re.compile("|".join(f"(?:{p})" for p in GENERIC_NAMES))


def _name_mismatches(
    entries: Sequence[DpcrMapEntry], rows_of: Mapping[str, Sequence[TargetRow]]
) -> list[tuple[DpcrMapEntry, str]]:
    """Wells whose exported sample name contradicts the map: another sample's id (a swap), or
    a control's name that the map's role does not fit (the PCR plate map's rule)."""
    ids = {_folded(e.sample_id): e for e in entries if e.role is not WellRole.EMPTY}
    found = []
    for entry in entries:
        if entry.role is WellRole.EMPTY:
            continue
        for name in dict.fromkeys(r.sample_name for r in rows_of.get(entry.well, ())):
            folded = _folded(name)
            if not folded or folded == _folded(entry.sample_id):
                continue
            if _GENERIC.fullmatch(folded) or folded.endswith(entry.well.lower()):
                continue
            words = " ".join(folded.replace("-", " ").replace("_", " ").split())
            roles = CONTROL_NAMES.get(words) or CONTROL_NAMES.get(words.rstrip("0123456789 "))
            if roles is not None:
                if entry.role not in roles:
                    fits = " or ".join(sorted(r.value for r in roles))
                    found.append(
                        (
                            entry,
                            f"well {entry.well}: the export names {name!r} (a name "
                            f"for {fits}), the map {entry.sample_id} "
                            f"({entry.role.value})",
                        )
                    )
                continue
            other = ids.get(folded)
            if other is not None and other.sample_id != entry.sample_id:
                found.append(
                    (
                        entry,
                        f"well {entry.well}: the export names {name!r} (in the "
                        f"map, {other.sample_id} is in {other.well}), the map "
                        f"{entry.sample_id} ({entry.role.value})",
                    )
                )
    return found


# ----------------------------------------------------------------------------- one run
@dataclass(frozen=True)
class _Run:
    samples: list[SampleReport]
    checks: list[QcCheck]
    dropped: list[Dropped]
    notices: list[str]
    layout: dict[str, Any]


def _hotspot_calls(
    sample_id: str,
    outcomes: Mapping[str, AssayOutcome],
    assay_set: AssaySet,
    panel: Panel,
    regions: Sequence[str],
) -> list[Call]:
    calls: list[Call] = []
    for hotspot in panel:
        specific = assay_set.specific_assay(hotspot.name)
        region = next(
            (
                name
                for name in regions
                if hotspot.name in assay_set.assays[name].hotspots and name in outcomes
            ),
            None,
        )
        if specific is not None and specific.name in outcomes:
            outcome = outcomes[specific.name]
            status, reasons, action = outcome.status, outcome.reasons, outcome.action
            evidence = dict(outcome.evidence)
            if region is not None:
                evidence["decided_by"] = (
                    f"the specific assay {specific.name}; region {region} is reported as measured"
                )
        elif region is not None:
            outcome = outcomes[region]
            status, reasons, action = inherit(outcome)
            evidence = {**outcome.evidence, "decided_by": f"inherited from region call {region}"}
        else:
            tested = ", ".join(sorted(outcomes)) or "none"
            calls.append(
                Call(
                    sample_id,
                    hotspot.name,
                    Method.DPCR,
                    CallStatus.INDETERMINATE,
                    (Reason.NOT_TESTED,),
                    hotspot.hgvs_c,
                    hotspot.hgvs_p,
                    action="test by a specific assay or NGS if required",
                    evidence={"assays_tested": tested},
                )
            )
            continue
        calls.append(
            _call(
                sample_id,
                hotspot.name,
                hotspot.hgvs_c,
                hotspot.hgvs_p,
                outcome,
                status,
                reasons,
                action,
                evidence,
            )
        )
    for name in regions:
        assay = assay_set.assays[name]
        if name in outcomes:
            outcome = outcomes[name]
            evidence = {
                **outcome.evidence,
                "region": assay.region,
                "hotspots": list(assay.hotspots),
            }
            calls.append(
                _call(
                    sample_id,
                    name,
                    "",
                    "",
                    outcome,
                    outcome.status,
                    outcome.reasons,
                    outcome.action,
                    evidence,
                )
            )
        else:
            calls.append(
                Call(
                    sample_id,
                    name,
                    Method.DPCR,
                    CallStatus.INDETERMINATE,
                    (Reason.NOT_TESTED,),
                    action="test by the drop-off assay, a specific assay or NGS if required",
                    evidence={"region": assay.region, "hotspots": list(assay.hotspots)},
                )
            )
    return calls


def _call(
    sample_id: str,
    name: str,
    hgvs_c: str,
    hgvs_p: str,
    outcome: AssayOutcome,
    status: CallStatus,
    reasons: tuple[Reason, ...],
    action: str | None,
    evidence: Mapping[str, Any],
) -> Call:
    evaluated = status is not CallStatus.INVALID
    return Call(
        sample_id=sample_id,
        hotspot=name,
        method=Method.DPCR,
        status=status,
        reasons=tuple(dict.fromkeys(reasons)),
        hgvs_c=hgvs_c,
        hgvs_p=hgvs_p,
        action=action if status in (CallStatus.INDETERMINATE, CallStatus.INVALID) else None,
        allele_fraction=outcome.fraction if evaluated else None,
        allele_fraction_ci95=outcome.fraction_ci95 if evaluated else None,
        alt_count=outcome.mutant,
        depth=outcome.partitions,
        lod95=outcome.lod95 if evaluated else None,
        evidence=evidence,
    )


def _summary(
    status: Any,
    calls: Sequence[Call],
    run_reasons: tuple[Reason, ...],
    outcomes: Mapping[str, AssayOutcome],
    assay_set: AssaySet,
    panel: Panel,
    thresholds: Mapping[str, Any],
) -> str:
    fraction = exact_percent(assay_set.reportable_fraction.value)
    hotspots = [c for c in calls if c.hotspot in panel]
    tested = ", ".join(h.name for h in panel)
    if run_reasons:
        return "Invalid run: " + "; ".join(r.describe(thresholds) for r in run_reasons) + "."
    detected = [c for c in hotspots if c.status is CallStatus.DETECTED]
    unresolved = [c for c in hotspots if Reason.ALLELE_NOT_RESOLVED in c.reasons]
    regions = [c for c in calls if c.hotspot not in panel and c.status is CallStatus.DETECTED]
    if detected or regions:
        parts = [
            f"{c.hotspot} ({c.allele_fraction:.2%}, 95 % CI {c.allele_fraction_ci95[0]:.2%}"
            f"-{c.allele_fraction_ci95[1]:.2%})"
            if c.allele_fraction is not None and c.allele_fraction_ci95 is not None
            else c.hotspot
            for c in detected
        ]
        for region in regions:
            assay = assay_set.assays[region.hotspot]
            where = f", {assay.region}," if assay.region else ""
            names = ", ".join(c.hotspot for c in unresolved) or "none left undecided"
            parts.append(
                f"region {region.hotspot}{where} positive, allele not resolved ({names}: "
                "confirm by a specific assay or NGS)"
            )
        other = [
            c
            for c in hotspots
            if c.status in (CallStatus.INDETERMINATE, CallStatus.INVALID)
            and Reason.ALLELE_NOT_RESOLVED not in c.reasons
            and Reason.NOT_TESTED not in c.reasons
        ]
        codes = sorted({c.reasons[0].value for c in other if c.reasons})
        tail = (
            f"; {len(other)} other hotspot(s) not evaluable ({', '.join(codes)})" if other else ""
        )
        return f"ESR1 mutation(s) detected by dPCR: {'; '.join(parts)}{tail}."
    if status.value == "NEGATIVE":
        return (
            f"No ESR1 mutation detected by dPCR in the {len(hotspots)} hotspots its assays "
            f"cover ({tested}): each excluded at {fraction} with >= "
            f"{exact_percent(REQUIRED_POWER)} probability."
        )
    if status.value == "INVALID":
        codes = sorted({o.reasons[0].value for o in outcomes.values() if o.reasons})
        actions = "; ".join(dict.fromkeys(o.action for o in outcomes.values() if o.action))
        return f"Invalid: every assay failed ({', '.join(codes)}); action: {actions}."
    open_calls = [c for c in hotspots if c.status is not CallStatus.NOT_DETECTED]
    excluded = [c.hotspot for c in hotspots if c.status is CallStatus.NOT_DETECTED]
    codes = sorted({r.value for c in open_calls for r in c.reasons[:1]})
    rest = (
        f"no mutation detected in the others ({', '.join(excluded)})"
        if excluded
        else "no hotspot could be excluded"
    )
    return (
        f"Indeterminate: {', '.join(c.hotspot for c in open_calls)} not evaluable "
        f"({', '.join(codes)}); {rest}."
    )


def _interpret_run(
    export: DpcrExport,
    entries: Sequence[DpcrMapEntry],
    assay_set: AssaySet,
    panel: Panel,
    regions: Sequence[str],
    thresholds: Mapping[str, Any],
) -> _Run:
    run_id = export.run_id
    mapped = _map_wells(export, entries, assay_set)
    mismatches = mapped.mismatches + _name_mismatches(entries, mapped.rows_of)
    used_assays = list(dict.fromkeys(e.assay for e in entries if e.role is not WellRole.EMPTY))
    settings: dict[str, AssaySettings] = {
        name: assay_set.settings(assay_set.assays[name], export.instrument) for name in used_assays
    }
    tested = list(dict.fromkeys(e.assay for e in entries if e.role is WellRole.SAMPLE))
    checks, run_reasons, backgrounds = evaluate_controls(
        run_id, mapped.wells, assay_set.assays, settings, tested
    )
    for entry, claim in mismatches:
        checks.append(
            QcCheck(
                run_id,
                "map vs export",
                f"well {entry.well}",
                claim,
                f"{entry.sample_id} ({entry.role.value}), assay {entry.assay}",
                False,
                Reason.MAP_EXPORT_MISMATCH,
            )
        )
    if any(e.role is not WellRole.SAMPLE for e, _ in mismatches):
        failed = {*run_reasons, Reason.MAP_EXPORT_MISMATCH}
        run_reasons = tuple(r for r in RUN_REASON_ORDER if r in failed)
    doubted: dict[str, list[str]] = {}
    for entry, claim in mismatches:
        doubted.setdefault(entry.sample_id, []).append(claim)
    samples: list[SampleReport] = []
    outcomes_of: dict[str, dict[str, AssayOutcome]] = {}
    for sample_id in dict.fromkeys(e.sample_id for e in entries if e.role is WellRole.SAMPLE):
        mine = [e for e in entries if e.role is WellRole.SAMPLE and e.sample_id == sample_id]
        outcomes: dict[str, AssayOutcome] = {}
        for name in dict.fromkeys(e.assay for e in mine):
            assay = assay_set.assays[name]
            wells = [
                w
                for w in mapped.wells
                if w.sample_id == sample_id and w.assay == name and w.role is WellRole.SAMPLE
            ]
            outcome = evaluate_assay(
                sample_id,
                assay,
                settings[name],
                wells,
                backgrounds[name],
                reportable_fraction=assay_set.reportable_fraction.value,
                run_reasons=run_reasons,
                mismatch="; ".join(doubted.get(sample_id, [])),
            )
            volumes = next((e.volumes for e in mine if e.volumes), None)
            copies = outcome.evidence.get("copies_per_ul")
            if volumes is not None and isinstance(copies, Mapping):
                reaction = settings[name].reaction_volume_ul.value
                plasma = {
                    channel: plasma_copies(
                        float(value),
                        reaction,
                        volumes.template_ul,
                        volumes.elution_ul,
                        volumes.plasma_ml,
                    )
                    for channel, value in copies.items()
                }
                outcome = replace(
                    outcome,
                    evidence={
                        **outcome.evidence,
                        "copies_per_ml_plasma": plasma,
                        "volumes": {
                            "plasma_ml": volumes.plasma_ml,
                            "elution_ul": volumes.elution_ul,
                            "template_ul": volumes.template_ul,
                            "reaction_volume_ul": reaction,
                        },
                    },
                )
            outcomes[name] = outcome
        outcomes_of[sample_id] = outcomes
        calls = _hotspot_calls(sample_id, outcomes, assay_set, panel, regions)
        every_failed = bool(outcomes) and all(o.failed for o in outcomes.values())
        status = derive_sample_status(calls, sample_invalid=bool(run_reasons) or every_failed)
        details = {
            "run_id": run_id,
            "instrument": export.instrument,
            "export": export.format,
            "assays": {
                name: {
                    "status": o.status.value,
                    "wells": o.evidence.get("wells", []),
                    **(
                        {
                            "wild_type_copies_per_ml_plasma": o.evidence["copies_per_ml_plasma"][
                                "wild_type"
                            ]
                        }
                        if "copies_per_ml_plasma" in o.evidence
                        else {}
                    ),
                }
                for name, o in outcomes.items()
            },
        }
        summary = _summary(status, calls, run_reasons, outcomes, assay_set, panel, thresholds)
        samples.append(
            SampleReport(
                sample_id,
                Method.DPCR,
                status,
                summary,
                tuple(calls),
                source=export.path.name,
                details=details,
            )
        )
    layout = _layout(
        export, entries, mapped.wells, assay_set, settings, backgrounds, samples, checks
    )
    notices = list(export.notices)
    volume = _volume_notice(export, [settings[name] for name in used_assays])
    if volume:
        notices.append(volume)
    for name in tested:
        used_default = any(
            Reason.DEFAULT_BACKGROUND in outcomes[name].reasons
            for outcomes in outcomes_of.values()
            if name in outcomes
        )
        if used_default:
            notices.append(
                f"Run {run_id}, assay {name}: no usable wild-type control well, so the default "
                f"background p0 = {backgrounds[name].p0:g} was used (DEFAULT_BACKGROUND on its "
                "calls)"
            )
    low = [
        w
        for w in mapped.wells
        if w.role is WellRole.SAMPLE
        and w.partitions is not None
        and w.partitions < minimum_partitions(w, settings[w.assay])
    ]
    for well in low:
        others = [
            w
            for w in mapped.wells
            if w.sample_id == well.sample_id
            and w.assay == well.assay
            and w.role is WellRole.SAMPLE
            and w not in low
        ]
        fate = (
            f"its replicate(s) {', '.join(w.well for w in others)} still count"
            if others
            else "no replicate is left, so the calls of that assay are INVALID"
        )
        notices.append(
            f"Run {run_id}: well {well.well} ({well.sample_id}, {well.assay}) has "
            f"{well.partitions:,} accepted partitions, under the minimum "
            f"{minimum_partitions(well, settings[well.assay]):,}: it is left out (LOW_PARTITIONS); "
            f"{fate}"
        )
    return _Run(samples, checks, [*export.dropped, *mapped.dropped], notices, layout)


def _volume_notice(export: DpcrExport, settings: Sequence[AssaySettings]) -> str | None:
    """When the export's own concentrations imply another partition volume than the assay
    set's: the calls do not depend on it, the copies per µL and per mL do."""
    implied = sorted(
        copies_per_partition(row.positives, row.partitions) / row.concentration * 1000.0
        for row in export.rows
        if row.concentration and 0 < row.positives < row.partitions and row.positives >= 20
    )
    volumes = {s.partition_volume_nl.value for s in settings}
    if not implied or len(volumes) != 1:
        return None
    median = implied[len(implied) // 2]
    used = volumes.pop()
    if abs(median / used - 1) <= VOLUME_TOLERANCE:
        return None
    return (
        f"Run {export.run_id}: the export's own concentrations imply partitions of "
        f"{median:.3g} nL; the assay set computes copies with {used:g} nL. The calls do not "
        "depend on it; the copies per uL and per mL do. If the export is right, set "
        f"partition_volume_nl for instrument {export.instrument} in the assay definition"
    )


def _layout(
    export: DpcrExport,
    entries: Sequence[DpcrMapEntry],
    wells: Sequence[WellCounts],
    assay_set: AssaySet,
    settings: Mapping[str, AssaySettings],
    backgrounds: Mapping[str, Background],
    samples: Sequence[SampleReport],
    checks: Sequence[QcCheck],
) -> dict[str, Any]:
    """The plate as a report draws it: each mapped well with its counts, fraction and QC."""
    status = {s.sample_id: s.status.value for s in samples}
    by_well: dict[str, WellCounts] = {}
    for counted in wells:
        for name in counted.stands_for or (counted.well,):
            by_well[name] = counted
    failed = {
        c.subject.split()[1]: c.reason.value
        for c in checks
        if not c.passed and c.reason and c.subject.startswith("well ")
    }
    out = []
    for entry in entries:
        row: dict[str, Any] = {
            "well": entry.well,
            "sample_id": entry.sample_id,
            "role": entry.role.value,
            "assay": entry.assay,
            "mix": entry.assay,
            "replicate": entry.replicate,
            "sample_status": status.get(entry.sample_id),
        }
        well = by_well.get(entry.well)
        if entry.role is not WellRole.EMPTY and well is not None:
            assay = assay_set.assays[entry.assay]
            qc: list[str] = []
            if well.partitions is None:
                qc.append(Reason.MISSING_WELL.value)
            elif well.partitions < minimum_partitions(well, settings[entry.assay]):
                qc.append(Reason.LOW_PARTITIONS.value)
            if entry.well in failed and failed[entry.well] not in qc:
                qc.append(failed[entry.well])
            fraction, interval = well_fraction(well, assay.drop_off)
            row.update(
                {
                    "partitions": well.partitions,
                    "channels": {
                        channel: {
                            "target": assay.target_of(channel),
                            "positives": well.positives.get(channel),
                            "negatives": None
                            if well.partitions is None or channel not in well.positives
                            else well.partitions - well.positives[channel],
                        }
                        for channel in assay.channels
                    },
                    "mutant_partitions": well.mutant,
                    "fraction": fraction,
                    "fraction_ci95": interval,
                    "p0": backgrounds[entry.assay].p0 if entry.assay in backgrounds else None,
                    "p0_default": backgrounds[entry.assay].default
                    if entry.assay in backgrounds
                    else None,
                    "qc": qc,
                    **({"merged_as": well.well} if well.stands_for else {}),
                    **({"missing": well.missing} if well.missing else {}),
                }
            )
        out.append(row)
    return {
        "run_id": export.run_id,
        "sources": [export.path.name],
        "formats": [export.format],
        "instrument": export.instrument,
        "metadata": dict(export.metadata),
        "wells": out,
    }


# ----------------------------------------------------------------------------- files -> result
def _entries_for(plate_map: DpcrMap, export: DpcrExport) -> tuple[DpcrMapEntry, ...]:
    names = (export.run_id, export.path.name, export.path.stem)
    entries = plate_map.for_plate(*names)
    if not entries:
        raise InputError(
            plate_map.path,
            f"no line has plate {export.run_id!r} (plates in the map: "
            f"{', '.join(plate_map.plates)}); set the plate column to the run id or file name",
        )
    return entries


def call_dpcr(
    exports: Sequence[str | Path | DpcrExport],
    plate_maps: Sequence[str | Path] | str | Path,
    assays: AssaySet | str | Path | None = None,
    fmt: str | None = None,
) -> RunResult:
    """Read dPCR exports (paths or DpcrExports) and plate map(s), call every run: one
    RunResult. Each export is one run; one plate map with a ``plate`` column covers several
    runs, otherwise give one map per run, in the order of the exports."""
    assay_set = assays if isinstance(assays, AssaySet) else load_assays(assays)
    read = [e if isinstance(e, DpcrExport) else read_export(e, fmt) for e in exports]
    map_paths = [plate_maps] if isinstance(plate_maps, str | Path) else list(plate_maps)
    maps = [read_dpcr_map(p, assay_set) for p in map_paths]
    if len(maps) not in (1, len(read)):
        raise InputError(
            maps[0].path,
            f"{len(maps)} plate maps for {len(read)} exports: give one map with a plate "
            "column, or one map per export in the same order",
        )
    if len(maps) == 1 and len(read) > 1 and maps[0].plates == ("",):
        raise InputError(
            maps[0].path,
            f"{len(read)} exports share one plate map without a plate column; add a plate "
            "column or give one map per export",
        )
    runs = [
        (export, _entries_for(maps[i] if len(maps) > 1 else maps[0], export))
        for i, export in enumerate(read)
    ]
    used = {e.assay for _, entries in runs for e in entries if e.role is WellRole.SAMPLE}
    covered = {h for name in used for h in assay_set.assays[name].hotspots}
    panel = load_panel(EXTENDED_PANEL, [h for h in assay_set.hotspots if h in covered])
    regions = [name for name, a in assay_set.assays.items() if a.drop_off and name in used]
    thresholds = _thresholds(assay_set)
    samples: list[SampleReport] = []
    checks: list[QcCheck] = []
    dropped: list[Dropped] = []
    layouts: list[dict[str, Any]] = []
    notices = [PLACEHOLDER_NOTICE.format(assays=assay_set.id)] if assay_set.placeholder else []
    for export, entries in runs:
        run = _interpret_run(export, entries, assay_set, panel, regions, thresholds)
        samples.extend(run.samples)
        checks.extend(run.checks)
        dropped.extend(run.dropped)
        notices.extend(run.notices)
        layouts.append(run.layout)
        log.info(
            "run %s: %d sample(s), %s",
            export.run_id,
            len(run.samples),
            "controls failed" if any(not c.passed for c in run.checks) else "controls passed",
        )
    inputs = [
        InputFile(str(e.path), e.sha256, f"dPCR export ({e.format})") for e in read if e.sha256
    ]
    inputs += [InputFile(str(m.path), m.sha256, "plate map") for m in maps]
    if Path(assay_set.path).is_file():
        inputs.append(InputFile(assay_set.path, assay_set.sha256, "dPCR assay definition"))
    return RunResult(
        samples=tuple(samples),
        inputs=tuple(inputs),
        run_qc=tuple(checks),
        dropped=tuple(dropped),
        panel={**panel.describe(), "regions": regions},
        kit=assay_set.describe(),
        thresholds=thresholds,
        notices=tuple(dict.fromkeys(notices)),
        plates=tuple(layouts),
    )


def _thresholds(assay_set: AssaySet) -> dict[str, Any]:
    return {
        "method": Method.DPCR.value,
        **assay_set.thresholds(),
        "required_power": REQUIRED_POWER,
    }
