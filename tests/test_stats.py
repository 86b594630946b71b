"""The statistics against published tables (../notes/vcf-callers.md section 4) and properties."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from esr1calls.stats import (
    _log_binomial_pmf,
    _log_choose_table,
    binomial_cdf,
    binomial_sf,
    clopper_pearson,
    detection_power,
    fisher_exact_one_sided,
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


# --- edges and the exact values scipy gives (scipy is a test dependency, never imported by
# esr1calls); each case is one a rule meets: depth 0 or 1, k at or past n, p at 0 or 1 ---------


@pytest.mark.parametrize("n", [1, 2, 7, 3146])
@pytest.mark.parametrize("p", [0.0, 0.002, 0.5, 1.0])
def test_binomial_tails_at_their_edges(n, p):
    assert binomial_sf(0, n, p) == binomial_sf(-1, n, p) == 1.0
    assert binomial_cdf(-1, n, p) == 0.0
    assert binomial_cdf(n, n, p) == binomial_cdf(n + 1, n, p) == 1.0
    assert binomial_sf(n + 1, n, p) == 0.0
    assert binomial_sf(n, n, p) == pytest.approx(p**n, rel=1e-9, abs=1e-300)  # every trial
    assert binomial_cdf(0, n, p) == pytest.approx((1 - p) ** n, rel=1e-9, abs=1e-300)
    assert binomial_sf(1, n, p) == pytest.approx(1 - (1 - p) ** n, rel=1e-9, abs=1e-300)
    if p == 0.0:
        assert binomial_sf(1, n, p) == 0.0 and binomial_cdf(0, n, p) == 1.0
    if p == 1.0:
        assert binomial_sf(n, n, p) == 1.0 and binomial_cdf(n - 1, n, p) == 0.0


@pytest.mark.parametrize(
    "k, n, p",
    [(3, 3146, 0.002), (14, 10_000, 5e-4), (1, 1, 0.3), (2, 3, 0.9), (40, 12_000, 0.002),
     (200, 12_000, 0.002), (60, 100_000, 1e-4), (5, 20, 0.5), (30, 40, 0.5), (0, 5, 0.1),
     (99, 100, 0.99), (100, 100, 0.99), (1, 200_000, 1e-6),
     # upper tails longer than k terms: the kept log C(n, i) grow while the sum runs
     (30, 100_000, 2.5e-4), (1010, 100_000, 0.01)],
)  # fmt: skip
def test_binomial_tails_are_scipys(k, n, p):
    from scipy.stats import binom

    assert binomial_sf(k, n, p) == pytest.approx(binom.sf(k - 1, n, p), rel=1e-9, abs=1e-300)
    assert binomial_cdf(k, n, p) == pytest.approx(binom.cdf(k, n, p), rel=1e-9, abs=1e-15)
    assert detection_power(n, k, p) == binomial_sf(k, n, p)


def _plain_tail(k, n, p, upper):
    """A tail summed term by term from log-gammas, as the rules summed it before the terms'
    log C(n, i) were kept between calls (stats._log_choose_terms)."""
    log_p, log_q = math.log(p), math.log1p(-p)
    if not upper:
        return min(
            1.0, math.fsum(math.exp(_log_binomial_pmf(i, n, log_p, log_q)) for i in range(k + 1))
        )
    total = 0.0
    for i in range(k, n + 1):
        term = math.exp(_log_binomial_pmf(i, n, log_p, log_q))
        total += term
        if term < total * 1e-17:
            break
    return min(1.0, total)


def test_kept_log_choose_terms_change_no_float():
    """Every tail is the plain sum to the last bit, whatever the order the sums grow the kept
    table in (short sums first, then longer ones; a table cleared). Each case is on the side of
    the mean where its own sum is taken (the other side is 1 minus it)."""
    asked = [(30, 12_000, 0.002, True), (20, 12_000, 0.002, False), (400, 12_000, 0.02, True),
             (2, 40, 0.5, False), (30, 40, 0.5, True), (30, 100_000, 2.5e-4, True),
             (1010, 100_000, 0.01, True), (980, 100_000, 0.01, False)]  # fmt: skip
    for round_ in range(2):
        _log_choose_table.cache_clear()
        for k, n, p, upper in asked if round_ == 0 else reversed(asked):
            if upper:
                assert binomial_sf(k, n, p) == _plain_tail(k, n, p, upper=True)
            else:
                assert binomial_cdf(k, n, p) == _plain_tail(k, n, p, upper=False)


def test_k_required_edges():
    assert k_required(0, 5e-4) == k_required(-5, 5e-4) == 3  # no depth: k_min
    assert k_required(0, 5e-4, k_min=7) == 7
    # a background so high that no count reaches alpha: n + 1, a count no depth of n can give
    assert k_required(2, 0.4, k_min=0) == 3
    assert k_required(1, 1e-6, k_min=0) == 1  # one read: a single alt is already significant
    # an alpha below what a float sum of the tail can resolve still ends at n + 1
    assert k_required(2, 0.4, alpha=1e-20, k_min=0) == 3
    # alpha itself: k_req where P(X >= k) <= alpha first holds, for a looser and a stricter alpha
    for alpha in (0.05, 1e-6):
        k = k_required(10_000, 5e-4, alpha=alpha, k_min=0)
        assert binomial_sf(k, 10_000, 5e-4) <= alpha < binomial_sf(k - 1, 10_000, 5e-4)


def test_lod95_edges():
    assert lod95(0, 3) is None and lod95(-1, 0) is None and lod95(0, 0) is None
    assert lod95(100, 0) == 0.0  # no alt read needed: every fraction is seen
    assert lod95(3, 3) == pytest.approx(0.95 ** (1 / 3), rel=1e-9)  # k = n: every read alt
    assert lod95(1, 1) == pytest.approx(0.95, rel=1e-9)
    assert lod95(1000, 3, power=0.5) == pytest.approx(
        next(f for f in (x / 1e6 for x in range(2000, 3000)) if binomial_sf(3, 1000, f) >= 0.5),
        abs=1e-6,
    )


@pytest.mark.parametrize("x, n", [(0, 1), (1, 1), (0, 1500), (3, 1500), (40, 12_000), (7, 7),
                                  (1, 10), (9, 10), (500, 1000)])  # fmt: skip
@pytest.mark.parametrize("confidence", [0.95, 0.8])
def test_clopper_pearson_is_scipys_beta_interval(x, n, confidence):
    from scipy.stats import beta

    tail = (1 - confidence) / 2
    low, high = clopper_pearson(x, n, confidence)
    assert low == (0.0 if x == 0 else pytest.approx(beta.ppf(tail, x, n - x + 1), rel=1e-7))
    assert high == (1.0 if x == n else pytest.approx(beta.ppf(1 - tail, x + 1, n - x), rel=1e-7))


def test_clopper_pearson_needs_trials():
    with pytest.raises(ValueError, match="n must be positive"):
        clopper_pearson(0, 0)


@pytest.mark.parametrize(
    "k, mean",
    [(1, 3.0), (2, 0.5), (5, 2.0), (3, 3.0), (4, 3.0), (10, 12.5), (50, 20.0), (20, 50.0),
     (100_000, 100_400.0), (100_800, 100_000.0), (1, 1e-9), (700, 1000.0)],
)  # fmt: skip
def test_poisson_tail_is_scipys_on_both_sides_of_the_mean(k, mean):
    from scipy.stats import poisson

    assert poisson_sf(k, mean) == pytest.approx(poisson.sf(k - 1, mean), rel=1e-8, abs=1e-15)


def test_poisson_tail_edges():
    assert poisson_sf(0, 3.0) == poisson_sf(-2, 3.0) == 1.0
    assert poisson_sf(1, 0.0) == poisson_sf(1, -1.0) == 0.0
    assert poisson_sf(0, 0.0) == 1.0


@pytest.mark.parametrize("count", [0, 1, 2, 3, 10, 57, 2000, 2.4, 2.6, -1.0])
@pytest.mark.parametrize("confidence", [0.95, 0.9])
def test_poisson_interval_is_scipys_garwood_interval(count, confidence):
    from scipy.stats import chi2

    observed = max(0, round(count))
    tail = (1 - confidence) / 2
    low, high = poisson_ci(count, confidence)
    expected_low = 0.0 if observed == 0 else chi2.ppf(tail, 2 * observed) / 2
    assert low == pytest.approx(expected_low, rel=1e-7, abs=1e-12)
    assert high == pytest.approx(chi2.ppf(1 - tail, 2 * observed + 2) / 2, rel=1e-7)


@pytest.mark.parametrize(
    "table",
    [(5, 0, 0, 5), (0, 5, 5, 0), (3, 0, 0, 0), (0, 0, 0, 4), (1, 0, 0, 1), (0, 7, 3, 0),
     (12, 1, 2, 9), (2, 40, 30, 1)],
)  # fmt: skip
@pytest.mark.parametrize("alternative", ["greater", "less"])
def test_fisher_tails_at_the_edges_of_the_table_are_scipys(table, alternative):
    # a at its smallest or largest possible value: one tail is a single term, the other all of it
    from scipy.stats import fisher_exact

    a, b, c, d = table
    expected = fisher_exact([[a, b], [c, d]], alternative=alternative)[1]
    assert fisher_exact_one_sided(a, b, c, d, alternative) == pytest.approx(expected, rel=1e-9)


def test_k_required_when_the_tail_is_exactly_alpha():
    # one read: P(X >= 1) = 1 - P(X = 0), computed as k_required computes it; a tail exactly at
    # alpha meets it (<=), so k = 1; and with no depth at all, k_min whatever it is
    alpha = 1.0 - math.exp(math.log1p(-0.25))
    assert k_required(1, 0.25, alpha=alpha, k_min=0) == 1
    assert k_required(1, 0.25, alpha=math.nextafter(alpha, 0.0), k_min=0) == 2
    assert k_required(0, 5e-4, k_min=0) == 0


def test_poisson_interval_below_one_count():
    # at a low confidence the upper limit of a zero count is under 1
    from scipy.stats import chi2

    low, high = poisson_ci(0, confidence=0.2)
    assert low == 0.0 and high == pytest.approx(chi2.ppf(0.6, 2) / 2, rel=1e-7) and high < 1


def test_fisher_refuses_what_is_no_count_table_and_an_unknown_alternative():
    with pytest.raises(ValueError, match=r"a 2x2 table holds counts, got \[\[1, -1\], \[2, 3\]\]"):
        fisher_exact_one_sided(1, -1, 2, 3, "greater")
    with pytest.raises(
        ValueError, match="alternative must be 'greater' or 'less', not 'two-sided'"
    ):
        fisher_exact_one_sided(1, 1, 2, 3, "two-sided")
