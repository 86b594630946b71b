"""Read a workbook in a child process: ``python -I _workbook_child.py`` (see ``_source.py``).

The spreadsheet library (python-calamine) is native code. On some damaged files it panics, and a
sheet claiming a huge range makes it allocate tens of GB and abort the process, so it never runs
in the process that holds the user's work. This script reads the workbook bytes on stdin, caps its
own address space, and writes a pickle of ``(sheets, unreadable)`` to stdout, or exits 3 with a
one-line reason after a NUL on stderr.

- ``sheets``: ``[(name, rows of cell values)]``.
- ``unreadable``: ``{sheet name: {(row, column): text}}``, for cells the library returns as empty
  although they are not: Excel errors (``#VALUE!``) and formulas saved without a value. A Ct there
  must be an error, never "no amplification". xlsx is read with the standard library's XML
  parser and xls with xlrd.

Only the standard library and the two readers are imported here, never esr1calls, so the child
starts in about 50 ms. The parent passes its ``sys.path`` in ``ESR1CALLS_SYS_PATH`` because
``-I`` drops ``PYTHONPATH``.
"""

from __future__ import annotations

import io
import os
import pickle
import sys
import zipfile
from collections.abc import Iterator
from typing import Any
from xml.etree.ElementTree import Element, iterparse

MEMORY_LIMIT = 2 << 30  # bytes of address space; plate exports are kilobytes
MAX_CELLS = 2_000_000  # per sheet; a 384-well, 4-dye results table is about 100,000
OLE2_MAGIC = bytes.fromhex("d0cf11e0a1b11ae1")
NO_VALUE = "#FORMULA_WITHOUT_VALUE"

Marks = dict[str, dict[tuple[int, int], str]]


def _local(tag: str) -> str:
    """An XML name without its namespace: ``{ns}sheet`` -> ``sheet``."""
    return tag.rsplit("}", 1)[-1]


def _attribute(element: Element, name: str) -> str:
    """An attribute by local name, whatever its namespace prefix (``r:id``, ``rel:id``...)."""
    for key, value in element.attrib.items():
        if _local(key) == name:
            return value
    return ""


def _column_index(letters: str) -> int:
    index = 0
    for letter in letters:
        index = index * 26 + ord(letter.upper()) - 64
    return index - 1


def _members(archive: zipfile.ZipFile) -> dict[str, str]:
    """Lower-case member name (``\\`` as ``/``) -> the name in the archive."""
    return {info.filename.replace("\\", "/").lower(): info.filename for info in archive.infolist()}


def _elements(archive: zipfile.ZipFile, name: str) -> Iterator[Element]:
    with archive.open(name) as handle:
        for _, element in iterparse(handle, events=("end",)):
            yield element


def xlsx_unreadable(data: bytes) -> Marks:
    """The error and value-less formula cells of an xlsx workbook, by sheet name.

    >>> xlsx_unreadable(b"not a zip")
    Traceback (most recent call last):
    zipfile.BadZipFile: File is not a zip file
    """
    archive = zipfile.ZipFile(io.BytesIO(data))
    members = _members(archive)
    rels: dict[str, str] = {}
    rels_name = members.get("xl/_rels/workbook.xml.rels")
    if rels_name:
        for element in _elements(archive, rels_name):
            if _local(element.tag) == "Relationship":
                target = element.get("Target", "").replace("\\", "/").lstrip("/").lower()
                rels[element.get("Id", "")] = target if target.startswith("xl/") else f"xl/{target}"
    sheets: list[tuple[str, str]] = []
    workbook = members.get("xl/workbook.xml")
    if workbook:
        for element in _elements(archive, workbook):
            if _local(element.tag) == "sheet":
                sheets.append((element.get("name", ""), rels.get(_attribute(element, "id"), "")))
    found: Marks = {}
    for sheet_name, target in sheets:
        member = members.get(target)
        if member:
            cells = _sheet_unreadable(archive, member)
            if cells:
                found[sheet_name] = cells
    return found


def _sheet_unreadable(archive: zipfile.ZipFile, member: str) -> dict[tuple[int, int], str]:
    cells: dict[tuple[int, int], str] = {}
    row, column = -1, -1
    with archive.open(member) as handle:
        for event, element in iterparse(handle, events=("start", "end")):
            name = _local(element.tag)
            if event == "start":
                if name == "row":
                    number = element.get("r")
                    row = int(number) - 1 if number and number.isdigit() else row + 1
                    column = -1
                elif name == "c":
                    # the cell's own reference places it (as the library does); the row's r and
                    # counting are only for cells without one
                    ref = element.get("r", "")
                    letters = ref.rstrip("0123456789")
                    digits = ref[len(letters) :]
                    column = _column_index(letters) if letters else column + 1
                    if digits.isdigit():
                        row = int(digits) - 1
                continue
            if name != "c":
                continue
            value = next((child.text or "" for child in element if _local(child.tag) == "v"), None)
            formula = any(_local(child.tag) == "f" for child in element)
            if element.get("t") == "e":
                cells[row, column] = (value or "").strip() or "#ERROR"
            elif formula and not (value or "").strip():
                cells[row, column] = NO_VALUE
            element.clear()
    return cells


def xls_unreadable(data: bytes) -> Marks:
    """The error cells of an xls (BIFF) workbook, by sheet name (xlrd)."""
    import xlrd  # type: ignore[import-untyped]

    book = xlrd.open_workbook(file_contents=data, logfile=io.StringIO())
    found: Marks = {}
    for sheet in book.sheets():
        cells = {
            (r, c): xlrd.error_text_from_code.get(sheet.cell_value(r, c), "#ERROR")
            for r in range(sheet.nrows)
            for c in range(sheet.ncols)
            if sheet.cell_type(r, c) == xlrd.XL_CELL_ERROR
        }
        if cells:
            found[sheet.name] = cells
    return found


def read(data: bytes) -> tuple[list[tuple[str, list[list[Any]]]], Marks]:
    import python_calamine

    book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    sheets = []
    for name in book.sheet_names:
        sheet = book.get_sheet_by_name(name)
        if sheet.height * sheet.width > MAX_CELLS:
            raise ValueError(
                f"sheet {name!r} spans {sheet.height} rows x {sheet.width} columns, "
                "more than any plate export"
            )
        sheets.append((str(name), sheet.to_python(skip_empty_area=False)))
    try:
        unreadable = xls_unreadable(data) if data.startswith(OLE2_MAGIC) else xlsx_unreadable(data)
    except Exception as exc:  # an empty cell could not be told from an error cell
        raise ValueError(
            f"could not check the workbook for Excel error cells ({type(exc).__name__}: {exc})"
        ) from exc
    return sheets, unreadable


def _cap_memory() -> None:
    try:
        import resource
    except ImportError:  # not POSIX: no cap
        return
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = MEMORY_LIMIT if hard == resource.RLIM_INFINITY else min(MEMORY_LIMIT, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))


def main() -> None:  # pragma: no cover - runs in the child process
    _cap_memory()
    sys.path[:0] = [p for p in os.environ.get("ESR1CALLS_SYS_PATH", "").split(os.pathsep) if p]
    try:
        result = read(sys.stdin.buffer.read())
    except BaseException as exc:  # the readers' errors, ValueError, a Rust panic
        reason = f"{type(exc).__name__}: {exc}".replace("\n", " ")[:500]
        sys.stderr.write("\0" + reason)
        sys.exit(3)
    sys.stdout.buffer.write(pickle.dumps(result))


if __name__ == "__main__":  # pragma: no cover
    main()
