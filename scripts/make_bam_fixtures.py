#!/usr/bin/env python3
"""Write the small committed BAMs: the README's UMI BAM and the damaged-input corpus's BAMs.

    python scripts/make_bam_fixtures.py           # (re)writes them all, with their indexes
    python scripts/make_bam_fixtures.py --check   # exit 1 if a committed BAM's records differ

``testdata/bam/plasma_07.umi.bam`` is a synthetic plasma UMI consensus BAM (GRCh38, sample
PLASMA_07), as fgbio CallMolecularConsensusReads would leave it: one single-end 100 bp consensus
read per molecule, tagged ``MI`` (molecule) and ``cD`` (4 raw reads behind it), half on each
strand. Every molecule is listed in ``MOLECULES`` below, so each expected count can be traced:

* E380, the M421-V422-E423 region and S463: 4,800 reference molecules each;
* exon 8 (L536, Y537, D538): 5,000 molecules, of which Y537S (TAT>TCT) 30, L536Q as the MNV
  CTC>CAG 12 (never L536H), D538G 7 (0.14 %: significant but below 0.2 %), and Y537T (TAT>ACT,
  a double change in one codon: neither Y537N nor Y537S) 2.

``testdata/damaged/bam_*.bam`` are BAMs with one kind of damage each (``DAMAGED`` below says
which); their expected outcomes are in ``testdata/expected/damaged/`` (tests/test_damaged.py).

The reference under them is the synthetic chr6 of ``esr1calls/testing/bams.py`` (real ESR1 exons at
their GRCh38 positions, chr6 of real length), so the header says GRCh38 exactly as a real BAM does.
Records are written in a fixed order; ``--check`` compares records (not compressed bytes, which
depend on the zlib build). Indexes are CSI: a .bai of a 170 Mb chr6 is 70 KB of empty bins.
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path

import pysam

from esr1calls.model import Build
from esr1calls.testing import REPO
from esr1calls.testing.bams import (
    Fragment,
    around,
    codon_edit,
    esr1_reference,
    fragment_reads,
    make_header,
    write_families,
)

OUT = REPO / "testdata" / "bam" / "plasma_07.umi.bam"
DAMAGED_DIR = REPO / "testdata" / "damaged"
SAMPLE = "PLASMA_07"
FAMILY = 4  # raw reads behind each consensus read (fgbio cD)

# (name, c. position the read is centred on, molecules, codon edits as (amino acid, codon))
MOLECULES: tuple[tuple[str, int, int, tuple[tuple[int, str], ...]], ...] = (
    ("e380", 1138, 4_800, ()),
    ("v422", 1265, 4_800, ()),
    ("s463", 1387, 4_800, ()),
    ("x8", 1609, 5_000 - 30 - 12 - 7 - 2, ()),
    ("y537s", 1609, 30, ((537, "TCT"),)),
    ("l536q", 1609, 12, ((536, "CAG"),)),
    ("d538g", 1609, 7, ((538, "GGC"),)),
    ("y537t", 1609, 2, ((537, "ACT"),)),
)


def groups() -> Iterable[tuple[Fragment, int]]:
    """Each line of MOLECULES as two groups of consensus reads, one per strand."""
    for name, c_pos, count, changes in MOLECULES:
        edits = tuple(codon_edit(aa, codon) for aa, codon in changes)
        forward = (count + 1) // 2
        for strand, n, reverse in (("f", forward, False), ("r", count - forward, True)):
            tags = {"RG": "rg1", "MI": f"{name}{strand}", "cD": FAMILY}
            fragment = Fragment(
                f"{name}{strand}", around(c_pos, 40), 100, edits=edits, paired=False,
                r1_reverse=reverse, tags=tags,
            )  # fmt: skip
            yield fragment, n


def write(path: Path) -> Path:
    ref = esr1_reference(Build.GRCH38)
    header = make_header(ref, read_groups=(("rg1", SAMPLE),), programs=())  # as committed: no @PG
    path.parent.mkdir(parents=True, exist_ok=True)
    write_families(path, groups(), ref, header=header, index=False)
    pysam.index("-c", str(path))
    return path


# ------------------------------------------------------------------ the damaged-input corpus


def _shapes(count: int, seed: int) -> list[tuple[int, int, bool]]:
    """``count`` distinct exon 8 molecules as (bases before c.1610, length, F2R1), each with
    both mates over L536-D538 (2x100 reads), so a duplicate marker would keep every one."""
    shapes = [
        (offset, length, reverse)
        for offset in range(10, 96)
        for length in range(110, offset + 101)
        for reverse in (False, True)
    ]
    random.Random(seed).shuffle(shapes)
    return shapes[:count]


def _exon8_molecules(
    count: int, copies: int, seed: int, *, mutants: int = 0, suffixes: bool = False
) -> list[tuple[Fragment, int]]:
    """``count`` distinct molecules, each read ``copies`` times; the first ``mutants`` Y537S."""
    y537s = (codon_edit(537, "TCT"),)
    return [
        (Fragment(f"m{i}", around(1610, offset), length, edits=y537s if i < mutants else (),
                  r1_reverse=reverse, tags={"RG": "rg1"}, mate_suffixes=suffixes), copies)
        for i, (offset, length, reverse) in enumerate(_shapes(count, seed))
    ]  # fmt: skip


def _csi_indexed(
    path: Path, groups: list[tuple[Fragment, int]], header: pysam.AlignmentHeader
) -> Path:
    write_families(path, groups, esr1_reference(Build.GRCH38), header=header, index=False)
    pysam.index("-c", str(path))
    return path


def write_mate_suffixes(path: Path) -> Path:
    """6,000 distinct overlapping pairs whose mates are named m<i>/1 and m<i>/2 (older
    aligners), duplicates marked (samtools markdup @PG): 6,000 fragments, not 12,000."""
    ref = esr1_reference(Build.GRCH38)
    groups = _exon8_molecules(6_000, 1, seed=1, suffixes=True)
    return _csi_indexed(path, groups, make_header(ref))


def write_unmarked_duplicates(path: Path) -> Path:
    """2,000 distinct molecules read 6 times each, no duplicate flag, no marking @PG line."""
    ref = esr1_reference(Build.GRCH38)
    groups = _exon8_molecules(2_000, 6, seed=2)
    return _csi_indexed(path, groups, make_header(ref, programs=()))


def write_read_group_without_sm(path: Path) -> Path:
    """rg1 (SM TUMOUR): 400 molecules; rg2, with no SM: 100 molecules, 20 of them Y537S."""
    ref = esr1_reference(Build.GRCH38)
    header_dict = make_header(ref).to_dict()
    header_dict["RG"].append({"ID": "rg2", "PL": "ILLUMINA"})  # no SM
    header = pysam.AlignmentHeader.from_dict(header_dict)
    groups = _exon8_molecules(500, 1, seed=3)
    unlabelled = [
        (replace(f, tags={"RG": "rg2"}, edits=(codon_edit(537, "TCT"),) if i < 20 else ()), n)
        for i, (f, n) in enumerate(groups[400:])
    ]
    return _csi_indexed(path, [*groups[:400], *unlabelled], header)


def write_chr6_test_contig(path: Path) -> Path:
    """A BAM aligned to a 150 bp test contig named chr6: no build's chr6."""
    header = pysam.AlignmentHeader.from_dict(
        {"HD": {"VN": "1.6", "SO": "coordinate"}, "SQ": [{"SN": "chr6", "LN": 150}],
         "RG": [{"ID": "rg1", "SM": "TUMOUR"}]}
    )  # fmt: skip
    rng = random.Random(4)
    contig = "".join(rng.choice("ACGT") for _ in range(150))
    with pysam.AlignmentFile(str(path), "wb", header=header) as out:
        for i, start in enumerate(range(0, 50, 10)):
            read = pysam.AlignedSegment(header)
            read.query_name, read.flag, read.reference_id = f"r{i}", 0, 0
            read.reference_start, read.mapping_quality = start, 60  # 0-based
            read.cigartuples = [(0, 100)]
            read.query_sequence = contig[start : start + 100]
            read.query_qualities = pysam.qualitystring_to_array("I" * 100)
            read.set_tag("RG", "rg1")
            out.write(read)
    pysam.index("-c", str(path))
    return path


