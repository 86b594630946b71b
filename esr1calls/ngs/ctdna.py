"""The ctDNA-fraction proxy: how much tumour DNA a negative NGS sample showed (docs/clinical.md).

A blood negative means little when the blood held little tumour DNA. The sample's own VCF says
something about that: the highest allele fraction among its other somatic variants. This module
reads it from the PASS records outside ESR1, leaving out

* likely germline variants (fraction 0.35-0.65, or 0.9 and above);
* clonal haematopoiesis (CHIP) genes (DNMT3A, TET2, ASXL1, PPM1D, JAK2, SF3B1, SRSF2), whose
  variants in plasma usually come from blood cells, unless a matched normal was called;

and calls the sample ``CTDNA_ADEQUATE`` (a variant at 1 % or more) or ``CTDNA_LOW_OR_UNKNOWN``.
Genes are known by their coordinates in both builds (``data/ctdna_genes.tsv``, with its source),
since most plasma VCFs reach the lab unannotated; a VEP (CSQ) or SnpEff (ANN) gene symbol is used
when the record has one. Counts follow the caller's own rule (``COUNT_RULES``), never its AF.

Only what is needed is read: the file is scanned once as text, only PASS records (FILTER PASS
or ".") outside ESR1 are parsed, and only for NEGATIVE samples (``call_ngs`` asks).
"""

from __future__ import annotations

import gzip
import heapq
import io
import tempfile
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import IO, Any

from .._package_data import read_text
from ..errors import VcfFormatError
from ..interpretation import CTDNA_ADEQUATE_FRACTION, CtdnaStatus
from ..model import Build
from .callers import COUNT_RULES, Caller, site_counts
from .htslib import quiet_htslib
from .vcf_read import _record_from_pysam  # the one conversion of a pysam record to a VcfRecord

__all__ = ["GERMLINE_LIKE", "ctdna_proxy", "gene_at"]

GERMLINE_LIKE = ((0.35, 0.65), (0.9, 1.0))
"""Allele fractions (inclusive ranges) read as likely germline, never as tumour DNA."""
_ANNOTATION_GENE = {"CSQ": "SYMBOL", "ANN": "Gene_Name"}  # VEP, SnpEff


@dataclass(frozen=True)
class _Interval:
    gene: str
    kind: str  # "CHIP" or "ESR1"
    chrom: str
    start: int
    end: int


@cache
def _intervals() -> tuple[tuple[Build, _Interval], ...]:
    text = read_text("data", "ctdna_genes.tsv")
    rows = [line.split("\t") for line in text.splitlines() if line and not line.startswith("#")]
    return tuple(
        (Build(build), _Interval(gene, kind, chrom, int(start), int(end)))
        for gene, kind, build, chrom, start, end in rows[1:]
    )


def _bare(chrom: str) -> str:
    return chrom[3:] if chrom.lower().startswith("chr") else chrom


def gene_at(chrom: str, pos: int, build: Build) -> tuple[str, str] | None:
    """(gene, kind) of a CHIP gene or ESR1 at a position, else None.

    >>> gene_at("chr2", 25_234_373, Build.GRCH38)  # DNMT3A R882H
    ('DNMT3A', 'CHIP')
    >>> gene_at("17", 7_577_120, Build.GRCH37) is None  # TP53 R273H
    True
    """
    for interval in _on_chromosome(build, _bare(chrom)):
        if interval.start <= pos <= interval.end:
            return interval.gene, interval.kind
    return None


@cache
def _on_chromosome(build: Build, chrom: str) -> tuple[_Interval, ...]:
    return tuple(iv for b, iv in _intervals() if b is build and iv.chrom == chrom)


def _kind_of(gene: str) -> str | None:
    return next((iv.kind for _, iv in _intervals() if iv.gene == gene.upper()), None)


def _germline_like(fraction: float) -> bool:
    return any(low <= fraction <= high for low, high in GERMLINE_LIKE)


def _open_text(path: Path) -> IO[bytes]:
    with path.open("rb") as probe:
        magic = probe.read(2)
    if magic == b"\x1f\x8b":
        # a large buffer in front of the decompressor: readline is then C code, not gzip.py's
        return io.BufferedReader(gzip.GzipFile(path, "rb"), 1 << 20)
    return path.open("rb", buffering=1 << 20)


# Callers whose count rule is the tumour's FORMAT/AD over its sum (DRAGEN: capped by DP): for
# them the text pass computes the exact fraction, and only the best candidates are parsed.
_AD_CALLERS = {Caller.MUTECT2: False, Caller.HAPLOTYPECALLER: False, Caller.DRAGEN: True}
_CANDIDATES = 25  # parsed by the caller's rule, best first, for the AD callers


@dataclass
class _Scan:
    header: list[str]
    kept: list[bytes]  # PASS records to parse (AD callers: the best candidates only)
    excluded: dict[str, int]
    records: int
    fast: bool  # the text pass ranked the records by their AD fraction


