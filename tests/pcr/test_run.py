"""ARMS-PCR interpretation: the demo plate golden, every scenario, boundaries and properties."""

from __future__ import annotations

import dataclasses
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from esr1calls.errors import InputError
from esr1calls.hotspots import load_panel
from esr1calls.model import CallStatus, Reason, SampleStatus
from esr1calls.pcr.kit import load_kit, parse_kit
from esr1calls.pcr.rules import call_target, estimate_fraction, evaluate_reference
from esr1calls.pcr.run import call_pcr
from esr1calls.pcr.settings import make_settings
from esr1calls.reports.tables import render_calls_tsv, render_samples_tsv
from esr1calls.testing import TESTDATA
from esr1calls.testing.golden import assert_golden
from esr1calls.testing.plates import DEMO_MAP, column_wells, demo_plate, demo_wells, plate_from

KIT = load_kit()
D538G = KIT.assays["D538G"]
EXPECTED = TESTDATA / "expected" / "pcr"
NAN = math.nan


def calls_of(result, sample):
    report = next(s for s in result.samples if s.sample_id == sample)
    return report, {c.hotspot: c for c in report.calls}


def statuses(calls):
    return {
        name: c.status.value for name, c in calls.items() if c.status is not CallStatus.NOT_DETECTED
    }


# --------------------------------------------------------------------------- the demo plate
@pytest.fixture(scope="module")
def demo():
    return call_pcr([demo_plate()], DEMO_MAP)


def test_demo_plate_matches_golden(demo):
    assert_golden(render_calls_tsv(demo.samples), EXPECTED / "demo.calls.tsv")
    assert_golden(render_samples_tsv(demo.samples), EXPECTED / "demo.samples.tsv")


def test_demo_run_controls_pass(demo):
    assert demo.run_qc and all(check.passed for check in demo.run_qc)
    assert {c.check for c in demo.run_qc} == {"map vs export", "PC", "NTC", "NTC IC", "WT"}
    compared = [(q.subject, q.value) for q in demo.run_qc if q.check == "map vs export"]
    assert compared == [
        ("sample names", "60 wells: 60 agree, 0 contradict, 0 unknown, 0 generic"),
        ("target names", "204 well channels: 204 agree, 0 contradict, 0 unknown, 0 generic"),
    ]
    assert demo.notices and "PLACEHOLDER" in demo.notices[0]


def test_clean_negative(demo):
    report, calls = calls_of(demo, "S1")
    assert report.status is SampleStatus.NEGATIVE
    assert all(c.status is CallStatus.NOT_DETECTED and c.lod95 == 0.002 for c in calls.values())
    assert calls["D538G"].delta_ct == pytest.approx(9.23)  # background just above the cut-off


def test_several_mutations_in_one_sample(demo):
    report, calls = calls_of(demo, "S2")
    assert report.status is SampleStatus.POSITIVE
    assert statuses(calls) == {"D538G": "DETECTED", "E380Q": "DETECTED", "V422del": "DETECTED"}
    d538g = calls["D538G"]
    assert d538g.allele_fraction == pytest.approx(1.95 ** -(6.02 - 0.5), rel=1e-3)
    low, high = d538g.allele_fraction_ci95
    assert low < d538g.allele_fraction < high
    assert "semi-quantitative" in report.summary


def test_same_codon_within_margin_is_multiple(demo):
    _, calls = calls_of(demo, "S3")
    assert statuses(calls) == {"S463P": "DETECTED", "L536Q": "DETECTED", "Y537S": "DETECTED"}
    assert Reason.SAME_CODON_MULTIPLE in calls["Y537S"].reasons
    assert Reason.SAME_CODON_MULTIPLE in calls["L536Q"].reasons


def test_same_codon_cross_reactivity(demo):
    report, calls = calls_of(demo, "S4")
    assert statuses(calls) == {
        "Y537S": "DETECTED",
        "Y537C": "INDETERMINATE",
        "Y537N": "INDETERMINATE",
    }
    assert calls["Y537C"].reasons[0] is Reason.POSSIBLE_CROSS_REACTIVITY
    assert calls["Y537C"].evidence["primary"] == "Y537S"
    assert report.status is SampleStatus.POSITIVE


def test_ic_failure_with_negative_targets(demo):
    report, calls = calls_of(demo, "S5")
    assert statuses(calls) == {"Y537S": "INVALID", "S463P": "INVALID", "L536P": "INVALID"}
    assert all(calls[h].reasons == (Reason.IC_FAIL,) for h in ("Y537S", "S463P", "L536P"))
    assert report.status is SampleStatus.INDETERMINATE  # never NEGATIVE


def test_ic_failure_with_positive_target(demo):
    _, calls = calls_of(demo, "S6")
    assert calls["D538G"].status is CallStatus.DETECTED
    assert Reason.IC_FAIL_POSITIVE in calls["D538G"].reasons
    assert calls["E380Q"].status is CallStatus.INVALID  # same mix, negative: IC failure counts


def test_reference_ct_low_gives_dilution_advice(demo):
    report, calls = calls_of(demo, "S7")
    assert report.status is SampleStatus.INVALID
    assert {c.reasons for c in calls.values()} == {(Reason.REF_CT_LOW,)}
    assert calls["D538G"].action.startswith("dilute x64")


def test_reference_ct_high_asks_for_re_extraction(demo):
    report, calls = calls_of(demo, "S8")
    assert report.status is SampleStatus.INVALID
    assert {c.reasons for c in calls.values()} == {(Reason.REF_CT_HIGH,)}
    assert "re-extract" in calls["E380Q"].action


def test_low_input_negatives_are_indeterminate_with_their_lod(demo):
    report, calls = calls_of(demo, "S9")
    assert calls["L536R"].status is CallStatus.DETECTED  # positive evidence stands
    negatives = [c for h, c in calls.items() if h != "L536R"]
    assert all(c.status is CallStatus.INDETERMINATE and c.reasons[0] is Reason.LOW_INPUT
               for c in negatives)  # fmt: skip
    expected_lod = 0.002 * 1.95 ** (30.62 - 28.5)
    assert negatives[0].lod95 == pytest.approx(expected_lod, rel=1e-6)
    assert report.details["low_input"] is True


def test_layout_is_kept_for_the_report(demo):
    (layout,) = demo.plates
    assert layout["run_id"] == "demo" and len(layout["wells"]) == 60
    a1 = next(w for w in layout["wells"] if w["well"] == "A1")
    assert a1["role"] == "PC" and a1["ct"]["FAM"] == pytest.approx(28.28)


# --------------------------------------------------------------------------- run-level failures
def _all_sample_calls(result):
    return [c for s in result.samples for c in s.calls]


def test_ntc_contamination_invalidates_the_whole_run():
    result = call_pcr([demo_plate({("A2", "FAM"): 35.0})], DEMO_MAP)
    assert all(c.status is CallStatus.INVALID and c.reasons == (Reason.NTC_AMPLIFIED,)
               for c in _all_sample_calls(result))  # fmt: skip
    assert {s.status for s in result.samples} == {SampleStatus.INVALID}
    failed = [q for q in result.run_qc if not q.passed]
    assert [(q.subject, q.value) for q in failed] == [("well A2 FAM (D538G)", 35.0)]


def test_ntc_at_exactly_40_fails_and_above_passes():
    result = call_pcr([demo_plate({("B2", "ROX"): 40.0})], DEMO_MAP)
    assert [q.subject for q in result.run_qc if not q.passed] == ["well B2 ROX (S463P)"]
    result = call_pcr([demo_plate({("B2", "ROX"): 40.01})], DEMO_MAP)
    assert all(q.passed for q in result.run_qc)


@pytest.mark.parametrize(
    "ct, ok", [(25.99, False), (26.0, True), (30.0, True), (30.01, False), (NAN, False)]
)
def test_pc_mutation_window_boundaries(ct, ok):
    result = call_pcr([demo_plate({("C1", "ROX"): ct})], DEMO_MAP)
    assert all(q.passed for q in result.run_qc) is ok
    if not ok:
        assert {c.reasons for c in _all_sample_calls(result)} == {(Reason.PC_FAIL,)}


@pytest.mark.parametrize("ct, ok", [(23.99, False), (24.0, True), (28.0, True), (28.01, False)])
def test_pc_reference_window_boundaries(ct, ok):
    result = call_pcr([demo_plate({("E1", "FAM"): ct})], DEMO_MAP)
    assert all(q.passed for q in result.run_qc) is ok


def test_missing_positive_control_wells():
    result = call_pcr([demo_plate(drop_wells=column_wells(1))], DEMO_MAP)
    assert {c.reasons for c in _all_sample_calls(result)} == {(Reason.MISSING_CONTROL,)}


def test_a_control_without_a_ct_is_recorded_as_no_value_not_nan():
    result = call_pcr([demo_plate({("A1", "FAM"): NAN})], DEMO_MAP)
    check = next(q for q in result.run_qc if q.subject == "well A1 FAM (D538G)")
    assert check.check == "PC" and not check.passed and check.value is None
    assert {c.reasons for c in _all_sample_calls(result)} == {(Reason.PC_FAIL,)}


def _kit_requiring_wt():
    text = (
        TESTDATA.parent / "esr1calls" / "data" / "kits" / "esr1-11-arms-example.toml"
    ).read_text()
    assert "[controls.WT]\nrequired = false" in text
    return parse_kit(
        text.replace("[controls.WT]\nrequired = false", "[controls.WT]\nrequired = true").encode(),
        "k.toml",
    )


def test_a_required_wt_control_must_be_on_the_plate(tmp_path):
    kit = _kit_requiring_wt()
    with_wt = call_pcr([demo_plate()], DEMO_MAP, make_settings(kit=kit))
    assert all(q.passed for q in with_wt.run_qc)
    assert calls_of(with_wt, "S1")[0].status is SampleStatus.NEGATIVE
    plate_map = tmp_path / "map.csv"
    plate_map.write_text("".join(line for line in DEMO_MAP.read_text().splitlines(keepends=True)
                                 if ",WT," not in line))  # fmt: skip
    without = call_pcr([demo_plate(drop_wells=column_wells(3))], plate_map, make_settings(kit=kit))
    failed = [q for q in without.run_qc if not q.passed]
    assert [(q.check, q.subject, q.reason) for q in failed] == [
        ("WT", "WT control", Reason.MISSING_CONTROL)
    ]
    assert {c.reasons for c in _all_sample_calls(without)} == {(Reason.MISSING_CONTROL,)}
    # optional (the bundled kit): the same plate is called
    optional = call_pcr([demo_plate(drop_wells=column_wells(3))], plate_map)
    assert calls_of(optional, "S1")[0].status is SampleStatus.NEGATIVE


def test_ntc_internal_control_failure_invalidates_the_run():
    result = call_pcr([demo_plate({("D2", "HEX"): NAN})], DEMO_MAP)
    assert {c.reasons for c in _all_sample_calls(result)} == {(Reason.CONTROL_IC_FAIL,)}


def test_wild_type_control_calling_a_mutation_invalidates_the_run():
    result = call_pcr([demo_plate({("A3", "FAM"): 25.48 + 8.0})], DEMO_MAP)
    assert {c.reasons for c in _all_sample_calls(result)} == {(Reason.WT_CTRL_POSITIVE,)}


# --------------------------------------------------------------------------- missing data
def test_missing_mutation_well_is_invalid_not_negative():
    result = call_pcr([demo_plate(drop_wells=["B5"])], DEMO_MAP)  # S2, mix RM2
    _, calls = calls_of(result, "S2")
    for name in ("Y537S", "S463P", "L536P"):
        assert calls[name].status is CallStatus.INVALID
        assert calls[name].reasons == (Reason.MISSING_WELL,)
    assert calls["D538G"].status is CallStatus.DETECTED


def test_missing_reference_well_invalidates_the_sample():
    result = call_pcr([demo_plate(drop_wells=["E4"])], DEMO_MAP)
    report, calls = calls_of(result, "S1")
    assert report.status is SampleStatus.INVALID
    assert {c.reasons for c in calls.values()} == {(Reason.MISSING_WELL,)}


def test_missing_channel_row_is_invalid(tmp_path):
    wells = demo_wells()
    wells = wells[~((wells["well"] == "A4") & (wells["dye"] == "ROX"))]
    result = call_pcr([plate_from(wells)], DEMO_MAP)
    _, calls = calls_of(result, "S1")
    assert calls["E380Q"].status is CallStatus.INVALID
    assert calls["D538G"].status is CallStatus.NOT_DETECTED


