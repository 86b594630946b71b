"""ARMS-PCR wiring: plate exports, plate map(s) and the kit into one ``RunResult``.

``call_pcr`` reads the exports and maps, groups the exports of one run (``merge_plates``), turns
each run's wells into a ``CtTable`` (``build_ct_table``: kit channels, omitted wells, the
instrument's flags and names) and hands it to the pure rules of ``rules.py``; then it gathers
the inputs' hashes, the dropped rows, the notices and the plate layouts the reports draw.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..model import (
    Dropped,
    InputFile,
    QcCheck,
    RunResult,
    SampleReport,
    WellRole,
)
from ..plates.dispatch import read_plates
from ..plates.format import PlateFormat
from ..plates.plate import WELL_COLUMNS, Plate
from ..provenance import input_file
from .kit import Kit
from .platemap import (
    MapEntry,
    NameCheck,
    PlateMap,
    compare_names,
    describe_mismatches,
    read_plate_map,
)
from .rules import CtTable, clean_ct, interpret_run
from .settings import PcrSettings, make_settings

__all__ = ["build_ct_table", "call_pcr", "merge_plates"]

log = logging.getLogger(__name__)

AUTO_THRESHOLD = "automatic"
# exports whose target name is the channel's (a Rotor-Gene analysis, "Cycling A.Green (ESR1 mut
# FAM)", covers every tube): it says nothing about what one well holds, so it is not compared
CHANNEL_TARGET_NAMES = frozenset({PlateFormat.ROTORGENE.value})
PLACEHOLDER_NOTICE = (
    "Kit {kit} uses PLACEHOLDER values (example kit, not clinical): calls are for testing only "
    "until the lab replaces them with its kit's instructions or its own validation."
)


# ----------------------------------------------------------------------------- files -> result
def merge_plates(plates: Sequence[Plate], map_plates: Iterable[str] = ()) -> list[list[Plate]]:
    """Group exports of the same run (e.g. LightCycler: one file per filter) by run id.

    When a plate map's ``plate`` column names an export by its file (name or stem) rather than
    its run id, that export is a run of its own: two exports of one template often share the
    run id. It then takes the file name into its run id, so runs stay distinct in the report.
    """
    named = set(map_plates)

    def by_file(plate: Plate) -> bool:
        return plate.run_id not in named and bool(set(_file_names(plate)) & named)

    # a run id is split only when the map names two or more of its exports by file: one named
    # file of a LightCycler run (one export per filter) still names the whole run
    named_files = Counter(p.run_id for p in plates if by_file(p))
    split = {run_id for run_id, n in named_files.items() if n > 1}
    groups: dict[str, list[Plate]] = {}
    for plate in plates:
        if plate.run_id in split and by_file(plate):
            plate = replace(plate, run_id=f"{plate.run_id} ({plate.path.name})")
        groups.setdefault(plate.run_id, []).append(plate)
    return list(groups.values())


def build_ct_table(parts: Sequence[Plate], kit: Kit) -> tuple[CtTable, list[Dropped]]:
    """Canonical wells of one run -> Ct by (well, kit channel); unusable rows go to dropped."""
    values: dict[tuple[str, str], float] = {}
    origin: dict[tuple[str, str], str] = {}
    dropped: list[Dropped] = []
    instrument_flags: dict[tuple[str, str], tuple[str, ...]] = {}
    sample_names: dict[str, list[str]] = {}
    target_names: dict[tuple[str, str], str] = {}
    for plate in parts:
        source = plate.path.name
        dropped.extend(plate.dropped)
        # the columns as lists: a pandas row or element at a time costs ten times as much
        columns = [plate.wells[name].tolist() for name in WELL_COLUMNS]
        rows = zip(*columns, strict=False)  # one table's columns: always of one length
        for well, sample_name, target_name, dye, ct, flag_text, source_row in rows:
            place = f"row {source_row}, well {well} {dye}"
            channel = kit.canonical_channel(str(dye))
            # the names say who and what is in the well, whether or not its Ct is used
            named = sample_names.setdefault(str(well), [])
            if str(sample_name) not in named:
                named.append(str(sample_name))
            if channel is not None and plate.format not in CHANNEL_TARGET_NAMES:
                target_names.setdefault((str(well), channel), str(target_name))
            if channel is None:
                dropped.append(
                    Dropped(
                        source,
                        place,
                        f"dye {dye} is not a channel of kit {kit.id} ({', '.join(kit.dyes)})",
                    )
                )
                continue
            flags = str(flag_text).split(";")
            if "OMITTED" in flags:
                dropped.append(Dropped(source, place, "well omitted in the instrument software"))
                continue
            key = (str(well), channel)
            if key in values:
                raise InputError(
                    plate.path,
                    f"well {well} has two {channel} values (also in {origin[key]}); "
                    "export each well and dye once",
                    place=f"row {source_row}",
                )
            ct = float(ct)
            if ct < 1:  # the readers refuse it; a Plate made through the API is held to it too
                raise InputError(
                    plate.path,
                    f"well {well} {dye}: Ct {ct:g} is not a possible Ct (cycles are counted from "
                    "1; NaN is no amplification)",
                    place=f"row {source_row}",
                )
            if "CQ_AT_LAST_CYCLE" in flags:
                # StepOne writes the last cycle (40.0) for "no Cq": it is not an amplification
                ct = math.nan
            values[key] = ct
            origin[key] = f"{source} row {source_row}"
            if any(flags):
                instrument_flags[key] = tuple(f for f in flags if f)
    table = CtTable(
        parts[0].run_id,
        values,
        tuple(p.path.name for p in parts),
        _exported_thresholds(parts, kit),
        _exported_passive_reference(parts, kit),
        instrument_flags,
        {well: tuple(names) for well, names in sample_names.items()},
        target_names,
    )
    return table, dropped


def _name_notices(run_id: str, names: NameCheck, trust_map: bool) -> list[str]:
    """What a reader must know about the comparison: what --trust-map overrode, and a plate whose
    sample names could not be held against the map at all."""
    notices = []
    if trust_map and names.mismatches:
        notices.append(
            f"Run {run_id}: --trust-map: the plate map was trusted where the export's names "
            f"contradict it: {'; '.join(describe_mismatches(names.mismatches))}"
        )
    if names.unknown_sample_names and not names.sample_wells_agreeing and not names.mismatches:
        shown = ", ".join(repr(n) for n in names.unknown_sample_names[:5])
        more = len(names.unknown_sample_names) - 5
        notices.append(
            f"Run {run_id}: no sample name in the export ({shown}"
            f"{f' and {more} more' if more > 0 else ''}) is a sample id of the plate map, so a "
            "swap could not be checked; confirm that the map belongs to this run"
        )
    return notices


def _exported_passive_reference(parts: Sequence[Plate], kit: Kit) -> str | None:
    """The passive reference the exports name, in the kit's terms (several: joined with +)."""
    named = []
    for plate in parts:
        text = str(plate.metadata.get("passive_reference") or "").strip()
        if text:
            dye = "none" if text.lower() == "none" else kit.canonical_channel(text) or text.upper()
            named.append(dye)
    return "+".join(sorted(set(named))) or None


