"""The plate export formats esr1calls reads: the value is what ``--format`` accepts, the label
what a person calls the export (instrument, software, file types).

Light on purpose: the CLI lists the formats at start-up without loading pandas or the readers.
"""

from __future__ import annotations

from enum import StrEnum


class PlateFormat(StrEnum):
    """The plate export formats we read; the value is what ``--format`` accepts."""

    RDML = "rdml"
    SDS7900 = "sds7900"
    QUANTSTUDIO_DA2 = "quantstudio-da2"
    ABI7500 = "abi7500"
    QUANTSTUDIO = "quantstudio"
    CFX = "cfx"
    LIGHTCYCLER480 = "lightcycler480"
    LIGHTCYCLER96 = "lightcycler96"
    ROTORGENE = "rotorgene"
    SLAN = "slan"
    GENERIC = "generic"

    @property
    def label(self) -> str:
        """What a person calls it: instrument, software and file types."""
        return _LABELS[self]


_LABELS: dict[PlateFormat, str] = {
    PlateFormat.RDML: "RDML 1.0-1.4 (any instrument's RDML export)",
    PlateFormat.SDS7900: "Applied Biosystems 7900HT SDS 2.x RQ/AQ Results (txt)",
    PlateFormat.QUANTSTUDIO_DA2: "QuantStudio Design & Analysis v2 / Diomni results export",
    PlateFormat.ABI7500: "7500 / 7500 Fast / StepOnePlus results export",
    PlateFormat.QUANTSTUDIO: "QuantStudio 3/5/6/7/12K Flex or ViiA 7 results export",
    PlateFormat.CFX: "Bio-Rad CFX Manager / CFX Maestro Quantification Cq Results (csv, xlsx)",
    PlateFormat.LIGHTCYCLER480: "Roche LightCycler 480 Abs Quant text export (one file per filter)",
    PlateFormat.LIGHTCYCLER96: "Roche LightCycler 96 result table (csv, txt)",
    PlateFormat.ROTORGENE: "QIAGEN Rotor-Gene Q Excel Analysed Data Export (csv, xlsx)",
    PlateFormat.SLAN: "Hongshi SLAN-96P/96S result export (xlsx, xls, csv)",
    PlateFormat.GENERIC: "generic long table (csv/tsv: well, sample, target, dye, ct)",
}