def test_unmapped_empty_and_unknown_dye_rows_are_dropped_with_reasons(tmp_path):
    wells = demo_wells()
    extra = wells[wells["well"] == "A4"].copy()
    extra["well"] = "H12"
    empty = wells[wells["well"] == "A4"].copy()
    empty["well"] = "G12"
    sybr = wells[wells["well"] == "A5"].head(1).copy()
    sybr["dye"] = "SYBR"
    import pandas as pd

    plate = plate_from(pd.concat([wells, extra, empty, sybr]))
    plate_map = tmp_path / "map.csv"
    plate_map.write_text(DEMO_MAP.read_text() + "G12,,EMPTY,\n")
    result = call_pcr([plate], plate_map)
    reasons = {(d.place, d.reason) for d in result.dropped}
    assert ("well H12", "has data but is not in the plate map") in reasons
    assert ("well G12", "EMPTY in the plate map") in reasons
    assert any("dye SYBR is not a channel" in r for _, r in reasons)
    # neither well reaches a sample: the calls are the demo's
    assert [s.calls for s in result.samples] == [
        s.calls for s in call_pcr([demo_plate()], DEMO_MAP).samples
    ]


# --------------------------------------------------------------------------- replicates
def test_replicates_that_disagree(tmp_path):
    result = call_pcr([demo_plate()], _replicate_map(tmp_path))
    report, calls = calls_of(result, "R1")
    # D538G: 9.23 and 6.02 -> mean 7.6 <= 9.5: reportable, flagged
    assert calls["D538G"].status is CallStatus.DETECTED
    assert calls["D538G"].reasons == (Reason.REPLICATE_DISCORDANT,)
    # E380Q: 7.11 and no Ct -> mean far above the cut-off: re-test
    assert calls["E380Q"].status is CallStatus.INDETERMINATE
    assert calls["E380Q"].reasons == (Reason.REPLICATE_DISCORDANT,)
    assert len(calls["E380Q"].evidence["replicates"]) == 2
    assert report.status is SampleStatus.POSITIVE


def test_an_equivocal_replicate_beside_a_negative_one_is_indeterminate(tmp_path):
    # R1's D538G: replicate 1 at delta-Ct 9.23 (in a 1.0-cycle equivocal band over the 9.0
    # cut-off), replicate 2 without a Ct: no positive, nothing invalid, so the equivocal one speaks
    kit = dataclasses.replace(KIT, assays={
        **KIT.assays,
        "D538G": dataclasses.replace(
            D538G, equivocal_band=dataclasses.replace(D538G.equivocal_band, value=1.0)
        ),
    })  # fmt: skip
    result = call_pcr(
        [demo_plate({("A5", "FAM"): NAN})], _replicate_map(tmp_path), make_settings(kit=kit)
    )
    _, calls = calls_of(result, "R1")
    assert calls["D538G"].status is CallStatus.INDETERMINATE
    assert calls["D538G"].reasons == (Reason.EQUIVOCAL,)
    assert calls["D538G"].action == "re-test: delta-Ct is in the kit's equivocal band"


def test_the_wt_control_check_shows_its_delta_ct_to_three_decimals():
    result = call_pcr([demo_plate({("A3", "FAM"): 38.6812345})], DEMO_MAP)
    check = next(
        q for q in result.run_qc if q.check == "WT" and q.subject.startswith("well A3 FAM")
    )
    assert check.passed and check.value == round(check.value, 3)
    assert check.value != round(check.value, 2)


# --------------------------------------------------------------------------- several plates
def test_one_map_with_plate_column_covers_two_runs(tmp_path):
    plate_map = tmp_path / "two.csv"
    lines = DEMO_MAP.read_text().splitlines()
    body = [f"{line},{run}" for run in ("run1", "run2") for line in lines[1:]]
    plate_map.write_text(lines[0] + ",plate\n" + "\n".join(body) + "\n")
    result = call_pcr([demo_plate(run_id="run1"), demo_plate({("A2", "FAM"): 30.0}, run_id="run2")],
                      plate_map)  # fmt: skip
    run1 = [s for s in result.samples if s.details["run_id"] == "run1"]
    run2 = [s for s in result.samples if s.details["run_id"] == "run2"]
    assert len(run1) == len(run2) == 9
    assert SampleStatus.INVALID not in {s.status for s in run1 if s.sample_id in ("S1", "S2")}
    assert {s.status for s in run2} == {SampleStatus.INVALID}


def test_two_runs_need_a_plate_column_or_two_maps():
    with pytest.raises(InputError, match="share one plate map"):
        call_pcr([demo_plate(run_id="a"), demo_plate(run_id="b")], DEMO_MAP)
    result = call_pcr([demo_plate(run_id="a"), demo_plate(run_id="b")], [DEMO_MAP, DEMO_MAP])
    assert len(result.samples) == 18


def test_one_run_split_by_dye_gives_the_same_calls(demo):
    wells = demo_wells()
    fam = plate_from(wells[wells["dye"] == "FAM"], name="demo_FAM.txt")
    rest = plate_from(wells[wells["dye"] != "FAM"], name="demo_other.txt")
    result = call_pcr([fam, rest], DEMO_MAP)
    assert [s.calls for s in result.samples] == [s.calls for s in demo.samples]


def test_the_same_well_twice_is_an_error():
    wells = demo_wells()
    with pytest.raises(InputError, match="well A1 has two FAM values"):
        call_pcr(
            [plate_from(wells, name="a.txt"), plate_from(wells.head(1), name="b.txt")], DEMO_MAP
        )


# --------------------------------------------------------------------------- kit options
def test_hotspot_not_in_the_kit_is_not_tested():
    result = call_pcr([demo_plate()], DEMO_MAP, make_settings(panel=load_panel("extended")))
    _, calls = calls_of(result, "S1")
    assert calls["Y537D"].status is CallStatus.INDETERMINATE
    assert calls["Y537D"].reasons == (Reason.NOT_TESTED,)
    assert calls_of(result, "S1")[0].status is SampleStatus.INDETERMINATE


def test_overload_policy_invalidate_positives_only():
    text = (
        TESTDATA.parent / "esr1calls" / "data" / "kits" / "esr1-11-arms-example.toml"
    ).read_text()
    kit = parse_kit(
        text.replace('"invalidate_all"', '"invalidate_positives_only"').encode(), "k.toml"
    )
    result = call_pcr([demo_plate({("A10", "FAM"): 18.71 + 5.0})], DEMO_MAP, make_settings(kit=kit))
    _, calls = calls_of(result, "S7")
    assert calls["D538G"].status is CallStatus.INVALID and calls["D538G"].reasons == (
        Reason.REF_CT_LOW,
    )
    assert calls["E380Q"].status is CallStatus.NOT_DETECTED


def test_a_tolerated_overload_keeps_the_flags_of_a_lone_negative():
    # overload tolerated for negatives: S7's reference at Ct 10.5, D538G at 19.9 (delta-Ct 9.4,
    # over the 9.0 cut-off) stays NOT_DETECTED, flagged MUT_CT_EARLY (a mutation Ct under 20)
    text = (
        TESTDATA.parent / "esr1calls" / "data" / "kits" / "esr1-11-arms-example.toml"
    ).read_text()
    kit = parse_kit(
        text.replace('"invalidate_all"', '"invalidate_positives_only"').encode(), "k.toml"
    )
    plate = demo_plate({("E10", "FAM"): 10.5, ("A10", "FAM"): 19.9})
    _, calls = calls_of(call_pcr([plate], DEMO_MAP, make_settings(kit=kit)), "S7")
    assert calls["D538G"].status is CallStatus.NOT_DETECTED
    assert calls["D538G"].reasons == (Reason.MUT_CT_EARLY,)
    assert calls["D538G"].delta_ct == pytest.approx(9.4)


def _kit_with_curve(slope, intercept):
    text = (
        TESTDATA.parent / "esr1calls" / "data" / "kits" / "esr1-11-arms-example.toml"
    ).read_text()
    curve = f"[reference.standard_curve]\nslope = {slope}\nintercept = {intercept}\n\n"
    return parse_kit(
        text.replace("[internal_control]", curve + "[internal_control]").encode(), "k.toml"
    )


def test_standard_curve_below_1500_copies_is_low_input_even_under_ct_full_sensitivity():
    # Ct 26.1 (S1) is under ct_full_sensitivity 28.5, but this curve puts it at ~959 copies
    kit = _kit_with_curve(-3.32, 36.0)
    outcome = evaluate_reference([26.1], kit)
    assert outcome.low_input and round(outcome.genome_copies) == 959
    assert outcome.lod95 == pytest.approx(0.002 * 1500 / outcome.genome_copies)
    assert "input ~959 genome copies" in outcome.action
    report, calls = calls_of(call_pcr([demo_plate()], DEMO_MAP, make_settings(kit=kit)), "S1")
    assert report.status is SampleStatus.INDETERMINATE  # NEGATIVE with the default kit
    assert all(c.status is CallStatus.INDETERMINATE for c in calls.values())
    assert all(c.reasons[0] is Reason.LOW_INPUT for c in calls.values())
    # enough copies on the curve: the 0.2 % claim holds
    assert not evaluate_reference([26.1], _kit_with_curve(-3.32, 38.0)).low_input


def test_standard_curve_with_copies_to_spare_still_honours_ct_full_sensitivity():
    kit = _kit_with_curve(-3.32, 40.0)  # Ct 29.0 -> ~2,040 copies, but above 28.5
    outcome = evaluate_reference([29.0], kit)
    assert outcome.low_input and outcome.genome_copies > 1500
    assert outcome.lod95 == 0.002  # never better than the kit's claim
    assert "reference Ct 29.00 > 28.5" in outcome.action
    assert "(achievable LoD 0.2 %)" in outcome.action  # the setting itself, never "~0.20%"


IN_WELL_KIT = b"""
[kit]
id = "in-well-test"
version = "1"
[dyes]
FAM = ["FAM"]
HEX = ["HEX", "VIC"]
CY5 = ["Cy5"]
[mixes.M1]
FAM = "D538G"
HEX = "REF"
CY5 = "IC"
[mixes.M2]
FAM = "Y537S"
HEX = "REF"
CY5 = "IC"
[reference]
mode = "in_well"
ct_min = 20.0
ct_target = 25.0
ct_full_sensitivity = 28.5
ct_max = 32.0
[internal_control]
ct_max = 35.0
[targets]
cutoff = 9.0
[controls.PC]
mutation_window = [26.0, 30.0]
reference_window = [24.0, 28.0]
[controls.NTC]
max_ct_allowed = 40.0
"""


def _in_well_s1(tmp_path, a3, b3, kit_text=IN_WELL_KIT):
    """S1 of a two-mix in_well kit: a3/b3 are (FAM, VIC=REF, CY5=IC) Cts of its M1/M2 wells."""
    import pandas as pd

    rows = []
    for well, role_cts in {
        "A1": (28.0, 26.0, 30.0), "A2": (NAN, NAN, 30.0),  # PC M1, NTC M1
        "B1": (28.0, 26.0, 30.0), "B2": (NAN, NAN, 30.0),  # PC M2, NTC M2
        "A3": a3, "B3": b3,
    }.items():  # fmt: skip
        for dye, ct in zip(("FAM", "VIC", "CY5"), role_cts, strict=True):
            if ct is not None:  # None: the export has no row for that dye
                rows.append({"well": well, "sample_name": "", "target_name": "", "dye": dye,
                             "ct": ct, "flags": "", "source_row": len(rows) + 2})  # fmt: skip
    plate_map = tmp_path / "map.csv"
    plate_map.write_text("well,sample_id,role,mix\nA1,PC,PC,M1\nB1,PC,PC,M2\nA2,NTC,NTC,M1\n"
                         "B2,NTC,NTC,M2\nA3,S1,SAMPLE,M1\nB3,S1,SAMPLE,M2\n")  # fmt: skip
    kit = parse_kit(kit_text, "in_well.toml")
    settings = make_settings(kit=kit, panel=load_panel("default", ["D538G", "Y537S"]))
    result = call_pcr([plate_from(pd.DataFrame(rows))], plate_map, settings)
    assert all(q.passed for q in result.run_qc)
    return calls_of(result, "S1")


def test_in_well_reference_mode(tmp_path):
    # S1: D538G dCt 6 against its own well's reference; Y537S no Ct
    _, calls = _in_well_s1(tmp_path, (32.0, 26.0, 30.0), (NAN, 26.5, 30.0))
    assert calls["D538G"].status is CallStatus.DETECTED and calls["D538G"].delta_ct == 6.0
    assert calls["D538G"].ct_reference == 26.0  # the well's own, not the sample's mean
    assert calls["Y537S"].status is CallStatus.NOT_DETECTED