def _exported_thresholds(parts: Sequence[Plate], kit: Kit) -> dict[str, tuple[float | str, ...]]:
    """The Ct thresholds the exports record, by kit channel (dyes the kit lacks are ignored)."""
    found: dict[str, list[float | str]] = {}
    for plate in parts:
        automatic = set(plate.metadata.get("auto_thresholds", ()))
        recorded = dict(plate.metadata.get("thresholds") or {})
        for dye in {*recorded, *automatic}:
            channel = kit.canonical_channel(str(dye))
            if channel is None:
                continue
            values = recorded.get(dye)
            numbers = values if isinstance(values, list) else [] if values is None else [values]
            used = [AUTO_THRESHOLD] if dye in automatic else [float(v) for v in numbers]
            known = found.setdefault(channel, [])
            known.extend(u for u in used if u not in known)
    return {channel: tuple(values) for channel, values in found.items()}


def _file_names(plate: Plate) -> tuple[str, ...]:
    """The names a plate map's ``plate`` column may give an export by: file name, or stem. A file
    holding several plates (an RDML file of several runs) names none of them: its runs are."""
    if plate.metadata.get("plates_in_file", 1) > 1:
        return ()
    return plate.path.name, plate.path.stem


def _entries_for(plate_map: PlateMap, parts: Sequence[Plate]) -> tuple[MapEntry, ...]:
    names = [parts[0].run_id] + [n for p in parts for n in _file_names(p)]
    entries = plate_map.for_plate(*names)
    if not entries:
        raise InputError(
            plate_map.path,
            f"no line has plate {parts[0].run_id!r} (plates in the map: "
            f"{', '.join(plate_map.plates)}); set the plate column to the run id or file name",
        )
    return entries


