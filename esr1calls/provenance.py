"""Provenance facts every report records: tool version, command, time, input hashes."""

from __future__ import annotations

import datetime as dt
import hashlib
import shlex
import threading
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path

from ._version import __version__
from .errors import InputError
from .model import InputFile

__all__ = [
    "TOOL_NAME",
    "command_line",
    "hash_in_background",
    "input_file",
    "sha256_file",
    "utc_now",
]

TOOL_NAME = "esr1calls"


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file, read in chunks (VCFs and BAMs can be large).

    A file hashed again in the same process, unchanged (same size, mtime and inode), is not read
    again: a CRAM reference or a normal used by several samples is read once.
    """
    resolved = Path(path).resolve()
    stat = resolved.stat()
    return _sha256_of(resolved, stat.st_size, stat.st_mtime_ns, stat.st_ino)


@lru_cache(maxsize=256)
def _sha256_of(path: Path, size: int, mtime_ns: int, inode: int) -> str:
    """The digest, cached by the file's identity (a changed file gets a new key)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def hash_in_background(path: str | Path) -> Callable[[], str]:
    """Start :func:`sha256_file` on ``path`` in a thread; call the result to wait for the digest.

    For hashing a file while pysam reads it (hashlib releases the GIL; a BAM can be gigabytes).
    The thread is a daemon: when the reading fails, the error is raised and the process can exit
    at once, without waiting for the whole file to be hashed. A file that cannot be read for
    hashing is an InputError raised by the returned function.
    """
    done: list[str | BaseException] = []

    def work() -> None:
        try:
            done.append(sha256_file(path))
        except BaseException as exc:  # handed to the caller, who raises it
            done.append(exc)

    thread = threading.Thread(target=work, name="esr1calls-sha256", daemon=True)
    thread.start()

    def result() -> str:
        thread.join()
        value = done[0]
        if isinstance(value, BaseException):
            raise InputError(path, f"cannot read the file to hash it ({value})") from value
        return value

    return result


def input_file(path: str | Path, fmt: str = "") -> InputFile:
    return InputFile(path=str(path), sha256=sha256_file(path), format=fmt)


def command_line(argv: Sequence[str]) -> str:
    """The exact command as a shell would re-run it.

    >>> command_line(["pcr", "plate 1.csv", "-o", "out"])
    "esr1calls pcr 'plate 1.csv' -o out"
    """
    return shlex.join([TOOL_NAME, *argv])


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def tool_info() -> dict[str, str]:
    return {"name": TOOL_NAME, "version": __version__}
