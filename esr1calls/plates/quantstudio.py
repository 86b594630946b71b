"""Applied Biosystems QuantStudio 3/5/6/7 Flex/12K Flex and ViiA 7 (QuantStudio Real-Time PCR
Software v1.x, Design & Analysis desktop v1.x): txt, csv, xls and xlsx results exports.

Recognised by the run header (``* Instrument Type = QuantStudio...``, ``Block Type`` with a
``[Results]`` section) or by a results header with ``Well Position`` and ``CT``/``CRT``/``Cq``.
``Undetermined`` is no amplification; ``Omit`` and the Y/N QC columns (NOAMP, EXPFAIL, ...)
become flags; ``Ct Mean``/``Ct SD`` are never used.
"""

from __future__ import annotations

from ._abi import abi_kind, read_abi
from ._source import Export
from .format import PlateFormat
from .plate import Plate

FORMAT_ID = "quantstudio"
LABEL = PlateFormat.QUANTSTUDIO.label


def sniff(head: str) -> bool:
    """True for a QuantStudio v1 / ViiA 7 results export (any of its file types)."""
    return abi_kind(head) == "v1"


def read(export: Export) -> Plate:
    """Read a QuantStudio v1 / ViiA 7 results export."""
    return read_abi(export, FORMAT_ID, LABEL)
