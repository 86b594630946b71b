"""Plate maps: ``well,sample_id,role,mix[,replicate][,plate][,patient_id][,collected][,specimen]``,
the only source of well roles.

Roles are never guessed from positions. The map is validated against the kit here and against
each export in ``pcr.py`` (wells missing on either side are reported, never ignored).
``compare_names`` holds the map against the export's own names: the Sample Name and the
Target/Detector name the instrument wrote for each well, where it wrote any.
"""

from __future__ import annotations

import csv
import hashlib
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from ..errors import ConfigError, InputError
from ..hotspots import EXTENDED_PANEL, load_panel
from ..interpretation import parse_specimen
from ..model import WellRole
from ..patients import check_collected, check_patient_id
from .kit import IC, REF, Kit

__all__ = [
    "GENERIC_NAMES",
    "MapEntry",
    "NameCheck",
    "NameMismatch",
    "PlateMap",
    "compare_names",
    "describe_mismatches",
    "normalise_well",
    "read_plate_map",
]

REQUIRED_COLUMNS = ("well", "sample_id", "role", "mix")
OPTIONAL_COLUMNS = ("replicate", "plate", "patient_id", "collected", "specimen")
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
    # the sample's patient and collection date (ISO), "" when the map does not say; the same on
    # every well of a sample
    patient_id: str = ""
    collected: str = ""
    specimen: str = ""  # plasma, tissue or other (interpretation.Specimen); "" when not said


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
        patient, collected = _identity_cells(
            path, place, role, cell("patient_id"), cell("collected")
        )
        specimen = _specimen_cell(path, place, role, cell("specimen"))
        plate, replicate = cell("plate"), int(replicate_text)
        entries.append(
            MapEntry(
                well, sample_id, role, mix, replicate, plate, number, patient, collected, specimen
            )
        )
    if not entries:
        raise InputError(path, "the plate map lists no wells")
    entries = _identity_per_sample(path, entries)
    plates = {e.plate for e in entries}
    if "" in plates and len(plates) > 1:
        raise InputError(path, "the plate column is empty on some lines; fill it on every line")
    return PlateMap(path=path, sha256=hashlib.sha256(raw).hexdigest(), entries=tuple(entries))


def _identity_cells(
    path: Path, place: str, role: WellRole, patient: str, collected: str
) -> tuple[str, str]:
    """One line's patient_id and collected, checked: a control well has no patient."""
    if role is not WellRole.SAMPLE and (patient or collected):
        raise InputError(
            path,
            f"a {role.value} well has a patient_id or collected date; only SAMPLE wells come "
            "from a patient: leave both empty on control and EMPTY lines",
            place=place,
        )
    try:
        return (
            check_patient_id(patient) if patient else "",
            check_collected(collected) if collected else "",
        )
    except ValueError as exc:
        raise InputError(path, str(exc), place=place) from None


def _specimen_cell(path: Path, place: str, role: WellRole, text: str) -> str:
    """One line's specimen type, checked: only SAMPLE wells have one."""
    if not text:
        return ""
    if role is not WellRole.SAMPLE:
        raise InputError(
            path,
            f"a {role.value} well has a specimen; only SAMPLE wells have one: leave it empty on "
            "control and EMPTY lines",
            place=place,
        )
    try:
        return parse_specimen(text, "specimen").value
    except ConfigError as exc:
        raise InputError(path, str(exc).removeprefix("specimen: "), place=place) from None


