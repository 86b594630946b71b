"""NGS calls: VCF/BCF and BAM/CRAM files into calls by the depth-aware rule (docs/ngs.md).

:func:`call_ngs` (and :func:`call_vcf` for VCFs alone) reads the files through ``inputs.py`` and
applies the rule of ``rule.py``: to the VCF's counts, or to the reads' counts whenever a sample
has a BAM/CRAM (with the VCF's FILTER, and ``concordance.py`` checking that the two agree).
:func:`make_settings` builds the run's settings once from the options (the command line or a
batch job), reading and checking the panel of normals; nothing below unpacks them again.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..hotspots import Hotspot, Panel, load_panel
from ..model import (
    DEFAULT_MIN_ALLELE_FRACTION,
    Build,
    Call,
    CallStatus,
    Method,
    Reason,
    RunResult,
    SampleReport,
    SampleStatus,
    derive_sample_status,
    parse_build,
)
from ..text import exact_percent
from .concordance import compare_sources, mark_disagreement, view_of
from .ctdna import ctdna_proxy
from .inputs import SampleInputs, read_ngs_inputs
from .options import HAPLOID_GENOME_PG, ReadOptions
from .pon import pon_mismatch, read_pon
from .reads import (
    AMPLICON_MIN_FRAGMENTS,
    AMPLICON_SHARE,
    AMPLICON_TOP_COORDINATES,
    DUPLICATES_EXPECTED_FRAGMENTS,
    ReadCounts,
)
from .rule import (
    NgsSettings,
    UnmarkedDuplicates,
    call_hotspot,
    duplicate_notices,
    summarize_sample,
)
from .vcf_read import VcfEvidence
from .vcf_record import HotspotEvidence

__all__ = ["call_ngs", "call_vcf", "make_settings"]

log = logging.getLogger(__name__)


def _sample_report(
    evidence: VcfEvidence, panel: Panel, settings: NgsSettings, sample_id: str
) -> SampleReport:
    calls = tuple(
        _vcf_call(hotspot, found, settings, sample_id)
        for hotspot, found in zip(panel, evidence.hotspots, strict=True)
    )
    details = {
        "caller": evidence.caller.value,
        "build": evidence.build.value,
        "build_evidence": evidence.build_evidence,
        "sample_evidence": evidence.sample_evidence,
        "normal_sample": evidence.normal_sample,
        "access": evidence.access,
        "records_at_hotspots": evidence.records_at_hotspots,
        "depth_unit": settings.depth_unit,
    }
    return _ngs_report(sample_id, calls, evidence.path, details, settings)


def _vcf_call(
    hotspot: Hotspot, found: HotspotEvidence, settings: NgsSettings, sample_id: str
) -> Call:
    """One hotspot from a VCF alone. Where records repeat an allele with other counts, each
    is also called alone; if they lead to different calls, none is claimed."""

    def judge(evidence: HotspotEvidence) -> Call:
        return call_hotspot(
            hotspot, evidence.counts, settings, sample_id=sample_id,
            alt_count_range=evidence.alt_count_range, reasons=evidence.reasons,
            details=evidence.details,
        )  # fmt: skip

    call = judge(found)
    if found.action and call.status is CallStatus.INDETERMINATE:
        call = replace(call, action=found.action)
    alone = [(place, judge(evidence)) for place, evidence in found.each_record_alone]
    if all(other.status is call.status for _, other in alone):
        return call
    seen = [
        f"{place}: {other.status.value} ({other.alt_count} of {other.depth})"
        for place, other in alone
    ]
    return replace(
        call,
        status=CallStatus.INDETERMINATE,
        reasons=(Reason.SOURCES_DISAGREE, *call.reasons),
        action=(
            "the VCF lists this allele in several records whose counts lead to different calls "
            f"({'; '.join(seen)}): check how the file was made (two runs' records in one file, "
            "bcftools concat without -a) and call one run's records"
        ),
        evidence={**call.evidence, "disagreement": seen, "records_alone": [
            {"place": place, "status": other.status.value, "alt_count": other.alt_count,
             "depth": other.depth, "reasons": [r.value for r in other.reasons]}
            for place, other in alone
        ]},
    )  # fmt: skip


def _ngs_report(
    sample_id: str,
    calls: tuple[Call, ...],
    source: str,
    details: dict[str, Any],
    settings: NgsSettings,
) -> SampleReport:
    """One NGS sample, its status and summary sentence derived from its calls."""
    status = derive_sample_status(calls)
    return SampleReport(
        sample_id=sample_id,
        method=Method.NGS,
        status=status,
        summary=summarize_sample(calls, status, min_allele_fraction=settings.min_allele_fraction),
        calls=calls,
        source=source,
        details=details,
    )


def make_settings(
    panel: Panel,
    *,
    min_allele_fraction: float = DEFAULT_MIN_ALLELE_FRACTION,
    background_error: float | None = None,
    pon: str | Path | None = None,
    reads: ReadOptions | None = None,
) -> NgsSettings:
    """The run's settings from its options, once: the calling rule's numbers, how reads are
    counted (``reads``: its ``umi`` is the run's), and the panel of normals read and checked.

    Raises ConfigError naming the option for a value out of range or a PoN that cannot be used.
    """
    if 0.05 < min_allele_fraction < 1.0:  # valid, but probably meant as a percent
        log.warning(
            "--min-allele-fraction %s is %s; it is a fraction (0.002 = 0.2 %%), not a percent",
            min_allele_fraction, exact_percent(min_allele_fraction),
        )  # fmt: skip
    reads = reads or ReadOptions()
    if pon is None:
        return NgsSettings(min_allele_fraction=min_allele_fraction, reads=reads,
                           background_error=background_error)  # fmt: skip
    known = set(panel.names) | set(load_panel("extended").names)
    normals = read_pon(pon, known_hotspots=known, umi=reads.umi)
    return NgsSettings(
        min_allele_fraction=min_allele_fraction,
        reads=reads,
        background_error=background_error,
        pon_error_rates=normals.error_rates(),
        pon_name=Path(pon).name,
        pon=normals,
    )


def call_vcf(
    path: str | Path,
    *,
    panel: Panel | None = None,
    settings: NgsSettings | None = None,
    sample: str | None = None,
    build: Build | str | None = None,
) -> RunResult:
    """Call every hotspot of ``panel`` (default: the 11) in one VCF/BCF: ``call_ngs([path])``.

    Returns the report-ready result (one sample, its inputs with sha256, dropped records,
    thresholds); ``result.samples[0].calls`` holds one Call per hotspot, in panel order.
    """
    return call_ngs([path], panel=panel, settings=settings, sample=sample, build=build)


def call_ngs(
    paths: Sequence[str | Path],
    *,
    panel: Panel | None = None,
    settings: NgsSettings | None = None,
    sample: str | None = None,
    build: Build | str | None = None,
) -> RunResult:
    """Call VCF/BCF and BAM/CRAM files, in any mix, into one report-ready result.

    Files are recognised by content. A BAM/CRAM and a VCF of the same sample are one sample
    (``inputs.py`` says when): x, n and strands come from the reads, FILTER from the VCF,
    and a disagreement between them is INDETERMINATE ``SOURCES_DISAGREE`` (``concordance.py``).
    ``settings`` (:func:`make_settings`) hold the rule's numbers and, in ``settings.reads``, how
    reads are counted; the PoN they were made with is listed among the inputs.
    """
    panel = panel or load_panel()
    settings = settings or NgsSettings()
    read_options = settings.reads
    found = read_ngs_inputs(
        paths, panel, build=parse_build(build), sample=sample, read_options=read_options
    )
    for group in found.samples:
        _check_pon_fits(settings, group, read_options)
    samples = [
        _sample_report(group.vcf, panel, settings, group.sample_id)
        if group.reads is None and group.vcf is not None
        else _reads_sample_report(
            group, panel, settings, sample_given=sample is not None, read_options=read_options
        )
        for group in found.samples
    ]
    samples = [
        _with_ctdna(report, group) for report, group in zip(samples, found.samples, strict=True)
    ]
    thresholds = settings.thresholds(panel)
    notices = list(found.notices)
    if any(group.reads is not None for group in found.samples):
        thresholds["read_counting"] = _read_counting(read_options)
        for group in found.samples:
            if group.reads is not None:
                notices.extend(duplicate_notices(group.reads.counts, read_options))
    pon_input = () if settings.pon is None else (settings.pon.input,)
    return RunResult(
        samples=tuple(samples),
        inputs=(*found.inputs, *pon_input),
        dropped=found.dropped,
        panel=panel.describe(),
        thresholds=thresholds,
        notices=tuple(dict.fromkeys(notices)),
    )


def _with_ctdna(report: SampleReport, group: SampleInputs) -> SampleReport:
    """A NEGATIVE sample with its VCF's ctDNA-fraction proxy (ctdna.py); only negatives need it."""
    if report.status is not SampleStatus.NEGATIVE or group.vcf is None:
        return report
    vcf = group.vcf
    ctdna = ctdna_proxy(
        vcf.path,
        caller=vcf.caller,
        build=vcf.build,
        sample=vcf.sample_id,
        normal=vcf.normal_sample,
    )
    return replace(report, ctdna=ctdna)


def _read_counting(options: ReadOptions) -> dict[str, Any]:
    described: dict[str, Any] = {
        "unit": options.unit,
        "min_base_quality": options.min_base_quality,
        "min_mapping_quality": options.min_mapping_quality,
        "reference": None if options.reference is None else str(options.reference),
    }
    if options.umi:
        described["min_family_size"] = options.min_family_size
    described.update(
        include_unlabelled_read_groups=options.include_unlabelled_read_groups,
        reads_are_molecules=options.reads_are_molecules,
        input_ng=options.input_ng,
        input_copies=options.input_copies,
        haploid_genome_pg=HAPLOID_GENOME_PG,
        duplicates_expected_fragments=DUPLICATES_EXPECTED_FRAGMENTS,
        amplicon=f"at least {AMPLICON_SHARE:.0%} of a codon's usable fragments (of "
        f"{AMPLICON_MIN_FRAGMENTS} or more) share its {AMPLICON_TOP_COORDINATES} most common "
        "coordinates, at most codons",
    )
    return described


def _check_pon_fits(settings: NgsSettings, group: SampleInputs, options: ReadOptions) -> None:
    """A PoN is used only for counts made the way its own were (ConfigError otherwise)."""
    if settings.pon is None:
        return
    why = pon_mismatch(
        settings.pon, counts_from=group.counts_from, read_settings=options.pon_settings()
    )
    if why is None:
        return
    if settings.pon.counts_from != group.counts_from:
        fix = (
            "build the PoN from normal BAM/CRAMs counted with this run's options "
            "(esr1calls pon build NORMAL.bam... -o pon.tsv)"
            if group.counts_from == "reads"
            else "use a PoN built from normal VCFs of the same caller, or give the sample's BAM"
        )
    else:
        fix = "run with the PoN's settings, or rebuild the PoN with this run's"
    raise ConfigError(
        f"{settings.pon_name}: cannot be used for sample {group.sample_id} ({group.source}): "
        f"{why}; {fix}"
    )


def _reads_sample_report(
    group: SampleInputs,
    panel: Panel,
    settings: NgsSettings,
    *,
    sample_given: bool,
    read_options: ReadOptions,
) -> SampleReport:
    """Calls from the reads of one sample, with its VCF's FILTER and a concordance check."""
    reads = group.reads
    assert reads is not None  # the caller sends reads-less samples to _sample_report
    counts = reads.counts
    vcf = group.vcf
    calls = tuple(
        _reads_call(
            hotspot,
            counts,
            None if vcf is None else vcf.hotspots[index],
            settings,
            sample_id=group.sample_id,
            vcf_name="" if vcf is None else Path(vcf.path).name,
            genome_copies=read_options.genome_copies,
        )
        for index, hotspot in enumerate(panel)
    )
    sample_evidence = (
        "--sample" if sample_given else "@RG SM" if counts.sample_id else "no @RG SM: file name"
    )
    details: dict[str, Any] = {
        "build": counts.build.value,
        "build_evidence": counts.build_evidence,
        "reads": f"{Path(counts.path).name} ({counts.file_format.upper()})",
        "sample_evidence": sample_evidence,
        "read_groups": counts.settings.get("read_groups", "all"),
        "depth_unit": counts.unit,
    }
    if "unlabelled_read_groups" in counts.settings:
        details["unlabelled_read_groups"] = counts.settings["unlabelled_read_groups"]
    if counts.duplicates is not None:
        details["duplicates"] = counts.duplicates.as_dict()
    if vcf is not None:
        details.update(
            {
                "counts_from": "reads (x, n, strands); the VCF gives FILTER and is checked "
                "against the reads",
                "pairing": group.pairing,
                "vcf": Path(vcf.path).name,
                "caller": vcf.caller.value,
                "vcf_sample": vcf.sample_id,
                "vcf_sample_evidence": vcf.sample_evidence,
                "records_at_hotspots": vcf.records_at_hotspots,
            }
        )
    return _ngs_report(group.sample_id, calls, group.source, details, settings)


def _reads_call(
    hotspot: Hotspot,
    reads: ReadCounts,
    vcf: HotspotEvidence | None,
    settings: NgsSettings,
    *,
    sample_id: str,
    vcf_name: str,
    genome_copies: float | None = None,
) -> Call:
    """One hotspot from the reads; with a VCF, its FILTER applies and the two must agree."""
    counts = reads[hotspot.name]
    codon = reads.codon_of(hotspot.name)
    # any other class at the codon: another hotspot, or a change outside the panel
    others = codon.depth - codon.reference - (counts.alt_count or 0)
    given = [Reason.OTHER_CHANGE_IN_CODON] if others > 0 else []
    details: dict[str, Any] = {"codon": codon.as_dict()}
    if vcf is not None:
        counts = replace(
            counts,
            source=f"{counts.source}+vcf",
            place=f"{counts.place}; {vcf.counts.place}",
            filters=vcf.counts.filters,
        )
        details["vcf"] = _vcf_view(vcf)
    duplicates = reads.duplicates
    if duplicates is not None and duplicates.unmarked and counts.depth:
        # fragments may be reads of the same molecules: see "Unmarked duplicates" below
        judged = UnmarkedDuplicates(hotspot.name, counts, codon, duplicates, genome_copies)
        details["duplicates"] = judged.evidence()
        if genome_copies is None:
            call = call_hotspot(
                hotspot, counts, settings, sample_id=sample_id, reasons=given, details=details
            )
            call = judged.without_input(call, settings, Path(reads.path).name)
        else:
            molecules, alt_range = judged.in_molecules()
            call = call_hotspot(
                hotspot, molecules, settings, sample_id=sample_id, alt_count_range=alt_range,
                reasons=[*given, Reason.UNMARKED_DUPLICATES], details=details,
            )  # fmt: skip
            if call.reasons and call.reasons[0] is Reason.UNMARKED_DUPLICATES:
                call = replace(call, action=judged.range_action(call))
    else:
        call = call_hotspot(
            hotspot, counts, settings, sample_id=sample_id, reasons=given, details=details
        )
    if vcf is None:
        return call
    background = settings.background(hotspot.name).error_rate
    judge = partial(view_of, error_rate=background, settings=settings)
    x = counts.alt_count
    low, high = vcf.alt_count_range or (vcf.counts.alt_count, vcf.counts.alt_count)
    reads_view, vcf_view = judge(x, x, counts.depth), judge(low, high, vcf.counts.depth)
    # with UMIs, a caller run on raw grouped reads counts every raw read behind the molecules
    raw_reads = sum(size * n for size, n in codon.family_sizes.items()) or None
    findings = compare_sources(
        reads_view, vcf_view, required_power=settings.power, raw_reads=raw_reads
    )
    if not findings:
        return call
    reads_name = Path(reads.path).name
    marked = mark_disagreement(call, findings, reads_name=reads_name, vcf_name=vcf_name)
    evidence = dict(marked.evidence)
    evidence["vcf"] = {**evidence["vcf"], "judged_alone": vcf_view.as_dict()}
    return replace(marked, evidence=evidence)


def _vcf_view(vcf: HotspotEvidence) -> dict[str, Any]:
    """What the VCF said at a hotspot, for the evidence of a call made from the reads."""
    return {
        "place": vcf.counts.place,
        "alt_count": vcf.counts.alt_count,
        "alt_count_range": None if vcf.alt_count_range is None else list(vcf.alt_count_range),
        "depth": vcf.counts.depth,
        "fields": dict(vcf.counts.fields),
        "filters": list(vcf.counts.filters),
        "reasons": [r.value for r in vcf.reasons],
        "details": dict(vcf.details),
    }