def _unmapped_wells(table: CtTable, entries: Sequence[MapEntry], source: str) -> list[Dropped]:
    mapped = {e.well for e in entries if e.role is not WellRole.EMPTY}
    empty = {e.well for e in entries if e.role is WellRole.EMPTY}
    dropped = []
    for well in dict.fromkeys(w for w, _ in table.values):
        if well in empty:
            dropped.append(Dropped(source, f"well {well}", "EMPTY in the plate map"))
        elif well not in mapped:
            dropped.append(Dropped(source, f"well {well}", "has data but is not in the plate map"))
    return dropped


def call_pcr(
    exports: Sequence[str | Path | Plate],
    plate_maps: Sequence[str | Path] | str | Path,
    settings: PcrSettings | None = None,
) -> RunResult:
    """Read plate exports (paths or Plates) and plate map(s), interpret every run: one RunResult.

    ``settings`` (:func:`esr1calls.pcr.settings.make_settings`; None: every default) gives the
    kit, the panel, the export format (None: detected from each file's content) and
    ``trust_map``: where the export's own sample or target names contradict the plate map, the
    samples concerned are INVALID MAP_EXPORT_MISMATCH (the run, for a control well), unless
    ``trust_map`` keeps the map's word (the lab relabelled on purpose; the report lists what it
    overrode).

    One plate map with a ``plate`` column covers several runs; otherwise give one map per run,
    in the order of the runs.
    """
    settings = settings or make_settings()
    kit, panel, fmt, trust_map = settings.kit, settings.panel, settings.fmt, settings.trust_map
    plates = [p for e in exports for p in ([e] if isinstance(e, Plate) else read_plates(e, fmt))]
    map_paths = [plate_maps] if isinstance(plate_maps, str | Path) else list(plate_maps)
    maps = [read_plate_map(p, kit) for p in map_paths]
    runs = merge_plates(plates, (name for m in maps for name in m.plates if name))
    if len(maps) not in (1, len(runs)):
        raise InputError(
            maps[0].path,
            f"{len(maps)} plate maps for {len(runs)} runs: give one map with a "
            "plate column, or one map per run in the same order",
        )
    samples: list[SampleReport] = []
    checks: list[QcCheck] = []
    dropped: list[Dropped] = []
    layouts: list[dict[str, Any]] = []
    notices = [PLACEHOLDER_NOTICE.format(kit=kit.id)] if kit.placeholder else []
    for index, parts in enumerate(runs):
        plate_map = maps[index] if len(maps) > 1 else maps[0]
        if len(maps) == 1 and len(runs) > 1 and plate_map.plates == ("",):
            raise InputError(
                plate_map.path,
                f"{len(runs)} runs share one plate map without a "
                "plate column; add a plate column or give one map per run",
            )
        table, run_dropped = build_ct_table(parts, kit)
        notices.extend(n for plate in parts for n in plate.notices)  # e.g. an export cut short
        entries = _entries_for(plate_map, parts)
        names = compare_names(entries, table.sample_names, table.target_names, kit)
        notices.extend(_name_notices(table.run_id, names, trust_map))
        run_samples, run_checks = interpret_run(
            table, entries, kit, panel, names=names, trust_map=trust_map
        )
        run_samples = _with_identity(run_samples, entries)
        samples.extend(run_samples)
        checks.extend(run_checks)
        dropped.extend(run_dropped)
        dropped.extend(_unmapped_wells(table, entries, ", ".join(table.sources)))
        layouts.append(_layout(table, entries, parts, run_samples))
        unchecked = [ch for ch in kit.ct_thresholds if ch not in table.ct_thresholds]
        if unchecked:
            notices.append(
                f"Run {table.run_id}: the export records no Ct threshold for "
                f"{', '.join(unchecked)}, so the kit's fixed thresholds could not be checked; "
                "confirm them in the instrument software"
            )
        log.info(
            "run %s: %d sample(s), run controls %s",
            table.run_id,
            len(run_samples),
            "failed" if any(not c.passed for c in run_checks) else "passed",
        )
    inputs = [
        InputFile(str(p.path), p.sha256, f"plate export ({p.format})")
        if p.sha256
        else input_file(p.path, f"plate export ({p.format})")
        for p in plates
        if p.sha256 or p.path.is_file()
    ]
    inputs += [InputFile(str(m.path), m.sha256, "plate map") for m in maps]
    if Path(kit.path).is_file():
        inputs.append(InputFile(kit.path, kit.sha256, "kit definition"))
    return RunResult(
        samples=tuple(samples),
        inputs=tuple(inputs),
        run_qc=tuple(checks),
        dropped=tuple(dropped),
        panel=panel.describe(),
        kit=kit.describe(),
        thresholds={
            "reportable_fraction": kit.reportable_fraction.value,
            **kit.thresholds(),
            "trust_map": {
                "value": trust_map,
                "source": "--trust-map"
                if trust_map
                else "default: the plate map is checked against the export's names",
            },
        },
        notices=tuple(notices),
        plates=tuple(layouts),
    )


