"""timeline.html: each patient's hotspots over time, and a cohort overview, offline.

Like report.html: inline CSS and SVG, no script, no external resource, a Content-Security-Policy
that forbids both, and every text that came from an input (patient and sample ids, notes, paths)
escaped. A small cohort is one page; a large one (a trial, a national programme) is an index
(timeline.html, with the overview split over pages in timeline/) and one small page per patient
(timeline/patient-00001.html...), named by number, never by patient id.

Each chart plots one hotspot's fraction against the collection date on a log axis: DETECTED as a
filled mark, NOT_DETECTED as a "<" mark at the achieved lod95 (never at zero), INDETERMINATE and
INVALID as hollow marks; the mark's shape is the method (circle NGS, square PCR, triangle dPCR).
"""

from __future__ import annotations

import datetime
import math
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

from .errors import Esr1CallsError
from .monitor import HotspotState, MonitorReason, PatientHistory, State
from .reports.write import write_text_atomic
from .text import percent

__all__ = [
    "OVERVIEW_ROWS",
    "SINGLE_PAGE_PATIENTS",
    "TIMELINE_DIR",
    "TIMELINE_HTML",
    "TIMELINE_PAGE",
    "TimelineWriter",
]

TIMELINE_HTML, TIMELINE_DIR = "timeline.html", "timeline"
SINGLE_PAGE_PATIENTS = 25
"""Up to this many patients, timeline.html holds everything; above, one page per patient."""
OVERVIEW_ROWS = 500
"""Patients per overview page when there is one page per patient."""
TIMELINE_PAGE = re.compile(r"^(patient|overview)-\d+\.html$")  # the pages in timeline/

STATE_COLOURS = {  # Okabe-Ito: distinguishable with the common colour-vision deficiencies
    State.NEW: ("#D55E00", "#FFFFFF"),
    State.RISING: ("#CC79A7", "#FFFFFF"),
    State.PRESENT_AT_BASELINE: ("#E69F00", "#222222"),
    State.PERSISTENT: ("#F0E442", "#222222"),
    State.FALLING: ("#56B4E9", "#222222"),
    State.CLEARED: ("#009E73", "#FFFFFF"),
    State.ABSENT: ("#DCE9F5", "#222222"),
    State.NOT_EVALUABLE: ("#9E9E9E", "#FFFFFF"),
}
# the state a timepoint shows in the overview: the first of these any hotspot has
_PRIORITY = (
    State.NEW,
    State.RISING,
    State.PRESENT_AT_BASELINE,
    State.PERSISTENT,
    State.FALLING,
    State.CLEARED,
    State.NOT_EVALUABLE,
    State.ABSENT,
)
_SHORT = {
    State.NEW: "NEW",
    State.RISING: "RISING",
    State.PRESENT_AT_BASELINE: "BASELINE",
    State.PERSISTENT: "PERSIST.",
    State.FALLING: "FALLING",
    State.CLEARED: "CLEARED",
    State.ABSENT: "absent",
    State.NOT_EVALUABLE: "n/e",
}
_METHOD_COLOURS = {"DETECTED": "#D55E00", "NOT_DETECTED": "#0072B2"}
_HOLLOW = "#7A5200"
_CSS = (
    ":root{--ink:#1d1d1f;--muted:#5f6368;--line:#d0d4d9}"
    "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:var(--ink);"
    "margin:0 auto;max-width:1180px;padding:16px 24px 48px}"
    "h1{font-size:24px;margin:8px 0 4px}h2{font-size:19px;margin:28px 0 8px;border-bottom:2px "
    "solid var(--line);padding-bottom:4px}h3{font-size:16px;margin:18px 0 6px}"
    "table{border-collapse:collapse;margin:6px 0 12px}th,td{border:1px solid var(--line);"
    "padding:3px 6px;text-align:left;vertical-align:top}th{background:#f3f5f7}"
    "td.st{font-size:11px;font-weight:700;text-align:center;white-space:nowrap}"
    "td.st small{font-weight:400}.muted{color:var(--muted)}code{font-size:12px;"
    "overflow-wrap:anywhere}.review{border:3px solid #8a1c00;background:#fff1e6;color:#8a1c00;"
    "padding:10px 14px;font-weight:600;margin:10px 0}.notices{border-left:6px solid #b00020;"
    "background:#fdecee;padding:8px 14px;margin:10px 0}.flag{color:#D55E00;font-weight:700}"
    ".charts{display:flex;flex-wrap:wrap;gap:8px 20px}.wrap{overflow-x:auto;max-width:100%}"
    "figure{margin:6px 0 12px}figcaption{color:var(--muted);font-size:12px}"
    ".pager a{margin-right:8px}"
)
_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
    "form-action 'none'"
)


