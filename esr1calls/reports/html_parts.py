"""The small pieces every HTML page of esr1calls is built from: escaped text, status badges,
numbers and fractions as text, reason codes with their sentences, tables and definition lists.

report.html (``html.py``) and its digital PCR sections (``html_dpcr.py``) share them, so both
escape and format exactly alike. Cells and values passed in are already HTML; everything that
came from a document goes through ``text``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import Any

from ..model import Reason
from ..text import exact_percent, percent

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
    "table",
    "text",
]

DASH = "—"
_STATUS_CLASS = re.compile(r"[^A-Z_]")


def text(value: Any) -> str:
    """Escape anything for HTML text or attribute context; None is a dash."""
    if value is None or value == "":
        return DASH
    return escape(str(value), quote=True)


def badge(status: Any) -> str:
    label = str(status or "")
    css = _STATUS_CLASS.sub("", label)  # class names only from the closed status vocabulary
    return f'<span class="badge s-{css}">{text(label)}</span>'


def number(value: Any, digits: int = 2) -> str:
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
        " <span class='muted'>semi-quantitative</span>" if semi and shown != DASH else ""
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
        items.append(f'<span class="code">{text(code)}</span>{tail}')
    return "<br>".join(items) or DASH


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
