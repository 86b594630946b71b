"""esr1calls: structured, auditable ESR1 hotspot calls from ARMS-PCR plate exports, digital PCR
exports and NGS data.

Public API::

    from esr1calls import load_panel, HOTSPOTS, Call, CallStatus, read_plate, call_vcf, call_ngs
"""

from ._lazy import lazy_names
from ._version import __version__
from .errors import (
    AlignmentFormatError,
    ConfigError,
    Esr1CallsError,
    InputError,
    PlateFormatError,
    ReferenceFastaError,
    UnknownFormatError,
    VcfFormatError,
)
from .hotspots import HOTSPOTS, Hotspot, Panel, load_panel
from .model import (
    Build,
    Call,
    CallStatus,
    Method,
    Reason,
    SampleReport,
    SampleStatus,
)
from .pcr.kit import Kit, load_kit
from .plates.format import PlateFormat

# The readers and callers load pandas or pysam; they are imported on first use, so that
# `import esr1calls` and every command that does not need them start fast.
_LAZY = {
    "NgsSettings": "ngs",
    "PcrSettings": "pcr.settings",
    "call_ngs": "ngs",
    "call_vcf": "ngs",
    "call_pcr": "pcr.run",
    "call_dpcr": "dpcr",
    "read_plate": "plates.dispatch",
    "read_plates": "plates.dispatch",
    "sniff_format": "plates.dispatch",
    "ReadCounts": "ngs.reads",
    "ReadOptions": "ngs.options",
    "count_hotspots": "ngs.reads",
}


__getattr__ = lazy_names(__name__, _LAZY)

__all__ = [
    "HOTSPOTS",
    "AlignmentFormatError",
    "Build",
    "Call",
    "CallStatus",
    "ConfigError",
    "Esr1CallsError",
    "Hotspot",
    "InputError",
    "Kit",
    "Method",
    "NgsSettings",
    "Panel",
    "PcrSettings",
    "PlateFormat",
    "PlateFormatError",
    "ReadCounts",
    "ReadOptions",
    "Reason",
    "ReferenceFastaError",
    "SampleReport",
    "SampleStatus",
    "UnknownFormatError",
    "VcfFormatError",
    "__version__",
    "call_dpcr",
    "call_ngs",
    "call_pcr",
    "call_vcf",
    "count_hotspots",
    "load_kit",
    "load_panel",
    "read_plate",
    "read_plates",
    "sniff_format",
]
