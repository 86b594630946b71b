# Size: about 2,400 lines and six concerns (header and caller detection, per-caller counts, file
# access and index, codon matching and phase, orchestration, notices): step B splits it into
# callers.py, vcf_read.py and vcf_match.py (docs/architecture.md).
"""VCF/BCF access: find the hotspot loci, read each caller's allele counts, match by codon effect.

One pass per file. With a tabix/CSI index the hotspot loci are fetched through it. Without one, a
text VCF (plain, gzip or BGZF) is streamed once: the raw text is scanned for chr6 lines near the
hotspots and only those are parsed (by pysam), so a whole-genome VCF costs one decompression, not
one parse per record, and the same pass computes its sha256. An unindexed BCF is binary: pysam
parses every record (``bcftools index`` avoids that). Indexed files and BCFs are hashed in a
background thread while pysam reads them.

What this module produces per hotspot is :class:`HotspotEvidence`: the shared
:class:`~esr1calls.model.AlleleCounts` (x, n, filters, strand counts, fields used) plus what only a
VCF can leave uncertain (a count range when phase is unknown, the reasons why). The calling rule
lives in ``rule.py`` and never sees a VCF.

Caller conventions (which field is the alt count, which is the depth, what the absence of an
allele means) are in ONE table, :data:`COUNT_RULES`; every count records the fields it came from.

Matching rules (each record ALT is projected onto the transcript, never string-compared):

* An allele matches a hotspot when its protein effect contains the hotspot's change, whatever
  its representation (MNV, padded, complex, not left-aligned); one allele written twice counts
  once. Other changes at the residue count toward depth only (OTHER_CHANGE_IN_CODON).
* Substitutions in one codon from different records are combined by codon effect when the
  caller phased them in cis (same PGT and PID, or same PS with phased GT on one haplotype): the
  combined allele gets min(x) and each part keeps its remainder. In trans they stay separate.
* Without phase the VCF cannot say which molecules carry both changes, so the count becomes a
  range: certain = x minus every unphased partner's count, possible = x (plus combinations that
  form the hotspot). Equal counts are reported as "probably one molecule", never as a call; the
  rule claims only a status that holds over the whole range (else PHASE_UNKNOWN). Indels are
  never combined.
* A hotspot allele that no record lists, at a codon some record covers, is 0 only for a caller
  that weighs every allele there (Mutect2); otherwise it is bounded by the reads a record at its
  position leaves unassigned, or unknown (ALLELE_NOT_REPORTED).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import logging
import re
import stat
import struct
import tempfile
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from itertools import combinations
from pathlib import Path
from typing import IO, Any

import pysam

from ..errors import VcfFormatError
from ..hotspots import CHROM_NAMES, Hotspot, Panel
from ..model import AlleleCounts, Build, Dropped, InputFile, Reason
from ..provenance import hash_in_background
from ..transcript import (
    OutsideCdsError,
    ProteinChange,
    RefMismatchError,
    effect_of_genomic_change,
    genomic_to_cds_edit,
    transcript,
    trim_allele,
)
from .htslib import quiet_htslib

__all__ = [
    "COUNT_RULES",
    "NGS_FORMATS",
    "READ_FORMATS",
    "AbsentAllele",
    "Caller",
    "CountRule",
    "HotspotEvidence",
    "SiteCounts",
    "VcfEvidence",
    "VcfHeader",
    "VcfRecord",
    "detect_build",
    "detect_caller",
    "hotspot_locus",
    "is_pipe",
    "parse_header",
    "read_vcf_evidence",
    "select_sample",
    "sniff_ngs_format",
]

log = logging.getLogger(__name__)

_CHUNK_BYTES = 1 << 20  # 1 MiB: larger buffers only raise the allocator's high-water mark
_BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")
# A record further upstream than this can only reach a hotspot through INFO/END (a gVCF block)
# or a REF longer than the line limit below, both of which are checked explicitly.
_NEAR_BASES = 10_000


# --------------------------------------------------------------------------------------------
# Header: callers, build, samples
# --------------------------------------------------------------------------------------------


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


_STRUCTURED = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|[^,>]*)')


@dataclass(frozen=True)
class VcfHeader:
    """The parts of a VCF header that decide how it is read (parsed from the text lines)."""

    lines: tuple[str, ...]
    meta: Mapping[str, tuple[str, ...]]  # ##key=value lines (values in order of appearance)
    contigs: Mapping[str, Mapping[str, str]]
    formats: Mapping[str, str]  # FORMAT ID -> Number
    infos: Mapping[str, str]  # INFO ID -> Number
    samples: tuple[str, ...]

    def sources(self) -> tuple[str, ...]:
        return tuple(v.strip().strip('"') for v in self.meta.get("source", ()))


def parse_header(lines: Sequence[str]) -> VcfHeader:
    """Read ``##`` meta lines and the ``#CHROM`` line (no records)."""
    meta: dict[str, list[str]] = {}
    contigs: dict[str, dict[str, str]] = {}
    formats: dict[str, str] = {}
    infos: dict[str, str] = {}
    samples: tuple[str, ...] = ()
    for line in lines:
        if line.startswith("#CHROM"):
            samples = tuple(line.rstrip("\r\n").split("\t")[9:])
            continue
        if not line.startswith("##") or "=" not in line:
            continue
        key, _, value = line[2:].rstrip("\r\n").partition("=")
        if value.startswith("<") and key in ("contig", "FORMAT", "INFO"):
            attrs = {k: v.strip('"') for k, v in _STRUCTURED.findall(value[1:])}
            ident = attrs.get("ID", "")
            if key == "contig":
                contigs[ident] = attrs
            elif key == "FORMAT":
                formats[ident] = attrs.get("Number", ".")
            else:
                infos[ident] = attrs.get("Number", ".")
        meta.setdefault(key, []).append(value)
    return VcfHeader(
        lines=tuple(lines),
        meta={k: tuple(v) for k, v in meta.items()},
        contigs=contigs,
        formats=formats,
        infos=infos,
        samples=samples,
    )


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


_BUILD_TOKENS = {
    Build.GRCH37: ("grch37", "hg19", "b37", "hs37d5", "human_g1k_v37", "homo_sapiens_assembly19"),
    Build.GRCH38: ("grch38", "hg38", "b38", "hs38", "hs38dh", "homo_sapiens_assembly38"),
}
_TOKEN_RE = {
    build: re.compile(
        r"(?<![a-z0-9])(?:" + "|".join(re.escape(t) for t in tokens) + r")(?![0-9])", re.I
    )
    for build, tokens in _BUILD_TOKENS.items()
}
_COMMAND_KEYS = ("reference", "GATKCommandLine", "DRAGENCommandLine", "commandline", "source")


def _builds_named(text: str) -> set[Build]:
    return {build for build, pattern in _TOKEN_RE.items() if pattern.search(text)}


def detect_build(header: VcfHeader) -> tuple[Build | None, str]:
    """(build, the header evidence) from chr6 length, contig assembly, reference or command line.

    Returns (None, what was found) when nothing decides it. Raises ValueError when the header
    contradicts itself (e.g. a chr6 length of neither build).
    """
    for name in CHROM_NAMES:
        contig = header.contigs.get(name)
        if contig is None:
            continue
        length = contig.get("length", "")
        if length:
            found = Build.from_chr6_length(int(length)) if length.isdecimal() else None
            if found is not None:
                return found, f"##contig {name} length {int(length):,}"
            raise ValueError(
                f"##contig {name} has length {length}, which is neither GRCh37 "
                f"({Build.GRCH37.chr6_length:,}) nor GRCh38 ({Build.GRCH38.chr6_length:,})"
            )
        assembly = contig.get("assembly", "")
        named = _builds_named(assembly)
        if len(named) == 1:
            build = named.pop()
            return build, f"##contig {name} assembly={assembly}"
    for key in _COMMAND_KEYS:
        for value in header.meta.get(key, ()):
            named = _builds_named(value)
            if len(named) > 1:
                raise ValueError(f"##{key} names both GRCh37 and GRCh38")
            if named:
                build = named.pop()
                token = _TOKEN_RE[build].search(value)
                assert token is not None
                return build, f"##{key} names {token.group(0)}"
    return None, _build_clues(header)


def _build_clues(header: VcfHeader) -> str:
    found = []
    for name in CHROM_NAMES:
        if name in header.contigs:
            found.append(f"##contig=<ID={name}> without a length")
    if not found:
        found.append(
            f"{len(header.contigs)} ##contig lines, none for chr6/6"
            if header.contigs
            else "no ##contig lines"
        )
    references = header.meta.get("reference", ())
    found.append(f"##reference={references[0]}" if references else "no ##reference line")
    return "; ".join(found)


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


