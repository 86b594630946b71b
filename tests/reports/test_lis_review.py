"""The sign-off reaches the LIS formats: ``esr1calls sign`` renders results.hl7 and
results_lis.csv again from calls.json and the verified review (lis_review.py), inside the same
locked, atomic sign-off, and verify covers them. Every message is parsed with hl7apy (strict
v2.5.1 ORU^R01) and python-hl7; the CSV with the csv module."""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import re
from pathlib import Path

import hl7
import pytest
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message

from esr1calls.audit import parse_overrides, review_summary, sign, verify
from esr1calls.errors import AuditError, ConfigError
from esr1calls.reports.hl7 import HL7_RESULTS, render_hl7, settings_of
from esr1calls.reports.lis import LIS_COLUMNS, LIS_CSV, render_lis_csv
from esr1calls.reports.options import ReportOptions
from esr1calls.reports.write import write_document
from esr1calls.testing.golden import assert_golden

from .test_hl7 import EXPECTED, SETTINGS, messages, ngs_document, pcr_document
from .test_lis import rows

T0 = dt.datetime(2026, 3, 2, 9, 15, tzinfo=dt.UTC)
D538G = "S1:D538G=DETECTED"  # S1 is NEGATIVE; its D538G NOT_DETECTED (delta-Ct 9.23, cut-off 9.0)


def clock(start: dt.datetime = T0):
    """A clock that advances a minute a call, from 2026-03-02T09:15:00Z."""
    moments = iter(start + dt.timedelta(minutes=i) for i in range(100))
    return lambda: next(moments)


def write_folder(outdir: Path, document=None, **settings) -> Path:
    """A report folder with results.hl7 and results_lis.csv, as --hl7 --lis-csv write it."""
    options = ReportOptions(
        "x", formats=frozenset({"hl7", "lis_csv"}), settings={**SETTINGS, **settings}
    )
    write_document(document or pcr_document(), outdir, options)
    return outdir


@pytest.fixture
def folder(tmp_path) -> Path:
    return write_folder(tmp_path / "results")


def signoff(outdir: Path, reviewer: str, decision: str = "approve", tick=None, **kwargs):
    overrides = kwargs.pop("overrides", None)
    requests = parse_overrides(*overrides) if overrides else ()
    return sign(outdir, reviewer=reviewer, decision=decision, overrides=requests,
                clock=tick or clock(), **kwargs)  # fmt: skip


def hl7_text(outdir: Path) -> str:
    return (outdir / HL7_RESULTS).read_bytes().decode("utf-8")  # no newline translation


def parsed(outdir: Path) -> dict[str, hl7.Message]:
    """Each message of results.hl7, validated strictly by hl7apy, parsed by python-hl7, by
    sample id."""
    found = {}
    for text in messages(hl7_text(outdir)):
        strict = parse_message(text, validation_level=VALIDATION_LEVEL.STRICT, find_groups=True)
        strict.validate()
        message = hl7.parse(text)
        found[str(message.segment("OBR")[3][0][0])] = message
    return found


def lis(outdir: Path) -> list[dict[str, str]]:
    return rows((outdir / LIS_CSV).read_bytes().decode("utf-8"))


def code(obx) -> str:
    return str(obx[3][0][0])


def assessment(message: hl7.Message, hotspot_number: int):
    return next(
        o
        for o in message.segments("OBX")
        if code(o) == "69548-6" and str(o[4]) == str(hotspot_number)
    )


def row(table, sample: str, hotspot: str) -> dict[str, str]:
    return next(r for r in table if (r["sample_id"], r["hotspot"]) == (sample, hotspot))


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --------------------------------------------------------------------------- not signed
def test_unsigned_results_stay_preliminary_and_unreviewed(folder):
    for message in parsed(folder).values():
        assert str(message.segment("OBR")[25]) == "P"
        assert {str(o[11]) for o in message.segments("OBX")} == {"P"}
        assert "Review status: unreviewed" in str(message.segments("NTE")[0][3])
        assert str(message.segment("OBR")[22]) == "20261205070000+0000"  # the run's time
    table = lis(folder)
    assert {r["result_status"] for r in table} == {"P"}
    assert {r["review_status"] for r in table} == {"unreviewed"}
    assert {
        r["reviewer"] + r["review_time"] + r["signoff"] + r["original_call"] for r in table
    } == {""}


