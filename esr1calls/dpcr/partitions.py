"""Partition statistics of digital PCR (docs/dpcr.md, "The statistics"): pure functions on counts.

A partition holding one or more copies of a target is positive, so with k positive of N
partitions the mean number of copies per partition is λ = −ln(1 − k/N) (Poisson loading).

- Duplex assays (a mutant probe and a wild-type probe): λ_m and λ_w from each channel's
  positives over all N partitions.
- Drop-off assays (a wild-type probe over the region, a reference probe outside it): a mutant
  molecule is seen only in a partition without a wild-type copy, so λ_w = −ln(1 − k_W+/N) and
  λ_m = −ln(1 − k_R+W−/(N − k_W+)).

The fraction is f̂ = λ_m / (λ_m + λ_w). The binomial tails, the alt-count threshold and the
partition-level LoD come from ``esr1calls.stats``; nothing here reads files or settings.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from statistics import NormalDist

from ..stats import binomial_sf, clopper_pearson, k_required
from ..stats import lod95 as binomial_lod95

__all__ = [
    "NL_PER_UL",
    "Estimate",
    "PartitionCounts",
    "background_upper_bound",
    "copies_per_partition",
    "copies_per_ul",
    "detection_power",
    "estimate",
    "fraction_interval",
    "fraction_lod95",
    "mutant_partition_probability",
    "required_mutant_partitions",
]

NL_PER_UL = 1000.0
# the fraction's interval joins one interval per channel; each at 97.5 % so that both hold
# together with at least 95 % probability (Bonferroni)
CHANNEL_CONFIDENCE = 0.975


@dataclass(frozen=True)
class PartitionCounts:
    """The counts the rule needs, for one well or summed over a sample's replicate wells.

    ``mutant`` is k_m: for a duplex assay the mutant channel's positive partitions, for a
    drop-off assay the partitions positive for the reference probe and negative for the
    wild-type probe (R+W−). ``wild_type`` is k_w: the wild-type channel's positive partitions.
    """

    partitions: int
    mutant: int
    wild_type: int
    drop_off: bool = False

    def __post_init__(self) -> None:
        if self.partitions < 0 or self.mutant < 0 or self.wild_type < 0:
            raise ValueError(f"negative partition counts: {self}")
        if self.wild_type > self.partitions or self.mutant > self.mutant_denominator:
            raise ValueError(f"more positive partitions than partitions: {self}")

    def __add__(self, other: PartitionCounts) -> PartitionCounts:
        if self.drop_off != other.drop_off:
            raise ValueError("cannot sum a drop-off and a duplex well")
        return PartitionCounts(
            self.partitions + other.partitions,
            self.mutant + other.mutant,
            self.wild_type + other.wild_type,
            self.drop_off,
        )

    @property
    def mutant_denominator(self) -> int:
        """The partitions a mutant copy could show in: all (duplex), or those without a
        wild-type copy (drop-off)."""
        return self.partitions - self.wild_type if self.drop_off else self.partitions

    @property
    def saturated(self) -> bool:
        """Every partition positive in a channel: its copies cannot be counted (λ infinite)."""
        return (
            self.partitions == 0
            or self.wild_type == self.partitions
            or self.mutant == self.mutant_denominator
        )


def copies_per_partition(positives: int, partitions: int) -> float:
    """λ = −ln(1 − k/N), the mean copies per partition; inf when every partition is positive.

    >>> round(copies_per_partition(10940, 20486), 6), copies_per_partition(0, 20000)
    (0.76362, 0.0)
    >>> copies_per_partition(5, 5)
    inf
    """
    if partitions <= 0 or not 0 <= positives <= partitions:
        raise ValueError(f"{positives} positive of {partitions} partitions")
    if positives == partitions:
        return math.inf
    return -math.log1p(-positives / partitions) if positives else 0.0


def copies_per_ul(positives: int, partitions: int, partition_volume_nl: float) -> float:
    """Copies per µL of reaction: λ / V, with the partition volume V in nL.

    >>> round(copies_per_ul(10940, 20486, 0.85), 3)
    898.376
    """
    return copies_per_partition(positives, partitions) / (partition_volume_nl / NL_PER_UL)


@dataclass(frozen=True)
class Estimate:
    """λ per channel, the fraction and its 95 % interval (None where undefined)."""

    lambda_mutant: float
    lambda_wild_type: float
    fraction: float | None
    fraction_ci95: tuple[float, float] | None


def estimate(counts: PartitionCounts) -> Estimate:
    """λ_m, λ_w and f̂ = λ_m / (λ_m + λ_w) of unsaturated counts (docs/dpcr.md).

    >>> e = estimate(PartitionCounts(20000, 40, 4000))
    >>> round(e.fraction, 6), [round(v, 6) for v in e.fraction_ci95]
    (0.008892, [0.006049, 0.013053])
    """
    if counts.saturated:
        raise ValueError(f"saturated counts have no estimate: {counts}")
    lambda_w = copies_per_partition(counts.wild_type, counts.partitions)
    lambda_m = copies_per_partition(counts.mutant, counts.mutant_denominator)
    total = lambda_m + lambda_w
    fraction = None if total == 0 else lambda_m / total
    interval = fraction_interval(counts) if total > 0 else None
    return Estimate(lambda_m, lambda_w, fraction, interval)


@lru_cache(maxsize=8)
def _z(confidence: float) -> float:
    return NormalDist().inv_cdf(1 - (1 - confidence) / 2)


def _wilson(positives: int, trials: int, confidence: float) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (closed form: no search).

    >>> [round(v, 6) for v in _wilson(0, 20000, 0.975)]
    [0.0, 0.000251]
    """
    z = _z(confidence)
    p = positives / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    low = 0.0 if positives == 0 else max(0.0, centre - half)
    high = 1.0 if positives == trials else min(1.0, centre + half)
    return low, high


