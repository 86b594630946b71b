"""Digital PCR assay definitions (TOML): each assay's hotspots, channels and targets, partition
volume, minimum partitions, control rules and default background (docs/dpcr.md, "The assay
definition").

Every number names its source (``min_partitions = { value = 10000, source = "IFU rev 2" }``),
and every report records the set's id, version and sha256. The bundled example set is all
placeholder values and every report that uses it says so.
"""

from __future__ import annotations

import hashlib
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from .._package_data import read_bytes
from ..errors import ConfigError
from ..hotspots import EXTENDED_PANEL, load_panel
from ..text import exact_percent

__all__ = [
    "DESIGNS",
    "EXAMPLE_ASSAYS",
    "INSTRUMENTS",
    "Assay",
    "AssaySet",
    "AssaySettings",
    "Setting",
    "Window",
    "describe_assays",
    "load_assays",
    "parse_assays",
]

EXAMPLE_ASSAYS = "esr1-dpcr-example"
DUPLEX, DROP_OFF = "duplex", "drop_off"
DESIGNS = (DUPLEX, DROP_OFF)
# what the readers tell apart by content; [instruments.<id>] may set each one's own numbers
INSTRUMENTS = ("qx200", "qx600", "qiacuity", "absoluteq")
INSTRUMENT_KEYS = ("partition_volume_nl", "reaction_volume_ul", "min_partitions")
# above this a reportable fraction was almost certainly written as a percent (0.2 for 0.2 %)
MAX_REPORTABLE_FRACTION = 0.05


@dataclass(frozen=True)
class Setting:
    """A number from the assay definition and where it came from."""

    value: float
    source: str


@dataclass(frozen=True)
class Window:
    """An inclusive acceptance range of fractions, e.g. the PC fraction window."""

    low: float
    high: float
    source: str

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high

    def __str__(self) -> str:
        return f"{exact_percent(self.low)}-{exact_percent(self.high)}"


@dataclass(frozen=True)
class AssaySettings:
    """The numbers one assay is called with (on one instrument)."""

    partition_volume_nl: Setting
    reaction_volume_ul: Setting
    min_partitions: Setting
    default_background: Setting
    max_wt_background: Setting
    ntc_positives_fail: Setting
    pc_fraction_window: Window
    alpha: Setting
    k_min: Setting

    def describe(self) -> dict[str, Any]:
        """Every number with its source, as the report's thresholds record them."""
        out: dict[str, Any] = {}
        for item in fields(self):
            value = getattr(self, item.name)
            shown: Any
            if isinstance(value, Window):
                shown = [value.low, value.high]
            elif item.name in _INTEGER_KEYS:
                shown = int(value.value)
            else:
                shown = value.value
            out[item.name] = {"value": shown, "source": value.source}
        return out


_INTEGER_KEYS = frozenset({"min_partitions", "ntc_positives_fail", "k_min"})
# key -> (lowest, highest, whether the lowest is allowed)
_RANGES: dict[str, tuple[float, float, bool]] = {
    "partition_volume_nl": (0.0, 100.0, False),
    "reaction_volume_ul": (0.0, 1000.0, False),
    "min_partitions": (1, 10_000_000, True),
    "default_background": (0.0, 0.01, False),
    "max_wt_background": (0.0, 0.05, False),
    "ntc_positives_fail": (1, 1_000_000, True),
    "alpha": (0.0, 0.5, False),
    "k_min": (1, 1000, True),
}
# keys a file may leave out of [defaults]: docs/dpcr.md gives them
_DESIGN_DEFAULTS = {
    "alpha": Setting(1e-3, "default: DESIGN.md section 8"),
    "k_min": Setting(2, "default: DESIGN.md section 8"),
}


