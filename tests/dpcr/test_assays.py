"""The dPCR assay definition: the bundled set is DESIGN.md section 8's, every number names its
source, and a bad file is a one-line ConfigError naming the table and the key."""

from __future__ import annotations

import json
import re
import tomllib

import pytest

from esr1calls.dpcr.assays import EXAMPLE_ASSAYS, load_assays, parse_assays
from esr1calls.errors import ConfigError
from esr1calls.testing import REPO

BUNDLED = REPO / "esr1calls" / "data" / "assays" / f"{EXAMPLE_ASSAYS}.toml"
TEXT = BUNDLED.read_text(encoding="utf-8")


def test_the_bundled_set_is_design_section_8():
    assays = load_assays()
    assert assays.id == "esr1-dpcr-example" and assays.placeholder
    table = {
        name: (a.design, a.hotspots, a.mutant_target, a.wild_type_target, a.channels)
        for name, a in assays.assays.items()
    }
    duplex = {
        name: ("duplex", (name,), name, f"{name[:4]}_WT", ("FAM", "HEX"))
        for name in ("E380Q", "S463P", "Y537S", "D538G")
    }
    region = ("L536H", "L536P", "L536R", "L536Q", "Y537C", "Y537N", "Y537S", "D538G")
    assert table == {
        **duplex,
        "EX8_DROPOFF": ("drop_off", region, "EX8_REF", "EX8_WT", ("FAM", "HEX")),
    }
    assert "c.1606-1614" in assays.assays["EX8_DROPOFF"].region
    for instrument in ("qx200", "qx600", "qiacuity", "absoluteq"):
        rule = assays.settings(assays.assays["E380Q"], instrument)
        assert rule.partition_volume_nl.value == 0.85
        assert rule.min_partitions.value == 10_000
        assert rule.ntc_positives_fail.value == 3
        assert rule.default_background.value == 5e-5
        assert rule.max_wt_background.value == 5e-4
        assert (rule.pc_fraction_window.low, rule.pc_fraction_window.high) == (0.01, 0.20)
        assert rule.k_min.value == 2 and rule.alpha.value == 1e-3
    assert assays.reportable_fraction.value == 0.002
    assert assays.canonical_channel("VIC") == "HEX" and assays.canonical_channel("ch1") == "FAM"


def test_every_number_in_the_bundled_file_names_its_source():
    def numbers(table, where=""):
        for key, value in table.items():
            if isinstance(value, dict) and "value" in value:
                yield f"{where}{key}", value
            elif isinstance(value, dict):
                yield from numbers(value, f"{where}{key}.")
            else:
                assert not isinstance(value, int | float) or isinstance(value, bool), key

    found = list(numbers(tomllib.loads(TEXT)))
    assert len(found) >= 14
    assert all(item["source"].strip() for _, item in found)


def edited(old: str, new: str) -> bytes:
    assert old in TEXT, old
    return TEXT.replace(old, new, 1).encode()


