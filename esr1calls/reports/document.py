"""Reading a calls.json document (the dict ``report.to_json_document`` returns, or a loaded file).

Every renderer (HTML, FHIR, MultiQC, VCF, TSV) works from the document, never from in-memory
call objects, so ``esr1calls report`` re-renders earlier results with exactly the same code.
These helpers answer the questions several renderers share: which run block a sample came from
(cohort documents keep one per source), which notices apply, which calls were DETECTED or
tested, which genome build a run used, where a hotspot lies, and a unique label per sample.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from ..hotspots import EXTENDED_PANEL, default_chrom, load_panel, parse_hgvs_c
from ..model import Build, CallStatus, Reason, reportable_fraction, required_power
from ..patients import folder_labels
from ..text import exact_percent
from ..transcript import OutsideCdsError, transcript

__all__ = [
    "Locus",
    "detected_calls",
    "detected_hotspots",
    "document_builds",
    "hotspot_locus",
    "notices",
    "power_text",
    "qualified_labels",
    "reason_sentences",
    "reportable_text",
    "run_labels",
    "run_of",
    "sample_build",
    "sample_labels",
    "setting_text",
    "source_labels",
    "source_of",
    "source_runs",
    "tested_calls",
]

Document = Mapping[str, Any]


@dataclass(frozen=True)
class Locus:
    """A hotspot's VCF-style allele in one build (1-based, + strand)."""

    build: Build
    chrom: str
    pos: int
    ref: str
    alt: str

    @property
    def end(self) -> int:
        return self.pos + len(self.ref) - 1


