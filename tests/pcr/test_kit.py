from __future__ import annotations

import pytest

from esr1calls.errors import ConfigError
from esr1calls.pcr.kit import EXAMPLE_KIT, load_kit, parse_kit
from esr1calls.pcr.kit import __file__ as kit_module

EXAMPLE = (
    __import__("pathlib").Path(kit_module).parents[1] / "data" / "kits" / f"{EXAMPLE_KIT}.toml"
).read_text()


def test_example_kit_matches_the_design_table():
    kit = load_kit()
    assert kit.id == EXAMPLE_KIT and kit.placeholder
    assert dict(kit.mixes["RM1"]) == {"FAM": "D538G", "HEX": "IC", "ROX": "E380Q", "CY5": "L536H"}
    assert dict(kit.mixes["RM2"]) == {"FAM": "Y537S", "HEX": "IC", "ROX": "S463P", "CY5": "L536P"}
    assert dict(kit.mixes["RM3"]) == {"FAM": "Y537C", "HEX": "IC", "ROX": "V422del", "CY5": "L536R"}
    assert dict(kit.mixes["RM4"]) == {"FAM": "Y537N", "HEX": "IC", "CY5": "L536Q"}
    assert dict(kit.mixes["RM5"]) == {"FAM": "REF", "HEX": "IC"}
    assert kit.reference_mix == "RM5" and kit.reference_channel == "FAM"
    assert (kit.pc_mutation_window.low, kit.pc_mutation_window.high) == (26.0, 30.0)
    assert (kit.pc_reference_window.low, kit.pc_reference_window.high) == (24.0, 28.0)
    assert kit.ntc_max_ct.value == 40.0
    assert (kit.ref_ct_min.value, kit.ref_ct_full_sensitivity.value, kit.ref_ct_max.value) == (
        20.0, 28.5, 32.0,
    )  # fmt: skip
    assert kit.ic_ct_max.value == 35.0
    d538g = kit.assays["D538G"]
    assert (d538g.cutoff.value, d538g.ct_max.value, d538g.amplification_factor.value,
            d538g.delta_ct_100.value) == (9.0, 40.0, 1.95, 0.5)  # fmt: skip
    assert kit.cross_reactivity_margin.value == 3.0
    assert len(kit.sha256) == 64


@pytest.mark.parametrize(
    "alias, channel",
    [
        ("VIC", "HEX"),
        ("joe", "HEX"),
        ("Green", "FAM"),
        ("533-610", "ROX"),
        ("red", "CY5"),
        ("SYBR", None),
        ("FAM (465-510)", "FAM"),
        ("Yellow 555 (533-580)", "HEX"),
        ("X (999-999)", None),
    ],
)
def test_dye_aliases(alias, channel):
    assert load_kit().canonical_channel(alias) == channel


def test_thresholds_carry_their_sources():
    thresholds = load_kit().thresholds()
    assert thresholds["assays"]["D538G"]["cutoff"] == {
        "value": 9.0,
        "source": "placeholder: ~0.2 % at A = 2",
    }


def _broken(old: str, new: str) -> bytes:
    assert old in EXAMPLE, old
    return EXAMPLE.replace(old, new, 1).encode()


