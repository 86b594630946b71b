from __future__ import annotations

import pytest

from esr1calls.errors import InputError
from esr1calls.kit import load_kit
from esr1calls.model import WellRole
from esr1calls.platemap import read_plate_map

from .plate_factory import DEMO_MAP


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