def _e(value: Any) -> str:
    return "—" if value is None or value == "" else escape(str(value), quote=True)


def _page(title: str, body: Iterable[str], head: Mapping[str, Any], notices: Sequence[str]) -> str:
    tool = head.get("tool") or {}
    run = head.get("run") or {}
    time = run.get("utc_time")
    stamp = f" on {_e(time)}" if time else ""
    notice_html = (
        "<div class='notices'><ul>" + "".join(f"<li>{_e(n)}</li>" for n in notices) + "</ul></div>"
        if notices
        else ""
    )
    return (
        "\n".join(
            [
                "<!DOCTYPE html>",
                '<html lang="en"><head><meta charset="utf-8">',
                f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
                '<meta name="viewport" content="width=device-width, initial-scale=1">',
                f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
                f"<header><h1>{_e(title)}</h1></header><main>",
                "<div class='review'>Review status: unreviewed. esr1calls never signs out a "
                "result; states support, and never replace, review by qualified staff.</div>",
                notice_html,
                *body,
                "</main><footer><p class='muted'>Written by "
                f"{_e(tool.get('name'))} {_e(tool.get('version'))}{stamp} from monitor.json "
                f"(schema {_e(head.get('schema_version'))}). Fractions are shown as percent; "
                "monitor.json holds them as fractions.</p></footer></body></html>",
            ]
        )
        + "\n"
    )


def _shown_state(states: Iterable[HotspotState]) -> tuple[State, str]:
    """The overview cell of one timepoint: its most telling state, and every hotspot's."""
    found: dict[State, list[str]] = {}
    for state in states:
        found.setdefault(state.state, []).append(state.hotspot)
    shown = next((s for s in _PRIORITY if s in found), State.NOT_EVALUABLE)
    detail = "; ".join(
        f"{', '.join(found[s]) if s not in (State.ABSENT,) else f'{len(found[s])} hotspot(s)'} "
        f"{s.value}"
        for s in _PRIORITY
        if s in found
    )
    return shown, detail


def _state_cell(state: State, text: str, title: str) -> str:
    background, ink = STATE_COLOURS[state]
    return (
        f"<td class='st' style='background:{background};color:{ink}' title='{_e(title)}'>"
        f"{escape(_SHORT[state])}<br><small>{_e(text)}</small></td>"
    )


def _overview(rows: Sequence[tuple[int, _Row]], link: Callable[[int], str]) -> str:
    width = max((len(r.cells) for _, r in rows), default=0)
    header = "".join(f"<th>T{i + 1}</th>" for i in range(width))
    lines = [
        "<div class='wrap'><table class='overview'><caption class='muted'>Each patient's "
        "timepoints in date order (T1 first); a cell shows the most telling state of any hotspot "
        "(NEW, RISING, BASELINE, PERSISTENT, FALLING, CLEARED, not evaluable, absent); hover for "
        "every hotspot.</caption>",
        f"<thead><tr><th>patient</th><th>flag</th>{header}</tr></thead><tbody>",
    ]
    for number, row in rows:
        cells = "".join(_state_cell(s, date, f"{date}: {detail}") for date, s, detail in row.cells)
        cells += "<td></td>" * (width - len(row.cells))
        flag = f"<span class='flag'>{_e(', '.join(row.flags))}</span>" if row.flagged else ""
        lines.append(
            f"<tr><td><a href='{link(number)}'>{_e(row.patient_id)}</a></td><td>{flag}</td>"
            f"{cells}</tr>"
        )
    lines.append("</tbody></table></div>")
    return "\n".join(lines)


