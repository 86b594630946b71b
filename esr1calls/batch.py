# Size: about 1,450 lines: the four steps of a batch, in order below (job definitions from a
# manifest or a folder, running a job and its fingerprint, its folder, the pool and the cohort
# tables), which share BatchJob and JobOutcome.
"""Batch: many plate exports and VCFs in one command, in parallel, one bad input never stopping
the others; cohort tables across everything; inputs whose results are up to date are skipped.

A job is one ``pcr`` run (exports + plate map), one ``dpcr`` run (digital PCR exports + plate
map, the assay definition as option ``assays=``) or one ``ngs`` sample (VCF/BAM files). Jobs come
from a manifest TSV or from a directory scanned by content. Each job writes its own report into
``OUTDIR/<job_id>/`` exactly as the single commands do; the cohort files are written last.

``OUTDIR/<job_id>/`` holds this run's complete result or nothing: a job's reports are written into
a hidden staging folder that replaces the old folder only when everything is written, and a job
that fails has its earlier folder removed. The cohort tables are removed when a batch starts and
written when it ends, so an interrupted batch leaves none that could describe another run.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import hashlib
import json
import logging
import os
import re
import shutil
import signal
import stat
import tempfile
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from ._version import __version__
from .errors import ConfigError, Esr1CallsError, InputError
from .hotspots import DEFAULT_PANEL, EXTENDED_PANEL, Panel, panel_from_options
from .interpretation import with_specimen
from .model import DEFAULT_MIN_ALLELE_FRACTION, RunResult
from .patients import check_collected, check_patient_id, with_patient
from .pcr.kit import EXAMPLE_KIT
from .reports.calls_json import CALLS_JSON
from .reports.formats import FILES
from .reports.multiqc import MULTIQC_GENERAL_STATS, MULTIQC_TABLE
from .reports.options import ReportOptions
from .reports.tables import CALL_COLUMNS, CALLS_TSV, SAMPLE_COLUMNS, SAMPLES_TSV, render_table
from .reports.write import AUDIT_TRAIL, atomic_writer, write_files_atomic, write_reports

if TYPE_CHECKING:
    from multiprocessing.process import BaseProcess

__all__ = [
    "COHORT_FILES",
    "COHORT_TABLES",
    "MANIFEST_COLUMNS",
    "MONITOR_FILES",
    "BatchJob",
    "JobOutcome",
    "job_command",
    "monitor_batch",
    "plan_document",
    "plan_jobs",
    "read_manifest",
    "run_batch",
    "scan_directory",
    "with_batch_options",
]

log = logging.getLogger(__name__)

MANIFEST_COLUMNS = (
    "id", "type", "inputs", "plate_map", "kit", "sample", "options", "patient_id", "collected",
)  # fmt: skip
JOB_TYPES = ("pcr", "ngs", "dpcr")
STATE_FILE = ".esr1calls-job.json"
PLATE_MAP_NAMES = ("platemap.csv", "plate_map.csv", "plate-map.csv")
_SAFE_ID = re.compile(r"[^A-Za-z0-9._-]+")
BATCH_JOBS_TSV, BATCH_ERRORS_TSV = "batch_jobs.tsv", "batch_errors.tsv"
# --multiqc: one pair of MultiQC files for the whole batch, in OUTDIR (never in the job folders,
# where `multiqc OUTDIR` would find each job's S1 under one name and keep one)
MULTIQC_FILES = (MULTIQC_TABLE, MULTIQC_GENERAL_STATS)
# Everything batch writes at OUTDIR's top level besides the job folders; no job id may take one
# of these names (in any letter case: macOS and Windows file systems ignore it).
COHORT_TABLES = (SAMPLES_TSV, CALLS_TSV, BATCH_JOBS_TSV, BATCH_ERRORS_TSV)  # always written
# esr1calls monitor's outputs, when the manifest or --samples names patients, and timeline/, its
# folder of pages for large cohorts: monitor_report's and monitor_html's names, written out here
# so that loading batch (every CLI start) does not load monitoring (tests/test_batch.py checks)
MONITOR_FILES = ("monitor.json", "monitor.tsv", "timeline.html")
TIMELINE_DIR = "timeline"
COHORT_FILES = (*COHORT_TABLES, *MULTIQC_FILES, *MONITOR_FILES)
# names no job id may take: every file batch writes at the top of OUTDIR, and timeline/
RESERVED_NAMES = (*COHORT_FILES, TIMELINE_DIR)
# Hidden folders in OUTDIR while a job's reports are written and while an old folder is retired;
# a job id never starts with "." so they cannot meet a job folder.
_STAGING, _RETIRED = ".esr1calls-new-", ".esr1calls-old-"
# Characters no folder name may hold on Windows or SMB shares (where lab results often go), and
# the names Windows reserves for devices.
_BAD_ID_CHARACTER = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')
_DEVICE_NAMES = frozenset(
    ["con", "prn", "aux", "nul"] + [f"{port}{n}" for port in ("com", "lpt") for n in range(1, 10)]
)


@dataclass(frozen=True)
class BatchJob:
    """One unit of work; ``problem`` is set when the job cannot even be defined (bad row)."""

    job_id: str
    kind: str
    inputs: tuple[Path, ...]
    plate_maps: tuple[Path, ...] = ()
    kit: str | None = None
    sample: str | None = None
    options: Mapping[str, str] = field(default_factory=dict)
    origin: str = ""  # e.g. "manifest.tsv, line 4" or "directory scan"
    problem: str | None = None
    base: Path = Path()  # relative option paths (panel=, pon=, reference=) resolve against it
    # False when the id itself is refused (a cohort file's name, a path, used twice): the job
    # then never writes, replaces or removes anything in OUTDIR
    own_folder: bool = True
    # the manifest's patient_id and collected: recorded on the job's one sample, as --patient
    # and --collected are (a job of several samples: the plate map or --samples says whose)
    patient_id: str | None = None
    collected: str | None = None


@dataclass(frozen=True)
class JobOutcome:
    job_id: str
    kind: str
    state: str  # "done", "up to date", "failed"
    outdir: str  # "" when the job has no report (failed)
    inputs: tuple[str, ...]
    error: str = ""
    n_samples: int = 0
    patients: bool = False  # a sample of its report names a patient (for monitor_batch)


# ----------------------------------------------------------------------------- job definitions
def _folded(names: Iterable[str]) -> set[str]:
    return {name.casefold() for name in names}


def _job_id(text: str, taken: set[str]) -> str:
    """A folder-safe id made from a file name, unique in ``taken`` (case-folded) and added to it."""
    base = _SAFE_ID.sub("_", text).strip("._") or "job"
    candidate, n = base, 2
    while candidate.casefold() in taken:
        candidate, n = f"{base}_{n}", n + 1
    taken.add(candidate.casefold())
    return candidate


def id_problem(job_id: str) -> str | None:
    """Why ``job_id`` cannot name a job folder in OUTDIR, or None.

    >>> id_problem("run_07") is None
    True
    >>> id_problem("Samples.TSV").split(";")[0]
    "job id 'Samples.TSV' is the name of samples.tsv, a cohort table batch writes in OUTDIR"
    """
    why = _id_flaw(job_id)
    return None if why is None else f"job id {job_id!r} {why}; give the row another id"


def _id_flaw(job_id: str) -> str | None:
    bad = _BAD_ID_CHARACTER.search(job_id)
    if job_id in (".", ".."):
        return "is not a folder name"
    if bad:
        what = "a path separator" if bad.group() in "/\\" else f"{bad.group()!r}"
        return f"holds {what}, which a folder name cannot hold"
    if job_id.startswith("."):
        return "starts with '.', which would hide its folder"
    if job_id != job_id.strip() or job_id.endswith("."):
        return "starts or ends with a space, or ends with '.', which Windows drops"
    if job_id.split(".")[0].casefold() in _DEVICE_NAMES:
        return "is a device name on Windows"
    if len(job_id.encode("utf-8")) > 255:
        return "is longer than a folder name can be (255 bytes)"
    for name in RESERVED_NAMES:
        if job_id.casefold() == name.casefold():
            what = "a cohort table batch" if name in COHORT_TABLES else "which batch"
            return f"is the name of {name}, {what} writes in OUTDIR"
    return None


def _split_paths(text: str, base: Path) -> tuple[Path, ...]:
    parts = [p.strip() for p in re.split(r"[;,]", text) if p.strip()]
    return tuple(p if p.is_absolute() else base / p for p in map(Path, parts))


def _parse_options(text: str) -> dict[str, str]:
    """``key=value`` pairs separated by spaces or semicolons; a bare key means "true"."""
    options: dict[str, str] = {}
    for token in re.split(r"[;\s]+", text.strip()):
        if not token:
            continue
        key, _, value = token.lstrip("-").partition("=")
        options[key.replace("-", "_")] = value or "true"
    return options


def _repeated_option(text: str) -> str | None:
    """The first option key given twice (the later value would win unseen), or None."""
    seen: set[str] = set()
    for token in re.split(r"[;\s]+", text.strip()):
        key = token.lstrip("-").partition("=")[0].replace("-", "_")
        if key in seen:
            return key
        seen.add(key)
    return None


_UNCLOSED_QUOTE = (
    'a quote (") opens a cell and is not closed where the cell ends; remove the quote, or '
    "double it inside a quoted cell"
)


def _manifest_lines(text: str) -> list[tuple[int, list[str] | None]]:
    """(line number, cells) for each line that is not blank or a comment, numbered as in the
    file; cells is None where a quote is left open. Each line is parsed alone, so an open quote
    cannot swallow the lines after it into one cell (and their jobs with it)."""
    lines: list[tuple[int, list[str] | None]] = []
    for number, line in enumerate(re.split(r"\r\n|\r|\n", text), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        try:
            lines.append((number, next(csv.reader([line], delimiter="\t", strict=True))))
        except csv.Error:
            lines.append((number, None))
    return lines


def _manifest_header(path: Path, number: int, cells: list[str] | None) -> list[str]:
    if cells is None:
        raise InputError(path, f"the header: {_UNCLOSED_QUOTE}", place=f"line {number}")
    header = [h.strip().lower() for h in cells]
    missing = [c for c in ("type", "inputs") if c not in header]
    if missing:
        raise InputError(
            path,
            f"column {', '.join(missing)} is missing. Found: {', '.join(header)}. A manifest is "
            f"tab-separated with columns {', '.join(MANIFEST_COLUMNS)} (type and inputs required).",
            place=f"line {number}",
        )
    twice = sorted({h for h in header if h and header.count(h) > 1})
    if twice:
        raise InputError(
            path,
            f"column {', '.join(twice)} appears more than once (one would be ignored); keep one",
            place=f"line {number}",
        )
    return header


def _resolve_kit(kit: str, base: Path) -> str:
    """The bundled kit's id stays an id; anything else is a kit file, relative to the manifest."""
    return kit if kit == EXAMPLE_KIT else str(_split_paths(kit, base)[0])


