"""The Snakemake workflow, for real, as a new user runs it: lint and dry run with no arguments
from the repository's root and from workflows/, the sample sheet read by `esr1calls batch --plan`,
one-line errors, the output switches, a local run and a run through a real single-node SLURM
cluster (scripts/slurm-local.sh), which must give the same results."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from esr1calls.testing import REPO, TESTDATA

BIN = Path(sys.executable).parent
SNAKEMAKE = BIN / "snakemake"
SNAKEFILE = REPO / "workflows" / "Snakefile"
CONFIG = REPO / "workflows" / "test" / "config.yaml"
SHEET = REPO / "workflows" / "test" / "samples.tsv"
VCF = TESTDATA / "vcf" / "mutect2" / "esr1_tumour_normal.vcf"

pytestmark = pytest.mark.slow


def run(cwd: Path, *args: str, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    """`snakemake ARGS` typed in ``cwd``, with a PATH that has no esr1calls on it (the workflow
    finds the one installed beside snakemake, as in a virtual environment not activated)."""
    env = {**os.environ, "PATH": "/usr/bin:/bin"}
    return subprocess.run([str(SNAKEMAKE), *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout, check=False)  # fmt: skip


def snakemake(
    workdir: Path, *extra: str, config: Path = CONFIG, timeout: int = 600
) -> subprocess.CompletedProcess[str]:
    command = ["-s", str(SNAKEFILE), "--configfile", str(config), "--directory", str(workdir)]
    return run(REPO, *command, *extra, timeout=timeout)


def _job_counts(stdout: str) -> dict[str, int]:
    counts = {}
    for line in stdout.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            counts[parts[0]] = int(parts[1])
    return counts


def readme_command(start: str, directory: Path | None = None) -> list[str]:
    """The arguments of the README's Snakemake command that begins with ``start`` (its demo
    folder replaced by ``directory``): the README shows what these tests run."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Snakemake\n")[1].split("\n## ")[0]
    block = section.split("```sh\n")[1].split("```")[0]
    lines = [line for line in block.splitlines() if line.startswith(f"snakemake {start}")]
    assert len(lines) == 1, f"README's Snakemake section shows no `snakemake {start}...`"
    words = shlex.split(lines[0])[1:]
    if directory is not None:
        words[words.index("--directory") + 1] = str(directory)
    return words


@pytest.mark.parametrize("where", [".", "workflows"])
def test_lint_and_dry_run_need_no_arguments(where):
    """What a new user types first, in the repository or in workflows/: the demo config."""
    lint = run(REPO / where, *readme_command("--lint"))
    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert "Congratulations, your workflow is in a good condition!" in lint.stdout + lint.stderr
    dry = run(REPO / where, *readme_command("-n"), "--quiet", "rules")
    assert dry.returncode == 0, dry.stderr
    last = "default" if where == "." else "all"  # the root's rule builds workflows/' rule all
    # the demo sheet names a patient (plasma, PT-0042): monitor: auto runs esr1calls monitor
    assert _job_counts(dry.stdout) == {"esr1calls_job": 5, "esr1calls_cohort": 1,
                                       "esr1calls_monitor": 1, last: 1, "total": 8}  # fmt: skip


def _shell_commands(stdout: str) -> dict[str, list[str]]:
    """Job id -> the words of its esr1calls command, from a dry run's --printshellcmds."""
    commands = {}
    for line in stdout.splitlines():
        if line.startswith("Shell command: { ") and " 2> logs/" in line:
            words = shlex.split(line.removeprefix("Shell command: { ").split("; } 2> ")[0])
            commands[Path(words[words.index("-o") + 1]).name] = words
    return commands


