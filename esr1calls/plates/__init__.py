"""Plate export readers: every instrument's Ct table into one canonical long table.

Contract (what ``pcr`` relies on):

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

The package: ``plate.py`` (the Plate and ``WELL_COLUMNS``), ``format.py`` (``PlateFormat``),
``dispatch.py`` (``READERS``, detection, ``read_plate``), one module per instrument family, and
``_source.py``/``_table.py``/``_xml.py`` shared by the readers. Nothing here is loaded until used
(the readers load pandas), so ``from esr1calls.plates.format import PlateFormat`` stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_names
from .format import PlateFormat

if TYPE_CHECKING:
    from .dispatch import PLATE_FORMATS, READERS, PlateReader, read_plate, read_plates, sniff_format
    from .plate import WELL_COLUMNS, Plate

_LAZY = {
    "PLATE_FORMATS": "dispatch",
    "READERS": "dispatch",
    "PlateReader": "dispatch",
    "read_plate": "dispatch",
    "read_plates": "dispatch",
    "sniff_format": "dispatch",
    "WELL_COLUMNS": "plate",
    "Plate": "plate",
}


__getattr__ = lazy_names(__name__, _LAZY)

__all__ = [
    "PLATE_FORMATS",
    "READERS",
    "WELL_COLUMNS",
    "Plate",
    "PlateFormat",
    "PlateReader",
    "read_plate",
    "read_plates",
    "sniff_format",
]