def _to_lambda(share: float) -> float:
    return math.inf if share >= 1 else -math.log1p(-share)


def _lambda_interval(positives: int, trials: int) -> tuple[float, float]:
    low, high = _wilson(positives, trials, CHANNEL_CONFIDENCE)
    return _to_lambda(low), _to_lambda(high)


def fraction_interval(counts: PartitionCounts) -> tuple[float, float]:
    """A 95 % interval for f̂: each channel's λ within its 97.5 % Wilson interval, so both hold
    together with at least 95 % probability; the fraction's ends are the extreme ratios.

    >>> [round(v, 6) for v in fraction_interval(PartitionCounts(20000, 0, 4000))]
    [0.0, 0.001165]
    """
    m_low, m_high = _lambda_interval(counts.mutant, counts.mutant_denominator)
    w_low, w_high = _lambda_interval(counts.wild_type, counts.partitions)

    def ratio(m: float, w: float) -> float:
        if math.isinf(m):
            return 1.0
        if math.isinf(w) or m == 0:
            return 0.0
        return m / (m + w)

    return ratio(m_low, w_high), ratio(m_high, w_low)


def background_upper_bound(positives: int, partitions: int, confidence: float = 0.95) -> float:
    """p0: the one-sided upper Clopper–Pearson bound of positives/partitions, the Beta(k + 1,
    n − k) quantile at ``confidence`` (the upper end of the two-sided interval at 2c − 1).

    >>> round(background_upper_bound(0, 20000), 9), round(background_upper_bound(2, 60000), 8)
    (0.000149775, 0.00010493)
    """
    return clopper_pearson(positives, partitions, 2 * confidence - 1)[1]


@lru_cache(maxsize=4096)
def required_mutant_partitions(partitions: int, p0: float, alpha: float, k_min: int) -> int:
    """k_req(N) = max(k_min, smallest k with P(Binomial(N, p0) ≥ k) ≤ α).

    >>> required_mutant_partitions(20000, 5e-5, 1e-3, 2)
    6
    """
    return k_required(partitions, p0, alpha, k_min)


