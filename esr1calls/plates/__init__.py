"""Plate export readers: every instrument's Ct table into one canonical long table.

Contract (what ``pcr.py`` relies on):

* ``Plate.wells`` is a DataFrame with exactly ``WELL_COLUMNS``, one row per (well, dye):
  - ``well``: "A1".."P24" (no zero padding); tube instruments (Rotor-Gene) give the tube number
    as a string ("1".."100"), which the plate map uses too;
  - ``sample_name``, ``target_name``: as exported, "" when the file has none;
  - ``dye``: the dye/channel name as exported, upper-cased ("FAM", "VIC", "CY5", "GREEN");
  - ``ct``: float; NaN means no amplification (Undetermined, No Ct, N/A, blank, -1 in RDML);
  - ``flags``: instrument flags joined by ";" ("" when none); an omitted well carries "OMITTED";
  - ``source_row``: 1-based line (text) or row (spreadsheet) the value came from.
* (well, dye) pairs are unique; summary columns (Ct Mean, Cq Mean) are never used as a well's Ct.
* Rows read but not used are in ``Plate.dropped`` with their reason.
* A row the end of the file cuts (no line end after it, a used cell possibly incomplete) is
  never read as data: it is dropped with the reason, and ``Plate.notices`` says the export looks
  cut short, so the pcr layer reports its well as missing, never as "no amplification".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from ..model import Dropped, PlateFormat

WELL_COLUMNS = ("well", "sample_name", "target_name", "dye", "ct", "flags", "source_row")


@dataclass(frozen=True)
class Plate:
    """One plate (run) read from one export file."""

    path: Path
    format: str  # the reader's format id, e.g. "quantstudio", recorded in provenance
    run_id: str  # from the file's metadata, else the file name without extension
    wells: pd.DataFrame  # columns WELL_COLUMNS
    metadata: Mapping[str, Any] = field(default_factory=dict)  # instrument, serial, date, ...
    dropped: tuple[Dropped, ...] = ()
    sha256: str = ""  # of the bytes read (set by read_plate); "" for a Plate built in memory
    notices: tuple[str, ...] = ()  # what a reader of the report must know (a cut-short export)


# ---------------------------------------------------------------------------------------------
# Readers and dispatch (added by issue 3). The contract above is defined first because every
# reader module imports it; the imports below therefore cannot sit at the top of the file.

import logging  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Protocol  # noqa: E402

from ..errors import InputError, PlateFormatError, UnknownFormatError  # noqa: E402


class PlateReader(Protocol):
    """What every ``plates/<family>.py`` module provides."""

    FORMAT_ID: str
    LABEL: str

    def sniff(self, head: str) -> bool: ...

    def read(self, path: Path) -> Plate: ...


from . import (  # noqa: E402
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
from ._source import digest_of_last_read, forget_last_read, head_text  # noqa: E402

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
    path = Path(path)
    head = head_text(path)
    for fmt, reader in READERS.items():
        if reader.sniff(head):
            return fmt
    expected = "; ".join(reader.LABEL for reader in READERS.values())
    raise UnknownFormatError(
        path,
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
    return _read(Path(path), fmt, lambda reader, p: [reader.read(p)])[0]


def read_plates(path: str | Path, fmt: PlateFormat | str | None = None) -> list[Plate]:
    """Every plate in one export: one for most files, one per run for an RDML file whose runs
    are separate plates (each reuses the same wells and dyes). ``esr1calls pcr`` reads this way.
    """

    def every_plate(reader: PlateReader, path: Path) -> list[Plate]:
        read_all = getattr(reader, "read_runs", None)
        return list(read_all(path)) if read_all is not None else [reader.read(path)]

    return _read(Path(path), fmt, every_plate)


def _read(
    path: Path,
    fmt: PlateFormat | str | None,
    read: Callable[[PlateReader, Path], list[Plate]],
) -> list[Plate]:
    forget_last_read()  # a new read_plate reads the file afresh (once: sniffing keeps the bytes)
    if fmt is None or fmt == "auto":
        chosen = sniff_format(path)
        _log.info("Detected plate format: %s (%s)", chosen.label, chosen.value)
    else:
        try:
            chosen = PlateFormat(fmt)
        except ValueError:
            raise UnknownFormatError(
                path, f"unknown plate format {fmt!r}; use one of: {', '.join(PLATE_FORMATS)}"
            ) from None
        _log.info("Plate format given: %s (%s)", chosen.label, chosen.value)
    try:
        plates = read(READERS[chosen], path)
    except PlateFormatError as exc:
        if fmt is None or fmt == "auto":
            raise
        raise PlateFormatError(
            path, _forced_format_hint(path, chosen, exc.detail), place=exc.place
        ) from exc
    digest = digest_of_last_read(path)
    for plate in plates:
        _check_contract(plate)
    if len(plates) > 1:  # a plate map must name each by its run id, never by the shared file
        plates = [
            replace(p, metadata={**p.metadata, "plates_in_file": len(plates)}) for p in plates
        ]
    return [replace(plate, sha256=digest) for plate in plates]


def _forced_format_hint(path: Path, forced: PlateFormat, detail: str) -> str:
    """When --format was given and the file does not read as that format, say what it looks like."""
    try:
        detected: PlateFormat | None = sniff_format(path)
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
