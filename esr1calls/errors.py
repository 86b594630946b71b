"""The exception family: everything a user can fix is an Esr1CallsError.

QC failures are results, not exceptions; these are raised only when no meaningful report can be
produced. Every message names the file, the place, what was expected and the next step.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "AlignmentFormatError",
    "AuditError",
    "ConfigError",
    "Esr1CallsError",
    "InputError",
    "PlateFormatError",
    "ReferenceFastaError",
    "UnknownFormatError",
    "VcfFormatError",
]


class Esr1CallsError(Exception):
    """Base class: the user can fix it; the CLI prints one line and exits 1."""


class InputError(Esr1CallsError):
    """An input file is missing, unreadable or malformed.

    The message is prefixed with the file name and, when known, the place (line, row, record),
    so the user sees ``plate.csv, row 14: column "Cq" is missing ...``.
    """

    def __init__(self, path: str | Path | None, message: str, *, place: str | None = None) -> None:
        self.path = None if path is None else Path(path)
        self.place = place
        self.detail = message
        prefix = [] if self.path is None else [self.path.name]
        if place:
            prefix.append(place)
        super().__init__(f"{', '.join(prefix)}: {message}" if prefix else message)


class UnknownFormatError(InputError):
    """No reader recognised the file."""


class PlateFormatError(InputError):
    """A plate export was recognised but is malformed (missing column, bad Ct cell...)."""


class VcfFormatError(InputError):
    """An unreadable VCF/BCF, a sample that is not there, a build that cannot be told..."""


class AlignmentFormatError(InputError):
    """An unusable BAM/CRAM: unreadable, unsorted, no index, no chr6, a sample not there..."""


class ReferenceFastaError(InputError):
    """A reference FASTA a CRAM cannot be decoded with: missing, unindexed, another genome's.

    (Not ``ReferenceError``: that name is Python's own, for a dead weak reference.)
    """


class ConfigError(Esr1CallsError):
    """A bad kit definition, panel, plate map option or threshold."""


class AuditError(Esr1CallsError):
    """A review record (audit.jsonl) that does not verify, or a sign-off that cannot be made."""
