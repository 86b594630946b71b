"""RDML 1.0-1.4 (Real-time PCR Data Markup Language): a zip holding ``rdml_data.xml`` (Bio-Rad
names it ``<file>.xml``), or the plain XML.

Every ``<experiment>/<run>/<react>/<data>`` becomes one row: the react id is the well (row-major
index on the run's ``pcrFormat``, or ``A1`` in v1.0; a one-column format is a rotor, kept as
tube numbers), the target's ``dyeId`` is the dye. No Cq is an absent ``<cq>`` or ``-1``.
StepOne (RDML 1.0) writes the cycle count (40.0) for wells that did not amplify: the value is
kept as exported, flagged ``CQ_AT_LAST_CYCLE`` and explained in the metadata -- deciding what
it means is the caller's rule, not the reader's. ``<excl>`` marks a well OMITTED. What later
versions add (1.3: dPCR ``<partitions>``, whose ``<data>`` hold partition counts, not a Cq;
1.4: ``<vol>``, ``<Ncopy>``) is read past.

Runs: a file may hold several. Runs with no dye in common make one plate (CFX writes one run
per fluor); runs that each share a dye with every other are separate plates, each with its own
controls, and :func:`read_runs` returns one plate per run (``read_plate`` refuses such a file,
naming the runs). Any other mix of runs cannot be split into plates safely and is refused.

The XML is parsed incrementally and each react is dropped once read (melting curves are not
even built), so memory stays flat however many curve points the file carries. Places name the
element (``run "Run 1", react "37", data tar "Y537S"``): Bio-Rad writes the whole document on
one line.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import PlateFormatError
from ._source import (
    CHUNK_BYTES,
    ZIP_MAGIC,
    Export,
    member_chunks,
    member_name,
    open_zip,
    refuse_doctype,
)
from ._table import PlateBuilder, WellError, flag_token, parse_number, parse_tube, parse_well
from ._xml import iterparse_xml, local_name
from .format import PlateFormat
from .plate import Plate

FORMAT_ID = "rdml"
LABEL = PlateFormat.RDML.label
_NS = "http://www.rdml.org"
_SERIAL = re.compile(r"(?:Cycler\s+SN|Serial(?:\s+Number)?)\s*[:=]\s*([A-Za-z0-9-]+)")
_DOCTYPE_OVERLAP = 32  # bytes kept from the previous chunk, so a token split by a chunk is seen
LAST_CYCLE_NOTE = (
    "Some wells have a Cq equal to the last cycle; StepOne software writes the cycle count as "
    "the Cq of wells that did not amplify. The values are kept as exported and flagged "
    "CQ_AT_LAST_CYCLE."
)


def sniff(head: str) -> bool:
    """True for RDML XML (zipped or plain): an ``<rdml`` root in the rdml.org namespace."""
    return "<rdml" in head and "rdml.org" in head


def _child(element: ET.Element | None, tag: str) -> ET.Element | None:
    if element is None:
        return None
    return element.find(f"{{{_NS}}}{tag}")


def _text(element: ET.Element | None, tag: str) -> str:
    child = _child(element, tag)
    return (child.text or "").strip() if child is not None else ""


# ---------------------------------------------------------------------------------------------
# what one pass over the XML collects


@dataclass
class _Data:
    """One ``<react><data>``: the raw values, resolved into a well row once the run is read."""

    react_id: str
    sample: str
    target: str
    cq: str
    excluded: str | None  # the <excl> text; None when absent
    last_cycle: float | None  # the highest <adp><cyc>, if the curve is there
    line: int
    place: str  # run "...", react "...", data tar "..."


@dataclass
class _Run:
    experiment: str
    run: str
    info: dict[str, str] = field(default_factory=dict)
    layout: tuple[int, int] | None = None
    tubes: bool = False
    data: list[_Data] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f'run "{self.run}"'


@dataclass
class _Document:
    member: str = ""  # the XML's name (the archive member, or the file)
    version: str = ""
    publisher: str = ""
    experiments: list[str] = field(default_factory=list)
    dyes: dict[str, str] = field(default_factory=dict)  # target id -> dye
    sample_types: dict[str, str] = field(default_factory=dict)
    runs: list[_Run] = field(default_factory=list)


def _chunks(export: Export) -> tuple[Iterator[bytes], str]:
    """The RDML XML in chunks (never expanded whole in memory), and its name for messages."""
    path, data = export.path, export.data
    if not data.startswith(ZIP_MAGIC):
        return (data[i : i + CHUNK_BYTES] for i in range(0, len(data), CHUNK_BYTES)), path.name
    archive = open_zip(path, data)
    infos = archive.infolist()
    preferred = [i for i in infos if member_name(i.filename).lower().endswith("rdml_data.xml")]
    for info in preferred + [i for i in infos if i not in preferred]:
        name = member_name(info.filename)
        if not name.lower().endswith((".xml", ".rdml")):
            continue
        head = b"".join(member_chunks(path, archive, info, limit=4096))
        if b"<rdml" in head or b"<rdml" in head.replace(b"\x00", b""):
            return member_chunks(path, archive, info), name
    raise PlateFormatError(
        path,
        "the archive holds no RDML XML (no <rdml> document); export RDML again, or pass --format",
    )


def _refusing_doctype(path: Path, chunks: Iterator[bytes], member: str) -> Iterator[bytes]:
    """The chunks, after checking each (with the end of the one before) for a DOCTYPE."""
    tail = b""
    for chunk in chunks:
        refuse_doctype(path, tail + chunk, member)
        tail = chunk[-_DOCTYPE_OVERLAP:]
        yield chunk


def _parse(export: Export) -> _Document:
    """One incremental pass: targets, samples and every run's reacts, each react cleared."""
    path = export.path
    chunks, member = _chunks(export)
    document = _Document(member)
    experiment = ""
    run: _Run | None = None
    data_lines: list[int] = []  # start lines of the current react's <data> children
    events = iterparse_xml(
        path,
        _refusing_doctype(path, chunks, member),
        member,
        starts=("rdml", "experiment", "run", "data"),
        ends=("react", "run"),
        skip=("mdp",),  # melting curves: no Cq in them, and often the bulk of the file
    )
    for event, element, line, parent in events:
        tag = local_name(element.tag)
        if event == "start":
            if not parent:
                if element.tag != f"{{{_NS}}}rdml":
                    raise PlateFormatError(
                        path,
                        f"{member}: the root element is {element.tag!r}, not RDML <rdml> in {_NS}",
                        place=f"line {line}",
                    )
                document.version = element.get("version", "")
            elif tag == "experiment" and parent == "rdml":
                experiment = element.get("id", "")
                document.experiments.append(experiment)
            elif tag == "run" and parent == "experiment":
                run = _Run(experiment, element.get("id", ""))
                document.runs.append(run)
            elif tag == "data" and parent == "react":
                data_lines.append(line)
        elif parent == "rdml":
            _read_definition(document, tag, element)
            element.clear()
        elif tag == "react" and parent == "run" and run is not None:
            run.data.extend(_react_data(run, element, data_lines))
            data_lines.clear()
            element.clear()  # its amplification points are the bulk of the file
        elif tag == "run" and parent == "experiment" and run is not None:
            _read_run_settings(run, element)
            element.clear()
    return document


