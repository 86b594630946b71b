"""The Snakemake workflow, for real: lint, dry run, a local run and a run through a real
single-node SLURM cluster (scripts/slurm-local.sh), which must give the same results."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from esr1calls.testing import REPO

BIN = Path(sys.executable).parent
SNAKEMAKE = BIN / "snakemake"
SNAKEFILE = REPO / "workflows" / "Snakefile"
CONFIG = REPO / "workflows" / "test" / "config.yaml"
SHEET = REPO / "workflows" / "test" / "samples.tsv"

pytestmark = pytest.mark.slow


def snakemake(
    workdir: Path, *extra: str, sheet: Path = SHEET, timeout: int = 600
) -> subprocess.CompletedProcess[str]:
    command = [
        str(SNAKEMAKE), "-s", str(SNAKEFILE), "--configfile", str(CONFIG),
        "--config", f"samples={sheet}", f"esr1calls={BIN / 'esr1calls'}",
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


SHEET_ROWS = [
    # id, type, inputs, plate_map, kit, sample, options: written the ways a batch manifest allows
    ("qs", "pcr", "plate.txt", "map.csv", "kits/lab.toml", "",
     "--format=quantstudio;hotspots=D538G"),
    ("two", "pcr", "a.txt, b.txt", "a.csv;b.csv", "esr1-11-arms-example", "", "panel=extended"),
    ("plasma", "ngs", "t.vcf", "", "", "PLASMA_01",
     "umi=yes; min_allele_fraction=0.005 pon=n.tsv"),
    ("reads", "ngs", "r.bam", "", "", "", "umi=0 --min-base-quality=30"),
]  # fmt: skip


def _sheet(directory: Path) -> Path:
    """A sample sheet over empty stand-in files (a dry run only needs them to exist)."""
    for name in ("plate.txt", "map.csv", "a.txt", "b.txt", "a.csv", "b.csv", "t.vcf", "r.bam"):
        (directory / name).touch()
    sheet = directory / "sheet.tsv"
    sheet.write_text(
        "# a comment line, as in a manifest\nID\tType\tinputs\tplate_map\tkit\tsample\toptions\n"
        + "".join("\t".join(row) + "\n" for row in SHEET_ROWS)
    )
    return sheet


def _shell_commands(stdout: str) -> dict[str, list[str]]:
    """Job id -> the words of its esr1calls pcr/ngs command, from a dry run's --printshellcmds."""
    commands = {}
    for line in stdout.splitlines():
        if line.startswith("Shell command: "):
            words = shlex.split(line.removeprefix("Shell command: ").split(" 2> ")[0])
            if words[1:2] in (["pcr"], ["ngs"]):
                commands[Path(words[words.index("-o") + 1]).name] = words
    return commands


def test_dry_run_reads_the_sheet_like_a_batch_manifest(tmp_path):
    sheet = _sheet(tmp_path)
    done = snakemake(tmp_path / "work", "--dry-run", "--printshellcmds", sheet=sheet)
    assert done.returncode == 0, done.stdout + done.stderr
    commands = {job: shlex.join(words[1:]) for job, words in _shell_commands(done.stdout).items()}
    assert commands == {
        "qs": f"pcr {tmp_path}/plate.txt --plate-map {tmp_path}/map.csv --kit "
        f"{tmp_path}/kits/lab.toml --panel default --format quantstudio --hotspots D538G "
        "--reproducible -o results/pcr/qs",
        "two": f"pcr {tmp_path}/a.txt {tmp_path}/b.txt --plate-map {tmp_path}/a.csv --plate-map "
        f"{tmp_path}/b.csv --kit esr1-11-arms-example --panel extended --reproducible "
        "-o results/pcr/two",
        "plasma": f"ngs {tmp_path}/t.vcf --sample PLASMA_01 --panel default --umi "
        f"--min-allele-fraction 0.005 --pon {tmp_path}/n.tsv --reproducible -o results/ngs/plasma",
        "reads": f"ngs {tmp_path}/r.bam --panel default --min-base-quality 30 --reproducible "
        "-o results/ngs/reads",
    }


def _as_job(words: list[str]) -> tuple[str, list[str], list[str], str | None, str | None, dict]:
    """A workflow command line read back into the fields of a batch job."""
    kind, rest = words[1], words[2:]
    inputs = []
    while not rest[0].startswith("-"):
        inputs.append(rest.pop(0))
    maps, kit, sample, options = [], None, None, {}
    while rest:
        flag = rest.pop(0)
        if flag in ("--reproducible", "--umi"):
            options[flag[2:]] = True
            continue
        value = rest.pop(0)
        if flag == "--plate-map":
            maps.append(value)
        elif flag in ("--kit", "--sample"):
            kit, sample = (value, sample) if flag == "--kit" else (kit, value)
        elif flag != "-o":
            options[flag[2:].replace("-", "_")] = value
    options.pop("reproducible", None)
    return kind, inputs, maps, kit, sample, options


def test_workflow_and_batch_read_a_sheet_alike(tmp_path):
    """common.smk mirrors esr1calls.batch (the Snakefile must load without esr1calls): every
    sheet row becomes the command that runs what the batch job would run."""
    from esr1calls.batch import _option_path, read_manifest

    sheet = _sheet(tmp_path)
    done = snakemake(tmp_path / "work", "--dry-run", "--printshellcmds", sheet=sheet)
    assert done.returncode == 0, done.stdout + done.stderr
    commands = _shell_commands(done.stdout)
    jobs = read_manifest(sheet)
    assert sorted(commands) == sorted(job.job_id for job in jobs)
    for job in jobs:
        options: dict = {"panel": "default", **job.options}
        for key in ("pon", "reference"):
            if key in options:
                options[key] = str(_option_path(job, key))
        if options.pop("umi", "false").lower() in ("true", "yes", "1"):
            options["umi"] = True
        expected = (
            job.kind,
            [str(p) for p in job.inputs],
            [str(p) for p in job.plate_maps],
            job.kit if job.kind == "pcr" else None,  # what each kind of job uses
            job.sample if job.kind == "ngs" else None,
            options,
        )
        assert _as_job(commands[job.job_id]) == expected, job.job_id


def test_a_sample_sheet_id_used_twice_is_an_error(tmp_path):
    sheet = _sheet(tmp_path)
    sheet.write_text(sheet.read_text() + "\t".join(SHEET_ROWS[0]) + "\n")
    done = snakemake(tmp_path / "work", "--dry-run", sheet=sheet)
    assert done.returncode != 0
    assert "id qs is used twice" in done.stdout + done.stderr


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
        assert (local_run / "logs" / "esr1calls" / f"{job}.log").is_file()


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
