"""Which reader reads an export: ``READERS`` (most specific first), detection by content, and
``read_plate``/``read_plates``, which check every reader's table against the contract in
``plates/__init__.py``."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Protocol

from ..errors import InputError, PlateFormatError, UnknownFormatError
from . import (
    abi7500,
    cfx,
    generic,
    lightcycler96,
    lightcycler480,
    quantstudio,
    quantstudio_da2,
    rdml,
    rotorgene,
    sds7900,
    slan,
)
from ._source import Export, head_text
from .format import PlateFormat
from .plate import WELL_COLUMNS, Plate


class PlateReader(Protocol):
    """What every ``plates/<family>.py`` module provides."""

    FORMAT_ID: str
    LABEL: str

    def sniff(self, head: str) -> bool: ...

    def read(self, export: Export) -> Plate: ...


# Most specific first: the generic long table would also accept several vendors' files.
READERS: dict[PlateFormat, PlateReader] = {
    PlateFormat.RDML: rdml,
    PlateFormat.SDS7900: sds7900,
    PlateFormat.QUANTSTUDIO_DA2: quantstudio_da2,
    PlateFormat.ABI7500: abi7500,
    PlateFormat.QUANTSTUDIO: quantstudio,
    PlateFormat.CFX: cfx,
    PlateFormat.LIGHTCYCLER480: lightcycler480,
    PlateFormat.LIGHTCYCLER96: lightcycler96,
    PlateFormat.ROTORGENE: rotorgene,
    PlateFormat.SLAN: slan,
    PlateFormat.GENERIC: generic,
}
PLATE_FORMATS: tuple[str, ...] = tuple(f.value for f in READERS)

_log = logging.getLogger(__name__)


def sniff_format(path: str | Path) -> PlateFormat:
    """The format of a plate export, from its content (never from the extension alone).

    Raises UnknownFormatError when no reader recognises it, and PlateFormatError when the file
    cannot be opened at all (empty, unreadable, a refused zip).
    """
    return _sniff(Export.read(Path(path)))


def _sniff(export: Export) -> PlateFormat:
    head = head_text(export)
    for fmt, reader in READERS.items():
        if reader.sniff(head):
            return fmt
    expected = "; ".join(reader.LABEL for reader in READERS.values())
    raise UnknownFormatError(
        export.path,
        f"not a recognised plate export (expected one of: {expected}). "
        "Pass --format if you know it.",
    )


def read_plate(path: str | Path, fmt: PlateFormat | str | None = None) -> Plate:
    """Read one plate export into the canonical long table.

    Args:
        path: the export file (txt, csv, xls, xlsx, rdml...).
        fmt: a ``PlateFormat`` or its id (``"cfx"``) to skip detection; None detects it.

    An RDML file holding several runs, each a plate of its own, is an error naming them: read
    it with :func:`read_plates`.
    """
    return _read(Path(path), fmt, lambda reader, export: [reader.read(export)])[0]


def read_plates(path: str | Path, fmt: PlateFormat | str | None = None) -> list[Plate]:
    """Every plate in one export: one for most files, one per run for an RDML file whose runs
    are separate plates (each reuses the same wells and dyes). ``esr1calls pcr`` reads this way.
    """

    def every_plate(reader: PlateReader, export: Export) -> list[Plate]:
        read_all = getattr(reader, "read_runs", None)
        return list(read_all(export)) if read_all is not None else [reader.read(export)]

    return _read(Path(path), fmt, every_plate)


def _read(
    path: Path,
    fmt: PlateFormat | str | None,
    read: Callable[[PlateReader, Export], list[Plate]],
) -> list[Plate]:
    """The file is read from disk once; the sniffer and the reader see those bytes, and the
    plates carry their sha256 (what was interpreted, even if the file changes after)."""
    if fmt is None or fmt == "auto":
        export = Export.read(path)
        chosen = _sniff(export)
        _log.info("Detected plate format: %s (%s)", chosen.label, chosen.value)
    else:
        try:
            chosen = PlateFormat(fmt)
        except ValueError:
            raise UnknownFormatError(
                path, f"unknown plate format {fmt!r}; use one of: {', '.join(PLATE_FORMATS)}"
            ) from None
        _log.info("Plate format given: %s (%s)", chosen.label, chosen.value)
        export = Export.read(path)
    try:
        plates = read(READERS[chosen], export)
    except PlateFormatError as exc:
        if fmt is None or fmt == "auto":
            raise
        raise PlateFormatError(
            path, _forced_format_hint(export, chosen, exc.detail), place=exc.place
        ) from exc
    for plate in plates:
        _check_contract(plate)
    if len(plates) > 1:  # a plate map must name each by its run id, never by the shared file
        plates = [
            replace(p, metadata={**p.metadata, "plates_in_file": len(plates)}) for p in plates
        ]
    return [replace(plate, sha256=export.sha256) for plate in plates]


def _forced_format_hint(export: Export, forced: PlateFormat, detail: str) -> str:
    """When --format was given and the file does not read as that format, say what it looks like."""
    try:
        detected: PlateFormat | None = _sniff(export)
    except InputError:
        detected = None
    if detected is None or detected is forced:
        return detail
    return (
        f"{detail} (read as --format {forced.value}; the file looks like {detected.label}: "
        f"drop --format or pass --format {detected.value})"
    )


def _check_contract(plate: Plate) -> None:
    """The promises of WELL_COLUMNS, checked once at the boundary for every reader."""
    wells = plate.wells
    if tuple(wells.columns) != WELL_COLUMNS:
        raise AssertionError(f"reader {plate.format} returned columns {list(wells.columns)}")
    duplicated = wells.duplicated(["well", "dye"])
    if duplicated.any():  # readers raise first; this guards a reader bug
        row = wells[duplicated].iloc[0]
        raise PlateFormatError(
            plate.path, f"well {row['well']}, dye {row['dye']} appears twice", place="table"
        )
