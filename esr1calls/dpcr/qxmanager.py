"""Bio-Rad QX Manager CSV export (QX ONE, QX600; also QX200 data read in QX Manager).

``Well, Sample description 1..4, Target, Conc(copies/µL), ..., Status, Status Reason, ...,
DyeName(s), Copies/20µLWell, ..., Accepted Droplets, Positives, Negatives, ..., Threshold1..3,
..., Fractional Abundance, ..., MergedWells, ..., Ch1+Ch2+, Ch1+Ch2-, Ch1-Ch2+, Ch1-Ch2-``: one
row per well and target. The µ may be mis-encoded (``Âµ``); every unit is read either way.

- The sample name is ``Sample description 1``; the channel is the row's ``DyeName(s)``.
- The combination columns name up to six channels (``Ch1+Ch2-``, ``Ch1+Ch2-Ch3+``, ...);
  Bio-Rad numbers FAM as Ch1 and HEX/VIC as Ch2. They must add up to the accepted droplets and
  agree with each channel's positives.
- QX200 or QX600 is told by content: a dye other than FAM, HEX or VIC, or a combination column
  naming a third channel, is a QX600 (or QX ONE) run; otherwise QX200.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..plates._source import Export
from ._text import column, column_starting, head_headers, load_table
from .quantasoft import read_combinations
from .wells import (
    BIO_RAD_CHANNEL,
    DpcrExport,
    ExportBuilder,
    TargetRow,
    parse_concentration,
)

FORMAT_ID = "qxmanager"
LABEL = "Bio-Rad QX Manager (QX ONE, QX600, QX200) CSV export"
_COMBINATION = re.compile(r"(?:ch([1-6])([+-]))+")
_PART = re.compile(r"ch([1-6])([+-])")
_QX200_DYES = frozenset(BIO_RAD_CHANNEL)
_ACCEPTED = ("accepted droplets", "accepted partitions", "accepteddroplets")


def _is_header(header: Sequence[str]) -> bool:
    return (
        "well" in header
        and "sample description 1" in header
        and "dyename(s)" in header
        and "positives" in header
        and column(header, *_ACCEPTED) is not None
    )


def sniff(head: str) -> bool:
    """True when a head line is a QX Manager results header."""
    return any(_is_header(cells) for cells in head_headers(head))


def _combination_columns(header: Sequence[str]) -> tuple[dict[int, frozenset[str]], set[str]]:
    """Combination columns -> the channels positive in them ("CH1", "CH2", ...), and every
    channel they name. Only a complete set is used: one column for each combination of the
    same channels (else they do not add up to the partitions, and are left aside)."""
    found: dict[int, frozenset[str]] = {}
    named: list[frozenset[str]] = []
    for index, name in enumerate(header):
        compact = name.replace(" ", "")
        if _COMBINATION.fullmatch(compact):
            parts = _PART.findall(compact)
            found[index] = frozenset(f"CH{n}" for n, sign in parts if sign == "+")
            named.append(frozenset(f"CH{n}" for n, _ in parts))
    channels = set().union(*named) if named else set()
    complete = all(n == frozenset(channels) for n in named) and len(set(found.values())) == len(
        found
    ) == 2 ** len(channels)
    return (found if complete else {}), channels


def read(export: Export) -> DpcrExport:
    """Read a QX Manager CSV export."""
    path = export.path
    table = load_table(export, _is_header, LABEL)
    builder = ExportBuilder(path, FORMAT_ID)
    h = table.header
    col_well = column(h, "well")
    col_sample = column(h, "sample description 1")
    col_target = column(h, "target")
    col_dye = column(h, "dyename(s)")
    col_status = column(h, "status")
    col_reason = column(h, "status reason")
    col_conc = column_starting(h, "conc(copies/ul)", "conc (copies/ul)", "conc(copies")
    col_pos = column(h, "positives")
    col_neg = column(h, "negatives")
    col_n = column(h, *_ACCEPTED)
    col_merged = column(h, "mergedwells")
    combinations, channels_named = _combination_columns(h)
    required = (col_well, col_sample, col_target, col_dye, col_pos, col_neg, col_n, *combinations)
    used = (
        col_well,
        col_sample,
        col_target,
        col_dye,
        col_status,
        col_reason,
        col_conc,
        col_pos,
        col_neg,
        col_n,
        col_merged,
        *combinations,
    )
    dyes_seen: set[str] = set()
    for row in table.rows:
        place = table.place(row)
        well_text = row.get(col_well)
        cut = row.cut_column(*used)
        if cut is not None:
            label = f"well {well_text if row.cut_column(col_well) is None else '?'}"
            builder.drop_cut(place, row, cut, table.raw, label)
            continue
        builder.require(row, place, table.raw, required)
        is_merged = bool(re.fullmatch(r"[Mm][0-9]+", well_text))
        well = builder.well(well_text, place, merged=is_merged)
        merged = builder.members(row.get(col_merged), place) if col_merged is not None else ()
        if is_merged and not merged:
            builder.drop(place, f"merged well {well_text}: MergedWells names no member well")
            continue
        target, dye = row.get(col_target), row.get(col_dye).upper()
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
        dyes_seen.add(dye)
        flags = tuple(f.upper() for f in (row.get(col_status), row.get(col_reason)) if f)
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
        found = read_combinations(builder, row, combinations, table.raw, place)
        if found is not None:
            builder.add_combinations(well, found, place)
    qx600 = bool(dyes_seen - _QX200_DYES - {""}) or bool(channels_named - {"CH1", "CH2"})
    instrument = "qx600" if qx600 else "qx200"
    return builder.build(
        path.stem,
        instrument,
        {"export": LABEL, "encoding": table.encoding, "instrument_by_content": instrument},
    )
