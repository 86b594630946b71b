"""Bio-Rad QuantaSoft (QX100/QX200) CSV export: one row per well and target.

The 63-column layout of QuantaSoft 1.7 (``Well, ExptType, Experiment, Sample, TargetType,
Target, Status, Concentration, Supermix, CopiesPer20uLWell, ..., Positives, Negatives,
Ch1+Ch2+, Ch1+Ch2-, Ch1-Ch2+, Ch1-Ch2-, Linkage, AcceptedDroplets, ..., MergedWells, ...``) and
the older 44-column one (``TypeAssay, Assay`` for ``TargetType, Target``, no Supermix).

- The channel is the ``Ch1``/``Ch2`` that starts TargetType (``Ch1Unknown``, ``Ch2Reference``):
  Ch1 is FAM, Ch2 HEX or VIC.
- ``AcceptedDroplets`` is N, ``Positives`` the target's positive droplets; ``Negatives`` must
  make up the rest. ``Concentration`` ("No Call" when QuantaSoft gives none) is recorded only.
- The four ``Ch1±Ch2±`` columns are the well's droplet combinations, the same on each of its
  rows; they must add up to N and agree with each channel's positives.
- Merged wells are rows whose Well is ``M01``.. with their members in ``MergedWells``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..plates._source import Export, Row
from ._text import Table, column, head_headers, load_table
from .wells import Combinations, DpcrExport, ExportBuilder, TargetRow, parse_concentration

FORMAT_ID = "quantasoft"
LABEL = "Bio-Rad QuantaSoft (QX100/QX200) CSV export"
INSTRUMENT = "qx200"
_CHANNEL = re.compile(r"ch\s*([0-9])", re.IGNORECASE)
COMBINATION_COLUMNS = {
    "ch1+ch2+": frozenset({"CH1", "CH2"}),
    "ch1+ch2-": frozenset({"CH1"}),
    "ch1-ch2+": frozenset({"CH2"}),
    "ch1-ch2-": frozenset(),
}


def _is_header(header: Sequence[str]) -> bool:
    return (
        "well" in header
        and "accepteddroplets" in header
        and "positives" in header
        and ("targettype" in header or "typeassay" in header)
    )


def sniff(head: str) -> bool:
    """True when a head line is a QuantaSoft results header."""
    return any(_is_header(cells) for cells in head_headers(head))


def read(export: Export) -> DpcrExport:
    """Read a QuantaSoft CSV export."""
    table = load_table(export, _is_header, LABEL)
    return read_table(table, FORMAT_ID, INSTRUMENT)


def read_table(table: Table, fmt: str, instrument: str) -> DpcrExport:
    builder = ExportBuilder(table.path, fmt)
    h = table.header
    col_well = column(h, "well")
    col_sample = column(h, "sample")
    col_type = column(h, "targettype", "typeassay")
    col_target = column(h, "target", "assay")
    col_status = column(h, "status")
    col_conc = column(h, "concentration")
    col_pos = column(h, "positives")
    col_neg = column(h, "negatives")
    col_n = column(h, "accepteddroplets")
    col_merged = column(h, "mergedwells")
    combination_columns = {
        index: COMBINATION_COLUMNS[name]
        for index, name in enumerate(h)
        if name in COMBINATION_COLUMNS
    }
    required = (
        col_well,
        col_sample,
        col_type,
        col_target,
        col_pos,
        col_neg,
        col_n,
        *combination_columns,
    )
    used = (
        col_well,
        col_sample,
        col_type,
        col_target,
        col_status,
        col_conc,
        col_pos,
        col_neg,
        col_n,
        col_merged,
        *combination_columns,
    )
    for row in table.rows:
        place = table.place(row)
        well_text = row.get(col_well)
        cut = row.cut_column(*used)
        if cut is not None:
            label = f"well {well_text if row.cut_column(col_well) is None else '?'}"
            builder.drop_cut(place, row, cut, table.raw, label)
            continue
        builder.require(row, place, table.raw, required)
        merged = builder.members(row.get(col_merged), place) if col_merged is not None else ()
        is_merged = bool(re.fullmatch(r"[Mm][0-9]+", well_text))
        well = builder.well(well_text, place, merged=is_merged)
        if is_merged and not merged:
            builder.drop(place, f"merged well {well_text}: MergedWells names no member well")
            continue
        target = row.get(col_target)
        channel = _CHANNEL.match(row.get(col_type))
        dye = f"CH{channel.group(1)}" if channel else ""
        what = f"well {well_text} {target or dye}".rstrip()
        positives = builder.count(row, col_pos, table.raw, place)
        partitions = builder.count(row, col_n, table.raw, place)
        if positives is None or partitions is None:
            shown = row.get(col_pos if positives is None else col_n) or "empty"
            builder.drop(
                place,
                f"{what}: no droplet count ({shown!r}); an empty or No Call count is not zero, "
                "so the row is not used",
            )
            continue
        negatives = builder.count(row, col_neg, table.raw, place) if col_neg is not None else None
        if negatives is not None and positives + negatives != partitions:
            raise builder.fail(
                place,
                f"{what}: {positives} positive + {negatives} negative droplets is not its "
                f"{partitions} accepted droplets; the export contradicts itself: export it again",
            )
        flags = tuple(f.upper() for f in (row.get(col_status),) if f)
        builder.add(
            TargetRow(
                well=well,
                sample_name=row.get(col_sample),
                target=target,
                dye=dye,
                positives=positives,
                partitions=partitions,
                source_row=row.number,
                concentration=parse_concentration(row.get(col_conc)),
                flags=flags,
                members=merged if is_merged else (),
            ),
            place,
        )
        combinations = read_combinations(builder, row, combination_columns, table.raw, place)
        if combinations is not None:
            builder.add_combinations(well, combinations, place)
    return builder.build(table.path.stem, instrument, {"export": LABEL, "encoding": table.encoding})


def read_combinations(
    builder: ExportBuilder,
    row: Row,
    columns: dict[int, frozenset[str]],
    raw: Sequence[str],
    place: str,
) -> Combinations | None:
    """The Ch1±Ch2± cells of a row; None when the export left them all empty."""
    if not columns:
        return None
    values = {index: builder.count(row, index, raw, place) for index in columns}
    if all(v is None for v in values.values()):
        return None
    if any(v is None for v in values.values()):
        empty = [raw[i] for i, v in values.items() if v is None]
        raise builder.fail(
            place,
            f"partition-combination column {', '.join(empty)} is empty where the others are "
            "filled; export the file again",
        )
    channels = tuple(sorted({c for dyes in columns.values() for c in dyes}))
    counts = {columns[index]: int(value or 0) for index, value in values.items()}
    return Combinations(channels, counts, row.number)
