"""A simulated validation study end to end: dilution series from a known truth, written as
instrument exports and VCFs, called by the real readers and callers, then ``validate lod``. The
truth's LoD95, amplification factor and delta-Ct at 100 % lie in the intervals the study gives,
and the proposed kit calls a fresh plate as the truth says (the placeholder kit does not)."""

from __future__ import annotations

import filecmp
import json
import math

import numpy as np
import pytest

from esr1calls.stats import k_required, lod95
from esr1calls.testing import TESTDATA
from esr1calls.validate import fit_probit, probit_profile_interval

from .validation_factory import (
    NGS_DEPTH,
    NGS_READ_ERROR,
    PCR_TRUTH,
    ngs_study,
    pcr_study,
    write_pcr_run,
    write_validation_example,
)

PLACEHOLDER_CUTOFF = 9.0  # the bundled kit's, which the validation runs are called with


@pytest.fixture(scope="module")
def pcr_validation(tmp_path_factory):
    from click.testing import CliRunner

    from esr1calls.cli import cli

    def run_cli(args):
        return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)

    folder = tmp_path_factory.mktemp("pcr-study")
    study = pcr_study(folder / "runs", run_cli, seed=4)
    result = run_cli(["validate", "lod", *study.calls, "--design", study.design,
                      "--propose-kit", folder / "kit.toml", "-o", folder / "out"])  # fmt: skip
    assert result.exit_code == 0, result.stderr
    document = json.loads((folder / "out" / "validation.json").read_text("utf-8"))
    return folder, study, document, run_cli


@pytest.mark.parametrize("hotspot", sorted(PCR_TRUTH))
def test_the_true_lod95_lies_in_the_interval_the_pcr_study_gives(pcr_validation, hotspot):
    _, _, document, _ = pcr_validation
    entry = document["lod"]["hotspots"][hotspot]
    truth = PCR_TRUTH[hotspot].lod95(PLACEHOLDER_CUTOFF)
    low, high = entry["lod95_ci"]
    assert entry["flags"] == []
    assert low < truth < high, (hotspot, truth, entry["lod95"], entry["lod95_ci"])
    assert high / low < 2.5  # an interval that says something, not (0, 1)


@pytest.mark.parametrize("hotspot", sorted(PCR_TRUTH))
def test_the_true_amplification_factor_and_delta_ct_100_are_recovered(pcr_validation, hotspot):
    _, _, document, _ = pcr_validation
    block = document["lod"]["hotspots"][hotspot]["delta_ct"]
    truth = PCR_TRUTH[hotspot]
    low, high = block["amplification_factor_ci"]
    assert low < truth.amplification_factor < high
    low, high = block["delta_ct_100_ci"]
    assert low < truth.delta_ct_100 < high
    # the blanks' 5th percentile of delta-Ct: the background N(13.8, 0.6) has it at 12.8
    assert document["lod"]["hotspots"][hotspot]["lob"] == pytest.approx(12.8, abs=0.5)


def test_hotspots_with_blanks_only_keep_their_kit_values(pcr_validation):
    _, _, document, _ = pcr_validation
    y537s = document["lod"]["hotspots"]["Y537S"]
    assert {"TOO_FEW_LEVELS", "TOO_FEW_LEVELS_FOR_CALIBRATION"} <= set(y537s["flags"])
    assert y537s["lob"] is not None  # the blanks' limit is still measured
    replaced = {r["key"] for r in document["lod"]["proposed_kit"]["replaced"]}
    assert replaced == {f"targets.{h}.{k}" for h in PCR_TRUTH
                        for k in ("amplification_factor", "delta_ct_100", "cutoff")}  # fmt: skip


