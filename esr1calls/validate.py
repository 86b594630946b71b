# Size: about 1,600 lines: validate lod and validate concordance, the statistics they share
# (limit of blank, probit with its profile interval, Wilson, kappa) and the proposed kit file.
"""Assay validation: limits of blank and detection, a proposed kit, and method concordance.

docs/validate.md. ``esr1calls validate lod`` reads calls.json documents of a dilution series
and blanks with a design sheet (``sample_id, expected_fraction[, hotspot]``) and gives, per
hotspot, the limit of blank (CLSI EP17-A2 non-parametric), the hit rate of every level with its
exact interval, and LoD95 by probit regression of DETECTED on log10(expected fraction), fitted by
maximum likelihood, with a profile-likelihood 95 % interval. Where the data cannot support the
fit, the hotspot is flagged and no LoD95 is given: it is never extrapolated. For ARMS-PCR runs it
also fits delta-Ct against log10(fraction) (slope -> amplification factor A, intercept ->
delta-Ct at 100 %), proposes a delta-Ct cut-off between the reportable fraction's delta-Ct and
the blanks', and can write a proposed kit file whose every new number names its source.

``esr1calls validate concordance`` matches the calls of a test method with a reference method's
by sample id (or a pairing sheet) and gives tp, fp, fn, tn, excluded, PPA, NPA and OPA with 95 %
Wilson intervals and Cohen's kappa, per hotspot and pooled over sample x hotspot pairs, with
every discordant pair and both calls' evidence. INDETERMINATE and INVALID on either side are
excluded, never counted as agreement.

Everything here is pure Python and numpy (no SciPy at run time); the tests check each statistic
against SciPy and statsmodels.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import math
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import numpy as np

from ._package_data import read_bytes, read_text
from ._version import __version__
from .errors import ConfigError, Esr1CallsError, InputError
from .hotspots import load_panel
from .model import CallStatus, reportable_fraction
from .pcr.kit import EXAMPLE_KIT, Kit, Setting, Window, parse_kit
from .provenance import tool_info, utc_now
from .reports.merge import LoadedCalls, load_calls_json
from .reports.write import write_text_atomic

log = logging.getLogger(__name__)

__all__ = [
    "FLAGS",
    "VALIDATION_HTML",
    "VALIDATION_JSON",
    "VALIDATION_SCHEMA_VERSION",
    "DesignRow",
    "LineFit",
    "ProbitFit",
    "cohens_kappa",
    "concordance_summary_lines",
    "fit_line",
    "fit_probit",
    "limit_of_blank",
    "load_validation_schema",
    "lod_summary_lines",
    "normal_cdf",
    "probit_profile_interval",
    "probit_quantile",
    "read_design",
    "read_pairs",
    "run_concordance",
    "run_lod",
    "student_t_quantile",
    "wilson_interval",
]

VALIDATION_SCHEMA_VERSION = "1.0.0"
VALIDATION_JSON, VALIDATION_HTML = "validation.json", "validation.html"

Z_95_ONE_SIDED = 1.6448536269514722  # the standard normal's 95th percentile
Z_975 = 1.959963984540054  # two-sided 95 %
CHI2_1_95 = Z_975**2  # the chi-square(1) 95th percentile, for the profile likelihood
HIT_RATE_REQUIRED = 0.95  # LoD95: the fraction detected with 95 % probability
LOB_PERCENTILE = 0.95  # CLSI EP17-A2: the limit of blank is the blanks' 95th percentile
MIN_LEVELS = 3  # probit and delta-Ct line need 3 levels with replicates
CI_SEARCH_DECADES = 2.0  # the LoD95 interval is searched up to 100x beyond the levels

FLAGS: dict[str, str] = {
    "NO_BLANKS": "no blank (expected fraction 0) was measured for this hotspot: no limit of "
    "blank, and no cut-off can be proposed",
    "LOB_NO_SIGNAL": "at least 95 % of the blanks gave no mutant Ct: the limit of blank lies "
    "above every measured delta-Ct (shown as none)",
    "LOB_ABOVE_REPORTABLE": "the limit of blank is above the reportable fraction: blanks reach "
    "the level the method claims to report",
    "TOO_FEW_LEVELS": "fewer than 3 non-blank levels with 2 or more usable replicates: no probit "
    "fit, no LoD95",
    "NO_LEVEL_AT_95": "no non-blank level was detected in 95 % of its replicates or more: the "
    "LoD95 lies above the series and is not extrapolated",
    "NO_FIT": "the probit fit does not exist: the levels separate hits from misses completely, "
    "or the hit rate does not rise with the fraction; add levels between the last missed and "
    "the first always-detected",
    "LOD_OUTSIDE_LEVELS": "the fitted LoD95 lies outside the tested levels and is not "
    "extrapolated; add levels around it",
    "CI_OPEN": "one end of the LoD95 interval is not reached within 100x of the tested levels "
    "(shown as none): the data do not bound it",
    "TOO_FEW_LEVELS_FOR_CALIBRATION": "fewer than 3 non-blank levels with a delta-Ct: no "
    "delta-Ct line, no amplification factor, delta-Ct at 100 % or cut-off",
    "SLOPE_NOT_NEGATIVE": "delta-Ct does not fall as the fraction rises: no amplification factor "
    "or cut-off is derived",
    "A_OUT_OF_RANGE": "the amplification factor is outside (1, 2.2], which a kit refuses: not "
    "proposed",
    "CUTOFF_WINDOW_EMPTY": "the delta-Ct needed to detect the reportable fraction in 95 % of "
    "samples is not below the blanks' limit of blank: no cut-off separates them",
    "CUTOFF_OUT_OF_RANGE": "the cut-off the data give is outside -5..20, which a kit refuses: "
    "not proposed",
}


# ===================================================================== statistics (pure)
def normal_cdf(x: float) -> float:
    """The standard normal distribution function.

    >>> round(normal_cdf(1.6448536269514722), 12)
    0.95
    """
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def _normal_pdf(x: float) -> float:
    return math.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


def wilson_interval(successes: int, n: int, z: float = Z_975) -> tuple[float, float] | None:
    """The Wilson score interval of a proportion (95 % by default); None when n is 0.

    >>> tuple(round(v, 4) for v in wilson_interval(3, 10))
    (0.1078, 0.6032)
    """
    if n <= 0:
        return None
    p = successes / n
    denominator = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def cohens_kappa(tp: int, fp: int, fn: int, tn: int) -> float | None:
    """Cohen's kappa of a 2x2 table; None when undefined (no pairs, or chance agreement 1).

    >>> round(cohens_kappa(20, 5, 3, 30), 6)
    0.716034
    """
    n = tp + fp + fn + tn
    if n == 0:
        return None
    observed = (tp + tn) / n
    chance = ((tp + fp) * (tp + fn) + (fn + tn) * (fp + tn)) / (n * n)
    if chance >= 1.0:
        return None
    return (observed - chance) / (1.0 - chance)


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def limit_of_blank(values: Sequence[float], *, lower_is_signal: bool = False) -> float | None:
    """CLSI EP17-A2 non-parametric limit of blank: the blanks sorted, the value at rank
    0.5 + 0.95 B (1-based, interpolated between neighbours, kept within 1..B).

    With ``lower_is_signal`` (PCR delta-Ct, where lower means more mutant) the ranks are counted
    from the top, which is the 5th percentile: rank 0.5 + 0.05 B from the bottom. ``inf`` is a
    blank without signal (no mutant Ct); if the rank reaches one, the last finite neighbour is
    taken (the more cautious value), and None when there is none. None for no blanks.

    >>> limit_of_blank([0.0] * 57 + [0.001, 0.002, 0.003])  # rank 57.5 of 60
    0.0005
    >>> limit_of_blank([12.0, 13.0, 14.0, 15.0], lower_is_signal=True)
    12.0
    """
    if not values:
        return None
    ordered = sorted(values)
    count = len(ordered)
    rank = 0.5 + LOB_PERCENTILE * count
    if lower_is_signal:  # the same rank counted from the top
        rank = count + 1 - rank
    rank = min(max(rank, 1.0), float(count))
    below = math.floor(rank)
    low_value = ordered[below - 1]
    if not math.isfinite(low_value):
        return None
    if below >= count:
        return low_value
    high_value = ordered[below]
    if not math.isfinite(high_value):
        return low_value
    return low_value + (rank - below) * (high_value - low_value)


def _regularized_beta(a: float, b: float, x: float) -> float:
    """I_x(a, b) by the continued fraction (modified Lentz), as in Numerical Recipes."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x > (a + 1.0) / (a + b + 2.0):
        return 1.0 - _regularized_beta(b, a, 1.0 - x)
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    result = d
    for m in range(1, 500):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            result *= c * d
        if abs(c * d - 1.0) < 1e-15:
            break
    return math.exp(log_front) * result / a