# --------------------------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VcfRecord:
    """One VCF record at a hotspot locus, reduced to plain values (1-based, inclusive)."""

    chrom: str
    pos: int
    end: int  # last reference base covered: POS + len(REF) - 1, or INFO/END of a gVCF block
    ref: str
    alts: tuple[str, ...]
    filters: tuple[str, ...]  # empty for PASS or "."
    info: Mapping[str, Any]
    sample: Mapping[str, Any]  # FORMAT values of the tumour sample ({} for sites-only VCFs)
    phased: bool = False
    line: int | None = None  # line number when the file was streamed
    # INFO counts describe the tumour: a sites-only or one-sample VCF, or VarDict (its INFO
    # holds the tumour's DP/VD). In other multi-sample VCFs INFO sums every sample (or is the
    # normal's), so it never stands in for a missing FORMAT value.
    info_is_tumour: bool = True

    @property
    def place(self) -> str:
        where = f"record {self.chrom}:{self.pos}"
        return f"{where} (line {self.line})" if self.line else where

    @property
    def label(self) -> str:
        return f"{self.chrom}:{self.pos} {self.ref}>{','.join(self.alts) or '.'}"

    def value(self, key: str) -> Any:
        """A FORMAT value of the tumour sample, else the INFO value when INFO is the tumour's."""
        if key in self.sample:
            return self.sample[key]
        return self.info.get(key) if self.info_is_tumour else None


def _is_sequence(allele: str) -> bool:
    return bool(allele) and allele not in (".", "*") and not allele.startswith("<")


def _record_from_pysam(
    rec: Any, sample: str | None, line: int | None, info_is_tumour: bool = True
) -> VcfRecord:
    values: dict[str, Any] = {}
    phased = False
    if sample is not None:
        call = rec.samples[sample]
        values = {key: call[key] for key in call}
        phased = bool(call.phased)
    filters = tuple(f for f in rec.filter.keys() if f != "PASS")  # noqa: SIM118 (pysam API)
    return VcfRecord(
        chrom=rec.chrom,
        pos=rec.pos,  # pysam's rec.pos is already 1-based (rec.start is the 0-based one)
        end=max(rec.stop, rec.pos + len(rec.ref) - 1),  # rec.stop: 0-based exclusive = 1-based END
        ref=rec.ref.upper(),
        alts=tuple(a.upper() if _is_sequence(a) else a for a in (rec.alts or ())),
        filters=filters,
        info=dict(rec.info),
        sample=values,
        phased=phased,
        line=line,
        info_is_tumour=info_is_tumour,
    )


# --------------------------------------------------------------------------------------------
# Per-caller counts: the ONE table
# --------------------------------------------------------------------------------------------


class AbsentAllele(StrEnum):
    """What it means when a record covers a hotspot's codon but does not list its allele."""

    EVALUATED = "evaluated"  # the caller weighs every allele it sees there: count 0
    BOUNDED = "bounded"  # reads carrying no listed allele (if counted) bound the count
    UNKNOWN = "unknown"  # the caller drops low-fraction alleles: the count is unknown


@dataclass(frozen=True)
class SiteCounts:
    """Counts one record gives for the tumour sample; ``alt_counts`` follows the ALT order."""

    alt_counts: tuple[int | None, ...]
    ref_count: int | None
    depth: int | None
    fields: Mapping[str, str]  # {"alt_count": ..., "depth": ..., "other": ...}
    other_count: int | None = None  # reads at POS carrying none of the listed alleles
    base_counts: Mapping[str, int] | None = None  # every base at POS (Strelka SNV tier 1)
    strand: tuple[tuple[int, int] | None, ...] = ()  # (forward, reverse) alt reads per ALT
    caller_fraction: tuple[float | None, ...] = ()  # the caller's own AF, shown, never used


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
    symbolic = [c for a, c in zip(rec.alts, alt_counts, strict=True) if not _is_sequence(a)]
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
        AbsentAllele.BOUNDED, "SNV records count every base; indels are bounded by TOR",
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


def _site_counts(rec: VcfRecord, rule: CountRule) -> tuple[SiteCounts | None, str]:
    """Counts for one record, or (None, why it cannot be used)."""
    if any(_is_sequence(a) for a in rec.alts):
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


# --------------------------------------------------------------------------------------------
# Opening and finding the hotspot loci
# --------------------------------------------------------------------------------------------


def hotspot_locus(hotspot: Hotspot, build: Build) -> tuple[int, int]:
    """1-based inclusive genomic window of a hotspot: its codon, its VCF allele, its HGVS span.

    A record overlapping this window is evidence about the hotspot (depth at least); for V422del
    the window covers every equivalent position of the deletion (c.1261-c.1267).
    """
    tx = transcript()
    positions = [*hotspot.codon_positions(build), *hotspot.span(build)]
    positions += [tx.c_to_genomic(c, build) for c in (hotspot.c_start, max(hotspot.c_end, 1))]
    return min(positions), max(positions)


