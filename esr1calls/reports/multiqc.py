"""MultiQC custom content: the calls as a General Statistics column and a table section.

Two ``*_mqc.json`` files (MultiQC finds them with no configuration; JSON rather than TSV so no
sample name or value has to survive a YAML-in-comment header): ``esr1calls_general_stats_mqc.json``
(plot_type ``generalstats``: status, detected hotspots, counts) and ``esr1calls_calls_mqc.json``
(plot_type ``table``: one row per sample, one column per hotspot). The table section's
description carries the audit trail: for a merged document (``esr1calls report``, ``esr1calls
batch --multiqc``) one description naming every run, each with its command, inputs, kit and
notices. Rows are keyed by sample id in one run's files, and by ``RUN:SAMPLE`` in a merged one
(the run: its folder, a batch job's id), so two plates' S1 stay two rows; MultiQC overwrites one
row with another of the same name, silently. MultiQC inserts descriptions, sample names and cell
values into its HTML unescaped (checked with MultiQC 1.35), so every input-derived string is
HTML-escaped here; MultiQC's text exports in multiqc_data/ then show the entities.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from html import escape
from typing import Any

from ..text import percent
from .document import (
    detected_hotspots,
    notices,
    qualified_labels,
    reportable_text,
    source_labels,
    source_runs,
)
from .options import ReportOptions

__all__ = [
    "FILES",
    "GENERAL_STATS_ID",
    "MULTIQC_GENERAL_STATS",
    "MULTIQC_TABLE",
    "TABLE_ID",
    "multiqc_sections",
    "render_files",
    "render_multiqc",
]

Document = Mapping[str, Any]
# the files it writes: names ending in _mqc.json, so MultiQC finds them unconfigured
MULTIQC_TABLE, MULTIQC_GENERAL_STATS = (
    "esr1calls_calls_mqc.json",
    "esr1calls_general_stats_mqc.json",
)
FILES = (MULTIQC_TABLE, MULTIQC_GENERAL_STATS)
TABLE_ID = "esr1calls"
GENERAL_STATS_ID = "esr1calls_general_stats"


def _h(value: Any) -> str:
    return escape(str(value), quote=True)


def _cell(call: Mapping[str, Any]) -> str:
    text = str(call.get("status"))
    if call.get("allele_fraction") is not None:
        text += f" ({percent(call['allele_fraction'])})"
    reasons = [str(r) for r in call.get("reasons") or []]
    if reasons:
        text += f" [{', '.join(reasons)}]"
    return _h(text)


def _provenance(document: Document) -> str:
    """One paragraph naming tool, command, review status, and for each run its panel, kit,
    reportable fraction (what NOT_DETECTED excludes) and every input; in a merged document each
    run by its label, with its own notices (a placeholder kit's among them)."""
    tool = document.get("tool") or {}
    run = document.get("run") or {}
    runs = source_runs(document)
    merged = bool(run.get("sources"))
    labels = source_labels(document) if merged else [""]
    parts = [
        f"Written by {_h(tool.get('name'))} {_h(tool.get('version'))}; review status: "
        f"<strong>{_h(run.get('review_status'))}</strong> (esr1calls never signs out results). "
        f"Command: <code>{_h(run.get('command'))}</code>."
    ]
    if merged:
        parts.append(
            f"{len(runs)} runs combined, samples named RUN:SAMPLE: "
            + ", ".join(f"<strong>{_h(label)}</strong>" for label in labels)
            + "."
        )
    from_runs: set[str] = set()
    for label, source in zip(labels, runs, strict=True):
        panel = source.get("panel") or {}
        kit = source.get("kit")
        name = f" <strong>{_h(label)}</strong>" if merged else ""
        text = f"Run{name} <code>{_h(source.get('command'))}</code>: panel {_h(panel.get('name'))} "
        text += f"{_h(panel.get('version'))} (sha256 {_h(panel.get('sha256'))})"
        if isinstance(kit, Mapping):
            placeholder = ", PLACEHOLDER values" if kit.get("placeholder") else ""
            text += f"; kit {_h(kit.get('id'))} {_h(kit.get('version'))} (sha256 "
            text += f"{_h(kit.get('sha256'))}{placeholder})"
        fraction = reportable_text(source.get("thresholds") or {})
        if fraction is not None:
            text += f"; reportable fraction {fraction}"
        inputs = "; ".join(
            f"{_h(i.get('path'))} (sha256 {_h(i.get('sha256'))})"
            for i in source.get("inputs") or []
        )
        text += f"; inputs: {inputs or 'none recorded'}."
        if merged:
            for notice in dict.fromkeys(str(n) for n in source.get("notices") or []):
                text += f" <strong>Notice ({_h(label)}):</strong> {_h(notice)}"
                from_runs.add(notice)
        parts.append(text)
    parts.extend(
        f"<strong>Notice:</strong> {_h(n)}" for n in notices(document) if n not in from_runs
    )
    return " ".join(parts)


def multiqc_sections(document: Document) -> dict[str, dict[str, Any]]:
    """The two custom-content documents, by file name."""
    samples = list(document.get("samples") or [])
    # "/" too: MultiQC cleans sample names as if they were paths and would cut at it
    labels = [_h(label).replace("/", "&#47;") for label in qualified_labels(document)]
    hotspots: list[str] = []
    for sample in samples:
        for call in sample.get("calls") or []:
            if call.get("hotspot") not in hotspots:
                hotspots.append(str(call.get("hotspot")))
    table_data: dict[str, dict[str, Any]] = {}
    stats_data: dict[str, dict[str, Any]] = {}
    for label, sample in zip(labels, samples, strict=True):
        calls = sample.get("calls") or []
        detected = detected_hotspots(sample)
        row: dict[str, Any] = {
            "method": _h(sample.get("method")),
            "status": _h(sample.get("status")),
        }
        row.update({_h(c.get("hotspot")): _cell(c) for c in calls})
        table_data[label] = row
        stats_data[label] = {
            "esr1_status": _h(sample.get("status")),
            "esr1_detected": _h(", ".join(detected) or "none"),
            "esr1_n_detected": len(detected),
            "esr1_method": _h(sample.get("method")),
        }
    table_headers: dict[str, dict[str, Any]] = {
        "method": {"title": "Method", "description": "PCR (ARMS), NGS or dPCR (digital PCR)"},
        "status": {
            "title": "Status",
            "description": "POSITIVE, NEGATIVE, INDETERMINATE or INVALID",
        },
    }
    for hotspot in hotspots:
        table_headers[_h(hotspot)] = {
            "title": _h(hotspot),
            "description": f"esr1calls call for {_h(hotspot)}: status (allele fraction) [reasons]",
        }
    description = _provenance(document)
    table = {
        "id": TABLE_ID,
        "section_name": "ESR1 hotspot calls (esr1calls)",
        "description": description,
        "plot_type": "table",
        "pconfig": {
            "id": "esr1calls_calls_table",
            "title": "esr1calls: ESR1 hotspot calls",
            "namespace": "esr1calls",
            "col1_header": "Sample",
            "only_defined_headers": True,
        },
        "headers": table_headers,
        "data": table_data,
    }
    general = {
        "id": GENERAL_STATS_ID,
        "plot_type": "generalstats",
        "pconfig": {"namespace": "esr1calls"},
        "headers": [
            {
                "esr1_status": {
                    "title": "ESR1 status",
                    "namespace": "esr1calls",
                    "description": "esr1calls sample status (unreviewed)",
                }
            },
            {
                "esr1_detected": {
                    "title": "ESR1 detected",
                    "namespace": "esr1calls",
                    "description": "ESR1 hotspots DETECTED",
                }
            },
            {
                "esr1_n_detected": {
                    "title": "ESR1 n detected",
                    "namespace": "esr1calls",
                    "description": "Number of ESR1 hotspots DETECTED",
                    "min": 0,
                    "format": "{:,.0f}",
                    "scale": "OrRd",
                }
            },
            {
                "esr1_method": {
                    "title": "ESR1 method",
                    "namespace": "esr1calls",
                    "description": "PCR (ARMS), NGS or dPCR (digital PCR)",
                    "hidden": True,
                }
            },
        ],
        "data": stats_data,
    }
    return {MULTIQC_TABLE: table, MULTIQC_GENERAL_STATS: general}


def render_multiqc(document: Document) -> dict[str, str]:
    """File name -> text for the two MultiQC custom-content files."""
    return {
        name: json.dumps(section, indent=2, ensure_ascii=False) + "\n"
        for name, section in multiqc_sections(document).items()
    }


def render_files(document: Document, options: ReportOptions) -> dict[str, str]:
    """The two MultiQC files (--multiqc), as the registry of formats renders them."""
    return render_multiqc(document)
