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
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..model import Dropped

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