@dataclass(frozen=True)
class Assay:
    """One assay: its design, the hotspots it decides and the targets it reads.

    For a drop-off assay ``mutant_channel``/``mutant_target`` are the reference probe's (outside
    the region): its mutant partitions are reference-positive and wild-type-negative.
    """

    name: str
    design: str
    hotspots: tuple[str, ...]
    mutant_channel: str
    mutant_target: str
    wild_type_channel: str
    wild_type_target: str
    region: str = ""
    own: Mapping[str, Setting | Window] = field(default_factory=dict)  # keys the assay sets

    @property
    def drop_off(self) -> bool:
        return self.design == DROP_OFF

    @property
    def channels(self) -> tuple[str, str]:
        """(mutant or reference channel, wild-type channel), canonical names."""
        return self.mutant_channel, self.wild_type_channel

    def target_of(self, channel: str) -> str:
        return self.mutant_target if channel == self.mutant_channel else self.wild_type_target

    def describe(self) -> dict[str, Any]:
        probe = "reference" if self.drop_off else "mutant"
        return {
            "design": self.design,
            "hotspots": list(self.hotspots),
            **({"region": self.region} if self.region else {}),
            f"{probe}_channel": self.mutant_channel,
            f"{probe}_target": self.mutant_target,
            "wild_type_channel": self.wild_type_channel,
            "wild_type_target": self.wild_type_target,
            "mutant_partitions": (
                f"{self.mutant_channel}+ {self.wild_type_channel}-"
                if self.drop_off
                else f"{self.mutant_channel}-positive"
            ),
        }


@dataclass(frozen=True)
class AssaySet:
    """A validated assay definition file."""

    id: str
    version: str
    name: str
    transcript: str
    placeholder: bool
    source: str
    path: str
    sha256: str
    reportable_fraction: Setting
    dyes: Mapping[str, tuple[str, ...]]  # canonical channel -> names (upper case)
    assays: Mapping[str, Assay]
    defaults: AssaySettings
    instruments: Mapping[str, Mapping[str, Setting]]
    _alias: Mapping[str, str] = field(default_factory=dict, repr=False)

    def canonical_channel(self, dye: str) -> str | None:
        """The channel an exported dye or channel name belongs to (VIC -> HEX, Ch1 -> FAM)."""
        return self._alias.get(dye.strip().upper())

    def settings(self, assay: Assay, instrument: str) -> AssaySettings:
        """The numbers of ``assay`` on ``instrument``: the assay's own, else the instrument's
        (partition volume, reaction volume, minimum partitions), else [defaults]."""
        chosen: dict[str, Setting | Window] = {}
        for key in (f.name for f in fields(AssaySettings)):
            if key in assay.own:
                chosen[key] = assay.own[key]
            elif key in self.instruments.get(instrument, {}):
                chosen[key] = self.instruments[instrument][key]
        return replace(self.defaults, **chosen)  # type: ignore[arg-type]

    @property
    def hotspots(self) -> tuple[str, ...]:
        """Every hotspot some assay covers, in catalog order."""
        covered = {h for a in self.assays.values() for h in a.hotspots}
        return tuple(h.name for h in load_panel(EXTENDED_PANEL) if h.name in covered)

    def specific_assay(self, hotspot: str) -> Assay | None:
        """The duplex assay that decides ``hotspot``, if any."""
        return next(
            (a for a in self.assays.values() if not a.drop_off and hotspot in a.hotspots), None
        )

    @cached_property
    def target_names(self) -> dict[str, tuple[str, str]]:
        """Every target name (case-folded) -> (assay, canonical channel)."""
        return {
            target.casefold(): (assay.name, channel)
            for assay in self.assays.values()
            for channel, target in (
                (assay.mutant_channel, assay.mutant_target),
                (assay.wild_type_channel, assay.wild_type_target),
            )
        }

    def describe(self) -> dict[str, Any]:
        """The assay set's identity every report records (calls.json ``run.kit``)."""
        return {
            "id": self.id,
            "version": self.version,
            "name": self.name,
            "sha256": self.sha256,
            "path": self.path,
            "placeholder": self.placeholder,
            "source": self.source,
            "kind": "dPCR assay set",
        }

    def thresholds(self) -> dict[str, Any]:
        """Every number the interpretation may use, with its source."""
        return {
            "reportable_fraction": self.reportable_fraction.value,
            "reportable_fraction_source": self.reportable_fraction.source,
            "defaults": self.defaults.describe(),
            "instruments": {
                name: {key: {"value": s.value, "source": s.source} for key, s in values.items()}
                for name, values in self.instruments.items()
            },
            "assays": {
                name: {
                    **assay.describe(),
                    "own_settings": {
                        key: {
                            "value": [v.low, v.high] if isinstance(v, Window) else v.value,
                            "source": v.source,
                        }
                        for key, v in assay.own.items()
                    },
                }
                for name, assay in self.assays.items()
            },
        }