@pytest.mark.parametrize(
    "old, new, message",
    [
        ('FAM = "D538G"', 'FAM = "D538X"', r"\[mixes.RM1\]: FAM: unknown hotspot 'D538X'"),
        ('ROX = "E380Q"', 'ROX = "D538G"', r"D538G is also in RM1 FAM"),
        ('mutation_window = { value = [26.0, 30.0]', 'mutation_window = { value = [31.0, 30.0]',
         r"window min 31 > max 30"),
        ('CY5 = ["Cy5", "Red", "618-660"]', 'CY5 = ["Cy5", "Red", "VIC"]',
         r"VIC is listed for both HEX and CY5"),
        ("[targets]\nct_max", "[targets]\ncutof = 9.0\nct_max", r"unknown key cutof"),
        ('cutoff = { value = 9.0, source = "placeholder: ~0.2 % at A = 2" }', "",
         r"\[targets\]: cutoff is required"),
        ('mode = "separate_mix"', 'mode = "sideways"', r"mode 'sideways'"),
        ('ct_max = { value = 32.0', 'ct_max = { value = 27.0', r"ct_full_sensitivity <= ct_max"),
        ('[mixes.RM4]\nFAM = "Y537N"', '[mixes.RM4]\nFAM = "Y537N"\nTXR = "L536Q"',
         r"channel TXR is not in \[dyes\]"),
        ('amplification_factor = { value = 1.95', 'amplification_factor = { value = 3.5',
         r"amplification_factor must be in"),
        ('id = "esr1-11-arms-example"', 'id = ""', r"id is required"),
        ('ct_max = { value = 35.0, source = "placeholder" }',
         'ct_max = { value = 35.0, source = "placeholder" }\ndelay_max_vs_ntc = -1.0',
         r"\[internal_control\]: delay_max_vs_ntc -1 is out of range"),
        ('  ["L536H", "L536P", "L536R", "L536Q"],\n', '  [["L536H"], "x"],\n',
         r"\[groups\]: each group lists two or more hotspots, got \[\['L536H'\], 'x'\]"),
        ("[controls.WT]\nrequired = false", "[controls.WT]\nrequired = 'no'",
         r"\[controls.WT\]: required must be true or false"),
        ("max_ct_allowed = { value = 40.0", "max_ct_allowed = { value = -4.0",
         r"\[controls.NTC\]: max_ct_allowed -4 is out of range"),
        ('passive_reference = "none"', "passive_reference = ['ROX']",
         r"\[kit\]: passive_reference must be a dye name or none"),
        ('passive_reference = "none"', 'passive_reference = "Texas Red"',
         r"\[kit\]: passive_reference ROX is a reporter channel in \[mixes\]"),
        ("[replicates]", "[ct_thresholds]\nSYBR = 0.2\n\n[replicates]",
         r"\[ct_thresholds\]: SYBR is not a channel in \[dyes\]"),
        ("[replicates]", "[ct_thresholds]\nFAM = 0.0\n\n[replicates]",
         r"\[ct_thresholds\]: FAM 0 must be above 0"),
        ("[replicates]", "[ct_thresholds]\nHEX = 0.1\nVIC = 0.1\n\n[replicates]",
         r"\[ct_thresholds\]: VIC is given twice"),
    ],
)  # fmt: skip
def test_invalid_kits_are_precise_config_errors(old, new, message):
    with pytest.raises(ConfigError, match=message) as info:
        parse_kit(_broken(old, new), "lab_kit.toml")
    assert str(info.value).startswith("lab_kit.toml")


def test_toml_syntax_error_names_the_file():
    with pytest.raises(ConfigError, match=r"^bad.toml: not valid TOML"):
        parse_kit(b"[kit\nid=1", "bad.toml")


def test_missing_kit_file(tmp_path):
    with pytest.raises(ConfigError, match="cannot read kit definition"):
        load_kit(tmp_path / "nope.toml")


def test_kit_file_hash_is_of_its_bytes(tmp_path):
    import hashlib

    path = tmp_path / "lab.toml"
    path.write_bytes(EXAMPLE.encode())
    assert load_kit(path).sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_in_well_reference_mode_needs_ref_in_every_mix():
    text = EXAMPLE.replace('mode = "separate_mix"', 'mode = "in_well"')
    with pytest.raises(ConfigError, match="in_well mode needs REF"):
        parse_kit(text.encode(), "k.toml")


def test_ct_thresholds_by_any_dye_name_and_shown():
    from esr1calls.pcr.kit import describe_kit

    kit = parse_kit(_broken("[replicates]", "[ct_thresholds]\nvic = 0.08\nFAM = { value = 0.1, "
                            'source = "IFU rev 3" }\n\n[replicates]'), "lab_kit.toml")  # fmt: skip
    assert {ch: (s.value, s.source) for ch, s in kit.ct_thresholds.items()} == {
        "HEX": (0.08, ""),
        "FAM": (0.1, "IFU rev 3"),
    }
    assert "Ct thresholds (fixed, checked against each export): HEX 0.08, FAM 0.1" in describe_kit(
        kit
    )
    assert kit.thresholds()["ct_thresholds"]["FAM"] == {"value": 0.1, "source": "IFU rev 3"}
    assert "ct_thresholds" not in load_kit().thresholds()  # unchecked unless a kit sets them


def test_kit_tables_of_the_wrong_shape_are_config_errors():
    members = EXAMPLE[EXAMPLE.index("members = [") : EXAMPLE.index("]\n\n[controls.PC]") + 2]
    kit = EXAMPLE.replace(members, "members = 3\n")
    with pytest.raises(ConfigError, match=r"^k.toml, \[groups\]: members must be a list"):
        parse_kit(kit.encode(), "k.toml")
    wt = EXAMPLE.replace("[controls.WT]\nrequired = false\n", "").replace(
        "[controls.PC]", "[controls]\nWT = 5\n\n[controls.PC]"
    )
    with pytest.raises(ConfigError, match=r"^k.toml, \[controls.WT\]: must be a table"):
        parse_kit(wt.encode(), "k.toml")