def _student_t_cdf(t: float, df: float) -> float:
    tail = 0.5 * _regularized_beta(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t > 0 else tail


def student_t_quantile(p: float, df: float) -> float:
    """The p quantile of Student's t with df degrees of freedom (bisection on the CDF).

    >>> round(student_t_quantile(0.975, 10), 6)
    2.228139
    """
    if not 0.0 < p < 1.0 or df <= 0:
        raise ValueError("need 0 < p < 1 and df > 0")
    if p < 0.5:
        return -student_t_quantile(1.0 - p, df)
    low, high = 0.0, 1.0
    while _student_t_cdf(high, df) < p:
        low, high = high, high * 2.0
    for _ in range(200):
        mid = (low + high) / 2.0
        if _student_t_cdf(mid, df) < p:
            low = mid
        else:
            high = mid
        if high - low < 1e-13 * max(1.0, high):
            break
    return (low + high) / 2.0


@dataclass(frozen=True)
class ProbitFit:
    """P(hit) = normal_cdf(intercept + slope * x), by maximum likelihood."""

    intercept: float
    slope: float
    log_likelihood: float
    covariance: tuple[tuple[float, float], tuple[float, float]]


_ETA_LIMIT = 35.0  # beyond this the normal tail underflows; the fit never needs it


def _probit_terms(eta: np.ndarray, hits: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Log-likelihood, and its first and second derivatives in each linear predictor."""
    eta = np.clip(eta, -_ETA_LIMIT, _ETA_LIMIT)
    log_likelihood = 0.0
    gradient = np.empty_like(eta)
    curvature = np.empty_like(eta)
    for i, (value, hit) in enumerate(zip(eta.tolist(), hits.tolist(), strict=True)):
        signed = value if hit else -value  # P(observed) = Phi(signed)
        tail = 0.5 * math.erfc(-signed / math.sqrt(2.0))
        ratio = _normal_pdf(signed) / tail  # inverse Mills ratio
        log_likelihood += math.log(tail)
        gradient[i] = ratio if hit else -ratio
        curvature[i] = -ratio * (ratio + signed)
    return log_likelihood, gradient, curvature


def _probit_log_likelihood(eta: np.ndarray, hits: np.ndarray) -> float:
    return _probit_terms(eta, hits)[0]


def _separated(x: Sequence[float], hits: Sequence[bool]) -> bool:
    """True when no maximum-likelihood probit fit with a finite rising slope exists: all hits or
    all misses, or every miss at or below every hit (complete or quasi-complete separation)."""
    missed = [v for v, h in zip(x, hits, strict=True) if not h]
    detected = [v for v, h in zip(x, hits, strict=True) if h]
    return (
        not missed or not detected or max(missed) <= min(detected) or max(detected) <= min(missed)
    )


SLOPE_MIN = 1e-9  # probits per log10 of fraction: a real dilution series gives 0.5 and more


def fit_probit(x: Sequence[float], hits: Sequence[bool]) -> ProbitFit | None:
    """Maximum-likelihood probit regression of hits on x (Newton-Raphson with step halving).

    None when the fit does not exist (separation) or the slope is not positive: not above
    ``SLOPE_MIN``, since a hit rate flat in x leaves a slope of rounding size whose sign comes
    from the machine's linear algebra, not from the data.
    """
    if len(x) != len(hits) or _separated(x, hits):
        return None
    design = np.column_stack([np.ones(len(x)), np.asarray(x, dtype=float)])
    observed = np.asarray(hits, dtype=bool)
    beta = np.zeros(2)
    log_likelihood, gradient, curvature = _probit_terms(design @ beta, observed)
    for _ in range(200):
        score = design.T @ gradient
        hessian = (design * curvature[:, None]).T @ design
        step = np.linalg.solve(hessian, -score)
        size = 1.0
        while True:
            trial = beta + size * step
            trial_ll, trial_gradient, trial_curvature = _probit_terms(design @ trial, observed)
            if trial_ll >= log_likelihood - 1e-12 or size < 1e-10:
                break
            size /= 2.0
        converged = float(np.max(np.abs(trial - beta))) < 1e-11 * (
            1.0 + float(np.max(np.abs(beta)))
        )
        beta, log_likelihood = trial, trial_ll
        gradient, curvature = trial_gradient, trial_curvature
        if converged:
            break
    if not beta[1] > SLOPE_MIN:
        return None
    hessian = (design * curvature[:, None]).T @ design
    covariance = np.linalg.inv(-hessian)
    return ProbitFit(
        intercept=float(beta[0]),
        slope=float(beta[1]),
        log_likelihood=float(log_likelihood),
        covariance=(
            (float(covariance[0, 0]), float(covariance[0, 1])),
            (float(covariance[1, 0]), float(covariance[1, 1])),
        ),
    )


def probit_quantile(fit: ProbitFit, probability: float = HIT_RATE_REQUIRED) -> float:
    """The x where the fitted hit rate is ``probability`` (log10 LoD95 for 0.95)."""
    z = Z_95_ONE_SIDED if probability == HIT_RATE_REQUIRED else _normal_quantile(probability)
    return (z - fit.intercept) / fit.slope


def _normal_quantile(p: float) -> float:
    low, high = -40.0, 40.0
    for _ in range(200):
        mid = (low + high) / 2
        if normal_cdf(mid) < p:
            low = mid
        else:
            high = mid
    return (low + high) / 2


def _profile_log_likelihood(
    theta: float, x: np.ndarray, hits: np.ndarray, slope_start: float
) -> tuple[float, float]:
    """max over the slope of the log-likelihood with the 95 % point fixed at theta: the linear
    predictor is z95 + slope * (x - theta), concave in the slope, so Newton finds the maximum."""
    offset = x - theta
    slope = slope_start
    log_likelihood, gradient, curvature = _probit_terms(Z_95_ONE_SIDED + slope * offset, hits)
    for _ in range(200):
        score = float(gradient @ offset)
        second = float(curvature @ (offset * offset))
        if second >= 0:
            break
        step = -score / second
        size = 1.0
        while True:
            trial = slope + size * step
            trial_ll, trial_gradient, trial_curvature = _probit_terms(
                Z_95_ONE_SIDED + trial * offset, hits
            )
            if trial_ll >= log_likelihood - 1e-12 or size < 1e-10:
                break
            size /= 2.0
        done = abs(trial - slope) < 1e-12 * (1.0 + abs(slope))
        slope, log_likelihood = trial, trial_ll
        gradient, curvature = trial_gradient, trial_curvature
        if done:
            break
    return log_likelihood, slope


def probit_profile_interval(
    x: Sequence[float],
    hits: Sequence[bool],
    fit: ProbitFit,
    *,
    search: tuple[float, float] | None = None,
) -> tuple[float | None, float | None]:
    """The 95 % profile-likelihood interval of the x where the hit rate is 95 %: every theta
    whose profile log-likelihood is within chi2(1, 0.95)/2 of the maximum. An end not reached
    within ``search`` (default: 2 decades beyond the data) is None."""
    xs = np.asarray(x, dtype=float)
    observed = np.asarray(hits, dtype=bool)
    centre = probit_quantile(fit)
    floor = fit.log_likelihood - CHI2_1_95 / 2.0
    low_edge, high_edge = search or (
        float(xs.min()) - CI_SEARCH_DECADES,
        float(xs.max()) + CI_SEARCH_DECADES,
    )

    def inside(theta: float, slope: float) -> tuple[bool, float]:
        value, best_slope = _profile_log_likelihood(theta, xs, observed, slope)
        return value >= floor, best_slope

    def edge(direction: float, limit: float) -> float | None:
        step, last_in, slope = 0.05, centre, fit.slope
        while True:
            probe = last_in + direction * step
            if (probe - limit) * direction > 0:
                probe = limit
            ok, found_slope = inside(probe, slope)
            if not ok:
                break
            if probe == limit:
                return None
            last_in, slope, step = probe, found_slope, step * 1.6
        low, high = (last_in, probe) if direction > 0 else (probe, last_in)
        for _ in range(100):
            mid = (low + high) / 2.0
            ok, _ = inside(mid, slope)
            if ok == (direction > 0):
                low = mid
            else:
                high = mid
            if high - low < 1e-12:
                break
        return (low + high) / 2.0

    return edge(-1.0, low_edge), edge(1.0, high_edge)


@dataclass(frozen=True)
class LineFit:
    """Ordinary least squares y = intercept + slope * x, with 95 % intervals (Student t)."""

    n: int
    slope: float
    intercept: float
    slope_ci: tuple[float, float]
    intercept_ci: tuple[float, float]
    residual_sd: float
    r_squared: float
    mean_x: float
    sxx: float

    def upper_prediction(self, x: float, confidence: float = 0.95) -> float:
        """The one-sided upper prediction bound of a new y at x."""
        t = student_t_quantile(confidence, self.n - 2)
        spread = self.residual_sd * math.sqrt(1 + 1 / self.n + (x - self.mean_x) ** 2 / self.sxx)
        return self.intercept + self.slope * x + t * spread


def fit_line(x: Sequence[float], y: Sequence[float]) -> LineFit | None:
    """OLS of y on x; None with fewer than 3 points or 2 distinct x."""
    n = len(x)
    if n < 3 or len(set(x)) < 2:
        return None
    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    mean_x, mean_y = float(xs.mean()), float(ys.mean())
    sxx = float(((xs - mean_x) ** 2).sum())
    sxy = float(((xs - mean_x) * (ys - mean_y)).sum())
    slope = sxy / sxx
    intercept = mean_y - slope * mean_x
    residuals = ys - (intercept + slope * xs)
    sse = float((residuals**2).sum())
    syy = float(((ys - mean_y) ** 2).sum())
    residual_sd = math.sqrt(sse / (n - 2))
    t = student_t_quantile(0.975, n - 2)
    slope_se = residual_sd / math.sqrt(sxx)
    intercept_se = residual_sd * math.sqrt(1 / n + mean_x**2 / sxx)
    return LineFit(
        n=n,
        slope=slope,
        intercept=intercept,
        slope_ci=(slope - t * slope_se, slope + t * slope_se),
        intercept_ci=(intercept - t * intercept_se, intercept + t * intercept_se),
        residual_sd=residual_sd,
        r_squared=1.0 - sse / syy if syy > 0 else 1.0,
        mean_x=mean_x,
        sxx=sxx,
    )


def _clopper_pearson(successes: int, n: int) -> tuple[float, float]:
    from .stats import clopper_pearson

    return clopper_pearson(successes, n)


# ======================================================================== input sheets
@dataclass(frozen=True)
class DesignRow:
    """One row of the design sheet: a sample's expected fraction, for one hotspot or all."""

    sample_id: str
    expected_fraction: float
    hotspot: str | None
    row: int


_DESIGN_COLUMNS = ("sample_id", "expected_fraction")
_DESIGN_OPTIONAL = ("hotspot", "note")
_PAIR_COLUMNS = ("test_sample_id", "reference_sample_id")


def _read_sheet(
    path: Path, required: Sequence[str], optional: Sequence[str]
) -> list[tuple[int, dict[str, str]]]:
    """Rows of a comma- or tab-separated sheet with exactly the known columns."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(path, f"cannot read ({exc.strerror})") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(path, "not UTF-8 text; save the sheet as UTF-8 CSV") from exc
    lines = text.splitlines()
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        raise InputError(
            path, f"the sheet is empty; give a header line ({', '.join(required)}) and rows"
        )
    delimiter = "\t" if "\t" in lines[first] else ","
    reader = csv.reader(io.StringIO("\n".join(lines[first:])), delimiter=delimiter)
    header = [h.strip().lower() for h in next(reader)]
    missing = [c for c in required if c not in header]
    if missing:
        raise InputError(
            path,
            f"column {', '.join(missing)} is missing. Found: {', '.join(header) or 'nothing'}. "
            f"Columns: {', '.join(required)}"
            + (f" and optional {', '.join(optional)}" if optional else ""),
            place="line 1",
        )
    unknown = [c for c in header if c not in (*required, *optional)]
    if unknown or len(set(header)) != len(header):
        what = f"unknown column {', '.join(unknown)}" if unknown else "a column appears twice"
        raise InputError(
            path,
            f"{what}; the columns are {', '.join(required)}"
            + (f" and optional {', '.join(optional)}" if optional else ""),
            place="line 1",
        )
    rows = []
    for offset, cells in enumerate(reader):
        line = first + 2 + offset
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            raise InputError(
                path,
                f"{len(cells)} cells for {len(header)} columns ({', '.join(header)}); "
                "fix the row (a quoted comma or a missing cell?)",
                place=f"line {line}",
            )
        rows.append((line, {h: c.strip() for h, c in zip(header, cells, strict=True)}))
    if not rows:
        raise InputError(path, "the sheet has a header but no rows")
    return rows


def read_design(path: str | Path) -> list[DesignRow]:
    """The design sheet: ``sample_id, expected_fraction`` and optional ``hotspot`` (empty: every
    hotspot of the sample) and ``note``; comma- or tab-separated; fractions, not percents."""
    path = Path(path)
    catalog = load_panel("extended")
    found: dict[tuple[str, str | None], int] = {}
    rows: list[DesignRow] = []
    for line, cells in _read_sheet(path, _DESIGN_COLUMNS, _DESIGN_OPTIONAL):
        place = f"line {line}"
        sample_id = cells["sample_id"]
        if not sample_id:
            raise InputError(
                path, "sample_id is empty; name the sample as in calls.json", place=place
            )
        text = cells["expected_fraction"]
        if text.endswith("%"):
            raise InputError(
                path,
                f"expected_fraction {text!r} is a percent; give a fraction (0.002 for 0.2 %)",
                place=place,
            )
        try:
            fraction = float(text)
        except ValueError:
            fraction = math.nan
        if not math.isfinite(fraction) or not 0.0 <= fraction <= 1.0:
            raise InputError(
                path,
                f"expected_fraction {text!r} is not a fraction from 0 to 1; give 0 for a blank "
                "and 0.002 for 0.2 %",
                place=place,
            )
        hotspot = cells.get("hotspot") or None
        if hotspot is not None and hotspot not in catalog:
            raise InputError(
                path,
                f"unknown hotspot {hotspot!r}; use one of {', '.join(catalog.names)}, or leave "
                "it empty for every hotspot of the sample",
                place=place,
            )
        key = (sample_id, hotspot)
        if key in found:
            raise InputError(
                path,
                f"sample {sample_id} "
                + (f"hotspot {hotspot} " if hotspot else "(every hotspot) ")
                + f"is also on line {found[key]}; give one row per sample and hotspot",
                place=place,
            )
        found[key] = line
        rows.append(DesignRow(sample_id, fraction, hotspot, line))
    return rows


def read_pairs(path: str | Path) -> list[tuple[str, str, int]]:
    """The pairing sheet: ``test_sample_id, reference_sample_id``, one pair per row."""
    path = Path(path)
    pairs: list[tuple[str, str, int]] = []
    seen: dict[str, int] = {}
    for line, cells in _read_sheet(path, _PAIR_COLUMNS, ("note",)):
        test, reference = cells["test_sample_id"], cells["reference_sample_id"]
        if not test or not reference:
            raise InputError(
                path,
                "a sample id is empty; name both samples as in calls.json",
                place=f"line {line}",
            )
        if test in seen:
            raise InputError(
                path,
                f"test sample {test} is also paired on line {seen[test]}; pair each test sample "
                "once",
                place=f"line {line}",
            )
        seen[test] = line
        pairs.append((test, reference, line))
    return pairs


# ========================================================================= the runs
@dataclass(frozen=True)
class _Sample:
    """One sample of one calls.json, with the run block that made it."""

    loaded: LoadedCalls
    run_index: int
    sample: Mapping[str, Any]
    run: Mapping[str, Any]


def _load_runs(paths: Sequence[str | Path], role: str) -> list[LoadedCalls]:
    """Each calls.json, schema-checked; the same run given twice (also inside a cohort) is
    refused, as it would count its samples twice."""
    loaded = [load_calls_json(p) for p in paths]
    seen: dict[str, Path] = {}
    for item in loaded:
        sources = item.document["run"].get("sources") or []
        own = [item.sha256, *(s["sha256"] for s in sources if isinstance(s.get("sha256"), str))]
        for digest in own:
            if digest in seen:
                raise InputError(
                    None,
                    f"{item.path}: holds the run of {seen[digest]} again (calls.json sha256 "
                    f"{digest[:12]}...); give each {role} run once",
                )
        seen.update(dict.fromkeys(own, item.path))
    return loaded


def _samples(loaded: Sequence[LoadedCalls]) -> list[_Sample]:
    from .reports.document import run_of

    return [
        _Sample(item, index, sample, run_of(item.document, sample))
        for index, item in enumerate(loaded)
        for sample in item.document.get("samples") or []
    ]


def _input_entries(loaded: Sequence[LoadedCalls], role: str) -> list[dict[str, Any]]:
    return [
        {
            "path": str(item.path),
            "sha256": item.sha256,
            "role": role,
            "methods": sorted({str(s.get("method")) for s in item.document.get("samples") or []}),
        }
        for item in loaded
    ]


def _file_entry(path: Path, role: str) -> dict[str, Any]:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return {"path": str(path), "sha256": digest, "role": role, "methods": []}


def _head(command: str, reproducible: bool, inputs: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "schema_version": VALIDATION_SCHEMA_VERSION,
        "tool": tool_info(),
        "run": {
            "command": command,
            "utc_time": None if reproducible else utc_now(),
            "reproducible": reproducible,
            "review_status": "unreviewed",
            "inputs": inputs,
            "notices": [],
        },
    }


def _round(value: float | None, digits: int = 10) -> float | None:
    """Stable numbers in validation.json (re-runs byte-identical across platforms)."""
    if value is None or not math.isfinite(value):
        return None
    return float(f"{value:.{digits}g}")


# =============================================================================== LoD
@dataclass(frozen=True)
class _Observation:
    sample_id: str
    run_index: int
    fraction: float
    status: str
    measurement: float | None  # delta-Ct (inf: no mutant Ct) for PCR, else the allele fraction
    delta_ct: float | None


def _measurement(method: str, call: Mapping[str, Any]) -> float | None:
    if method == "PCR":
        if isinstance(call.get("delta_ct"), int | float):
            return float(call["delta_ct"])
        # no mutant Ct in a well whose reference amplified: the blank gave no signal
        return math.inf if isinstance(call.get("ct_reference"), int | float) else None
    value = call.get("allele_fraction")
    return float(value) if isinstance(value, int | float) else None


def _observations(
    samples: Sequence[_Sample], design: Sequence[DesignRow]
) -> tuple[dict[str, list[_Observation]], list[str]]:
    """Per hotspot, every call the design gives an expected fraction, and notices about design
    rows without calls and samples without design rows."""
    by_sample: dict[str, dict[str | None, DesignRow]] = {}
    for row in design:
        by_sample.setdefault(row.sample_id, {})[row.hotspot] = row
    observed: dict[str, list[_Observation]] = {}
    used_rows: set[int] = set()
    outside: list[str] = []
    for item in samples:
        sample_id = str(item.sample.get("sample_id"))
        rows = by_sample.get(sample_id)
        if rows is None:
            outside.append(sample_id)
            continue
        method = str(item.sample.get("method"))
        for call in item.sample.get("calls") or []:
            hotspot = str(call.get("hotspot"))
            match = rows.get(hotspot) or rows.get(None)
            if match is None:
                continue
            used_rows.add(match.row)
            observed.setdefault(hotspot, []).append(
                _Observation(
                    sample_id,
                    item.run_index,
                    match.expected_fraction,
                    str(call.get("status")),
                    _measurement(method, call),
                    call.get("delta_ct") if isinstance(call.get("delta_ct"), int | float) else None,
                )
            )
    notices = []
    unused = [r for r in design if r.row not in used_rows]
    if unused:
        named = ", ".join(
            f"{r.sample_id}" + (f" {r.hotspot}" if r.hotspot else "") + f" (line {r.row})"
            for r in unused
        )
        notices.append(
            f"{len(unused)} design row(s) matched no call in the runs given: {named}; check the "
            "sample ids, or give the missing calls.json"
        )
    if outside:
        names = ", ".join(dict.fromkeys(outside))
        notices.append(
            f"{len(outside)} sample(s) of the runs are not in the design sheet and were not "
            f"used: {names}"
        )
    return observed, notices


def _levels(observations: Sequence[_Observation]) -> list[dict[str, Any]]:
    levels: dict[float, list[_Observation]] = {}
    for item in observations:
        levels.setdefault(item.fraction, []).append(item)
    out = []
    for fraction in sorted(levels):
        usable = [o for o in levels[fraction] if o.status != CallStatus.INVALID.value]
        detected = sum(o.status == CallStatus.DETECTED.value for o in usable)
        interval = _clopper_pearson(detected, len(usable)) if usable else None
        out.append(
            {
                "fraction": fraction,
                "n": len(usable),
                "detected": detected,
                "hit_rate": _round(detected / len(usable)) if usable else None,
                "hit_rate_ci": [_round(v) for v in interval] if interval else None,
                "invalid": len(levels[fraction]) - len(usable),
            }
        )
    return out


def _lod_for(
    observations: Sequence[_Observation], method: str, reportable: float | None
) -> dict[str, Any]:
    """One hotspot's limit of blank, levels, probit LoD95 and flags."""
    flags: list[str] = []
    usable = [o for o in observations if o.status != CallStatus.INVALID.value]
    blanks = [o.measurement for o in usable if o.fraction == 0 and o.measurement is not None]
    lob = limit_of_blank(blanks, lower_is_signal=method == "PCR")
    if not blanks:
        flags.append("NO_BLANKS")
    elif lob is None:
        flags.append("LOB_NO_SIGNAL")
    elif method != "PCR" and reportable is not None and lob > reportable:
        flags.append("LOB_ABOVE_REPORTABLE")
    levels = _levels(observations)
    positive = [lv for lv in levels if lv["fraction"] > 0]
    at_95 = [lv for lv in positive if lv["n"] and lv["detected"] / lv["n"] >= HIT_RATE_REQUIRED]
    result: dict[str, Any] = {
        "lob": _round(lob),
        "lob_n": len(blanks),
        "lod95": None,
        "lod95_ci": [None, None],
        "levels": levels,
        "lowest_level_at_95": at_95[0]["fraction"] if at_95 else None,
        "probit": None,
        "flags": flags,
    }
    if sum(lv["n"] >= 2 for lv in positive) < MIN_LEVELS:
        flags.append("TOO_FEW_LEVELS")
        return result
    if not at_95:
        flags.append("NO_LEVEL_AT_95")
        return result
    points = [o for o in usable if o.fraction > 0]
    x = [math.log10(o.fraction) for o in points]
    hits = [o.status == CallStatus.DETECTED.value for o in points]
    fit = fit_probit(x, hits)
    if fit is None:
        flags.append("NO_FIT")
        return result
    result["probit"] = {
        "intercept": _round(fit.intercept),
        "slope": _round(fit.slope),
        "log_likelihood": _round(fit.log_likelihood),
        "n": len(points),
    }
    centre = probit_quantile(fit)
    if not min(x) <= centre <= max(x):
        flags.append("LOD_OUTSIDE_LEVELS")
        return result
    low, high = probit_profile_interval(x, hits, fit)
    if low is None or high is None:
        flags.append("CI_OPEN")
    result["lod95"] = _round(10**centre)
    result["lod95_ci"] = [_round(10**low) if low is not None else None,
                          _round(10**high) if high is not None else None]  # fmt: skip
    return result


def _calibration(
    observations: Sequence[_Observation],
    lob: float | None,
    has_blanks: bool,
    reportable: float | None,
) -> tuple[dict[str, Any], LineFit | None, list[str]]:
    """PCR: delta-Ct on log10(fraction) -> A and delta-Ct at 100 %, and a proposed cut-off."""
    flags: list[str] = []
    points = [
        o
        for o in observations
        if o.fraction > 0 and o.status != CallStatus.INVALID.value and o.delta_ct is not None
    ]
    no_ct = sum(
        1
        for o in observations
        if o.fraction > 0 and o.status != CallStatus.INVALID.value and o.delta_ct is None
    )
    blank_points = [
        o.delta_ct
        for o in observations
        if o.fraction == 0 and o.status != CallStatus.INVALID.value and o.delta_ct is not None
    ]
    block: dict[str, Any] = {
        "points": [
            {"fraction": o.fraction, "delta_ct": o.delta_ct, "status": o.status} for o in points
        ],
        "blank_delta_ct": blank_points,
        "n_no_ct": no_ct,
        "line": None,
        "amplification_factor": None,
        "amplification_factor_ci": None,
        "delta_ct_100": None,
        "delta_ct_100_ci": None,
        "cutoff": None,
    }
    if len({o.fraction for o in points}) < MIN_LEVELS:
        flags.append("TOO_FEW_LEVELS_FOR_CALIBRATION")
        return block, None, flags
    line = fit_line(
        [math.log10(o.fraction) for o in points], [float(o.delta_ct or 0) for o in points]
    )
    assert line is not None  # 3 distinct levels
    block["line"] = {
        "n": line.n,
        "levels": len({o.fraction for o in points}),
        "slope": _round(line.slope),
        "slope_ci": [_round(v) for v in line.slope_ci],
        "intercept": _round(line.intercept),
        "intercept_ci": [_round(v) for v in line.intercept_ci],
        "residual_sd": _round(line.residual_sd),
        "r_squared": _round(line.r_squared),
    }
    block["delta_ct_100"] = _round(line.intercept)
    block["delta_ct_100_ci"] = [_round(v) for v in line.intercept_ci]
    if not line.slope < 0:
        flags.append("SLOPE_NOT_NEGATIVE")
        return block, line, flags
    factor = 10 ** (-1.0 / line.slope)
    low_slope, high_slope = line.slope_ci
    block["amplification_factor"] = _round(factor)
    block["amplification_factor_ci"] = [
        _round(10 ** (-1.0 / low_slope)) if low_slope < 0 else None,
        _round(10 ** (-1.0 / high_slope)) if high_slope < 0 else None,
    ]
    if not 1.0 < factor <= 2.2:
        flags.append("A_OUT_OF_RANGE")
    if has_blanks:  # without blanks a cut-off cannot be held against them (NO_BLANKS says so)
        block["cutoff"] = _propose_cutoff(line, lob, reportable, flags)
    return block, line, flags


def _propose_cutoff(
    line: LineFit, lob: float | None, reportable: float | None, flags: list[str]
) -> dict[str, Any] | None:
    """The cut-off: midway between the delta-Ct that the reportable fraction stays at or below
    in 95 % of samples (the line's one-sided upper 95 % prediction bound there) and the blanks'
    limit of blank (their 5th percentile of delta-Ct). Without blank signal, that bound alone."""
    if reportable is None:
        return None
    needed = line.upper_prediction(math.log10(reportable))
    proposal: dict[str, Any] = {
        "value": None,
        "reportable_fraction": reportable,
        "lower": _round(needed),
        "upper": _round(lob),
        "expected_lod95": None,
    }
    if lob is None:
        value = math.ceil(needed * 100 - 1e-9) / 100
    elif needed >= lob:
        flags.append("CUTOFF_WINDOW_EMPTY")
        return proposal
    else:
        value = round((needed + lob) / 2.0, 2)
    if not -5.0 <= value <= 20.0:
        flags.append("CUTOFF_OUT_OF_RANGE")
        return proposal
    proposal["value"] = value
    # the fraction detected in 95 % of samples at this cut-off, by the fitted line
    log_fraction = (value - line.intercept - Z_95_ONE_SIDED * line.residual_sd) / line.slope
    proposal["expected_lod95"] = _round(min(1.0, 10**log_fraction))
    return proposal


def _one(values: Iterable[Any], what: str, describe: Callable[[Any], str]) -> Any:
    unique = list({repr(v): v for v in values}.values())
    if len(unique) > 1:
        raise InputError(
            None,
            f"the runs used different {what}: {'; '.join(describe(v) for v in unique)}; "
            f"validate the runs of one {what.rstrip('s')} together",
        )
    return unique[0] if unique else None


def _kit_text(kit: Mapping[str, Any] | None) -> str:
    if not kit:
        return "none"
    return f"{kit.get('id')} {kit.get('version')} (sha256 {str(kit.get('sha256'))[:12]}...)"


@dataclass
class LodResult:
    """What ``validate lod`` writes: validation.json, and the proposed kit when asked."""

    document: dict[str, Any]
    kit_text: str | None = None
    kit_path: Path | None = None
    notices: list[str] = field(default_factory=list)


def run_lod(
    calls_json: Sequence[str | Path],
    design_path: str | Path,
    *,
    command: str,
    reproducible: bool = False,
    kit: str | Path | None = None,
    propose_kit: str | Path | None = None,
) -> LodResult:
    """The limit-of-blank / LoD95 analysis over calls.json documents and a design sheet."""
    design_path = Path(design_path)
    design = read_design(design_path)
    loaded = _load_runs(calls_json, "validation")
    samples = _samples(loaded)
    if not samples:
        raise InputError(None, "the calls.json files hold no sample; give the validation runs")
    method = _one(
        (str(s.sample.get("method")) for s in samples),
        "methods",
        lambda m: (
            f"{m} in "
            + ", ".join(
                sorted({str(s.loaded.path) for s in samples if s.sample.get("method") == m})
            )
        ),
    )
    kit_used = None
    if method == "PCR":
        kits = {str((s.run.get("kit") or {}).get("sha256")): s.run.get("kit") for s in samples}
        kit_used = _one(kits.values(), "kits", _kit_text)
    reportable = _one(
        (reportable_fraction(s.run.get("thresholds") or {}) for s in samples),
        "reportable fractions",
        lambda f: f"{f}",
    )
    observed, notices = _observations(samples, design)
    if not observed:
        raise InputError(
            design_path,
            "no sample id of the design sheet is in the runs given; name the samples as their "
            "calls.json does",
        )
    inputs = [*_input_entries(loaded, "validation run"), _file_entry(design_path, "design")]
    document = _head(command, reproducible, inputs)
    hotspots: dict[str, Any] = {}
    order = [h for h in load_panel("extended").names if h in observed] + sorted(
        h for h in observed if h not in load_panel("extended")
    )
    lines: dict[str, LineFit | None] = {}
    for hotspot in order:
        entry = _lod_for(observed[hotspot], method, reportable)
        if method == "PCR":
            has_blanks = "NO_BLANKS" not in entry["flags"]
            block, line, flags = _calibration(
                observed[hotspot], entry["lob"], has_blanks, reportable
            )
            entry["delta_ct"] = block
            entry["flags"].extend(flags)
            lines[hotspot] = line
        hotspots[hotspot] = entry
    runs_text = ", ".join(item.sha256 for item in loaded)
    document["lod"] = {
        "method": method,
        "reportable_fraction": reportable,
        "kit": dict(kit_used) if kit_used else None,
        "lob_method": "CLSI EP17-A2 non-parametric: blanks sorted, rank 0.5 + 0.95 B "
        "interpolated"
        + ("; delta-Ct: the 5th percentile (lower is more mutant)" if method == "PCR" else ""),
        "lod95_method": "probit regression of DETECTED on log10(expected fraction) over the "
        "non-blank levels, maximum likelihood; INDETERMINATE is a miss, INVALID left out",
        "lod95_ci_method": "profile likelihood, 95 %",
        "hotspots": hotspots,
        "proposed_kit": None,
    }
    result = LodResult(document, notices=notices)
    if propose_kit is not None:
        if method != "PCR":
            raise ConfigError(
                f"--propose-kit writes an ARMS-PCR kit, but these runs are {method}; leave it out"
            )
        raw, name, where = _kit_file(kit, kit_used)
        text, summary = propose_kit_text(raw, name, hotspots, loaded, runs_text)
        summary["from"] = {"path": where, "sha256": hashlib.sha256(raw).hexdigest()}
        if summary["replaced"]:
            summary["path"] = str(propose_kit)
            summary["sha256"] = hashlib.sha256(text.encode("utf-8")).hexdigest()
            result.kit_text, result.kit_path = text, Path(propose_kit)
        document["lod"]["proposed_kit"] = summary
    document["run"]["notices"] = notices
    return result


# ====================================================================== proposed kit
_PLACEHOLDER = re.compile(r"placeholder", re.I)


def _kit_file(spec: str | Path | None, used: Mapping[str, Any] | None) -> tuple[bytes, str, str]:
    """The bytes of the kit the runs used: --kit FILE, else the bundled kit or the recorded
    path when its sha256 is the one the runs recorded."""
    if not used:
        raise InputError(None, "the runs record no kit; re-call them with esr1calls pcr --kit")
    wanted = str(used.get("sha256"))
    if spec is not None and str(spec) != EXAMPLE_KIT:
        path = Path(spec)
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"{path.name}: cannot read kit definition ({exc.strerror})") from exc
        if hashlib.sha256(raw).hexdigest() != wanted:
            raise ConfigError(
                f"{path.name}: not the kit the runs used ({_kit_text(used)}); give the kit file "
                "they were called with"
            )
        return raw, path.name, str(path)
    bundled = read_bytes("data", "kits", f"{EXAMPLE_KIT}.toml")
    if hashlib.sha256(bundled).hexdigest() == wanted:
        return bundled, f"{EXAMPLE_KIT}.toml", EXAMPLE_KIT
    recorded = Path(str(used.get("path") or ""))
    if spec is None and str(recorded) not in ("", EXAMPLE_KIT) and recorded.is_file():
        raw = recorded.read_bytes()
        if hashlib.sha256(raw).hexdigest() == wanted:
            return raw, recorded.name, str(recorded)
    raise ConfigError(
        f"the runs used kit {_kit_text(used)} from {used.get('path')}, which is not at hand "
        "unchanged; pass --kit FILE with the kit file they were called with"
    )


def _kit_numbers(kit: Kit) -> list[tuple[str, Setting | Window]]:
    """Every number the kit's rules use, by the TOML key it comes from."""
    numbers: list[tuple[str, Setting | Window]] = [
        ("kit.reportable_fraction", kit.reportable_fraction),
        ("reference.ct_min", kit.ref_ct_min),
        ("reference.ct_target", kit.ref_ct_target),
        ("reference.ct_full_sensitivity", kit.ref_ct_full_sensitivity),
        ("reference.ct_max", kit.ref_ct_max),
        ("internal_control.ct_max", kit.ic_ct_max),
    ]
    if kit.ic_delay_max:
        numbers.append(("internal_control.delay_max_vs_ntc", kit.ic_delay_max))
    for name, assay in kit.assays.items():
        for key in ("ct_max", "cutoff", "equivocal_band", "amplification_factor",
                    "delta_ct_100", "delta_ct_sd"):  # fmt: skip
            numbers.append((f"targets.{name}.{key}", getattr(assay, key)))
    numbers += [
        ("groups.cross_reactivity_margin", kit.cross_reactivity_margin),
        ("controls.PC.mutation_window", kit.pc_mutation_window),
        ("controls.PC.reference_window", kit.pc_reference_window),
        ("controls.NTC.max_ct_allowed", kit.ntc_max_ct),
        ("replicates.mean_delta_ct_margin", kit.replicate_mean_margin),
        ("replicates.reference_sd_max", kit.replicate_reference_sd_max),
    ]
    numbers += [(f"ct_thresholds.{ch}", s) for ch, s in kit.ct_thresholds.items()]
    return numbers


def placeholder_numbers(kit: Kit) -> list[str]:
    """The numbers in force without a real source: none given, a default, or one that says
    placeholder."""
    return [
        name
        for name, setting in _kit_numbers(kit)
        if not setting.source.strip()
        or setting.source.strip().lower().startswith("default")
        or _PLACEHOLDER.search(setting.source)
    ]


def propose_kit_text(
    raw: bytes,
    name: str,
    hotspots: Mapping[str, Mapping[str, Any]],
    loaded: Sequence[LoadedCalls],
    runs_text: str,
) -> tuple[str, dict[str, Any]]:
    """The proposed kit TOML: the kit used with A, delta-Ct at 100 % and the cut-off replaced
    where the validation gives them, each with its source; everything else kept as it was."""
    kit = parse_kit(raw, name)
    data: dict[str, Any] = tomllib.loads(raw.decode("utf-8-sig"))
    targets = data.setdefault("targets", {})
    replaced: list[dict[str, Any]] = []
    runs = f"validation runs (calls.json sha256) {runs_text}"
    tool = f"esr1calls {__version__} validate lod"
    for hotspot, entry in hotspots.items():
        block = entry.get("delta_ct") or {}
        line = block.get("line")
        if hotspot not in kit.assays or not line:
            continue
        values: dict[str, tuple[float, str]] = {}
        flags = set(entry.get("flags") or ())
        what = f"{line['n']} wells at {line['levels']} levels"
        if block.get("amplification_factor") is not None and "A_OUT_OF_RANGE" not in flags:
            low, high = block["amplification_factor_ci"]
            values["amplification_factor"] = (
                round(block["amplification_factor"], 4),
                f"{tool}: 10^(-1/slope) of delta-Ct on log10(expected fraction), ordinary least "
                f"squares over {what} (95 % CI {_text_number(low)}-{_text_number(high)}); {runs}",
            )
            low, high = block["delta_ct_100_ci"]
            values["delta_ct_100"] = (
                round(block["delta_ct_100"], 3),
                f"{tool}: intercept (delta-Ct at fraction 1) of delta-Ct on log10(expected "
                f"fraction), ordinary least squares over {what} (95 % CI {_text_number(low)}-"
                f"{_text_number(high)}); {runs}",
            )
        cutoff = block.get("cutoff") or {}
        if cutoff.get("value") is not None:
            if cutoff.get("upper") is not None:
                how = (
                    f"midway between the one-sided 95 % upper prediction bound of delta-Ct at "
                    f"the reportable fraction {cutoff['reportable_fraction']:g} "
                    f"({cutoff['lower']:.3f}, line over {what}) and the blanks' limit of blank "
                    f"{cutoff['upper']:.3f} (CLSI EP17-A2 non-parametric, the 5th percentile of "
                    f"{entry['lob_n']} blanks' delta-Ct)"
                )
            else:
                how = (
                    f"the one-sided 95 % upper prediction bound of delta-Ct at the reportable "
                    f"fraction {cutoff['reportable_fraction']:g} ({cutoff['lower']:.3f}, line "
                    f"over {what}); {entry['lob_n']} blanks gave no delta-Ct to bound it from "
                    "above"
                )
            values["cutoff"] = (
                cutoff["value"],
                f"{tool}: {how}; expected LoD95 {_text_number(cutoff['expected_lod95'])}; {runs}",
            )
        if not values:
            continue
        table = targets.setdefault(hotspot, {})
        for key, (value, source) in values.items():
            previous = table.get(key, targets.get(key))
            table[key] = {"value": value, "source": source}
            replaced.append(
                {
                    "key": f"targets.{hotspot}.{key}",
                    "value": value,
                    "was": previous.get("value") if isinstance(previous, Mapping) else previous,
                }
            )
    meta = data["kit"]
    digest = hashlib.sha256(runs_text.encode("utf-8")).hexdigest()[:12]
    meta["version"] = f"{meta['version']}+validated.{digest}"
    meta["source"] = (
        f"proposed by {tool} from {len(loaded)} run(s), from kit {kit.id} {kit.version} (sha256 "
        f"{kit.sha256}); review every value before clinical use"
    )
    meta["placeholder"] = True
    text = _render_toml(data)
    remaining = placeholder_numbers(parse_kit(text.encode("utf-8"), name))
    meta["placeholder"] = bool(remaining)
    header = [
        f"# Kit definition proposed by {tool} from the kit {kit.id} {kit.version}.",
        "# Replaced: " + (", ".join(r["key"] for r in replaced) or "nothing"),
        "# Still without a validation source (placeholder = true until each has one): "
        + (", ".join(remaining) or "none"),
        "# Review and sign off every value before this file calls patient samples.",
        "",
    ]
    text = "\n".join(header) + _render_toml(data)
    parse_kit(text.encode("utf-8"), name)  # what we write, the kit reader accepts
    return text, {"replaced": replaced, "placeholders": remaining, "placeholder": bool(remaining)}


def _text_number(value: Any) -> str:
    return "none" if value is None else f"{value:.4g}"


_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _toml_string(text: str) -> str:
    out = []
    for char in text:
        if char in ('"', "\\"):
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _toml_key(key: str) -> str:
    return key if _BARE_KEY.match(key) else _toml_string(key)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("a kit number must be finite")
        return repr(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return (
            "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + " }"
        )
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def _inline(value: Any) -> bool:
    """A table written inline: a number with its source ({value, source}); others are
    [sections], as kit files are written by hand."""
    return isinstance(value, Mapping) and set(value) <= {"value", "source"}


def _render_toml(data: Mapping[str, Any], path: tuple[str, ...] = ()) -> str:
    """A TOML document for the kit's tables (the subset a kit uses; tomllib reads it back
    to the same data)."""
    plain = [(k, v) for k, v in data.items() if not isinstance(v, Mapping) or _inline(v)]
    tables = [(k, v) for k, v in data.items() if isinstance(v, Mapping) and not _inline(v)]
    lines: list[str] = []
    if path and (plain or not tables):
        lines.append("[" + ".".join(_toml_key(p) for p in path) + "]")
    lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in plain]
    text = "\n".join(lines) + ("\n\n" if lines else "")
    for key, table in tables:
        text += _render_toml(table, (*path, key))
    return text