class _Reader:
    """Walks the TOML tables with messages that name the file, the table and the key."""

    def __init__(self, name: str) -> None:
        self.name = name

    def fail(self, where: str, message: str) -> ConfigError:
        return ConfigError(f"{self.name}, [{where}]: {message}")

    def table(self, data: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
        value = data.get(key)
        if not isinstance(value, Mapping):
            raise self.fail(
                where, f"missing table [{key}]" if value is None else f"{key} must be a table"
            )
        return value

    def only(self, data: Any, where: str, allowed: set[str] | tuple[str, ...]) -> None:
        if not isinstance(data, Mapping):
            raise self.fail(where, f"must be a table of {', '.join(sorted(allowed))}")
        unknown = sorted(set(data) - set(allowed))
        if unknown:
            raise self.fail(
                where, f"unknown key {', '.join(unknown)}; known: {', '.join(sorted(allowed))}"
            )

    def text(self, data: Mapping[str, Any], key: str, where: str) -> str:
        value = data.get(key)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(where, f"{key} is required (a non-empty string)")
        return value.strip()

    def sourced(self, data: Mapping[str, Any], key: str, where: str) -> tuple[Any, str]:
        """A value written with its source: ``key = { value = ..., source = "..." }``."""
        raw = data[key]
        if not isinstance(raw, Mapping):
            raise self.fail(
                where,
                f"{key} must name its source: {key} = {{ value = {raw!r}, source = "
                '"where the number comes from" }',
            )
        self.only(raw, f"{where}.{key}", {"value", "source"})
        source = raw.get("source")
        if not isinstance(source, str) or not source.strip():
            raise self.fail(where, f"{key}: source is required (a non-empty string)")
        if "value" not in raw:
            raise self.fail(where, f"{key}: value is required")
        return raw["value"], source.strip()

    def number(self, data: Mapping[str, Any], key: str, where: str) -> Setting:
        value, source = self.sourced(data, key, where)
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise self.fail(where, f"{key} must be a number, got {value!r}")
        low, high, low_allowed = _RANGES[key]
        if key in _INTEGER_KEYS and (not isinstance(value, int) and not float(value).is_integer()):
            raise self.fail(where, f"{key} must be a whole number, got {value!r}")
        if value > high or value < low or (value == low and not low_allowed):
            bracket = "[" if low_allowed else "("
            raise self.fail(where, f"{key} {value:g} is out of range {bracket}{low:g}, {high:g}]")
        return Setting(float(value), source)

    def window(self, data: Mapping[str, Any], key: str, where: str) -> Window:
        value, source = self.sourced(data, key, where)
        if (
            not isinstance(value, list)
            or len(value) != 2
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
        ):
            raise self.fail(where, f"{key} must be [low, high] fractions, got {value!r}")
        low, high = float(value[0]), float(value[1])
        if not 0 <= low < high <= 1:
            raise self.fail(
                where,
                f"{key} [{low:g}, {high:g}] must be fractions with low < high (0.01 = 1 %)",
            )
        return Window(low, high, source)

    def setting(self, data: Mapping[str, Any], key: str, where: str) -> Setting | Window:
        if key == "pc_fraction_window":
            return self.window(data, key, where)
        return self.number(data, key, where)


_SETTING_KEYS = tuple(f.name for f in fields(AssaySettings))
_DUPLEX_KEYS = (
    "design",
    "hotspots",
    "mutant_channel",
    "mutant_target",
    "wild_type_channel",
    "wild_type_target",
)
_DROP_OFF_KEYS = (
    "design",
    "hotspots",
    "region",
    "reference_channel",
    "reference_target",
    "wild_type_channel",
    "wild_type_target",
)


def parse_assays(raw: bytes, name: str, path: str = "") -> AssaySet:
    """Validate an assay definition (the TOML file's bytes; its sha256 goes into every report)."""
    reader = _Reader(name)
    try:
        data = tomllib.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{name}: the assay definition is not UTF-8 text") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{name}: not valid TOML ({exc}); check the line it names") from exc
    reader.only(data, "top level", {"assay_set", "dyes", "defaults", "instruments", "assays"})

    meta = reader.table(data, "assay_set", "assay_set")
    reader.only(
        meta,
        "assay_set",
        {"id", "version", "name", "transcript", "placeholder", "source", "reportable_fraction"},
    )
    set_id, version = (
        reader.text(meta, "id", "assay_set"),
        reader.text(meta, "version", "assay_set"),
    )
    transcript = str(meta.get("transcript", "NM_000125.4"))
    if transcript.split(".")[0] != "NM_000125":
        raise reader.fail("assay_set", f"transcript {transcript} is not NM_000125 (ESR1)")
    placeholder = meta.get("placeholder", False)
    if not isinstance(placeholder, bool):
        raise reader.fail("assay_set", f"placeholder must be true or false, got {placeholder!r}")
    if "reportable_fraction" not in meta:
        raise reader.fail("assay_set", "reportable_fraction is required (0.002 = 0.2 %)")
    fraction_value, fraction_source = reader.sourced(meta, "reportable_fraction", "assay_set")
    if (
        isinstance(fraction_value, bool)
        or not isinstance(fraction_value, int | float)
        or not 0 < fraction_value <= MAX_REPORTABLE_FRACTION
    ):
        raise reader.fail(
            "assay_set",
            f"reportable_fraction {fraction_value!r}: give it as a fraction (0.002 = 0.2 %), "
            f"above 0 and at most {MAX_REPORTABLE_FRACTION:g}",
        )
    reportable = Setting(float(fraction_value), fraction_source)

    dyes_raw = reader.table(data, "dyes", "dyes")
    dyes: dict[str, tuple[str, ...]] = {}
    alias: dict[str, str] = {}
    for channel, names in dyes_raw.items():
        canonical = channel.strip().upper()
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise reader.fail("dyes", f"{channel} must be a list of names")
        for dye_name in [channel, *names]:
            key = dye_name.strip().upper()
            if alias.get(key, canonical) != canonical:
                raise reader.fail(
                    "dyes", f"{dye_name} is listed for both {alias[key]} and {channel}"
                )
            alias[key] = canonical
        dyes[canonical] = tuple(sorted({n.strip().upper() for n in [channel, *names]}))

    defaults_raw = reader.table(data, "defaults", "defaults")
    reader.only(defaults_raw, "defaults", _SETTING_KEYS)
    chosen: dict[str, Setting | Window] = {}
    for key in _SETTING_KEYS:
        if key in defaults_raw:
            chosen[key] = reader.setting(defaults_raw, key, "defaults")
        elif key in _DESIGN_DEFAULTS:
            chosen[key] = _DESIGN_DEFAULTS[key]
        else:
            raise reader.fail("defaults", f"{key} is required (with its source)")
    defaults = AssaySettings(**chosen)  # type: ignore[arg-type]

    instruments: dict[str, dict[str, Setting]] = {}
    instruments_raw = data.get("instruments", {})
    reader.only(instruments_raw, "instruments", INSTRUMENTS)
    for instrument, values in instruments_raw.items():
        where = f"instruments.{instrument}"
        reader.only(values, where, INSTRUMENT_KEYS)
        instruments[instrument] = {key: reader.number(values, key, where) for key in values}

    catalog = load_panel(EXTENDED_PANEL)
    assays_raw = reader.table(data, "assays", "assays")
    if not assays_raw:
        raise reader.fail("assays", "no assay is defined")
    assays: dict[str, Assay] = {}
    owners: dict[tuple[str, str], str] = {}  # (design kind, hotspot) -> assay
    targets: dict[str, str] = {}  # folded target name -> assay
    for assay_name, spec in assays_raw.items():
        where = f"assays.{assay_name}"
        if not isinstance(spec, Mapping):
            raise reader.fail(where, "must be a table")
        design = spec.get("design")
        if design not in DESIGNS:
            raise reader.fail(where, f"design {design!r}: use {' or '.join(DESIGNS)}")
        reader.only(
            spec, where, {*(_DROP_OFF_KEYS if design == DROP_OFF else _DUPLEX_KEYS), *_SETTING_KEYS}
        )
        hotspots = spec.get("hotspots")
        if (
            not isinstance(hotspots, list)
            or not hotspots
            or not all(isinstance(h, str) for h in hotspots)
        ):
            raise reader.fail(where, "hotspots must be a non-empty list of hotspot names")
        unknown = [h for h in hotspots if h not in catalog]
        if unknown:
            raise reader.fail(
                where,
                f"unknown hotspot {', '.join(unknown)}; use the names of the catalog "
                f"({', '.join(catalog.names)})",
            )
        if len(set(hotspots)) != len(hotspots):
            raise reader.fail(where, "a hotspot is listed twice")
        if design == DUPLEX and len(hotspots) != 1:
            raise reader.fail(
                where,
                "a duplex assay decides exactly one hotspot; an assay that covers a region is "
                'design = "drop_off"',
            )
        probe = "reference" if design == DROP_OFF else "mutant"
        channels: list[str] = []
        for key in (f"{probe}_channel", "wild_type_channel"):
            named = alias.get(reader.text(spec, key, where).upper())
            if named is None:
                raise reader.fail(
                    where, f"{key} {spec[key]!r} is not in [dyes] ({', '.join(dyes)})"
                )
            channels.append(named)
        if channels[0] == channels[1]:
            raise reader.fail(
                where, f"{probe}_channel and wild_type_channel are both {channels[0]}"
            )
        names = [
            reader.text(spec, f"{probe}_target", where),
            reader.text(spec, "wild_type_target", where),
        ]
        for target in names:
            if target.casefold() in targets:
                raise reader.fail(
                    where, f"target {target!r} is also a target of {targets[target.casefold()]}"
                )
            targets[target.casefold()] = assay_name
        for hotspot in hotspots:
            key = (design, hotspot)
            if key in owners:
                raise reader.fail(
                    where, f"{hotspot} is also covered by {design} assay {owners[key]}"
                )
            owners[key] = assay_name
        region = spec.get("region", "")
        if not isinstance(region, str):
            raise reader.fail(where, f"region must be text, got {region!r}")
        own = {key: reader.setting(spec, key, where) for key in _SETTING_KEYS if key in spec}
        assays[assay_name] = Assay(
            name=assay_name,
            design=design,
            hotspots=tuple(hotspots),
            mutant_channel=channels[0],
            mutant_target=names[0],
            wild_type_channel=channels[1],
            wild_type_target=names[1],
            region=region.strip(),
            own=own,
        )
    return AssaySet(
        id=set_id,
        version=version,
        name=str(meta.get("name", set_id)),
        transcript=transcript,
        placeholder=placeholder,
        source=str(meta.get("source", "")),
        path=path,
        sha256=hashlib.sha256(raw).hexdigest(),
        reportable_fraction=reportable,
        dyes=dyes,
        assays=assays,
        defaults=defaults,
        instruments=instruments,
        _alias=alias,
    )


