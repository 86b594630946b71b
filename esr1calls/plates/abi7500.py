"""Applied Biosystems 7500 / 7500 Fast / StepOne / StepOnePlus (7500 Software and StepOne
Software v2.x): txt, csv and xls results exports.

Same family as QuantStudio v1 but with a short run header (``Instrument Type = sds7500``,
``sds7500fast``, ``steponeplus``), ``Well`` holding the position (``A1``) and the Ct column
spelled ``Cт`` with a Cyrillic т. ``Undetermined`` wells still carry ``Cт Mean``: it is never
used as the well's Ct.
"""

from __future__ import annotations

from ._abi import abi_kind, read_abi
from ._source import Export
from .format import PlateFormat
from .plate import Plate

FORMAT_ID = "abi7500"
LABEL = PlateFormat.ABI7500.label


def sniff(head: str) -> bool:
    """True for a 7500 or StepOne(Plus) results export."""
    return abi_kind(head) == "7500"


def read(export: Export) -> Plate:
    """Read a 7500 / StepOne(Plus) results export."""
    return read_abi(export, FORMAT_ID, LABEL)
