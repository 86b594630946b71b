"""RunResults for report tests: the real PCR demo run, and an NGS run built here.

The NGS run is assembled here, not read from a VCF, so the report tests fix every number
themselves: SampleReports whose numbers follow the NGS rule of docs/ngs.md (k_req, lod95 and
Clopper-Pearson from esr1calls.stats), with the evidence fields a VCF reader records. The build
is in each sample's details, where the NGS command records it and the reports read it (and in
the run's thresholds).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from ..hotspots import load_panel
from ..model import (
    Call,
    CallStatus,
    Dropped,
    InputFile,
    Method,
    Reason,
    RunResult,
    SampleReport,
    derive_sample_status,
)
from ..pcr.run import call_pcr
from ..provenance import input_file
from ..stats import clopper_pearson, k_required, lod95
from . import TESTDATA
from .plates import DEMO_MAP, DEMO_TABLE, demo_plate

PANEL = load_panel()
ERROR_RATE, UMI_ERROR_RATE, REPORTABLE = 5e-4, 1e-4, 0.002
NGS_COMMAND = "esr1calls ngs testdata/vcf/T01.vcf.gz testdata/vcf/T02.vcf.gz --umi -o out"
PCR_COMMAND = "esr1calls pcr testdata/plates/esr1_demo_plate.tsv --plate-map " + (
    "testdata/plates/esr1_demo_platemap.csv -o out"
)


def pcr_run() -> RunResult:
    """The demo plate through call_pcr, with the inputs the pcr command records."""
    result = call_pcr([demo_plate()], DEMO_MAP)
    inputs = (
        _relative(input_file(DEMO_TABLE, "generic plate table")),
        _relative(input_file(DEMO_MAP, "plate map")),
    )
    return dataclasses.replace(result, inputs=inputs)


def _relative(item: InputFile) -> InputFile:
    """Paths as a user types them, so goldens do not depend on where the checkout lives."""
    return dataclasses.replace(item, path="testdata/" + item.path.split("/testdata/")[-1])


def ngs_call(
    sample: str,
    hotspot: str,
    alt: int | None,
    depth: int | None,
    error_rate: float = UMI_ERROR_RATE,
) -> Call:
    """One hotspot by the NGS rule (docs/ngs.md, "The rule") from its counts."""
    spot = PANEL[hotspot]
    common: dict[str, Any] = {"hgvs_c": spot.hgvs_c, "hgvs_p": spot.hgvs_p}
    evidence = {"alt_field": "FORMAT/AD[1]", "depth_field": "sum(FORMAT/AD)", "source": "vcf"}
    if depth is None or alt is None:
        return Call(
            sample,
            hotspot,
            Method.NGS,
            CallStatus.INDETERMINATE,
            (Reason.NO_COVERAGE,),
            action="no depth at this hotspot: supply the BAM or a gVCF",
            evidence={"source": "none"},
            **common,
        )
    k_req = k_required(depth, error_rate)
    limit = lod95(depth, k_req)
    fraction = alt / depth
    interval = clopper_pearson(alt, depth)
    counts: dict[str, Any] = {
        "alt_count": alt,
        "depth": depth,
        "allele_fraction": fraction,
        "allele_fraction_ci95": interval,
        "evidence": {**evidence, "k_required": k_req},
    }
    if alt >= k_req and fraction >= REPORTABLE:
        return Call(
            sample, hotspot, Method.NGS, CallStatus.DETECTED, lod95=limit, **counts, **common
        )
    if alt >= k_req:
        return Call(
            sample,
            hotspot,
            Method.NGS,
            CallStatus.INDETERMINATE,
            (Reason.LOW_LEVEL,),
            action="re-test with more input or confirm by an orthogonal method",
            lod95=limit,
            **counts,
            **common,
        )
    if limit is not None and limit <= REPORTABLE:
        return Call(
            sample, hotspot, Method.NGS, CallStatus.NOT_DETECTED, lod95=limit, **counts, **common
        )
    return Call(
        sample,
        hotspot,
        Method.NGS,
        CallStatus.INDETERMINATE,
        (Reason.INSUFFICIENT_DEPTH,),
        action="sequence deeper: 0.2 % cannot be excluded at this depth",
        lod95=limit,
        **counts,
        **common,
    )


def ngs_sample(
    sample: str,
    counts: dict[str, tuple[int | None, int | None]],
    source: str,
    default_depth: int = 12000,
) -> SampleReport:
    calls = tuple(ngs_call(sample, h.name, *counts.get(h.name, (0, default_depth))) for h in PANEL)
    status = derive_sample_status(calls)
    detected = [c for c in calls if c.status is CallStatus.DETECTED]
    unresolved = [c for c in calls if c.status is CallStatus.INDETERMINATE]
    if detected:
        summary = "ESR1 mutation(s) detected: " + ", ".join(
            f"{c.hotspot} ({c.allele_fraction:.2%}, {c.alt_count}/{c.depth})" for c in detected
        )
    elif unresolved:
        summary = (
            "Indeterminate: "
            + ", ".join(f"{c.hotspot} ({c.reasons[0].value})" for c in unresolved)
            + "; no mutation detected in the others"
        )
    else:
        summary = "No ESR1 mutation detected; 0.2 % excluded with 95 % power at every hotspot"
    details = {"build": "GRCh38", "umi": True, "median_depth": default_depth}
    return SampleReport(
        sample, Method.NGS, status, summary + ".", calls, source=source, details=details
    )


def ngs_run(names: tuple[str, str] = ("T01", "T02")) -> RunResult:
    """Two plasma samples: one positive (D538G, and a low-level Y537S), one with an uncovered
    hotspot and one too shallow."""
    first, second = names
    samples = (
        ngs_sample(first, {"D538G": (148, 11890), "Y537S": (9, 12400)}, "T01.vcf.gz"),
        ngs_sample(
            second, {"E380Q": (None, None), "Y537N": (1, 950), "L536H": (0, 21000)}, "T02.vcf.gz"
        ),
    )
    return RunResult(
        samples=samples,
        inputs=(
            InputFile("testdata/vcf/T01.vcf.gz", "1" * 64, "vcf (Mutect2)"),
            InputFile("testdata/vcf/T02.vcf.gz", "2" * 64, "vcf (Mutect2)"),
        ),
        dropped=(
            Dropped("T01.vcf.gz", "record chr6:152061050", "not at a panel hotspot"),
            Dropped("T02.vcf.gz", "record chr6:152098791", "FILTER germline: not somatic"),
        ),
        panel=PANEL.describe(),
        thresholds={
            "build": "GRCh38",
            "min_allele_fraction": REPORTABLE,
            "umi": True,
            "error_rate": UMI_ERROR_RATE,
            "alpha": 1e-3,
            "k_min": 3,
        },
        notices=(
            "No panel of normals: the default background error rate (1e-4 per molecule) "
            "was used for every hotspot.",
        ),
    )


DPCR_EXPORT = TESTDATA / "dpcr" / "quantasoft" / "esr1_demo_quantasoft.csv"
DPCR_MAP = TESTDATA / "dpcr" / "esr1_demo_dpcr_platemap.csv"
DPCR_COMMAND = "esr1calls dpcr testdata/dpcr/quantasoft/esr1_demo_quantasoft.csv --plate-map " + (
    "testdata/dpcr/esr1_demo_dpcr_platemap.csv -o out"
)


def dpcr_run(plate_map: Path = DPCR_MAP) -> RunResult:
    """The dPCR demo plate (QuantaSoft export) through call_dpcr, with input paths as a user
    types them; ``plate_map`` another map of the same plate (say, with other sample names)."""
    from ..dpcr import call_dpcr

    result = call_dpcr([DPCR_EXPORT], plate_map)
    inputs = tuple(_relative(i) if "/testdata/" in i.path else i for i in result.inputs)
    return dataclasses.replace(result, inputs=inputs)