@pytest.mark.parametrize(
    "old, new, message",
    [
        (
            'min_partitions = { value = 10000, source = "placeholder: DESIGN.md section 8, every '
            'instrument" }',
            "min_partitions = 10000",
            "[defaults]: min_partitions must name its source",
        ),
        (
            'k_min = { value = 2, source = "placeholder: DESIGN.md section 8" }',
            'k_min = { value = 2.5, source = "x" }',
            "[defaults]: k_min must be a whole number",
        ),
        (
            "pc_fraction_window = { value = [0.01, 0.20]",
            "pc_fraction_window = { value = [1, 20]",
            "[defaults]: pc_fraction_window [1, 20] must be fractions",
        ),
        (
            "default_background = { value = 5e-5",
            "default_background = { value = 0.5",
            "[defaults]: default_background 0.5 is out of range",
        ),
        (
            'value = 0.002, source = "placeholder: the 0.2 %',
            'value = 0.2, source = "the 0.2 %',
            "[assay_set]: reportable_fraction 0.2: give it as a fraction",
        ),
        ('hotspots = ["E380Q"]', 'hotspots = ["E380K"]', "[assays.E380Q]: unknown hotspot E380K"),
        (
            'hotspots = ["S463P"]',
            'hotspots = ["S463P", "E380Q"]',
            "[assays.S463P]: a duplex assay decides exactly one hotspot",
        ),
        (
            'hotspots = ["Y537S"]',
            'hotspots = ["E380Q"]',
            "[assays.Y537S]: E380Q is also covered by duplex assay E380Q",
        ),
        (
            'wild_type_target = "S463_WT"',
            'wild_type_target = "E380_WT"',
            "[assays.S463P]: target 'E380_WT' is also a target of E380Q",
        ),
        (
            'mutant_channel = "FAM"\nmutant_target = "D538G"',
            'mutant_channel = "Cy5"\nmutant_target = "D538G"',
            "[assays.D538G]: mutant_channel 'Cy5' is not in [dyes]",
        ),
        (
            'design = "drop_off"',
            'design = "dropoff"',
            "[assays.EX8_DROPOFF]: design 'dropoff': use duplex or drop_off",
        ),
        ("[instruments.qx600]", "[instruments.qx900]", "[instruments]: unknown key qx900"),
        ('region = "codons', 'regoin = "codons', "[assays.EX8_DROPOFF]: unknown key regoin"),
    ],
)
def test_a_bad_assay_file_names_the_table_and_the_key(old, new, message):
    with pytest.raises(ConfigError) as caught:
        parse_assays(edited(old, new), "lab.toml")
    text = str(caught.value)
    assert text.startswith(f"lab.toml, {message}"), text
    assert "\n" not in text


def test_an_assay_sets_its_own_number_over_the_instrument_and_the_defaults():
    text = edited(
        'wild_type_target = "E380_WT"\n',
        'wild_type_target = "E380_WT"\n'
        'min_partitions = { value = 15000, source = "lab validation 2026" }\n',
    )
    text = text.replace(
        b"[instruments.qiacuity]\nmin_partitions = { value = 10000",
        b'[instruments.qiacuity]\npartition_volume_nl = { value = 0.91, source = "26K plate" }\n'
        b"min_partitions = { value = 20000",
    )
    assays = parse_assays(text, "lab.toml")
    e380q, s463p = assays.assays["E380Q"], assays.assays["S463P"]
    assert assays.settings(e380q, "qiacuity").min_partitions.value == 15000
    assert assays.settings(s463p, "qiacuity").min_partitions.value == 20000
    assert assays.settings(s463p, "qiacuity").partition_volume_nl.value == 0.91
    assert assays.settings(s463p, "qx200").partition_volume_nl.value == 0.85


def test_alpha_and_k_min_default_to_design_and_say_so():
    text = re.sub(rb"\nalpha = .*\nk_min = .*\n", b"\n", TEXT.encode())
    defaults = parse_assays(text, "lab.toml").defaults
    assert (defaults.alpha.value, defaults.k_min.value) == (1e-3, 2)
    assert defaults.alpha.source == "default: DESIGN.md section 8"


def test_assays_show_prints_every_assay_and_says_placeholder(run_cli):
    result = run_cli(["assays", "show"])
    assert result.exit_code == 0, result.stderr
    assert "PLACEHOLDER" in result.stdout and "EX8_DROPOFF" in result.stdout
    assert "mutant partitions FAM+ HEX-" in result.stdout
    as_json = json.loads(run_cli(["assays", "show", "--format", "json"]).stdout)
    assert as_json["assay_set"]["id"] == EXAMPLE_ASSAYS
    assert as_json["defaults"]["min_partitions"] == {
        "value": 10000,
        "source": "placeholder: DESIGN.md section 8, every instrument",
    }


def test_assays_validate_accepts_the_bundled_file_and_refuses_a_bad_one(run_cli, tmp_path):
    ok = run_cli(["assays", "validate", BUNDLED])
    assert ok.exit_code == 0
    assert ok.stdout.startswith(
        "esr1-dpcr-example.toml: valid assay set esr1-dpcr-example 0.1.0, 5 assays covering 10 "
        "hotspots (PLACEHOLDER values), sha256 "
    )
    bad = tmp_path / "lab.toml"
    bad.write_bytes(edited('design = "drop_off"', 'design = "dropoff"'))
    result = run_cli(["assays", "validate", bad])
    assert result.exit_code == 1
    assert result.stderr == (
        "esr1calls: error: lab.toml, [assays.EX8_DROPOFF]: design 'dropoff': use duplex or "
        "drop_off\n"
    )
