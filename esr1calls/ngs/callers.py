# Size: about 900 lines, one concept: everything esr1calls knows about each VCF caller, kept in
# this one file so that a new caller is added here (docs/architecture.md, "A new VCF caller").
"""Everything esr1calls knows about each variant caller, in one place.

For each :class:`Caller`: how its header reveals it (:func:`detect_caller`) and which sample
column is the tumour (:func:`select_sample`); how its records give x (alt count) and n (depth),
in ONE table, :data:`COUNT_RULES`, every count recording the fields it came from; what its FILTER
values mean (:data:`CALLER_FILTERS`); what its silence about an allele means
(:class:`AbsentAllele`, :func:`read_silence`); and what a report must say about how it ran
(:func:`caller_notices`). Nothing here opens a file: ``vcf_read.py`` reads the records and
``vcf_match.py`` matches them to the hotspots by codon effect.

* A hotspot allele that no record lists, at a codon some record covers, is 0 only for a caller
  that weighs every allele there (Mutect2); otherwise it is bounded by the reads a record at its
  position leaves unassigned, or unknown (ALLELE_NOT_REPORTED). Once records were removed after
  calling (``bcftools view -f PASS``), silence is evidence of nothing.
* A FILTER value not listed in :data:`CALLER_FILTERS` is treated as a possible artefact: an
  unknown filter can only make a call INDETERMINATE, never NOT_DETECTED or DETECTED.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from ..errors import VcfFormatError
from ..hotspots import Hotspot
from ..model import AlleleCounts, Build, Reason
from .vcf_record import (
    NEAR_BASES,
    HotspotEvidence,
    SiteCounts,
    VcfHeader,
    VcfRecord,
    changed_positions,
    is_sequence,
    substitutions,
)

__all__ = [
    "CALLER_FILTERS",
    "COUNT_RULES",
    "AbsentAllele",
    "Caller",
    "CountRule",
    "FilterKind",
    "caller_hotspot_id",
    "caller_notices",
    "classify_filter",
    "detect_caller",
    "info_is_tumour",
    "is_gvcf",
    "read_silence",
    "records_removed_by",
    "require_counts",
    "select_sample",
    "site_counts",
    "vardict_sample_conflict",
    "with_caller_filters",
]


class FilterKind(StrEnum):
    BENIGN = "benign"  # the caller's own threshold, which the count rule replaces
    ARTEFACT = "artefact"  # the caller suspects an artefact: neither DETECTED nor NOT_DETECTED


# The ONE table of caller FILTER values (full match, case-sensitive; numbers are thresholds).
# Anything not listed is treated as a possible artefact: an unknown filter can only make a call
# INDETERMINATE, never turn it into NOT_DETECTED or DETECTED.
CALLER_FILTERS: tuple[tuple[str, FilterKind, str], ...] = (
    (r"PASS|\.", FilterKind.BENIGN, "passed"),
    (r"weak_evidence|LowEVS|QSS_ref|q\d+(\.\d+)?|LowQscore|LowQual|LowGQ|LowSQ"
     r"|DRAGEN(Snp|Indel)HardQUAL|min_snvqual_\d+|min_indelqual_\d+|P\d*\.?\d+",
     FilterKind.BENIGN, "below the caller's own quality or likelihood threshold"),
    (r"multiallelic|MultiAllelicSite", FilterKind.BENIGN,
     "several alt alleles at the site (polyclonal ESR1 mutations are common)"),
    (r"clustered_events|haplotype", FilterKind.BENIGN,
     "several events nearby (ESR1 codons 536-538 are adjacent)"),
    (r"low_allele_frac|low_af|LowVariantFreq|LowFreq|f\d*\.?\d+|min_af_[\d.]+", FilterKind.BENIGN,
     "below the caller's allele-fraction threshold"),
    (r"low_depth|LowDepth|LowDP|d\d+|min_dp_\d+|too_few_supporting_reads|v\d+",
     FilterKind.BENIGN, "below the caller's depth or alt-count threshold (the rule checks both)"),
    (r"germline|normal_artifact|non_homref_normal|alt_allele_in_normal", FilterKind.ARTEFACT,
     "germline or present in the normal"),
    (r"panel_of_normals|systematic_noise|BCNoise|systematic_error", FilterKind.ARTEFACT,
     "recurrent noise (panel of normals)"),
    (r"strand_bias|strict_strand|Bias|sb_fdr|SB|STDBIAS|STRANDBIAS|BSTRAND", FilterKind.ARTEFACT,
     "strand bias"),
    (r"orientation|position|read_position|fragment|fragment_length|pSTD|duplicate",
     FilterKind.ARTEFACT, "read-position, orientation or fragment artefact"),
    (r"base_qual|base_quality|map_qual|mapping_quality|Q\d+(\.\d+)?|n_ratio|NM\d*\.?\d*"
     r"|SN\d*\.?\d*", FilterKind.ARTEFACT, "low base or mapping quality of the alt reads"),
    (r"slippage|str_contraction|MSI\d*|LongMSI|R\d+x\d+|Repeat|iHpol|InGap|InIns|SpanDel"
     r"|Cluster\d+bp", FilterKind.ARTEFACT, "repeat or indel context"),
    (r"contamination|numt_chimera|numt_novel|HighDepth|DP|AMPBIAS|REJECT", FilterKind.ARTEFACT,
     "contamination, collapsed repeat or generic rejection"),
)  # fmt: skip
_FILTER_PATTERNS = [(re.compile(p), kind, why) for p, kind, why in CALLER_FILTERS]
_TVC_BENIGN = re.compile(r"MINCOV|QualityScore|MINVAF|MINQUAL", re.I)


def classify_filter(name: str) -> tuple[FilterKind, str]:
    """(kind, why) for one FILTER value; unknown values are possible artefacts.

    >>> classify_filter("multiallelic")[0].value, classify_filter("germline")[0].value
    ('benign', 'artefact')
    >>> classify_filter("f0.02")[0].value, classify_filter("made_up")[0].value
    ('benign', 'artefact')
    """
    if name.startswith("NOCALL"):  # TVC: the reason is in INFO/FR, passed as NOCALL(<FR>)
        inner = name[len("NOCALL") :].strip("()")
        if inner and all(_TVC_BENIGN.search(part) for part in inner.split("|")):
            return FilterKind.BENIGN, f"TVC NOCALL for coverage or quality ({inner})"
        return FilterKind.ARTEFACT, f"TVC NOCALL ({inner or 'no FR reason'})"
    for pattern, kind, why in _FILTER_PATTERNS:
        if pattern.fullmatch(name):
            return kind, why
    return FilterKind.ARTEFACT, "unknown FILTER value: treated as a possible artefact"


class Caller(StrEnum):
    """Variant callers whose count conventions esr1calls knows (value = name in reports)."""

    MUTECT2 = "Mutect2"
    HAPLOTYPECALLER = "HaplotypeCaller"
    MUTECT1 = "MuTect1"
    STRELKA = "Strelka"
    VARSCAN2 = "VarScan2"
    VARDICT = "VarDict"
    LOFREQ = "LoFreq"
    FREEBAYES = "FreeBayes"
    BCFTOOLS = "bcftools"
    PISCES = "Pisces"
    DRAGEN = "DRAGEN"
    TVC = "Ion Torrent TVC"
    GENERIC = "generic"


def detect_caller(header: VcfHeader) -> Caller:
    """The producing caller, from ``##source`` and other header evidence (notes §2.13 order)."""
    sources = [s.lower() for s in header.sources()]
    keys = set(header.meta)

    def source_starts(*prefixes: str) -> bool:
        return any(s.startswith(p) for s in sources for p in prefixes)

    if source_starts("mutect2", "filtermutectcalls") or "MutectVersion" in keys:
        return Caller.MUTECT2
    if source_starts("haplotypecaller") or any(
        "ID=HaplotypeCaller" in v for v in header.meta.get("GATKCommandLine", ())
    ):
        return Caller.HAPLOTYPECALLER
    if source_starts("strelka"):
        return Caller.STRELKA
    if source_starts("varscan"):
        return Caller.VARSCAN2
    if source_starts("vardict"):
        return Caller.VARDICT
    if source_starts("lofreq"):
        return Caller.LOFREQ
    if source_starts("freebayes"):
        return Caller.FREEBAYES
    if source_starts("pisces"):
        return Caller.PISCES
    if source_starts("dragen") or keys & {"DRAGENVersion", "DRAGENCommandLine"}:
        return Caller.DRAGEN
    if source_starts("tvc") or any("torrent" in s for s in sources):
        return Caller.TVC
    # mpileup's own output says ##bcftoolsCommand=mpileup ... (1.16 does); other pipelines
    # keep ##bcftools_mpileupCommand. Every bcftools command adds ##bcftoolsVersion, so only
    # mpileup or call name the caller.
    ran = {c.split()[0] for c in header.meta.get("bcftoolsCommand", ()) if c.strip()}
    legacy = {"bcftools_callVersion", "bcftools_mpileupVersion", "samtoolsVersion"}
    if keys & legacy or ran & {"mpileup", "call"}:
        return Caller.BCFTOOLS
    if {"FA", "SS"} <= set(header.formats):
        return Caller.MUTECT1
    if {"AU", "CU", "GU", "TU"} <= set(header.formats) or {"TAR", "TIR"} <= set(header.formats):
        return Caller.STRELKA
    if _declares_non_ref(header):
        return Caller.HAPLOTYPECALLER
    return Caller.GENERIC