@pytest.mark.parametrize(
    "references, d538g, y537s",
    [
        # mean 28.5 with SD 0.42 passes the sample's checks; A3 alone is over 28.5
        ((28.8, 28.2), (CallStatus.INDETERMINATE, Reason.LOW_INPUT), CallStatus.NOT_DETECTED),
        # mean 32.0 passes; A3 is over ct_max 32: too little DNA in that well
        ((32.3, 31.7), (CallStatus.INVALID, Reason.REF_CT_HIGH), CallStatus.INDETERMINATE),
        ((NAN, 24.0), (CallStatus.INVALID, Reason.REF_NO_AMP), CallStatus.INDETERMINATE),
        ((None, 24.0), (CallStatus.INVALID, Reason.MISSING_WELL), CallStatus.NOT_DETECTED),
    ],
)
def test_in_well_each_well_passes_the_reference_window(tmp_path, references, d538g, y537s):
    a3, b3 = ((NAN, ref, 30.0) for ref in references)  # no mutation Ct in either well
    _, calls = _in_well_s1(tmp_path, a3, b3)
    assert (calls["D538G"].status, calls["D538G"].reasons[0]) == d538g
    assert calls["D538G"].action.startswith("well A3: ")
    assert calls["Y537S"].status is y537s
    if d538g[1] is Reason.LOW_INPUT:
        # the well's own ~1,220 copies set its LoD: 0.2 % x A^(28.8 - 28.5), A = 2 (kit default)
        assert calls["D538G"].lod95 == pytest.approx(0.002 * 2**0.3)
        assert calls["Y537S"].lod95 == 0.002


@pytest.mark.parametrize("policy", ["invalidate_all", "invalidate_positives_only"])
def test_in_well_overload_policy_is_judged_well_by_well(tmp_path, policy):
    # A3 overloaded (its reference Ct 19.8 < ct_min 20), B3 in range: the sample's mean (20.05)
    # passes, so each well's own reference decides; a positive in an overloaded well (what
    # wild-type leakage can fake) is never called, a negative stands only if the policy says so
    kit_text = IN_WELL_KIT.replace(
        b"ct_min = 20.0", f'ct_min = 20.0\noverload_policy = "{policy}"'.encode()
    )
    _, calls = _in_well_s1(tmp_path, (25.0, 19.8, 30.0), (NAN, 20.3, 30.0), kit_text)
    positive = calls["D538G"]
    assert (positive.status, positive.reasons) == (CallStatus.INVALID, (Reason.REF_CT_LOW,))
    assert positive.action.startswith("well A3: ")
    assert calls["Y537S"].status is CallStatus.NOT_DETECTED and not calls["Y537S"].reasons
    _, calls = _in_well_s1(tmp_path, (NAN, 19.8, 30.0), (NAN, 20.3, 30.0), kit_text)
    negative = calls["D538G"]
    if policy == "invalidate_all":
        assert (negative.status, negative.reasons) == (CallStatus.INVALID, (Reason.REF_CT_LOW,))
        assert negative.action.startswith("well A3: ")
    else:  # overload raises the false-positive risk only
        assert negative.status is CallStatus.NOT_DETECTED and not negative.reasons
    # both wells overloaded: the sample's own reference fails, with the same policy
    _, calls = _in_well_s1(tmp_path, (25.0, 19.0, 30.0), (NAN, 19.0, 30.0), kit_text)
    assert (calls["D538G"].status, calls["D538G"].reasons) == (
        CallStatus.INVALID,
        (Reason.REF_CT_LOW,),
    )
    expected = CallStatus.INVALID if policy == "invalidate_all" else CallStatus.NOT_DETECTED
    assert calls["Y537S"].status is expected


# --------------------------------------------------------------------------- boundaries
@pytest.mark.parametrize(
    "ct_mutation, expected",
    [(26.0 + 8.99, "DETECTED"), (26.0 + 9.0, "DETECTED"), (26.0 + 9.01, "NOT_DETECTED")],
)
def test_delta_ct_cutoff_boundary(ct_mutation, expected):
    assert call_target(ct_mutation, 26.0, 30.0, D538G, KIT).status.value == expected


@pytest.mark.parametrize(
    "ct_mutation, ic, expected",
    [
        (40.0, 30.0, "NOT_DETECTED"),  # Ct 40 amplified: dCt 14 > cut-off
        (40.01, 30.0, "NOT_DETECTED"),  # above ct_max: no amplification, IC fine
        (NAN, 35.0, "NOT_DETECTED"),  # IC at its limit is fine
        (NAN, 35.01, "INVALID"),  # IC just over its limit
        (NAN, NAN, "INVALID"),
        (None, 30.0, "INVALID"),  # no data is never a negative
        (38.0, NAN, "INVALID"),  # late signal with failed IC: inhibition could hide a positive
        (33.0, NAN, "DETECTED"),  # positive with failed IC: flagged only
    ],
)
def test_no_amplification_and_internal_control(ct_mutation, ic, expected):
    outcome = call_target(ct_mutation, 26.0, ic, D538G, KIT)
    assert outcome.status.value == expected


def _kit_with_ic_delay(delay="3.0"):
    text = (
        TESTDATA.parent / "esr1calls" / "data" / "kits" / "esr1-11-arms-example.toml"
    ).read_text()
    line = 'ct_max = { value = 35.0, source = "placeholder" }'
    assert line in text
    return parse_kit(text.replace(line, f"{line}\ndelay_max_vs_ntc = {delay}").encode(), "k.toml")


@pytest.mark.parametrize(
    "ct_mutation, ic, expected",
    [
        (NAN, 31.0, (CallStatus.NOT_DETECTED, ())),  # 3.0 after the NTC's 28.0: at the limit
        (NAN, 31.01, (CallStatus.INVALID, (Reason.IC_DELAYED,))),  # inhibition can hide a Ct
        (26.0 + 9.5, 31.01, (CallStatus.INVALID, (Reason.IC_DELAYED,))),  # late, above cut-off
        (26.0 + 6.0, 33.0, (CallStatus.DETECTED, (Reason.IC_DELAYED,))),  # a positive stands
        (NAN, 25.0, (CallStatus.NOT_DETECTED, ())),  # earlier than the NTC's: not inhibition
        (NAN, 35.01, (CallStatus.INVALID, (Reason.IC_FAIL,))),  # over ct_max: a failed IC
    ],
)
def test_ic_delayed_against_the_ntc_of_the_mix(ct_mutation, ic, expected):
    outcome = call_target(ct_mutation, 26.0, ic, D538G, _kit_with_ic_delay(), ntc_ic=28.0)
    assert (outcome.status, outcome.reasons) == expected
    if Reason.IC_DELAYED in outcome.reasons and outcome.status is CallStatus.INVALID:
        assert "cycles later than the NTC's" in outcome.action
    # the rule is off in a kit without delay_max_vs_ntc (the bundled example, docs/pcr.md)
    assert Reason.IC_DELAYED not in call_target(ct_mutation, 26.0, ic, D538G, KIT, 28.0).reasons


def test_ic_delay_rule_through_a_plate():
    kit = _kit_with_ic_delay()
    # S1's RM1 well (A4): IC 34.0, 3.9 cycles after RM1's NTC IC (30.09); its targets have no Ct
    report, calls = calls_of(
        call_pcr([demo_plate({("A4", "HEX"): 34.0})], DEMO_MAP, make_settings(kit=kit)), "S1"
    )
    rm1 = {name for name, assay in kit.assays.items() if assay.mix == "RM1"}
    assert {n for n, c in calls.items() if c.status is CallStatus.INVALID} == rm1
    assert all(calls[n].reasons == (Reason.IC_DELAYED,) for n in rm1)
    assert report.status is SampleStatus.INDETERMINATE  # the other mixes are still negatives
    assert "not evaluable (IC_DELAYED)" in report.summary
    # the bundled kit has the rule off: the same plate is the demo's NEGATIVE
    default, _ = calls_of(call_pcr([demo_plate({("A4", "HEX"): 34.0})], DEMO_MAP), "S1")
    assert default.status is SampleStatus.NEGATIVE
    assert kit.thresholds()["internal_control"]["delay_max_vs_ntc"]["value"] == 3.0
    assert "delay_max_vs_ntc" not in KIT.thresholds()["internal_control"]


def test_the_ic_delay_baseline_is_the_ntcs_not_the_samples():
    # every RM1 sample well inhibited alike (IC 34.0; the NTC's 30.09): the samples agree with
    # each other, so only the NTC shows how late they are, and none of them is a negative
    kit = _kit_with_ic_delay()
    inhibited = {(f"A{column}", "HEX"): 34.0 for column in range(4, 13)}
    result = call_pcr([demo_plate(inhibited)], DEMO_MAP, make_settings(kit=kit))
    rm1 = {name for name, assay in kit.assays.items() if assay.mix == "RM1"}
    for sample in ("S3", "S4", "S5"):  # no mutation Ct in RM1: NEGATIVE without the rule
        report, calls = calls_of(result, sample)
        assert {n for n, c in calls.items() if Reason.IC_DELAYED in c.reasons} == rm1
        assert all(calls[n].status is CallStatus.INVALID for n in rm1)
        assert report.status is not SampleStatus.NEGATIVE


def test_equivocal_band():
    assay = dataclasses.replace(
        D538G, equivocal_band=dataclasses.replace(D538G.equivocal_band, value=1.0)
    )
    assert call_target(26.0 + 9.5, 26.0, 30.0, assay, KIT).reasons == (Reason.EQUIVOCAL,)
    assert call_target(26.0 + 10.0, 26.0, 30.0, assay, KIT).status is CallStatus.INDETERMINATE
    assert call_target(26.0 + 10.01, 26.0, 30.0, assay, KIT).status is CallStatus.NOT_DETECTED


def test_sanity_flags():
    outcome = call_target(18.0, 20.5, 30.0, D538G, KIT)
    assert outcome.status is CallStatus.DETECTED
    assert set(outcome.reasons) == {Reason.DCT_NEGATIVE, Reason.MUT_CT_EARLY}


def _kit_without_flags():
    text = (
        TESTDATA.parent / "esr1calls" / "data" / "kits" / "esr1-11-arms-example.toml"
    ).read_text()
    flags = text[text.index("[flags]\n") : text.index("\n\n[replicates]") + 2]
    assert "mutation_ct_early_below" in flags
    return parse_kit(text.replace(flags, "").encode(), "k.toml")


_KIT_WITHOUT_FLAGS = _kit_without_flags()
EARLY = KIT.mutation_ct_early_below.value  # the bundled kit's [flags] mutation_ct_early_below


@pytest.mark.parametrize(
    "ct_mutation, early",
    [(EARLY - 0.01, True), (EARLY, False), (EARLY + 0.01, False), (EARLY + 1.0, False),
     (EARLY + 1.99, False)],
)  # fmt: skip
def test_mutation_ct_early_boundary_is_the_kits(ct_mutation, early):
    # a reference 0.5 cycles later: a DETECTED call whose only possible flag is MUT_CT_EARLY
    outcome = call_target(ct_mutation, ct_mutation + 0.5, 30.0, D538G, KIT)
    assert outcome.status is CallStatus.DETECTED
    assert outcome.reasons == ((Reason.MUT_CT_EARLY,) if early else ())
    # a kit that sets no [flags] gets the same limit by default
    assert call_target(ct_mutation, ct_mutation + 0.5, 30.0, D538G, _KIT_WITHOUT_FLAGS) == outcome


@pytest.mark.parametrize(
    "ct, invalid, low_input",
    [(19.99, Reason.REF_CT_LOW, False), (20.0, None, False), (28.5, None, False),
     (28.51, None, True), (32.0, None, True), (32.01, Reason.REF_CT_HIGH, False)],
)  # fmt: skip
def test_reference_window_boundaries(ct, invalid, low_input):
    outcome = evaluate_reference([ct], KIT)
    assert outcome.invalid is invalid
    assert outcome.low_input is low_input


def test_reference_no_amplification_and_missing():
    assert evaluate_reference([NAN], KIT).invalid is Reason.REF_NO_AMP
    assert evaluate_reference([None], KIT).invalid is Reason.MISSING_WELL


