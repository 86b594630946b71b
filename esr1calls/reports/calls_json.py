"""The calls.json document: built from a run's result, rendered as JSON, and its schema.

``to_json_document`` turns a RunResult into the calls.json document (a plain dict);
``document_head`` is the provenance every calls.json starts with (``esr1calls report`` starts
its merged document with it too); ``as_document`` gives one sample as a calls.json entry whether
it is a SampleReport or already one. Every other report is rendered from this document alone.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from enum import Enum
from json.encoder import encode_basestring
from typing import Any

from .._package_data import read_text
from ..interpretation import interpret, lowest_wild_type_copies
from ..knowledge import Knowledge, load_knowledge
from ..model import Call, CallStatus, InputFile, RunResult, SampleReport
from ..provenance import tool_info, utc_now
from .options import ReportOptions

__all__ = [
    "CALLS_JSON",
    "FILES",
    "REVIEW_STATUS",
    "SCHEMA_VERSION",
    "SampleLike",
    "as_document",
    "document_head",
    "load_schema",
    "render_files",
    "render_json",
    "to_json_document",
]

CALLS_JSON = "calls.json"
FILES = (CALLS_JSON,)

# 1.1.0: cohort fields; 1.2.0: SOURCES_DISAGREE; 1.3.0: PASSIVE_REF_CONFLICT and
# LOW_QUALITY_SUPPORT; 1.4.0: MAP_EXPORT_MISMATCH and UNMARKED_DUPLICATES; 1.5.0: a sample's
# patient_id and collected date, and digital PCR (method dPCR, its reason codes, dPCR plate
# layouts); 1.6.0: the clinical reading: run.knowledge (the actionability file's id, version and
# sha256), a sample's specimen, interpretation (a negative's reading and ctDNA status) and
# actionability (the knowledge file's entries its detected mutations match) (every older
# document stays valid)
SCHEMA_VERSION = "1.6.0"
REVIEW_STATUS = "unreviewed"  # esr1calls never signs out results


def load_schema() -> dict[str, Any]:
    """The JSON Schema of calls.json that ships with the package."""
    text = read_text("data", "calls.schema.json")
    schema: dict[str, Any] = json.loads(text)
    return schema


def _jsonable(value: Any) -> Any:
    """Enums, tuples, numpy scalars and NaN into plain JSON values (NaN and inf become null)."""
    kind = type(value)  # the plain types first: a 384-well plate's document has 500,000 values
    if kind is str or kind is bool or kind is int or value is None:
        return value
    if kind is float:
        return None if math.isnan(value) or math.isinf(value) else value
    if kind is dict:
        return {str(k): _jsonable(v) for k, v in value.items()}
    if kind is list or kind is tuple:
        return [_jsonable(v) for v in value]
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
    """``json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False)`` and a line end,
    byte for byte, about twice as fast: json's indenting encoder is pure Python (its C encoder
    does not indent), and a plate's calls.json is 0.4 MB. A value json would convert or refuse
    (a subclass, a non-string key, NaN) leaves the work to json itself."""
    parts: list[str] = []
    try:
        _indented(document, parts, "\n")
    except _NotPlainJsonError:
        return json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    parts.append("\n")
    return "".join(parts)


class _NotPlainJsonError(Exception):
    """A value :func:`_indented` leaves to json.dumps."""


def _indented(value: Any, out: list[str], indent: str) -> None:
    """Append ``value`` as json.dumps(indent=2) writes it; ``indent`` is the line end and the
    indentation of the line it is on."""
    kind = type(value)
    if kind is str:
        out.append(encode_basestring(value))
    elif kind is dict:
        if not value:
            out.append("{}")
            return
        inner = indent + "  "
        separator = "{" + inner
        for key, item in value.items():
            if type(key) is not str:
                raise _NotPlainJsonError
            out.append(separator + encode_basestring(key) + ": ")
            _indented(item, out, inner)
            separator = "," + inner
        out.append(indent + "}")
    elif kind is list or kind is tuple:
        if not value:
            out.append("[]")
            return
        inner = indent + "  "
        separator = "[" + inner
        for item in value:
            out.append(separator)
            _indented(item, out, inner)
            separator = "," + inner
        out.append(indent + "]")
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif kind is int:
        out.append(int.__repr__(value))
    elif kind is float and not (math.isnan(value) or math.isinf(value)):
        out.append(float.__repr__(value))
    else:
        raise _NotPlainJsonError


def render_files(document: Mapping[str, Any], options: ReportOptions) -> dict[str, str]:
    """calls.json itself, as the registry of formats renders it."""
    return {CALLS_JSON: render_json(document)}


SampleLike = SampleReport | Mapping[str, Any]


def as_document(sample: SampleLike) -> Mapping[str, Any]:
    if isinstance(sample, SampleReport):
        converted: dict[str, Any] = _jsonable(_sample_document(sample))
        return converted
    return sample
