from __future__ import annotations

import pytest

from esr1calls.errors import InputError
from esr1calls.model import WellRole
from esr1calls.pcr.kit import load_kit
from esr1calls.pcr.platemap import compare_names, describe_mismatches, read_plate_map
from esr1calls.testing.plates import DEMO_MAP


def _map(tmp_path, text, name="map.csv"):
    path = tmp_path / name
    path.write_text(text)
    return read_plate_map(path, load_kit())


def test_demo_map_reads():
    plate_map = read_plate_map(DEMO_MAP, load_kit())
    assert len(plate_map.entries) == 60
    assert plate_map.entries[0].role is WellRole.PC
    assert {e.sample_id for e in plate_map if e.role is WellRole.SAMPLE} == {
        f"S{i}" for i in range(1, 10)
    }


def test_semicolon_bom_zero_padded_wells_and_aliases(tmp_path):
    plate_map = _map(
        tmp_path, "\ufeffWell;Sample_ID;Role;Mix;Replicate\nA01;P1;sample;RM1;2\nB1;;ntc;RM1;1\n"
    )
    first, second = plate_map.entries
    assert (first.well, first.sample_id, first.role, first.replicate) == (
        "A1",
        "P1",
        WellRole.SAMPLE,
        2,
    )
    assert (second.sample_id, second.role) == ("NTC", WellRole.NTC)


@pytest.mark.parametrize(
    "text, message",
    [
        ("well,sample_id,role\nA1,S1,SAMPLE\n", r"line 1: column mix is missing"),
        ("well,sample_id,role,mix\nZ9,S1,SAMPLE,RM1\n", r"line 2: well 'Z9' is not a well"),
        ("well,sample_id,role,mix\nA1,S1,PATIENT,RM1\n", r"line 2: role 'PATIENT' is not one of"),
        ("well,sample_id,role,mix\nA1,S1,SAMPLE,RM9\n", r"line 2: mix 'RM9' is not a mix of kit"),
        ("well,sample_id,role,mix\nA1,,SAMPLE,RM1\n", r"line 2: a SAMPLE well needs a sample_id"),
        ("well,sample_id,role,mix\nA1,S1,SAMPLE,RM1\nA01,S2,SAMPLE,RM2\n",
         r"line 3: well A1 is listed twice \(first on line 2\)"),
        ("well,sample_id,role,mix,replicate\nA1,S1,SAMPLE,RM1,0\n", r"replicate '0' must be"),
        ("", r"the plate map is empty"),
        ("well,sample_id,role,mix\nA1,S1,SAMPLE,RM1,2\n",
         r"line 2: 5 values for 4 columns .*name the extra column in the header"),
    ],
)  # fmt: skip
def test_bad_plate_maps_name_file_and_line(tmp_path, text, message):
    with pytest.raises(InputError, match=message) as info:
        _map(tmp_path, text)
    assert str(info.value).startswith("map.csv")


def test_errors_name_the_line_of_the_file_past_comments_and_blank_lines(tmp_path):
    text = (
        "# plate map for run 42\n\nwell,sample_id,role,mix\n# controls\nA1,PC,PC,RM1\n\n"
        "A2,S1,PATIENT,RM1\n"
    )
    with pytest.raises(InputError, match=r"line 7: role 'PATIENT'"):
        _map(tmp_path, text)
    with pytest.raises(InputError, match=r"line 3: column mix is missing"):
        _map(tmp_path, "# header follows\n\nwell,sample_id,role\nA1,S1,SAMPLE\n")
    good = _map(tmp_path, text.replace("PATIENT", "SAMPLE"))
    assert [e.row for e in good] == [5, 7]


def test_plate_column_selects_entries(tmp_path):
    plate_map = _map(
        tmp_path, "well,sample_id,role,mix,plate\nA1,S1,SAMPLE,RM1,run1\nA1,S2,SAMPLE,RM1,run2\n"
    )
    assert [e.sample_id for e in plate_map.for_plate("run2")] == ["S2"]
    assert plate_map.plates == ("run1", "run2")


