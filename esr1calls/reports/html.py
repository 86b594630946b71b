# Size: about 810 lines, one concept: report.html, its sections in page order (provenance,
# review, samples, run QC, plate maps) and the inline CSS every section shares.
"""report.html: one self-contained page rendered from a calls.json document.

The page opens offline: CSS is inline, charts are inline SVG (``svg.py``), there is no script
and no external resource, and a Content-Security-Policy forbids both, so even a malicious input
string could not fetch or run anything. Every string that came from the document is escaped with
``html.escape`` (``_e``). With ``--reproducible`` the document has no clock, so the page is
byte-identical on re-run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..model import reportable_fraction, required_power
from ..text import exact_percent
from .document import (
    detected_hotspots,
    flatten,
    notices,
    run_of,
    sample_labels,
    tested_calls,
)
from .html_dpcr import dpcr_calls_table, dpcr_plates, is_dpcr_plate
from .html_parts import DASH as _DASH
from .html_parts import badge as _badge
from .html_parts import fraction_with_interval as _fraction_with_interval
from .html_parts import hgvs as _hgvs
from .html_parts import key_values as _kv
from .html_parts import lod95_text as _lod95
from .html_parts import number as _num
from .html_parts import reasons as _reasons
from .html_parts import row_reasons as _row_reasons
from .html_parts import sample_facts as _sample_facts
from .html_parts import shared_reasons as _shared_reasons
from .html_parts import shared_reasons_block as _shared_reasons_block
from .html_parts import table as _table
from .html_parts import text as _e
from .options import ReportOptions
from .svg import (
    ROLE_COLOURS,
    STATUS_COLOURS,
    DeltaCtPoint,
    FractionRow,
    delta_ct_chart,
    fraction_chart,
    plate_map_svg,
)

__all__ = ["FILES", "REPORT_HTML", "render_files", "render_html", "review_block", "review_status"]

REPORT_HTML = "report.html"
FILES = (REPORT_HTML,)

Document = Mapping[str, Any]

_CSS = """
:root{--ink:#1d1d1f;--muted:#5f6368;--line:#d0d4d9;--warn:#8a1c00;--warnbg:#fff1e6}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--ink);
margin:0 auto;max-width:1180px;padding:16px 24px 48px}
h1{font-size:24px;margin:8px 0 4px}h2{font-size:19px;margin:28px 0 8px;border-bottom:2px solid
var(--line);padding-bottom:4px}h3{font-size:16px;margin:20px 0 6px}h4{font-size:14px;margin:14px
0 4px}
table{border-collapse:collapse;margin:6px 0 12px;width:100%}th,td{border:1px solid var(--line);
padding:3px 6px;text-align:left;vertical-align:top}th{background:#f3f5f7}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
code,.code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px;
overflow-wrap:anywhere}
.review{border:3px solid var(--warn);background:var(--warnbg);color:var(--warn);padding:10px 14px;
font-weight:600;margin:10px 0}
.notices{border-left:6px solid #b00020;background:#fdecee;padding:8px 14px;margin:10px 0}
.notices li{margin:4px 0;font-weight:600}
.badge{display:inline-block;padding:1px 7px;border-radius:9px;font-size:12px;font-weight:700;
color:#fff;white-space:nowrap}
.s-DETECTED,.s-POSITIVE{background:#B35000}.s-NOT_DETECTED,.s-NEGATIVE{background:#0072B2}
.s-INDETERMINATE{background:#E69F00;color:#222}.s-INVALID{background:#555}
.s-PASS{background:#00795a}.s-FAIL{background:#c00}
.muted{color:var(--muted)}.nw{white-space:nowrap}
.legend span{display:inline-block;margin-right:12px}
.swatch{display:inline-block;width:12px;height:12px;border:1px solid #888;vertical-align:-2px;
margin-right:4px}
figure{margin:8px 0 16px}figcaption{color:var(--muted);font-size:12px}
.charts{display:flex;flex-wrap:wrap;gap:8px 20px}
dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:6px 0}
dl.kv dt{font-weight:600}dl.kv dd{margin:0}
@media print{.review,.notices{break-inside:avoid}section.sample{break-inside:avoid-page}}
"""
_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
    "form-action 'none'"
)


def _threshold_value(value: Any) -> str:
    if isinstance(value, Mapping) and "value" in value:
        shown = _threshold_value(value["value"])
        source = value.get("source")
        return shown + (f" <span class='muted'>(source: {_e(source)})</span>" if source else "")
    if isinstance(value, list | tuple):
        return "–".join(_e(v) for v in value)
    return _e(value)


# ------------------------------------------------------------------------------ provenance
def _run_block(
    run: Mapping[str, Any], *, with_thresholds: bool = True, review_status: str | None = None
) -> str:
    time = run.get("utc_time") or "not recorded (--reproducible)"
    panel = run.get("panel") or {}
    kit = run.get("kit")
    parts = [
        ("Command", f"<code>{_e(run.get('command'))}</code>"),
        ("Run time (UTC)", _e(time)),
        ("Review status", f"<strong>{_e(review_status or run.get('review_status'))}</strong>"),
        (
            "Panel",
            f"{_e(panel.get('name'))} version {_e(panel.get('version'))}, sha256 "
            f"<code>{_e(panel.get('sha256'))}</code><br><span class='muted'>hotspots: "
            f"{_e(', '.join(map(str, panel.get('hotspots') or [])))}</span>",
        ),
    ]
    if isinstance(kit, Mapping):
        flag = " <strong>(PLACEHOLDER values)</strong>" if kit.get("placeholder") else ""
        parts.append(
            (
                "Kit",
                f"{_e(kit.get('id'))} version {_e(kit.get('version'))}{flag}, sha256 "
                f"<code>{_e(kit.get('sha256'))}</code>"
                + (
                    f"<br><span class='muted'>{_e(kit.get('name'))}</span>"
                    if kit.get("name")
                    else ""
                ),
            )
        )
    else:
        parts.append(("Kit", "none (not a PCR run)"))
    html = [_kv(parts)]
    html.append(
        _table(
            "Inputs, with the sha256 of the exact bytes read",
            ("Path", "Format", "sha256"),
            (
                (_e(i.get("path")), _e(i.get("format")), f"<code>{_e(i.get('sha256'))}</code>")
                for i in run.get("inputs") or []
            ),
        )
    )
    thresholds = run.get("thresholds") or {}
    if with_thresholds:
        html.append(
            "<details><summary>Thresholds used (every number, with its source)</summary>"
            + _table(
                "Thresholds",
                ("Setting", "Value"),
                ((_e(k), _threshold_value(v)) for k, v in flatten(thresholds)),
            )
            + "</details>"
        )
    return "".join(html)


def _provenance(document: Document, signed: Review) -> str:
    run = document.get("run", {})
    tool = document.get("tool", {})
    out = ["<section id='provenance'><h2>Run summary and provenance</h2>"]
    out.append(
        _kv(
            [
                ("Tool", f"{_e(tool.get('name'))} {_e(tool.get('version'))}"),
                ("calls.json schema", _e(document.get("schema_version"))),
            ]
        )
    )
    sources = run.get("sources") or []
    out.append(_run_block(run, with_thresholds=not sources, review_status=review_status(signed)))
    for index, source in enumerate(sources):
        source_run = source.get("run") or {}
        via = source.get("via")
        via_text = (
            f" (merged earlier into {_e(via.get('path'))}, sha256 "
            f"<code>{_e(via.get('sha256'))}</code>)"
            if isinstance(via, Mapping)
            else ""
        )
        out.append(
            f"<h3 id='source-{index}'>Source {index + 1}: {_e(source.get('path'))}</h3>"
            f"<p class='muted'>calls.json sha256 <code>{_e(source.get('sha256'))}</code>, schema "
            f"{_e(source.get('schema_version'))}, written by "
            f"{_e((source.get('tool') or {}).get('name'))} "
            f"{_e((source.get('tool') or {}).get('version'))}{via_text}</p>"
        )
        out.append(_run_block(source_run))
    out.append("</section>")
    return "".join(out)


def _notices(document: Document, signed: Review) -> str:
    run = document.get("run", {})
    review = review_block(signed) or (
        '<p class="review" role="note">Review status: <strong>'
        f"{_e(run.get('review_status'))}</strong>. esr1calls never signs out results: every call "
        "must be reviewed by qualified laboratory staff before it is reported.</p>"
    )
    shown = notices(document)
    if not shown:
        return review
    items = "".join(f"<li>{_e(n)}</li>" for n in shown)
    notice_list = f'<section class="notices" aria-label="Notices"><h2>Notices</h2><ul>{items}</ul>'
    return review + notice_list + "</section>"


# -------------------------------------------------------------------------------- review
Review = Mapping[str, Any] | None  # audit.review_summary: None = never signed

_SIGNED_STYLE = "border-color:#00795a;background:#e8f5ef;color:#0b3d2e"


def review_status(review: Review) -> str | None:
    """The review status in words, from the review record; None when never signed."""
    if review is None:
        return None
    if review.get("state") == "not_verified":
        return "unreviewed: the review record does not verify"
    done = "approved" if review.get("state") == "approved" else "rejected"
    return f"{done} by {review.get('reviewer')} at {review.get('time')}"


def _signoff_meta(review: Review) -> str:
    """The sign-off number, for esr1calls verify to name a report of another sign-off."""
    if review is None or review.get("state") not in ("approved", "rejected"):
        return ""
    return f'<meta name="esr1calls-signoff" content="{int(review["signoff"])}">'


def review_block(review: Review) -> str:
    """Who reviewed and signed, when, the decision and the overridden calls; or that the review
    record does not verify. Empty when never signed (the page then says unreviewed)."""
    if review is None:
        return ""
    if review.get("state") == "not_verified":
        return (
            '<section class="review" role="note" id="review"><p><strong>The review record does '
            f"not verify</strong>: {_e(review.get('problem'))}</p><p>Treat every call as "
            "unreviewed until the record is restored; esr1calls verify names the first broken "
            "link.</p></section>"
        )
    approved = review.get("state") == "approved"
    comment = review.get("comment")
    keyed = "HMAC-keyed" if review.get("keyed") else "hash-chained, without a key"
    head = (
        f"<strong>Reviewed by {_e(review.get('reviewer'))} at {_e(review.get('time'))} "
        f"({'approved' if approved else 'rejected'})</strong>"
        + ("" if approved else ": these results must not be reported")
        + f". Sign-off {_e(review.get('signoff'))} of audit.jsonl ({keyed})."
        + (f" Comment: {_e(comment)}" if comment else "")
    )
    out = [
        f'<section class="review" role="note" id="review" style="{_SIGNED_STYLE}">'
        if approved
        else '<section class="review" role="note" id="review">',
        f"<p>{head}</p>",
        "<p style='font-weight:400'>This page was written at sign-off from calls.json (sha256 "
        f"<code>{_e(review.get('calls_sha256'))}</code>) and the review record; the review holds "
        "only while <code>esr1calls verify</code> passes on this folder.</p>",
    ]
    overrides = review.get("overrides") or []
    if overrides:
        out.append(
            _table(
                "Calls changed at review: the call in calls.json and the reviewer's, side by side",
                ("Sample", "Hotspot", "Call in calls.json", "Call after review", "Reason", "By"),
                (_override_row(o, with_sample=True) for o in overrides),
            )
        )
    history = review.get("history") or []
    if len(history) > 1:
        out.append(
            _table(
                "Every sign-off of this folder, oldest first",
                ("Sign-off", "Time (UTC)", "Reviewer", "Decision", "Overrides", "Comment"),
                (
                    (
                        _e(h.get("signoff")),
                        _e(h.get("time")),
                        _e(h.get("reviewer")),
                        _e(h.get("decision")),
                        _e(h.get("overrides")),
                        _e(h.get("comment")),
                    )
                    for h in history
                ),
            )
        )
    out.append("</section>")
    return "".join(out)


def _override_row(override: Mapping[str, Any], *, with_sample: bool) -> tuple[str, ...]:
    reasons = ", ".join(map(str, override.get("original_reasons") or []))
    original = _badge(override.get("original"))
    if reasons:
        original += f" <code>{_e(reasons)}</code>"
    row = (
        f"<strong>{_e(override.get('hotspot'))}</strong>",
        original,
        _badge(override.get("status")),
        _e(override.get("reason")),
        f"{_e(override.get('reviewer'))}, {_e(override.get('time'))} (sign-off "
        f"{_e(override.get('signoff'))})",
    )
    return (_e(override.get("sample")), *row) if with_sample else row


def _reviewed_status(review: Review, label: str) -> str:
    """ " → after review: POSITIVE" where overrides changed the sample's status."""
    if review is None or review.get("state") not in ("approved", "rejected"):
        return ""
    changed = (review.get("samples") or {}).get(label)
    if not changed:
        return ""
    return f" → after review {_badge(changed.get('status'))}"


def _overrides_table(review: Review, label: str) -> str:
    if review is None or review.get("state") not in ("approved", "rejected"):
        return ""
    mine = [o for o in review.get("overrides") or [] if o.get("sample") == label]
    if not mine:
        return ""
    return _table(
        "Changed at review (calls.json itself is never edited)",
        ("Hotspot", "Call in calls.json", "Call after review", "Reason", "By"),
        (_override_row(o, with_sample=False) for o in mine),
    )


# -------------------------------------------------------------------------------- samples
def _sample_summary(document: Document, labels: Sequence[str], signed: Review) -> str:
    rows = []
    for index, (sample, label) in enumerate(zip(document.get("samples", []), labels, strict=True)):
        rows.append(
            (
                f"<a href='#sample-{index}'>{_e(label)}</a>",
                _e(sample.get("method")),
                _badge(sample.get("status")) + _reviewed_status(signed, label),
                _e(", ".join(detected_hotspots(sample))),
                _e(sample.get("summary")),
            )
        )
    return (
        "<section id='samples'><h2>Samples</h2>"
        + _table(
            "One row per sample: status and its one-sentence summary",
            ("Sample", "Method", "Status", "Detected", "Summary"),
            rows,
        )
        + "</section>"
    )


def _pcr_calls_table(calls: Sequence[Mapping[str, Any]], thresholds: Mapping[str, Any]) -> str:
    reportable = reportable_fraction(thresholds)
    shared = _shared_reasons(calls)
    rows = []
    for call in calls:
        cutoff = call.get("cutoff")
        delta = _num(call.get("delta_ct"))
        if cutoff is not None:
            delta += f"<br><span class='muted'>(cut-off {_num(cutoff, 1)})</span>"
        cts = " / ".join(_num(call.get(k)) for k in ("ct_mutation", "ct_reference", "ct_ic"))
        rows.append(
            (
                f"<strong>{_e(call.get('hotspot'))}</strong>",
                _hgvs(call),
                _badge(call.get("status")),
                _row_reasons(call, shared, thresholds),
                _e(call.get("action")),
                _fraction_with_interval(call),
                _lod95(call.get("lod95"), reportable),
                delta,
                cts,
            )
        )
    head = (
        "Hotspot",
        "HGVS",
        "Status",
        "Reasons",
        "Action",
        "Allele fraction (95 % CI)",
        "lod95",
        "Delta-Ct",
        "Ct mutation / reference / IC",
    )
    return _shared_reasons_block(shared, thresholds) + _table(
        "Per-hotspot calls (PCR); HGVS on NM_000125.4 / NP_000116.2",
        head,
        rows,
        numeric=(5, 6, 7, 8),
    )


_FILTER_KINDS = {"benign": "the caller's own threshold", "artefact": "possible artefact"}


def _caller_filters(call: Mapping[str, Any]) -> str:
    """The caller's FILTER values on the record a call was read from (PASS and "." are none),
    each with what esr1calls makes of it; a dash when the call was not read from a record.

    >>> print(_caller_filters({"evidence": {"filters": ["weak_evidence"],
    ...     "filter_kinds": {"weak_evidence": "benign"}}}))
    <span class="code nw">weak_evidence</span>
    <span class='muted'>(the caller&#x27;s own threshold)</span>
    >>> _caller_filters({"evidence": {"filters": []}}), _caller_filters({"evidence": {}})
    ('none', '—')
    """
    evidence = call.get("evidence") or {}
    filters = evidence.get("filters")
    if not isinstance(filters, list):
        return _DASH
    if not filters:
        return "none"
    kinds = evidence.get("filter_kinds") or {}
    shown = []
    for name in filters:
        kind = _FILTER_KINDS.get(str(kinds.get(name)))
        shown.append(
            f'<span class="code nw">{_e(name)}</span>'
            + (f"\n<span class='muted'>({_e(kind)})</span>" if kind else "")
        )
    return "<br>".join(shown)


def _k_required(call: Mapping[str, Any]) -> Any:
    """Alt observations the call needed at its depth (NGS k_required, dPCR k_req), or None."""
    evidence = call.get("evidence") or {}
    return evidence.get("k_required", evidence.get("k_req"))


def _ngs_calls_table(calls: Sequence[Mapping[str, Any]], thresholds: Mapping[str, Any]) -> str:
    reportable = reportable_fraction(thresholds)
    shared = _shared_reasons(calls)
    rows = []
    for call in calls:
        x, n = call.get("alt_count"), call.get("depth")
        counts = _DASH if x is None and n is None else f"{_e(x)} / {_e(n)}"
        rows.append(
            (
                f"<strong>{_e(call.get('hotspot'))}</strong>",
                _hgvs(call),
                _badge(call.get("status")),
                _row_reasons(call, shared, thresholds),
                _e(call.get("action")),
                _fraction_with_interval(call),
                counts,
                _e(_k_required(call)),
                _caller_filters(call),
                _lod95(call.get("lod95"), reportable),
            )
        )
    head = (
        "Hotspot",
        "HGVS",
        "Status",
        "Reasons",
        "Action",
        "Allele fraction (95 % CI)",
        "Alt / depth (x / n)",
        "Alt needed (k_req)",
        "Caller FILTER",
        "lod95",
    )
    return _shared_reasons_block(shared, thresholds) + _table(
        "Per-hotspot calls (NGS); HGVS on NM_000125.4 / NP_000116.2; DETECTED needs x >= k_req "
        "and x / n at the reportable fraction, NOT_DETECTED x < k_req at a depth with lod95 at "
        "or below it",
        head,
        rows,
        numeric=(5, 6, 7, 9),
    )


def _thresholds(document: Document, item: Mapping[str, Any]) -> Mapping[str, Any]:
    """The thresholds of the run that made ``item`` (a sample or a QC check)."""
    thresholds: Mapping[str, Any] = run_of(document, item).get("thresholds") or {}
    return thresholds


def _count_note(call: Mapping[str, Any], method: Any) -> str:
    """The counts a call rests on, in words for the chart's tooltip: x / n and k_req (NGS) or
    k_m / N and k_req (dPCR), and the caller's FILTER values.

    >>> _count_note({"alt_count": 15, "depth": 12000, "evidence": {"k_required": 16,
    ...     "filters": ["weak_evidence"]}}, "NGS")
    'x / n 15 / 12,000, 16 needed (k_req), caller FILTER weak_evidence'
    """
    x, n = call.get("alt_count"), call.get("depth")
    parts = []
    if isinstance(x, int) and isinstance(n, int):
        parts.append(f"{'k_m / N' if method == 'dPCR' else 'x / n'} {x:,} / {n:,}")
    k = _k_required(call)
    if isinstance(k, int):
        parts.append(f"{k:,} needed (k_req)")
    filters = (call.get("evidence") or {}).get("filters")
    if isinstance(filters, list):
        parts.append(f"caller FILTER {', '.join(map(str, filters)) or 'none'}")
    return ", ".join(parts)


def _fraction_rows(calls: Sequence[Mapping[str, Any]], method: Any) -> list[FractionRow]:
    rows = []
    for call in calls:
        interval = call.get("allele_fraction_ci95")
        rows.append(
            FractionRow(
                hotspot=str(call.get("hotspot")),
                status=str(call.get("status")),
                fraction=call.get("allele_fraction"),
                interval=(interval[0], interval[1]) if interval else None,
                lod95=call.get("lod95"),
                note=_count_note(call, method),
            )
        )
    return rows


def _sample_sections(document: Document, labels: Sequence[str], signed: Review) -> str:
    out = ["<section id='calls'><h2>Per-sample calls</h2>"]
    for index, (sample, label) in enumerate(zip(document.get("samples", []), labels, strict=True)):
        calls = sample.get("calls") or []
        out.append(
            f"<section class='sample' id='sample-{index}'><h3>{_e(label)} "
            f"{_badge(sample.get('status'))}{_reviewed_status(signed, label)}</h3>"
            f"<p>{_e(sample.get('summary'))}</p>"
        )
        facts = [("Method", _e(sample.get("method"))), ("Source", _e(sample.get("source")))]
        if sample.get("source_index") is not None:
            facts.append(
                (
                    "Run",
                    f"<a href='#source-{int(sample['source_index'])}'>source "
                    f"{int(sample['source_index']) + 1}</a>",
                )
            )
        thresholds = _thresholds(document, sample)
        facts += _sample_facts(sample.get("details") or {}, thresholds)
        out.append(_kv(facts))
        if sample.get("method") in ("NGS", "dPCR"):
            if sample.get("method") == "NGS":
                out.append(_ngs_calls_table(calls, thresholds))
            else:
                out.append(dpcr_calls_table(calls, thresholds))
            reportable = reportable_fraction(thresholds)
            chart = fraction_chart(
                label,
                _fraction_rows(tested_calls(sample), sample.get("method")),
                reportable,
                f"af-{index}",
                required_power(thresholds),
            )
            line = (
                ""
                if reportable is None
                else f", the {exact_percent(reportable)} reportable fraction (red dashed)"
            )
            out.append(
                f"<figure>{chart}<figcaption>Allele fraction with 95 % interval (line){line} "
                "and lod95 (grey triangle), log scale; a fraction of 0 in the lane marked 0. "
                "Hover a row for its counts, k_req and the caller's FILTER.</figcaption></figure>"
            )
        else:
            out.append(_pcr_calls_table(calls, thresholds))
        out.append(_overrides_table(signed, label))
        out.append("</section>")
    out.append("</section>")
    return "".join(out)


# -------------------------------------------------------------------------------- run QC
def _check_value(value: Any) -> str:
    """A QC value: two decimals (Cts, fractions), but a small rate such as a dPCR WT
    background (1.7e-05 mutant partitions per partition) in 3 significant digits, never 0.00.

    >>> _check_value(27.314), _check_value(1.74e-05), _check_value(0.0), _check_value(3)
    ('27.31', '1.74e-05', '0.00', '3')
    """
    if isinstance(value, float) and 0 < abs(value) < 0.005:
        return f"{value:.3g}"
    return _num(value)


def _run_qc(document: Document) -> str:
    checks = document.get("run_qc") or []
    groups: dict[tuple[Any, Any], list[Mapping[str, Any]]] = {}
    for check in checks:
        groups.setdefault((check.get("source_index"), check.get("run_id")), []).append(check)
    out = ["<section id='run-qc'><h2>Run QC</h2>"]
    if not groups:
        out.append(
            "<p class='muted'>No run-level checks (NGS runs have per-hotspot depth "
            "checks, shown with each call).</p>"
        )
    for (source_index, run_id), group in groups.items():
        failed = sum(not c.get("passed") for c in group)
        where = f" (source {source_index + 1})" if isinstance(source_index, int) else ""
        verdict = _badge("FAIL") if failed else _badge("PASS")
        out.append(
            f"<h3>Run {_e(run_id)}{where}: {verdict} "
            f"<span class='muted'>{len(group) - failed} of {len(group)} checks passed</span></h3>"
        )
        rows = (
            (
                _e(c.get("check")),
                _e(c.get("subject")),
                _check_value(c.get("value")),
                _e(c.get("expected")),
                _badge("PASS" if c.get("passed") else "FAIL"),
                _reasons([c["reason"]], _thresholds(document, c)) if c.get("reason") else _DASH,
            )
            for c in group
        )
        out.append(
            _table(
                "Each control against its acceptance range",
                ("Check", "Subject", "Value", "Acceptance range", "Result", "Reason"),
                rows,
                numeric=(2,),
            )
        )
    out.append("</section>")
    return "".join(out)


# -------------------------------------------------------------------------------- plates
def _ct_text(well: Mapping[str, Any]) -> str:
    """Each channel's Ct, e.g. "FAM 27.31, VIC no Ct"; empty when the well has none."""
    cts = well.get("ct") or {}
    return ", ".join(
        f"{channel} {'no Ct' if ct is None else f'{ct:.2f}'}" for channel, ct in cts.items()
    )


def _well_tip(well: Mapping[str, Any], result: str, cts: str) -> str:
    """A well's tooltip on the plate maps; ``cts`` is its :func:`_ct_text`."""
    sample = f" {well.get('sample_id')}" if well.get("sample_id") else ""
    return (
        f"{well.get('well')}: {well.get('role')}{sample}, mix {well.get('mix') or '-'}; "
        f"Ct: {cts or 'no data'}; result: {result}"
    )


_WELL_ORDER = ("INVALID", "POSITIVE", "INDETERMINATE", "NEGATIVE")  # the first one found wins
_AS_WELL_RESULT = {"DETECTED": "POSITIVE", "NOT_DETECTED": "NEGATIVE"}
WellKey = tuple[Any, Any, str]  # (source index, run id, well)


def _setting(value: Any) -> float | None:
    """A threshold's number, whether recorded bare or as {value, source}."""
    if isinstance(value, Mapping):
        value = value.get("value")
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _reference_results(sample: Mapping[str, Any], thresholds: Mapping[str, Any]) -> list[str]:
    """PASS or FAIL per reference replicate of a sample (the order of its reference wells), by
    whether that well's own Ct is in the kit's reference window; empty when not judged here (an
    in-well reference is read in the sample's own wells, or the document lacks the Cts)."""
    reference = thresholds.get("reference") or {}
    low, high = _setting(reference.get("ct_min")), _setting(reference.get("ct_max"))
    if reference.get("mode") != "separate_mix" or low is None or high is None:
        return []
    cts = (sample.get("details") or {}).get("reference_replicate_cts") or []
    return ["PASS" if isinstance(ct, int | float) and low <= ct <= high else "FAIL" for ct in cts]


def well_results(document: Document) -> dict[WellKey, str]:
    """Each PCR sample well's own result, from the calls read in it: INVALID if one of them is
    (its internal control failed, say), else POSITIVE, INDETERMINATE, NEGATIVE in that order; a
    separate reference well PASS or FAIL by whether its own Ct is in the reference window. Not
    the sample's status: a failed well of a positive sample is INVALID on the plate map.

    >>> doc = {"run": {"thresholds": {"reference": {"mode": "separate_mix", "ct_min": 20.0,
    ...     "ct_max": {"value": 32.0}}}}, "samples": [{"method": "PCR",
    ...     "details": {"reference_replicate_cts": [25.9, 33.1]}, "calls": [
    ...     {"status": "INVALID", "evidence": {"run_id": "r", "wells": ["A9"],
    ...      "reference_wells": ["E9", "F9"]}},
    ...     {"status": "DETECTED", "evidence": {"run_id": "r", "wells": ["B9"],
    ...      "reference_wells": ["E9", "F9"]}}]}]}
    >>> sorted(well_results(doc).items())  # doctest: +NORMALIZE_WHITESPACE
    [((None, 'r', 'A9'), 'INVALID'), ((None, 'r', 'B9'), 'POSITIVE'),
     ((None, 'r', 'E9'), 'PASS'), ((None, 'r', 'F9'), 'FAIL')]
    """
    found: dict[WellKey, set[str]] = {}
    for sample in document.get("samples") or []:
        if sample.get("method") != "PCR":
            continue
        references = _reference_results(sample, run_of(document, sample).get("thresholds") or {})
        for call in sample.get("calls") or []:
            evidence = call.get("evidence") or {}
            where = (sample.get("source_index"), evidence.get("run_id"))
            status = str(call.get("status"))
            for well in evidence.get("wells") or []:
                key = (*where, str(well).upper())
                found.setdefault(key, set()).add(_AS_WELL_RESULT.get(status, status))
            reference_wells = evidence.get("reference_wells") or []
            if len(reference_wells) == len(references):
                for well, result in zip(reference_wells, references, strict=True):
                    found.setdefault((*where, str(well).upper()), set()).add(result)
    return {
        key: next((r for r in (*_WELL_ORDER, "FAIL", "PASS") if r in results), min(results))
        for key, results in found.items()
    }


def _plates(document: Document) -> str:
    plates = [p for p in document.get("plates") or [] if not is_dpcr_plate(document, p)]
    if not plates:
        return ""
    checks = document.get("run_qc") or []
    own = well_results(document)
    out = ["<section id='plates'><h2>PCR plates</h2>"]
    for index, plate in enumerate(plates):
        wells = plate.get("wells") or []
        same_run = [
            c
            for c in checks
            if c.get("run_id") == plate.get("run_id")
            and c.get("source_index") == plate.get("source_index")
        ]

        where = (plate.get("source_index"), plate.get("run_id"))

        def result_of(
            well: Mapping[str, Any],
            same_run: list[Mapping[str, Any]] = same_run,
            where: tuple[Any, Any] = where,
        ) -> str:
            if well.get("role") == "SAMPLE":
                return own.get((*where, str(well.get("well")).upper()), "no call")
            if well.get("role") == "EMPTY":
                return "EMPTY"
            mine = [
                c
                for c in same_run
                if str(c.get("subject", "")).startswith(f"well {well.get('well')} ")
            ]
            if not mine:
                return "no check"
            return "PASS" if all(c.get("passed") for c in mine) else "FAIL"

        # each well's result, Cts and tooltip, worked out once: both maps and the table show them
        results = {id(w): result_of(w) for w in wells}
        cts = {id(w): _ct_text(w) for w in wells}
        tips = {id(w): _well_tip(w, results[id(w)], cts[id(w)]) for w in wells}

        def role_colour(well: Mapping[str, Any]) -> str:
            return ROLE_COLOURS.get(str(well.get("role")), "#FFFFFF")

        def result_colour(well: Mapping[str, Any], results: dict[int, str] = results) -> str:
            return STATUS_COLOURS.get(results[id(well)], "#FFFFFF")

        def tip(well: Mapping[str, Any], tips: dict[int, str] = tips) -> str:
            return tips[id(well)]

        name = str(plate.get("run_id"))
        sources = ", ".join(map(str, plate.get("sources") or []))
        out.append(f"<h3>Plate {_e(name)} <span class='muted'>({_e(sources)})</span></h3>")
        role_svg = plate_map_svg(
            wells,
            role_colour,
            tip,
            f"plate-{index}-role",
            f"Plate {name} by well role",
            "Each well coloured by its role in the plate map (sample, "
            "positive control, no-template control, wild-type control, "
            "empty); hover a well for its sample, mix and Cts.",
        )
        result_svg = plate_map_svg(
            wells,
            result_colour,
            tip,
            f"plate-{index}-result",
            f"Plate {name} by result",
            "Sample wells coloured by the well's own result (the calls read in it; a reference "
            "well by whether its Ct is in the reference window), control wells by whether their "
            "checks passed.",
        )
        role_legend = "".join(
            f"<span><i class='swatch' style='background:{c}'></i>{_e(r)}</span>"
            for r, c in ROLE_COLOURS.items()
        )
        result_legend = "".join(
            f"<span><i class='swatch' style='background:{STATUS_COLOURS[s]}'></i>{_e(s)}</span>"
            for s in ("POSITIVE", "NEGATIVE", "INDETERMINATE", "INVALID", "PASS", "FAIL")
        )
        result_legend += (
            "<span><i class='swatch' style='background:#FFFFFF'></i>no check or no call</span>"
        )
        out.append(
            f"<div class='charts'><figure>{role_svg}<figcaption class='legend'>By role: "
            f"{role_legend}</figcaption></figure><figure>{result_svg}<figcaption class='legend'>"
            f"By result: {result_legend}</figcaption></figure></div>"
        )
        rows = (
            (
                _e(w.get("well")),
                _e(w.get("role")),
                _e(w.get("sample_id")),
                _e(w.get("mix")),
                _e(cts[id(w)]),
                _e(results[id(w)]),
            )
            for w in wells
        )
        out.append(
            "<details><summary>Plate wells as a table</summary>"
            + _table(
                f"Wells of plate {name}", ("Well", "Role", "Sample", "Mix", "Ct", "Result"), rows
            )
            + "</details>"
        )
    out.append("</section>")
    return "".join(out)


def _delta_ct_charts(document: Document, labels: Sequence[str]) -> str:
    groups: dict[tuple[str, Any], list[DeltaCtPoint]] = {}
    for sample, label in zip(document.get("samples", []), labels, strict=True):
        if sample.get("method") != "PCR":
            continue
        for call in tested_calls(sample):
            key = (str(call.get("hotspot")), call.get("cutoff"))
            groups.setdefault(key, []).append(
                DeltaCtPoint(label, call.get("delta_ct"), str(call.get("status")))
            )
    if not groups:
        return ""
    figures = [
        "<figure>" + delta_ct_chart(hotspot, points, cutoff, f"dct-{i}") + "</figure>"
        for i, ((hotspot, cutoff), points) in enumerate(groups.items())
    ]
    return (
        "<section id='delta-ct'><h2>Delta-Ct against cut-off, per target</h2><p class='muted'>"
        "Each point is one sample, drawn in the colour and shape of its call. A delta-Ct at or "
        "left of the red dashed cut-off is mutant signal: the call is DETECTED unless a rule "
        "holds it back (INDETERMINATE when a stronger assay of the same codon also reacted, "
        "INVALID when a control failed), so read the call from the marker, not from the side. "
        "“no ΔCt” means no mutation Ct, or a call decided before delta-Ct (run or sample "
        "invalid). The numbers are in the per-sample tables.</p><div class='charts'>"
        + "".join(figures)
        + "</div></section>"
    )


def _dropped(document: Document) -> str:
    rows = (
        (_e(d.get("source")), _e(d.get("place")), _e(d.get("reason")))
        for d in document.get("dropped") or []
    )
    return (
        "<section id='dropped'><h2>Dropped input rows</h2>"
        + _table("Everything read but not used, and why", ("Source", "Place", "Reason"), rows)
        + "</section>"
    )


def render_html(document: Document, review: Review = None) -> str:
    """The whole report page for a calls.json document; ``review`` is what the review record
    says (``audit.review_summary``), None when the folder was never signed."""
    tool = document.get("tool", {})
    samples = document.get("samples", [])
    labels = sample_labels(samples)
    counts: dict[str, int] = {}
    for sample in samples:
        counts[str(sample.get("status"))] = counts.get(str(sample.get("status")), 0) + 1
    overview = ", ".join(f"{n} {status}" for status, n in counts.items()) or "no samples"
    title = f"ESR1 hotspot calls — {len(samples)} sample(s)"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta name="generator" content="{_e(tool.get("name"))} {_e(tool.get("version"))}">',
        _signoff_meta(review),
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
        f"<header><h1>{_e(title)}</h1><p class='muted'>{_e(overview)}. Written by "
        f"{_e(tool.get('name'))} {_e(tool.get('version'))} from calls.json (schema "
        f"{_e(document.get('schema_version'))}).</p></header><main>",
        _notices(document, review),
        _sample_summary(document, labels, review),
        _provenance(document, review),
        _run_qc(document),
        _plates(document),
        dpcr_plates(document),
        _delta_ct_charts(document, labels),
        _sample_sections(document, labels, review),
        _dropped(document),
        "</main><footer><p class='muted'>Generated by "
        f"{_e(tool.get('name'))} {_e(tool.get('version'))}. Review status: "
        f"{_e(review_status(review) or document.get('run', {}).get('review_status'))}. "
        "Fractions are shown as percent; "
        "calls.json holds them as fractions.</p></footer></body></html>",
    ]
    return "\n".join(p for p in parts if p) + "\n"


def render_files(document: Document, options: ReportOptions) -> dict[str, str]:
    """report.html, as the registry of formats renders it (never signed: ``sign`` re-renders it
    with the review)."""
    return {REPORT_HTML: render_html(document)}
