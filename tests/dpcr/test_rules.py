"""The dPCR call rule and QC of DESIGN.md section 8: boundaries, monotonicity, the false-positive
rate of WT-only wells, and the control order."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from esr1calls.dpcr.assays import load_assays
from esr1calls.dpcr.partitions import PartitionCounts, detection_power, required_mutant_partitions
from esr1calls.dpcr.rules import (
    Background,
    WellCounts,
    call_counts,
    evaluate_assay,
    evaluate_controls,
    inherit,
)
from esr1calls.model import CallStatus, Reason, WellRole

F_STAR, ALPHA, K_MIN, P0 = 0.002, 1e-3, 2, 5e-5
ASSAYS = load_assays()


def call(counts: PartitionCounts, p0: float = P0) -> CallStatus:
    return call_counts(counts, p0, reportable_fraction=F_STAR, alpha=ALPHA, k_min=K_MIN).status


# ----------------------------------------------------------------------------- boundaries
@pytest.mark.parametrize("drop_off", [False, True])
def test_k_req_is_the_boundary_of_significant_evidence(drop_off):
    """With enough input, one mutant partition under k_req is NOT_DETECTED and k_req is
    significant (at this input, LOW_LEVEL: 6 partitions are below 0.2 %); with little input,
    under k_req is LOW_INPUT and k_req is DETECTED (6 partitions are above 0.2 %)."""
    n = 20000
    k_req = required_mutant_partitions(n, P0, ALPHA, K_MIN)
    assert k_req == 6
    enough, little = 9000, 1200
    assert detection_power(PartitionCounts(n, 0, enough, drop_off), P0, F_STAR, k_req) >= 0.95
    assert call(PartitionCounts(n, k_req - 1, enough, drop_off)) is CallStatus.NOT_DETECTED
    assert call(PartitionCounts(n, k_req, enough, drop_off)) is CallStatus.INDETERMINATE
    assert call(PartitionCounts(n, k_req - 1, little, drop_off)) is CallStatus.INDETERMINATE
    assert call(PartitionCounts(n, k_req, little, drop_off)) is CallStatus.DETECTED


def test_the_reportable_fraction_is_the_boundary_between_detected_and_low_level():
    """At 10 mutant partitions (k_req 6), f̂ falls under 0.2 % as the wild type grows."""
    n, mutant = 20000, 10

    def fraction(wild_type: int) -> float:
        found = call_counts(
            PartitionCounts(n, mutant, wild_type),
            P0,
            reportable_fraction=F_STAR,
            alpha=ALPHA,
            k_min=K_MIN,
        ).fraction
        assert found is not None
        return found

    low, high = 1, n - 1  # fraction(low) >= f*, fraction(high) < f*
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if fraction(middle) >= F_STAR else (low, middle)
    assert fraction(low) >= F_STAR > fraction(high)
    assert call(PartitionCounts(n, mutant, low)) is CallStatus.DETECTED
    at = call_counts(
        PartitionCounts(n, mutant, high), P0, reportable_fraction=F_STAR, alpha=ALPHA, k_min=K_MIN
    )
    assert (at.status, at.reasons) == (CallStatus.INDETERMINATE, (Reason.LOW_LEVEL,))


def test_at_k_req_a_fraction_below_the_reportable_one_is_low_level():
    n, k_req = 20000, 6
    counts = PartitionCounts(n, k_req, 15000)  # λ_w 1.39: 6 mutant partitions are 0.02 %
    outcome = call_counts(counts, P0, reportable_fraction=F_STAR, alpha=ALPHA, k_min=K_MIN)
    assert outcome.fraction < F_STAR
    assert (outcome.status, outcome.reasons) == (CallStatus.INDETERMINATE, (Reason.LOW_LEVEL,))
    # one mutant partition fewer: NOT_DETECTED, never LOW_LEVEL
    assert call(PartitionCounts(n, k_req - 1, 15000)) is CallStatus.NOT_DETECTED


@pytest.mark.parametrize("drop_off", [False, True])
def test_the_power_limit_is_the_boundary_between_not_detected_and_low_input(drop_off):
    """The fewest wild-type partitions with 95 % power: one fewer is LOW_INPUT."""
    n = 20000
    k_req = required_mutant_partitions(n, P0, ALPHA, K_MIN)

    def power(wild_type: int) -> float:
        return detection_power(PartitionCounts(n, 0, wild_type, drop_off), P0, F_STAR, k_req)

    low, high = 1, n // 2
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if power(middle) < 0.95 else (low, middle)
    assert power(low) < 0.95 <= power(high)
    enough = call_counts(
        PartitionCounts(n, 0, high, drop_off),
        P0,
        reportable_fraction=F_STAR,
        alpha=ALPHA,
        k_min=K_MIN,
    )
    short = call_counts(
        PartitionCounts(n, 0, low, drop_off),
        P0,
        reportable_fraction=F_STAR,
        alpha=ALPHA,
        k_min=K_MIN,
    )
    assert enough.status is CallStatus.NOT_DETECTED and enough.lod95 <= F_STAR
    assert short.status is CallStatus.INDETERMINATE and short.reasons == (Reason.LOW_INPUT,)
    assert short.lod95 > F_STAR


# ----------------------------------------------------------------------------- properties
counts_strategy = st.builds(
    lambda n, w, m, d: (n, w, m, d),
    st.integers(10_000, 60_000),
    st.floats(0.0, 0.95),
    st.integers(0, 200),
    st.booleans(),
)


@settings(max_examples=300, deadline=None)
@given(counts_strategy, st.integers(1, 300), st.sampled_from([5e-5, 1.5e-4, 5e-4]))
def test_adding_mutant_partitions_never_turns_detected_into_not_detected(case, more, p0):
    n, share, mutant, drop_off = case
    wild_type = int(n * share)
    room = n - wild_type if drop_off else n
    assume(mutant + more < room and wild_type < n)
    before = call(PartitionCounts(n, mutant, wild_type, drop_off), p0)
    after = call(PartitionCounts(n, mutant + more, wild_type, drop_off), p0)
    if before is CallStatus.DETECTED:
        assert after is CallStatus.DETECTED
    if before is not CallStatus.NOT_DETECTED:
        assert after is not CallStatus.NOT_DETECTED


@settings(max_examples=300, deadline=None)
@given(counts_strategy, st.floats(0.01, 1.0), st.sampled_from([5e-5, 1.5e-4, 5e-4]))
def test_removing_wild_type_partitions_never_creates_a_not_detected(case, kept, p0):
    """Less input on the same partitions (the wild-type-positive partitions thinned). For a
    drop-off assay only up to one wild-type copy per partition: beyond it, a mutant copy has
    ever fewer wild-type-free partitions to show in, so less DNA can see more (docs/dpcr.md)."""
    n, share, mutant, drop_off = case
    wild_type = int(n * share)
    fewer = int(wild_type * kept)
    assume(mutant < (n - wild_type if drop_off else n))
    assume(not drop_off or wild_type <= n * (1 - math.exp(-1)))
    before = call(PartitionCounts(n, mutant, wild_type, drop_off), p0)
    after = call(PartitionCounts(n, mutant, fewer, drop_off), p0)
    if after is CallStatus.NOT_DETECTED:
        assert before is CallStatus.NOT_DETECTED


@settings(max_examples=300, deadline=None)
@given(counts_strategy, st.integers(1, 5000), st.sampled_from([5e-5, 1.5e-4, 5e-4]))
def test_removing_partitions_never_creates_a_not_detected_at_the_same_k_req(case, removed, p0):
    """Partitions removed without their mutant partitions and without raising the wild-type
    share (a replicate left out, a well cut short): the claim of absence only gets weaker, as
    long as k_req stays the same (see the next test for where it does not)."""
    n, share, mutant, drop_off = case
    wild_type = int(n * share)
    smaller = n - removed
    fewer_wild = wild_type * smaller // n  # not above the original share
    assume(mutant < (smaller - fewer_wild if drop_off else smaller))
    k_req = required_mutant_partitions(n, p0, ALPHA, K_MIN)
    assume(required_mutant_partitions(smaller, p0, ALPHA, K_MIN) == k_req)
    before = call(PartitionCounts(n, mutant, wild_type, drop_off), p0)
    after = call(PartitionCounts(smaller, mutant, fewer_wild, drop_off), p0)
    if after is CallStatus.NOT_DETECTED:
        assert before is CallStatus.NOT_DETECTED


def test_where_k_req_steps_one_partition_fewer_can_reach_the_power_it_lacked():
    """DESIGN.md's rule recomputes k_req at each N, and k_req steps up with N (6 to 7 at
    22,145 partitions with p0 = 5e-5). Just past a step the power drops, so one partition
    fewer can turn LOW_INPUT into NOT_DETECTED: the rule is monotone between steps, not across
    them. docs/dpcr.md says so; this pins the behaviour."""
    assert required_mutant_partitions(22144, P0, ALPHA, K_MIN) == 6
    assert required_mutant_partitions(22145, P0, ALPHA, K_MIN) == 7
    assert call(PartitionCounts(22145, 0, 4250)) is CallStatus.INDETERMINATE
    assert call(PartitionCounts(22144, 0, 4250)) is CallStatus.NOT_DETECTED


@pytest.mark.parametrize("drop_off", [False, True])
def test_wt_only_wells_at_the_default_background_are_called_at_most_at_alpha(drop_off):
    """10,000 simulated WT-only wells, false-positive partitions Binomial(N, 5e-5): the share
    with significant mutant evidence (DETECTED or LOW_LEVEL) stays at or below α."""
    rng = np.random.default_rng(20260302)
    wells = 10_000
    sizes = rng.choice(np.arange(15_000, 25_001, 500), size=wells)
    lambdas = rng.uniform(0.02, 1.2, size=wells)
    positives = 0
    for n, lam in zip(sizes.tolist(), lambdas.tolist(), strict=True):
        wild_type = int(rng.binomial(n, -np.expm1(-lam)))
        room = n - wild_type if drop_off else n
        mutant = int(rng.binomial(room, P0))
        status = call(PartitionCounts(n, mutant, wild_type, drop_off))
        positives += status is CallStatus.DETECTED or (
            status is CallStatus.INDETERMINATE
            and mutant >= 2
            and mutant >= required_mutant_partitions(n, P0, ALPHA, K_MIN)
        )
    assert positives / wells <= ALPHA


# ----------------------------------------------------------------------------- controls
def well(name, role, assay, n, mutant, wild_type, sample="", **extra):
    positives = {"FAM": mutant, "HEX": wild_type}
    return WellCounts(
        name, role, sample or role.value, assay, n, mutant, wild_type, positives, **extra
    )


def controls(*wells, tested=("E380Q",)):
    settings_ = {name: ASSAYS.settings(ASSAYS.assays[name], "qx200") for name in ASSAYS.assays}
    return evaluate_controls("run", list(wells), ASSAYS.assays, settings_, list(tested))


NTC = well("A1", WellRole.NTC, "E380Q", 18000, 0, 0)
PC = well("A2", WellRole.PC, "E380Q", 18000, 80, 4500)
WT = well("A3", WellRole.WT, "E380Q", 19000, 0, 5000)


def test_clean_controls_pass_and_the_wt_wells_set_p0():
    checks, failed, backgrounds = controls(NTC, PC, WT)
    assert failed == ()
    assert all(c.passed for c in checks)
    assert not backgrounds["E380Q"].default
    assert backgrounds["E380Q"].p0 == pytest.approx(1 - 0.05 ** (1 / 19000), rel=1e-6)


@pytest.mark.parametrize("channel", ["FAM", "HEX"])
def test_an_ntc_with_three_positives_in_either_channel_alone_fails_the_run(channel):
    positives = {"FAM": 2, "HEX": 2}
    _, failed, _ = controls(
        WellCounts("A1", WellRole.NTC, "NTC", "E380Q", 18000, 2, 2, positives), PC, WT
    )
    assert failed == ()  # 2 and 2: each channel judged alone, never summed
    positives[channel] = 3
    checks, failed, _ = controls(
        WellCounts("A1", WellRole.NTC, "NTC", "E380Q", 18000, 2, 2, positives), PC, WT
    )
    assert failed == (Reason.NTC_AMPLIFIED,)
    assert [c.subject for c in checks if not c.passed] == [
        f"well A1 {channel} ({'E380Q' if channel == 'FAM' else 'E380_WT'})"
    ]


@pytest.mark.parametrize(
    "mutant, passes", [(0, False), (40, False), (60, True), (800, True), (1400, False)]
)
def test_the_pc_fraction_must_lie_in_its_window(mutant, passes):
    pc = well("A2", WellRole.PC, "E380Q", 18000, mutant, 4500)
    _, failed, _ = controls(NTC, pc, WT)
    assert (failed == ()) is passes
    if not passes:
        assert failed == (Reason.PC_FAIL,)


def test_missing_or_low_partition_controls_fail_the_run_as_missing():
    _, failed, _ = controls(PC, WT)
    assert failed == (Reason.MISSING_CONTROL,)
    low_ntc = well("A1", WellRole.NTC, "E380Q", 9000, 0, 0)
    checks, failed, _ = controls(low_ntc, PC, WT)
    assert failed == (Reason.MISSING_CONTROL,)
    assert any(c.reason is Reason.LOW_PARTITIONS for c in checks)


def test_failures_are_listed_ntc_first_then_pc():
    ntc = well("A1", WellRole.NTC, "E380Q", 18000, 5, 0)
    pc = well("A2", WellRole.PC, "E380Q", 18000, 0, 4500)
    _, failed, _ = controls(ntc, pc, WT)
    assert failed == (Reason.NTC_AMPLIFIED, Reason.PC_FAIL)


def test_wt_background_above_the_maximum_invalidates_that_assay_only():
    noisy = well("A3", WellRole.WT, "E380Q", 19000, 12, 5000)  # 6.3e-4 > 5e-4
    _, failed, backgrounds = controls(NTC, PC, noisy)
    assert failed == ()
    assert backgrounds["E380Q"].too_high
    outcome = assess(
        backgrounds["E380Q"], [well("A6", WellRole.SAMPLE, "E380Q", 19000, 0, 6000, sample="S1")]
    )
    assert (outcome.status, outcome.reasons[0]) == (CallStatus.INVALID, Reason.WT_BACKGROUND_HIGH)


def test_wt_wells_under_the_minimum_partitions_are_not_the_background():
    low = well("A3", WellRole.WT, "E380Q", 9000, 0, 3000)
    _, _, backgrounds = controls(NTC, PC, low)
    assert backgrounds["E380Q"].default and backgrounds["E380Q"].p0 == 5e-5


# ----------------------------------------------------------------------------- sample × assay
def assess(background, wells, assay="E380Q", **kwargs):
    return evaluate_assay(
        "S1",
        ASSAYS.assays[assay],
        ASSAYS.settings(ASSAYS.assays[assay], "qx200"),
        wells,
        background,
        reportable_fraction=F_STAR,
        **kwargs,
    )


DEFAULT = Background(5e-5, True, "default")


def test_replicates_are_summed_and_a_low_partition_well_is_left_out_and_said():
    good = well("A6", WellRole.SAMPLE, "E380Q", 19000, 3, 6000, sample="S1")
    other = well("A7", WellRole.SAMPLE, "E380Q", 18000, 4, 5800, sample="S1")
    low = well("A8", WellRole.SAMPLE, "E380Q", 8000, 30, 2500, sample="S1")
    outcome = assess(DEFAULT, [good, other, low])
    assert outcome.partitions == 37000 and outcome.mutant == 7
    assert outcome.evidence["wells_used"] == ["A6", "A7"]
    assert outcome.reasons == (Reason.DEFAULT_BACKGROUND, Reason.LOW_PARTITIONS)  # never hidden
    only_low = assess(DEFAULT, [low])
    assert (only_low.status, only_low.reasons[0]) == (CallStatus.INVALID, Reason.LOW_PARTITIONS)


def test_a_missing_replicate_makes_the_assay_invalid_never_a_smaller_sum():
    good = well("A6", WellRole.SAMPLE, "E380Q", 19000, 0, 6000, sample="S1")
    gone = WellCounts("A7", WellRole.SAMPLE, "S1", "E380Q", missing="not in the export")
    outcome = assess(DEFAULT, [good, gone])
    assert (outcome.status, outcome.reasons[0]) == (CallStatus.INVALID, Reason.MISSING_WELL)
    assert assess(DEFAULT, [good]).status is CallStatus.NOT_DETECTED


def test_a_drop_off_without_combinations_is_no_partition_combinations():
    no_combinations = WellCounts(
        "A6", WellRole.SAMPLE, "S1", "EX8_DROPOFF", 19000, None, 6000, {"FAM": 6010, "HEX": 6000}
    )
    outcome = assess(DEFAULT, [no_combinations], assay="EX8_DROPOFF")
    assert outcome.status is CallStatus.INDETERMINATE
    assert outcome.reasons[0] is Reason.NO_PARTITION_COMBINATIONS


def test_saturated_counts_are_invalid():
    full = well("A6", WellRole.SAMPLE, "E380Q", 19000, 3, 19000, sample="S1")
    outcome = assess(DEFAULT, [full])
    assert (outcome.status, outcome.reasons[0]) == (CallStatus.INVALID, Reason.PARTITIONS_SATURATED)


def test_a_failed_run_is_every_reason_on_every_call():
    good = well("A6", WellRole.SAMPLE, "E380Q", 19000, 90, 6000, sample="S1")
    outcome = assess(DEFAULT, [good], run_reasons=(Reason.NTC_AMPLIFIED, Reason.PC_FAIL))
    assert (outcome.status, outcome.reasons) == (
        CallStatus.INVALID,
        (Reason.NTC_AMPLIFIED, Reason.PC_FAIL),
    )


@pytest.mark.parametrize(
    "status, reasons, expected",
    [
        (CallStatus.NOT_DETECTED, (), (CallStatus.NOT_DETECTED, ())),
        (CallStatus.DETECTED, (), (CallStatus.INDETERMINATE, (Reason.ALLELE_NOT_RESOLVED,))),
        (
            CallStatus.INDETERMINATE,
            (Reason.LOW_INPUT,),
            (CallStatus.INDETERMINATE, (Reason.LOW_INPUT,)),
        ),
        (
            CallStatus.INVALID,
            (Reason.LOW_PARTITIONS,),
            (CallStatus.INVALID, (Reason.LOW_PARTITIONS,)),
        ),
    ],
)
def test_hotspots_inherit_the_region_call(status, reasons, expected):
    from esr1calls.dpcr.rules import AssayOutcome

    region = AssayOutcome("EX8_DROPOFF", status, reasons, None, {})
    assert inherit(region)[:2] == expected
