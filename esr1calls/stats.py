"""Exact binomial and Poisson tails, the alt-count threshold, LoD95 and confidence intervals.

Pure functions on plain numbers (no scipy at run time; the tests check these against it). Tails
are summed in log space from the short side, so they stay accurate at the depths ESR1 assays
reach (10^5 and beyond).
"""

from __future__ import annotations

import math
from functools import lru_cache

__all__ = [
    "binomial_cdf",
    "binomial_sf",
    "clopper_pearson",
    "detection_power",
    "fisher_exact_one_sided",
    "k_required",
    "lod95",
    "poisson_ci",
    "poisson_sf",
]


def _log_choose(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def _log_binomial_pmf(i: int, n: int, log_p: float, log_q: float) -> float:
    return _log_choose(n, i) + i * log_p + (n - i) * log_q


@lru_cache(maxsize=8)
def _log_choose_table(n: int) -> list[float]:
    return []  # filled by _log_choose_terms as far as a sum needs


def _log_choose_terms(n: int, stop: int) -> list[float]:
    """:func:`_log_choose` of n and every i < ``stop`` up to n (the list may hold more), so a
    term from it is the very float :func:`_log_binomial_pmf` sums. Kept for the last few n: a
    bisection (an interval, a LoD) sums the same terms at some 40 trial fractions, and the three
    log-gammas were most of each term's cost."""
    table = _log_choose_table(n)
    table.extend(_log_choose(n, i) for i in range(len(table), min(stop, n + 1)))
    return table


def binomial_cdf(k: int, n: int, p: float) -> float:
    """P(X <= k) for X ~ Binomial(n, p).

    >>> round(binomial_cdf(0, 1000, 0.002), 4)
    0.1351
    """
    if k < 0:
        return 0.0
    if k >= n or p <= 0.0:
        return 1.0
    if p >= 1.0:
        return 0.0
    mean = n * p
    if k > mean:  # the upper tail is the short side
        return 1.0 - binomial_sf(k + 1, n, p)
    log_p, log_q = math.log(p), math.log1p(-p)
    log_choose = _log_choose_terms(n, k + 1)
    exp = math.exp
    return min(
        1.0, math.fsum([exp(log_choose[i] + i * log_p + (n - i) * log_q) for i in range(k + 1)])
    )


def binomial_sf(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p).

    >>> round(binomial_sf(3, 3146, 0.002), 3)
    0.95
    """
    if k <= 0:
        return 1.0
    if k > n or p <= 0.0:
        return 0.0
    if p >= 1.0:
        return 1.0
    mean = n * p
    if k <= mean:
        return 1.0 - binomial_cdf(k - 1, n, p)
    log_p, log_q = math.log(p), math.log1p(-p)
    log_choose: list[float] = []
    exp = math.exp
    total = 0.0
    for i in range(k, n + 1):
        if i >= len(log_choose):  # (k >= 1 here, so each step at least doubles the table)
            log_choose = _log_choose_terms(n, 2 * i)
        term = exp(log_choose[i] + i * log_p + (n - i) * log_q)
        total += term
        if term < total * 1e-17:
            break
    return min(1.0, total)


def k_required(n: int, error_rate: float, alpha: float = 1e-3, k_min: int = 3) -> int:
    """The alt count needed at depth n: max(k_min, smallest k with P(Bin(n, e) >= k) <= alpha).

    >>> k_required(10_000, 5e-4)
    14
    >>> k_required(1_000, 1e-4)
    3
    """
    if n <= 0:
        return k_min
    k = 0
    cdf_below = 0.0  # P(X <= k - 1)
    log_p, log_q = math.log(error_rate), math.log1p(-error_rate)
    while 1.0 - cdf_below > alpha and k <= n:
        cdf_below += math.exp(_log_binomial_pmf(k, n, log_p, log_q))
        k += 1
    return max(k_min, k)


def detection_power(n: int, k: int, fraction: float) -> float:
    """P(Binomial(n, fraction) >= k): the chance that "x >= k" sees a mutation at ``fraction``."""
    return binomial_sf(k, n, fraction)


def _bisect(function: object, target: float, low: float, high: float, increasing: bool) -> float:
    assert callable(function)
    for _ in range(200):
        mid = (low + high) / 2
        value = function(mid)
        if (value < target) == increasing:
            low = mid
        else:
            high = mid
        if high - low < 1e-12 * max(1.0, high):
            break
    return (low + high) / 2


def lod95(n: int, k: int, power: float = 0.95) -> float | None:
    """The allele fraction f with P(Binomial(n, f) >= k) = power; None if unreachable (n < k).

    >>> round(lod95(1000, 3), 4)
    0.0063
    >>> round(lod95(3000, 3), 4)
    0.0021
    """
    if n <= 0 or k > n:
        return None
    if k <= 0:
        return 0.0
    return _bisect(lambda f: binomial_sf(k, n, f), power, 0.0, 1.0, increasing=True)


def clopper_pearson(x: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Exact two-sided binomial confidence interval for x successes in n trials.

    >>> low, high = clopper_pearson(0, 1500)
    >>> low, round(high, 5)
    (0.0, 0.00246)
    """
    if n <= 0:
        raise ValueError("n must be positive")
    tail = (1.0 - confidence) / 2
    low = 0.0 if x <= 0 else _bisect(lambda f: binomial_sf(x, n, f), tail, 0.0, 1.0, True)
    high = 1.0 if x >= n else _bisect(lambda f: binomial_cdf(x, n, f), tail, 0.0, 1.0, False)
    return low, high


def poisson_sf(k: int, mean: float) -> float:
    """P(X >= k) for X ~ Poisson(mean).

    >>> round(poisson_sf(1, 3.0), 4)
    0.9502
    """
    if k <= 0:
        return 1.0
    if mean <= 0:
        return 0.0
    if k > mean:  # the upper tail is the short side: sum it directly (no cancellation)
        term = math.exp(k * math.log(mean) - mean - math.lgamma(k + 1))
        total, i = 0.0, k
        while term > total * 1e-17 and i < k + 10_000:
            total += term
            i += 1
            term *= mean / i
        return min(1.0, total)
    # P(X <= k-1), summed downward from its largest term with p(i-1) = p(i) * i / mean:
    # one exp and one lgamma in all, and no underflow of exp(-mean) at large means
    term = math.exp((k - 1) * math.log(mean) - mean - math.lgamma(k))
    below, i = 0.0, k - 1
    while i >= 0 and term > below * 1e-17:
        below += term
        term *= i / mean
        i -= 1
    return max(0.0, 1.0 - below)


def poisson_ci(count: float, confidence: float = 0.95) -> tuple[float, float]:
    """Exact (Garwood) interval for a Poisson mean from an observed count (may be fractional).

    >>> tuple(round(v, 3) for v in poisson_ci(3))
    (0.619, 8.767)
    """
    return _garwood(max(0, round(count)), confidence)


@lru_cache(maxsize=1024)
def _garwood(observed: int, confidence: float) -> tuple[float, float]:
    """poisson_ci of a whole count, kept for the last counts met: every ARMS-PCR fraction asks
    for one (a plate some 15, each two bisections), and a batch meets the same counts again."""
    tail = (1.0 - confidence) / 2
    upper_bound = 10.0 + 10.0 * observed
    low = 0.0
    if observed > 0:
        low = _bisect(lambda m: poisson_sf(observed, m), tail, 0.0, upper_bound, True)
    high = _bisect(lambda m: 1.0 - poisson_sf(observed + 1, m), tail, 0.0, upper_bound, False)
    return low, high


def _hypergeometric_tail(k: int, step: int, row: int, column: int, total: int) -> float:
    """P(X >= k) (step +1) or P(X <= k) (step -1) for the top-left cell X of a 2x2 table with
    these margins, summed from k away from the mode, where the terms only fall: the first term
    from log-gamma, each next by the ratio of neighbouring terms, until they stop counting."""
    low, high = max(0, row + column - total), min(row, column)
    if k > high or k < low:
        return 0.0 if (k > high) == (step > 0) else 1.0
    rest = total - column - row  # d - a of the table, so the fourth cell is rest + k
    term = math.exp(
        _log_choose(column, k) + _log_choose(total - column, row - k) - _log_choose(total, row)
    )
    terms = [term]
    while (k < high) if step > 0 else (k > low):
        if step > 0:
            term *= (column - k) * (row - k) / ((k + 1) * (rest + k + 1))
        else:
            term *= k * (rest + k) / ((column - k + 1) * (row - k + 1))
        k += step
        terms.append(term)
        if term <= terms[0] * 1e-17 or term == 0.0:
            break
    return math.fsum(terms)


def fisher_exact_one_sided(a: int, b: int, c: int, d: int, alternative: str) -> float:
    """One-sided Fisher exact test on the 2x2 table ``[[a, b], [c, d]]``: the p-value.

    With the margins fixed, the top-left cell X is hypergeometric; ``alternative="greater"``
    (the first row's share of the first column is higher) is P(X >= a), ``"less"`` is
    P(X <= a). Only the short tail (the side away from the mode) is summed, so the sum never
    starts from a term too small to hold in a float; the long one is 1 minus the other.

    >>> round(fisher_exact_one_sided(8, 2, 1, 5, "greater"), 6)
    0.024476
    >>> round(fisher_exact_one_sided(1, 5, 8, 2, "less"), 6)
    0.024476
    >>> round(fisher_exact_one_sided(1, 5, 8, 2, "greater"), 4)
    0.9991
    """
    if min(a, b, c, d) < 0:
        raise ValueError(f"a 2x2 table holds counts, got {[[a, b], [c, d]]}")
    if alternative not in ("greater", "less"):
        raise ValueError(f"alternative must be 'greater' or 'less', not {alternative!r}")
    row, column, total = a + b, a + c, a + b + c + d
    mode = (row + 1) * (column + 1) // (total + 2)
    if alternative == "greater":
        if a > mode:
            p = _hypergeometric_tail(a, +1, row, column, total)
        else:
            p = 1.0 - _hypergeometric_tail(a - 1, -1, row, column, total)
    elif a < mode:
        p = _hypergeometric_tail(a, -1, row, column, total)
    else:
        p = 1.0 - _hypergeometric_tail(a + 1, +1, row, column, total)
    return min(1.0, max(0.0, p))