# ======================================================================== concordance
def _positive(status: Any) -> bool | None:
    """DETECTED is positive, NOT_DETECTED negative, anything else not evaluable (None)."""
    if status == CallStatus.DETECTED.value:
        return True
    if status == CallStatus.NOT_DETECTED.value:
        return False
    return None


def _table_entry(tp: int, fp: int, fn: int, tn: int, excluded: int) -> dict[str, Any]:
    def interval(x: int, n: int) -> list[float | None] | None:
        found = wilson_interval(x, n)
        return [_round(found[0]), _round(found[1])] if found else None

    return {
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
        "excluded": excluded,
        "ppa": _round(_ratio(tp, tp + fn)),
        "ppa_ci": interval(tp, tp + fn),
        "npa": _round(_ratio(tn, tn + fp)),
        "npa_ci": interval(tn, tn + fp),
        "opa": _round(_ratio(tp + tn, tp + fp + fn + tn)),
        "opa_ci": interval(tp + tn, tp + fp + fn + tn),
        "kappa": _round(cohens_kappa(tp, fp, fn, tn)),
    }


def _side(item: _Sample, call: Mapping[str, Any]) -> dict[str, Any]:
    """One call as the discordant list shows it: status, numbers, evidence and where it is from."""
    keys = ("status", "reasons", "allele_fraction", "allele_fraction_ci95", "alt_count", "depth",
            "lod95", "delta_ct", "ct_mutation", "ct_reference", "cutoff", "evidence")  # fmt: skip
    return {
        "sample_id": item.sample.get("sample_id"),
        "method": item.sample.get("method"),
        **{k: call.get(k) for k in keys},
        "calls_json": str(item.loaded.path),
        "sha256": item.loaded.sha256,
    }


