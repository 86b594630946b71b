"""ARMS-PCR kit definitions (TOML): mixes and channels, Ct windows, cut-offs, control rules.

Each number may carry its ``source`` (``cutoff = { value = 9.0, source = "IFU rev 3, p. 12" }``),
and every report records the kit id, version and sha256. The bundled example kit is all
placeholder values and every report that uses it says so.
"""

from __future__ import annotations

import hashlib
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from .._package_data import read_bytes
from ..errors import ConfigError
from ..hotspots import load_panel
from ..model import DEFAULT_MIN_ALLELE_FRACTION
from ..text import exact_percent

__all__ = [
    "EXAMPLE_KIT",
    "AssaySettings",
    "Kit",
    "Setting",
    "Window",
    "load_kit",
]

EXAMPLE_KIT = "esr1-11-arms-example"
IC = "IC"
REF = "REF"
REFERENCE_MODES = ("separate_mix", "in_well")
OVERLOAD_POLICIES = ("invalidate_all", "invalidate_positives_only")
# above this a reportable fraction was almost certainly written as a percent (0.2 for 0.2 %)
MAX_REPORTABLE_FRACTION = 0.05
# the flags on a DETECTED call ([flags]): their values when a kit sets none (docs/pcr.md)
DELTA_CT_NEGATIVE_BELOW = -1.0  # DCT_NEGATIVE: the mutation earlier than the total ESR1
MUTATION_CT_EARLY_BELOW = 20.0  # MUT_CT_EARLY: earlier than any patient sample should give
_FLAGS_DEFAULT_SOURCE = "default: the kit sets no [flags] {key}"


@dataclass(frozen=True)
class Setting:
    """A number from the kit definition and where it came from."""

    value: float
    source: str = ""


@dataclass(frozen=True)
class Window:
    """An inclusive acceptance range, e.g. a PC Ct window."""

    low: float
    high: float
    source: str = ""

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high

    def __str__(self) -> str:
        return f"{self.low:g}-{self.high:g}"


@dataclass(frozen=True)
class AssaySettings:
    """The rules of one mutation assay (one hotspot in one mix/channel)."""

    hotspot: str
    mix: str
    channel: str
    ct_max: Setting
    cutoff: Setting
    equivocal_band: Setting
    amplification_factor: Setting
    delta_ct_100: Setting
    delta_ct_sd: Setting