def _folder(tmp_path: Path) -> Path:
    """A config and a sample sheet in their own folder, both with relative paths."""
    lab = tmp_path / "lab"
    (lab / "data").mkdir(parents=True)
    for name in ("plate.txt", "map.csv", "a.txt", "b.txt", "r.bam"):
        (lab / "data" / name).touch()
    shutil.copy(VCF, lab / "data" / "t.vcf")
    (lab / "samples.tsv").write_text(
        "# a comment line, as in a manifest\nID\tType\tinputs\tplate_map\tkit\tsample\toptions\n"
        "qs\tpcr\tdata/plate.txt\tdata/map.csv\tkits/lab.toml\t\t--format=quantstudio;hotspots=D538G\n"
        "two\tpcr\tdata/a.txt, data/b.txt\tdata/map.csv;data/map.csv\t\t\tpanel=extended\n"
        "plasma\tngs\tdata/t.vcf\t\t\tPLASMA_01\tumi=yes; min_allele_fraction=0.005 pon=n.tsv\n"
        "reads\tngs\tdata/r.bam\t\t\t\tumi=0 --min-base-quality=30\n"
    )  # fmt: skip
    (lab / "config.yaml").write_text("samples: samples.tsv\noutputs: {fhir: true, multiqc: true}\n")
    return lab


def test_the_jobs_are_what_batch_plans_with_paths_from_the_config_folder(tmp_path):
    lab = _folder(tmp_path)
    done = snakemake(tmp_path / "work", "-n", "--printshellcmds", config=lab / "config.yaml")
    assert done.returncode == 0, done.stdout + done.stderr
    commands = _shell_commands(done.stdout)
    planner = [str(BIN / "esr1calls"), "batch", str(lab / "samples.tsv"), "--plan"]
    plan = subprocess.run([*planner, "--panel", "default"], capture_output=True, text=True,
                          check=True)  # fmt: skip
    jobs = json.loads(plan.stdout)["jobs"]
    assert sorted(commands) == sorted(job["id"] for job in jobs) == ["plasma", "qs", "reads", "two"]
    for job in jobs:
        folder = f"results/{job['type']}/{job['id']}"
        expected = [str(BIN / "esr1calls"), *job["command"], "--fhir", "--reproducible", "-o",
                    folder]  # fmt: skip
        assert commands[job["id"]] == expected
    # the sheet's paths are relative to its folder, the sheet's to the config's
    assert shlex.join(commands["plasma"][1:]) == (
        f"ngs {lab}/data/t.vcf --sample PLASMA_01 --panel default --umi --min-allele-fraction "
        f"0.005 --pon {lab}/n.tsv --fhir --reproducible -o results/ngs/plasma"
    )
    assert "--umi" not in commands["reads"] and commands["qs"][-6:-4] == ["--hotspots", "D538G"]
    # MultiQC as batch --multiqc writes it: one pair for the cohort, none in a job's folder
    cohort = [line for line in done.stdout.splitlines() if " report " in line]
    assert len(cohort) == 1 and " --fhir --multiqc --reproducible -o results/cohort " in cohort[0]
    assert not any("--multiqc" in words for words in commands.values())
    for name in json.loads(plan.stdout)["multiqc_files"]:
        assert f"results/cohort/{name}" in done.stdout  # the cohort rule's outputs
    assert " monitor " not in done.stdout  # monitor: auto, and no row names a patient


@pytest.mark.parametrize(
    "setting, runs",
    [("", False), ("monitor: true\n", True), ("monitor: false\n", False),
     ("monitor: auto\n", False)],
)  # fmt: skip
def test_monitor_runs_when_the_sheet_names_a_patient_or_the_config_says_so(tmp_path, setting, runs):
    """monitor: auto (the default) runs esr1calls monitor when a row names a patient; true
    also when only plate maps name them (the plan cannot see those); false never."""
    lab = _folder(tmp_path)
    for patient in (False, True):
        if patient:  # the same sheet with a patient on the plasma row
            sheet = (
                (lab / "samples.tsv").read_text().replace("\toptions\n", "\toptions\tpatient_id\n")
            )
            sheet = sheet.replace("pon=n.tsv\n", "pon=n.tsv\tPT-9\n")
            (lab / "samples.tsv").write_text(sheet)
        (lab / "config.yaml").write_text(f"samples: samples.tsv\n{setting}")
        done = snakemake(tmp_path / "work", "-n", "--printshellcmds", config=lab / "config.yaml")
        assert done.returncode == 0, done.stdout + done.stderr
        monitor = [line for line in done.stdout.splitlines() if " monitor " in line]
        expected = runs or (patient and setting in ("", "monitor: auto\n"))
        assert len(monitor) == int(expected), (patient, setting, monitor)
        if expected:
            assert " --reproducible -o results/monitor " in monitor[0]
            for job in ("qs", "two", "plasma", "reads"):
                assert f"/{job}/calls.json" in monitor[0]