@pytest.mark.parametrize("gap, cross", [(2.99, False), (3.0, True)])
def test_cross_reactivity_margin_boundary(gap, cross):
    ref = 25.95
    plate = demo_plate({("B7", "FAM"): ref + 5.0, ("C7", "FAM"): ref + 5.0 + gap,
                        ("D7", "FAM"): NAN})  # fmt: skip
    _, calls = calls_of(call_pcr([plate], DEMO_MAP), "S4")
    assert (calls["Y537C"].status is CallStatus.INDETERMINATE) is cross


def test_fraction_interval_narrows_with_more_copies():
    _, (low1, high1), _ = estimate_fraction(6.0, D538G, 500)
    _, (low2, high2), _ = estimate_fraction(6.0, D538G, 50_000)
    assert high1 - low1 >= high2 - low2


# --------------------------------------------------------------------------- properties
@settings(max_examples=200, deadline=None)
@given(
    ct=st.floats(15, 45), drop=st.floats(0, 10), ref=st.floats(20, 32),
    ic=st.one_of(st.just(NAN), st.floats(20, 40)),
)  # fmt: skip
def test_lowering_delta_ct_never_turns_detected_into_not_detected(ct, drop, ref, ic):
    before = call_target(ct, ref, ic, D538G, KIT).status
    after = call_target(ct - drop, ref, ic, D538G, KIT).status
    if before is CallStatus.DETECTED:
        assert after is CallStatus.DETECTED


CONTROL_WELLS = [f"{r}{c}" for r in "ABCDE" for c in (1, 2)]


@settings(max_examples=25, deadline=None)
@given(
    removed=st.sets(st.sampled_from(CONTROL_WELLS), min_size=1, max_size=4),
    contaminated=st.booleans(),
)
def test_removing_a_control_never_turns_a_run_valid(removed, contaminated):
    changes = {("A2", "FAM"): 33.0} if contaminated else {}
    full = call_pcr([demo_plate(changes)], DEMO_MAP)
    reduced = call_pcr([demo_plate(changes, drop_wells=removed)], DEMO_MAP)
    assert not all(q.passed for q in reduced.run_qc)
    if not all(q.passed for q in full.run_qc):
        assert not all(q.passed for q in reduced.run_qc)


@settings(max_examples=40, deadline=None)
@given(sample_column=st.integers(4, 12), row=st.sampled_from("ABCD"),
       dye=st.sampled_from(["FAM", "ROX", "CY5"]), drop=st.floats(0.1, 8))  # fmt: skip
def test_on_the_plate_a_stronger_signal_never_loses_a_detection(sample_column, row, dye, drop):
    well = f"{row}{sample_column}"
    wells = demo_wells()
    hit = (wells["well"] == well) & (wells["dye"] == dye)
    if hit.sum() != 1 or math.isnan(wells.loc[hit, "ct"].iloc[0]):
        return
    before = call_pcr([plate_from(wells)], DEMO_MAP)
    wells.loc[hit, "ct"] = wells.loc[hit, "ct"] - drop
    after = call_pcr([plate_from(wells)], DEMO_MAP)
    for b, a in zip(_all_sample_calls(before), _all_sample_calls(after), strict=True):
        if b.status is CallStatus.DETECTED:
            assert a.status is not CallStatus.NOT_DETECTED


def _replicate_map(tmp_path):
    plate_map = tmp_path / "replicates.csv"
    lines = DEMO_MAP.read_text().splitlines()
    out = [lines[0] + ",replicate"]
    for line in lines[1:]:
        well, sample, role, mix = line.split(",")
        if sample in ("S1", "S2"):
            out.append(f"{well},R1,{role},{mix},{1 if sample == 'S1' else 2}")
        else:
            out.append(f"{line},1")
    plate_map.write_text("\n".join(out) + "\n")
    return plate_map


SCENARIOS = {
    "ntc_contamination": lambda tmp: ([demo_plate({("A2", "FAM"): 35.0})], DEMO_MAP),
    "pc_out_of_range": lambda tmp: ([demo_plate({("C1", "ROX"): 31.5})], DEMO_MAP),
    "missing_wells": lambda tmp: ([demo_plate(drop_wells=["B5", "E4"])], DEMO_MAP),
    "replicates_disagree": lambda tmp: ([demo_plate()], _replicate_map(tmp)),
}


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_scenario_plates_match_golden(scenario, tmp_path):
    plates, plate_map = SCENARIOS[scenario](tmp_path)
    result = call_pcr(plates, plate_map)
    assert_golden(render_samples_tsv(result.samples), EXPECTED / f"{scenario}.samples.tsv")
    assert_golden(render_calls_tsv(result.samples), EXPECTED / f"{scenario}.calls.tsv")


# --------------------------------------------------------------------------- provenance
def test_the_export_hash_is_of_the_bytes_interpreted(tmp_path):
    import hashlib
    import shutil

    from esr1calls.plates import read_plate

    export = tmp_path / "plate.tsv"
    shutil.copy(TESTDATA / "plates" / "esr1_demo_plate.tsv", export)
    read_digest = hashlib.sha256(export.read_bytes()).hexdigest()
    plate = read_plate(export)
    assert plate.sha256 == read_digest
    # the export is rewritten after it was read (an instrument still saving, a copy in progress)
    export.write_bytes(export.read_bytes() + b"\n")
    result = call_pcr([plate], DEMO_MAP)
    recorded = next(i for i in result.inputs if i.path == str(export))
    assert recorded.sha256 == read_digest
    assert recorded.format == "plate export (generic)"


# --------------------------------------------------------------------------- Ct thresholds
DEMO_THRESHOLDS = {
    "FAM": 0.1,
    "HEX": 0.08,
    "ROX": 0.05,
    "CY5": 0.04,
}  # what the demo exports record


def _kit_with_thresholds(thresholds):
    text = (
        TESTDATA.parent / "esr1calls" / "data" / "kits" / "esr1-11-arms-example.toml"
    ).read_text()
    table = "".join(f"{channel} = {value}\n" for channel, value in thresholds.items())
    return parse_kit(f"{text}\n[ct_thresholds]\n{table}".encode(), "k.toml")


QUANTSTUDIO = TESTDATA / "plates" / "quantstudio" / "esr1_demo_quantstudio.txt"


def test_fixed_thresholds_that_match_the_export_pass():
    from esr1calls.plates import read_plate

    kit = _kit_with_thresholds({**DEMO_THRESHOLDS, "HEX": 0.0800001})  # display rounding
    result = call_pcr([read_plate(QUANTSTUDIO)], DEMO_MAP, make_settings(kit=kit))
    checks = [q for q in result.run_qc if q.check == "threshold"]
    assert [(q.subject, q.value, q.passed) for q in checks] == [
        (f"{ch} Ct threshold", value, True) for ch, value in DEMO_THRESHOLDS.items()
    ]
    default = call_pcr([read_plate(QUANTSTUDIO)], DEMO_MAP)
    assert [s.calls for s in result.samples] == [s.calls for s in default.samples]
    assert not any("Ct threshold" in n for n in result.notices)


@pytest.mark.parametrize(
    "change, value",
    [({"FAM": 0.2}, 0.1), ({}, "automatic")],
    ids=["another-threshold", "automatic-threshold"],
)
def test_an_export_read_at_another_threshold_invalidates_the_run(change, value):
    from esr1calls.plates import read_plate

    plate = read_plate(QUANTSTUDIO)
    if value == "automatic":  # the software chose FAM's threshold itself
        plate = dataclasses.replace(plate, metadata={**plate.metadata, "auto_thresholds": ["FAM"]})
    result = call_pcr(
        [plate], DEMO_MAP, make_settings(kit=_kit_with_thresholds({**DEMO_THRESHOLDS, **change}))
    )
    failed = [q for q in result.run_qc if not q.passed]
    assert [(q.check, q.subject, q.value, q.reason) for q in failed] == [
        ("threshold", "FAM Ct threshold", value, Reason.THRESHOLD_MISMATCH)
    ]
    for sample in result.samples:
        assert sample.status is SampleStatus.INVALID
        for call in sample.calls:
            assert call.status is CallStatus.INVALID
            assert call.reasons == (Reason.THRESHOLD_MISMATCH,)
            assert call.action.startswith("re-analyse the run with the kit's fixed Ct thresholds")


def test_an_export_without_thresholds_is_called_with_a_notice():
    result = call_pcr(
        [demo_plate()], DEMO_MAP, make_settings(kit=_kit_with_thresholds(DEMO_THRESHOLDS))
    )
    assert all(q.passed for q in result.run_qc)
    assert not [q for q in result.run_qc if q.check == "threshold"]
    assert any(
        "records no Ct threshold for FAM, HEX, ROX, CY5" in n and "could not be checked" in n
        for n in result.notices
    )


def test_rotor_gene_channel_thresholds_are_checked_by_kit_channel():
    folder = TESTDATA / "plates" / "rotorgene"
    result = call_pcr(
        [folder / "esr1_demo_rotorgene.csv"],
        folder / "esr1_demo_platemap.csv",
        make_settings(kit=_kit_with_thresholds({**DEMO_THRESHOLDS, "ROX": 0.06})),
    )
    checks = {q.subject: (q.value, q.passed) for q in result.run_qc if q.check == "threshold"}
    assert checks == {
        "FAM Ct threshold": (0.1, True),  # exported as "Cycling A.Green (ESR1 mut FAM)"
        "HEX Ct threshold": (0.08, True),
        "ROX Ct threshold": (0.05, False),
        "CY5 Ct threshold": (0.04, True),
    }


# --------------------------------------------------------------------------- passive reference
def _quantstudio_with_passive(tmp_path, dye):
    text = QUANTSTUDIO.read_text(encoding="utf-8")
    assert "* Passive Reference = \n" in text
    path = tmp_path / "qs_rox.txt"
    path.write_text(text.replace("* Passive Reference = \n", f"* Passive Reference = {dye}\n"))
    return path


def test_the_exports_passive_reference_is_checked_against_the_kit(tmp_path):
    result = call_pcr([QUANTSTUDIO], DEMO_MAP)  # "Passive Reference" empty: none, as the kit
    [check] = [q for q in result.run_qc if q.check == "passive reference"]
    assert (check.value, check.expected, check.passed) == ("none", "none (the kit's)", True)
    generic = call_pcr([demo_plate()], DEMO_MAP)  # the generic table does not say
    assert not [q for q in generic.run_qc if q.check == "passive reference"]


def test_a_reporter_dye_used_as_passive_reference_invalidates_the_run(tmp_path):
    # the instrument's default template: ROX normalises every channel, but ROX is E380Q's reporter
    result = call_pcr([_quantstudio_with_passive(tmp_path, "ROX")], DEMO_MAP)
    failed = [q for q in result.run_qc if not q.passed]
    assert [(q.check, q.value, q.reason) for q in failed] == [
        ("passive reference", "ROX", Reason.PASSIVE_REF_CONFLICT)
    ]
    calls = [c for s in result.samples for c in s.calls]
    assert {c.status for c in calls} == {CallStatus.INVALID}
    assert {c.action for c in calls} == {
        "re-analyse the run with the kit's passive reference and export it again"
    }
    # with the thresholds wrong too, one re-analysis mends both
    kit = _kit_with_thresholds({**DEMO_THRESHOLDS, "FAM": 0.2})
    both = call_pcr([_quantstudio_with_passive(tmp_path, "ROX")], DEMO_MAP, make_settings(kit=kit))
    assert both.samples[0].calls[0].action == (
        "re-analyse the run with the kit's fixed Ct thresholds and the kit's passive reference "
        "and export it again"
    )


# --------------------------------------------------------------------------- float boundaries
def test_a_delta_ct_at_the_cut_off_is_detected_whatever_the_binary_arithmetic():
    # 32.02 - 23.02 is 9.000000000000004 in binary floating point: still "<= 9.0"
    plate = demo_plate({("A4", "FAM"): 32.02, ("E4", "FAM"): 23.02})
    _, calls = calls_of(call_pcr([plate], DEMO_MAP), "S1")
    assert calls["D538G"].status is CallStatus.DETECTED and calls["D538G"].delta_ct == 9.0
    assert call_target(32.02, 23.02, 30.0, D538G, KIT).status is CallStatus.DETECTED


def test_the_equivocal_band_edge_survives_binary_arithmetic():
    assay = dataclasses.replace(
        D538G, equivocal_band=dataclasses.replace(D538G.equivocal_band, value=1.0)
    )
    # 33.02 - 23.02 = 10.000000000000004; the band is (9.0, 10.0]
    assert call_target(33.02, 23.02, 30.0, assay, KIT).reasons == (Reason.EQUIVOCAL,)