@dataclass(frozen=True)
class Kit:
    """A validated kit definition."""

    id: str
    version: str
    name: str
    transcript: str
    placeholder: bool
    cycles: int
    passive_reference: str
    source: str
    path: str
    sha256: str
    dyes: Mapping[str, tuple[str, ...]]  # canonical channel -> aliases (upper case)
    mixes: Mapping[str, Mapping[str, str]]  # mix -> channel -> target (hotspot, IC or REF)
    assays: Mapping[str, AssaySettings]  # hotspot -> assay
    reference_mode: str
    reference_mix: str | None  # separate_mix mode
    reference_channel: str
    ref_ct_min: Setting
    ref_ct_target: Setting
    ref_ct_full_sensitivity: Setting
    ref_ct_max: Setting
    overload_policy: str
    ic_ct_max: Setting
    groups: tuple[tuple[str, ...], ...]
    cross_reactivity_margin: Setting
    pc_mutation_window: Window
    pc_reference_window: Window
    ntc_max_ct: Setting
    wt_required: bool
    replicate_mean_margin: Setting
    replicate_reference_sd_max: Setting
    standard_curve: tuple[float, float] | None = None  # (slope, intercept): Ct = s*log10(GE)+i
    # cycles an IC may lag the NTC's IC of its mix before a negative is INVALID IC_DELAYED
    # (inhibition); None: the rule is off
    ic_delay_max: Setting | None = None
    # the fixed Ct threshold per channel the cut-offs were validated at; an export that records
    # another (or an automatic one) makes the run INVALID THRESHOLD_MISMATCH. Empty: unchecked
    ct_thresholds: Mapping[str, Setting] = field(default_factory=dict)
    # the allele fraction the kit's cut-offs and full-sensitivity Ct claim (its LoD95); every
    # text that names the reportable fraction of a PCR run takes it from here
    reportable_fraction: Setting = Setting(DEFAULT_MIN_ALLELE_FRACTION, "default")
    # a DETECTED call whose delta-Ct is below this is flagged DCT_NEGATIVE, one whose mutation
    # Ct is below that MUT_CT_EARLY ([flags])
    delta_ct_negative_below: Setting = Setting(
        DELTA_CT_NEGATIVE_BELOW,
        _FLAGS_DEFAULT_SOURCE.format(key="delta_ct_negative_below"),
    )
    mutation_ct_early_below: Setting = Setting(
        MUTATION_CT_EARLY_BELOW,
        _FLAGS_DEFAULT_SOURCE.format(key="mutation_ct_early_below"),
    )
    _alias: Mapping[str, str] = field(default_factory=dict, repr=False)

    def canonical_channel(self, dye: str) -> str | None:
        """The kit channel an exported dye name belongs to, or None.

        Exact alias first (VIC -> HEX), then the parts of a filter name such as LightCycler's
        ``FAM (465-510)``: the name before the bracket, then the wavelengths inside it.
        """
        text = dye.strip().upper()
        found = self._alias.get(text)
        if found is None and "(" in text and text.endswith(")"):
            name, _, inside = text[:-1].partition("(")
            found = self._alias.get(name.strip()) or self._alias.get(inside.strip())
        return found

    def ic_channel(self, mix: str) -> str | None:
        return self._ic_channels[mix]

    @cached_property
    def _ic_channels(self) -> dict[str, str | None]:
        """Each mix's IC channel (None: the mix has none), asked for by every call of a run."""
        return {
            mix: next((ch for ch, target in channels.items() if target == IC), None)
            for mix, channels in self.mixes.items()
        }

    def describe(self) -> dict[str, Any]:
        """The kit identity every report records."""
        return {
            "id": self.id,
            "version": self.version,
            "name": self.name,
            "sha256": self.sha256,
            "path": self.path,
            "placeholder": self.placeholder,
            "source": self.source,
        }

    def thresholds(self) -> dict[str, Any]:
        """Every number the interpretation uses, with its source."""

        def item(setting: Setting | Window) -> dict[str, Any]:
            if isinstance(setting, Window):
                return {"value": [setting.low, setting.high], "source": setting.source}
            return {"value": setting.value, "source": setting.source}

        return {
            "reference": {
                "mode": self.reference_mode,
                "ct_min": item(self.ref_ct_min),
                "ct_target": item(self.ref_ct_target),
                "ct_full_sensitivity": item(self.ref_ct_full_sensitivity),
                "ct_max": item(self.ref_ct_max),
                "overload_policy": self.overload_policy,
                "standard_curve": self.standard_curve,
            },
            "internal_control": {
                "ct_max": item(self.ic_ct_max),
                **({"delay_max_vs_ntc": item(self.ic_delay_max)} if self.ic_delay_max else {}),
            },
            "assays": {
                name: {
                    "mix": a.mix,
                    "channel": a.channel,
                    "ct_max": item(a.ct_max),
                    "cutoff": item(a.cutoff),
                    "equivocal_band": item(a.equivocal_band),
                    "amplification_factor": item(a.amplification_factor),
                    "delta_ct_100": item(a.delta_ct_100),
                    "delta_ct_sd": item(a.delta_ct_sd),
                }
                for name, a in self.assays.items()
            },
            "groups": {
                "members": [list(g) for g in self.groups],
                "cross_reactivity_margin": item(self.cross_reactivity_margin),
            },
            "controls": {
                "pc_mutation_window": item(self.pc_mutation_window),
                "pc_reference_window": item(self.pc_reference_window),
                "ntc_max_ct": item(self.ntc_max_ct),
                "wt_required": self.wt_required,
            },
            "replicates": {
                "mean_delta_ct_margin": item(self.replicate_mean_margin),
                "reference_sd_max": item(self.replicate_reference_sd_max),
            },
            **(
                {"ct_thresholds": {ch: item(s) for ch, s in self.ct_thresholds.items()}}
                if self.ct_thresholds
                else {}
            ),
            "flags": {
                "delta_ct_negative_below": item(self.delta_ct_negative_below),
                "mutation_ct_early_below": item(self.mutation_ct_early_below),
            },
        }