def source_of(document: Document, item: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The ``run.sources`` entry an item (sample, QC check, plate, dropped row) came from."""
    sources = document.get("run", {}).get("sources") or []
    index = item.get("source_index")
    if isinstance(index, int) and 0 <= index < len(sources):
        source: Mapping[str, Any] = sources[index]
        return source
    return None


def run_of(document: Document, item: Mapping[str, Any]) -> Mapping[str, Any]:
    """The run block that produced ``item``: its source's run in a cohort, else the document's."""
    source = source_of(document, item)
    run: Mapping[str, Any] = source["run"] if source else document.get("run", {})
    return run


def source_runs(document: Document) -> list[Mapping[str, Any]]:
    """The run blocks that made the calls: each source's in a cohort, else the document's own."""
    run = document.get("run") or {}
    return [source.get("run") or {} for source in run.get("sources") or []] or [run]


def setting_text(
    document: Document, value_of: Callable[[Mapping[str, Any]], str | None]
) -> tuple[str | None, bool]:
    """One setting of the runs that made the calls, as text for a page-level sentence, and
    whether the runs differ in it.

    ``value_of`` turns a run's thresholds into the setting's text (None: not recorded). When
    every source run used the same value, that value; when they differ, each source's, so a
    merged document never claims one value for all: "1 % in source 1, 0.2 % in source 2".
    (None, False) when no run recorded it.
    """
    values = [value_of(run.get("thresholds") or {}) for run in source_runs(document)]
    if all(value is None for value in values):
        return None, False
    if len(set(values)) == 1:
        return values[0], False
    each = (f"{value or 'not recorded'} in source {n}" for n, value in enumerate(values, 1))
    return ", ".join(each), True


def reportable_text(thresholds: Mapping[str, Any]) -> str | None:
    """A run's reportable fraction as exact percent text ("0.25 %"); None if not recorded."""
    fraction = reportable_fraction(thresholds)
    return None if fraction is None else exact_percent(fraction)


def power_text(thresholds: Mapping[str, Any]) -> str:
    """The probability a run's NOT_DETECTED and lod95 hold at, as percent text ("95 %")."""
    return exact_percent(required_power(thresholds))


def notices(document: Document, item: Mapping[str, Any] | None = None) -> list[str]:
    """The notices a reader must see, each once.

    For the document: its run block's own (a cohort's hold its sources' and its own, such as
    "different panels"), then any only a source run recorded. For one ``item`` (a sample): its
    own run's, then the document's that came from no source run.
    """
    own = [str(n) for n in (document.get("run") or {}).get("notices") or []]
    from_runs = [str(n) for run in source_runs(document) for n in run.get("notices") or []]
    if item is None:
        return list(dict.fromkeys(own + from_runs))
    mine = [str(n) for n in run_of(document, item).get("notices") or []]
    return list(dict.fromkeys(mine + [n for n in own if n not in from_runs]))


def detected_calls(sample: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The sample's DETECTED calls, in report order."""
    return [c for c in sample.get("calls") or [] if c.get("status") == CallStatus.DETECTED.value]


def detected_hotspots(sample: Mapping[str, Any]) -> list[str]:
    """The names of the hotspots DETECTED in the sample, in report order."""
    return [str(c.get("hotspot")) for c in detected_calls(sample)]


def tested_calls(sample: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The sample's calls but those NOT_TESTED (the kit or input has no assay for the hotspot)."""
    return [
        c
        for c in sample.get("calls") or []
        if Reason.NOT_TESTED.value not in (c.get("reasons") or [])
    ]


def sample_build(sample: Mapping[str, Any]) -> Build | None:
    """The genome build the sample's data were aligned to: ``details["build"]``, where the NGS
    command records it. PCR samples have none: the caller decides the default.
    """
    details = sample.get("details")
    value = details.get("build") if isinstance(details, Mapping) else None
    try:
        return Build.parse(value) if isinstance(value, str) and value.strip() else None
    except ValueError:
        return None


def document_builds(document: Document) -> set[Build]:
    """Every build recorded for any sample of the document."""
    return {b for s in document.get("samples", []) if (b := sample_build(s))}


def hotspot_locus(name: str, hgvs_c: str, build: Build) -> Locus | None:
    """Where a hotspot lies in ``build``: from the packaged catalog (matched by name and HGVS c.),
    else computed from its HGVS c. for substitutions and same-length delins. None when neither
    works (a lab-panel deletion outside the catalog: its anchor base is not known here).
    """
    for hotspot in load_panel(EXTENDED_PANEL):
        if hotspot.name == name and _same_hgvs(hotspot.hgvs_c, hgvs_c):
            return Locus(build, default_chrom(build), hotspot.pos(build), hotspot.ref, hotspot.alt)
    try:
        c_start, c_end, replacement = parse_hgvs_c(hgvs_c)
        if len(replacement) != c_end - c_start + 1:
            return None
        ref = transcript().bases(c_start, c_end)
        pos = transcript().c_to_genomic(c_start, build)
        if transcript().c_to_genomic(c_end, build) != pos + len(ref) - 1:
            return None  # the change spans an exon boundary
    except (ValueError, OutsideCdsError):
        return None
    if not replacement or ref == replacement:
        return None
    return Locus(build, default_chrom(build), pos, ref, replacement)


def _same_hgvs(a: str, b: str) -> bool:
    """HGVS c. strings equal with or without the transcript accession."""
    return a.split(":")[-1] == b.split(":")[-1]


def sample_labels(samples: Sequence[Mapping[str, Any]]) -> list[str]:
    """One unique label per sample, for formats keyed by sample (VCF columns, MultiQC rows).

    The sample id when it is unique; ``id (PCR)`` / ``id (NGS)`` when the same id was tested by
    both methods; then ``#2``, ``#3`` for repeats. The id itself is never altered here.
    """
    ids = [str(s.get("sample_id", "")) for s in samples]
    labels = []
    for sample, sample_id in zip(samples, ids, strict=True):
        if ids.count(sample_id) > 1:
            labels.append(f"{sample_id} ({sample.get('method', '?')})")
        else:
            labels.append(sample_id)
    seen: dict[str, int] = {}
    unique = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        unique.append(label if seen[label] == 1 else f"{label} #{seen[label]}")
    return unique


def source_labels(document: Document) -> list[str]:
    """One label per ``run.sources`` entry of a merged document, naming its run: the folder of
    its calls.json (a batch job's id, a run's -o folder), with parents where two folders share a
    name, as ``esr1calls monitor`` names runs; ``source N`` where the path has no folder. Unique.
    """
    sources = (document.get("run") or {}).get("sources") or []
    folders = [PurePath(str(source.get("path") or "")).parent.parts for source in sources]
    named = folder_labels({f for f in folders if f and f != (".",)})
    labels: list[str] = []
    for number, folder in enumerate(folders, 1):
        label = named.get(folder) or f"source {number}"
        base, n = label, 1
        while label in labels:
            n += 1
            label = f"{base} ({n})"
        labels.append(label)
    return labels


def run_labels(document: Document) -> list[str] | None:
    """The run of each sample of a merged document (batch, ``esr1calls report``), as
    ``source_labels`` names it (``?`` for a sample that names no source); None for one run's
    document, where every sample has the same run."""
    if not (document.get("run") or {}).get("sources"):
        return None
    runs = source_labels(document)
    labels = []
    for sample in document.get("samples") or []:
        index = sample.get("source_index")
        inside = isinstance(index, int) and 0 <= index < len(runs)
        labels.append(runs[index] if inside else "?")
    return labels


def qualified_labels(document: Document) -> list[str]:
    """One unique label per sample of the document, qualified by its run wherever ids from
    several runs meet: ``RUN:SAMPLE`` in a merged document (batch, ``esr1calls report``), so
    plate 1's S1 and plate 2's S1 stay two rows; the plain ``sample_labels`` in one run's."""
    samples = list(document.get("samples") or [])
    runs = run_labels(document)
    if runs is None:
        return sample_labels(samples)
    groups: dict[str, list[int]] = {}
    for position, run in enumerate(runs):
        groups.setdefault(run, []).append(position)
    labels = [""] * len(samples)
    for run, positions in groups.items():
        plain = sample_labels([samples[p] for p in positions])
        for position, label in zip(positions, plain, strict=True):
            labels[position] = f"{run}:{label}"
    return labels


def flatten(mapping: Mapping[str, Any], prefix: str = "") -> Iterable[tuple[str, Any]]:
    """Nested thresholds as dotted keys; ``{"value": v, "source": s}`` leaves stay together.

    >>> list(flatten({"a": {"b": 1, "c": {"value": 2, "source": "kit"}}}))
    [('a.b', 1), ('a.c', {'value': 2, 'source': 'kit'})]
    """
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and not (
            "value" in value and set(value) <= {"value", "source"}
        ):
            yield from flatten(value, name + ".")
        else:
            yield name, value


def reason_sentences(call: Mapping[str, Any], thresholds: Mapping[str, Any]) -> list[str]:
    """Each reason code of a call with its description (numbers from ``thresholds``, the call's
    run's), then the call's action: the sentences the FHIR note and the HL7 NTE share."""
    parts = []
    for code in call.get("reasons") or []:
        try:
            parts.append(f"{code}: {Reason(str(code)).describe(thresholds)}.")
        except ValueError:
            parts.append(f"{code}.")
    if call.get("action"):
        parts.append(f"Action: {call['action']}.")
    return parts
