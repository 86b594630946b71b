"""Build small, exact BAM/CRAM files from known molecules, for the read-counting tests.

Nothing binary is committed: every alignment file is written by pysam from a list of
``Fragment`` specs, so each expected count in the tests can be traced to the molecules below it.

The reference is the ESR1 coding exons of NM_000125.4 placed at their real coordinates on a
chromosome 6 of the real length (GRCh38 ``chr6`` 170,805,979 bp; GRCh37 ``6`` 171,115,067 bp),
so build detection from ``@SQ`` works exactly as on a real file. Each exon is flanked by
``FLANK`` bases of seeded pseudo-random intron sequence; everything else is ``N``. The FASTA is
bgzip-compressed (long runs of N compress to almost nothing) and indexed (.fai and .gzi), which
keeps it small while samtools, bcftools and htslib's CRAM codec accept it as a real reference.

Coordinates in the specs are 1-based genomic positions (VCF style), like the rest of the project;
the conversion to pysam's 0-based offsets happens in ``_aligned_segment``.
"""

from __future__ import annotations

import random
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pysam

from ..hotspots import default_chrom
from ..model import Build
from ..transcript import transcript

FLANK = 300
QUAL = 30
LOW_QUAL = 10
FLAG_PAIRED, FLAG_PROPER, FLAG_UNMAPPED, FLAG_MATE_UNMAPPED = 0x1, 0x2, 0x4, 0x8
FLAG_REVERSE, FLAG_MATE_REVERSE, FLAG_READ1, FLAG_READ2 = 0x10, 0x20, 0x40, 0x80
SECONDARY, QC_FAIL, DUPLICATE, SUPPLEMENTARY = 0x100, 0x200, 0x400, 0x800


@dataclass(frozen=True)
class Reference:
    """chr6 as N except the coding exons and their flanks (``segments``: 1-based start, bases)."""

    build: Build
    contig: str
    length: int
    segments: tuple[tuple[int, str], ...]

    def seq(self, start: int, end: int) -> str:
        """Bases start..end (1-based, inclusive)."""
        out = ["N"] * (end - start + 1)
        for seg_start, bases in self.segments:
            seg_end = seg_start + len(bases) - 1
            lo, hi = max(start, seg_start), min(end, seg_end)
            for pos in range(lo, hi + 1):
                out[pos - start] = bases[pos - seg_start]
        return "".join(out)


@cache
def esr1_reference(build: Build = Build.GRCH38, contig: str | None = None) -> Reference:
    """The synthetic chr6 of ``build``: real exon bases at real positions, seeded flanks."""
    tx = transcript()
    segments = []
    for exon in tx.exons:
        start = exon.genomic_start(build)
        rng = random.Random(f"esr1-exon-{exon.number}")  # same flanks in every run
        left = "".join(rng.choice("ACGT") for _ in range(FLANK))
        right = "".join(rng.choice("ACGT") for _ in range(FLANK))
        segments.append((start - FLANK, left + tx.bases(exon.c_start, exon.c_end) + right))
    return Reference(build, contig or default_chrom(build), build.chr6_length, tuple(segments))


def write_fasta(ref: Reference, path: Path, *, line_width: int = 60) -> Path:
    """Write ``ref`` as a bgzipped, faidx-indexed FASTA (``path`` should end in .fa.gz)."""
    plain = path.with_suffix("")  # x.fa.gz -> x.fa, removed after compression
    runs: list[tuple[int, str]] = []  # (1-based start, bases) in order, N runs implicit
    runs.extend(sorted(ref.segments))
    with plain.open("w", encoding="ascii") as out:
        out.write(f">{ref.contig}\n")
        pending = ""
        pos = 1
        chunk = 6_000_000  # write N runs in large blocks: a 170 Mb contig in about a second

        def emit(text: str) -> None:
            nonlocal pending
            pending += text
            full = len(pending) - len(pending) % line_width
            if full:
                block = pending[:full]
                out.write(
                    "\n".join(block[i : i + line_width] for i in range(0, full, line_width)) + "\n"
                )
                pending = pending[full:]

        for seg_start, bases in runs:
            while pos < seg_start:
                step = min(chunk, seg_start - pos)
                emit("N" * step)
                pos += step
            emit(bases)
            pos += len(bases)
        while pos <= ref.length:
            step = min(chunk, ref.length - pos + 1)
            emit("N" * step)
            pos += step
        if pending:
            out.write(pending + "\n")
    pysam.tabix_compress(str(plain), str(path), force=True)
    plain.unlink()
    pysam.faidx(str(path))
    return path