# ------------------------------------------------------------------------------ approve
def test_an_approval_makes_every_result_final_and_names_the_reviewer(folder):
    unsigned_ids = {s: str(m.segment("MSH")[10]) for s, m in parsed(folder).items()}
    entry = signoff(folder, "A. Chen", comment="run log checked")
    assert verify(folder).ok
    assert entry.files[HL7_RESULTS] == sha(folder / HL7_RESULTS)  # the audit line covers them
    assert entry.files[LIS_CSV] == sha(folder / LIS_CSV)
    found = parsed(folder)
    assert list(found) == ["S1", "S2", "S7"]
    for sample_id, message in found.items():
        obr, msh = message.segment("OBR"), message.segment("MSH")
        assert str(obr[25]) == "F"
        assert {str(o[11]) for o in message.segments("OBX")} == {"F"}
        assert str(obr[32][0][0][1]) == "A. Chen"  # principal result interpreter (CNN name)
        assert {str(o[16][0][1]) for o in message.segments("OBX")} == {"A. Chen"}
        assert str(obr[22]) == str(msh[7]) == "20260302091500+0000"  # the review's time
        assert str(msh[10]) != unsigned_ids[sample_id]  # a LIS would drop a repeated control id
        note = str(message.segments("NTE")[0][3])
        assert note.startswith("Review status: approved by A. Chen at 2026-03-02T09:15:00Z")
        assert note.endswith("Comment: run log checked")
        # the addressing the file was written with is kept
        assert [str(msh[n]) for n in (4, 5, 6)] == ["ONCO LAB", "LIS", "HOSPITAL"]
    assert str(found["S2"].segment("PID")[3]) == "P-0042^^^HOSP^MR"
    table = lis(folder)
    assert list(table[0]) == list(LIS_COLUMNS)
    assert {r["result_status"] for r in table} == {"F"}
    assert {(r["review_status"], r["reviewer"], r["review_time"], r["signoff"]) for r in table} == {
        ("approved", "A. Chen", "2026-03-02T09:15:00Z", "1")
    }
    assert {r["review_comment"] for r in table} == {"run log checked"}
    assert {r["original_call"] for r in table} == {""}
    assert row(table, "S2", "D538G")["result"] == "Present"


def test_an_override_in_the_first_approval_is_final_and_carries_the_reviewer_call(folder):
    signoff(folder, "A. Chen", overrides=([D538G], ["seen on NGS at 1.1 %"]))
    s1 = parsed(folder)["S1"]
    d538g = assessment(s1, 11)
    assert str(d538g[5][0][0]) == "LA9633-4" and str(d538g[11]) == "F"  # nothing final was sent
    overall = s1.segments("OBX")[0]
    assert str(overall[5][0][0]) == "LA6576-8" and str(overall[11]) == "F"  # POSITIVE now
    assert str(s1.segment("OBR")[25]) == "F"
    text = hl7_text(folder)
    assert (
        "Changed at review by A. Chen at 2026-03-02T09:15:00Z (sign-off 1): esr1calls called "
        "NOT_DETECTED; the reviewer's call is DETECTED. Reason: seen on NGS at 1.1 %"
    ) in text
    assert "POSITIVE after review by A. Chen" in text and "result was NEGATIVE" in text
    table = lis(folder)
    changed = row(table, "S1", "D538G")
    assert (changed["call"], changed["result"], changed["result_code"]) == (
        "DETECTED", "Present", "LA9633-4"
    )  # fmt: skip
    assert (changed["original_call"], changed["override_reason"]) == (
        "NOT_DETECTED", "seen on NGS at 1.1 %"
    )  # fmt: skip
    assert {r["sample_result"] for r in table if r["sample_id"] == "S1"} == {"POSITIVE"}
    assert {r["result_status"] for r in table} == {"F"}
    assert row(table, "S1", "Y537S")["original_call"] == ""