class _Row:
    """What the overview keeps of a patient once its page is written."""

    __slots__ = ("cells", "flagged", "flags", "patient_id")

    def __init__(self, history: PatientHistory) -> None:
        self.patient_id = history.patient_id
        self.flagged = history.flagged
        self.flags = history.flags
        self.cells = tuple((t.collected, *_shown_state(t.hotspots)) for t in history.timepoints)


# ----------------------------------------------------------------------------- the charts
_LEFT, _PLOT_W, _TOP, _PLOT_H = 58.0, 300.0, 26.0, 150.0
_F_MIN, _F_MAX = 1e-4, 1.0


def _n(value: float) -> str:
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _y(fraction: float) -> float:
    clamped = min(max(fraction, _F_MIN), _F_MAX)
    span = math.log10(_F_MAX) - math.log10(_F_MIN)
    return _TOP + (math.log10(_F_MAX) - math.log10(clamped)) / span * _PLOT_H


def _shape(method: str, x: float, y: float, fill: str, stroke: str, size: float = 5.0) -> str:
    """The mark of one point: circle NGS, square PCR, triangle dPCR (any other: diamond)."""
    paint = f'fill="{fill}" stroke="{stroke}" stroke-width="2"'
    if method == "NGS":
        return f'<circle cx="{_n(x)}" cy="{_n(y)}" r="{_n(size)}" {paint}/>'
    if method == "PCR":
        return (
            f'<rect x="{_n(x - size)}" y="{_n(y - size)}" width="{_n(2 * size)}" '
            f'height="{_n(2 * size)}" {paint}/>'
        )
    if method == "dPCR":
        points = f"{_n(x)},{_n(y - size - 1)} {_n(x + size + 1)},{_n(y + size)} "
        points += f"{_n(x - size - 1)},{_n(y + size)}"
        return f'<polygon points="{points}" {paint}/>'
    points = f"{_n(x)},{_n(y - size - 1)} {_n(x + size + 1)},{_n(y)} {_n(x)},{_n(y + size + 1)} "
    return f'<polygon points="{points}{_n(x - size - 1)},{_n(y)}" {paint}/>'


def _below_mark(x: float, y: float) -> str:
    """NOT_DETECTED: "<" the achieved lod95, drawn as a downward chevron at the limit."""
    colour = _METHOD_COLOURS["NOT_DETECTED"]
    return (
        f'<path d="M{_n(x - 6)},{_n(y - 4)} L{_n(x)},{_n(y + 3)} L{_n(x + 6)},{_n(y - 4)}" '
        f'fill="none" stroke="{colour}" stroke-width="2.5"/>'
        f'<text x="{_n(x + 8)}" y="{_n(y + 4)}" font-size="9" fill="{colour}">&lt;</text>'
    )


def _point_tip(collected: str, hotspot: str, state: HotspotState) -> str:
    parts = [f"{collected} {hotspot}: {state.status}, {state.state.value}"]
    for sample, observation in state.samples:
        text = f"{sample.sample_id} ({sample.method}) {observation.status}"
        if observation.fraction is not None:
            text += f" {percent(observation.fraction)}"
        if observation.lod95 is not None:
            text += f", lod95 {percent(observation.lod95)}"
        if observation.delta_ct is not None:
            text += f", delta-Ct {observation.delta_ct:.2f}"
        parts.append(text)
    comparison = state.comparison
    if comparison is not None and comparison.p_value is not None:
        parts.append(f"Fisher p {comparison.p_value:.3g}, fold {comparison.fold or 0:.3g}")
    elif comparison is not None and comparison.delta_ct_change is not None:
        parts.append(f"delta-Ct change {comparison.delta_ct_change:+.2f}")
    if state.reasons:
        parts.append("reasons: " + ", ".join(state.reasons))
    return "; ".join(parts)