def test_a_gap_of_exactly_the_margin_is_cross_reactivity_whatever_the_arithmetic():
    # S4: Y537S delta-Ct 5.03, Y537C 8.03: 8.03 - 5.03 = 2.9999999999999964, a 3.0-cycle gap
    ref = 25.95
    plate = demo_plate({("B7", "FAM"): ref + 5.03, ("C7", "FAM"): ref + 8.03, ("D7", "FAM"): NAN})
    _, calls = calls_of(call_pcr([plate], DEMO_MAP), "S4")
    assert calls["Y537C"].status is CallStatus.INDETERMINATE
    assert calls["Y537C"].reasons[0] is Reason.POSSIBLE_CROSS_REACTIVITY


# --------------------------------------------------------------------------- every mapped well
def test_a_second_control_well_missing_from_the_export_invalidates_the_run(tmp_path):
    # F2 is a second RM1 NTC: not exported (or omitted in the instrument software, as a
    # contaminated NTC might be). One clean NTC does not vouch for the other.
    plate_map = tmp_path / "map.csv"
    plate_map.write_text(DEMO_MAP.read_text() + "F2,NTC,NTC,RM1\n")
    result = call_pcr([demo_plate()], plate_map)
    failed = [q for q in result.run_qc if not q.passed]
    assert [(q.check, q.value, q.reason) for q in failed] == [
        ("NTC", "well F2 not in export (or omitted there)", Reason.MISSING_CONTROL)
    ]
    assert {s.status for s in result.samples} == {SampleStatus.INVALID}


def test_a_reference_replicate_missing_from_the_export_is_never_ignored(tmp_path):
    plate_map = tmp_path / "map.csv"
    plate_map.write_text(DEMO_MAP.read_text() + "F4,S1,SAMPLE,RM5\n")  # S1's second RM5
    report, calls = calls_of(call_pcr([demo_plate()], plate_map), "S1")
    assert report.status is SampleStatus.INVALID  # NEGATIVE on the one replicate it has
    assert {c.reasons for c in calls.values()} == {(Reason.MISSING_WELL,)}
    assert report.details["reference_replicate_cts"] == [26.1, None]


# --------------------------------------------------------------------------- instrument flags
def _quantstudio_rewritten(tmp_path, well, dye, ct, flags):
    """The demo QuantStudio export with one row's Ct and NOAMP/EXPFAIL columns replaced."""
    lines = QUANTSTUDIO.read_text(encoding="utf-8").splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("Well\t"))
    columns = lines[header].split("\t")
    for i in range(header + 1, len(lines)):
        cells = lines[i].split("\t")
        if len(cells) == len(columns) and cells[1] == well and cells[6] == dye:
            cells[columns.index("CT")] = ct
            for name in ("NOAMP", "EXPFAIL"):
                cells[columns.index(name)] = "Y" if name in flags else "N"
            lines[i] = "\t".join(cells)
            break
    else:
        raise AssertionError(f"no row {well} {dye}")
    path = tmp_path / "qs.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_an_ic_ct_the_instrument_flagged_as_not_amplified_does_not_vouch_for_a_negative(tmp_path):
    # S1's RM2 well B4: the IC (VIC) has a Ct, but the software says NOAMP/EXPFAIL ("IPC failed")
    path = _quantstudio_rewritten(tmp_path, "B4", "VIC", "32.874", {"NOAMP", "EXPFAIL"})
    report, calls = calls_of(call_pcr([path], DEMO_MAP), "S1")
    for name in ("Y537S", "S463P", "L536P"):  # RM2's targets: no mutation Ct
        assert calls[name].status is CallStatus.INVALID and calls[name].reasons == (Reason.IC_FAIL,)
        assert calls[name].evidence["instrument_flags"] == {"B4 HEX": "NOAMP;EXPFAIL"}
    assert report.status is SampleStatus.INDETERMINATE  # NEGATIVE before
    assert calls["D538G"].status is CallStatus.NOT_DETECTED  # RM1's IC is clean


def test_a_mutation_ct_flagged_not_amplified_still_counts(tmp_path):
    # a flag never turns a mutant signal into "no amplification": S2's D538G (A5 FAM) stays
    path = _quantstudio_rewritten(tmp_path, "A5", "FAM", "31.75", {"NOAMP"})
    _, calls = calls_of(call_pcr([path], DEMO_MAP), "S2")
    assert calls["D538G"].status is CallStatus.DETECTED
    assert calls["D538G"].evidence["instrument_flags"] == {"A5 FAM": "NOAMP"}


def test_two_exports_sharing_a_run_id_are_two_runs_when_the_map_names_their_files(tmp_path):
    # one template, two plates: both exports say "Experiment Name = ESR1_ARMS_demo_2026-03-02"
    for name in ("plate1.txt", "plate2.txt"):
        (tmp_path / name).write_bytes(QUANTSTUDIO.read_bytes())
    lines = DEMO_MAP.read_text().splitlines()
    rows = [f"{line},plate" if i == 0 else f"{line},{plate}"
            for plate in ("plate1.txt", "plate2") for i, line in enumerate(lines)
            if i > 0 or plate == "plate1.txt"]  # fmt: skip
    plate_map = tmp_path / "map.csv"
    plate_map.write_text("\n".join(rows) + "\n")
    result = call_pcr([tmp_path / "plate1.txt", tmp_path / "plate2.txt"], plate_map)
    assert sorted({q.run_id for q in result.run_qc}) == [
        "ESR1_ARMS_demo_2026-03-02 (plate1.txt)",
        "ESR1_ARMS_demo_2026-03-02 (plate2.txt)",
    ]
    demo = call_pcr([QUANTSTUDIO], DEMO_MAP)

    def outcome(samples):
        return [(c.sample_id, c.hotspot, c.status, c.reasons) for s in samples for c in s.calls]

    assert outcome(result.samples) == outcome(demo.samples) * 2


def test_a_lightcycler_run_named_by_one_of_its_filter_files_stays_one_run(tmp_path):
    folder = TESTDATA / "plates" / "lightcycler480"
    files = sorted(folder.glob("esr1_demo_lc480_*.txt"))
    lines = DEMO_MAP.read_text().splitlines()
    plate_map = tmp_path / "map.csv"
    plate_map.write_text(
        "\n".join([f"{lines[0]},plate", *(f"{line},{files[1].stem}" for line in lines[1:])]) + "\n"
    )
    result = call_pcr(files, plate_map)
    assert {q.run_id for q in result.run_qc} == {"ESR1_ARMS_demo_LC480"}
    assert len(result.samples) == 9


def test_the_ic_delay_limit_survives_binary_arithmetic():
    kit = _kit_with_ic_delay()
    # 33.02 - 30.02 = 3.0000000000000036: at the 3.0 limit, not over it
    assert call_target(NAN, 26.0, 33.02, D538G, kit, ntc_ic=30.02).status is CallStatus.NOT_DETECTED


def test_a_pc_or_reference_ct_flagged_not_amplified_does_not_vouch(tmp_path):
    # the RM1 PC's FAM (A1): a Ct in the window, but flagged: the run's PC fails
    pc = call_pcr([_quantstudio_rewritten(tmp_path, "A1", "FAM", "28.0", {"NOAMP"})], DEMO_MAP)
    failed = [q for q in pc.run_qc if not q.passed]
    assert [(q.check, q.subject, q.reason) for q in failed] == [
        ("PC", "well A1 FAM (D538G)", Reason.PC_FAIL)
    ]
    # S1's reference well (E4 FAM, 26.1): flagged, so no reference: the sample is INVALID
    ref = call_pcr([_quantstudio_rewritten(tmp_path, "E4", "FAM", "26.1", {"EXPFAIL"})], DEMO_MAP)
    report, calls = calls_of(ref, "S1")
    assert report.status is SampleStatus.INVALID
    assert {c.reasons for c in calls.values()} == {(Reason.REF_NO_AMP,)}


def test_an_ntc_ic_flagged_not_amplified_fails_but_a_flagged_ntc_signal_still_alarms(tmp_path):
    # the RM1 NTC (A2): its IC (VIC) keeps its Ct but the instrument says NOAMP, so it does not
    # vouch for the run; its D538G (FAM) with a Ct flagged NOAMP is still contamination
    ic = call_pcr([_quantstudio_rewritten(tmp_path, "A2", "VIC", "30.09", {"NOAMP"})], DEMO_MAP)
    failed = [q for q in ic.run_qc if not q.passed]
    assert [(q.check, q.subject, q.value, q.reason) for q in failed] == [
        ("NTC IC", "well A2 HEX (IC)", None, Reason.CONTROL_IC_FAIL)
    ]
    assert {c.reasons for c in _all_sample_calls(ic)} == {(Reason.CONTROL_IC_FAIL,)}
    signal = call_pcr(
        [_quantstudio_rewritten(tmp_path, "A2", "FAM", "35.0", {"NOAMP", "EXPFAIL"})], DEMO_MAP
    )
    failed = [q for q in signal.run_qc if not q.passed]
    assert [(q.check, q.subject, q.value, q.reason) for q in failed] == [
        ("NTC", "well A2 FAM (D538G)", 35.0, Reason.NTC_AMPLIFIED)
    ]
    assert {c.reasons for c in _all_sample_calls(signal)} == {(Reason.NTC_AMPLIFIED,)}


# --------------------------------------------------------------------------- the export's names
def _renamed(samples=None, targets=None):
    """The demo plate with the export's sample names ({well: name}) or target names
    ({(well, dye): name}) changed, every Ct as it was."""
    wells = demo_wells()
    for well, name in (samples or {}).items():
        hit = wells["well"] == well
        assert hit.sum() >= 1, well
        wells.loc[hit, "sample_name"] = name
    for (well, dye), name in (targets or {}).items():
        hit = (wells["well"] == well) & (wells["dye"] == dye)
        assert hit.sum() == 1, (well, dye)
        wells.loc[hit, "target_name"] = name
    return plate_from(wells)


def _swapped(a, b):
    """The export's names of samples a and b exchanged in every one of their wells."""
    wells = demo_wells()
    mine = {name: set(wells.loc[wells["sample_name"] == name, "well"]) for name in (a, b)}
    return {**dict.fromkeys(mine[a], b), **dict.fromkeys(mine[b], a)}


def _statuses(result):
    return {s.sample_id: s.status for s in result.samples}


def _demo_statuses():
    return _statuses(call_pcr([demo_plate()], DEMO_MAP))


def test_swapped_labels_make_both_samples_invalid_on_every_call(demo):
    result = call_pcr([_renamed(_swapped("S1", "S2"))], DEMO_MAP)
    for sample in ("S1", "S2"):
        report, calls = calls_of(result, sample)
        assert report.status is SampleStatus.INVALID
        assert {(c.status, c.reasons) for c in calls.values()} == {
            (CallStatus.INVALID, (Reason.MAP_EXPORT_MISMATCH,))
        }
        assert all("--trust-map" in c.action for c in calls.values())
        assert calls["D538G"].evidence["map_export_mismatch"] == [
            "wells A4, B4, C4, D4, E4: the export names 'S2' (in the map, S2 is in A5, B5, C5, "
            "D5, E5), the map S1 (SAMPLE)",
            "wells A5, B5, C5, D5, E5: the export names 'S1' (in the map, S1 is in A4, B4, C4, "
            "D4, E4), the map S2 (SAMPLE)",
        ]
        assert "the plate map and the export's names disagree" in report.summary
    # S2 was POSITIVE: its detections are no longer claimed for the wrong patient
    assert calls_of(demo, "S2")[0].status is SampleStatus.POSITIVE
    others = {k: v for k, v in _statuses(result).items() if k not in ("S1", "S2")}
    assert others == {k: v for k, v in _statuses(demo).items() if k not in ("S1", "S2")}
    failed = [(q.check, q.subject, q.value, q.reason) for q in result.run_qc if not q.passed]
    assert failed[0] == (
        "map vs export", "sample names", "60 wells: 50 agree, 10 contradict, 0 unknown, 0 generic",
        Reason.MAP_EXPORT_MISMATCH,
    )  # fmt: skip
    assert failed[1:3] == [
        ("map vs export", "well A4 sample name", "S2", Reason.MAP_EXPORT_MISMATCH),
        ("map vs export", "well B4 sample name", "S2", Reason.MAP_EXPORT_MISMATCH),
    ]
    assert len(failed) == 11


