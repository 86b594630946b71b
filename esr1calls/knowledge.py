"""The actionability knowledge file: approved therapies a detected ESR1 mutation fits.

The package ships one versioned TOML file (``data/knowledge/esr1-actionability.toml``); a lab may
pass its own with ``--knowledge FILE``. Its id, version and sha256 go into calls.json, and each
sample records the entries its detected mutations match, so a report quotes exactly the file the
run used. Reports inform and never prescribe: an entry says which regulator approved which
therapy, when, for what indication and where the label says so, in the file's own words.

Pure: reading a file and checking it, no report logic. docs/clinical.md describes every key.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from ._package_data import read_bytes
from .errors import ConfigError
from .hotspots import EXTENDED_PANEL, load_panel

__all__ = [
    "BUNDLED_KNOWLEDGE",
    "LANGUAGES",
    "Knowledge",
    "Therapy",
    "load_knowledge",
    "parse_knowledge",
]

BUNDLED_KNOWLEDGE = "esr1-actionability"
"""The bundled file's name (without .toml), also what ``--knowledge`` accepts for it."""
LANGUAGES = ("en", "zh_CN")
"""Every text meant for a reader (indication, regimen) is given in each of these languages."""
_FIX = "see docs/clinical.md (the knowledge file), or omit --knowledge for the bundled file"
_DATE = re.compile(r"^\d{4}-\d{2}(-\d{2})?$")


@dataclass(frozen=True)
class Therapy:
    """One approval: a therapy (a drug and its regimen) by one regulator, for mutations listed."""

    id: str
    drug: str
    regimen: Mapping[str, str]  # language -> text
    regulator: str
    approved: str  # YYYY-MM-DD, or YYYY-MM when only the month is public
    mutations: tuple[str, ...]  # hotspot names (protein short form)
    label_source: str
    indication: Mapping[str, str]  # language -> text

    def document(self, detected: Sequence[str]) -> dict[str, Any]:
        """The entry as calls.json records it for a sample, with the detected mutations it fits."""
        return {
            "id": self.id,
            "drug": self.drug,
            "regimen": dict(self.regimen),
            "regulator": self.regulator,
            "approved": self.approved,
            "label_source": self.label_source,
            "indication": dict(self.indication),
            "mutations": [m for m in detected if m in self.mutations],
        }


@dataclass(frozen=True)
class Knowledge:
    """A checked knowledge file: its identity (id, version, sha256, file) and its entries."""

    id: str
    version: str
    sha256: str
    file: str  # the bundled resource's name, or the lab file's path as given
    reviewed: str
    scope: str
    source: str
    therapies: tuple[Therapy, ...]

    def provenance(self) -> dict[str, str]:
        """What calls.json records about the file in its run block."""
        return {
            "id": self.id,
            "version": self.version,
            "sha256": self.sha256,
            "file": self.file,
            "reviewed": self.reviewed,
        }

    def relevant(self, detected: Iterable[str]) -> list[dict[str, Any]]:
        """The entries that apply to any of the detected mutations, as calls.json records them.

        >>> [t["id"] for t in load_knowledge().relevant(["D538G"])][:2]
        ['elacestrant-fda', 'imlunestrant-fda']
        >>> load_knowledge().relevant(["K303R"])
        []
        """
        found = list(dict.fromkeys(detected))
        return [t.document(found) for t in self.therapies if any(m in t.mutations for m in found)]


def load_knowledge(spec: str | Path | None = None) -> Knowledge:
    """The bundled knowledge file (``None`` or its name) or a lab's TOML file, checked."""
    if spec is None or str(spec) == BUNDLED_KNOWLEDGE:
        return _bundled()
    path = Path(spec)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(
            f"{path.name}: cannot read the knowledge file ({exc.strerror}); pass --knowledge "
            f"FILE.toml, or omit --knowledge for the bundled {BUNDLED_KNOWLEDGE}"
        ) from exc
    return parse_knowledge(raw, path.name, str(path))


@cache
def _bundled() -> Knowledge:
    name = f"{BUNDLED_KNOWLEDGE}.toml"
    raw = read_bytes("data", "knowledge", name)
    return parse_knowledge(raw, name, BUNDLED_KNOWLEDGE)


