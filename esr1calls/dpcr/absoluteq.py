"""Thermo Fisher QuantStudio Absolute Q CSV exports, in their two layouts.

- **Channel combinations**: ``Run, Date, Instrument, Plate, Sample, Channels, Count, Copies per
  microliter, Total``, one row per combination of positive channels of a well (``FAM VIC`` =
  positive in FAM and VIC, negative in the others; empty = negative in every channel). The
  counts of a well add up to its ``Total`` (a combination of an unused channel may show Total
  0 with Count 0). Each channel's positives are the sum over the combinations that hold it. The
  well comes from a ``Well`` column when there is one, else from the sample name, which Absolute
  Q sets to the well (``Sample A1``).
- **Per dye**: ``Run, Date, Instrument, Plate, Group, Name, Well, Total, Dye, Target, Conc.
  cp/uL, ..., Positives``, one row per well and dye, with group averages (Well ``Average``)
  that are never read as a well. No combinations: a drop-off assay cannot be decided from it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..plates._source import Export
from ..plates._table import meaningful
from ._text import Table, column, head_headers, load_table
from .wells import Combinations, DpcrExport, ExportBuilder, TargetRow, parse_concentration

FORMAT_ID = "absoluteq"
LABEL = "Thermo Fisher QuantStudio Absolute Q CSV export"
INSTRUMENT = "absoluteq"
_WELL_AT_END = re.compile(r"(?:^|.*[\s_-])([A-Pa-p]0*[1-9][0-9]?)")


def _is_combination_header(header: Sequence[str]) -> bool:
    return all(name in header for name in ("run", "sample", "channels", "count", "total"))


def _is_dye_header(header: Sequence[str]) -> bool:
    return all(name in header for name in ("run", "well", "total", "dye", "positives"))


def sniff(head: str) -> bool:
    """True when a head line is an Absolute Q results header (either layout)."""
    return any(
        _is_combination_header(cells) or _is_dye_header(cells) for cells in head_headers(head)
    )


def read(export: Export) -> DpcrExport:
    """Read an Absolute Q CSV export."""
    table = load_table(export, lambda h: _is_combination_header(h) or _is_dye_header(h), LABEL)
    if _is_combination_header(table.header):
        return _read_combinations(table)
    return _read_per_dye(table)


def _metadata(table: Table) -> dict[str, str]:
    found: dict[str, str] = {"export": LABEL, "encoding": table.encoding}
    for key in ("run", "date", "instrument", "plate"):
        index = column(table.header, key)
        for row in table.rows:
            if index is not None and row.cut_column(index) is None and meaningful(row.get(index)):
                found[key] = row.get(index)
                break
    return found


@dataclass
class _Well:
    """The combination rows of one well, as read."""

    sample: str
    first_row: int
    counts: dict[frozenset[str], int] = field(default_factory=dict)
    totals: dict[int, int] = field(default_factory=dict)  # total -> a row showing it
    unknown: list[int] = field(default_factory=list)  # rows without a count
    last_index: int = 0


def _read_combinations(table: Table) -> DpcrExport:
    builder = ExportBuilder(table.path, FORMAT_ID)
    h = table.header
    col_well = column(h, "well")
    col_sample = column(h, "sample")
    col_channels = column(h, "channels")
    col_count = column(h, "count")
    col_total = column(h, "total")
    used = required = (col_well, col_sample, col_channels, col_count, col_total)
    wells: dict[str, _Well] = {}
    cut_at_end = False
    for index, row in enumerate(table.rows):
        place = table.place(row)
        cut = row.cut_column(*used)
        if cut is not None:
            builder.drop_cut(place, row, cut, table.raw, f"sample {row.get(col_sample) or '?'}")
            cut_at_end = True
            continue
        builder.require(row, place, table.raw, required)
        sample = row.get(col_sample)
        well = _well_of(builder, row.get(col_well) if col_well is not None else "", sample, place)
        dyes = frozenset(d.upper() for d in row.get(col_channels).split())
        entry = wells.setdefault(well, _Well(sample, row.number))
        entry.last_index = index
        if entry.sample != sample:
            raise builder.fail(
                place,
                f"well {well}: sample {sample!r} here, {entry.sample!r} on row "
                f"{entry.first_row}; the rows of one well must agree: export the file again",
            )
        if dyes in entry.counts:
            shown = " ".join(sorted(dyes)) or "(none)"
            raise builder.fail(
                place,
                f"well {well}, channels {shown} appears twice; each combination must appear "
                "once: remove the duplicate row, or export one run per file",
            )
        count = builder.count(row, col_count, table.raw, place)
        total = builder.count(row, col_total, table.raw, place)
        if count is None:
            entry.unknown.append(row.number)
            builder.drop(
                place,
                f"well {well}, channels {' '.join(sorted(dyes)) or '(none)'}: no count "
                f"({row.get(col_count) or 'empty'!r}); not zero, so the well is not used",
            )
            continue
        entry.counts[dyes] = count
        if total is not None and (total or count):
            entry.totals.setdefault(total, row.number)
    last_well = max(wells, key=lambda w: wells[w].last_index) if wells else None
    for well, entry in wells.items():
        place = f"row {entry.first_row}"
        if entry.unknown:
            continue  # dropped above, with the rows that lacked a count
        if len(entry.totals) != 1:
            shown = ", ".join(f"{t} (row {r})" for t, r in entry.totals.items()) or "none"
            raise builder.fail(
                place,
                f"well {well}: its rows give the totals {shown}; one well has one total of "
                "partitions: export the file again",
            )
        partitions = next(iter(entry.totals))
        found = sum(entry.counts.values())
        if found != partitions:
            if well == last_well and (cut_at_end or _ends_the_table(table, entry)):
                builder.drop(
                    place,
                    f"well {well}: its combination rows add up to {found} of its {partitions} "
                    "partitions; the file ends inside this well, so the well is not used",
                )
                builder.notices.append(
                    f"{table.path.name}: the last well ({well}) has combination rows for "
                    f"{found} of its {partitions} partitions: the export looks cut short. "
                    "That well is not used (its calls are INVALID, a missing well); export "
                    "the file again"
                )
                continue
            raise builder.fail(
                place,
                f"well {well}: its combination rows add up to {found}, not to its total of "
                f"{partitions} partitions; the export contradicts itself: export it again",
            )
        channels = tuple(sorted(set().union(*entry.counts)))
        combinations = Combinations(channels, dict(entry.counts), entry.first_row)
        for dye in channels:
            builder.add(
                TargetRow(
                    well=well,
                    sample_name=entry.sample,
                    target="",
                    dye=dye,
                    positives=combinations.positives(dye),
                    partitions=partitions,
                    source_row=entry.first_row,
                ),
                place,
            )
        builder.add_combinations(well, combinations, place)
    metadata = _metadata(table)
    return builder.build(metadata.get("run", table.path.stem), INSTRUMENT, metadata)


def _ends_the_table(table: Table, entry: _Well) -> bool:
    return entry.last_index == len(table.rows) - 1


def _well_of(builder: ExportBuilder, well_text: str, sample: str, place: str) -> str:
    """The well of a combination row: its Well cell, else the end of its sample name."""
    if well_text:
        return builder.well(well_text, place)
    match = _WELL_AT_END.fullmatch(sample.strip())
    if match is None:
        raise builder.fail(
            place,
            f"no Well column, and the sample name {sample!r} does not end with a well "
            "position (Absolute Q names samples after their well, e.g. 'Sample A1'); export "
            "the results with well positions",
        )
    return builder.well(match.group(1), place)


def _read_per_dye(table: Table) -> DpcrExport:
    builder = ExportBuilder(table.path, FORMAT_ID)
    h = table.header
    col_well = column(h, "well")
    col_name = column(h, "name", "sample")
    col_group = column(h, "group")
    col_total = column(h, "total")
    col_dye = column(h, "dye")
    col_target = column(h, "target")
    col_conc = column(h, "conc. cp/ul", "conc. cp/µl", "copies per microliter")
    col_pos = column(h, "positives")
    required = (col_well, col_name, col_total, col_dye, col_target, col_pos)
    used = (col_well, col_name, col_group, col_total, col_dye, col_target, col_conc, col_pos)
    for row in table.rows:
        place = table.place(row)
        well_text = row.get(col_well)
        cut = row.cut_column(*used)
        if cut is not None:
            label = f"well {well_text if row.cut_column(col_well) is None else '?'}"
            builder.drop_cut(place, row, cut, table.raw, label)
            continue
        builder.require(row, place, table.raw, required)
        if not re.fullmatch(r"[A-Pa-p]0*[1-9][0-9]?", well_text):
            group = row.get(col_group) or "?"
            builder.drop(
                place,
                f"group {group!r}, well {well_text or '(empty)'!r}: a group summary (average), "
                "not a well; the group's wells are read one by one",
            )
            continue
        well = builder.well(well_text, place)
        dye, target = row.get(col_dye).upper(), row.get(col_target)
        positives = builder.count(row, col_pos, table.raw, place)
        partitions = builder.count(row, col_total, table.raw, place)
        if positives is None or partitions is None:
            shown = row.get(col_pos if positives is None else col_total) or "empty"
            builder.drop(
                place,
                f"well {well_text} {dye}: no partition count ({shown!r}); an empty count is not "
                "zero, so the row is not used",
            )
            continue
        builder.add(
            TargetRow(
                well=well,
                sample_name=row.get(col_name),
                target=target,
                dye=dye,
                positives=positives,
                partitions=partitions,
                source_row=row.number,
                concentration=parse_concentration(row.get(col_conc)),
            ),
            place,
        )
    metadata = _metadata(table)
    return builder.build(metadata.get("run", table.path.stem), INSTRUMENT, metadata)
