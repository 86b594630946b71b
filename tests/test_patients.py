"""Whose sample and when: ISO dates, patient ids, the sample sheet, the plate map's patient_id
and collected columns, and --patient/--collected on pcr and ngs, recorded in calls.json."""

from __future__ import annotations

import dataclasses
import json

import pytest

from esr1calls.errors import ConfigError, InputError
from esr1calls.patients import check_collected, check_patient_id, read_sample_sheet, with_patient
from esr1calls.pcr.kit import load_kit
from esr1calls.pcr.platemap import read_plate_map
from esr1calls.pcr.run import call_pcr
from esr1calls.testing import TESTDATA
from esr1calls.testing.plates import DEMO_MAP, demo_plate
from esr1calls.testing.runs import ngs_run

ONE_SAMPLE_VCF = TESTDATA / "vcf" / "generic" / "esr1_ad_dp.vcf"


@pytest.mark.parametrize("text", ["2024-03-05", " 2024-03-05", "2024-02-29", "1900-01-01"])
def test_iso_dates_are_kept(text):
    assert check_collected(text) == text.strip()


@pytest.mark.parametrize(
    "text",
    ["05/03/2024", "2024-3-5", "20240305", "2024-03-05T10:00", "2023-02-29", "2024-13-01",
     "1899-12-31", "", "2024-03-05 10:00", "２０２４-03-05"],
)  # fmt: skip
def test_anything_else_is_refused_never_guessed(text):
    with pytest.raises(ValueError, match="collected"):
        check_collected(text)


@pytest.mark.parametrize("text", ["", "  ", "P\t1", "P\n1", "x" * 201])
def test_patient_ids_that_would_break_a_table_are_refused(text):
    with pytest.raises(ValueError, match="patient id"):
        check_patient_id(text)


# ----------------------------------------------------------------------------- the sample sheet
def _sheet(tmp_path, text, name="sheet.tsv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_tab_separated_sheet_is_read_with_its_lines(tmp_path):
    path = _sheet(
        tmp_path,
        "# trial ESR1-MON\nSample_ID\tPatient ID\tcollected\tnote\tvisit\n\n"
        "S1\tPT1\t2024-01-05\tbaseline\tV1\nplate7:S1\tPT2\t2024-02-01\t\tV2\n",
    )
    sheet = read_sample_sheet(path)
    assert [(r.sample_id, r.patient_id, r.collected, r.note, r.line) for r in sheet.rows] == [
        ("S1", "PT1", "2024-01-05", "baseline", 4),
        ("plate7:S1", "PT2", "2024-02-01", "", 5),
    ]


def test_a_comma_separated_sheet_with_quoted_commas(tmp_path):
    path = _sheet(
        tmp_path, 'sample_id,patient_id,collected,note\nS1,PT1,2024-01-05,"C1D1, pre-dose"\n'
    )
    assert read_sample_sheet(path).rows[0].note == "C1D1, pre-dose"


@pytest.mark.parametrize(
    "text, message",
    [
        ("sample_id,patient\nS1,P1\n", "line 1: column patient_id, collected is missing"),
        ("sample_id,patient_id,collected\nS1,P1,05/01/2024\n",
         "line 2: sample 'S1': collected '05/01/2024' is not an ISO date"),
        ("sample_id,patient_id,collected\nS1,P1,2024-01-05\nS1,P2,2024-02-05\n",
         "line 3: sample 'S1' is listed twice (first on line 2)"),
        ("sample_id,patient_id,collected\nS1,,2024-01-05\n", "line 2: sample 'S1': the patient id"),
        ("sample_id,patient_id,collected\nS1,P1\n", "line 2: expected 3 columns"),
        ("sample_id,patient_id,collected\nS1,P1,2024-01-05,x\n", "line 2: 4 values for 3 columns"),
        ("sample_id,patient_id,collected\n", "the sample sheet lists no samples"),
        ("", "the sample sheet is empty"),
        ("sample_id,patient_id,collected,patient_id\nS1,P1,2024-01-05,P2\n",
         "column patient_id is named twice"),
    ],
)  # fmt: skip
def test_a_bad_sheet_is_one_error_naming_the_line(tmp_path, text, message):
    with pytest.raises(InputError) as caught:
        read_sample_sheet(_sheet(tmp_path, text))
    assert str(caught.value).startswith("sheet.tsv")
    assert message in str(caught.value)


# ----------------------------------------------------------------------------- the plate map
def _map_with_patients(tmp_path, rows: dict[str, tuple[str, str]], extra: str = ""):
    """The demo map with patient_id and collected columns: sample -> (patient, collected), each
    written on the sample's first well only."""
    lines = DEMO_MAP.read_text(encoding="utf-8").splitlines()
    out, seen = [lines[0] + ",patient_id,collected"], set()
    for line in lines[1:]:
        sample = line.split(",")[1]
        patient, collected = rows.get(sample, ("", "")) if sample not in seen else ("", "")
        seen.add(sample)
        out.append(f"{line},{patient},{collected}")
    path = tmp_path / "map.csv"
    path.write_text("\n".join(out) + "\n" + extra, encoding="utf-8")
    return path


def test_plate_map_patient_columns_reach_every_well_and_calls_json(tmp_path, validate_calls_json,
                                                                   run_cli):  # fmt: skip
    path = _map_with_patients(tmp_path, {"S1": ("PT-1", "2024-01-05"), "S2": ("PT-2", "")})
    plate_map = read_plate_map(path, load_kit(None))
    s1 = [e for e in plate_map if e.sample_id == "S1"]
    assert len(s1) == 5 and {(e.patient_id, e.collected) for e in s1} == {("PT-1", "2024-01-05")}
    samples = {s.sample_id: s for s in call_pcr([demo_plate()], path).samples}
    assert (samples["S1"].patient_id, samples["S1"].collected) == ("PT-1", "2024-01-05")
    assert (samples["S2"].patient_id, samples["S2"].collected) == ("PT-2", None)
    assert (samples["S3"].patient_id, samples["S3"].collected) == (None, None)
    export = TESTDATA / "plates" / "esr1_demo_plate.tsv"
    result = run_cli(["pcr", export, "--plate-map", path, "-o", tmp_path / "out", "--format",
                      "generic"])  # fmt: skip
    assert result.exit_code == 0, result.stderr
    document = validate_calls_json(tmp_path / "out" / "calls.json")
    by_id = {s["sample_id"]: s for s in document["samples"]}
    assert by_id["S1"]["patient_id"] == "PT-1" and by_id["S1"]["collected"] == "2024-01-05"
    assert "collected" not in by_id["S2"] and "patient_id" not in by_id["S3"]


def test_a_sample_given_two_patients_in_the_map_is_refused(tmp_path):
    path = _map_with_patients(tmp_path, {"S1": ("PT-1", "2024-01-05")})
    lines = path.read_text().splitlines()
    second = next(i for i, line in enumerate(lines) if line.split(",")[1] == "S1" and
                  line.endswith(",,"))  # fmt: skip
    lines[second] = lines[second][:-2] + ",PT-9,"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=rf"line {second + 1}: sample S1 has patient_id 'PT-9' "
                       r"here but 'PT-1' on line \d+; one sample has one patient_id"):  # fmt: skip
        read_plate_map(path, load_kit(None))