def parse_knowledge(raw: bytes, name: str, file: str) -> Knowledge:
    """Check a knowledge file's bytes; every problem is one line naming ``name`` and the key."""
    try:
        data = tomllib.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{name}: the knowledge file is not UTF-8 text; {_FIX}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{name}: not valid TOML ({exc}); {_FIX}") from exc
    head = _table(data, "knowledge", name)
    lists = _table(data, "mutations", name)
    known = set(load_panel(EXTENDED_PANEL).names)
    groups: dict[str, tuple[str, ...]] = {}
    for group, members in lists.items():
        place = f"[mutations] {group}"
        if not isinstance(members, list) or not members:
            raise ConfigError(f"{name}, {place}: must be a list of hotspot names; {_FIX}")
        groups[group] = tuple(_hotspot(m, known, name, place) for m in members)
    entries = data.get("therapy")
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{name}: no [[therapy]] entries; {_FIX}")
    therapies: list[Therapy] = []
    for number, entry in enumerate(entries, start=1):
        therapies.append(_therapy(entry, f"[[therapy]] {number}", name, groups, known))
    ids = [t.id for t in therapies]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise ConfigError(f"{name}: therapy id {', '.join(repeated)} is given twice; {_FIX}")
    return Knowledge(
        id=_text(head, "id", name, "[knowledge]"),
        version=_text(head, "version", name, "[knowledge]"),
        sha256=hashlib.sha256(raw).hexdigest(),
        file=file,
        reviewed=_date(head, "reviewed", name, "[knowledge]"),
        scope=_text(head, "scope", name, "[knowledge]"),
        source=_text(head, "source", name, "[knowledge]"),
        therapies=tuple(therapies),
    )


def _table(data: Mapping[str, Any], key: str, name: str) -> Mapping[str, Any]:
    table = data.get(key)
    if not isinstance(table, dict) or not table:
        raise ConfigError(f"{name}: the [{key}] table is missing or empty; {_FIX}")
    return table


def _text(table: Mapping[str, Any], key: str, name: str, place: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{name}, {place}: {key} must be a non-empty text; {_FIX}")
    if "\n" in value or "\r" in value:
        raise ConfigError(f"{name}, {place}: {key} must be one line; {_FIX}")
    return value.strip()


def _date(table: Mapping[str, Any], key: str, name: str, place: str) -> str:
    value = table.get(key)
    text = value.isoformat() if isinstance(value, dt.date) else value
    if not isinstance(text, str) or not _DATE.match(text):
        raise ConfigError(
            f"{name}, {place}: {key} must be a date YYYY-MM-DD (or YYYY-MM), not {value!r}; {_FIX}"
        )
    try:
        dt.date.fromisoformat(text if len(text) == 10 else f"{text}-01")
    except ValueError:
        raise ConfigError(f"{name}, {place}: {key} {text} is not a calendar date; {_FIX}") from None
    return text


def _languages(table: Mapping[str, Any], key: str, name: str, place: str) -> dict[str, str]:
    value = table.get(key)
    if not isinstance(value, dict):
        raise ConfigError(
            f"{name}, {place}: {key} must give a text per language "
            f"({', '.join(f'{key}.{lang}' for lang in LANGUAGES)}); {_FIX}"
        )
    missing = [lang for lang in LANGUAGES if lang not in value]
    if missing:
        raise ConfigError(
            f"{name}, {place}: {key}.{missing[0]} is missing (every reader-facing text is "
            f"given in {', '.join(LANGUAGES)}); {_FIX}"
        )
    return {lang: _text(value, lang, name, f"{place} {key}") for lang in LANGUAGES}


def _hotspot(value: Any, known: set[str], name: str, place: str) -> str:
    if not isinstance(value, str) or value not in known:
        raise ConfigError(
            f"{name}, {place}: {value!r} is not a hotspot of the catalog "
            f"(esr1calls hotspots --panel extended lists them); {_FIX}"
        )
    return value


def _therapy(
    entry: Any, place: str, name: str, groups: Mapping[str, tuple[str, ...]], known: set[str]
) -> Therapy:
    if not isinstance(entry, dict):
        raise ConfigError(f"{name}, {place}: must be a table; {_FIX}")
    mutations = entry.get("mutations")
    if isinstance(mutations, str):
        if mutations not in groups:
            raise ConfigError(
                f"{name}, {place}: mutations = {mutations!r} names no list of [mutations] "
                f"(known: {', '.join(groups)}); {_FIX}"
            )
        listed = groups[mutations]
    elif isinstance(mutations, list) and mutations:
        listed = tuple(_hotspot(m, known, name, f"{place} mutations") for m in mutations)
    else:
        raise ConfigError(
            f"{name}, {place}: mutations must name a list of [mutations] or list hotspots; {_FIX}"
        )
    return Therapy(
        id=_text(entry, "id", name, place),
        drug=_text(entry, "drug", name, place),
        regimen=_languages(entry, "regimen", name, place),
        regulator=_text(entry, "regulator", name, place),
        approved=_date(entry, "approved", name, place),
        mutations=listed,
        label_source=_text(entry, "label_source", name, place),
        indication=_languages(entry, "indication", name, place),
    )