def _identity_per_sample(path: Path, entries: list[MapEntry]) -> list[MapEntry]:
    """Each sample's patient and date on every one of its wells: a value may be written on one
    well of the sample only, but two different values for one sample are refused."""
    known: dict[tuple[str, str, str], tuple[str, int]] = {}
    for entry in entries:
        for column, value in (
            ("patient_id", entry.patient_id),
            ("collected", entry.collected),
            ("specimen", entry.specimen),
        ):
            if not value:
                continue
            key = (entry.plate, entry.sample_id, column)
            first = known.setdefault(key, (value, entry.row))
            if first[0] != value:
                raise InputError(
                    path,
                    f"sample {entry.sample_id} has {column} {value!r} here but {first[0]!r} on "
                    f"line {first[1]}; one sample has one {column}",
                    place=f"line {entry.row}",
                )
    spread = []
    for entry in entries:
        if entry.role is WellRole.SAMPLE:
            patient_id, collected, specimen = (
                known.get((entry.plate, entry.sample_id, column), ("", 0))[0]
                for column in ("patient_id", "collected", "specimen")
            )
            own = (entry.patient_id, entry.collected, entry.specimen)
            # a new entry only where this line lacks a value: replace() costs 5 us a line
            if (patient_id, collected, specimen) != own:
                entry = replace(
                    entry, patient_id=patient_id, collected=collected, specimen=specimen
                )
        spread.append(entry)
    return spread


# ----------------------------------------------------------------------------- the export's names
# Names an instrument writes when nobody named the well, or that say nothing about what is in it:
# never a contradiction. Matched whole, after case, spacing and Unicode width are folded. The
# well's own position ("A1", "A01", tube "7") and, for targets, the dye's names count too.
GENERIC_NAMES = (
    r"",
    r"(sample|unknown|unkn|unk|target|well|tube)\s*[#_-]?\s*([a-p]\s*)?\d*",
    r"(standard|std)([\s#_-].*|\d.*)?",
    r"n/?a|none|null|-+|\?+|\.+",
)
_GENERIC = re.compile("|".join(f"(?:{pattern})" for pattern in GENERIC_NAMES))
# What an export may call a control well, and the map roles that name fits. "Negative control"
# is the NTC on one instrument and the wild-type control on another (CFX Content "Neg Ctrl").
# A trailing number or mix name is ignored ("NTC 2", "PC-RM1").
CONTROL_NAMES: Mapping[str, frozenset[WellRole]] = {
    **dict.fromkeys(
        ("ntc", "no template control", "no template", "h2o", "water", "nuclease free water"),
        frozenset({WellRole.NTC}),
    ),
    **dict.fromkeys(
        ("pc", "positive control", "positive ctrl", "pos control", "pos ctrl", "(+)"),
        frozenset({WellRole.PC}),
    ),
    **dict.fromkeys(
        ("negative control", "negative ctrl", "neg control", "neg ctrl", "(-)"),
        frozenset({WellRole.NTC, WellRole.WT}),
    ),
    **dict.fromkeys(
        ("wt", "wild type", "wildtype", "wt control", "wt ctrl", "wild type control", "wt dna"),
        frozenset({WellRole.WT}),
    ),
}
# Target names that say the channel holds the internal control or the DNA-quantity reference.
# Words that only decorate a target name ("ESR1 D538G FAM", "ESR1_REF") are left out first.
_TARGET_WORDS = {
    IC: ("ic", "ipc", "internal control", "internal positive control"),
    REF: ("ref", "reference", "reference gene", "total"),
}
_DECORATION = ("esr1", "p", "mut", "mutant", "mutation", "assay", "target", "arms", "probe")
_VERDICTS = ("contradict", "agree", "unknown", "generic")  # a well's verdict: the first found


def _folded(text: str) -> str:
    """Case, surrounding and repeated spaces, Unicode width folded.

    >>> _folded("  S\\u00a001 "), _folded("\\uff24538\\uff27")
    ('s 01', 'd538g')
    """
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def _words(text: str) -> str:
    """Letters and digits only, one space between runs.

    >>> _words("p.(Asp538Gly)"), _words("FAM (465-510)")
    ('p asp538gly', 'fam 465 510')
    """
    return " ".join(re.findall(r"[0-9a-z]+", _folded(text)))