class _Reader:
    """Walks the TOML tables with precise error messages and an unknown-key check."""

    def __init__(self, name: str) -> None:
        self.name = name

    def fail(self, where: str, message: str) -> ConfigError:
        return ConfigError(f"{self.name}, [{where}]: {message}")

    def table(
        self, data: Mapping[str, Any], key: str, where: str, *, required: bool = True
    ) -> Mapping[str, Any]:
        value = data.get(key)
        if value is None and not required:
            return {}
        if not isinstance(value, Mapping):
            raise self.fail(
                where, f"missing table [{key}]" if value is None else f"{key} must be a table"
            )
        return value

    def only(self, data: Mapping[str, Any], where: str, allowed: set[str]) -> None:
        if not isinstance(data, Mapping):
            raise self.fail(where, f"must be a table of {', '.join(sorted(allowed))}, got {data!r}")
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise self.fail(
                where, f"unknown key {', '.join(unknown)}; known: {', '.join(sorted(allowed))}"
            )

    def setting(
        self, data: Mapping[str, Any], key: str, where: str, default: float | None = None
    ) -> Setting:
        raw = data.get(key)
        source = ""
        if isinstance(raw, Mapping):
            self.only(raw, f"{where}.{key}", {"value", "source"})
            source = str(raw.get("source", ""))
            raw = raw.get("value")
        if raw is None:
            if default is None:
                raise self.fail(where, f"{key} is required")
            return Setting(default, "default")
        if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
            raise self.fail(where, f"{key} must be a number, got {raw!r}")
        return Setting(float(raw), source)

    def window(self, data: Mapping[str, Any], key: str, where: str) -> Window:
        raw = data.get(key)
        source = ""
        if isinstance(raw, Mapping):
            self.only(raw, f"{where}.{key}", {"value", "source"})
            source = str(raw.get("source", ""))
            raw = raw.get("value")
        if (
            not isinstance(raw, list)
            or len(raw) != 2
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in raw)
        ):
            raise self.fail(where, f"{key} must be [min, max], got {raw!r}")
        low, high = float(raw[0]), float(raw[1])
        if low > high:
            raise self.fail(where, f"{key}: window min {low:g} > max {high:g}")
        return Window(low, high, source)


def _between(
    reader: _Reader, setting: Setting, where: str, name: str, low: float, high: float
) -> None:
    if not low <= setting.value <= high:
        raise reader.fail(where, f"{name} {setting.value:g} is out of range {low:g}..{high:g}")


def _positive(reader: _Reader, setting: Setting, where: str, name: str, upper: float) -> None:
    if not 0 < setting.value <= upper:
        raise reader.fail(where, f"{name} {setting.value:g} is out of range (0, {upper:g}]")