def _fresh_plate_calls(folder, run_cli, kit, seed):
    """A fresh run: 8 samples with D538G and E380Q at 0.3 %, 8 wild-type samples."""
    rng = np.random.default_rng(seed)
    samples = [(f"POS{i}", dict.fromkeys(PCR_TRUTH, 0.003)) for i in range(8)]
    samples += [(f"NEG{i}", {}) for i in range(8)]
    folder.mkdir(parents=True, exist_ok=True)
    export, plate_map = write_pcr_run(folder, "FRESH", samples, rng)
    args = ["pcr", export, "--plate-map", plate_map, "-o", folder / "out", "--reproducible"]
    result = run_cli([*args, *(["--kit", kit] if kit else [])])
    assert result.exit_code == 0, result.stderr
    document = json.loads((folder / "out" / "calls.json").read_text("utf-8"))
    return {
        (s["sample_id"], c["hotspot"]): c["status"] for s in document["samples"] for c in s["calls"]
    }


def test_the_proposed_kit_calls_a_fresh_plate_as_the_truth_says(pcr_validation):
    folder, _, _, run_cli = pcr_validation
    kit = folder / "kit.toml"
    checked = run_cli(["kit", "validate", kit])
    assert checked.exit_code == 0 and "PLACEHOLDER values" in checked.stdout
    calls = _fresh_plate_calls(folder / "fresh", run_cli, kit, seed=99)
    for (sample, hotspot), status in calls.items():
        expected = (
            "DETECTED" if sample.startswith("POS") and hotspot in PCR_TRUTH else ("NOT_DETECTED")
        )
        assert status == expected, (sample, hotspot, status)
    # the placeholder kit misses them: 0.3 % is beyond its 9.0 cut-off on this instrument
    before = _fresh_plate_calls(folder / "fresh-placeholder", run_cli, None, seed=99)
    assert {before[(f"POS{i}", h)] for i in range(8) for h in PCR_TRUTH} == {"NOT_DETECTED"}


def test_ngs_study_recovers_the_true_lod95(tmp_path, run_cli):
    study = ngs_study(tmp_path, run_cli, seed=3)
    result = run_cli(["validate", "lod", *study.calls, "--design", study.design, "-o",
                      tmp_path / "out"])  # fmt: skip
    assert result.exit_code == 0, result.stderr
    entry = json.loads((tmp_path / "out" / "validation.json").read_text("utf-8"))["lod"][
        "hotspots"
    ]["D538G"]
    # the rule of ngs.md at this depth: k_req alt reads and 0.2 % of the depth
    needed = max(k_required(NGS_DEPTH, 5e-4), math.ceil(0.002 * NGS_DEPTH))
    read_probability = lod95(NGS_DEPTH, needed)
    truth = (read_probability - NGS_READ_ERROR) / (1 - NGS_READ_ERROR)
    low, high = entry["lod95_ci"]
    assert entry["flags"] == []
    assert low < truth < high, (truth, entry["lod95"], entry["lod95_ci"])
    assert entry["lob"] < 0.002  # blanks stay under the reportable fraction


def test_the_profile_interval_covers_the_truth_about_95_percent_of_the_time():
    """The interval's own promise, over 40 seeded studies of the PCR model: a fixed seed per
    study, so the count is exact (300 studies gave 285, 95 %)."""
    truth = PCR_TRUTH["D538G"]
    target = math.log10(truth.lod95(PLACEHOLDER_CUTOFF))
    levels = (0.004, 0.005, 0.006, 0.007, 0.008, 0.01, 0.0125, 0.015, 0.02, 0.05)
    covered = 0
    for seed in range(40):
        rng = np.random.default_rng(seed)
        x, hits = [], []
        for fraction in levels:
            for _ in range(12):
                delta_ct = truth.delta_ct(fraction) + rng.normal(0, truth.sd)
                x.append(math.log10(fraction))
                hits.append(bool(round(delta_ct, 3) <= PLACEHOLDER_CUTOFF))
        fit = fit_probit(x, hits)
        assert fit is not None
        low, high = probit_profile_interval(x, hits, fit)
        covered += low is not None and high is not None and low <= target <= high
    assert covered >= 35


def test_the_example_in_testdata_is_what_the_factory_writes(tmp_path):
    for path in write_validation_example(tmp_path):
        assert filecmp.cmp(path, TESTDATA / "validate" / path.name, shallow=False), path.name