def _without(words: str, phrases: Iterable[str]) -> str:
    """``words`` with each whole-word occurrence of ``phrases`` left out."""
    padded = f" {words} "
    for phrase in sorted({p for p in phrases if p}, key=len, reverse=True):
        while f" {phrase} " in padded:
            padded = padded.replace(f" {phrase} ", " ")
    return " ".join(padded.split())


def _zeros_dropped(key: str) -> str:
    """``"s01"`` -> ``"s1"``: the zero padding of numbers.

    >>> _zeros_dropped("s01"), _zeros_dropped("p-007b"), _zeros_dropped("s10"), _zeros_dropped("0")
    ('s1', 'p-7b', 's10', '0')
    """
    return re.sub(r"(?<!\d)0+(?=\d)", "", key)


def _generic_or_well(text: str) -> bool | str | None:
    """True for a generic name, else the well the name is (a position: "A01" is A1), else None;
    a name is generic in a well when this is True or that well (``_Judge.is_generic``)."""
    folded = _folded(text)
    return bool(_GENERIC.fullmatch(folded)) or normalise_well(folded)


@dataclass(frozen=True)
class NameMismatch:
    """One well whose name in the export contradicts the plate map (or the map's mix as the kit
    defines it)."""

    well: str
    channel: str  # the kit channel of a target name; "" for the sample name
    exported: str  # the export's name, as written
    expected: str  # what the map puts there, e.g. "S1 (SAMPLE)" or "D538G (mix RM1 FAM)"
    samples: tuple[str, ...]  # SAMPLE ids whose calls it puts in doubt
    control: bool  # a PC, NTC or WT well of the map is contradicted: the run is in doubt
    claim: str  # both names: "the export names 'S2' (in the map, S2 is in A5), the map S1 (SAMPLE)"

    @property
    def subject(self) -> str:
        return f"{self.channel} target" if self.channel else "sample name"

    @property
    def text(self) -> str:
        return f"well {self.well}{f' {self.channel}' if self.channel else ''}: {self.claim}"


def describe_mismatches(mismatches: Iterable[NameMismatch]) -> list[str]:
    """One line per contradiction, the wells it holds for together:
    ``wells A4, B4: the export names 'S2' (in the map, S2 is in A5, B5), the map S1 (SAMPLE)``."""
    wells: dict[tuple[str, str], list[str]] = {}
    for mismatch in mismatches:
        wells.setdefault((mismatch.channel, mismatch.claim), []).append(mismatch.well)
    return [
        f"well{'s' if len(found) > 1 else ''} {', '.join(found)}"
        f"{f' {channel}' if channel else ''}: {claim}"
        for (channel, claim), found in wells.items()
    ]


@dataclass(frozen=True)
class NameCheck:
    """What holding one run's export names against its plate map found.

    ``samples`` counts mapped wells and ``targets`` mapped well channels by verdict: ``agree``,
    ``generic`` (no usable name), ``unknown`` (a name neither the map nor the kit knows, such as
    a barcode) and ``contradict``.
    """

    mismatches: tuple[NameMismatch, ...]
    samples: Mapping[str, int]
    targets: Mapping[str, int]
    sample_wells_agreeing: int  # SAMPLE wells whose export name is the map's sample id
    unknown_sample_names: tuple[str, ...]  # SAMPLE wells' names that the map does not know

    @property
    def compared(self) -> bool:
        """Some name in the export was held against the map (not all generic or unknown)."""
        counts = (self.samples, self.targets)
        return any(c.get("agree", 0) + c.get("contradict", 0) for c in counts)


