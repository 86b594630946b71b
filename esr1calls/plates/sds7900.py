"""Applied Biosystems 7900HT Fast, SDS 2.x "RQ Results" / "AQ Results" text exports.

Line 1 is ``SDS 2.x RQ Results`` (or AQ); a key/value header (Filename, Run DateTime, one group
per embedded plate) precedes the table ``# Plate Pos Flag Sample Detector Task Ct ...``. Old
files have CR-only line ends and ``?`` where a Δ was lost. ``Undetermined`` is no
amplification; ``Flag = Flagged`` and ``Omit = TRUE`` become flags. RQ exports have no
reporter column: the dye is then empty and each well must appear once (a TLDA card).
"""

from __future__ import annotations

import re

from ._abi import read_abi
from ._source import Export
from .format import PlateFormat
from .plate import Plate

FORMAT_ID = "sds7900"
LABEL = PlateFormat.SDS7900.label
_FIRST_LINE = re.compile(r"SDS\s*v?\d[\d.]*\s+(?:RQ|AQ)?\s*Results", re.IGNORECASE)


def sniff(head: str) -> bool:
    """True when the first line names an SDS 2.x results export."""
    for line in head.splitlines():
        if line.strip():
            return bool(_FIRST_LINE.match(line.strip()))
    return False


def read(export: Export) -> Plate:
    """Read an SDS 2.x results export."""
    return read_abi(export, FORMAT_ID, LABEL)
