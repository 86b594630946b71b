import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import yaml

# The sample sheet is a batch manifest, and esr1calls reads it: `esr1calls batch SHEET --plan`
# gives every job's single command, the files it reads and, for a row that cannot run, its
# one-line error (esr1calls/batch.py: read_manifest, job_command, plan_document). The workflow
# runs those commands; it has no reading rules of its own. Running the planner is also the
# check, once at start, that the esr1calls command works.

BUNDLED_PANELS = ("default", "extended")
JOB_ID = r"[A-Za-z0-9][A-Za-z0-9._-]*"  # ids that are one folder name and one wildcard value


def stop(message):
    """One line on stderr and exit 1: no traceback for what the user has to fix."""
    print(message, file=sys.stderr)
    sys.exit(1)


def config_source(key):
    """The config file that sets ``key`` (the last one: later files override earlier ones), or
    None when --config KEY=VALUE sets it (or nothing does)."""
    if key in workflow.config_settings.config:
        return None
    for path in reversed(workflow.configfiles):
        with open(path, encoding="utf-8") as handle:
            if key in (yaml.safe_load(handle) or {}):
                return Path(path).resolve()
    return None


def config_folder(key):
    """The folder a config value is relative to: its config file's, else (--config) the
    working directory."""
    source = config_source(key)
    return Path.cwd() if source is None else source.parent


def check_config():
    """The config against schemas/config.schema.yaml, in one line (snakemake.utils.validate
    prints the whole schema); the defaults filled in."""
    # --config outputs={fhir: true} gives the string "true" (Snakemake reads nested values so)
    switches = {"true": True, "false": False}
    if isinstance(config.get("outputs"), dict):
        config["outputs"] = {
            k: switches.get(v.lower(), v) if isinstance(v, str) else v
            for k, v in config["outputs"].items()
        }
    for key in ("reproducible", "monitor"):
        if isinstance(config.get(key), str):
            config[key] = switches.get(config[key].lower(), config[key])
    with open(workflow.source_path("../schemas/config.schema.yaml"), encoding="utf-8") as f:
        schema = yaml.safe_load(f)
    error = jsonschema.exceptions.best_match(
        jsonschema.validators.validator_for(schema)(schema).iter_errors(dict(config))
    )
    if error is not None:
        where = ".".join(map(str, error.absolute_path)) or "the config"
        sources = [*map(str, workflow.configfiles)]
        sources += ["--config"] if workflow.config_settings.config else []
        files = ", ".join(sources)
        stop(
            f"esr1calls workflow: error: {files}: {where}: {error.message}; the keys are "
            f"{', '.join(schema['properties'])} (workflows/schemas/config.schema.yaml)"
        )
    for key, spec in schema["properties"].items():
        config.setdefault(key, spec.get("default"))


def config_path(key):
    return config_folder(key) / config[key]


def esr1calls_command():
    """The esr1calls command as the config names it: a path (relative to the config file), or
    a name on PATH, else beside the Python running Snakemake (an environment not activated)."""
    name = config.get("esr1calls", "esr1calls")
    if os.sep in name:
        return str(config_path("esr1calls"))
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    return found or name


def read_plan(command, sheet, panel):
    """The jobs of the sample sheet, as `esr1calls batch --plan` reads them."""
    words = [command, "batch", str(sheet), "--plan", "--panel", panel]
    fix = (
        "install esr1calls where snakemake runs (pip install esr1calls, or pip install -e . in "
        "its repository), or set esr1calls: in the config to the command's path, e.g. "
        ".venv/bin/esr1calls"
    )
    try:
        done = subprocess.run(words, capture_output=True, text=True, check=False)
    except OSError as exc:
        stop(f"esr1calls workflow: error: cannot run {command!r} ({exc.strerror}); {fix}")
    if done.returncode != 0:
        line = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        if line.startswith("esr1calls: error:"):  # the sheet's own error, naming its place
            stop(line)
        if "--plan" in line:  # an esr1calls from before batch --plan
            fix = f"this esr1calls cannot plan a batch; {fix}"
        stop(f"esr1calls workflow: error: {shlex.join(words)} failed ({line}); {fix}")
    try:
        return json.loads(done.stdout)
    except ValueError:
        stop(f"esr1calls workflow: error: {command} batch --plan printed no plan; {fix} (an "
             "esr1calls that has --plan)")


