"""results.hl7: HL7 v2.5.1 ORU^R01, one message per sample, parsed back with two maintained HL7
parsers (hl7apy validates the ORU^R01 structure of v2.5.1 strictly; python-hl7 unescapes)."""

from __future__ import annotations

import copy

import hl7
import pytest
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message

from esr1calls.errors import ConfigError
from esr1calls.reports.calls_json import to_json_document
from esr1calls.reports.hl7 import HL7_RESULTS, escape, parse_patient_id_system, render_hl7
from esr1calls.reports.options import ReportOptions
from esr1calls.testing import REPO, TESTDATA
from esr1calls.testing.golden import assert_golden
from esr1calls.testing.plates import DEMO_MAP
from esr1calls.testing.runs import NGS_COMMAND, PCR_COMMAND, ngs_run, pcr_run

EXPECTED = TESTDATA / "expected" / "reports" / "lis"
RUN_TIME = "2026-12-05T07:00:00Z"
SETTINGS = {
    "hl7_facility": "ONCO LAB",
    "hl7_receiver": "LIS^HOSPITAL",
    "patient_id_system": "HOSP^MR",
}
HOSTILE = "S|1^A~B\\C&D"
STATUS_ANSWERS = {
    "DETECTED": "LA9633-4",
    "NOT_DETECTED": "LA9634-2",
    "INDETERMINATE": "LA11884-6",
    "INVALID": "LA18198-4",
}


def pcr_document(samples=("S1", "S2", "S7")):
    """The demo plate's negative S1, positive S2 (with a patient id) and invalid S7."""
    document = to_json_document(pcr_run(), ReportOptions(PCR_COMMAND, reproducible=True))
    document["samples"] = [s for s in document["samples"] if s["sample_id"] in samples]
    for sample in document["samples"]:
        if sample["sample_id"] == "S2":
            sample["patient_id"] = "P-0042"
    document["run"]["utc_time"] = RUN_TIME
    return document


def ngs_document(names=("T01", "T02")):
    document = to_json_document(ngs_run(names), ReportOptions(NGS_COMMAND, reproducible=True))
    document["run"]["utc_time"] = RUN_TIME
    return document


def messages(text):
    """The messages of a results.hl7 text, each ending with its carriage return."""
    assert text and "\n" not in text, "segments end with a carriage return only"
    assert text.endswith("\r")
    first, *rest = text[:-1].split("\rMSH|")
    return [first + "\r", *("MSH|" + part + "\r" for part in rest)]


def render(document, **settings):
    return render_hl7(document, ReportOptions("x", settings={**SETTINGS, **settings}))


def test_pcr_messages_match_golden():
    text = render(pcr_document())
    # the golden file shows one segment a line (the repository's files are read with universal
    # newlines); the carriage returns are checked in messages()
    assert len(messages(text)) == 3
    assert_golden(text.replace("\r", "\n"), EXPECTED / "pcr.hl7.txt")


def test_ngs_messages_match_golden():
    assert_golden(render(ngs_document()).replace("\r", "\n"), EXPECTED / "ngs.hl7.txt")


@pytest.mark.parametrize("make", [pcr_document, ngs_document], ids=["pcr", "ngs"])
def test_every_message_is_a_valid_oru_r01_of_v2_5_1(make):
    document = make()
    found = messages(render(document))
    assert len(found) == len(document["samples"])
    for text in found:
        message = parse_message(text, validation_level=VALIDATION_LEVEL.STRICT, find_groups=True)
        message.validate()  # raises on a missing required field, a wrong order, a long value
        assert message.msh.msh_9.value == "ORU^R01^ORU_R01"
        assert message.msh.msh_12.value == "2.5.1"


def _parsed(document, **settings):
    return [hl7.parse(text) for text in messages(render(document, **settings))]