@dataclass(frozen=True)
class Edit:
    """A change on the molecule, VCF style: equal-length substitution, or an anchored indel."""

    pos: int
    ref: str
    alt: str


@dataclass(frozen=True)
class Fragment:
    """One sequenced DNA fragment (a read pair, or a single read when ``paired`` is False).

    ``start``/``length`` give the reference span of the molecule before edits. Read 1 holds the
    first ``read_length`` bases of the molecule, read 2 the last ``read_length`` (so short
    fragments give overlapping mates). ``r1_edits``/``r2_edits`` are changes seen in one mate
    only (a sequencing error), ``low_quality_r1``/``r2`` genomic positions whose base quality
    is ``LOW_QUAL`` in that mate, ``clip_r1``/``clip_r2`` a number of bases at the start of that
    read (in reference order) written as a soft clip instead of aligned. ``mate_suffixes``
    names the mates ``<name>/1`` and ``<name>/2``, as older aligners did.
    """

    name: str
    start: int
    length: int
    edits: tuple[Edit, ...] = ()
    read_length: int = 100
    paired: bool = True
    r1_reverse: bool = False
    flags: int = 0
    r1_flags: int = 0
    r2_flags: int = 0
    mapq: int = 60
    tags: Mapping[str, Any] = field(default_factory=dict)
    r1_tags: Mapping[str, Any] = field(default_factory=dict)
    r2_tags: Mapping[str, Any] = field(default_factory=dict)
    r1_edits: tuple[Edit, ...] = ()
    r2_edits: tuple[Edit, ...] = ()
    low_quality_r1: tuple[int, ...] = ()
    low_quality_r2: tuple[int, ...] = ()
    clip_r1: int = 0
    clip_r2: int = 0
    quality: int = QUAL
    mate_suffixes: bool = False


Column = tuple[int | None, str | None]  # (1-based reference position or None, base or None)


def _columns(ref: Reference, start: int, length: int, edits: Iterable[Edit]) -> list[Column]:
    """The molecule aligned to the reference, one column per aligned/deleted/inserted base."""
    by_pos: dict[int, Edit] = {}
    for each in edits:
        if each.pos in by_pos:
            raise ValueError(f"two edits at {each.pos}")
        by_pos[each.pos] = each
    columns: list[Column] = []
    pos = start
    end = start + length - 1
    while pos <= end:
        edit = by_pos.get(pos)
        if edit is None:
            columns.append((pos, ref.seq(pos, pos)))
            pos += 1
            continue
        expected = ref.seq(pos, pos + len(edit.ref) - 1)
        if expected != edit.ref:
            raise ValueError(f"edit {edit} does not match the reference ({expected})")
        if len(edit.ref) == len(edit.alt):
            columns.extend((pos + i, base) for i, base in enumerate(edit.alt))
        elif len(edit.alt) == 1 and edit.alt[0] == edit.ref[0]:  # anchored deletion
            columns.append((pos, edit.alt))
            columns.extend((pos + i, None) for i in range(1, len(edit.ref)))
        elif len(edit.ref) == 1 and edit.alt[0] == edit.ref[0]:  # anchored insertion
            columns.append((pos, edit.ref))
            columns.extend((None, base) for base in edit.alt[1:])
        else:
            raise ValueError(f"unsupported edit {edit}")
        pos += len(edit.ref)
    return columns


def _read_columns(columns: list[Column], first: bool, read_length: int) -> list[Column]:
    """The first or last ``read_length`` read bases of the molecule, with the gaps between."""
    base_idx = [i for i, (_, base) in enumerate(columns) if base is not None]
    chosen = base_idx[:read_length] if first else base_idx[-read_length:]
    return columns[chosen[0] : chosen[-1] + 1]


def _cigar_and_bases(cols: list[Column], clip: int) -> tuple[int, list[tuple[int, int]], str]:
    """(1-based alignment start, cigartuples, read bases) of a read; ``clip`` bases soft-clipped."""
    ops: list[tuple[int, int]] = []
    bases: list[str] = []
    start: int | None = None
    clipped = 0
    for ref_pos, base in cols:
        if clipped < clip and base is not None:
            clipped += 1
            bases.append(base)
            op = 4  # S
        elif base is None:
            op = 2  # D
        elif ref_pos is None:
            op = 1 if start is not None else 4  # I, or S before the first aligned base
            bases.append(base)
        else:
            op = 0  # M
            bases.append(base)
            if start is None:
                start = ref_pos
        if op == 2 and start is None:
            continue  # a deletion inside the clipped part is simply not there
        if ops and ops[-1][0] == op:
            ops[-1] = (op, ops[-1][1] + 1)
        else:
            ops.append((op, 1))
    assert start is not None, "read has no aligned base"
    return start, ops, "".join(bases)