def _row_problem(cell: Mapping[str, str], extra: Sequence[str], n_header: int) -> str | None:
    kind = cell.get("type", "").lower()
    repeated = _repeated_option(cell.get("options", ""))
    if kind not in JOB_TYPES:
        return f"type {cell.get('type')!r} is not one of {', '.join(JOB_TYPES)}"
    if not _split_paths(cell.get("inputs", ""), Path()):
        return "no inputs"
    if kind in ("pcr", "dpcr") and not cell.get("plate_map"):
        return f"a {kind} job needs a plate_map"
    if kind == "dpcr" and cell.get("kit"):
        return (
            "a dpcr job takes no kit: name its assay definition with the option assays=FILE "
            "(empty: the bundled esr1-dpcr-example)"
        )
    if extra:
        return f"more cells than the header's {n_header}: a tab inside a cell? ({extra[0]!r})"
    if repeated:
        return f"option {repeated} is given twice; keep one"
    for column, check in (("patient_id", check_patient_id), ("collected", check_collected)):
        if cell.get(column):
            try:
                check(cell[column])
            except ValueError as exc:
                return f"column {column}: {exc}"
    return None


def _checked(check: Callable[[str], str], text: str | None) -> str | None:
    """A manifest cell as kept (None when empty or refused: the row's problem says why)."""
    try:
        return check(text) if text else None
    except ValueError:
        return None


def read_manifest(path: Path) -> list[BatchJob]:
    """Jobs from a manifest TSV (see MANIFEST_COLUMNS); every path in it (inputs, plate maps, a
    kit file, and the panel, pon and reference options) is relative to the manifest's folder.

    A malformed row becomes a job with a ``problem``: it is reported, and the others still run.
    A row whose id cannot name a folder, or repeats an earlier row's id (in any letter case), is
    such a job, and never touches OUTDIR.
    """
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise InputError(path, f"cannot read the manifest ({exc.strerror})") from exc
    except UnicodeDecodeError as exc:
        raise InputError(path, "the manifest is not UTF-8 text") from exc
    lines = _manifest_lines(text)
    if not lines:
        raise InputError(path, f"the manifest is empty; columns: {', '.join(MANIFEST_COLUMNS)}")
    header = _manifest_header(path, *lines[0])
    rows = [
        (number, {k: v.strip() for k, v in zip(header, cells, strict=False) if k}, cells)
        for number, cells in lines[1:]
        if cells is not None
    ]
    # the ids written in the manifest first, so that one made from a file name never takes theirs
    first_use: dict[str, tuple[int, str]] = {}  # case-folded id -> (line, id as written)
    for number, cell, _ in rows:
        given = cell.get("id", "")
        if given and id_problem(given) is None:
            first_use.setdefault(given.casefold(), (number, given))
    taken = _folded(RESERVED_NAMES) | set(first_use)
    jobs = {
        number: BatchJob(
            f"line{number}",
            "",
            (),
            origin=f"{path.name}, line {number}",
            problem=_UNCLOSED_QUOTE,
            own_folder=False,
        )
        for number, cells in lines[1:]
        if cells is None
    }
    for number, cell, cells in rows:
        inputs = _split_paths(cell.get("inputs", ""), path.parent)
        given = cell.get("id", "")
        problem = id_problem(given) if given else None
        earlier, written = first_use.get(given.casefold(), (number, given))
        if given and problem is None and earlier != number:
            problem = (
                f"job id {given!r} is already used on line {earlier}"
                + ("" if written == given else f" as {written!r} (folder names ignore letter case)")
                + "; give the row another id"
            )
        own_folder = problem is None
        problem = problem or _row_problem(cell, cells[len(header) :], len(header))
        kit = cell.get("kit") or None  # a kit file, or the id of the bundled example kit
        jobs[number] = BatchJob(
            job_id=given or _job_id(inputs[0].stem if inputs else f"line{number}", taken),
            kind=cell.get("type", "").lower(),
            inputs=inputs,
            plate_maps=_split_paths(cell.get("plate_map", ""), path.parent),
            kit=_resolve_kit(kit, path.parent) if kit else None,
            sample=cell.get("sample") or None,
            options=_parse_options(cell.get("options", "")),
            origin=f"{path.name}, line {number}",
            problem=problem,
            base=path.parent,
            own_folder=own_folder,
            patient_id=_checked(check_patient_id, cell.get("patient_id")),
            collected=_checked(check_collected, cell.get("collected")),
        )
    return [jobs[number] for number in sorted(jobs)]