def test_a_flag_typo_fails_its_job_with_one_line_and_the_others_run(tmp_path):
    lab = _folder(tmp_path)
    (lab / "samples.tsv").write_text(
        "id\ttype\tinputs\toptions\nbad\tngs\tdata/t.vcf\tumi=ture\ngood\tngs\tdata/t.vcf\t\n"
    )
    done = snakemake(tmp_path / "work", "--cores", "1", "--keep-going", config=lab / "config.yaml")
    assert done.returncode != 0
    error = ("esr1calls: error: samples.tsv, line 2: option umi='ture' is neither on (true, yes, "
             "1) nor off (false, no, 0); write umi=true or umi=false")  # fmt: skip
    assert error in done.stderr.splitlines()
    assert (tmp_path / "work" / "logs/esr1calls/ngs/bad.log").read_text() == error + "\n"
    assert not (tmp_path / "work" / "results/ngs/bad").exists()
    good = tmp_path / "work" / "results/ngs/good"
    assert {p.name for p in good.iterdir()} >= {"calls.json", "calls.fhir.json"}
    assert not list(good.glob("*_mqc.json"))


def _one_line(done: subprocess.CompletedProcess[str]) -> str:
    lines = [
        line
        for line in done.stderr.splitlines()
        if not line.startswith(("Assuming unrestricted", "Config file "))
    ]
    assert done.returncode == 1 and len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr
    return lines[0]


def test_esr1calls_that_cannot_run_is_one_line_at_start(tmp_path):
    lab = _folder(tmp_path)
    for command in ("not-installed-esr1calls", "bin/esr1calls"):
        (lab / "config.yaml").write_text(f"samples: samples.tsv\nesr1calls: {command}\n")
        line = _one_line(snakemake(tmp_path / "work", "-n", config=lab / "config.yaml"))
        assert line.startswith("esr1calls workflow: error: cannot run ")
        assert line.endswith(
            "(No such file or directory); install esr1calls where snakemake runs (pip install "
            "esr1calls, or pip install -e . in its repository), or set esr1calls: in the config "
            "to the command's path, e.g. .venv/bin/esr1calls"
        )
    assert str(lab / "bin/esr1calls") in line  # a relative command is the config folder's


@pytest.mark.parametrize(
    "config, error",
    [
        ("samples: nowhere.tsv\n", "{lab}/config.yaml: samples: {lab}/nowhere.tsv does not exist"),
        ("samples: samples.tsv\ntypo: 1\n", "{lab}/config.yaml: the config: Additional "
         "properties are not allowed ('typo' was unexpected); the keys are samples, outdir,"),
        ("samples: samples.tsv\noutputs: {fhir: yes please}\n",
         "{lab}/config.yaml: outputs.fhir: 'yes please' is not of type 'boolean'"),
        ("samples: samples.tsv\noutputs: {xlsx: true}\n",
         "{lab}/config.yaml: outputs: xlsx is not a format of this esr1calls; it writes multiqc"),
        ("samples: samples.tsv\npanel: my_panel.tsv\n", "esr1calls: error: my_panel.tsv"),
        ("samples: samples.tsv\noutputs: {detected_only: true}\n", "{lab}/config.yaml: "
         "outputs: detected_only shapes the VCF; switch vcf on too, or detected_only off"),
        ("samples: samples.tsv\nmonitor: sometimes\n",
         "{lab}/config.yaml: monitor: 'sometimes' is not one of ['auto', True, False]"),
    ],
)  # fmt: skip
def test_config_errors_are_one_line(tmp_path, config, error):
    lab = _folder(tmp_path)
    (lab / "config.yaml").write_text(config)
    line = _one_line(snakemake(tmp_path / "work", "-n", config=lab / "config.yaml"))
    expected = error.format(lab=lab)
    assert line.startswith(expected) or line.startswith(f"esr1calls workflow: error: {expected}")