def load_assays(spec: str | Path | None = None) -> AssaySet:
    """The bundled example assay set (``None`` or its id) or an assay TOML file."""
    if spec is None or str(spec) == EXAMPLE_ASSAYS:
        raw = read_bytes("data", "assays", f"{EXAMPLE_ASSAYS}.toml")
        return parse_assays(raw, f"{EXAMPLE_ASSAYS}.toml", EXAMPLE_ASSAYS)
    path = Path(spec)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(
            f"{path.name}: cannot read the assay definition ({exc.strerror}). Pass --assays "
            f"FILE.toml, or omit --assays for the bundled {EXAMPLE_ASSAYS}."
        ) from exc
    return parse_assays(raw, path.name, str(path))


def describe_assays(assay_set: AssaySet) -> str:
    """A plain-text summary for ``esr1calls assays show``."""
    warn = "  ** PLACEHOLDER values: not for clinical use **" if assay_set.placeholder else ""
    fraction = assay_set.reportable_fraction
    d = assay_set.defaults
    lines = [
        f"Assay set {assay_set.id} {assay_set.version}: {assay_set.name}{warn}",
        f"sha256 {assay_set.sha256}",
        "",
        f"Reportable fraction: {exact_percent(fraction.value)} ({fraction.source})",
        f"Hotspots covered: {', '.join(assay_set.hotspots)}",
        "",
        "Assays:",
    ]
    for assay in assay_set.assays.values():
        if assay.drop_off:
            region = f" over {assay.region}" if assay.region else ""
            lines.append(
                f"  {assay.name:<12} drop-off{region}: reference {assay.mutant_channel} "
                f"{assay.mutant_target!r}, wild type {assay.wild_type_channel} "
                f"{assay.wild_type_target!r}; mutant partitions {assay.mutant_channel}+ "
                f"{assay.wild_type_channel}-; hotspots {', '.join(assay.hotspots)}"
            )
        else:
            lines.append(
                f"  {assay.name:<12} duplex: mutant {assay.mutant_channel} "
                f"{assay.mutant_target!r}, wild type {assay.wild_type_channel} "
                f"{assay.wild_type_target!r}; hotspot {assay.hotspots[0]}"
            )
        for key, value in assay.own.items():
            shown = str(value) if isinstance(value, Window) else f"{value.value:g}"
            lines.append(f"{'':16}{key} = {shown} ({value.source})")
    lines += [
        "",
        "Defaults (every assay unless it sets its own):",
        f"  partition volume {d.partition_volume_nl.value:g} nL ({d.partition_volume_nl.source})",
        f"  reaction volume {d.reaction_volume_ul.value:g} uL ({d.reaction_volume_ul.source})",
        f"  minimum accepted partitions per well {d.min_partitions.value:,.0f} "
        f"({d.min_partitions.source})",
        f"  NTC fails at {d.ntc_positives_fail.value:g} positive partitions in a channel "
        f"({d.ntc_positives_fail.source})",
        f"  PC fraction window {d.pc_fraction_window} ({d.pc_fraction_window.source})",
        f"  WT-control background maximum {d.max_wt_background.value:g} "
        f"({d.max_wt_background.source})",
        f"  default background p0 {d.default_background.value:g} ({d.default_background.source})",
        f"  alpha {d.alpha.value:g}, k_min {d.k_min.value:g}",
    ]
    if assay_set.instruments:
        lines += ["", "Instruments:"]
        for name, values in assay_set.instruments.items():
            shown = ", ".join(f"{k} {s.value:g} ({s.source})" for k, s in values.items())
            lines.append(f"  {name}: {shown}")
    return "\n".join(lines) + "\n"