def _declares_non_ref(header: VcfHeader) -> bool:
    return "NON_REF" in "".join(header.meta.get("ALT", ()))


def is_gvcf(header: VcfHeader) -> bool:
    """A GATK-style gVCF: a ``<NON_REF>`` ALT or ``##GVCFBlock`` lines in the header, so every
    base it evaluated lies in a record or a reference block."""
    return _declares_non_ref(header) or any(key.startswith("GVCFBlock") for key in header.meta)


_FIXED_TUMOUR_NAME = {Caller.STRELKA, Caller.VARSCAN2, Caller.MUTECT1}


def select_sample(
    header: VcfHeader, caller: Caller, wanted: str | None
) -> tuple[str | None, str, str | None]:
    """(tumour sample, how it was chosen, normal sample) by the notes' order of evidence.

    Raises ValueError naming the samples when the choice is ambiguous or ``wanted`` is absent.
    ``None`` as the sample means a sites-only VCF (counts are in INFO, e.g. LoFreq).
    """
    samples = header.samples
    listed = ", ".join(samples) or "none"
    tumour_meta = [v.strip() for v in header.meta.get("tumor_sample", ())]
    normal_meta = [v.strip() for v in header.meta.get("normal_sample", ())]
    normal = normal_meta[0] if normal_meta and normal_meta[0] in samples else None
    if wanted is not None:
        if wanted not in samples:
            raise ValueError(f"sample {wanted!r} is not in this VCF. Samples: {listed}")
        return wanted, "--sample", normal if normal != wanted else None
    if not samples:
        return None, "sites-only VCF: counts read from INFO", None
    if len(set(tumour_meta)) > 1:
        raise ValueError(
            f"{len(set(tumour_meta))} ##tumor_sample lines ({', '.join(dict.fromkeys(tumour_meta))}"
            "): a multi-tumour VCF holds several samples; run esr1calls once per sample with "
            "--sample"
        )
    if tumour_meta:
        if tumour_meta[0] not in samples:
            raise ValueError(
                f"##tumor_sample={tumour_meta[0]} is not a sample column ({listed}); pass --sample"
            )
        return tumour_meta[0], "##tumor_sample", normal
    if caller in _FIXED_TUMOUR_NAME and "TUMOR" in samples:
        return (
            "TUMOR",
            f"{caller.value} names the tumour column TUMOR",
            ("NORMAL" if "NORMAL" in samples else None),
        )
    if caller is Caller.VARDICT and len(samples) == 2:
        return samples[0], "VarDict paired output: the tumour is the first column", samples[1]
    if caller is Caller.TVC:
        return samples[0], "Ion Torrent TVC: the primary sample is the first column", None
    if caller is Caller.DRAGEN:
        for line in header.meta.get("DRAGENCommandLine", ()):
            found = re.search(r"--RGSM-tumor[= ]+(\S+?)[\",\s]", line + " ")
            if found and found.group(1) in samples:
                return found.group(1), "DRAGEN --RGSM-tumor", None
    if len(samples) == 1:
        return samples[0], "the only sample", None
    raise ValueError(
        f"{len(samples)} samples and no ##tumor_sample line: {listed}. "
        "Choose the tumour with --sample"
    )