def _merged(windows: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for lo, hi in sorted(windows):
        if merged and lo <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


class _HashingReader(io.RawIOBase):
    """Reads a file once and hashes exactly the bytes read (the report's sha256)."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.digest = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        count = self.raw.readinto(buffer)  # type: ignore[attr-defined]
        if count:
            self.digest.update(memoryview(buffer)[:count])
        return int(count or 0)

    def finish_hashing(self) -> str:
        """Hash whatever the decompressor left unread, then return the hex digest."""
        while True:
            chunk = self.raw.read(1 << 20)
            if not chunk:
                return self.digest.hexdigest()
            self.digest.update(chunk)


@dataclass(frozen=True)
class _Kind:
    container: str  # "bgzf", "gzip", "plain", or "cram" (its own container)
    content: str  # one of NGS_FORMATS


# What an NGS input is, by its first bytes: alignments (BAM/CRAM/SAM) or variants (VCF/BCF).
NGS_FORMATS = ("vcf", "bcf", "bam", "cram", "sam")
READ_FORMATS = frozenset(("bam", "cram", "sam"))
_SAM_HEADER = re.compile(rb"@(HD|SQ|RG|PG|CO)\t")


def is_pipe(path: str | Path) -> bool:
    """A pipe (``/dev/stdin``, ``<(bcftools view ...)``), FIFO, terminal or socket: its bytes can
    be read once, while a VCF is opened more than once (its format, then its records)."""
    try:
        mode = Path(path).stat().st_mode
    except OSError:
        return False  # a missing file is refused, by name, where it is read
    return stat.S_ISFIFO(mode) or stat.S_ISCHR(mode) or stat.S_ISSOCK(mode)


def _sniff_any(path: Path) -> _Kind:
    """What the file is, by content (never by extension): a VCF/BCF or an alignment file."""
    if is_pipe(path):  # esr1calls ngs saves a pipe to a file first; other readers cannot
        raise VcfFormatError(
            path,
            "a pipe can be read only once and this reads its input more than once; write it to "
            "a file first (esr1calls ngs reads a VCF from a pipe itself)",
        )
    try:
        with path.open("rb") as handle:
            head = handle.read(1 << 16)
    except OSError as exc:
        raise VcfFormatError(path, f"cannot read the file ({exc.strerror})") from exc
    if not head:
        raise VcfFormatError(
            path, "the file is empty; expected a VCF or BCF from a variant caller, or a BAM/CRAM"
        )
    if head.startswith(b"CRAM"):
        return _Kind("cram", "cram")
    container = "plain"
    data = head
    if head[:2] == b"\x1f\x8b":
        container = "bgzf" if len(head) > 15 and head[3] & 4 and head[12:14] == b"BC" else "gzip"
        try:
            data = zlib.decompressobj(31).decompress(head, 1 << 16)
        except zlib.error as exc:
            raise VcfFormatError(path, f"corrupt gzip data ({exc})") from exc
    if data.startswith(b"BAM\x01"):
        return _Kind(container, "bam")
    if data.startswith(b"BCF\x02"):
        return _Kind(container, "bcf")
    if data.startswith(b"##fileformat=VCF"):
        return _Kind(container, "vcf")
    if _SAM_HEADER.match(data):
        return _Kind(container, "sam")
    shown = data[:40].decode("utf-8", "replace").splitlines()[0] if data[:40].strip() else ""
    raise VcfFormatError(
        path,
        f"not a VCF, BCF, BAM or CRAM (it starts with {shown!r}, not ##fileformat=VCF); "
        "pass the VCF written by your variant caller, or the indexed BAM/CRAM",
    )


def sniff_ngs_format(path: str | Path) -> str:
    """One of ``NGS_FORMATS`` for an NGS input, from its content (never its extension).

    Raises VcfFormatError for an empty, unreadable or unrecognised file.
    """
    return _sniff_any(Path(path)).content


def _sniff(path: Path) -> _Kind:
    """A VCF or BCF, by content; an alignment file is refused with the way to call it."""
    kind = _sniff_any(path)
    if kind.content in READ_FORMATS:
        raise VcfFormatError(
            path,
            f"this is a {kind.content.upper()} file of reads, not a VCF; call it with esr1calls "
            "ngs (Python: call_ngs), which counts the reads at each hotspot",
        )
    return kind


def _index_of(path: Path, kind: _Kind) -> tuple[Path | None, str]:
    """The index next to the file if it describes the file, else (None, a notice saying why not).

    An index made for another version of the file (the file replaced after indexing) sends a
    region query to offsets where other records, or none, now lie: every hotspot would come back
    empty, NO_COVERAGE with no hint why. So the index is checked against the file first (its age,
    then where it says each contig's records start and end); one that does not fit is not used,
    and the file is read in one streaming pass instead, which gives the same calls.
    """
    if kind.container != "bgzf":
        return None, ""
    suffixes = (".csi",) if kind.content == "bcf" else (".tbi", ".csi")
    notices = []
    for suffix in suffixes:
        index = path.with_name(path.name + suffix)
        if not index.exists():
            continue
        why = _index_mismatch(path, index)
        if not why:
            return index, ""
        notices.append(_unused_index_notice(path, index, why))
    return None, notices[0] if notices else ""


def _unused_index_notice(path: Path, index: Path, why: str) -> str:
    tool = "tabix -f -p vcf" if index.suffix == ".tbi" else "bcftools index -f"
    return (
        f"{path.name}: the index {index.name} {why}, so it was not used: the file was read in "
        f"one streaming pass instead (same calls, slower). Re-index it: {tool} {path.name}"
    )


class _IndexUnusableError(Exception):
    """The index passed its checks but htslib could not follow it (said why)."""


@dataclass(frozen=True)
class _IndexedContig:
    """One reference of a tabix/CSI index: where its first record starts and its last ends."""

    ref: int  # the index's reference number: a BCF's header contig number (the record's rid)
    name: str | None  # the contig name a tabix-style index stores; None in a BCF's CSI
    start: int  # BGZF virtual offset (compressed offset << 16 | offset in the block)
    end: int


_TBI_PSEUDO_BIN = 37450  # htslib's per-reference summary bin: (first, last) offsets, counts


def _indexed_contigs(data: bytes) -> list[_IndexedContig] | None:
    """Each reference's (first, last) record offsets from an uncompressed .tbi or .csi, from the
    summary bin htslib writes for every reference with records; None if it is neither format.

    >>> _indexed_contigs(b"not an index") is None
    True
    """
    names: list[str] | None = None
    if data[:4] == b"TBI\x01":
        (n_ref,), (l_nm,) = struct.unpack_from("<i", data, 4), struct.unpack_from("<i", data, 32)
        names = [n.decode("utf-8", "replace") for n in data[36 : 36 + l_nm].split(b"\0")]
        at, summary_bin, csi = 36 + l_nm, _TBI_PSEUDO_BIN, False
    elif data[:4] == b"CSI\x01":
        _, depth, l_aux = struct.unpack_from("<3i", data, 4)
        if l_aux >= 28:  # tabix settings then names (a VCF's CSI); a BCF's CSI has none
            (l_nm,) = struct.unpack_from("<i", data, 16 + 24)
            names = [n.decode("utf-8", "replace") for n in data[44 : 44 + l_nm].split(b"\0")]
        (n_ref,) = struct.unpack_from("<i", data, 16 + l_aux)
        at, summary_bin, csi = 20 + l_aux, ((1 << ((depth + 1) * 3)) - 1) // 7 + 1, True
    else:
        return None
    found = []
    for ref in range(n_ref):
        (n_bin,) = struct.unpack_from("<i", data, at)
        at += 4
        for _ in range(n_bin):
            if csi:
                number, _, n_chunk = struct.unpack_from("<IQi", data, at)
                at += 16
            else:
                number, n_chunk = struct.unpack_from("<Ii", data, at)
                at += 8
            if number == summary_bin and n_chunk == 2:
                start, end = struct.unpack_from("<QQ", data, at)
                name = names[ref] if names is not None and ref < len(names) else None
                found.append(_IndexedContig(ref, name, start, end))
            at += 16 * n_chunk
        if not csi:
            (n_intervals,) = struct.unpack_from("<i", data, at)
            at += 4 + 8 * n_intervals
    return found


def _index_mismatch(path: Path, index: Path) -> str:
    """Why ``index`` does not describe ``path`` (it is the index of another version of the
    file, or no index at all), or "" when it does.

    Checked: the index is not older than the file (as htslib warns); the offsets where it says
    each contig's records start hold a record of that contig; each contig ends where the next
    begins, the first begins right after the header and the last ends at the end of the data.
    Records added, removed or rewritten anywhere move those offsets.
    """
    if int(index.stat().st_mtime) < int(path.stat().st_mtime):  # whole seconds, like htslib
        return "is older than the file"
    try:
        contigs = _indexed_contigs(gzip.decompress(index.read_bytes()))
    except (OSError, EOFError, zlib.error, struct.error):
        contigs = None
    if contigs is None:
        return "is not a readable tabix or CSI index"
    if not contigs and _has_records(path):
        return "holds no summary of where its records lie (an old tabix), so it cannot be checked"
    size = path.stat().st_size
    if any(c.start >> 16 >= size or c.end >> 16 >= size for c in contigs):
        return "points past the end of the file: it was made for another version of the file"
    other = "does not match the file: it was made for another version of the file"
    try:
        with quiet_htslib(), pysam.VariantFile(str(path)) as handle, path.open("rb") as raw:
            expected = handle.tell()  # the first record follows the header
            for contig in sorted(contigs, key=lambda c: c.start):
                if _canonical(raw, contig.start) != _canonical(raw, expected):
                    return f"{other} (records are not where it puts them)"
                handle.seek(contig.start)
                record = next(handle)
                found = record.chrom if contig.name is not None else record.rid
                if found != (contig.name if contig.name is not None else contig.ref):
                    return f"{other} (it puts {contig.name or 'a contig'} where {record.chrom} is)"
                expected = contig.end
            handle.seek(expected)
            if next(handle, None) is not None:
                return f"{other} (the file has records after the last one it indexes)"
    except (OSError, ValueError, StopIteration):
        return f"{other} (its offsets do not lead to records)"
    return ""


def _has_records(path: Path) -> bool:
    try:
        with quiet_htslib(), pysam.VariantFile(str(path)) as handle:
            return next(handle, None) is not None
    except (OSError, ValueError):
        return True  # unreadable: the reading itself will say so


def _canonical(raw: IO[bytes], voffset: int) -> int:
    """A virtual offset at the end of a BGZF block, as the start of the next block (the same
    place in the data), so two offsets can be compared."""
    block, within = voffset >> 16, voffset & 0xFFFF
    raw.seek(block)
    header = raw.read(18)
    if len(header) < 18 or header[12:14] != b"BC":
        return voffset
    size = int.from_bytes(header[16:18], "little") + 1  # BSIZE is the block size minus 1
    raw.seek(block + size - 4)
    uncompressed = int.from_bytes(raw.read(4), "little")  # ISIZE, the block's data length
    return (block + size) << 16 if within >= uncompressed else voffset


@dataclass
class _Loaded:
    records: list[VcfRecord]
    sha256: str
    access: str
    notices: list[str] = field(default_factory=list)


class _Plan:
    """What the header decides before any record is read: build, caller, sample, windows.

    Every header-level refusal (unknown build, ambiguous sample, no counts) is raised here, so a
    streaming pass over a large file never starts for a file that cannot be used.
    """

    def __init__(self, panel: Panel, build: Build | None, sample: str | None) -> None:
        self.panel = panel
        self.requested_build = build
        self.requested_sample = sample
        self.header = parse_header([])
        self.build = Build.GRCH38
        self.build_evidence = ""
        self.caller = Caller.GENERIC
        self.sample: str | None = None
        self.sample_evidence = ""
        self.normal: str | None = None
        self.windows: list[tuple[int, int]] = []
        self.records_removed = ""  # the command that dropped records after calling, if any
        self.gvcf = False  # every evaluated base is in a record or a reference block

    def set_header(self, path: Path, header: VcfHeader) -> None:
        self.header = header
        self.build, self.build_evidence = _resolve_build(path, header, self.requested_build)
        self.caller = detect_caller(header)
        _require_counts(path, header, self.caller)
        try:
            self.sample, self.sample_evidence, self.normal = select_sample(
                header, self.caller, self.requested_sample
            )
        except ValueError as exc:
            raise VcfFormatError(path, str(exc)) from exc
        self.windows = _merged([hotspot_locus(h, self.build) for h in self.panel])
        self.records_removed = records_removed_by(header)
        self.gvcf = is_gvcf(header)

    def overlaps(self, start: int, stop: int) -> bool:
        return any(lo <= stop and start <= hi for lo, hi in self.windows)


_COUNT_FIELDS = {"AD", "AO", "RO", "DP4", "FAO", "MAO", "VD", "TIR", "AU", "DV"}


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


def _require_counts(path: Path, header: VcfHeader, caller: Caller) -> None:
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


def _resolve_build(path: Path, header: VcfHeader, requested: Build | None) -> tuple[Build, str]:
    try:
        detected, evidence = detect_build(header)
    except ValueError as exc:
        raise VcfFormatError(path, f"{exc}; esr1calls supports GRCh37 and GRCh38") from exc
    if requested is None:
        if detected is None:
            raise VcfFormatError(
                path,
                f"the genome build cannot be determined from the header ({evidence}). "
                "Pass --build GRCh37 or --build GRCh38",
            )
        return detected, evidence
    if detected is not None and detected is not requested:
        if "liftOverProgram" in header.meta:
            return requested, f"--build (header lifted over; {evidence} ignored)"
        raise VcfFormatError(
            path,
            f"--build {requested.value} contradicts the header ({evidence} is "
            f"{detected.value}). Drop --build or pass --build {detected.value}",
        )
    agreed = f" (header agrees: {evidence})" if detected is not None else ""
    return requested, f"--build{agreed}"


def _open_pysam(path: Path, index: Path | None = None, *, shown: Path | None = None) -> Any:
    """pysam's VariantFile, its refusals as one line naming ``shown`` (the user's file, when
    ``path`` is the temporary file of its kept lines) and the next step."""
    shown = shown or path
    try:
        if index is not None:
            return pysam.VariantFile(str(path), index_filename=str(index))
        return pysam.VariantFile(str(path))
    except (OSError, ValueError) as exc:
        text = str(exc)
        if shown == path and ("truncated" in text or "EOF" in text):
            raise VcfFormatError(
                path, "the file is truncated (no BGZF end-of-file marker); copy it again"
            ) from exc
        if "valid header" in text or "invalid file" in text:
            raise VcfFormatError(
                shown,
                "htslib cannot parse the VCF header, most often its #CHROM line (tab-separated "
                "#CHROM POS ID REF ALT QUAL FILTER INFO, then FORMAT and distinct sample names); "
                f"bcftools view -h {shown.name} names the line to fix",
            ) from exc
        raise VcfFormatError(
            shown, f"htslib cannot read it as VCF/BCF ({_htslib_words(text)})"
        ) from exc


def _htslib_words(text: str) -> str:
    """pysam's exception text without what only a Python caller reads (byte strings, modes).

    >>> _htslib_words("invalid file `b'x.vcf'` (mode=`b'r'`) - is it VCF/BCF format?")
    'invalid file x.vcf'
    """
    text = re.sub(r"`?b'([^']*)'`?", r"\1", text)
    text = re.sub(r"\s*\(mode=[^)]*\)", "", text)
    return text.replace(" - is it VCF/BCF format?", "").strip()


def _header_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("#")]


def _convert(path: Path, rec: Any, plan: _Plan, line: int | None) -> VcfRecord:
    place = f"line {line}" if line else f"record {rec.chrom}:{rec.pos}"
    info_is_tumour = len(plan.header.samples) <= 1 or plan.caller is Caller.VARDICT
    try:
        converted = _record_from_pysam(rec, plan.sample, line, info_is_tumour)
    except (KeyError, ValueError) as exc:
        raise VcfFormatError(path, f"unreadable record ({exc})", place=place) from exc
    named = converted.info.get("SAMPLE")
    if (
        plan.caller is Caller.VARDICT
        and plan.requested_sample is None
        and isinstance(named, str)
        and named != plan.sample
        and named in plan.header.samples
    ):
        raise VcfFormatError(
            path,
            f"VarDict names the tumour {named} (INFO/SAMPLE), but it is not the first sample "
            f"column ({plan.sample}); pass --sample {named}",
            place=place,
        )
    return converted


def _load_indexed(path: Path, index: Path, plan: _Plan) -> _Loaded:
    digest = hash_in_background(path)
    records: list[VcfRecord] = []
    with _open_pysam(path, index) as handle:
        if handle.index is None:  # pysam opens the file even when htslib cannot load the index
            raise _IndexUnusableError("could not be loaded by htslib")
        header = parse_header(_header_lines(str(handle.header)))
        plan.set_header(path, header)
        contigs = set(handle.header.contigs) | set(handle.index)
        for name in (n for n in CHROM_NAMES if n in contigs):
            for number, (lo, hi) in enumerate(plan.windows):
                try:
                    # pysam regions are 0-based half-open: 1-based [lo, hi] is (lo - 1, hi)
                    fetched = list(handle.fetch(name, lo - 1, hi))
                except ValueError:
                    continue  # the contig is declared but has no records in the index
                except OSError as exc:  # a damaged file is told apart by the streaming pass
                    raise _IndexUnusableError(
                        f"could not be followed to the records near {name}:{lo} (htslib: {exc})"
                    ) from exc
                earlier_hi = plan.windows[number - 1][1] if number else 0
                # a record reaching back into the previous window was fetched there already
                records.extend(
                    _convert(path, rec, plan, None) for rec in fetched if rec.pos > earlier_hi
                )
    kind = "CSI" if index.suffix == ".csi" else "tabix"
    return _Loaded(records, digest(), f"{kind} index ({index.name})")


def _load_bcf_stream(path: Path, plan: _Plan) -> _Loaded:
    digest = hash_in_background(path)
    records: list[VcfRecord] = []
    with _open_pysam(path) as handle:
        header = parse_header(_header_lines(str(handle.header)))
        plan.set_header(path, header)
        try:
            for rec in handle:
                if rec.chrom in CHROM_NAMES and plan.overlaps(rec.pos, rec.stop):
                    records.append(_convert(path, rec, plan, None))
        except (OSError, ValueError) as exc:
            raise VcfFormatError(path, f"cannot read BCF records ({exc})") from exc
    return _Loaded(records, digest(), "one streaming pass (no index)")


_END_RE = re.compile(rb"(?:^|;)END=(\d+)")


def _scan_body(
    reader: io.BufferedIOBase, carry: bytes, lines_before: int, plan: _Plan
) -> list[tuple[int, bytes]]:
    """Lines on chr6 overlapping a hotspot window, with their 1-based line numbers.

    Works on raw text: only chr6 lines are looked at, only those near the hotspots are split.
    One chunk buffer is reused, so memory does not grow with the file.
    """
    needles = [b"\n" + name.encode() + b"\t" for name in CHROM_NAMES]
    first_lo = min(lo for lo, _ in plan.windows)
    last_hi = max(hi for _, hi in plan.windows)
    found: list[tuple[int, bytes]] = []
    chunk = bytearray(_CHUNK_BYTES)
    view = memoryview(chunk)
    text = bytearray(b"\n")  # always starts with a newline: every line start is "\n" + CHROM
    text += carry
    while True:
        size = reader.readinto(view)
        if size:
            text += view[:size]
        cut = text.rfind(b"\n") + 1 if size else len(text)  # complete lines end before cut
        if size and cut <= 1:
            continue
        hits: list[tuple[int, int]] = []
        for needle in needles:
            at = text.find(needle, 0, cut)
            while at >= 0:
                hits.append((at, len(needle)))
                at = text.find(needle, at + 1, cut)
        hits.sort()
        counted_to, newlines = 0, 0
        for at, width in hits:
            start, number_at = at + 1, at + width
            end = text.find(b"\n", start, cut)
            end = cut if end < 0 else end
            tab = text.find(b"\t", number_at, end)
            try:
                pos = int(text[number_at:tab])
            except ValueError:
                pos = first_lo  # malformed: let pysam report it with its line number
            if pos > last_hi:
                continue
            if (
                pos < first_lo - _NEAR_BASES
                and end - start < _NEAR_BASES
                and text.find(b"END=", start, end) < 0
            ):
                continue
            columns = text[start:end].split(b"\t", 8)
            stop = pos + max(len(columns[3]) if len(columns) > 3 else 1, 1) - 1
            if len(columns) > 7 and (found_end := _END_RE.search(columns[7])):
                stop = max(stop, int(found_end.group(1)))
            if not plan.overlaps(pos, stop):
                continue
            newlines += text.count(b"\n", counted_to, start)
            counted_to = start
            found.append((lines_before + newlines, bytes(text[start:end]).rstrip(b"\r")))
        if not size:
            return found
        lines_before += text.count(b"\n", 1, cut)
        del text[: cut - 1]  # keep the last newline as the sentinel of the next chunk


def _load_text_stream(path: Path, kind: _Kind, plan: _Plan) -> _Loaded:
    if kind.container == "bgzf":
        with path.open("rb") as handle:
            handle.seek(max(0, path.stat().st_size - len(_BGZF_EOF)))
            if handle.read() != _BGZF_EOF:
                raise VcfFormatError(
                    path, "the file is truncated (no BGZF end-of-file marker); copy it again"
                )
    raw = path.open("rb")
    hashing = _HashingReader(raw)
    buffered = io.BufferedReader(hashing, buffer_size=1 << 20)
    reader: io.BufferedIOBase = buffered
    if kind.container != "plain":
        reader = gzip.GzipFile(fileobj=buffered, mode="rb")
    try:
        header_lines: list[str] = []
        first = b""
        while True:
            line = reader.readline()
            if not line:
                break
            if not line.startswith(b"#"):
                first = line
                break
            header_lines.append(line.decode("utf-8", "replace").rstrip("\r\n"))
        if not any(h.startswith("#CHROM") for h in header_lines):
            raise VcfFormatError(path, "the header has no #CHROM line; the VCF is incomplete")
        header = parse_header(header_lines)
        plan.set_header(path, header)
        found = _scan_body(reader, first, len(header_lines), plan)
        digest = hashing.finish_hashing()
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise VcfFormatError(
            path, f"the compressed file is truncated or corrupt ({exc}); copy it again"
        ) from exc
    finally:
        raw.close()
    return _parse_found_lines(path, plan, found, digest)


def _parse_found_lines(
    path: Path, plan: _Plan, found: list[tuple[int, bytes]], digest: str
) -> _Loaded:
    """Parse the few kept lines with pysam, under the file's own header."""
    records: list[VcfRecord] = []
    with tempfile.TemporaryDirectory(prefix="esr1calls-") as folder:
        kept = Path(folder) / "hotspot_records.vcf"
        with kept.open("wb") as out:
            out.write(("\n".join(plan.header.lines) + "\n").encode("utf-8"))
            out.writelines(line + b"\n" for _, line in found)
        numbers = [number for number, _ in found]
        with _open_pysam(kept, shown=path) as handle:
            try:
                for rec in handle:
                    records.append(_convert(path, rec, plan, numbers[len(records)]))
            except (OSError, ValueError) as exc:
                # pysam says "truncated file" or "unable to parse next record": say what is wrong
                bad = found[len(records)] if len(records) < len(found) else None
                raise VcfFormatError(
                    path,
                    _malformed(bad[1], plan.header.samples, path) if bad else "malformed record",
                    place=f"line {bad[0]}" if bad else None,
                ) from exc
    return _Loaded(records, digest, "one streaming pass (no index)")


def _malformed(line: bytes, samples: Sequence[str], path: Path) -> str:
    """Why htslib refused one record line: its column count, else a value it cannot parse."""
    columns = line.count(b"\t") + 1
    expected = 8 + (1 + len(samples) if samples else 0)
    if columns < expected:
        return (
            f"malformed record: {columns} tab-separated columns where this VCF has {expected} "
            f"(CHROM to INFO{', FORMAT and one per sample' if samples else ''}); the line is cut "
            "or its separators are not tabs"
        )
    return (
        "malformed record: htslib cannot parse a value in it (text in a numeric field, or a "
        f"value that does not fit its ##INFO/##FORMAT line); bcftools view {path.name} names "
        "the field"
    )


def _load(path: Path, plan: _Plan) -> _Loaded:
    kind = _sniff(path)
    index, unused = _index_of(path, kind)
    with quiet_htslib():
        loaded = None
        if index is not None:
            try:
                loaded = _load_indexed(path, index, plan)
            except _IndexUnusableError as exc:
                unused = _unused_index_notice(path, index, str(exc))
        if loaded is None and kind.content == "bcf":
            loaded = _load_bcf_stream(path, plan)
        elif loaded is None:
            loaded = _load_text_stream(path, kind, plan)
    if unused:
        loaded.notices.append(unused)
    return loaded


# --------------------------------------------------------------------------------------------
# Matching by codon effect
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HotspotEvidence:
    """What one VCF says about one hotspot, ready for the calling rule in ``rule.py``.

    ``alt_count_range`` is (certain, possible) when the VCF cannot give x exactly: changes in the
    codon without phase, or an allele the caller did not list, bounded by the reads it left
    unassigned. ``reasons`` carry OTHER_CHANGE_IN_CODON, PHASE_UNKNOWN, ALLELE_NOT_REPORTED.
    """

    counts: AlleleCounts
    alt_count_range: tuple[int, int] | None = None
    reasons: tuple[Reason, ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict)
    # One allele listed by several records with other counts (two runs' records in one file):
    # (a record's place, what the VCF says with that record and without the others). The rule
    # calls each; where they differ, no call is claimed (SOURCES_DISAGREE).
    each_record_alone: tuple[tuple[str, HotspotEvidence], ...] = ()


@dataclass(frozen=True)
class VcfEvidence:
    """Everything read from one VCF: the choices made from its header and the evidence."""

    path: str
    input: InputFile
    sample_id: str
    caller: Caller
    build: Build
    build_evidence: str
    sample_evidence: str
    normal_sample: str | None
    access: str
    hotspots: tuple[HotspotEvidence, ...]  # panel order
    dropped: tuple[Dropped, ...]
    notices: tuple[str, ...]
    records_at_hotspots: int


@dataclass(frozen=True)
class _Allele:
    """One ALT of one record (or an in-cis combination), projected onto the transcript."""

    record: VcfRecord
    index: int  # ALT index; -1 for a Strelka base count that is not a listed ALT
    alt: str
    changes: tuple[ProteinChange, ...] | None  # None: effect unknown (not inside one exon)
    count: int | None
    depth: int | None
    fields: Mapping[str, str]
    strand: tuple[int, int] | None
    edits: Mapping[int, str]  # substitutions only: genomic position -> new base
    key: str  # equal for every representation of the same allele
    caller_fraction: float | None = None  # the caller's own AF: shown, never used
    caller_id: str = ""  # the hotspot ID the caller gave this ALT (Ion Torrent OID via OMAPALT)
    group: int = -1  # in-cis group id, for merged alleles and what is left of their parts
    parts: tuple[_Allele, ...] = ()
    span_ref: str = ""  # reference bases under a merged allele
    phase: str = ""


def _allele_key(pos: int, ref: str, alt: str, build: Build) -> str:
    """The mutated coding sequence (hashed), so ATGG>A at 016 and GTGG>G at 019 are one allele."""
    edit = genomic_to_cds_edit(pos, ref, alt, build)
    if edit is None:
        first, changed_ref, changed_alt = trim_allele(pos, ref, alt)
        return f"g.{first}{changed_ref or '-'}>{changed_alt or '-'}"
    c_start, c_end, new_bases = edit
    cds = transcript().cds
    mutated = cds[: c_start - 1] + new_bases + cds[c_end:]
    return "cds:" + hashlib.sha1(mutated.encode()).hexdigest()[:16]


def changed_positions(hotspot: Hotspot, build: Build) -> tuple[int, ...]:
    """The genomic positions a hotspot changes: its substituted bases, a deletion's deleted
    bases, or the two bases either side of an insertion.

    >>> from esr1calls.hotspots import load_panel
    >>> panel = load_panel()
    >>> [changed_positions(panel[name], Build.GRCH38) for name in ("D538G", "L536Q")]
    [(152098791,), (152098785, 152098786)]
    """
    first, ref, alt = trim_allele(hotspot.pos(build), hotspot.ref, hotspot.alt)
    if ref and len(ref) == len(alt):
        return tuple(_edits(hotspot.pos(build), hotspot.ref, hotspot.alt))
    if ref:
        return tuple(range(first, first + len(ref)))
    return (first - 1, first)


def _edits(pos: int, ref: str, alt: str) -> dict[int, str]:
    first, changed_ref, changed_alt = trim_allele(pos, ref, alt)
    if not changed_ref or len(changed_ref) != len(changed_alt):
        return {}
    pairs = enumerate(zip(changed_ref, changed_alt, strict=True))
    return {first + k: new for k, (old, new) in pairs if old != new}


def _effect(path: Path, rec: VcfRecord, ref: str, alt: str, pos: int, build: Build) -> Any:
    try:
        return effect_of_genomic_change(pos, ref, alt, build)
    except RefMismatchError as exc:
        raise VcfFormatError(
            path,
            f"{exc}. The VCF does not match the {build.value} reference: check --build and the "
            "reference it was called against",
            place=rec.place,
        ) from exc
    except OutsideCdsError:
        return None


def _alleles_of(path: Path, rec: VcfRecord, counts: SiteCounts, build: Build) -> list[_Allele]:
    _effect(path, rec, rec.ref, rec.ref, rec.pos, build)  # REF check even for blocks and rows
    found: list[_Allele] = []
    listed = {alt for alt in rec.alts if _is_sequence(alt)}
    candidates = [(i, alt) for i, alt in enumerate(rec.alts) if _is_sequence(alt)]
    if counts.base_counts is not None and len(rec.ref) == 1:
        candidates += [(-1, b) for b in "ACGT" if b != rec.ref and b not in listed]
    for index, alt in candidates:
        fraction = None
        if index >= 0:
            count = counts.alt_counts[index] if index < len(counts.alt_counts) else None
            strand = counts.strand[index] if index < len(counts.strand) else None
            fields = dict(counts.fields)
            if index < len(counts.caller_fraction):
                fraction = counts.caller_fraction[index]
        else:
            assert counts.base_counts is not None
            count, strand = counts.base_counts.get(alt), None
            fields = {**counts.fields, "alt_count": f"FORMAT/{alt}U[0] (tier 1)"}
        found.append(
            _Allele(
                record=rec,
                index=index,
                alt=alt,
                changes=_effect(path, rec, rec.ref, alt, rec.pos, build),
                count=count,
                depth=counts.depth,
                fields=fields,
                strand=strand,
                edits=_edits(rec.pos, rec.ref, alt),
                key=_allele_key(rec.pos, rec.ref, alt, build),
                caller_fraction=fraction,
                caller_id=_hotspot_id(rec, alt),
            )
        )
    return found


def _hotspot_id(rec: VcfRecord, alt: str) -> str:
    """Ion Torrent lists hotspot IDs in hotspot-file order: map them through OMAPALT, by ALT."""
    ids, mapped = rec.info.get("OID"), rec.info.get("OMAPALT")
    if not isinstance(ids, tuple) or not isinstance(mapped, tuple) or len(ids) != len(mapped):
        return ""
    return ",".join(str(i) for i, a in zip(ids, mapped, strict=True) if a == alt and i != ".")


def _split_site_depths(
    usable: list[tuple[VcfRecord, SiteCounts]],
) -> list[tuple[VcfRecord, SiteCounts]]:
    """One record per ALT at a position (LoFreq, Pisces, VarDict -A, bcftools norm -m-).

    The depth must count every allele at the site. If the records already agree on depth they
    carry the site total; if they agree on the REF count instead, each was written with REF +
    its own ALT only, so the site depth is REF + every ALT; otherwise the largest depth is used.
    """
    groups: dict[tuple[str, int, str], list[int]] = {}
    for number, (rec, counts) in enumerate(usable):
        if len([a for a in rec.alts if _is_sequence(a)]) == 1 and counts.depth is not None:
            groups.setdefault((rec.chrom, rec.pos, rec.ref), []).append(number)
    result = list(usable)
    for members in groups.values():
        alts = [usable[m][0].alts for m in members]
        if len(members) < 2 or len(set(alts)) < len(alts):
            continue  # one ALT in two records is a repeated record, not a split site
        depths = {usable[m][1].depth for m in members}
        refs = {usable[m][1].ref_count for m in members}
        if len(depths) == 1:
            continue
        if len(refs) == 1 and None not in refs:
            ref = next(iter(refs))
            assert ref is not None
            site = ref + sum(
                c or 0 for m in members for a, c in zip(usable[m][0].alts, usable[m][1].alt_counts,
                                                        strict=False) if _is_sequence(a)
            )  # fmt: skip
            how = "REF + every ALT record at this position"
        else:
            site = max(d for d in depths if d is not None)
            how = "largest depth among the ALT records at this position"
        for m in members:
            rec, counts = usable[m]
            result[m] = (rec, replace(counts, depth=site, fields={**counts.fields, "depth": how}))
    return result


def _relation(a: _Allele, b: _Allele) -> str:
    """cis / trans / exclusive / unknown: can these two changes sit on the same molecule?"""
    if a.group >= 0 and a.group == b.group:
        return "exclusive"
    if set(a.edits) & set(b.edits):
        return "exclusive"
    relations = {_record_phase(x, y) for x in (a.parts or (a,)) for y in (b.parts or (b,))}
    if "exclusive" in relations:
        return "exclusive"
    if len(relations) == 1:
        return relations.pop()
    return "exclusive" if relations == {"trans"} else "unknown"


def _haplotypes(allele: _Allele) -> set[int]:
    genotype = allele.record.sample.get("GT")
    if not isinstance(genotype, tuple):
        return set()
    return {k for k, value in enumerate(genotype) if value == allele.index + 1}


def _record_phase(a: _Allele, b: _Allele) -> str:
    if a.record is b.record:
        return "exclusive"  # alleles of one record are alternatives, read by read
    sa, sb = a.record.sample, b.record.sample
    if sa.get("PID") and sa.get("PID") == sb.get("PID") and sa.get("PGT") and sb.get("PGT"):
        return "cis" if sa["PGT"] == sb["PGT"] else "trans"
    if (
        sa.get("PS") is not None
        and sa.get("PS") == sb.get("PS")
        and a.record.phased
        and b.record.phased
    ):
        left, right = _haplotypes(a), _haplotypes(b)
        if left and right:
            if left == right:
                return "cis"
            if not left & right:
                return "trans"
    return "unknown"


def _phase_label(a: _Allele, b: _Allele) -> str:
    if a.record.sample.get("PID") and a.record.sample.get("PID") == b.record.sample.get("PID"):
        return "phased by the caller (PGT/PID)"
    return "phased by the caller (PS and phased GT)"


def _combined_effect(edits: Mapping[int, str], build: Build) -> tuple[ProteinChange, ...] | None:
    tx = transcript()
    first, last = min(edits), max(edits)
    ref_bases = []
    for position in range(first, last + 1):
        c_pos = tx.genomic_to_c(position, build)
        if c_pos is None:
            return None
        ref_bases.append(tx.cds[c_pos - 1])
    ref = "".join(ref_bases)
    alt = "".join(edits.get(p, ref[p - first]) for p in range(first, last + 1))
    try:
        return effect_of_genomic_change(first, ref, alt, build)
    except (OutsideCdsError, RefMismatchError):
        return None


def _in_codon(pool: list[_Allele], codon: set[int]) -> list[_Allele]:
    """The substitutions with reads whose every changed base lies in the codon."""
    return [a for a in pool if a.edits and set(a.edits) <= codon and a.count]


def _merge_in_cis(pool: list[_Allele], codon: set[int], build: Build) -> list[_Allele]:
    """Replace caller-phased in-cis changes within a codon by their combined allele."""
    inside = _in_codon(pool, codon)
    parent = {id(a): id(a) for a in inside}

    def root(key: int) -> int:
        while parent[key] != key:
            key = parent[key]
        return key

    labels: dict[int, str] = {}
    for a, b in combinations(inside, 2):
        if _relation(a, b) == "cis":
            parent[root(id(a))] = root(id(b))
            labels[root(id(b))] = _phase_label(a, b)
    components: dict[int, list[_Allele]] = {}
    for a in inside:
        components.setdefault(root(id(a)), []).append(a)
    result = [a for a in pool if id(a) not in parent or len(components[root(id(a))]) < 2]
    for group, (top, members) in enumerate((t, m) for t, m in components.items() if len(m) >= 2):
        edits: dict[int, str] = {}
        for member in members:
            edits.update(member.edits)
        count = min(m.count or 0 for m in members)
        depths = [m.depth for m in members if m.depth is not None]
        first = min(edits)
        ref = "".join(
            transcript().cds[(transcript().genomic_to_c(p, build) or 1) - 1]
            for p in range(first, max(edits) + 1)
        )
        alt = "".join(edits.get(p, ref[p - first]) for p in range(first, max(edits) + 1))
        merged = _Allele(
            record=members[0].record,
            index=members[0].index,
            alt=alt,
            changes=_combined_effect(edits, build),
            count=count,
            depth=min(depths) if depths else None,
            fields={**members[0].fields, "alt_count": "min(alt counts of the in-cis changes)"},
            strand=None,
            edits=edits,
            key=_allele_key(first, ref, alt, build),
            group=group,
            parts=tuple(members),
            phase=labels.get(top, "phased by the caller"),
            span_ref=ref,
        )
        result.append(merged)
        result.extend(
            replace(m, count=(m.count or 0) - count, group=group) for m in members
        )  # molecules carrying one change but not the other
    return result


def _touches(allele: _Allele, change: ProteinChange) -> bool:
    if allele.changes is None:
        return True
    return any(c.start <= change.end and c.end >= change.start for c in allele.changes)


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
    if counts.other_count is not None:
        return counts.other_count, counts.fields.get("other", "unassigned reads")
    return None


def _listed_without_counts(
    path: Path, unusable: list[tuple[VcfRecord, str]], build: Build
) -> list[tuple[ProteinChange, VcfRecord, str]]:
    """The protein changes that dropped records list: the caller named the allele there, so
    its silence elsewhere must not be read as a count of 0."""
    listed = []
    for rec, why in unusable:
        for alt in rec.alts:
            if _is_sequence(alt):
                for change in _effect(path, rec, rec.ref, alt, rec.pos, build) or ():
                    listed.append((change, rec, why))
    return listed


def _evidence_for(
    path: Path,
    hotspot: Hotspot,
    build: Build,
    caller: Caller,
    usable: list[tuple[VcfRecord, SiteCounts]],
    alleles: list[_Allele],
    silenced: list[tuple[ProteinChange, VcfRecord, str]],
    *,
    records_removed: str,
    gvcf: bool,
) -> HotspotEvidence:
    lo, hi = hotspot_locus(hotspot, build)
    covering = [(r, c) for r, c in usable if r.pos <= hi and r.end >= lo and c.depth is not None]
    details: dict[str, Any] = {"caller": caller.value, "records": [r.label for r, _ in covering]}
    if not covering:
        empty = AlleleCounts(hotspot.name, None, None, source="vcf", place=path.name)
        return HotspotEvidence(empty, details=details)
    codon = set(hotspot.codon_positions(build))
    pool = [a for a in alleles if a.record.pos <= hi and a.record.end >= lo]
    if hotspot.change.kind == "sub":
        pool = _merge_in_cis(pool, codon, build)
    change = hotspot.change
    reasons: list[Reason] = []
    direct = [a for a in pool if a.changes is not None and change in a.changes]
    listed_unusable = [(rec, why) for c, rec, why in silenced if c == change]
    if not direct and listed_unusable:
        rec, why = listed_unusable[0]
        details["evidence"] = f"allele listed only in a record that could not be used ({why})"
        counts = AlleleCounts(
            hotspot.name,
            None,
            min(c.depth or 0 for _, c in covering),
            source="vcf",
            place=f"{path.name}, {rec.place}",
            filters=rec.filters,
        )
        return HotspotEvidence(counts, None, (Reason.ALLELE_NOT_REPORTED,), details)
    others = [a for a in pool if a.count and a not in direct and _touches(a, change)]
    if others:
        reasons.append(Reason.OTHER_CHANGE_IN_CODON)
        details["other_changes_in_codon"] = sorted({f"{_describe(a)} ({a.count})" for a in others})
    # only substitutions combine: an indel is judged on its own (it is rarely in cis with an SNV
    # in the same codon, and can remove the very bases the SNV would change)
    in_codon = _in_codon(pool, codon) if change.kind == "sub" else []
    if direct:
        best: dict[str, _Allele] = {}
        for a in direct:
            if a.key not in best or (a.count or 0) > (best[a.key].count or 0):
                best[a.key] = a
        chosen = sorted(best.values(), key=lambda a: -(a.count or 0))
        if any(a.count is None for a in chosen):
            return _not_reported(path, hotspot, chosen[0], details, reasons)
        high = sum(a.count or 0 for a in chosen)
        low = 0
        for a in chosen:
            partners = [b for b in in_codon if b is not a and _relation(a, b) == "unknown"]
            low += max(0, (a.count or 0) - sum(b.count or 0 for b in partners))
    else:
        chosen = []
        high = low = 0
    combos = _unphased_combinations(in_codon, direct, change, build)
    combos_high = sum(min(p.count or 0 for p in combo) for combo in combos)
    combo_note = _combination_note(combos, hotspot)
    # a caller whose silence is a count of 0 (Mutect2), in a file that lost records after
    # calling: the allele's own record may be among them, whatever else could combine into it
    silence_unknown = bool(records_removed) and COUNT_RULES[caller].absent is AbsentAllele.EVALUATED
    if not chosen and (not combos or silence_unknown):
        return _absent(
            path, hotspot, build, caller, covering, details, reasons,
            records_removed=records_removed, gvcf=gvcf,
        )  # fmt: skip
    # shown as the count: what the caller listed for this allele; unphased combinations only
    # widen the range the rule weighs (alt_count_range)
    listed = high if chosen else high + combos_high
    high += combos_high
    primary = chosen[0] if chosen else min(combos[0], key=lambda p: p.count or 0)
    depth = primary.depth
    if chosen:
        details["evidence"] = "allele listed by the caller"
        if primary.group >= 0 and not primary.parts:
            details["evidence"] = (
                "allele listed by the caller, less its reads in cis with another change in "
                "the codon (counted as the combined allele)"
            )
        if primary.caller_id:
            details["caller_hotspot_id"] = primary.caller_id
        if primary.phase:
            details["phase"] = primary.phase
            details["evidence"] = "in-cis changes combined by codon effect"
        if len(direct) > 1:  # one allele written several ways counts once (the largest count)
            details["representations"] = [f"{_describe(a)}: {a.count}" for a in direct]
    else:
        details["evidence"] = "changes in this codon that may combine into the hotspot"
        depths = [p.depth for combo in combos for p in combo if p.depth is not None]
        depth = min(depths) if depths else None
    if combo_note:
        details["phase"] = combo_note
    alt_range = None if low == high else (low, high)
    if alt_range is not None:
        reasons.insert(0, Reason.PHASE_UNKNOWN)
        details["alt_count_range"] = list(alt_range)
    filters = tuple(
        dict.fromkeys(f for a in chosen or combos[0] for p in (a.parts or (a,))
                      for f in p.record.filters)
    )  # fmt: skip
    if chosen and chosen[0].caller_fraction is not None:
        details["caller_allele_fraction_not_used"] = chosen[0].caller_fraction
    counts = AlleleCounts(
        hotspot=hotspot.name,
        alt_count=min(listed, depth) if depth is not None else listed,
        depth=depth,
        source="vcf",
        place=f"{path.name}, {primary.record.place}",
        fields=dict(primary.fields),
        filters=filters,
        alt_forward=primary.strand[0] if primary.strand and len(chosen) == 1 else None,
        alt_reverse=primary.strand[1] if primary.strand and len(chosen) == 1 else None,
    )
    return HotspotEvidence(counts, alt_range, tuple(reasons), details)


def _describe(allele: _Allele) -> str:
    if allele.changes:
        name = ",".join(c.short for c in allele.changes)
    elif allele.changes == ():
        name = "synonymous"
    else:
        name = "effect unknown"
    first, ref, alt = trim_allele(allele.record.pos, allele.record.ref, allele.alt)
    if allele.parts:
        first, ref, alt = min(allele.edits), allele.span_ref, allele.alt
    return f"{first} {ref or '-'}>{alt or '-'} ({name})"


def _unphased_combinations(
    in_codon: list[_Allele], direct: list[_Allele], change: ProteinChange, build: Build
) -> list[tuple[_Allele, ...]]:
    """Sets of 2-3 changes in the codon, pairwise of unknown phase, that together make the change.

    Sets containing an allele that already matches on its own are skipped: its count already
    covers those molecules as an upper bound.
    """
    found: list[tuple[_Allele, ...]] = []
    candidates = [a for a in in_codon if a not in direct]
    for size in (2, 3):
        for combo in combinations(candidates, size):
            if any(_relation(a, b) != "unknown" for a, b in combinations(combo, 2)):
                continue
            edits: dict[int, str] = {}
            for allele in combo:
                edits.update(allele.edits)
            effect = _combined_effect(edits, build)
            if effect is not None and change in effect:
                found.append(combo)
    return found


def _combination_note(combos: list[tuple[_Allele, ...]], hotspot: Hotspot) -> str:
    if not combos:
        return ""
    notes = []
    for combo in combos:
        counts = [a.count or 0 for a in combo]
        parts = " + ".join(_describe(a) for a in combo)
        if len(set(counts)) == 1:
            notes.append(
                f"{parts}: equal counts ({counts[0]}) suggest one molecule ({hotspot.name}), "
                "but the caller gave no phase"
            )
        else:
            notes.append(f"{parts}: counts {counts}, phase not given")
    return "; ".join(notes)


def _not_reported(
    path: Path,
    hotspot: Hotspot,
    allele: _Allele,
    details: dict[str, Any],
    reasons: list[Reason],
) -> HotspotEvidence:
    details["evidence"] = "allele listed without a count"
    counts = AlleleCounts(
        hotspot.name, None, allele.depth, source="vcf",
        place=f"{path.name}, {allele.record.place}", fields=dict(allele.fields),
        filters=allele.record.filters,
    )  # fmt: skip
    return HotspotEvidence(counts, None, (Reason.ALLELE_NOT_REPORTED, *reasons), details)


def _source_of(rec: VcfRecord) -> str:
    """ "vcf-block" for a gVCF reference block (depth only), else "vcf"."""
    return "vcf-block" if rec.end > rec.pos and not any(map(_is_sequence, rec.alts)) else "vcf"


def _absent(
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
    changed = _edits(hotspot.pos(build), hotspot.ref, hotspot.alt)  # substitutions only
    bounds: list[tuple[int, str, VcfRecord, SiteCounts]] = []
    if rule.absent is AbsentAllele.BOUNDED:
        for r, c in covering:
            for position, base in changed.items():
                if r.pos <= position <= r.end and r.end - r.pos < _NEAR_BASES:
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


def _sample_id(path: Path, sample: str | None) -> str:
    if sample is not None:
        return sample
    name = path.name
    for suffix in (".gz", ".bgz", ".vcf", ".bcf"):
        name = name.removesuffix(suffix)
    return name


def _repeated_alleles(alleles: list[_Allele]) -> list[list[_Allele]]:
    """Alleles listed by more than one record (by codon effect: one allele, however written):
    a VCF concatenated from two runs, or ``bcftools concat`` of overlapping files without
    ``-a``. Each group is in file order."""
    by_key: dict[str, list[_Allele]] = {}
    for allele in alleles:
        if allele.count is not None:
            by_key.setdefault(allele.key, []).append(allele)
    return [group for group in by_key.values() if len({id(a.record) for a in group}) > 1]


def _shown(group: list[_Allele]) -> _Allele:
    """The record of a repeated allele whose count is shown: the first with the largest (as
    :func:`_evidence_for` chooses among the records of one allele)."""
    return max(group, key=lambda a: a.count or 0)


def _same_counts(group: list[_Allele]) -> bool:
    return len({(a.count, a.depth, a.record.filters) for a in group}) == 1


def _each_record_alone(
    path: Path,
    hotspot: Hotspot,
    plan: _Plan,
    usable: list[tuple[VcfRecord, SiteCounts]],
    alleles: list[_Allele],
    silenced: list[tuple[ProteinChange, VcfRecord, str]],
    repeated: list[list[_Allele]],
) -> tuple[tuple[str, HotspotEvidence], ...]:
    """What the VCF says about the hotspot with each record of a repeated allele and without
    the others, for the repeated alleles whose records reach the hotspot and whose counts or
    filters differ (identical ones say the same thing)."""
    lo, hi = hotspot_locus(hotspot, plan.build)
    found = []
    for group in repeated:
        if _same_counts(group) or not any(a.record.pos <= hi and a.record.end >= lo
                                          for a in group):  # fmt: skip
            continue
        for kept in group:
            others = {id(a.record) for a in group if a.record is not kept.record}
            alone = _evidence_for(
                path, hotspot, plan.build, plan.caller,
                [(r, c) for r, c in usable if id(r) not in others],
                [a for a in alleles if id(a.record) not in others],
                silenced, records_removed=plan.records_removed, gvcf=plan.gvcf,
            )  # fmt: skip
            found.append((kept.record.place, alone))
    return tuple(found)


def _repeated_dropped(path: Path, repeated: list[list[_Allele]]) -> list[Dropped]:
    """The records of a repeated allele whose count is not the one shown, and why."""
    dropped = []
    for group in repeated:
        shown = _shown(group)
        there = f"{shown.count} of {shown.depth}"
        for other in (a for a in group if a is not shown):
            here = f"{other.count} of {other.depth}"
            same = (other.count, other.depth, other.record.filters) == (
                shown.count, shown.depth, shown.record.filters)  # fmt: skip
            reason = (
                f"lists {_describe(other)} as {shown.record.place} does, with the same counts "
                f"({here}): the allele is counted once"
                if same
                else f"lists {_describe(other)} as {shown.record.place} does, with other counts "
                f"or filters ({here} here, {there} there): the larger count is shown, and each "
                "record is judged alone; a hotspot they call differently is INDETERMINATE "
                "SOURCES_DISAGREE"
            )
            dropped.append(Dropped(str(path), other.record.place, reason))
    return dropped


def read_vcf_evidence(
    path: str | Path,
    panel: Panel,
    *,
    build: Build | None = None,
    sample: str | None = None,
) -> VcfEvidence:
    """Read one VCF/BCF and return the evidence it holds for every hotspot of ``panel``.

    Raises VcfFormatError (one line naming the file, the place and the fix) for anything that
    prevents a meaningful report: not a VCF, truncated, unknown build, ambiguous sample, a REF
    base that disagrees with the transcript.
    """
    path = Path(path)
    plan = _Plan(panel, build, sample)
    loaded = _load(path, plan)
    rule = COUNT_RULES[plan.caller]
    dropped: list[Dropped] = []
    usable: list[tuple[VcfRecord, SiteCounts]] = []
    unusable: list[tuple[VcfRecord, str]] = []  # records read without usable counts, and why
    seen: set[tuple[Any, ...]] = set()
    for rec in loaded.records:
        if not plan.overlaps(rec.pos, rec.end):
            continue
        # the whole record but its line: two lines differing only in INFO (sites-only counts)
        # or FILTER are two records, not one written twice
        identity = (rec.chrom, rec.pos, rec.ref, rec.alts, rec.filters,
                    repr(sorted(rec.info.items())), repr(sorted(rec.sample.items())))  # fmt: skip
        if identity in seen:
            dropped.append(Dropped(str(path), rec.place, "duplicate of an earlier record"))
            continue
        seen.add(identity)
        if plan.caller is Caller.TVC and "NOCALL" in rec.filters:
            rec = replace(rec, filters=_tvc_filters(rec))
        counts, why = _site_counts(rec, rule)
        if counts is None:
            dropped.append(Dropped(str(path), rec.place, why))
            unusable.append((rec, why))
            continue
        usable.append((rec, counts))
    usable = _split_site_depths(usable)
    alleles = [a for rec, counts in usable for a in _alleles_of(path, rec, counts, plan.build)]
    silenced = _listed_without_counts(path, unusable, plan.build)
    records_at_hotspots = len(usable) + len(dropped)
    repeated = _repeated_alleles(alleles)
    evidence = tuple(
        replace(
            _evidence_for(
                path, h, plan.build, plan.caller, usable, alleles, silenced,
                records_removed=plan.records_removed, gvcf=plan.gvcf,
            ),
            each_record_alone=_each_record_alone(path, h, plan, usable, alleles, silenced,
                                                 repeated),
        )
        for h in panel
    )  # fmt: skip
    dropped.extend(_repeated_dropped(path, repeated))
    notices = list(loaded.notices)
    if plan.header.contigs and not any(c in plan.header.contigs for c in CHROM_NAMES):
        notices.append(f"{path.name}: the header declares no chr6/6 contig")
    notices.extend(_caller_notices(path, plan))
    log.info(
        "%s: %s, %s (%s), tumour %s (%s), %s",
        path.name, plan.caller.value, plan.build.value, plan.build_evidence,
        plan.sample or "from INFO", plan.sample_evidence, loaded.access,
    )  # fmt: skip
    return VcfEvidence(
        path=str(path),
        input=InputFile(str(path), loaded.sha256, "vcf"),
        sample_id=_sample_id(path, plan.sample),
        caller=plan.caller,
        build=plan.build,
        build_evidence=plan.build_evidence,
        sample_evidence=plan.sample_evidence,
        normal_sample=plan.normal,
        access=loaded.access,
        hotspots=evidence,
        dropped=tuple(dropped),
        notices=tuple(notices),
        records_at_hotspots=records_at_hotspots,
    )


def _tvc_filters(rec: VcfRecord) -> tuple[str, ...]:
    """TVC writes a generic NOCALL; the reason is in INFO/FR (one per ALT)."""
    reasons = rec.info.get("FR")
    items = reasons if isinstance(reasons, tuple) else (reasons,)
    text = "|".join(str(r) for r in items if r not in (None, "", "."))
    return tuple(f"NOCALL({text})" if f == "NOCALL" else f for f in rec.filters)


# -d 0 lifts the cap only from bcftools 1.23; before, it is a cap of (almost) no reads
# (samtools/bcftools#2435), so the advice is a large number, which works in every version.
_UNCAPPED = "re-run with a --max-depth above the deepest site, e.g. -d 1000000"


def _mpileup_header(plan: _Plan) -> tuple[list[str], tuple[int, int] | None]:
    """(mpileup command lines, bcftools version) from either spelling bcftools writes:
    ``##bcftoolsCommand=mpileup ...`` (mpileup's own output) or ``##bcftools_mpileupCommand``."""
    meta = plan.header.meta
    commands = list(meta.get("bcftools_mpileupCommand", ()))
    commands += [c for c in meta.get("bcftoolsCommand", ()) if c.lstrip().startswith("mpileup")]
    version = None
    for value in (*meta.get("bcftools_mpileupVersion", ()), *meta.get("bcftoolsVersion", ())):
        found = re.match(r"\s*(\d+)\.(\d+)", value)
        if found:
            version = int(found.group(1)), int(found.group(2))
            break
    return commands, version


def _caller_notices(path: Path, plan: _Plan) -> list[str]:
    notices = []
    commands, version = _mpileup_header(plan)
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
    if plan.caller is Caller.HAPLOTYPECALLER:
        notices.append(
            f"{path.name}: HaplotypeCaller is a germline caller; its reference blocks give depth "
            "but cannot exclude a mutation at the reportable fraction"
        )
    return notices
