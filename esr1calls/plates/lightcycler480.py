"""Roche LightCycler 480 (LCS480 1.5) "export in text format" of an Abs Quant / 2nd Derivative
Max analysis: one tab-separated file per filter combination.

Line 1 is ``Experiment: <name>  Selected Filter: <filter>`` (older versions ``Filter:``); line 2
``Include Color Pos Name Cp Concentration Standard Status``. The filter (e.g. ``FAM
(465-510)``) is the only place the channel appears, so it becomes every row's dye. An empty
``Cp`` is no amplification; ``Include = False`` marks the well OMITTED. Files may end lines
with CR alone. A file holding several ``Experiment:`` blocks (several filters) is read whole.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..errors import PlateFormatError
from ._source import Export, Grid, Row, TextSource, load_source
from ._table import (
    PlateBuilder,
    WellError,
    cut_label,
    find_column,
    flag_token,
    infer_decimal_comma,
    is_true,
    missing_column,
    norm_header,
    parse_well,
    read_ct,
    table_rows,
    truncated_row,
)
from .format import PlateFormat
from .plate import Plate

FORMAT_ID = "lightcycler480"
LABEL = PlateFormat.LIGHTCYCLER480.label
_EXPERIMENT = re.compile(r"\s*Experiment:\s*(.*?)\s+(?:Selected\s+)?Filter:\s*(.*?)\s*")
_HEADER = ("include", "pos", "cp")


def sniff(head: str) -> bool:
    """True when the file starts with the ``Experiment: ... Filter:`` line."""
    for line in head.splitlines():
        if line.strip():
            return bool(_EXPERIMENT.fullmatch(line))
    return False


def read(export: Export) -> Plate:
    """Read a LightCycler 480 Cp text export (every filter block in the file)."""
    path = export.path
    source = load_source(export)
    if not isinstance(source, TextSource):
        raise PlateFormatError(
            path,
            "LightCycler 480 results are read from the text export; use 'export in text "
            "format', or pass --format",
        )
    builder = PlateBuilder(path, FORMAT_ID)
    experiments: list[str] = []
    filters: list[str] = []
    grid = source.grid("\t")
    index = 0
    while index < len(grid.rows):
        row = grid.rows[index]
        match = _EXPERIMENT.fullmatch(source.lines[index])
        if not match:
            if not row.blank:
                builder.drop(f"row {row.number}", "line outside an Experiment/Filter block")
            index += 1
            continue
        experiment, filter_name = match.group(1).strip(), match.group(2).strip()
        if not filter_name:
            raise PlateFormatError(
                path,
                "the Filter on the Experiment line is empty; the channel is unknown",
                place=f"row {row.number}",
            )
        experiments.append(experiment)
        filters.append(filter_name)
        index = _read_block(path, builder, grid, index + 1, filter_name)

    metadata: dict[str, Any] = {
        "export": LABEL,
        "instrument": "LightCycler 480",
        "experiment": experiments[0] if experiments else "",
        "filters": filters,
        "encoding": source.encoding,
    }
    if len(set(experiments)) > 1:
        metadata["experiments"] = experiments
    return builder.build(
        experiments[0] if experiments else "",
        metadata,
        fix="the first line must be 'Experiment: <name>  Selected Filter: <filter>'",
    )


def _read_block(path: Path, builder: PlateBuilder, grid: Grid, start: int, filter_name: str) -> int:
    """Read the table after an Experiment line; return the index of the next unread row."""
    rows = grid.rows
    index = start
    while index < len(rows) and rows[index].blank:
        index += 1
    if index >= len(rows):
        raise PlateFormatError(
            path, "the file ends after the Experiment line; it is truncated", place=f"row {start}"
        )
    header_row = rows[index]
    raw = [c.strip() for c in header_row.cells]
    header = [norm_header(c) for c in raw]
    columns = {
        name: find_column(header, (name,)) for name in ("include", "pos", "name", "cp", "status")
    }
    for name in _HEADER:
        if columns[name] is None:
            raise missing_column(
                path,
                f"row {header_row.number}",
                name.capitalize() if name != "cp" else "Cp",
                raw,
                "Export the Abs Quant results in text format.",
            )
    col_pos, col_cp, col_status = columns["pos"], columns["cp"], columns["status"]
    assert col_pos is not None and col_cp is not None

    def has_shape(row: Row) -> bool:  # a results row after a blank line: a well, no extra cells
        try:
            parse_well(row.get(col_pos))
        except WellError:
            return False
        return len(row.values) <= len(raw)

    def is_experiment(row: Row) -> bool:
        return bool(_EXPERIMENT.fullmatch("\t".join(row.cells)))

    body, end = table_rows(grid, index, has_shape, stops=is_experiment)
    decimal_comma = infer_decimal_comma(r.get(col_cp) for r in body if r.cut_column(col_cp) is None)
    for row in body:
        place = f"row {row.number}"
        # LCS480 writes the last row without its (empty) Status cell, seen in a real export: a
        # Status the last row lacks is not a cut, one it has must be whole
        status = col_status if col_status is not None and col_status < len(row.cells) else None
        cut = row.cut_column(columns["include"], col_pos, columns["name"], col_cp, status)
        if cut is not None:
            builder.drop_cut(place, row, cut, raw, cut_label(row, col_pos, None, filter_name))
            continue
        if len(row.cells) <= col_cp:
            raise truncated_row(path, place, len(row.cells), raw, col_cp)
        try:
            well = parse_well(row.get(col_pos))
        except WellError as exc:
            raise PlateFormatError(path, str(exc), place=place) from exc
        ct = read_ct(
            path,
            place,
            row.get(col_cp),
            raw[col_cp],
            decimal_comma=decimal_comma,
            tokens="an empty cell",
        )
        flags = []
        include = row.get(columns["include"])
        if include and not is_true(include):
            flags.append("OMITTED")
        if row.get(col_status):
            flags.append(flag_token(row.get(col_status)))
        builder.add(
            well=well,
            dye=filter_name,
            ct=ct,
            place=place,
            source_row=row.number,
            sample_name=row.get(columns["name"]),
            flags=flags,
        )
    return end