def _layout(keys: bytes) -> tuple[int, int]:
    """Where AD and DP are in a FORMAT (-1: absent); records share a few FORMATs, so cached."""
    names = keys.split(b":")
    return (
        names.index(b"AD") if b"AD" in names else -1,
        names.index(b"DP") if b"DP" in names else -1,
    )


def _ad_fractions(
    parts: list[bytes], column: int, capped: bool, layouts: dict[bytes, tuple[int, int]]
) -> list[float] | None:
    """The tumour's fraction per ALT from FORMAT/AD (None when the record has no usable AD)."""
    if len(parts) <= column:
        return None
    layout = layouts.get(parts[8])
    if layout is None:
        layout = layouts[parts[8]] = _layout(parts[8])
    ad, dp = layout
    values = parts[column].split(b":")
    try:
        if ad < 0:
            return None
        counts = [int(v) for v in values[ad].split(b",")]
        depth = sum(counts)
        if capped and dp >= 0:
            depth = min(depth, int(values[dp]))
    except (ValueError, IndexError):
        return None
    if depth <= 0:
        return None
    return [count / depth for count in counts[1:]]


def _scan(
    path: Path, caller: Caller, build: Build, sample: str | None, normal: str | None
) -> _Scan:
    """One pass over the text: the header, the PASS records worth parsing, what was left out."""
    header: list[str] = []
    kept: list[bytes] = []
    ranked: list[tuple[float, int, bytes]] = []  # a min-heap of the best AD candidates
    excluded = dict.fromkeys(("filtered", "esr1", "germline_like", "chip", "no_counts"), 0)
    records = 0
    column = -1
    capped = _AD_CALLERS.get(caller)
    layouts: dict[bytes, tuple[int, int]] = {}
    listed = {
        name.encode()
        for b, interval in _intervals()
        if b is build
        for name in (interval.chrom, f"chr{interval.chrom}")
    }
    try:
        with _open_text(path) as handle:
            for line in handle:
                if line.startswith(b"#"):
                    header.append(line.decode("utf-8", "replace").rstrip("\r\n"))
                    if line.startswith(b"#CHROM"):
                        names = header[-1].split("\t")
                        column = names.index(sample) if sample in names[9:] else -1
                        if _annotation_genes(header):
                            capped = None  # the gene comes from the annotation: parse all
                    continue
                if not line.strip():
                    continue
                records += 1
                # FILTER is the 7th column; only PASS (or ".", not filtered) records count
                head = line.split(b"\t", 7)
                if len(head) < 8 or head[6] not in (b"PASS", b"."):
                    excluded["filtered"] += 1
                    continue
                parts = [*head[:7], *head[7].rstrip(b"\r\n").split(b"\t")]
                if capped is None or column < 0:
                    kept.append(line.rstrip(b"\r\n"))
                    continue
                fractions = _ad_fractions(parts, column, capped, layouts)
                if fractions is None:
                    excluded["no_counts"] += 1
                    continue
                located = None
                if parts[0] in listed:  # a chromosome with a CHIP gene or ESR1 on it
                    try:
                        located = gene_at(parts[0].decode("ascii"), int(parts[1]), build)
                    except ValueError:
                        excluded["no_counts"] += 1
                        continue
                eligible = [f for f in fractions if _why_left_out(f, located, normal, excluded)]
                if eligible:
                    entry = (max(eligible), records, line.rstrip(b"\r\n"))
                    if len(ranked) < _CANDIDATES:
                        heapq.heappush(ranked, entry)
                    elif entry > ranked[0]:
                        heapq.heapreplace(ranked, entry)
    except (OSError, EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise VcfFormatError(path, f"cannot read it again for the ctDNA proxy ({exc})") from exc
    if capped is None or column < 0:
        return _Scan(header, kept, excluded, records, fast=False)
    best_first = [line for _, _, line in sorted(ranked, reverse=True)]
    return _Scan(header, best_first, excluded, records, fast=True)


def _why_left_out(
    fraction: float, located: tuple[str, str] | None, normal: str | None, excluded: dict[str, int]
) -> bool:
    """True when an allele counts toward the proxy; else False, counted under its reason."""
    kind = located[1] if located else None
    if kind == "ESR1":
        excluded["esr1"] += 1
    elif _germline_like(fraction):
        excluded["germline_like"] += 1
    elif kind == "CHIP" and normal is None:
        excluded["chip"] += 1
    else:
        return True
    return False


def _annotation_genes(header: Sequence[str]) -> dict[str, int]:
    """INFO key -> the position of the gene symbol in its '|' fields (CSQ: SYMBOL, ANN)."""
    found: dict[str, int] = {}
    for line in header:
        for key, field_name in _ANNOTATION_GENE.items():
            if line.startswith(f"##INFO=<ID={key},") and "Format:" in line:
                names = [n.strip(" '\"") for n in line.split("Format:", 1)[1].split("|")]
                names = [n.rstrip("\">'") for n in names]
                if field_name in names:
                    found[key] = names.index(field_name)
    return found


def _annotated_gene(info: Mapping[str, Any], alt: str, where: Mapping[str, int]) -> str | None:
    for key, index in where.items():
        values = info.get(key)
        if values is None:
            continue
        for entry in (values,) if isinstance(values, str) else values:
            parts = str(entry).split("|")
            if len(parts) > index and parts[index] and parts[0] in (alt, alt[1:], "-"):
                return parts[index]
        for entry in (values,) if isinstance(values, str) else values:  # allele not matched
            parts = str(entry).split("|")
            if len(parts) > index and parts[index]:
                return parts[index]
    return None


def _records(header: list[str], kept: list[bytes], path: Path) -> Iterator[Any]:
    import pysam  # already loaded by the VCF reader

    with tempfile.TemporaryDirectory(prefix="esr1calls-") as folder:
        copy = Path(folder) / "pass_records.vcf"
        with copy.open("wb") as out:
            out.write(("\n".join(header) + "\n").encode("utf-8"))
            out.writelines(line + b"\n" for line in kept)
        try:
            with quiet_htslib(), pysam.VariantFile(str(copy)) as handle:
                yield from handle
        except (OSError, ValueError) as exc:
            raise VcfFormatError(path, f"a PASS record cannot be parsed ({exc})") from exc


def ctdna_proxy(
    path: str | Path,
    *,
    caller: Caller,
    build: Build,
    sample: str | None,
    normal: str | None,
) -> dict[str, Any]:
    """The proxy for one VCF's tumour sample, as calls.json records it (``ctdna``).

    ``sample`` is the tumour's column (a name that is no column: a sites-only VCF), ``normal``
    the matched normal's column if the VCF has one (then CHIP genes count)."""
    path = Path(path)
    if _is_bcf(path):
        return {
            "status": CtdnaStatus.CTDNA_LOW_OR_UNKNOWN.value,
            "fraction": None,
            "variant": None,
            "threshold": CTDNA_ADEQUATE_FRACTION,
            "why": "a BCF is not scanned for other variants; convert it to VCF (bcftools view)",
        }
    scan = _scan(path, caller, build, sample, normal)
    samples = scan.header[-1].split("\t")[9:] if scan.header else []
    column = sample if sample in samples else None  # not a column: a sites-only VCF (INFO)
    info_is_tumour = len(samples) <= 1 or caller is Caller.VARDICT
    annotation = _annotation_genes(scan.header)
    # the AD callers' text pass counted every exclusion already; their candidates are re-read
    # by the caller's rule, best first, and the first one that still counts is the answer
    tally = dict.fromkeys(scan.excluded, 0) if scan.fast else scan.excluded
    best: dict[str, Any] | None = None
    for rec in _records(scan.header, scan.kept, path):
        record = _record_from_pysam(rec, column, None, info_is_tumour)
        counts, _why = site_counts(record, COUNT_RULES[caller])
        if counts is None or not counts.depth:
            tally["no_counts"] += 1
            continue
        for alt, alt_count in zip(record.alts, counts.alt_counts, strict=False):
            if alt_count is None:
                continue
            named = _annotated_gene(record.info, alt, annotation)
            located = gene_at(record.chrom, record.pos, build)
            kind = _kind_of(named) if named else (located[1] if located else None)
            fraction = alt_count / counts.depth
            if not _why_left_out(fraction, (named or "", kind) if kind else None, normal, tally):
                continue
            if best is None or fraction > best["fraction"]:
                best = {
                    "chrom": record.chrom,
                    "pos": record.pos,
                    "ref": record.ref,
                    "alt": alt,
                    "gene": named or (located[0] if located else None),
                    "gene_from": "CSQ/ANN" if named else "coordinates" if located else None,
                    "fraction": fraction,
                    "alt_count": alt_count,
                    "depth": counts.depth,
                    "fields": dict(counts.fields),
                }
        if scan.fast and best is not None:
            break
    adequate = best is not None and best["fraction"] >= CTDNA_ADEQUATE_FRACTION
    if best is None:
        why = "no PASS somatic variant outside ESR1 once likely germline" + (
            " variants are left out" if normal else " and CHIP-gene variants are left out"
        )
    elif adequate:
        why = f"{_label(best)} at {best['fraction']:.2%} shows tumour DNA in the sample"
    else:
        why = f"the highest other somatic variant, {_label(best)}, is below 1 %"
    return {
        "status": (
            CtdnaStatus.CTDNA_ADEQUATE if adequate else CtdnaStatus.CTDNA_LOW_OR_UNKNOWN
        ).value,
        "fraction": None if best is None else best["fraction"],
        "variant": best,
        "threshold": CTDNA_ADEQUATE_FRACTION,
        "excluded": scan.excluded,
        "records_scanned": scan.records,
        "chip_excluded": normal is None,
        "why": why,
    }


def _label(variant: Mapping[str, Any]) -> str:
    gene = f"{variant['gene']} " if variant.get("gene") else ""
    return f"{gene}{variant['chrom']}:{variant['pos']} {variant['ref']}>{variant['alt']}"


def _is_bcf(path: Path) -> bool:
    with _open_text(path) as handle:
        return handle.read(3) == b"BCF"