def test_one_relabelled_well_puts_both_samples_in_doubt():
    result = call_pcr([_renamed({"C6": "S2"})], DEMO_MAP)  # S3's RM3 well named S2
    statuses = _statuses(result)
    assert statuses["S3"] is SampleStatus.INVALID and statuses["S2"] is SampleStatus.INVALID
    assert statuses["S1"] is SampleStatus.NEGATIVE


def test_a_mix_in_the_wrong_wells_makes_the_sample_invalid():
    # the instrument was set up with RM2 in A6 and RM1 in B6; the map says the reverse, so the
    # FAM channel read as D538G is the Y537S assay's
    moved = {}
    for dye in ("FAM", "ROX", "CY5"):
        moved[("A6", dye)] = KIT.mixes["RM2"][dye]
        moved[("B6", dye)] = KIT.mixes["RM1"][dye]
    result = call_pcr([_renamed(targets=moved)], DEMO_MAP)
    report, calls = calls_of(result, "S3")
    assert report.status is SampleStatus.INVALID
    assert {c.reasons for c in calls.values()} == {(Reason.MAP_EXPORT_MISMATCH,)}
    assert calls["Y537S"].evidence["map_export_mismatch"][0] == (
        "well A6 FAM: the export names target 'Y537S' (kit: mix RM2 FAM), the map's mix RM1 "
        "has D538G there"
    )
    assert sum(not q.passed and q.subject.startswith("well ") for q in result.run_qc) == 6
    assert {k: v for k, v in _statuses(result).items() if k != "S3"} == {
        k: v for k, v in _demo_statuses().items() if k != "S3"
    }


@pytest.mark.parametrize(
    "renamed",
    [{"A2": "S5", "A8": "NTC"}, {"A1": "NTC"}, {"E3": "S9"}],
    ids=["ntc-and-sample-swapped", "pc-named-ntc", "wt-named-a-patient"],
)
def test_a_contradicted_control_well_invalidates_the_run(renamed):
    result = call_pcr([_renamed(renamed)], DEMO_MAP)
    calls = _all_sample_calls(result)
    assert {c.status for c in calls} == {CallStatus.INVALID}
    assert all(c.reasons[0] is Reason.MAP_EXPORT_MISMATCH for c in calls)
    assert all(c.action.startswith("check the plate map") for c in calls)
    assert {s.status for s in result.samples} == {SampleStatus.INVALID}
    assert all(s.summary.startswith("Invalid run: the plate map") for s in result.samples)
    control_well = next(w for w in renamed if w[1] in "123")
    assert all(
        any(text.startswith(f"well {control_well}: the export names {renamed[control_well]!r}")
            for text in c.evidence["map_export_mismatch"])
        for c in calls
    )  # fmt: skip


def test_a_run_failing_its_controls_and_the_map_names_both():
    result = call_pcr([_renamed({"A2": "PC"}, None)], DEMO_MAP)
    assert result.samples[0].calls[0].reasons == (Reason.MAP_EXPORT_MISMATCH,)
    plate = _renamed({"A1": "NTC", "A2": "PC"})
    wells = plate.wells
    wells.loc[(wells["well"] == "A2") & (wells["dye"] == "FAM"), "ct"] = 28.0
    result = call_pcr([plate], DEMO_MAP)
    call = result.samples[0].calls[0]
    assert call.reasons == (Reason.MAP_EXPORT_MISMATCH, Reason.NTC_AMPLIFIED)
    assert call.action.startswith("check the plate map") and "then repeat the run" in call.action


def test_trust_map_keeps_the_maps_word_and_says_what_it_overrode(demo):
    swapped = _renamed({**_swapped("S1", "S2"), "A2": "S5", "A8": "NTC"})
    result = call_pcr([swapped], DEMO_MAP, make_settings(trust_map=True))
    assert [s.calls for s in result.samples] == [s.calls for s in demo.samples]
    [notice] = [n for n in result.notices if "--trust-map" in n]
    assert notice.startswith("Run demo: --trust-map: the plate map was trusted where the export")
    assert "wells A4, B4, C4, D4, E4: the export names 'S2'" in notice
    assert "well A2: the export names 'S5'" in notice
    assert result.thresholds["trust_map"] == {"value": True, "source": "--trust-map"}
    assert demo.thresholds["trust_map"]["value"] is False
    rows = [q for q in result.run_qc if q.check == "map vs export"]
    assert all(q.passed and q.reason is None for q in rows) and len(rows) == 2 + 12
    [a4] = [q for q in rows if q.subject == "well A4 sample name"]
    assert (a4.value, a4.expected) == ("S2", "S1 (SAMPLE) (--trust-map: the map is trusted)")


def test_barcodes_in_the_export_are_called_with_a_notice(demo):
    barcodes = {f"{row}{column}": f"BC-{column:03d}" for row in "ABCDE" for column in range(4, 13)}
    result = call_pcr([_renamed(barcodes)], DEMO_MAP)
    assert [s.calls for s in result.samples] == [s.calls for s in demo.samples]
    [notice] = [n for n in result.notices if "sample id of the plate map" in n]
    assert notice == (
        "Run demo: no sample name in the export ('BC-004', 'BC-005', 'BC-006', 'BC-007', "
        "'BC-008' and 4 more) is a sample id of the plate map, so a swap could not be checked; "
        "confirm that the map belongs to this run"
    )
    [row] = [q for q in result.run_qc if q.subject == "sample names"]
    assert row.value == "60 wells: 15 agree, 0 contradict, 45 unknown, 0 generic" and row.passed


@pytest.mark.parametrize("generic", ["", "Sample {n}", "Unknown", "{well}"])
def test_generic_names_in_the_export_change_no_call(demo, generic):
    wells = demo_wells()
    names = {w: generic.format(n=i, well=w) for i, w in enumerate(dict.fromkeys(wells["well"]))}
    targets = {(w, d): generic.format(n=i, well=w) for i, (w, d) in
               enumerate(zip(wells["well"], wells["dye"], strict=True))}  # fmt: skip
    result = call_pcr([_renamed(names, targets)], DEMO_MAP)
    assert [s.calls for s in result.samples] == [s.calls for s in demo.samples]
    assert not [n for n in result.notices if "plate map" in n]
    rows = {q.subject: q.value for q in result.run_qc if q.check == "map vs export"}
    assert rows == {
        "sample names": "60 wells: 0 agree, 0 contradict, 0 unknown, 60 generic",
        "target names": "204 well channels: 0 agree, 0 contradict, 0 unknown, 204 generic",
    }


def test_a_mismatch_is_not_overwritten_by_the_overload_policy():
    text = (
        TESTDATA.parent / "esr1calls" / "data" / "kits" / "esr1-11-arms-example.toml"
    ).read_text()
    kit = parse_kit(
        text.replace('"invalidate_all"', '"invalidate_positives_only"').encode(), "k.toml"
    )
    result = call_pcr([_renamed(_swapped("S7", "S8"))], DEMO_MAP, make_settings(kit=kit))
    _, calls = calls_of(result, "S7")  # REF_CT_LOW, overload tolerated for its negatives
    assert {(c.status, c.reasons) for c in calls.values()} == {
        (CallStatus.INVALID, (Reason.MAP_EXPORT_MISMATCH,))
    }


def test_a_mismatch_is_on_every_call_even_of_a_mix_the_map_lacks(tmp_path):
    plate_map = tmp_path / "map.csv"
    plate_map.write_text(DEMO_MAP.read_text().replace("B4,S1,SAMPLE,RM2\n", ""))
    _, calls = calls_of(call_pcr([_renamed({"A4": "S2"})], plate_map), "S1")
    assert calls["Y537S"].reasons == (Reason.MISSING_WELL, Reason.MAP_EXPORT_MISMATCH)
    assert {c.status for c in calls.values()} == {CallStatus.INVALID}
    assert all(Reason.MAP_EXPORT_MISMATCH in c.reasons for c in calls.values())


def test_one_target_name_on_every_fam_well_of_a_per_well_export_contradicts_the_other_mixes():
    wells = demo_wells()
    fam = {(w, "FAM"): "D538G" for w in dict.fromkeys(wells.loc[wells["dye"] == "FAM", "well"])}
    result = call_pcr([_renamed(targets=fam)], DEMO_MAP)
    # RM2-RM5 wells say D538G where the kit has Y537S, Y537C, Y537N, REF: every well of them
    assert {q.subject for q in result.run_qc if not q.passed and q.subject.startswith("well")} == {
        f"well {row}{column} FAM target" for row in "BCDE" for column in range(1, 13)
    }
    assert {s.status for s in result.samples} == {SampleStatus.INVALID}
    assert call_pcr([_renamed(targets=fam)], DEMO_MAP, make_settings(trust_map=True)).samples == (
        call_pcr([demo_plate()], DEMO_MAP).samples
    )


# --------------------------------------------------------------------------- missing control rows
PLATES = TESTDATA / "plates"
_LC480 = [PLATES / "lightcycler480" / f"esr1_demo_lc480_{s}.txt" for s in
          ("fam_465-510", "hex_533-580", "rox_533-610", "cy5_618-660")]  # fmt: skip


def _without_row(tmp_path, source, starts, *, sep=b"\n"):
    """A copy of a real export without the one line that starts with ``starts``."""
    lines = source.read_bytes().split(sep)
    kept = [line for line in lines if not line.lstrip(b"\r").startswith(starts)]
    assert len(kept) == len(lines) - 1, starts
    path = tmp_path / source.name
    path.write_bytes(sep.join(kept))
    return path


def _run_reasons(result):
    return {c.reasons for c in _all_sample_calls(result)}


@pytest.mark.parametrize(
    "source, row, check, subject",
    [
        (PLATES / "quantstudio" / "esr1_demo_quantstudio.txt", b"2\tA2\tfalse\tNTC\tIC\t",
         "NTC IC", "well A2 HEX (IC)"),
        (PLATES / "cfx" / "esr1_demo_cfx - Quantification Cq Results.csv", b",A02,HEX,IC,",
         "NTC IC", "well A2 HEX (IC)"),
        (PLATES / "generic" / "esr1_demo_generic.csv", b"A2,NTC,IC,HEX,",
         "NTC IC", "well A2 HEX (IC)"),
        (PLATES / "quantstudio" / "esr1_demo_quantstudio.txt", b"1\tA1\tfalse\tPC\tD538G\t",
         "PC", "well A1 FAM (D538G)"),
        (PLATES / "cfx" / "esr1_demo_cfx - Quantification Cq Results.csv", b",E01,FAM,",
         "PC", "well E1 FAM (REF)"),
        (PLATES / "generic" / "esr1_demo_generic.csv", b"A1,PC,IC,HEX,", "PC IC",
         "well A1 HEX (IC)"),
        (PLATES / "generic" / "esr1_demo_generic.csv", b"B2,NTC,Y537S,FAM,", "NTC",
         "well B2 FAM (Y537S)"),
    ],
    ids=["qs-ntc-ic", "cfx-ntc-ic", "generic-ntc-ic", "qs-pc-fam", "cfx-pc-ref", "generic-pc-ic",
         "generic-ntc-fam"],
)  # fmt: skip
def test_a_control_row_missing_from_the_export_is_a_missing_control_not_a_failed_one(
    tmp_path, source, row, check, subject
):
    """The NTC's IC row missing was CONTROL_IC_FAIL ("the NTC's internal control did not
    amplify"), a PC channel's row missing PC_FAIL, the PC's IC row missing was not noticed at
    all. Each is a control the export does not hold: MISSING_CONTROL, naming the well and
    channel, with the action to re-export the results and check the map."""
    path = _without_row(tmp_path, source, row)
    result = call_pcr([path], DEMO_MAP)
    assert _run_reasons(result) == {(Reason.MISSING_CONTROL,)}
    failed = [q for q in result.run_qc if not q.passed]
    assert [(q.check, q.subject, q.value, q.reason) for q in failed] == [
        (check, subject, "no row in the export (or omitted there)", Reason.MISSING_CONTROL)
    ]
    actions = {c.action for c in _all_sample_calls(result)}
    assert actions == {
        "re-export the full results table (every well and channel) and check the plate map; if "
        f"the control was not run, repeat the run (missing: {check} {subject})"
    }


def test_a_control_row_missing_from_one_file_of_a_lightcycler_run_is_a_missing_control(tmp_path):
    """LightCycler 480: one file per filter. The HEX file without the NTC's A2 row."""
    hex_file = _without_row(tmp_path, _LC480[1], b"True\t65280\tA2\tNTC\t", sep=b"\r")
    result = call_pcr([_LC480[0], hex_file, _LC480[2], _LC480[3]], DEMO_MAP)
    assert _run_reasons(result) == {(Reason.MISSING_CONTROL,)}
    failed = [(q.check, q.subject) for q in result.run_qc if not q.passed]
    assert failed == [("NTC IC", "well A2 HEX (IC)")]