def _index(samples: Sequence[_Sample], side: str) -> dict[str, _Sample]:
    found: dict[str, _Sample] = {}
    for item in samples:
        sample_id = str(item.sample.get("sample_id"))
        if sample_id in found:
            other = found[sample_id].loaded.path
            where = f"{other} and {item.loaded.path}" if other != item.loaded.path else str(other)
            raise InputError(
                None,
                f"{side} sample {sample_id} is in {where} twice; give each {side} sample once "
                "(leave the repeated run out, or rename one)",
            )
        found[sample_id] = item
    return found


def run_concordance(
    tests: Sequence[str | Path],
    references: Sequence[str | Path],
    *,
    command: str,
    reproducible: bool = False,
    pairs_path: str | Path | None = None,
) -> dict[str, Any]:
    """Concordance of test calls with reference calls: the validation.json document."""
    test_runs = _load_runs(tests, "test")
    reference_runs = _load_runs(references, "reference")
    shared = {r.sha256 for r in test_runs} & {r.sha256 for r in reference_runs}
    if shared:
        raise InputError(
            None,
            "the same calls.json is given as test and as reference; a method agrees with "
            "itself: give the other method's calls as --reference",
        )
    test_samples = _index(_samples(test_runs), "test")
    reference_samples = _index(_samples(reference_runs), "reference")
    notices: list[str] = []
    inputs = [
        *_input_entries(test_runs, "test"),
        *_input_entries(reference_runs, "reference"),
    ]
    if pairs_path is not None:
        pairs_path = Path(pairs_path)
        pairs = read_pairs(pairs_path)
        for test, reference, line in pairs:
            for sample_id, index, side in (
                (test, test_samples, "test"),
                (reference, reference_samples, "reference"),
            ):
                if sample_id not in index:
                    raise InputError(
                        pairs_path,
                        f"{side} sample {sample_id} is in no {side} calls.json given; check the "
                        "id or give its calls.json",
                        place=f"line {line}",
                    )
        matched = [(t, r) for t, r, _ in pairs]
        inputs.append(_file_entry(pairs_path, "pairs"))
    else:
        matched = [(s, s) for s in test_samples if s in reference_samples]
    paired_tests = {t for t, _ in matched}
    paired_refs = {r for _, r in matched}
    lonely_tests = [s for s in test_samples if s not in paired_tests]
    lonely_refs = [s for s in reference_samples if s not in paired_refs]
    if lonely_tests:
        notices.append(
            f"{len(lonely_tests)} test sample(s) have no reference sample and were not compared: "
            + ", ".join(lonely_tests)
        )
    if lonely_refs:
        notices.append(
            f"{len(lonely_refs)} reference sample(s) have no test sample and were not compared: "
            + ", ".join(lonely_refs)
        )
    if not matched:
        raise InputError(
            None,
            "no test sample has a reference sample of the same id; give a --pairs sheet "
            "(test_sample_id, reference_sample_id)",
        )
    counts: dict[str, list[int]] = {}
    discordant: list[dict[str, Any]] = []
    excluded: list[dict[str, Any]] = []
    untested: dict[str, int] = {}
    for test_id, reference_id in matched:
        test_item, reference_item = test_samples[test_id], reference_samples[reference_id]
        test_calls = {str(c.get("hotspot")): c for c in test_item.sample.get("calls") or []}
        reference_calls = {
            str(c.get("hotspot")): c for c in reference_item.sample.get("calls") or []
        }
        for hotspot in [*test_calls, *(h for h in reference_calls if h not in test_calls)]:
            if hotspot not in test_calls or hotspot not in reference_calls:
                untested[hotspot] = untested.get(hotspot, 0) + 1
                continue
            tally = counts.setdefault(hotspot, [0, 0, 0, 0, 0])  # tp fp fn tn excluded
            t_call, r_call = test_calls[hotspot], reference_calls[hotspot]
            t_pos, r_pos = _positive(t_call.get("status")), _positive(r_call.get("status"))
            pair = {
                "hotspot": hotspot,
                "test": _side(test_item, t_call),
                "reference": _side(reference_item, r_call),
            }
            if t_pos is None or r_pos is None:
                tally[4] += 1
                excluded.append(pair)
            elif t_pos and r_pos:
                tally[0] += 1
            elif t_pos:
                tally[1] += 1
                discordant.append({"kind": "fp", **pair})
            elif r_pos:
                tally[2] += 1
                discordant.append({"kind": "fn", **pair})
            else:
                tally[3] += 1
    if untested:
        notices.append(
            "hotspots called by one method only were not compared: "
            + ", ".join(f"{h} ({n} pair(s))" for h, n in untested.items())
        )
    catalog = load_panel("extended").names
    order = [h for h in catalog if h in counts] + sorted(h for h in counts if h not in catalog)
    total = [sum(counts[h][i] for h in counts) for i in range(5)]
    document = _head(command, reproducible, inputs)
    document["run"]["notices"] = notices
    document["concordance"] = {
        "test_methods": sorted({str(s.sample.get("method")) for s in test_samples.values()}),
        "reference_methods": sorted(
            {str(s.sample.get("method")) for s in reference_samples.values()}
        ),
        "pairs": [{"test_sample_id": t, "reference_sample_id": r} for t, r in matched],
        "interval_method": "Wilson score, 95 %",
        "overall": _table_entry(*total),
        "hotspots": {h: _table_entry(*counts[h]) for h in order},
        "discordant": discordant,
        "excluded_pairs": excluded,
    }
    return document