def test_a_sample_sheet_id_used_twice_is_an_error(tmp_path):
    lab = _folder(tmp_path)
    sheet = lab / "samples.tsv"
    sheet.write_text(sheet.read_text() + "QS\tngs\tdata/t.vcf\t\t\t\t\n")
    line = _one_line(snakemake(tmp_path / "work", "-n", config=lab / "config.yaml"))
    assert line == (
        "esr1calls workflow: error: samples.tsv, line 7: job id 'QS' is already used on line 3 "
        "as 'qs' (folder names ignore letter case); give the row another id"
    )


@pytest.fixture(scope="module")
def local_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("local")
    done = run(REPO, *readme_command("--cores 2", workdir))
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
    assert len(cohort) == 1 + 9 + 9 + 1 + 1 + 4  # header, two plates, a VCF, a BAM, a dPCR run
    # each row says its job: the two plates' S1 are qs_plate:S1 and cfx_plate:S1
    rows = [line.split("\t") for line in cohort]
    assert rows[0][:2] == ["run", "sample_id"]
    runs = {(row[0], row[1]) for row in rows[1:]}
    assert len(runs) == len(rows) - 1 and {("qs_plate", "S1"), ("cfx_plate", "S1")} <= runs
    # the sheet names a patient: the timeline, as batch writes it
    monitor = (results / "monitor" / "monitor.tsv").read_text().splitlines()
    assert monitor[0].split("\t")[:3] == ["patient_id", "collected", "sample_id"]
    assert {line.split("\t")[2] for line in monitor[1:]} == {"plasma:PLASMA_01"}
    assert len(monitor) == 1 + 11
    assert (results / "monitor" / "timeline.html").is_file()
    # the sheet's patient_id and collected columns are recorded, as batch records them
    (plasma,) = json.loads((results / "ngs" / "plasma" / "calls.json").read_text())["samples"]
    assert (plasma["patient_id"], plasma["collected"]) == ("PT-0042", "2026-02-17")
    dpcr = json.loads((results / "dpcr" / "ddpcr" / "calls.json").read_text())
    assert dpcr["run"]["command"].split()[1] == "dpcr" and len(dpcr["samples"]) == 4
    for job in ("pcr/qs_plate", "pcr/cfx_plate", "ngs/plasma", "ngs/umi_bam", "dpcr/ddpcr",
                "cohort", "monitor"):  # fmt: skip
        assert (local_run / "logs" / "esr1calls" / f"{job}.log").is_file()
    # the demo config switches no optional format on
    for folder in ("pcr/qs_plate", "ngs/umi_bam", "dpcr/ddpcr", "cohort"):
        names = {p.name for p in (results / folder).iterdir()}
        assert names == {"calls.json", "calls.tsv", "samples.tsv", "report.html",
                         "clinical.html"}, folder  # fmt: skip


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
    command = readme_command("--profile workflows/profiles/slurm", tmp_path)
    done = run(REPO, *command, "--slurm-keep-successful-logs")
    assert done.returncode == 0, done.stderr[-3000:]
    # the jobs really went through SLURM: one batch log per submitted job
    slurm_logs = list((tmp_path / ".snakemake" / "slurm_logs").rglob("*.log"))
    assert len(slurm_logs) >= 4, slurm_logs
    for name in ("cohort/samples.tsv", "cohort/calls.tsv", "monitor/monitor.tsv"):
        local = (local_run / "results" / name).read_text()
        assert (tmp_path / "results" / name).read_text() == local