def _read_definition(document: _Document, tag: str, element: ET.Element) -> None:
    if tag == "target":
        dye_element = _child(element, "dyeId")
        dye = ""
        if dye_element is not None:
            dye = dye_element.get("id") or (dye_element.text or "").strip()  # v1.0: text
        document.dyes[element.get("id", "")] = dye
    elif tag == "sample":
        document.sample_types[element.get("id", "")] = _text(element, "type") or "unkn"
    elif tag == "id" and not document.publisher:
        document.publisher = _text(element, "publisher")


def _react_data(run: _Run, react: ET.Element, lines: list[int]) -> Iterator[_Data]:
    react_id = react.get("id", "")
    sample_element = _child(react, "sample")
    sample = sample_element.get("id", "") if sample_element is not None else ""
    # only the react's own <data>: those under <partitions> (RDML 1.3+, dPCR) hold no Cq
    for data_element, line in zip(react.findall(f"{{{_NS}}}data"), lines, strict=True):
        tar = _child(data_element, "tar")
        target = tar.get("id", "") if tar is not None else ""
        excl = _child(data_element, "excl")
        cycles = [parse_number(c.text or "") for c in data_element.iter(f"{{{_NS}}}cyc")]
        known = [c for c in cycles if c is not None]
        yield _Data(
            react_id=react_id,
            sample=sample,
            target=target,
            cq=_text(data_element, "cq"),
            excluded=None if excl is None else (excl.text or "").strip(),
            last_cycle=max(known) if known else None,
            line=line,
            place=f'{run.name}, react "{react_id}", data tar "{target}"',
        )


def _read_run_settings(run: _Run, element: ET.Element) -> None:
    software = _child(element, "dataCollectionSoftware")
    run.info = {
        "experiment": run.experiment,
        "run": run.run,
        "instrument": _text(element, "instrument"),
        "software": " ".join(t for t in (_text(software, "name"), _text(software, "version")) if t),
        "run_date": _text(element, "runDate"),
        "cq_detection_method": _text(element, "cqDetectionMethod"),
    }
    run.layout, run.tubes = _layout(_child(element, "pcrFormat"))


# ---------------------------------------------------------------------------------------------
# runs into plates


def read(export: Export) -> Plate:
    """Read an RDML file that holds one plate (one run, or CFX's one run per fluor)."""
    path = export.path
    plates = read_runs(export)
    if len(plates) > 1:
        runs = ", ".join(repr(p.run_id) for p in plates)
        raise PlateFormatError(
            path,
            f"holds {len(plates)} runs that each use the same dyes ({runs}): each run is a plate "
            "of its own, with its own controls. 'esr1calls pcr' reads every run as a plate "
            "(name them in the plate map's plate column); in Python use read_plates(); or export "
            "one run per RDML file",
        )
    return plates[0]


