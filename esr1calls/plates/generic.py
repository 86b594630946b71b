"""The documented generic long table, for instruments without a dedicated reader.

One header row, then one row per (well, dye); comma, tab or semicolon separated; UTF-8::

    well,sample,target,dye,ct
    A1,PC,D538G,FAM,28.28
    A2,NTC,D538G,FAM,

- ``well`` (required): A1..P24 or A01..P24.
- ``dye`` (required): the dye or channel name.
- ``ct`` (required): a number; blank, ``Undetermined``, ``NaN``, ``N/A``, ``No Ct``, ``No Cq``,
  ``NoC`` or ``-`` mean no amplification.
- ``sample`` / ``sample_name``, ``target`` / ``target_name`` (optional), ``flags`` (optional,
  ``;``-separated), ``omit`` (optional, true/false).
- Lines starting with ``#`` before the header are ``# key: value`` metadata (``run_id`` is used).
"""

from __future__ import annotations

from collections.abc import Sequence

from ._abi import header_lines
from ._simple import TableSpec, read_table
from ._source import Export, Row
from ._table import find_column, flag_token
from .format import PlateFormat
from .plate import Plate

FORMAT_ID = "generic"
LABEL = PlateFormat.GENERIC.label
_COLUMNS = frozenset(
    {"well", "sample", "sample_name", "target", "target_name", "dye", "ct", "flags", "omit"}
)


def _flags(row: Row, header: Sequence[str]) -> list[str]:
    text = row.get(find_column(header, ("flags",)))
    return [flag_token(f) for f in text.split(";") if f.strip()]


SPEC = TableSpec(
    fmt=FORMAT_ID,
    label=LABEL,
    well=("well",),
    ct=("ct",),
    dye=("dye",),
    sample=("sample", "sample_name"),
    target=("target", "target_name"),
    omit=("omit",),
    required=(("dye",),),
    empty_ct_is_no_amp=True,
    no_amp_words="blank, Undetermined, NaN, N/A, No Ct, No Cq, NoC or -",
    ct_display="ct",
    fix="Use the columns well, sample, target, dye, ct (see the README), or pass --format.",
    metadata_keys={"run_id": ("run_id",), "instrument": ("instrument",)},
    run_id_keys=("run_id",),
    extra_flags=_flags,
    extra_columns=("flags",),
)


def sniff(head: str) -> bool:
    """True when the first non-comment line is a header of generic column names only."""
    for cells in header_lines(head):
        names = [c for c in cells if c]
        if not names or names[0].startswith("#"):
            continue
        return {"well", "dye", "ct"} <= set(names) and set(names) <= _COLUMNS
    return False


def read(export: Export) -> Plate:
    """Read a generic long table."""
    return read_table(export, SPEC)
