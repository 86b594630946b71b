"""Reading one VCF/BCF for the hotspots: its header's decisions, its records near the hotspots,
and the evidence per hotspot (:func:`read_vcf_evidence`).

One pass per file. With a tabix/CSI index that fits the file the hotspot loci are fetched
through it. Without one, a text VCF (plain, gzip or BGZF) is streamed once: the raw text is
scanned for chr6 lines near the hotspots and only those are parsed (by pysam), so a
whole-genome VCF costs one decompression, not one parse per record, and the same pass computes
its sha256. An unindexed BCF is binary: pysam parses every record (``bcftools index`` avoids
that). Indexed files and BCFs are hashed in a background thread while pysam reads them.

What this module produces per hotspot is :class:`~esr1calls.ngs.vcf_record.HotspotEvidence`: the
shared :class:`~esr1calls.model.AlleleCounts` (x, n, filters, strand counts, fields used) plus
what only a VCF can leave uncertain (a count range when phase is unknown, the reasons why). How
each caller's records give x and n is in ``callers.py``; how alleles are matched to hotspots in
``vcf_match.py``; the calling rule lives in ``rule.py`` and never sees a VCF.
"""

from __future__ import annotations

import gzip
import io
import logging
import re
import tempfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..errors import VcfFormatError
from ..hotspots import CHROM_NAMES, Hotspot, Panel
from ..model import Build, Dropped, InputFile, Reason
from ..provenance import hash_in_background
from .callers import (
    COUNT_RULES,
    Caller,
    caller_notices,
    detect_caller,
    info_is_tumour,
    is_gvcf,
    records_removed_by,
    require_counts,
    select_sample,
    site_counts,
    vardict_sample_conflict,
    with_caller_filters,
)
from .files import (
    BGZF_EOF,
    CHUNK_BYTES,
    FileKind,
    HashingReader,
    IndexUnusableError,
    index_files,
    open_indexed,
    open_variant_file,
    sniff_vcf,
    unused_index_notice,
)
from .htslib import quiet_htslib
from .vcf_match import (
    alleles_of,
    each_record_alone,
    evidence_for,
    listed_without_counts,
    repeated_alleles,
    repeated_dropped,
    split_site_depths,
)
from .vcf_record import (
    NEAR_BASES,
    HotspotEvidence,
    SiteCounts,
    VcfHeader,
    VcfRecord,
    hotspot_window,
    is_sequence,
    parse_header,
)

__all__ = ["VcfEvidence", "detect_build", "read_vcf_evidence"]

log = logging.getLogger(__name__)


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
        alts=tuple(a.upper() if is_sequence(a) else a for a in (rec.alts or ())),
        filters=filters,
        info=dict(rec.info),
        sample=values,
        phased=phased,
        line=line,
        info_is_tumour=info_is_tumour,
    )


def merged_windows(windows: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for lo, hi in sorted(windows):
        if merged and lo <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


@dataclass
class _Loaded:
    records: list[VcfRecord]
    sha256: str
    access: str
    notices: list[str] = field(default_factory=list)
    cut_short: _CutShort | None = None  # a last record cut short, left out of ``records``


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
        require_counts(path, header, self.caller)
        try:
            self.sample, self.sample_evidence, self.normal = select_sample(
                header, self.caller, self.requested_sample
            )
        except ValueError as exc:
            raise VcfFormatError(path, str(exc)) from exc
        self.windows = merged_windows([hotspot_window(h, self.build) for h in self.panel])
        self.records_removed = records_removed_by(header)
        self.gvcf = is_gvcf(header)

    def overlaps(self, start: int, stop: int) -> bool:
        return any(lo <= stop and start <= hi for lo, hi in self.windows)


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


def _header_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("#")]


def _convert(path: Path, rec: Any, plan: _Plan, line: int | None) -> VcfRecord:
    place = f"line {line}" if line else f"record {rec.chrom}:{rec.pos}"
    tumour_info = info_is_tumour(plan.header, plan.caller)
    try:
        converted = _record_from_pysam(rec, plan.sample, line, tumour_info)
    except (KeyError, ValueError) as exc:
        raise VcfFormatError(path, f"unreadable record ({exc})", place=place) from exc
    conflict = vardict_sample_conflict(
        converted, plan.header, plan.caller, plan.sample, plan.requested_sample
    )
    if conflict:
        raise VcfFormatError(path, conflict, place=place)
    return converted


def _load_indexed(
    path: Path, handle: Any, index: Path, plan: _Plan, digest: Callable[[], str]
) -> _Loaded:
    """The records at the hotspots, fetched through the index ``handle`` was opened with."""
    records: list[VcfRecord] = []
    with handle:
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
                    raise IndexUnusableError(
                        f"could not be followed to the records near {name}:{lo} (htslib: {exc})"
                    ) from exc
                earlier_hi = plan.windows[number - 1][1] if number else 0
                # a record reaching back into the previous window was fetched there already
                records.extend(
                    _convert(path, rec, plan, None) for rec in fetched if rec.pos > earlier_hi
                )
    kind = "CSI" if index.suffix == ".csi" else "tabix"
    return _Loaded(records, digest(), f"{kind} index ({index.name})")