def _chart(
    title: str,
    points: Sequence[tuple[str, HotspotState]],
    dates: Sequence[str],
    chart_id: str,
) -> str:
    """One hotspot over time: fraction on a log axis against the collection date."""
    days = [datetime.date.fromisoformat(d).toordinal() for d in dates]
    first, last = min(days), max(days)
    width, height = _LEFT + _PLOT_W + 24, _TOP + _PLOT_H + 58
    bottom = _TOP + _PLOT_H

    def x_of(collected: str) -> float:
        if last == first:
            return _LEFT + _PLOT_W / 2
        day = datetime.date.fromisoformat(collected).toordinal()
        return _LEFT + 12 + (day - first) / (last - first) * (_PLOT_W - 24)

    desc = (
        f"{title}: the fraction at each collection date on a logarithmic axis; filled marks are "
        "DETECTED, '<' marks NOT_DETECTED at the achieved lod95, hollow marks not evaluable; the "
        "shape is the method (circle NGS, square PCR, triangle dPCR). monitor.tsv holds the values."
    )
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{_n(width)}" '
        f'height="{_n(height)}" viewBox="0 0 {_n(width)} {_n(height)}" '
        f'aria-labelledby="{chart_id}-t {chart_id}-d" style="font-family:system-ui,sans-serif">',
        f'<title id="{chart_id}-t">{escape(title)}</title>',
        f'<desc id="{chart_id}-d">{escape(desc)}</desc>',
        f'<text x="{_n(_LEFT)}" y="14" font-size="12" font-weight="bold">{escape(title)}</text>',
    ]
    for exponent in range(-4, 1):
        y = _y(10.0**exponent)
        parts.append(
            f'<line x1="{_n(_LEFT)}" y1="{_n(y)}" x2="{_n(_LEFT + _PLOT_W)}" '
            f'y2="{_n(y)}" stroke="#E5E5E5"/>'
        )
        parts.append(
            f'<text x="{_n(_LEFT - 4)}" y="{_n(y + 3)}" font-size="9" '
            f'text-anchor="end">{escape(percent(10.0**exponent))}</text>'
        )
    parts.append(
        f'<text x="{_n(_LEFT)}" y="{_n(bottom + 46)}" font-size="9" fill="#5f6368">'
        "n/e: not evaluable (no number)</text>"
    )
    line: list[str] = []
    for index, collected in enumerate(dates):
        x = x_of(collected)
        anchor_y = bottom + 14 + (10 if index % 2 else 0)
        parts.append(
            f'<text x="{_n(x)}" y="{_n(anchor_y)}" font-size="9" '
            f'text-anchor="middle">{escape(collected)}</text>'
        )
    for collected, state in points:
        x = x_of(collected)
        sample, observation = state.samples[0]
        best = next(
            ((s, o) for s, o in state.samples if o.status == state.status), (sample, observation)
        )
        method = best[0].method
        tip = escape(_point_tip(collected, state.hotspot, state))
        parts.append(f"<g><title>{tip}</title>")
        if state.status == "DETECTED" and state.fraction is not None:
            y = _y(state.fraction)
            parts.append(_shape(method, x, y, _METHOD_COLOURS["DETECTED"], "#8A3C00"))
            line.append(f"{_n(x)},{_n(y)}")
        elif state.status == "NOT_DETECTED":
            limits = [o.lod95 for _, o in state.samples if o.status == "NOT_DETECTED" and o.lod95]
            y = _y(min(limits)) if limits else bottom
            parts.append(_below_mark(x, y))
        else:
            value = state.fraction or next((o.lod95 for _, o in state.samples if o.lod95), None)
            y = _y(value) if value else bottom + 30
            parts.append(_shape(method, x, y, "#FFFFFF", _HOLLOW))
            if not value:
                parts.append(f'<text x="{_n(x + 8)}" y="{_n(y + 3)}" font-size="9">n/e</text>')
        parts.append(
            f'<text x="{_n(x)}" y="{_n(_TOP - 4)}" font-size="8" text-anchor="middle" '
            f'fill="#5f6368">{escape(method)}</text></g>'
        )
    if len(line) > 1:
        parts.insert(
            7,
            f'<polyline points="{" ".join(line)}" fill="none" stroke="#D55E00" '
            'stroke-width="1" stroke-dasharray="3 2"/>',
        )
    parts.append("</svg>")
    return "\n".join(parts)