def _with_identity(
    samples: Sequence[SampleReport], entries: Iterable[MapEntry]
) -> list[SampleReport]:
    """Each sample with the patient_id, collected date and specimen its plate map lines give."""
    identity = {
        e.sample_id: (e.patient_id or None, e.collected or None, e.specimen or None)
        for e in entries
        if e.role is WellRole.SAMPLE
    }
    return [
        replace(
            s,
            patient_id=identity[s.sample_id][0],
            collected=identity[s.sample_id][1],
            specimen=identity[s.sample_id][2],
        )
        if any(identity.get(s.sample_id, (None, None, None)))
        else s
        for s in samples
    ]


def _layout(
    table: CtTable,
    entries: Iterable[MapEntry],
    parts: Sequence[Plate],
    samples: Sequence[SampleReport],
) -> dict[str, Any]:
    """The plate as the report draws it: each mapped well, its role, sample, mix and Cts."""
    status = {s.sample_id: s.status.value for s in samples}
    by_well: dict[str, dict[str, float | None]] = {}
    for (well, channel), ct in table.values.items():
        by_well.setdefault(well, {})[channel] = clean_ct(ct)
    wells = []
    for entry in entries:
        cts = by_well.get(entry.well, {})
        wells.append(
            {
                "well": entry.well,
                "sample_id": entry.sample_id,
                "role": entry.role.value,
                "mix": entry.mix,
                "replicate": entry.replicate,
                "ct": cts,
                "sample_status": status.get(entry.sample_id),
            }
        )
    return {
        "run_id": table.run_id,
        "sources": list(table.sources),
        "formats": sorted({p.format for p in parts}),
        "metadata": {k: v for p in parts for k, v in p.metadata.items()},
        "wells": wells,
    }