def test_an_override_after_a_final_was_sent_is_a_correction_and_the_latest_wins(folder):
    tick = clock()
    first = signoff(folder, "A. Chen", tick=tick)
    signoff(folder, "B. Li", tick=tick, overrides=([D538G], ["seen on NGS"]))
    lines = (folder / "audit.jsonl").read_bytes().splitlines()
    assert json.loads(lines[1])["prev"] == hashlib.sha256(first.line()).hexdigest()
    result = verify(folder)
    assert result.ok and [e.reviewer for e in result.entries] == ["A. Chen", "B. Li"]
    found = parsed(folder)
    s1 = found["S1"]
    assert str(assessment(s1, 11)[11]) == "C"  # replaces the final value sign-off 1 sent
    assert str(s1.segments("OBX")[0][11]) == "C"  # NEGATIVE -> POSITIVE
    assert str(assessment(s1, 10)[11]) == "F"  # unchanged since the final
    assert str(s1.segment("OBR")[25]) == "C"  # corrected, final
    assert str(s1.segment("OBR")[32][0][0][1]) == "B. Li"  # the latest sign-off
    assert {str(o[11]) for o in found["S2"].segments("OBX")} == {"F"}
    assert str(found["S2"].segment("OBR")[25]) == "F"
    table = lis(folder)
    corrected = [(r["sample_id"], r["hotspot"]) for r in table if r["result_status"] == "C"]
    assert corrected == [("S1", "D538G")]
    assert {r["signoff"] for r in table} == {"2"} and {r["reviewer"] for r in table} == {"B. Li"}
    # the reviewer changes it back: a correction again (the LIS holds DETECTED as final)
    signoff(folder, "C. Wu", tick=tick, overrides=(["S1:D538G=NOT_DETECTED"], ["re-read"]))
    s1 = parsed(folder)["S1"]
    assert str(assessment(s1, 11)[5][0][0]) == "LA9634-2" and str(assessment(s1, 11)[11]) == "C"
    # approved again with no change: final, no longer a correction
    signoff(folder, "D. Ho", tick=tick)
    s1 = parsed(folder)["S1"]
    assert {str(o[11]) for o in s1.segments("OBX")} == {"F"}
    assert str(s1.segment("OBR")[25]) == "F"
    assert verify(folder).ok


def test_an_ngs_override_keeps_the_measured_fraction_beside_the_reviewer_call(tmp_path):
    """T01's D538G was measured at 1.24 %: the reviewer's INVALID is sent as No call, and the
    fraction stays what it was, a measurement (final), with the reason in the NTE."""
    outdir = write_folder(tmp_path / "ngs", ngs_document())
    signoff(outdir, "A. Chen", overrides=(["T01:D538G=INVALID"], ["index hopping from T02's lane"]))
    t01 = parsed(outdir)["T01"]
    d538g = next(
        o for o in t01.segments("OBX") if code(o) == "69548-6" and "LA18198-4" in str(o[5])
    )
    fraction = [
        o for o in t01.segments("OBX") if code(o) == "81258-6" and str(o[4]) == str(d538g[4])
    ]
    assert [(str(o[5]), str(o[11])) for o in fraction] == [("0.0124474", "F")]
    assert str(d538g[11]) == "F" and str(d538g[17][0][1]) == "Sequencing"
    overall = t01.segments("OBX")[0]
    assert str(overall[5][0][0]) == "LA9663-1"  # POSITIVE -> INDETERMINATE (Y537S stays so)
    assert "esr1calls called DETECTED" in hl7_text(outdir)
    changed = row(lis(outdir), "T01", "D538G")
    assert (changed["call"], changed["original_call"], changed["allele_fraction"]) == (
        "INVALID", "DETECTED", "0.0124474"
    )  # fmt: skip
    assert changed["sample_result"] == "INDETERMINATE"


# ------------------------------------------------------------------------------- reject
@pytest.mark.parametrize(
    "approved_first", [False, True], ids=["rejected", "approved-then-rejected"]
)
def test_a_rejection_sends_no_result(folder, approved_first):
    tick = clock()
    if approved_first:
        signoff(folder, "A. Chen", tick=tick, overrides=([D538G], ["seen on NGS"]))
    signoff(folder, "B. Li", "reject", tick=tick, comment="NTC amplified late")
    assert verify(folder).ok
    for message in parsed(folder).values():
        assert str(message.segment("OBR")[25]) == "X"
        obx = message.segments("OBX")
        assert {str(o[11]) for o in obx} == {"X"}
        assert {str(o[5]) for o in obx} == {""}  # no value of a rejected result
        notes = [str(n[3]) for n in message.segments("NTE")]
        assert notes[0].startswith("Review status: rejected by B. Li at ")
        assert "these results must not be reported" in notes[0]
        assert notes[0].endswith("Comment: NTC amplified late")
        assert not any("esr1calls call" in n or "Changed at review" in n for n in notes)
    text = hl7_text(folder)
    assert "LA9633-4" not in text and "LA6576-8" not in text
    table = lis(folder)
    assert {r["result_status"] for r in table} == {"X"}
    assert {r["review_status"] for r in table} == {"rejected"}
    for column in ("result", "result_code", "call", "allele_fraction", "sample_result",
                   "sample_result_code", "original_call", "override_reason"):  # fmt: skip
        assert {r[column] for r in table} == {""}, column
    # approved after the rejection: final again, nothing corrected (no final stood before)
    if not approved_first:
        signoff(folder, "C. Wu", tick=tick)
        assert {str(o[11]) for m in parsed(folder).values() for o in m.segments("OBX")} == {"F"}