def info_is_tumour(header: VcfHeader, caller: Caller) -> bool:
    """INFO counts describe the tumour: a sites-only or one-sample VCF, or VarDict (its INFO
    holds the tumour's DP/VD). In other multi-sample VCFs INFO sums every sample (or is the
    normal's), so it never stands in for a missing FORMAT value."""
    return len(header.samples) <= 1 or caller is Caller.VARDICT


def vardict_sample_conflict(
    rec: VcfRecord, header: VcfHeader, caller: Caller, sample: str | None, requested: str | None
) -> str:
    """Why the chosen tumour column contradicts the record ("" when it does not): VarDict names
    its tumour in INFO/SAMPLE, and paired output may put it in the second column."""
    named = rec.info.get("SAMPLE")
    if (
        caller is Caller.VARDICT
        and requested is None
        and isinstance(named, str)
        and named != sample
        and named in header.samples
    ):
        return (
            f"VarDict names the tumour {named} (INFO/SAMPLE), but it is not the first sample "
            f"column ({sample}); pass --sample {named}"
        )
    return ""


class AbsentAllele(StrEnum):
    """What it means when a record covers a hotspot's codon but does not list its allele."""

    EVALUATED = "evaluated"  # the caller weighs every allele it sees there: count 0
    BOUNDED = "bounded"  # reads carrying no listed allele (if counted) bound the count
    UNKNOWN = "unknown"  # the caller drops low-fraction alleles: the count is unknown


@dataclass(frozen=True)
class CountRule:
    """How one caller's VCF gives x (alt count) and n (depth): one row of :data:`COUNT_RULES`."""

    alt_count: str
    depth: str
    absent: AbsentAllele
    absent_why: str
    extract: Callable[[VcfRecord], SiteCounts | None]


def _int(value: Any) -> int | None:
    if isinstance(value, tuple):
        value = value[0] if len(value) == 1 else None
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _ints(value: Any) -> tuple[int | None, ...] | None:
    """A tuple of counts from a pysam value (tuple, scalar, or a comma string); None if absent."""
    if value is None:
        return None
    if isinstance(value, str):
        value = tuple(value.split(","))
    if not isinstance(value, tuple):
        value = (value,)
    result = tuple(_int(v) for v in value)
    return None if all(v is None for v in result) else result


def _floats(value: Any) -> tuple[float | None, ...]:
    if value is None:
        return ()
    items = value if isinstance(value, tuple) else (value,)
    out: list[float | None] = []
    for item in items:
        try:
            text = str(item).strip()
            out.append(float(text[:-1]) / 100 if text.endswith("%") else float(text))
        except (TypeError, ValueError):
            out.append(None)
    return tuple(out)


def _complete(counts: tuple[int | None, ...] | None, length: int) -> tuple[int, ...] | None:
    if counts is None or len(counts) != length or any(c is None for c in counts):
        return None
    return tuple(c for c in counts if c is not None)


def _where(rec: VcfRecord, key: str) -> str:
    return "FORMAT" if key in rec.sample else "INFO"


def _symbolic_other(rec: VcfRecord, alt_counts: Sequence[int]) -> int | None:
    """Reads on <NON_REF>/<*>: HaplotypeCaller and bcftools count every unlisted allele there."""
    symbolic = [c for a, c in zip(rec.alts, alt_counts, strict=True) if not is_sequence(a)]
    return sum(symbolic) if symbolic else None


