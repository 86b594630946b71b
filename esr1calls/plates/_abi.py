"""The Applied Biosystems results table, shared by QuantStudio v1/ViiA 7, 7500/StepOne and
Design & Analysis v2/Diomni exports (txt, csv, xls, xlsx).

All of them are a run header (``* Key = value`` lines in text, ``Key | value`` cells in sheets),
optional ``[Section]`` blocks, and a results table with one row per (well, reporter). They
differ in column names (``CT``/``CRT``/``Cт``/``Cq``, ``Sample Name``/``Sample``), in the well
column (index + ``Well Position``, or ``A1``, or ``A01``) and in header keys; this module
handles them all and the format modules only differ in how they recognise their files.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path, PureWindowsPath
from typing import Any

from ..errors import PlateFormatError
from ._source import SHEET_MARK, Export, Grid, Row, TextSource, WorkbookSource, load_source
from ._table import (
    CT_NAMES,
    PlateBuilder,
    WellError,
    cut_label,
    find_column,
    find_header,
    flag_token,
    infer_decimal_comma,
    is_true,
    key_value,
    layout_from_block,
    meaningful,
    missing_column,
    norm_header,
    parse_number,
    parse_well,
    read_ct,
    table_rows,
    truncated_row,
)
from .plate import Plate

_FLAG_NAME = re.compile(r"[A-Z][A-Z0-9]{2,11}")
_SECTION = re.compile(r"\[[^\]]+\]")
_ISSUE_SEPARATOR = re.compile(r"[,;]")
_SAMPLE = ("sample name", "sample")
_TARGET = ("target name", "target", "detector name", "detector")
_DYE = ("reporter", "dye")
_RESULT_SHEETS = ("Results", "Primary_result")

# header keys -> canonical metadata keys (first present wins)
_METADATA_KEYS: dict[str, tuple[str, ...]] = {
    "instrument": ("instrument type",),
    "instrument_name": ("instrument name",),
    "serial": ("instrument serial number",),
    "block_serial": ("block serial number",),
    "run_date": (
        "experiment run end time", "run end date/time", "run end data/time",
        "run start date/time", "run datetime",
    ),
    "experiment": ("experiment name",),
    "barcode": ("experiment barcode", "barcode"),
    "source_file": ("experiment file name", "file name", "filename"),
    "block_type": ("block type",),
    "chemistry": ("chemistry",),
    "passive_reference": ("passive reference",),
    "quantification_cycle_method": ("quantification cycle method",),
    "experiment_type": ("experiment type", "assay type"),
    "operator": ("user name", "operator"),
}  # fmt: skip


# ---------------------------------------------------------------------------------------------
# recognising the family


def head_pairs(head: str, limit: int = 120) -> dict[str, str]:
    """``key -> value`` (keys normalised) from the first lines of a head, whatever the layout."""
    pairs: dict[str, str] = {}
    for line in head.splitlines()[:limit]:
        text = line.strip()
        if not text or text.startswith(SHEET_MARK):
            continue
        if text.startswith("*") and "=" in text:
            key, _, value = text.lstrip("*").partition("=")
        else:
            for delimiter in ("\t", ",", ";"):
                if delimiter in text:
                    key, _, value = text.partition(delimiter)
                    value = value.split(delimiter)[0]
                    break
            else:
                continue
        pairs.setdefault(norm_header(key), value.strip().strip('"'))
    return pairs


def header_lines(head: str) -> list[list[str]]:
    """Every head line as normalised cells (split on its own most likely delimiter)."""
    result = []
    for line in head.splitlines():
        if line.startswith(SHEET_MARK):
            continue
        delimiter = "\t" if "\t" in line else (";" if line.count(";") > line.count(",") else ",")
        result.append([norm_header(c.strip('"')) for c in line.split(delimiter)])
    return result


def _is_results_header(header: Sequence[str]) -> bool:
    return (
        find_column(header, ("well", "well position", "pos")) is not None
        and find_column(header, CT_NAMES) is not None
        and find_column(header, _DYE + _TARGET) is not None
    )


def abi_kind(head: str) -> str | None:
    """Which Applied Biosystems export a head is: "da2", "7500", "v1", or None."""
    pairs = head_pairs(head)
    software = " ".join(
        pairs.get(k, "") for k in ("software name and version", "software name", "warning")
    ).lower()
    if "design & analysis" in software or "diomni" in software:
        return "da2"
    instrument = pairs.get("instrument type", "").lower()
    if re.search(r"sds ?7500|\b7500|stepone", instrument):
        return "7500"
    if re.search(r"quantstudio|viia", instrument):
        return "v1"
    # without a run header: the table itself ("Reporter" and "Task" are AB's words; CFX says
    # "Fluor" and "Content")
    headers = [
        h for h in header_lines(head) if _is_results_header(h) and "reporter" in h and "task" in h
    ]
    for header in headers:
        if "well position" in header:
            return "v1"
        if "amp status" in header or "cq" in header:
            return "da2"
        # 7500/StepOne: "Well" holds A1 and the Ct column is "Cт" (normalised to "ct")
        if "ct" in header and "block type" in pairs:
            return "7500"
    if "block type" in pairs and any(line.strip() == "[Results]" for line in head.splitlines()):
        return "v1"
    return None


# ---------------------------------------------------------------------------------------------
# reading


def read_abi(export: Export, fmt: str, label: str) -> Plate:
    """Read any Applied Biosystems results export into a Plate tagged with ``fmt``."""
    path = export.path
    source = load_source(export)
    start = 0
    if isinstance(source, TextSource):
        # with sections, the table must be the one under [Results], not an earlier section's
        markers = [i for i, line in enumerate(source.lines) if line.strip() == "[Results]"]
        start = markers[0] if markers else 0
    found = find_header(source, _is_results_header, sheets=_RESULT_SHEETS, start=start)
    if found is None:
        _raise_no_table(path, source)
        raise AssertionError  # unreachable: _raise_no_table always raises
    grid, header_index = found
    builder = PlateBuilder(path, fmt)
    sections = _sections(grid)
    header_row = grid.rows[header_index]
    header = [norm_header(c) for c in header_row.cells]

    # run header: key/value rows above the first section or the table
    first_structure = min([s for s, _ in sections] + [header_index])
    pairs: dict[str, str] = {}
    for row in grid.rows[:first_structure]:
        kv = key_value(row)
        if kv and kv[0]:
            pairs.setdefault(kv[0], kv[1])

    block_type = next((v for k, v in pairs.items() if norm_header(k) == "block type"), "")
    layout = layout_from_block(block_type)  # known before the rows: it tells a well index
    columns = _Columns(path, grid, header_index, header)

    def is_result(row: Row) -> bool:
        return columns.has_shape(row, layout, text=bool(grid.delimiter))

    rows, end = table_rows(grid, header_index, is_result, stops=_is_section)
    footer, footer_end = _footer(grid, end, is_result)
    _drop_other_sections(builder, grid, sections, header_index, footer_end, is_result)
    if isinstance(source, WorkbookSource):
        for sheet in source.sheets:
            if sheet is not grid and any(not r.blank for r in sheet.rows):
                builder.drop(f"sheet {sheet.name!r}", "sheet not used: not the results table")

    metadata = _metadata(pairs, footer, label)
    decimal_comma = infer_decimal_comma(
        r.get(columns.ct) for r in rows if r.cut_column(columns.ct) is None
    )
    thresholds: dict[str, set[float]] = {}
    auto_thresholds: set[str] = set()
    baselines: dict[str, set[str]] = {}
    used = columns.used
    ct_column = header_row.cells[columns.ct].strip()

    for row in rows:
        place = grid.place(row.number)
        position = row.get(columns.position) or row.get(columns.well)
        sample, target, dye = row.get(columns.sample), row.get(columns.target), row.get(columns.dye)
        ct_text = row.get(columns.ct)
        cut = row.cut_column(*used)
        if cut is not None:
            well_column = columns.position if columns.position is not None else columns.well
            label = cut_label(row, well_column, columns.dye)
            builder.drop_cut(place, row, cut, header_row.cells, label)
            continue
        if not (sample or target or dye or ct_text):
            builder.drop(place, f"well {position or '?'}: not set up (no sample, target or Ct)")
            continue
        if len(row.cells) <= columns.ct:
            raise truncated_row(path, place, len(row.cells), header_row.cells, columns.ct)
        try:
            well = parse_well(position, layout)
            _check_index(row, columns, well, layout)
        except WellError as exc:
            raise PlateFormatError(path, f"{exc}", place=place) from exc
        if not ct_text:
            builder.drop(
                place,
                f"well {well} {dye}: the Ct cell is empty (not analysed); "
                "no amplification is written Undetermined",
            )
            continue
        ct = read_ct(
            path, place, ct_text, ct_column, decimal_comma=decimal_comma, tokens="Undetermined"
        )
        builder.add(
            well=well,
            dye=dye,
            ct=ct,
            place=place,
            source_row=row.number,
            sample_name=sample,
            target_name=target,
            flags=columns.flags(row),
        )
        key = dye.upper() or target
        threshold = parse_number(row.get(columns.threshold), decimal_comma=decimal_comma)
        if threshold is not None:
            thresholds.setdefault(key, set()).add(threshold)
        if is_true(row.get(columns.auto_threshold)):
            auto_thresholds.add(key)
        first, last = row.get(columns.baseline_start), row.get(columns.baseline_end)
        if first or last:
            auto = is_true(row.get(columns.auto_baseline))
            baselines.setdefault(key, set()).add("auto" if auto else f"{first}-{last}")

    metadata["thresholds"] = {k: _one_or_all(v) for k, v in thresholds.items()}
    if auto_thresholds:  # the software set these itself, per run: not a kit's fixed threshold
        metadata["auto_thresholds"] = sorted(auto_thresholds)
    metadata["baselines"] = {k: _one_or_all(v) for k, v in baselines.items()}
    metadata["encoding"] = source.encoding
    if grid.delimiter:
        metadata["delimiter"] = grid.delimiter
    if grid.name:
        metadata["sheet"] = grid.name
    metadata["decimal_comma"] = decimal_comma
    run_id = meaningful(
        pairs.get("Experiment Name"),
        pairs.get("Experiment Barcode") or pairs.get("Barcode"),
        _file_stem(metadata.get("source_file", "")),
    )
    return builder.build(run_id, metadata)


class _Columns:
    """Where each field is in an AB results header."""

    def __init__(self, path: Path, grid: Grid, header_index: int, header: list[str]) -> None:
        raw = grid.rows[header_index].cells
        self.width = len(raw)
        self.position = find_column(header, ("well position", "pos"))
        self.well = find_column(header, ("well",))
        ct = find_column(header, CT_NAMES)
        if ct is None:  # the header was found with a Ct column; kept for type checking
            raise missing_column(path, grid.place(grid.rows[header_index].number), "CT", raw, "")
        self.ct = ct
        self.sample = find_column(header, _SAMPLE)
        self.target = find_column(header, _TARGET)
        self.dye = find_column(header, _DYE)
        self.omit = find_column(header, ("omit",))
        self.amp_status = find_column(header, ("amp status",))
        self.issues = find_column(header, ("result quality issues", "quality issue(s)"))
        self.sds_flag = find_column(header, ("flag",))
        self.threshold = find_column(header, ("ct threshold", "crt threshold", "threshold"))
        self.auto_threshold = find_column(
            header, ("automatic ct threshold", "automatic crt threshold", "auto threshold")
        )
        self.auto_baseline = find_column(header, ("automatic baseline", "auto baseline"))
        self.baseline_start = find_column(header, ("baseline start",))
        self.baseline_end = find_column(header, ("baseline end", "baseline stop"))
        # Y/N QC columns (NOAMP, EXPFAIL, HIGHSD...): short all-caps names after the Ct column
        self.flag_columns = [
            (i, raw[i].strip())
            for i in range(len(raw))
            if i != ct and _FLAG_NAME.fullmatch(raw[i].strip()) and header[i] not in CT_NAMES
        ]

    @property
    def used(self) -> tuple[int | None, ...]:
        """Every column a row's well, values and flags are read from."""
        return (
            self.position, self.well, self.ct, self.sample, self.target, self.dye, self.omit,
            self.amp_status, self.issues, self.sds_flag, self.threshold, self.auto_threshold,
            self.auto_baseline, self.baseline_start, self.baseline_end,
            *(index for index, _ in self.flag_columns),
        )  # fmt: skip

    def has_shape(self, row: Row, layout: tuple[int, int] | None, *, text: bool) -> bool:
        """A results row: a well (position or index), and the header's number of cells in text
        (a sheet pads its rows: nothing beyond the header's width)."""
        try:
            if self.position is not None:  # a position (A1), never a number that looks an index
                parse_well(row.get(self.position))
            else:
                parse_well(row.get(self.well), layout)
        except WellError:
            return False
        if text and row.whole is None:
            return len(row.cells) == self.width
        return len(row.values) <= self.width

    def flags(self, row: Row) -> list[str]:
        flags = []
        if is_true(row.get(self.omit)):
            flags.append("OMITTED")
        status = row.get(self.amp_status)
        if status and status.lower() != "amp":
            flags.append(flag_token(status))
        if self.sds_flag is not None and row.get(self.sds_flag).lower() == "flagged":
            flags.append("FLAGGED")
        for issue in _ISSUE_SEPARATOR.split(row.get(self.issues)):
            if issue.strip():
                flags.append(flag_token(issue))
        for index, name in self.flag_columns:
            if row.get(index).upper() in {"Y", "YES", "TRUE"}:
                flags.append(name.upper())
        return flags


