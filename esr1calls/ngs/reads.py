# Size: about 1,700 lines, one concept: counting the hotspot codons' reads. The rules 1-7 below
# act together in one pass over each region's reads (_count_region: classes, mates, molecules,
# duplicate coordinates, read groups), and the helpers share that pass's private types.
"""NGS evidence straight from the reads: codon-level hotspot counts from BAM/CRAM (pysam).

Variant callers drop low-fraction alleles, split MNVs and filter multi-allelic sites, which are
exactly the ESR1 cases that matter. This module reads the alignments at each hotspot codon,
rebuilds the codon on every read and classifies it by translating it with the packaged
NM_000125.4 model (``transcript.effect_of_cds_edit``), so:

* the L536Q MNV (CTC>CAG or CTC>CAA) counts as L536Q, never as L536H;
* a same-codon double change (TAT>ACT, Thr) counts as "other", never as Y537N or Y537S;
* V422del counts whatever equivalent position the aligner put the deletion at, because the
  whole M421-V422-E423 region is rebuilt from the read and translated.

Counting rules (docs/ngs.md, "From the reads (BAM/CRAM)", says the same for people):

1. Read filters: unmapped, secondary, supplementary, QC-fail and duplicate records are excluded,
   and so are records with mapping quality below ``min_mapping_quality`` or from another
   sample's read group. They are counted per codon in ``filtered_reads``; a low-MAPQ read of the
   sample that still shows a hotspot is counted as ``low_mapping_quality@HOTSPOT`` (see 2).
   In a BAM that names a sample (an ``@RG`` with ``SM``), read groups without ``SM`` and records
   without an ``RG`` tag belong to no named sample: they are excluded
   (``unlabelled_read_group``) unless ``include_unlabelled_read_groups`` says they are the
   sample's, and either way ``ReadCounts.notices`` names them with their read counts. A BAM that
   names no sample is one sample, every read of it counted.
2. A read is classified at a codon only if it aligns all three codon bases with no insertion
   or deletion between them, each base at ``min_base_quality`` or more and an A/C/G/T call.
   Otherwise it is unusable, with the reason (not_spanning, indel, low_base_quality,
   ambiguous_base); an indel inside a codon makes the read unusable even if its bases would
   spell a hotspot. A low-quality read that still spells a hotspot is
   ``low_base_quality@HOTSPOT``: such reads stay out of x and n, but
   ``AlleleCounts.excluded_alt`` counts them (fragments or molecules not already in x), so they
   can prevent a NOT_DETECTED. A read that does not reach a codon at all is not counted there.
   For a deletion hotspot the window is the stretch of whole codons over which the deletion
   can slide (V422del: c.1261-1269, M421-V422-E423). The read must align the base on each side
   of it, and the bases in between decide, whatever the CIGAR says: the V422del sequence counts
   as V422del wherever the aligner put the gap (even as a mismatch plus a shifted deletion),
   the reference sequence as reference; any other sequence reached through an indel is
   unusable, and plain substitutions are "other".
3. Classes: ``reference`` (the reference amino acid, synonymous changes included), each hotspot
   (exactly that protein change and nothing else in the window), ``other`` (any other protein
   change, named in ``other_changes``), or unusable.
4. Fragments: the reads of one template (same query name) are one observation. Overlapping mates
   that agree count once; a mate that is unusable at the codon defers to the other; mates that
   classify differently make the fragment unusable (``mates_disagree``), so a sequencing error
   in one mate can neither create nor hide a mutation. Mates named ``<name>/1`` and ``<name>/2``
   (older aligners keep the suffix) are one template when the flags say each is that mate of a
   pair (read 1 for /1, read 2 for /2) and each record's mate position is the other's position;
   otherwise, and for every other suffix (``_1``, ``/3``), the full names decide.
5. Strand: a fragment's strand is the strand read 1 aligned to (a read 2 on the reverse strand
   means a forward fragment); unpaired reads use their own strand. This is the F1R2/F2R1
   orientation that oxidation and strand artefacts follow.
6. UMI (``umi=True``): fragments are grouped into molecules by the molecule tag, ``MI``
   (fgbio GroupReadsByUmi / consensus callers; the duplex strand suffix ``/A`` or ``/B`` is
   removed so both strands of a molecule are one molecule) or else ``UG`` (umi_tools group).
   The family size of a molecule is the sum over its fragments of ``cD`` (consensus reads:
   raw reads behind the consensus, the larger of the two mates) or 1 (raw grouped reads).
   Molecules smaller than ``min_family_size`` are unusable (small_family). A molecule takes the
   class held by a strict majority of its usable fragments, else it is unusable
   (family_disagrees). A molecule counts on every strand it was seen on (a duplex consensus
   read with ``aD`` and ``bD`` both >= 1 was seen on both), so alt_forward + alt_reverse can
   exceed alt_count in molecule mode. Duplicate-flagged records stay excluded, so group raw
   reads without marking duplicates; a read with neither tag is an error, not a guess.

7. Duplicates (fragments only): ``ReadCounts.duplicates`` says whether the file's duplicates were
   marked. MARKED: an ``@PG`` line names a program that marks duplicates or writes consensus reads
   (MarkDuplicates[Spark], samtools markdup/rmdup, sambamba markdup, biobambam, samblaster,
   Sentieon Dedup, umi_tools dedup, fgbio Call*ConsensusReads, gencore, DRAGEN duplicate
   marking...; matched as whole words of ID, PN or CL, never inside a file name), or a record at
   the codons is flagged duplicate. Otherwise UNMARKED when a codon has at least
   ``DUPLICATES_EXPECTED_FRAGMENTS`` (1,000) usable fragments, where even a 100 ng library
   (30,000 genome copies) shows about n^2/2C = 17 duplicates, so none flagged means never
   marked; or when the reads are amplicon-like at most codons (at least ``AMPLICON_SHARE`` of the
   usable fragments share the ``AMPLICON_TOP_COORDINATES`` most common coordinates), where
   positions cannot tell duplicates apart at any depth. Below that, NOT_PRESUMED: a shallow
   library can have no duplicates. ``reads_are_molecules`` makes an unmarked file DECLARED;
   ``umi`` is UMI. Grouping alone (fgbio GroupReadsByUmi, umi_tools group) marks nothing: such
   reads are molecules only with ``umi``. Each codon's ``Coordinates`` record how the usable
   fragments' coordinates repeat; what the calls make of it is in ``rule.py``.

Per hotspot, x (``alt_count``) is the number of fragments (molecules with ``umi``) in the
hotspot's class and n (``depth``) the number of usable ones at its codon: reference + every
hotspot + other. Coordinates leave this module 1-based; pysam's 0-based offsets are converted
where they are read, with a comment.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from itertools import combinations
from operator import itemgetter
from pathlib import Path
from typing import Any, ClassVar

import pysam

from ..errors import AlignmentFormatError, ConfigError, ReferenceFastaError
from ..hotspots import CHROM_NAMES, Hotspot, Panel
from ..model import AlleleCounts, Build, parse_build
from ..transcript import effect_of_cds_edit, transcript
from .options import (
    DEFAULT_MIN_BASE_QUALITY,
    DEFAULT_MIN_FAMILY_SIZE,
    DEFAULT_MIN_MAPPING_QUALITY,
    UNIT_FRAGMENTS,
    UNIT_MOLECULES,
    ReadOptions,
)

__all__ = [
    "AMPLICON_MIN_FRAGMENTS",
    "AMPLICON_SHARE",
    "AMPLICON_TOP_COORDINATES",
    "DUPLICATES_EXPECTED_FRAGMENTS",
    "ClassKind",
    "CodonEvidence",
    "Coordinates",
    "DuplicateState",
    "Duplicates",
    "ReadClass",
    "ReadCounts",
    "Unusable",
    "count_hotspots",
    "count_reads",
    "count_regions",
    "duplicate_programs",
]

log = logging.getLogger(__name__)


class ClassKind(StrEnum):
    """What a read (fragment, molecule) shows at a codon window (rule 3)."""

    REFERENCE = "reference"  # the reference amino acids, synonymous changes included
    HOTSPOT = "hotspot"  # exactly one panel hotspot's change and nothing else
    OTHER = "other"  # any other protein change
    UNUSABLE = "unusable"  # not classified, for a reason (Unusable)


class Unusable(StrEnum):
    """Why a read (fragment, molecule) is not classified at a codon window (rules 2, 4, 6)."""

    FAMILY_DISAGREES = "family_disagrees"
    MATES_DISAGREE = "mates_disagree"
    INDEL = "indel"
    LOW_BASE_QUALITY = "low_base_quality"
    AMBIGUOUS_BASE = "ambiguous_base"
    NO_SEQUENCE = "no_sequence"
    NOT_SPANNING = "not_spanning"
    SMALL_FAMILY = "small_family"


class ReadClass:
    """The class of a read (fragment, molecule) at one codon window; ``str()`` is its spelling in
    reports: ``reference``, ``Y537S``, ``other:L536V``, ``unusable:indel`` and, for unusable bases
    that still spell a hotspot, ``unusable:low_base_quality@Y537S`` (``showed``).

    Immutable and interned: one object per distinct class, so equal classes are the same object
    and hashing is the interpreter's own (classes are counted hundreds of thousands of times per
    BAM; a frozen dataclass's hash, written in Python, cost 10-15 % more CPU than strings).

    >>> low = ReadClass(ClassKind.UNUSABLE, Unusable.LOW_BASE_QUALITY, showed="Y537S")
    >>> str(low), low is ReadClass(ClassKind.UNUSABLE, "low_base_quality", "Y537S"), low.usable
    ('unusable:low_base_quality@Y537S', True, False)
    """

    __slots__ = ("hotspot_shown", "kind", "name", "showed", "usable")
    _interned: ClassVar[dict[tuple[str, str, str], ReadClass]] = {}

    kind: ClassKind
    name: str  # the hotspot; the other change(s), "L536V+Y537S"; the Unusable reason
    showed: str  # unusable only: the hotspot its excluded bases would have shown
    usable: bool  # classified: reference, a hotspot or another change
    hotspot_shown: str | None  # the hotspot its bases spell, usable or not

    def __new__(cls, kind: ClassKind, name: str = "", showed: str = "") -> ReadClass:
        key = (kind.value, str(name), showed)
        found = cls._interned.get(key)
        if found is None:
            found = super().__new__(cls)
            for attribute, value in (
                ("kind", kind), ("name", str(name)), ("showed", showed),
                ("usable", kind is not ClassKind.UNUSABLE),
                ("hotspot_shown", name if kind is ClassKind.HOTSPOT else showed or None),
            ):  # fmt: skip
                object.__setattr__(found, attribute, value)
            cls._interned[key] = found
        return found

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"ReadClass is immutable: cannot set {name}")

    def __reduce__(self) -> tuple[type[ReadClass], tuple[ClassKind, str, str]]:
        return ReadClass, (self.kind, self.name, self.showed)

    def __repr__(self) -> str:
        return f"ReadClass({self.kind.name}, {self.name!r}, showed={self.showed!r})"

    def __str__(self) -> str:
        if self.kind is ClassKind.REFERENCE:
            return "reference"
        if self.kind is ClassKind.HOTSPOT:
            return self.name
        marked = f"{SHOWED}{self.showed}" if self.showed else ""
        return f"{self.kind.value}:{self.name}{marked}"


def _hotspot_class(name: str) -> ReadClass:
    return ReadClass(ClassKind.HOTSPOT, name)


def _unusable(reason: Unusable, showed: str = "") -> ReadClass:
    return ReadClass(ClassKind.UNUSABLE, reason, showed)


REFERENCE = ReadClass(ClassKind.REFERENCE)
NOT_SPANNING = _unusable(Unusable.NOT_SPANNING)
INDEL = _unusable(Unusable.INDEL)
LOW_BASE_QUALITY = _unusable(Unusable.LOW_BASE_QUALITY)
AMBIGUOUS_BASE = _unusable(Unusable.AMBIGUOUS_BASE)
NO_SEQUENCE = _unusable(Unusable.NO_SEQUENCE)
MATES_DISAGREE = _unusable(Unusable.MATES_DISAGREE)
FAMILY_DISAGREES = _unusable(Unusable.FAMILY_DISAGREES)
SMALL_FAMILY = _unusable(Unusable.SMALL_FAMILY)
# When no read of a fragment is usable, the most specific reason is reported.
_UNUSABLE_ORDER = (
    Unusable.FAMILY_DISAGREES,
    Unusable.MATES_DISAGREE,
    Unusable.INDEL,
    Unusable.LOW_BASE_QUALITY,
    Unusable.AMBIGUOUS_BASE,
    Unusable.NO_SEQUENCE,
    Unusable.NOT_SPANNING,
)
_UNUSABLE_RANK: dict[str, int] = {reason: rank for rank, reason in enumerate(_UNUSABLE_ORDER)}
# An excluded read's reason (or an unusable class, in its report spelling) that still showed a
# hotspot's allele ends in "@HOTSPOT" (low_mapping_quality@Y537S): left out of x and n, but
# counted against NOT_DETECTED.
SHOWED = "@"

# SAM flag bits that exclude a record, in the order their reason is reported.
_EXCLUDED_FLAGS = (
    (0x4, "unmapped"),
    (0x100, "secondary"),
    (0x800, "supplementary"),
    (0x200, "qc_fail"),
    (0x400, "duplicate"),
)
_EXCLUDED_MASK = 0x4 | 0x100 | 0x800 | 0x200 | 0x400
# the reason of every combination of excluding bits: its first bit's in _EXCLUDED_FLAGS (the 31
# combinations made directly, not found among the 3,844 integers up to the mask at each start)
_FLAG_REASONS = {
    sum(bit for bit, _ in chosen): chosen[0][1]
    for size in range(1, len(_EXCLUDED_FLAGS) + 1)
    for chosen in combinations(_EXCLUDED_FLAGS, size)
}
_FLAG_PAIRED, _FLAG_MATE_UNMAPPED, _FLAG_REVERSE = 0x1, 0x8, 0x10
_FLAG_READ1, _FLAG_READ2, _FLAG_DUPLICATE = 0x40, 0x80, 0x400
_MATE_SUFFIXES = ("/1", "/2")
_CIGAR_ALIGNED = (0, 7, 8)  # M, =, X
_CIGAR_INSERTION, _CIGAR_DELETION, _CIGAR_SKIP, _CIGAR_SOFT_CLIP = 1, 2, 3, 4
_FORWARD, _REVERSE = "forward", "reverse"
_BOTH_STRANDS = frozenset((_FORWARD, _REVERSE))


# Duplicates. Programs whose output has its duplicates marked, removed or collapsed into
# consensus reads, matched as whole words of an @PG line's ID, PN or CL (never inside a file
# name: "x.markdup.bam" is not a marking step); and programs that only group reads by UMI.
_MARKING_TOOLS = frozenset(
    word.lower()
    for word in (
        "MarkDuplicates", "MarkDuplicatesSpark", "MarkDuplicatesWithMateCigar",
        "UmiAwareMarkDuplicatesWithMateCigar", "markdup", "rmdup", "bammarkduplicates",
        "bammarkduplicates2", "bamsormadup", "bamstreamingmarkduplicates", "samblaster",
        "streammd", "Dedup", "gencore", "CallMolecularConsensusReads",
        "CallDuplexConsensusReads", "CallCodecConsensusReads", "FilterConsensusReads",
        "LocatIt", "CReaK", "markdupes", "--mark-duplicates",
    )
)  # fmt: skip
_GROUPING_TOOLS = frozenset(("groupreadsbyumi",))  # fgbio; umi_tools group below
_DRAGEN_MARKING = re.compile(r"--enable-duplicate-marking[=\s]+true", re.IGNORECASE)
_WORD_SPLIT = re.compile(r"[\s'\"=,;]+")
DUPLICATES_EXPECTED_FRAGMENTS = 1_000
AMPLICON_TOP_COORDINATES = 4
AMPLICON_SHARE = 0.5
AMPLICON_MIN_FRAGMENTS = 50
MOLECULE_TAGS = ("MI", "UG", "cD", "RX", "BX")


class DuplicateState(StrEnum):
    """What is known about duplicates in a BAM/CRAM counted as fragments (see the module
    docstring, rule 7)."""

    UMI = "molecules (--umi)"
    MARKED = "marked"
    DECLARED = "reads are molecules (--reads-are-molecules)"
    UNMARKED = "unmarked"
    NOT_PRESUMED = "unmarked, none presumed at this depth"


@dataclass(frozen=True)
class Duplicates:
    """Whether a file's duplicates were marked: its @PG programs, duplicate flags, depth, shape."""

    state: DuplicateState
    programs: tuple[str, ...]  # @PG entries that mark duplicates or write consensus reads
    grouping: tuple[str, ...]  # @PG entries that only group reads by UMI
    flagged: int  # records flagged duplicate (0x400) at the hotspot regions
    deepest: int  # the most usable fragments at one codon
    amplicon: bool  # most fragments at a codon share a few start/end coordinates
    molecule_tags: tuple[str, ...]  # UMI or consensus tags the reads carry

    @property
    def unmarked(self) -> bool:
        """No marking is known: fragments may be reads of the same molecules."""
        return self.state in (DuplicateState.UNMARKED, DuplicateState.NOT_PRESUMED)

    def as_dict(self) -> dict[str, Any]:
        return {
            "state": self.state.value,
            "marking_programs": list(self.programs),
            "grouping_programs": list(self.grouping),
            "duplicate_flagged_reads": self.flagged,
            "deepest_codon_fragments": self.deepest,
            "amplicon": self.amplicon,
            "molecule_tags": list(self.molecule_tags),
        }