def write_unsorted(path: Path) -> Path:
    """Exon 8 pairs then E380 pairs, as an aligner writes them (no @HD SO), and no index:
    samtools index refuses it."""
    ref = esr1_reference(Build.GRCH38)
    header_dict = make_header(ref).to_dict()
    header_dict["HD"] = {"VN": "1.6"}
    header = pysam.AlignmentHeader.from_dict(header_dict)
    with pysam.AlignmentFile(str(path), "wb", header=header) as out:
        for c_pos in (1609, 1138):
            fragment = Fragment(f"c{c_pos}_", around(c_pos, 60), 150, tags={"RG": "rg1"})
            for read in fragment_reads(fragment, header, ref):
                out.write(read)
    return path


DAMAGED: dict[str, Callable[[Path], Path]] = {
    "bam_mate_suffixes.bam": write_mate_suffixes,
    "bam_unmarked_duplicates.bam": write_unmarked_duplicates,
    "bam_read_group_without_sm.bam": write_read_group_without_sm,
    "bam_chr6_test_contig.bam": write_chr6_test_contig,
    "bam_unsorted.bam": write_unsorted,
}
FIXTURES: dict[Path, Callable[[Path], Path]] = {
    OUT: write,
    **{DAMAGED_DIR / name: writer for name, writer in DAMAGED.items()},
}


def records(path: Path) -> list[str]:
    with pysam.AlignmentFile(str(path), "rb", check_sq=False) as bam:
        return [str(bam.header), *(read.to_string() for read in bam.fetch(until_eof=True))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args()
    if not args.check:
        for target, writer in FIXTURES.items():
            writer(target)
            print(f"wrote {target.relative_to(REPO)}")
        return 0
    import tempfile

    differ = []
    with tempfile.TemporaryDirectory() as tmp:
        for target, writer in FIXTURES.items():
            fresh = writer(Path(tmp) / target.name)
            if records(fresh) != records(target):
                differ.append(str(target.relative_to(REPO)))
    if differ:
        print(f"{', '.join(differ)} differ from what this script writes; re-run it")
        return 1
    print(f"{len(FIXTURES)} BAMs match")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
