"""PcrSettings: the options of an ARMS-PCR run, checked once where they come in (the command, a
batch job, a Python caller) and passed down whole; the defaults live once, in pcr/settings.py."""

from __future__ import annotations

import csv
import dataclasses
import json

import pytest

from esr1calls.errors import ConfigError, PlateFormatError
from esr1calls.hotspots import load_panel
from esr1calls.pcr.kit import EXAMPLE_KIT, load_kit
from esr1calls.pcr.run import call_pcr
from esr1calls.pcr.settings import (
    AUTO_FORMAT,
    DEFAULT_FORMAT,
    DEFAULT_KIT,
    DEFAULT_TRUST_MAP,
    PcrSettings,
    make_settings,
)
from esr1calls.plates.format import PlateFormat
from esr1calls.testing import TESTDATA

PLATES = TESTDATA / "plates"
GENERIC = PLATES / "generic" / "esr1_demo_generic.csv"
DEMO_MAP = PLATES / "esr1_demo_platemap.csv"


def test_the_defaults_are_todays():
    settings = make_settings()
    assert (DEFAULT_FORMAT, DEFAULT_KIT, DEFAULT_TRUST_MAP) == (AUTO_FORMAT, EXAMPLE_KIT, False)
    assert settings.kit.id == EXAMPLE_KIT and settings.fmt is None and not settings.trust_map
    assert settings.panel.names == load_panel().names
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.trust_map = True  # type: ignore[misc]


def test_each_option_is_checked_once_when_the_settings_are_made(tmp_path):
    assert make_settings(fmt="CFX").fmt is PlateFormat.CFX
    assert make_settings(fmt=PlateFormat.RDML).fmt is PlateFormat.RDML
    with pytest.raises(ConfigError, match=r"^unknown plate format 'cfx96'; use auto or one of: "):
        make_settings(fmt="cfx96")
    kit = load_kit()
    assert make_settings(kit=kit).kit is kit  # a loaded kit is not read again
    broken = tmp_path / "lab.toml"
    broken.write_text("[kit\n")
    with pytest.raises(ConfigError, match=r"^lab.toml: not valid TOML"):
        make_settings(kit=broken)


def test_call_pcr_takes_the_settings_whole():
    forced = call_pcr([GENERIC], DEMO_MAP, make_settings(fmt="generic"))
    assert forced.samples == call_pcr([GENERIC], DEMO_MAP).samples
    with pytest.raises(PlateFormatError):
        call_pcr([GENERIC], DEMO_MAP, make_settings(fmt="cfx"))
    narrow = make_settings(panel=load_panel("default", ["D538G"]))
    result = call_pcr([GENERIC], DEMO_MAP, narrow)
    assert {c.hotspot for s in result.samples for c in s.calls} == {"D538G"}
    assert isinstance(narrow, PcrSettings)


def test_the_pcr_help_shows_the_defaults_of_the_settings(run_cli):
    text = " ".join(run_cli(["pcr", "--help"]).stdout.split())
    assert f"[default: {DEFAULT_FORMAT}]" in text
    assert f"default: the bundled {DEFAULT_KIT}" in text


def test_a_batch_job_with_an_unknown_format_names_its_manifest_line(tmp_path, run_cli):
    data = tmp_path / "data"
    data.mkdir()
    (data / "plate.csv").write_bytes(GENERIC.read_bytes())
    (data / "map.csv").write_bytes(DEMO_MAP.read_bytes())
    manifest = data / "manifest.tsv"
    manifest.write_text(
        "id\ttype\tinputs\tplate_map\tkit\tsample\toptions\n"
        "run1\tpcr\tplate.csv\tmap.csv\t\t\tformat=cfx96\n"
        "run2\tpcr\tplate.csv\tmap.csv\t\t\tformat=generic trust_map=yes\n"
    )
    out = tmp_path / "out"
    result = run_cli(["batch", manifest, "-o", out])
    assert result.exit_code == 1
    with (out / "batch_errors.tsv").open(encoding="utf-8") as handle:
        errors = {r["job_id"]: r["error"] for r in csv.DictReader(handle, delimiter="\t")}
    assert errors == {
        "run1": "manifest.tsv, line 2: option format: unknown plate format 'cfx96'; use auto or "
        "one of: " + ", ".join(f.value for f in PlateFormat)
    }
    document = json.loads((out / "run2" / "calls.json").read_text(encoding="utf-8"))
    assert document["run"]["thresholds"]["trust_map"]["value"] is True
