"""Shared reading for the dPCR exports: one header row, then one row per (well, target).

The bytes-to-cells layer is ``plates/_source.py`` (decoding, quotes, workbooks, and which cells
of a last line without its line end are whole); header names are compared after
``plates/_table.norm_header``. A mis-encoded µ (``Âµ``, ``�``, ``?``) or ``u`` in a unit is
folded to ``u``, so ``Conc(copies/µL)`` is found however the export wrote it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import PlateFormatError
from ..plates._source import (
    Export,
    Grid,
    Row,
    Source,
    WorkbookSource,
    load_source,
    split_line,
)
from ..plates._table import find_header, norm_header

__all__ = ["Table", "column", "column_starting", "head_headers", "header_cells", "load_table"]

# µ as exports write it: U+00B5, U+03BC, UTF-8 bytes read as cp1252 ("Âµ"), a replacement
# character, or a question mark from a lossy code page
HEADER_LINES = 5
_MICRO = re.compile(r"(?:Âµ|µ|μ|\ufffd|\?)")


def header_cells(cells: Sequence[str]) -> list[str]:
    """Header cells in comparable form, µ folded to u.

    >>> header_cells(["Conc(copies/ÂµL)", " Accepted  Droplets ", "Conc. [copies/\\ufffdL]"])
    ['conc(copies/ul)', 'accepted droplets', 'conc. [copies/ul]']
    """
    return [norm_header(_MICRO.sub("u", cell.strip().strip('"'))) for cell in cells]


def head_headers(head: str, lines_read: int = HEADER_LINES) -> list[list[str]]:
    """The sniffers' view: the first head lines as header cells, split on their likely
    delimiter (every dPCR export has its header on line 1, or line 2 after ``sep=,``)."""
    lines = []
    for line in head.splitlines()[:lines_read]:
        text = line.lstrip("\ufeff")
        delimiter = "\t" if "\t" in text else (";" if text.count(";") > text.count(",") else ",")
        lines.append(header_cells(split_line(text, delimiter)))
    return lines


def column(header: Sequence[str], *names: str) -> int | None:
    """Index of the first of ``names`` in the (folded) header."""
    for name in names:
        if name in header:
            return header.index(name)
    return None


def column_starting(header: Sequence[str], *prefixes: str) -> int | None:
    """Index of the first column whose folded name starts with one of ``prefixes``."""
    for prefix in prefixes:
        for index, name in enumerate(header):
            if name.startswith(prefix):
                return index
    return None


@dataclass(frozen=True)
class Table:
    """The results table of an export: its header and the non-blank rows below it."""

    path: Path
    source: Source
    grid: Grid
    header_row: Row
    raw: tuple[str, ...]  # the header as written
    header: tuple[str, ...]  # folded
    rows: tuple[Row, ...]

    @property
    def encoding(self) -> str:
        return self.source.encoding

    def place(self, row: Row) -> str:
        return self.grid.place(row.number)


def load_table(export: Export, is_header: Callable[[Sequence[str]], bool], what: str) -> Table:
    """The first table whose header ``is_header`` accepts (µ folded), and its rows."""
    path = export.path
    source = load_source(export)
    found = find_header(source, lambda cells: is_header(header_cells(cells)))
    if found is None:
        raise PlateFormatError(
            path, f"no results table was found for {what}; export the results table again"
        )
    grid, index = found
    header_row = grid.rows[index]
    rows = tuple(row for row in grid.rows[index + 1 :] if not row.blank)
    if isinstance(source, WorkbookSource):
        # a sheet pads its rows with empty cells: nothing there is cut
        rows = tuple(row for row in rows if row.values)
    return Table(
        path=path,
        source=source,
        grid=grid,
        header_row=header_row,
        raw=tuple(c.strip().strip('"') for c in header_row.cells),
        header=tuple(header_cells(header_row.cells)),
        rows=rows,
    )