def _load_bcf_stream(path: Path, plan: _Plan, digest: Callable[[], str] | None) -> _Loaded:
    digest = digest or hash_in_background(path)
    records: list[VcfRecord] = []
    with open_variant_file(path) as handle:
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


@dataclass(frozen=True)
class _LastLine:
    """The file's last non-empty line: its 1-based number, its text, whether a line end follows."""

    number: int
    text: bytes
    ended: bool


def _scan_body(
    reader: io.BufferedIOBase, carry: bytes, lines_before: int, plan: _Plan
) -> tuple[list[tuple[int, bytes]], _LastLine | None]:
    """Lines on chr6 overlapping a hotspot window, with their 1-based line numbers, and the
    file's last line (to tell a file cut short).

    Works on raw text: only chr6 lines are looked at, only those near the hotspots are split.
    One chunk buffer is reused, so memory does not grow with the file.
    """
    needles = [b"\n" + name.encode() + b"\t" for name in CHROM_NAMES]
    first_lo = min(lo for lo, _ in plan.windows)
    last_hi = max(hi for _, hi in plan.windows)
    found: list[tuple[int, bytes]] = []
    chunk = bytearray(CHUNK_BYTES)
    view = memoryview(chunk)
    text = bytearray(b"\n")  # always starts with a newline: every line start is "\n" + CHROM
    text += carry
    last: _LastLine | None = None
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
                pos < first_lo - NEAR_BASES
                and end - start < NEAR_BASES
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
        in_chunk = text.count(b"\n", 1, cut)
        ended = text.endswith(b"\n", 0, cut)
        begins = text.rfind(b"\n", 0, cut - 1 if ended else cut) + 1
        final = bytes(text[begins : cut - 1 if ended else cut]).rstrip(b"\r")
        if final:
            last = _LastLine(lines_before + in_chunk + (0 if ended else 1), final, ended)
        if not size:
            return found, last
        lines_before += in_chunk
        del text[: cut - 1]  # keep the last newline as the sentinel of the next chunk


def _load_text_stream(path: Path, kind: FileKind, plan: _Plan) -> _Loaded:
    if kind.container == "bgzf":
        with path.open("rb") as handle:
            handle.seek(max(0, path.stat().st_size - len(BGZF_EOF)))
            if handle.read() != BGZF_EOF:
                raise VcfFormatError(
                    path, "the file is truncated (no BGZF end-of-file marker); copy it again"
                )
    raw = path.open("rb")
    hashing = HashingReader(raw)
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
        found, last = _scan_body(reader, first, len(header_lines), plan)
        digest = hashing.finish_hashing()
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise VcfFormatError(
            path, f"the compressed file is truncated or corrupt ({exc}); copy it again"
        ) from exc
    finally:
        raw.close()
    cut = None
    if kind.container != "bgzf" and last is not None:  # BGZF has its end-of-file block instead
        cut = _cut_short(last, plan)
    if cut is not None:
        found = [(number, line) for number, line in found if number != cut.line]
    loaded = _parse_found_lines(path, plan, found, digest)
    loaded.cut_short = cut
    return loaded


@dataclass(frozen=True)
class _CutShort:
    """A text VCF's last record cut short: where it is, why, and the positions it could reach."""

    line: int
    why: str
    reach: tuple[int, int] | None  # 1-based chr6 span it could describe; None: not chr6


_ANYWHERE = (1, 1 << 62)


