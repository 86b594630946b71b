"""validation.html: the page of ``esr1calls validate lod`` and ``validate concordance``.

Rendered from validation.json alone, like report.html from calls.json: inline CSS and inline SVG,
no script, no external resource, the same Content-Security-Policy, and every string from the
document escaped. The LoD page draws, per hotspot, the hit rate of each level with its exact
interval against log10(fraction), the fitted probit curve and LoD95 with its interval; for
ARMS-PCR also each well's delta-Ct against log10(fraction) with the fitted line, the blanks, the
limit of blank and the proposed cut-off. The concordance page gives the 2x2 tables, the
agreement figures and every discordant pair with both calls' evidence.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

from .reports.calls_json import render_json
from .reports.html import _CSP, _CSS
from .reports.html_parts import key_values as _kv
from .reports.html_parts import table as _table
from .reports.html_parts import text as _e
from .reports.svg import _n, _open, _text, marker
from .reports.write import write_files_atomic
from .text import percent
from .validate import FLAGS, VALIDATION_HTML, VALIDATION_JSON, normal_cdf

__all__ = ["render_validation_html", "write_validation"]

Document = Mapping[str, Any]
_DASH = "—"
_EXTRA_CSS = """
.flags{border-left:6px solid #b26a00;background:#fff6e5;padding:6px 12px;margin:6px 0}
table.two{width:auto}table.two td,table.two th{text-align:center;min-width:70px}
section.hotspot{break-inside:avoid-page}
"""


def _pct(value: Any) -> str:
    return percent(float(value)) if isinstance(value, int | float) else _DASH


def _interval(values: Any) -> str:
    if not isinstance(values, Sequence) or len(values) != 2:
        return _DASH
    low, high = values
    if low is None and high is None:
        return _DASH
    return (
        f"{_pct(low) if low is not None else 'open'} – {_pct(high) if high is not None else 'open'}"
    )


def _number(value: Any, digits: int = 3) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return _DASH
    return f"{value:.{digits}f}"


def _number_interval(values: Any, digits: int = 3) -> str:
    if not isinstance(values, Sequence) or len(values) != 2:
        return _DASH
    return f"{_number(values[0], digits)} – {_number(values[1], digits)}"


def _flags(codes: Iterable[Any]) -> str:
    items = [
        f"<li><span class='code'>{_e(code)}</span>: {_e(FLAGS.get(str(code), ''))}</li>"
        for code in codes or []
    ]
    return f"<div class='flags' role='note'><ul>{''.join(items)}</ul></div>" if items else ""


# ---------------------------------------------------------------------------------- charts
def _line(x1: float, y1: float, x2: float, y2: float, style: str) -> str:
    return f'<line x1="{_n(x1)}" y1="{_n(y1)}" x2="{_n(x2)}" y2="{_n(y2)}" {style}/>'


_W, _H, _LEFT, _RIGHT, _TOP, _BOTTOM = 470.0, 290.0, 56.0, 16.0, 30.0, 46.0


def _log_range(values: Iterable[float]) -> tuple[float, float]:
    logs = [math.log10(v) for v in values if isinstance(v, int | float) and v > 0]
    if not logs:
        return -4.0, 0.0
    low, high = min(logs) - 0.25, max(logs) + 0.25
    if high - low < 1.0:
        middle = (low + high) / 2
        low, high = middle - 0.5, middle + 0.5
    return low, high


def _decade_ticks(low: float, high: float) -> list[float]:
    ticks = []
    for exponent in range(math.floor(low), math.ceil(high) + 1):
        for step in (1, 2, 5):
            value = math.log10(step * 10.0**exponent)
            if low <= value <= high:
                ticks.append(value)
    return ticks


def probit_chart(name: str, entry: Mapping[str, Any], chart_id: str) -> str:
    """Hit rate per level against log10(fraction), with the probit curve and LoD95 marked."""
    levels = [lv for lv in entry.get("levels") or [] if lv.get("fraction", 0) > 0]
    ci = entry.get("lod95_ci") or [None, None]
    low, high = _log_range([lv["fraction"] for lv in levels] + [entry.get("lod95")])
    plot_w, plot_h = _W - _LEFT - _RIGHT, _H - _TOP - _BOTTOM

    def x_of(log_value: float) -> float:
        return _LEFT + (min(max(log_value, low), high) - low) / (high - low) * plot_w

    def y_of(rate: float) -> float:
        return _TOP + (1.0 - rate) * plot_h

    lod = entry.get("lod95")
    desc = (
        f"Hit rate (DETECTED share) per level for {name} against the expected fraction on a "
        "logarithmic axis, with exact 95 % intervals"
        + (", the fitted probit curve" if entry.get("probit") else "")
        + (f" and LoD95 {_pct(lod)} ({_interval(ci)})" if lod is not None else "; no LoD95")
        + ". The numbers are in the table beside it."
    )
    parts = _open(_W, _H, chart_id, f"{name}: hit rate and LoD95", desc)
    parts.append(
        _text(_LEFT, 16, f"{name} — hit rate by level", size=12, extra=' font-weight="bold"')
    )
    bottom = _TOP + plot_h
    for rate in (0.0, 0.25, 0.5, 0.75, 0.95, 1.0):
        y = y_of(rate)
        dash = ' stroke-dasharray="4 3"' if rate == 0.95 else ""
        parts.append(
            f'<line x1="{_n(_LEFT)}" y1="{_n(y)}" x2="{_n(_LEFT + plot_w)}" y2="{_n(y)}" '
            f'stroke="{"#CC0000" if rate == 0.95 else "#E5E5E5"}"{dash}/>'
        )
        parts.append(_text(_LEFT - 6, y + 4, f"{rate * 100:g} %", size=9, anchor="end"))
    for tick in _decade_ticks(low, high):
        x = x_of(tick)
        parts.append(_line(x, bottom, x, bottom + 4, 'stroke="#888"'))
        parts.append(_text(x, bottom + 15, percent(10**tick), size=9, anchor="middle"))
    parts.append(
        _text(_LEFT + plot_w / 2, _H - 8, "expected fraction (log scale)", size=10, anchor="middle")
    )
    if lod is not None:
        ci_low = math.log10(ci[0]) if ci[0] else low
        ci_high = math.log10(ci[1]) if ci[1] else high
        width = x_of(ci_high) - x_of(ci_low)
        parts.append(
            f'<rect x="{_n(x_of(ci_low))}" y="{_n(_TOP)}" width="{_n(width)}" '
            f'height="{_n(plot_h)}" fill="#CC0000" fill-opacity="0.08"/>'
        )
        x = x_of(math.log10(lod))
        parts.append(
            f'<line x1="{_n(x)}" y1="{_n(_TOP)}" x2="{_n(x)}" y2="{_n(bottom)}" stroke="#CC0000" '
            'stroke-width="1.5" stroke-dasharray="4 3"/>'
        )
        parts.append(_text(x + 4, bottom - 6, f"LoD95 {_pct(lod)}", size=10, fill="#CC0000"))
    probit = entry.get("probit")
    if probit:
        points = []
        for step in range(101):
            value = low + (high - low) * step / 100
            rate = normal_cdf(probit["intercept"] + probit["slope"] * value)
            points.append(f"{_n(x_of(value))},{_n(y_of(rate))}")
        parts.append(
            f'<polyline points="{" ".join(points)}" fill="none" stroke="#0072B2" '
            'stroke-width="1.5"/>'
        )
    for level in levels:
        if not level.get("n"):
            continue
        x = x_of(math.log10(level["fraction"]))
        rate = level["detected"] / level["n"]
        interval = level.get("hit_rate_ci")
        tip = f"{percent(level['fraction'])}: {level['detected']}/{level['n']} detected"
        parts.append(f"<g><title>{escape(tip)}</title>")
        if interval:
            parts.append(
                f'<line x1="{_n(x)}" y1="{_n(y_of(interval[0]))}" x2="{_n(x)}" '
                f'y2="{_n(y_of(interval[1]))}" stroke="#555" stroke-width="1.2"/>'
            )
        parts.append(marker("DETECTED", x, y_of(rate), 4.5))
        parts.append("</g>")
    parts.append("</svg>")
    return "\n".join(parts)


def delta_ct_line_chart(name: str, entry: Mapping[str, Any], chart_id: str) -> str:
    """Each well's delta-Ct against log10(fraction), the fitted line, the blanks (left column),
    the limit of blank and the proposed cut-off."""
    block = entry.get("delta_ct") or {}
    points = block.get("points") or []
    blanks = block.get("blank_delta_ct") or []
    line = block.get("line")
    cutoff = (block.get("cutoff") or {}).get("value")
    lob = entry.get("lob")
    low, high = _log_range([p["fraction"] for p in points])
    values = [p["delta_ct"] for p in points] + list(blanks)
    values += [v for v in (cutoff, lob) if isinstance(v, int | float)]
    y_low: int = math.floor(min(values or [0.0]) - 1)
    y_high: int = math.ceil(max(values or [10.0]) + 1)
    blank_w = 40.0
    plot_w, plot_h = _W - _LEFT - _RIGHT - blank_w, _H - _TOP - _BOTTOM
    left = _LEFT + blank_w

    def x_of(log_value: float) -> float:
        return left + (log_value - low) / (high - low) * plot_w

    def y_of(value: float) -> float:
        return _TOP + (y_high - value) / (y_high - y_low) * plot_h

    desc = (
        f"Delta-Ct of each well for {name} against the expected fraction (log scale); blanks "
        "in the left column"
        + (", the fitted line" if line else "")
        + (f", the limit of blank {lob:.2f}" if isinstance(lob, int | float) else "")
        + (f" and the proposed cut-off {cutoff:.2f}" if isinstance(cutoff, int | float) else "")
        + ". The numbers are in the table beside it."
    )
    parts = _open(_W, _H, f"{chart_id}", f"{name}: delta-Ct against fraction", desc)
    parts.append(
        _text(_LEFT, 16, f"{name} — delta-Ct by fraction", size=12, extra=' font-weight="bold"')
    )
    bottom = _TOP + plot_h
    step = 2 if y_high - y_low > 12 else 1
    for level in range(y_low, y_high + 1, step):
        y = y_of(level)
        parts.append(_line(_LEFT, y, _LEFT + blank_w + plot_w, y, 'stroke="#E5E5E5"'))
        parts.append(_text(_LEFT - 6, y + 4, f"{level:g}", size=9, anchor="end"))
    for tick in _decade_ticks(low, high):
        x = x_of(tick)
        parts.append(_line(x, bottom, x, bottom + 4, 'stroke="#888"'))
        parts.append(_text(x, bottom + 15, percent(10**tick), size=9, anchor="middle"))
    parts.append(_text(_LEFT + blank_w / 2, bottom + 15, "blank", size=9, anchor="middle"))
    parts.append(
        _text(left + plot_w / 2, _H - 8, "expected fraction (log scale)", size=10, anchor="middle")
    )
    for value, colour, label, dash in (
        (lob, "#555555", "LoB", "2 3"),
        (cutoff, "#CC0000", "proposed cut-off", "4 3"),
    ):
        if isinstance(value, int | float):
            y = y_of(value)
            parts.append(
                f'<line x1="{_n(_LEFT)}" y1="{_n(y)}" x2="{_n(left + plot_w)}" y2="{_n(y)}" '
                f'stroke="{colour}" stroke-width="1.5" stroke-dasharray="{dash}"/>'
            )
            parts.append(
                _text(
                    left + plot_w - 2,
                    y - 4,
                    f"{label} {value:.2f}",
                    size=9,
                    anchor="end",
                    fill=colour,
                )
            )
    if line:
        ends = [(v, line["intercept"] + line["slope"] * v) for v in (low, high)]
        (x1, y1), (x2, y2) = ((x_of(v), y_of(d)) for v, d in ends)
        parts.append(_line(x1, y1, x2, y2, 'stroke="#0072B2" stroke-width="1.5"'))
    for point in points:
        x, y = x_of(math.log10(point["fraction"])), y_of(point["delta_ct"])
        tip = f"{percent(point['fraction'])}: delta-Ct {point['delta_ct']:.2f}, {point['status']}"
        parts.append(
            f"<g><title>{escape(tip)}</title>{marker(str(point['status']), x, y, 3.5)}</g>"
        )
    for value in blanks:
        x, y = _LEFT + blank_w / 2, y_of(value)
        tip = escape(f"blank: delta-Ct {value:.2f}")
        parts.append(f"<g><title>{tip}</title>{marker('NOT_DETECTED', x, y, 3.5)}</g>")
    parts.append("</svg>")
    return "\n".join(parts)


# ---------------------------------------------------------------------------------- pages
def _head(document: Document, title: str) -> list[str]:
    tool = document.get("tool", {})
    return [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta name="generator" content="{_e(tool.get("name"))} {_e(tool.get("version"))}">',
        f"<title>{_e(title)}</title><style>{_CSS}{_EXTRA_CSS}</style></head><body>",
        f"<header><h1>{_e(title)}</h1><p class='muted'>Written by {_e(tool.get('name'))} "
        f"{_e(tool.get('version'))} from validation.json (schema "
        f"{_e(document.get('schema_version'))}).</p></header><main>",
    ]


def _review_and_notices(document: Document) -> str:
    run = document.get("run", {})
    out = (
        '<p class="review" role="note">Review status: <strong>'
        f"{_e(run.get('review_status'))}</strong>. These are the statistics of the runs given; "
        "qualified laboratory staff decide whether they validate the assay and sign off any kit "
        "file before it calls patient samples.</p>"
    )
    shown = run.get("notices") or []
    if shown:
        items = "".join(f"<li>{_e(n)}</li>" for n in shown)
        out += (
            '<section class="notices" aria-label="Notices"><h2>Notices</h2>'
            f"<ul>{items}</ul></section>"
        )
    return out


def _inputs(document: Document) -> str:
    run = document.get("run", {})
    rows = (
        (
            _e(item.get("role")),
            f"<code>{_e(item.get('path'))}</code>",
            _e(", ".join(item.get("methods") or []) or None),
            f"<code>{_e(item.get('sha256'))}</code>",
        )
        for item in run.get("inputs") or []
    )
    return (
        "<section id='provenance'><h2>Inputs and provenance</h2>"
        + _kv(
            [
                ("Command", f"<code>{_e(run.get('command'))}</code>"),
                ("Run time (UTC)", _e(run.get("utc_time") or "not recorded (--reproducible)")),
            ]
        )
        + _table("Every input with its sha256", ("Role", "Path", "Methods", "sha256"), rows)
        + "</section>"
    )


def _lod_hotspot(name: str, entry: Mapping[str, Any], index: int, method: str) -> str:
    levels = entry.get("levels") or []
    rows = (
        (
            "blank" if level.get("fraction") == 0 else _pct(level.get("fraction")),
            _e(level.get("n")),
            _e(level.get("detected")),
            _pct(level.get("hit_rate")),
            _interval(level.get("hit_rate_ci")),
            _e(level.get("invalid") or 0),
        )
        for level in levels
    )
    lob = entry.get("lob")
    lob_text = (
        _DASH if lob is None else (f"ΔCt {lob:.3f}" if method == "PCR" else _pct(lob))
    ) + f" <span class='muted'>({_e(entry.get('lob_n'))} blanks)</span>"
    facts = [
        ("Limit of blank", lob_text),
        ("LoD95 (probit)", _pct(entry.get("lod95"))),
        ("95 % interval (profile likelihood)", _interval(entry.get("lod95_ci"))),
        ("Lowest level detected in ≥ 95 %", _pct(entry.get("lowest_level_at_95"))),
    ]
    out = [
        f"<section class='hotspot' id='lod-{index}'><h3>{_e(name)}</h3>",
        _flags(entry.get("flags") or []),
        _kv(facts),
        "<div class='charts'><figure>",
        probit_chart(name, entry, f"probit-{index}"),
        "</figure>",
    ]
    block = entry.get("delta_ct")
    if block is not None:
        out += ["<figure>", delta_ct_line_chart(name, entry, f"dct-{index}"), "</figure>"]
    out.append("</div>")
    out.append(
        _table(
            f"{name}: hit rate per level (DETECTED is a hit, INDETERMINATE a miss, INVALID left "
            "out; exact Clopper-Pearson 95 % intervals)",
            (
                "Expected fraction",
                "n",
                "Detected",
                "Hit rate",
                "95 % interval",
                "INVALID (left out)",
            ),
            rows,
            numeric=(1, 2, 3, 5),
        )
    )
    if block is not None:
        line = block.get("line") or {}
        cutoff = block.get("cutoff") or {}
        factor, factor_ci = block.get("amplification_factor"), block.get("amplification_factor_ci")
        dct100, dct100_ci = block.get("delta_ct_100"), block.get("delta_ct_100_ci")
        pairs = [
            ("Amplification factor A",
             f"{_number(factor)} <span class='muted'>({_number_interval(factor_ci)})</span>"),
            ("ΔCt at 100 % (ΔCt₁₀₀)",
             f"{_number(dct100)} <span class='muted'>({_number_interval(dct100_ci)})</span>"),
            ("Slope, intercept", f"{_number(line.get('slope'))}, {_number(line.get('intercept'))}"),
            ("Residual SD, R²",
             f"{_number(line.get('residual_sd'))}, {_number(line.get('r_squared'))}"),
            ("Wells on the line", f"{_e(line.get('n'))} at {_e(line.get('levels'))} levels; "
             f"{_e(block.get('n_no_ct'))} without a mutant Ct left off"),
            ("Proposed cut-off", _number(cutoff.get("value"), 2)),
            ("Between", f"ΔCt {_number(cutoff.get('lower'))} (reportable fraction "
             f"{_pct(cutoff.get('reportable_fraction'))} detected in 95 %) and "
             f"{_number(cutoff.get('upper'))} (limit of blank)"),
            ("Expected LoD95 at that cut-off", _pct(cutoff.get("expected_lod95"))),
        ]  # fmt: skip
        out.append(
            "<h4>ΔCt calibration (ordinary least squares on log10 fraction)</h4>" + _kv(pairs)
        )
    out.append("</section>")
    return "".join(out)


def _kit_section(lod: Mapping[str, Any]) -> str:
    kit = lod.get("kit")
    proposal = lod.get("proposed_kit")
    if not kit and not proposal:
        return ""
    out = ["<section id='kit'><h2>Kit</h2>"]
    if kit:
        out.append(
            f"<p>The runs used kit <strong>{_e(kit.get('id'))} {_e(kit.get('version'))}</strong> "
            f"(sha256 <code>{_e(kit.get('sha256'))}</code>)"
            + (", a kit of <strong>placeholder</strong> values" if kit.get("placeholder") else "")
            + ".</p>"
        )
    if proposal:
        where = proposal.get("path")
        out.append(
            f"<p>Proposed kit: <code>{_e(where)}</code> (sha256 <code>{_e(proposal.get('sha256'))}"
            "</code>)</p>"
            if where
            else "<p>No kit was proposed: the data support no new value (see the flags).</p>"
        )
        rows = (
            (f"<code>{_e(r.get('key'))}</code>", _e(r.get("was")), _e(r.get("value")))
            for r in proposal.get("replaced") or []
        )
        out.append(
            _table("Values replaced, each with its validation source", ("Key", "Was", "Now"), rows)
        )
        remaining = proposal.get("placeholders") or []
        out.append(
            "<p>Still without a validation source"
            + (" (the kit stays <code>placeholder = true</code>)" if remaining else "")
            + ": "
            + (", ".join(f"<code>{_e(k)}</code>" for k in remaining) or "none")
            + ".</p>"
        )
    out.append("</section>")
    return "".join(out)


def _lod_page(document: Document) -> list[str]:
    lod = document.get("lod") or {}
    method = str(lod.get("method"))
    hotspots = lod.get("hotspots") or {}
    rows = (
        (
            f"<a href='#lod-{i}'>{_e(name)}</a>",
            _number(entry.get("lob")) if method == "PCR" else _pct(entry.get("lob")),
            _pct(entry.get("lod95")),
            _interval(entry.get("lod95_ci")),
            _e(", ".join(entry.get("flags") or []) or None),
        )
        for i, (name, entry) in enumerate(hotspots.items())
    )
    summary = _table(
        f"Per hotspot ({_e(method)} runs); the limit of blank is "
        + ("a delta-Ct" if method == "PCR" else "an allele fraction"),
        ("Hotspot", "Limit of blank", "LoD95", "95 % interval", "Flags"),
        rows,
    )
    methods = _kv(
        [
            ("Limit of blank", _e(lod.get("lob_method"))),
            ("LoD95", _e(lod.get("lod95_method"))),
            ("LoD95 interval", _e(lod.get("lod95_ci_method"))),
            ("Reportable fraction of the runs", _pct(lod.get("reportable_fraction"))),
        ]
    )
    parts = [
        "<section id='summary'><h2>Limits of blank and detection</h2>",
        methods,
        summary,
        "</section>",
        _kit_section(lod),
        "<section id='hotspots'><h2>Per hotspot</h2>",
        *(_lod_hotspot(name, entry, i, method) for i, (name, entry) in enumerate(hotspots.items())),
        "</section>",
    ]
    return parts


def _two_by_two(name: str, table: Mapping[str, Any]) -> str:
    def cell(key: str) -> str:
        return _e(table.get(key))

    agreement = (
        f"PPA {_pct(table.get('ppa'))} ({_interval(table.get('ppa_ci'))}), "
        f"NPA {_pct(table.get('npa'))} ({_interval(table.get('npa_ci'))}), "
        f"OPA {_pct(table.get('opa'))} ({_interval(table.get('opa_ci'))}), "
        f"kappa {_number(table.get('kappa'))}; excluded {_e(table.get('excluded'))}"
    )
    return (
        f"<figure><table class='two'><caption class='muted'>{_e(name)}</caption>"
        "<thead><tr><th></th><th scope='col'>reference DETECTED</th>"
        "<th scope='col'>reference NOT_DETECTED</th></tr></thead><tbody>"
        f"<tr><th scope='row'>test DETECTED</th><td>{cell('tp')}</td><td>{cell('fp')}</td></tr>"
        f"<tr><th scope='row'>test NOT_DETECTED</th><td>{cell('fn')}</td><td>{cell('tn')}</td>"
        f"</tr></tbody></table><figcaption>{agreement}</figcaption></figure>"
    )


def _evidence(side: Mapping[str, Any]) -> str:
    numbers = [
        f"{key} {side[key]}"
        for key in ("allele_fraction", "alt_count", "depth", "lod95", "delta_ct", "cutoff")
        if side.get(key) is not None
    ]
    reasons = ", ".join(side.get("reasons") or [])
    evidence = json.dumps(side.get("evidence") or {}, sort_keys=True, ensure_ascii=False)
    return (
        f"{_e(side.get('status'))}{' (' + _e(reasons) + ')' if reasons else ''}<br>"
        f"<span class='muted'>{_e('; '.join(numbers) or None)}</span><br>"
        f"<code>{_e(evidence)}</code><br><span class='muted'>{_e(side.get('calls_json'))}</span>"
    )


def _pair_rows(pairs: Sequence[Mapping[str, Any]], with_kind: bool) -> Iterable[Sequence[str]]:
    for pair in pairs:
        test, reference = pair.get("test") or {}, pair.get("reference") or {}
        row = [
            _e(pair.get("hotspot")),
            _e(test.get("sample_id")),
            _evidence(test),
            _e(reference.get("sample_id")),
            _evidence(reference),
        ]
        yield [_e(str(pair.get("kind", "")).upper()), *row] if with_kind else row


def _concordance_page(document: Document) -> list[str]:
    found = document.get("concordance") or {}
    tests = ", ".join(found.get("test_methods") or [])
    references = ", ".join(found.get("reference_methods") or [])
    head = ("Hotspot", "Test sample", "Test call", "Reference sample", "Reference call")
    return [
        "<section id='overall'><h2>Agreement overall</h2>",
        f"<p>Test {_e(tests)} against reference {_e(references)}, "
        f"{len(found.get('pairs') or [])} sample pair(s), pooled over sample × hotspot pairs. "
        "DETECTED is positive, NOT_DETECTED negative; INDETERMINATE and INVALID on either side are "
        f"excluded, never counted as agreement. Intervals: {_e(found.get('interval_method'))}.</p>",
        "<div class='charts'>",
        _two_by_two("All hotspots", found.get("overall") or {}),
        "</div></section>",
        "<section id='per-hotspot'><h2>Per hotspot</h2><div class='charts'>",
        *(_two_by_two(name, table) for name, table in (found.get("hotspots") or {}).items()),
        "</div></section>",
        "<section id='discordant'><h2>Discordant pairs</h2>",
        _table(
            "Every pair the methods call differently, with both calls' evidence",
            ("Kind", *head),
            _pair_rows(found.get("discordant") or [], True),
        ),
        "</section><section id='excluded'><h2>Excluded pairs</h2>",
        _table(
            "Pairs with an INDETERMINATE or INVALID call on either side",
            head,
            _pair_rows(found.get("excluded_pairs") or [], False),
        ),
        "</section>",
    ]


def render_validation_html(document: Document) -> str:
    """The whole validation.html page for a validation.json document."""
    lod = "lod" in document
    title = "ESR1 assay validation — " + ("limits of blank and detection" if lod else "concordance")
    body = _lod_page(document) if lod else _concordance_page(document)
    tool = document.get("tool", {})
    parts = [
        *_head(document, title),
        _review_and_notices(document),
        *body,
        _inputs(document),
        f"</main><footer><p class='muted'>Generated by {_e(tool.get('name'))} "
        f"{_e(tool.get('version'))}. Fractions are shown as percent; validation.json holds them "
        "as fractions.</p></footer></body></html>",
    ]
    return "\n".join(p for p in parts if p) + "\n"


def write_validation(document: Mapping[str, Any], outdir: str | Path) -> list[Path]:
    """validation.json and validation.html, each written whole or not at all."""
    files = {
        VALIDATION_JSON: render_json(document),
        VALIDATION_HTML: render_validation_html(document),
    }
    return write_files_atomic(Path(outdir), files)
