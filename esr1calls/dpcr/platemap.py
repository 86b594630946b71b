"""dPCR plate maps: ``well,sample_id,role,assay[,replicate][,plate][,plasma_ml,elution_ul,
template_ul]``, the only source of well roles and of the assay in each well.

The PCR plate map's rules, with ``assay`` in place of ``mix`` (``mix`` is accepted as its
synonym): roles SAMPLE, PC, NTC, WT and EMPTY (never guessed from positions), wells A1..P24,
comma, semicolon or tab separated, ``#`` comment lines. The three volume columns, when a line
fills them, give the copies per mL of plasma: plasma extracted (mL), eluate (µL) and eluate put
into each reaction (µL); a sample's lines must agree on them.
"""

from __future__ import annotations

import csv
import hashlib
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from ..model import WellRole
from ..pcr.platemap import _ROLE_ALIASES as ROLE_ALIASES
from ..pcr.platemap import normalise_well
from .assays import AssaySet

__all__ = ["OPTIONAL_COLUMNS", "REQUIRED_COLUMNS", "DpcrMap", "DpcrMapEntry", "read_dpcr_map"]

REQUIRED_COLUMNS = ("well", "sample_id", "role", "assay")
VOLUME_COLUMNS = ("plasma_ml", "elution_ul", "template_ul")
OPTIONAL_COLUMNS = ("replicate", "plate", *VOLUME_COLUMNS)
ASSAY_SYNONYM = "mix"
_VOLUME_LIMITS = {"plasma_ml": 1000.0, "elution_ul": 10_000.0, "template_ul": 1000.0}


@dataclass(frozen=True)
class Volumes:
    """Plasma extracted (mL), eluate volume (µL), eluate per reaction (µL)."""

    plasma_ml: float
    elution_ul: float
    template_ul: float


@dataclass(frozen=True)
class DpcrMapEntry:
    well: str
    sample_id: str
    role: WellRole
    assay: str  # "" for EMPTY
    replicate: int
    plate: str  # "" when the map covers one run
    row: int  # 1-based line in the map file
    volumes: Volumes | None = None


@dataclass(frozen=True)
class DpcrMap:
    path: Path
    sha256: str
    entries: tuple[DpcrMapEntry, ...]

    def __iter__(self) -> Iterator[DpcrMapEntry]:
        return iter(self.entries)

    @property
    def plates(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(e.plate for e in self.entries))

    def for_plate(self, *names: str) -> tuple[DpcrMapEntry, ...]:
        """Entries for the run known by any of ``names`` (run id, file name, file stem)."""
        if self.plates == ("",):
            return self.entries
        wanted = {n for n in names if n}
        return tuple(e for e in self.entries if e.plate in wanted)


def read_dpcr_map(path: str | Path, assay_set: AssaySet) -> DpcrMap:
    """Read and validate a dPCR plate map against the assay set."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(path, f"cannot read the plate map ({exc.strerror})") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(path, "the plate map is not UTF-8 text; save it as CSV UTF-8") from exc
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
    if "assay" not in header and ASSAY_SYNONYM in header:
        header[header.index(ASSAY_SYNONYM)] = "assay"
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise InputError(
            path,
            f"column {', '.join(missing)} is missing. Found: {', '.join(header)}. A dPCR plate "
            f"map has {','.join(REQUIRED_COLUMNS)}[,replicate][,plate]"
            f"[,{','.join(VOLUME_COLUMNS)}] (mix is accepted for assay).",
            place=f"line {header_number}",
        )
    index = {
        name: header.index(name)
        for name in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)
        if name in header
    }
    roles = ", ".join(r.value for r in WellRole)
    entries: list[DpcrMapEntry] = []
    seen: dict[tuple[str, str], int] = {}
    volumes_of: dict[str, tuple[Volumes | None, int]] = {}
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
                "extra column in the header or remove the value",
                place=place,
            )

        def cell(name: str, cells: list[str] = cells) -> str:
            return cells[index[name]].strip() if name in index else ""

        well = normalise_well(cell("well"))
        if well is None:
            raise InputError(path, f"well {cell('well')!r} is not a well (A1..P24)", place=place)
        role_text = cell("role").upper()
        role_text = ROLE_ALIASES.get(role_text, role_text)
        if role_text not in WellRole.__members__:
            raise InputError(path, f"role {cell('role')!r} is not one of {roles}", place=place)
        role = WellRole(role_text)
        assay = cell("assay")
        if role is not WellRole.EMPTY and assay not in assay_set.assays:
            raise InputError(
                path,
                f"assay {assay!r} is not an assay of {assay_set.id} "
                f"({', '.join(assay_set.assays)})",
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
        volumes = _volumes(path, place, {name: cell(name) for name in VOLUME_COLUMNS})
        if role is WellRole.SAMPLE:
            first = volumes_of.setdefault(sample_id, (volumes, number))
            if first[0] != volumes:
                raise InputError(
                    path,
                    f"sample {sample_id}: {', '.join(VOLUME_COLUMNS)} differ from line "
                    f"{first[1]}; one sample has one extraction: give the same values on "
                    "every line of it",
                    place=place,
                )
        entries.append(
            DpcrMapEntry(
                well=well,
                sample_id=sample_id,
                role=role,
                assay=assay if role is not WellRole.EMPTY else "",
                replicate=int(replicate_text),
                plate=cell("plate"),
                row=number,
                volumes=volumes,
            )
        )
    if not entries:
        raise InputError(path, "the plate map lists no wells")
    plates = {e.plate for e in entries}
    if "" in plates and len(plates) > 1:
        raise InputError(path, "the plate column is empty on some lines; fill it on every line")
    return DpcrMap(path=path, sha256=hashlib.sha256(raw).hexdigest(), entries=tuple(entries))


def _volumes(path: Path, place: str, texts: dict[str, str]) -> Volumes | None:
    """The three volumes of a line: all given, or none."""
    given = [name for name, text in texts.items() if text]
    if not given:
        return None
    if len(given) != len(texts):
        lacking = [name for name in texts if name not in given]
        raise InputError(
            path,
            f"{', '.join(given)} given without {', '.join(lacking)}; copies per mL of plasma "
            f"need all of {', '.join(VOLUME_COLUMNS)} (or leave all three empty)",
            place=place,
        )
    values: dict[str, float] = {}
    for name, text in texts.items():
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or not 0 < value <= _VOLUME_LIMITS[name]:
            raise InputError(
                path,
                f"{name} {text!r} must be a number above 0 and at most {_VOLUME_LIMITS[name]:g}",
                place=place,
            )
        values[name] = value
    return Volumes(**values)