def _ad_rule(rec: VcfRecord, *, dp_counts_every_read: bool) -> SiteCounts | None:
    """AD (Number=R) callers: x = AD[allele], n = sum(AD) (all alleles), capped by DP."""
    ad = _complete(_ints(rec.value("AD")), len(rec.alts) + 1)
    if ad is None:
        return None
    total = sum(ad)
    dp = _int(rec.value("DP"))
    depth, depth_field = total, f"sum({_where(rec, 'AD')}/AD)"
    if dp is not None and dp < total:
        depth, depth_field = dp, f"{_where(rec, 'DP')}/DP (below sum of AD)"
    other = _symbolic_other(rec, ad[1:])
    other_field = "AD of <NON_REF>/<*>" if other is not None else ""
    if dp_counts_every_read and dp is not None:
        other = (other or 0) + max(0, dp - total)
        other_field = f"{_where(rec, 'DP')}/DP - sum(AD)"
    strand: tuple[tuple[int, int] | None, ...] = ()
    adf, adr = _ints(rec.value("ADF")), _ints(rec.value("ADR"))
    forward = _complete(adf, len(rec.alts) + 1)
    reverse = _complete(adr, len(rec.alts) + 1)
    if forward is not None and reverse is not None:
        strand = tuple(zip(forward[1:], reverse[1:], strict=True))
    return SiteCounts(
        alt_counts=ad[1:],
        ref_count=ad[0],
        depth=depth,
        fields={"alt_count": f"{_where(rec, 'AD')}/AD[allele]", "depth": depth_field}
        | ({"other": other_field} if other_field else {}),
        other_count=other,
        strand=strand,
        caller_fraction=_floats(rec.value("AF")),
    )


def _mutect2(rec: VcfRecord) -> SiteCounts | None:
    counts = _ad_rule(rec, dp_counts_every_read=False)
    if counts is None:
        return None
    sb = _complete(_ints(rec.value("SB")), 4)
    if sb is not None and len(rec.alts) == 1:  # SB sums all alts: per allele only if biallelic
        counts = replace(counts, strand=((sb[2], sb[3]),))
    return counts


def _haplotypecaller(rec: VcfRecord) -> SiteCounts | None:
    return _ad_rule(rec, dp_counts_every_read=False)


def _dp_minus_ad(rec: VcfRecord) -> SiteCounts | None:
    return _ad_rule(rec, dp_counts_every_read=True)


def _bcftools(rec: VcfRecord) -> SiteCounts | None:
    counts = _ad_rule(rec, dp_counts_every_read=False)
    if counts is not None:
        return counts
    dv, dp = _int(rec.value("DV")), _int(rec.value("DP"))
    if dv is not None and dp is not None and len(rec.alts) == 1:  # legacy DV sums every alt
        return SiteCounts(
            alt_counts=(dv,),
            ref_count=dp - dv,
            depth=dp,
            fields={"alt_count": "FORMAT/DV", "depth": "FORMAT/DP"},
        )
    return _dp4(rec) if not rec.sample and len(rec.alts) == 1 else None


def _vardict(rec: VcfRecord) -> SiteCounts | None:
    vd, dp = _int(rec.value("VD")), _int(rec.value("DP"))
    ad = _complete(_ints(rec.value("AD")), len(rec.alts) + 1)
    if vd is None and ad is not None and len(ad) == 2:
        vd = ad[1]
    if vd is None or dp is None or len(rec.alts) != 1:
        return None
    ref = ad[0] if ad is not None else None
    ald = _complete(_ints(rec.value("ALD")), 2)
    return SiteCounts(
        alt_counts=(vd,),
        ref_count=ref,
        depth=dp,
        fields={"alt_count": f"{_where(rec, 'VD')}/VD", "depth": f"{_where(rec, 'DP')}/DP"}
        | ({"other": "DP - AD[ref] - VD"} if ref is not None else {}),
        other_count=max(0, dp - ref - vd) if ref is not None else None,
        strand=((ald[0], ald[1]),) if ald is not None else (),
        caller_fraction=_floats(rec.value("AF")),
    )


def _varscan2(rec: VcfRecord) -> SiteCounts | None:
    alt, ref = _int(rec.value("AD")), _int(rec.value("RD"))
    if alt is None or ref is None or len(rec.alts) != 1:
        return None
    dp4 = _complete(_ints(rec.value("DP4")), 4)
    return SiteCounts(
        alt_counts=(alt,),
        ref_count=ref,
        depth=ref + alt,
        fields={"alt_count": "FORMAT/AD (alt only)", "depth": "FORMAT/RD + FORMAT/AD"},
        strand=((dp4[2], dp4[3]),) if dp4 is not None else (),
        caller_fraction=_floats(rec.value("FREQ")),
    )


def _strelka(rec: VcfRecord) -> SiteCounts | None:
    tiers = {base: _ints(rec.value(f"{base}U")) for base in "ACGT"}
    if all(t is not None and t[0] is not None for t in tiers.values()):
        base_counts = {b: int(t[0]) for b, t in tiers.items() if t is not None and t[0] is not None}
        alts = tuple(base_counts.get(a) if len(a) == 1 else None for a in rec.alts)
        return SiteCounts(
            alt_counts=alts,
            ref_count=base_counts.get(rec.ref[:1]),
            depth=sum(base_counts.values()),
            fields={"alt_count": "FORMAT/<ALT>U[0] (tier 1)", "depth": "sum of tier-1 AU,CU,GU,TU"},
            base_counts=base_counts,
        )
    tar, tir = _ints(rec.value("TAR")), _ints(rec.value("TIR"))
    if tar is None or tir is None or tar[0] is None or tir[0] is None or len(rec.alts) != 1:
        return None
    tor = _ints(rec.value("TOR"))
    return SiteCounts(
        alt_counts=(tir[0],),
        ref_count=tar[0],
        depth=tar[0] + tir[0],
        fields={"alt_count": "FORMAT/TIR[0] (tier 1)", "depth": "FORMAT/TAR[0] + FORMAT/TIR[0]"}
        | ({"other": "FORMAT/TOR[0]"} if tor and tor[0] is not None else {}),
        other_count=tor[0] if tor else None,
        # TAR/TIR/TOR count reads for the indel's alleles over its span, not bases: a base change
        # inside a deletion is neither in TIR nor excluded by a small TOR
        other_bounds_bases=False,
    )


