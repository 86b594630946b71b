"""QIAGEN Rotor-Gene Q (Q-Rex / Rotor-Gene 6000 software) "Excel Analysed Data Export", as the
workbook or a csv copy of it (semicolon- or comma-separated).

A key/value header (File, Date, Time, Run Id, Machine Serial No), ``Channel;Gain`` and
``Channel;Threshold`` tables, then one block per channel and analysis headed ``Quantitative
analysis of Cycling A.<Channel> (<analysis>)`` with ``No.;Color;Name;Type;Ct;Ct Comment;...``.
There are no wells: ``No.`` is the rotor position and stays a tube number ("1".."100"), which
the plate map uses. The channel (GREEN, YELLOW, ORANGE, RED, CRIMSON) is the dye; the analysis
name is the target. An empty Ct is no amplification; ``Rep. Ct`` is never used.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..errors import PlateFormatError
from ._source import Export, Grid, Row, load_source
from ._table import (
    CT_NAMES,
    PlateBuilder,
    WellError,
    cut_label,
    find_column,
    find_header,
    flag_token,
    infer_decimal_comma,
    key_value,
    meaningful,
    missing_column,
    norm_header,
    parse_number,
    parse_tube,
    read_ct,
    table_rows,
    truncated_row,
)
from .format import PlateFormat
from .plate import Plate

FORMAT_ID = "rotorgene"
LABEL = PlateFormat.ROTORGENE.label
_BLOCK = re.compile(r"Quantitative analysis of\s+(.*?)\.([A-Za-z0-9]+)\s*(?:\((.*)\))?\s*")
_ANALYSIS = re.compile(r"(.*?)\.([A-Za-z0-9]+)\s*(?:\((.*)\))?\s*")
_TITLE = "excel analysed data export"


def sniff(head: str) -> bool:
    """True for the Rotor-Gene analysed-data export (title line or an analysis block)."""
    lines = head.splitlines()
    for line in lines[:5]:
        if line.strip().strip(";,\t").strip().lower() == _TITLE:
            return True
    return any(line.lstrip().startswith("Quantitative analysis of Cycling") for line in lines)


def _is_tube(text: str) -> bool:
    """A rotor position ("25")."""
    try:
        parse_tube(text)
    except WellError:
        return False
    return True


def _is_tube_header(header: list[str] | Any) -> bool:
    return "no." in header and find_column(header, CT_NAMES) is not None


def read(export: Export) -> Plate:
    """Read a Rotor-Gene Q analysed-data export: every channel block, tubes as positions."""
    path = export.path
    source = load_source(export)
    found = find_header(source, _is_tube_header)
    if found is None:
        found_any = find_header(source, lambda h: "no." in h and "name" in h)
        if found_any is not None:
            grid, index = found_any
            raise missing_column(
                path,
                grid.place(grid.rows[index].number),
                "Ct",
                grid.rows[index].cells,
                "Export the quantitation results, or pass --format.",
            )
        raise PlateFormatError(
            path,
            "no 'Quantitative analysis of Cycling A.<channel>' table was found; export "
            "the analysed data (Excel Analysed Data Export), or pass --format",
        )
    grid, _ = found
    builder = PlateBuilder(path, FORMAT_ID)
    pairs: dict[str, str] = {}
    gains: dict[str, str] = {}
    thresholds: dict[str, float] = {}
    index = 0
    rows = grid.rows
    analyses: list[str] = []
    while index < len(rows):
        row = rows[index]
        first = row.get(0)
        if row.blank:
            index += 1
            continue
        block = _BLOCK.fullmatch(first)
        if block:
            analyses.append(first.removeprefix("Quantitative analysis of").strip())
            index = _read_block(path, builder, grid, index + 1, block)
            continue
        if analyses and _is_tube(first):
            builder.drop(
                grid.place(row.number),
                f"tube {first}: a results row outside an analysis block (below a line that is "
                "not a results row); not read: check the export",
            )
            index += 1
            continue
        lowered = norm_header(first)
        if lowered == "channel" and norm_header(row.get(1)) in {"gain", "threshold"}:
            kind = norm_header(row.get(1))
            index += 1
            while index < len(rows) and not rows[index].blank:
                name, value = rows[index].get(0), rows[index].get(1)
                if kind == "gain":
                    gains[name] = value
                else:
                    number = parse_number(value, decimal_comma="," in value and "." not in value)
                    analysis = _ANALYSIS.fullmatch(name)
                    if number is not None:
                        key = analysis.group(2).upper() if analysis else name
                        if analysis and analysis.group(3):
                            key = f"{key} ({analysis.group(3)})"
                        thresholds[key] = number
                index += 1
            continue
        if lowered == _TITLE or lowered.startswith("copyright"):
            pairs.setdefault("title" if lowered == _TITLE else "copyright", first)
        else:
            kv = key_value(row)
            if kv:
                pairs.setdefault(kv[0], kv[1])
            else:
                builder.drop(grid.place(row.number), "line not recognised")
        index += 1

    by_norm = {norm_header(k): v for k, v in pairs.items()}
    metadata: dict[str, Any] = {
        "export": LABEL,
        "instrument": "Rotor-Gene",
        "serial": meaningful(by_norm.get("machine serial no")),
        "run_date": " ".join(v for v in (by_norm.get("date", ""), by_norm.get("time", "")) if v),
        "source_file": meaningful(by_norm.get("file")),
        "operator": meaningful(by_norm.get("operator")),
        "analyses": analyses,
        "gains": gains,
        "thresholds": thresholds,
        "header": pairs,
        "encoding": source.encoding,
    }
    if grid.delimiter:
        metadata["delimiter"] = grid.delimiter
    source_stem = Path(metadata["source_file"].replace("\\", "/")).stem
    run_id = meaningful(by_norm.get("run id"), source_stem)
    return builder.build(run_id, metadata)


def _read_block(
    path: Path, builder: PlateBuilder, grid: Grid, start: int, block: re.Match[str]
) -> int:
    rows = grid.rows
    index = start
    while index < len(rows) and rows[index].blank:
        index += 1
    if index >= len(rows):
        raise PlateFormatError(
            path,
            "the file ends after an analysis title; it is truncated",
            place=grid.place(rows[-1].number),
        )
    raw = [c.strip() for c in rows[index].cells]
    header = [norm_header(c) for c in raw]
    col_no = find_column(header, ("no.", "no"))
    col_ct = find_column(header, CT_NAMES)
    if col_no is None or col_ct is None:
        raise missing_column(
            path,
            grid.place(rows[index].number),
            "No." if col_no is None else "Ct",
            raw,
            "Export the quantitation results, or pass --format.",
        )
    col_name = find_column(header, ("name",))
    col_type = find_column(header, ("type",))
    col_comment = find_column(header, ("ct comment",))
    channel = block.group(2)
    analysis = (block.group(3) or "").strip()
    header_row = rows[index]

    def has_shape(row: Row) -> bool:  # a tube row after a blank line: a tube, no extra cells
        if not _is_tube(row.get(col_no)):
            return False
        if grid.delimiter and row.whole is None:
            return len(row.cells) == len(header_row.cells)
        return len(row.values) <= len(header_row.cells)

    body, index = table_rows(
        grid, index, has_shape, stops=lambda row: bool(_BLOCK.fullmatch(row.get(0)))
    )
    decimal_comma = infer_decimal_comma(r.get(col_ct) for r in body if r.cut_column(col_ct) is None)
    for row in body:
        place = grid.place(row.number)
        name, kind, ct_text = row.get(col_name), row.get(col_type), row.get(col_ct)
        cut = row.cut_column(col_no, col_name, col_type, col_ct, col_comment)
        if cut is not None:
            builder.drop_cut(place, row, cut, raw, cut_label(row, col_no, None, channel, "tube"))
            continue
        if not (name or kind or ct_text):
            builder.drop(place, f"tube {row.get(col_no) or '?'}: empty position")
            continue
        if len(row.cells) <= col_ct:
            raise truncated_row(path, place, len(row.cells), raw, col_ct)
        try:
            tube = parse_tube(row.get(col_no))
        except WellError as exc:
            raise PlateFormatError(path, str(exc), place=place) from exc
        ct = read_ct(
            path, place, ct_text, raw[col_ct], decimal_comma=decimal_comma, tokens="an empty cell"
        )
        comment = row.get(col_comment)
        builder.add(
            well=tube,
            dye=channel,
            ct=ct,
            place=place,
            source_row=row.number,
            sample_name=name,
            target_name=analysis,
            flags=[f"CT_COMMENT_{flag_token(comment)}"] if comment else [],
        )
    return index