NGS_NAMES = (".vcf", ".vcf.gz", ".vcf.bgz", ".bcf", ".bam", ".cram", ".g.vcf", ".g.vcf.gz")


def _sniff_kind(path: Path) -> tuple[str | None, str]:
    """("ngs" for VCF/BCF/BAM/CRAM, "dpcr" for a digital PCR export, "pcr" for a plate export,
    or None with the reason), by content.

    A file named like NGS data whose content cannot be read is still an "ngs" job, so the
    damage is reported as that job's error instead of the file being skipped quietly.
    """
    from .dpcr import sniff_export
    from .ngs.files import sniff_ngs_format
    from .plates import sniff_format

    try:
        sniff_ngs_format(path)
        return "ngs", ""
    except Esr1CallsError:
        if path.name.lower().endswith(NGS_NAMES):
            return "ngs", ""
    try:
        with path.open("rb"):
            pass
    except OSError as exc:
        return None, f"cannot be read ({exc.strerror or exc})"
    try:  # before the plate readers: a dPCR export is never a plate of Cts
        sniff_export(path)
        return "dpcr", ""
    except (Esr1CallsError, OSError):
        pass
    try:
        sniff_format(path)
    except (Esr1CallsError, OSError):
        return None, "not a recognised plate export, dPCR export, VCF, BCF, BAM or CRAM"
    return "pcr", ""


