"""The values a VCF is read into: its header, its records, and what one VCF says per hotspot.

Plain frozen values, no file access and no caller knowledge: ``callers.py`` reads counts out of a
:class:`VcfRecord` by its caller's rule, ``vcf_read.py`` makes the records from a file,
``vcf_match.py`` turns them into :class:`HotspotEvidence`. Positions are 1-based and inclusive,
as in a VCF; the hotspot helpers here say which genomic positions a hotspot covers and changes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..hotspots import Hotspot
from ..model import AlleleCounts, Build, Reason
from ..transcript import transcript, trim_allele

__all__ = [
    "NEAR_BASES",
    "HotspotEvidence",
    "SiteCounts",
    "VcfHeader",
    "VcfRecord",
    "changed_positions",
    "hotspot_window",
    "is_sequence",
    "parse_header",
    "substitutions",
]


# A record further upstream than this can only reach a hotspot through INFO/END (a gVCF block)
# or a REF longer than the line limit below, both of which are checked explicitly.
NEAR_BASES = 10_000


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


def is_sequence(allele: str) -> bool:
    return bool(allele) and allele not in (".", "*") and not allele.startswith("<")


@dataclass(frozen=True)
class SiteCounts:
    """Counts one record gives for the tumour sample; ``alt_counts`` follows the ALT order."""

    alt_counts: tuple[int | None, ...]
    ref_count: int | None
    depth: int | None
    fields: Mapping[str, str]  # {"alt_count": ..., "depth": ..., "other": ...}
    other_count: int | None = None  # reads at POS carrying none of the listed alleles
    # other_count bounds a base change at POS (False: Strelka's TOR, reads of other indel alleles)
    other_bounds_bases: bool = True
    base_counts: Mapping[str, int] | None = None  # every base at POS (Strelka SNV tier 1)
    strand: tuple[tuple[int, int] | None, ...] = ()  # (forward, reverse) alt reads per ALT
    caller_fraction: tuple[float | None, ...] = ()  # the caller's own AF, shown, never used


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
    # What to do when the call is INDETERMINATE for a reason of the file, not of the rule (a
    # record cut short): replaces the rule's advice.
    action: str = ""


def hotspot_window(hotspot: Hotspot, build: Build) -> tuple[int, int]:
    """1-based inclusive genomic window of a hotspot: its codon, its VCF allele, its HGVS span.

    A record overlapping this window is evidence about the hotspot (depth at least); for V422del
    the window covers every equivalent position of the deletion (c.1261-c.1267).
    """
    tx = transcript()
    positions = [*hotspot.codon_positions(build), *hotspot.span(build)]
    positions += [tx.c_to_genomic(c, build) for c in (hotspot.c_start, max(hotspot.c_end, 1))]
    return min(positions), max(positions)


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
        return tuple(substitutions(hotspot.pos(build), hotspot.ref, hotspot.alt))
    if ref:
        return tuple(range(first, first + len(ref)))
    return (first - 1, first)


def substitutions(pos: int, ref: str, alt: str) -> dict[int, str]:
    first, changed_ref, changed_alt = trim_allele(pos, ref, alt)
    if not changed_ref or len(changed_ref) != len(changed_alt):
        return {}
    pairs = enumerate(zip(changed_ref, changed_alt, strict=True))
    return {first + k: new for k, (old, new) in pairs if old != new}
