"""The small pieces every HTML page of esr1calls is built from: escaped text, status badges,
numbers and fractions as text, reason codes with their sentences (a reason every call of a sample
gives named once above its table), tables and definition lists.

report.html (``html.py``) and its digital PCR sections (``html_dpcr.py``) share them, so both
escape and format exactly alike. Cells and values passed in are already HTML; everything that
came from a document goes through ``text``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from html import escape
from typing import Any

from ..model import Reason, reportable_fraction
from ..text import exact_percent, percent
from .document import flatten

__all__ = [
    "DASH",
    "badge",
    "fraction",
    "fraction_with_interval",
    "hgvs",
    "key_values",
    "lod95_text",
    "number",
    "reasons",
    "row_reasons",
    "sample_facts",
    "shared_reasons",
    "shared_reasons_block",
    "table",
    "text",
]

DASH = "—"
_STATUS_CLASS = re.compile(r"[^A-Z_]")


def text(value: Any) -> str:
    """Escape anything for HTML text or attribute context; None is a dash."""
    if value is None or value == "":
        return DASH
    return _escaped(str(value))


@lru_cache(maxsize=8192)
def _escaped(value: str) -> str:
    """html.escape, kept for the texts met last: a plate's report escapes some 10,000 texts,
    most of them statuses, hotspots, wells and numbers it has escaped before."""
    return escape(value, quote=True)


def badge(status: Any) -> str:
    label = str(status or "")
    css = _STATUS_CLASS.sub("", label)  # class names only from the closed status vocabulary
    return f'<span class="badge s-{css}">{text(label)}</span>'


def number(value: Any, digits: int = 2) -> str:
    kind = type(value)  # the plain types first: a plate's report shows some 4,000 numbers
    if kind is float:
        return f"{value:.{digits}f}"
    if kind is int:
        return str(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return text(value)
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def fraction(value: Any) -> str:
    return percent(float(value)) if isinstance(value, int | float) else DASH


def fraction_with_interval(call: Mapping[str, Any]) -> str:
    shown = fraction(call.get("allele_fraction"))
    interval = call.get("allele_fraction_ci95")
    if shown != DASH and isinstance(interval, Sequence) and len(interval) == 2:
        shown += f" ({fraction(interval[0])}–{fraction(interval[1])})"
    semi = (call.get("evidence") or {}).get("semi_quantitative")
    return shown + (
        "<br><span class='muted'>semi-quantitative</span>" if semi and shown != DASH else ""
    )


def hgvs(call: Mapping[str, Any]) -> str:
    """c. and p. without the transcript accession (named in the table caption), unbroken."""
    c_dot = str(call.get("hgvs_c") or "").split(":")[-1]
    return (
        f"<code class='nw'>{text(c_dot)}</code><br>"
        f"<code class='nw'>{text(call.get('hgvs_p'))}</code>"
    )


def lod95_text(value: Any, reportable: float | None) -> str:
    """An achieved limit; the reportable fraction itself (a PCR negative's) shown exactly."""
    if reportable is not None and isinstance(value, int | float) and value == reportable:
        return exact_percent(reportable)
    return fraction(value)


def reasons(codes: Iterable[Any], thresholds: Mapping[str, Any]) -> str:
    """Each reason code with its sentence, numbers from ``thresholds`` (the call's run's)."""
    items = []
    for code in codes or []:
        try:
            description = Reason(str(code)).describe(thresholds)
        except ValueError:
            description = ""
        tail = f": {text(description)}" if description else ""
        items.append(f'<span class="code nw">{text(code)}</span>{tail}')
    return "<br>".join(items) or DASH


def shared_reasons(calls: Sequence[Mapping[str, Any]]) -> list[str]:
    """The reasons every call of a sample gives (a reference Ct out of its window makes all 11
    INVALID): shown once, at sample level, not on every row. None for a sample of one call.

    >>> shared_reasons([{"reasons": ["REF_CT_HIGH", "IC_FAIL"]}, {"reasons": ["REF_CT_HIGH"]}])
    ['REF_CT_HIGH']
    >>> shared_reasons([{"reasons": ["LOW_INPUT"]}]), shared_reasons([{"reasons": []}] * 3)
    ([], [])
    """
    if len(calls) < 2:
        return []
    first = [str(r) for r in calls[0].get("reasons") or []]
    return [r for r in first if all(r in map(str, c.get("reasons") or []) for c in calls[1:])]


def row_reasons(
    call: Mapping[str, Any], shared: Sequence[str], thresholds: Mapping[str, Any]
) -> str:
    """The call's own reasons; those of the whole sample are named once above the table."""
    own = [r for r in call.get("reasons") or [] if str(r) not in shared]
    if own or not shared:
        return reasons(own, thresholds)
    return "<span class='muted'>the sample's reason, above</span>"


def shared_reasons_block(shared: Sequence[str], thresholds: Mapping[str, Any]) -> str:
    if not shared:
        return ""
    return (
        "<p class='sample-reasons'><strong>Every hotspot of this sample:</strong> "
        f"{reasons(shared, thresholds)}</p>"
    )


# A sample's ``details`` key: its label for a lab scientist, and how its value reads.
_FACT_LABELS = {
    "run_id": "Run",
    "reference_ct": "Reference Ct",
    "reference_replicate_cts": "Reference Ct per replicate",
    "genome_copies_estimate": "Genome copies in the reaction (estimate)",
    "low_input": "Low input (too few genome copies)",
    "achieved_lod95": "Limit of detection achieved (lod95)",
    "run_invalid_reasons": "Run invalid because",
    "map_export_mismatch": "Plate map and export disagree on",
    "caller": "Variant caller",
    "build": "Genome build",
    "build_evidence": "Genome build from",
    "sample_evidence": "Sample named by",
    "normal_sample": "Normal sample in the VCF",
    "access": "Read access",
    "records_at_hotspots": "VCF records at the hotspots",
    "depth_unit": "Depth counted as",
    "reads": "Reads",
    "read_groups": "Read groups used",
    "unlabelled_read_groups": "Read groups without a sample name",
    "duplicates": "Duplicates",
    "counts_from": "Counts from",
    "pairing": "Read files paired by",
    "vcf": "VCF",
    "vcf_sample": "Sample in the VCF",
    "vcf_sample_evidence": "VCF sample named by",
    "umi": "UMI consensus reads",
    "median_depth": "Median depth",
    "instrument": "Instrument",
    "export": "Export format",
    "status": "status",
    "wells": "wells",
    "wild_type_copies_per_ml_plasma": "wild-type copies per mL plasma",
}
_FRACTION_FACTS = frozenset({"achieved_lod95"})
_CT_FACTS = frozenset({"reference_ct", "reference_replicate_cts"})
_REASON_FACTS = frozenset({"run_invalid_reasons"})


def fact_label(key: str) -> str:
    """A dotted ``details`` key in words: "assays.E380Q.wells" reads "E380Q assay: wells".

    >>> fact_label("genome_copies_estimate"), fact_label("assays.D538G.status")
    ('Genome copies in the reaction (estimate)', 'D538G assay: status')
    >>> fact_label("duplicates.marked_reads")
    'Duplicates: marked reads'
    """
    parts = key.split(".")
    words = [_FACT_LABELS.get(p, p.replace("_", " ")) for p in parts]
    if parts[0] == "assays" and len(parts) == 3:
        return f"{parts[1]} assay: {words[2]}"
    shown = ": ".join(words)
    return shown[:1].upper() + shown[1:]


def fact_value(key: str, value: Any, thresholds: Mapping[str, Any]) -> str:
    """A ``details`` value as a lab scientist reads it (HTML): yes/no, Cts with two decimals,
    fractions in percent, copy numbers whole, other numbers in three significant digits.

    >>> fact_value("low_input", False, {}), fact_value("achieved_lod95", 0.008239547689965945, {})
    ('no', '0.824 %')
    >>> fact_value("reference_replicate_cts", [25.88, None], {}), fact_value("x", 19854.029, {})
    ('25.88, no Ct', '19854')
    >>> fact_value("run_invalid_reasons", [], {}), fact_value("x", 0.000123456, {})
    ('none', '0.000123')
    """
    last = key.split(".")[-1]
    if last in _REASON_FACTS:
        return reasons(value, thresholds) if value else "none"
    if isinstance(value, list | tuple):
        if not value:
            return "none"
        return ", ".join(fact_value(key, item, thresholds) for item in value)
    if value is None:
        return "no Ct" if last in _CT_FACTS else DASH
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        if last in _FRACTION_FACTS:
            reportable = _reportable(thresholds)
            if reportable is not None and value == reportable:
                return exact_percent(reportable)
            return fraction(value)
        if last in _CT_FACTS:
            return f"{value:.2f}"
        if isinstance(value, int) or abs(value) >= 100:
            return f"{value:.0f}"
        return f"{value:.3g}"
    if isinstance(value, Mapping) and "value" in value:
        shown = fact_value(key, value["value"], thresholds)
        source = value.get("source")
        return shown + (f" <span class='muted'>(source: {text(source)})</span>" if source else "")
    return text(value)


def _reportable(thresholds: Mapping[str, Any]) -> float | None:
    try:
        return reportable_fraction(thresholds)
    except (TypeError, ValueError):
        return None


def sample_facts(
    details: Mapping[str, Any], thresholds: Mapping[str, Any]
) -> list[tuple[str, str]]:
    """A sample's ``details`` as (label, HTML value) pairs, in the document's order."""
    return [
        (fact_label(key), fact_value(key, value, thresholds)) for key, value in flatten(details)
    ]


def key_values(pairs: Iterable[tuple[str, str]]) -> str:
    """A definition list; values are already HTML."""
    rows = "".join(f"<dt>{text(k)}</dt><dd>{v}</dd>" for k, v in pairs)
    return f'<dl class="kv">{rows}</dl>'


def table(
    caption: str, head: Sequence[str], rows: Iterable[Sequence[str]], numeric: Sequence[int] = ()
) -> str:
    """A table with a caption and column headers; cells are already HTML."""
    out = [f"<table><caption class='muted'>{text(caption)}</caption><thead><tr>"]
    out += [f'<th scope="col">{text(h)}</th>' for h in head]
    out.append("</tr></thead><tbody>")
    count = 0
    for row in rows:
        count += 1
        cells = [
            f'<td class="num">{c}</td>' if i in numeric else f"<td>{c}</td>"
            for i, c in enumerate(row)
        ]
        out.append("<tr>" + "".join(cells) + "</tr>")
    if not count:
        out.append(f'<tr><td colspan="{len(head)}" class="muted">none</td></tr>')
    out.append("</tbody></table>")
    return "".join(out)