def _aligned_segment(
    header: pysam.AlignmentHeader,
    fragment: Fragment,
    cols: list[Column],
    *,
    is_read1: bool,
    mate: tuple[int, bool] | None,
    tlen: int,
) -> pysam.AlignedSegment:
    clip = fragment.clip_r1 if is_read1 else fragment.clip_r2
    start, cigar, bases = _cigar_and_bases(cols, clip)
    low = set(fragment.low_quality_r1 if is_read1 else fragment.low_quality_r2)
    quals = []
    for ref_pos, base in cols:
        if base is not None:
            quals.append(LOW_QUAL if ref_pos in low else fragment.quality)
    reverse = fragment.r1_reverse if is_read1 else not fragment.r1_reverse
    flag = fragment.flags | (fragment.r1_flags if is_read1 else fragment.r2_flags)
    if reverse:
        flag |= FLAG_REVERSE
    if fragment.paired:
        flag |= FLAG_PAIRED | FLAG_PROPER | (FLAG_READ1 if is_read1 else FLAG_READ2)
        if mate is not None and mate[1]:
            flag |= FLAG_MATE_REVERSE
    seg = pysam.AlignedSegment(header)
    seg.query_name = fragment.name + _mate_suffix(fragment, is_read1)
    seg.flag = flag
    seg.reference_id = 0
    seg.reference_start = start - 1  # pysam is 0-based
    seg.mapping_quality = fragment.mapq
    if flag & FLAG_UNMAPPED:
        seg.cigartuples = None
        seg.mapping_quality = 0
    else:
        seg.cigartuples = cigar
    seg.query_sequence = bases
    seg.query_qualities = pysam.qualitystring_to_array("".join(chr(q + 33) for q in quals))
    if mate is not None:
        seg.next_reference_id = 0
        seg.next_reference_start = mate[0] - 1
        seg.template_length = tlen if is_read1 != fragment.r1_reverse else -tlen
    tags = {**fragment.tags, **(fragment.r1_tags if is_read1 else fragment.r2_tags)}
    for tag, value in tags.items():
        seg.set_tag(tag, value)
    return seg


def _mate_suffix(fragment: Fragment, is_read1: bool) -> str:
    if not (fragment.paired and fragment.mate_suffixes):
        return ""
    return "/1" if is_read1 else "/2"


def fragment_reads(
    fragment: Fragment, header: pysam.AlignmentHeader, ref: Reference
) -> list[pysam.AlignedSegment]:
    """The alignment records of one fragment (one or two)."""
    r1_cols = _read_columns(
        _columns(ref, fragment.start, fragment.length, fragment.edits + fragment.r1_edits),
        not fragment.r1_reverse,
        fragment.read_length,
    )
    if not fragment.paired:
        return [_aligned_segment(header, fragment, r1_cols, is_read1=True, mate=None, tlen=0)]
    r2_cols = _read_columns(
        _columns(ref, fragment.start, fragment.length, fragment.edits + fragment.r2_edits),
        fragment.r1_reverse,
        fragment.read_length,
    )
    r1_start = next(p for p, b in r1_cols if p is not None and b is not None)
    r2_start = next(p for p, b in r2_cols if p is not None and b is not None)
    tlen = fragment.length
    return [
        _aligned_segment(
            header, fragment, r1_cols, is_read1=True, mate=(r2_start, not fragment.r1_reverse),
            tlen=tlen,
        ),
        _aligned_segment(
            header, fragment, r2_cols, is_read1=False, mate=(r1_start, fragment.r1_reverse),
            tlen=tlen,
        ),
    ]  # fmt: skip


# The @PG line samtools markdup writes. Every fragment these factories write is a distinct
# molecule by construction (copies of one spec are separate molecules), so by default a header
# says, as a standard pipeline's does, that duplicates were marked: a test of unmarked
# duplicates passes ``programs=()`` (or runs samtools markdup for real).
MARKDUP_PG = {
    "ID": "samtools.markdup",
    "PN": "samtools",
    "VN": "1.16.1",
    "CL": "samtools markdup -@ 4 sorted.bam marked.bam",
}