def test_a_control_well_with_a_patient_is_refused(tmp_path):
    path = _map_with_patients(tmp_path, {"PC": ("PT-1", "")})
    with pytest.raises(InputError, match="line 2: a PC well has a patient_id or collected date"):
        read_plate_map(path, load_kit(None))


def test_a_map_date_that_is_not_iso_names_its_line(tmp_path):
    path = _map_with_patients(tmp_path, {"S4": ("PT-4", "4/1/2024")})
    with pytest.raises(InputError, match=r"map.csv, line \d+: collected '4/1/2024' is not an ISO"):
        read_plate_map(path, load_kit(None))


# ----------------------------------------------------------------------------- --patient
def test_with_patient_refuses_a_run_of_several_samples():
    result = call_pcr([demo_plate()], DEMO_MAP)
    with pytest.raises(ConfigError, match=r"--patient name the patient of one sample, but this "
                       r"run holds 9 samples \(S1, S2, S3, S4, S5, \.\.\.\)"):  # fmt: skip
        with_patient(result, "PT-1", None)
    assert with_patient(result, None, None) is result


def test_with_patient_records_one_sample_and_refuses_a_contradiction():
    full = ngs_run()
    run = dataclasses.replace(full, samples=full.samples[:1])
    done = with_patient(run, "PT-1", "2024-05-06")
    assert (done.samples[0].patient_id, done.samples[0].collected) == ("PT-1", "2024-05-06")
    assert with_patient(done, "PT-1", None).samples[0].collected == "2024-05-06"
    with pytest.raises(ConfigError, match="--patient 'PT-2' contradicts the plate map"):
        with_patient(done, "PT-2", None)
    not_iso = r"--collected: collected '6\.5\.2024' is not an ISO date"
    with pytest.raises(ConfigError, match=not_iso):
        with_patient(run, None, "6.5.2024")


def test_ngs_patient_and_collected_are_recorded_in_calls_json(tmp_path, run_cli,
                                                               validate_calls_json):  # fmt: skip
    out = tmp_path / "out"
    args = ["ngs", ONE_SAMPLE_VCF, "-o", out, "--patient", "PT-7", "--collected", "2024-06-01"]
    result = run_cli(args)
    assert result.exit_code == 0, result.stderr
    document = validate_calls_json(out / "calls.json")
    (sample,) = document["samples"]
    assert (sample["patient_id"], sample["collected"]) == ("PT-7", "2024-06-01")
    bad = run_cli([*args[:-1], "2024-06-31"])
    assert bad.exit_code == 1
    assert bad.stderr.strip() == (
        "esr1calls: error: --patient and --collected: collected '2024-06-31' is not a date of "
        "the calendar"
    )


def test_pcr_patient_on_a_plate_of_samples_is_a_usage_error_naming_the_way(tmp_path, run_cli):
    export = TESTDATA / "plates" / "esr1_demo_plate.tsv"
    result = run_cli(["pcr", export, "--plate-map", DEMO_MAP, "-o", tmp_path / "o", "--format",
                      "generic", "--patient", "PT-1"])  # fmt: skip
    assert result.exit_code == 1
    assert "the plate map's patient_id and collected columns" in result.stderr
    assert not (tmp_path / "o" / "calls.json").exists()


def test_old_documents_without_patients_stay_valid(validate_calls_json, tmp_path):
    golden = TESTDATA / "expected" / "reports" / "pcr" / "calls.json"
    document = json.loads(golden.read_text())
    document["schema_version"] = "1.4.0"
    (tmp_path / "old.json").write_text(json.dumps(document))
    validate_calls_json(tmp_path / "old.json")
