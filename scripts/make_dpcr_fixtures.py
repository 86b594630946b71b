#!/usr/bin/env python3
"""Render the ESR1 digital PCR demo plate into the four dPCR export families.

    python scripts/make_dpcr_fixtures.py   # (re)writes testdata/dpcr/<family>/esr1_demo_*

Input: testdata/dpcr/esr1_demo_dpcr_plate.tsv, one line per well: its sample, role, assay,
replicate, accepted partitions and the four partition combinations of its two channels. The
layouts are esr1calls.testing.dpcr_exports'. QuantaSoft and QX Manager also carry a merged well
(M01 = C09 + C10, written after C10; both members present: it must not be counted twice). Also
writes the damaged dPCR files of testdata/damaged/. Output is deterministic.
"""

from __future__ import annotations

import csv
from pathlib import Path

from esr1calls.testing.dpcr_exports import Well, absoluteq, qiacuity, quantasoft, qxmanager

REPO = Path(__file__).resolve().parents[1]
DPCR = REPO / "testdata" / "dpcr"
PLATE = DPCR / "esr1_demo_dpcr_plate.tsv"
MERGED = ("M01", ("C9", "C10"))  # a QuantaSoft / QX Manager merged well over L1's Y537S pair


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
        "quantasoft": quantasoft(wells, MERGED),
        "qxmanager": qxmanager(wells, MERGED),
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