def _check_index(row: Row, columns: _Columns, well: str, layout: tuple[int, int] | None) -> None:
    """When a file has both a well index and a position, they must agree on the layout."""
    if columns.position is None or columns.well is None or layout is None:
        return
    index_text = row.get(columns.well)
    if not index_text or not index_text.replace(".", "", 1).isdigit():
        return
    from_index = parse_well(index_text, layout)
    if from_index != well:
        raise WellError(
            f"Well {index_text} and Well Position {well} disagree on a "
            f"{layout[0] * layout[1]}-well plate; check the Block Type and the export"
        )


def _sections(grid: Grid) -> list[tuple[int, str]]:
    """(row index, name) of every ``[Section]`` marker."""
    return [(i, row.get(0)) for i, row in enumerate(grid.rows) if _is_section(row)]


def _is_section(row: Row) -> bool:
    """A ``[Section]`` marker row."""
    return bool(_SECTION.fullmatch(row.get(0))) and len(row.values) == 1


def _footer(grid: Grid, end: int, is_result: Callable[[Row], bool]) -> tuple[dict[str, str], int]:
    """``Analysis Type = Multiplex`` and friends below the results table (a results row there
    ends the footer: it is never taken for a key and a value)."""
    footer: dict[str, str] = {}
    index = end
    while index < len(grid.rows):
        row = grid.rows[index]
        if _is_section(row) or is_result(row):
            break
        if not row.blank:
            kv = key_value(row)
            if kv is None:
                break
            footer.setdefault(kv[0], kv[1])
        index += 1
    return footer, index


