"""Calls -> calls.json, then every report rendered from that document.

``to_json_document`` turns a RunResult into the calls.json document; everything else (calls.tsv,
samples.tsv, report.html and the optional MultiQC, FHIR and VCF files) is rendered from the
document alone, so ``esr1calls report`` re-renders and merges earlier results with the same code.
Every file is rendered in memory first and then written atomically (temporary file + rename),
so a crash never leaves a half-written report. Text that came from input files is guarded
against spreadsheet formula injection in TSV and escaped in HTML.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from importlib import resources
from pathlib import Path
from typing import Any, TextIO

from ..errors import Esr1CallsError
from ..interpretation import interpret, lowest_wild_type_copies
from ..knowledge import Knowledge, load_knowledge
from ..model import Build, Call, CallStatus, InputFile, RunResult, SampleReport
from ..provenance import tool_info, utc_now
from .clinical import CLINICAL_HTML, CLINICAL_PDF
from .document import detected_hotspots
from .multiqc import MULTIQC_GENERAL_STATS, MULTIQC_TABLE, render_multiqc

log = logging.getLogger(__name__)

__all__ = [
    "CALL_COLUMNS",
    "SAMPLE_COLUMNS",
    "SCHEMA_VERSION",
    "ReportOptions",
    "load_schema",
    "render_calls_tsv",
    "render_files",
    "render_json",
    "render_samples_tsv",
    "to_json_document",
    "write_document",
    "write_files_atomic",
    "write_reports",
    "write_text_atomic",
]

# 1.1.0: cohort fields; 1.2.0: SOURCES_DISAGREE; 1.3.0: PASSIVE_REF_CONFLICT and
# LOW_QUALITY_SUPPORT; 1.4.0: MAP_EXPORT_MISMATCH and UNMARKED_DUPLICATES; 1.5.0: a sample's
# patient_id and collected date, and digital PCR (method dPCR, its reason codes, dPCR plate
# layouts); 1.6.0: the clinical reading: run.knowledge (the actionability file's id, version and
# sha256), a sample's specimen, interpretation (a negative's reading and ctDNA status) and
# actionability (the knowledge file's entries its detected mutations match) (every older
# document stays valid)
SCHEMA_VERSION = "1.6.0"
REVIEW_STATUS = "unreviewed"  # esr1calls never signs out results

CALL_COLUMNS = (
    "sample_id",
    "method",
    "hotspot",
    "hgvs_c",
    "hgvs_p",
    "status",
    "reasons",
    "action",
    "allele_fraction",
    "allele_fraction_ci95_low",
    "allele_fraction_ci95_high",
    "alt_count",
    "depth",
    "lod95",
    "delta_ct",
    "ct_mutation",
    "ct_reference",
    "ct_ic",
    "cutoff",
    "source",
)
SAMPLE_COLUMNS = (
    "sample_id",
    "method",
    "status",
    "detected",
    "n_detected",
    "n_not_detected",
    "n_indeterminate",
    "n_invalid",
    "summary",
    "source",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "|")


# File names in OUTDIR (the MultiQC ones are its renderer's)
CALLS_JSON, CALLS_TSV, SAMPLES_TSV, REPORT_HTML = (
    "calls.json",
    "calls.tsv",
    "samples.tsv",
    "report.html",
)
FHIR_BUNDLE, DETECTED_VCF = "calls.fhir.json", "detected.vcf"
OPTIONAL_REPORTS = (MULTIQC_TABLE, MULTIQC_GENERAL_STATS, FHIR_BUNDLE, DETECTED_VCF, CLINICAL_PDF)
AUDIT_TRAIL = "audit.jsonl"  # the review record of esr1calls sign (audit.py)


@dataclass(frozen=True)
class ReportOptions:
    """How the report is stamped and which optional formats are written.

    ``build`` is the genome build for positions of calls whose run recorded none (PCR);
    None means "not given": GRCh38, or the build the NGS runs recorded.
    """

    command: str
    reproducible: bool = False
    multiqc: bool = False
    fhir: bool = False
    vcf: bool = False
    build: Build | None = None
    knowledge: str | None = None  # --knowledge FILE; None: the bundled file
    lang: str = "en"  # --lang: the language of clinical.html (en or zh-CN)
    pdf: bool = False  # --pdf: clinical.pdf too, printed by headless Chromium
    # detected.vcf in its older form: only hotspots DETECTED in some sample (--detected-only)
    vcf_detected_only: bool = False
    # the identifier system of patient ids in the FHIR bundle (--patient-id-system); None: the
    # documented local default (reports/fhir.py LOCAL_PATIENT_SYSTEM)
    patient_id_system: str | None = None


def load_schema() -> dict[str, Any]:
    """The JSON Schema of calls.json that ships with the package."""
    text = (resources.files("esr1calls") / "data" / "calls.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def _jsonable(value: Any) -> Any:
    """Enums, tuples, numpy scalars and NaN into plain JSON values (NaN and inf become null)."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if hasattr(value, "item"):  # numpy scalar
        return _jsonable(value.item())
    return str(value)