def _dp4(rec: VcfRecord) -> SiteCounts | None:
    """LoFreq (and legacy bcftools) DP4 = ref-fwd, ref-rev, alt-fwd, alt-rev for this ALT."""
    dp4 = _complete(_ints(rec.info.get("DP4")), 4)
    if dp4 is None or len(rec.alts) != 1 or not rec.info_is_tumour:
        return None
    ref, alt = dp4[0] + dp4[1], dp4[2] + dp4[3]
    raw = _int(rec.info.get("DP"))
    return SiteCounts(
        alt_counts=(alt,),
        ref_count=ref,
        depth=ref + alt,
        fields={"alt_count": "INFO/DP4[2]+DP4[3]", "depth": "INFO/DP4 ref + alt (quality bases)"}
        | ({"other": "INFO/DP - sum(DP4)"} if raw is not None else {}),
        other_count=max(0, raw - ref - alt) if raw is not None else None,
        strand=((dp4[2], dp4[3]),),
        caller_fraction=_floats(rec.info.get("AF")),
    )


def _ro_ao(rec: VcfRecord, ref_key: str, alt_key: str, depth_key: str) -> SiteCounts | None:
    ro = _int(rec.value(ref_key))
    ao = _complete(_ints(rec.value(alt_key)), len(rec.alts))
    if ro is None or (ao is None and rec.alts):
        return None
    alts = ao or ()
    dp = _int(rec.value(depth_key))
    where = _where(rec, alt_key)
    strand: tuple[tuple[int, int] | None, ...] = ()
    forward_key, reverse_key = ("FSAF", "FSAR") if alt_key == "FAO" else ("SAF", "SAR")
    forward = _complete(_ints(rec.value(forward_key)), len(rec.alts))
    reverse = _complete(_ints(rec.value(reverse_key)), len(rec.alts))
    # INFO strand counts sum every sample: per-sample only when the VCF has no sample columns
    from_info = _where(rec, forward_key) == "INFO" and bool(rec.sample)
    if forward is not None and reverse is not None and not from_info:
        strand = tuple(zip(forward, reverse, strict=True))
    return SiteCounts(
        alt_counts=alts,
        ref_count=ro,
        depth=ro + sum(alts),
        fields={
            "alt_count": f"{where}/{alt_key}[allele]",
            "depth": f"{_where(rec, ref_key)}/{ref_key} + sum({alt_key})",
        }
        | ({"other": f"{depth_key} - {ref_key} - sum({alt_key})"} if dp is not None else {}),
        other_count=max(0, dp - ro - sum(alts)) if dp is not None else None,
        strand=strand,
    )


def _freebayes(rec: VcfRecord) -> SiteCounts | None:
    return _ro_ao(rec, "RO", "AO", "DP")


def _tvc(rec: VcfRecord) -> SiteCounts | None:
    if rec.value("MDP") is not None:  # tag sequencing: molecular counts, never reads
        counts = _ro_ao(rec, "MRO", "MAO", "MDP")
        if counts is not None:
            return counts
    counts = _ro_ao(rec, "FRO", "FAO", "FDP")
    if counts is None:
        return None
    fdp = _int(rec.value("FDP"))
    if fdp is not None:  # FDP is the flow-evaluated depth of every allele at the locus
        counts = replace(counts, depth=fdp, fields={**counts.fields, "depth": "FDP"})
    return replace(counts, caller_fraction=_floats(rec.value("AF")))


def _pisces(rec: VcfRecord) -> SiteCounts | None:
    ad, dp = _ints(rec.value("AD")), _int(rec.value("DP"))
    if ad is None or dp is None or any(v is None for v in ad):
        return None
    counts = tuple(v for v in ad if v is not None)
    alts = tuple(counts[1 : 1 + len(rec.alts)])
    if len(alts) != len(rec.alts):
        return None
    return SiteCounts(
        alt_counts=alts,
        ref_count=counts[0],
        depth=dp,
        fields={"alt_count": "FORMAT/AD[allele]", "depth": "FORMAT/DP", "other": "DP - sum(AD)"},
        other_count=max(0, dp - sum(counts)),
        caller_fraction=_floats(rec.value("VF")),
    )


def _generic(rec: VcfRecord) -> SiteCounts | None:
    for extract in (_dp_minus_ad, _freebayes, _dp4):
        counts = extract(rec)
        if counts is not None:
            return counts
    return None


_EVALUATED_WHY = "the caller weighs every allele in its active region; absence means TLOD < 3"


_BOUNDED_WHY = "alleles below the caller's threshold are not written; bounded by unlisted reads"