# ----------------------------------------------------------------------------- [flags]
FLAGS = EXAMPLE[EXAMPLE.index("[flags]\n") : EXAMPLE.index("\n\n[replicates]") + 2]


def _with_flags(lines: str) -> bytes:
    return EXAMPLE.replace(FLAGS, f"[flags]\n{lines}\n\n" if lines else "").encode()


def test_the_flags_are_kit_values_with_their_sources_shown_and_recorded():
    from esr1calls.pcr.kit import describe_kit

    kit = parse_kit(_with_flags('delta_ct_negative_below = { value = -1.5, source = "IFU 4.2" }\n'
                                "mutation_ct_early_below = 18"), "lab_kit.toml")  # fmt: skip
    assert (kit.delta_ct_negative_below.value, kit.delta_ct_negative_below.source) == (
        -1.5,
        "IFU 4.2",
    )
    assert (kit.mutation_ct_early_below.value, kit.mutation_ct_early_below.source) == (18.0, "")
    assert kit.thresholds()["flags"] == {
        "delta_ct_negative_below": {"value": -1.5, "source": "IFU 4.2"},
        "mutation_ct_early_below": {"value": 18.0, "source": ""},
    }
    assert (
        "Flags on a DETECTED call: DCT_NEGATIVE below delta-Ct -1.5 (IFU 4.2); MUT_CT_EARLY below "
        "mutation Ct 18 (no source given)" in describe_kit(kit)
    )


def test_a_kit_without_flags_gets_todays_limits_and_says_they_are_defaults():
    kit = parse_kit(_with_flags(""), "lab_kit.toml")
    assert kit.thresholds()["flags"] == {
        "delta_ct_negative_below": {
            "value": -1.0, "source": "default: the kit sets no [flags] delta_ct_negative_below"},
        "mutation_ct_early_below": {
            "value": 20.0, "source": "default: the kit sets no [flags] mutation_ct_early_below"},
    }  # fmt: skip
    bundled = load_kit()
    assert (bundled.delta_ct_negative_below.value, bundled.mutation_ct_early_below.value) == (
        -1.0, 20.0,
    )  # fmt: skip
    assert bundled.delta_ct_negative_below.source.startswith("placeholder")


@pytest.mark.parametrize(
    "lines, message",
    [
        (
            "delta_ct_negative_below = 0.5",
            r"\[flags\]: delta_ct_negative_below 0.5 is out of range",
        ),
        ("delta_ct_negative_below = -25", r"delta_ct_negative_below -25 is out of range -20..0"),
        ("mutation_ct_early_below = 0", r"\[flags\]: mutation_ct_early_below 0 is out of range"),
        ("mutation_ct_early_below = 50", r"mutation_ct_early_below 50 is out of range \(0, 45\]"),
        ("mutation_ct_early_below = 'early'", r"mutation_ct_early_below must be a number"),
        ("dct_negative_below = -1", r"\[flags\]: unknown key dct_negative_below"),
    ],
)
def test_flags_out_of_range_or_misspelt_are_config_errors(lines, message):
    with pytest.raises(ConfigError, match=message) as info:
        parse_kit(_with_flags(lines), "lab_kit.toml")
    assert str(info.value).startswith("lab_kit.toml, [flags]")


@pytest.mark.parametrize("negative, early", [(-1.0, 20.0), (-2.5, 17.0), (-0.5, 22.0)])
def test_the_flags_start_where_the_kit_says(negative, early):
    """Below, at and above each limit; with today's values the boundaries are today's."""
    from esr1calls.model import Reason
    from esr1calls.pcr.rules import call_target

    kit = parse_kit(_with_flags(f"delta_ct_negative_below = {negative}\n"
                                f"mutation_ct_early_below = {early}"), "k.toml")  # fmt: skip
    assay = kit.assays["D538G"]

    def reasons(ct_mutation: float, ct_reference: float) -> tuple[Reason, ...]:
        return call_target(ct_mutation, ct_reference, 30.0, assay, kit).reasons

    reference = 25.0
    assert Reason.DCT_NEGATIVE in reasons(reference + negative - 0.01, reference)
    assert Reason.DCT_NEGATIVE not in reasons(reference + negative, reference)
    assert Reason.DCT_NEGATIVE not in reasons(reference + negative + 0.01, reference)
    assert Reason.MUT_CT_EARLY in reasons(early - 0.01, early + 0.5)
    assert Reason.MUT_CT_EARLY not in reasons(early, early + 0.5)
    assert Reason.MUT_CT_EARLY not in reasons(early + 0.01, early + 0.5)
    text = Reason.DCT_NEGATIVE.describe(kit.thresholds())
    assert text == f"delta-Ct below {negative:g}: check for a swapped well or amplification"
