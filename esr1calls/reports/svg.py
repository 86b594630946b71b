"""Small inline-SVG charts for report.html: plate maps, delta-Ct against cut-off, allele fractions.

Our own few lines instead of a plotting library: the report must open offline as one file, the
CLI must not import anything heavy, and every label that came from an input file is escaped here.
Each chart is an ``<svg role="img">`` with a ``<title>`` and ``<desc>`` (its text alternative);
status is shown by marker shape as well as colour, so the charts survive greyscale printing and
colour-blind readers. Coordinates are rounded so re-renders are byte-identical.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from html import escape
from typing import Any

from ..model import DEFAULT_REQUIRED_POWER
from ..text import exact_percent, percent

__all__ = [
    "ROLE_COLOURS",
    "STATUS_COLOURS",
    "DeltaCtPoint",
    "FractionRow",
    "PartitionBar",
    "contrast",
    "delta_ct_chart",
    "fit",
    "fraction_chart",
    "ink_on",
    "luminance",
    "partition_bars",
    "plate_grid",
    "plate_map_svg",
]

# Okabe-Ito colours (distinguishable with the common colour-vision deficiencies)
STATUS_COLOURS = {
    "DETECTED": "#D55E00",
    "POSITIVE": "#D55E00",
    "NOT_DETECTED": "#0072B2",
    "NEGATIVE": "#0072B2",
    "INDETERMINATE": "#E69F00",
    "INVALID": "#555555",
    "PASS": "#009E73",
    "FAIL": "#CC0000",
}
ROLE_COLOURS = {
    "SAMPLE": "#DCE9F5",
    "PC": "#BFE3C8",
    "NTC": "#F6D0D0",
    "WT": "#E3DAF0",
    "EMPTY": "#FFFFFF",
}
_NONE = "#F2F2F2"
_FONT = "font-family:system-ui,sans-serif"


def _n(value: float) -> str:
    """A coordinate, rounded so output is stable across platforms; kept for the values met last
    (a plate's charts and grids write some 8,000 coordinates, mostly the same few hundred). Zero
    is written apart: 0.0 and -0.0 are one key to a cache, and "-0" must not become "0", or
    the other way round, by which one a process met first."""
    if value == 0:
        return _coordinate(value)
    return _kept_coordinate(value)


def _coordinate(value: float) -> str:
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


_kept_coordinate = lru_cache(maxsize=4096)(_coordinate)


def _open(width: float, height: float, chart_id: str, title: str, desc: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart" '
        f'width="{_n(width)}" height="{_n(height)}" viewBox="0 0 {_n(width)} {_n(height)}" '
        f'aria-labelledby="{chart_id}-t {chart_id}-d" style="{_FONT}">',
        f'<title id="{chart_id}-t">{escape(title)}</title>',
        f'<desc id="{chart_id}-d">{escape(desc)}</desc>',
    ]


def _text(
    x: float,
    y: float,
    text: str,
    *,
    size: int = 11,
    anchor: str = "start",
    fill: str = "#222",
    extra: str = "",
) -> str:
    return (
        f'<text x="{_n(x)}" y="{_n(y)}" font-size="{size}" text-anchor="{anchor}" '
        f'fill="{fill}"{extra}>{escape(text)}</text>'
    )


def marker(status: str, x: float, y: float, size: float = 5.0) -> str:
    """A status marker: filled circle DETECTED, hollow circle NOT_DETECTED, diamond
    INDETERMINATE, cross INVALID."""
    colour = STATUS_COLOURS.get(status, "#000000")
    if status == "DETECTED":
        return f'<circle cx="{_n(x)}" cy="{_n(y)}" r="{_n(size)}" fill="{colour}"/>'
    if status == "NOT_DETECTED":
        return (
            f'<circle cx="{_n(x)}" cy="{_n(y)}" r="{_n(size)}" fill="#FFFFFF" '
            f'stroke="{colour}" stroke-width="2"/>'
        )
    if status == "INDETERMINATE":
        points = (
            f"{_n(x)},{_n(y - size - 1)} {_n(x + size + 1)},{_n(y)} {_n(x)},{_n(y + size + 1)} "
        )
        points += f"{_n(x - size - 1)},{_n(y)}"
        return f'<polygon points="{points}" fill="{colour}" stroke="#7A5200" stroke-width="1"/>'
    return (
        f'<path d="M{_n(x - size)},{_n(y - size)} L{_n(x + size)},{_n(y + size)} '
        f'M{_n(x - size)},{_n(y + size)} L{_n(x + size)},{_n(y - size)}" '
        f'stroke="{colour}" stroke-width="2.5"/>'
    )


def legend(y: float, x: float = 8.0) -> list[str]:
    """The marker legend used under every call chart."""
    parts = []
    for status in ("DETECTED", "NOT_DETECTED", "INDETERMINATE", "INVALID"):
        parts.append(marker(status, x + 5, y - 4, 4))
        parts.append(_text(x + 14, y, status.replace("_", " ").lower(), size=10))
        x += 14 + 7 * len(status) + 14
    return parts


# --------------------------------------------------------------------------------- plate map
def luminance(colour: str) -> float:
    """WCAG 2 relative luminance of a #RRGGBB colour.

    >>> luminance("#FFFFFF"), luminance("#000000")
    (1.0, 0.0)
    """
    channels = []
    for i in (1, 3, 5):
        c = int(colour[i : i + 2], 16) / 255
        channels.append(c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4)
    return 0.2126 * channels[0] + 0.7152 * channels[1] + 0.0722 * channels[2]


def contrast(first: str, second: str) -> float:
    """WCAG 2 contrast ratio of two #RRGGBB colours, 1 to 21 (text needs 4.5).

    >>> round(contrast("#FFFFFF", "#000000"), 1), round(contrast("#F0F0F0", "#555555"), 2)
    (21.0, 6.54)
    """
    dark, light = sorted((luminance(first), luminance(second)))
    return (light + 0.05) / (dark + 0.05)


def ink_on(fill: str) -> str:
    """White or black text, whichever contrasts more with this #RRGGBB fill: at least 4.58:1
    on any fill (the two are equal at luminance 0.179), so WCAG's 4.5:1 always holds.

    >>> ink_on("#555555"), ink_on("#DCE9F5"), ink_on("#D55E00"), ink_on("#0072B2")
    ('#FFFFFF', '#000000', '#000000', '#FFFFFF')
    """
    try:
        on_white = contrast("#FFFFFF", fill)
        on_black = contrast("#000000", fill)
    except ValueError:
        return "#000000"
    return "#FFFFFF" if on_white > on_black else "#000000"


def fit(label: str, width: float, size: float) -> str:
    """``label`` cut with "…" to fit ``width`` pixels at font ``size`` (0.62 em a character, a
    wide sans-serif average), so a long sample or mix name stays inside its well; the full
    name is in the well's tooltip and the wells table.

    >>> fit("S1", 44, 9), fit("EX8_DROPOFF", 44, 8), fit("PATIENT-0042", 44, 9)
    ('S1', 'EX8_DRO…', 'PATIEN…')
    """
    room = max(1, int(width / (size * 0.62)))
    return label if len(label) <= room else label[: room - 1] + "…"


_WELL = re.compile(r"^([A-Pa-p])(\d{1,2})$")


def plate_grid(wells: Iterable[str]) -> tuple[int, int]:
    """Rows and columns of the plate these wells fit: 8 x 12 (96) or 16 x 24 (384).

    >>> plate_grid(["A1", "H12"]), plate_grid(["P24"])
    ((8, 12), (16, 24))
    """
    rows, cols = 8, 12
    for well in wells:
        match = _WELL.match(well.strip())
        if match and (ord(match[1].upper()) - 64 > 8 or int(match[2]) > 12):
            rows, cols = 16, 24
    return rows, cols


@dataclass(frozen=True)
class _PlateLayout:
    """What every drawing of a plate of one size shares: its size, the row and column labels,
    and each well's name, corner and rectangle geometry, row by row."""

    width: float
    height: float
    cell: float
    row_h: float
    column_labels: tuple[str, ...]
    row_labels: tuple[str, ...]
    cells: tuple[tuple[str, float, float, str], ...]  # (name, x, y, rect geometry attributes)


@lru_cache(maxsize=4)
def _plate_layout(rows: int, cols: int) -> _PlateLayout:
    cell = 52.0 if cols == 12 else 30.0
    left, top = 26.0, 20.0
    row_h = cell * 0.78
    cells = []
    for r in range(rows):
        for c in range(cols):
            x, y = left + c * cell, top + r * row_h
            geometry = (
                f'x="{_n(x + 1)}" y="{_n(y + 1)}" width="{_n(cell - 2)}" height="{_n(row_h - 2)}"'
            )
            cells.append((f"{chr(65 + r)}{c + 1}", x, y, geometry))
    return _PlateLayout(
        width=left + cols * cell + 6,
        height=top + rows * cell * 0.78 + 6,
        cell=cell,
        row_h=row_h,
        column_labels=tuple(
            _text(left + (c + 0.5) * cell, top - 6, str(c + 1), size=10, anchor="middle")
            for c in range(cols)
        ),
        row_labels=tuple(
            _text(6, top + (r + 0.62) * row_h, chr(65 + r), size=10) for r in range(rows)
        ),
        cells=tuple(cells),
    )


def plate_map_svg(
    wells: Sequence[Mapping[str, Any]],
    colour_of: Callable[[Mapping[str, Any]], str],
    label_of: Callable[[Mapping[str, Any]], str],
    chart_id: str,
    title: str,
    desc: str,
) -> str:
    """A plate drawn well by well; each well's colour, short label and tooltip come from the
    callers (role view, result view)."""
    rows, cols = plate_grid(str(w.get("well", "")) for w in wells)
    layout = _plate_layout(rows, cols)
    by_well = {str(w.get("well", "")).upper(): w for w in wells}
    parts = _open(layout.width, layout.height, chart_id, title, desc)
    parts.extend(layout.column_labels)
    cell, row_h = layout.cell, layout.row_h
    for r in range(rows):
        parts.append(layout.row_labels[r])
        for c in range(cols):
            name, x, y, rect = layout.cells[r * cols + c]
            well = by_well.get(name)
            fill = colour_of(well) if well else _NONE
            tip = label_of(well) if well else f"{name}: not in the plate map"
            parts.append(
                f'<g><title>{escape(tip)}</title><rect {rect} rx="3" fill="{fill}" '
                f'stroke="#888" stroke-width="0.6"/>'
            )
            if well and cols == 12:
                sample = str(well.get("sample_id") or well.get("role") or "")
                ink = ink_on(fill)  # sample and mix label alike: >= 4.5:1 on every fill
                parts.append(
                    _text(
                        x + cell / 2,
                        y + row_h * 0.45,
                        fit(sample, cell - 6, 9),
                        size=9,
                        anchor="middle",
                        fill=ink,
                    )
                )
                parts.append(
                    _text(
                        x + cell / 2,
                        y + row_h * 0.82,
                        fit(str(well.get("mix") or ""), cell - 6, 8),
                        size=8,
                        anchor="middle",
                        fill=ink,
                    )
                )
            parts.append("</g>")
    parts.append("</svg>")
    return "\n".join(parts)


# --------------------------------------------------------------------------- delta-Ct chart
@dataclass(frozen=True)
class DeltaCtPoint:
    """One sample's delta-Ct for one target; ``delta_ct`` None means no mutation Ct."""

    label: str
    delta_ct: float | None
    status: str


def delta_ct_chart(
    hotspot: str, points: Sequence[DeltaCtPoint], cutoff: float | None, chart_id: str
) -> str:
    """Delta-Ct of each sample against the assay cut-off, each marker its call: at or left of
    the line is mutant signal, DETECTED unless a rule held it back (same codon, a control)."""
    values = [p.delta_ct for p in points if p.delta_ct is not None]
    low = math.floor(min([*values, (cutoff or 0.0) - 4.0, -1.0]))
    high = math.ceil(max([*values, (cutoff or 10.0) + 4.0]))
    label_w, plot_w, row_h, top = 120.0, 360.0, 18.0, 24.0
    no_ct_x = label_w + plot_w + 30
    width = no_ct_x + 46
    height = top + row_h * max(1, len(points)) + 44

    def x_of(value: float) -> float:
        return label_w + (value - low) / (high - low) * plot_w

    cut_text = "no cut-off" if cutoff is None else f"cut-off {cutoff:g}"
    desc = (
        f"Delta-Ct (mutation Ct minus reference Ct) per sample for {hotspot}, {cut_text}; "
        "a value at or below the cut-off is mutant signal, and each marker shows the call "
        "(DETECTED unless a rule held it back: INDETERMINATE or INVALID). The same numbers "
        "are in the per-sample tables."
    )
    parts = _open(width, height, chart_id, f"{hotspot}: delta-Ct against cut-off", desc)
    parts.append(
        _text(
            label_w, 14, f"{hotspot} — delta-Ct ({cut_text})", size=12, extra=' font-weight="bold"'
        )
    )
    bottom = top + row_h * max(1, len(points))
    for tick in range(low, high + 1, 2 if high - low > 12 else 1):
        x = x_of(tick)
        parts.append(
            f'<line x1="{_n(x)}" y1="{_n(top)}" x2="{_n(x)}" y2="{_n(bottom)}" stroke="#E5E5E5"/>'
        )
        parts.append(_text(x, bottom + 13, f"{tick:g}", size=9, anchor="middle"))
    if cutoff is not None:
        x = x_of(cutoff)
        parts.append(
            f'<line x1="{_n(x)}" y1="{_n(top - 4)}" x2="{_n(x)}" y2="{_n(bottom)}" '
            'stroke="#CC0000" stroke-width="1.5" stroke-dasharray="4 3"/>'
        )
    parts.append(_text(no_ct_x, bottom + 13, "no ΔCt", size=9, anchor="middle"))
    for index, point in enumerate(points):
        y = top + row_h * (index + 0.5)
        name = point.label if len(point.label) <= 18 else point.label[:17] + "…"
        parts.append(_text(label_w - 6, y + 4, name, size=10, anchor="end"))
        x = no_ct_x if point.delta_ct is None else x_of(point.delta_ct)
        value = "no delta-Ct" if point.delta_ct is None else f"{point.delta_ct:.2f}"
        parts.append(f"<g><title>{escape(f'{point.label}: {value}, {point.status}')}</title>")
        parts.append(marker(point.status, x, y))
        parts.append("</g>")
    parts.extend(legend(height - 6))
    parts.append("</svg>")
    return "\n".join(parts)


# ---------------------------------------------------------------------- allele-fraction chart
@dataclass(frozen=True)
class FractionRow:
    """One hotspot of one NGS or dPCR sample: observed fraction with its interval, its LoD, and
    ``note``: what the tooltip adds in words (the counts, k_req, the caller's FILTER)."""

    hotspot: str
    status: str
    fraction: float | None
    interval: tuple[float, float] | None
    lod95: float | None
    note: str = ""


_F_MIN, _F_MAX = 1e-4, 1.0  # 0.01 % .. 100 %, log scale
_LOD_GREY = "#595959"  # 7:1 on white


def _lod_mark(x: float, y: float) -> str:
    """lod95: a grey triangle under the row's line, pointing up at the value, white-edged so a
    reportable-fraction line at the same place still shows above and below it."""
    return (
        f'<polygon points="{_n(x)},{_n(y + 2)} {_n(x + 5)},{_n(y + 10)} {_n(x - 5)},{_n(y + 10)}" '
        f'fill="{_LOD_GREY}" stroke="#FFFFFF" stroke-width="1"/>'
    )


def fraction_chart(
    sample: str,
    rows: Sequence[FractionRow],
    reportable: float | None,
    chart_id: str,
    power: float = DEFAULT_REQUIRED_POWER,
) -> str:
    """Allele fraction per hotspot on a log axis, with its 95 % interval, the reportable
    fraction line (none when the run recorded no reportable fraction) and each hotspot's
    achieved limit of detection at ``power`` (lod95: a grey triangle under the row's line, so a
    lod95 at the reportable fraction never hides that line). A fraction of 0 (no alt read) has
    no place on a log axis: it is drawn in a lane of its own, labelled "0", left of the axis,
    never at the axis' 0.01 % (where it read as 0.01 %)."""
    longest = max((len(row.hotspot) for row in rows), default=0)  # a drop-off region's name
    label_w = max(84.0, round(longest * 12 * 0.7) + 12.0)  # hotspot names at 12 px
    plot_w, row_h, top = 640.0, 26.0, 34.0
    zero_x = label_w + 12  # the "0" lane
    axis_x = label_w + 56  # where 0.01 % is, its label clear of the 0
    width = axis_x + plot_w + 30
    bottom = top + row_h * max(1, len(rows))
    height = bottom + 66
    span = math.log10(_F_MAX) - math.log10(_F_MIN)

    def x_of(value: float) -> float:
        if value <= 0:
            return zero_x
        clamped = min(max(value, _F_MIN), _F_MAX)
        return axis_x + (math.log10(clamped) - math.log10(_F_MIN)) / span * plot_w

    line = (
        ""
        if reportable is None
        else f" the {exact_percent(reportable)} reportable fraction (red dashed line) and"
    )
    desc = (
        f"Allele fraction per hotspot for sample {sample} on a logarithmic axis, with 95 % "
        f"intervals,{line} each hotspot's achieved {exact_percent(power)} limit of detection "
        "(grey triangle under the row); a fraction of 0 is drawn in the lane marked 0, left of "
        "the axis. Values are in the table above."
    )
    parts = _open(width, height, chart_id, f"Allele fractions, sample {sample}", desc)
    parts.append(
        _text(label_w, 16, f"Allele fraction — {sample}", size=13, extra=' font-weight="bold"')
    )
    parts.append(
        f'<line x1="{_n(zero_x)}" y1="{_n(top)}" x2="{_n(zero_x)}" y2="{_n(bottom)}" '
        'stroke="#E5E5E5"/>'
    )
    parts.append(_text(zero_x, bottom + 15, "0", size=11, anchor="middle"))
    gap = (zero_x + axis_x) / 2  # an axis break: 0 is not on the log scale
    parts.append(
        f'<path d="M{_n(gap - 4)},{_n(bottom + 4)} L{_n(gap)},{_n(bottom - 4)} '
        f'M{_n(gap)},{_n(bottom + 4)} L{_n(gap + 4)},{_n(bottom - 4)}" stroke="#222" '
        'stroke-width="1"/>'
    )
    for exponent in range(-4, 1):
        x = x_of(10.0**exponent)
        parts.append(
            f'<line x1="{_n(x)}" y1="{_n(top)}" x2="{_n(x)}" y2="{_n(bottom)}" stroke="#E5E5E5"/>'
        )
        parts.append(_text(x, bottom + 15, percent(10.0**exponent), size=11, anchor="middle"))
    if reportable is not None:
        x = x_of(reportable)
        parts.append(
            f'<line x1="{_n(x)}" y1="{_n(top - 6)}" x2="{_n(x)}" y2="{_n(bottom)}" '
            'stroke="#CC0000" stroke-width="1.5" stroke-dasharray="4 3"/>'
        )
        parts.append(
            _text(x + 4, top - 6, f"{exact_percent(reportable)} reportable", size=11,
                  fill="#CC0000")
        )  # fmt: skip
    for index, row in enumerate(rows):
        y = top + row_h * (index + 0.5) - 3
        parts.append(_text(label_w - 6, y + 4, row.hotspot, size=12, anchor="end"))
        parts.append(f"<g><title>{escape(_fraction_tip(row))}</title>")
        if row.interval is not None:
            lo, hi = x_of(row.interval[0]), x_of(row.interval[1])
            parts.append(
                f'<line x1="{_n(lo)}" y1="{_n(y)}" x2="{_n(hi)}" y2="{_n(y)}" '
                f'stroke="{STATUS_COLOURS.get(row.status, "#000")}" stroke-width="1.5"/>'
            )
        if row.lod95 is not None:
            parts.append(_lod_mark(x_of(row.lod95), y))
        if row.fraction is not None:
            parts.append(marker(row.status, x_of(row.fraction), y, 5))
        parts.append("</g>")
    parts.extend(legend(height - 26))
    key_y = height - 8
    parts.append(_lod_mark(13, key_y - 11))
    parts.append(_text(22, key_y, "achieved limit of detection (lod95)", size=10))
    if reportable is not None:
        parts.append(
            f'<line x1="236" y1="{_n(key_y - 10)}" x2="236" y2="{_n(key_y + 2)}" '
            'stroke="#CC0000" stroke-width="1.5" stroke-dasharray="4 3"/>'
        )
        parts.append(_text(244, key_y, "reportable fraction", size=10))
    parts.append(
        f'<line x1="372" y1="{_n(key_y - 4)}" x2="396" y2="{_n(key_y - 4)}" stroke="#222" '
        'stroke-width="1.5"/>'
    )
    parts.append(_text(402, key_y, "95 % interval", size=10))
    parts.append("</svg>")
    return "\n".join(parts)


# ------------------------------------------------------------------- dPCR partition bars
@dataclass(frozen=True)
class PartitionBar:
    """One dPCR well: its accepted partitions and, per count shown (the mutant partitions, the
    wild-type channel's positives), how many were positive. ``partitions`` None: no data."""

    label: str
    partitions: int | None
    counts: tuple[tuple[str, int | None], ...]
    note: str = ""


_P_MIN = 1e-5  # positive share of partitions, log axis 0.001 % .. 100 %
_BAR_COLOURS = ("#D55E00", "#0072B2", "#009E73", "#CC79A7")


def partition_bars(
    title: str, rows: Sequence[PartitionBar], p0: float | None, chart_id: str
) -> str:
    """Positive and negative partitions of each well, without amplitudes (a 1-D summary).

    Each count is a bar as long as its share of the well's accepted partitions on a log axis
    (0 positives: no bar, "0" at the axis), labelled "positives / negatives"; the background
    p0 used for the assay (false-positive partitions per partition) is a red dashed line, so a
    mutant bar left of it is within what wild-type DNA alone gives.
    """
    label_w, plot_w, bar_h, top = 150.0, 330.0, 11.0, 28.0
    text_w = 150.0
    width = label_w + plot_w + text_w
    per_row = [max(1, len(row.counts)) for row in rows]
    height = top + sum(n * bar_h + 8 for n in per_row) + 40
    span = -math.log10(_P_MIN)

    def x_of(share: float) -> float:
        clamped = min(max(share, _P_MIN), 1.0)
        return label_w + (math.log10(clamped) + span) / span * plot_w

    names = list(dict.fromkeys(name for row in rows for name, _ in row.counts))
    colour = {name: _BAR_COLOURS[i % len(_BAR_COLOURS)] for i, name in enumerate(names)}
    background = "" if p0 is None else f" The red dashed line is the background p0 = {p0:.3g}."
    desc = (
        f"Positive share of accepted partitions per well ({', '.join(names) or 'no counts'}) "
        f"on a logarithmic axis, with positives / negatives as numbers.{background} The same "
        "counts are in the wells table."
    )
    parts = _open(width, height, chart_id, title, desc)
    parts.append(_text(label_w, 14, title, size=12, extra=' font-weight="bold"'))
    bottom = height - 40
    for exponent in range(-5, 1):
        x = x_of(10.0**exponent)
        parts.append(
            f'<line x1="{_n(x)}" y1="{_n(top - 4)}" x2="{_n(x)}" y2="{_n(bottom)}" '
            'stroke="#E5E5E5"/>'
        )
        parts.append(_text(x, bottom + 13, percent(10.0**exponent), size=9, anchor="middle"))
    y = top
    for row, count in zip(rows, per_row, strict=True):
        name = row.label if len(row.label) <= 24 else row.label[:23] + "…"
        parts.append(_text(label_w - 6, y + bar_h * count / 2 + 4, name, size=10, anchor="end"))
        if row.partitions is None or not row.counts:
            parts.append(_text(label_w + 4, y + bar_h - 2, row.note or "no data", size=9))
            y += count * bar_h + 8
            continue
        for index, (what, positives) in enumerate(row.counts):
            top_y = y + index * bar_h
            if positives is None:
                shown = f"{what}: not in the export"
            else:
                negatives = row.partitions - positives
                share = positives / row.partitions if row.partitions else 0.0
                shown = f"{positives:,} / {negatives:,}"
                tip = (
                    f"{row.label} {what}: {positives:,} positive, {negatives:,} negative of "
                    f"{row.partitions:,} accepted partitions ({percent(share)})"
                )
                parts.append(f"<g><title>{escape(tip)}</title>")
                if positives > 0:
                    parts.append(
                        f'<rect x="{_n(label_w)}" y="{_n(top_y + 1)}" '
                        f'width="{_n(x_of(share) - label_w)}" height="{_n(bar_h - 2)}" '
                        f'fill="{colour[what]}"/>'
                    )
                parts.append("</g>")
            note = f" {row.note}" if row.note and index == 0 else ""
            parts.append(_text(label_w + plot_w + 6, top_y + bar_h - 2, shown + note, size=9))
        y += count * bar_h + 8
    if p0 is not None:
        x = x_of(p0)
        parts.append(
            f'<line x1="{_n(x)}" y1="{_n(top - 4)}" x2="{_n(x)}" y2="{_n(bottom)}" '
            'stroke="#CC0000" stroke-width="1.5" stroke-dasharray="4 3"/>'
        )
        parts.append(_text(x + 3, top - 6, "p0", size=9, fill="#CC0000"))
    x = 8.0
    for what in names:
        parts.append(
            f'<rect x="{_n(x)}" y="{_n(height - 14)}" width="10" height="10" '
            f'fill="{colour[what]}"/>'
        )
        parts.append(_text(x + 14, height - 5, f"{what} positive", size=10))
        x += 14 + 6 * len(what) + 70
    parts.append("</svg>")
    return "\n".join(parts)


def _fraction_tip(row: FractionRow) -> str:
    parts = [f"{row.hotspot}: {row.status}"]
    if row.fraction is not None:
        parts.append(f"fraction {percent(row.fraction)}")
    if row.interval is not None:
        parts.append(f"95 % interval {percent(row.interval[0])}–{percent(row.interval[1])}")
    if row.lod95 is not None:
        parts.append(f"lod95 {percent(row.lod95)}")
    if row.note:
        parts.append(row.note)
    return ", ".join(parts)