check_config()
ESR1CALLS = esr1calls_command()
SHEET = config_path("samples")
if not SHEET.exists():
    stop(
        f"esr1calls workflow: error: {config_source('samples') or '--config'}: samples: "
        f"{SHEET} does not exist (a path in a config file is relative to its folder; with "
        "--config, to the working directory)"
    )
PANEL = config["panel"] if config["panel"] in BUNDLED_PANELS else str(config_path("panel"))
PLAN = read_plan(ESR1CALLS, SHEET, PANEL)
OUTDIR = config["outdir"]
JOBS = {}
for job in PLAN["jobs"]:
    # a row whose id cannot name a folder and a file target, or repeats one, is no job at all
    if job["id"].casefold() in {i.casefold() for i in JOBS} or not re.fullmatch(JOB_ID, job["id"]):
        stop(
            "esr1calls workflow: error: "
            + (job["error"] or f"{SHEET}: job id {job['id']!r} holds characters other than "
               "letters, digits, '.', '_' and '-'; give the row another id")
        )
    # a job's folder: OUTDIR/<type>/<id> (a row whose type is not one still fails as a job)
    kind = job["type"] if re.fullmatch("[a-z0-9]+", job["type"]) else "unknown"
    JOBS[job["id"]] = {**job, "kind": kind}
KINDS = sorted({job["kind"] for job in JOBS.values()})

unknown = sorted(set(config["outputs"]) - set(PLAN["formats"]))
if unknown:
    stop(
        f"esr1calls workflow: error: {config_source('outputs') or '--config'}: outputs: "
        f"{', '.join(unknown)} is not a format of this esr1calls; it writes "
        f"{', '.join(PLAN['formats'])}"
    )
if config["outputs"].get("detected_only") and not config["outputs"].get("vcf"):
    stop(
        f"esr1calls workflow: error: {config_source('outputs') or '--config'}: outputs: "
        "detected_only shapes the VCF; switch vcf on too, or detected_only off"
    )
ON = [name for name, on in config["outputs"].items() if on]
# MultiQC, as with esr1calls batch --multiqc: one pair of files for the whole cohort (samples
# keyed RUN:SAMPLE, the run being the job's folder), none in the job folders
MULTIQC = "multiqc" in ON
REPORT_FLAGS = [PLAN["formats"][name] for name in ON] + (
    ["--reproducible"] if config["reproducible"] else []
)
JOB_FLAGS = [flag for flag in REPORT_FLAGS if not MULTIQC or flag != PLAN["formats"]["multiqc"]]


wildcard_constraints:
    kind="|".join(KINDS) or "none",
    job=JOB_ID,


def job_files(wildcards):
    """Every file the job reads (inputs, plate maps, kit, panel, PoN, reference): a change to
    any of them runs the job again. One that is missing is left to esr1calls, whose one-line
    error then names it and the row (Snakemake's would stop every job)."""
    return [path for path in JOBS[wildcards.job]["files"] if os.path.exists(path)]


def job_shell(wildcards, output):
    """The job's esr1calls command, shell-quoted; for a row that cannot run, a command that
    prints its one-line error and fails."""
    job = JOBS[wildcards.job]
    if job["error"]:
        message = shlex.quote(f"esr1calls: error: {job['error']}")
        return f"printf '%s\\n' {message} >&2; false"
    outdir = str(Path(output.calls).parent)
    return shlex.join([ESR1CALLS, *job["command"], *JOB_FLAGS, "-o", outdir])


def job_outputs():
    return [f"{OUTDIR}/{job['kind']}/{id}/calls.json" for id, job in JOBS.items()]


# esr1calls monitor, as batch runs it when samples name patients: over every job's calls.json,
# into OUTDIR/monitor/ (monitor: auto when a sheet row names a patient; true for patients that
# only plate maps name, which the plan cannot see; false never)
MONITOR = config["monitor"] is True or (
    config["monitor"] == "auto" and any(job.get("patient_id") for job in JOBS.values())
)


def monitor_outputs():
    return [f"{OUTDIR}/monitor/{name}" for name in PLAN["monitor_files"]] if MONITOR else []


def cohort_outputs():
    tables = [f"{OUTDIR}/cohort/samples.tsv", f"{OUTDIR}/cohort/calls.tsv"]
    multiqc = [f"{OUTDIR}/cohort/{name}" for name in PLAN["multiqc_files"] if MULTIQC]
    return tables + multiqc + monitor_outputs()
