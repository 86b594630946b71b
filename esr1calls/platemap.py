"""Plate maps: ``well,sample_id,role,mix[,replicate][,plate]`` — the only source of well roles.

Roles are never guessed from positions. The map is validated against the kit here and against
each export in ``pcr.py`` (wells missing on either side are reported, never ignored).
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .errors import InputError
from .kit import Kit
from .model import WellRole

__all__ = ["MapEntry", "PlateMap", "normalise_well", "read_plate_map"]

REQUIRED_COLUMNS = ("well", "sample_id", "role", "mix")
OPTIONAL_COLUMNS = ("replicate", "plate")
_ROLE_ALIASES = {
    "WT_CTRL": "WT",
    "WILDTYPE": "WT",
    "BLANK": "EMPTY",
    "UNKNOWN": "SAMPLE",
    "POS": "PC",
    "NEG": "NTC",
}
_WELL = re.compile(r"^([A-Pa-p])0*([1-9]\d?)$")


def normalise_well(text: str) -> str | None:
    """``A01``/``a1`` -> ``A1`` (plates up to P24); tube numbers stay as digits; else None.

    >>> normalise_well("A01"), normalise_well("p24"), normalise_well("12"), normalise_well("Q1")
    ('A1', 'P24', '12', None)
    """
    text = text.strip()
    match = _WELL.match(text)
    if match and int(match.group(2)) <= 24:
        return f"{match.group(1).upper()}{int(match.group(2))}"
    if text.isdigit() and 0 < int(text) <= 384:
        return str(int(text))
    return None


@dataclass(frozen=True)
class MapEntry:
    well: str
    sample_id: str
    role: WellRole
    mix: str
    replicate: int
    plate: str  # "" when the map covers a single plate
    row: int  # 1-based line in the map file


@dataclass(frozen=True)
class PlateMap:
    path: Path
    sha256: str
    entries: tuple[MapEntry, ...]

    def __iter__(self) -> Iterator[MapEntry]:
        return iter(self.entries)

    @property
    def plates(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(e.plate for e in self.entries))

    def for_plate(self, *names: str) -> tuple[MapEntry, ...]:
        """Entries for the plate known by any of ``names`` (run id, file name, file stem)."""
        if self.plates == ("",):
            return self.entries
        wanted = {n for n in names if n}
        return tuple(e for e in self.entries if e.plate in wanted)


def read_plate_map(path: str | Path, kit: Kit) -> PlateMap:
    """Read and validate a plate map CSV (comma, semicolon or tab separated)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(path, f"cannot read the plate map ({exc.strerror})") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(path, "the plate map is not UTF-8 text; save it as CSV UTF-8") from exc
    # (line number in the file, text): comments and blank lines are skipped, never renumbered
    lines = [
        (number, line)
        for number, line in enumerate(text.splitlines(), start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if not lines:
        raise InputError(
            path, f"the plate map is empty; expected columns {','.join(REQUIRED_COLUMNS)}"
        )
    header_number, header_line = lines[0]
    delimiter = max((",", ";", "\t"), key=header_line.count)

    def split(line: str) -> list[str]:
        return next(csv.reader([line], delimiter=delimiter), [])

    header = [h.strip().lower() for h in split(header_line)]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise InputError(
            path,
            f"column {', '.join(missing)} is missing. Found: {', '.join(header)}. A plate map "
            f"has {','.join(REQUIRED_COLUMNS)}[,replicate][,plate].",
            place=f"line {header_number}",
        )
    index = {
        name: header.index(name)
        for name in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)
        if name in header
    }
    roles = ", ".join(r.value for r in WellRole)
    entries: list[MapEntry] = []
    seen: dict[tuple[str, str], int] = {}
    for number, line in lines[1:]:
        cells = split(line)
        place = f"line {number}"
        if len(cells) < len(header):
            raise InputError(
                path, f"expected {len(header)} columns, found {len(cells)}", place=place
            )
        if any(c.strip() for c in cells[len(header) :]):
            raise InputError(
                path,
                f"{len(cells)} values for {len(header)} columns ({', '.join(header)}); name the "
                "extra column in the header (replicate, plate) or remove the value",
                place=place,
            )

        def cell(name: str, cells: list[str] = cells) -> str:
            return cells[index[name]].strip() if name in index else ""

        well = normalise_well(cell("well"))
        if well is None:
            raise InputError(
                path, f"well {cell('well')!r} is not a well (A1..P24) or a tube number", place=place
            )
        role_text = cell("role").upper()
        role_text = _ROLE_ALIASES.get(role_text, role_text)
        if role_text not in WellRole.__members__:
            raise InputError(path, f"role {cell('role')!r} is not one of {roles}", place=place)
        role = WellRole(role_text)
        mix = cell("mix")
        if role is not WellRole.EMPTY and mix not in kit.mixes:
            raise InputError(
                path,
                f"mix {mix!r} is not a mix of kit {kit.id} ({', '.join(kit.mixes)})",
                place=place,
            )
        sample_id = cell("sample_id") or (role.value if role is not WellRole.SAMPLE else "")
        if role is WellRole.SAMPLE and not sample_id:
            raise InputError(path, "a SAMPLE well needs a sample_id", place=place)
        replicate_text = cell("replicate") or "1"
        if not replicate_text.isdigit() or int(replicate_text) < 1:
            raise InputError(path, f"replicate {replicate_text!r} must be 1, 2, ...", place=place)
        key = (cell("plate"), well)
        if key in seen:
            raise InputError(
                path, f"well {well} is listed twice (first on line {seen[key]})", place=place
            )
        seen[key] = number
        entries.append(
            MapEntry(well, sample_id, role, mix, int(replicate_text), cell("plate"), number)
        )
    if not entries:
        raise InputError(path, "the plate map lists no wells")
    plates = {e.plate for e in entries}
    if "" in plates and len(plates) > 1:
        raise InputError(path, "the plate column is empty on some lines; fill it on every line")
    return PlateMap(path=path, sha256=hashlib.sha256(raw).hexdigest(), entries=tuple(entries))
