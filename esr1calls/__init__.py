"""esr1calls: structured, auditable ESR1 hotspot calls from ARMS-PCR plate exports and NGS data.

Public API::

    from esr1calls import load_panel, HOTSPOTS, Call, CallStatus, read_plate, call_vcf
"""

from ._version import __version__
from .errors import (
    ConfigError,
    Esr1CallsError,
    InputError,
    PlateFormatError,
    UnknownFormatError,
    VcfFormatError,
)
from .hotspots import HOTSPOTS, Hotspot, Panel, load_panel
from .kit import Kit, load_kit
from .model import (
    Build,
    Call,
    CallStatus,
    Method,
    Reason,
    SampleReport,
    SampleStatus,
)
from .ngs import NgsSettings, call_vcf
from .pcr import call_pcr
from .plates import PlateFormat, read_plate, sniff_format
from .reads import ReadCounts, count_hotspots

__all__ = [
    "HOTSPOTS",
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
    "PlateFormat",
    "PlateFormatError",
    "ReadCounts",
    "Reason",
    "SampleReport",
    "SampleStatus",
    "UnknownFormatError",
    "VcfFormatError",
    "__version__",
    "call_pcr",
    "call_vcf",
    "count_hotspots",
    "load_kit",
    "load_panel",
    "read_plate",
    "sniff_format",
]
