"""results_lis.csv (--lis-csv): one flat row per sample x hotspot for a LIS import.

Comma-separated, UTF-8 with a byte-order mark (so Excel opens it as UTF-8) and CRLF line ends,
the header row first, columns as ``LIS_COLUMNS`` (docs/lis.md says what each holds). Fields are
quoted only when they must be (a comma, a quote or a line break), and every text cell is guarded
against spreadsheet formula injection like calls.tsv (``tables.guard_formula``). Fractions stay
fractions (0.002), as in calls.tsv, and only measured ones (NGS, dPCR: a PCR estimate from
delta-Ct is not a measurement and stays in calls.tsv); the result and overall result also carry
their LOINC answer codes, as results.hl7 does.

Like results.hl7, the rows follow the review record when ``esr1calls sign`` renders the file
again (``review``, lis_review.py): the result columns hold the calls after review, with
``result_status`` P, F, C or X as results.hl7's OBX-11, the reviewer, the time and, for a call
the reviewer changed, esr1calls's call and the reason; a rejected result's rows hold no result.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Mapping
from typing import Any

from .document import run_of
from .fhir import VALUE_CODES
from .hl7 import MEASURED_METHODS, OVERALL_CODES
from .lis_review import Review, lis_review, reviewed
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
    "result_status",
    "review_status",
    "reviewer",
    "review_time",
    "signoff",
    "original_call",
    "override_reason",
    "review_comment",
    "run_time",
    "software",
)
# the columns a rejected result leaves empty (results.hl7 sends no value either)
_RESULT_COLUMNS = (
    "result",
    "result_code",
    "call",
    "allele_fraction",
    "sample_result",
    "sample_result_code",
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


def lis_rows(document: Mapping[str, Any], review: Review = None) -> Iterable[dict[str, Any]]:
    """The rows of results_lis.csv, one per call of each sample, in report order, after review
    (``review``: ``audit.review_summary``, None when the folder was never signed)."""
    tool = document.get("tool") or {}
    software = f"{tool.get('name', 'esr1calls')} {tool.get('version', '')}".strip()
    signed = lis_review(review)
    for entry in reviewed(document, review):
        sample = entry.sample
        run = run_of(document, sample)
        sample_code, _ = OVERALL_CODES.get(entry.status, ("", ""))
        measured = sample.get("method") in MEASURED_METHODS
        for reviewed_call in entry.calls:
            call, override = reviewed_call.call, reviewed_call.override or {}
            value = reviewed_call.status.fhir_value
            row = {
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
                "call": reviewed_call.status.value,
                "reasons": ";".join(call.get("reasons") or []),
                # a measured fraction only: a PCR estimate from delta-Ct stays in calls.tsv
                "allele_fraction": call.get("allele_fraction") if measured else None,
                "lod95": call.get("lod95"),
                "sample_result": entry.status,
                "sample_result_code": sample_code,
                "result_status": reviewed_call.result_status.value,
                "review_status": signed.state,
                "reviewer": signed.reviewer,
                "review_time": signed.time,
                "signoff": signed.signoff,
                "original_call": override.get("original"),
                "override_reason": override.get("reason"),
                "review_comment": signed.comment,
                "run_time": run.get("utc_time") or (document.get("run") or {}).get("utc_time"),
                "software": software,
            }
            if signed.rejected:  # a rejected result must not look reportable: no result at all
                for column in _RESULT_COLUMNS:
                    row[column] = None
            yield row


def render_lis_csv(document: Mapping[str, Any], review: Review = None) -> str:
    """results_lis.csv text, the byte-order mark first; ``review`` as for ``lis_rows``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(LIS_COLUMNS)
    for row in lis_rows(document, review):
        writer.writerow([_cell(row.get(column)) for column in LIS_COLUMNS])
    return BOM + buffer.getvalue()


def render_files(document: Mapping[str, Any], options: ReportOptions) -> dict[str, str]:
    """results_lis.csv (--lis-csv), as the registry of formats renders it."""
    return {LIS_CSV: render_lis_csv(document)}
