"""calls.json documents for monitoring tests, built to the schema: NGS calls from counts, PCR calls
from delta-Ct, dPCR calls from partitions, on the default 11 hotspots (the rest NOT_DETECTED)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from esr1calls.hotspots import load_panel
from esr1calls.model import InputFile
from esr1calls.reports.calls_json import document_head, render_json
from esr1calls.reports.options import ReportOptions

PANEL = load_panel()
HOTSPOTS = [h.name for h in PANEL]
_REASON = {"INDETERMINATE": "INSUFFICIENT_DEPTH", "INVALID": "PC_FAIL"}


def call(hotspot: str, status: str = "NOT_DETECTED", **values: Any) -> dict[str, Any]:
    """One call; ``values`` override the nulls (alt_count, depth, delta_ct, allele_fraction,
    lod95, reasons, evidence)."""
    spot = PANEL[hotspot]
    reasons = values.pop("reasons", [_REASON[status]] if status in _REASON else [])
    document = {
        "hotspot": hotspot, "hgvs_c": spot.hgvs_c, "hgvs_p": spot.hgvs_p, "status": status,
        "reasons": list(reasons), "action": None, "allele_fraction": None,
        "allele_fraction_ci95": None, "alt_count": None, "depth": None, "lod95": 0.002,
        "delta_ct": None, "ct_mutation": None, "ct_reference": None, "ct_ic": None,
        "cutoff": None, "evidence": {},
    }  # fmt: skip
    document.update(values)
    return document


def ngs(hotspot: str, status: str, alt: int, depth: int, **values: Any) -> dict[str, Any]:
    return call(hotspot, status, alt_count=alt, depth=depth, allele_fraction=alt / depth,
                **values)  # fmt: skip


def pcr(hotspot: str, status: str, delta_ct: float | None, **values: Any) -> dict[str, Any]:
    fraction = None if delta_ct is None else round(1.95 ** -(delta_ct - 0.5), 6)
    return call(hotspot, status, delta_ct=delta_ct, allele_fraction=fraction, **values)


def dpcr(hotspot: str, status: str, k_m: int, k_w: int, **values: Any) -> dict[str, Any]:
    return call(hotspot, status, allele_fraction=k_m / (k_m + k_w),
                evidence={"k_m": k_m, "k_w": k_w}, **values)  # fmt: skip


def sample(
    sample_id: str,
    method: str,
    calls: Sequence[dict[str, Any]],
    *,
    patient: str | None = None,
    collected: str | None = None,
    source: str = "",
    run_id: str | None = None,
) -> dict[str, Any]:
    """A sample with the given calls and every other hotspot NOT_DETECTED."""
    given = {c["hotspot"]: c for c in calls}
    filler = {"NGS": lambda h: ngs(h, "NOT_DETECTED", 0, 20000, lod95=0.0016)}.get(
        method, lambda h: call(h, "NOT_DETECTED")
    )
    all_calls = [given.get(h) or filler(h) for h in HOTSPOTS]
    statuses = {c["status"] for c in all_calls}
    status = (
        "POSITIVE" if "DETECTED" in statuses
        else "NEGATIVE" if statuses == {"NOT_DETECTED"}
        else "INVALID" if statuses == {"INVALID"} else "INDETERMINATE"
    )  # fmt: skip
    document = {
        "sample_id": sample_id, "method": method, "status": status, "summary": "",
        "source": source, "details": {"run_id": run_id} if run_id else {}, "calls": all_calls,
    }  # fmt: skip
    if patient is not None:
        document["patient_id"] = patient
    if collected is not None:
        document["collected"] = collected
    return document


def document(
    samples: Sequence[dict[str, Any]],
    command: str = "esr1calls ngs in.vcf -o out",
    inputs: Sequence[InputFile] = (),
) -> dict[str, Any]:
    return {
        **document_head(
            ReportOptions(command, reproducible=True),
            inputs,
            panel=PANEL.describe(),
            kit=None,
            thresholds={},
            notices=[],
        ),
        "samples": list(samples),
        "run_qc": [],
        "plates": [],
        "dropped": [],
    }


def write(folder: Path, doc: Mapping[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "calls.json"
    path.write_text(render_json(doc), encoding="utf-8")
    return path


def digest(doc: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()