def test_trailing_empty_cells_from_a_spreadsheet_are_fine(tmp_path):
    plate_map = _map(
        tmp_path, "well,sample_id,role,mix,,\nA1,S1,SAMPLE,RM1,,\nA2,S2,SAMPLE,RM1,,\n"
    )
    assert [e.sample_id for e in plate_map] == ["S1", "S2"]


# --------------------------------------------------------------------------- the export's names
KIT = load_kit()
DEMO = read_plate_map(DEMO_MAP, KIT)


def _names(changes=None, targets=None):
    """The demo map's own names (as the demo exports write them), with some wells renamed."""
    samples = {e.well: (e.sample_id,) for e in DEMO}
    samples.update({well: (name,) for well, name in (changes or {}).items()})
    named = {
        (e.well, channel): ("ESR1_REF" if target == "REF" else target)
        for e in DEMO
        for channel, target in KIT.mixes[e.mix].items()
    }
    named.update(targets or {})
    return samples, named


def _compare(changes=None, targets=None, entries=DEMO.entries):
    samples, named = _names(changes, targets)
    return compare_names(entries, samples, named, KIT)


def test_the_demo_exports_names_agree_with_the_demo_map():
    check = _compare()
    assert check.mismatches == ()
    assert check.samples == {"contradict": 0, "agree": 60, "unknown": 0, "generic": 0}
    assert check.targets == {"contradict": 0, "agree": 204, "unknown": 0, "generic": 0}


def test_two_samples_labels_swapped_put_both_in_doubt():
    check = _compare({"A4": "S2", "B4": "S2", "A5": "S1"})
    assert [(m.well, m.exported, m.samples, m.control) for m in check.mismatches] == [
        ("A4", "S2", ("S1", "S2"), False),
        ("B4", "S2", ("S1", "S2"), False),
        ("A5", "S1", ("S2", "S1"), False),
    ]
    assert describe_mismatches(check.mismatches) == [
        "wells A4, B4: the export names 'S2' (in the map, S2 is in A5, B5, C5, D5, E5), "
        "the map S1 (SAMPLE)",
        "well A5: the export names 'S1' (in the map, S1 is in A4, B4, C4, D4, E4), "
        "the map S2 (SAMPLE)",
    ]
    assert check.samples["contradict"] == 3 and check.samples["agree"] == 57


@pytest.mark.parametrize(
    "name",
    ["", "Sample 1", "Sample1", "sample_12", "Unknown", "UNKN", "Unk", "NA", "n/a", "-",
     "Standard 3", "Std 10", "STD_RNase P_10000.0", "Target 2", "Well 7", "  "],
)  # fmt: skip
def test_generic_names_never_contradict(name):
    check = _compare({well: name for well in ("A4", "A1", "A2", "A3")})
    assert check.mismatches == ()
    assert check.samples["generic"] == 4 and check.samples["agree"] == 56


def test_the_wells_own_position_is_generic_and_another_position_unknown():
    check = _compare({"A4": "A4", "B4": "b04", "C4": "Well C4", "D4": "C07"})
    assert check.mismatches == () and check.samples["generic"] == 3
    assert check.samples["unknown"] == 1  # C07 is no sample id: unknown, not a contradiction


def test_names_the_map_does_not_know_are_listed_not_contradictions():
    barcodes = {e.well: f"BC-{100 + i}" for i, e in enumerate(DEMO) if e.role.value == "SAMPLE"}
    check = _compare(barcodes)
    assert check.mismatches == ()
    assert check.samples["unknown"] == 45 and check.sample_wells_agreeing == 0
    assert check.unknown_sample_names[:2] == ("BC-115", "BC-116")


@pytest.mark.parametrize("name", ["s1", " S1 ", "S01", "s001", "\uff33\uff11"])
def test_case_spaces_width_and_zero_padding_are_folded(name):
    assert _compare({"A4": name}).mismatches == ()


