"""Plasma VCFs for the ctDNA-fraction proxy and the clinical page: every hotspot force-called at
a depth that makes it NOT_DETECTED (unless a fraction is given for one), plus the sample's other
variants (a TP53 variant at 8 %, a DNMT3A one at 5 %, a germline-like one at 48 % ...)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from ..hotspots import load_panel
from ..model import Build

HEADER = [
    "##fileformat=VCFv4.2",
    '##FILTER=<ID=PASS,Description="All filters passed">',
    '##FILTER=<ID=weak_evidence,Description="weak evidence">',
    '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
    '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths">',
    '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Depth">',
    "##MutectVersion=2.2",
    "##source=Mutect2",
    "##contig=<ID=chr2,length=242193529>",
    "##contig=<ID=chr6,length=170805979>",
    "##contig=<ID=chr17,length=83257441>",
    "##tumor_sample={sample}",
]
DEPTH = 20000

# other variants (GRCh38): name -> (chrom, pos, ref, alt)
TP53_R273H = ("chr17", 7673802, "C", "T")
DNMT3A_R882H = ("chr2", 25234373, "C", "T")
GERMLINE_SNP = ("chr17", 7676154, "G", "C")  # TP53 P72R, a common germline polymorphism


def _record(chrom: str, pos: int, ref: str, alt: str, alt_count: int, depth: int,
            filt: str = "PASS") -> str:  # fmt: skip
    return (
        f"{chrom}\t{pos}\t.\t{ref}\t{alt}\t.\t{filt}\t.\tGT:AD:DP\t"
        f"0/1:{depth - alt_count},{alt_count}:{depth}"
    )


def plasma_vcf(
    others: Iterable[tuple[tuple[str, int, str, str], float]] = (),
    *,
    detected: Mapping[str, float] | None = None,
    filtered: Sequence[tuple[tuple[str, int, str, str], float]] = (),
    sample: str = "PLASMA1",
    depth: int | None = None,
) -> str:
    """A Mutect2 VCF of one plasma sample (GRCh38): the 11 hotspots force-called at DEPTH (a
    hotspot in ``detected`` at that fraction), ``others`` PASS at their fractions, ``filtered``
    the same but FILTER weak_evidence; ``depth`` other than DEPTH (4,000: too shallow for a
    NOT_DETECTED at 0.2 %, every hotspot INDETERMINATE)."""
    depth = DEPTH if depth is None else depth
    detected = dict(detected or {})
    rows: list[tuple[str, int, str]] = []
    sites: dict[tuple[int, str], list[tuple[str, int]]] = {}  # one record per site, all its alts
    for hotspot in load_panel():
        count = round(detected.get(hotspot.name, 0.0) * depth)
        sites.setdefault((hotspot.pos(Build.GRCH38), hotspot.ref), []).append((hotspot.alt, count))
    for (pos, ref), alleles in sites.items():
        alts = ",".join(alt for alt, _ in alleles)
        counts = [count for _, count in alleles]
        ad = ",".join(str(n) for n in [depth - sum(counts), *counts])
        genotype = "0/1" if any(counts) else "0/0"
        record = f"chr6\t{pos}\t.\t{ref}\t{alts}\t.\tPASS\t.\tGT:AD:DP\t{genotype}:{ad}:{depth}"
        rows.append(("chr6", pos, record))
    for (chrom, pos, ref, alt), fraction in others:
        rows.append((chrom, pos, _record(chrom, pos, ref, alt, round(fraction * depth), depth)))
    for (chrom, pos, ref, alt), fraction in filtered:
        record = _record(chrom, pos, ref, alt, round(fraction * depth), depth, "weak_evidence")
        rows.append((chrom, pos, record))
    order = {"chr2": 2, "chr6": 6, "chr17": 17}
    body = [r for _, _, r in sorted(rows, key=lambda r: (order[r[0]], r[1]))]
    columns = f"#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t{sample}"
    header = [line.format(sample=sample) if "{sample}" in line else line for line in HEADER]
    return "\n".join([*header, columns, *body]) + "\n"


def write_plasma_vcf(path: Path, *args: object, **kwargs: object) -> Path:
    path.write_text(plasma_vcf(*args, **kwargs))  # type: ignore[arg-type]
    return path