COUNT_RULES: dict[Caller, CountRule] = {
    Caller.MUTECT2: CountRule(
        "FORMAT/AD[allele] (AF is a posterior: shown, never used)",
        "sum(FORMAT/AD); gVCF blocks: MIN_DP",
        AbsentAllele.EVALUATED, _EVALUATED_WHY, _mutect2,
    ),
    Caller.HAPLOTYPECALLER: CountRule(
        "FORMAT/AD[allele]", "sum(FORMAT/AD) incl. <NON_REF>; blocks: MIN_DP",
        AbsentAllele.BOUNDED,
        "germline caller: unlisted alleles are bounded by <NON_REF> AD; blocks give depth only",
        _haplotypecaller,
    ),
    Caller.MUTECT1: CountRule(
        "FORMAT/AD[1] (FA not used)", "sum(FORMAT/AD), capped by DP",
        AbsentAllele.BOUNDED, _BOUNDED_WHY, _dp_minus_ad,
    ),
    Caller.STRELKA: CountRule(
        "SNV: tier-1 <ALT>U[0]; indel: TIR[0]", "SNV: sum of tier-1 AU/CU/GU/TU; TAR[0]+TIR[0]",
        AbsentAllele.BOUNDED, "SNV records count every base; indel tiers count indel alleles only",
        _strelka,
    ),
    Caller.VARSCAN2: CountRule(
        "FORMAT/AD (alt only; FREQ % not used)", "FORMAT/RD + FORMAT/AD",
        AbsentAllele.UNKNOWN, "--min-var-freq drops low-fraction alleles", _varscan2,
    ),
    Caller.VARDICT: CountRule(
        "FORMAT/VD", "FORMAT/DP (every read at the position)",
        AbsentAllele.BOUNDED, "var2vcf keeps one allele per position (-A) and f0.02",
        _vardict,
    ),
    Caller.LOFREQ: CountRule(
        "INFO/DP4[2]+DP4[3]", "INFO/DP4 sum over REF and every ALT record at the position",
        AbsentAllele.BOUNDED, _BOUNDED_WHY, _dp4,
    ),
    Caller.FREEBAYES: CountRule(
        "AO[allele] (AF is genotype-based: not used)", "RO + sum(AO)",
        AbsentAllele.BOUNDED, "-F 0.05 -C 2 by default hide low-fraction alleles", _freebayes,
    ),
    Caller.BCFTOOLS: CountRule(
        "FORMAT/AD[allele] (legacy: DV, INFO/DP4)", "sum(FORMAT/AD) incl. <*>, capped by DP",
        AbsentAllele.BOUNDED, "mpileup counts unlisted alleles in <*>; call drops them",
        _bcftools,
    ),
    Caller.PISCES: CountRule(
        "FORMAT/AD[allele] (VF not used)", "FORMAT/DP; reference rows: DP",
        AbsentAllele.BOUNDED, _BOUNDED_WHY, _pisces,
    ),
    Caller.DRAGEN: CountRule(
        "FORMAT/AD[allele] (AF not used)", "sum(FORMAT/AD), capped by DP",
        AbsentAllele.BOUNDED, "--vc-target-vaf; bounded by DP - sum(AD)", _dp_minus_ad,
    ),
    Caller.TVC: CountRule(
        "FAO[allele] (MAO with tag sequencing)", "FDP (MDP with tag sequencing)",
        AbsentAllele.BOUNDED, "hotspot alleles are force-evaluated; others bounded", _tvc,
    ),
    Caller.GENERIC: CountRule(
        "FORMAT/AD[allele], else AO, else INFO/DP4", "sum(AD), else RO+sum(AO), else DP4",
        AbsentAllele.BOUNDED, "unknown caller: bounded by DP - sum(AD) where given", _generic,
    ),
}  # fmt: skip


def site_counts(rec: VcfRecord, rule: CountRule) -> tuple[SiteCounts | None, str]:
    """Counts for one record, or (None, why it cannot be used)."""
    if any(is_sequence(a) for a in rec.alts):
        counts = rule.extract(rec)
        if counts is None:
            return None, _no_counts_reason(rec)
        if counts.depth is not None and any(c is not None and c > counts.depth
                                            for c in counts.alt_counts):  # fmt: skip
            return None, f"an alt count exceeds the depth ({counts.fields['depth']}): malformed"
        numbers = (*counts.alt_counts, counts.ref_count, counts.depth, counts.other_count)
        if any(n is not None and n < 0 for n in numbers):
            return None, "a negative allele count or depth: malformed"
        return counts, ""
    # no sequence ALT: a gVCF reference block or a reference row (depth only)
    min_dp = _int(rec.value("MIN_DP"))
    if min_dp is None:
        min_dp = _int(rec.value("MinDP"))
    nothing = (None,) * len(rec.alts)
    if min_dp is not None:
        field_name = "MIN_DP" if rec.value("MIN_DP") is not None else "MinDP"
        return SiteCounts(nothing, None, min_dp, {"depth": f"{field_name} (block minimum)"}), ""
    if rec.end > rec.pos:
        return None, "reference block without MIN_DP: its DP is the block median, not a minimum"
    counts = rule.extract(rec)
    if counts is not None and counts.depth is not None:
        return counts, ""
    dp = _int(rec.value("DP"))
    if dp is not None:
        return SiteCounts(nothing, None, dp, {"depth": f"{_where(rec, 'DP')}/DP"}), ""
    return None, _no_counts_reason(rec)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, tuple) and all(v is None for v in value))


def _no_counts_reason(rec: VcfRecord) -> str:
    if rec.sample and all(_missing(v) for v in rec.sample.values()):
        return "the tumour sample has no values in this record (./.)"
    return "no allele counts in the fields this caller writes"


_COUNT_FIELDS = {"AD", "AO", "RO", "DP4", "FAO", "MAO", "VD", "TIR", "AU", "DV"}


def require_counts(path: Path, header: VcfHeader, caller: Caller) -> None:
    if caller is not Caller.GENERIC:
        return
    declared = set(header.formats) | set(header.infos)
    if declared & _COUNT_FIELDS:
        return
    raise VcfFormatError(
        path,
        "no allele-count fields in the header (none of FORMAT/AD, AO/RO, INFO/DP4); esr1calls "
        "recomputes allele fractions from counts and cannot use this VCF. Re-run the caller "
        "with per-allele counts (e.g. bcftools mpileup -a AD)",
    )


