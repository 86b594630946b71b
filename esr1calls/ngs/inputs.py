"""NGS inputs: which file is which (by content), and which files are one sample.

``esr1calls ngs`` takes VCF/BCF and BAM/CRAM files in any mix. Each VCF is read by
``vcf_read.py`` and each BAM/CRAM counted by ``reads.py``; this module then decides which of them
describe the same sample:

* A BAM/CRAM's sample is the ``SM`` of its read groups (``--sample`` picks one when there are
  several); a VCF's sample is its tumour column (``--sample``, ``##tumor_sample``, the caller's
  convention or the only column).
* A BAM and a VCF with the same sample name are one sample. A name matched by two BAMs, or a BAM
  matched by two VCFs, is an error: which of them speaks for the sample is not ours to guess.
* When the run has exactly one BAM and one VCF and their names differ, they are one sample only
  if one of the names is not a real sample name: a BAM without ``@RG SM``, a sites-only VCF, or
  a caller's placeholder column (``TUMOR``, ``TUMOUR``). Two real, different names are two
  samples, and a notice says so (a possible sample swap is shown, never merged).
* Everything else is a sample of its own: several BAMs of different samples are several samples.
* The same input twice (one file under two names, or two files with identical bytes) is
  refused: it would be one sample's data reported as two samples.

A VCF given as a pipe (``bcftools view -R hotspots.bed x.vcf.gz | esr1calls ngs /dev/stdin``,
``<(...)``) is read once into a temporary file of the same name, which is read like any file and
removed at the end; its sha256 is that of the bytes that came down the pipe. An empty pipe, the
terminal, or a BAM/CRAM (read by region through its index) on a pipe is refused with the cause.

Combining never lets a VCF create a claim the reads do not support: in a pair the reads give x and
n (see ``concordance.py`` for what the VCF may still change).
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from ..errors import AlignmentFormatError, ConfigError, VcfFormatError
from ..hotspots import Panel
from ..model import Build, Dropped, InputFile
from ..provenance import hash_in_background, sha256_file
from .files import READ_FORMATS, is_pipe, sniff_ngs_format
from .htslib import quiet_htslib
from .options import ReadOptions
from .reads import SHOWED, ReadCounts, count_reads
from .vcf_read import VcfEvidence, read_vcf_evidence

__all__ = [
    "PLACEHOLDER_SAMPLE_NAMES",
    "NgsInputs",
    "ReadsInput",
    "SampleInputs",
    "count_and_hash",
    "read_ngs_inputs",
]

log = logging.getLogger(__name__)

# Column names callers write instead of the sample's name (Strelka, VarScan, MuTect1 TUMOR).
PLACEHOLDER_SAMPLE_NAMES = frozenset(("TUMOR", "TUMOUR"))


@dataclass(frozen=True)
class ReadsInput:
    """One BAM/CRAM: its counts, its sha256 and (CRAM) the reference FASTA's."""

    counts: ReadCounts
    input: InputFile
    reference: InputFile | None = None

    @property
    def name(self) -> str:
        return Path(self.counts.path).name

    @property
    def sample_name(self) -> str | None:
        """The sample the reads name (``@RG SM`` or ``--sample``), None if they name none."""
        return self.counts.sample_id


@dataclass(frozen=True)
class SampleInputs:
    """The files of one sample: reads, a VCF, or both (``pairing`` says why they are one)."""

    sample_id: str
    reads: ReadsInput | None
    vcf: VcfEvidence | None
    pairing: str = ""

    @property
    def counts_from(self) -> str:
        """Where x and n come from: "reads" whenever there are reads, else "vcf"."""
        return "reads" if self.reads is not None else "vcf"

    @property
    def main_file(self) -> Path:
        """The file that names the sample: its VCF, else its reads."""
        if self.vcf is not None:
            return Path(self.vcf.path)
        assert self.reads is not None  # a sample has reads, a VCF, or both
        return Path(self.reads.counts.path)

    @property
    def source(self) -> str:
        """The sample's files, reads first: what calls.tsv shows in its ``source`` column."""
        paths = [] if self.reads is None else [self.reads.counts.path]
        return ", ".join([*paths, *([] if self.vcf is None else [self.vcf.path])])


@dataclass(frozen=True)
class NgsInputs:
    """Everything read from the command line's files, grouped into samples (in input order)."""

    samples: tuple[SampleInputs, ...]
    inputs: tuple[InputFile, ...]
    dropped: tuple[Dropped, ...]
    notices: tuple[str, ...]