def make_header(
    ref: Reference,
    read_groups: Sequence[tuple[str, str]] = (("rg1", "TUMOUR"),),
    *,
    extra_contigs: Sequence[tuple[str, int]] = (),
    contig_length: int | None = None,
    programs: Sequence[Mapping[str, str]] = (MARKDUP_PG,),
) -> pysam.AlignmentHeader:
    """A coordinate-sorted header with ``ref.contig`` first; read groups as (ID, SM) pairs;
    ``programs`` as @PG lines (default: samtools markdup, see ``MARKDUP_PG``)."""
    header: dict[str, Any] = {
        "HD": {"VN": "1.6", "SO": "coordinate"},
        "SQ": [{"SN": ref.contig, "LN": contig_length or ref.length}]
        + [{"SN": name, "LN": length} for name, length in extra_contigs],
    }
    if read_groups:
        header["RG"] = [{"ID": rg, "SM": sm, "PL": "ILLUMINA"} for rg, sm in read_groups]
    if programs:
        header["PG"] = [dict(program) for program in programs]
    return pysam.AlignmentHeader.from_dict(header)


def write_alignments(
    path: Path,
    fragments: Iterable[Fragment],
    ref: Reference,
    *,
    header: pysam.AlignmentHeader | None = None,
    reference_fasta: Path | None = None,
    index: bool = True,
) -> Path:
    """Write the fragments as a sorted BAM (or CRAM when ``path`` ends in .cram) and index it."""
    header = header or make_header(ref)
    records = [r for f in fragments for r in fragment_reads(f, header, ref)]
    return _write_sorted(path, records, header, reference_fasta, index)


def write_families(
    path: Path,
    groups: Iterable[tuple[Fragment, int]],
    ref: Reference,
    *,
    header: pysam.AlignmentHeader | None = None,
    reference_fasta: Path | None = None,
    index: bool = True,
) -> Path:
    """Like ``write_alignments``, for many identical molecules: each (fragment, n) is written n
    times, copy i named ``<name>.<i>`` with an ``MI`` tag (if the fragment has one) of
    ``<MI>.<i>``, so each copy is its own molecule. The records are built once per group and
    copied, which makes 10,000-family BAMs take a fraction of a second."""
    header = header or make_header(ref)
    records = []
    for fragment, n in groups:
        template = fragment_reads(fragment, header, ref)
        for i in range(n):
            for read in template:
                copy = pysam.AlignedSegment.fromstring(read.to_string(), header)
                copy.query_name = f"{fragment.name}.{i}" + _mate_suffix(fragment, read.is_read1)
                if copy.has_tag("MI"):
                    copy.set_tag("MI", f"{copy.get_tag('MI')}.{i}")
                records.append(copy)
    return _write_sorted(path, records, header, reference_fasta, index)


def _write_sorted(
    path: Path,
    records: list[pysam.AlignedSegment],
    header: pysam.AlignmentHeader,
    reference_fasta: Path | None,
    index: bool,
) -> Path:
    """Sort the records by position, write a BAM (a CRAM when ``path`` ends in .cram), index it."""
    records.sort(key=lambda r: (r.reference_start, r.query_name, r.flag))
    if path.suffix == ".cram":
        if reference_fasta is None:
            raise ValueError("a CRAM needs reference_fasta")
        out = pysam.AlignmentFile(
            str(path), "wc", header=header, reference_filename=str(reference_fasta)
        )
    else:
        out = pysam.AlignmentFile(str(path), "wb", header=header)
    with out:
        for record in records:
            out.write(record)
    if index:
        pysam.index(str(path))
    return path


def bam_to_cram(bam: Path, cram: Path, reference_fasta: Path) -> Path:
    """Convert with samtools itself, so the CRAM is exactly what a lab pipeline would write."""
    subprocess.run(
        ["samtools", "view", "-C", "-T", str(reference_fasta), "-o", str(cram), str(bam)],
        check=True,
    )
    subprocess.run(["samtools", "index", str(cram)], check=True)
    return cram


def g(c_pos: int, build: Build = Build.GRCH38) -> int:
    """Genomic position of a c. position (shorthand for specs)."""
    return transcript().c_to_genomic(c_pos, build)


def codon_edit(aa_pos: int, codon: str, build: Build = Build.GRCH38) -> Edit:
    """Replace the whole codon ``aa_pos`` with ``codon`` (a substitution of 1-3 bases)."""
    first = g(3 * aa_pos - 2, build)
    return Edit(first, transcript().codon(aa_pos), codon)


def around(c_pos: int, offset: int = 60, build: Build = Build.GRCH38) -> int:
    """A fragment start such that c_pos lies ``offset`` bases into the fragment."""
    return g(c_pos, build) - offset
