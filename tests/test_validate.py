"""esr1calls validate: the statistics against SciPy and statsmodels, the design and pairing
sheets, the LoD and concordance analyses over calls.json documents, the proposed kit, the CLI,
validation.json against its schema and validation.html in headless Chromium."""

from __future__ import annotations

import copy
import json
import math
import random
import re
import tomllib
from pathlib import Path

import jsonschema
import numpy as np
import pytest
import scipy.optimize
import scipy.stats
import statsmodels.api as sm
from statsmodels.stats.inter_rater import cohens_kappa as sm_kappa
from statsmodels.stats.proportion import proportion_confint

from esr1calls.errors import InputError
from esr1calls.pcr.kit import EXAMPLE_KIT, load_kit, parse_kit
from esr1calls.reports.calls_json import to_json_document
from esr1calls.reports.options import ReportOptions
from esr1calls.testing import REPO, TESTDATA
from esr1calls.testing.runs import ngs_run, pcr_run
from esr1calls.validate import (
    Z_95_ONE_SIDED,
    _render_toml,
    cohens_kappa,
    fit_line,
    fit_probit,
    limit_of_blank,
    load_validation_schema,
    placeholder_numbers,
    probit_profile_interval,
    probit_quantile,
    propose_kit_text,
    read_design,
    run_concordance,
    run_lod,
    student_t_quantile,
    wilson_interval,
)

from .browser import chromium_page, load_report

ARTIFACTS = REPO / "test-artifacts"
BUNDLED_KIT = REPO / "esr1calls" / "data" / "kits" / f"{EXAMPLE_KIT}.toml"

# fixed data for the checks against independent implementations: hits at 6 levels
LEVELS = [0.001, 0.002, 0.003, 0.005, 0.01, 0.02]
HITS = {0.001: 1, 0.002: 3, 0.003: 6, 0.005: 9, 0.01: 11, 0.02: 12}


def _fixed_probit_data() -> tuple[list[float], list[bool]]:
    x, y = [], []
    for fraction in LEVELS:
        for replicate in range(12):
            x.append(math.log10(fraction))
            y.append(replicate < HITS[fraction])
    return x, y


# ===================================================================== statistics
@pytest.mark.parametrize("x, n", [(0, 10), (3, 10), (10, 10), (19, 20), (1, 1), (0, 1), (57, 60)])
def test_wilson_interval_is_statsmodels(x, n):
    low, high = proportion_confint(x, n, alpha=0.05, method="wilson")
    ours = wilson_interval(x, n)
    assert ours is not None
    assert ours[0] == pytest.approx(low, abs=1e-9) and ours[1] == pytest.approx(high, abs=1e-9)


def test_wilson_interval_of_nothing_is_undefined():
    assert wilson_interval(0, 0) is None


@pytest.mark.parametrize(
    "tp, fp, fn, tn", [(20, 5, 3, 30), (45, 1, 2, 200), (0, 3, 4, 50), (10, 0, 0, 10), (7, 7, 7, 7)]
)
def test_cohens_kappa_is_statsmodels(tp, fp, fn, tn):
    expected = sm_kappa(np.array([[tp, fp], [fn, tn]])).kappa
    assert cohens_kappa(tp, fp, fn, tn) == pytest.approx(expected, abs=1e-9)


def test_kappa_is_undefined_when_chance_agreement_is_total():
    """Every pair negative on both sides: kappa is 0/0, null, never 1 or 0."""
    assert cohens_kappa(0, 0, 0, 25) is None and cohens_kappa(0, 0, 0, 0) is None


def test_probit_fit_is_statsmodels():
    x, y = _fixed_probit_data()
    fit = fit_probit(x, y)
    assert fit is not None
    model = sm.Probit(np.array(y, dtype=float), sm.add_constant(np.array(x))).fit(disp=0, tol=1e-12)
    assert fit.intercept == pytest.approx(model.params[0], abs=1e-6)
    assert fit.slope == pytest.approx(model.params[1], abs=1e-6)
    assert fit.log_likelihood == pytest.approx(model.llf, abs=1e-6)
    covariance = model.cov_params()
    for i in range(2):
        for j in range(2):
            assert fit.covariance[i][j] == pytest.approx(covariance[i, j], abs=1e-6)


def _scipy_profile(x, y, theta):
    """max over the slope of the probit log-likelihood with Phi^-1(0.95) at theta."""
    xs, ys = np.array(x), np.array(y, dtype=float)

    def negative(slope):
        eta = scipy.stats.norm.ppf(0.95) + slope * (xs - theta)
        return -float(
            np.sum(ys * scipy.stats.norm.logcdf(eta) + (1 - ys) * scipy.stats.norm.logsf(eta))
        )

    found = scipy.optimize.minimize_scalar(negative, bracket=(0.1, 5.0), tol=1e-12)
    return -found.fun


def test_lod95_and_its_profile_interval_are_scipys():
    x, y = _fixed_probit_data()
    fit = fit_probit(x, y)
    assert fit is not None
    model = sm.Probit(np.array(y, dtype=float), sm.add_constant(np.array(x))).fit(disp=0, tol=1e-12)
    expected_centre = (scipy.stats.norm.ppf(0.95) - model.params[0]) / model.params[1]
    centre = probit_quantile(fit)
    assert centre == pytest.approx(expected_centre, abs=1e-6)
    floor = model.llf - scipy.stats.chi2.ppf(0.95, 1) / 2

    def gap(theta):
        return _scipy_profile(x, y, theta) - floor

    expected_low = scipy.optimize.brentq(gap, centre - 1.5, centre, xtol=1e-12)
    expected_high = scipy.optimize.brentq(gap, centre, centre + 1.5, xtol=1e-12)
    low, high = probit_profile_interval(x, y, fit)
    assert low == pytest.approx(expected_low, abs=1e-6)
    assert high == pytest.approx(expected_high, abs=1e-6)
    assert low < centre < high