def _call_document(call: Call) -> dict[str, Any]:
    return {
        "hotspot": call.hotspot,
        "hgvs_c": call.hgvs_c,
        "hgvs_p": call.hgvs_p,
        "status": call.status.value,
        "reasons": [r.value for r in call.reasons],
        "action": call.action,
        "allele_fraction": call.allele_fraction,
        "allele_fraction_ci95": call.allele_fraction_ci95,
        "alt_count": call.alt_count,
        "depth": call.depth,
        "lod95": call.lod95,
        "delta_ct": call.delta_ct,
        "ct_mutation": call.ct_mutation,
        "ct_reference": call.ct_reference,
        "ct_ic": call.ct_ic,
        "cutoff": call.cutoff,
        "evidence": call.evidence,
    }


def _sample_document(sample: SampleReport, knowledge: Knowledge | None = None) -> dict[str, Any]:
    detected = [c.hotspot for c in sample.calls if c.status is CallStatus.DETECTED]
    copies = lowest_wild_type_copies({"evidence": c.evidence} for c in sample.calls)
    reading = interpret(
        sample.status.value, sample.method.value, sample.specimen, sample.ctdna, copies
    )
    return {
        "sample_id": sample.sample_id,
        "method": sample.method.value,
        "status": sample.status.value,
        "summary": sample.summary,
        "source": sample.source,
        "details": sample.details,
        "calls": [_call_document(c) for c in sample.calls],
        # only when known, so documents without patients keep their shape
        **({"patient_id": sample.patient_id} if sample.patient_id is not None else {}),
        **({"collected": sample.collected} if sample.collected is not None else {}),
        # the clinical reading (schema 1.6.0; docs/clinical.md)
        **({"specimen": sample.specimen} if sample.specimen is not None else {}),
        **({"ctdna": dict(sample.ctdna)} if sample.ctdna is not None else {}),
        **({"interpretation": reading} if reading is not None else {}),
        **(
            {"actionability": knowledge.relevant(detected)}
            if knowledge is not None and detected
            else {}
        ),
    }


