"""The statistics against published tables (../notes/vcf-callers.md section 4) and properties."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from esr1calls.stats import (
    binomial_cdf,
    binomial_sf,
    clopper_pearson,
    k_required,
    lod95,
    poisson_ci,
    poisson_sf,
)


@pytest.mark.parametrize(
    "k, n95",
    [(1, 1497), (2, 2371), (3, 3146), (4, 3875), (5, 4575), (6, 5254), (8, 6571), (10, 7850)],
)
def test_minimum_depth_for_95_percent_power_at_0_2_percent(k, n95):
    assert binomial_sf(k, n95, 0.002) >= 0.95
    assert binomial_sf(k, n95 - 1, 0.002) < 0.95


@pytest.mark.parametrize(
    "n, e, k",
    [(1906, 1e-4, 3), (1907, 1e-4, 4), (4286, 1e-4, 4), (4287, 1e-4, 5), (7395, 1e-4, 5),
     (10_000, 5e-4, 14), (3811, 5e-5, 3), (3812, 5e-5, 4)],
)  # fmt: skip
def test_k_required_jumps_where_the_notes_say(n, e, k):
    assert k_required(n, e, alpha=1e-3, k_min=3) == k


def test_k_required_is_the_smallest_k_meeting_alpha():
    for n in (500, 5_000, 50_000):
        k = k_required(n, 5e-4, k_min=0)
        assert binomial_sf(k, n, 5e-4) <= 1e-3 < binomial_sf(k - 1, n, 5e-4)


@pytest.mark.parametrize("n, lod", [(1000, 0.0063), (2000, 0.0031), (3000, 0.0021), (5000, 0.0013)])
def test_lod95_examples(n, lod):
    assert lod95(n, 3) == pytest.approx(lod, abs=6e-5)


def test_lod95_is_none_when_k_exceeds_depth():
    assert lod95(2, 3) is None


def test_clopper_pearson_rule_of_three():
    assert clopper_pearson(0, 3000, confidence=0.90)[1] == pytest.approx(3 / 3000, rel=0.01)


def test_poisson_interval_for_zero_and_three():
    assert poisson_ci(0)[0] == 0.0
    assert poisson_ci(3) == pytest.approx((0.6187, 8.7673), abs=1e-3)
    assert poisson_sf(1, 3.0) == pytest.approx(1 - math.exp(-3))


@given(n=st.integers(1, 20_000), k=st.integers(0, 60), p=st.floats(1e-6, 0.5))
def test_tails_are_complementary(n, k, p):
    assert binomial_cdf(k - 1, n, p) + binomial_sf(k, n, p) == pytest.approx(1.0, abs=1e-9)


@given(n=st.integers(1, 20_000), k=st.integers(1, 40), p=st.floats(1e-5, 0.3))
def test_power_never_falls_when_the_fraction_rises(n, k, p):
    assert binomial_sf(k, n, p * 1.5) >= binomial_sf(k, n, p) - 1e-12


@given(n=st.integers(10, 50_000), k=st.integers(1, 8))
def test_lod95_inverts_the_power(n, k):
    lod = lod95(n, k)
    if lod is not None:
        assert binomial_sf(k, n, lod) == pytest.approx(0.95, abs=1e-6)


@given(x=st.integers(0, 200), extra=st.integers(0, 20_000))
def test_clopper_pearson_contains_the_estimate(x, extra):
    n = max(1, x + extra)
    low, high = clopper_pearson(x, n)
    assert low <= x / n <= high


@given(k=st.integers(0, 3000), mean=st.floats(0.01, 5000))
def test_poisson_tail_matches_the_direct_sum(k, mean):
    direct = 1.0 - math.fsum(
        math.exp(i * math.log(mean) - mean - math.lgamma(i + 1)) for i in range(k)
    )
    assert poisson_sf(k, mean) == pytest.approx(max(0.0, direct), abs=1e-9)


def test_poisson_interval_at_large_counts():
    low, high = poisson_ci(2000)
    assert low == pytest.approx(2000 - 1.96 * 2000**0.5, rel=0.01)
    assert high == pytest.approx(2000 + 1.96 * 2000**0.5, rel=0.01)
