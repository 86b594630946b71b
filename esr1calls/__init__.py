"""esr1calls: structured, auditable ESR1 hotspot calls from ARMS-PCR plate exports and NGS data.

Public API::

    from esr1calls import load_panel, HOTSPOTS, Call, CallStatus, call_vcf
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

__all__ = [
    "HOTSPOTS",
    "Build",
    "Call",
    "CallStatus",
    "ConfigError",
    "Esr1CallsError",
    "Hotspot",
    "InputError",
    "Method",
    "NgsSettings",
    "Panel",
    "PlateFormatError",
    "Reason",
    "SampleReport",
    "SampleStatus",
    "UnknownFormatError",
    "VcfFormatError",
    "__version__",
    "call_vcf",
    "load_panel",
]