def mutant_partition_probability(
    fraction: float, lambda_wild_type: float, p0: float, *, drop_off: bool = False
) -> float:
    """p*(f): the chance that a partition counts as mutant-positive at allele fraction f.

    Duplex: 1 − (1 − p0)·exp(−λ_w·f/(1 − f)). Drop-off: p0 + (1 − p0)·e^(−λ_w)·(1 − e^(−λ_w·f/
    (1 − f))): the mutant copy must share its partition with no wild-type copy.

    >>> round(mutant_partition_probability(0.002, 0.2, 5e-5), 9)
    0.000450701
    """
    x = lambda_wild_type * fraction / (1 - fraction)
    if drop_off:
        return p0 + (1 - p0) * math.exp(-lambda_wild_type) * -math.expm1(-x)
    return -math.expm1(-x) + p0 * math.exp(-x)


def detection_power(counts: PartitionCounts, p0: float, fraction: float, k_req: int) -> float:
    """P(Binomial(N, p*(f)) ≥ k_req): the chance of seeing k_req mutant partitions at f."""
    lambda_w = copies_per_partition(counts.wild_type, counts.partitions)
    p_star = mutant_partition_probability(fraction, lambda_w, p0, drop_off=counts.drop_off)
    return binomial_sf(k_req, counts.partitions, p_star)


# above this many required partitions P(X = 0) may underflow: the general search takes over
_RECURRENCE_MAX_K = 600


def _binomial_sf_small_k(k: int, n: int, p: float) -> float:
    """P(Binomial(n, p) >= k) for a small k, from the pmf recurrence (no lgamma per term).

    >>> abs(_binomial_sf_small_k(6, 20000, 3e-4) - binomial_sf(6, 20000, 3e-4)) < 1e-9
    True
    """
    if p <= 0.0:
        return 0.0
    term = math.exp(n * math.log1p(-p))  # P(X = 0)
    ratio = p / (1 - p)
    below = 0.0
    for i in range(k):
        below += term
        term *= (n - i) / (i + 1) * ratio
    return max(0.0, 1.0 - below)


@lru_cache(maxsize=4096)
def _partition_lod95(partitions: int, k_req: int, power: float) -> float | None:
    """The partition-level probability at which k_req is reached with ``power``."""
    if partitions <= 0 or k_req > partitions or k_req > _RECURRENCE_MAX_K:
        return binomial_lod95(partitions, k_req, power)
    if k_req <= 0:
        return 0.0
    low, high = 0.0, min(1.0, 50.0 * (k_req + 10) / partitions)
    while _binomial_sf_small_k(k_req, partitions, high) < power:  # widen until it holds
        high = min(1.0, 2 * high)
        if high == 1.0:
            break
    for _ in range(200):
        middle = (low + high) / 2
        if _binomial_sf_small_k(k_req, partitions, middle) < power:
            low = middle
        else:
            high = middle
        if high - low < 1e-13 * high:
            break
    return (low + high) / 2


def fraction_lod95(
    counts: PartitionCounts, p0: float, k_req: int, power: float = 0.95
) -> float | None:
    """The allele fraction f where P(Binomial(N, p*(f)) ≥ k_req) = ``power``; None when no
    fraction reaches it (too few partitions, no wild-type copies, or a drop-off assay whose
    wild-type-negative partitions are too few).

    The partition-level probability p_t that gives the power is found once, then p*(f) = p_t is
    solved for f in closed form.

    >>> round(fraction_lod95(PartitionCounts(20000, 0, 4000), 5e-5, 6), 6)
    0.002127
    """
    p_target = _partition_lod95(counts.partitions, k_req, power)
    lambda_w = copies_per_partition(counts.wild_type, counts.partitions)
    if p_target is None or lambda_w == 0 or math.isinf(lambda_w):
        return None
    if p_target <= p0:
        return 0.0
    if counts.drop_off:
        share = (p_target - p0) / ((1 - p0) * math.exp(-lambda_w))
        if share >= 1:
            return None
        x = -math.log1p(-share)
    else:
        x = math.log((1 - p0) / (1 - p_target))
    return x / (lambda_w + x)