def test_segment_order_and_obx_groups_per_hotspot():
    document = ngs_document()
    for sample, message in zip(document["samples"], _parsed(document), strict=True):
        names = [str(segment[0]) for segment in message]
        assert names[:3] == ["MSH", "PID", "OBR"]
        first_obx = names.index("OBX")
        assert set(names[3:first_obx]) == {"NTE"}  # the limitations come before any result
        assert set(names[first_obx:]) <= {"OBX", "NTE"}
        obx = message.segments("OBX")
        assert [str(o[1]) for o in obx] == [str(n) for n in range(1, len(obx) + 1)]
        assert [str(o[3][0][0]) for o in obx[:2]] == ["51968-6", "81293-3"]
        assert [str(o[4]) for o in obx[:2]] == ["", ""]
        groups: dict[str, list[str]] = {}
        for o in obx[2:]:
            groups.setdefault(str(o[4]), []).append(str(o[3][0][0]))
        tested = [c for c in sample["calls"] if "NOT_TESTED" not in c["reasons"]]
        assert list(groups) == [str(n) for n in range(1, len(tested) + 1)]
        for codes, call in zip(groups.values(), tested, strict=True):
            expected = ["48018-6", "48004-6", "48005-3", "69548-6"]
            measured = call["allele_fraction"] is not None
            assert codes == expected + (["81258-6"] if measured else [])


def test_codes_follow_each_call_and_sample():
    document = pcr_document(samples=("S1", "S2", "S5", "S7"))
    overall = {"POSITIVE": "LA6576-8", "NEGATIVE": "LA6577-6", "INDETERMINATE": "LA9663-1",
               "INVALID": "LA9664-9"}  # fmt: skip
    for sample, message in zip(document["samples"], _parsed(document), strict=True):
        obx = message.segments("OBX")
        assert str(obx[0][5][0][0]) == overall[sample["status"]]
        assessments = [o for o in obx if str(o[3][0][0]) == "69548-6"]
        tested = [c for c in sample["calls"] if "NOT_TESTED" not in c["reasons"]]
        assert [str(o[5][0][0]) for o in assessments] == [
            STATUS_ANSWERS[c["status"]] for c in tested
        ]
        assert all(str(o[11]) == "P" for o in obx)  # preliminary: esr1calls never signs out
        genes = [str(o[5]) for o in obx if str(o[3][0][0]) == "48018-6"]
        assert genes == ["HGNC:3467^ESR1^HGNC"] * len(tested)
        c_hgvs = [str(o[5][0][0]) for o in obx if str(o[3][0][0]) == "48004-6"]
        assert c_hgvs == [c["hgvs_c"] for c in tested]


def test_a_pcr_estimate_is_never_sent_as_a_measured_allele_fraction():
    document = pcr_document()
    estimated = [c for s in document["samples"] for c in s["calls"] if c["allele_fraction"]]
    assert estimated, "the demo plate has semi-quantitative estimates"
    text = render(document)
    assert "81258-6" not in text
    assert "Semi-quantitative allele fraction estimate" in text
    ngs = render(ngs_document())
    assert "|81258-6^Sample variant allelic frequency [NFr]^LN|" in ngs


def test_a_negative_says_what_was_examined():
    text = render(pcr_document(samples=("S1",)))
    (message,) = _parsed(pcr_document(samples=("S1",)))
    assert str(message.segments("OBX")[0][5][0][0]) == "LA6577-6"
    regions = message.segments("OBX")[1]
    assert str(regions[3][0][0]) == "81293-3"
    assert str(regions[5]).split(", ") == [
        c["hotspot"] for c in pcr_document()["samples"][0]["calls"]
    ]
    segments = text.split("\r")
    note = segments[segments.index(next(s for s in segments if "|81293-3^" in s)) + 1]
    assert note.startswith("NTE|") and "each NOT_DETECTED excludes it at 0.2 %" in note
    assert "were not examined" in note


def test_limitations_are_notes_on_the_order():
    text = render(pcr_document(samples=("S1",)))
    notes = [line for line in text.split("\r") if line.startswith("NTE")]
    assert "Review status: unreviewed" in notes[0]
    assert any("PLACEHOLDER" in n for n in notes), "the demo kit holds placeholder values"


def test_the_patient_id_goes_to_pid_3_with_its_authority_or_the_sample_id_marked_as_such():
    by_id = {str(m.segment("OBR")[3][0][0]): m for m in _parsed(pcr_document())}
    assert str(by_id["S2"].segment("PID")[3]) == "P-0042^^^HOSP^MR"
    assert str(by_id["S1"].segment("PID")[3]) == "S1^^^^ACSN"  # an accession, not a patient
    uri = _parsed(pcr_document(), patient_id_system="https://hospital.example/mrn?x=1&y=2")
    pid = {str(m.segment("OBR")[3][0][0]): m.segment("PID") for m in uri}["S2"]
    assert str(pid[3][0][3]) == "&https://hospital.example/mrn?x=1\\T\\y=2&URI"
    assert str(pid[3][0][4]) == "MR"