def read_runs(export: Export) -> list[Plate]:
    """Every plate in an RDML file: one for runs with no dye in common, else one per run."""
    path = export.path
    document = _parse(export)
    runs = [r for r in document.runs if r.data]
    if not runs:
        raise PlateFormatError(
            path, "no well results were found; the RDML holds no <react><data> results"
        )
    dye_sets = [{document.dyes.get(d.target, "").upper() for d in r.data} for r in runs]
    pairs = [(a, b) for i, a in enumerate(dye_sets) for b in dye_sets[i + 1 :]]
    if all(not (a & b) for a, b in pairs):
        groups = [runs]  # one plate read in several runs, one per dye (CFX)
    elif all(a & b for a, b in pairs):
        groups = [[r] for r in runs]
    else:
        names = ", ".join(r.name for r in runs)
        raise PlateFormatError(
            path,
            f"holds {len(runs)} runs ({names}), some with dyes in common and some without, so "
            "which runs make up one plate cannot be told; export one plate per RDML file",
        )
    run_ids = [r.run for r in runs]
    unique = len(set(run_ids)) == len(run_ids)
    plates = []
    if len(groups) == 1:  # as one plate: every run's settings, the experiment's id
        run_id = document.experiments[0] if len(document.experiments) == 1 else ""
        return [_plate(path, document, runs, run_id, document.runs)]
    for group in groups:
        run_id = group[0].run if unique else f"{group[0].experiment} {group[0].run}"
        plates.append(_plate(path, document, group, run_id, group))
    return plates


def _plate(
    path: Path, document: _Document, runs: list[_Run], run_id: str, described: list[_Run]
) -> Plate:
    """One plate from ``runs``; its metadata lists the ``described`` runs' settings."""
    builder = PlateBuilder(path, FORMAT_ID)
    last_cycle = False
    for run in runs:
        for data in run.data:
            try:
                if run.tubes and data.react_id.strip().isdigit():
                    well = parse_tube(data.react_id)
                else:
                    well = parse_well(data.react_id, run.layout)
            except WellError as exc:
                raise PlateFormatError(
                    path, f"react {data.react_id!r}: {exc}", place=data.place
                ) from exc
            if data.target not in document.dyes:
                raise PlateFormatError(
                    path,
                    f"react {data.react_id} refers to target {data.target!r}, which the file "
                    "does not define; the RDML is incomplete",
                    place=data.place,
                )
            ct, flags = _cq(path, data)
            last_cycle = last_cycle or "CQ_AT_LAST_CYCLE" in flags
            builder.add(
                well=well,
                dye=document.dyes[data.target],
                ct=ct,
                place=data.place,
                source_row=data.line,
                sample_name=data.sample,
                target_name=data.target,
                flags=flags,
            )
    infos = [r.info for r in described]
    instruments = [i["instrument"] for i in infos if i.get("instrument")]
    serial = ""
    for text in instruments:
        match = _SERIAL.search(text)
        if match:
            serial = match.group(1)
            break
    metadata: dict[str, Any] = {
        "export": LABEL,
        "rdml_version": document.version,
        "xml_member": document.member,
        "instrument": instruments[0] if instruments else "",
        "serial": serial,
        "software": next((i["software"] for i in infos if i.get("software")), ""),
        "run_date": next((i["run_date"] for i in infos if i.get("run_date")), ""),
        "publisher": document.publisher,
        "runs": infos,
        "sample_types": document.sample_types,
        "target_dyes": document.dyes,
    }
    if last_cycle:
        metadata["note"] = LAST_CYCLE_NOTE
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


def _cq(path: Path, data: _Data) -> tuple[float, list[str]]:
    flags: list[str] = []
    if data.excluded is not None:
        flags.append("OMITTED")
        reasons = data.excluded.split(";")
        flags.extend(f"EXCL_{flag_token(reason)}" for reason in reasons if reason.strip())
    text = data.cq
    if not text:
        return math.nan, flags
    value = parse_number(text)
    if value is None or not math.isfinite(value):
        raise PlateFormatError(
            path, f"<cq> {text!r} is not a number; the RDML is damaged", place=data.place
        )
    if value == -1:  # RDML 1.2+: "Not Available"
        return math.nan, flags
    if value < 0:
        raise PlateFormatError(
            path,
            f"<cq> {text!r} is negative; RDML allows only -1 (not available)",
            place=data.place,
        )
    if value < 1:  # cycles are counted from 1: a 0 read as a Cq was a DETECTED mutation
        raise PlateFormatError(
            path,
            f"<cq> {text!r} is below 1, not a possible Cq (cycles are counted from 1); RDML "
            "writes -1 where there is none: correct it or export the file again",
            place=data.place,
        )
    if data.last_cycle is not None and value >= data.last_cycle:
        flags.append("CQ_AT_LAST_CYCLE")
    return value, flags
