"""Tab-separated tables: calls.tsv (one row per sample x hotspot), samples.tsv (one row per
sample), and the cell rule every TSV and CSV esr1calls writes shares.

Where several runs are merged (``esr1calls report`` over their calls.json), both tables start
with a ``run`` column, the run's label as MultiQC and ``esr1calls monitor`` name it (its
calls.json folder), so plate 1's S1 and plate 2's S1 are told apart by more than a file name;
batch's cohort tables start with ``job_id`` for the same reason.

A cell is one line, numbers are plain, and text that came from input files is guarded against
spreadsheet formula injection: a cell that would start with ``= + - @``, a tab, a carriage
return or ``|`` gets a leading apostrophe (``guard_formula``), in calls.tsv, samples.tsv, the
cohort tables, monitor.tsv and the LIS CSV alike.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from enum import Enum
from functools import lru_cache
from typing import Any

from ..model import CallStatus
from .calls_json import SampleLike, as_document
from .document import detected_hotspots, run_labels
from .options import ReportOptions

__all__ = [
    "CALLS_TSV",
    "CALL_COLUMNS",
    "FILES",
    "RUN_COLUMN",
    "SAMPLES_TSV",
    "SAMPLE_COLUMNS",
    "call_row",
    "guard_formula",
    "render_calls_tsv",
    "render_files",
    "render_samples_tsv",
    "render_table",
    "sample_row",
    "tsv_cell",
]

CALLS_TSV, SAMPLES_TSV = "calls.tsv", "samples.tsv"
FILES = (CALLS_TSV, SAMPLES_TSV)

CALL_COLUMNS = (
    "sample_id",
    "method",
    "hotspot",
    "hgvs_c",
    "hgvs_p",
    "status",
    "reasons",
    "action",
    "allele_fraction",
    "allele_fraction_ci95_low",
    "allele_fraction_ci95_high",
    "alt_count",
    "depth",
    "lod95",
    "delta_ct",
    "ct_mutation",
    "ct_reference",
    "ct_ic",
    "cutoff",
    "source",
)
SAMPLE_COLUMNS = (
    "sample_id",
    "method",
    "status",
    "detected",
    "n_detected",
    "n_not_detected",
    "n_indeterminate",
    "n_invalid",
    "summary",
    "source",
)
RUN_COLUMN = "run"  # first in a merged document's tables
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "|")


def tsv_cell(value: Any) -> str:
    """One TSV cell: numbers plain, text one-line and formula-safe.

    >>> tsv_cell('=HYPERLINK("x")')
    '\\'=HYPERLINK("x")'
    >>> tsv_cell(-1.5), tsv_cell(0.0021), tsv_cell(None)
    ('-1.5', '0.0021', '')
    """
    if value is None:
        return ""
    if type(value) is str:  # most cells: straight to the text rule
        return _text_cell(value)
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.6g}"
    return _text_cell(str(value))


@lru_cache(maxsize=4096)
def _text_cell(text: str) -> str:
    """Text as one formula-safe line; kept for the texts met last, since a table repeats its
    statuses, hotspots, reasons and sources row after row."""
    return guard_formula(" ".join(text.replace("\t", " ").splitlines()))


def guard_formula(text: str) -> str:
    """Text a spreadsheet would run as a formula, with a leading apostrophe so it shows as text.

    >>> guard_formula("=1+1"), guard_formula("  @SUM(A1)"), guard_formula("D538G")
    ("'=1+1", "'  @SUM(A1)", 'D538G')
    """
    if text.lstrip(" ").startswith(_FORMULA_START):
        return "'" + text
    return text


def render_table(columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> str:
    lines = ["\t".join(columns)]
    lines.extend("\t".join(tsv_cell(row.get(c)) for c in columns) for row in rows)
    return "\n".join(lines) + "\n"


def call_row(sample: Mapping[str, Any], call: Mapping[str, Any]) -> dict[str, Any]:
    low, high = call.get("allele_fraction_ci95") or (None, None)
    return {
        "sample_id": sample.get("sample_id"),
        "method": sample.get("method"),
        **{c: call.get(c) for c in CALL_COLUMNS if c in call},
        "reasons": ";".join(call.get("reasons") or []),
        "allele_fraction_ci95_low": low,
        "allele_fraction_ci95_high": high,
        "source": sample.get("source"),
    }


def render_calls_tsv(samples: Iterable[SampleLike]) -> str:
    """calls.tsv: one row per sample x hotspot (samples as objects or calls.json entries)."""
    documents = [as_document(s) for s in samples]
    return render_table(CALL_COLUMNS, (call_row(s, c) for s in documents for c in s["calls"]))


def sample_row(sample: Mapping[str, Any]) -> dict[str, Any]:
    calls = sample.get("calls") or []

    def count(status: CallStatus) -> int:
        return sum(c.get("status") == status.value for c in calls)

    return {
        "sample_id": sample.get("sample_id"),
        "method": sample.get("method"),
        "status": sample.get("status"),
        "detected": ",".join(detected_hotspots(sample)),
        "n_detected": count(CallStatus.DETECTED),
        "n_not_detected": count(CallStatus.NOT_DETECTED),
        "n_indeterminate": count(CallStatus.INDETERMINATE),
        "n_invalid": count(CallStatus.INVALID),
        "summary": sample.get("summary"),
        "source": sample.get("source"),
    }


def render_samples_tsv(samples: Iterable[SampleLike]) -> str:
    """samples.tsv: one row per sample."""
    return render_table(SAMPLE_COLUMNS, (sample_row(as_document(s)) for s in samples))


def render_files(document: Mapping[str, Any], options: ReportOptions) -> dict[str, str]:
    """calls.tsv and samples.tsv, as the registry of formats renders them; the rows of a document
    merging several runs start with their run (``run_labels``)."""
    samples = [as_document(s) for s in document["samples"]]
    runs = run_labels(document)
    if runs is None or len(document["run"]["sources"]) < 2:  # one run: nothing to tell apart
        return {CALLS_TSV: render_calls_tsv(samples), SAMPLES_TSV: render_samples_tsv(samples)}
    calls = (
        {RUN_COLUMN: run, **call_row(sample, call)}
        for sample, run in zip(samples, runs, strict=True)
        for call in sample["calls"]
    )
    rows = (
        {RUN_COLUMN: run, **sample_row(sample)} for sample, run in zip(samples, runs, strict=True)
    )
    return {
        CALLS_TSV: render_table((RUN_COLUMN, *CALL_COLUMNS), calls),
        SAMPLES_TSV: render_table((RUN_COLUMN, *SAMPLE_COLUMNS), rows),
    }
