"""RDML 1.0-1.3 (Real-time PCR Data Markup Language): a zip holding ``rdml_data.xml`` (Bio-Rad
names it ``<file>.xml``), or the plain XML.

Every ``<experiment>/<run>/<react>/<data>`` becomes one row: the react id is the well (row-major
index on the run's ``pcrFormat``, or ``A1`` in v1.0; a one-column format is a rotor, kept as
tube numbers), the target's ``dyeId`` is the dye. No Cq is an absent ``<cq>`` or ``-1``.
StepOne (RDML 1.0) writes the cycle count (40.0) for wells that did not amplify: the value is
kept as exported, flagged ``CQ_AT_LAST_CYCLE`` and explained in the metadata -- deciding what
it means is the caller's rule, not the reader's. ``<excl>`` marks a well OMITTED.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from ..errors import PlateFormatError
from . import Plate
from ._source import ZIP_MAGIC, export_bytes, member_name, open_zip, read_member, refuse_doctype
from ._table import PlateBuilder, WellError, flag_token, parse_number, parse_tube, parse_well
from ._xml import parse_xml

FORMAT_ID = "rdml"
LABEL = "RDML 1.0-1.3 (any instrument's RDML export)"
_NS = "http://www.rdml.org"
_SERIAL = re.compile(r"(?:Cycler\s+SN|Serial(?:\s+Number)?)\s*[:=]\s*([A-Za-z0-9-]+)")
LAST_CYCLE_NOTE = (
    "Some wells have a Cq equal to the last cycle; StepOne software writes the cycle count as "
    "the Cq of wells that did not amplify. The values are kept as exported and flagged "
    "CQ_AT_LAST_CYCLE."
)


def sniff(head: str) -> bool:
    """True for RDML XML (zipped or plain): an ``<rdml`` root in the rdml.org namespace."""
    return "<rdml" in head and "rdml.org" in head


def _q(tag: str) -> str:
    return f"{{{_NS}}}{tag}"


def _text(element: ET.Element | None, tag: str) -> str:
    if element is None:
        return ""
    child = element.find(_q(tag))
    return (child.text or "").strip() if child is not None else ""


def _xml_bytes(path: Path) -> tuple[bytes, str]:
    data = export_bytes(path)
    if not data.startswith(ZIP_MAGIC):
        return data, path.name
    archive = open_zip(path, data)
    infos = archive.infolist()
    preferred = [i for i in infos if member_name(i.filename).lower().endswith("rdml_data.xml")]
    for info in preferred + [i for i in infos if i not in preferred]:
        name = member_name(info.filename)
        if not name.lower().endswith((".xml", ".rdml")):
            continue
        content = read_member(path, archive, info)
        if b"<rdml" in content[:4096] or b"<rdml" in content[:4096].replace(b"\x00", b""):
            return content, name
    raise PlateFormatError(
        path,
        "the archive holds no RDML XML (no <rdml> document); export RDML again, or pass --format",
    )


def read(path: Path) -> Plate:
    """Read every run of an RDML file into one plate."""
    path = Path(path)
    data, member = _xml_bytes(path)
    refuse_doctype(path, data, member)
    root, lines = parse_xml(path, data, member)
    if root.tag != _q("rdml"):
        raise PlateFormatError(
            path,
            f"{member}: the root element is {root.tag!r}, not RDML <rdml> in {_NS}",
            place="line 1",
        )
    version = root.get("version", "")
    dyes = {}
    for target_element in root.findall(_q("target")):
        dye_element = target_element.find(_q("dyeId"))
        dye = ""
        if dye_element is not None:
            dye = dye_element.get("id") or (dye_element.text or "").strip()  # v1.0: text
        dyes[target_element.get("id", "")] = dye
    sample_types = {s.get("id", ""): _text(s, "type") or "unkn" for s in root.findall(_q("sample"))}

    builder = PlateBuilder(path, FORMAT_ID)
    runs: list[dict[str, str]] = []
    last_cycle = False
    experiments = root.findall(_q("experiment"))
    for experiment in experiments:
        for run in experiment.findall(_q("run")):
            layout, tubes = _layout(run.find(_q("pcrFormat")))
            software = run.find(_q("dataCollectionSoftware"))
            runs.append(
                {
                    "experiment": experiment.get("id", ""),
                    "run": run.get("id", ""),
                    "instrument": _text(run, "instrument"),
                    "software": " ".join(
                        t for t in (_text(software, "name"), _text(software, "version")) if t
                    ),
                    "run_date": _text(run, "runDate"),
                    "cq_detection_method": _text(run, "cqDetectionMethod"),
                }
            )
            for react in run.findall(_q("react")):
                react_id = react.get("id", "")
                sample_element = react.find(_q("sample"))
                sample = sample_element.get("id", "") if sample_element is not None else ""
                try:
                    if tubes and react_id.strip().isdigit():
                        well = parse_tube(react_id)
                    else:
                        well = parse_well(react_id, layout)
                except WellError as exc:
                    raise PlateFormatError(
                        path, f"react {react_id!r}: {exc}", place=f"line {lines.get(id(react), 0)}"
                    ) from exc
                for data_element in react.findall(_q("data")):
                    tar = data_element.find(_q("tar"))
                    target = tar.get("id", "") if tar is not None else ""
                    line = lines.get(id(data_element), 0)
                    place = f"line {line}"
                    if target not in dyes:
                        raise PlateFormatError(
                            path,
                            f"react {react_id} refers to target {target!r}, which the "
                            "file does not define; the RDML is incomplete",
                            place=place,
                        )
                    ct, flags = _cq(path, data_element, place)
                    if "CQ_AT_LAST_CYCLE" in flags:
                        last_cycle = True
                    builder.add(
                        well=well,
                        dye=dyes[target],
                        ct=ct,
                        place=place,
                        source_row=line,
                        sample_name=sample,
                        target_name=target,
                        flags=flags,
                    )

    identity = root.find(_q("id"))
    instruments = [r["instrument"] for r in runs if r["instrument"]]
    serial = ""
    for text in instruments:
        match = _SERIAL.search(text)
        if match:
            serial = match.group(1)
            break
    metadata: dict[str, Any] = {
        "export": LABEL,
        "rdml_version": version,
        "xml_member": member,
        "instrument": instruments[0] if instruments else "",
        "serial": serial,
        "software": next((r["software"] for r in runs if r["software"]), ""),
        "run_date": next((r["run_date"] for r in runs if r["run_date"]), ""),
        "publisher": _text(identity, "publisher"),
        "runs": runs,
        "sample_types": sample_types,
        "target_dyes": dyes,
    }
    if last_cycle:
        metadata["note"] = LAST_CYCLE_NOTE
    experiment_ids = [e.get("id", "") for e in experiments]
    run_id = experiment_ids[0] if len(experiment_ids) == 1 else ""
    return builder.build(run_id, metadata, fix="the RDML holds no <react><data> results")


def _layout(pcr_format: ET.Element | None) -> tuple[tuple[int, int] | None, bool]:
    """(rows, columns) of a plate, and whether reacts are rotor positions (tubes)."""
    if pcr_format is None:
        return None, False
    rows = parse_number(_text(pcr_format, "rows"))
    columns = parse_number(_text(pcr_format, "columns"))
    if rows is None or columns is None or not (0 < rows <= 1000 and 0 < columns <= 1000):
        return None, True  # "free format": numeric ids are positions without a plate
    if columns == 1 or _text(pcr_format, "rowLabel") == "123" == _text(pcr_format, "columnLabel"):
        return None, True
    return (int(rows), int(columns)), False


def _cq(path: Path, data_element: ET.Element, place: str) -> tuple[float, list[str]]:
    flags: list[str] = []
    excl = _text(data_element, "excl")
    if data_element.find(_q("excl")) is not None:
        flags.append("OMITTED")
        flags.extend(f"EXCL_{flag_token(reason)}" for reason in excl.split(";") if reason.strip())
    text = _text(data_element, "cq")
    if not text:
        return math.nan, flags
    value = parse_number(text)
    if value is None or not math.isfinite(value):
        raise PlateFormatError(
            path, f"<cq> {text!r} is not a number; the RDML is damaged", place=place
        )
    if value == -1:  # RDML 1.2+: "Not Available"
        return math.nan, flags
    if value < 0:
        raise PlateFormatError(
            path, f"<cq> {text!r} is negative; RDML allows only -1 (not available)", place=place
        )
    cycles = [parse_number(c.text or "") for c in data_element.iter(_q("cyc"))]
    known = [c for c in cycles if c is not None]
    if known and value >= max(known):
        flags.append("CQ_AT_LAST_CYCLE")
    return value, flags
