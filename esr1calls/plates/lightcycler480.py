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
from . import Plate
from ._source import TextSource, load_source, split_line
from ._table import (
    PlateBuilder,
    WellError,
    find_column,
    flag_token,
    infer_decimal_comma,
    is_true,
    missing_column,
    norm_header,
    parse_well,
    read_ct,
    truncated_row,
)

FORMAT_ID = "lightcycler480"
LABEL = "Roche LightCycler 480 Abs Quant text export (one file per filter)"
_EXPERIMENT = re.compile(r"\s*Experiment:\s*(.*?)\s+(?:Selected\s+)?Filter:\s*(.*?)\s*")
_HEADER = ("include", "pos", "cp")


def sniff(head: str) -> bool:
    """True when the file starts with the ``Experiment: ... Filter:`` line."""
    for line in head.splitlines():
        if line.strip():
            return bool(_EXPERIMENT.fullmatch(line))
    return False


def read(path: Path) -> Plate:
    """Read a LightCycler 480 Cp text export (every filter block in the file)."""
    path = Path(path)
    source = load_source(path)
    if not isinstance(source, TextSource):
        raise PlateFormatError(
            path,
            "LightCycler 480 results are read from the text export; use 'export in text "
            "format', or pass --format",
        )
    builder = PlateBuilder(path, FORMAT_ID)
    experiments: list[str] = []
    filters: list[str] = []
    lines = source.lines
    index = 0
    while index < len(lines):
        match = _EXPERIMENT.fullmatch(lines[index])
        if not match:
            if lines[index].strip():
                builder.drop(f"row {index + 1}", "line outside an Experiment/Filter block")
            index += 1
            continue
        experiment, filter_name = match.group(1).strip(), match.group(2).strip()
        if not filter_name:
            raise PlateFormatError(
                path,
                "the Filter on the Experiment line is empty; the channel is unknown",
                place=f"row {index + 1}",
            )
        experiments.append(experiment)
        filters.append(filter_name)
        index = _read_block(path, builder, lines, index + 1, filter_name)

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


def _read_block(
    path: Path, builder: PlateBuilder, lines: tuple[str, ...], start: int, filter_name: str
) -> int:
    """Read the table after an Experiment line; return the index of the next unread line."""
    index = start
    while index < len(lines) and not lines[index].strip():
        index += 1
    if index >= len(lines):
        raise PlateFormatError(
            path, "the file ends after the Experiment line; it is truncated", place=f"row {start}"
        )
    raw = [c.strip() for c in split_line(lines[index], "\t")]
    header = [norm_header(c) for c in raw]
    columns = {
        name: find_column(header, (name,)) for name in ("include", "pos", "name", "cp", "status")
    }
    for name in _HEADER:
        if columns[name] is None:
            raise missing_column(
                path,
                f"row {index + 1}",
                name.capitalize() if name != "cp" else "Cp",
                raw,
                "Export the Abs Quant results in text format.",
            )
    col_pos, col_cp = columns["pos"], columns["cp"]
    assert col_pos is not None and col_cp is not None
    body: list[tuple[int, tuple[str, ...]]] = []
    index += 1
    while index < len(lines) and lines[index].strip() and not _EXPERIMENT.fullmatch(lines[index]):
        body.append((index + 1, split_line(lines[index], "\t")))
        index += 1
    decimal_comma = infer_decimal_comma(c[col_cp] for _, c in body if len(c) > col_cp)
    for number, cells in body:
        place = f"row {number}"

        def cell(column: int | None, cells: tuple[str, ...] = cells) -> str:
            return cells[column].strip() if column is not None and column < len(cells) else ""

        if len(cells) <= col_cp:
            raise truncated_row(path, place, len(cells), raw, col_cp)
        try:
            well = parse_well(cell(col_pos))
        except WellError as exc:
            raise PlateFormatError(path, str(exc), place=place) from exc
        ct = read_ct(
            path,
            place,
            cell(col_cp),
            raw[col_cp],
            decimal_comma=decimal_comma,
            tokens="an empty cell",
        )
        flags = []
        include = cell(columns["include"])
        if include and not is_true(include):
            flags.append("OMITTED")
        if cell(columns["status"]):
            flags.append(flag_token(cell(columns["status"])))
        builder.add(
            well=well,
            dye=filter_name,
            ct=ct,
            place=place,
            source_row=number,
            sample_name=cell(columns["name"]),
            flags=flags,
        )
    return index
