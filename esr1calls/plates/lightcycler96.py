"""Roche LightCycler 96 (LC96 SW 1.1) result table export (csv/txt, often with a UTF-8 BOM).

Columns ``Color, Position, Sample Name, Gene Name, Cq, ..., Excluded, ..., Dye, ...``; ``-``
means no Cq; ``Excluded = Checked`` marks an omitted well. Recognised by a header with
``Position``, ``Gene Name`` and ``Cq``.
"""

from __future__ import annotations

from collections.abc import Sequence

from ._abi import header_lines
from ._simple import TableSpec, read_table
from ._source import Export, Row
from ._table import find_column, flag_token
from .format import PlateFormat
from .plate import Plate

FORMAT_ID = "lightcycler96"
LABEL = PlateFormat.LIGHTCYCLER96.label


def _flags(row: Row, header: Sequence[str]) -> list[str]:
    failure = row.get(find_column(header, ("failure",)))
    if failure and failure != "-":
        return [f"FAILURE_{flag_token(failure)}"]
    return []


SPEC = TableSpec(
    fmt=FORMAT_ID,
    label=LABEL,
    well=("position",),
    ct=("cq",),
    dye=("dye",),
    sample=("sample name",),
    target=("gene name",),
    omit=("excluded",),
    required=(("gene name",),),
    no_amp_words='"-"',
    ct_display="Cq",
    fix="Export the LightCycler 96 result table, or pass --format.",
    extra_flags=_flags,
    extra_columns=("failure",),
)


def sniff(head: str) -> bool:
    """True for a LightCycler 96 result table."""
    return any(
        "position" in cells and "gene name" in cells and "cq" in cells
        for cells in header_lines(head)
    )


def read(export: Export) -> Plate:
    """Read a LightCycler 96 result table."""
    return read_table(export, SPEC)
