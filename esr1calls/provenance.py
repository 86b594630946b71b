"""Provenance facts every report records: tool version, command, time, input hashes."""

from __future__ import annotations

import datetime as dt
import hashlib
import shlex
from collections.abc import Sequence
from pathlib import Path

from ._version import __version__
from .model import InputFile

__all__ = ["TOOL_NAME", "command_line", "input_file", "sha256_file", "utc_now"]

TOOL_NAME = "esr1calls"


def sha256_file(path: str | Path, chunk_size: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks (VCFs and BAMs can be large)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


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