def test_a_sample_id_with_every_delimiter_round_trips_escaped():
    document = ngs_document(names=(HOSTILE, '=HYPERLINK("x")'))
    message = _parsed(document)[0]
    assert len(message.segment("PID")) == 6  # no field was split by the id's own '|'
    assert message.unescape(str(message.segment("PID")[3][0][0])) == HOSTILE
    assert message.unescape(str(message.segment("OBR")[3][0][0])) == HOSTILE
    assert str(message.segment("PID")[3][0][4]) == "ACSN"
    # a line break from an input stays inside its field
    document["samples"][0]["summary"] = "two\r\nlines|and^more"
    text = render(document)
    assert len(messages(text)) == 2
    assert "two\\.br\\lines\\F\\and\\S\\more" in text


def test_escape_covers_every_delimiter_and_the_escape_character_first():
    assert escape("\\F\\") == "\\E\\F\\E\\"
    assert escape("a|b^c~d&e") == "a\\F\\b\\S\\c\\R\\d\\T\\e"
    assert escape("bell\x07") == "bell "


@pytest.mark.parametrize(
    "value", ["HOSP", "HOSP^", "^MR", "HO|SP^MR", "HOSP^M R", "not a uri", "http://x y", "a^b^c"]
)
def test_a_patient_id_system_that_is_neither_form_is_refused(value):
    with pytest.raises(ConfigError, match="--patient-id-system"):
        parse_patient_id_system(value)


def test_the_message_needs_no_clock_and_each_message_has_its_own_control_id():
    document = pcr_document()
    first, second = render(document), render(copy.deepcopy(document))
    assert first == second
    ids = [str(m.segment("MSH")[10]) for m in _parsed(document)]
    assert len(set(ids)) == 3 and all(len(i) == 20 for i in ids)
    assert all(str(m.segment("MSH")[7]) == "20261205070000+0000" for m in _parsed(document))
    changed = copy.deepcopy(document)
    changed["samples"][0]["calls"][0]["status"] = "INDETERMINATE"
    assert [str(m.segment("MSH")[10]) for m in _parsed(changed)] != ids
    document["run"]["utc_time"] = None  # --reproducible: no time recorded, none invented
    assert all(str(m.segment("MSH")[7]) == "" for m in _parsed(document))


def test_msh_names_the_facility_and_the_receiver():
    msh = _parsed(pcr_document())[0].segment("MSH")
    assert [str(msh[n]) for n in (3, 4, 5, 6)] == ["ESR1CALLS", "ONCO LAB", "LIS", "HOSPITAL"]
    plain = hl7.parse(messages(render_hl7(pcr_document(), ReportOptions("x")))[0])
    assert [str(plain.segment("MSH")[n]) for n in (4, 5)] == ["LAB", "LIS"]


# -------------------------------------------------------------------------------------- CLI
def _pcr_args(outdir, *extra):
    return ["pcr", REPO / "testdata" / "plates" / "esr1_demo_plate.tsv", "--plate-map", DEMO_MAP,
            "-o", outdir, "--reproducible", *extra]  # fmt: skip


def test_pcr_and_report_write_results_hl7(tmp_path, run_cli):
    result = run_cli(_pcr_args(tmp_path / "run", "--hl7", "--patient-id-system", "HOSP^MR"))
    assert result.exit_code == 0, result.stderr
    written = (tmp_path / "run" / HL7_RESULTS).read_bytes()
    assert written.startswith(b"MSH|^~\\&|ESR1CALLS|LAB|LIS|") and b"\n" not in written
    assert len(messages(written.decode("utf-8"))) == 9
    again = run_cli(["report", tmp_path / "run" / "calls.json", "-o", tmp_path / "re", "--hl7"])
    assert again.exit_code == 0, again.stderr
    assert len(messages((tmp_path / "re" / HL7_RESULTS).read_bytes().decode("utf-8"))) == 9


@pytest.mark.parametrize(
    "option, value",
    [("--patient-id-system", "HOSP"), ("--hl7-facility", "LAB|X"), ("--hl7-receiver", "A^B^C")],
)
def test_a_bad_hl7_option_is_one_line_and_writes_nothing(tmp_path, run_cli, option, value):
    result = run_cli(_pcr_args(tmp_path / "run", "--hl7", option, value))
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"esr1calls: error: {option} {value!r}: give ")
    assert not (tmp_path / "run").exists()
