"""Hongshi (宏石) SLAN-96P / SLAN-96S result exports (xlsx, xls, or csv saved from them).

Written from the format notes (no public example exists): about 13 metadata rows naming the
instrument (``SLAN-96P``), then a header with Chinese or English names -- well ``反应孔``/``孔位``
/``Well``, channel ``通道``/``染料``/``Channel``/``Dye``, sample ``样本``/``样本名称``, target
``目标``/``项目``/``基因``, and ``Ct``/``CT``/``Cq``. ``NoC``, ``-``, ``N/A``, ``Undetermined``
and a blank Ct all mean no amplification.
"""

from __future__ import annotations

import re

from ._abi import header_lines
from ._simple import TableSpec, read_table
from ._source import Export
from ._table import CT_NAMES
from .format import PlateFormat
from .plate import Plate

FORMAT_ID = "slan"
LABEL = PlateFormat.SLAN.label
_WELL = ("反应孔", "孔位", "孔", "well")
_INSTRUMENT = re.compile(r"SLAN[- ]?96[PS]", re.IGNORECASE)

SPEC = TableSpec(
    fmt=FORMAT_ID,
    label=LABEL,
    well=_WELL,
    ct=CT_NAMES,
    dye=("通道", "染料", "荧光", "channel", "dye"),
    sample=("样本名称", "样本", "样品名称", "样品", "sample name", "sample"),
    target=("目标", "项目", "基因", "检测项目", "target", "gene"),
    required=(("通道", "染料", "荧光", "channel", "dye"),),
    empty_ct_is_no_amp=True,
    no_amp_words="NoC, -, N/A, Undetermined or blank",
    ct_display="Ct",
    fix="Export the SLAN result table (with the Ct column), or pass --format.",
    metadata_keys={
        "instrument": ("仪器型号", "仪器", "instrument", "instrument type"),
        "serial": ("仪器序列号", "序列号", "serial number", "instrument serial number"),
        "run_date": ("运行时间", "实验时间", "run time", "run date"),
        "software": ("软件版本", "software version"),
        "experiment": ("实验名称", "文件名称", "experiment name", "file name"),
        "operator": ("操作者", "操作员", "operator"),
    },
    run_id_keys=("实验名称", "文件名称", "experiment name", "file name"),
)


def sniff(head: str) -> bool:
    """True for a SLAN export: the instrument named near the top, or Chinese well headers."""
    if _INSTRUMENT.search("\n".join(head.splitlines()[:30])):
        return True
    return any(
        any(w in cells for w in _WELL[:2]) and any(c in cells for c in CT_NAMES)
        for cells in header_lines(head)
    )


def read(export: Export) -> Plate:
    """Read a SLAN-96P/96S result export."""
    return read_table(export, SPEC)