def document_head(
    options: ReportOptions, inputs: Iterable[InputFile], **run: Any
) -> dict[str, Any]:
    """The provenance every calls.json starts with: schema, tool, and the run block (command,
    time unless --reproducible, review status, inputs with sha256, then ``run`` entries)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": tool_info(),
        "run": {
            "command": options.command,
            "utc_time": None if options.reproducible else utc_now(),
            "reproducible": options.reproducible,
            "review_status": REVIEW_STATUS,
            "inputs": [
                {"path": str(f.path), "sha256": f.sha256, "format": f.format} for f in inputs
            ],
            **run,
        },
    }


def to_json_document(result: RunResult, options: ReportOptions) -> dict[str, Any]:
    """The calls.json document (a plain dict) for a run."""
    knowledge = load_knowledge(options.knowledge)
    document = {
        **document_head(
            options,
            result.inputs,
            panel=result.panel,
            kit=result.kit,
            thresholds=result.thresholds,
            notices=list(result.notices),
            knowledge=knowledge.provenance(),
        ),
        "samples": [_sample_document(s, knowledge) for s in result.samples],
        "run_qc": [
            {
                "run_id": q.run_id,
                "check": q.check,
                "subject": q.subject,
                "value": q.value,
                "expected": q.expected,
                "passed": q.passed,
                "reason": q.reason.value if q.reason else None,
            }
            for q in result.run_qc
        ],
        "plates": list(result.plates),
        "dropped": [
            {"source": d.source, "place": d.place, "reason": d.reason} for d in result.dropped
        ],
    }
    cleaned: dict[str, Any] = _jsonable(document)
    return cleaned


def render_json(document: Mapping[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def tsv_cell(value: Any) -> str:
    """One TSV cell: numbers plain, text one-line and formula-safe.

    >>> tsv_cell('=HYPERLINK("x")')
    '\\'=HYPERLINK("x")'
    >>> tsv_cell(-1.5), tsv_cell(0.0021), tsv_cell(None)
    ('-1.5', '0.0021', '')
    """
    if value is None:
        return ""
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.6g}"
    text = " ".join(str(value).replace("\t", " ").splitlines())
    if text.lstrip(" ").startswith(_FORMULA_START):
        return "'" + text
    return text


def render_table(columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> str:
    lines = ["\t".join(columns)]
    lines.extend("\t".join(tsv_cell(row.get(c)) for c in columns) for row in rows)
    return "\n".join(lines) + "\n"


SampleLike = SampleReport | Mapping[str, Any]


def as_document(sample: SampleLike) -> Mapping[str, Any]:
    if isinstance(sample, SampleReport):
        converted: dict[str, Any] = _jsonable(_sample_document(sample))
        return converted
    return sample


def call_row(sample: Mapping[str, Any], call: Mapping[str, Any]) -> dict[str, Any]:
    low, high = call.get("allele_fraction_ci95") or (None, None)
    return {
        "sample_id": sample.get("sample_id"),
        "method": sample.get("method"),
        **{c: call.get(c) for c in CALL_COLUMNS if c in call},
        "reasons": ";".join(call.get("reasons") or []),
        "allele_fraction_ci95_low": low,
        "allele_fraction_ci95_high": high,
        "source": sample.get("source"),
    }


def render_calls_tsv(samples: Iterable[SampleLike]) -> str:
    """calls.tsv: one row per sample x hotspot (samples as objects or calls.json entries)."""
    documents = [as_document(s) for s in samples]
    return render_table(CALL_COLUMNS, (call_row(s, c) for s in documents for c in s["calls"]))


def sample_row(sample: Mapping[str, Any]) -> dict[str, Any]:
    calls = sample.get("calls") or []

    def count(status: CallStatus) -> int:
        return sum(c.get("status") == status.value for c in calls)

    return {
        "sample_id": sample.get("sample_id"),
        "method": sample.get("method"),
        "status": sample.get("status"),
        "detected": ",".join(detected_hotspots(sample)),
        "n_detected": count(CallStatus.DETECTED),
        "n_not_detected": count(CallStatus.NOT_DETECTED),
        "n_indeterminate": count(CallStatus.INDETERMINATE),
        "n_invalid": count(CallStatus.INVALID),
        "summary": sample.get("summary"),
        "source": sample.get("source"),
    }


def render_samples_tsv(samples: Iterable[SampleLike]) -> str:
    """samples.tsv: one row per sample."""
    return render_table(SAMPLE_COLUMNS, (sample_row(as_document(s)) for s in samples))


@contextlib.contextmanager
def atomic_writer(path: Path) -> Iterator[TextIO]:
    """A text handle on a temporary file beside ``path``, renamed onto it only on success."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp makes the file private (0600); a report is shared like any file the user writes
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        Path(tmp_name).replace(path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file in the same directory and a rename."""
    with atomic_writer(path) as handle:
        handle.write(text)


def write_files_atomic(outdir: Path, files: Mapping[str, str]) -> list[Path]:
    """Write several rendered files into ``outdir``; each appears whole or not at all."""
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise Esr1CallsError(
            f"{outdir}: cannot create the output directory ({exc.strerror}); choose another -o"
        ) from exc
    written = []
    for name, text in files.items():
        target = outdir / name
        try:
            write_text_atomic(target, text)
        except OSError as exc:
            raise Esr1CallsError(f"{target}: cannot write ({exc.strerror})") from exc
        written.append(target)
    return written


def render_files(document: Mapping[str, Any], options: ReportOptions) -> dict[str, str]:
    """Every report file for a calls.json document, rendered in memory: name -> text."""
    # imported here: the renderers are only needed once there is something to write
    from .clinical import render_clinical
    from .fhir import render_fhir_bundle
    from .html import render_html
    from .vcf import render_detected_vcf

    samples = document["samples"]
    files = {
        CALLS_JSON: render_json(document),
        CALLS_TSV: render_calls_tsv(samples),
        SAMPLES_TSV: render_samples_tsv(samples),
        REPORT_HTML: render_html(document),
        CLINICAL_HTML: render_clinical(document, options.lang),
    }
    if options.multiqc:
        files.update(render_multiqc(document))
    if options.fhir:
        files[FHIR_BUNDLE] = render_fhir_bundle(
            document,
            default_build=options.build,
            **({"patient_system": options.patient_id_system} if options.patient_id_system else {}),
        )
    if options.vcf:
        files[DETECTED_VCF] = render_detected_vcf(
            document, build=options.build, detected_only=options.vcf_detected_only
        )
    return files


def write_document(
    document: Mapping[str, Any], outdir: str | Path, options: ReportOptions
) -> list[Path]:
    """Render every report of a calls.json document and write them atomically into ``outdir``.

    When this replaces a different calls.json, the optional reports an earlier run left there
    and this one does not write (say detected.vcf, after a re-run without --vcf) are removed:
    they describe the earlier calls and must not sit beside the new ones. A folder signed with
    ``esr1calls sign`` is refused as a whole: its reports are the signed record.
    """
    outdir = Path(outdir)
    browser = None
    if options.pdf:
        from .clinical import check_pdf_renderer

        browser = check_pdf_renderer()  # before anything is written: no half a report
    if (outdir / AUDIT_TRAIL).exists():
        raise Esr1CallsError(
            f"{outdir}: holds a signed review ({AUDIT_TRAIL}); new reports there would replace "
            "the signed ones and break the record: write them to another -o"
        )
    files = render_files(document, options)
    try:
        previous: str | None = (outdir / CALLS_JSON).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        previous = None
    written = write_files_atomic(outdir, files)
    if browser is not None:
        from .clinical import render_pdf

        render_pdf(outdir / CLINICAL_HTML, outdir / CLINICAL_PDF, browser)
        written.append(outdir / CLINICAL_PDF)
    if previous != files[CALLS_JSON]:
        for name in OPTIONAL_REPORTS:
            stale = outdir / name
            if stale not in written and stale.is_file():
                try:
                    stale.unlink()
                except OSError as exc:
                    raise Esr1CallsError(
                        f"{stale}: written by an earlier run and no longer matching calls.json, "
                        f"but it cannot be removed ({exc.strerror}); delete it by hand"
                    ) from exc
                log.warning(
                    "removed %s: an earlier run wrote it; it does not match these calls", stale
                )
    return written


def write_reports(result: RunResult, outdir: str | Path, options: ReportOptions) -> list[Path]:
    """Write calls.json, calls.tsv, samples.tsv, report.html, clinical.html (and the optional
    formats)."""
    return write_document(to_json_document(result, options), outdir, options)
