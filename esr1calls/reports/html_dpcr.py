"""report.html's digital PCR parts: the per-hotspot calls table and the dPCR plates.

A dPCR export has no amplitudes per droplet, only counts, so the plate is summarised in one
dimension: per well, the positive and negative partitions of the mutant count and of the
wild-type channel as bars (``svg.partition_bars``), with the background p0 the assay used and
where it came from; per sample and assay the summed partitions, k_m, k_req, the fraction with
its 95 % interval and lod95, exactly as the calls' evidence in calls.json holds them
(docs/dpcr.md). Everything is read from the document; nothing is recomputed here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..model import reportable_fraction
from .document import run_of
from .html_parts import (
    DASH,
    badge,
    fraction,
    fraction_with_interval,
    hgvs,
    lod95_text,
    number,
    row_reasons,
    shared_reasons,
    shared_reasons_block,
    table,
    text,
)
from .svg import ROLE_COLOURS, PartitionBar, partition_bars, plate_map_svg

__all__ = ["dpcr_calls_table", "dpcr_plates", "is_dpcr_plate"]

Document = Mapping[str, Any]
METHOD = "dPCR"


def is_dpcr_plate(document: Document, plate: Mapping[str, Any]) -> bool:
    """True for a plate layout a dPCR run wrote (its run's thresholds say method dPCR)."""
    thresholds = run_of(document, plate).get("thresholds") or {}
    return bool(thresholds.get("method") == METHOD)


def _count(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else text(value)


def _p0_text(call: Mapping[str, Any]) -> str:
    """The background p0 a call was held against and, briefly, where it came from (the full
    source is under the assay's partition chart)."""
    evidence = call.get("evidence") or {}
    p0 = evidence.get("p0")
    if not isinstance(p0, int | float):
        return DASH
    default = "DEFAULT_BACKGROUND" in (call.get("reasons") or [])
    source = "the assay's default" if default else "wild-type controls"
    return f"{p0:.3g}<br><span class='muted'>{source}</span>"


def _copies(evidence: Mapping[str, Any]) -> str:
    """Copies per µL of reaction, mutant / wild type; per mL plasma below when known."""
    per_ul, per_ml = evidence.get("copies_per_ul"), evidence.get("copies_per_ml_plasma")
    if not isinstance(per_ul, Mapping):
        return DASH
    shown = " / ".join(number(per_ul.get(c), 1) for c in ("mutant", "wild_type"))
    if isinstance(per_ml, Mapping):
        plasma = " / ".join(number(per_ml.get(c), 0) for c in ("mutant", "wild_type"))
        shown += f"<br><span class='muted'>{plasma} per mL plasma</span>"
    return shown


def _what(call: Mapping[str, Any]) -> str:
    """HGVS for a hotspot; a drop-off region's call names its region and hotspots instead."""
    evidence = call.get("evidence") or {}
    if call.get("hgvs_c"):
        return hgvs(call)
    region = evidence.get("region")
    covered = evidence.get("hotspots")
    shown = text(region) if region else "region"
    if isinstance(covered, Sequence) and not isinstance(covered, str):
        shown += f"<br><span class='muted'>{text(', '.join(map(str, covered)))}</span>"
    return shown


def dpcr_calls_table(calls: Sequence[Mapping[str, Any]], thresholds: Mapping[str, Any]) -> str:
    """The per-hotspot calls of one dPCR sample, with the counts and settings each rests on."""
    reportable = reportable_fraction(thresholds)
    shared = shared_reasons(calls)
    rows = []
    for call in calls:
        evidence = call.get("evidence") or {}
        wells = evidence.get("wells_used") or evidence.get("wells") or []
        assay = text(evidence.get("assay"))
        if wells:
            assay += f"<br><span class='muted'>{text(', '.join(map(str, wells)))}</span>"
        k_m, n = call.get("alt_count"), call.get("depth")
        counts = DASH if k_m is None and n is None else f"{_count(k_m)} / {_count(n)}"
        action = call.get("action")
        rows.append(
            (
                f"<strong>{text(call.get('hotspot'))}</strong>",
                _what(call),
                badge(call.get("status")),
                row_reasons(call, shared, thresholds)
                + (f"<br><em>Action:</em> {text(action)}" if action else ""),
                assay,
                fraction_with_interval(call).replace(" (", "<br>(", 1),
                counts,
                _count(evidence.get("k_req")),
                lod95_text(call.get("lod95"), reportable),
                _p0_text(call),
                _copies(evidence),
            )
        )
    head = (
        "Hotspot",
        "HGVS",
        "Status",
        "Reasons and action",
        "Assay (wells)",
        "Fraction (95 % CI)",
        "k_m / N partitions",
        "k_req",
        "lod95",
        "Background p0",
        "Copies per µL, mutant / wild type",
    )
    return shared_reasons_block(shared, thresholds) + table(
        "Per-hotspot calls (dPCR); HGVS on NM_000125.4 / NP_000116.2",
        head,
        rows,
        numeric=(6, 7, 8),
    )


# ---------------------------------------------------------------------------------- plates
def _assay_settings(document: Document, plate: Mapping[str, Any]) -> Mapping[str, Any]:
    thresholds = run_of(document, plate).get("thresholds") or {}
    assays: Mapping[str, Any] = thresholds.get("assays") or {}
    return assays


def _counts(well: Mapping[str, Any], assay: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    """What a well's bars show: the mutant partitions, then each channel's positives (the
    wild-type channel, and a drop-off's reference channel)."""
    channels: Mapping[str, Any] = well.get("channels") or {}
    mutant = str(assay.get("mutant_partitions") or "mutant")
    out: list[tuple[str, Any]] = [(f"mutant ({mutant})", well.get("mutant_partitions"))]
    for role, key in (("wild type", "wild_type_channel"), ("reference", "reference_channel")):
        channel = assay.get(key)
        if channel:
            out.append((f"{role} ({channel}+)", (channels.get(channel) or {}).get("positives")))
    return tuple(out)


def _well_label(well: Mapping[str, Any]) -> str:
    who = well.get("sample_id") if well.get("role") == "SAMPLE" else well.get("role")
    return f"{well.get('well')} {who}"


def _well_note(well: Mapping[str, Any]) -> str:
    qc = well.get("qc") or []
    merged = f"merged as {well['merged_as']}" if well.get("merged_as") else ""
    return "; ".join(str(x) for x in [*qc, merged] if x)


def _p0_caption(
    document: Document, plate: Mapping[str, Any], assay: str, wells: Sequence[Mapping[str, Any]]
) -> str:
    """The background p0 the assay used on this plate, and where it came from."""
    for sample in document.get("samples") or []:
        if sample.get("source_index") != plate.get("source_index"):
            continue
        if (sample.get("details") or {}).get("run_id") != plate.get("run_id"):
            continue
        for call in sample.get("calls") or []:
            evidence = call.get("evidence") or {}
            if evidence.get("assay") == assay and evidence.get("p0") is not None:
                source = evidence.get("p0_source") or "source not recorded"
                return f"p0 = {evidence['p0']:.3g}: {source}"
    p0 = next((w.get("p0") for w in wells if w.get("p0") is not None), None)
    if p0 is None:
        return "no background recorded"
    default = any(w.get("p0_default") for w in wells)
    return f"p0 = {p0:.3g}: " + (
        "the assay's default (no usable wild-type control)"
        if default
        else "from the wild-type control wells"
    )


def _sample_rows(document: Document, plate: Mapping[str, Any], assay: str) -> list[tuple[str, ...]]:
    """Per sample tested with ``assay`` on this plate: the summed counts its calls rest on."""
    rows: list[tuple[str, ...]] = []
    for sample in document.get("samples") or []:
        if sample.get("source_index") != plate.get("source_index"):
            continue
        if (sample.get("details") or {}).get("run_id") != plate.get("run_id"):
            continue
        mine = [
            c for c in sample.get("calls") or [] if (c.get("evidence") or {}).get("assay") == assay
        ]
        if not mine:
            continue
        call = next((c for c in mine if c.get("hotspot") == assay), mine[0])
        evidence = call.get("evidence") or {}
        rows.append(
            (
                text(sample.get("sample_id")),
                text(", ".join(map(str, evidence.get("wells_used") or []))),
                _count(call.get("depth")),
                _count(call.get("alt_count")),
                _count(evidence.get("k_req")),
                fraction_with_interval(call),
                fraction(call.get("lod95")),
                badge(call.get("status")),
            )
        )
    return rows


def _channel_text(well: Mapping[str, Any]) -> str:
    channels: Mapping[str, Any] = well.get("channels") or {}
    return ", ".join(
        f"{name} ({c.get('target')}) {_count(c.get('positives'))} / {_count(c.get('negatives'))}"
        for name, c in channels.items()
    )


def _plate_tip(well: Mapping[str, Any]) -> str:
    sample = f" {well.get('sample_id')}" if well.get("sample_id") else ""
    partitions = well.get("partitions")
    counted = f"{partitions:,} partitions" if isinstance(partitions, int) else "no partitions"
    codes = well.get("qc") or []
    qc = f"; QC {', '.join(map(str, codes))}" if codes else ""
    return (
        f"{well.get('well')}: {well.get('role')}{sample}, assay {well.get('assay') or '-'}; "
        f"{counted}; positives / negatives: {_channel_text(well) or 'none'}{qc}"
    )


def dpcr_plates(document: Document) -> str:
    """The "Digital PCR plates" section: per plate a role map, per assay the partition bars
    with p0 and its source, the summed counts per sample, and every well as a table."""
    plates = [p for p in document.get("plates") or [] if is_dpcr_plate(document, p)]
    if not plates:
        return ""
    out = [
        "<section id='dpcr-plates'><h2>Digital PCR plates</h2><p class='muted'>Counts "
        "only (the export has no droplet amplitudes): per well, each bar is the share of "
        "accepted partitions that were positive, log scale, with positives / negatives as "
        "numbers. A sample's calls sum its replicate wells; the table under each chart gives "
        "those sums, the k_req they were held against and the lod95 they reached.</p>"
    ]
    for index, plate in enumerate(plates):
        wells = [w for w in plate.get("wells") or [] if w.get("role") != "EMPTY"]
        name = str(plate.get("run_id"))
        sources = ", ".join(map(str, plate.get("sources") or []))
        instrument = plate.get("instrument")
        out.append(
            f"<h3>Plate {text(name)} <span class='muted'>({text(sources)}"
            f"{', instrument ' + text(instrument) if instrument else ''})</span></h3>"
        )
        role_svg = plate_map_svg(
            plate.get("wells") or [],
            lambda w: ROLE_COLOURS.get(str(w.get("role")), "#FFFFFF"),
            _plate_tip,
            f"dpcr-{index}-role",
            f"Plate {name} by well role",
            "Each well coloured by its role in the plate map (sample, positive control, "
            "no-template control, wild-type control, empty) and labelled with its assay; "
            "hover a well for its partitions.",
        )
        legend = "".join(
            f"<span><i class='swatch' style='background:{c}'></i>{text(r)}</span>"
            for r, c in ROLE_COLOURS.items()
        )
        out.append(
            f"<figure>{role_svg}<figcaption class='legend'>By role: {legend}</figcaption></figure>"
        )
        settings = _assay_settings(document, plate)
        for number_, assay in enumerate(dict.fromkeys(str(w.get("assay")) for w in wells)):
            mine = [w for w in wells if str(w.get("assay")) == assay]
            definition = settings.get(assay) or {}
            bars = [
                PartitionBar(
                    _well_label(w),
                    w.get("partitions") if isinstance(w.get("partitions"), int) else None,
                    _counts(w, definition),
                    _well_note(w),
                )
                for w in mine
            ]
            p0 = next((w.get("p0") for w in mine if w.get("p0") is not None), None)
            chart = partition_bars(
                f"{assay}: positive / negative partitions per well",
                bars,
                p0,
                f"dpcr-{index}-bars-{number_}",
            )
            out.append(
                f"<h4>Assay {text(assay)}</h4><figure>{chart}<figcaption>"
                f"{text(_p0_caption(document, plate, assay, mine))}</figcaption></figure>"
            )
            out.append(
                table(
                    f"Samples tested with {assay} on plate {name}: replicate wells summed",
                    (
                        "Sample",
                        "Wells used",
                        "Accepted partitions (N)",
                        "Mutant partitions (k_m)",
                        "k_req",
                        "Fraction (95 % CI)",
                        "lod95",
                        "Call",
                    ),
                    _sample_rows(document, plate, assay),
                    numeric=(2, 3, 4, 5, 6),
                )
            )
        rows = (
            (
                text(w.get("well")),
                text(w.get("role")),
                text(w.get("sample_id")),
                text(w.get("assay")),
                _count(w.get("partitions")),
                text(_channel_text(w)),
                _count(w.get("mutant_partitions")),
                fraction_with_interval(
                    {
                        "allele_fraction": w.get("fraction"),
                        "allele_fraction_ci95": w.get("fraction_ci95"),
                    }
                ),
                text(_well_note(w)),
            )
            for w in plate.get("wells") or []
        )
        out.append(
            "<details><summary>Plate wells as a table</summary>"
            + table(
                f"Wells of plate {name}: each channel's positives / negatives",
                (
                    "Well",
                    "Role",
                    "Sample",
                    "Assay",
                    "Accepted partitions",
                    "Channels: positives / negatives",
                    "Mutant partitions",
                    "Well fraction (95 % CI)",
                    "QC",
                ),
                rows,
                numeric=(4, 6, 7),
            )
            + "</details>"
        )
    out.append("</section>")
    return "".join(out)