def with_caller_filters(rec: VcfRecord, caller: Caller) -> VcfRecord:
    """The record with its FILTER values as :func:`classify_filter` reads them: Ion Torrent's
    generic NOCALL gets its reason from INFO/FR."""
    if caller is Caller.TVC and "NOCALL" in rec.filters:
        return replace(rec, filters=_tvc_filters(rec))
    return rec


def _tvc_filters(rec: VcfRecord) -> tuple[str, ...]:
    """TVC writes a generic NOCALL; the reason is in INFO/FR (one per ALT)."""
    reasons = rec.info.get("FR")
    items = reasons if isinstance(reasons, tuple) else (reasons,)
    text = "|".join(str(r) for r in items if r not in (None, "", "."))
    return tuple(f"NOCALL({text})" if f == "NOCALL" else f for f in rec.filters)


def caller_hotspot_id(rec: VcfRecord, alt: str) -> str:
    """Ion Torrent lists hotspot IDs in hotspot-file order: map them through OMAPALT, by ALT."""
    ids, mapped = rec.info.get("OID"), rec.info.get("OMAPALT")
    if not isinstance(ids, tuple) or not isinstance(mapped, tuple) or len(ids) != len(mapped):
        return ""
    return ",".join(str(i) for i, a in zip(ids, mapped, strict=True) if a == alt and i != ".")


# bcftools view options that drop records (not only samples or regions)
_VIEW_FILTERS = {
    "-f", "--apply-filters", "-i", "--include", "-e", "--exclude", "-v", "--types", "-V",
    "--exclude-types", "-q", "--min-af", "-Q", "--max-af", "-c", "--min-ac", "-C", "--max-ac",
    "-k", "--known", "-n", "--novel", "-m", "--min-alleles", "-M", "--max-alleles", "-p",
    "--phased", "-P", "--exclude-phased", "-u", "--uncalled", "-U", "--exclude-uncalled", "-x",
    "--private", "-X", "--exclude-private", "-g", "--genotype",
}  # fmt: skip


def records_removed_by(header: VcfHeader) -> str:
    """The command in the header that removed records after calling (``bcftools view -f PASS``,
    ``bcftools filter`` without ``--soft-filter``, GATK SelectVariants), or "".

    A caller's silence about an allele is evidence only in the file the caller wrote: once
    records are dropped, an unlisted allele may be one that was filtered out.

    >>> from esr1calls.ngs.vcf_record import parse_header
    >>> records_removed_by(parse_header(["##bcftools_viewCommand=view -f PASS in.vcf; Date=x"]))
    'bcftools view -f PASS in.vcf'
    """
    meta = header.meta
    for command in meta.get("bcftools_viewCommand", ()):
        words = command.split(";")[0].split()
        if any(w.split("=")[0] in _VIEW_FILTERS or w[:2] in _VIEW_FILTERS for w in words[1:]):
            return "bcftools " + " ".join(words)
    for command in meta.get("bcftools_filterCommand", ()):
        words = command.split(";")[0].split()
        if not any(w in ("-s", "--soft-filter") or w.startswith("--soft-filter=") for w in words):
            return "bcftools " + " ".join(words)
    for command in meta.get("GATKCommandLine", ()):
        if "SelectVariants" in command:
            return "GATK SelectVariants"
    return ""


def _bound_at(
    rec: VcfRecord, counts: SiteCounts, position: int, base: str
) -> tuple[int, str] | None:
    """Most reads that can carry ``base`` at ``position``, from one record covering it.

    A one-base record counts the base itself when it lists it (a hotspot MNV hides behind its
    first SNV), else the reads it assigns to no listed allele; a longer record only the latter.
    """
    if rec.pos == rec.end:
        if counts.base_counts is not None and base in counts.base_counts:
            return counts.base_counts[base], f"tier-1 {base}U at {position}"
        for index, alt in enumerate(rec.alts):
            if alt == base and index < len(counts.alt_counts):
                count = counts.alt_counts[index]
                if count is not None:
                    return count, f"reads with {base} at {position}"
    if counts.other_count is not None and counts.other_bounds_bases:
        return counts.other_count, counts.fields.get("other", "unassigned reads")
    return None


def _source_of(rec: VcfRecord) -> str:
    """ "vcf-block" for a gVCF reference block (depth only), else "vcf"."""
    return "vcf-block" if rec.end > rec.pos and not any(map(is_sequence, rec.alts)) else "vcf"


