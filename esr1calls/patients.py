"""Whose sample, and when: patient ids, collection dates and the sample sheet.

Serial monitoring (``esr1calls monitor``) places every sample on one patient's timeline, so it
needs the patient and the date the sample was collected. They come from the plate map's optional
``patient_id`` and ``collected`` columns (``pcr``), from ``--patient``/``--collected`` (``pcr``,
``ngs``: one sample), both recorded per sample in calls.json, or from a sample sheet given to
``monitor`` (``sample_id, patient_id, collected[, note]``, tab- or comma-separated).

A date is an ISO date, YYYY-MM-DD, and nothing else: ``03/04/2024`` is refused, never guessed.
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from .errors import ConfigError, InputError
from .model import RunResult

__all__ = [
    "SHEET_COLUMNS",
    "SampleSheet",
    "SheetRow",
    "check_collected",
    "check_patient_id",
    "folder_labels",
    "read_sample_sheet",
    "with_patient",
]

SHEET_COLUMNS = ("sample_id", "patient_id", "collected")
SHEET_OPTIONAL_COLUMNS = ("note",)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MAX_ID_LENGTH = 200


def check_collected(text: str) -> str:
    """A collection date as calls.json and monitor keep it (YYYY-MM-DD), or ValueError saying
    what is wrong and how to write it.

    >>> check_collected(" 2024-03-05 ")
    '2024-03-05'
    >>> check_collected("05/03/2024")
    Traceback (most recent call last):
    ValueError: collected '05/03/2024' is not an ISO date; write it as YYYY-MM-DD, e.g. 2024-03-05
    """
    value = text.strip()
    if not _ISO_DATE.fullmatch(value):
        example = "2024-03-05"
        raise ValueError(
            f"collected {text!r} is not an ISO date; write it as YYYY-MM-DD, e.g. {example}"
        )
    try:
        day = datetime.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"collected {text!r} is not a date of the calendar") from None
    if day.year < 1900:
        raise ValueError(f"collected {text!r} is before 1900; check the year")
    return value


def check_patient_id(text: str) -> str:
    """A patient id as kept: surrounding spaces dropped; empty, control characters (tabs, line
    breaks) and more than 200 characters refused with ValueError.

    >>> check_patient_id("  PT-0001 ")
    'PT-0001'
    """
    value = text.strip()
    if not value:
        raise ValueError("the patient id is empty")
    if _CONTROL.search(value):
        raise ValueError(f"patient id {text!r} holds a tab, line break or control character")
    if len(value) > MAX_ID_LENGTH:
        raise ValueError(f"patient id {value[:20]!r}... is longer than {MAX_ID_LENGTH} characters")
    return value


def with_patient(result: RunResult, patient_id: str | None, collected: str | None) -> RunResult:
    """The run with ``--patient``/``--collected`` recorded on its one sample.

    They name one sample's patient and date, so a run of several samples is refused (the plate
    map's columns or a sample sheet say which sample is whose); so is a value that contradicts
    the plate map's for the sample.
    """
    if patient_id is None and collected is None:
        return result
    given = " and ".join(
        option
        for option, value in (("--patient", patient_id), ("--collected", collected))
        if value is not None
    )
    try:
        patient = None if patient_id is None else check_patient_id(patient_id)
        date = None if collected is None else check_collected(collected)
    except ValueError as exc:
        raise ConfigError(f"{given}: {exc}") from None
    if len(result.samples) != 1:
        names = ", ".join(s.sample_id for s in result.samples[:5])
        more = ", ..." if len(result.samples) > 5 else ""
        raise ConfigError(
            f"{given} name the patient of one sample, but this run holds "
            f"{len(result.samples)} samples ({names}{more}); give each sample's patient and date "
            "in the plate map's patient_id and collected columns, or in a sample sheet for "
            "esr1calls monitor --samples"
        )
    sample = result.samples[0]
    for option, new, old in (
        ("--patient", patient, sample.patient_id),
        ("--collected", date, sample.collected),
    ):
        if new is not None and old is not None and new != old:
            raise ConfigError(
                f"{option} {new!r} contradicts the plate map, which gives sample "
                f"{sample.sample_id} {old!r}; correct one of them"
            )
    updated = replace(
        sample,
        patient_id=patient if patient is not None else sample.patient_id,
        collected=date if date is not None else sample.collected,
    )
    return replace(result, samples=(updated,))


@dataclass(frozen=True)
class SheetRow:
    """One line of a sample sheet. ``sample_id`` is as written: a bare id (``S1``) or one
    qualified by the run it is in (``plate7:S1``)."""

    sample_id: str
    patient_id: str
    collected: str
    note: str
    line: int  # 1-based line in the file


@dataclass(frozen=True)
class SampleSheet:
    path: Path
    sha256: str
    rows: tuple[SheetRow, ...]


def read_sample_sheet(path: str | Path) -> SampleSheet:
    """Read and check a sample sheet: columns ``sample_id, patient_id, collected`` and an
    optional ``note`` (header required, any order; other columns are ignored), tab- or
    comma-separated, UTF-8; blank lines and lines starting with ``#`` are skipped. Every row
    names a sample, its patient and an ISO date; a sample listed twice is refused."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(path, f"cannot read the sample sheet ({exc.strerror})") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(path, "the sample sheet is not UTF-8 text; save it as UTF-8") from exc
    lines = [
        (number, line)
        for number, line in enumerate(text.splitlines(), start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    expected = ", ".join((*SHEET_COLUMNS, *SHEET_OPTIONAL_COLUMNS))
    if not lines:
        raise InputError(path, f"the sample sheet is empty; expected columns {expected}")
    header_number, header_line = lines[0]
    delimiter = "\t" if "\t" in header_line else ","

    def split(line: str) -> list[str]:
        return next(csv.reader([line], delimiter=delimiter), [])

    header = [re.sub(r"[\s-]+", "_", h.strip().lower()) for h in split(header_line)]
    missing = [c for c in SHEET_COLUMNS if c not in header]
    if missing:
        raise InputError(
            path,
            f"column {', '.join(missing)} is missing. Found: {', '.join(header)}. A sample sheet "
            f"has {expected} (tab- or comma-separated)",
            place=f"line {header_number}",
        )
    twice = sorted({h for h in header if h and header.count(h) > 1})
    if twice:
        raise InputError(
            path, f"column {', '.join(twice)} is named twice", place=f"line {header_number}"
        )
    index = {
        name: header.index(name)
        for name in (*SHEET_COLUMNS, *SHEET_OPTIONAL_COLUMNS)
        if name in header
    }
    rows: list[SheetRow] = []
    seen: dict[str, int] = {}
    for number, line in lines[1:]:
        place = f"line {number}"
        cells = split(line)
        if len(cells) < len(header):
            raise InputError(
                path,
                f"expected {len(header)} columns ({', '.join(header)}), found {len(cells)}",
                place=place,
            )
        if any(c.strip() for c in cells[len(header) :]):
            raise InputError(
                path,
                f"{len(cells)} values for {len(header)} columns; name the extra column in the "
                "header or remove the value",
                place=place,
            )
        sample_id = cells[index["sample_id"]].strip()
        if not sample_id:
            raise InputError(path, "the sample_id is empty", place=place)
        if sample_id in seen:
            raise InputError(
                path,
                f"sample {sample_id!r} is listed twice (first on line {seen[sample_id]}); keep "
                "one line per sample",
                place=place,
            )
        try:
            patient = check_patient_id(cells[index["patient_id"]])
            collected = check_collected(cells[index["collected"]])
        except ValueError as exc:
            raise InputError(path, f"sample {sample_id!r}: {exc}", place=place) from None
        seen[sample_id] = number
        note = cells[index["note"]].strip() if "note" in index else ""
        rows.append(SheetRow(sample_id, patient, collected, note, number))
    if not rows:
        raise InputError(path, "the sample sheet lists no samples")
    return SampleSheet(path, hashlib.sha256(raw).hexdigest(), tuple(rows))


def folder_labels(folders: Iterable[tuple[str, ...]]) -> dict[tuple[str, ...], str]:
    """The run label of each folder (its path's parts): its name (the -o folder; a batch job's
    id), or as many of its parents as it takes to tell it from the other folders of the same name.
    """
    folders = list(folders)
    labels: dict[tuple[str, ...], str] = {}
    for folder in folders:
        depth = 1
        while True:
            label = "/".join(folder[-depth:])
            clashes = [f for f in folders if f != folder and "/".join(f[-depth:]) == label]
            if not clashes or depth >= len(folder):
                break
            depth += 1
        labels[folder] = label
    return labels