def test_zero_padding_is_kept_when_the_map_itself_has_s01_and_s1(tmp_path):
    plate_map = _map(
        tmp_path,
        "well,sample_id,role,mix\nA1,S01,SAMPLE,RM1\nA2,S1,SAMPLE,RM1\n",
    )
    found = compare_names(plate_map.entries, {"A1": ("S1",), "A2": ("S1",)}, {}, KIT)
    assert [(m.well, m.exported, m.samples) for m in found.mismatches] == [
        ("A1", "S1", ("S01", "S1"))
    ]


@pytest.mark.parametrize(
    "well, name, contradicts, control",
    [
        ("A4", "NTC", True, False),  # a no-template control where the map has S1
        ("A4", "No template control", True, False),
        ("A4", "Positive Control", True, False),
        ("A4", "H2O", True, False),
        ("A1", "NTC", True, True),  # the map's PC well
        ("A2", "PC", True, True),  # the map's NTC well
        ("A3", "S3", True, True),  # a patient where the map has the WT control
        ("A2", "No-template control", False, False),
        ("A2", "NTC 2", False, False),
        ("B1", "PC-RM2", False, False),
        ("A2", "Neg Ctrl", False, False),  # CFX: NTC...
        ("A3", "Neg Ctrl", False, False),  # ...and the WT control
        ("A1", "Neg Ctrl", True, True),
        ("A3", "Wild-type", False, False),
        ("A4", "positive", False, False),  # a word, not a control's name: unknown
    ],
)
def test_control_names_against_the_maps_roles(well, name, contradicts, control):
    check = _compare({well: name})
    assert bool(check.mismatches) is contradicts
    if contradicts:
        [mismatch] = check.mismatches
        assert mismatch.control is control
        assert mismatch.samples == (("S1",) if well == "A4" else ("S3",) if name == "S3" else ())


@pytest.mark.parametrize(
    "name, agrees",
    [
        ("D538G", True), ("d538g", True), ("ESR1 D538G", True), ("D538G-FAM", True),
        ("p.(Asp538Gly)", True), ("ESR1_D538G mut", True),
        ("Target 1", None), ("FAM", None), ("", None), ("Unknown", None), ("ESR1 mut FAM", None),
        ("FAM (465-510)", None), ("ESR1", None),
        ("Y537S/C", None),  # two hotspots in one name: not read as either
        ("BRCA1", None),
        ("Y537S", False), ("Y537D", False), ("IC", False), ("ESR1_REF", False), ("RM2", False),
    ],
)  # fmt: skip
def test_target_names_in_well_a4_fam_where_the_map_puts_rm1(name, agrees):
    check = _compare(targets={("A4", "FAM"): name})
    if agrees is None:
        assert check.mismatches == () and check.targets["agree"] == 203
    elif agrees:
        assert check.mismatches == () and check.targets["agree"] == 204
    else:
        [mismatch] = check.mismatches
        assert (mismatch.well, mismatch.channel, mismatch.samples) == ("A4", "FAM", ("S1",))


def test_a_target_contradiction_names_both_sides():
    check = _compare(targets={("B3", "FAM"): "D538G", ("A6", "CY5"): "RM2", ("D6", "ROX"): "IC"})
    assert describe_mismatches(check.mismatches) == [
        "well B3 FAM: the export names target 'D538G' (kit: mix RM1 FAM), the map's mix RM2 has "
        "Y537S there",
        "well A6 CY5: the export names mix 'RM2', the map mix RM1",
        "well D6 ROX: the export names target 'IC', the map's mix RM4 has no target in ROX",
    ]
    assert [m.control for m in check.mismatches] == [True, False, False]


def test_empty_wells_and_wells_the_export_lacks_are_not_compared(tmp_path):
    plate_map = _map(tmp_path, "well,sample_id,role,mix\nA1,S1,SAMPLE,RM1\nA2,,EMPTY,\n")
    found = compare_names(plate_map.entries, {"A2": ("S1",)}, {("A2", "FAM"): "Y537S"}, KIT)
    assert found.mismatches == () and sum(found.samples.values()) == 0
