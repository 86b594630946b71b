#!/usr/bin/env python3
"""Write the small committed BAM used by the README and the golden test, from known molecules.

    python scripts/make_bam_fixtures.py           # (re)writes testdata/bam/plasma_07.umi.bam(.csi)
    python scripts/make_bam_fixtures.py --check   # exit 1 if the committed BAM's records differ

``plasma_07.umi.bam`` is a synthetic plasma UMI consensus BAM (GRCh38, sample PLASMA_07), as
fgbio CallMolecularConsensusReads would leave it: one single-end 100 bp consensus read per
molecule, tagged ``MI`` (molecule) and ``cD`` (4 raw reads behind it), half on each strand.
Every molecule is listed in ``MOLECULES`` below, so each expected count can be traced:

* E380, the M421-V422-E423 region and S463: 4,800 reference molecules each;
* exon 8 (L536, Y537, D538): 5,000 molecules, of which Y537S (TAT>TCT) 30, L536Q as the MNV
  CTC>CAG 12 (never L536H), D538G 7 (0.14 %: significant but below 0.2 %), and Y537T (TAT>ACT,
  a double change in one codon: neither Y537N nor Y537S) 2.

The reference under it is the synthetic chr6 of ``tests/bamfactory.py`` (real ESR1 exons at their
GRCh38 positions, chr6 of real length), so the header says GRCh38 exactly as a real BAM does.
Records are written in a fixed order; ``--check`` compares records (not compressed bytes, which
depend on the zlib build). The index is CSI: a .bai of a 170 Mb chr6 is 70 KB of empty bins.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from pathlib import Path

import pysam

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # tests/bamfactory.py builds the records

from esr1calls.model import Build  # noqa: E402
from tests.bamfactory import (  # noqa: E402
    Fragment,
    around,
    codon_edit,
    esr1_reference,
    make_header,
    write_families,
)

OUT = REPO / "testdata" / "bam" / "plasma_07.umi.bam"
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


def records(path: Path) -> list[str]:
    with pysam.AlignmentFile(str(path), "rb") as bam:
        return [str(bam.header), *(read.to_string() for read in bam)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args()
    if not args.check:
        write(OUT)
        print(f"wrote {OUT.relative_to(REPO)} and its index")
        return 0
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        fresh = write(Path(tmp) / OUT.name)
        if records(fresh) != records(OUT):
            print(f"{OUT.relative_to(REPO)} differs from what this script writes; re-run it")
            return 1
    print(f"{OUT.relative_to(REPO)} matches")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