def read_silence(
    path: Path,
    hotspot: Hotspot,
    build: Build,
    caller: Caller,
    covering: list[tuple[VcfRecord, SiteCounts]],
    details: dict[str, Any],
    reasons: list[Reason],
    *,
    records_removed: str,
    gvcf: bool,
) -> HotspotEvidence:
    """The records cover the hotspot but none lists its allele: read the caller's silence."""
    rule = COUNT_RULES[caller]
    rec, counts = min(covering, key=lambda rc: rc[1].depth or 0)
    depth = counts.depth
    source = _source_of(rec)
    place = f"{path.name}, {rec.place}"
    details["absent_allele"] = f"{rule.absent.value}: {rule.absent_why}"
    if rule.absent is AbsentAllele.EVALUATED:
        # A variant record anywhere in the codon lies in the active region the caller weighed
        # (it spans far more than a codon). A gVCF instead covers every base it evaluated with a
        # record or a block, so there a base without either was not evaluated at all.
        positions = changed_positions(hotspot, build)
        at_change = [(r, c) for r, c in covering if any(r.pos <= p <= r.end for p in positions)]
        uncovered = [p for p in positions if not any(r.pos <= p <= r.end for r, _ in covering)]
        if gvcf and uncovered:
            details["evidence"] = (
                f"no record covers position {', '.join(map(str, uncovered))}, where the hotspot "
                "changes the sequence; records elsewhere in the codon say nothing about it"
            )
            return HotspotEvidence(
                AlleleCounts(hotspot.name, None, None, source="vcf", place=path.name),
                details=details,
            )
        rec, counts = min(at_change or covering, key=lambda rc: rc[1].depth or 0)
        depth, place = counts.depth, f"{path.name}, {rec.place}"
        source = _source_of(rec)
        if records_removed:
            details["evidence"] = (
                f"not listed, but records were removed after calling ({records_removed}): the "
                "allele may have been among them"
            )
            unknown = AlleleCounts(hotspot.name, None, depth, source, place, dict(counts.fields))
            return HotspotEvidence(unknown, None, (Reason.ALLELE_NOT_REPORTED, *reasons), details)
        details["evidence"] = "not listed by a caller that evaluates every allele: count 0"
        fields = {**counts.fields, "alt_count": "0 (allele not listed)"}
        zero = AlleleCounts(hotspot.name, 0, depth, source, place, fields)
        return HotspotEvidence(zero, None, tuple(reasons), details)
    changed = substitutions(hotspot.pos(build), hotspot.ref, hotspot.alt)  # substitutions only
    bounds: list[tuple[int, str, VcfRecord, SiteCounts]] = []
    if rule.absent is AbsentAllele.BOUNDED:
        for r, c in covering:
            for position, base in changed.items():
                if r.pos <= position <= r.end and r.end - r.pos < NEAR_BASES:
                    bound = _bound_at(r, c, position, base)
                    if bound is not None:
                        bounds.append((*bound, r, c))
    if bounds:
        upper, what, rec, counts = min(bounds, key=lambda b: b[0])
        fields = {**counts.fields, "alt_count": f"at most {what}"}
        place = f"{path.name}, {rec.place}"
        details["evidence"] = f"allele not listed; at most {upper} reads can carry it ({what})"
        if upper == 0:
            zero = AlleleCounts(hotspot.name, 0, counts.depth, "vcf", place, fields)
            return HotspotEvidence(zero, None, tuple(reasons), details)
        details["alt_count_range"] = [0, upper]
        bounded = AlleleCounts(hotspot.name, None, counts.depth, "vcf", place, fields)
        return HotspotEvidence(bounded, (0, upper), (Reason.ALLELE_NOT_REPORTED, *reasons), details)
    details["evidence"] = (
        "allele not listed, and no record at its position counts the reads it leaves unassigned"
        if rule.absent is AbsentAllele.BOUNDED
        else "allele not listed, and this caller does not report low-fraction alleles"
    )
    unknown = AlleleCounts(
        hotspot.name, None, depth, source, place, {**counts.fields, "alt_count": "not reported"}
    )
    return HotspotEvidence(unknown, None, (Reason.ALLELE_NOT_REPORTED, *reasons), details)


# -d 0 lifts the cap only from bcftools 1.23; before, it is a cap of (almost) no reads
# (samtools/bcftools#2435), so the advice is a large number, which works in every version.
_UNCAPPED = "re-run with a --max-depth above the deepest site, e.g. -d 1000000"


def _mpileup_header(header: VcfHeader) -> tuple[list[str], tuple[int, int] | None]:
    """(mpileup command lines, bcftools version) from either spelling bcftools writes:
    ``##bcftoolsCommand=mpileup ...`` (mpileup's own output) or ``##bcftools_mpileupCommand``."""
    meta = header.meta
    commands = list(meta.get("bcftools_mpileupCommand", ()))
    commands += [c for c in meta.get("bcftoolsCommand", ()) if c.lstrip().startswith("mpileup")]
    version = None
    for value in (*meta.get("bcftools_mpileupVersion", ()), *meta.get("bcftoolsVersion", ())):
        found = re.match(r"\s*(\d+)\.(\d+)", value)
        if found:
            version = int(found.group(1)), int(found.group(2))
            break
    return commands, version


def caller_notices(path: Path, header: VcfHeader, caller: Caller) -> list[str]:
    """What a report must say about how the caller ran (a depth cap, a germline caller)."""
    notices = []
    commands, version = _mpileup_header(header)
    for command in commands:
        cap = re.search(r"(?:-d|--max-depth)[ =]?(\d+)", command)
        if cap is None:
            notices.append(
                f"{path.name}: bcftools mpileup ran with its default --max-depth 250, so depth "
                f"is capped and the reportable fraction may not be excludable; {_UNCAPPED}"
            )
        elif int(cap.group(1)) == 0 and version is not None and version < (1, 23):
            notices.append(
                f"{path.name}: bcftools {version[0]}.{version[1]} mpileup ran with -d 0, which "
                "before bcftools 1.23 sets a cap of almost no reads instead of lifting it "
                "(samtools/bcftools#2435): depths may be far below the BAM's and the reportable "
                f"fraction not excludable; {_UNCAPPED}"
            )
    if caller is Caller.HAPLOTYPECALLER:
        notices.append(
            f"{path.name}: HaplotypeCaller is a germline caller; its reference blocks give depth "
            "but cannot exclude a mutation at the reportable fraction"
        )
    return notices