def parse_kit(raw: bytes, name: str, path: str = "") -> Kit:
    """Validate a kit definition (the TOML file's bytes; its sha256 goes into every report)."""
    reader = _Reader(name)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{name}: kit definition is not UTF-8 text") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{name}: not valid TOML ({exc}); check the line it names") from exc
    reader.only(
        data,
        "top level",
        {
            "kit",
            "dyes",
            "mixes",
            "reference",
            "internal_control",
            "targets",
            "groups",
            "controls",
            "replicates",
            "ct_thresholds",
            "flags",
        },
    )
    meta = reader.table(data, "kit", "kit")
    reader.only(
        meta,
        "kit",
        {
            "id",
            "version",
            "name",
            "transcript",
            "placeholder",
            "cycles",
            "passive_reference",
            "source",
            "reportable_fraction",
        },
    )
    for key in ("id", "version"):
        if not isinstance(meta.get(key), str) or not meta[key].strip():
            raise reader.fail("kit", f"{key} is required (a non-empty string)")
    transcript = str(meta.get("transcript", "NM_000125.4"))
    if transcript.split(".")[0] != "NM_000125":
        raise reader.fail("kit", f"transcript {transcript} is not NM_000125 (ESR1)")
    reportable = Setting(
        DEFAULT_MIN_ALLELE_FRACTION, "default: the kit sets no reportable_fraction"
    )
    if "reportable_fraction" in meta:
        reportable = reader.setting(meta, "reportable_fraction", "kit")
    if not 0 < reportable.value <= MAX_REPORTABLE_FRACTION:
        raise reader.fail(
            "kit",
            f"reportable_fraction {reportable.value:g} is {reportable.value * 100:g} %: give it "
            f"as a fraction (0.002 = 0.2 %), above 0 and at most {MAX_REPORTABLE_FRACTION:g}",
        )
    cycles = meta.get("cycles", 45)
    if not isinstance(cycles, int) or not 20 <= cycles <= 60:
        raise reader.fail("kit", f"cycles must be an integer 20-60, got {cycles!r}")

    # dyes
    dyes_raw = reader.table(data, "dyes", "dyes")
    dyes: dict[str, tuple[str, ...]] = {}
    alias: dict[str, str] = {}
    for channel, names in dyes_raw.items():
        canonical = channel.upper()
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise reader.fail("dyes", f"{channel} must be a list of names")
        for dye_name in [channel, *names]:
            key = dye_name.strip().upper()
            if alias.get(key, canonical) != canonical:
                raise reader.fail(
                    "dyes", f"{dye_name} is listed for both {alias[key]} and {canonical}"
                )
            alias[key] = canonical
        dyes[canonical] = tuple(sorted({n.strip().upper() for n in [channel, *names]}))

    passive_raw = meta.get("passive_reference", "none")
    if not isinstance(passive_raw, str):
        raise reader.fail(
            "kit", f"passive_reference must be a dye name or none, got {passive_raw!r}"
        )
    passive_reference = passive_raw.strip()
    if passive_reference.lower() in ("", "none"):
        passive_reference = "none"
    else:
        passive_reference = alias.get(passive_reference.upper(), passive_reference.upper())

    # mixes
    catalog = load_panel("extended")
    mixes_raw = reader.table(data, "mixes", "mixes")
    mixes: dict[str, dict[str, str]] = {}
    located: dict[str, tuple[str, str]] = {}
    for mix, channels in mixes_raw.items():
        if not isinstance(channels, Mapping) or not channels:
            raise reader.fail(f"mixes.{mix}", "must map channels to targets")
        mixes[mix] = {}
        for channel, target in channels.items():
            canonical = channel.upper()
            if canonical not in dyes:
                raise reader.fail(
                    f"mixes.{mix}", f"channel {channel} is not in [dyes] ({', '.join(dyes)})"
                )
            if not isinstance(target, str):
                raise reader.fail(f"mixes.{mix}", f"{channel} must name a target")
            if target not in (IC, REF) and target not in catalog:
                raise reader.fail(
                    f"mixes.{mix}",
                    f"{channel}: unknown hotspot {target!r}; use IC, REF or one of "
                    f"{', '.join(catalog.names)}",
                )
            if target in located:
                first = located[target]
                raise reader.fail(
                    f"mixes.{mix}", f"{target} is also in {first[0]} {first[1]}; one assay each"
                )
            if target not in (IC, REF):
                located[target] = (mix, canonical)
            mixes[mix][canonical] = target
    if not located:
        raise reader.fail("mixes", "no mutation assay is defined")
    if any(passive_reference in channels for channels in mixes.values()):
        raise reader.fail(
            "kit",
            f"passive_reference {passive_reference} is a reporter channel in [mixes]; "
            "a reporter cannot normalise the others: use none or another dye",
        )

    # reference
    ref = reader.table(data, "reference", "reference")
    reader.only(
        ref,
        "reference",
        {
            "mode",
            "ct_min",
            "ct_target",
            "ct_full_sensitivity",
            "ct_max",
            "overload_policy",
            "standard_curve",
        },
    )
    mode = str(ref.get("mode", "separate_mix"))
    if mode not in REFERENCE_MODES:
        raise reader.fail("reference", f"mode {mode!r}: use one of {', '.join(REFERENCE_MODES)}")
    ref_locations = [(m, ch) for m, chans in mixes.items() for ch, t in chans.items() if t == REF]
    if not ref_locations:
        raise reader.fail("mixes", "no REF (reference assay) channel in any mix")
    reference_mix: str | None = None
    if mode == "separate_mix":
        if len(ref_locations) != 1 or len(
            [t for t in mixes[ref_locations[0][0]].values() if t not in (IC, REF)]
        ):
            raise reader.fail(
                "reference", "separate_mix mode needs exactly one mix holding REF (and IC) only"
            )
        reference_mix, reference_channel = ref_locations[0]
    else:
        channels = {ch for _, ch in ref_locations}
        lacking = [m for m, chans in mixes.items() if REF not in chans.values()]
        if len(channels) != 1 or lacking:
            raise reader.fail(
                "reference", "in_well mode needs REF on the same channel of every mix"
            )
        reference_channel = channels.pop()
    ref_ct_min = reader.setting(ref, "ct_min", "reference")
    ref_ct_target = reader.setting(ref, "ct_target", "reference")
    ref_ct_full = reader.setting(ref, "ct_full_sensitivity", "reference")
    ref_ct_max = reader.setting(ref, "ct_max", "reference")
    if not ref_ct_min.value <= ref_ct_target.value <= ref_ct_full.value <= ref_ct_max.value:
        raise reader.fail("reference", "need ct_min <= ct_target <= ct_full_sensitivity <= ct_max")
    _positive(reader, ref_ct_max, "reference", "ct_max", float(cycles))
    policy = str(ref.get("overload_policy", "invalidate_all"))
    if policy not in OVERLOAD_POLICIES:
        raise reader.fail(
            "reference", f"overload_policy {policy!r}: use {' or '.join(OVERLOAD_POLICIES)}"
        )
    standard_curve = None
    if "standard_curve" in ref:
        curve = reader.table(ref, "standard_curve", "reference")
        reader.only(curve, "reference.standard_curve", {"slope", "intercept", "source"})
        slope = reader.setting(curve, "slope", "reference.standard_curve").value
        intercept = reader.setting(curve, "intercept", "reference.standard_curve").value
        if not -4.5 <= slope <= -2.5:
            raise reader.fail("reference.standard_curve", f"slope {slope:g} is not in -4.5..-2.5")
        standard_curve = (slope, intercept)

    ic = reader.table(data, "internal_control", "internal_control")
    reader.only(ic, "internal_control", {"ct_max", "delay_max_vs_ntc"})
    ic_ct_max = reader.setting(ic, "ct_max", "internal_control")
    _positive(reader, ic_ct_max, "internal_control", "ct_max", float(cycles))
    ic_delay_max = None
    if "delay_max_vs_ntc" in ic:
        ic_delay_max = reader.setting(ic, "delay_max_vs_ntc", "internal_control")
        _positive(reader, ic_delay_max, "internal_control", "delay_max_vs_ntc", float(cycles))

    # assays: defaults then per-hotspot overrides
    targets = reader.table(data, "targets", "targets")
    setting_keys = {
        "ct_max",
        "cutoff",
        "equivocal_band",
        "amplification_factor",
        "delta_ct_100",
        "delta_ct_sd",
    }
    reader.only(targets, "targets", setting_keys | set(located))
    defaults = {
        key: reader.setting(targets, key, "targets", default=_DEFAULTS.get(key))
        for key in setting_keys
    }
    assays: dict[str, AssaySettings] = {}
    for hotspot, (mix, channel) in located.items():
        override = targets.get(hotspot, {})
        if not isinstance(override, Mapping):
            raise reader.fail(f"targets.{hotspot}", "must be a table of settings")
        reader.only(override, f"targets.{hotspot}", setting_keys)
        values = {
            key: reader.setting(override, key, f"targets.{hotspot}") if key in override else dflt
            for key, dflt in defaults.items()
        }
        where = f"targets.{hotspot}"
        _positive(reader, values["ct_max"], where, "ct_max", float(cycles))
        if not 1.0 < values["amplification_factor"].value <= 2.2:
            raise reader.fail(where, "amplification_factor must be in (1, 2.2]")
        if values["equivocal_band"].value < 0 or values["delta_ct_sd"].value < 0:
            raise reader.fail(where, "equivocal_band and delta_ct_sd must be >= 0")
        if not -5.0 <= values["cutoff"].value <= 20.0:
            raise reader.fail(where, f"cutoff {values['cutoff'].value:g} is out of range -5..20")
        assays[hotspot] = AssaySettings(hotspot=hotspot, mix=mix, channel=channel, **values)

    groups_raw = data.get("groups", {})
    reader.only(groups_raw, "groups", {"cross_reactivity_margin", "members"})
    margin = reader.setting(groups_raw, "cross_reactivity_margin", "groups", default=3.0)
    _between(reader, margin, "groups", "cross_reactivity_margin", 0.0, float(cycles))
    groups = []
    members = groups_raw.get("members", [])
    if not isinstance(members, list):
        raise reader.fail("groups", f"members must be a list of hotspot lists, got {members!r}")
    for group in members:
        if (
            not isinstance(group, list)
            or len(group) < 2
            or not all(isinstance(g, str) for g in group)
        ):
            raise reader.fail("groups", f"each group lists two or more hotspots, got {group!r}")
        unknown = [g for g in group if g not in assays]
        if unknown:
            raise reader.fail(
                "groups", f"{', '.join(map(str, unknown))} is not an assay of the kit"
            )
        groups.append(tuple(group))

    controls = reader.table(data, "controls", "controls")
    reader.only(controls, "controls", {"PC", "NTC", "WT"})
    pc = reader.table(controls, "PC", "controls")
    reader.only(pc, "controls.PC", {"mutation_window", "reference_window"})
    ntc = reader.table(controls, "NTC", "controls")
    reader.only(ntc, "controls.NTC", {"max_ct_allowed"})
    wt = controls.get("WT", {})
    reader.only(wt, "controls.WT", {"required"})
    if not isinstance(wt.get("required", False), bool):
        raise reader.fail("controls.WT", f"required must be true or false, got {wt['required']!r}")
    replicates = data.get("replicates", {})
    reader.only(replicates, "replicates", {"mean_delta_ct_margin", "reference_sd_max"})
    ntc_max_ct = reader.setting(ntc, "max_ct_allowed", "controls.NTC", default=40.0)
    _positive(reader, ntc_max_ct, "controls.NTC", "max_ct_allowed", float(cycles))
    mean_margin = reader.setting(replicates, "mean_delta_ct_margin", "replicates", default=0.5)
    _between(reader, mean_margin, "replicates", "mean_delta_ct_margin", 0.0, 10.0)
    sd_max = reader.setting(replicates, "reference_sd_max", "replicates", default=0.5)
    _positive(reader, sd_max, "replicates", "reference_sd_max", 10.0)
    thresholds_raw = reader.table(data, "ct_thresholds", "ct_thresholds", required=False)
    ct_thresholds: dict[str, Setting] = {}
    for key in thresholds_raw:
        named = alias.get(key.strip().upper())
        if named is None or named in ct_thresholds:
            why = "is not a channel in [dyes]" if named is None else "is given twice"
            raise reader.fail("ct_thresholds", f"{key} {why} ({', '.join(dyes)})")
        setting = reader.setting(thresholds_raw, key, "ct_thresholds")
        if not setting.value > 0:
            raise reader.fail("ct_thresholds", f"{key} {setting.value:g} must be above 0")
        ct_thresholds[named] = setting
    flags = reader.table(data, "flags", "flags", required=False)
    reader.only(flags, "flags", {"delta_ct_negative_below", "mutation_ct_early_below"})
    flag_settings = {
        key: reader.setting(flags, key, "flags")
        if key in flags
        else Setting(default, _FLAGS_DEFAULT_SOURCE.format(key=key))
        for key, default in (
            ("delta_ct_negative_below", DELTA_CT_NEGATIVE_BELOW),
            ("mutation_ct_early_below", MUTATION_CT_EARLY_BELOW),
        )
    }
    _between(
        reader, flag_settings["delta_ct_negative_below"], "flags", "delta_ct_negative_below",
        -20.0, 0.0,
    )  # fmt: skip
    _positive(
        reader, flag_settings["mutation_ct_early_below"], "flags", "mutation_ct_early_below",
        float(cycles),
    )  # fmt: skip

    return Kit(
        id=meta["id"].strip(),
        version=meta["version"].strip(),
        name=str(meta.get("name", meta["id"])),
        transcript=transcript,
        placeholder=bool(meta.get("placeholder", False)),
        cycles=cycles,
        passive_reference=passive_reference,
        source=str(meta.get("source", "")),
        path=path,
        sha256=hashlib.sha256(raw).hexdigest(),
        dyes=dyes,
        mixes=mixes,
        assays=assays,
        reference_mode=mode,
        reference_mix=reference_mix,
        reference_channel=reference_channel,
        ref_ct_min=ref_ct_min,
        ref_ct_target=ref_ct_target,
        ref_ct_full_sensitivity=ref_ct_full,
        ref_ct_max=ref_ct_max,
        overload_policy=policy,
        ic_ct_max=ic_ct_max,
        ic_delay_max=ic_delay_max,
        groups=tuple(groups),
        cross_reactivity_margin=margin,
        pc_mutation_window=reader.window(pc, "mutation_window", "controls.PC"),
        pc_reference_window=reader.window(pc, "reference_window", "controls.PC"),
        ntc_max_ct=ntc_max_ct,
        wt_required=bool(wt.get("required", False)),
        replicate_mean_margin=mean_margin,
        replicate_reference_sd_max=sd_max,
        standard_curve=standard_curve,
        ct_thresholds=ct_thresholds,
        reportable_fraction=reportable,
        delta_ct_negative_below=flag_settings["delta_ct_negative_below"],
        mutation_ct_early_below=flag_settings["mutation_ct_early_below"],
        _alias=alias,
    )