def _drop_other_sections(
    builder: PlateBuilder,
    grid: Grid,
    sections: list[tuple[int, str]],
    header_index: int,
    footer_end: int,
    is_result: Callable[[Row], bool],
) -> None:
    """Every section other than the results is read and skipped: say so, once per section."""
    bounds = [s for s, _ in sections] + [len(grid.rows)]
    region_end = min([s for s in bounds if s > header_index], default=len(grid.rows))
    if footer_end < region_end and any(not r.blank for r in grid.rows[footer_end:region_end]):
        stray = [r.number for r in grid.rows[footer_end:region_end] if is_result(r)]
        reason = "lines after the results table not recognised"
        if stray:
            rows = ", ".join(str(n) for n in stray[:8]) + (" ..." if len(stray) > 8 else "")
            reason += (
                f"; {len(stray)} of them (row {rows}) look like results rows but come after "
                "lines that are not results, so they are not read: check the export"
            )
        builder.drop(_span(grid, footer_end, region_end), reason)
    for (start, name), stop in zip(sections, bounds[1:], strict=True):
        if start < header_index < stop:
            continue
        builder.drop(
            _span(grid, start, stop),
            f"section {name} not used: not the results table",
        )


def _span(grid: Grid, start: int, stop: int) -> str:
    """The place of rows ``start..stop-1`` (indices into grid.rows)."""
    return grid.span(grid.rows[start].number, grid.rows[stop - 1].number)