# ======================================================================= summaries
def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def lod_summary_lines(document: Mapping[str, Any]) -> list[str]:
    """What ``validate lod`` prints: one tab-separated line per hotspot."""
    lod = document["lod"]
    pcr = lod["method"] == "PCR"
    columns = ["hotspot", "lob", "lod95", "lod95_ci_low", "lod95_ci_high"]
    columns += ["amplification_factor", "delta_ct_100", "proposed_cutoff"] if pcr else []
    lines = ["\t".join([*columns, "flags"])]
    for name, entry in lod["hotspots"].items():
        cells = [name, entry["lob"], entry["lod95"], *entry["lod95_ci"]]
        if pcr:
            block = entry.get("delta_ct") or {}
            cutoff = block.get("cutoff") or {}
            cells += [block.get("amplification_factor"), block.get("delta_ct_100"),
                      cutoff.get("value")]  # fmt: skip
        cells.append(",".join(entry["flags"]))
        lines.append("\t".join(_cell(c) for c in cells))
    return lines


def concordance_summary_lines(document: Mapping[str, Any]) -> list[str]:
    """What ``validate concordance`` prints: one line per hotspot and one for all of them."""
    keys = ("tp", "fp", "fn", "tn", "excluded", "ppa", "npa", "opa", "kappa")
    found = document["concordance"]
    rows = [*found["hotspots"].items(), ("overall", found["overall"])]
    return ["\t".join(("hotspot", *keys))] + [
        "\t".join([name, *(_cell(table[k]) for k in keys)]) for name, table in rows
    ]


# ============================================================================ writing
def load_validation_schema() -> dict[str, Any]:
    """The JSON Schema of validation.json that ships with the package."""
    import json

    text = read_text("data", "validation.schema.json")
    schema: dict[str, Any] = json.loads(text)
    return schema


def write_kit(text: str, path: Path) -> None:
    try:
        write_text_atomic(path, text)
    except OSError as exc:
        raise Esr1CallsError(f"{path}: cannot write the proposed kit ({exc.strerror})") from exc
