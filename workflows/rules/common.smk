import csv
from pathlib import Path


def _read_sheet(path):
    with open(path, encoding="utf-8-sig") as handle:
        rows = [r for r in csv.DictReader(handle, delimiter="\t") if r.get("id", "").strip()]
    for row in rows:
        validate(row, workflow.source_path("../schemas/samples.schema.yaml"))
    return {row["id"].strip(): row for row in rows}


SHEET_PATH = Path(config["samples"])
SAMPLES = _read_sheet(SHEET_PATH)
OUTDIR = config.get("outdir", "results")
JOBS = {kind: sorted(i for i, row in SAMPLES.items() if row["type"] == kind) for kind in ("pcr", "ngs")}


def _paths(text):
    """Sheet paths are relative to the sample sheet, like an esr1calls batch manifest."""
    return [str(SHEET_PATH.parent / p.strip()) for p in text.split(";") if p.strip()]


def job_inputs(wildcards):
    return _paths(SAMPLES[wildcards.job]["inputs"])


def job_plate_map(wildcards):
    return _paths(SAMPLES[wildcards.job]["plate_map"])


PATH_OPTIONS = ("pon", "reference")  # option values that name files, relative to the sheet


def job_options(wildcards):
    """Sheet options (key=value words) as CLI options, plus kit/sample/panel from the config."""
    row = SAMPLES[wildcards.job]
    words = []
    if row.get("kit"):
        words += ["--kit", row["kit"]]
    if row.get("sample"):
        words += ["--sample", row["sample"]]
    for token in (row.get("options") or "").split():
        key, _, value = token.partition("=")
        if key in PATH_OPTIONS and value:
            value = _paths(value)[0]
        words += [f"--{key.replace('_', '-')}"] + ([value] if value and value != "true" else [])
    words += ["--panel", config.get("panel", "default")]
    if config.get("reproducible", True):
        words.append("--reproducible")
    return " ".join(words)


def cohort_outputs():
    return [f"{OUTDIR}/cohort/samples.tsv", f"{OUTDIR}/cohort/calls.tsv"]
