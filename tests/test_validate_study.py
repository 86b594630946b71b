"""A simulated validation study end to end: dilution series from a known truth, written as
instrument exports (ARMS-PCR and digital PCR) and VCFs, called by the real readers and callers,
then ``validate lod``. The truth's LoD95, amplification factor and delta-Ct at 100 % lie in the
intervals the study gives, the proposed kit calls a fresh plate as the truth says (the
placeholder kit does not), and dPCR against ARMS-PCR on the same samples is ``validate
concordance``'s."""

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
    DPCR_TRUTH,
    NGS_DEPTH,
    NGS_READ_ERROR,
    PCR_TRUTH,
    DpcrTruth,
    dpcr_study,
    ngs_study,
    pcr_study,
    write_dpcr_run,
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


# ------------------------------------------------------------------------------------ dPCR
def _k_req(calls_json):
    """The k_req the run's D538G calls were held against (one N and one p0 on the plate)."""
    document = json.loads(calls_json.read_text("utf-8"))
    found = {
        c["evidence"]["k_req"]
        for s in document["samples"]
        for c in s["calls"]
        if c["hotspot"] == "D538G" and "k_req" in c["evidence"]
    }
    assert len(found) == 1, found
    return found.pop()


@pytest.mark.parametrize(
    "fmt, seed", [("quantasoft", 1), ("qxmanager", 2), ("qiacuity", 3), ("absoluteq", 4)]
)
def test_a_dpcr_study_recovers_the_true_lod95_from_each_export_format(tmp_path, run_cli, fmt, seed):
    """The plate is written as each instrument's export and read back by its reader. The
    truth's LoD95 is exact for the k_req the plate's own WT controls give (its p0): the
    fraction where P(Binomial(N, p*(f)) >= k_req) = 0.95 (21 seeds of 21 covered)."""
    study = dpcr_study(tmp_path, run_cli, seed=seed, fmt=fmt)
    document = json.loads(study.calls[0].read_text("utf-8"))
    assert document["run"]["inputs"][0]["format"] == f"dPCR export ({fmt})"
    result = run_cli(["validate", "lod", *study.calls, "--design", study.design, "-o",
                      tmp_path / "out"])  # fmt: skip
    assert result.exit_code == 0, result.stderr
    entry = json.loads((tmp_path / "out" / "validation.json").read_text("utf-8"))["lod"][
        "hotspots"
    ]["D538G"]
    truth = DPCR_TRUTH.lod95(_k_req(study.calls[0]))
    low, high = entry["lod95_ci"]
    assert entry["flags"] == []
    assert low < truth < high, (truth, entry["lod95"], entry["lod95_ci"])
    assert high / low < 2.5
    # the blanks' fraction: the background alone, far under the reportable fraction
    assert entry["lob"] < 0.002
    assert [level["n"] for level in entry["levels"]] == [7] + [12] * 7


def test_the_dpcr_truth_is_the_rule_at_the_plates_counts():
    """The truth's LoD95 is where the rule's own power calculation puts it: at that fraction a
    well of N partitions is mutant-positive with the chance whose k_req tail is 95 %."""
    for k_req in (5, 6, 8, 9):
        fraction = DPCR_TRUTH.lod95(k_req)
        p = DPCR_TRUTH.mutant_positive(fraction)
        tail = 1 - sum(
            math.comb(DPCR_TRUTH.partitions, k) * p**k * (1 - p) ** (DPCR_TRUTH.partitions - k)
            for k in range(k_req)
        )
        assert tail == pytest.approx(0.95, abs=1e-9)
        # and at that k_req the partitions are above the reportable fraction: DETECTED is k_req
        assert k_req / DPCR_TRUTH.partitions / DPCR_TRUTH.wild_type_copies > 0.002


def test_dpcr_against_arms_pcr_on_the_same_samples_is_validate_concordance(tmp_path, run_cli):
    """40 samples on a dPCR plate and an ARMS-PCR plate: 20 with D538G at 2-5 %, 20 wild type,
    and 4 at 0.35 %, where dPCR (lod95 about 0.3 % at this input) sees what ARMS-PCR (about
    0.85 %) does not. Every pair agrees but those; they are the discordant list, test DETECTED
    and reference NOT_DETECTED, and the statistics follow from the counts."""
    rng = np.random.default_rng(5)
    samples = [(f"C{i:02d}", 0.02 + 0.03 * i / 20) for i in range(1, 21)]
    samples += [(f"C{i:02d}", 0.0) for i in range(21, 41)]
    samples += [(f"L{i}", 0.0035) for i in range(1, 5)]
    export, plate_map = write_dpcr_run(
        tmp_path, "CONC_DPCR", samples, rng, truth=DpcrTruth(wild_type_copies=0.5)
    )
    dpcr = ["dpcr", export, "--plate-map", plate_map, "-o", tmp_path / "dpcr", "--reproducible"]
    assert run_cli(dpcr).exit_code == 0
    mutations = [(name, {"D538G": f} if f else {}) for name, f in samples]
    export, plate_map = write_pcr_run(tmp_path, "CONC_PCR", mutations, rng)
    pcr = ["pcr", export, "--plate-map", plate_map, "-o", tmp_path / "pcr", "--reproducible"]
    assert run_cli(pcr).exit_code == 0
    result = run_cli(["validate", "concordance", tmp_path / "dpcr" / "calls.json", "--reference",
                      tmp_path / "pcr" / "calls.json", "-o", tmp_path / "out"])  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "hotspots called by one method only were not compared: E380Q" in result.stderr
    block = json.loads((tmp_path / "out" / "validation.json").read_text("utf-8"))["concordance"]
    assert block["test_methods"] == ["dPCR"] and block["reference_methods"] == ["PCR"]
    assert list(block["hotspots"]) == ["D538G"]
    d538g = block["hotspots"]["D538G"]
    discordant = block["discordant"]
    assert {d["test"]["sample_id"] for d in discordant} <= {"L1", "L2", "L3", "L4"}
    assert discordant, "at 0.35 % dPCR should see some that ARMS-PCR misses"
    for pair in discordant:
        assert pair["kind"] == "fp" and pair["hotspot"] == "D538G"
        assert (pair["test"]["status"], pair["reference"]["status"]) == ("DETECTED", "NOT_DETECTED")
    fp = len(discordant)
    assert (d538g["tp"], d538g["fp"], d538g["fn"], d538g["excluded"]) == (20, fp, 0, 0)
    assert d538g["tn"] == 20 + 4 - fp
    n = 44
    observed = (d538g["tp"] + d538g["tn"]) / n
    expected = ((20 + fp) * 20 + (n - 20 - fp) * (n - 20)) / n**2
    assert d538g["ppa"] == 1.0 and d538g["npa"] == pytest.approx(d538g["tn"] / (d538g["tn"] + fp))
    assert d538g["kappa"] == pytest.approx((observed - expected) / (1 - expected), abs=1e-9)
    assert block["overall"]["tp"] == 20 and block["overall"]["fp"] == fp
