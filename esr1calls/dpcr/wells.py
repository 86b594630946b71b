"""The common well table of every dPCR export, and the rules every reader shares.

Contract (what ``dpcr/__init__.py`` relies on):

* ``DpcrExport.rows``: one :class:`TargetRow` per (well, target) as the export wrote it: the
  accepted partitions of the well and the positive partitions of the target. A (well, target)
  pair appears once; a well's rows agree on its accepted partitions.
* ``DpcrExport.combinations``: per well, the partitions of each combination of positive
  channels (Bio-Rad ``Ch1+Ch2-`` columns, Absolute Q ``Channels`` rows), when the export has
  them. They add up to the well's accepted partitions and agree with each channel's positives.
* Merged rows (QuantaSoft and QX Manager ``M..`` wells) are kept only when none of their member
  wells is in the export; otherwise the members count, and the merged row is dropped.
* Counts are whole numbers read from whole cells: ``No Call``, empty and ``NaN`` counts are
  never zeros (the row is dropped, with the reason), and a row the end of the file cuts inside a
  used cell is never read (dropped, and a notice says the export looks cut short).
* Every row read but not used is in ``DpcrExport.dropped`` with its reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import PlateFormatError
from ..model import Dropped
from ..plates._source import Row
from ..plates._table import WellError, parse_number, parse_well

__all__ = [
    "NOT_A_COUNT",
    "Combinations",
    "DpcrExport",
    "ExportBuilder",
    "TargetRow",
    "parse_count",
]

# what exports write where a count is not known: never read as zero
NOT_A_COUNT = frozenset(
    {"", "no call", "nocall", "nan", "n/a", "na", "-", "--", "none", "null", "#n/a", "invalid"}
)
_COUNT = re.compile(r"\+?([0-9]+)(?:\.0*)?")
_MERGED = re.compile(r"[Mm]0*([0-9]+)")
_MEMBER_SPLIT = re.compile(r"[\s,;|/]+")
# Bio-Rad numbers its channels: the Ch1/Ch2 of combination columns are these dyes
BIO_RAD_CHANNEL = {"FAM": "CH1", "HEX": "CH2", "VIC": "CH2"}


class CountError(ValueError):
    """A count cell that is neither a whole number nor a "no count" word."""


def parse_count(text: str) -> int | None:
    """A partition count: a whole number; None for what exports write when there is none.

    >>> parse_count("15234"), parse_count("20486.0"), parse_count("No Call"), parse_count("")
    (15234, 20486, None, None)
    """
    value = text.strip()
    match = _COUNT.fullmatch(value)
    if match:
        return int(match.group(1))
    if value.lower() in NOT_A_COUNT:
        return None
    raise CountError(f"{value!r} is not a number of partitions (a whole number)")


def parse_concentration(text: str) -> float | None:
    """The export's own copies/µL, kept for the record (never used for a call)."""
    value = parse_number(text.strip()) if text.strip() else None
    return value


@dataclass(frozen=True)
class TargetRow:
    """One (well, target) row of an export."""

    well: str  # "A1".."P24"; a merged row keeps its own name ("M1")
    sample_name: str
    target: str  # as exported; "" when the export names none
    dye: str  # the dye or channel as exported, upper case ("FAM", "VIC", "CH1"); "" if none
    positives: int
    partitions: int  # accepted partitions of the well
    source_row: int
    concentration: float | None = None  # the export's copies/µL: recorded, never used
    flags: tuple[str, ...] = ()  # instrument status words ("CHECK", ...)
    members: tuple[str, ...] = ()  # a merged row: the wells it merges

    @property
    def key(self) -> tuple[str, str]:
        return self.well, self.target or self.dye


@dataclass(frozen=True)
class Combinations:
    """Partitions of one well by the set of channels they are positive in."""

    channels: tuple[str, ...]  # the dyes of the combination system, upper case
    counts: Mapping[frozenset[str], int]  # positive dyes -> partitions (absent: 0)
    source_row: int = 0

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def positives(self, dye: str) -> int:
        """The partitions positive in ``dye`` (any other channel either way)."""
        return sum(n for positive, n in self.counts.items() if dye in positive)

    def count(self, positive: Iterable[str], negative: Iterable[str]) -> int:
        """The partitions positive in every dye of ``positive`` and in none of ``negative``."""
        wanted, unwanted = set(positive), set(negative)
        return sum(n for dyes, n in self.counts.items() if wanted <= dyes and not (unwanted & dyes))