class _Judge:
    """The rules of ``compare_names`` for one run's map entries and kit."""

    def __init__(self, entries: Sequence[MapEntry], kit: Kit) -> None:
        self.kit = kit
        self.entries = [e for e in entries if e.role is not WellRole.EMPTY]
        ids = {_folded(e.sample_id) for e in self.entries}
        # zero padding is ignored only when no two of the map's ids become one ("S01", "S1")
        self.drop_zeros = len({_zeros_dropped(i) for i in ids}) == len(ids)
        # names are compared well after well: each is folded and matched once
        self._keys: dict[str, str] = {}
        self._generic: dict[str, bool | str | None] = {}
        self.by_key: dict[str, list[MapEntry]] = {}
        for entry in self.entries:
            self.by_key.setdefault(self._key(entry.sample_id), []).append(entry)
        self.mix_words = {_words(mix): mix for mix in kit.mixes}
        self.dye_words = {_words(alias) for aliases in kit.dyes.values() for alias in aliases}
        # hotspots as the panel and the kit spell them, and by their three-letter HGVS p.
        self.hotspot_words: dict[str, str] = {}
        for hotspot in load_panel(EXTENDED_PANEL):
            self.hotspot_words[_words(hotspot.name)] = hotspot.name
            self.hotspot_words[_without(_words(hotspot.hgvs_p), ("p",))] = hotspot.name
        for name in kit.assays:
            self.hotspot_words.setdefault(_words(name), name)
        # a plate repeats a dozen target names over 1,500 rows: each is reduced to words once
        self._target_words: dict[str, str] = {}

    def is_generic(self, name: str, well: str) -> bool:
        """A generic name, or the well's own position; each name folded and matched once."""
        if name not in self._generic:
            self._generic[name] = _generic_or_well(name)
        found = self._generic[name]
        return found is True or found == well

    def target_words(self, name: str) -> str:
        """A target name's words without decoration (ESR1, mut, assay...) and dye names."""
        words = self._target_words.get(name)
        if words is None:
            words = _without(_words(name), (*_DECORATION, *self.dye_words))
            self._target_words[name] = words
        return words

    def _key(self, name: str) -> str:
        key = self._keys.get(name)
        if key is None:
            key = _folded(name)
            key = self._keys[name] = _zeros_dropped(key) if self.drop_zeros else key
        return key

    def control_roles(self, name: str) -> frozenset[WellRole] | None:
        """The map roles a control's name fits; None when the name is not a control's."""
        folded = _folded(name)
        if folded in CONTROL_NAMES:
            return CONTROL_NAMES[folded]
        words = " ".join(folded.replace("-", " ").replace("_", " ").split())
        words = _without(words, self.mix_words)
        return CONTROL_NAMES.get(words) or CONTROL_NAMES.get(re.sub(r"\s*\d+$", "", words))

    def sample(self, entry: MapEntry, name: str) -> tuple[str, NameMismatch | None]:
        """The verdict on one exported sample name of one mapped well."""
        if self._key(name) == self._key(entry.sample_id):
            return "agree", None
        if self.is_generic(name, entry.well):
            return "generic", None
        mapped = f"{entry.sample_id} ({entry.role.value})"
        roles = self.control_roles(name)
        if roles is not None:
            if entry.role in roles:
                return "agree", None
            fits = " or ".join(sorted(r.value for r in roles))
            claim = f"the export names {name!r} (a name for {fits}), the map {mapped}"
            return "contradict", self._mismatch(entry, "", name, mapped, (), claim)
        others = self.by_key.get(self._key(name), [])
        if not others:
            return "unknown", None
        other = others[0].sample_id
        wells = ", ".join(e.well for e in others if e.sample_id == other)
        also = tuple(dict.fromkeys(e.sample_id for e in others if e.role is WellRole.SAMPLE))
        claim = f"the export names {name!r} (in the map, {other} is in {wells}), the map {mapped}"
        return "contradict", self._mismatch(entry, "", name, mapped, also, claim)

    def target_of(self, name: str) -> tuple[str, str] | None:
        """("target", hotspot, IC or REF) or ("mix", mix) when the name says which, else None."""
        words = self.target_words(name)
        if words in self.hotspot_words:
            return "target", self.hotspot_words[words]
        for target, names in _TARGET_WORDS.items():
            if words in names:
                return "target", target
        if words in self.mix_words:
            return "mix", self.mix_words[words]
        return None

    def target(self, entry: MapEntry, channel: str, name: str) -> tuple[str, NameMismatch | None]:
        """The verdict on one exported target name of one channel of a mapped well."""
        words = self.target_words(name)
        if self.is_generic(name, entry.well) or _GENERIC.fullmatch(words):
            return "generic", None
        named = self.target_of(name)
        if named is None:
            return "unknown", None
        kind, value = named
        expected = self.kit.mixes[entry.mix].get(channel)
        if value == (entry.mix if kind == "mix" else expected):
            return "agree", None
        if kind == "mix":
            claim = f"the export names mix {name!r}, the map mix {entry.mix}"
        else:
            assay = self.kit.assays.get(value)
            kit_place = f" (kit: mix {assay.mix} {assay.channel})" if assay else ""
            has = f"has {expected} there" if expected else f"has no target in {channel}"
            claim = f"the export names target {name!r}{kit_place}, the map's mix {entry.mix} {has}"
        mapped = f"{expected or 'no target'} (mix {entry.mix} {channel})"
        return "contradict", self._mismatch(entry, channel, name, mapped, (), claim)

    @staticmethod
    def _mismatch(
        entry: MapEntry, channel: str, exported: str, expected: str, also: tuple[str, ...],
        claim: str,
    ) -> NameMismatch:  # fmt: skip
        own = (entry.sample_id,) if entry.role is WellRole.SAMPLE else ()
        return NameMismatch(
            well=entry.well,
            channel=channel,
            exported=exported,
            expected=expected,
            samples=tuple(dict.fromkeys((*own, *also))),
            control=entry.role is not WellRole.SAMPLE,
            claim=claim,
        )


