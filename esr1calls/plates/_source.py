"""Bytes to cells: decoding, line splitting, spreadsheets and zip safety for every plate reader.

Readers never touch raw bytes. They ask for a :class:`Source` (text lines or workbook sheets),
turn it into :class:`Grid` s of string cells with 1-based row numbers, and report places as
``row 14`` or ``sheet 'Results', row 14`` so every message points at what the user sees.

Safety: xlsx and RDML files are zip archives written by instruments, but a file that reaches a
clinical pipeline may be anything. Archives are refused before anything is decompressed when
their declared sizes exceed the caps below, and while decompressing when a member turns out
larger than it claimed. XML members with a DOCTYPE (the door to entity expansion and external
entities) are refused outright: no instrument export needs one.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
import os
import pickle
import re
import subprocess
import sys
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path

from ..errors import Esr1CallsError, PlateFormatError

MAX_INPUT_BYTES = 256 * 2**20  # a 384-well export with every section is a few MB
MAX_ZIP_MEMBERS = 5_000
MAX_ZIP_TOTAL_BYTES = 256 * 2**20  # total uncompressed size of an xlsx/RDML archive
MAX_ZIP_RATIO = 200  # uncompressed/compressed; real xlsx and RDML stay well below 50
HEAD_ROWS = 60  # rows per sheet (or lines of text) shown to the sniffers
CHUNK_BYTES = 1 << 16  # XML is parsed this much at a time

ZIP_MAGIC = (b"PK\x03\x04", b"PK\x07\x08", b"PK\x05\x06")  # local header, spanned, empty
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls (BIFF8 in a compound file)
SHEET_MARK = "[[sheet: "  # starts each sheet in a workbook head; never occurs in text exports

_NEWLINE = re.compile(r"\r\n|\r|\n")
_DOCTYPE_PATTERNS = tuple(
    token.encode(enc)
    for token in ("<!DOCTYPE", "<!ENTITY")
    for enc in ("ascii", "utf-16-le", "utf-16-be")
)


@dataclass(frozen=True)
class Row:
    """One row of cells (strings, never None) and its 1-based line or row number.

    ``whole`` is set only on the last line of a text file that ends without a line end (a copy
    interrupted, a USB stick pulled): how many leading cells are known complete, because a
    delimiter follows them or a closing quote ends them. The cell after those, and any cell the
    row lacks, may be cut short ("35.50" read as "35"), so readers never use them as data.
    """

    number: int
    cells: tuple[str, ...]
    whole: int | None = None  # None: the row ended with a line end (or is a sheet row)
    # the file's last line, with a line end: how many cells would be whole if the line end was
    # added after a cut (editors and copy tools add one); see :meth:`fit`
    tail: int | None = None
    short: str = ""  # set by :meth:`fit`: why the file's last row, with its line end, reads as cut

    def fit(self, header: Row, above: Row | None) -> Row:
        """This row, or the same row read as cut when it is the last line of a text file that
        ends with a line end and looks cut: a copy cut inside a row and then given a line end
        (editors and copy tools add one). It looks cut when it has fewer cells than the
        ``header`` and than the row ``above`` it (when there is one), or when its last cell is
        empty where the row above has one (a table cut after its last separator). Its missing
        cells and its last cell may be cut short ("35.50" read as "35", an empty Ct read as no
        amplification), so readers drop it when they need one of them (:meth:`cut_column`); a
        row as long as the row above it is the format's own shape, not a cut.

        >>> header, above = Row(1, ("Well", "Dye", "Ct", "Note")), Row(2, ("A1", "FAM", "30", ""))
        >>> Row(3, ("A2", "FAM", "35"), tail=2).fit(header, above).cut_column(0, 1, 2)
        2
        >>> Row(3, ("A2", "FAM", "35", ""), tail=3).fit(header, above).whole is None
        True
        >>> header, above = Row(1, ("Well", "Dye", "Ct")), Row(2, ("A1", "FAM", "30"))
        >>> Row(3, ("A2", "FAM", ""), tail=2).fit(header, above).short
        'ends with an empty cell where the row above has a value'
        """
        if self.tail is None or self.whole is not None:
            return self
        width = len(self.cells)
        if width < len(header.cells) and (above is None or width < len(above.cells)):
            short = f"has {width} of the header's {len(header.cells)} cells" + (
                ", fewer than the row above" if above is not None else ""
            )
        elif (
            above is not None
            and width == len(above.cells)
            and not self.cells[-1].strip()
            and above.cells[-1].strip()
        ):
            short = "ends with an empty cell where the row above has a value"
        else:
            return self
        return replace(self, whole=self.tail, short=short)

    def cut_column(self, *columns: int | None) -> int | None:
        """The first of ``columns`` (cell indices) that the end of the file may have cut, or
        None when every one of them is complete (always, for a row with its line end).

        >>> Row(9, ("A1", "FAM", "35"), whole=2).cut_column(0, 2, 1)
        2
        >>> Row(9, ("A1", "FAM", "35.5", ""), whole=3).cut_column(0, 1, 2) is None
        True
        """
        if self.whole is None:
            return None
        cut = [c for c in columns if c is not None and c >= self.whole]
        return min(cut) if cut else None

    def get(self, index: int | None) -> str:
        """The stripped cell at ``index``; "" when the row is shorter or index is None."""
        if index is None or index >= len(self.cells):
            return ""
        return self.cells[index].strip()

    @property
    def blank(self) -> bool:
        return not "".join(self.cells).strip()

    @property
    def values(self) -> list[str]:
        """The stripped cells without trailing empty ones."""
        values = [cell.strip() for cell in self.cells]
        while values and not values[-1]:
            values.pop()
        return values


@dataclass(frozen=True)
class Grid:
    """A sheet, or a text file split on one delimiter."""

    name: str  # sheet name; "" for a text file
    rows: tuple[Row, ...]
    delimiter: str = ""  # for text files: the separator the rows were split on

    def place(self, number: int) -> str:
        """Where a row is, in the words a user would look for it."""
        return f"sheet {self.name!r}, row {number}" if self.name else f"row {number}"

    def span(self, first: int, last: int) -> str:
        """The place of rows ``first..last`` ("row 12" when they are one row)."""
        rows = f"row {first}" if first == last else f"rows {first}-{last}"
        return f"sheet {self.name!r}, {rows}" if self.name else rows


@dataclass(frozen=True)
class TextSource:
    """A text export, decoded; ``lines[0]`` is line 1. ``line_end`` is False when the data stop
    without a line end after the last line (that line may be cut short)."""

    path: Path
    lines: tuple[str, ...]
    encoding: str
    line_end: bool = True

    def grid(self, delimiter: str) -> Grid:
        """All lines split on ``delimiter`` (quotes honoured, as Excel writes them); a last line
        without its line end knows which of its cells are whole."""
        rows = [
            Row(number, split_line(line, delimiter))
            for number, line in enumerate(self.lines, start=1)
        ]
        if rows and not self.line_end:
            rows[-1] = replace(rows[-1], whole=whole_cells(self.lines[-1], delimiter))
        elif rows:  # the last line that holds anything may still be a cut row given a line end
            last = next((i for i in range(len(rows) - 1, -1, -1) if not rows[i].blank), None)
            if last is not None:
                tail = whole_cells(self.lines[last], delimiter)
                rows[last] = replace(rows[last], tail=tail)
        return Grid("", tuple(rows), delimiter)


@dataclass(frozen=True)
class WorkbookSource:
    """An xlsx/xls workbook: every sheet as a grid of strings."""

    path: Path
    sheets: tuple[Grid, ...]
    encoding: str = "xlsx"


Source = TextSource | WorkbookSource


def split_line(line: str, delimiter: str) -> tuple[str, ...]:
    """Split one line; quoted cells may contain the delimiter.

    >>> split_line('1\\tA1\\t"RGB(1,2,3)"', "\\t")
    ('1', 'A1', 'RGB(1,2,3)')
    >>> split_line('Endogenous Control,"ACTB, GAPDH",,', ",")
    ('Endogenous Control', 'ACTB, GAPDH', '', '')
    """
    if delimiter not in line and '"' not in line:
        return (line,)
    if '"' not in line and "\n" not in line and "\r" not in line:
        return tuple(line.split(delimiter))  # nothing for csv to honour: its split exactly
    reader = csv.reader([line], delimiter=delimiter, quotechar='"', strict=False)
    try:
        return tuple(next(reader, []))
    except csv.Error:  # e.g. a NUL byte; fall back to a plain split rather than fail here
        return tuple(line.split(delimiter))


def whole_cells(line: str, delimiter: str) -> int:
    """How many cells of a line that ends the file without a line end are complete: each one a
    delimiter follows, and a last cell closed by its quote. An unclosed quote is a cut.

    >>> whole_cells("A1,FAM,35.5", ","), whole_cells("A1,FAM,35.5,", ","), whole_cells("A1", ",")
    (2, 3, 0)
    >>> whole_cells('A1,FAM,"35.50"', ","), whole_cells('A1,FAM,"35.5', ",")
    (3, 2)
    """
    whole = 0
    quoted = closed = False  # inside a quoted cell; just after its closing quote
    at_start = True
    for char in line:
        if quoted:
            if char == '"':
                quoted, closed = False, True
            continue
        if char == delimiter:
            whole += 1
            at_start, closed = True, False
            continue
        # an opening quote, or a doubled quote inside a quoted cell ("a""b")
        quoted = char == '"' and (at_start or closed)
        at_start = closed = False
    return whole + (1 if closed else 0)


def guess_delimiter(line: str) -> str:
    """The delimiter of a header line: tab if any, else the more frequent of ';' and ','."""
    if "\t" in line:
        return "\t"
    return ";" if line.count(";") > line.count(",") else ","


# ---------------------------------------------------------------------------------------------
# bytes


@dataclass(frozen=True)
class Export:
    """One plate export as read from disk, once: every sniffer and the reader look at these bytes,
    and the provenance hash is theirs, even if the file changes on disk after it was read.

    A workbook is parsed (in a child process) at most once, for sniffing and reading alike, and
    text is decoded once. Nothing is kept between two exports: each ``read_plate`` makes its own.
    """

    path: Path
    data: bytes

    @classmethod
    def read(cls, path: Path) -> Export:
        """The file at ``path``, refusing missing, unreadable, empty and oversized files."""
        return cls(path, read_bytes(path))

    @cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @cached_property
    def text(self) -> tuple[str, str]:
        """The decoded text and the encoding used (:func:`decode_text`)."""
        return decode_text(self.path, self.data)

    @cached_property
    def workbook(self) -> WorkbookSource:
        """Every sheet of an xlsx/xls export (:func:`load_workbook`)."""
        return load_workbook(self.path, self.data)


def read_bytes(path: Path) -> bytes:
    """The whole file, refusing missing, unreadable, empty and oversized files."""
    try:
        size = path.stat().st_size
        if size > MAX_INPUT_BYTES:
            raise PlateFormatError(
                path,
                f"the file is {size / 2**20:.0f} MiB, larger than any plate export "
                f"({MAX_INPUT_BYTES // 2**20} MiB limit); check that this is the right file",
            )
        data = path.read_bytes()
    except PlateFormatError:
        raise
    except IsADirectoryError as exc:
        raise PlateFormatError(path, "is a directory, not a plate export") from exc
    except OSError as exc:
        raise PlateFormatError(path, f"cannot be read ({exc.strerror or exc})") from exc
    if not data.strip():
        raise PlateFormatError(
            path, "the file is empty; export the results table again", place="row 1"
        )
    return data


def decode_text(path: Path, data: bytes) -> tuple[str, str]:
    """Text and the encoding used: BOM, then strict UTF-8, then UTF-16, then cp1252.

    Strict UTF-8 comes before cp1252 because UTF-8 exports with a Cyrillic т or ™ also decode
    "successfully" as cp1252, into mojibake that would hide the Ct column.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        candidates = ["utf-8-sig"]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        candidates = ["utf-16"]
    else:
        candidates = ["utf-8"]
        sample = data[:4096]
        # UTF-16 without a BOM: every other byte of ASCII text is NUL
        if sample.count(0) > len(sample) // 4:
            candidates += [
                "utf-16-le" if sample[1::2].count(0) > sample[::2].count(0) else "utf-16-be"
            ]
        candidates.append("cp1252")
    for encoding in candidates:
        try:
            text = _whole_characters(data, encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" in text:
            continue
        return text, encoding
    raise PlateFormatError(
        path,
        "is neither UTF-8, UTF-16 nor Windows-1252 text (binary data?); "
        "export the results as text, csv or xlsx",
    )


def _whole_characters(data: bytes, encoding: str) -> str:
    """``data`` decoded, without a character that the end of the data cuts (a truncated UTF-8 or
    UTF-16 file): the text then ends without its line end, so the last line reads as cut instead
    of the whole file falling back to another encoding. Invalid bytes elsewhere still raise."""
    return codecs.getincrementaldecoder(encoding)(errors="strict").decode(data, final=False)


def ends_with_line_end(text: str) -> bool:
    """False when the text stops inside its last line (no CR or LF after it)."""
    return text.endswith(("\n", "\r"))


def text_lines(text: str) -> tuple[str, ...]:
    """Lines with CR, LF or CRLF endings (old LightCycler and SDS files use CR alone).

    >>> text_lines("a\\rb\\r\\nc\\n")
    ('a', 'b', 'c')
    """
    lines = _NEWLINE.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    return tuple(lines)


# ---------------------------------------------------------------------------------------------
# zip archives (xlsx, RDML)


def open_zip(path: Path, data: bytes) -> zipfile.ZipFile:
    """Open an archive after checking its declared sizes against the zip-bomb caps."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise PlateFormatError(
            path, f"is a damaged or truncated zip archive ({exc}); export the file again"
        ) from exc
    if len(infos) > MAX_ZIP_MEMBERS:
        raise PlateFormatError(
            path, f"the archive holds {len(infos)} members; refusing (possible zip bomb)"
        )
    total = sum(info.file_size for info in infos)
    compressed = sum(info.compress_size for info in infos)
    if total > MAX_ZIP_TOTAL_BYTES:
        raise PlateFormatError(
            path,
            f"the archive would expand to {total / 2**20:.0f} MiB "
            f"(limit {MAX_ZIP_TOTAL_BYTES // 2**20} MiB); refusing (possible zip bomb)",
        )
    if total > 2**20 and total > MAX_ZIP_RATIO * max(compressed, 1):
        raise PlateFormatError(
            path,
            f"the archive expands {total // max(compressed, 1)}-fold; refusing (possible zip bomb)",
        )
    return archive


def member_name(name: str) -> str:
    """Zip member names with forward slashes (CFX Manager writes backslashes)."""
    return name.replace("\\", "/")


def read_member(path: Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """A member's bytes, never more than it declared (a lying header is a zip bomb)."""
    return b"".join(member_chunks(path, archive, info))


def member_chunks(
    path: Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo, *, limit: int | None = None
) -> Iterator[bytes]:
    """A member's bytes in chunks, so a large RDML is never held expanded in memory; never more
    than it declared (a lying header is a zip bomb). ``limit`` stops after that many bytes."""
    wanted = info.file_size if limit is None else min(limit, info.file_size)
    done = 0
    try:
        with archive.open(info) as handle:
            while True:
                chunk = handle.read(min(CHUNK_BYTES, wanted + 1 - done))
                if not chunk:
                    return
                done += len(chunk)
                if done > info.file_size:
                    raise PlateFormatError(
                        path,
                        f"archive member {member_name(info.filename)!r} is larger than it "
                        "declares; refusing (possible zip bomb)",
                    )
                if done > wanted:  # reached the limit asked for
                    yield chunk[: len(chunk) - (done - wanted)]
                    return
                yield chunk
    except (
        zipfile.BadZipFile,
        zlib.error,
        OSError,
        ValueError,
        EOFError,
        NotImplementedError,
    ) as exc:
        raise PlateFormatError(
            path,
            f"archive member {member_name(info.filename)!r} cannot be read ({exc}); "
            "the file is damaged or truncated",
        ) from exc


def refuse_doctype(path: Path, data: bytes, member: str) -> None:
    """Refuse XML that declares a DOCTYPE or entities (entity expansion, external entities)."""
    if any(pattern in data for pattern in _DOCTYPE_PATTERNS):
        raise PlateFormatError(
            path,
            f"{member} declares a DOCTYPE or XML entities, which no instrument export uses; "
            "refusing to read it (XML entity expansion)",
        )


def is_workbook_archive(archive: zipfile.ZipFile) -> bool:
    names = {member_name(n).lower() for n in archive.namelist()}
    return "xl/workbook.xml" in names


# ---------------------------------------------------------------------------------------------
# workbooks


def cell_text(value: object) -> str:
    """A spreadsheet cell as the text a user sees; integral floats lose their ".0".

    >>> [cell_text(v) for v in (1.0, 12345.0, 28.28, True, None, " A1 ")]
    ['1', '12345', '28.28', 'TRUE', '', ' A1 ']
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    return str(value)


# The spreadsheet library is native code: on some damaged files it panics, and on a sheet that
# claims a huge range (one cell at XFD1048576) it asks for tens of GB and aborts the process.
# So it runs in a child process with a memory cap (_workbook_child.py); whatever happens there,
# this process gets the sheets or a one-line reason (about 50 ms a workbook).
WORKBOOK_TIMEOUT = 120  # seconds
_WORKBOOK_CHILD = Path(__file__).with_name("_workbook_child.py")

Unreadable = dict[str, dict[tuple[int, int], str]]


def _spreadsheet_values(
    path: Path, data: bytes
) -> tuple[list[tuple[str, list[list[object]]]], Unreadable]:
    """Every sheet's cell values, and the cells shown as errors, read in a child process."""
    damaged = "the file is damaged, truncated or password-protected: export it again"
    environment = {
        **os.environ,
        "RUST_BACKTRACE": "0",
        "ESR1CALLS_SYS_PATH": os.pathsep.join(p for p in sys.path if p),  # -I drops PYTHONPATH
    }
    try:
        child = subprocess.run(
            [sys.executable, "-I", str(_WORKBOOK_CHILD)],
            input=data,
            capture_output=True,
            timeout=WORKBOOK_TIMEOUT,
            env=environment,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise PlateFormatError(
            path, f"reading it as a spreadsheet took over {WORKBOOK_TIMEOUT} s; {damaged}"
        ) from exc
    except OSError as exc:
        raise Esr1CallsError(
            f"{path}: cannot start the process that reads workbooks ({exc}); check the "
            "Python installation, or export the results as text"
        ) from exc
    if child.returncode == 3:
        # after the NUL: the child's own line (a panic message may come before it)
        reason = child.stderr.decode("utf-8", errors="replace").rpartition("\0")[2].strip()
        if reason.startswith(("ModuleNotFoundError", "ImportError")):
            raise Esr1CallsError(
                f"{path}: the workbook readers cannot be imported ({reason}); reinstall "
                "esr1calls (pip install esr1calls) in this Python"
            )
        raise PlateFormatError(path, f"cannot be read as a spreadsheet ({reason}); {damaged}")
    if child.returncode != 0:
        raise PlateFormatError(
            path,
            "the spreadsheet reader failed on it (it crashed or needed more than 2 GiB, as for "
            f"a sheet claiming millions of cells); {damaged}",
        )
    # our own child's output (untrusted cells are only ever data inside it)
    sheets, unreadable = pickle.loads(child.stdout)
    return sheets, unreadable


def _row_text(
    values: list[object], marked: dict[tuple[int, int], str], row: int
) -> tuple[str, ...]:
    """A sheet row as text, with the unreadable cells shown as what they are."""
    texts = [cell_text(v) for v in values]
    if marked:
        for column, _ in enumerate(texts):
            texts[column] = marked.get((row, column), texts[column])
    return tuple(texts)


def load_workbook(path: Path, data: bytes) -> WorkbookSource:
    """Every sheet of an xlsx/xls file (python-calamine, isolated), after the zip and XML checks.
    Use :attr:`Export.workbook`, which parses an export's workbook once."""
    if data.startswith(ZIP_MAGIC):
        archive = open_zip(path, data)
        for info in archive.infolist():
            name = member_name(info.filename)
            if name.lower().endswith((".xml", ".rels", ".vml")):
                refuse_doctype(path, read_member(path, archive, info), name)
    values, unreadable = _spreadsheet_values(path, data)
    sheets = tuple(
        Grid(
            name,
            tuple(
                Row(number, _row_text(row, unreadable.get(name, {}), number - 1))
                for number, row in enumerate(rows, start=1)
            ),
        )
        for name, rows in values
    )
    return WorkbookSource(path, sheets)


# ---------------------------------------------------------------------------------------------
# entry points for readers and the sniffer


def load_source(export: Export) -> Source:
    """The export as text lines or workbook sheets, whichever it is by content."""
    path, data = export.path, export.data
    if data.startswith(OLE2_MAGIC):
        return export.workbook
    if data.startswith(ZIP_MAGIC):
        archive = open_zip(path, data)
        if not is_workbook_archive(archive):
            raise PlateFormatError(
                path, "is a zip archive but not an Excel workbook; pass --format rdml if it is RDML"
            )
        return export.workbook
    text, encoding = export.text
    return TextSource(path, text_lines(text), encoding, ends_with_line_end(text))


def head_text(export: Export) -> str:
    """What the sniffers see: the first lines of a text file; the top of each sheet of a
    workbook, each after a ``[[sheet: NAME]]`` line; the start of the XML inside an RDML zip."""
    path, data = export.path, export.data
    if data.startswith(OLE2_MAGIC):
        return _workbook_head(export.workbook)
    if data.startswith(ZIP_MAGIC):
        archive = open_zip(path, data)
        if is_workbook_archive(archive):
            return _workbook_head(export.workbook)
        for info in archive.infolist():
            if member_name(info.filename).lower().endswith((".xml", ".rdml")):
                start = b"".join(member_chunks(path, archive, info, limit=4096))
                return start.decode("utf-8", errors="replace")
        return ""
    text, _ = export.text  # all of it: the head must decode as the whole file does
    return "\n".join(text_lines(text)[: HEAD_ROWS * 4])


def _workbook_head(workbook: WorkbookSource) -> str:
    parts = []
    for grid in workbook.sheets:
        parts.append(f"{SHEET_MARK}{grid.name}]]")
        parts.extend("\t".join(row.cells) for row in grid.rows[:HEAD_ROWS])
    return "\n".join(parts)
