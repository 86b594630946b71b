"""One results table with a header row, optional ``key, value`` rows above it: the shape of
CFX, LightCycler 96, SLAN and generic exports. Each format module describes its columns in a
:class:`TableSpec`; this module does the reading the same way for all of them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import PlateFormatError
from ._source import Export, Grid, Row, Source, WorkbookSource, load_source
from ._table import (
    PlateBuilder,
    WellError,
    cut_label,
    find_column,
    find_header,
    infer_decimal_comma,
    is_true,
    key_value,
    meaningful,
    missing_column,
    norm_header,
    parse_well,
    read_ct,
    table_rows,
    truncated_row,
)
from .plate import Plate


@dataclass(frozen=True)
class TableSpec:
    """How one instrument names its columns and spells its values (names are normalised)."""

    fmt: str
    label: str
    well: tuple[str, ...]
    ct: tuple[str, ...]
    dye: tuple[str, ...]
    sample: tuple[str, ...] = ()
    target: tuple[str, ...] = ()
    omit: tuple[str, ...] = ()
    empty_ct_is_no_amp: bool = False  # blank Ct: "no amplification" (True) or "not analysed"
    no_amp_words: str = "a no-amplification token"  # for error messages
    ct_display: str = "Ct"  # the column name shown when it is missing
    fix: str = "Export the results table, or pass --format."
    metadata_keys: dict[str, tuple[str, ...]] = field(default_factory=dict)
    run_id_keys: tuple[str, ...] = ()
    sheets: tuple[str, ...] = ()
    strip_stem_suffixes: tuple[str, ...] = ()
    extra_flags: Callable[[Row, Sequence[str]], list[str]] | None = None
    extra_columns: tuple[str, ...] = ()  # the columns extra_flags reads (normalised names)
    required: tuple[tuple[str, ...], ...] = ()  # further columns that make a header


def header_matcher(spec: TableSpec, *, with_ct: bool = True) -> Callable[[Sequence[str]], bool]:
    def matches(header: Sequence[str]) -> bool:
        if find_column(header, spec.well) is None:
            return False
        if with_ct and find_column(header, spec.ct) is None:
            return False
        return all(find_column(header, names) is not None for names in spec.required)

    return matches


def read_table(export: Export, spec: TableSpec) -> Plate:
    """Read a single-table export described by ``spec``."""
    path = export.path
    source = load_source(export)
    found = find_header(source, header_matcher(spec), sheets=spec.sheets)
    if found is None:
        _raise_no_table(path, source, spec)
        raise AssertionError  # unreachable: _raise_no_table always raises
    grid, header_index = found
    return read_grid(path, spec, source, grid, header_index)


def read_grid(path: Path, spec: TableSpec, source: Source, grid: Grid, header_index: int) -> Plate:
    """Read the table whose header is ``grid.rows[header_index]``."""
    builder = PlateBuilder(path, spec.fmt)
    header_row = grid.rows[header_index]
    raw = [c.strip() for c in header_row.cells]
    header = [norm_header(c) for c in header_row.cells]

    pairs: dict[str, str] = {}
    for row in grid.rows[:header_index]:
        kv = key_value(row)
        if kv and kv[0]:
            pairs.setdefault(kv[0], kv[1])
        elif not row.blank:
            builder.drop(grid.place(row.number), "line above the table not recognised")

    col_well = find_column(header, spec.well)
    col_ct = find_column(header, spec.ct)
    if col_well is None or col_ct is None:  # the header matcher guarantees both
        raise missing_column(path, grid.place(header_row.number), spec.ct_display, raw, spec.fix)
    col_dye = find_column(header, spec.dye)
    col_sample = find_column(header, spec.sample)
    col_target = find_column(header, spec.target)
    col_omit = find_column(header, spec.omit)

    col_extra = [find_column(header, (name,)) for name in spec.extra_columns]
    used = (col_well, col_ct, col_dye, col_sample, col_target, col_omit, *col_extra)

    text = bool(grid.delimiter)
    rows, end = table_rows(
        grid, header_index, lambda row: _has_shape(row, header_row, col_well, text=text)
    )
    last = rows[-1].number if rows else header_row.number
    for row in (r for r in grid.rows[end:] if not r.blank):
        builder.drop(grid.place(row.number), _not_read(row, raw, col_well, last, text=text))
    if isinstance(source, WorkbookSource):
        for sheet in source.sheets:
            if sheet is not grid and any(not r.blank for r in sheet.rows):
                builder.drop(f"sheet {sheet.name!r}", "sheet not used: not the results table")

    decimal_comma = infer_decimal_comma(r.get(col_ct) for r in rows if r.cut_column(col_ct) is None)
    for row in rows:
        place = grid.place(row.number)
        well_text, ct_text = row.get(col_well), row.get(col_ct)
        dye, sample, target = row.get(col_dye), row.get(col_sample), row.get(col_target)
        cut = row.cut_column(*used)
        if cut is not None:
            builder.drop_cut(place, row, cut, raw, cut_label(row, col_well, col_dye))
            continue
        if not (ct_text or sample or target or dye):
            builder.drop(place, f"well {well_text or '?'}: not set up (no sample, target or Ct)")
            continue
        if len(row.cells) <= col_ct:
            raise truncated_row(path, place, len(row.cells), raw, col_ct)
        try:
            well = parse_well(well_text)
        except WellError as exc:
            raise PlateFormatError(path, str(exc), place=place) from exc
        if not ct_text and not spec.empty_ct_is_no_amp:
            builder.drop(
                place,
                f"well {well} {dye}: the Ct cell is empty (not analysed); no amplification "
                f"is written {spec.no_amp_words}",
            )
            continue
        ct = read_ct(
            path, place, ct_text, raw[col_ct], decimal_comma=decimal_comma, tokens=spec.no_amp_words
        )
        flags = []
        if col_omit is not None and is_true(row.get(col_omit)):
            flags.append("OMITTED")
        if spec.extra_flags is not None:
            flags.extend(spec.extra_flags(row, header))
        builder.add(
            well=well,
            dye=dye,
            ct=ct,
            place=place,
            source_row=row.number,
            sample_name=sample,
            target_name=target,
            flags=flags,
        )

    metadata = _metadata(spec, pairs)
    metadata["encoding"] = source.encoding
    if grid.delimiter:
        metadata["delimiter"] = grid.delimiter
    if grid.name:
        metadata["sheet"] = grid.name
    metadata["decimal_comma"] = decimal_comma
    by_norm = {norm_header(k): v for k, v in pairs.items()}
    run_id = meaningful(*(by_norm.get(k) for k in spec.run_id_keys)) or _stem(path, spec)
    return builder.build(run_id, metadata)


def _has_shape(row: Row, header: Row, col_well: int, *, text: bool) -> bool:
    """A row shaped like the table's rows: a well in the well column and, in text, as many
    cells as the header (a sheet pads every row to its width: nothing beyond the header)."""
    try:
        parse_well(row.get(col_well))
    except WellError:
        return False
    if text and row.whole is None:
        return len(row.cells) == len(header.cells)
    return len(row.values) <= len(header.cells)


def _not_read(row: Row, header: Sequence[str], col_well: int, last: int, *, text: bool) -> str:
    """Why a row below the results table (which ended at row ``last``) is not read."""
    well = row.get(col_well)
    if _has_shape(row, Row(0, tuple(header)), col_well, text=text):
        return (
            f"well {well}: a results row below rows that are not results (the table ends at "
            f"row {last}); not read: check the export"
        )
    try:
        parse_well(well)
    except WellError:
        shown = f"{well!r}" if well else "empty"
        return (
            f'below the results table (row {last}): column "{header[col_well]}" is {shown}, '
            "not a well"
        )
    return (
        f"below the results table (row {last}): {len(row.cells)} columns where the header has "
        f"{len(header)}; not read as results"
    )


def _metadata(spec: TableSpec, pairs: dict[str, str]) -> dict[str, Any]:
    by_norm = {norm_header(k): v for k, v in pairs.items()}
    metadata: dict[str, Any] = {"export": spec.label}
    for key, names in spec.metadata_keys.items():
        for name in names:
            if meaningful(by_norm.get(name)):
                metadata[key] = by_norm[name].strip()
                break
    if pairs:
        metadata["header"] = dict(pairs)
    return metadata


def _stem(path: Path, spec: TableSpec) -> str:
    """The file name without extension and without the export's own suffix, so the several
    CSVs of one CFX run ("run - Quantification Cq Results.csv") share a run id."""
    stem = path.stem
    for suffix in spec.strip_stem_suffixes:
        if stem.lower().endswith(suffix.lower()) and len(stem) > len(suffix):
            return stem[: -len(suffix)].rstrip(" -_")
    return stem


def _raise_no_table(path: Path, source: Source, spec: TableSpec) -> None:
    found = find_header(source, header_matcher(spec, with_ct=False), sheets=spec.sheets)
    if found is not None:
        grid, index = found
        row = grid.rows[index]
        raise missing_column(path, grid.place(row.number), spec.ct_display, row.cells, spec.fix)
    raise PlateFormatError(
        path,
        f"no results table was found for a {spec.label}; {spec.fix[0].lower()}{spec.fix[1:]}",
    )
