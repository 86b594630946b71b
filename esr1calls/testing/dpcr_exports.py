"""Digital PCR exports written from partition counts: the four export families' layouts.

A ``Well`` is one well's sample, role, assay and the four partition combinations of its two
channels (``FAM+HEX+``, ``FAM+HEX-``, ``FAM-HEX+``, ``FAM-HEX-``; for the drop-off assay FAM is the
reference probe and HEX the wild-type probe). Every count in an export derives from them: each
channel's positives are the sum of the combinations it is positive in. Concentrations are
-ln(1 - k/N)/V with the bundled assay set's 0.85 nL partitions.

Layouts follow the issue's descriptions and the real exports in testdata/dpcr (QuantaSoft's
63-column header of QuantaSoft 1.7.4, QX Manager's header of ddpcr's quant.csv, QIAcuity's newer
header of allotropy's example 4, Absolute Q's channel-combination layout); run names, dates,
serial numbers and amplitudes are invented. ``scripts/make_dpcr_fixtures.py`` renders the demo
plate with them; the validation study (tests/validation_factory.py) and the benchmark render
simulated plates. Output is deterministic.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from typing import Any

__all__ = [
    "FORMATS",
    "TARGETS",
    "Well",
    "absoluteq",
    "plate_map",
    "qiacuity",
    "quantasoft",
    "qxmanager",
    "render",
    "simulated_well",
]

VOLUME_UL = 0.85e-3  # the bundled assay set's partition volume, in uL
TARGETS = {  # assay -> (FAM target, HEX target)
    "E380Q": ("E380Q", "E380_WT"),
    "S463P": ("S463P", "S463_WT"),
    "Y537S": ("Y537S", "Y537_WT"),
    "D538G": ("D538G", "D538_WT"),
    "EX8_DROPOFF": ("EX8_REF", "EX8_WT"),
}
Merged = tuple[
    str, tuple[str, ...]
]  # a merged well's name and its members, e.g. ("M01", ("C9", "C10"))


@dataclass(frozen=True)
class Well:
    well: str
    sample: str
    role: str
    assay: str
    replicate: int
    partitions: int
    both: int  # FAM+HEX+
    fam_only: int  # FAM+HEX-
    hex_only: int  # FAM-HEX+
    neither: int  # FAM-HEX-

    @property
    def fam(self) -> int:
        return self.both + self.fam_only

    @property
    def hex(self) -> int:
        return self.both + self.hex_only

    @property
    def padded(self) -> str:
        return f"{self.well[0]}{int(self.well[1:]):02d}"

    @property
    def drop_off(self) -> bool:
        return self.assay == "EX8_DROPOFF"

    def fraction_percent(self) -> float | None:
        """The fraction the instrument software would show (duplex formula), in percent."""
        lm, lw = conc(self.fam, self.partitions), conc(self.hex, self.partitions)
        return None if lm + lw == 0 else 100 * lm / (lm + lw)


def conc(positives: int, partitions: int) -> float:
    return -math.log1p(-positives / partitions) / VOLUME_UL if positives else 0.0


def with_merged(wells: list[Well], merge: Merged | None) -> list[Well]:
    """The wells in export order, the merged well (if any) right after its last member."""
    out: list[Well] = []
    for well in wells:
        out.append(well)
        if merge is not None and well.well == merge[1][-1]:
            out.append(merged(wells, merge))
    return out


def merged(wells: list[Well], merge: Merged) -> Well:
    parts = [w for w in wells if w.well in merge[1]]
    first = parts[0]
    return Well(
        merge[0], first.sample, first.role, first.assay, 1,
        sum(w.partitions for w in parts), sum(w.both for w in parts),
        sum(w.fam_only for w in parts), sum(w.hex_only for w in parts),
        sum(w.neither for w in parts),
    )  # fmt: skip


def csv_text(rows: list[list[object]], *, quote_all: bool = False, line_end: str = "\r\n") -> str:
    out = io.StringIO()
    writer = csv.writer(
        out, lineterminator=line_end, quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL
    )
    writer.writerows([["" if v is None else v for v in row] for row in rows])
    return out.getvalue()


def g3(value: float) -> str:
    """3 significant digits, as QuantaSoft shows them ("7060", "18.6", "0.063")."""
    return f"{float(f'{value:.3g}'):g}"


# ------------------------------------------------------------------------------- QuantaSoft
QUANTASOFT_HEADER = [
    "Well",
    "ExptType",
    "Experiment",
    "Sample",
    "TargetType",
    "Target",
    "Status",
    "Concentration",
    "Supermix",
    "CopiesPer20uLWell",
    "TotalConfMax",
    "TotalConfMin",
    "PoissonConfMax",
    "PoissonConfMin",
    "Positives",
    "Negatives",
    "Ch1+Ch2+",
    "Ch1+Ch2-",
    "Ch1-Ch2+",
    "Ch1-Ch2-",
    "Linkage",
    "AcceptedDroplets",
    "CNV",
    "TotalCNVMax",
    "TotalCNVMin",
    "PoissonCNVMax",
    "PoissonCNVMin",
    "ReferenceCopies",
    "UnknownCopies",
    "Ratio",
    "TotalRatioMax",
    "TotalRatioMin",
    "PoissonRatioMax",
    "PoissonRatioMin",
    "FractionalAbundance",
    "TotalFractionalAbundanceMax",
    "TotalFractionalAbundanceMin",
    "PoissonFractionalAbundanceMax",
    "PoissonFractionalAbundanceMin",
    "ReferenceAssayNumber",
    "TargetAssayNumber",
    "Threshold",
    "MeanAmplitudeofPositives",
    "MeanAmplitudeofNegatives",
    "MeanAmplitudeTotal",
    "ExperimentComments",
    "MergedWells",
    "TotalConfMax68",
    "TotalConfMin68",
    "PoissonConfMax68",
    "PoissonConfMin68",
    "TotalCNVMax68",
    "TotalCNVMin68",
    "PoissonCNVMax68",
    "PoissonCNVMin68",
    "TotalRatioMax68",
    "TotalRatioMin68",
    "PoissonRatioMax68",
    "PoissonRatioMin68",
    "TotalFractionalAbundanceMax68",
    "TotalFractionalAbundanceMin68",
    "PoissonFractionalAbundanceMax68",
    "PoissonFractionalAbundanceMin68",
]


def quantasoft(wells: list[Well], merge: Merged | None = None) -> str:
    """A Bio-Rad QuantaSoft (QX200) CSV export: one row per well and channel."""
    rows: list[list[object]] = [list(QUANTASOFT_HEADER)]
    for well in with_merged(wells, merge):
        members = ",".join(f"{w[0]}{int(w[1:]):02d}" for w in merge[1]) if merge else ""
        name = well.well if well.well.startswith("M") else well.padded
        for channel, target, positives, threshold in (
            (1, TARGETS[well.assay][0], well.fam, 4200),
            (2, TARGETS[well.assay][1], well.hex, 2900),
        ):
            concentration = conc(positives, well.partitions)
            shown = "No Call" if well.role == "NTC" and positives == 0 else g3(concentration)
            fraction = well.fraction_percent()
            cells: dict[str, object] = {
                "Well": name,
                "ExptType": "Absolute Quantification",
                "Experiment": "ABS",
                "Sample": well.sample,
                "TargetType": f"Ch{channel}Unknown",
                "Target": target,
                "Status": "Manual",
                "Concentration": shown,
                "Supermix": "ddPCR Supermix for Probes (No dUTP)",
                "CopiesPer20uLWell": g3(20 * concentration),
                "Positives": positives,
                "Negatives": well.partitions - positives,
                "Ch1+Ch2+": well.both,
                "Ch1+Ch2-": well.fam_only,
                "Ch1-Ch2+": well.hex_only,
                "Ch1-Ch2-": well.neither,
                "AcceptedDroplets": well.partitions,
                "FractionalAbundance": None if fraction is None else g3(fraction),
                "ReferenceAssayNumber": 2,
                "TargetAssayNumber": 1,
                "Threshold": threshold,
                "MeanAmplitudeofPositives": 9120.4 if channel == 1 else 6034.8,
                "MeanAmplitudeofNegatives": 1288.6 if channel == 1 else 1402.2,
                "MeanAmplitudeTotal": 1630.2 if channel == 1 else 2991.7,
                "MergedWells": members if well.well.startswith("M") else "",
            }
            rows.append([cells.get(column) for column in QUANTASOFT_HEADER])
    return csv_text(rows)


# ------------------------------------------------------------------------------- QX Manager
QXMANAGER_HEADER = [
    "Well",
    "Sample description 1",
    "Sample description 2",
    "Sample description 3",
    "Sample description 4",
    "Target",
    "Conc(copies/µL)",
    "pg/µL",
    "Status",
    "Status Reason",
    "Experiment",
    "SampleType",
    "TargetType",
    "Supermix",
    "DyeName(s)",
    "Copies/20µLWell",
    "TotalConfMax",
    "TotalConfMin",
    "PoissonConfMax",
    "PoissonConfMin",
    "Accepted Droplets",
    "Positives",
    "Negatives",
    "Copies/uL linked molecules",
    "CNV",
    "TotalCNVMax",
    "TotalCNVMin",
    "PoissonCNVMax",
    "PoissonCNVMin",
    "ReferenceCopies",
    "UnknownCopies",
    "Threshold1",
    "Threshold2",
    "Threshold3",
    "ThresholdSigmaAbove",
    "ThresholdSigmaBelow",
    "ReferenceUsed",
    "Ratio",
    "TotalRatioMax",
    "TotalRatioMin",
    "PoissonRatioMax",
    "PoissonRatioMin",
    "Fractional Abundance",
    "TotalFractionalAbundanceMax",
    "TotalFractionalAbundanceMin",
    "PoissonFractionalAbundanceMax",
    "PoissonFractionalAbundanceMin",
    "MeanAmplitudeOfPositives",
    "MeanAmplitudeOfNegatives",
    "MeanAmplitudeTotal",
    "ExperimentComments",
    "MergedWells",
    "TotalConfidenceMax68",
    "TotalConfidenceMin68",
    "PoissonConfidenceMax68",
    "PoissonConfidenceMin68",
    "TotalCNVMax68",
    "TotalCNVMin68",
    "PoissonCNVMax68",
    "PoissonCNVMin68",
    "TotalRatioMax68",
    "TotalRatioMin68",
    "PoissonRatioMax68",
    "PoissonRatioMin68",
    "TotalFractionalAbundanceMax68",
    "TotalFractionalAbundanceMin68",
    "PoissonFractionalAbundanceMax68",
    "PoissonFractionalAbundanceMin68",
    "TiltCorrected",
    "Ch1+Ch2+",
    "Ch1+Ch2-",
    "Ch1-Ch2+",
    "Ch1-Ch2-",
]
SAMPLE_TYPES = {"SAMPLE": "Unknown", "NTC": "NTC", "PC": "PosCtrl", "WT": "NegCtrl"}


def qxmanager(wells: list[Well], merge: Merged | None = None) -> str:
    """A Bio-Rad QX Manager CSV export (UTF-8 with BOM): one row per well and dye."""
    rows: list[list[object]] = [list(QXMANAGER_HEADER)]
    for well in with_merged(wells, merge):
        members = ",".join(f"{w[0]}{int(w[1:]):02d}" for w in merge[1]) if merge else ""
        name = well.well if well.well.startswith("M") else well.padded
        for dye, target, positives, threshold, kind in (
            ("FAM", TARGETS[well.assay][0], well.fam, 4200, "Unknown"),
            ("HEX", TARGETS[well.assay][1], well.hex, 2900, "Reference"),
        ):
            concentration = conc(positives, well.partitions)
            fraction = well.fraction_percent()
            cells: dict[str, object] = {
                "Well": name,
                "Sample description 1": well.sample,
                "Target": target,
                "Conc(copies/µL)": repr(concentration),
                "Status": "OK",
                "Experiment": "DQ",
                "SampleType": SAMPLE_TYPES[well.role],
                "TargetType": kind,
                "Supermix": "ddPCR Supermix for Probes (No dUTP)",
                "DyeName(s)": dye,
                "Copies/20µLWell": repr(20 * concentration),
                "Accepted Droplets": well.partitions,
                "Positives": positives,
                "Negatives": well.partitions - positives,
                "Threshold1": threshold,
                "Fractional Abundance": None if fraction is None else repr(fraction),
                "MeanAmplitudeOfPositives": 9120.4 if dye == "FAM" else 6034.8,
                "MeanAmplitudeOfNegatives": 1288.6 if dye == "FAM" else 1402.2,
                "MeanAmplitudeTotal": 1630.2 if dye == "FAM" else 2991.7,
                "MergedWells": members if well.well.startswith("M") else "",
                "TiltCorrected": "No",
                "Ch1+Ch2+": well.both,
                "Ch1+Ch2-": well.fam_only,
                "Ch1-Ch2+": well.hex_only,
                "Ch1-Ch2-": well.neither,
            }
            rows.append([cells.get(column) for column in QXMANAGER_HEADER])
    return "\ufeff" + csv_text(rows)


# ------------------------------------------------------------------------------- QIAcuity
QIACUITY_HEADER = [
    "Plate name", "Plate ID", "Plate type", "Well", "Sample/NTC/Control", "Type",
    "Reaction Mix", "Target (Name)", "Target (IC)", "Target (Control)",
    "Conc. [cp/µL] (dPCR reaction)", "Conc. [cp/mL] (dPCR reaction)",
    "CI (95%) (dPCR reaction)", "Conc. [cp/µL] (undiluted sample)",
    "Conc. [cp/mL] (undiluted sample)", "Partitions (Valid)", "Partitions (Positive)",
    "Partitions (Negative)", "Threshold", "Volume per well [µl]", "Concentration factor",
    "Template volume [µl]", "Total volume [µl]", "Conversion factor", "Conversion unit",
]  # fmt: skip
QIACUITY_TYPES = {"SAMPLE": "Sample", "NTC": "Non Template Control", "PC": "Control",
                  "WT": "Control"}  # fmt: skip


def qiacuity(wells: list[Well]) -> str:
    """A QIAGEN QIAcuity CSV export (sep=, line, newer header): one row per well and target."""
    rows: list[list[object]] = [list(QIACUITY_HEADER)]
    first = True
    for well in wells:
        for target, positives, threshold in (
            (TARGETS[well.assay][0], well.fam, "55.12"),
            (TARGETS[well.assay][1], well.hex, "40.87"),
        ):
            concentration = conc(positives, well.partitions)
            factor = 5 if well.role == "SAMPLE" else 1
            interval = (
                f"{100 * 1.96 / math.sqrt(positives):.1f}%" if positives else "-"
            )  # a display value only
            plate = ["ESR1 dPCR demo", "7f3c2a10-0d5e-4c1b-9a77-2b8e4f6a1c55",
                     "Nanoplate 26K 96-well"] if first else ["", "", ""]  # fmt: skip
            first = False
            rows.append(
                [
                    *plate, well.well, well.sample, QIACUITY_TYPES[well.role], well.assay,
                    target, "-", "-", f"{concentration:.3f}", repr(1000 * concentration),
                    interval, f"{factor * concentration:.3f}",
                    repr(1000 * factor * concentration), well.partitions, positives,
                    well.partitions - positives, threshold,
                    f"{well.partitions * VOLUME_UL:.3f}", factor, "8", "40", "1000", "cp/mL",
                ]
            )  # fmt: skip
    return "\ufeffsep=,\r\n" + csv_text(rows, quote_all=True)


# ------------------------------------------------------------------------------- Absolute Q
def absoluteq(wells: list[Well]) -> str:
    """A Thermo Fisher Absolute Q CSV export: one row per well and channel combination."""
    rows: list[list[object]] = [
        ["Run", "Date", "Instrument", "Plate", "Sample", "Channels", "Count",
         "Copies per microliter", "Total"]
    ]  # fmt: skip
    for well in wells:
        for channels, count in (("", well.neither), ("VIC", well.hex_only),
                                ("FAM", well.fam_only), ("FAM VIC", well.both)):  # fmt: skip
            concentration = 0.0 if not channels else conc(count, well.partitions)
            rows.append(
                ["ESR1_dPCR_demo", "2026-03-02 09:00:00.000000+00:00", "2262720120999",
                 "M01KM260300001", f"Sample {well.well}", channels, count,
                 f"{concentration:.2f}", well.partitions]
            )  # fmt: skip
    return csv_text(rows, line_end="\n")


FORMATS = ("quantasoft", "qxmanager", "qiacuity", "absoluteq")


def render(fmt: str, wells: list[Well], merge: Merged | None = None) -> str:
    """The wells as an export of ``fmt`` (one of FORMATS); only QuantaSoft and QX Manager
    write a merged well."""
    if fmt == "quantasoft":
        return quantasoft(wells, merge)
    if fmt == "qxmanager":
        return qxmanager(wells, merge)
    if fmt == "qiacuity":
        return qiacuity(wells)
    if fmt == "absoluteq":
        return absoluteq(wells)
    raise ValueError(f"unknown dPCR export format {fmt!r}; one of {', '.join(FORMATS)}")


def simulated_well(
    rng: Any,
    well: str,
    sample: str,
    role: str,
    assay: str,
    *,
    partitions: int,
    wild_type_copies: float,
    fraction: float,
    background: float = 0.0,
    replicate: int = 1,
) -> Well:
    """One duplex well drawn from a known truth: ``wild_type_copies`` (lambda_w) per partition,
    mutant copies lambda_m = lambda_w f / (1 - f), and a false-positive mutant signal in a
    partition with probability ``background`` (p0). A partition is mutant-positive with
    1 - (1 - p0) exp(-lambda_m), wild-type positive with 1 - exp(-lambda_w), independently;
    ``rng`` is a numpy Generator."""
    mutant_copies = wild_type_copies * fraction / (1.0 - fraction)
    p_m = 1.0 - (1.0 - background) * math.exp(-mutant_copies)
    p_w = 1.0 - math.exp(-wild_type_copies)
    both, fam_only, hex_only, neither = (
        int(n)
        for n in rng.multinomial(
            partitions, [p_m * p_w, p_m * (1 - p_w), (1 - p_m) * p_w, (1 - p_m) * (1 - p_w)]
        )
    )
    return Well(well, sample, role, assay, replicate, partitions, both, fam_only, hex_only, neither)


def plate_map(wells: list[Well]) -> str:
    """The plate map esr1calls dpcr reads for these wells."""
    lines = ["well,sample_id,role,assay,replicate"]
    lines += [f"{w.well},{w.sample},{w.role},{w.assay},{w.replicate}" for w in wells]
    return "\n".join(lines) + "\n"