# ------------------------------------------------------------- a record that does not verify
@pytest.mark.parametrize("name", [HL7_RESULTS, LIS_CSV])
def test_one_byte_of_a_lis_file_changed_after_sign_off_is_named(folder, name):
    signoff(folder, "A. Chen")
    path = folder / name
    data = bytearray(path.read_bytes())
    at = data.index(b"F" if name == HL7_RESULTS else b"approved")
    data[at : at + 1] = b"P" if name == HL7_RESULTS else b"A"
    path.write_bytes(bytes(data))
    result = verify(folder)
    assert not result.ok
    assert result.problem.startswith(f"{path}: changed since sign-off 1 (sha256 now ")


@pytest.mark.parametrize("name", [HL7_RESULTS, LIS_CSV])
def test_a_lis_file_deleted_or_put_back_unsigned_is_named(folder, tmp_path, name):
    unsigned = (folder / name).read_bytes()
    signoff(folder, "A. Chen")
    (folder / name).unlink()
    assert verify(folder).problem == f"{folder / name}: missing; sign-off 1 covers it"
    (folder / name).write_bytes(unsigned)  # the preliminary file put back
    assert verify(folder).problem.startswith(f"{folder / name}: changed since sign-off 1")


def test_calls_json_changed_after_sign_off_makes_the_lis_files_preliminary(folder):
    signoff(folder, "A. Chen", overrides=([D538G], ["seen on NGS"]))
    before = {name: (folder / name).read_bytes() for name in (HL7_RESULTS, LIS_CSV)}
    calls = folder / "calls.json"
    document = json.loads(calls.read_bytes())
    document["samples"][0]["calls"][0]["status"] = "DETECTED"
    calls.write_text(json.dumps(document), encoding="utf-8")
    result = verify(folder)
    assert not result.ok and result.problem.startswith(f"{calls}: changed since it was signed")
    review = review_summary(document, result)
    assert review is not None and review["state"] == "not_verified"
    text = render_hl7(document, ReportOptions("x", settings=SETTINGS), review)
    for message in messages(text):
        parse_message(message, validation_level=VALIDATION_LEVEL.STRICT).validate()
        found = hl7.parse(message)
        assert str(found.segment("OBR")[25]) == "P"
        assert {str(o[11]) for o in found.segments("OBX")} == {"P"}
        assert len(found.segment("OBR")) == 26  # ends at OBR-25: no interpreter
        note = found.unescape(str(found.segments("NTE")[0][3]))
        assert note.startswith("Review status: unreviewed: the review record does not verify (")
        assert str(calls) in note
    assert "Changed at review" not in text  # overrides count only from a record that verifies
    table = rows(render_lis_csv(document, review))
    assert {(r["result_status"], r["review_status"], r["reviewer"]) for r in table} == {
        ("P", "unreviewed", "")
    }
    # and no sign-off can be added: the files stay as the last verified sign-off left them
    with pytest.raises(AuditError, match="changed since it was signed"):
        signoff(folder, "B. Li")
    assert {name: (folder / name).read_bytes() for name in before} == before


# -------------------------------------------------------------------- addressing kept
@pytest.mark.parametrize(
    "settings",
    [
        {},
        {"hl7_facility": None, "hl7_receiver": None, "patient_id_system": None},
        {"patient_id_system": "https://hospital.example/mrn?x=1&y=2"},
        {"patient_id_system": "urn:oid:2.16.840.1.113883.3.1"},
        {"hl7_receiver": "LIS", "hl7_facility": "LAB-2"},
    ],
    ids=["authority", "defaults", "uri-with-ampersand", "oid", "receiver-without-facility"],
)
def test_sign_keeps_the_facility_receiver_and_patient_authority(tmp_path, settings):
    settings = {k: v for k, v in {**SETTINGS, **settings}.items() if v is not None}
    options = ReportOptions("x", formats=frozenset({"hl7"}), settings=settings)
    write_document(pcr_document(), tmp_path / "r", options)
    before = parsed(tmp_path / "r")
    assert settings_of(hl7_text(tmp_path / "r")) == {
        "hl7_facility": settings.get("hl7_facility", "LAB"),
        "hl7_receiver": settings.get("hl7_receiver", "LIS"),
        **({"patient_id_system": settings["patient_id_system"]} if "patient_id_system" in settings
           else {}),
    }  # fmt: skip
    signoff(tmp_path / "r", "A. Chen")
    after = parsed(tmp_path / "r")
    for sample_id, message in before.items():
        for n in (3, 4, 5, 6):
            assert str(after[sample_id].segment("MSH")[n]) == str(message.segment("MSH")[n])
        assert str(after[sample_id].segment("PID")) == str(message.segment("PID"))