def _legend() -> str:
    items = [
        (_shape("NGS", 10, 10, _METHOD_COLOURS["DETECTED"], "#8A3C00"), "DETECTED (NGS)"),
        (_shape("PCR", 10, 10, _METHOD_COLOURS["DETECTED"], "#8A3C00"), "DETECTED (PCR)"),
        (_shape("dPCR", 10, 10, _METHOD_COLOURS["DETECTED"], "#8A3C00"), "DETECTED (dPCR)"),
        (_below_mark(8, 10), "NOT_DETECTED: below the achieved lod95 shown"),
        (_shape("NGS", 10, 10, "#FFFFFF", _HOLLOW), "INDETERMINATE or INVALID: not evaluable"),
    ]
    return (
        "<p class='muted'>"
        + " &nbsp; ".join(
            f"<svg width='22' height='20' aria-hidden='true'>{mark}</svg> {escape(text)}"
            for mark, text in items
        )
        + "</p>"
    )


def _patient_body(history: PatientHistory, number: int) -> list[str]:
    """A patient's section: flags, the state grid, the charts, the samples."""
    dates = [t.collected for t in history.timepoints]
    by_hotspot: dict[str, list[tuple[str, HotspotState]]] = {}
    for timepoint in history.timepoints:
        for state in timepoint.hotspots:
            by_hotspot.setdefault(state.hotspot, []).append((timepoint.collected, state))
    flag = (
        f"<p class='flag'>Flagged for review: {_e(', '.join(history.flags))} at the latest "
        "timepoint.</p>"
        if history.flagged
        else "<p class='muted'>Not flagged: no NEW or RISING hotspot at the latest timepoint.</p>"
    )
    grid = ["<div class='wrap'><table><thead><tr><th>hotspot</th>"]
    grid += [f"<th>{_e(d)}</th>" for d in dates] + ["</tr></thead><tbody>"]
    for hotspot, states in by_hotspot.items():
        by_date = dict(states)
        cells = "".join(
            _state_cell(
                by_date[d].state,
                by_date[d].status.replace("_", " ").lower(),
                _point_tip(d, hotspot, by_date[d]),
            )
            if d in by_date
            else "<td></td>"
            for d in dates
        )
        grid.append(f"<tr><th>{_e(hotspot)}</th>{cells}</tr>")
    grid.append("</tbody></table></div>")
    charts = []
    quiet = [
        h for h, states in by_hotspot.items() if all(s.state is State.ABSENT for _, s in states)
    ]
    for index, (hotspot, states) in enumerate(by_hotspot.items()):
        if hotspot not in quiet:
            charts.append(_chart(hotspot, states, dates, f"p{number}-h{index}"))
    if quiet:
        weakest = []
        for timepoint in history.timepoints:
            shown = [s for s in timepoint.hotspots if s.hotspot in quiet]
            if shown:
                weakest.append(
                    (
                        timepoint.collected,
                        max(
                            shown,
                            key=lambda s: max((o.lod95 or 0.0 for _, o in s.samples), default=0.0),
                        ),
                    )
                )
        title = f"Never detected: {len(quiet)} hotspot(s)"
        caption = (
            f"{', '.join(quiet)}: not detected at any timepoint; the mark is the weakest "
            "negative (highest lod95) of each date"
        )
        charts.append(
            _chart(title, weakest, dates, f"p{number}-quiet")
            + f"<figcaption>{_e(caption)}</figcaption>"
        )
    samples = [
        "<table><thead><tr><th>collected</th><th>sample</th><th>method</th>"
        "<th>status</th><th>note</th><th>calls.json</th></tr></thead><tbody>"
    ]
    for timepoint in history.timepoints:
        for sample in timepoint.samples:
            samples.append(
                f"<tr><td>{_e(timepoint.collected)}</td><td><code>{_e(sample.sample_id)}</code>"
                f"</td><td>{_e(sample.method)}</td><td>{_e(sample.status)}</td>"
                f"<td>{_e(sample.note)}</td><td><code>{_e(sample.document)}</code></td></tr>"
            )
    samples.append("</tbody></table>")
    reasons = "".join(
        f"<li><code>{r.value}</code>: {escape(r.description)}</li>" for r in MonitorReason
    )
    return [
        flag,
        "<h3>States</h3>",
        *grid,
        "<h3>Over time</h3>",
        _legend(),
        "<div class='charts'>",
        *(f"<figure>{c}</figure>" for c in charts),
        "</div>",
        "<h3>Samples</h3>",
        *samples,
        f"<p class='muted'>Monitoring reasons:</p><ul class='muted'>{reasons}</ul>",
    ]


