"""``esr1calls monitor``: calls.json documents and a sample sheet in, monitor.json, monitor.tsv and
timeline.html out.

Documents are read and validated one at a time (``cohort.load_calls_json``) and only what the
states need is kept (``monitor.SampleCollector``). Patients are then evaluated one at a time, in
patient-id order, and each is written to monitor.json, monitor.tsv and its timeline page as it
is done, so a cohort of 10,000 patients is never held as reports in memory. Every file is written
atomically; with ``--reproducible`` the outputs are byte-identical on re-run.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from ._package_data import read_text
from .errors import Esr1CallsError, InputError
from .model import InputFile
from .monitor import (
    MIN_DELTA_CT_CHANGE,
    MIN_FOLD,
    P_VALUE_MAX,
    HotspotState,
    PatientHistory,
    SampleCollector,
    patients_in_order,
)
from .monitor_html import TimelineWriter
from .patients import read_sample_sheet
from .provenance import tool_info, utc_now
from .reports.calls_json import REVIEW_STATUS
from .reports.merge import load_calls_json
from .reports.tables import tsv_cell
from .reports.write import atomic_writer

__all__ = [
    "MONITOR_COLUMNS",
    "MONITOR_JSON",
    "MONITOR_SCHEMA_VERSION",
    "MONITOR_TSV",
    "MonitorOutcome",
    "load_monitor_schema",
    "patient_document",
    "run_monitor",
]

log = logging.getLogger(__name__)

MONITOR_SCHEMA_VERSION = "1.0.0"
MONITOR_JSON, MONITOR_TSV = "monitor.json", "monitor.tsv"
MONITOR_COLUMNS = (
    "patient_id",
    "collected",
    "sample_id",
    "method",
    "hotspot",
    "status",
    "state",
    "fraction",
    "reasons",
)


@dataclass(frozen=True)
class MonitorOutcome:
    """What the command tells the user: counts, and where the files went."""

    patients: int
    flagged: tuple[tuple[str, tuple[str, ...]], ...]  # (patient, its flags)
    timepoints: int
    samples: int
    unassigned: tuple[str, ...]
    unused_rows: tuple[str, ...]
    notices: tuple[str, ...]
    written: tuple[Path, ...]


def load_monitor_schema() -> dict[str, Any]:
    """The JSON Schema of monitor.json that ships with the package."""
    text = read_text("data", "monitor.schema.json")
    schema: dict[str, Any] = json.loads(text)
    return schema


def _hotspot_document(state: HotspotState) -> dict[str, Any]:
    previous = state.previous
    return {
        "status": state.status,
        "state": state.state.value,
        "fraction": state.fraction,
        "reasons": list(state.reasons),
        "evidence": {
            "samples": [
                {"sample_id": sample.sample_id, "method": sample.method, **observation.as_dict()}
                for sample, observation in state.samples
            ],
            "previous": None
            if previous is None
            else {"collected": previous[0], "status": previous[1]},
            "comparison": None if state.comparison is None else state.comparison.as_dict(),
        },
    }


def patient_document(history: PatientHistory) -> dict[str, Any]:
    """One patient of monitor.json's ``patients``."""
    return {
        "patient_id": history.patient_id,
        "flagged": history.flagged,
        "flags": list(history.flags),
        "timepoints": [
            {
                "collected": timepoint.collected,
                "samples": [
                    {
                        "sample_id": s.sample_id,
                        "method": s.method,
                        "status": s.status,
                        "document": s.document,
                        "note": s.note,
                    }
                    for s in timepoint.samples
                ],
                "hotspots": {h.hotspot: _hotspot_document(h) for h in timepoint.hotspots},
            }
            for timepoint in history.timepoints
        ],
    }


def _tsv_rows(history: PatientHistory) -> list[str]:
    """monitor.tsv's rows of one patient. Text from the inputs (ids, methods, hotspot names) is
    guarded like every TSV here (``tsv_cell``); each distinct value once, as 660,000 rows of a
    national cohort repeat them."""
    guarded: dict[str, str] = {}

    def cell(text: str) -> str:
        found = guarded.get(text)
        if found is None:
            found = guarded[text] = tsv_cell(text)
        return found

    patient = cell(history.patient_id)
    lines = []
    for timepoint in history.timepoints:
        for state in timepoint.hotspots:
            samples = cell(";".join(s.sample_id for s, _ in state.samples))
            methods = cell(";".join(s.method for s, _ in state.samples))
            fraction = "" if state.fraction is None else tsv_cell(state.fraction)
            reasons = ";".join(state.reasons)
            lines.append(
                f"{patient}\t{timepoint.collected}\t{samples}\t{methods}\t{cell(state.hotspot)}"
                f"\t{state.status}\t{state.state.value}\t{fraction}\t{cell(reasons)}\n"
            )
    return lines


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def _head(command: str, reproducible: bool, inputs: Sequence[InputFile]) -> dict[str, Any]:
    return {
        "schema_version": MONITOR_SCHEMA_VERSION,
        "tool": tool_info(),
        "run": {
            "command": command,
            "utc_time": None if reproducible else utc_now(),
            "reproducible": reproducible,
            "review_status": REVIEW_STATUS,
            "inputs": [{"path": f.path, "sha256": f.sha256, "format": f.format} for f in inputs],
            "thresholds": {
                "p_value_max": P_VALUE_MAX,
                "min_fold": MIN_FOLD,
                "min_delta_ct_change": MIN_DELTA_CT_CHANGE,
            },
        },
    }