def test_a_missing_control_row_comes_before_the_other_run_failures_in_the_action(tmp_path):
    """A contaminated NTC and another control's missing row: both reasons, the missing control
    first (it is found by re-exporting), then the repeat the NTC needs."""
    lines = (PLATES / "generic" / "esr1_demo_generic.csv").read_text().splitlines()
    lines = [line for line in lines if not line.startswith("A1,PC,IC,HEX,")]
    lines = [("B2,NTC,Y537S,FAM,33.1" if line.startswith("B2,NTC,Y537S,FAM,") else line)
             for line in lines]  # fmt: skip
    path = tmp_path / "generic.csv"
    path.write_text("\n".join(lines) + "\n")
    result = call_pcr([path], DEMO_MAP)
    assert _run_reasons(result) == {(Reason.MISSING_CONTROL, Reason.NTC_AMPLIFIED)}
    action = next(iter({c.action for c in _all_sample_calls(result)}))
    assert action.startswith("re-export the full results table")
    assert "(missing: PC IC well A1 HEX (IC)); then repeat the run: " in action


def test_the_run_records_the_kits_flags_with_their_sources(demo):
    assert demo.thresholds["flags"] == {
        "delta_ct_negative_below": {
            "value": -1.0,
            "source": "placeholder: a mutant fraction cannot amplify before the total ESR1 "
            "reference",
        },
        "mutation_ct_early_below": {
            "value": 20.0, "source": "placeholder: earlier than any patient sample should give"},
    }  # fmt: skip


# --------------------------------------------------------------------------- run controls, again
# What the full mutation run of the PCR rules (docs/development.md) found no test for.
def test_a_passed_run_check_carries_no_reason(demo):
    # calls.json writes each run check's reason: a passed PC must not read PC_FAIL there
    assert all(q.reason is None for q in demo.run_qc)


def test_a_control_the_map_lacks_is_a_missing_control(tmp_path):
    plate_map = tmp_path / "map.csv"
    plate_map.write_text(DEMO_MAP.read_text().replace("B1,PC,PC,RM2\n", ""))
    result = call_pcr([demo_plate(drop_wells=["B1"])], plate_map)
    failed = [(q.check, q.subject, q.value, q.reason) for q in result.run_qc if not q.passed]
    assert failed == [("PC", "mix RM2", "not in the plate map", Reason.MISSING_CONTROL)]
    assert _run_reasons(result) == {(Reason.MISSING_CONTROL,)}


@pytest.mark.parametrize("ic", [33.0, 36.0, NAN])
def test_the_pcs_internal_control_is_not_held_to_any_window(ic):
    # docs/pcr.md: a PC is judged on its mutation and reference channels, whose signals prove
    # the reaction; its IC channel only has to be in the export (a missing row is MISSING_CONTROL)
    result = call_pcr([demo_plate({("A1", "HEX"): ic})], DEMO_MAP)
    assert all(q.passed for q in result.run_qc)
    assert calls_of(result, "S1")[0].status is SampleStatus.NEGATIVE


@pytest.mark.parametrize("delta, ok", [(8.99, False), (9.0, False), (9.01, True)])
def test_the_wt_control_is_judged_in_its_own_mix_at_the_cut_off(delta, ok):
    # A3 is the WT's RM1 well: D538G (FAM) at its reference (E3, 25.48) + delta. A WT whose
    # delta-Ct is at the cut-off calls the mutation, as a sample's would
    result = call_pcr([demo_plate({("A3", "FAM"): 25.48 + delta})], DEMO_MAP)
    failed = [(q.check, q.subject, q.reason) for q in result.run_qc if not q.passed]
    assert failed == ([] if ok else [("WT", "well A3 FAM (D538G)", Reason.WT_CTRL_POSITIVE)])


def test_a_wt_channel_without_amplification_shows_no_value():
    # calls.json holds each check's value: no delta-Ct (never an infinite one) where nothing
    # amplified in the WT's mutation channel
    result = call_pcr([demo_plate({("A3", "FAM"): NAN})], DEMO_MAP)
    [check] = [q for q in result.run_qc if q.subject == "well A3 FAM (D538G)"]
    assert check.passed and check.value is None


def _without_wt_rows(tmp_path, how):
    """The demo plate and map with the WT unevaluable in one way (a WT assay no longer judged)."""
    plate_map = tmp_path / "map.csv"
    if how == "no reference well":  # E3 (RM5) neither mapped nor exported
        plate_map.write_text(DEMO_MAP.read_text().replace("E3,WT,WT,RM5\n", ""))
        return demo_plate(drop_wells=["E3"]), plate_map
    if how == "no mix well":  # A3 (RM1) neither mapped nor exported
        plate_map.write_text(DEMO_MAP.read_text().replace("A3,WT,WT,RM1\n", ""))
        return demo_plate(drop_wells=["A3"]), plate_map
    wells = demo_wells()  # A3's FAM row (D538G) not in the export
    plate_map.write_text(DEMO_MAP.read_text())
    return plate_from(wells[~((wells["well"] == "A3") & (wells["dye"] == "FAM"))]), plate_map


@pytest.mark.parametrize("how", ["no reference well", "no mix well", "no channel row"])
def test_a_wt_control_that_cannot_be_judged_fails_only_when_the_kit_requires_it(tmp_path, how):
    plate, plate_map = _without_wt_rows(tmp_path, how)
    required = call_pcr([plate], plate_map, make_settings(kit=_kit_requiring_wt()))
    failed = [(q.check, q.subject, q.passed, q.reason) for q in required.run_qc if not q.passed]
    rm1 = [name for name, assay in KIT.assays.items() if assay.mix == "RM1"]
    unjudged = list(KIT.assays) if how == "no reference well" else (
        rm1 if how == "no mix well" else ["D538G"])  # fmt: skip
    assert failed == [("WT", f"WT {name}", False, Reason.MISSING_CONTROL) for name in unjudged]
    assert _run_reasons(required) == {(Reason.MISSING_CONTROL,)}
    optional = call_pcr([plate], plate_map)  # the bundled kit: the assay is not judged
    assert all(q.passed for q in optional.run_qc)
    judged = {q.subject.split("(")[-1].rstrip(")") for q in optional.run_qc if q.check == "WT"}
    assert judged == set(KIT.assays) - set(unjudged)


@pytest.mark.parametrize("kit_value, ok", [(0.10009, True), (0.100105, False)])
def test_a_threshold_is_the_kits_within_a_tenth_of_a_percent(kit_value, ok):
    from esr1calls.plates import read_plate

    kit = _kit_with_thresholds({**DEMO_THRESHOLDS, "FAM": kit_value})  # the export's: 0.1
    result = call_pcr([read_plate(QUANTSTUDIO)], DEMO_MAP, make_settings(kit=kit))
    [fam] = [q for q in result.run_qc if q.subject == "FAM Ct threshold"]
    assert fam.passed is ok
    assert all(q.passed for q in result.run_qc if q is not fam)


def test_an_ntc_ic_that_did_not_amplify_gives_no_delay_baseline():
    from esr1calls.model import WellRole
    from esr1calls.pcr.platemap import MapEntry
    from esr1calls.pcr.rules import CtTable, ntc_ic_by_mix

    def ntc(well, mix):
        return MapEntry(well, "NTC", WellRole.NTC, mix, 1, "", 1)

    sample = MapEntry("A4", "S1", WellRole.SAMPLE, "RM1", 1, "", 2)
    entries = [ntc("A2", "RM1"), ntc("F2", "RM1"), ntc("B2", "RM2"), ntc("C2", "RM3"),
               ntc("D2", "RM4"), sample]  # fmt: skip
    values = {("A2", "HEX"): 29.0, ("F2", "HEX"): 30.0, ("B2", "HEX"): NAN,
              ("C2", "HEX"): 35.01, ("A4", "HEX"): 20.0}  # fmt: skip
    # RM1: the median of its two NTCs; RM2 no amplification, RM3 over ct_max, RM4 no row: none
    assert ntc_ic_by_mix(CtTable("r", values), entries, KIT) == {"RM1": 29.5}


# --------------------------------------------------------------------------- reference, again
def test_a_sample_without_its_reference_well_in_the_map_is_a_missing_well(tmp_path):
    plate_map = tmp_path / "map.csv"
    plate_map.write_text(DEMO_MAP.read_text().replace("E4,S1,SAMPLE,RM5\n", ""))
    report, calls = calls_of(call_pcr([demo_plate(drop_wells=["E4"])], plate_map), "S1")
    assert report.status is SampleStatus.INVALID
    assert {c.reasons for c in calls.values()} == {(Reason.MISSING_WELL,)}
    assert report.details["achieved_lod95"] is None
    # an in_well sample's only reference read missing is missing too, not "did not amplify"
    assert evaluate_reference([None], KIT, every_well=False).invalid is Reason.MISSING_WELL


@pytest.mark.parametrize(
    "cts, discordant",
    [((25.5, 26.0, 26.5), False), ((25.4, 26.0, 26.6), True), ((26.0, NAN), True)],
)
def test_reference_replicates_disagree_beyond_the_kits_sd(cts, discordant):
    # reference_sd_max 0.5: an SD of exactly 0.5 is within it, 0.6 is not
    assert evaluate_reference(list(cts), KIT).discordant is discordant


def test_an_overload_just_under_ct_min_is_diluted_at_least_twofold():
    text = (
        TESTDATA.parent / "esr1calls" / "data" / "kits" / "esr1-11-arms-example.toml"
    ).read_text()
    line = 'ct_target = { value = 25.0, source = "placeholder: dilution target" }'
    assert line in text
    kit = parse_kit(text.replace(line, "ct_target = 20.0").encode(), "k.toml")
    outcome = evaluate_reference([19.5], kit)  # 1.4-fold too much DNA: never "dilute x1"
    assert outcome.invalid is Reason.REF_CT_LOW
    assert outcome.action.startswith("dilute x2 ")


def test_the_samples_achieved_lod_is_its_own(demo):
    assert calls_of(demo, "S1")[0].details["achieved_lod95"] == 0.002
    low = calls_of(demo, "S9")[0].details
    assert low["low_input"] and low["achieved_lod95"] == pytest.approx(0.002 * 1.95**2.12)
    assert calls_of(demo, "S7")[0].details["achieved_lod95"] is None  # REF_CT_LOW: none


def test_a_detection_in_a_low_input_sample_says_so(demo):
    _, calls = calls_of(demo, "S9")
    assert calls["L536R"].status is CallStatus.DETECTED
    assert calls["L536R"].evidence["note"] == "detected despite low input"
    assert calls["L536R"].evidence["semi_quantitative"] is True
    assert "note" not in calls_of(demo, "S2")[1]["D538G"].evidence


# --------------------------------------------------------------------------- one well, again
def test_a_missing_ic_row_is_a_missing_well_not_a_failed_ic():
    for ct_mutation in (NAN, 26.0 + 9.5):  # no signal, or one above the cut-off
        outcome = call_target(ct_mutation, 26.0, None, D538G, KIT)
        assert (outcome.status, outcome.reasons) == (CallStatus.INVALID, (Reason.MISSING_WELL,))


def test_the_ic_delay_rule_without_an_ntc_baseline_is_not_applied():
    outcome = call_target(NAN, 26.0, 34.0, D538G, _kit_with_ic_delay(), ntc_ic=None)
    assert (outcome.status, outcome.reasons) == (CallStatus.NOT_DETECTED, ())


@pytest.mark.parametrize("ct_mutation, flagged", [(24.99, True), (25.0, False)])
def test_the_negative_delta_ct_flag_is_below_its_limit(ct_mutation, flagged):
    # delta_ct_negative_below -1.0: a mutation Ct exactly one cycle before the reference is not
    outcome = call_target(ct_mutation, 26.0, 30.0, D538G, KIT)
    assert outcome.status is CallStatus.DETECTED
    assert outcome.reasons == ((Reason.DCT_NEGATIVE,) if flagged else ())


@pytest.mark.parametrize("over, expected", [(4e-7, "DETECTED"), (4e-6, "NOT_DETECTED")])
def test_a_delta_ct_is_compared_to_a_millionth_of_a_cycle(over, expected):
    # docs/pcr.md: rounded to 1e-6 cycles (CFX Maestro and SDS exports write 13 decimals)
    assert call_target(35.0 + over, 26.0, 30.0, D538G, KIT).status.value == expected


