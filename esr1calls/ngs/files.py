"""NGS input files: what a file is by its content, its index, and opening it with htslib.

Every NGS input is recognised by its first bytes, never its extension: an alignment file (BAM,
CRAM, SAM) or a variant file (VCF, BCF), plain, gzip or BGZF. A VCF's tabix/CSI index is used
only when it describes the file (an index made for another version of the file sends a region
query to the wrong offsets); otherwise the file is read in one streaming pass. Pipes are refused
here by name: ``esr1calls ngs`` saves a piped VCF to a file first (``inputs.py``).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import re
import stat
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pysam

from ..errors import InputError, UnknownFormatError, VcfFormatError
from .htslib import quiet_htslib

__all__ = [
    "BGZF_EOF",
    "CHUNK_BYTES",
    "NGS_FORMATS",
    "READ_FORMATS",
    "FileKind",
    "HashingReader",
    "IndexUnusableError",
    "index_files",
    "is_pipe",
    "open_indexed",
    "open_variant_file",
    "sniff_ngs_format",
    "sniff_vcf",
    "unused_index_notice",
]

CHUNK_BYTES = 1 << 20  # 1 MiB: larger buffers only raise the allocator's high-water mark
BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")


class HashingReader(io.RawIOBase):
    """Reads a file once and hashes exactly the bytes read (the report's sha256)."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.digest = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        count = self.raw.readinto(buffer)  # type: ignore[attr-defined]
        if count:
            self.digest.update(memoryview(buffer)[:count])
        return int(count or 0)

    def finish_hashing(self) -> str:
        """Hash whatever the decompressor left unread, then return the hex digest."""
        while True:
            chunk = self.raw.read(1 << 20)
            if not chunk:
                return self.digest.hexdigest()
            self.digest.update(chunk)


@dataclass(frozen=True)
class FileKind:
    container: str  # "bgzf", "gzip", "plain", or "cram" (its own container)
    content: str  # one of NGS_FORMATS


# What an NGS input is, by its first bytes: alignments (BAM/CRAM/SAM) or variants (VCF/BCF).
NGS_FORMATS = ("vcf", "bcf", "bam", "cram", "sam")


READ_FORMATS = frozenset(("bam", "cram", "sam"))


_SAM_HEADER = re.compile(rb"@(HD|SQ|RG|PG|CO)\t")


def is_pipe(path: str | Path) -> bool:
    """A pipe (``/dev/stdin``, ``<(bcftools view ...)``), FIFO, terminal or socket: its bytes can
    be read once, while a VCF is opened more than once (its format, then its records)."""
    try:
        mode = Path(path).stat().st_mode
    except OSError:
        return False  # a missing file is refused, by name, where it is read
    return stat.S_ISFIFO(mode) or stat.S_ISCHR(mode) or stat.S_ISSOCK(mode)


def _sniff_any(path: Path, unknown: type[InputError]) -> FileKind:
    """What the file is, by content (never by extension): a VCF/BCF or an alignment file.

    A file that cannot be read is an ``InputError``; one that is empty or of no NGS format raises
    ``unknown``: ``VcfFormatError`` where a VCF is expected, else ``UnknownFormatError`` (it may
    have been meant as a BAM/CRAM).
    """
    if is_pipe(path):  # esr1calls ngs saves a pipe to a file first; other readers cannot
        raise InputError(
            path,
            "a pipe can be read only once and this reads its input more than once; write it to "
            "a file first (esr1calls ngs reads a VCF from a pipe itself)",
        )
    try:
        with path.open("rb") as handle:
            head = handle.read(1 << 16)
    except OSError as exc:
        raise InputError(path, f"cannot read the file ({exc.strerror})") from exc
    if not head:
        raise unknown(
            path, "the file is empty; expected a VCF or BCF from a variant caller, or a BAM/CRAM"
        )
    if head.startswith(b"CRAM"):
        return FileKind("cram", "cram")
    container = "plain"
    data = head
    if head[:2] == b"\x1f\x8b":
        container = "bgzf" if len(head) > 15 and head[3] & 4 and head[12:14] == b"BC" else "gzip"
        try:
            data = zlib.decompressobj(31).decompress(head, 1 << 16)
        except zlib.error as exc:
            raise unknown(path, f"corrupt gzip data ({exc})") from exc
    if data.startswith(b"BAM\x01"):
        return FileKind(container, "bam")
    if data.startswith(b"BCF\x02"):
        return FileKind(container, "bcf")
    if data.startswith(b"##fileformat=VCF"):
        return FileKind(container, "vcf")
    if _SAM_HEADER.match(data):
        return FileKind(container, "sam")
    shown = data[:40].decode("utf-8", "replace").splitlines()[0] if data[:40].strip() else ""
    raise unknown(
        path,
        f"not a VCF, BCF, BAM or CRAM (it starts with {shown!r}, not ##fileformat=VCF); "
        "pass the VCF written by your variant caller, or the indexed BAM/CRAM",
    )


def sniff_ngs_format(path: str | Path) -> str:
    """One of ``NGS_FORMATS`` for an NGS input, from its content (never its extension).

    Raises UnknownFormatError for an empty or unrecognised file (it may have been meant as a
    VCF or as a BAM/CRAM), InputError for one that cannot be read.
    """
    return _sniff_any(Path(path), UnknownFormatError).content


def sniff_vcf(path: Path) -> FileKind:
    """A VCF or BCF, by content; an alignment file is refused with the way to call it."""
    kind = _sniff_any(path, VcfFormatError)
    if kind.content in READ_FORMATS:
        raise VcfFormatError(
            path,
            f"this is a {kind.content.upper()} file of reads, not a VCF; call it with esr1calls "
            "ngs (Python: call_ngs), which counts the reads at each hotspot",
        )
    return kind


def index_files(path: Path, kind: FileKind) -> list[Path]:
    """The index files next to a BGZF-compressed VCF or BCF, in the order they are tried."""
    if kind.container != "bgzf":
        return []
    suffixes = (".csi",) if kind.content == "bcf" else (".tbi", ".csi")
    return [i for i in (path.with_name(path.name + s) for s in suffixes) if i.exists()]


def open_indexed(path: Path, kind: FileKind) -> tuple[Any, Path | None, str]:
    """The file opened with the index next to it, if that index describes the file:
    (the open VariantFile, the index, ""); else (None, None, a notice saying why not, or "").

    An index made for another version of the file (the file replaced after indexing) sends a
    region query to offsets where other records, or none, now lie: every hotspot would come back
    empty, NO_COVERAGE with no hint why. So the index is checked against the file first (its age,
    then where it says each contig's records start and end); one that does not fit is not used,
    and the file is read in one streaming pass instead, which gives the same calls. The handle
    that checked the index is the one returned, so htslib loads the index once. Call it inside
    :func:`quiet_htslib`; the caller closes the handle.
    """
    notices = []
    for index in index_files(path, kind):
        why, contigs = _index_mismatch(path, index)
        handle = None
        if not why:
            try:
                handle = open_variant_file(path, index)
            except VcfFormatError:  # the streaming pass says what is wrong with the file
                return None, None, ""
            if handle.index is None:  # pysam opens the file even when htslib cannot load it
                why = "could not be loaded by htslib"
            else:
                why = _records_mismatch(path, handle, contigs)
        if not why:
            return handle, index, ""
        if handle is not None:
            handle.close()
        notices.append(unused_index_notice(path, index, why))
    return None, None, notices[0] if notices else ""


def unused_index_notice(path: Path, index: Path, why: str) -> str:
    tool = "tabix -f -p vcf" if index.suffix == ".tbi" else "bcftools index -f"
    return (
        f"{path.name}: the index {index.name} {why}, so it was not used: the file was read in "
        f"one streaming pass instead (same calls, slower). Re-index it: {tool} {path.name}"
    )


class IndexUnusableError(Exception):
    """The index passed its checks but htslib could not follow it (said why)."""


@dataclass(frozen=True)
class _IndexedContig:
    """One reference of a tabix/CSI index: where its first record starts and its last ends."""

    ref: int  # the index's reference number: a BCF's header contig number (the record's rid)
    name: str | None  # the contig name a tabix-style index stores; None in a BCF's CSI
    start: int  # BGZF virtual offset (compressed offset << 16 | offset in the block)
    end: int


_TBI_PSEUDO_BIN = 37450  # htslib's per-reference summary bin: (first, last) offsets, counts


def _indexed_contigs(data: bytes) -> list[_IndexedContig] | None:
    """Each reference's (first, last) record offsets from an uncompressed .tbi or .csi, from the
    summary bin htslib writes for every reference with records; None if it is neither format.

    >>> _indexed_contigs(b"not an index") is None
    True
    """
    names: list[str] | None = None
    if data[:4] == b"TBI\x01":
        (n_ref,), (l_nm,) = struct.unpack_from("<i", data, 4), struct.unpack_from("<i", data, 32)
        names = [n.decode("utf-8", "replace") for n in data[36 : 36 + l_nm].split(b"\0")]
        at, summary_bin, csi = 36 + l_nm, _TBI_PSEUDO_BIN, False
    elif data[:4] == b"CSI\x01":
        _, depth, l_aux = struct.unpack_from("<3i", data, 4)
        if l_aux >= 28:  # tabix settings then names (a VCF's CSI); a BCF's CSI has none
            (l_nm,) = struct.unpack_from("<i", data, 16 + 24)
            names = [n.decode("utf-8", "replace") for n in data[44 : 44 + l_nm].split(b"\0")]
        (n_ref,) = struct.unpack_from("<i", data, 16 + l_aux)
        at, summary_bin, csi = 20 + l_aux, ((1 << ((depth + 1) * 3)) - 1) // 7 + 1, True
    else:
        return None
    found = []
    for ref in range(n_ref):
        (n_bin,) = struct.unpack_from("<i", data, at)
        at += 4
        for _ in range(n_bin):
            if csi:
                number, _, n_chunk = struct.unpack_from("<IQi", data, at)
                at += 16
            else:
                number, n_chunk = struct.unpack_from("<Ii", data, at)
                at += 8
            if number == summary_bin and n_chunk == 2:
                start, end = struct.unpack_from("<QQ", data, at)
                name = names[ref] if names is not None and ref < len(names) else None
                found.append(_IndexedContig(ref, name, start, end))
            at += 16 * n_chunk
        if not csi:
            (n_intervals,) = struct.unpack_from("<i", data, at)
            at += 4 + 8 * n_intervals
    return found


def _index_mismatch(path: Path, index: Path) -> tuple[str, list[_IndexedContig]]:
    """Why ``index`` cannot describe ``path`` by what the index itself says (older than the file,
    not an index, pointing past the end of the file), or "", with each contig's offsets for
    :func:`_records_mismatch`."""
    if int(index.stat().st_mtime) < int(path.stat().st_mtime):  # whole seconds, like htslib
        return "is older than the file", []
    try:
        contigs = _indexed_contigs(_bgzf_decompress(index.read_bytes()))
    except (OSError, EOFError, zlib.error, struct.error):
        contigs = None
    if contigs is None:
        return "is not a readable tabix or CSI index", []
    if not contigs and _has_records(path):
        why = "holds no summary of where its records lie (an old tabix), so it cannot be checked"
        return why, []
    size = path.stat().st_size
    if any(c.start >> 16 >= size or c.end >> 16 >= size for c in contigs):
        return "points past the end of the file: it was made for another version of the file", []
    return "", contigs


def _records_mismatch(path: Path, handle: Any, contigs: Sequence[_IndexedContig]) -> str:
    """Why the index does not describe the file opened in ``handle`` (just opened, so at its
    first record), or "" when it does.

    Checked: the offsets where the index says each contig's records start hold a record of that
    contig; each contig ends where the next begins, the first begins right after the header and
    the last ends at the end of the data. Records added, removed or rewritten anywhere move
    those offsets.
    """
    other = "does not match the file: it was made for another version of the file"
    try:
        with path.open("rb") as raw:
            expected = handle.tell()  # the first record follows the header
            for contig in sorted(contigs, key=lambda c: c.start):
                if _canonical(raw, contig.start) != _canonical(raw, expected):
                    return f"{other} (records are not where it puts them)"
                handle.seek(contig.start)
                record = next(handle)
                found = record.chrom if contig.name is not None else record.rid
                if found != (contig.name if contig.name is not None else contig.ref):
                    return f"{other} (it puts {contig.name or 'a contig'} where {record.chrom} is)"
                expected = contig.end
            handle.seek(expected)
            if next(handle, None) is not None:
                return f"{other} (the file has records after the last one it indexes)"
    except (OSError, ValueError, StopIteration):
        return f"{other} (its offsets do not lead to records)"
    return ""


def _bgzf_decompress(data: bytes) -> bytes:
    """The content of a BGZF file (a .tbi or .csi), block by block; any other gzip file through
    :func:`gzip.decompress`, which copies the rest of the data at each of a BGZF file's many
    members (three times slower on the index of a genome-wide VCF).

    >>> _bgzf_decompress(gzip.compress(b"TBI")) == _bgzf_decompress(BGZF_EOF + BGZF_EOF) + b"TBI"
    True
    """
    view, blocks, at = memoryview(data), [], 0
    while at < len(data):
        if data[at : at + 4] != b"\x1f\x8b\x08\x04" or data[at + 12 : at + 16] != b"BC\x02\x00":
            return gzip.decompress(data)  # not BGZF (or its first extra field is not BC)
        size = int.from_bytes(data[at + 16 : at + 18], "little") + 1  # BSIZE: block size - 1
        if at + size > len(data) or size < 26:
            raise EOFError("the last BGZF block is cut short")
        block = zlib.decompress(view[at + 18 : at + size - 8], -zlib.MAX_WBITS)
        crc, length = struct.unpack_from("<II", data, at + size - 8)
        if length != len(block) or crc != zlib.crc32(block):
            raise zlib.error("a BGZF block fails its CRC or length check")
        blocks.append(block)
        at += size
    return b"".join(blocks)


def _has_records(path: Path) -> bool:
    try:
        with quiet_htslib(), pysam.VariantFile(str(path)) as handle:
            return next(handle, None) is not None
    except (OSError, ValueError):
        return True  # unreadable: the reading itself will say so


def _canonical(raw: IO[bytes], voffset: int) -> int:
    """A virtual offset at the end of a BGZF block, as the start of the next block (the same
    place in the data), so two offsets can be compared."""
    block, within = voffset >> 16, voffset & 0xFFFF
    raw.seek(block)
    header = raw.read(18)
    if len(header) < 18 or header[12:14] != b"BC":
        return voffset
    size = int.from_bytes(header[16:18], "little") + 1  # BSIZE is the block size minus 1
    raw.seek(block + size - 4)
    uncompressed = int.from_bytes(raw.read(4), "little")  # ISIZE, the block's data length
    return (block + size) << 16 if within >= uncompressed else voffset


def open_variant_file(path: Path, index: Path | None = None, *, shown: Path | None = None) -> Any:
    """pysam's VariantFile, its refusals as one line naming ``shown`` (the user's file, when
    ``path`` is the temporary file of its kept lines) and the next step."""
    shown = shown or path
    try:
        if index is not None:
            return pysam.VariantFile(str(path), index_filename=str(index))
        return pysam.VariantFile(str(path))
    except (OSError, ValueError) as exc:
        text = str(exc)
        if shown == path and ("truncated" in text or "EOF" in text):
            raise VcfFormatError(
                path, "the file is truncated (no BGZF end-of-file marker); copy it again"
            ) from exc
        if "valid header" in text or "invalid file" in text:
            raise VcfFormatError(
                shown,
                "htslib cannot parse the VCF header, most often its #CHROM line (tab-separated "
                "#CHROM POS ID REF ALT QUAL FILTER INFO, then FORMAT and distinct sample names); "
                f"bcftools view -h {shown.name} names the line to fix",
            ) from exc
        raise VcfFormatError(
            shown, f"htslib cannot read it as VCF/BCF ({_htslib_words(text)})"
        ) from exc


def _htslib_words(text: str) -> str:
    """pysam's exception text without what only a Python caller reads (byte strings, modes).

    >>> _htslib_words("invalid file `b'x.vcf'` (mode=`b'r'`) - is it VCF/BCF format?")
    'invalid file x.vcf'
    """
    text = re.sub(r"`?b'([^']*)'`?", r"\1", text)
    text = re.sub(r"\s*\(mode=[^)]*\)", "", text)
    return text.replace(" - is it VCF/BCF format?", "").strip()