@dataclass(frozen=True)
class DpcrExport:
    """One dPCR run read from one export file."""

    path: Path
    format: str  # the reader's id: "quantasoft", "qxmanager", "qiacuity", "absoluteq"
    instrument: str  # "qx200", "qx600", "qiacuity" or "absoluteq" (told apart by content)
    run_id: str
    rows: tuple[TargetRow, ...]
    combinations: Mapping[str, Combinations] = field(default_factory=dict)
    metadata: Mapping[str, Any] = field(default_factory=dict)
    dropped: tuple[Dropped, ...] = ()
    notices: tuple[str, ...] = ()
    sha256: str = ""


class ExportBuilder:
    """Collects rows and dropped rows, enforcing the contract above."""

    def __init__(self, path: Path, fmt: str) -> None:
        self.path = path
        self.fmt = fmt
        self.rows: list[TargetRow] = []
        self.combinations: dict[str, Combinations] = {}
        self.dropped: list[Dropped] = []
        self.notices: list[str] = []
        self._places: dict[tuple[str, str], str] = {}
        self._partitions: dict[str, tuple[int, str]] = {}

    def fail(self, place: str, message: str) -> PlateFormatError:
        return PlateFormatError(self.path, message, place=place)

    def well(self, text: str, place: str, *, merged: bool = False) -> str:
        """A well as "A1"; a merged well as "M1"."""
        if merged:
            match = _MERGED.fullmatch(text.strip())
            if match:
                return f"M{int(match.group(1))}"
        try:
            return parse_well(text)
        except WellError as exc:
            raise self.fail(place, str(exc)) from exc

    def members(self, text: str, place: str) -> tuple[str, ...]:
        """The member wells a merged row lists ("A01,B01", "A01;B01", "A01 B01")."""
        wells = [w for w in _MEMBER_SPLIT.split(text.strip()) if w]
        return tuple(dict.fromkeys(self.well(w, place) for w in wells))

    def count(self, row: Row, column: int | None, header: Sequence[str], place: str) -> int | None:
        """A count cell of a row; None when the export wrote "no count" there."""
        text = row.get(column)
        try:
            return parse_count(text)
        except CountError as exc:
            name = header[column].strip() if column is not None else "count"
            raise self.fail(
                place, f'column "{name}": {exc}. Correct the cell or export the file again'
            ) from exc

    def add(self, row: TargetRow, place: str) -> None:
        if row.key in self._places:
            what = f"target {row.target!r}" if row.target else f"dye {row.dye or '(none)'}"
            raise self.fail(
                place,
                f"well {row.well}, {what} appears twice (first at {self._places[row.key]}). "
                "Each well and target must appear once: remove the duplicate row, or export one "
                "run per file",
            )
        if row.positives > row.partitions:
            raise self.fail(
                place,
                f"well {row.well}: {row.positives} positive of {row.partitions} accepted "
                "partitions; the export contradicts itself: export it again",
            )
        known = self._partitions.get(row.well)
        if known is not None and known[0] != row.partitions:
            raise self.fail(
                place,
                f"well {row.well}: {row.partitions} accepted partitions here, {known[0]} at "
                f"{known[1]}; the rows of one well must agree: export the file again",
            )
        self._partitions.setdefault(row.well, (row.partitions, place))
        self._places[row.key] = place
        self.rows.append(row)

    def add_combinations(self, well: str, combinations: Combinations, place: str) -> None:
        """A well's combination counts; every row of a well that repeats them must agree."""
        known = self.combinations.get(well)
        if known is not None and dict(known.counts) != dict(combinations.counts):
            raise self.fail(
                place,
                f"well {well}: its partition-combination counts differ from those of row "
                f"{known.source_row}; export the file again",
            )
        if known is None:
            self.combinations[well] = combinations

    def drop(self, place: str, reason: str) -> None:
        self.dropped.append(Dropped(source=self.path.name, place=place, reason=reason))

    def drop_cut(self, place: str, row: Row, column: int, header: Sequence[str], what: str) -> None:
        """Drop a row the end of the file cuts inside a used cell, and say so."""
        name = header[column].strip() if column < len(header) else f"column {column + 1}"
        if column < len(row.cells):
            where = f'its "{name}" cell {row.cells[column].strip()!r} may be cut short'
        else:
            where = f'it stops before its "{name}" cell'
        self.drop(
            place,
            f"{what}: the file ends inside this row, without a line end, and {where}; the row "
            "is not used",
        )
        self.notices.append(
            f"{self.path.name} ends inside {place} (no line end after it): the export looks cut "
            "short, so that row is not used and any rows that followed it are missing. The "
            "calls that need them are INVALID (a missing well), never read from a cut cell. "
            "Export the file again; if it is complete, end its last line with a line break"
        )

    def require(
        self, row: Row, place: str, header: Sequence[str], required: Iterable[int | None]
    ) -> None:
        """Refuse a row that ends before a cell it needs. Cells it does not need may be absent
        (QuantaSoft leaves the last column, MergedWells, off every data row)."""
        lacking = [c for c in required if c is not None and c >= len(row.cells)]
        if lacking:
            raise self.fail(
                place,
                f"the row stops after {len(row.cells)} of {len(header)} columns, before "
                f'"{header[min(lacking)].strip()}"; the file looks damaged: export it again',
            )

    def build(self, run_id: str, instrument: str, metadata: Mapping[str, Any]) -> DpcrExport:
        if not self.rows:
            raise PlateFormatError(
                self.path,
                "no well with partition counts was found; the file may be truncated, or it is "
                "not a results export with accepted and positive partitions",
            )
        self._check_combinations()
        rows = _resolve_merged(self.rows, self.drop)
        kept = {row.well for row in rows}
        return DpcrExport(
            path=self.path,
            format=self.fmt,
            instrument=instrument,
            run_id=run_id or self.path.stem,
            rows=tuple(rows),
            combinations={w: c for w, c in self.combinations.items() if w in kept},
            metadata=dict(metadata),
            dropped=tuple(self.dropped),
            notices=tuple(dict.fromkeys(self.notices)),
        )

    def _check_combinations(self) -> None:
        """Each well's combinations add up to its partitions and agree with its channels."""
        by_well: dict[str, list[TargetRow]] = {}
        for row in self.rows:
            by_well.setdefault(row.well, []).append(row)
        for well, combinations in self.combinations.items():
            rows = by_well.get(well, [])
            place = f"row {combinations.source_row}"
            if rows and combinations.total != rows[0].partitions:
                raise self.fail(
                    place,
                    f"well {well}: its partition combinations add up to {combinations.total}, "
                    f"not to its {rows[0].partitions} accepted partitions; the export "
                    "contradicts itself: export it again",
                )
            for row in rows:
                dye = row.dye if row.dye in combinations.channels else BIO_RAD_CHANNEL.get(row.dye)
                if dye in combinations.channels:
                    marginal = combinations.positives(str(dye))
                    if marginal != row.positives:
                        raise self.fail(
                            f"row {row.source_row}",
                            f"well {well} {row.dye}: {row.positives} positive partitions, but "
                            f"its partition combinations give {marginal}; the export "
                            "contradicts itself: export it again",
                        )


def _resolve_merged(rows: Sequence[TargetRow], drop: Any) -> list[TargetRow]:
    """Merged rows count only when none of their members is in the export (never twice)."""
    present = {row.key for row in rows if not row.members}
    kept = []
    for row in rows:
        if not row.members:
            kept.append(row)
            continue
        there = [w for w in row.members if (w, row.key[1]) in present]
        if not there:
            kept.append(row)
            continue
        missing = [w for w in row.members if w not in there]
        extra = (
            f"; {', '.join(missing)} of its members are not in the export (a merged row cannot "
            "be split), so they are missing"
            if missing
            else ""
        )
        drop(
            f"row {row.source_row}",
            f"merged well {row.well} ({', '.join(row.members)}) {row.key[1]}: counted from its "
            f"member wells, which are in the export; the merged row is not used, so nothing is "
            f"counted twice{extra}",
        )
    return kept
