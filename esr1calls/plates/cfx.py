"""Bio-Rad CFX96/CFX384/CFX Connect/CFX Opus, CFX Manager 1-3.x and CFX Maestro 1-5.x:
"Quantification Cq Results" exports (csv, or xlsx with sheet ``0``).

Recognised by a header with ``Well``, ``Fluor`` and ``Cq`` (CFX writes an empty first column).
Wells are zero-padded (``A01``); ``NaN`` (Maestro, Manager 3.x) and ``N/A`` (older Manager)
mean no amplification; ``Cq Mean`` (0.00 for all-N/A groups) is never used. Dyes are as
exported (FAM, HEX, ROX, Cy5, ...). CFX Manager xlsx files with backslash member names and a
lower-case ``sharedstrings.xml`` are read as they are.
"""

from __future__ import annotations

from ._abi import header_lines
from ._simple import TableSpec, read_table
from ._source import Export
from .format import PlateFormat
from .plate import Plate

FORMAT_ID = "cfx"
LABEL = PlateFormat.CFX.label

SPEC = TableSpec(
    fmt=FORMAT_ID,
    label=LABEL,
    well=("well",),
    ct=("cq",),
    dye=("fluor",),
    sample=("sample",),
    target=("target",),
    required=(("fluor",),),
    no_amp_words="NaN or N/A",
    ct_display="Cq",
    fix='Export "Quantification Cq Results", or pass --format.',
    metadata_keys={
        "source_file": ("file name",),
        "run_date": ("run ended", "run started"),
        "serial": ("base serial number",),
        "optical_head_serial": ("optical head serial number",),
        "software": ("cfx maestro version", "cfx manager version"),
        "operator": ("created by user",),
    },
    run_id_keys=("id", "file name"),
    sheets=("0", "Quantification Cq Results"),
    strip_stem_suffixes=(
        " - Quantification Cq Results_0",
        " - Quantification Cq Results",
        "-Quantification-Cq-Results",
    ),
)


def sniff(head: str) -> bool:
    """True for a CFX "Quantification Cq Results" table."""
    return any(
        "well" in cells and "fluor" in cells and "cq" in cells for cells in header_lines(head)
    )


def read(export: Export) -> Plate:
    """Read a CFX Quantification Cq Results export."""
    return read_table(export, SPEC)