@pytest.mark.parametrize("df", [1, 2, 3, 5, 10, 30, 82, 200])
@pytest.mark.parametrize("p", [0.95, 0.975, 0.6, 0.025])
def test_student_t_quantile_is_scipys(p, df):
    assert student_t_quantile(p, df) == pytest.approx(scipy.stats.t.ppf(p, df), abs=1e-8)


def test_line_fit_is_statsmodels_ols():
    rng = np.random.default_rng(7)
    x = np.repeat(np.log10([0.005, 0.01, 0.02, 0.05, 0.1]), 6)
    y = 1.0 - x / math.log10(1.9) + rng.normal(0, 0.4, size=x.size)
    fit = fit_line(list(x), list(y))
    assert fit is not None
    model = sm.OLS(y, sm.add_constant(x)).fit()
    interval = model.conf_int(alpha=0.05)
    assert fit.intercept == pytest.approx(model.params[0], abs=1e-9)
    assert fit.slope == pytest.approx(model.params[1], abs=1e-9)
    assert fit.intercept_ci == pytest.approx(tuple(interval[0]), abs=1e-7)
    assert fit.slope_ci == pytest.approx(tuple(interval[1]), abs=1e-7)
    assert fit.residual_sd == pytest.approx(math.sqrt(model.scale), abs=1e-9)
    assert fit.r_squared == pytest.approx(model.rsquared, abs=1e-9)
    # the one-sided upper 95 % prediction bound is statsmodels' two-sided 90 % upper end
    new = np.array([[1.0, math.log10(0.002)]])
    frame = model.get_prediction(new).summary_frame(alpha=0.10)
    assert fit.upper_prediction(math.log10(0.002)) == pytest.approx(
        float(frame["obs_ci_upper"].iloc[0]), abs=1e-7
    )


def test_limit_of_blank_is_the_ep17_rank():
    """60 blanks: rank 0.5 + 0.95 x 60 = 57.5, between the 57th and 58th value; PCR ranks from
    the top: 0.5 + 0.05 x 60 = 3.5, between the 3rd and 4th lowest delta-Ct."""
    values = [float(v) for v in range(1, 61)]
    random.Random(3).shuffle(values)  # the order given never matters
    assert limit_of_blank(values) == 57.5
    assert limit_of_blank(values, lower_is_signal=True) == 3.5
    # numpy's 'linear' percentile is another rank rule (1 + 0.95 (B - 1)): not EP17's
    assert limit_of_blank(values) != np.percentile(values, 95)


def test_limit_of_blank_with_blanks_without_signal():
    """PCR blanks without a mutant Ct sort above every delta-Ct (inf)."""
    # 40 blanks: rank 2.5 from the bottom
    assert limit_of_blank([11.0, 12.0, 13.0] + [math.inf] * 37, lower_is_signal=True) == 12.5
    # between a delta-Ct and a blank without one: the delta-Ct (the more cautious limit)
    assert limit_of_blank([12.0, 13.0] + [math.inf] * 38, lower_is_signal=True) == 13.0
    assert limit_of_blank([12.0] + [math.inf] * 39, lower_is_signal=True) is None
    assert limit_of_blank([math.inf] * 40, lower_is_signal=True) is None
    assert limit_of_blank([]) is None
    assert limit_of_blank([0.001]) == 0.001


def test_separated_levels_have_no_probit_fit():
    x = [-3.0] * 5 + [-2.5] * 5 + [-2.0] * 5
    assert fit_probit(x, [False] * 5 + [True] * 10) is None  # complete separation
    assert fit_probit(x, [False] * 7 + [True] * 8) is None  # quasi-complete (mixed at -2.5)
    assert fit_probit(x, [True] * 5 + [False] * 10) is None  # falls with the fraction
    assert fit_probit(x, [True] * 15) is None


@pytest.mark.parametrize("rounding", [+1e-14, -1e-14, 0.0])
def test_a_flat_hit_rate_has_no_probit_fit_whichever_way_the_linear_algebra_rounds(
    monkeypatch, rounding
):
    """9 of 10, 10 of 10, 9 of 10 at three levels: the maximum-likelihood slope is 0, and a
    solver rounds it to a tiny number of either sign (one machine's BLAS gave a positive one, so
    the flag differed between machines). Each Newton step is nudged by ``rounding`` here, as a
    solver may round it: the answer is no fit whichever way."""
    solve = np.linalg.solve
    monkeypatch.setattr(np.linalg, "solve", lambda a, b: solve(a, b) + np.array([0.0, rounding]))
    x = [-3.0] * 10 + [math.log10(0.002)] * 10 + [math.log10(0.004)] * 10
    hits = [True] * 9 + [False] + [True] * 10 + [True] * 9 + [False]
    assert fit_probit(x, hits) is None


