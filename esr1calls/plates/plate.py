"""The Plate: one run read from one export, as the canonical long table ``WELL_COLUMNS``
(the contract every reader keeps is in ``plates/__init__.py``)."""

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
    sha256: str = ""  # of the bytes read (set by read_plate); "" for a Plate built in memory
    notices: tuple[str, ...] = ()  # what a reader of the report must know (a cut-short export)
