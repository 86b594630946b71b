"""QuantStudio Design & Analysis Software v2 (QS1/3/5/6 Pro/7 Pro) and Diomni-converted files:
xlsx/xls ``Results`` (or Diomni ``Primary_result``) sheets.

Recognised by ``Software Name and Version = Design & Analysis Software v2.x`` or ``Software
name = Diomni``. Columns are ``Sample``, ``Target``, ``Cq`` (``Undetermined``/``UNDETERMINED``);
``Amp Status`` other than Amp and ``Result Quality Issues`` become flags; Diomni wells are
zero-padded (``A01``).
"""

from __future__ import annotations

from ._abi import abi_kind, read_abi
from ._source import Export
from .format import PlateFormat
from .plate import Plate

FORMAT_ID = "quantstudio-da2"
LABEL = PlateFormat.QUANTSTUDIO_DA2.label


def sniff(head: str) -> bool:
    """True for a Design & Analysis v2 or Diomni results workbook."""
    return abi_kind(head) == "da2"


def read(export: Export) -> Plate:
    """Read a Design & Analysis v2 / Diomni results export."""
    return read_abi(export, FORMAT_ID, LABEL)