# ===================================================================== design sheet
def _sheet(tmp_path: Path, text: str, name: str = "design.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


def test_design_sheet_tab_separated_with_bom_and_notes(tmp_path):
    path = _sheet(
        tmp_path,
        "\ufeffsample_id\texpected_fraction\thotspot\tnote\nS1\t0\t\tWT\nS2\t0.002\tD538G\t\n",
    )
    rows = read_design(path)
    assert [(r.sample_id, r.expected_fraction, r.hotspot) for r in rows] == [
        ("S1", 0.0, None),
        ("S2", 0.002, "D538G"),
    ]


@pytest.mark.parametrize(
    "text, message",
    [
        ("sample_id,expected_fraction\nS1,0.2%\n", "line 2: expected_fraction '0.2%' is a percent"),
        ("sample_id,expected_fraction\nS1,2\n", "line 2: expected_fraction '2' is not a fraction"),
        ("sample_id,expected_fraction\nS1,-0.1\n", "is not a fraction from 0 to 1"),
        ("sample_id,expected_fraction\nS1,nan\n", "is not a fraction from 0 to 1"),
        ("sample_id,fraction\nS1,0\n", "line 1: column expected_fraction is missing"),
        ("sample_id,expected_fraction,hotpsot\nS1,0,D538G\n", "line 1: unknown column hotpsot"),
        ("sample_id,expected_fraction,hotspot\nS1,0,D999X\n", "line 2: unknown hotspot 'D999X'"),
        (
            "sample_id,expected_fraction,hotspot\nS1,0.01,D538G\nS1,0.02,D538G\n",
            "line 3: sample S1 hotspot D538G is also on line 2",
        ),
        ("sample_id,expected_fraction\n,0\n", "line 2: sample_id is empty"),
        ("sample_id,expected_fraction\nS1,0,extra\n", "line 2: 3 cells for 2 columns"),
        ("", "the sheet is empty"),
        ("sample_id,expected_fraction\n", "the sheet has a header but no rows"),
    ],
)
def test_design_sheet_errors_name_the_line_and_the_fix(tmp_path, text, message):
    with pytest.raises(InputError) as caught:
        read_design(_sheet(tmp_path, text))
    assert str(caught.value).startswith("design.csv")
    assert message in str(caught.value)


# ===================================================================== documents
def _ngs_document(samples: dict[str, dict[str, tuple[str, float | None]]]) -> dict:
    """A schema-valid NGS calls.json with these samples: {sample: {hotspot: (status, fraction)}};
    every other hotspot is left out of the sample."""
    template = to_json_document(ngs_run(), ReportOptions("esr1calls ngs x.vcf -o out", True))
    sample_template = template["samples"][0]
    call_templates = {c["hotspot"]: c for c in sample_template["calls"]}
    built = []
    for sample_id, calls in samples.items():
        sample = copy.deepcopy(sample_template)
        sample["sample_id"] = sample_id
        sample["calls"] = []
        for hotspot, (status, fraction) in calls.items():
            call = copy.deepcopy(call_templates[hotspot])
            call["status"] = status
            call["reasons"] = [] if status in ("DETECTED", "NOT_DETECTED") else ["LOW_LEVEL"]
            call["allele_fraction"] = fraction
            sample["calls"].append(call)
        built.append(sample)
    template["samples"] = built
    return template


def _write(tmp_path: Path, name: str, document: dict) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / name
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")
    return path


def _series(
    hits: dict[float, list[str]], blanks: list[float], prefix: str = "S"
) -> tuple[dict, list[str]]:
    """Samples of a D538G dilution series: per level, the statuses of its replicates."""
    samples: dict[str, dict[str, tuple[str, float | None]]] = {}
    design = ["sample_id,expected_fraction,hotspot"]
    for fraction, statuses in hits.items():
        for index, status in enumerate(statuses):
            name = f"{prefix}{fraction:g}_{index}"
            samples[name] = {"D538G": (status, fraction)}
            design.append(f"{name},{fraction},D538G")
    for index, value in enumerate(blanks):
        name = f"{prefix}B{index}"
        samples[name] = {"D538G": ("NOT_DETECTED", value)}
        design.append(f"{name},0,")
    return samples, design


D, N, U, V = "DETECTED", "NOT_DETECTED", "INDETERMINATE", "INVALID"
SERIES = {
    0.001: [N] * 9 + [D] * 1,
    0.002: [N] * 6 + [D] * 4,
    0.004: [N] * 3 + [D] * 7,
    0.008: [N] * 1 + [D] * 9,
    0.016: [D] * 10,
}
BLANKS = [0.0] * 15 + [0.0003, 0.0006, 0.001, 0.0003, 0.0]


def _lod(tmp_path, samples, design_rows, **kwargs):
    calls = _write(tmp_path, "calls.json", _ngs_document(samples))
    design = tmp_path / "design.csv"
    design.write_text("\n".join(design_rows) + "\n", encoding="utf-8")
    return run_lod([calls], design, command="esr1calls validate lod", reproducible=True, **kwargs)


def test_lod_levels_hits_and_limit_of_blank(tmp_path):
    samples, design = _series(SERIES, BLANKS)
    entry = _lod(tmp_path, samples, design).document["lod"]["hotspots"]["D538G"]
    assert [(lv["fraction"], lv["n"], lv["detected"]) for lv in entry["levels"]] == [
        (0.0, 20, 0), (0.001, 10, 1), (0.002, 10, 4), (0.004, 10, 7), (0.008, 10, 9),
        (0.016, 10, 10),
    ]  # fmt: skip
    # 20 blanks: rank 19.5, between the 19th (0.0006) and the 20th (0.001)
    assert entry["lob"] == pytest.approx(limit_of_blank(BLANKS)) == pytest.approx(0.0008)
    low, high = scipy.stats.beta.ppf([0.025, 0.975], [7, 8], [4, 3])
    assert entry["levels"][3]["hit_rate_ci"] == pytest.approx([low, high], abs=1e-8)
    assert entry["flags"] == [] and entry["lod95"] is not None
    assert entry["lod95_ci"][0] < entry["lod95"] < entry["lod95_ci"][1]


def test_indeterminate_is_a_miss_and_invalid_is_left_out(tmp_path):
    """Turning misses into INDETERMINATE keeps n and the hit rate; INVALID leaves n; a naive
    reading that counted INDETERMINATE as no data, or INVALID as a miss, would change both."""
    series = copy.deepcopy(SERIES)
    series[0.002] = [U] * 6 + [D] * 4 + [V] * 3
    samples, design = _series(series, BLANKS)
    entry = _lod(tmp_path, samples, design).document["lod"]["hotspots"]["D538G"]
    level = next(lv for lv in entry["levels"] if lv["fraction"] == 0.002)
    assert (level["n"], level["detected"], level["hit_rate"], level["invalid"]) == (10, 4, 0.4, 3)
    plain = _lod(tmp_path / "plain", *_series(SERIES, BLANKS))
    assert entry["lod95"] == plain.document["lod"]["hotspots"]["D538G"]["lod95"]


def test_lod_does_not_depend_on_order_or_on_names(tmp_path):
    samples, design = _series(SERIES, BLANKS)
    first = _lod(tmp_path / "a", samples, design).document["lod"]
    keys = list(samples)
    random.Random(5).shuffle(keys)
    renamed = {f"X{i}": samples[k] for i, k in enumerate(keys)}
    rows = {row.split(",")[0]: row for row in design[1:]}
    new_design = [design[0]] + [f"X{i}," + rows[k].split(",", 1)[1] for i, k in enumerate(keys)]
    second = _lod(tmp_path / "b", renamed, new_design).document["lod"]
    assert first["hotspots"] == second["hotspots"]


@pytest.mark.parametrize(
    "series, flag",
    [
        ({0.002: [N] * 5 + [D] * 5, 0.004: [D] * 10}, "TOO_FEW_LEVELS"),
        ({0.001: [N] * 10, 0.002: [N] * 8 + [D] * 2, 0.004: [N] * 3 + [D] * 7}, "NO_LEVEL_AT_95"),
        ({0.001: [N] * 10, 0.002: [D] * 10, 0.004: [D] * 10}, "NO_FIT"),
        # a hit rate flat in the fraction: a slope of rounding size, its sign the machine's
        ({0.001: [D] * 9 + [N], 0.002: [D] * 10, 0.004: [D] * 9 + [N]}, "NO_FIT"),
        ({0.001: [D] * 8 + [N] * 2, 0.002: [D] * 10, 0.004: [D] * 9 + [N]}, "LOD_OUTSIDE_LEVELS"),
    ],
)
def test_data_that_cannot_support_a_fit_are_flagged_not_extrapolated(tmp_path, series, flag):
    samples, design = _series(series, BLANKS)
    entry = _lod(tmp_path, samples, design).document["lod"]["hotspots"]["D538G"]
    assert flag in entry["flags"]
    assert entry["lod95"] is None and entry["lod95_ci"] == [None, None]


def test_no_blanks_is_flagged(tmp_path):
    samples, design = _series(SERIES, [])
    entry = _lod(tmp_path, samples, design).document["lod"]["hotspots"]["D538G"]
    assert entry["lob"] is None and "NO_BLANKS" in entry["flags"]


def test_design_rows_without_calls_and_samples_without_rows_are_notices(tmp_path):
    samples, design = _series(SERIES, BLANKS)
    design.append("TYPO_1,0.004,D538G")
    samples["EXTRA"] = {"D538G": (D, 0.01)}
    result = _lod(tmp_path, samples, design)
    assert any("TYPO_1 D538G (line" in n for n in result.notices)
    assert any("not in the design sheet" in n and "EXTRA" in n for n in result.notices)
    assert result.document["run"]["notices"] == result.notices


def test_the_same_run_twice_is_refused(tmp_path):
    samples, design = _series(SERIES, BLANKS)
    calls = _write(tmp_path, "calls.json", _ngs_document(samples))
    copy_path = tmp_path / "copy.json"
    copy_path.write_bytes(calls.read_bytes())
    design_path = tmp_path / "design.csv"
    design_path.write_text("\n".join(design) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"copy.json: holds the run of .*calls.json again"):
        run_lod([calls, copy_path], design_path, command="x")


def test_runs_of_two_methods_are_refused(tmp_path):
    samples, design = _series(SERIES, BLANKS)
    ngs = _write(tmp_path, "ngs.json", _ngs_document(samples))
    pcr = _write(tmp_path, "pcr.json", to_json_document(pcr_run(), ReportOptions("x", True)))
    design_path = tmp_path / "design.csv"
    design_path.write_text("\n".join(design) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"the runs used different methods: NGS in .*; PCR in"):
        run_lod([ngs, pcr], design_path, command="x")


def test_propose_kit_is_refused_for_ngs_runs(tmp_path):
    from esr1calls.errors import ConfigError

    samples, design = _series(SERIES, BLANKS)
    with pytest.raises(ConfigError, match="--propose-kit writes an ARMS-PCR kit"):
        _lod(tmp_path, samples, design, propose_kit=tmp_path / "kit.toml")


# ===================================================================== concordance
def _concordance(tmp_path, test, reference, pairs=None):
    t = _write(tmp_path, "test.json", _ngs_document(test))
    r = _write(tmp_path, "reference.json", _ngs_document(reference))
    return run_concordance([t], [r], command="x", reproducible=True, pairs_path=pairs)


TEST_CALLS = {
    "P1": {"D538G": (D, 0.01), "Y537S": (N, 0.0)},
    "P2": {"D538G": (D, 0.004), "Y537S": (D, 0.003)},
    "P3": {"D538G": (N, 0.0), "Y537S": (U, 0.001)},
    "P4": {"D538G": (N, 0.0), "Y537S": (N, 0.0)},
    "P5": {"D538G": (V, None), "Y537S": (N, 0.0)},
}
REFERENCE_CALLS = {
    "P1": {"D538G": (D, 0.012), "Y537S": (N, 0.0)},
    "P2": {"D538G": (N, 0.0), "Y537S": (D, 0.004)},
    "P3": {"D538G": (D, 0.003), "Y537S": (N, 0.0)},
    "P4": {"D538G": (N, 0.0), "Y537S": (N, 0.0)},
    "P5": {"D538G": (D, 0.02), "Y537S": (N, 0.0)},
    "P6": {"D538G": (D, 0.02), "Y537S": (N, 0.0)},
}


def test_concordance_counts_and_never_counts_indeterminate_as_agreement(tmp_path):
    found = _concordance(tmp_path, TEST_CALLS, REFERENCE_CALLS)["concordance"]
    d538g, y537s, overall = found["hotspots"]["D538G"], found["hotspots"]["Y537S"], found["overall"]
    assert [d538g[k] for k in ("tp", "fp", "fn", "tn", "excluded")] == [1, 1, 1, 1, 1]
    assert [y537s[k] for k in ("tp", "fp", "fn", "tn", "excluded")] == [1, 0, 0, 3, 1]
    assert [overall[k] for k in ("tp", "fp", "fn", "tn", "excluded")] == [2, 1, 1, 4, 2]
    assert overall["ppa"] == pytest.approx(2 / 3) and overall["npa"] == pytest.approx(4 / 5)
    assert overall["opa"] == pytest.approx(6 / 8)
    assert overall["kappa"] == pytest.approx(cohens_kappa(2, 1, 1, 4))
    assert overall["ppa_ci"] == pytest.approx(list(wilson_interval(2, 3)))
    kinds = sorted((p["kind"], p["test"]["sample_id"], p["hotspot"]) for p in found["discordant"])
    assert kinds == [("fn", "P3", "D538G"), ("fp", "P2", "D538G")]
    fp = next(p for p in found["discordant"] if p["kind"] == "fp")
    assert fp["test"]["allele_fraction"] == 0.004 and fp["reference"]["status"] == N
    assert fp["test"]["sha256"] != fp["reference"]["sha256"]
    assert {p["test"]["sample_id"] for p in found["excluded_pairs"]} == {"P3", "P5"}


def test_undefined_ratios_are_null(tmp_path):
    """No reference positive: PPA is 0/0, null, not 0 or 1; kappa is undefined too."""
    negative = {"P1": {"D538G": (N, 0.0)}, "P2": {"D538G": (N, 0.0)}}
    other = {"P1": {"D538G": (N, 0.0001)}, "P2": {"D538G": (N, 0.0)}}
    found = _concordance(tmp_path, negative, other)["concordance"]["overall"]
    assert found["ppa"] is None and found["ppa_ci"] is None and found["kappa"] is None
    assert found["npa"] == 1.0


def test_a_pairing_sheet_matches_relabelled_samples(tmp_path):
    relabelled = {f"NGS-{k}": v for k, v in REFERENCE_CALLS.items()}
    pairs = _sheet(
        tmp_path,
        "test_sample_id,reference_sample_id\n" + "".join(f"{k},NGS-{k}\n" for k in TEST_CALLS),
        "pairs.csv",
    )
    with_sheet = _concordance(tmp_path, TEST_CALLS, relabelled, pairs)["concordance"]
    by_id = _concordance(tmp_path / "b", TEST_CALLS, REFERENCE_CALLS)["concordance"]
    assert with_sheet["hotspots"] == by_id["hotspots"]
    with pytest.raises(InputError, match=r"unmatched test sample|no test sample has a reference"):
        _concordance(tmp_path / "c", TEST_CALLS, relabelled)


def test_a_pairing_sheet_naming_an_absent_sample_is_an_error(tmp_path):
    pairs = _sheet(tmp_path, "test_sample_id,reference_sample_id\nP1,P1\nP9,P1\n", "pairs.csv")
    with pytest.raises(InputError, match=r"pairs.csv, line 3: test sample P9 is in no test"):
        _concordance(tmp_path, TEST_CALLS, REFERENCE_CALLS, pairs)


def test_a_sample_twice_on_one_side_is_an_error(tmp_path):
    t = _write(tmp_path, "t1.json", _ngs_document({"P1": TEST_CALLS["P1"]}))
    t2 = _write(tmp_path, "t2.json", _ngs_document({"P1": TEST_CALLS["P2"]}))
    r = _write(tmp_path, "r.json", _ngs_document(REFERENCE_CALLS))
    with pytest.raises(InputError, match=r"test sample P1 is in .*t1.json and .*t2.json"):
        run_concordance([t, t2], [r], command="x")


def test_a_run_as_its_own_reference_is_refused(tmp_path):
    t = _write(tmp_path, "t.json", _ngs_document(TEST_CALLS))
    with pytest.raises(InputError, match="given as test and as reference"):
        run_concordance([t], [t], command="x")


# ===================================================================== the kit file
def test_the_toml_writer_gives_back_the_same_kit():
    data = tomllib.loads(BUNDLED_KIT.read_text("utf-8"))
    text = _render_toml(data)
    assert tomllib.loads(text) == data
    assert parse_kit(text.encode(), "k.toml").thresholds() == load_kit().thresholds()


def test_hostile_sources_survive_the_toml_writer():
    data = tomllib.loads(BUNDLED_KIT.read_text("utf-8"))
    hostile = 'IFU "rev 3"\\p. 12\nline two\t\x01 = [x]'
    data["targets"]["cutoff"]["source"] = hostile
    assert tomllib.loads(_render_toml(data))["targets"]["cutoff"]["source"] == hostile


def _proposal(delta_ct_100=0.8, factor=1.9, cutoff=12.0):
    return {
        "lob_n": 24,
        "flags": [],
        "delta_ct": {
            "line": {"n": 60, "levels": 5},
            "amplification_factor": factor,
            "amplification_factor_ci": [1.85, 1.95],
            "delta_ct_100": delta_ct_100,
            "delta_ct_100_ci": [0.5, 1.1],
            "cutoff": {
                "value": cutoff,
                "reportable_fraction": 0.002,
                "lower": 11.0,
                "upper": 13.0,
                "expected_lod95": 0.0012,
            },
        },
    }


def test_a_kit_becomes_non_placeholder_only_when_every_number_has_a_source():
    """A lab kit whose numbers all cite the IFU except A, delta-Ct at 100 % and the cut-offs:
    validating every assay makes it placeholder = false; one assay left keeps it true and names
    what remains."""
    text = re.sub(r'"placeholder[^"]*"', '"IFU rev 3"', BUNDLED_KIT.read_text("utf-8"))
    validated = ("cutoff", "amplification_factor", "delta_ct_100")
    for key in validated:
        text = re.sub(rf'^({key} = {{ value = [^,]+, source = )"IFU rev 3"', r'\1"placeholder"',
                      text, flags=re.M)  # fmt: skip
    raw = text.encode("utf-8")
    kit = parse_kit(raw, "lab.toml")
    assert set(placeholder_numbers(kit)) == {"kit.reportable_fraction"} | {
        f"targets.{name}.{key}" for name in kit.assays for key in validated
    }
    raw = raw.replace(
        b"[kit]\n", b'[kit]\nreportable_fraction = { value = 0.002, source = "IFU rev 3" }\n'
    )
    every = {name: _proposal() for name in kit.assays}
    proposed, summary = propose_kit_text(raw, "lab.toml", every, [], "a" * 64)
    new = parse_kit(proposed.encode(), "lab.toml")
    assert summary["placeholder"] is False and new.placeholder is False
    assert new.assays["D538G"].cutoff.value == 12.0
    assert "a" * 64 in new.assays["D538G"].cutoff.source
    assert "ordinary least squares" in new.assays["Y537S"].amplification_factor.source
    assert new.ref_ct_max == kit.ref_ct_max  # everything else kept, with its source
    some = {name: _proposal() for name in list(kit.assays)[:-1]}
    _, partial = propose_kit_text(raw, "lab.toml", some, [], "a" * 64)
    last = list(kit.assays)[-1]
    assert partial["placeholder"] is True
    assert partial["placeholders"] == [f"targets.{last}.{key}" for key in validated]


def test_a_proposed_kit_keeps_an_out_of_range_factor_out():
    """A = 2.5 would make the kit unreadable (A must be in (1, 2.2]): not written."""
    entry = _proposal(factor=2.5)
    entry["flags"] = ["A_OUT_OF_RANGE"]
    text, summary = propose_kit_text(
        BUNDLED_KIT.read_bytes(), "k.toml", {"D538G": entry}, [], "b" * 64
    )
    assert [r["key"] for r in summary["replaced"]] == ["targets.D538G.cutoff"]
    assert parse_kit(text.encode(), "k.toml").assays["D538G"].amplification_factor.value == 1.95


# ===================================================================== CLI and outputs
@pytest.fixture
def ngs_series(tmp_path):
    samples, design = _series(SERIES, BLANKS)
    calls = _write(tmp_path, "calls.json", _ngs_document(samples))
    design_path = tmp_path / "design.csv"
    design_path.write_text("\n".join(design) + "\n", encoding="utf-8")
    return calls, design_path


def _schema_errors(document):
    schema = load_validation_schema()
    validator = jsonschema.validators.validator_for(schema)(schema)
    validator.check_schema(schema)
    return [e.message for e in validator.iter_errors(document)]


def test_validate_lod_cli_writes_both_files_reproducibly(run_cli, ngs_series, tmp_path):
    calls, design = ngs_series
    outputs = []
    for _ in range(2):
        name = "out"
        result = run_cli(["validate", "lod", calls, "--design", design, "-o", tmp_path / name,
                          "--reproducible"])  # fmt: skip
        assert result.exit_code == 0, result.stderr
        assert result.stdout.splitlines()[0].split("\t")[:3] == ["hotspot", "lob", "lod95"]
        assert result.stdout.splitlines()[1].startswith("D538G\t0.0008\t")
        outputs.append({n: (tmp_path / name / n).read_bytes() for n in
                        ("validation.json", "validation.html")})  # fmt: skip
    assert outputs[0] == outputs[1]
    document = json.loads(outputs[0]["validation.json"])
    assert _schema_errors(document) == []
    assert document["run"]["utc_time"] is None
    assert {i["role"] for i in document["run"]["inputs"]} == {"validation run", "design"}


def test_validate_concordance_cli(run_cli, tmp_path):
    t = _write(tmp_path, "t.json", _ngs_document(TEST_CALLS))
    r = _write(tmp_path, "r.json", _ngs_document(REFERENCE_CALLS))
    result = run_cli(["validate", "concordance", t, "--reference", r, "-o", tmp_path / "out"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[-1].startswith("overall\t2\t1\t1\t4\t2\t")
    assert "warning: 1 reference sample(s) have no test sample" in result.stderr
    document = json.loads((tmp_path / "out" / "validation.json").read_text("utf-8"))
    assert _schema_errors(document) == []
    assert document["run"]["utc_time"] is not None


def test_validation_json_schema_refuses_a_changed_key(ngs_series, tmp_path):
    calls, design = ngs_series
    document = run_lod([calls], design, command="x").document
    broken = copy.deepcopy(document)
    broken["lod"]["hotspots"]["D538G"]["lod95"] = 0.4 * 100  # a percent
    assert _schema_errors(broken)
    del broken["lod"]["hotspots"]["D538G"]["lob"]
    assert any("'lob' is a required property" in e for e in _schema_errors(broken))


def test_cli_errors_are_one_line(run_cli, ngs_series, tmp_path):
    calls, _ = ngs_series
    bad = _sheet(tmp_path, "sample_id,expected_fraction\nS1,0.2%\n", "bad.csv")
    result = run_cli(["validate", "lod", calls, "--design", bad, "-o", tmp_path / "o"])
    assert result.exit_code == 1
    assert result.stderr == (
        "esr1calls: error: bad.csv, line 2: expected_fraction '0.2%' is a percent; give a "
        "fraction (0.002 for 0.2 %)\n"
    )
    assert not (tmp_path / "o").exists()


HOSTILE = '<script>alert("x")</script>&<img src=x onerror=alert(1)>'


def test_every_input_string_is_escaped_in_validation_html(tmp_path):
    test = {HOSTILE: TEST_CALLS["P2"], "P1": TEST_CALLS["P1"]}
    reference = {HOSTILE: REFERENCE_CALLS["P2"], "P1": REFERENCE_CALLS["P1"]}
    from esr1calls.report_validation import render_validation_html

    page = render_validation_html(_concordance(tmp_path, test, reference))
    assert "<script>" not in page and "<img" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page


@pytest.mark.slow
def test_validation_pages_render_in_headless_chromium(run_cli, ngs_series, tmp_path):
    """Both pages load offline with no script, error or request; each chart has a text
    alternative; screenshots are kept in test-artifacts/."""
    calls, design = ngs_series
    assert (
        run_cli(["validate", "lod", calls, "--design", design, "-o", tmp_path / "lod"]).exit_code
        == 0
    )
    test = {HOSTILE: TEST_CALLS["P2"], **TEST_CALLS}
    t = _write(tmp_path, "t.json", _ngs_document(test))
    r = _write(
        tmp_path, "r.json", _ngs_document({HOSTILE: REFERENCE_CALLS["P2"], **REFERENCE_CALLS})
    )
    assert (
        run_cli(["validate", "concordance", t, "--reference", r, "-o", tmp_path / "conc"]).exit_code
        == 0
    )
    example = TESTDATA / "validate"
    pcr_args = ["pcr", example / "arms_validation_run.txt", "--plate-map",
                example / "arms_validation_run_map.csv", "-o", tmp_path / "run"]  # fmt: skip
    assert run_cli(pcr_args).exit_code == 0
    lod_args = ["validate", "lod", tmp_path / "run" / "calls.json", "--design",
                example / "arms_validation_design.csv", "-o", tmp_path / "pcr"]  # fmt: skip
    assert run_cli(lod_args).exit_code == 0
    pages = (("lod", tmp_path / "lod", 1), ("concordance", tmp_path / "conc", 0),
             ("pcr", tmp_path / "pcr", 22))  # fmt: skip
    for name, folder, charts in pages:
        with chromium_page(tmp_path / f"profile-{name}") as page:
            path = folder / "validation.html"
            load_report(page, path)
            requests = [e["request"]["url"] for e in page.named("Network.requestWillBeSent")]
            assert requests == [path.resolve().as_uri()]
            assert not page.named("Runtime.exceptionThrown")
            errors = [e for e in page.named("Log.entryAdded") if e["entry"]["level"] == "error"]
            assert not errors and not page.named("Page.javascriptDialogOpening")
            facts = page.evaluate(
                """({
                scripts: document.scripts.length,
                svgs: document.querySelectorAll('svg[role=img]').length,
                described: [...document.querySelectorAll('svg[role=img]')].filter(s =>
                    s.querySelector('title').textContent && s.querySelector('desc').textContent
                ).length,
                tables: document.querySelectorAll('table.two').length,
                text: document.body.innerText,
                width: document.documentElement.scrollWidth,
                })"""
            )
            assert facts["scripts"] == 0 and facts["svgs"] == facts["described"] == charts
            assert facts["width"] <= 1280
            shot = page.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)
            import base64

            ARTIFACTS.mkdir(exist_ok=True)
            (ARTIFACTS / f"validation-{name}.png").write_bytes(base64.b64decode(shot["data"]))
        if name == "concordance":
            assert facts["tables"] == 3  # overall, D538G, Y537S
            assert HOSTILE in facts["text"]  # shown as text, never run
        elif name == "pcr":  # a hit-rate and a delta-Ct chart for each of the 11 hotspots
            assert "Proposed cut-off" in facts["text"] and "ΔCt calibration" in facts["text"]
        else:
            assert "LoD95" in facts["text"] and "D538G" in facts["text"]


def test_lod_zero_point_nine_five_is_phi():
    assert abs(Z_95_ONE_SIDED - scipy.stats.norm.ppf(0.95)) < 1e-15


# ===================================================================== PCR runs and kits
def _pcr_document(command: str = "esr1calls pcr demo.tsv -o out") -> dict:
    return to_json_document(pcr_run(), ReportOptions(command, True))


def _blank_design(tmp_path: Path, document: dict) -> Path:
    rows = ["sample_id,expected_fraction"] + [f"{s['sample_id']},0" for s in document["samples"]]
    return _sheet(tmp_path, "\n".join(rows) + "\n")


def test_pcr_runs_of_two_kits_are_refused(tmp_path):
    first = _pcr_document()
    second = _pcr_document("esr1calls pcr demo.tsv --kit lab.toml -o out2")
    second["run"]["kit"] = {**second["run"]["kit"], "sha256": "f" * 64, "version": "0.2.0"}
    paths = [_write(tmp_path, "a.json", first), _write(tmp_path, "b.json", second)]
    with pytest.raises(
        InputError, match=r"the runs used different kits: esr1-11-arms-example 0\.1\.0"
    ):
        run_lod(paths, _blank_design(tmp_path, first), command="x")


def test_a_run_inside_a_cohort_given_again_is_refused(tmp_path):
    from esr1calls.reports.merge import load_calls_json, merge_documents

    run = _write(tmp_path, "run.json", _pcr_document())
    cohort = merge_documents([load_calls_json(run)], ReportOptions("esr1calls report", True))
    merged = _write(tmp_path, "cohort.json", cohort)
    with pytest.raises(InputError, match=r"run.json: holds the run of .*cohort.json again"):
        run_lod([merged, run], _blank_design(tmp_path, cohort), command="x")


def test_a_kit_file_that_is_not_the_kit_the_runs_used_is_refused(tmp_path):
    from esr1calls.errors import ConfigError

    document = _pcr_document()
    run = _write(tmp_path, "run.json", document)
    other = tmp_path / "lab.toml"
    other.write_bytes(BUNDLED_KIT.read_bytes() + b"\n# edited\n")
    with pytest.raises(ConfigError, match=r"lab.toml: not the kit the runs used \(esr1-11"):
        run_lod([run], _blank_design(tmp_path, document), command="x", kit=other,
                propose_kit=tmp_path / "new.toml")  # fmt: skip


def test_no_kit_is_written_when_the_data_give_no_value(run_cli, tmp_path):
    """Blanks only: limits of blank, but no line and no cut-off; the command says so (exit 1)
    after writing validation.json and validation.html, and writes no kit file."""
    document = _pcr_document()
    run = _write(tmp_path, "run.json", document)
    design = _blank_design(tmp_path, document)
    result = run_cli(["validate", "lod", run, "--design", design, "--propose-kit",
                      tmp_path / "new.toml", "-o", tmp_path / "out"])  # fmt: skip
    assert result.exit_code == 1
    assert "esr1calls: error: no kit proposed" in result.stderr
    assert not (tmp_path / "new.toml").exists()
    written = json.loads((tmp_path / "out" / "validation.json").read_text("utf-8"))
    assert written["lod"]["proposed_kit"]["replaced"] == []
    assert "TOO_FEW_LEVELS_FOR_CALIBRATION" in written["lod"]["hotspots"]["D538G"]["flags"]


def _line(intercept=1.0, slope=-3.6, sd=0.3):
    from esr1calls.validate import LineFit

    return LineFit(n=60, slope=slope, intercept=intercept, slope_ci=(slope - 0.2, slope + 0.2),
                   intercept_ci=(intercept - 0.3, intercept + 0.3), residual_sd=sd,
                   r_squared=0.97, mean_x=-2.0, sxx=10.0)  # fmt: skip


def test_the_cut_off_lies_midway_between_the_claim_and_the_blanks():
    from esr1calls.validate import _propose_cutoff

    line = _line()
    needed = line.upper_prediction(math.log10(0.002))
    flags: list[str] = []
    found = _propose_cutoff(line, needed + 2.0, 0.002, flags)
    assert found["value"] == round(needed + 1.0, 2) and flags == []
    assert found["lower"] == pytest.approx(needed) and found["upper"] == pytest.approx(needed + 2)
    # the fraction the line detects in 95 % of wells at that cut-off
    expected = 10 ** ((found["value"] - 1.0 - Z_95_ONE_SIDED * 0.3) / -3.6)
    assert found["expected_lod95"] == pytest.approx(expected, rel=1e-9)
    # blanks as low as the claim's delta-Ct: nothing separates them
    found = _propose_cutoff(line, needed - 0.01, 0.002, flags)
    assert found["value"] is None and flags == ["CUTOFF_WINDOW_EMPTY"]
    # blanks without signal: the prediction bound itself, rounded up
    flags.clear()
    found = _propose_cutoff(line, None, 0.002, flags)
    assert found["value"] == math.ceil(needed * 100) / 100 and flags == []


def test_pcr_against_ngs_concordance_over_the_hotspots_both_call(tmp_path):
    """The demo plate's PCR calls against NGS calls of the same samples (the PCR's INDETERMINATE
    and INVALID read as negatives by NGS): those pairs are excluded, one PCR negative the NGS
    finds is the one discordant pair, with both methods' evidence."""
    pcr = _pcr_document()
    pcr_calls = {s["sample_id"]: {c["hotspot"]: c for c in s["calls"]} for s in pcr["samples"]}
    flipped = next((s, h) for s, calls in pcr_calls.items() for h, c in calls.items()
                   if c["status"] == N)  # fmt: skip
    ngs_samples = {}
    for sample_id, calls in pcr_calls.items():
        statuses = {h: c["status"] for h, c in calls.items()}
        # the reference agrees everywhere except at one PCR negative, where it finds a mutation
        if sample_id == flipped[0]:
            statuses[flipped[1]] = D
        ngs_samples[sample_id] = {
            h: (s if s in (D, N) else N, 0.01 if s == D else 0.0) for h, s in statuses.items()
        }
    test = _write(tmp_path, "pcr.json", pcr)
    reference = _write(tmp_path, "ngs.json", _ngs_document(ngs_samples))
    found = run_concordance([test], [reference], command="x")["concordance"]
    assert found["test_methods"] == ["PCR"] and found["reference_methods"] == ["NGS"]
    evaluable = {
        (s, h) for s, calls in pcr_calls.items() for h, c in calls.items() if c["status"] in (D, N)
    }
    overall = found["overall"]
    assert overall["tp"] + overall["fp"] + overall["fn"] + overall["tn"] == len(evaluable)
    assert overall["excluded"] == sum(len(c) for c in pcr_calls.values()) - len(evaluable)
    discordant = [(p["kind"], p["test"]["sample_id"], p["hotspot"]) for p in found["discordant"]]
    assert discordant == [("fn", *flipped)] and overall["fn"] == 1 and overall["fp"] == 0
    assert found["discordant"][0]["test"]["method"] == "PCR"
    assert found["discordant"][0]["reference"]["allele_fraction"] == 0.01