def _cut_short(last: _LastLine, plan: _Plan) -> _CutShort | None:
    """The last record, if it is cut: no line end after it (a plain or gzip text file always
    ends its last line), or fewer columns than the header's. A copy interrupted, a disk filled:
    reading the half record would give counts from half a number.

    Its reach is what the intact columns allow: none off chr6; from its POS onwards while its
    REF or INFO/END is cut; anywhere on chr6 while its CHROM or POS is cut.
    """
    if last.text.startswith(b"#"):
        return None
    columns = last.text.split(b"\t")
    expected = 8 + (1 + len(plan.header.samples) if plan.header.samples else 0)
    if last.ended and len(columns) >= expected:
        return None
    why = (
        "the last line has no line end"
        if not last.ended
        else f"the last line has {len(columns)} tab-separated columns where this VCF has {expected}"
    )
    whole = columns if last.ended else columns[:-1]  # the columns known to be complete
    if not whole:  # cut inside CHROM: chr6 if it could still become "chr6" or "6"
        start = columns[0].decode("utf-8", "replace")
        could = any(name.startswith(start) for name in CHROM_NAMES)
        return _CutShort(last.number, why, _ANYWHERE if could else None)
    if whole[0].decode("utf-8", "replace") not in CHROM_NAMES:
        return _CutShort(last.number, why, None)
    if len(whole) < 2 or not whole[1].isdigit():
        return _CutShort(last.number, why, _ANYWHERE)
    pos = int(whole[1])
    if len(whole) < 8:
        return _CutShort(last.number, why, (pos, _ANYWHERE[1]))
    stop = pos + max(len(whole[3]), 1) - 1
    if found_end := _END_RE.search(whole[7]):
        stop = max(stop, int(found_end.group(1)))
    return _CutShort(last.number, why, (pos, stop))


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
        with open_variant_file(kept, shown=path) as handle:
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
    kind = sniff_vcf(path)
    # an indexed file is hashed while its index is checked and followed (hashlib releases the
    # GIL: the second core hashes while the first works through the index)
    digest = hash_in_background(path) if index_files(path, kind) else None
    with quiet_htslib():
        loaded = None
        handle, index, unused = open_indexed(path, kind)
        if handle is not None and index is not None and digest is not None:
            try:
                loaded = _load_indexed(path, handle, index, plan, digest)
            except IndexUnusableError as exc:
                unused = unused_index_notice(path, index, str(exc))
        if loaded is None and kind.content == "bcf":
            loaded = _load_bcf_stream(path, plan, digest)
        elif loaded is None:
            loaded = _load_text_stream(path, kind, plan)
    if unused:
        loaded.notices.append(unused)
    return loaded


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


def _sample_id(path: Path, sample: str | None) -> str:
    if sample is not None:
        return sample
    name = path.name
    for suffix in (".gz", ".bgz", ".vcf", ".bcf"):
        name = name.removesuffix(suffix)
    return name


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
        rec = with_caller_filters(rec, plan.caller)
        counts, why = site_counts(rec, rule)
        if counts is None:
            dropped.append(Dropped(str(path), rec.place, why))
            unusable.append((rec, why))
            continue
        usable.append((rec, counts))
    usable = split_site_depths(usable)
    alleles = [a for rec, counts in usable for a in alleles_of(path, rec, counts, plan.build)]
    silenced = listed_without_counts(path, unusable, plan.build)
    records_at_hotspots = len(usable) + len(dropped)
    repeated = repeated_alleles(alleles)
    evidence = tuple(
        replace(
            evidence_for(
                path, h, plan.build, plan.caller, usable, alleles, silenced,
                records_removed=plan.records_removed, gvcf=plan.gvcf,
            ),
            each_record_alone=each_record_alone(
                path, h, plan.build, plan.caller, usable, alleles, silenced, repeated,
                records_removed=plan.records_removed, gvcf=plan.gvcf,
            ),
        )
        for h in panel
    )  # fmt: skip
    dropped.extend(repeated_dropped(path, repeated))
    notices = list(loaded.notices)
    if loaded.cut_short is not None:
        cut = loaded.cut_short
        evidence = tuple(
            _cut_off(path, h, found, cut, plan.build)
            for h, found in zip(panel, evidence, strict=True)
        )
        dropped.append(
            Dropped(
                str(path),
                f"line {cut.line}",
                f"{cut.why}: the file looks cut short, so this record is not read",
            )
        )
        hit = [h.name for h, found in zip(panel, evidence, strict=True) if found.action]
        notices.append(
            f"{path.name}: the VCF looks cut short: {cut.why} (line {cut.line}), so that record "
            "was not read"
            + (
                f"; the hotspots it could describe are INDETERMINATE ({', '.join(hit)})"
                if hit
                else ""
            )
            + "; copy the file again"
        )
    if plan.header.contigs and not any(c in plan.header.contigs for c in CHROM_NAMES):
        notices.append(f"{path.name}: the header declares no chr6/6 contig")
    notices.extend(caller_notices(path, plan.header, plan.caller))
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


def _cut_off(
    path: Path, hotspot: Hotspot, found: HotspotEvidence, cut: _CutShort, build: Build
) -> HotspotEvidence:
    """The evidence for a hotspot the cut record could describe: its count unknown, so neither
    DETECTED nor NOT_DETECTED can rest on what the rest of the file says."""
    lo, hi = hotspot_window(hotspot, build)
    if cut.reach is None or cut.reach[0] > hi or cut.reach[1] < lo:
        return found
    counts = replace(
        found.counts,
        alt_count=None,
        place=f"{path.name}, line {cut.line}",
        fields={**found.counts.fields, "alt_count": "not read: the record is cut short"},
    )
    details = {
        **found.details,
        "evidence": f"the VCF's last record (line {cut.line}) is cut short ({cut.why}) and may "
        "be this hotspot's",
    }
    kept = tuple(r for r in found.reasons if r is Reason.OTHER_CHANGE_IN_CODON)
    action = f"copy {path.name} again: its last record (line {cut.line}) is cut short"
    return HotspotEvidence(
        counts, None, (Reason.ALLELE_NOT_REPORTED, *kept), details, action=action
    )