def _notices(unassigned: Sequence[str], unused: Sequence[str]) -> list[str]:
    notices = []
    if unassigned:
        shown = ", ".join(unassigned[:10]) + (", ..." if len(unassigned) > 10 else "")
        notices.append(
            f"{len(unassigned)} sample(s) name no patient and are not monitored ({shown}); give "
            "them in the sample sheet (--samples) if they belong to a patient"
        )
    if unused:
        shown = ", ".join(unused[:10]) + (", ..." if len(unused) > 10 else "")
        notices.append(
            f"{len(unused)} sample sheet line(s) name no sample of these calls.json files "
            f"({shown}); a missing calls.json leaves that timepoint out"
        )
    return notices


def run_monitor(
    calls_json: Sequence[str | Path],
    outdir: str | Path,
    *,
    command: str,
    sheet: str | Path | None = None,
    reproducible: bool = False,
    single_page_patients: int | None = None,
) -> MonitorOutcome:
    """Read every calls.json (validated, one at a time), place each sample on its patient's
    timeline, and write monitor.json, monitor.tsv and timeline.html into ``outdir``."""
    outdir = Path(outdir)
    sample_sheet = None if sheet is None else read_sample_sheet(sheet)
    collector = SampleCollector(sample_sheet)
    inputs: list[InputFile] = []
    for path in calls_json:
        loaded = load_calls_json(path)
        collector.add(
            str(path), loaded.sha256, loaded.document, folder=Path(path).resolve().parent.parts
        )
        inputs.append(InputFile(str(path), loaded.sha256, "calls.json"))
        log.info("read %s: %d sample(s)", path, len(loaded.document.get("samples") or []))
        del loaded
    if sample_sheet is not None:
        inputs.append(InputFile(str(sheet), sample_sheet.sha256, "sample sheet"))
    patients, unassigned, unused = collector.finish()
    if not patients:
        raise InputError(
            None,
            f"no sample in the {len(calls_json)} calls.json file(s) names a patient and a "
            "collection date; give them in a sample sheet (--samples SHEET: sample_id, "
            "patient_id, collected) or the plate map's patient_id and collected columns",
        )
    notices = _notices(unassigned, unused)
    head = _head(command, reproducible, inputs)
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise Esr1CallsError(
            f"{outdir}: cannot create the output directory ({exc.strerror}); choose another -o"
        ) from exc
    timeline = TimelineWriter(outdir, head, notices, len(patients), single_page_patients)
    flagged: list[tuple[str, tuple[str, ...]]] = []
    timepoints = samples = 0
    try:
        with (
            atomic_writer(outdir / MONITOR_JSON) as json_out,
            atomic_writer(outdir / MONITOR_TSV) as tsv_out,
        ):
            tsv_out.write("\t".join(MONITOR_COLUMNS) + "\n")
            _open_json(json_out, head, notices, unassigned, unused)
            for index, history in enumerate(patients_in_order(patients)):
                json_out.write(("\n" if index == 0 else ",\n") + _dump(patient_document(history)))
                tsv_out.writelines(_tsv_rows(history))
                timeline.add(history)
                timepoints += len(history.timepoints)
                samples += sum(len(t.samples) for t in history.timepoints)
                if history.flagged:
                    flagged.append((history.patient_id, history.flags))
            summary = {
                "patients": len(patients),
                "flagged": len(flagged),
                "timepoints": timepoints,
                "samples": samples,
            }
            json_out.write(f'\n],\n"summary": {_dump(summary)}\n}}\n')
        written = [outdir / MONITOR_JSON, outdir / MONITOR_TSV, *timeline.close()]
    except OSError as exc:
        timeline.discard()
        raise Esr1CallsError(f"{outdir}: cannot write the monitoring report ({exc})") from exc
    except BaseException:
        timeline.discard()
        raise
    return MonitorOutcome(
        patients=len(patients),
        flagged=tuple(flagged),
        timepoints=timepoints,
        samples=samples,
        unassigned=tuple(unassigned),
        unused_rows=tuple(unused),
        notices=tuple(notices),
        written=tuple(written),
    )


def _open_json(
    handle: TextIO,
    head: Mapping[str, Any],
    notices: Sequence[str],
    unassigned: Sequence[str],
    unused: Sequence[str],
) -> None:
    """monitor.json up to its patients: one patient per line follows, so a 10,000-patient file
    is written as it is computed and stays readable line by line."""
    handle.write("{\n")
    for key, value in head.items():
        handle.write(f"{_dump(key)}: {_dump(value)},\n")
    handle.write(f'"notices": {_dump(list(notices))},\n')
    handle.write(f'"unassigned": {_dump(list(unassigned))},\n')
    handle.write(f'"sheet_rows_unused": {_dump(list(unused))},\n')
    handle.write('"patients": [')
