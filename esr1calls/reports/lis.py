"""results_lis.csv (--lis-csv): one flat row per sample x hotspot for a LIS import.

Comma-separated, UTF-8 with a byte-order mark (so Excel opens it as UTF-8) and CRLF line ends,
the header row first, columns as ``LIS_COLUMNS`` (docs/lis.md says what each holds). Fields are
quoted only when they must be (a comma, a quote or a line break), and every text cell is guarded
against spreadsheet formula injection like calls.tsv (``tables.guard_formula``). Fractions stay
fractions (0.002), as in calls.tsv, and only measured ones (NGS, dPCR: a PCR estimate from
delta-Ct is not a measurement and stays in calls.tsv); the result and overall result also carry
their LOINC answer codes, as results.hl7 does.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Mapping
from typing import Any

from ..model import CallStatus
from .document import run_of
from .fhir import VALUE_CODES
from .hl7 import MEASURED_METHODS, OVERALL_CODES
from .options import ReportOptions
from .tables import guard_formula

__all__ = ["FILES", "LIS_COLUMNS", "LIS_CSV", "lis_rows", "render_files", "render_lis_csv"]

LIS_CSV = "results_lis.csv"
FILES = (LIS_CSV,)
BOM = "\ufeff"

LIS_COLUMNS = (
    "patient_id",
    "sample_id",
    "collected_date",
    "method",
    "test_code",
    "gene",
    "gene_id",
    "hotspot",
    "hgvs_c",
    "hgvs_p",
    "result",
    "result_code",
    "call",
    "reasons",
    "allele_fraction",
    "lod95",
    "sample_result",
    "sample_result_code",
    "review_status",
    "run_time",
    "software",
)
TEST_CODE = "81247-9"  # LOINC: Master HL7 genetic variant reporting panel, as results.hl7's OBR-4


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return "" if math.isnan(value) or math.isinf(value) else f"{value:.6g}"
    return guard_formula(" ".join(str(value).splitlines()))


def lis_rows(document: Mapping[str, Any]) -> Iterable[dict[str, Any]]:
    """The rows of results_lis.csv, one per call of each sample, in report order."""
    tool = document.get("tool") or {}
    software = f"{tool.get('name', 'esr1calls')} {tool.get('version', '')}".strip()
    review = (document.get("run") or {}).get("review_status")
    for sample in document.get("samples") or []:
        run = run_of(document, sample)
        status = str(sample.get("status"))
        sample_code, _ = OVERALL_CODES.get(status, ("", ""))
        measured = sample.get("method") in MEASURED_METHODS
        for call in sample.get("calls") or []:
            value = CallStatus(str(call.get("status"))).fhir_value
            yield {
                "patient_id": sample.get("patient_id"),
                "sample_id": sample.get("sample_id"),
                "collected_date": sample.get("collected"),
                "method": sample.get("method"),
                "test_code": TEST_CODE,
                "gene": "ESR1",
                "gene_id": "HGNC:3467",
                "hotspot": call.get("hotspot"),
                "hgvs_c": call.get("hgvs_c"),
                "hgvs_p": call.get("hgvs_p"),
                "result": value,
                "result_code": VALUE_CODES[value],
                "call": call.get("status"),
                "reasons": ";".join(call.get("reasons") or []),
                # a measured fraction only: a PCR estimate from delta-Ct stays in calls.tsv
                "allele_fraction": call.get("allele_fraction") if measured else None,
                "lod95": call.get("lod95"),
                "sample_result": status,
                "sample_result_code": sample_code,
                "review_status": review,
                "run_time": run.get("utc_time") or (document.get("run") or {}).get("utc_time"),
                "software": software,
            }


def render_lis_csv(document: Mapping[str, Any]) -> str:
    """results_lis.csv text, the byte-order mark first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(LIS_COLUMNS)
    for row in lis_rows(document):
        writer.writerow([_cell(row.get(column)) for column in LIS_COLUMNS])
    return BOM + buffer.getvalue()


def render_files(document: Mapping[str, Any], options: ReportOptions) -> dict[str, str]:
    """results_lis.csv (--lis-csv), as the registry of formats renders it."""
    return {LIS_CSV: render_lis_csv(document)}