class TimelineWriter:
    """Writes timeline.html as patients come, one at a time, in patient-id order.

    Up to SINGLE_PAGE_PATIENTS patients (or ``single_page_patients``) every patient is in
    timeline.html, kept until ``close``. Above, each patient's page is written when it comes,
    into a hidden staging folder beside timeline/, and only an overview row is kept; ``close``
    writes the overview pages, syncs the disk once and puts the folder in place of timeline/ with
    one rename (one fsync and rename per page made 10,000 pages take minutes), then writes the
    index. timeline/ belongs to monitor: a file in it that monitor did not write is refused
    before anything is written.
    """

    def __init__(
        self,
        outdir: Path,
        head: Mapping[str, Any],
        notices: Sequence[str],
        n_patients: int,
        single_page_patients: int | None = None,
    ) -> None:
        self.outdir, self.head, self.notices = outdir, head, list(notices)
        limit = SINGLE_PAGE_PATIENTS if single_page_patients is None else single_page_patients
        self.single_page = n_patients <= limit
        self.sections: list[str] = []
        self.rows: list[tuple[int, _Row]] = []
        self.written: list[Path] = []
        folder = outdir / TIMELINE_DIR
        foreign = (
            sorted(p.name for p in folder.iterdir() if not TIMELINE_PAGE.match(p.name))
            if (folder.is_dir())
            else []
        )
        if foreign:
            raise Esr1CallsError(
                f"{folder}: holds {', '.join(foreign[:3])}, which esr1calls monitor did not "
                "write; monitor replaces this folder whole: move them, or choose another -o"
            )
        self.staging: Path | None = None
        if not self.single_page:
            self.staging = Path(tempfile.mkdtemp(prefix=".timeline-new-", dir=outdir))

    def add(self, history: PatientHistory) -> None:
        number = len(self.rows) + 1
        self.rows.append((number, _Row(history)))
        title = f"Patient {history.patient_id}"
        if self.staging is None:
            self.sections.append(
                f"<section id='patient-{number}'><h2>{_e(title)}</h2>"
                + "\n".join(_patient_body(history, number))
                + "</section>"
            )
            return
        body = [
            "<p><a href='../timeline.html'>All patients</a></p>",
            *_patient_body(history, number),
        ]
        _write_plain(self.staging / _patient_page(number), _page(title, body, self.head, ()))

    def close(self) -> list[Path]:
        flagged = [(n, r) for n, r in self.rows if r.flagged]
        total = len(self.rows)
        summary = (
            f"<p>{total} patient(s), {len(flagged)} flagged for review (a NEW or RISING hotspot "
            "at the latest timepoint).</p>"
        )
        index = self.outdir / TIMELINE_HTML
        if self.staging is None:
            body = [
                summary,
                "<h2>Cohort overview</h2>",
                _overview(self.rows, lambda n: f"#patient-{n}"),
                *self.sections,
            ]
            write_text_atomic(index, _page(_title(total), body, self.head, self.notices))
            self._replace_folder(None)
            return [index]
        pages = [self.rows[i : i + OVERVIEW_ROWS] for i in range(0, total, OVERVIEW_ROWS)]
        flagged_links = ", ".join(
            f"<a href='{TIMELINE_DIR}/{_patient_page(n)}'>{_e(r.patient_id)}</a>"
            for n, r in flagged
        )
        first_page = ""
        for number, page in enumerate(pages):
            pager = _pager(len(pages), number)
            if number == 0:
                table = _overview(page, lambda n: f"{TIMELINE_DIR}/{_patient_page(n)}")
                first_page = _page(
                    _title(total),
                    [summary, f"<h2>Flagged</h2><p>{flagged_links or 'none'}</p>",
                     "<h2>Cohort overview</h2>", pager, table, pager],
                    self.head,
                    self.notices,
                )  # fmt: skip
                continue
            table = _overview(page, _patient_page)
            body = ["<p><a href='../timeline.html'>Index</a></p>", pager, table, pager]
            title = f"{_title(total)}, page {number + 1}"
            _write_plain(self.staging / _overview_page(number), _page(title, body, self.head, ()))
        os.sync()
        self._replace_folder(self.staging)
        write_text_atomic(index, first_page)
        folder = self.outdir / TIMELINE_DIR
        return [index, *sorted(folder.iterdir())]

    def _replace_folder(self, new: Path | None) -> None:
        """timeline/ becomes ``new`` (None: no folder), with renames only, so a crash leaves
        the old folder or the new one, never a mixture."""
        folder = self.outdir / TIMELINE_DIR
        retired = None
        if folder.is_dir():
            retired = Path(tempfile.mkdtemp(prefix=".timeline-old-", dir=self.outdir))
            folder.replace(retired / TIMELINE_DIR)
        if new is not None:
            umask = os.umask(0)
            os.umask(umask)
            new.chmod(0o777 & ~umask)
            new.replace(folder)
            self.staging = None
        if retired is not None:
            shutil.rmtree(retired)

    def discard(self) -> None:
        """Remove the staged pages (the run failed): timeline/ stays as it was."""
        if self.staging is not None:
            shutil.rmtree(self.staging, ignore_errors=True)
            self.staging = None


def _write_plain(path: Path, text: str) -> None:
    """A page into the staging folder: it becomes visible only when the folder is renamed."""
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)


def _overview_page(number: int) -> str:
    return f"overview-{number + 1:03d}.html"


def _title(patients: int) -> str:
    return f"ESR1 monitoring — {patients} patient(s)"


def _patient_page(number: int) -> str:
    return f"patient-{number:05d}.html"


def _pager(pages: int, current: int) -> str:
    if pages <= 1:
        return ""
    links = []
    for index in range(pages):
        if index == current:
            links.append(f"<strong>{index + 1}</strong>")
            continue
        if index == 0:
            href = "../timeline.html" if current > 0 else TIMELINE_HTML
        else:
            name = _overview_page(index)
            href = name if current > 0 else f"{TIMELINE_DIR}/{name}"
        links.append(f"<a href='{href}'>{index + 1}</a>")
    return "<p class='pager'>Pages: " + " ".join(links) + "</p>"