def read_ngs_inputs(
    paths: Sequence[str | Path],
    panel: Panel,
    *,
    build: Build | None = None,
    sample: str | None = None,
    read_options: ReadOptions | None = None,
) -> NgsInputs:
    """Read every VCF/BCF and count every BAM/CRAM, then group them into samples.

    Raises VcfFormatError (a VCF/BCF), AlignmentFormatError (a BAM/CRAM) or ReferenceFastaError
    (a CRAM's FASTA) for a file that cannot be used (one line naming it and the fix), and
    ConfigError when the files cannot be grouped into samples unambiguously.
    """
    read_options = read_options or ReadOptions()
    _refuse_same_file_twice(paths)
    vcfs: list[tuple[int, VcfEvidence]] = []
    bams: list[tuple[int, ReadsInput]] = []
    inputs: list[InputFile] = []
    given: list[tuple[str, str]] = []  # (the argument, the sha256 of its bytes)
    dropped: list[Dropped] = []
    notices: list[str] = []
    with contextlib.ExitStack() as cleanup:
        spool: Path | None = None
        for order, raw in enumerate(paths):
            path = Path(raw)
            if is_pipe(path):
                if spool is None:  # created only when a pipe is given, removed at the end
                    spool = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix=_SPOOL)))
                local = _spool_pipe(path, spool / str(order))
                evidence = _as_given(read_vcf_evidence(local, panel, build=build, sample=sample),
                                     path, local)  # fmt: skip
            elif sniff_ngs_format(path) in READ_FORMATS:
                found = _count_reads(path, panel, build, sample, read_options)
                bams.append((order, found))
                inputs.append(found.input)
                given.append((str(raw), found.input.sha256))
                if found.reference is not None and found.reference not in inputs:
                    inputs.append(found.reference)
                dropped.extend(_unused_reads(found.counts))
                notices.extend(found.counts.notices)
                notices.extend(_older_reads_index(path))
                continue
            else:
                evidence = read_vcf_evidence(path, panel, build=build, sample=sample)
            vcfs.append((order, evidence))
            inputs.append(evidence.input)
            given.append((str(raw), evidence.input.sha256))
            dropped.extend(evidence.dropped)
            notices.extend(evidence.notices)
    _refuse_same_bytes_twice(given)
    samples, pairing_notices = _pair(bams, vcfs)
    return NgsInputs(
        samples=tuple(samples),
        inputs=tuple(inputs),
        dropped=tuple(dropped),
        notices=tuple(dict.fromkeys([*notices, *pairing_notices])),
    )


_SPOOL = "esr1calls-pipe-"


def _spool_pipe(path: Path, folder: Path) -> Path:
    """The pipe's bytes, read once into a file of the same name in ``folder`` (hashed as read,
    like any VCF, so the report's sha256 is that of the bytes that came down the pipe)."""
    folder.mkdir()
    local = folder / path.name
    try:
        with path.open("rb") as source:
            if source.isatty():
                raise VcfFormatError(
                    path,
                    "this is the terminal, nothing was piped in; pipe the VCF in (bcftools view "
                    "-R regions.bed calls.vcf.gz | esr1calls ngs /dev/stdin) or give its file",
                )
            head = source.read(1 << 16)
            if not head:
                raise VcfFormatError(
                    path,
                    "no data on the pipe: the command writing to it wrote nothing (check that it "
                    "ran and found its input), or the pipe was given twice",
                )
            with local.open("wb") as out:
                out.write(head)
                out.flush()
                if sniff_ngs_format(local) in READ_FORMATS:
                    raise AlignmentFormatError(
                        path,
                        "a BAM/CRAM cannot be read from a pipe: its reads are fetched by region "
                        "through an index, which a pipe has none of; write it to a file, index "
                        "it (samtools index) and give the file",
                    )
                shutil.copyfileobj(source, out, 1 << 20)
    except OSError as exc:
        raise VcfFormatError(
            path,
            f"cannot read the pipe into a temporary file in {folder.parent.parent} "
            f"({exc.strerror}); set TMPDIR to a folder with room, or give the VCF as a file",
        ) from exc
    return local


def _as_given(evidence: VcfEvidence, given: Path, local: Path) -> VcfEvidence:
    """A VCF read from a pipe's spooled copy, named as the user gave it (/dev/stdin)."""
    shown = str(given)
    return replace(
        evidence,
        path=shown,
        input=replace(evidence.input, path=shown),
        access=f"read from a pipe, then {evidence.access}",
        dropped=tuple(
            replace(d, source=shown) if d.source == str(local) else d for d in evidence.dropped
        ),
    )


def _refuse_same_file_twice(paths: Sequence[str | Path]) -> None:
    """One file named twice (the same path, a link to it, /dev/stdin and /dev/fd/0)."""
    seen: dict[tuple[int, int], str] = {}
    for raw in paths:
        try:
            found = Path(raw).stat()
        except OSError:
            continue  # refused, by name, where it is read
        key = (found.st_dev, found.st_ino)
        if key in seen:
            raise ConfigError(
                f"{seen[key]} and {raw} are the same file, given twice: it would be reported as "
                "two samples with one name. Give each input once"
            )
        seen[key] = str(raw)


