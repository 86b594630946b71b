"""Shared parsing rules for plate readers: header names, numbers, wells, Ct cells, the builder.

Every reader uses the same rules so that the same cell means the same thing in every format:
headers are matched after normalisation (NFKC, Cyrillic look-alikes, Δ); a Ct cell is a number,
a no-amplification token, or an error; wells are "A1".."P24" or tube numbers.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import PlateFormatError
from ..model import Dropped
from ._source import Grid, Row, Source, WorkbookSource, guess_delimiter, split_line
from .plate import WELL_COLUMNS, Plate

# Latin look-alikes written by AB software (Cт with a Cyrillic т) and old code pages.
_HOMOGLYPHS = str.maketrans(
    {
        "т": "t", "Т": "T", "С": "C", "с": "c", "о": "o", "О": "O", "а": "a", "А": "A",
        "е": "e", "Е": "E", "р": "p", "Р": "P", "х": "x", "Х": "X", "к": "k", "К": "K",
        "М": "M", "Н": "H", "В": "B", "Δ": "delta ", "∆": "delta ",
    }
)  # fmt: skip

# A well's own quantification cycle, by any instrument's name for it; never Mean/SD columns.
CT_NAMES = ("ct", "crt", "cq", "cp")

# What instruments write for "no amplification" (compared case-insensitively).
NO_AMP_TOKENS = frozenset(
    {"undetermined", "nan", "n/a", "no ct", "no cq", "noc", "no amp", "-", "--"}
)

_POSITION = re.compile(r"([A-Pa-p])\s*0*([1-9][0-9]?)")
_INTEGER = re.compile(r"\+?0*([1-9][0-9]*)(?:\.0*)?")
_NUMBER = re.compile(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
_THOUSANDS = re.compile(r"[-+]?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]*)?")
_DECIMAL_COMMA = re.compile(r"[-+]?[0-9]*,[0-9]+")
_SPACES = re.compile(r"[\s\u00a0\u202f']")

LAYOUTS = {48: (6, 8), 96: (8, 12), 384: (16, 24)}
MEANINGLESS = frozenset({"", "na", "n/a", "none", "null", "-"})


def norm_header(text: str) -> str:
    """A header cell in comparable form.

    >>> norm_header("Cт Mean"), norm_header(" Well  Position "), norm_header("ΔCт")
    ('ct mean', 'well position', 'delta ct')
    """
    folded = unicodedata.normalize("NFKC", text).translate(_HOMOGLYPHS)
    return " ".join(folded.lower().split()).rstrip(":").strip()


def find_column(header: Sequence[str], names: Iterable[str]) -> int | None:
    """Index of the first column whose normalised name is one of ``names`` (in their order).

    The first of duplicated names wins (QuantStudio results-only exports repeat some)."""
    for name in names:
        if name in header:
            return header.index(name)
    return None


def missing_column(
    path: Path, place: str, wanted: str, raw_header: Sequence[str], fix: str
) -> PlateFormatError:
    """The error for a missing column, listing the columns that are there."""
    found = ", ".join(c.strip() for c in raw_header if c.strip()) or "(no column names)"
    return PlateFormatError(
        path, f'column "{wanted}" is missing. Found: {found}. {fix}', place=place
    )


def find_header(
    source: Source,
    is_header: Callable[[Sequence[str]], bool],
    *,
    sheets: Iterable[str] = (),
    start: int = 0,
) -> tuple[Grid, int] | None:
    """The first grid and row index whose normalised cells satisfy ``is_header``.

    For text the delimiter is chosen on the header line itself: metadata lines above it may
    use another separator. Preferred sheets are searched first, then the others in order.
    ``start`` skips the first lines of a text file (to search inside one section).
    """
    if isinstance(source, WorkbookSource):
        preferred = [s.lower() for s in sheets]
        ordered = sorted(
            source.sheets,
            key=lambda g: preferred.index(g.name.lower()) if g.name.lower() in preferred else 99,
        )
        for grid in ordered:
            for index, row in enumerate(grid.rows):
                if not row.blank and is_header([norm_header(c) for c in row.cells]):
                    return grid, index
        return None
    for index, line in enumerate(source.lines):
        if index < start or not line.strip():
            continue
        delimiter = guess_delimiter(line)
        if is_header([norm_header(c) for c in split_line(line, delimiter)]):
            return source.grid(delimiter), index
    return None


def table_rows(
    grid: Grid,
    header_index: int,
    has_shape: Callable[[Row], bool],
    *,
    stops: Callable[[Row], bool] = lambda row: False,
) -> tuple[list[Row], int]:
    """The rows of the table under ``grid.rows[header_index]``, and the index of the first row
    after it. The table runs to a blank row (or a ``stops`` row), but rows after blank rows that
    have the table's shape are results too: before, they were taken for a footer and their
    wells looked missing. Whatever follows the last such row is the caller's to account for.

    The table's last row, when it ends the file, is fitted to the header and the row above it
    (:meth:`Row.fit`): shorter than both, it is read as cut even if a line end follows it.
    """
    rows: list[Row] = []
    index = header_index + 1
    count = len(grid.rows)
    while True:
        while index < count and not grid.rows[index].blank and not stops(grid.rows[index]):
            rows.append(grid.rows[index])
            index += 1
        resume = index
        while resume < count and grid.rows[resume].blank:
            resume += 1
        if resume in (index, count) or stops(grid.rows[resume]):
            break
        if not has_shape(grid.rows[resume]):
            break
        index = resume
    if rows:
        above = rows[-2] if len(rows) > 1 else None
        rows[-1] = rows[-1].fit(grid.rows[header_index], above)
    return rows, index


# ---------------------------------------------------------------------------------------------
# numbers and Ct cells


def infer_decimal_comma(values: Iterable[str]) -> bool:
    """True when a column's numbers use a decimal comma ("28,28") and none uses a point.

    >>> infer_decimal_comma(["28,28", "Undetermined"]), infer_decimal_comma(["1,234.5", "2.0"])
    (True, False)
    """
    comma = False
    for value in values:
        text = _SPACES.sub("", value)
        if "." in text and any(ch.isdigit() for ch in text):
            return False
        if _DECIMAL_COMMA.fullmatch(text):
            comma = True
    return comma


def parse_number(text: str, *, decimal_comma: bool = False) -> float | None:
    """A number as instruments write it, or None.

    Thousands separators (``62,700.023``) are removed when the decimal mark is a point; with a
    decimal comma, points are thousands separators (``1.234,5``).

    >>> parse_number("62,700.023"), parse_number("2.183E-03")
    (62700.023, 0.002183)
    >>> parse_number("28,28", decimal_comma=True), parse_number("1.234,5", decimal_comma=True)
    (28.28, 1234.5)
    >>> parse_number("28,28") is None
    True
    """
    if not text:  # an empty cell (or a column the export lacks)
        return None
    compact = _SPACES.sub("", text)
    if decimal_comma:
        if "," in compact:
            compact = compact.replace(".", "").replace(",", ".")
    elif "," in compact and _THOUSANDS.fullmatch(compact):
        compact = compact.replace(",", "")
    if not _NUMBER.fullmatch(compact):
        return None
    return float(compact)


class CtCellError(ValueError):
    """A Ct cell that is neither a number nor a no-amplification token."""


def parse_ct(text: str, *, decimal_comma: bool = False) -> float:
    """A Ct cell: a non-negative number, or NaN for a no-amplification token.

    Blank cells are not handled here: whether blank means "no amplification" or "not
    analysed" depends on the instrument, so each reader decides before calling this.

    A number below 1 is refused too: cycles are counted from 1, so no curve crosses its
    threshold before it, and a 0 is what some software, or a spreadsheet, writes where no Ct was
    found. Read as a Ct it was an amplification at cycle 0, a mutation DETECTED.

    >>> parse_ct("31.2"), parse_ct("Undetermined"), parse_ct("NaN")
    (31.2, nan, nan)
    >>> parse_ct("0.00")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    esr1calls.plates._table.CtCellError: '0.00' is not a possible Ct (cycles are counted from 1; ...
    """
    value = text.strip()
    if value.lower() in NO_AMP_TOKENS:
        return math.nan
    number = parse_number(value, decimal_comma=decimal_comma)
    if number is None:
        raise CtCellError(f"{value!r} is not a number")
    if not math.isfinite(number) or number < 0:
        raise CtCellError(f"{value!r} is not a possible Ct (negative or infinite)")
    if number < 1:
        raise CtCellError(
            f"{value!r} is not a possible Ct (cycles are counted from 1; some software writes 0 "
            "where it found no Ct)"
        )
    return number


# ---------------------------------------------------------------------------------------------
# wells


class WellError(ValueError):
    """A well that is neither a plate position nor an index on a known layout."""


def layout_from_block(block_type: str) -> tuple[int, int] | None:
    """Rows and columns from a block/plate description ("384-Well Block", "96fast", ...)."""
    text = block_type.lower()
    for size in (384, 96, 48):
        if str(size) in text:
            return LAYOUTS[size]
    return None


@lru_cache(maxsize=4096)  # a plate repeats each of its wells once per dye; parsed once
def parse_well(text: str, layout: tuple[int, int] | None = None) -> str:
    """A well as "A1".."P24", from "A1", "A01", "a 1" or a 1-based row-major index.

    An index needs the plate layout: without it the same number means different wells on a
    96- and a 384-well plate, so it is an error rather than a guess.

    >>> parse_well("A01"), parse_well("h12"), parse_well("13", (8, 12)), parse_well("1.0", (16, 24))
    ('A1', 'H12', 'B1', 'A1')
    """
    value = text.strip()
    match = _POSITION.fullmatch(value)
    if match:
        row = match.group(1).upper()
        column = int(match.group(2))
        rows, columns = layout or (16, 24)
        if column > columns or ord(row) - ord("A") >= rows:
            raise WellError(f"well {value!r} is outside a {rows * columns}-well plate")
        return f"{row}{column}"
    index_match = _INTEGER.fullmatch(value)
    if index_match:
        if layout is None:
            raise WellError(
                f"well {value!r} is an index and the plate size is unknown; "
                "export the Well Position column (A1..P24)"
            )
        rows, columns = layout
        index = int(index_match.group(1))
        if index > rows * columns:
            raise WellError(f"well index {index} is beyond a {rows * columns}-well plate")
        return f"{chr(ord('A') + (index - 1) // columns)}{(index - 1) % columns + 1}"
    raise WellError(f"{value!r} is not a well (expected A1..P24)")


def parse_tube(text: str) -> str:
    """A rotor position as a plain number string ("25", also from Excel's "25.0").

    >>> parse_tube("25.0"), parse_tube(" 7 ")
    ('25', '7')
    """
    match = _INTEGER.fullmatch(text.strip())
    if not match:
        raise WellError(f"{text.strip()!r} is not a tube number")
    return match.group(1)


# ---------------------------------------------------------------------------------------------
# metadata


def meaningful(*values: str | None) -> str:
    """The first value that says something ("NA", "None" and blanks do not)."""
    for value in values:
        if value is not None and value.strip().lower() not in MEANINGLESS:
            return value.strip()
    return ""


def key_value(row: Row) -> tuple[str, str] | None:
    """A metadata row: ``* Key = value`` (AB text), ``Key = value`` or cells ``Key | value``."""
    values = row.values
    if not values:
        return None
    first = values[0]
    if first.startswith("#"):  # generic tables: "# key: value"
        key, sep, value = first.lstrip("#").partition(":")
        return (key.strip(), value.strip()) if sep and key.strip() else None
    if len(row.cells) == 1 or first.startswith("*"):
        line = row.cells[0] if len(row.cells) == 1 else "\t".join(row.cells)
        line = line.strip().lstrip("*").strip()
        if "=" in line:
            key, _, value = line.partition("=")
            return key.strip(), value.strip()
        return None
    if first.startswith("["):
        return None
    return first, values[1] if len(values) > 1 else ""


def flag_token(text: str) -> str:
    """A flag as one upper-case token without separators.

    >>> flag_token("No Amp"), flag_token("LOW_AMP_SCORE; x")
    ('NO_AMP', 'LOW_AMP_SCORE_X')
    """
    return re.sub(r"[^0-9A-Za-z]+", "_", text.strip()).strip("_").upper()


def is_true(text: str) -> bool:
    return text.strip().lower() in {"true", "1", "yes", "y", "checked"}


# ---------------------------------------------------------------------------------------------
# building the plate


class PlateBuilder:
    """Collects well rows and dropped rows, enforcing one row per (well, dye)."""

    def __init__(self, path: Path, fmt: str) -> None:
        self.path = path
        self.fmt = fmt
        self.records: list[dict[str, Any]] = []
        self.dropped: list[Dropped] = []
        self.notices: list[str] = []
        self._seen: dict[tuple[str, str], str] = {}
        self._places: list[str] = []  # of each record, for messages about blocks

    def add(
        self,
        *,
        well: str,
        dye: str,
        ct: float,
        place: str,
        source_row: int,
        sample_name: str = "",
        target_name: str = "",
        flags: Iterable[str] = (),
    ) -> None:
        dye_name = dye.strip().upper()
        key = (well, dye_name)
        if key in self._seen:
            raise PlateFormatError(
                self.path,
                f"well {well}, dye {dye_name or '(none)'} appears twice (first at "
                f"{self._seen[key]}). Each well and dye must appear once: remove the duplicate "
                "row, or export one plate per file",
                place=place,
            )
        self._seen[key] = place
        self._places.append(place)
        unique_flags = list(dict.fromkeys(f for f in flags if f))
        self.records.append(
            {
                "well": well,
                "sample_name": sample_name.strip(),
                "target_name": target_name.strip(),
                "dye": dye_name,
                "ct": float(ct),
                "flags": ";".join(unique_flags),
                "source_row": int(source_row),
            }
        )

    def drop(self, place: str, reason: str) -> None:
        self.dropped.append(Dropped(source=self.path.name, place=place, reason=reason))

    def drop_cut(self, place: str, row: Row, column: int, header: Sequence[str], what: str) -> None:
        """Drop a row that the end of the file cuts inside a used cell (``what`` names the well
        and dye, as far as they are whole), and say that the export looks cut short."""
        name = header[column].strip() if column < len(header) else f"column {column + 1}"
        if column < len(row.cells):
            where = f'its "{name}" cell {row.cells[column].strip()!r} may be cut short'
        else:
            where = f'it stops before its "{name}" cell'
        consequence = (
            "any rows that followed it are missing. The calls that need them are INVALID (a "
            "missing well or control), never read from a cut cell or as no amplification. "
            "Export the file again"
        )
        if row.short:
            self.drop(
                place,
                f"{what}: the file ends with this row, which {row.short}, and {where}; the row "
                "is not used",
            )
            self.notices.append(
                f"{self.path.name} ends with {place}, which {row.short}: the export looks cut "
                f"short, so that row is not used and {consequence}. If it is complete, write "
                "the row whole (a no-amplification token rather than an empty Ct)"
            )
            return
        self.drop(
            place,
            f"{what}: the file ends inside this row, without a line end, and {where}; "
            "the row is not used",
        )
        self.notices.append(
            f"{self.path.name} ends inside {place} (no line end after it): the export looks cut "
            f"short, so that row is not used and {consequence}; if it is complete, end its last "
            "line with a line break"
        )

    def build(self, run_id: str, metadata: Mapping[str, Any], *, fix: str = "") -> Plate:
        if not self.records:
            hint = fix or "the file may be truncated, or it is not a results export"
            raise PlateFormatError(self.path, f"no well results were found; {hint}")
        short = self._short_last_block()
        if short:
            self.notices.append(short)
        wells = pd.DataFrame({name: [r[name] for r in self.records] for name in WELL_COLUMNS})
        dtypes = {"ct": "float64", "source_row": "int64"}  # what add() stores: float, int
        if any(wells[name].dtype != dtype for name, dtype in dtypes.items()):
            wells = wells.astype(dtypes)
        return Plate(
            path=self.path,
            format=self.fmt,
            run_id=run_id or self.path.stem,
            wells=wells,
            metadata=dict(metadata),
            dropped=tuple(self.dropped),
            notices=tuple(dict.fromkeys(self.notices)),
        )

    def _short_last_block(self) -> str | None:
        """Where an export writes one block of rows per dye (CFX sorted by fluor, Rotor-Gene one
        block per channel, LightCycler 480 one per filter), a last block that stops part-way
        through the wells of the block before it is what a file cut at a line end looks like.
        The wells it lacks have no value in that dye (the pcr layer calls them MISSING_WELL);
        say so, since nothing else in the file shows it. A last block that is longer, or holds
        other wells, is a layout, not a cut."""
        blocks: list[tuple[str, list[int]]] = []  # dye, record indices
        for index, record in enumerate(self.records):
            if blocks and blocks[-1][0] == record["dye"]:
                blocks[-1][1].append(index)
            else:
                blocks.append((record["dye"], [index]))
        dyes = [dye for dye, _ in blocks]
        if len(blocks) < 2 or len(set(dyes)) != len(dyes):
            return None  # rows interleave dyes (one row per well and dye): no blocks
        (dye, last), (before_dye, before) = blocks[-1], blocks[-2]
        wells = [self.records[i]["well"] for i in last]
        previous = [self.records[i]["well"] for i in before]
        if len(wells) >= len(previous) or previous[: len(wells)] != wells:
            return None
        missing = previous[len(wells) :]
        shown = ", ".join(missing[:12])
        if len(missing) > 12:
            shown += f" and {len(missing) - 12} more"
        return (
            f"{self.path.name}: the {dye or '(no dye)'} rows stop at well {wells[-1]} "
            f"({self._places[last[-1]]}) in the last block, while the {before_dye} rows before "
            f"them go on to well {previous[-1]}: {len(missing)} well(s) ({shown}) have no "
            f"{dye} row. If the export was cut short, export it again; those wells' {dye} "
            "values are missing (MISSING_WELL), never no amplification"
        )


def cut_label(
    row: Row, well: int | None, dye: int | None, fallback_dye: str = "", noun: str = "well"
) -> str:
    """ "well D06 Cy5" for a cut row, from the cells the cut left whole ("well ?" otherwise)."""
    well_text = row.get(well) if row.cut_column(well) is None else ""
    dye_text = row.get(dye) if dye is not None and row.cut_column(dye) is None else fallback_dye
    return " ".join(t for t in (noun, well_text or "?", dye_text) if t)


def truncated_row(
    path: Path, place: str, found: int, header: Sequence[str], column: int
) -> PlateFormatError:
    """The error for a row that ends before the Ct column."""
    return PlateFormatError(
        path,
        f"the row stops after {found} of {len(header)} columns, before "
        f'"{header[column].strip()}"; the file looks truncated: export it again',
        place=place,
    )


def read_ct(
    path: Path, place: str, text: str, column: str, *, decimal_comma: bool, tokens: str
) -> float:
    """A Ct cell as a number; NaN for no amplification (a token, or an empty cell where the
    reader has decided an empty cell means that). An unreadable cell is a PlateFormatError."""
    if not text:
        return float("nan")
    try:
        return parse_ct(text, decimal_comma=decimal_comma)
    except CtCellError as exc:
        raise PlateFormatError(
            path,
            f'column "{column}": {exc}; expected a number or {tokens}. Correct the cell or '
            "export the file again",
            place=place,
        ) from exc
