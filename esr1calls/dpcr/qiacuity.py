"""QIAGEN QIAcuity Software Suite CSV export: one row per well and target.

The file starts with Excel's ``sep=,`` line. The older header is ``(Well), Sample/NTC/Control,
Reaction Mix, Target, IC, Control type, Concentration (copies/µL), CI (95%), Partitions (valid),
Partitions (positive), Partitions (negative), Threshold`` (the Well column's name is empty);
newer software adds ``Plate name, Plate ID, Plate type`` (filled on the first row only),
``Conc. [cp/µL] (dPCR reaction)``, ``(undiluted sample)`` and the volume and
concentration-factor columns; some versions add replicate-group means (``Mean conc.``), which are
never read as a well's value.

- ``Partitions (valid)`` is N and ``Partitions (positive)`` the target's positives;
  ``Partitions (negative)`` must make up the rest.
- The export names no dye: each row's channel is found from its target name, which must be the
  assay's. It has no partition-combination counts, so a drop-off assay cannot be decided from it.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..plates._source import Export
from ..plates._table import meaningful
from ._text import column, column_starting, head_headers, load_table
from .wells import DpcrExport, ExportBuilder, TargetRow, parse_concentration

FORMAT_ID = "qiacuity"
LABEL = "QIAGEN QIAcuity Software Suite CSV export"
INSTRUMENT = "qiacuity"


def _is_header(header: Sequence[str]) -> bool:
    return (
        "partitions (valid)" in header
        and "partitions (positive)" in header
        and "sample/ntc/control" in header
    )


def sniff(head: str) -> bool:
    """True when a head line is a QIAcuity results header."""
    return any(_is_header(cells) for cells in head_headers(head))


def read(export: Export) -> DpcrExport:
    """Read a QIAcuity CSV export."""
    path = export.path
    table = load_table(export, _is_header, LABEL)
    builder = ExportBuilder(path, FORMAT_ID)
    h = table.header
    col_well = column(h, "well")
    if col_well is None and h and h[0] == "":
        col_well = 0  # the older header leaves the Well column unnamed
    if col_well is None:
        raise builder.fail(
            table.grid.place(table.header_row.number),
            "no Well column; export the results with the well positions",
        )
    col_sample = column(h, "sample/ntc/control")
    col_type = column(h, "type")
    col_mix = column(h, "reaction mix")
    col_target = column(h, "target", "target (name)")
    col_ic = column(h, "ic", "target (ic)")
    col_control = column(h, "control type", "target (control)")
    col_conc = column(h, "concentration (copies/ul)", "conc. [copies/ul]")
    if col_conc is None:
        col_conc = column_starting(h, "conc. [cp/ul] (dpcr reaction)", "conc. [copies/ul] (dpcr")
    col_valid = column(h, "partitions (valid)")
    col_pos = column(h, "partitions (positive)")
    col_neg = column(h, "partitions (negative)")
    plate_columns = {
        key: column(h, name)
        for key, name in (
            ("plate_name", "plate name"),
            ("plate_id", "plate id"),
            ("plate_type", "plate type"),
        )
    }
    required = (col_well, col_sample, col_target, col_valid, col_pos, col_neg)
    used = (
        col_well,
        col_sample,
        col_type,
        col_mix,
        col_target,
        col_ic,
        col_control,
        col_conc,
        col_valid,
        col_pos,
        col_neg,
    )
    metadata: dict[str, str] = {}
    for row in table.rows:
        place = table.place(row)
        well_text = row.get(col_well)
        for key, index in plate_columns.items():
            if index is not None and row.cut_column(index) is None and meaningful(row.get(index)):
                metadata.setdefault(key, row.get(index))
        cut = row.cut_column(*used)
        if cut is not None:
            label = f"well {well_text if row.cut_column(col_well) is None else '?'}"
            builder.drop_cut(place, row, cut, table.raw, label)
            continue
        builder.require(row, place, table.raw, required)
        well = builder.well(well_text, place)
        target = row.get(col_target)
        what = f"well {well_text} {target}".rstrip()
        positives = builder.count(row, col_pos, table.raw, place)
        partitions = builder.count(row, col_valid, table.raw, place)
        if positives is None or partitions is None:
            shown = row.get(col_pos if positives is None else col_valid) or "empty"
            builder.drop(
                place,
                f"{what}: no partition count ({shown!r}); an empty count is not zero, so the "
                "row is not used",
            )
            continue
        negatives = builder.count(row, col_neg, table.raw, place) if col_neg is not None else None
        if negatives is not None and positives + negatives != partitions:
            raise builder.fail(
                place,
                f"{what}: {positives} positive + {negatives} negative partitions is not its "
                f"{partitions} valid partitions; the export contradicts itself: export it again",
            )
        flags = []
        for label, index in (("TYPE", col_type), ("IC", col_ic), ("CONTROL", col_control)):
            value = row.get(index)
            if meaningful(value):
                flags.append(f"{label}={value.upper()}")
        if meaningful(row.get(col_mix)):
            flags.append(f"REACTION_MIX={row.get(col_mix)}")
        builder.add(
            TargetRow(
                well=well,
                sample_name=row.get(col_sample),
                target=target,
                dye="",
                positives=positives,
                partitions=partitions,
                source_row=row.number,
                concentration=parse_concentration(row.get(col_conc)),
                flags=tuple(flags),
            ),
            place,
        )
    run_id = metadata.get("plate_name") or metadata.get("plate_id") or path.stem
    return builder.build(
        run_id, INSTRUMENT, {"export": LABEL, "encoding": table.encoding, **metadata}
    )