def _not_a_file(path: Path) -> str | None:
    """Why a folder entry that is no regular file is skipped (None for a folder: the scan is not
    recursive, and OUTDIR's job folders may sit beside the inputs)."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        if path.is_symlink():
            loop = exc.errno == errno.ELOOP
            return "a symbolic link that loops" if loop else "a symbolic link to nothing"
        return f"cannot be read ({exc.strerror or exc})"
    if stat.S_ISDIR(mode):
        return None
    return None if stat.S_ISREG(mode) else "not a regular file (a pipe, socket or device)"


def scan_directory(
    directory: Path, plate_maps: Sequence[Path] = ()
) -> tuple[list[BatchJob], list[tuple[str, str]]]:
    """Jobs for every recognised file in ``directory`` (not recursive), by content.

    A plate or dPCR export needs a plate map: ``plate_maps`` when given (batch --plate-map),
    else ``<export stem>.platemap.csv`` next to it, else a shared ``platemap.csv``. NGS files are
    one job each (a BAM next to a VCF of the same stem joins it).
    Returns the jobs and the files that were skipped with the reason (a broken or looping link,
    an unreadable file, one of no known kind). The cohort tables batch writes are not inputs.
    """
    try:
        entries = sorted(p for p in directory.iterdir() if not p.name.startswith("."))
    except OSError as exc:
        raise InputError(None, f"{directory}: cannot list the folder ({exc.strerror})") from exc
    map_names = {n.lower() for n in PLATE_MAP_NAMES}
    own_tables = _folded(COHORT_FILES)
    skipped: list[tuple[str, str]] = []
    jobs: list[BatchJob] = []
    ngs_jobs: dict[str, int] = {}  # file stem -> its job, so one sample's BAM and VCF go together
    taken = _folded(RESERVED_NAMES)
    index_suffixes = (".tbi", ".csi", ".bai", ".crai", ".fai", ".gzi")
    for path in entries:
        why = _not_a_file(path)
        if why is not None:
            skipped.append((path.name, why))
            continue
        if not path.is_file() or path.name.casefold() in own_tables:
            continue
        if path.name.lower() in map_names or path.name.lower().endswith(".platemap.csv"):
            continue
        if path.name.endswith(index_suffixes) or path.suffix in (".md", ".toml"):
            continue
        kind, why = _sniff_kind(path)
        if kind is None:
            skipped.append((path.name, why))
            continue
        stem = path.name.split(".")[0]
        if kind == "ngs" and stem in ngs_jobs:  # e.g. tumour.bam beside tumour.vcf.gz
            jobs[ngs_jobs[stem]] = replace(
                jobs[ngs_jobs[stem]], inputs=(*jobs[ngs_jobs[stem]].inputs, path)
            )
            continue
        problem = None
        maps: tuple[Path, ...] = ()
        if kind in ("pcr", "dpcr") and plate_maps:
            maps = tuple(plate_maps)
        elif kind in ("pcr", "dpcr"):
            own = directory / f"{path.stem}.platemap.csv"
            shared = [directory / n for n in PLATE_MAP_NAMES if (directory / n).exists()]
            maps = (own,) if own.exists() else tuple(shared[:1])
            if not maps:
                problem = f"no plate map: add {own.name} or platemap.csv to {directory.name}/"
        if kind == "ngs":
            ngs_jobs[stem] = len(jobs)
        jobs.append(
            BatchJob(
                _job_id(stem, taken), kind, (path,), maps, origin="directory scan", problem=problem
            )
        )
    if not jobs:
        found = f"; skipped: {', '.join(name for name, _ in skipped)}" if skipped else ""
        raise InputError(
            None,
            f"{directory}: no plate export, dPCR export, VCF, BCF, BAM or CRAM in this folder "
            f"(the scan does not look into sub-folders){found}",
        )
    return jobs, skipped


def plan_jobs(
    source: Path, plate_maps: Sequence[Path] = ()
) -> tuple[list[BatchJob], list[tuple[str, str]]]:
    """Jobs from a manifest file or a directory (``plate_maps``: a directory scan's plates' map;
    a manifest names each plate's own)."""
    if source.is_dir():
        return scan_directory(source, plate_maps)
    if plate_maps:
        raise Esr1CallsError(
            f"{source}: --plate-map applies to a directory scan; a manifest names each plate's "
            "map in its plate_map column: drop --plate-map"
        )
    return read_manifest(source), []


def with_batch_options(
    jobs: Sequence[BatchJob], options: Mapping[str, str], kit: str | None = None
) -> list[BatchJob]:
    """The jobs with batch-wide options (batch's command line, or the workflow's config): each
    job gets those of its type (PCR_OPTIONS, NGS_OPTIONS, dPCR: assays) and ``kit`` (PCR),
    unless its manifest row sets the same option itself. Paths in ``options`` must be absolute
    (they are relative to where the command was typed, not to a manifest)."""
    # a dPCR job takes only its assay definition (its format is not a plate format)
    allowed = {"pcr": PCR_OPTIONS, "ngs": NGS_OPTIONS, "dpcr": frozenset({"assays"})}
    given = []
    for job in jobs:
        wide = {k: v for k, v in options.items() if k in allowed.get(job.kind, ())}
        job_kit = job.kit or (kit if job.kind == "pcr" else None)
        given.append(replace(job, options={**wide, **job.options}, kit=job_kit))
    return given


# ----------------------------------------------------------------------------- running a job
_DIGESTS: dict[tuple[int, int, int, int], str] = {}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _file_digest(path: Path) -> str:
    """sha256 of a file's content, remembered while it is unchanged, so that a kit, panel, PoN
    or reference FASTA shared by many jobs is read once per worker, not once per job."""
    try:
        info = path.stat()
        key = (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)
        if key not in _DIGESTS:
            _DIGESTS[key] = _sha256(path)
    except OSError as exc:
        raise InputError(path, f"cannot be read ({exc.strerror or exc})") from exc
    return _DIGESTS[key]


def _panel_file(job: BatchJob) -> Path | None:
    """The lab panel TSV a job names (relative to its manifest), None for a bundled panel."""
    spec = job.options.get("panel", DEFAULT_PANEL)
    return None if spec in (DEFAULT_PANEL, EXTENDED_PANEL) else _option_path(job, "panel")


def _job_files(job: BatchJob) -> list[tuple[str, Path]]:
    """Every file a job reads, with its role: inputs, plate maps, the kit, the panel, the PoN,
    the reference FASTA and its .fai/.gzi index (htslib decodes a CRAM through them)."""
    files = [("input", p) for p in job.inputs] + [("plate map", p) for p in job.plate_maps]
    if job.kit and job.kit != EXAMPLE_KIT:
        files.append(("kit", Path(job.kit)))
    panel = _panel_file(job)
    if panel is not None:
        files.append(("panel", panel))
    for key in ("pon", "reference", "assays"):
        option_file = _option_path(job, key)
        if option_file is not None:
            files.append((key, option_file))
    reference = _option_path(job, "reference")
    if reference is not None:
        indexes = (reference.with_name(reference.name + s) for s in (".fai", ".gzi"))
        files += [("reference index", index) for index in indexes if index.is_file()]
    return files


def _fingerprint(job: BatchJob, options: ReportOptions) -> str:
    """Content hash of everything a job's result depends on: every file it reads by content (not
    by date), the job's settings and every report option (--reproducible, the optional formats)
    except the command line, which names the whole batch."""
    digest = hashlib.sha256()
    digest.update(f"{__version__}|{job.kind}|{job.kit}|{job.sample}|".encode())
    digest.update(json.dumps([job.patient_id, job.collected]).encode())
    digest.update(f"{options.fingerprint()}|".encode())
    digest.update(json.dumps(dict(sorted(job.options.items()))).encode())
    for role, path in _job_files(job):
        # a file that is missing is the runner's error to report; it still changes the hash
        content = _file_digest(path) if path.is_file() else None
        digest.update(json.dumps([role, path.name, content]).encode())
    return digest.hexdigest()


Runner = Callable[[BatchJob], Any]


PCR_OPTIONS = frozenset({"format", "panel", "hotspots", "trust_map", "specimen"})
EXAMPLE_ASSAYS = "esr1-dpcr-example"  # dpcr.assays.EXAMPLE_ASSAYS (that package loads its readers)
NGS_OPTIONS = frozenset(
    {
        "panel",
        "hotspots",
        "build",
        "umi",
        "pon",
        "min_allele_fraction",
        "background_error",
        "reference",
        "min_base_quality",
        "min_mapping_quality",
        "min_family_size",
        "include_unlabelled_read_groups",
        "reads_are_molecules",
        "input_ng",
        "input_copies",
        "specimen",
    }
)


def _job_panel(job: BatchJob, allowed: frozenset[str]) -> Panel:
    unknown = set(job.options) - allowed
    if unknown:
        raise InputError(
            None,
            f"{job.origin}: unknown option {', '.join(sorted(unknown))} for a {job.kind} job; "
            f"known: {', '.join(sorted(allowed))}",
        )
    panel = _panel_file(job) or job.options.get("panel", DEFAULT_PANEL)
    return panel_from_options(panel, job.options.get("hotspots"))


def _number(job: BatchJob, key: str) -> float | None:
    text = job.options.get(key)
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        raise InputError(None, f"{job.origin}: option {key}={text!r} is not a number") from None


def _run_pcr(job: BatchJob) -> Any:
    """``esr1calls pcr`` with the job's options, checked once into the run's settings."""
    from .pcr.run import call_pcr
    from .pcr.settings import make_settings, parse_format

    panel = _job_panel(job, PCR_OPTIONS)
    try:
        fmt = parse_format(job.options.get("format"))
    except Esr1CallsError as exc:
        raise InputError(None, f"{job.origin}: option format: {exc}") from None
    settings = make_settings(kit=job.kit, panel=panel, fmt=fmt, trust_map=_flag(job, "trust_map"))
    return call_pcr(job.inputs, job.plate_maps, settings)


def _option_path(job: BatchJob, key: str) -> Path | None:
    text = job.options.get(key)
    if text is None or (key == "assays" and text == EXAMPLE_ASSAYS):  # the bundled set's id
        return None
    return Path(text) if Path(text).is_absolute() else job.base / text


_ON, _OFF = ("true", "yes", "1"), ("false", "no", "0")


def _flag(job: BatchJob, key: str) -> bool:
    """A manifest on/off option: true, yes or 1 (any case) is on; false, no or 0 is off; any
    other value (umi=ture) is an error, never quietly off.

    >>> _flag(BatchJob("a", "ngs", (), options={"umi": "Yes"}), "umi")
    True
    """
    text = job.options.get(key, "false")
    if text.lower() in _ON + _OFF:
        return text.lower() in _ON
    raise InputError(
        None,
        f"{job.origin}: option {key}={text!r} is neither on ({', '.join(_ON)}) nor off "
        f"({', '.join(_OFF)}); write {key}=true or {key}=false",
    )


def _whole(job: BatchJob, key: str, default: int) -> int:
    value = _number(job, key)
    if value is not None and value != int(value):
        raise InputError(None, f"{job.origin}: option {key}={value:g} is not a whole number")
    return default if value is None else int(value)


def _run_ngs(job: BatchJob) -> RunResult:
    """``esr1calls ngs`` with the job's options: its settings built once, as the command does;
    an option the job does not give takes the library's default."""
    from .ngs import call_ngs, make_settings  # loads pysam
    from .ngs.options import (
        DEFAULT_MIN_BASE_QUALITY,
        DEFAULT_MIN_FAMILY_SIZE,
        DEFAULT_MIN_MAPPING_QUALITY,
        ReadOptions,
    )

    panel = _job_panel(job, NGS_OPTIONS)
    fraction = _number(job, "min_allele_fraction")
    reads = ReadOptions(
        reference=_option_path(job, "reference"),
        min_base_quality=_whole(job, "min_base_quality", DEFAULT_MIN_BASE_QUALITY),
        min_mapping_quality=_whole(job, "min_mapping_quality", DEFAULT_MIN_MAPPING_QUALITY),
        umi=_flag(job, "umi"),
        min_family_size=_whole(job, "min_family_size", DEFAULT_MIN_FAMILY_SIZE),
        include_unlabelled_read_groups=_flag(job, "include_unlabelled_read_groups"),
        reads_are_molecules=_flag(job, "reads_are_molecules"),
        input_ng=_number(job, "input_ng"),
        input_copies=_number(job, "input_copies"),
    )
    settings = make_settings(
        panel,
        min_allele_fraction=DEFAULT_MIN_ALLELE_FRACTION if fraction is None else fraction,
        background_error=_number(job, "background_error"),
        pon=_option_path(job, "pon"),
        reads=reads,
    )
    return call_ngs(
        job.inputs, panel=panel, settings=settings, sample=job.sample,
        build=job.options.get("build"),
    )  # fmt: skip


DPCR_OPTIONS = frozenset({"format", "assays", "specimen"})


def _run_dpcr(job: BatchJob) -> RunResult:
    """A dpcr job: the same library call as ``esr1calls dpcr``."""
    from .dpcr import call_dpcr

    unknown = set(job.options) - DPCR_OPTIONS
    if unknown:
        raise InputError(
            None,
            f"{job.origin}: unknown option {', '.join(sorted(unknown))} for a dpcr job; "
            f"known: {', '.join(sorted(DPCR_OPTIONS))}",
        )
    assays = _option_path(job, "assays")
    return call_dpcr(
        job.inputs, job.plate_maps, assays=assays, fmt=job.options.get("format") or None
    )


RUNNERS: dict[str, Runner] = {"pcr": _run_pcr, "ngs": _run_ngs, "dpcr": _run_dpcr}
JOB_OPTIONS = {"pcr": PCR_OPTIONS, "ngs": NGS_OPTIONS, "dpcr": DPCR_OPTIONS}
FLAG_OPTIONS = frozenset(
    {"trust_map", "umi", "include_unlabelled_read_groups", "reads_are_molecules"}
)
_NUMBER_OPTIONS = frozenset({"min_allele_fraction", "background_error", "input_ng", "input_copies"})
_WHOLE_OPTIONS = frozenset({"min_base_quality", "min_mapping_quality", "min_family_size"})


def job_command(job: BatchJob) -> list[str]:
    """The words after ``esr1calls`` of the single command that computes what ``job`` computes
    (``pcr``, ``ngs`` or ``dpcr``, its inputs and options; no -o and no report options), every
    path as the job resolves it. The options are checked as the job checks them (an unknown
    option, a flag that is neither on nor off, a number that is none, the panel and its
    hotspots): an InputError names the row.

    >>> job_command(BatchJob("p1", "ngs", (Path("p1.bam"),), options={"umi": "yes"}))
    ['ngs', 'p1.bam', '--umi']
    """
    if job.problem:
        raise InputError(None, f"{job.origin}: {job.problem}")
    if job.kind not in JOB_OPTIONS:
        raise InputError(None, f"{job.origin}: {job.kind} jobs have no single command")
    allowed = JOB_OPTIONS[job.kind]
    if "panel" in allowed:
        _job_panel(job, allowed)  # unknown options, the panel and its hotspots
    elif set(job.options) - allowed:
        unknown = ", ".join(sorted(set(job.options) - allowed))
        raise InputError(
            None,
            f"{job.origin}: unknown option {unknown} for a {job.kind} job; "
            f"known: {', '.join(sorted(allowed))}",
        )
    words = [job.kind, *map(str, job.inputs)]
    for plate_map in job.plate_maps:
        words += ["--plate-map", str(plate_map)]
    if job.kind == "pcr" and job.kit:
        words += ["--kit", job.kit]
    if job.kind == "ngs" and job.sample:
        words += ["--sample", job.sample]
    if job.patient_id is not None:  # the manifest's patient_id and collected columns
        words += ["--patient", job.patient_id]
    if job.collected is not None:
        words += ["--collected", job.collected]
    for key, text in job.options.items():
        flag = f"--{key.replace('_', '-')}"
        if key in FLAG_OPTIONS:
            words += [flag] if _flag(job, key) else []
            continue
        if key in _NUMBER_OPTIONS:
            _number(job, key)
        elif key in _WHOLE_OPTIONS:
            text = str(_whole(job, key, 0))  # the job gives it: no default is used
        elif key in ("pon", "reference", "assays") or (key == "panel" and _panel_file(job)):
            text = str(_option_path(job, key) or text)  # the bundled assay set keeps its id
        words += [flag, text]
    return words


def plan_document(
    jobs: Sequence[BatchJob], skipped: Iterable[tuple[str, str]] = ()
) -> dict[str, Any]:
    """What ``esr1calls batch --plan`` prints: per job its id, type, single command
    (job_command), the files it reads (inputs, plate maps, kit, panel, PoN, reference) and
    ``error``, why it cannot run (then no command and no files), as batch would report it,
    and ``patient_id``, the patient its row names (None when none); the files a directory scan
    skipped; the MultiQC pair's names (a batch writes it once, for every job); and the monitor
    outputs' names (a batch writes them when samples name patients)."""
    entries = []
    for job in jobs:
        error = _job_error(job)
        command: list[str] = []
        if error is None:
            try:
                command = job_command(job)
            except Esr1CallsError as exc:
                error = str(exc)
        files = [] if error else [str(path) for _, path in _job_files(job)]
        entries.append(
            {
                "id": job.job_id,
                "type": job.kind,
                "command": command,
                "files": files,
                "error": error,
                "patient_id": job.patient_id,
            }
        )
    return {
        "jobs": entries,
        "skipped": [{"file": n, "reason": why} for n, why in skipped],
        "multiqc_files": list(MULTIQC_FILES),  # with --multiqc, in OUTDIR only (COHORT_FILES)
        "monitor_files": list(MONITOR_FILES),  # when samples name patients (monitor_batch)
    }


# ----------------------------------------------------------------------------- a job's folder
REPORT_NAMES = frozenset(FILES)
# what file browsers leave in any folder they show; never a reason to refuse a job folder
_BROWSER_LITTER = frozenset({".ds_store", "thumbs.db", "desktop.ini"})


def _private_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o777 & ~umask


def _written_by_batch(folder: Path) -> tuple[list[Path], list[Path]]:
    """The entries of a job folder that batch wrote (its state file first) and the others."""
    try:
        state = json.loads((folder / STATE_FILE).read_text(encoding="utf-8"))
        listed = set(state.get("files") or ()) if isinstance(state, dict) else set()
    except (OSError, ValueError):
        listed = set()
    ours: list[Path] = []
    theirs: list[Path] = []
    for entry in sorted(folder.iterdir(), key=lambda p: p.name != STATE_FILE):
        name = entry.name
        mine = name in REPORT_NAMES or name in listed or name == STATE_FILE
        leftover = name.startswith(".") and name.endswith(".tmp")  # an atomic write cut short
        litter = name.casefold() in _BROWSER_LITTER or name.startswith("._")
        (ours if mine or leftover or litter else theirs).append(entry)
    return ours, theirs


def _in_the_way(target: Path) -> str | None:
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        return (
            f"{target}: a file or link is in the way of the job's report folder; move it away, "
            "or choose another -o"
        )
    return None


def retire_job_folder(target: Path) -> None:
    """Remove the report an earlier run left in ``target``, so nothing there passes for current.

    The folder is renamed aside first and deleted after, so it is never seen half-deleted. Files
    esr1calls did not write are kept: then only its own files go (state file first). A folder
    signed with esr1calls sign (audit.jsonl) is kept whole.
    """
    if not target.is_dir() or target.is_symlink() or (target / AUDIT_TRAIL).exists():
        return  # a signed folder is the review record: never removed, not even in part
    ours, theirs = _written_by_batch(target)
    if not theirs:
        retired = target.parent / f"{_RETIRED}{os.urandom(6).hex()}"
        target.rename(retired)
        shutil.rmtree(retired, ignore_errors=True)
        return
    for entry in ours:
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def _replaceable(target: Path) -> None:
    """Raise unless ``target`` is absent or a folder holding only what batch wrote."""
    problem = _in_the_way(target)
    if problem:
        raise Esr1CallsError(problem)
    if (target / AUDIT_TRAIL).exists():
        raise Esr1CallsError(
            f"{target}: holds a signed review ({AUDIT_TRAIL}); batch never replaces a signed "
            "report: give the batch another -o, or move the folder away"
        )
    if target.is_dir():
        _, theirs = _written_by_batch(target)
        if theirs:
            raise Esr1CallsError(
                f"{theirs[0]}: not written by esr1calls, in the job's report folder, which batch "
                "replaces as a whole; move it elsewhere"
            )


def _publish(
    result: RunResult, target: Path, options: ReportOptions, state: dict[str, Any]
) -> None:
    """Write the job's reports into a hidden staging folder, then put it in place of ``target``."""
    staging: Path | None = None
    try:
        _replaceable(target)
        staging = Path(tempfile.mkdtemp(prefix=_STAGING, dir=target.parent))
        staging.chmod(_private_mode())  # mkdtemp makes it private; a report folder is shared
        written = write_reports(result, staging, options)
        files = {path.name: _sha256(path) for path in written}
        text = json.dumps({**state, "files": files}, indent=2) + "\n"
        write_files_atomic(staging, {STATE_FILE: text})
        retire_job_folder(target)
        staging.rename(target)
    except BaseException as exc:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        if isinstance(exc, OSError):
            raise Esr1CallsError(f"{target}: cannot write the report ({exc.strerror})") from exc
        if isinstance(exc, Esr1CallsError) and staging is not None:  # name where it was going
            raise Esr1CallsError(str(exc).replace(str(staging), str(target))) from exc
        raise


def _current_samples(target: Path, fingerprint: str) -> tuple[int, bool] | None:
    """The job's sample count, and whether a sample names a patient, when ``target`` holds the
    complete report of this fingerprint, each file as it was written (a report edited, cut or
    deleted since is recomputed); else None."""
    try:
        state = json.loads((target / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(state, dict) or state.get("fingerprint") != fingerprint:
        return None
    files, samples, patients = state.get("files"), state.get("samples"), state.get("patients")
    if not isinstance(files, dict) or not isinstance(samples, int):
        return None
    if not isinstance(patients, bool):
        return None
    if not {CALLS_JSON, CALLS_TSV, SAMPLES_TSV} <= set(files):
        return None
    for name, sha256 in files.items():
        try:
            if _sha256(target / name) != sha256:
                return None
        except OSError:
            return None
    return samples, patients


def _with_patient(job: BatchJob, result: RunResult) -> RunResult:
    """The manifest's patient_id and collected recorded on the job's one sample."""
    try:
        return with_patient(result, job.patient_id, job.collected)
    except ConfigError as exc:
        text = str(exc).replace("--patient and --collected", "patient_id and collected")
        text = text.replace("--patient", "patient_id").replace("--collected", "collected")
        raise InputError(None, f"{job.origin}: columns {text}") from None


def execute_job(job: BatchJob, outdir: str, options: ReportOptions) -> JobOutcome:
    """Run one job and write its reports (in a worker process). Never raises for bad input.

    OUTDIR/<job_id>/ ends up holding this run's complete report, or (the job failed) nothing
    of an earlier run.
    """
    target = Path(outdir) / job.job_id
    inputs = tuple(str(p) for p in job.inputs)
    error = _job_error(job)
    if error is None:
        try:
            fingerprint = _fingerprint(job, options)
            current = _current_samples(target, fingerprint)
            if current is not None:
                return JobOutcome(job.job_id, job.kind, "up to date", str(target), inputs,
                                  n_samples=current[0], patients=current[1])  # fmt: skip
            result = with_specimen(RUNNERS[job.kind](job), job.options.get("specimen"))
            result = _with_patient(job, result)
            patients = any(s.patient_id for s in result.samples)
            state = {"fingerprint": fingerprint, "inputs": list(inputs),
                     "samples": len(result.samples), "patients": patients}  # fmt: skip
            _publish(result, target, options, state)
            return JobOutcome(job.job_id, job.kind, "done", str(target), inputs,
                              n_samples=len(result.samples), patients=patients)  # fmt: skip
        except Esr1CallsError as exc:
            error = str(exc)
        except Exception as exc:  # a bug must not stop the other inputs; keep its traceback
            log.debug("job %s failed:\n%s", job.job_id, traceback.format_exc())
            error = f"internal error ({type(exc).__name__}: {exc}); rerun with --debug"
    if job.own_folder:
        try:
            retire_job_folder(target)
        except OSError as exc:
            error += (
                f"; and its earlier report in {target} cannot be removed ({exc.strerror}): "
                "delete it by hand"
            )
    return JobOutcome(job.job_id, job.kind, "failed", "", inputs, error)


def _job_error(job: BatchJob) -> str | None:
    """Why a job cannot start (a bad row, a missing file, an unknown kind), or None."""
    if job.problem:
        return f"{job.origin}: {job.problem}"
    missing = [p for p in (*job.inputs, *job.plate_maps) if not p.is_file()]
    if missing:
        return f"{missing[0].name}: no such file; check the path in {job.origin}"
    if job.kind not in RUNNERS:
        return f"{job.origin}: {job.kind} jobs are not supported by this version"
    return None


# ----------------------------------------------------------------------------- the batch
BATCH_ERROR_COLUMNS = ("job_id", "type", "inputs", "error")
BATCH_JOB_COLUMNS = ("job_id", "type", "state", "samples", "outdir", "inputs", "error")


def prepare_outdir(outdir: Path) -> None:
    """Before any job runs: OUTDIR can be created and written, nothing is in the way of a cohort
    table; the previous batch's cohort tables are removed (they are written again at the end,
    so an interrupted batch leaves none that describe other results), and so is what an
    interrupted batch left in hidden staging folders."""
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise Esr1CallsError(
            f"{outdir}: cannot create the output directory ({exc.strerror}); choose another -o"
        ) from exc
    try:
        handle, probe = tempfile.mkstemp(prefix=".esr1calls-probe-", dir=outdir)
        try:
            os.write(handle, b"esr1calls\n")
            os.fsync(handle)
        finally:
            os.close(handle)
            Path(probe).unlink()
    except OSError as exc:
        raise Esr1CallsError(
            f"{outdir}: cannot write in the output directory ({exc.strerror}); choose another -o"
        ) from exc
    for name in COHORT_FILES:
        table = outdir / name
        if table.is_dir() and not table.is_symlink():
            raise Esr1CallsError(
                f"{table}: a folder is in the way of the cohort table {name}; move it away, or "
                "choose another -o"
            )
    _remove_cohort(outdir)
    _sweep(outdir)
    _remove_cohort_drafts(outdir)


def _remove_cohort_drafts(outdir: Path) -> None:
    """The temporary cohort tables a batch stopped by force (kill -9, a power cut) left."""
    drafts = tuple(f".{name}." for name in COHORT_TABLES)
    with contextlib.suppress(OSError):
        for path in outdir.iterdir():
            if path.name.startswith(drafts) and path.name.endswith(".tmp") and path.is_file():
                path.unlink(missing_ok=True)


def _remove_cohort(outdir: Path) -> None:
    _remove_timeline(outdir)
    for name in COHORT_FILES:
        try:
            (outdir / name).unlink(missing_ok=True)
        except OSError as exc:
            raise Esr1CallsError(
                f"{outdir / name}: the cohort table of an earlier batch cannot be removed "
                f"({exc.strerror}); delete it by hand, or choose another -o"
            ) from exc


def _remove_timeline(outdir: Path) -> None:
    """An earlier batch's timeline/ pages go with its monitor outputs; a folder holding anything
    monitor did not write is left alone (monitor refuses to replace it, naming the files)."""
    from .monitor_html import TIMELINE_PAGE

    folder = outdir / TIMELINE_DIR
    if not folder.is_dir() or folder.is_symlink():
        return
    try:
        if all(TIMELINE_PAGE.match(p.name) for p in folder.iterdir()):
            shutil.rmtree(folder)
    except OSError as exc:
        raise Esr1CallsError(
            f"{folder}: the timeline of an earlier batch cannot be removed ({exc.strerror}); "
            "delete it by hand, or choose another -o"
        ) from exc


def _sweep(outdir: Path) -> None:
    """Remove the staging and retired folders a stopped batch left (never a job folder)."""
    try:
        leftovers = [p for p in outdir.iterdir() if p.name.startswith((_STAGING, _RETIRED))]
    except OSError:
        return
    for path in leftovers:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)


def _start_worker() -> None:
    """Worker start-up. Ctrl-C reaches the whole process group; only the main process acts on
    it (it stops the workers), so a worker never reports a half-run job as its outcome. A worker
    ends without the interpreter's exit handlers, so the dataclass methods it compiled are kept
    by a multiprocessing finaliser (docs/performance.md, "Start-up")."""
    from multiprocessing.util import Finalize

    from . import _dataclass_cache

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    Finalize(None, _dataclass_cache.save, exitpriority=0)


def _stop(processes: Iterable[BaseProcess]) -> None:
    """Terminate worker processes, then kill any still running a second later."""
    processes = list(processes)
    for process in processes:
        process.terminate()
    for process in processes:
        process.join(1.0)
    for process in processes:
        if process.is_alive():
            process.kill()
            process.join(1.0)


def _crashed(job: BatchJob, outdir: Path, exc: BaseException) -> JobOutcome:
    """The outcome of a job whose worker process died; its earlier report goes, as for any
    failed job."""
    error = f"worker crashed ({type(exc).__name__}: {exc})"
    if job.own_folder:
        try:
            retire_job_folder(outdir / job.job_id)
        except OSError as problem:
            error += f"; its earlier report cannot be removed ({problem.strerror})"
    return JobOutcome(job.job_id, job.kind, "failed", "", tuple(map(str, job.inputs)), error)


def _input_bytes(job: BatchJob) -> int:
    total = 0
    for path in (*job.inputs, *job.plate_maps):
        with contextlib.suppress(OSError):  # a missing input fails its job at once
            total += path.stat().st_size
    return total


def biggest_first(jobs: Sequence[BatchJob]) -> list[int]:
    """The jobs' indexes, the largest inputs first (ties in manifest order): a 2 GB BAM started
    last would keep one worker busy long after the other has run out of work.

    >>> biggest_first([BatchJob("a", "ngs", ()), BatchJob("b", "ngs", (Path(__file__),))])
    [1, 0]
    """
    sizes = [_input_bytes(job) for job in jobs]
    return sorted(range(len(jobs)), key=lambda index: (-sizes[index], index))


def _run_parallel(
    jobs: Sequence[BatchJob],
    outdir: Path,
    workers: int,
    options: ReportOptions,
    finished: Callable[[int, JobOutcome], None],
) -> None:
    # imported here: multiprocessing takes ~7 ms to load, which a one-job run never needs
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    before = set(multiprocessing.active_children())
    pool = ProcessPoolExecutor(max_workers=workers, initializer=_start_worker)
    try:
        pending: dict[Future[JobOutcome], int] = {
            pool.submit(execute_job, jobs[index], str(outdir), options): index
            for index in biggest_first(jobs)
        }
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                index = pending.pop(future)
                try:
                    outcome = future.result()
                except Exception as exc:  # a crashed worker process
                    outcome = _crashed(jobs[index], outdir, exc)
                finished(index, outcome)
    except BaseException:  # Ctrl-C (or a bug): stop now, not after the queued jobs
        pool.shutdown(wait=False, cancel_futures=True)
        _stop(set(multiprocessing.active_children()) - before)
        raise
    pool.shutdown()


def run_batch(
    jobs: Sequence[BatchJob],
    outdir: Path,
    *,
    workers: int,
    options: ReportOptions,
    skipped: Iterable[tuple[str, str]] = (),
    progress: Callable[[JobOutcome], None] | None = None,
) -> list[JobOutcome]:
    """Run the jobs on ``workers`` processes and write the cohort files into ``outdir``.

    Every job's report is written with ``options`` (command, --reproducible, the optional formats).
    An interrupt (KeyboardInterrupt) stops the workers at once and leaves OUTDIR without cohort
    tables and without half-written job folders; it is raised again.
    """
    prepare_outdir(outdir)
    outcomes: dict[int, JobOutcome] = {}
    # MultiQC: one pair for the whole batch in OUTDIR, none in the job folders (see COHORT_FILES)
    cohort_options = options
    options = replace(options, formats=options.formats - {"multiqc"})
    cohort = _CohortTables(outdir)

    def finished(index: int, outcome: JobOutcome) -> None:
        outcomes[index] = outcome
        cohort.add(index, outcome)
        if progress:
            progress(outcome)

    try:
        try:
            if workers <= 1 or len(jobs) <= 1:
                for index, job in enumerate(jobs):
                    finished(index, execute_job(job, str(outdir), options))
            else:
                _run_parallel(jobs, outdir, workers, options, finished)
        finally:
            _sweep(outdir)  # what a stopped or crashed worker left half-written
        ordered = [outcomes[index] for index in range(len(jobs))]
        _write_cohort(ordered, outdir, skipped, cohort_options, cohort)
    except BaseException:
        cohort.discard()
        raise
    return ordered


class _CohortTables:
    """samples.tsv and calls.tsv of the cohort, written while the jobs run: each job's own tables
    with a job_id column, appended in job order as soon as every earlier job has finished, so
    the rows never wait in memory (it stays flat however many jobs) and little is left to do
    when the last job ends. Both are hidden temporary files until :meth:`commit`; a problem
    with a job's table is kept and raised there, never while the other jobs still run."""

    TABLES = ((SAMPLES_TSV, SAMPLE_COLUMNS), (CALLS_TSV, CALL_COLUMNS))

    def __init__(self, outdir: Path) -> None:
        self.outdir = outdir
        self.next = 0  # the first job whose rows are not written yet
        self.waiting: dict[int, JobOutcome] = {}  # finished jobs after a job still running
        self.error: Esr1CallsError | None = None
        self.writers: list[tuple[str, Any, TextIO]] = []
        try:
            for name, columns in self.TABLES:
                writer = atomic_writer(outdir / name)
                handle = writer.__enter__()
                self.writers.append((name, writer, handle))
                handle.write("\t".join(("job_id", *columns)) + "\n")
        except OSError as exc:
            self.discard()
            raise self._cannot_write(name, exc) from exc

    def _cannot_write(self, name: str, exc: OSError) -> Esr1CallsError:
        return Esr1CallsError(
            f"{self.outdir / name}: cannot write the cohort table ({exc.strerror}); free some "
            "space or choose another -o"
        )

    def add(self, index: int, outcome: JobOutcome) -> None:
        """A finished job: its rows and those of the finished jobs after it are written, up to
        the first job still running."""
        self.waiting[index] = outcome
        while self.next in self.waiting:
            ready = self.waiting.pop(self.next)
            self.next += 1
            if self.error is not None or ready.state == "failed":
                continue
            for (name, _, handle), (_, columns) in zip(self.writers, self.TABLES, strict=True):
                try:
                    _append_table(handle, ready, name, columns)
                except Esr1CallsError as exc:
                    self.error = exc
                except _CohortWriteError as exc:
                    self.error = self._cannot_write(name, exc.error)
                if self.error is not None:
                    break

    def commit(self) -> None:
        """Put both tables in place (samples.tsv first), or raise the problem met on the way."""
        if self.error is not None:
            raise self.error
        while self.writers:
            name, writer, _ = self.writers[0]
            try:
                writer.__exit__(None, None, None)
            except OSError as exc:
                self.writers.pop(0)  # its temporary file is gone with the error
                raise self._cannot_write(name, exc) from exc
            self.writers.pop(0)

    def discard(self) -> None:
        """Remove the temporary files of the tables not yet in place."""
        while self.writers:
            _, writer, _ = self.writers.pop()
            with contextlib.suppress(Exception):
                writer.__exit__(Esr1CallsError, Esr1CallsError("discarded"), None)


class _CohortWriteError(Exception):
    """Writing to the cohort table failed (not reading the job's table): its OSError."""

    def __init__(self, error: OSError) -> None:
        super().__init__(error)
        self.error = error


def _append_table(cohort: TextIO, outcome: JobOutcome, name: str, columns: Sequence[str]) -> None:
    path = Path(outcome.outdir) / name
    try:
        with path.open(encoding="utf-8") as table:
            header = table.readline().rstrip("\n").split("\t")
            if tuple(header) != tuple(columns):  # a report from an incompatible version
                raise Esr1CallsError(
                    f"{path}: columns differ from this version's; delete the directory to "
                    "recompute it"
                )
            for line in table:
                try:
                    cohort.write(f"{outcome.job_id}\t{line}")
                except OSError as exc:
                    raise _CohortWriteError(exc) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise Esr1CallsError(
            f"{path}: cannot read the job's table for the cohort ({exc}); run the batch again"
        ) from exc


def _multiqc_files(outcomes: Sequence[JobOutcome], options: ReportOptions) -> dict[str, str]:
    """The batch's MultiQC pair: every job's calls.json merged as ``esr1calls report`` merges
    runs, so each sample is ``JOB:SAMPLE`` and the one description names every job (command,
    inputs, kit, notices); a failed job is named in a notice."""
    from .reports.merge import load_calls_json, merge_documents
    from .reports.multiqc import render_multiqc

    loaded = [load_calls_json(Path(o.outdir) / CALLS_JSON) for o in outcomes if o.state != "failed"]
    if not loaded:
        return {}  # no job has results: nothing for MultiQC to show
    document = merge_documents(loaded, options, repeats=True)
    document["run"]["notices"] = list(document["run"].get("notices") or []) + [
        f"Job {o.job_id} failed and is not in these results: {o.error}"
        for o in outcomes
        if o.state == "failed"
    ]
    return render_multiqc(document)


def _write_cohort(
    outcomes: Sequence[JobOutcome],
    outdir: Path,
    skipped: Iterable[tuple[str, str]],
    options: ReportOptions,
    cohort: _CohortTables,
) -> None:
    """The cohort tables (written while the jobs ran) put in place, the job and error lists, and
    with --multiqc the batch's MultiQC pair. They appear together or not at all: a failure or an
    interrupt while writing removes the ones already written."""
    errors = [
        {"job_id": o.job_id, "type": o.kind, "inputs": ";".join(o.inputs), "error": o.error}
        for o in outcomes
        if o.state == "failed"
    ] + [
        {"job_id": "", "type": "", "inputs": name, "error": f"skipped: {why}"}
        for name, why in skipped
    ]
    jobs_rows = [
        {
            "job_id": o.job_id,
            "type": o.kind,
            "state": o.state,
            "samples": o.n_samples,
            "outdir": os.path.relpath(o.outdir, outdir) if o.outdir else "",
            "inputs": ";".join(o.inputs),
            "error": o.error,
        }
        for o in outcomes
    ]
    try:
        cohort.commit()
        tables = {
            BATCH_JOBS_TSV: render_table(BATCH_JOB_COLUMNS, jobs_rows),
            BATCH_ERRORS_TSV: render_table(BATCH_ERROR_COLUMNS, errors),
        }
        if "multiqc" in options.formats:
            tables.update(_multiqc_files(outcomes, options))
        write_files_atomic(outdir, tables)
    except BaseException:
        for name in COHORT_FILES:
            (outdir / name).unlink(missing_ok=True)
        raise


def monitor_batch(
    outcomes: Sequence[JobOutcome],
    outdir: Path,
    *,
    sheet: Path | None,
    command: str,
    reproducible: bool,
) -> Any:
    """``esr1calls monitor`` over the batch's results, into OUTDIR (monitor.json, monitor.tsv,
    timeline.html), when ``sheet`` (--samples) is given or a job's samples name patients (the
    manifest's patient_id, the plate map's); else None. Each job's folder is its run, so a
    sheet names samples ``JOB:SAMPLE`` (or a bare id that only one job has). Returns the
    MonitorOutcome; bad patients or dates raise an Esr1CallsError naming the file."""
    reported = [o for o in outcomes if o.state != "failed"]
    if sheet is None and not any(o.patients for o in reported):
        return None
    if not reported:
        raise Esr1CallsError("no job has results to follow over time; fix the failed jobs first")
    from .monitor_report import run_monitor

    return run_monitor(
        [Path(o.outdir) / CALLS_JSON for o in reported],
        outdir,
        command=command,
        sheet=sheet,
        reproducible=reproducible,
    )


def summarise(outcomes: Sequence[JobOutcome]) -> str:
    counts = {
        state: sum(o.state == state for o in outcomes) for state in ("done", "up to date", "failed")
    }
    return ", ".join(f"{n} {state}" for state, n in counts.items() if n) or "no jobs"


def default_workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))
