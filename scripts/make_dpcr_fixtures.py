#!/usr/bin/env python3
"""Render the ESR1 digital PCR demo plate into the four dPCR export families.

    python scripts/make_dpcr_fixtures.py   # (re)writes testdata/dpcr/<family>/esr1_demo_*

Input: testdata/dpcr/esr1_demo_dpcr_plate.tsv, one line per well: its sample, role, assay,
replicate, accepted partitions and the four partition combinations of its two channels
(``FAM+HEX+``, ``FAM+HEX-``, ``FAM-HEX+``, ``FAM-HEX-``; for the drop-off assay FAM is the
reference probe and HEX the wild-type probe). Every count in the renderings derives from them:
each channel's positives are the sum of the combinations it is positive in. Concentrations
are −ln(1 − k/N)/V with the bundled assay set's 0.85 nL partitions.

Layouts follow the issue's descriptions and the real exports in testdata/dpcr (QuantaSoft's
63-column header of QuantaSoft 1.7.4, QX Manager's header of ddpcr's quant.csv, QIAcuity's newer
header of allotropy's example 4, Absolute Q's channel-combination layout); run names, dates,
serial numbers and amplitudes are invented. QuantaSoft and QX Manager also carry a merged well
(M01 = C09 + C10, written after C10; both members present: it must not be
counted twice). Output is deterministic.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DPCR = REPO / "testdata" / "dpcr"
PLATE = DPCR / "esr1_demo_dpcr_plate.tsv"
VOLUME_UL = 0.85e-3  # the bundled assay set's partition volume, in uL
TARGETS = {  # assay -> (FAM target, HEX target)
    "E380Q": ("E380Q", "E380_WT"),
    "S463P": ("S463P", "S463_WT"),
    "Y537S": ("Y537S", "Y537_WT"),
    "D538G": ("D538G", "D538_WT"),
    "EX8_DROPOFF": ("EX8_REF", "EX8_WT"),
}
MERGED = ("M01", ("C9", "C10"))  # a QuantaSoft / QX Manager merged well over L1's Y537S pair


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


def with_merged(wells: list[Well]) -> list[Well]:
    """The wells in export order, the merged well right after its last member."""
    out: list[Well] = []
    for well in wells:
        out.append(well)
        if well.well == MERGED[1][-1]:
            out.append(merged(wells))
    return out


def merged(wells: list[Well]) -> Well:
    parts = [w for w in wells if w.well in MERGED[1]]
    first = parts[0]
    return Well(
        MERGED[0], first.sample, first.role, first.assay, 1,
        sum(w.partitions for w in parts), sum(w.both for w in parts),
        sum(w.fam_only for w in parts), sum(w.hex_only for w in parts),
        sum(w.neither for w in parts),
    )  # fmt: skip


def read_plate() -> list[Well]:
    with PLATE.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    wells = []
    for row in rows:
        well = Well(
            row["well"], row["sample"], row["role"], row["assay"], int(row["replicate"]),
            int(row["partitions"]), int(row["FAM+HEX+"]), int(row["FAM+HEX-"]),
            int(row["FAM-HEX+"]), int(row["FAM-HEX-"]),
        )  # fmt: skip
        assert well.both + well.fam_only + well.hex_only + well.neither == well.partitions, well
        wells.append(well)
    return wells


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
QUANTASOFT_HEADER = (
    "Well,ExptType,Experiment,Sample,TargetType,Target,Status,Concentration,Supermix,"
    "CopiesPer20uLWell,TotalConfMax,TotalConfMin,PoissonConfMax,PoissonConfMin,Positives,"
    "Negatives,Ch1+Ch2+,Ch1+Ch2-,Ch1-Ch2+,Ch1-Ch2-,Linkage,AcceptedDroplets,CNV,TotalCNVMax,"
    "TotalCNVMin,PoissonCNVMax,PoissonCNVMin,ReferenceCopies,UnknownCopies,Ratio,TotalRatioMax,"
    "TotalRatioMin,PoissonRatioMax,PoissonRatioMin,FractionalAbundance,"
    "TotalFractionalAbundanceMax,TotalFractionalAbundanceMin,PoissonFractionalAbundanceMax,"
    "PoissonFractionalAbundanceMin,ReferenceAssayNumber,TargetAssayNumber,Threshold,"
    "MeanAmplitudeofPositives,MeanAmplitudeofNegatives,MeanAmplitudeTotal,ExperimentComments,"
    "MergedWells,TotalConfMax68,TotalConfMin68,PoissonConfMax68,PoissonConfMin68,TotalCNVMax68,"
    "TotalCNVMin68,PoissonCNVMax68,PoissonCNVMin68,TotalRatioMax68,TotalRatioMin68,"
    "PoissonRatioMax68,PoissonRatioMin68,TotalFractionalAbundanceMax68,"
    "TotalFractionalAbundanceMin68,PoissonFractionalAbundanceMax68,"
    "PoissonFractionalAbundanceMin68"
).split(",")


def quantasoft(wells: list[Well]) -> str:
    rows: list[list[object]] = [list(QUANTASOFT_HEADER)]
    for well in with_merged(wells):
        members = ",".join(f"{w[0]}{int(w[1:]):02d}" for w in MERGED[1])
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
QXMANAGER_HEADER = (
    "Well,Sample description 1,Sample description 2,Sample description 3,Sample description 4,"
    "Target,Conc(copies/µL),pg/µL,Status,Status Reason,Experiment,SampleType,TargetType,"
    "Supermix,DyeName(s),Copies/20µLWell,TotalConfMax,TotalConfMin,PoissonConfMax,"
    "PoissonConfMin,Accepted Droplets,Positives,Negatives,Copies/uL linked molecules,CNV,"
    "TotalCNVMax,TotalCNVMin,PoissonCNVMax,PoissonCNVMin,ReferenceCopies,UnknownCopies,"
    "Threshold1,Threshold2,Threshold3,ThresholdSigmaAbove,ThresholdSigmaBelow,ReferenceUsed,"
    "Ratio,TotalRatioMax,TotalRatioMin,PoissonRatioMax,PoissonRatioMin,Fractional Abundance,"
    "TotalFractionalAbundanceMax,TotalFractionalAbundanceMin,PoissonFractionalAbundanceMax,"
    "PoissonFractionalAbundanceMin,MeanAmplitudeOfPositives,MeanAmplitudeOfNegatives,"
    "MeanAmplitudeTotal,ExperimentComments,MergedWells,TotalConfidenceMax68,"
    "TotalConfidenceMin68,PoissonConfidenceMax68,PoissonConfidenceMin68,TotalCNVMax68,"
    "TotalCNVMin68,PoissonCNVMax68,PoissonCNVMin68,TotalRatioMax68,TotalRatioMin68,"
    "PoissonRatioMax68,PoissonRatioMin68,TotalFractionalAbundanceMax68,"
    "TotalFractionalAbundanceMin68,PoissonFractionalAbundanceMax68,"
    "PoissonFractionalAbundanceMin68,TiltCorrected,Ch1+Ch2+,Ch1+Ch2-,Ch1-Ch2+,Ch1-Ch2-"
).split(",")
SAMPLE_TYPES = {"SAMPLE": "Unknown", "NTC": "NTC", "PC": "PosCtrl", "WT": "NegCtrl"}


def qxmanager(wells: list[Well]) -> str:
    rows: list[list[object]] = [list(QXMANAGER_HEADER)]
    for well in with_merged(wells):
        members = ",".join(f"{w[0]}{int(w[1:]):02d}" for w in MERGED[1])
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
    rows: list[list[object]] = [QIACUITY_HEADER]
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


# ------------------------------------------------------------------------------- damaged
DAMAGED = REPO / "testdata" / "damaged"


def _edit_cells(text: str, line_start: str, edits: dict[int, str], line_end: str) -> str:
    """``text`` with the cells of its first line starting ``line_start`` replaced."""
    lines = text.split(line_end)
    index = next(i for i, line in enumerate(lines) if line.startswith(line_start))
    cells = lines[index].split(",")
    for column, value in edits.items():
        cells[column] = value
    lines[index] = ",".join(cells)
    return line_end.join(lines)


def damaged(renders: dict[str, str]) -> dict[Path, str]:
    """One file per class of damage the dPCR readers handle (testdata/damaged/)."""
    qs, qx = renders["quantasoft"], renders["qxmanager"]
    aq, qia = renders["absoluteq"], renders["qiacuity"]
    last = qs.rstrip("\r\n").rsplit("\r\n", 1)[1]
    cut = qs[: qs.rindex(last) + last.index(",17745,") + len(",177")]
    a01_hex = "A01,NTC,,,,E380_WT,"
    first_a02 = qs.index("A02,")
    duplicate = qs[:first_a02] + qs[first_a02 : qs.index("\r\n", first_a02) + 2] + qs[first_a02:]
    c3_rows = [line for line in aq.split("\n") if ",Sample C3," in line]
    return {
        # the case: the accepted droplets of the last row cut from 17745 to 177
        DAMAGED / "quantasoft_cut_inside_accepted_droplets.csv": cut,
        # "No Call" where a count should be: not zero
        DAMAGED / "qxmanager_no_call_count.csv": _edit_cells(qx, a01_hex, {21: "No Call"}, "\r\n"),
        DAMAGED / "quantasoft_well_and_target_twice.csv": duplicate,
        # A02's combinations moved by one partition: they no longer give the FAM positives
        DAMAGED / "quantasoft_combinations_disagree.csv": _edit_cells(
            _edit_cells(qs, "A02,Absolute Quantification,ABS,PC,Ch1Unknown",
                        {17: "207", 19: "13048"}, "\r\n"),
            "A02,Absolute Quantification,ABS,PC,Ch2Unknown", {17: "207", 19: "13048"}, "\r\n",
        ),
        # a combination row of C3 lost in the middle of the file
        DAMAGED / "absoluteq_combination_row_missing.csv": aq.replace(c3_rows[1] + "\n", "", 1),
        # P1 and N1 swapped in the export's D538G wells
        DAMAGED / "qxmanager_samples_swapped.csv": qx.replace("D06,P1,", "D06,@@,")
        .replace("D07,N1,", "D07,P1,")
        .replace("D06,@@,", "D06,N1,"),
        # the header's µ written as UTF-8 and read back as Windows-1252: Âµ
        DAMAGED / "qiacuity_micro_sign_misencoded.csv": qia.replace("µ", "Âµ"),
    }  # fmt: skip


def main() -> None:
    wells = read_plate()
    renders = {
        "quantasoft": quantasoft(wells),
        "qxmanager": qxmanager(wells),
        "qiacuity": qiacuity(wells),
        "absoluteq": absoluteq(wells),
    }
    outputs = {DPCR / fmt / f"esr1_demo_{fmt}.csv": text for fmt, text in renders.items()}
    outputs.update(damaged(renders))
    for path, text in outputs.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))
        print(f"wrote {path.relative_to(REPO)}")


if __name__ == "__main__":
    main()
