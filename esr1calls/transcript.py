"""NM_000125.4 facts: the coding sequence, the exon model in both builds, and codon effects.

Everything that turns a genomic or c. change into a protein change lives here, so VCF records,
reads and panel entries are all compared by the same rule: the effect on the codons.
Coordinates are 1-based (c. positions and VCF positions).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache

from ._package_data import read_text
from .model import Build

__all__ = [
    "Exon",
    "OutsideCdsError",
    "ProteinChange",
    "RefMismatchError",
    "Transcript",
    "effect_of_cds_edit",
    "effect_of_genomic_change",
    "genomic_to_cds_edit",
    "transcript",
    "translate",
    "trim_allele",
]

ACCESSION = "NM_000125.4"
PROTEIN_ACCESSION = "NP_000116.2"
TRANSCRIPT_FILES = ("NM_000125.4.fa", "esr1_cds_exons.tsv")  # in esr1calls/data/
_CDS_FIRST, _CDS_LAST = 232, 2019  # 1-based, inclusive, in the mRNA record (stop codon included)

_BASES = "TCAG"
_AMINO = "FFLLSSSSYY**CC*WLLLLPPPPHHQQRRRRIIIMTTTTNNKKSSRRVVVVAAAADDEEGGGG"
CODON_TABLE: dict[str, str] = {
    a + b + c: _AMINO[16 * i + 4 * j + k]
    for i, a in enumerate(_BASES)
    for j, b in enumerate(_BASES)
    for k, c in enumerate(_BASES)
}
THREE_LETTER: dict[str, str] = {
    "A": "Ala", "R": "Arg", "N": "Asn", "D": "Asp", "C": "Cys", "E": "Glu", "Q": "Gln",
    "G": "Gly", "H": "His", "I": "Ile", "L": "Leu", "K": "Lys", "M": "Met", "F": "Phe",
    "P": "Pro", "S": "Ser", "T": "Thr", "W": "Trp", "Y": "Tyr", "V": "Val", "*": "Ter",
}  # fmt: skip
ONE_LETTER = {v: k for k, v in THREE_LETTER.items()}


def translate(seq: str) -> str:
    """Translate a coding sequence; an incomplete or ambiguous codon gives ``X``.

    >>> translate("TATGAC")
    'YD'
    >>> translate("TANGA")
    'X'
    """
    return "".join(CODON_TABLE.get(seq[i : i + 3], "X") for i in range(0, len(seq) - 2, 3))


class RefMismatchError(ValueError):
    """The REF bases of a change disagree with the transcript."""


class OutsideCdsError(ValueError):
    """The change does not lie wholly within one coding exon, so its codon effect is unknown."""


@dataclass(frozen=True)
class Exon:
    number: int
    c_start: int
    c_end: int
    grch37_start: int
    grch38_start: int

    def genomic_start(self, build: Build) -> int:
        return self.grch37_start if build is Build.GRCH37 else self.grch38_start

    def genomic_end(self, build: Build) -> int:
        return self.genomic_start(build) + self.c_end - self.c_start


@dataclass(frozen=True, order=True)
class ProteinChange:
    """A protein-level change on NP_000116.2, 1-based residues.

    ``kind`` is one of: ``sub`` (one residue replaced, stop included), ``del``, ``ins``,
    ``delins`` and ``fs`` (frameshift; ``alt`` is empty).
    """

    start: int
    end: int
    kind: str
    ref: str
    alt: str

    @property
    def short(self) -> str:
        """The short protein name used for hotspots: D538G, V422del, L536_Y537delinsQ...

        >>> ProteinChange(538, 538, "sub", "D", "G").short
        'D538G'
        >>> ProteinChange(422, 422, "del", "V", "").short
        'V422del'
        """
        first = f"{self.ref[:1]}{self.start}"
        span = first if self.end == self.start else f"{first}_{self.ref[-1:]}{self.end}"
        if self.kind == "sub":
            return f"{first}{self.alt}"
        if self.kind == "del":
            return f"{span}del"
        if self.kind == "ins":
            return f"{span}ins{self.alt}"
        if self.kind == "fs":
            return f"{first}fs"
        return f"{span}delins{self.alt}"


class Transcript:
    """The NM_000125.4 coding sequence and its exons, loaded from the package data."""

    def __init__(self, cds: str, exons: tuple[Exon, ...]) -> None:
        if len(cds) % 3 or not cds.startswith("ATG") or translate(cds[-3:]) != "*":
            raise ValueError("packaged NM_000125.4 CDS is not a complete open reading frame")
        self.accession = ACCESSION
        self.cds = cds
        self.exons = exons
        self.protein = translate(cds)  # ends with "*"

    def codon(self, aa_pos: int) -> str:
        return self.cds[3 * (aa_pos - 1) : 3 * aa_pos]

    def bases(self, c_start: int, c_end: int) -> str:
        return self.cds[c_start - 1 : c_end]

    def exon_of_c(self, c_pos: int) -> Exon | None:
        for exon in self.exons:
            if exon.c_start <= c_pos <= exon.c_end:
                return exon
        return None

    def c_to_genomic(self, c_pos: int, build: Build) -> int:
        exon = self.exon_of_c(c_pos)
        if exon is None:
            raise OutsideCdsError(f"c.{c_pos} is outside the coding sequence")
        return exon.genomic_start(build) + (c_pos - exon.c_start)

    def genomic_to_c(self, pos: int, build: Build) -> int | None:
        """The c. position of a genomic position, or None outside the coding exons."""
        for exon in self.exons:
            start = exon.genomic_start(build)
            if start <= pos <= exon.genomic_end(build):
                return exon.c_start + (pos - start)
        return None


@cache
def transcript() -> Transcript:
    """The packaged NM_000125.4 transcript (loaded once)."""
    fasta_file, exons_file = TRANSCRIPT_FILES
    fasta = read_text("data", fasta_file, encoding="ascii")
    mrna = "".join(line.strip() for line in fasta.splitlines() if not line.startswith(">"))
    exons = tuple(
        Exon(
            number=int(row["coding_exon"]),
            c_start=int(row["c_start"]),
            c_end=int(row["c_end"]),
            grch37_start=int(row["grch37_start"]),
            grch38_start=int(row["grch38_start"]),
        )
        for row in csv.DictReader(
            read_text("data", exons_file, encoding="ascii").splitlines(), delimiter="\t"
        )
    )
    return Transcript(mrna[_CDS_FIRST - 1 : _CDS_LAST].upper(), exons)


def effect_of_cds_edit(c_start: int, c_end: int, alt: str) -> tuple[ProteinChange, ...]:
    """Protein changes caused by replacing c.[c_start..c_end] with ``alt``.

    ``c_end == c_start - 1`` is a pure insertion after c.[c_end]. A synonymous edit gives ().
    Equal-length changes touching several codons give one ``sub`` per changed residue, so an
    in-cis Y537S + D538G comes back as two changes.

    >>> [p.short for p in effect_of_cds_edit(1613, 1613, "G")]
    ['D538G']
    >>> [p.short for p in effect_of_cds_edit(1609, 1610, "AC")]
    ['Y537T']
    >>> [p.short for p in effect_of_cds_edit(1262, 1264, "")]
    ['V422del']
    """
    tx = transcript()
    ref_cds = tx.cds
    mutated = ref_cds[: c_start - 1] + alt + ref_cds[c_end:]
    first_codon = (min(c_start, c_end + 1) - 1) // 3
    if (len(mutated) - len(ref_cds)) % 3:
        return (ProteinChange(first_codon + 1, first_codon + 1, "fs", tx.protein[first_codon], ""),)
    ref_protein = tx.protein
    alt_protein = translate(mutated)
    i = 0
    limit = min(len(ref_protein), len(alt_protein))
    while i < limit and ref_protein[i] == alt_protein[i]:
        i += 1
    if i == len(ref_protein) == len(alt_protein):
        return ()
    suffix = 0
    while (
        suffix < limit - i
        and ref_protein[len(ref_protein) - 1 - suffix] == alt_protein[len(alt_protein) - 1 - suffix]
    ):
        suffix += 1
    ref_part = ref_protein[i : len(ref_protein) - suffix]
    alt_part = alt_protein[i : len(alt_protein) - suffix]
    if len(ref_part) == len(alt_part):
        return tuple(
            ProteinChange(i + k + 1, i + k + 1, "sub", r, a)
            for k, (r, a) in enumerate(zip(ref_part, alt_part, strict=True))
            if r != a
        )
    if not alt_part:
        return (ProteinChange(i + 1, i + len(ref_part), "del", ref_part, ""),)
    if not ref_part:
        # HGVS names an insertion by its flanking residues
        return (ProteinChange(i, i + 1, "ins", ref_protein[i - 1 : i + 1], alt_part),)
    return (ProteinChange(i + 1, i + len(ref_part), "delins", ref_part, alt_part),)


_ANCHOR_RE = re.compile(r"^[ACGTN]+$")


def trim_allele(pos: int, ref: str, alt: str) -> tuple[int, str, str]:
    """Drop the bases REF and ALT share at the start and the end: (first changed pos, ref, alt).

    >>> trim_allele(152061016, "ATGG", "A")
    (152061017, 'TGG', '')
    >>> trim_allele(100, "TC", "AC")
    (100, 'T', 'A')
    """
    start = 0
    while start < min(len(ref), len(alt)) and ref[start] == alt[start]:
        start += 1
    end_ref, end_alt = len(ref), len(alt)
    while end_ref > start and end_alt > start and ref[end_ref - 1] == alt[end_alt - 1]:
        end_ref -= 1
        end_alt -= 1
    return pos + start, ref[start:end_ref], alt[start:end_alt]


def effect_of_genomic_change(
    pos: int, ref: str, alt: str, build: Build
) -> tuple[ProteinChange, ...]:
    """Protein changes of a VCF-style allele (1-based ``pos``) on the + strand of chr6.

    The allele may be unnormalised (extra anchor or trailing bases). REF bases inside the CDS
    must match the transcript (else RefMismatchError); the changed bases must lie within one
    coding exon (else OutsideCdsError).

    >>> [p.short for p in effect_of_genomic_change(152061016, "ATGG", "A", Build.GRCH38)]
    ['V422del']
    """
    ref, alt = ref.upper(), alt.upper()
    if not (_ANCHOR_RE.match(ref) and (alt == "" or _ANCHOR_RE.match(alt))):
        raise OutsideCdsError(f"allele {ref}>{alt} is not a sequence change")
    tx = transcript()
    for offset, base in enumerate(ref):
        c_pos = tx.genomic_to_c(pos + offset, build)
        if c_pos is not None and base != "N" and tx.cds[c_pos - 1] != base:
            expected = "".join(
                tx.cds[c - 1] if (c := tx.genomic_to_c(pos + k, build)) else "?"
                for k in range(len(ref))
            )
            raise RefMismatchError(
                f"REF {ref} at {pos} does not match {ACCESSION} ({build.value}): "
                f"expected {expected}"
            )
    # only the changed bases must be coding
    first, changed_ref, changed_alt = trim_allele(pos, ref, alt)
    if not changed_ref and not changed_alt:
        return ()
    edit = genomic_to_cds_edit(pos, ref, alt, build)
    if edit is None:
        if changed_ref:
            raise OutsideCdsError(f"change at {first} is not wholly inside one coding exon")
        raise OutsideCdsError(f"insertion at {first} is not inside a coding exon")
    return effect_of_cds_edit(*edit)


def genomic_to_cds_edit(pos: int, ref: str, alt: str, build: Build) -> tuple[int, int, str] | None:
    """The c. edit of a VCF-style allele, trimmed of the bases REF and ALT share.

    Returns (c_start, c_end, new bases) as :func:`effect_of_cds_edit` takes them (``c_end ==
    c_start - 1`` for an insertion), or None when the changed bases are not wholly inside one
    coding exon. REF is not checked against the transcript.

    >>> genomic_to_cds_edit(152061016, "ATGG", "A", Build.GRCH38)
    (1262, 1264, '')
    """
    first, changed_ref, changed_alt = trim_allele(pos, ref, alt)
    tx = transcript()
    if changed_ref:
        c_first = tx.genomic_to_c(first, build)
        c_positions = [tx.genomic_to_c(first + k, build) for k in range(len(changed_ref))]
        if c_first is None or c_positions != list(range(c_first, c_first + len(changed_ref))):
            return None
        return c_first, c_first + len(changed_ref) - 1, changed_alt
    before = tx.genomic_to_c(first - 1, build)
    after = tx.genomic_to_c(first, build)
    if before is None or after != before + 1:
        return None
    return after, before, changed_alt