def _metadata(pairs: dict[str, str], footer: dict[str, str], label: str) -> dict[str, Any]:
    by_norm = {norm_header(k): v for k, v in pairs.items()}
    metadata: dict[str, Any] = {"export": label}
    for key, names in _METADATA_KEYS.items():
        for name in names:
            if meaningful(by_norm.get(name)):
                metadata[key] = by_norm[name].strip()
                break
    if "passive_reference" not in metadata and "passive reference" in by_norm:
        metadata["passive_reference"] = "none"  # the key is there, empty: no passive reference
    software = meaningful(by_norm.get("software name and version"))
    if not software and meaningful(by_norm.get("software name")):
        software = f"{by_norm['software name']} {by_norm.get('software version', '')}".strip()
    if software:
        metadata["software"] = software
    analysis = {norm_header(k): v for k, v in footer.items()}.get("analysis type")
    if analysis:
        metadata["analysis_type"] = analysis
    metadata["header"] = dict(pairs)
    if footer:
        metadata["results_footer"] = dict(footer)
    return metadata


def _one_or_all(values: set[Any]) -> Any:
    ordered = sorted(values)
    return ordered[0] if len(ordered) == 1 else ordered


def _file_stem(name: str) -> str:
    return PureWindowsPath(name).stem if name else ""


def _raise_no_table(path: Path, source: Any) -> None:
    """No results header: name the missing column when a table without Ct is there."""

    def has_well_and_names(header: Sequence[str]) -> bool:
        return (
            find_column(header, ("well", "well position")) is not None
            and find_column(header, _DYE + _TARGET + _SAMPLE) is not None
        )

    found = find_header(source, has_well_and_names, sheets=_RESULT_SHEETS)
    if found is not None:
        grid, index = found
        row = grid.rows[index]
        raise missing_column(
            path,
            grid.place(row.number),
            "CT",
            row.cells,
            'Export the "Results" table (with the CT/Cq column), or pass --format.',
        )
    raise PlateFormatError(
        path,
        "no results table (a header with Well, Reporter/Target and CT/Cq) was found; "
        'export the "Results" section, or pass --format',
    )