def compare_names(
    entries: Sequence[MapEntry],
    sample_names: Mapping[str, Sequence[str]],
    target_names: Mapping[tuple[str, str], str],
    kit: Kit,
) -> NameCheck:
    """Hold one run's plate map against the names its export gives the wells.

    ``sample_names``: well -> the sample names the export wrote for it (one per dye row, usually
    the same); ``target_names``: (well, kit channel) -> the target name written there.

    A sample name contradicts the map when it is the map's id of *another* sample (a swap) or
    names a control the map's role for the well does not fit (NTC on a SAMPLE well, a patient's
    id on a PC well). A target name contradicts it when it names a hotspot, the IC, the reference
    or a mix that the kit does not put in that channel of the map's mix. Generic names
    (GENERIC_NAMES, the well's position, dye names) and names that neither the map nor the kit
    knows (a barcode) never do.
    """
    judge = _Judge(entries, kit)
    mismatches: list[NameMismatch] = []
    samples = dict.fromkeys(_VERDICTS, 0)
    targets = dict.fromkeys(_VERDICTS, 0)
    agreeing = 0
    unknown: list[str] = []
    for entry in judge.entries:
        if entry.well not in sample_names:
            continue  # not in the export: a missing well, reported by the run and sample rules
        names = list(dict.fromkeys(sample_names[entry.well]))
        found = [judge.sample(entry, name) for name in names]
        verdict = next(v for v in _VERDICTS if any(f == v for f, _ in found))
        samples[verdict] += 1
        mismatches.extend(m for _, m in found if m is not None)
        if entry.role is WellRole.SAMPLE:
            agreeing += verdict == "agree"
            unknown.extend(n for n, (v, _) in zip(names, found, strict=True) if v == "unknown")
        for channel in kit.dyes:
            target = target_names.get((entry.well, channel))
            if target is not None:
                verdict, mismatch = judge.target(entry, channel, target)
                targets[verdict] += 1
                mismatches.extend([mismatch] if mismatch else [])
    return NameCheck(tuple(mismatches), samples, targets, agreeing, tuple(dict.fromkeys(unknown)))
