"""esr1calls: structured, auditable ESR1 hotspot calls from ARMS-PCR plate exports, digital PCR
exports and NGS data.

Public API::

    from esr1calls import load_panel, HOTSPOTS, Call, CallStatus, read_plate, call_vcf, call_ngs
"""

from typing import TYPE_CHECKING

from . import _dataclass_cache
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

# before any of the package's dataclasses is made (the modules above make none)
_dataclass_cache.install()

if TYPE_CHECKING:
    from .dpcr import call_dpcr
    from .hotspots import HOTSPOTS, Hotspot, Panel, load_panel
    from .model import Build, Call, CallStatus, Method, Reason, SampleReport, SampleStatus
    from .ngs import NgsSettings, call_ngs, call_vcf
    from .ngs.options import ReadOptions
    from .ngs.reads import ReadCounts, count_hotspots
    from .pcr.kit import Kit, load_kit
    from .pcr.run import call_pcr
    from .pcr.settings import PcrSettings
    from .plates.dispatch import read_plate, read_plates, sniff_format
    from .plates.format import PlateFormat

# Every name but the errors and the version is imported on first use: the readers and callers
# load pandas or pysam, and the rest costs start-up too, which every command and every
# `import esr1calls.<module>` pays (docs/architecture.md, "Start-up").
_LAZY = {
    "HOTSPOTS": "hotspots",
    "Hotspot": "hotspots",
    "Panel": "hotspots",
    "load_panel": "hotspots",
    "Build": "model",
    "Call": "model",
    "CallStatus": "model",
    "Method": "model",
    "Reason": "model",
    "SampleReport": "model",
    "SampleStatus": "model",
    "Kit": "pcr.kit",
    "load_kit": "pcr.kit",
    "PlateFormat": "plates.format",
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