def test_few_genome_copies_widen_the_fraction_interval_both_ways():
    fraction, (low, high), method = estimate_fraction(6.0, D538G, None)
    few, (few_low, few_high), few_method = estimate_fraction(6.0, D538G, 100)
    assert few == fraction and few_low < low and few_high > high
    assert "Poisson on ~2.5 mutant copies" in few_method and "Poisson" not in method


def test_an_in_well_detection_stands_in_a_low_input_well(tmp_path):
    # A3's own reference 28.8 is over ct_full_sensitivity: a negative there is LOW_INPUT, but a
    # mutation found despite little DNA is a detection
    _, calls = _in_well_s1(tmp_path, (28.8 + 6.0, 28.8, 30.0), (NAN, 28.2, 30.0))
    assert (calls["D538G"].status, calls["D538G"].reasons) == (CallStatus.DETECTED, ())


def test_an_in_well_wt_control_is_judged_against_its_own_reference(tmp_path):
    import pandas as pd

    def run(wt_fam):
        rows = [{"well": well, "sample_name": "", "target_name": "", "dye": dye, "ct": ct,
                 "flags": "", "source_row": 2}
                for well, cts in {"A1": (28.0, 26.0, 30.0), "A2": (NAN, NAN, 30.0),
                                  "B1": (28.0, 26.0, 30.0), "B2": (NAN, NAN, 30.0),
                                  "A4": (wt_fam, 26.0, 30.0), "B4": (NAN, 26.0, 30.0),
                                  "A3": (NAN, 26.0, 30.0), "B3": (NAN, 26.0, 30.0)}.items()
                for dye, ct in zip(("FAM", "VIC", "CY5"), cts, strict=True)]  # fmt: skip
        plate_map = tmp_path / "map.csv"
        plate_map.write_text("well,sample_id,role,mix\nA1,PC,PC,M1\nB1,PC,PC,M2\nA2,NTC,NTC,M1\n"
                             "B2,NTC,NTC,M2\nA4,WT,WT,M1\nB4,WT,WT,M2\nA3,S1,SAMPLE,M1\n"
                             "B3,S1,SAMPLE,M2\n")  # fmt: skip
        settings = make_settings(kit=parse_kit(IN_WELL_KIT, "in_well.toml"),
                                 panel=load_panel("default", ["D538G", "Y537S"]))  # fmt: skip
        return call_pcr([plate_from(pd.DataFrame(rows))], plate_map, settings)

    assert all(q.passed for q in run(26.0 + 9.5).run_qc)
    failed = [(q.subject, q.reason) for q in run(26.0 + 8.0).run_qc if not q.passed]
    assert failed == [("well A4 FAM (D538G)", Reason.WT_CTRL_POSITIVE)]


# --------------------------------------------------------------------------- replicates, again
def _replicates(tmp_path, changes):
    """R1 (S1's wells replicate 1, S2's replicate 2) with both reference wells at Ct 26.0."""
    plate = demo_plate({("E4", "FAM"): 26.0, ("E5", "FAM"): 26.0, **changes})
    return calls_of(call_pcr([plate], _replicate_map(tmp_path)), "R1")[1]["D538G"]


def test_two_positive_replicates_are_detected_at_their_mean(tmp_path):
    call = _replicates(tmp_path, {("A4", "FAM"): 32.0, ("A5", "FAM"): 33.0})
    assert (call.status, call.reasons, call.delta_ct) == (CallStatus.DETECTED, (), 6.5)
    assert call.allele_fraction == pytest.approx(1.95 ** -(6.5 - 0.5))


@pytest.mark.parametrize("second, expected", [(36.1, CallStatus.DETECTED),
                                              (36.2, CallStatus.INDETERMINATE)])  # fmt: skip
def test_one_positive_replicate_is_reportable_up_to_the_cut_off_plus_the_margin(
    tmp_path, second, expected
):
    # delta-Cts 8.9 and 10.1 (mean 9.5, at cut-off 9.0 + margin 0.5), then 8.9 and 10.2
    call = _replicates(tmp_path, {("A4", "FAM"): 34.9, ("A5", "FAM"): second})
    assert (call.status, call.reasons) == (expected, (Reason.REPLICATE_DISCORDANT,))


def test_a_positive_replicate_beside_an_invalid_one_is_never_reported(tmp_path):
    # replicate 2's IC failed with a late signal (delta-Ct 9.8): the mean 7.9 would pass, but
    # the failed replicate may have hidden an earlier one
    call = _replicates(tmp_path, {("A4", "FAM"): 32.0, ("A5", "FAM"): 35.8, ("A5", "HEX"): NAN})
    assert (call.status, call.reasons) == (CallStatus.INDETERMINATE, (Reason.REPLICATE_DISCORDANT,))


def test_an_invalid_replicate_beside_a_negative_one_is_invalid(tmp_path):
    call = _replicates(tmp_path, {("A4", "FAM"): NAN, ("A5", "FAM"): NAN, ("A5", "HEX"): NAN})
    assert (call.status, call.reasons) == (CallStatus.INVALID, (Reason.IC_FAIL,))


def test_a_single_well_call_has_no_replicate_evidence(demo):
    assert "replicates" not in calls_of(demo, "S2")[1]["D538G"].evidence


# --------------------------------------------------------------------------- groups, again
def _s4(changes, settings=None):
    return calls_of(call_pcr([demo_plate(changes)], DEMO_MAP, settings), "S4")[1]


def test_the_group_primary_is_the_lowest_delta_ct_wherever_it_is_in_the_group():
    # Y537C (second in its group) 3.5 cycles stronger than Y537S
    calls = _s4({("B7", "FAM"): 25.95 + 8.5, ("C7", "FAM"): 25.95 + 5.0, ("D7", "FAM"): NAN})
    assert calls["Y537C"].status is CallStatus.DETECTED
    assert calls["Y537S"].status is CallStatus.INDETERMINATE
    assert calls["Y537S"].evidence["primary"] == "Y537C"


@pytest.mark.parametrize(
    "deltas, cross",
    [((0.0, 0.5, 3.2), {"Y537N"}), ((-2.5, 0.0, None), set())],
    ids=["primary-at-zero", "weaker-at-zero"],
)
def test_a_delta_ct_of_zero_counts_as_zero_in_a_group(deltas, cross):
    # a mutation Ct equal to the reference Ct (delta-Ct 0.0) is a number, not "no value"
    wells = ("B7", "C7", "D7")
    cts = {(w, "FAM"): NAN if d is None else 25.95 + d for w, d in zip(wells, deltas, strict=True)}
    calls = _s4(cts)
    assert {n for n, c in calls.items() if Reason.POSSIBLE_CROSS_REACTIVITY in c.reasons} == cross


def test_a_negative_in_a_group_is_not_made_a_cross_reaction():
    # Y537S detected (delta-Ct 5.0), Y537C amplified above the cut-off (9.5): a negative
    calls = _s4({("B7", "FAM"): 25.95 + 5.0, ("C7", "FAM"): 25.95 + 9.5, ("D7", "FAM"): NAN})
    assert (calls["Y537C"].status, calls["Y537C"].reasons) == (CallStatus.NOT_DETECTED, ())
    assert calls["Y537S"].reasons == ()


def test_cross_reactivity_is_the_first_reason_of_a_flagged_weaker_call():
    # S4's Y537C (weaker by 3.7 cycles) with its RM3 IC failed: IC_FAIL_POSITIVE comes after
    calls = _s4({("C7", "HEX"): NAN})
    assert calls["Y537C"].reasons == (Reason.POSSIBLE_CROSS_REACTIVITY, Reason.IC_FAIL_POSITIVE)


def test_a_cross_reactivity_margin_of_zero_keeps_the_primary_detected():
    # a kit may call every weaker detection of a group a possible cross-reaction (margin 0)
    text = (
        TESTDATA.parent / "esr1calls" / "data" / "kits" / "esr1-11-arms-example.toml"
    ).read_text()
    line = 'cross_reactivity_margin = { value = 3.0, source = "placeholder" }'
    assert line in text
    kit = parse_kit(text.replace(line, "cross_reactivity_margin = 0.0").encode(), "k.toml")
    calls = _s4({}, make_settings(kit=kit))
    assert (calls["Y537S"].status, calls["Y537S"].reasons) == (CallStatus.DETECTED, ())
    assert {calls[n].status for n in ("Y537C", "Y537N")} == {CallStatus.INDETERMINATE}


def test_a_panel_with_part_of_a_group_is_called():
    settings = make_settings(panel=load_panel("default", ["Y537S", "D538G"]))
    calls = _s4({}, settings)
    assert set(calls) == {"Y537S", "D538G"} and calls["Y537S"].status is CallStatus.DETECTED


# --------------------------------------------------------------------------- the sample, again
def test_a_failed_run_and_a_contradicted_sample_name_both(demo):
    plate = _renamed(_swapped("S1", "S2"))
    wells = plate.wells
    wells.loc[(wells["well"] == "A2") & (wells["dye"] == "FAM"), "ct"] = 35.0
    _, calls = calls_of(call_pcr([plate], DEMO_MAP), "S1")
    assert {c.reasons for c in calls.values()} == {
        (Reason.NTC_AMPLIFIED, Reason.MAP_EXPORT_MISMATCH)
    }
    assert calls_of(demo, "S1")[0].details.get("map_export_mismatch") is None


def _overload_tolerant_kit():
    text = (
        TESTDATA.parent / "esr1calls" / "data" / "kits" / "esr1-11-arms-example.toml"
    ).read_text()
    return parse_kit(
        text.replace('"invalidate_all"', '"invalidate_positives_only"').encode(), "k.toml"
    )


@pytest.mark.parametrize(
    "case, sample, expected",
    [
        ("run failed", "S1", SampleStatus.INVALID),
        ("names contradict", "S1", SampleStatus.INVALID),
        ("reference failed", "S7", SampleStatus.INVALID),
        ("overload tolerated", "S7", SampleStatus.INDETERMINATE),
    ],
)
def test_a_sample_with_a_hotspot_the_kit_does_not_test_is_invalid_when_its_run_or_dna_is(
    case, sample, expected
):
    # the extended panel's Y537D is NOT_TESTED (INDETERMINATE) on every sample: the sample's
    # own failure, not a count of its calls, makes it INVALID
    panel = load_panel("extended")
    settings = make_settings(panel=panel)
    plate = demo_plate()
    if case == "run failed":
        plate = demo_plate({("A2", "FAM"): 35.0})
    elif case == "names contradict":
        plate = _renamed(_swapped("S1", "S2"))
    elif case == "overload tolerated":
        settings = make_settings(panel=panel, kit=_overload_tolerant_kit())
    report, calls = calls_of(call_pcr([plate], DEMO_MAP, settings), sample)
    assert report.status is expected
    assert calls["Y537D"].reasons == (Reason.NOT_TESTED,)
    if case == "names contradict":
        assert (
            report.details["map_export_mismatch"] == calls["D538G"].evidence["map_export_mismatch"]
        )


def test_a_discordant_reference_is_the_first_reason_of_a_flagged_negative(tmp_path):
    # in_well, overload tolerated for negatives: the wells' own references (10.0, 11.0) disagree
    # (SD 0.71 > 0.5); A3's D538G at 19.9 is a negative flagged MUT_CT_EARLY, and what makes it
    # INDETERMINATE comes first
    kit_text = IN_WELL_KIT.replace(
        b"ct_min = 20.0", b'ct_min = 20.0\noverload_policy = "invalidate_positives_only"'
    )
    _, calls = _in_well_s1(tmp_path, (19.9, 10.0, 30.0), (NAN, 11.0, 30.0), kit_text)
    assert (calls["D538G"].status, calls["D538G"].reasons) == (
        CallStatus.INDETERMINATE,
        (Reason.REPLICATE_DISCORDANT, Reason.MUT_CT_EARLY),
    )


@pytest.mark.parametrize("ct", [0.0, 0.5, -1.0])
def test_a_plate_given_through_the_api_with_a_ct_below_1_is_refused(ct):
    """The readers refuse a Ct below the first cycle; a Plate made by hand meets the same rule
    where the calls are made, never an amplification at cycle 0 (a DETECTED)."""
    with pytest.raises(InputError, match=r"well B4 FAM: Ct -?[0-9.]+ is not a possible Ct"):
        call_pcr([demo_plate({("B4", "FAM"): ct})], DEMO_MAP)