_DEFAULTS: dict[str, float | None] = {
    "ct_max": 40.0,
    "cutoff": None,  # no default: a cut-off must come from the kit
    "equivocal_band": 0.0,
    "amplification_factor": 2.0,
    "delta_ct_100": 0.0,
    "delta_ct_sd": 0.5,
}


def load_kit(spec: str | Path | None = None) -> Kit:
    """The bundled example kit (``None`` or its id) or a kit TOML file."""
    if spec is None or str(spec) == EXAMPLE_KIT:
        raw = read_bytes("data", "kits", f"{EXAMPLE_KIT}.toml")
        return parse_kit(raw, f"{EXAMPLE_KIT}.toml", EXAMPLE_KIT)
    path = Path(spec)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(
            f"{path.name}: cannot read kit definition ({exc.strerror}). Pass --kit FILE.toml "
            f"or omit --kit for the bundled {EXAMPLE_KIT}."
        ) from exc
    return parse_kit(raw, path.name, str(path))


def describe_kit(kit: Kit) -> str:
    """A plain-text summary of a kit for ``esr1calls kit show``."""
    warn = "  ** PLACEHOLDER values: not for clinical use **" if kit.placeholder else ""
    lines = [f"Kit {kit.id} {kit.version}: {kit.name}{warn}", f"sha256 {kit.sha256}", "", "Mixes:"]
    for mix, channels in kit.mixes.items():
        cells = "  ".join(f"{ch} {target:<8}" for ch, target in channels.items())
        lines.append(f"  {mix:<6}{cells}".rstrip())
    where = f"channel {kit.reference_channel} in every well"
    if kit.reference_mode == "separate_mix":
        where = f"mix {kit.reference_mix} {kit.reference_channel}"
    fraction = kit.reportable_fraction
    negative, early = kit.delta_ct_negative_below, kit.mutation_ct_early_below
    lines += [
        "",
        f"Reportable fraction (the kit's LoD95): {exact_percent(fraction.value)} "
        f"({fraction.source or 'no source given'})",
        f"Reference ({where}): valid Ct {kit.ref_ct_min.value:g}-{kit.ref_ct_max.value:g}; "
        f"full sensitivity at Ct <= {kit.ref_ct_full_sensitivity.value:g}; "
        f"overload: {kit.overload_policy}",
        f"Internal control: Ct <= {kit.ic_ct_max.value:g}"
        + (
            f", at most {kit.ic_delay_max.value:g} cycles after the NTC's in its mix"
            if kit.ic_delay_max
            else ""
        ),
        f"Controls: PC mutation Ct {kit.pc_mutation_window}, PC reference Ct "
        f"{kit.pc_reference_window}; NTC no Ct <= {kit.ntc_max_ct.value:g}; "
        f"WT control {'required' if kit.wt_required else 'optional'}",
        *(
            [
                "Ct thresholds (fixed, checked against each export): "
                + ", ".join(f"{ch} {s.value:g}" for ch, s in kit.ct_thresholds.items())
            ]
            if kit.ct_thresholds
            else []
        ),
        f"Flags on a DETECTED call: DCT_NEGATIVE below delta-Ct {negative.value:g} "
        f"({negative.source or 'no source given'}); MUT_CT_EARLY below mutation Ct "
        f"{early.value:g} ({early.source or 'no source given'})",
        "",
        "Assays:      cut-off  Ct max  A     dCt100  band  (source of the cut-off)",
    ]
    for name, assay in kit.assays.items():
        lines.append(
            f"  {name:<9} {assay.cutoff.value:>6g}  {assay.ct_max.value:>6g}  "
            f"{assay.amplification_factor.value:<5g} {assay.delta_ct_100.value:>6g}  "
            f"{assay.equivocal_band.value:>4g}  ({assay.cutoff.source or 'no source given'})"
        )
    if kit.groups:
        lines += ["", f"Same-codon groups (cross-reactivity margin "
                      f"{kit.cross_reactivity_margin.value:g} cycles):"]  # fmt: skip
        lines += [f"  {', '.join(group)}" for group in kit.groups]
    return "\n".join(lines) + "\n"