def duplicate_programs(header: Mapping[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(@PG entries that mark duplicates or call consensus reads, those that only group by UMI).

    >>> pg = [{"ID": "bwa", "PN": "bwa", "CL": "bwa mem ref.fa x.markdup.fq"},
    ...       {"ID": "samtools.1", "PN": "samtools", "CL": "samtools markdup in.bam out.bam"},
    ...       {"ID": "fgbio", "CL": "fgbio GroupReadsByUmi -i a.bam"}]
    >>> duplicate_programs({"PG": pg})
    (('samtools.1 (samtools markdup in.bam out.bam)',), ('fgbio (fgbio GroupReadsByUmi -i a.bam)',))
    """
    marking: list[str] = []
    grouping: list[str] = []
    for program in header.get("PG", []):
        text = " ".join(str(program.get(key, "")) for key in ("ID", "PN", "CL"))
        words = {w.rsplit("/", 1)[-1].lower() for w in _WORD_SPLIT.split(text) if w}
        words |= {w.lower() for w in re.split(r"[^A-Za-z0-9_]+", str(program.get("ID", ""))) if w}
        label = str(program.get("ID", "?"))
        if program.get("CL"):
            label += f" ({program['CL']})"
        if (
            words & _MARKING_TOOLS
            or _DRAGEN_MARKING.search(text)
            or ("umi_tools" in words and "dedup" in words)
            or ("fq2bam" in words and "--no-markdups" not in words)
        ):
            marking.append(label)
        elif words & _GROUPING_TOOLS or ("umi_tools" in words and "group" in words):
            grouping.append(label)
    return tuple(marking), tuple(grouping)


@dataclass(frozen=True)
class Coordinates:
    """Where the usable fragments at one codon start and end: kept for fragments whose
    duplicates are not known to be marked (no marking @PG line, no duplicate flag).

    A fragment's coordinates are those a duplicate marker compares: for a pair, the leftmost
    mapped base and the template length with the fragment's strand; for a single read, its
    5' end (soft clips included) and strand. Two reads of one molecule share them, so
    ``alt_distinct`` (distinct coordinates among each hotspot's fragments) is a lower bound on
    that hotspot's molecules. ``top_share`` is the share of usable fragments at the
    ``AMPLICON_TOP_COORDINATES`` most common coordinates: amplicon reads all share their
    amplicon's.
    """

    fragments: int
    distinct: int
    top_share: float
    alt_distinct: Mapping[str, int]

    def as_dict(self) -> dict[str, Any]:
        return {
            "fragments": self.fragments,
            "distinct": self.distinct,
            "top_share": round(self.top_share, 4),
            "alt_distinct": dict(self.alt_distinct),
        }


@dataclass(frozen=True)
class CodonEvidence:
    """What the reads at one hotspot codon (or deletion region) showed, class by class.

    ``depth`` (usable observations) is reference + every hotspot + other. ``filtered_reads``
    counts alignment records removed before classification (duplicates, low MAPQ...), and
    ``family_sizes`` (UMI only) counts molecules by family size, before the size filter.
    """

    window: str  # e.g. "Y537", or "M421_E423" for the V422del region
    chrom: str
    start: int  # 1-based, inclusive
    end: int
    unit: str  # "fragments" or "molecules"
    reference: int
    hotspots: Mapping[str, int]
    other: int
    other_changes: Mapping[str, int]  # e.g. {"Y537T": 3}
    unusable: int
    unusable_reasons: Mapping[str, int]  # e.g. {"mates_disagree": 2, "low_base_quality": 5}
    filtered_reads: Mapping[str, int]  # e.g. {"duplicate": 812, "low_mapping_quality": 3}
    family_sizes: Mapping[int, int] = field(default_factory=dict)
    # fragments not known to be deduplicated: how their coordinates repeat (``Coordinates``)
    coordinates: Coordinates | None = None

    @property
    def depth(self) -> int:
        return self.reference + sum(self.hotspots.values()) + self.other

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready copy, for a call's ``evidence``."""
        return {
            "window": self.window,
            "region": f"{self.chrom}:{self.start}-{self.end}",
            "unit": self.unit,
            "depth": self.depth,
            "reference": self.reference,
            "hotspots": dict(self.hotspots),
            "other": self.other,
            "other_changes": dict(self.other_changes),
            "unusable": self.unusable,
            "unusable_reasons": dict(self.unusable_reasons),
            "filtered_reads": dict(self.filtered_reads),
            "family_sizes": {str(size): n for size, n in self.family_sizes.items()},
            **({} if self.coordinates is None else {"coordinates": self.coordinates.as_dict()}),
        }


@dataclass(frozen=True)
class ReadCounts:
    """The result of ``count_hotspots``: one ``AlleleCounts`` per panel hotspot, plus the codons.

    ``settings`` records every threshold and rule used (text values), so a report or a panel of
    normals can state, and check, how the counts were made.
    """

    path: str
    file_format: str  # "bam" or "cram"
    build: Build
    build_evidence: str  # e.g. "@SQ chr6 LN:170805979"
    chrom: str
    sample_id: str | None
    unit: str  # "fragments" or "molecules"
    allele_counts: tuple[AlleleCounts, ...]
    codons: tuple[CodonEvidence, ...]
    settings: Mapping[str, str]
    notices: tuple[str, ...] = ()  # what a report must tell the reader about this file
    duplicates: Duplicates | None = None  # whether duplicates were marked (rule 7)

    def __getitem__(self, hotspot: str) -> AlleleCounts:
        for counts in self.allele_counts:
            if counts.hotspot == hotspot:
                return counts
        raise KeyError(hotspot)

    def codon_of(self, hotspot: str) -> CodonEvidence:
        """The codon evidence behind one hotspot's counts."""
        return self.codons[self._codon_index[hotspot]]

    @property
    def _codon_index(self) -> dict[str, int]:
        return {name: i for i, codon in enumerate(self.codons) for name in codon.hotspots}


@dataclass(frozen=True)
class _Window:
    """The bases one read is classified on: a codon, or the whole sliding range of a deletion."""

    label: str
    c_start: int
    c_end: int
    start0: int  # 0-based, half-open genomic span of the window
    end0: int
    anchored: bool  # deletion windows: the read must align the base on each side
    hotspots: tuple[Hotspot, ...]

    @property
    def fetch_start0(self) -> int:
        return self.start0 - 1 if self.anchored else self.start0

    @property
    def fetch_end0(self) -> int:
        return self.end0 + 1 if self.anchored else self.end0


def _deletion_range(hotspot: Hotspot) -> tuple[int, int]:
    """First and last c. position any equivalent placement of the deletion can remove."""
    cds = transcript().cds
    start, end = hotspot.c_start, hotspot.c_end
    while start > 1 and cds[start - 2] == cds[end - 1]:  # slide 5' while the sequence allows
        start, end = start - 1, end - 1
    first = start
    start, end = hotspot.c_start, hotspot.c_end
    while end < len(cds) and cds[start - 1] == cds[end]:  # and 3'
        start, end = start + 1, end + 1
    return first, end


def _windows(panel: Panel, build: Build) -> tuple[_Window, ...]:
    tx = transcript()
    groups: dict[tuple[int, int, bool], list[Hotspot]] = {}
    for hotspot in panel:
        change = hotspot.change
        if change.kind == "sub" and change.start == change.end:
            c_start, c_end, anchored = 3 * change.start - 2, 3 * change.start, False
        elif change.kind == "del":
            first, last = _deletion_range(hotspot)
            c_start, c_end, anchored = 3 * ((first - 1) // 3) + 1, 3 * ((last + 2) // 3), True
        else:
            raise ConfigError(
                f"hotspot {hotspot.name}: read counting supports single-residue substitutions "
                f"and in-frame deletions, not {change.kind}"
            )
        groups.setdefault((c_start, c_end, anchored), []).append(hotspot)
    windows = []
    for (c_start, c_end, anchored), members in groups.items():
        need_first, need_last = (c_start - 1, c_end + 1) if anchored else (c_start, c_end)
        exon = tx.exon_of_c(need_first)
        if exon is None or not exon.c_start <= need_last <= exon.c_end:
            names = ", ".join(h.name for h in members)
            raise ConfigError(
                f"hotspot {names}: c.{need_first}-{need_last} crosses an exon boundary; "
                "read counting needs the codon inside one exon"
            )
        first_aa, last_aa = (c_start + 2) // 3, c_end // 3
        protein = tx.protein
        label = f"{protein[first_aa - 1]}{first_aa}"
        if last_aa != first_aa:
            label += f"_{protein[last_aa - 1]}{last_aa}"
        start0 = tx.c_to_genomic(c_start, build) - 1  # 1-based genomic -> pysam's 0-based
        windows.append(
            _Window(label, c_start, c_end, start0, start0 + c_end - c_start + 1, anchored,
                    tuple(members))
        )  # fmt: skip
    return tuple(sorted(windows, key=lambda w: w.start0))


def _fetch_regions(windows: Sequence[_Window]) -> list[list[_Window]]:
    """Windows whose spans touch are fetched together (L536, Y537, D538: one fetch)."""
    regions: list[list[_Window]] = []
    for window in windows:
        if regions and window.fetch_start0 <= max(w.fetch_end0 for w in regions[-1]):
            regions[-1].append(window)
        else:
            regions.append([window])
    return regions


def count_regions(panel: Panel, build: Build) -> tuple[tuple[int, int], ...]:
    """The genomic spans ``count_hotspots`` reads (1-based, inclusive): codons, deletion
    windows with their flanking bases, merged when they touch. Handy for a BED of the same
    regions (``samtools mpileup -r``, ``bcftools mpileup -R``).

    >>> from esr1calls.hotspots import load_panel
    >>> count_regions(load_panel(names=["D538G", "Y537S"]), Build.GRCH38)
    ((152098787, 152098792),)
    """
    spans = []
    for group in _fetch_regions(_windows(panel, build)):
        start0 = min(w.fetch_start0 for w in group)
        spans.append((start0 + 1, max(w.fetch_end0 for w in group)))  # 0-based -> 1-based
    return tuple(spans)


def _locate(
    ref_start: int, cigar: list[tuple[int, int]], left: int, right: int
) -> tuple[int | None, int | None, bool]:
    """Query offsets of reference positions ``left`` and ``right`` (0-based; None if deleted)
    and whether an insertion, deletion or skip lies between them."""
    q_left: int | None = None
    q_right: int | None = None
    indel = False
    rpos, qpos = ref_start, 0
    for op, length in cigar:
        if op in _CIGAR_ALIGNED:
            if q_left is None and rpos <= left < rpos + length:
                q_left = qpos + left - rpos
            if rpos <= right < rpos + length:
                q_right = qpos + right - rpos
                break
            rpos += length
            qpos += length
        elif op == _CIGAR_INSERTION:
            if left < rpos <= right:
                indel = True
            qpos += length
        elif op in (_CIGAR_DELETION, _CIGAR_SKIP):
            if rpos <= right and rpos + length > left:
                indel = True
            rpos += length
        elif op == _CIGAR_SOFT_CLIP:
            qpos += length
        if rpos > right:
            break
    return q_left, q_right, indel


class _Classifier:
    """Turns the bases a read shows in a window into a class; memoised per distinct allele."""

    def __init__(self, window: _Window) -> None:
        self.window = window
        self._memo: dict[tuple[str, bool], ReadClass] = {}

    def classify(self, allele: str, indel: bool) -> ReadClass:
        key = (allele, indel)
        found = self._memo.get(key)
        if found is None:
            found = self._memo[key] = self._classify(allele, indel)
        return found

    def _classify(self, allele: str, indel: bool) -> ReadClass:
        if allele.strip("ACGT"):
            return AMBIGUOUS_BASE
        window = self.window
        changes = effect_of_cds_edit(window.c_start, window.c_end, allele)
        if not changes:
            return REFERENCE
        for hotspot in window.hotspots:
            if changes == (hotspot.change,):
                return _hotspot_class(hotspot.name)
        if indel:
            return INDEL  # only the hotspot deletion itself is a usable indel
        return ReadClass(ClassKind.OTHER, "+".join(change.short for change in changes))


# What one fragment showed so far in a region: (class per window, None where no read of it
# overlapped the window; the fragment strand; whether that strand came from read 1).
_Classes = tuple[ReadClass | None, ...]
_Seen = tuple[_Classes, str, bool]


class _Region:
    """Windows fetched together, and what each fragment showed at each of them."""

    def __init__(self, windows: Sequence[_Window], min_base_quality: int) -> None:
        self.windows = tuple(windows)
        self.start0 = min(w.fetch_start0 for w in windows)
        self.end0 = max(w.fetch_end0 for w in windows)
        self.classifiers = tuple(_Classifier(w) for w in windows)
        # (left, right): the reference positions a read must align for each window; a
        # deletion window needs the base on each side, a codon its first and last base
        self.bounds = tuple(
            (w.start0 - 1, w.end0) if w.anchored else (w.start0, w.end0 - 1) for w in windows
        )
        self.min_quality_char = chr(min_base_quality + 33)  # compare Phred+33 text directly
        # Phred+33 text -> "1" (usable) / "0" (below the floor), one C call per read
        self.quality_mask = str.maketrans(
            {chr(q + 33): ("1" if q >= min_base_quality else "0") for q in range(94)}
        )
        self.fragments: dict[str, _Seen] = {}
        self.umi: dict[str, tuple[str, int, bool]] = {}
        self.filtered = tuple(Counter[str]() for _ in windows)
        # per window and hotspot: the fragments (UMI: molecules) of low-MAPQ reads of this sample
        # that show the hotspot's allele; counted once, and only if not already counted in x
        self.low_mapq_showing: tuple[dict[str, set[str]], ...] = tuple({} for _ in windows)
        self.span_memo: dict[str, _Classes] = {}
        self.unlabelled_reads = Counter[str]()  # records of read groups without SM, by group
        self.coordinates: dict[str, tuple[int, int, str]] = {}  # fragment -> _coordinate
        self.molecule_tags: set[str] = set()  # MOLECULE_TAGS seen on the first fragments
        self.tags_to_check = 100
        self.duplicate_flags = 0  # records flagged duplicate (0x400), whatever else they are
        # templates first seen through a mate named "<name>/1" or "<name>/2": their key (see
        # _fragment_key) -> (that mate's 0-based start, its mate's start, whether it is read 1)
        self.paired_names: dict[str, tuple[int, int, bool]] = {}

    def fragment_name(self, read: Any, name: str, flag: int, ref_start: int) -> str:
        """The fragment a read named with a /1 or /2 suffix belongs to.

        The suffix is dropped only when it names the read's own place in a pair (flags paired
        and read 1 for /1, read 2 for /2), and the other mate joins the fragment only if the
        two records point at each other (each one's mate position is the other's position) and
        are read 1 and read 2. Anything else keeps its full name, so records whose names differ
        after that are different fragments, and a record named without a suffix never joins
        one named with it.
        """
        key = _fragment_key(name, flag)
        if key == name:
            return name
        first = self.paired_names.get(key)
        is_read1 = bool(flag & _FLAG_READ1)
        if first is None:
            self.paired_names[key] = (ref_start, read.next_reference_start, is_read1)
            return key
        start, mate_start, first_is_read1 = first
        if (
            first_is_read1 != is_read1
            and mate_start == ref_start
            and read.next_reference_start == start
            and read.next_reference_id == read.reference_id
        ):
            return key
        return name

    def overlapped(self, ref_start: int, ref_end: int) -> list[int]:
        """Indexes of the windows whose bases a read's alignment overlaps."""
        return [i for i, w in enumerate(self.windows) if ref_start < w.end0 and ref_end > w.start0]

    def classes_of_span(self, key: str) -> _Classes:
        """Classes of a read aligned as one block over the whole region (memoised).

        ``key`` is the read's bases over the region followed by their quality mask ("1" at or
        above the floor, "0" below). Such a read's classes depend on nothing else, and most
        reads at a hotspot share the same key, so ``span_memo`` answers nearly every read.
        """
        length = self.end0 - self.start0
        found = self.span_memo[key] = self._classify_span(key[:length], key[length:])
        return found

    def _classify_span(self, bases: str, mask: str) -> _Classes:
        classes: list[ReadClass | None] = []
        for window, classifier in zip(self.windows, self.classifiers, strict=True):
            first, last = window.start0 - self.start0, window.end0 - self.start0
            shown = classifier.classify(bases[first:last], False)
            if "0" in mask[first:last]:
                classes.append(_low_quality(shown))
            else:
                classes.append(shown)
        return tuple(classes)

    def classes_of_read(
        self,
        ref_start: int,
        ref_end: int,
        cigar: list[tuple[int, int]],
        seq: str | None,
        quals: str | None,
        overlapped: Sequence[int],
    ) -> _Classes:
        """Classes of any read, window by window (partial reads, indels, clips)."""
        classes: list[ReadClass | None] = [None] * len(self.windows)
        for i in overlapped:
            classes[i] = _read_class(
                self.windows[i], self.classifiers[i], self.bounds[i], ref_start, ref_end, cigar,
                seq, quals, self.min_quality_char,
            )  # fmt: skip
        return tuple(classes)


def _read_class(
    window: _Window,
    classifier: _Classifier,
    bounds: tuple[int, int],
    ref_start: int,
    ref_end: int,
    cigar: list[tuple[int, int]],
    seq: str | None,
    quals: str | None,
    min_quality_char: str,
) -> ReadClass:
    """The class of one read at one window (``quals`` is Phred+33 text, as in SAM)."""
    left, right = bounds
    if ref_start > left or ref_end <= right:
        return NOT_SPANNING
    if seq is None:
        return NO_SEQUENCE
    found_left, found_right, indel = _locate(ref_start, cigar, left, right)
    if found_left is None or found_right is None:
        return INDEL  # a bound base is deleted
    if window.anchored:
        first, last = found_left + 1, found_right  # the bases strictly between the anchors
    elif indel:
        return INDEL
    else:
        first, last = found_left, found_right + 1
    shown = classifier.classify(seq[first:last], indel)
    if (
        last > first
        and min_quality_char > "!"
        and (quals is None or min(quals[first:last]) < min_quality_char)
    ):
        return _low_quality(shown)
    return shown


def _fragment_key(name: str, flag: int) -> str:
    """The fragment key of a read named with the /1 or /2 older aligners add to mates, when the
    flags say the read is that mate of a pair: the name without it, plus a space (which no SAM
    read name contains, so the key never meets a name written without a suffix). Any other name
    is its own key.

    >>> _fragment_key("frag7/1", 0x1 | 0x40), _fragment_key("frag7/2", 0x1 | 0x80)
    ('frag7 ', 'frag7 ')
    >>> _fragment_key("frag7/1", 0x1 | 0x80), _fragment_key("frag7/1", 0x40)
    ('frag7/1', 'frag7/1')
    >>> _fragment_key("frag7_1", 0x1 | 0x40), _fragment_key("frag7/3", 0x1 | 0x40)
    ('frag7_1', 'frag7/3')
    """
    if flag & _FLAG_PAIRED and (
        (name.endswith("/1") and flag & _FLAG_READ1) or (name.endswith("/2") and flag & _FLAG_READ2)
    ):
        return name[:-2] + " "
    return name


def _filter_label(reason: str, shown: ReadClass | None) -> str:
    """An excluded read's reason, marked with the hotspot its bases still showed, if any: the
    report spelling (``low_mapping_quality@Y537S``).

    >>> _filter_label("low_mapping_quality", _hotspot_class("Y537S"))
    'low_mapping_quality@Y537S'
    >>> _filter_label("duplicate", REFERENCE)
    'duplicate'
    """
    hotspot = None if shown is None else shown.hotspot_shown
    return reason if hotspot is None else f"{reason}{SHOWED}{hotspot}"


def _low_quality(shown: ReadClass) -> ReadClass:
    """Bases below the quality floor: unusable, marked with the hotspot they would have shown
    (the window's classifier gives a hotspot class only for its own hotspots)."""
    showed = shown.name if shown.kind is ClassKind.HOTSPOT else ""
    return _unusable(Unusable.LOW_BASE_QUALITY, showed)


def _worst_unusable(a: ReadClass, b: ReadClass) -> ReadClass:
    """The more specific of two unusable reasons; at equal rank the one that shows a hotspot,
    so the mark does not depend on which read came first."""
    rank_a = _UNUSABLE_RANK.get(a.name, 99)
    rank_b = _UNUSABLE_RANK.get(b.name, 99)
    if rank_a == rank_b:
        return a if a.showed else b
    return a if rank_a < rank_b else b


def _merge_mate_class(seen: ReadClass | None, cls: ReadClass | None) -> ReadClass | None:
    """One window's class for a fragment, given what another read of it showed."""
    if seen is None or seen == cls:
        return cls
    if cls is None:
        return seen
    if MATES_DISAGREE in (cls, seen):
        return MATES_DISAGREE
    usable, seen_usable = cls.usable, seen.usable
    if usable and seen_usable:
        return MATES_DISAGREE
    if usable:
        return cls  # an unusable mate defers to the usable one
    if seen_usable:
        return seen
    return _worst_unusable(cls, seen)


def _add_mate(seen: _Seen, classes: _Classes, strand: str, is_read1: bool) -> _Seen:
    """Merge another read of the same fragment into what the fragment showed so far."""
    seen_classes, seen_strand, seen_read1 = seen
    # every read of a fragment implies the same fragment strand; read 1 decides if they differ
    if is_read1 and not seen_read1:
        seen_strand, seen_read1 = strand, True
    return _merge_mates(seen_classes, classes), seen_strand, seen_read1


@lru_cache(maxsize=4096)
def _merge_mates(seen: _Classes, classes: _Classes) -> _Classes:
    """Every window's class for a fragment, given what another read of it showed. Memoised:
    classes are interned, and the mates of a region's fragments show a few dozen pairs."""
    return tuple(_merge_mate_class(a, b) for a, b in zip(seen, classes, strict=True))


def _molecule_class(classes: Sequence[ReadClass]) -> ReadClass:
    usable = Counter(c for c in classes if c.usable)
    if not usable:
        worst = classes[0]
        for cls in classes[1:]:
            worst = _worst_unusable(worst, cls)
        return worst
    top, count = usable.most_common(1)[0]
    return top if 2 * count > sum(usable.values()) else FAMILY_DISAGREES


@dataclass
class _Totals:
    classes: Counter[ReadClass] = field(default_factory=Counter)
    forward: Counter[ReadClass] = field(default_factory=Counter)
    reverse: Counter[ReadClass] = field(default_factory=Counter)
    family_sizes: Counter[int] = field(default_factory=Counter)


def _fragment_shapes(region: _Region) -> Counter[tuple[_Classes, str]]:
    """How many fragments showed each (classes, strand): a few hundred distinct values for tens
    of thousands of fragments, counted without a Python loop over them."""
    return Counter(map(itemgetter(0, 1), region.fragments.values()))


def _fragment_totals(shapes: Counter[tuple[_Classes, str]], index: int) -> _Totals:
    """The fragments' classes and strands at one window of a region (``_fragment_shapes``)."""
    totals = _Totals()
    classes, forward, reverse = totals.classes, totals.forward, totals.reverse
    for (fragment_classes, strand), n in shapes.items():
        cls = fragment_classes[index]
        if cls is None:
            continue
        classes[cls] += n
        if strand == _FORWARD:
            forward[cls] += n
        else:
            reverse[cls] += n
    return totals


def _molecule_totals(region: _Region, index: int, min_family_size: int) -> _Totals:
    totals = _Totals()
    molecules: dict[str, list[tuple[ReadClass, frozenset[str], int]]] = {}
    for name, (fragment_classes, strand, _) in region.fragments.items():
        cls = fragment_classes[index]
        if cls is None:
            continue
        molecule, weight, duplex = region.umi[name]
        strands = _BOTH_STRANDS if duplex else frozenset((strand,))
        molecules.setdefault(molecule, []).append((cls, strands, weight))
    for members in molecules.values():
        size = sum(weight for _, _, weight in members)
        totals.family_sizes[size] += 1
        if size < min_family_size:
            totals.classes[SMALL_FAMILY] += 1
            continue
        cls = _molecule_class([c for c, _, _ in members])
        seen_on = frozenset().union(*(s for c, s, _ in members if c == cls))
        totals.classes[cls] += 1
        if _FORWARD in seen_on:
            totals.forward[cls] += 1
        if _REVERSE in seen_on:
            totals.reverse[cls] += 1
    return totals


def _molecule_tags(read: Any, path: Path, chrom: str) -> tuple[str, int, bool]:
    """(molecule id, family weight, seen on both strands) of a UMI read, from its tags."""
    if read.has_tag("MI"):
        molecule = str(read.get_tag("MI"))
        if molecule.endswith(("/A", "/B")):
            molecule = molecule[:-2]  # both strands of a duplex molecule are one molecule
        molecule = "MI:" + molecule
    elif read.has_tag("UG"):
        molecule = "UG:" + str(read.get_tag("UG"))
    else:
        hint = (
            "its UMI (BX/RX) is not grouped: run fgbio GroupReadsByUmi or umi_tools group "
            "--output-bam first"
            if read.has_tag("BX") or read.has_tag("RX")
            else "is this a UMI BAM? Group or consensus-call it, or count without umi"
        )
        raise AlignmentFormatError(
            path,
            f"read {read.query_name} has no MI or UG molecule tag; {hint}",
            place=f"{chrom}:{read.reference_start + 1}",  # pysam 0-based -> 1-based
        )
    if read.has_tag("cD"):
        weight = int(read.get_tag("cD"))
        duplex = (
            read.has_tag("aD")
            and read.has_tag("bD")
            and int(read.get_tag("aD")) >= 1
            and int(read.get_tag("bD")) >= 1
        )
        return molecule, weight, duplex
    return molecule, 1, False


@contextmanager
def _open(path: Path, reference: Path | None) -> Iterator[Any]:
    """Open a BAM/CRAM (format detected from content) and check its index and reference."""
    try:
        probe = pysam.AlignmentFile(str(path), "r", check_sq=False)
    except FileNotFoundError as exc:
        raise AlignmentFormatError(path, "file not found") from exc
    except (OSError, ValueError) as exc:
        fix = (
            "the file is cut short: copy it again, or re-run the step that wrote it"
            if "truncated" in str(exc)
            else "check that it is the BAM/CRAM itself, copied whole"
        )
        raise AlignmentFormatError(path, f"not a readable BAM or CRAM file ({exc}); {fix}") from exc
    with probe:
        is_cram, is_bam = probe.is_cram, probe.is_bam
    if not (is_cram or is_bam):
        raise AlignmentFormatError(
            path,
            "SAM text cannot be queried by region; convert it: samtools sort -o x.bam "
            f"{path.name} && samtools index x.bam",
        )
    if is_cram:
        if reference is None:
            raise AlignmentFormatError(
                path,
                "a CRAM needs the reference FASTA it was written with; pass reference= "
                "(CLI: --reference GRCh38.fa)",
            )
        _check_fasta_readable(reference)
    try:
        handle = pysam.AlignmentFile(
            str(path), "rc" if is_cram else "rb",
            reference_filename=str(reference) if is_cram else None,
        )  # fmt: skip
    except (OSError, ValueError) as exc:
        if "no sequences defined" in str(exc):  # pysam's hint is check_sq=False, for Python
            raise AlignmentFormatError(
                path,
                "the header has no @SQ lines, so the reads are not aligned (an unaligned BAM?); "
                "align them to GRCh37 or GRCh38 first",
            ) from exc
        raise AlignmentFormatError(path, f"cannot open ({exc})") from exc
    try:
        if not handle.has_index():
            unsorted = _unsorted(handle)
            if unsorted:
                raise AlignmentFormatError(
                    path, f"is not sorted by coordinate ({unsorted}), so it cannot be indexed; "
                    f"{_sort_and_index(path)}",
                )  # fmt: skip
            beside = _index_files(path, is_cram)
            if beside:  # htslib found none it could read: the file there is damaged or foreign
                raise AlignmentFormatError(
                    path, f"its index {beside[0].name} cannot be read (damaged, or not an "
                    f"index); make it again: samtools index {path.name}",
                )  # fmt: skip
            kind = ".crai" if is_cram else ".bai/.csi"
            raise AlignmentFormatError(
                path, f"no index ({kind}) found next to the file; run: samtools index {path.name}"
            )
        yield handle
    except BaseException:
        # after a failed read htslib's close fails too; that must not hide the real error
        with suppress(OSError):
            handle.close()
        raise
    try:
        handle.close()
    except OSError as exc:  # htslib reports a read error it met earlier: do not trust the counts
        raise AlignmentFormatError(
            path, f"error reading the file ({exc}); it may be corrupt"
        ) from exc


def _unsorted(handle: Any, records: int = 100_000) -> str:
    """Why an unindexed BAM/CRAM is not coordinate-sorted ("" when its header says sorted and its
    first ``records`` mapped records are in order; samtools index finds anything later)."""
    order = _header_order(handle)
    if order in _UNSORTED_ORDERS:
        return f"@HD SO:{order}"
    previous: tuple[int, int] = (-1, -1)
    for count, read in enumerate(handle.fetch(until_eof=True)):
        if count >= records or read.reference_id < 0:  # unplaced reads come last when sorted
            break
        here = (read.reference_id, read.reference_start)
        if here < previous:
            name, back = read.reference_name, handle.get_reference_name(previous[0])
            # pysam 0-based -> 1-based
            return f"{name}:{here[1] + 1:,} comes after {back}:{previous[1] + 1:,}"
        previous = here
    return ""


_UNSORTED_ORDERS = ("queryname", "unsorted")


def _index_files(path: Path, is_cram: bool) -> list[Path]:
    """The index files htslib would look for beside a BAM/CRAM, those that exist."""
    suffixes = (".crai",) if is_cram else (".bai", ".csi")
    names = [f"{path.name}{s}" for s in suffixes] + [f"{path.stem}{s}" for s in suffixes]
    return [path.with_name(name) for name in names if path.with_name(name).is_file()]


def _header_order(handle: Any) -> str:
    """The sort order the header declares (@HD SO), or ""."""
    return str((handle.header.to_dict().get("HD") or {}).get("SO", ""))


def _sort_and_index(path: Path) -> str:
    """The commands that make an unsorted BAM/CRAM usable, for the error that says so."""
    stem = path.name.removesuffix(".bam").removesuffix(".cram")
    if path.name.endswith(".cram"):
        return (
            f"sort it, then index the sorted file: samtools sort --reference REF.fa -O cram -o "
            f"{stem}.sorted.cram {path.name} && samtools index {stem}.sorted.cram"
        )
    return (
        f"sort it, then index the sorted file: samtools sort -o {stem}.sorted.bam {path.name} "
        f"&& samtools index {stem}.sorted.bam"
    )


def _check_fasta_readable(reference: Path) -> None:
    if not reference.is_file():
        raise ReferenceFastaError(
            reference, "reference FASTA not found; pass the FASTA the CRAM used"
        )
    if not Path(f"{reference}.fai").is_file():
        raise ReferenceFastaError(
            reference, f"reference FASTA is not indexed; run: samtools faidx {reference.name}"
        )
    if reference.suffix in (".gz", ".bgz") and not Path(f"{reference}.gzi").is_file():
        raise ReferenceFastaError(
            reference,
            f"compressed FASTA has no .gzi index; run: samtools faidx {reference.name} "
            "(it must be bgzip-compressed, not gzip)",
        )


def _check_reference_bases(
    reference: Path, chrom: str, length: int, build: Build, windows: Sequence[_Window]
) -> None:
    """The FASTA must hold this build's chr6: same name and length, NM_000125.4 at the codons."""
    try:
        fasta = pysam.FastaFile(str(reference))
    except (OSError, ValueError) as exc:  # pysam: "error when opening file `x`"
        raise ReferenceFastaError(
            reference,
            "htslib cannot open it as a FASTA (plain or bgzip-compressed, with its .fai); "
            "check that it is the reference FASTA, then re-index it: samtools faidx "
            f"{reference.name}",
        ) from exc
    with fasta:
        if chrom not in fasta.references:
            shown = ", ".join(fasta.references[:5])
            raise ReferenceFastaError(
                reference,
                f"has no contig {chrom} (found: {shown}); pass the FASTA the CRAM was written with",
            )
        if fasta.get_reference_length(chrom) != length:
            raise ReferenceFastaError(
                reference,
                f"{chrom} is {fasta.get_reference_length(chrom):,} bp but the CRAM header says "
                f"{length:,} bp; pass the FASTA the CRAM was written with",
            )
        tx = transcript()
        for window in windows:
            try:
                found = fasta.fetch(chrom, window.start0, window.end0).upper()  # 0-based, half-open
            except (OSError, ValueError) as exc:  # pysam: "[Errno 2] b'No such file...'"
                raise ReferenceFastaError(
                    reference,
                    f"cannot read {chrom}:{window.start0 + 1}-{window.end0} from it: the FASTA "
                    "is cut short or corrupt, or its .fai/.gzi index was made for another file; "
                    f"copy it again and re-index it: samtools faidx {reference.name}",
                ) from exc
            expected = tx.bases(window.c_start, window.c_end)
            if found != expected:
                raise ReferenceFastaError(
                    reference,
                    f"{chrom}:{window.start0 + 1}-{window.end0} reads {found}, but NM_000125.4 "
                    f"has {expected} there in {build.value}; pass the {build.value} FASTA the "
                    "CRAM was written with",
                )


def _chrom_and_build(path: Path, header: Any, build: Build | None) -> tuple[str, Build, str]:
    lengths = dict(zip(header.references, header.lengths, strict=True))
    present = [name for name in CHROM_NAMES if name in lengths]
    if not present:
        shown = ", ".join(list(lengths)[:8]) or "no @SQ lines"
        raise AlignmentFormatError(
            path, f"no chr6 or 6 contig in the header (found: {shown}); is this a human "
            "GRCh37/GRCh38 alignment?",
        )  # fmt: skip
    if len(present) > 1:
        raise AlignmentFormatError(
            path, "the header has both chr6 and 6; cannot tell which holds ESR1"
        )
    chrom = present[0]
    length = lengths[chrom]
    detected = Build.from_chr6_length(length)
    if detected is not None:
        if build is not None and build is not detected:
            raise AlignmentFormatError(
                path,
                f"@SQ {chrom} is {length:,} bp, which is {detected.value}, but build "
                f"{build.value} was given; drop the build option or use the {build.value} file",
            )
        return chrom, detected, f"@SQ {chrom} LN:{length}"
    # as for a VCF's ##contig: a chr6 of another length is another genome (a test contig, mouse,
    # T2T), whose coordinates are not the hotspots'; no build option can make it one
    given = "" if build is None else f" (the build option, {build.value}, cannot change that)"
    raise AlignmentFormatError(
        path,
        f"@SQ {chrom} has length {length:,}, which is neither GRCh37 "
        f"({Build.GRCH37.chr6_length:,}) nor GRCh38 ({Build.GRCH38.chr6_length:,}){given}; "
        "esr1calls supports alignments to GRCh37 and GRCh38: align the reads to one of them",
    )


NO_READ_GROUP = ""  # the read-group key of records without an RG tag


@dataclass(frozen=True)
class _ReadGroups:
    """Whose reads are counted: the sample, the read-group IDs kept (None: every record), and
    the read groups without a sample name (``NO_READ_GROUP`` for records without an RG tag)."""

    sample_id: str | None
    keep: frozenset[str] | None
    unlabelled: frozenset[str] = frozenset()
    include_unlabelled: bool = False


def _read_group_filter(
    path: Path, header: Any, sample: str | None, include_unlabelled: bool
) -> _ReadGroups:
    """Which read groups are the sample's. In a BAM that names a sample (an ``@RG`` with ``SM``),
    read groups without ``SM``, and records without an ``RG`` tag, are nobody's: counted only
    when ``include_unlabelled`` says they are the sample's, and reported either way."""
    groups = header.to_dict().get("RG", [])
    samples = sorted({rg["SM"] for rg in groups if "SM" in rg})
    if sample is None:
        if len(samples) > 1:
            raise AlignmentFormatError(
                path, f"reads from several samples ({', '.join(samples)}); choose one with "
                "sample= (CLI: --sample)",
            )  # fmt: skip
        if not samples:
            return _ReadGroups(None, None)  # the BAM names no sample: every read is the file's
        sample = samples[0]
    elif sample not in samples:
        found = ", ".join(samples) if samples else "no @RG SM in the header"
        raise AlignmentFormatError(path, f"sample {sample!r} not found (found: {found})")
    unlabelled = frozenset(rg["ID"] for rg in groups if "SM" not in rg) | {NO_READ_GROUP}
    keep = frozenset(rg["ID"] for rg in groups if rg.get("SM") == sample)
    if include_unlabelled:
        keep |= unlabelled
    return _ReadGroups(sample, keep, unlabelled, include_unlabelled)


def _unlabelled_notice(path: Path, groups: _ReadGroups, reads: Mapping[str, int]) -> str | None:
    """The notice for reads of read groups without a sample name, or None if there are none."""
    parts = [
        f"read group {rg} ({n:,} reads at the hotspots)"
        for rg, n in sorted(reads.items())
        if rg != NO_READ_GROUP and n
    ]
    if reads.get(NO_READ_GROUP):
        parts.append(f"{reads[NO_READ_GROUP]:,} reads without a read group (RG tag)")
    if not parts:
        return None
    which = f"{path.name}: no sample name (@RG SM) for {'; '.join(parts)}"
    if groups.include_unlabelled:
        return f"{which}: counted as sample {groups.sample_id} (--include-unlabelled-read-groups)"
    return (
        f"{which}: not counted as sample {groups.sample_id}. If they are {groups.sample_id}'s "
        "reads, add --include-unlabelled-read-groups, or add SM to their @RG header lines "
        "(samtools reheader)"
    )


def count_hotspots(
    path: str | Path,
    panel: Panel,
    *,
    build: Build | str | None = None,
    reference: str | Path | None = None,
    min_base_quality: int = DEFAULT_MIN_BASE_QUALITY,
    min_mapping_quality: int = DEFAULT_MIN_MAPPING_QUALITY,
    umi: bool = False,
    min_family_size: int = DEFAULT_MIN_FAMILY_SIZE,
    sample: str | None = None,
    include_unlabelled_read_groups: bool = False,
    reads_are_molecules: bool = False,
) -> ReadCounts:
    """Count, per panel hotspot, the fragments (or UMI molecules) whose codon carries it.

    Args:
        path: an indexed, coordinate-sorted BAM or CRAM (format detected from content).
        panel: the hotspots to count (``load_panel()``).
        build: checked against the ``@SQ`` chr6 length, which must be GRCh37's or GRCh38's;
            a build that contradicts the header is an error.
        reference: the FASTA a CRAM was written with (required for CRAM, ignored for BAM);
            it must be indexed (``samtools faidx``) and is checked against NM_000125.4.
        min_base_quality: every base the class depends on must reach this Phred score.
        min_mapping_quality: records below this MAPQ are not counted.
        umi: count molecules (``MI``/``UG`` groups) instead of fragments.
        min_family_size: with ``umi``, molecules from fewer raw reads are unusable.
        sample: keep only read groups whose ``SM`` is this; required when several samples.
        include_unlabelled_read_groups: in a BAM that names a sample, count the read groups
            without ``SM`` (and records without ``RG``) as that sample's; either way a notice
            names them and their reads.
        reads_are_molecules: the reads are already molecules (a consensus BAM whose @PG lines
            were stripped): recorded, so unmarked duplicates are not presumed (rule 7).

    Returns:
        ``ReadCounts`` with one ``AlleleCounts`` per hotspot, in panel order, and the codon
        classification totals behind them. See the module docstring for the exact rules.

    Raises:
        AlignmentFormatError: unreadable file, no index, no or unknown chr6, a CRAM without
            its reference, unknown sample, UMI reads without a molecule tag.
        ReferenceFastaError: the CRAM's reference FASTA is missing, unindexed or another one.
        ConfigError: an out-of-range threshold, or a hotspot this counter cannot handle.
    """
    options = ReadOptions(
        reference=None if reference is None else Path(reference),
        min_base_quality=min_base_quality, min_mapping_quality=min_mapping_quality, umi=umi,
        min_family_size=min_family_size,
        include_unlabelled_read_groups=include_unlabelled_read_groups,
        reads_are_molecules=reads_are_molecules,
    )  # fmt: skip
    return count_reads(path, panel, options, build=build, sample=sample)


def count_reads(
    path: str | Path,
    panel: Panel,
    options: ReadOptions,
    *,
    build: Build | str | None = None,
    sample: str | None = None,
) -> ReadCounts:
    """:func:`count_hotspots` with the options of a run, validated when they were made."""
    path = Path(path)
    build_arg = parse_build(build)
    reference_path = options.reference
    min_base_quality, min_mapping_quality = options.min_base_quality, options.min_mapping_quality
    umi, min_family_size = options.umi, options.min_family_size
    include_unlabelled_read_groups = options.include_unlabelled_read_groups
    reads_are_molecules = options.reads_are_molecules
    with _open(path, reference_path) as bam:
        chrom, found_build, build_evidence = _chrom_and_build(path, bam.header, build_arg)
        windows = _windows(panel, found_build)
        if bam.is_cram:
            assert reference_path is not None  # _open refuses a CRAM without one
            length = bam.header.get_reference_length(chrom)
            _check_reference_bases(reference_path, chrom, length, found_build, windows)
        groups = _read_group_filter(path, bam.header, sample, include_unlabelled_read_groups)
        programs = duplicate_programs(bam.header.to_dict())
        regions = [_Region(group, min_base_quality) for group in _fetch_regions(windows)]
        for region in regions:
            _count_region(
                bam, path, chrom, region, min_mapping_quality=min_mapping_quality,
                groups=groups, umi=umi, coordinates=not (umi or programs[0]),
            )  # fmt: skip
        file_format = "cram" if bam.is_cram else "bam"
    unit = UNIT_MOLECULES if umi else UNIT_FRAGMENTS
    sample_id = groups.sample_id
    settings = _settings(min_base_quality, min_mapping_quality, umi, min_family_size, groups)
    notices: list[str] = []
    unlabelled_reads = sum((r.unlabelled_reads for r in regions), Counter[str]())
    notice = _unlabelled_notice(path, groups, unlabelled_reads)
    if notice is not None:
        notices.append(notice)
        log.info("%s", notice)
    codons: list[CodonEvidence] = []
    counts: dict[str, AlleleCounts] = {}
    # where duplicates are known marked (or molecules counted), coordinates are not needed
    needs_shape = not (umi or programs[0] or any(r.duplicate_flags for r in regions))
    for region in regions:
        shapes = _region_coordinates(region) if needs_shape else None
        fragment_shapes = None if umi else _fragment_shapes(region)
        for index, window in enumerate(region.windows):
            totals = (
                _molecule_totals(region, index, min_family_size)
                if fragment_shapes is None
                else _fragment_totals(fragment_shapes, index)
            )
            shape = None if shapes is None else shapes[index]
            codon = _codon_evidence(window, chrom, unit, region.filtered[index], totals, shape)
            codons.append(codon)
            for hotspot in window.hotspots:
                alt = _hotspot_class(hotspot.name)
                counts[hotspot.name] = AlleleCounts(
                    hotspot=hotspot.name,
                    alt_count=totals.classes[alt],
                    depth=codon.depth,
                    source=file_format,
                    place=f"{path.name}, {chrom}:{codon.start}-{codon.end} ({window.label})",
                    fields=_fields(hotspot, window, unit, settings),
                    alt_forward=totals.forward[alt],
                    alt_reverse=totals.reverse[alt],
                    excluded_alt=totals.classes[_low_quality(alt)]
                    + _low_mapq_units(region, index, hotspot.name, umi),
                )
    log.info(
        "Counted %d hotspot codon(s) in %s (%s, %s, %s)",
        len(codons), path.name, found_build.value, build_evidence, unit,
    )  # fmt: skip
    duplicates = _duplicates(programs, codons, regions, umi=umi, declared=reads_are_molecules)
    settings["duplicates"] = duplicates.state.value
    return ReadCounts(
        path=str(path),
        file_format=file_format,
        build=found_build,
        build_evidence=build_evidence,
        chrom=chrom,
        sample_id=sample_id,
        unit=unit,
        allele_counts=tuple(counts[h.name] for h in panel),
        codons=tuple(codons),
        settings=settings,
        notices=tuple(notices),
        duplicates=duplicates,
    )


def _duplicates(
    programs: tuple[tuple[str, ...], tuple[str, ...]],
    codons: Sequence[CodonEvidence],
    regions: Sequence[_Region],
    *,
    umi: bool,
    declared: bool,
) -> Duplicates:
    """Whether duplicates were marked, from the @PG lines, the flags and the reads (rule 7)."""
    marking, grouping = programs
    flagged = sum(r.duplicate_flags for r in regions)
    deepest = max((c.depth for c in codons), default=0)
    judged = [
        c.coordinates.top_share >= AMPLICON_SHARE
        for c in codons
        if c.coordinates is not None and c.coordinates.fragments >= AMPLICON_MIN_FRAGMENTS
    ]
    amplicon = bool(judged) and 2 * sum(judged) > len(judged)
    tags = sorted({t for r in regions for t in r.molecule_tags}, key=MOLECULE_TAGS.index)
    if umi:
        state = DuplicateState.UMI
    elif marking or flagged:
        state = DuplicateState.MARKED
    elif declared:
        state = DuplicateState.DECLARED
    elif amplicon or deepest >= DUPLICATES_EXPECTED_FRAGMENTS:
        state = DuplicateState.UNMARKED
    else:
        state = DuplicateState.NOT_PRESUMED
    return Duplicates(state, marking, grouping, flagged, deepest, amplicon, tuple(tags))


def _count_region(
    bam: Any,
    path: Path,
    chrom: str,
    region: _Region,
    *,
    min_mapping_quality: int,
    groups: _ReadGroups,
    umi: bool,
    coordinates: bool,
) -> None:
    """Read every record overlapping the region once and classify it at each of its windows.

    This loop runs once per read at 20,000x, so it keeps the common case short: a read aligned
    as one block over the whole region is classified through ``span_memo``.
    """
    start0, end0 = region.start0, region.end0
    length = end0 - start0
    fragments = region.fragments
    span_memo, quality_mask = region.span_memo, region.quality_mask
    no_quality_mask = ("1" if region.min_quality_char == "!" else "0") * length
    every_window = range(len(region.windows))
    filtered_everywhere = Counter[str]()  # reads filtered at every window of the region
    place = f"{chrom}:{start0 + 1}-{end0}"  # 0-based half-open -> 1-based
    last_start = -1
    keep_groups, unlabelled = groups.keep, groups.unlabelled
    group = NO_READ_GROUP
    fragment_coordinates = region.coordinates if coordinates else None
    try:
        for read in bam.fetch(chrom, start0, end0):
            flag = read.flag
            ref_start = read.reference_start
            if ref_start < last_start:  # an index fetch returns records in position order
                raise AlignmentFormatError(
                    path, "records are out of coordinate order: the file is not sorted, or its "
                    f"index was made for another file; {_sort_and_index(path)}", place=place,
                )  # fmt: skip
            last_start = ref_start
            ref_end = read.reference_end
            if ref_end is None:  # unmapped records placed at their mate's position
                ref_end = ref_start + 1
            sample_read = True
            if keep_groups is not None and not flag & _EXCLUDED_MASK:  # else the flag decides
                try:
                    group = str(read.get_tag("RG"))
                except KeyError:
                    group = NO_READ_GROUP
                if group in unlabelled:
                    region.unlabelled_reads[group] += 1
                sample_read = group in keep_groups
            if (
                flag & _EXCLUDED_MASK
                or read.mapping_quality < min_mapping_quality
                or not sample_read
            ):
                reason = _filter_reason(flag, read.mapping_quality, min_mapping_quality)
                if reason == _NOT_THE_SAMPLE and not sample_read and group in unlabelled:
                    reason = "unlabelled_read_group"
                if flag & _FLAG_DUPLICATE:
                    region.duplicate_flags += 1
                    fragment_coordinates = None  # duplicates are marked: no need to look
                spans_all = ref_start <= start0 and ref_end >= end0
                windows = every_window if spans_all else region.overlapped(ref_start, ref_end)
                if (
                    reason != "low_mapping_quality"  # duplicates etc.: most filtered reads
                    or not read.cigartuples
                    or not sample_read
                ):
                    if spans_all:
                        filtered_everywhere[reason] += 1  # added to every window's below
                    else:
                        for i in windows:
                            region.filtered[i][reason] += 1
                    continue
                # what this sample's low-MAPQ read would have shown: a mutant read is still one
                shown = region.classes_of_read(
                    ref_start, ref_end, read.cigartuples, read.query_sequence,
                    read.query_qualities_str, windows,
                )  # fmt: skip
                for i in windows:
                    cls = shown[i]
                    # a read failing both floors shows its hotspot through the base-quality mark
                    hotspot = None if cls is None else cls.hotspot_shown
                    label = _filter_label(reason, cls)
                    region.filtered[i][label] += 1
                    if hotspot is not None:
                        unit = (
                            _molecule_tags(read, path, chrom)[0]
                            if umi
                            else _fragment_key(read.query_name, flag)
                        )
                        region.low_mapq_showing[i].setdefault(str(hotspot), set()).add(unit)
                continue
            cigar = read.cigartuples
            seq = read.query_sequence
            quals = read.query_qualities_str
            if len(cigar) == 1 and ref_start <= start0 and ref_end >= end0 and seq is not None:
                offset = start0 - ref_start
                key = seq[offset : offset + length] + (
                    quals[offset : offset + length].translate(quality_mask)
                    if quals is not None
                    else no_quality_mask
                )
                classes = span_memo.get(key) or region.classes_of_span(key)
            else:
                overlapped = region.overlapped(ref_start, ref_end)
                if not overlapped:
                    continue  # only touches a deletion window's flanking base
                classes = region.classes_of_read(ref_start, ref_end, cigar, seq, quals, overlapped)
            name = read.query_name
            if name.endswith(_MATE_SUFFIXES):
                name = region.fragment_name(read, name, flag, ref_start)
            is_read1 = bool(flag & _FLAG_READ1) or not flag & _FLAG_PAIRED
            # fragment strand = read 1's strand: a read 2 on the reverse strand is forward
            strand = _REVERSE if bool(flag & _FLAG_REVERSE) == is_read1 else _FORWARD
            seen = fragments.get(name)
            if seen is None:
                fragments[name] = (classes, strand, is_read1)
                if fragment_coordinates is not None:
                    fragment_coordinates[name] = _coordinate(
                        read, flag, ref_start, ref_end, cigar, strand
                    )
                if region.tags_to_check:  # the first fragments' tags stand for the file
                    region.tags_to_check -= 1
                    region.molecule_tags.update(t for t in MOLECULE_TAGS if read.has_tag(t))
            elif seen[0] != classes:
                fragments[name] = _add_mate(seen, classes, strand, is_read1)
            elif is_read1 and not seen[2]:  # mates agree; read 1 sets the fragment strand
                fragments[name] = (classes, strand, True)
            if umi:
                _add_molecule_tags(region, name, _molecule_tags(read, path, chrom))
        for filtered in region.filtered:
            filtered.update(filtered_everywhere)
    except OSError as exc:
        order = _header_order(bam)
        if order in _UNSORTED_ORDERS:  # an index beside an unsorted file is another file's
            raise AlignmentFormatError(
                path, f"is not sorted by coordinate (@HD SO:{order}), and its index is another "
                f"file's; {_sort_and_index(path)}",
            ) from exc  # fmt: skip
        hint = (
            "the reference FASTA does not match the one the CRAM was written with"
            if bam.is_cram
            else "the file is truncated or corrupt, or its index was made for another file "
            f"(copy the file again, or re-index it: samtools index {path.name})"
        )
        raise AlignmentFormatError(
            path, f"cannot decode reads ({exc}): {hint}", place=place
        ) from exc


def _coordinate(
    read: Any, flag: int, ref_start: int, ref_end: int, cigar: list[tuple[int, int]], strand: str
) -> tuple[int, int, str]:
    """What a duplicate marker compares: (leftmost base, template length, fragment strand) for a
    pair on one contig, else (the read's 5' end with its soft clip, -1, its strand). 0-based."""
    if flag & _FLAG_PAIRED and not flag & _FLAG_MATE_UNMAPPED:
        length = read.template_length  # 0 when the mate is on another contig (SAM spec)
        if length:
            return min(ref_start, read.next_reference_start), abs(length), strand
    if flag & _FLAG_REVERSE:
        clip = cigar[-1][1] if cigar[-1][0] == _CIGAR_SOFT_CLIP else 0
        return ref_end + clip, -1, _REVERSE
    clip = cigar[0][1] if cigar[0][0] == _CIGAR_SOFT_CLIP else 0
    return ref_start - clip, -1, _FORWARD


def _region_coordinates(region: _Region) -> list[Coordinates]:
    """How the usable fragments' coordinates repeat at each window of a region (one pass)."""
    windows = range(len(region.windows))
    at: list[Counter[tuple[int, int, str]]] = [Counter() for _ in windows]
    alt: list[dict[ReadClass, set[tuple[int, int, str]]]] = [
        {_hotspot_class(h.name): set() for h in window.hotspots} for window in region.windows
    ]
    coordinates = region.coordinates
    for name, (classes, _, _) in region.fragments.items():
        coordinate = coordinates[name]
        for index, cls in enumerate(classes):
            if cls is None or not cls.usable:
                continue
            at[index][coordinate] += 1
            if cls in alt[index]:
                alt[index][cls].add(coordinate)
    found = []
    for index in windows:
        fragments = sum(at[index].values())
        top = sum(n for _, n in at[index].most_common(AMPLICON_TOP_COORDINATES))
        found.append(
            Coordinates(
                fragments=fragments,
                distinct=len(at[index]),
                top_share=top / fragments if fragments else 0.0,
                alt_distinct={cls.name: len(seen) for cls, seen in alt[index].items()},
            )
        )
    return found


def _low_mapq_units(region: _Region, index: int, hotspot: str, umi: bool) -> int:
    """Fragments (molecules) whose low-MAPQ reads show ``hotspot`` and that x does not count
    already: a fragment with a usable mate, or a molecule with usable reads, is counted there."""
    units = region.low_mapq_showing[index].get(hotspot, set())
    if not units:
        return 0
    # in x already: fragments (molecules) whose usable reads show this hotspot at this window
    shown = _hotspot_class(hotspot)
    in_x = {name for name, (classes, _, _) in region.fragments.items() if classes[index] == shown}
    if umi:
        in_x = {region.umi[name][0] for name in in_x}
    return len(units - in_x)


_NOT_THE_SAMPLE = "other_sample"


def _filter_reason(flag: int, mapping_quality: int, min_mapping_quality: int) -> str:
    """Why a record was excluded: the first matching flag, then MAPQ, then the read group."""
    flagged = _FLAG_REASONS.get(flag & _EXCLUDED_MASK)
    if flagged is not None:
        return flagged
    if mapping_quality < min_mapping_quality:
        return "low_mapping_quality"
    return _NOT_THE_SAMPLE


def _add_molecule_tags(region: _Region, name: str, molecule: tuple[str, int, bool]) -> None:
    seen = region.umi.get(name)
    if seen is None:
        region.umi[name] = molecule
    else:
        # both consensus mates carry cD; the family is the larger (raw reads behind either)
        region.umi[name] = (seen[0], max(seen[1], molecule[1]), seen[2] or molecule[2])


def _codon_evidence(
    window: _Window,
    chrom: str,
    unit: str,
    filtered: Counter[str],
    totals: _Totals,
    coordinates: Coordinates | None,
) -> CodonEvidence:
    hotspots = {h.name: totals.classes[_hotspot_class(h.name)] for h in window.hotspots}
    in_order = sorted(totals.classes.items(), key=lambda item: str(item[0]))  # as reports sort
    other_changes = {cls.name: n for cls, n in in_order if cls.kind is ClassKind.OTHER}
    unusable = {
        str(cls).removeprefix("unusable:"): n
        for cls, n in in_order
        if cls.kind is ClassKind.UNUSABLE
    }
    return CodonEvidence(
        window=window.label,
        chrom=chrom,
        start=window.start0 + 1,  # back to 1-based, inclusive
        end=window.end0,
        unit=unit,
        reference=totals.classes[REFERENCE],
        hotspots=hotspots,
        other=sum(other_changes.values()),
        other_changes=other_changes,
        unusable=sum(unusable.values()),
        unusable_reasons=unusable,
        filtered_reads=dict(sorted(filtered.items())),
        family_sizes=dict(sorted(totals.family_sizes.items())),
        coordinates=coordinates,
    )


def _settings(
    min_base_quality: int,
    min_mapping_quality: int,
    umi: bool,
    min_family_size: int,
    groups: _ReadGroups,
) -> dict[str, str]:
    settings = {
        "unit": UNIT_MOLECULES if umi else UNIT_FRAGMENTS,
        "min_base_quality": str(min_base_quality),
        "min_mapping_quality": str(min_mapping_quality),
        "excluded_flags": "unmapped, secondary, supplementary, qc_fail, duplicate",
        "overlapping_mates": "one fragment; mates that classify differently: unusable",
        "strand": "read 1's strand (F1R2 forward, F2R1 reverse); unpaired reads their own",
        "indels": "unusable in the codon, except the deletion hotspot itself",
        "sample": groups.sample_id or "",
        "read_groups": _kept_groups(groups),
    }
    if groups.unlabelled - {NO_READ_GROUP} or groups.include_unlabelled:
        settings["unlabelled_read_groups"] = (
            "counted as the sample's (--include-unlabelled-read-groups)"
            if groups.include_unlabelled
            else "not counted"
        )
    if umi:
        settings.update(
            umi_tags="MI (fgbio, /A and /B strands merged), else UG (umi_tools)",
            family_size="sum of cD per consensus fragment (larger mate), 1 per raw fragment",
            min_family_size=str(min_family_size),
            molecule_class="strict majority of usable fragments, else unusable",
        )
    return settings


def _kept_groups(groups: _ReadGroups) -> str:
    """The read groups counted, for ``settings``: "all", or their IDs.

    >>> _kept_groups(_ReadGroups("S", frozenset({"b", "a", NO_READ_GROUP})))
    'a,b,(reads without RG)'
    """
    if groups.keep is None:
        return "all"
    named = sorted(g for g in groups.keep if g != NO_READ_GROUP)
    return ",".join(named + (["(reads without RG)"] if NO_READ_GROUP in groups.keep else []))


def _fields(
    hotspot: Hotspot, window: _Window, unit: str, settings: Mapping[str, str]
) -> dict[str, str]:
    what = "region" if window.anchored else "codon"
    fields = {
        "alt_count": f"{unit} whose {window.label} {what} translates to {hotspot.name} only",
        "depth": f"{unit} with a usable {window.label} {what} (reference + hotspots + other)",
        "alt_forward": f"{unit} on the forward strand ({settings['strand']})",
        "alt_reverse": f"{unit} on the reverse strand",
    }
    fields.update(settings)
    return fields