def test_settings_of_a_file_without_messages_or_with_a_bad_msh():
    assert settings_of("") == {}  # a calls.json without samples: no message
    with pytest.raises(ConfigError, match=re.escape("--hl7-facility 'LAB|X': give a name")):
        settings_of("MSH|^~\\&|ESR1CALLS|LAB\\F\\X|LIS||||ORU^R01^ORU_R01|1|P|2.5.1\r")


def test_a_results_hl7_sign_cannot_read_is_refused_and_nothing_is_signed(folder):
    (folder / HL7_RESULTS).write_text("not an HL7 message\n", encoding="utf-8")
    with pytest.raises(AuditError) as refused:
        signoff(folder, "A. Chen")
    message = str(refused.value)
    assert message.startswith(f"{folder / HL7_RESULTS}: does not start with an MSH segment")
    assert "esr1calls report" in message and "\n" not in message
    assert not (folder / "audit.jsonl").exists()
    assert (folder / HL7_RESULTS).read_text(encoding="utf-8") == "not an HL7 message\n"


def test_a_crash_before_report_html_is_put_in_place_is_named_by_it(folder, monkeypatch):
    """sign puts results.hl7 and results_lis.csv in place before report.html, so a crash between
    them leaves the previous report, and verify names the interrupted sign-off."""
    signoff(folder, "A. Chen")
    real_replace = Path.replace

    def crash_on_report(self, target):
        if Path(target).name == "report.html":
            raise KeyboardInterrupt
        return real_replace(self, target)

    monkeypatch.setattr(Path, "replace", crash_on_report)
    with pytest.raises(KeyboardInterrupt):
        signoff(folder, "B. Li", tick=clock(T0 + dt.timedelta(hours=1)))
    monkeypatch.undo()
    assert verify(folder).problem == (
        f"{folder}/report.html: the report of sign-off 1, but the record holds 2: sign-off 2 was "
        "interrupted before its report was written, or an older report.html was put back"
    )


def test_sign_says_which_lis_files_show_the_review(run_cli, folder, tmp_path):
    result = run_cli(["sign", folder, "--reviewer", "A. Chen", "--decision", "approve"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.endswith("; report.html, results.hl7 and results_lis.csv show it\n"), (
        result.stdout
    )
    assert run_cli(["verify", folder]).exit_code == 0
    plain = tmp_path / "plain"
    write_document(pcr_document(), plain, ReportOptions("x"))
    result = run_cli(["sign", plain, "--reviewer", "A. Chen", "--decision", "approve"])
    assert result.stdout.endswith("; report.html shows it\n")


# ------------------------------------------------------------------------------ goldens
def test_an_approved_result_matches_the_goldens(folder):
    signoff(folder, "A. Chen", comment="run log checked")
    assert_golden(hl7_text(folder).replace("\r", "\n"), EXPECTED / "pcr_approved.hl7.txt")
    text = (folder / LIS_CSV).read_bytes().decode("utf-8")
    assert_golden(text.replace("\r\n", "\n"), EXPECTED / "pcr_approved_lis.csv")


def test_an_overridden_result_matches_the_goldens(folder):
    """Approved, then a call changed at a second sign-off: corrected (C) where it differs."""
    tick = clock()
    signoff(folder, "A. Chen", tick=tick, comment="run log checked")
    signoff(folder, "B. Li", tick=tick, overrides=([D538G], ["NGS of the same plasma: 1.1 %"]))
    assert_golden(hl7_text(folder).replace("\r", "\n"), EXPECTED / "pcr_overridden.hl7.txt")
    text = (folder / LIS_CSV).read_bytes().decode("utf-8")
    assert_golden(text.replace("\r\n", "\n"), EXPECTED / "pcr_overridden_lis.csv")


def test_hostile_reviewer_and_reason_texts_are_escaped(folder):
    signoff(folder, "A|B^C~D\\E&F", comment="x|y", overrides=([D538G], ["=cmd|' /C calc'!A0"]))
    found = parsed(folder)
    s1 = found["S1"]
    assert len(s1.segment("OBR")) == 33  # no field split by the name's own '|'
    assert s1.unescape(str(s1.segment("OBR")[32])) == "&A|B^C~D\\E&F"
    table = lis(folder)
    assert row(table, "S1", "D538G")["override_reason"].startswith("'=")  # formula-guarded
    assert {r["reviewer"] for r in table} == {"A|B^C~D\\E&F"}
    document = copy.deepcopy(pcr_document())
    assert render_hl7(document, ReportOptions("x")) == render_hl7(document, ReportOptions("x"))
