"""Benchmark: a 96-well QX200 QuantaSoft export read and called in-process.

Not a test (figures are never asserted in the suite). It writes a full 96-well plate in the
63-column QuantaSoft layout (two targets per well, the five assays of the bundled set across
the columns; row A NTC, B PC, C WT control, D-H samples) and its plate map, imports esr1calls
once, then times ``call_dpcr`` (sniff, read, map, QC, every call): the first call, and the
median and fastest of the repetitions after it (k_req and the partition-level LoD are cached
by partition count, so repeats are faster):

    .venv/bin/python benchmarks/bench_dpcr.py             # 50 repetitions
    .venv/bin/python benchmarks/bench_dpcr.py --repeat 200
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import statistics
import tempfile
import time
from pathlib import Path

ASSAYS = {  # assay -> (FAM target, HEX target)
    "E380Q": ("E380Q", "E380_WT"),
    "S463P": ("S463P", "S463_WT"),
    "Y537S": ("Y537S", "Y537_WT"),
    "D538G": ("D538G", "D538_WT"),
    "EX8_DROPOFF": ("EX8_REF", "EX8_WT"),
}
_NAMED = (
    "Well,ExptType,Experiment,Sample,TargetType,Target,Status,Concentration,Supermix,"
    "CopiesPer20uLWell,TotalConfMax,TotalConfMin,PoissonConfMax,PoissonConfMin,Positives,"
    "Negatives,Ch1+Ch2+,Ch1+Ch2-,Ch1-Ch2+,Ch1-Ch2-,Linkage,AcceptedDroplets"
)
HEADER = [*_NAMED.split(","), *(f"Unused{n}" for n in range(41))]  # the 63 columns
ROLES = {"A": "NTC", "B": "PC", "C": "WT"}


def combinations(n: int, role: str, drop_off: bool, seed: int) -> tuple[int, int, int, int]:
    """(FAM+HEX+, FAM+HEX-, FAM-HEX+, FAM-HEX-) of one well."""
    if role == "NTC":
        return 0, 0, 0, n
    lambda_w = 0.3 + (seed % 7) * 0.05
    fraction = {"PC": 0.05, "WT": 0.0}.get(role, 0.01 if seed % 5 == 0 else 0.0)
    lambda_m = lambda_w * fraction / (1 - fraction)
    p_w, p_m = -math.expm1(-lambda_w), -math.expm1(-lambda_m)
    wild = round(n * p_w)
    if drop_off:
        mutant = round(n * math.exp(-lambda_w) * p_m)
        return wild, mutant, 0, n - wild - mutant
    both, fam_only = round(n * p_m * p_w), round(n * p_m * (1 - p_w))
    return both, fam_only, wild - both, n - wild - fam_only


def write_plate(folder: Path) -> tuple[Path, Path]:
    rows: list[list[object]] = [HEADER]
    plate_map = ["well,sample_id,role,assay"]
    for r, letter in enumerate("ABCDEFGH"):
        for column in range(1, 13):
            assay = list(ASSAYS)[(column - 1) % 5]
            role = ROLES.get(letter, "SAMPLE")
            sample = role if role != "SAMPLE" else f"S{letter}{(column - 1) // 5 + 1}"
            n = 17_000 + (r * 12 + column) * 37
            both, fam_only, hex_only, neither = combinations(
                n, role, assay == "EX8_DROPOFF", r * 12 + column
            )
            for channel, target, positives in (
                (1, ASSAYS[assay][0], both + fam_only),
                (2, ASSAYS[assay][1], both + hex_only),
            ):
                cells = [
                    f"{letter}{column:02d}",
                    "Absolute Quantification",
                    "ABS",
                    sample,
                    f"Ch{channel}Unknown",
                    target,
                    "Manual",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    positives,
                    n - positives,
                    both,
                    fam_only,
                    hex_only,
                    neither,
                    "",
                    n,
                ]
                rows.append(cells + [""] * 41)
            plate_map.append(f"{letter}{column},{sample},{role},{assay}")
    export, map_path = folder / "bench_quantasoft.csv", folder / "bench_map.csv"
    text = io.StringIO()
    csv.writer(text, lineterminator="\r\n").writerows(rows)
    export.write_text(text.getvalue(), encoding="utf-8")
    map_path.write_text("\n".join(plate_map) + "\n", encoding="utf-8")
    return export, map_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    from esr1calls.dpcr import call_dpcr  # imported once, outside the timing

    with tempfile.TemporaryDirectory() as tmp:
        export, plate_map = write_plate(Path(tmp))
        start = time.perf_counter()
        result = call_dpcr([export], plate_map)  # the first call: nothing cached yet
        first = time.perf_counter() - start
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            result = call_dpcr([export], plate_map)
            times.append(time.perf_counter() - start)
    calls = sum(len(s.calls) for s in result.samples)
    print(
        f"96-well QX200 export, {len(result.samples)} samples, {calls} calls: read and called "
        f"in {1000 * first:.1f} ms the first time, then {1000 * statistics.median(times):.1f} "
        f"ms (median of {args.repeat}; fastest {1000 * min(times):.1f} ms)"
    )


if __name__ == "__main__":
    main()