def _refuse_same_bytes_twice(given: Sequence[tuple[str, str]]) -> None:
    """Two inputs with identical bytes (a copy, two pipes of one command) are one sample's data."""
    first: dict[str, str] = {}
    for raw, digest in given:
        if digest in first:
            raise ConfigError(
                f"{first[digest]} and {raw} have identical contents (sha256 {digest[:12]}...): "
                "the same data would be reported as two samples. Give each input once"
            )
        first[digest] = raw


def count_and_hash(
    path: str | Path, panel: Panel, build: Build | None, sample: str | None, options: ReadOptions
) -> tuple[ReadCounts, InputFile]:
    """Count one BAM/CRAM at the hotspots, hashing it meanwhile: (its counts, its InputFile)."""
    digest = hash_in_background(path)
    with quiet_htslib():  # every open and read of the reads and the reference FASTA
        counts = count_reads(path, panel, options, build=build, sample=sample)
    return counts, InputFile(str(path), digest(), counts.file_format)


def _count_reads(
    path: Path, panel: Panel, build: Build | None, sample: str | None, options: ReadOptions
) -> ReadsInput:
    counts, found = count_and_hash(path, panel, build, sample, options)
    reference = None
    if counts.file_format == "cram" and options.reference is not None:
        reference = InputFile(str(options.reference), sha256_file(options.reference), "fasta")
    log.info(
        "%s: %s, %s (%s), sample %s, %s",
        path.name, counts.file_format.upper(), counts.build.value, counts.build_evidence,
        counts.sample_id or "not named (no @RG SM)", counts.unit,
    )  # fmt: skip
    return ReadsInput(counts, found, reference)


def _older_reads_index(path: Path) -> list[str]:
    """An index older than its BAM/CRAM, which htslib only warns about (a line esr1calls keeps
    off the terminal): said in the report instead, with the fix."""
    candidates = (f"{path}.bai", f"{path}.csi", f"{path}.crai", path.with_suffix(".bai"),
                  path.with_suffix(".crai"))  # fmt: skip
    for index in dict.fromkeys(Path(c) for c in candidates):
        if index.is_file() and int(index.stat().st_mtime) < int(path.stat().st_mtime):
            return [
                f"{path.name}: its index {index.name} is older than the file; if the file was "
                "rewritten after indexing, reads at a hotspot may be missed. Re-index it: "
                f"samtools index {path.name}"
            ]
    return []


def _unused_reads(counts: ReadCounts) -> list[Dropped]:
    """Reads at each codon that were excluded or unusable: counted here, listed in evidence."""
    dropped = []
    for codon in counts.codons:
        reasons = [*codon.filtered_reads.items(), *codon.unusable_reasons.items()]
        # "low_base_quality@Y537S": excluded reads that show the hotspot's allele
        parts = [f"{n} {why.replace(SHOWED, ' showing ')}" for why, n in reasons]
        if parts:
            dropped.append(
                Dropped(
                    counts.path,
                    f"{codon.chrom}:{codon.start}-{codon.end} ({codon.window})",
                    "reads excluded or unusable at this codon: " + ", ".join(parts),
                )
            )
    return dropped


def _real_name(name: str | None) -> str | None:
    return None if name is None or name.upper() in PLACEHOLDER_SAMPLE_NAMES else name


def _vcf_name(evidence: VcfEvidence) -> str | None:
    """A VCF's sample name if it names one (not a sites-only VCF or a placeholder column)."""
    if evidence.sample_evidence.startswith("sites-only"):
        return None
    return _real_name(evidence.sample_id)


def _stem(path: str) -> str:
    name = Path(path).name
    for suffix in (".gz", ".bgz", ".vcf", ".bcf", ".bam", ".cram", ".sam"):
        name = name.removesuffix(suffix)
    return name


