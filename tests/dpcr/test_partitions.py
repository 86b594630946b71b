"""The partition statistics of DESIGN.md section 8, against their definitions."""

from __future__ import annotations

import math

import pytest

from esr1calls.dpcr.partitions import (
    PartitionCounts,
    background_upper_bound,
    copies_per_partition,
    copies_per_ul,
    detection_power,
    estimate,
    fraction_interval,
    fraction_lod95,
    mutant_partition_probability,
    required_mutant_partitions,
)
from esr1calls.stats import binomial_cdf, binomial_sf

COUNTS = [
    (0, 20000),
    (1, 20000),
    (7, 15234),
    (1901, 15820),
    (10940, 20486),
    (19999, 20000),
    (3, 8261),
    (7644, 8261),
    (2311, 20419),
]


@pytest.mark.parametrize("positives, partitions", COUNTS)
@pytest.mark.parametrize("volume_nl", [0.85, 0.91, 0.34, 0.432])
def test_concentrations_are_the_poisson_formula_to_1e_9(positives, partitions, volume_nl):
    expected = -math.log(1 - positives / partitions) / (volume_nl / 1000)
    found = copies_per_ul(positives, partitions, volume_nl)
    assert found == pytest.approx(expected, rel=1e-9, abs=0)


def test_every_partition_positive_is_infinite_copies_and_saturated():
    assert copies_per_partition(500, 500) == math.inf
    assert PartitionCounts(500, 3, 500).saturated
    assert PartitionCounts(500, 480, 20, drop_off=True).saturated  # all W- partitions R+
    assert not PartitionCounts(500, 3, 499).saturated
    with pytest.raises(ValueError):
        estimate(PartitionCounts(500, 3, 500))


@pytest.mark.parametrize("bad", [(-1, 10), (11, 10), (0, 0)])
def test_impossible_counts_are_refused(bad):
    with pytest.raises(ValueError):
        copies_per_partition(*bad)


def test_counts_cannot_claim_more_positives_than_partitions():
    with pytest.raises(ValueError):
        PartitionCounts(100, 101, 0)
    with pytest.raises(ValueError):  # drop-off: R+W- only among the W- partitions
        PartitionCounts(100, 60, 50, drop_off=True)


def test_fraction_is_lambda_m_over_the_sum_for_both_designs():
    duplex = estimate(PartitionCounts(20000, 40, 4000))
    lm, lw = -math.log(1 - 40 / 20000), -math.log(1 - 4000 / 20000)
    assert duplex.fraction == pytest.approx(lm / (lm + lw), rel=1e-12)
    drop = estimate(PartitionCounts(20000, 40, 4000, drop_off=True))
    lm = -math.log(1 - 40 / (20000 - 4000))
    assert drop.lambda_mutant == pytest.approx(lm, rel=1e-12)
    assert drop.fraction == pytest.approx(lm / (lm + lw), rel=1e-12)


@pytest.mark.parametrize(
    "counts",
    [
        PartitionCounts(20000, k, w, d)
        for k in (0, 1, 5, 80)
        for w in (10, 4000, 15000)
        for d in (False, True)
    ],
)
def test_the_fraction_interval_holds_the_estimate(counts):
    low, high = fraction_interval(counts)
    found = estimate(counts).fraction
    assert 0 <= low <= found <= high <= 1


@pytest.mark.parametrize("k, n", [(0, 20000), (0, 60000), (1, 57417), (2, 60000), (7, 40000)])
def test_p0_is_the_one_sided_upper_clopper_pearson_bound(k, n):
    """The Beta(k + 1, n − k) quantile at 0.95 is the p where P(Bin(n, p) <= k) = 0.05."""
    p0 = background_upper_bound(k, n)
    assert binomial_cdf(k, n, p0) == pytest.approx(0.05, abs=1e-6)
    if k == 0:
        assert p0 == pytest.approx(1 - 0.05 ** (1 / n), rel=1e-6)


@pytest.mark.parametrize("n", [1000, 10000, 14789, 14790, 20000, 60000])
@pytest.mark.parametrize("p0", [5e-5, 1.5e-4, 5e-4])
def test_k_req_is_the_smallest_count_beyond_the_background(n, p0):
    k = required_mutant_partitions(n, p0, 1e-3, 2)
    assert binomial_sf(k, n, p0) <= 1e-3
    if k > 2:
        assert binomial_sf(k - 1, n, p0) > 1e-3


def test_p_star_starts_at_the_background_and_grows_with_the_fraction():
    for drop_off in (False, True):
        assert mutant_partition_probability(0.0, 0.3, 5e-5, drop_off=drop_off) == pytest.approx(
            5e-5
        )
        values = [
            mutant_partition_probability(f, 0.3, 5e-5, drop_off=drop_off)
            for f in (0.001, 0.002, 0.01, 0.1)
        ]
        assert values == sorted(values)
    # drop-off: a mutant copy shows only where no wild-type copy is: e^(-λw) of them
    assert mutant_partition_probability(0.5, 0.3, 0.0, drop_off=True) == pytest.approx(
        math.exp(-0.3) * -math.expm1(-0.3)
    )


@pytest.mark.parametrize("drop_off", [False, True])
@pytest.mark.parametrize("wild_type", [600, 4000, 9000])
def test_lod95_is_where_the_power_is_95_percent(drop_off, wild_type):
    counts = PartitionCounts(20000, 0, wild_type, drop_off)
    k_req = required_mutant_partitions(20000, 5e-5, 1e-3, 2)
    lod = fraction_lod95(counts, 5e-5, k_req)
    assert lod is not None and 0 < lod < 1
    assert detection_power(counts, 5e-5, lod, k_req) == pytest.approx(0.95, abs=1e-6)


def test_lod95_is_none_where_no_fraction_reaches_the_power():
    assert fraction_lod95(PartitionCounts(20000, 0, 0), 5e-5, 6) is None  # no wild type
    assert fraction_lod95(PartitionCounts(5, 0, 2), 5e-5, 6) is None  # N < k_req
    # drop-off with almost every partition wild-type-positive: too few places to show a mutant
    assert fraction_lod95(PartitionCounts(20000, 0, 19998, True), 5e-5, 6) is None
