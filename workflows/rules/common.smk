import csv
import io
import re
import shlex
from pathlib import Path

import jsonschema
import yaml
from snakemake.exceptions import WorkflowError

# The sample sheet is read by the rules of an `esr1calls batch` manifest (esr1calls/batch.py:
# read_manifest, _split_paths, _parse_options, _option_path), written out again here because the
# Snakefile must load where esr1calls is not importable (--sdm conda, or `esr1calls:` naming the
# command of another environment). tests/test_workflow.py checks that both read a sheet the same.

PATH_OPTIONS = ("pon", "reference")  # option values that name files, relative to the sheet
FLAG_OPTIONS = ("umi",)  # on when the value is true, yes or 1 (a bare key means true)


def _row_validator():
    """One validator for every row: the schema is read once (every SLURM job parses this file
    again, so a per-row snakemake.utils.validate would cost each job about 2 ms per row)."""
    with open(workflow.source_path("../schemas/samples.schema.yaml"), encoding="utf-8") as handle:
        schema = yaml.safe_load(handle)
    return jsonschema.validators.validator_for(schema)(schema)


def _read_sheet(path):
    """Rows by id, like a manifest: blank and # lines skipped, column names in any case, cells
    stripped; each row checked against schemas/samples.schema.yaml."""
    text = Path(path).read_bytes().decode("utf-8-sig")
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    reader = csv.DictReader(io.StringIO("\n".join(lines)), delimiter="\t")
    reader.fieldnames = [name.strip().lower() for name in reader.fieldnames or []]
    validator = _row_validator()
    rows = {}
    for number, cells in enumerate(reader, start=2):
        row = {key: (value or "").strip() for key, value in cells.items() if key}
        try:
            validator.validate(row)
        except jsonschema.ValidationError as error:
            raise WorkflowError(f"{path}, row {number}: not a valid sample-sheet row", error)
        if row["id"] in rows:
            raise WorkflowError(f"{path}, row {number}: id {row['id']} is used twice")
        rows[row["id"]] = row
    return rows


SHEET_PATH = Path(config["samples"])
SAMPLES = _read_sheet(SHEET_PATH)
OUTDIR = config.get("outdir", "results")
JOBS = {kind: sorted(i for i, row in SAMPLES.items() if row["type"] == kind) for kind in ("pcr", "ngs")}


def _paths(text):
    """Paths separated by ; or , and relative to the sample sheet (unless absolute)."""
    return [str(SHEET_PATH.parent / p.strip()) for p in re.split(r"[;,]", text) if p.strip()]


def _options(text):
    """key=value words separated by spaces or ;, a leading -- dropped, - in a key read as _;
    a bare key means true."""
    options = {}
    for token in re.split(r"[;\s]+", text.strip()):
        if token:
            key, _, value = token.lstrip("-").partition("=")
            options[key.replace("-", "_")] = value or "true"
    return options


def job_inputs(wildcards):
    return _paths(SAMPLES[wildcards.job]["inputs"])


def job_plate_map(wildcards):
    return _paths(SAMPLES[wildcards.job]["plate_map"])


def job_plate_map_options(wildcards):
    """--plate-map once per map (the option is repeated, never given several values)."""
    return " ".join(f"--plate-map {shlex.quote(path)}" for path in job_plate_map(wildcards))


def job_options(wildcards):
    """The row as CLI options, each word shell-quoted: kit (PCR: a .toml is a path, else a kit
    id) or sample (NGS), then the options; the config's panel unless the row names one."""
    row = SAMPLES[wildcards.job]
    words = []
    if row["type"] == "pcr" and row.get("kit"):
        kit = row["kit"]
        words += ["--kit", _paths(kit)[0] if kit.endswith(".toml") else kit]
    if row["type"] == "ngs" and row.get("sample"):
        words += ["--sample", row["sample"]]
    options = {"panel": config.get("panel", "default"), **_options(row.get("options", ""))}
    for key, value in options.items():
        flag = f"--{key.replace('_', '-')}"
        if key in FLAG_OPTIONS:
            words += [flag] if value.lower() in ("true", "yes", "1") else []
        else:
            words += [flag, str(SHEET_PATH.parent / value) if key in PATH_OPTIONS else value]
    if config.get("reproducible", True):
        words.append("--reproducible")
    return " ".join(shlex.quote(word) for word in words)


def cohort_outputs():
    return [f"{OUTDIR}/cohort/samples.tsv", f"{OUTDIR}/cohort/calls.tsv"]
