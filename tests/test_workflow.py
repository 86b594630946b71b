"""The Snakemake workflow, for real: lint, dry run, a local run and a run through a real
single-node SLURM cluster (scripts/slurm-local.sh), which must give the same results."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REPO

BIN = Path(sys.executable).parent
SNAKEMAKE = BIN / "snakemake"
SNAKEFILE = REPO / "workflows" / "Snakefile"
CONFIG = REPO / "workflows" / "test" / "config.yaml"
SHEET = REPO / "workflows" / "test" / "samples.tsv"

pytestmark = pytest.mark.slow


def snakemake(workdir: Path, *extra: str, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    command = [
        str(SNAKEMAKE), "-s", str(SNAKEFILE), "--configfile", str(CONFIG),
        "--config", f"samples={SHEET}", f"esr1calls={BIN / 'esr1calls'}",
        "--directory", str(workdir), *extra,
    ]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)


def test_lint_is_clean(tmp_path):
    done = snakemake(tmp_path, "--lint")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Congratulations, your workflow is in a good condition!" in done.stdout + done.stderr


def test_dry_run_plans_one_job_per_plate_and_sample(tmp_path):
    done = snakemake(tmp_path, "--dry-run", "--quiet", "rules")
    assert done.returncode == 0, done.stderr
    counts = {}
    for line in done.stdout.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            counts[parts[0]] = int(parts[1])
    assert counts == {"esr1calls_pcr": 2, "esr1calls_ngs": 2, "esr1calls_cohort": 1, "all": 1,
                      "total": 6}  # fmt: skip


def test_schema_refuses_a_bad_sample_sheet(tmp_path):
    sheet = tmp_path / "sheet.tsv"
    sheet.write_text("id\ttype\tinputs\tplate_map\nbad id\tqpcr\tx.txt\t\n")
    command = [str(SNAKEMAKE), "-s", str(SNAKEFILE), "--configfile", str(CONFIG), "--config",
               f"samples={sheet}", "--directory", str(tmp_path), "--dry-run"]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    assert done.returncode != 0
    assert "ValidationError" in done.stdout + done.stderr


@pytest.fixture(scope="module")
def local_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("local")
    done = snakemake(workdir, "--cores", "2")
    assert done.returncode == 0, done.stderr[-3000:]
    return workdir


def test_local_run_gives_the_cli_results(local_run, tmp_path, run_cli):
    results = local_run / "results"
    assert (results / "cohort" / "report.html").is_file()
    # each job's table is exactly what the command gives when run by hand
    direct = tmp_path / "direct"
    args = [
        "pcr",
        REPO / "testdata/plates/quantstudio/esr1_demo_quantstudio.txt",
        "--plate-map",
        REPO / "testdata/plates/esr1_demo_platemap.csv",
        "--reproducible",
        "-o",
        direct,
    ]
    assert run_cli(args).exit_code == 0
    assert (results / "pcr" / "qs_plate" / "calls.tsv").read_text() == (
        direct / "calls.tsv"
    ).read_text()
    cohort = (results / "cohort" / "samples.tsv").read_text().splitlines()
    assert len(cohort) == 1 + 9 + 9 + 1 + 1  # header, two plates, a VCF and a BAM sample
    for job in ("pcr/qs_plate", "pcr/cfx_plate", "ngs/plasma", "cohort"):
        assert (local_run / "logs" / "esr1calls" / f"{job}.log").parent.exists()


def _start_slurm() -> None:
    script = REPO / "scripts" / "slurm-local.sh"
    done = subprocess.run([str(script), "start"], capture_output=True, text=True, timeout=600,
                          check=False)  # fmt: skip
    if done.returncode != 0:
        message = f"local SLURM cluster did not start:\n{done.stderr[-2000:]}"
        if os.environ.get("ESR1CALLS_REQUIRE_SLURM") == "1":
            pytest.fail(message)
        pytest.skip(message)


def test_slurm_run_gives_the_same_results(local_run, tmp_path):
    if shutil.which("apt-get") is None and shutil.which("slurmctld") is None:
        if os.environ.get("ESR1CALLS_REQUIRE_SLURM") == "1":
            pytest.fail("SLURM is not installed and cannot be installed here")
        pytest.skip("SLURM is not installed and cannot be installed here")
    _start_slurm()
    profile = REPO / "workflows" / "profiles" / "slurm"
    done = snakemake(tmp_path, "--profile", str(profile), "--slurm-keep-successful-logs")
    assert done.returncode == 0, done.stderr[-3000:]
    # the jobs really went through SLURM: one batch log per submitted job
    slurm_logs = list((tmp_path / ".snakemake" / "slurm_logs").rglob("*.log"))
    assert len(slurm_logs) >= 4, slurm_logs
    for name in ("samples.tsv", "calls.tsv"):
        local = (local_run / "results" / "cohort" / name).read_text()
        assert (tmp_path / "results" / "cohort" / name).read_text() == local