def _pair(
    bams: list[tuple[int, ReadsInput]], vcfs: list[tuple[int, VcfEvidence]]
) -> tuple[list[SampleInputs], list[str]]:
    """Group reads and VCFs into samples by name (the module docstring gives the rules)."""
    pairs = _pairs_by_name(bams, vcfs)  # reads index -> (VCF index, why)
    notices: list[str] = []
    if len(bams) == 1 and len(vcfs) == 1 and not pairs:
        reads, evidence = bams[0][1], vcfs[0][1]
        bam_name, vcf_name = _real_name(reads.sample_name), _vcf_name(evidence)
        if bam_name is None or vcf_name is None:
            pairs[0] = (0, _why_paired(reads, evidence))
        else:
            notices.append(
                f"{reads.name} is sample {bam_name} but {Path(evidence.path).name} is sample "
                f"{vcf_name}: they were called as two samples. If they are one, check for a "
                "sample swap, then make the names agree (samtools addreplacerg or bcftools "
                "reheader)"
            )
    paired_vcfs = {vcf_index for vcf_index, _ in pairs.values()}
    ordered: list[tuple[int, SampleInputs]] = []
    for index, (order, reads) in enumerate(bams):
        if index not in pairs:
            ordered.append((order, SampleInputs(_reads_sample_id(reads, None), reads, None)))
            continue
        vcf_index, why = pairs[index]
        vcf_order, evidence = vcfs[vcf_index]
        if evidence.build is not reads.counts.build:
            raise AlignmentFormatError(
                reads.counts.path,
                f"aligned to {reads.counts.build.value} ({reads.counts.build_evidence}) but "
                f"{Path(evidence.path).name} of the same sample is {evidence.build.value} "
                f"({evidence.build_evidence}); give the files of one build",
            )
        sample = SampleInputs(_reads_sample_id(reads, evidence), reads, evidence, why)
        ordered.append((min(order, vcf_order), sample))
    for vcf_index, (order, evidence) in enumerate(vcfs):
        if vcf_index not in paired_vcfs:
            ordered.append((order, SampleInputs(evidence.sample_id, None, evidence)))
    ordered.sort(key=lambda item: item[0])
    samples = [sample for _, sample in ordered]
    return _distinct_ids(samples, notices), notices


def _distinct_ids(samples: list[SampleInputs], notices: list[str]) -> list[SampleInputs]:
    """Samples of one name from different files (two patients' Strelka ``TUMOR``, or Strelka's
    SNV and indel files of one) get the file in their id, so no two rows share an id."""
    repeated = {name for name, n in Counter(s.sample_id for s in samples).items() if n > 1}
    labels = {i: s.main_file for i, s in enumerate(samples)}
    for name in sorted(repeated):
        files = [labels[i].name for i, s in enumerate(samples) if s.sample_id == name]
        notices.append(
            f"sample {name} is in {len(files)} inputs ({', '.join(files)}): each is reported "
            f"as its own sample, named '{name} (file)'. If they are one sample's files (Strelka "
            "writes SNVs and indels apart), merge them first: bcftools concat -a"
        )
    depth = 1
    while True:
        named = {
            i: f"{s.sample_id} ({Path(*labels[i].parts[-depth:])})"
            for i, s in enumerate(samples)
            if s.sample_id in repeated
        }
        clash = len(set(named.values())) < len(named)
        if not clash or depth >= max(len(p.parts) for p in labels.values()):
            break
        depth += 1  # two patients' somatic.snvs.vcf: add their folders
    return [replace(s, sample_id=named[i]) if i in named else s for i, s in enumerate(samples)]


def _pairs_by_name(
    bams: list[tuple[int, ReadsInput]], vcfs: list[tuple[int, VcfEvidence]]
) -> dict[int, tuple[int, str]]:
    """Reads index -> (VCF index, why) for reads and a VCF that name the same sample."""
    by_name: dict[str, int] = {}
    for index, (_, reads) in enumerate(bams):
        name = _real_name(reads.sample_name)
        if name is None:
            continue
        if name in by_name:
            first = bams[by_name[name]][1]
            raise ConfigError(
                f"{first.name} and {reads.name} are both sample {name}; merge them "
                "(samtools merge) or run them separately"
            )
        by_name[name] = index
    pairs: dict[int, tuple[int, str]] = {}
    for vcf_index, (_, evidence) in enumerate(vcfs):
        name = _vcf_name(evidence)
        if name is None or name not in by_name:
            continue
        index = by_name[name]
        if index in pairs:
            earlier = vcfs[pairs[index][0]][1]
            raise ConfigError(
                f"{bams[index][1].name} (sample {name}) matches two VCFs, "
                f"{Path(earlier.path).name} and {Path(evidence.path).name}; give one VCF per "
                "sample, or run them separately"
            )
        pairs[index] = (vcf_index, f"same sample name {name}")
    return pairs


def _reads_sample_id(reads: ReadsInput, evidence: VcfEvidence | None) -> str:
    """The reads' real sample name, else the VCF's, else what the reads say, else the file."""
    return (
        _real_name(reads.sample_name)
        or (None if evidence is None else _vcf_name(evidence))
        or reads.sample_name
        or _stem(reads.counts.path)
    )


def _why_paired(reads: ReadsInput, evidence: VcfEvidence) -> str:
    bam = reads.sample_name or "no @RG SM"
    vcf = (
        "sites-only"
        if evidence.sample_evidence.startswith("sites-only")
        else f"column {evidence.sample_id}"
    )
    return (
        f"the run's only BAM/CRAM ({bam}) and only VCF ({vcf}), which do not name two different "
        "samples"
    )
