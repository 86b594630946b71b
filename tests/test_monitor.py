"""The monitoring states of DESIGN.md section 9 on a synthetic cohort with golden states, the Fisher
test against scipy, the boundaries of each rule, and the property that an INDETERMINATE timepoint
never changes another timepoint's state."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import fisher_exact

from esr1calls.errors import InputError
from esr1calls.monitor import (
    MonitoredSample,
    Observation,
    SampleCollector,
    State,
    compare,
    evaluate_patient,
    patients_in_order,
)
from esr1calls.patients import SampleSheet, SheetRow
from esr1calls.stats import fisher_exact_one_sided
from esr1calls.testing import TESTDATA
from esr1calls.testing.golden import assert_golden

from .monitor_factory import digest, document, dpcr, ngs, pcr, sample

EXPECTED = TESTDATA / "expected" / "monitor"


def cohort() -> list[tuple[str, dict]]:
    """(run folder, calls.json) of four patients over 4-6 timepoints, with every state of the
    table, a skipped INDETERMINATE timepoint, an INVALID one, a method change (PCR -> NGS), a
    same-date PCR + NGS timepoint, and a dPCR series."""

    def p01(date, index, calls):
        return sample(f"P01-T{index}", "NGS", calls, patient="P01", collected=date)

    runs = [
        ("ngs-2024-01", [
            p01("2024-01-10", 1, [ngs("D538G", "NOT_DETECTED", 1, 12000, lod95=0.0011),
                                  ngs("Y537S", "DETECTED", 100, 10000)]),
        ]),
        ("ngs-2024-03", [
            p01("2024-03-12", 2, [ngs("D538G", "INDETERMINATE", 0, 900, lod95=0.011),
                                  ngs("Y537S", "INDETERMINATE", 2, 900, lod95=0.011)]),
        ]),
        ("ngs-2024-05", [
            p01("2024-05-14", 3, [ngs("D538G", "DETECTED", 30, 10000),
                                  ngs("Y537S", "DETECTED", 20, 10000)]),
            sample("P02-T3", "NGS", [ngs("D538G", "DETECTED", 500, 10000)], patient="P02",
                   collected="2024-05-20"),
        ]),
        ("ngs-2024-07", [
            p01("2024-07-16", 4, [ngs("D538G", "DETECTED", 200, 10000),
                                  ngs("Y537S", "NOT_DETECTED", 1, 11000, lod95=0.0012)]),
            sample("P02-T4", "NGS", [ngs("D538G", "DETECTED", 50, 10000)], patient="P02",
                   collected="2024-07-22"),
        ]),
        ("ngs-2024-09", [
            p01("2024-09-17", 5, [ngs("D538G", "DETECTED", 210, 10000),
                                  ngs("Y537S", "NOT_DETECTED", 0, 13000, lod95=0.0011)]),
            sample("P02-T5n", "NGS", [ngs("D538G", "DETECTED", 45, 10000),
                                      ngs("E380Q", "NOT_DETECTED", 0, 9000, lod95=0.0019)],
                   patient="P02", collected="2024-09-20"),
        ]),
        ("pcr-2024-01", [
            sample("P02-T1", "PCR", [pcr("D538G", "DETECTED", 6.0)], patient="P02",
                   collected="2024-01-15", run_id="plate1"),
            sample("P04-T1", "PCR", [], patient="P04", collected="2024-01-15"),
        ]),
        ("pcr-2024-03", [
            sample("P02-T2", "PCR", [pcr("D538G", "DETECTED", 4.5)], patient="P02",
                   collected="2024-03-18"),
            sample("P04-T2", "PCR", [], patient="P04", collected="2024-03-20"),
        ]),
        ("pcr-2024-09", [
            sample("P02-T5p", "PCR", [pcr("D538G", "DETECTED", 4.2), pcr("E380Q", "DETECTED", 8.6)],
                   patient="P02", collected="2024-09-20"),
            sample("P04-T3", "PCR", [], patient="P04", collected="2024-05-20"),
        ]),
        ("pcr-2024-11", [
            sample("P04-T4", "PCR", [], patient="P04", collected="2024-07-20"),
            sample("P04-T5", "PCR", [pcr(h, "INVALID", None) for h in ("D538G", "Y537S")],
                   patient="P04", collected="2024-09-20"),
        ]),
        ("dpcr-2024", [
            sample(f"P03-T{i + 1}", "dPCR",
                   [dpcr("Y537S", status, k_m, 20000, lod95=0.0008)] if k_m is not None else [],
                   patient="P03", collected=date)
            for i, (date, status, k_m) in enumerate([
                ("2024-02-01", "NOT_DETECTED", 0), ("2024-04-01", "DETECTED", 12),
                ("2024-06-01", "DETECTED", 16), ("2024-08-01", "DETECTED", 80),
            ])
        ]),
    ]  # fmt: skip
    return [(folder, document(samples)) for folder, samples in runs]


def collect(runs, sheet=None):
    collector = SampleCollector(sheet)
    for folder, doc in runs:
        collector.add(f"{folder}/calls.json", digest(doc), doc, folder=("lab", folder))
    return collector.finish()


def states_table(histories) -> str:
    """One line per patient x timepoint x hotspot that is not ABSENT throughout."""
    lines = ["patient\tcollected\thotspot\tstatus\tstate\treasons\tp_value\tfold\tdelta_ct_change"]
    for history in histories:
        quiet = {
            h.hotspot for t in history.timepoints for h in t.hotspots
        } - {h.hotspot for t in history.timepoints for h in t.hotspots
             if h.state is not State.ABSENT}  # fmt: skip
        for timepoint in history.timepoints:
            for state in timepoint.hotspots:
                if state.hotspot in quiet:
                    continue
                comparison = state.comparison
                p = "" if comparison is None or comparison.p_value is None else (
                    f"{comparison.p_value:.4g}")  # fmt: skip
                fold = "" if comparison is None or comparison.fold is None else (
                    f"{comparison.fold:.4g}")  # fmt: skip
                change = "" if comparison is None or comparison.delta_ct_change is None else (
                    f"{comparison.delta_ct_change:g}")  # fmt: skip
                lines.append("\t".join([
                    history.patient_id, timepoint.collected, state.hotspot, state.status,
                    state.state.value, ";".join(state.reasons), p, fold, change,
                ]))  # fmt: skip
        lines.append(f"{history.patient_id}\tflagged={history.flagged}\t{','.join(history.flags)}")
    return "\n".join(lines) + "\n"


def test_the_synthetic_cohort_gives_its_golden_states():
    patients, unassigned, unused = collect(cohort())
    assert not unassigned and not unused
    histories = list(patients_in_order(patients))
    assert [h.patient_id for h in histories] == ["P01", "P02", "P03", "P04"]
    assert_golden(states_table(histories), EXPECTED / "cohort.states.tsv")
    seen = {h.state for p in histories for t in p.timepoints for h in t.hotspots}
    assert seen == set(State)  # every state of the table


def _states(history, hotspot):
    return [
        next(h.state.value for h in t.hotspots if h.hotspot == hotspot) for t in history.timepoints
    ]


def test_the_cohort_states_read_as_the_design_table_says():
    histories = {h.patient_id: h for h in patients_in_order(collect(cohort())[0])}
    # the INDETERMINATE timepoint is skipped: NEW is against the NOT_DETECTED before it
    assert _states(histories["P01"], "D538G") == [
        "ABSENT", "NOT_EVALUABLE", "NEW", "RISING", "PERSISTENT"]  # fmt: skip
    assert _states(histories["P01"], "Y537S") == [
        "PRESENT_AT_BASELINE", "NOT_EVALUABLE", "FALLING", "CLEARED", "ABSENT"]  # fmt: skip
    # PCR 6.0 -> 4.5 (1.5 cycles) RISING; PCR -> NGS METHOD_CHANGED; NGS 5 % -> 0.5 % FALLING
    assert _states(histories["P02"], "D538G") == [
        "PRESENT_AT_BASELINE", "RISING", "PERSISTENT", "FALLING", "PERSISTENT"]  # fmt: skip
    third = next(h for h in histories["P02"].timepoints[2].hotspots if h.hotspot == "D538G")
    assert third.reasons == ("METHOD_CHANGED",)
    # one date, PCR DETECTED + NGS NOT_DETECTED: DETECTED wins, and both samples are evidence
    last = next(h for h in histories["P02"].timepoints[-1].hotspots if h.hotspot == "E380Q")
    assert (last.status, last.state) == ("DETECTED", State.NEW)
    assert [s.sample_id for s, _ in last.samples] == ["ngs-2024-09:P02-T5n", "pcr-2024-09:P02-T5p"]
    assert histories["P02"].flagged and histories["P02"].flags == ("E380Q NEW",)
    assert _states(histories["P03"], "Y537S") == ["ABSENT", "NEW", "PERSISTENT", "RISING"]
    assert histories["P03"].flagged and not histories["P01"].flagged
    assert _states(histories["P04"], "D538G")[-1] == "NOT_EVALUABLE"
    assert not histories["P04"].flagged


def test_the_result_does_not_depend_on_the_order_of_the_documents():
    runs = cohort()
    forward = states_table(patients_in_order(collect(runs)[0]))
    assert states_table(patients_in_order(collect(runs[::-1])[0])) == forward


# ----------------------------------------------------------------------------- the Fisher test
def _side(method, status="DETECTED", **values):
    sample_ = MonitoredSample(f"r:{method}", method, "calls.json", "POSITIVE", {})
    return [(sample_, Observation(status, **values))]


@pytest.mark.parametrize(
    "now, before",
    [((30, 9970), (10, 9990)), ((12, 19988), (4, 19996)), ((200, 9800), (30, 9970)),
     ((5, 995), (50, 950)), ((3, 20000), (9, 20000)), ((1500, 48500), (700, 49300))],
)  # fmt: skip
def test_the_fisher_test_is_scipys_in_the_direction_of_the_change(now, before):
    (a, b), (c, d) = now, before
    state, _, comparison = compare(
        _side("NGS", fraction=a / (a + b), mutant=a, other=b),
        _side("NGS", fraction=c / (c + d), mutant=c, other=d),
    )
    alternative = "greater" if a / (a + b) > c / (c + d) else "less"
    expected = fisher_exact([[a, b], [c, d]], alternative=alternative)
    assert comparison.alternative == alternative and comparison.table == ((a, b), (c, d))
    assert comparison.p_value == pytest.approx(expected.pvalue, rel=1e-9)
    assert comparison.odds_ratio == pytest.approx(expected.statistic, rel=1e-12)
    fold = max(a / (a + b), c / (c + d)) / min(a / (a + b), c / (c + d))
    significant = expected.pvalue < 0.05 and fold >= 2
    assert state.value == (
        ("RISING" if alternative == "greater" else "FALLING") if significant else "PERSISTENT"
    )


@settings(max_examples=300, deadline=None)
@given(*(st.integers(0, 3000) for _ in range(4)), st.sampled_from(["greater", "less"]))
def test_fisher_one_sided_matches_scipy_on_any_table(a, b, c, d, alternative):
    expected = fisher_exact([[a, b], [c, d]], alternative=alternative).pvalue
    assert fisher_exact_one_sided(a, b, c, d, alternative) == pytest.approx(
        expected, rel=1e-8, abs=1e-300
    )


def test_fisher_one_sided_at_depths_of_a_plasma_panel():
    for table in ([60, 59940, 20, 59980], [9, 199991, 1, 199999], [0, 50000, 14, 49986]):
        for alternative in ("greater", "less"):
            expected = fisher_exact([table[:2], table[2:]], alternative=alternative).pvalue
            assert fisher_exact_one_sided(*table, alternative) == pytest.approx(expected, rel=1e-8)


# ----------------------------------------------------------------------------- boundaries
def test_significant_needs_both_p_below_005_and_a_fold_of_two():
    # a big but small-fold change: p tiny, fold 1.5 -> PERSISTENT
    state, _, comparison = compare(
        _side("NGS", fraction=0.015, mutant=1500, other=98500),
        _side("NGS", fraction=0.01, mutant=1000, other=99000),
    )
    assert comparison.p_value < 1e-20 and comparison.fold == pytest.approx(1.5)
    assert state is State.PERSISTENT
    # fold 3 but few reads: p above 0.05 -> PERSISTENT
    state, _, comparison = compare(
        _side("NGS", fraction=0.003, mutant=3, other=997),
        _side("NGS", fraction=0.001, mutant=1, other=999),
    )
    assert comparison.p_value > 0.05 and state is State.PERSISTENT


def test_a_fold_of_exactly_two_counts():
    state, _, comparison = compare(
        _side("NGS", fraction=0.006, mutant=600, other=99400),
        _side("NGS", fraction=0.003, mutant=300, other=99700),
    )
    assert comparison.fold == pytest.approx(2.0) and state is State.RISING


@pytest.mark.parametrize(
    "before, now, state",
    [(5.3, 4.3, "RISING"), (5.3, 4.31, "PERSISTENT"), (4.3, 5.3, "FALLING"),
     (4.3, 5.29, "PERSISTENT"), (6.0, 6.0, "PERSISTENT")],
)  # fmt: skip
def test_pcr_changes_are_judged_by_one_cycle_of_delta_ct(before, now, state):
    result, _, comparison = compare(
        _side("PCR", delta_ct=now, fraction=0.01), _side("PCR", delta_ct=before, fraction=0.01)
    )
    assert result.value == state and comparison.test == "delta_ct"
    assert comparison.p_value is None


def test_a_method_change_never_rises_or_falls_but_new_and_cleared_stand():
    state, reasons, comparison = compare(
        _side("NGS", fraction=0.05, mutant=500, other=9500), _side("PCR", delta_ct=8.0)
    )
    assert state is State.PERSISTENT and reasons == ("METHOD_CHANGED",)
    assert comparison.method is None and comparison.test is None
    negative = [pcr("D538G", "NOT_DETECTED", None)]
    pcr_then_ngs = [
        sample("A", "PCR", negative, patient="P", collected="2024-01-01"),
        sample("B", "NGS", [ngs("D538G", "DETECTED", 40, 10000)], patient="P",
               collected="2024-03-01"),
        sample("C", "PCR", negative, patient="P", collected="2024-05-01"),
    ]  # fmt: skip
    patients, _, _ = collect([("run", document(pcr_then_ngs))])
    assert _states(evaluate_patient("P", patients["P"]), "D538G") == ["ABSENT", "NEW", "CLEARED"]


def test_a_dpcr_comparison_uses_the_partitions():
    state, _, comparison = compare(
        _side("dPCR", fraction=80 / 20080, mutant=80, other=20000),
        _side("dPCR", fraction=12 / 20012, mutant=12, other=20000),
    )
    assert comparison.table == ((80, 20000), (12, 20000)) and state is State.RISING


def test_counts_that_are_missing_never_make_a_change():
    state, reasons, comparison = compare(
        _side("dPCR", fraction=0.01), _side("dPCR", fraction=0.001)
    )
    assert state is State.PERSISTENT and reasons == ("NO_MEASURE",)
    assert comparison.p_value is None


# ----------------------------------------------------------------------------- the property
_STATUS = st.sampled_from(["DETECTED", "NOT_DETECTED", "INDETERMINATE", "INVALID"])


def _timeline_sample(index: int, status: str, mutant: int, method: str) -> MonitoredSample:
    depth = 10000
    observation = Observation(
        status,
        ("INSUFFICIENT_DEPTH",) if status in ("INDETERMINATE", "INVALID") else (),
        fraction=mutant / depth if status != "NOT_DETECTED" else None,
        lod95=0.002,
        mutant=mutant,
        other=depth - mutant,
        delta_ct=10 - mutant / 100 if method == "PCR" else None,
    )
    return MonitoredSample(f"r:S{index}", method, "calls.json", "POSITIVE", {"D538G": observation})


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(_STATUS, st.integers(0, 600), st.sampled_from(["NGS", "PCR"])),
             min_size=1, max_size=7),
    st.integers(0, 8),
    st.sampled_from(["INDETERMINATE", "INVALID"]),
)  # fmt: skip
def test_inserting_a_not_evaluable_timepoint_never_changes_another_state(timeline, where, status):
    dates = [f"2024-{month:02d}-10" for month in range(1, 1 + 2 * len(timeline), 2)]
    samples = [
        (d, _timeline_sample(i, *t)) for i, (d, t) in enumerate(zip(dates, timeline, strict=True))
    ]
    before = evaluate_patient("P", samples)
    position = min(where, len(dates))
    inserted_date = f"2024-{2 * position:02d}-20" if position else "2023-12-01"
    extra = (inserted_date, _timeline_sample(99, status, 300, "NGS"))
    after = evaluate_patient("P", [*samples, extra])
    kept = [t for t in after.timepoints if t.collected != inserted_date]
    assert len(kept) == len(before.timepoints)
    for old, new in zip(before.timepoints, kept, strict=True):
        (old_state,), (new_state,) = old.hotspots, new.hotspots
        assert dataclasses.replace(new_state, samples=()) == dataclasses.replace(
            old_state, samples=()
        )
    (inserted,) = next(t for t in after.timepoints if t.collected == inserted_date).hotspots
    assert inserted.state is State.NOT_EVALUABLE


# ----------------------------------------------------------------------------- identity
def _sheet(*rows):
    return SampleSheet(TESTDATA / "sheet.tsv", "0" * 64, tuple(
        SheetRow(s, p, c, "", i + 2) for i, (s, p, c) in enumerate(rows)))  # fmt: skip


def _plate(name, samples):
    return (name, document([sample(s, "PCR", []) for s in samples], f"esr1calls pcr -o {name}"))


def test_a_sheet_names_samples_bare_or_qualified_by_their_run():
    runs = [_plate("plate1", ["S1", "S2"]), _plate("plate2", ["S1"])]
    sheet = _sheet(("plate1:S1", "P1", "2024-01-01"), ("plate2:S1", "P1", "2024-03-01"),
                   ("S2", "P2", "2024-01-01"), ("S9", "P9", "2024-01-01"))  # fmt: skip
    patients, unassigned, unused = collect(runs, sheet)
    assert sorted((c, s.sample_id) for c, s in patients["P1"]) == [
        ("2024-01-01", "plate1:S1"), ("2024-03-01", "plate2:S1")]  # fmt: skip
    assert [s.sample_id for _, s in patients["P2"]] == ["plate1:S2"]
    assert unassigned == [] and unused == ["line 5: S9"]


def test_a_bare_sheet_id_in_two_runs_is_an_error_naming_both():
    runs = [_plate("plate1", ["S1"]), _plate("plate2", ["S1"])]
    with pytest.raises(InputError) as caught:
        collect(runs, _sheet(("S1", "P1", "2024-01-01")))
    assert str(caught.value) == (
        "sheet.tsv, line 2: sample S1 is plate1:S1 (plate1/calls.json) and plate2:S1 "
        "(plate2/calls.json); write plate1:S1 or plate2:S1 to say which"
    )


def test_the_same_document_or_run_twice_is_refused():
    run = _plate("plate1", ["S1"])
    with pytest.raises(InputError, match=r"plate1/calls.json: the same calls.json as "
                       r"plate1/calls.json \(sha256 "):  # fmt: skip
        collect([run, run])


def test_the_same_sample_of_the_same_files_in_two_documents_is_refused():
    from esr1calls.model import InputFile

    inputs = [InputFile("plate.txt", "a" * 64, "plate export (generic)")]
    first = document([sample("S1", "PCR", [], source="plate.txt")], "esr1calls pcr 1", inputs)
    again = document([sample("S1", "PCR", [], source="plate.txt")], "esr1calls pcr 2", inputs)
    with pytest.raises(InputError, match=r"again/calls.json: sample S1 is the sample of "
                       r"first/calls.json again \(the same input files"):  # fmt: skip
        collect([("first", first), ("again", again)])


def test_a_sheet_that_contradicts_calls_json_is_refused():
    runs = [("run", document([sample("S1", "PCR", [], patient="P1", collected="2024-01-01")]))]
    with pytest.raises(InputError, match=r"line 2: sample run:S1 has patient_id 'P2' here but "
                       r"'P1' in run/calls\.json"):  # fmt: skip
        collect(runs, _sheet(("S1", "P2", "2024-01-01")))
    patients, _, _ = collect(runs, _sheet(("S1", "P1", "2024-01-01")))
    assert list(patients) == ["P1"]


def test_a_patient_without_a_date_is_an_error_and_no_patient_is_unassigned():
    runs = [("run", document([sample("S1", "PCR", [], patient="P1"), sample("S2", "PCR", [])]))]
    with pytest.raises(InputError, match="sample run:S1 has no collected date"):
        collect(runs)
    patients, unassigned, _ = collect([("run", document([sample("S2", "PCR", [])]))])
    assert patients == {} and unassigned == ["run:S2"]


def test_one_document_holding_a_sample_id_twice_is_told_apart_by_run_id():
    doc = document([sample("S1", "PCR", [], run_id=run) for run in ("plateA", "plateB")])
    sheet = _sheet(("out/plateA:S1", "P1", "2024-01-01"), ("out/plateB:S1", "P2", "2024-01-01"))
    patients, _, _ = collect([("out", doc)], sheet)
    assert [s.sample_id for _, s in patients["P1"]] == ["out/plateA:S1"]
    assert [s.sample_id for _, s in patients["P2"]] == ["out/plateB:S1"]


def test_two_run_folders_of_the_same_name_are_labelled_by_their_parents():
    collector = SampleCollector(None)
    for parent in ("2024-01", "2024-02"):
        doc = document([sample("S1", "PCR", [], patient="P", collected=f"{parent}-05")])
        collector.add(f"{parent}/out/calls.json", digest(doc), doc, folder=(parent, "out"))
    patients, _, _ = collector.finish()
    assert sorted(s.sample_id for _, s in patients["P"]) == ["2024-01/out:S1", "2024-02/out:S1"]
