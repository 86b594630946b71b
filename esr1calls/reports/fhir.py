"""calls.fhir.json: a FHIR R4 Bundle following the HL7 Genomics Reporting IG (STU2, 2.0.0).

Per sample, one DiagnosticReport (profile genomics-report) whose results are one Variant
Observation per tested hotspot (profile variant, code LOINC 69548-6), valued Present, Absent,
Indeterminate or No call (``CallStatus.fhir_value``, LOINC answer list LL1971-2), with the method
(LL4048-6: qPCR, Sequencing; digital PCR "PCR" with SNOMED CT 1303992007 beside it), HGVS c. and
p., transcript, genomic coordinates in the sample's build, the allele fraction when it was
measured (NGS, dPCR) and the alt count of reads (NGS); a dPCR drop-off region's call names its
region (LOINC 47999-8 DNA region name) in place of an allele. One Device resource
names the software and version; every DiagnosticReport carries the audit trail (command, panel,
kit, inputs with sha256, review status) as extensions, since R4 has no other place for it.

Status: esr1calls never signs out results. R4 DiagnosticReport ``preliminary`` means "verified
early results"; ``partial`` means "data in the report may be incomplete or unverified", which is
what an unreviewed esr1calls report is, so reports are ``partial``. Observations are
``preliminary`` ("data may be incomplete or unverified"). A reviewer's system makes them final.

Identity: a Patient resource is written only for a sample that names a real ``patient_id``
(plate map column, ``--patient``, a batch manifest), identified by that id in the identifier
system the lab configures (``--patient-id-system``, default ``LOCAL_PATIENT_SYSTEM``); samples of
one patient share it. A lab sample id never becomes a Patient: two plates' "S1" are two
specimens, not one patient. Each sample is a Specimen (its sample id, in a merged document also
its ``RUN:SAMPLE`` label; the collection date from ``collected``), referenced by its report and
observations; a sample without a patient id has reports with no subject (the lab's system links
the specimen to its patient). Resource ids are UUIDs derived from the document's content, so
``--reproducible`` output is byte-identical and two different runs never collide.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Mapping
from typing import Any

from ..errors import Esr1CallsError
from ..model import Build, CallStatus, reportable_fraction, required_power
from ..text import exact_percent, percent
from ..transcript import ACCESSION, PROTEIN_ACCESSION
from .document import (
    Locus,
    hotspot_locus,
    notices,
    qualified_labels,
    reason_sentences,
    run_of,
    sample_build,
    tested_calls,
)
from .options import ReportOptions

__all__ = [
    "FHIR_BUNDLE",
    "FILES",
    "LOCAL_PATIENT_SYSTEM",
    "check_identifier_system",
    "fhir_bundle",
    "render_fhir_bundle",
    "render_files",
]

FHIR_BUNDLE = "calls.fhir.json"
FILES = (FHIR_BUNDLE,)

Document = Mapping[str, Any]
_IG = "http://hl7.org/fhir/uv/genomics-reporting/StructureDefinition/"
_EXT = "https://esr1calls.example/fhir/StructureDefinition/"
LOINC = "http://loinc.org"
_UCUM = "http://unitsofmeasure.org"
_V2_0074 = "http://terminology.hl7.org/CodeSystem/v2-0074"
_OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
_HGVS = "http://varnomen.hgvs.org"
_REFSEQ = "http://www.ncbi.nlm.nih.gov/refseq"
_HGNC = "http://www.genenames.org/geneId"
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://esr1calls.example/fhir")
# the patient identifier system when the lab names none: local to the lab, never a national id
LOCAL_PATIENT_SYSTEM = "urn:esr1calls:local-patient-id"
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:\S+")

# LL1971-2 (required binding of the Variant profile's value)
VALUE_CODES = {
    "Present": "LA9633-4",
    "Absent": "LA9634-2",
    "No call": "LA18198-4",
    "Indeterminate": "LA11884-6",
}
METHOD_CODES = {  # LL4048-6; ARMS-PCR kits are real-time PCR
    "PCR": ("LA26419-4", "qPCR (real-time PCR)"),
    "NGS": ("LA26398-0", "Sequencing"),
    # LL4048-6 has no digital PCR answer (its "digital array", LA26403-8, is an array platform,
    # not partitions): the IG binds Observation.method extensibly, so dPCR carries the answer
    # that covers it, LA26418-6 "PCR", and the precise concept beside it, SNOMED CT 1303992007
    # (as the German MII molecular genetics module and DEMIS list it).
    "dPCR": ("LA26418-6", "PCR"),
}
METHOD_TEXT = {"PCR": "ARMS-PCR", "NGS": "NGS", "dPCR": "Digital PCR"}
_SNOMED = "http://snomed.info/sct"
SNOMED_METHOD_CODES = {
    "dPCR": ("1303992007", "Digital polymerase chain reaction technique (qualifier value)")
}
ASSEMBLY_CODES = {Build.GRCH37: ("LA14029-5", "GRCh37"), Build.GRCH38: ("LA26806-2", "GRCh38")}
CHR6_REFSEQ = {Build.GRCH37: "NC_000006.11", Build.GRCH38: "NC_000006.12"}


def _coding(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    coding = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return {"coding": [coding]}


def _loinc(code: str, display: str) -> dict[str, Any]:
    return _coding(LOINC, code, display)


def _component(code: str, display: str, **value: Any) -> dict[str, Any]:
    return {"code": _loinc(code, display), **value}


def _quantity(code: str, display: str, value: Any, unit: str) -> dict[str, Any]:
    """A component valued as a dimensionless UCUM quantity ("1") with a readable unit."""
    quantity = {"value": value, "system": _UCUM, "code": "1", "unit": unit}
    return _component(code, display, valueQuantity=quantity)


def _ext(name: str, **value: Any) -> dict[str, Any]:
    return {"url": _EXT + name, **value}


def _audit_extensions(document: Document, sample: Mapping[str, Any]) -> list[dict[str, Any]]:
    run = run_of(document, sample)
    tool = document.get("tool") or {}
    out = [
        _ext("review-status", valueCode=str(document.get("run", {}).get("review_status"))),
        _ext("generated-by", valueString=f"{tool.get('name')} {tool.get('version')}"),
        _ext("command", valueString=str(run.get("command"))),
    ]
    if document.get("run", {}).get("sources"):
        out.append(_ext("report-command", valueString=str(document["run"].get("command"))))
    panel = run.get("panel") or {}
    out.append(
        _ext(
            "panel",
            valueString=f"{panel.get('name')} {panel.get('version')} sha256:{panel.get('sha256')}",
        )
    )
    kit = run.get("kit")
    if isinstance(kit, Mapping):
        placeholder = " PLACEHOLDER" if kit.get("placeholder") else ""
        out.append(
            _ext(
                "kit",
                valueString=f"{kit.get('id')} {kit.get('version')} "
                f"sha256:{kit.get('sha256')}{placeholder}",
            )
        )
    for item in run.get("inputs") or []:
        out.append(_ext("input", valueString=f"{item.get('path')} sha256:{item.get('sha256')}"))
    for notice in notices(document, sample):
        out.append(_ext("notice", valueString=notice))
    return out


def check_identifier_system(text: str) -> str:
    """A patient identifier system as FHIR ``Identifier.system`` takes it (an absolute URI:
    ``urn:oid:1.2.36.146.595.217.0.1``, ``https://hospital.example/mrn``), or ValueError."""
    value = text.strip()
    if not _URI.fullmatch(value):
        raise ValueError(
            f"patient id system {text!r} is not a URI; give the one your lab's records use, "
            f"e.g. urn:oid:1.2.3.4 or https://hospital.example/mrn (default {LOCAL_PATIENT_SYSTEM})"
        )
    return value


def _patient(patient_id: str, system: str) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "identifier": [{"use": "usual", "system": system, "value": patient_id}],
    }


def _specimen(sample: Mapping[str, Any], label: str, patient_ref: str | None) -> dict[str, Any]:
    sample_id = str(sample.get("sample_id"))
    identifiers: list[dict[str, Any]] = [
        {"type": {"text": "laboratory sample id"}, "value": sample_id}
    ]
    if label != sample_id:
        identifiers.append({"type": {"text": "esr1calls run:sample"}, "value": label})
    specimen: dict[str, Any] = {"resourceType": "Specimen", "identifier": identifiers}
    if patient_ref:
        specimen["subject"] = {"reference": patient_ref}
    if sample.get("collected"):
        specimen["collection"] = {"collectedDateTime": str(sample["collected"])}
    return specimen


def _note(call: Mapping[str, Any], method: str, thresholds: Mapping[str, Any]) -> str:
    """The call in words; numbers of settings from ``thresholds``, the call's run's."""
    parts = [f"esr1calls status {call.get('status')} (unreviewed)."]
    parts.extend(reason_sentences(call, thresholds))
    lod = call.get("lod95")
    if lod is not None:
        # a PCR negative's limit is the kit's reportable fraction: shown exactly
        shown = exact_percent(lod) if lod == reportable_fraction(thresholds) else percent(lod)
        power = exact_percent(required_power(thresholds))
        parts.append(f"Achieved {power} limit of detection {shown}.")
    if method == "PCR":
        if call.get("delta_ct") is not None:
            parts.append(f"Delta-Ct {call['delta_ct']:.2f} (cut-off {call.get('cutoff')}).")
        if call.get("allele_fraction") is not None:
            low, high = call.get("allele_fraction_ci95") or (None, None)
            interval = ""
            if low is not None and high is not None:
                interval = f" (95 % interval {percent(low)}-{percent(high)})"
            parts.append(
                f"Semi-quantitative allele fraction estimate from delta-Ct "
                f"{percent(call['allele_fraction'])}{interval}; not a measured fraction."
            )
    if method == "dPCR":
        parts.extend(_dpcr_note(call))
    return " ".join(parts)


def _dpcr_note(call: Mapping[str, Any]) -> list[str]:
    """The partition counts and background a dPCR call rests on, in words."""
    evidence = call.get("evidence") or {}
    parts = []
    if call.get("alt_count") is not None and call.get("depth") is not None:
        k_req = evidence.get("k_req")
        needed = f" (k_req {k_req})" if k_req is not None else ""
        parts.append(
            f"Digital PCR, assay {evidence.get('assay')}: {call['alt_count']:,} of "
            f"{call['depth']:,} accepted partitions mutant-positive{needed}."
        )
    if call.get("allele_fraction") is not None:
        low, high = call.get("allele_fraction_ci95") or (None, None)
        interval = ""
        if low is not None and high is not None:
            interval = f" (95 % interval {percent(low)}-{percent(high)})"
        parts.append(f"Fraction {percent(call['allele_fraction'])}{interval}.")
    if evidence.get("p0") is not None:
        parts.append(f"Background p0 {evidence['p0']:.3g}: {evidence.get('p0_source')}.")
    return parts


def _locus_components(locus: Locus) -> list[dict[str, Any]]:
    code, display = ASSEMBLY_CODES[locus.build]
    return [
        _component(
            "62374-4",
            "Human reference sequence assembly version",
            valueCodeableConcept=_loinc(code, display),
        ),
        _component(
            "48013-7",
            "Genomic reference sequence ID",
            valueCodeableConcept=_coding(_REFSEQ, CHR6_REFSEQ[locus.build]),
        ),
        _component(
            "92822-6",
            "Genomic coordinate system",
            valueCodeableConcept=_loinc("LA30102-0", "1-based character counting"),
        ),
        _component(
            "81254-5",
            "Variant exact start-end",
            valueRange={"low": {"value": locus.pos}, "high": {"value": locus.end}},
        ),
        _component("69547-8", "Genomic ref allele", valueString=locus.ref),
        _component("69551-0", "Genomic alt allele", valueString=locus.alt),
    ]


def _method(method: str) -> dict[str, Any]:
    """Observation.method: the LL4048-6 answer, for dPCR with the SNOMED CT concept beside it."""
    code, display = METHOD_CODES[method]
    codings = [{"system": LOINC, "code": code, "display": display}]
    if method in SNOMED_METHOD_CODES:
        precise, precise_display = SNOMED_METHOD_CODES[method]
        codings.append({"system": _SNOMED, "code": precise, "display": precise_display})
    return {"coding": codings, "text": METHOD_TEXT[method]}


def _observation(
    call: Mapping[str, Any],
    sample: Mapping[str, Any],
    build: Build,
    refs: Mapping[str, str | None],
    thresholds: Mapping[str, Any],
) -> dict[str, Any]:
    method = str(sample.get("method"))
    value = CallStatus(str(call.get("status"))).fhir_value
    if method not in METHOD_CODES:
        raise Esr1CallsError(
            f"sample {sample.get('sample_id')}: a FHIR bundle is not written for {method} results "
            "in this version; leave out --fhir"
        )
    hgvs_p = str(call.get("hgvs_p") or "")
    hgvs_c = str(call.get("hgvs_c") or "")
    components = [
        _component(
            "48018-6", "Gene studied", valueCodeableConcept=_coding(_HGNC, "HGNC:3467", "ESR1")
        ),
        _component(
            "48002-0", "Genomic source class", valueCodeableConcept=_loinc("LA6684-0", "Somatic")
        ),
        _component(
            "51958-7",
            "Transcript reference sequence",
            valueCodeableConcept=_coding(_REFSEQ, ACCESSION),
        ),
    ]
    if hgvs_c:
        components.append(
            _component(
                "48004-6", "DNA change (c.HGVS)", valueCodeableConcept=_coding(_HGVS, hgvs_c)
            )
        )
    else:  # a dPCR drop-off's region call: a region examined, no single allele
        region = (call.get("evidence") or {}).get("region") or call.get("hotspot")
        components.append(_component("47999-8", "DNA region name", valueString=f"ESR1 {region}"))
    if hgvs_p:
        protein = hgvs_p if ":" in hgvs_p else f"{PROTEIN_ACCESSION}:{hgvs_p}"
        components.append(
            _component(
                "48005-3", "Amino acid change (pHGVS)", valueCodeableConcept=_coding(_HGVS, protein)
            )
        )
    locus = hotspot_locus(str(call.get("hotspot")), str(call.get("hgvs_c")), build)
    if locus:
        components.extend(_locus_components(locus))
    # only a measured fraction (NGS x/n, dPCR from partition counts); the PCR estimate is
    # explained in the note instead
    if method in ("NGS", "dPCR") and call.get("allele_fraction") is not None:
        components.append(
            _quantity(
                "81258-6",
                "Sample variant allelic frequency",
                call["allele_fraction"],
                "relative frequency",
            )
        )
    if method == "NGS" and call.get("alt_count") is not None:
        components.append(_quantity("82121-5", "Allelic read depth", call["alt_count"], "reads"))
    return {
        "resourceType": "Observation",
        "meta": {"profile": [_IG + "variant"]},
        "status": "preliminary",
        "category": [
            _coding(_OBS_CATEGORY, "laboratory", "Laboratory"),
            _coding(_V2_0074, "GE", "Genetics"),
        ],
        "code": _loinc("69548-6", "Genetic variant assessment"),
        **({"subject": {"reference": refs["patient"]}} if refs["patient"] else {}),
        "specimen": {"reference": refs["specimen"]},
        "device": {"reference": refs["device"]},
        "method": _method(method),
        "valueCodeableConcept": {**_loinc(VALUE_CODES[value], value), "text": value},
        "note": [{"text": _note(call, method, thresholds)}],
        "component": components,
    }


def fhir_bundle(
    document: Document,
    default_build: Build | None = None,
    patient_system: str = LOCAL_PATIENT_SYSTEM,
) -> dict[str, Any]:
    """The Bundle (type collection) as a dict; see the module docstring for the choices.
    ``patient_system``: the identifier system of the samples' patient ids."""
    digest = hashlib.sha256(
        json.dumps(document, sort_keys=True, ensure_ascii=True).encode("utf-8")
    ).hexdigest()

    def urn(*parts: object) -> str:
        return f"urn:uuid:{uuid.uuid5(_NAMESPACE, '/'.join([digest, *map(str, parts)]))}"

    tool = document.get("tool") or {}
    run = document.get("run") or {}
    device_ref = urn("device")
    entries: list[dict[str, Any]] = [
        {
            "fullUrl": device_ref,
            "resource": {
                "resourceType": "Device",
                "deviceName": [{"name": str(tool.get("name")), "type": "user-friendly-name"}],
                "type": {"text": "software: ESR1 hotspot calling"},
                "version": [{"value": str(tool.get("version"))}],
            },
        }
    ]
    patients: dict[str, str] = {}  # patient id -> its Patient's fullUrl
    labels = qualified_labels(document)
    for index, sample in enumerate(document.get("samples") or []):
        build = sample_build(sample) or default_build or Build.GRCH38
        thresholds = run_of(document, sample).get("thresholds") or {}
        patient_id = sample.get("patient_id")
        patient_ref = None
        if isinstance(patient_id, str) and patient_id:
            patient_ref = patients.get(patient_id)
            if patient_ref is None:
                # from the patient's identity alone: one Patient however many samples and runs
                key = f"patient|{patient_system}|{patient_id}"
                patient_ref = patients[patient_id] = f"urn:uuid:{uuid.uuid5(_NAMESPACE, key)}"
                patient = _patient(patient_id, patient_system)
                entries.append({"fullUrl": patient_ref, "resource": patient})
        refs = {"patient": patient_ref, "specimen": urn(index, "specimen"), "device": device_ref}
        specimen = _specimen(sample, labels[index], patient_ref)
        entries.append({"fullUrl": refs["specimen"], "resource": specimen})
        observations = []
        for call in tested_calls(sample):  # NOT_TESTED: the kit or input has no assay for it
            ref = urn(index, call.get("hotspot"))
            observations.append(ref)
            entries.append(
                {
                    "fullUrl": ref,
                    "resource": _observation(call, sample, build, refs, thresholds),
                }
            )
        report: dict[str, Any] = {
            "resourceType": "DiagnosticReport",
            "meta": {"profile": [_IG + "genomics-report"]},
            "extension": _audit_extensions(document, sample),
            "status": "partial",
            "category": [_coding(_V2_0074, "GE", "Genetics")],
            "code": {
                **_loinc("81247-9", "Master HL7 genetic variant reporting panel"),
                "text": "ESR1 ligand-binding-domain hotspot mutations",
            },
            **({"subject": {"reference": patient_ref}} if patient_ref else {}),
            "specimen": [{"reference": refs["specimen"]}],
            "result": [{"reference": ref} for ref in observations],
            "conclusion": (
                f"{sample.get('status')}: {sample.get('summary')} Unreviewed: esr1calls never "
                "signs out results; qualified staff must review before reporting."
            ),
        }
        if run.get("utc_time"):
            report["issued"] = run["utc_time"]
        entries.append({"fullUrl": urn(index, "report"), "resource": report})
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "id": str(uuid.uuid5(_NAMESPACE, digest)),
        "meta": {"tag": [{"system": _EXT + "review-status", "code": "unreviewed"}]},
        "type": "collection",
        "entry": entries,
    }
    if run.get("utc_time"):
        bundle["timestamp"] = run["utc_time"]
    return bundle


def render_fhir_bundle(
    document: Document,
    default_build: Build | None = None,
    patient_system: str = LOCAL_PATIENT_SYSTEM,
) -> str:
    """calls.fhir.json text (see ``fhir_bundle``)."""
    bundle = fhir_bundle(document, default_build, patient_system)
    return json.dumps(bundle, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def render_files(document: Document, options: ReportOptions) -> dict[str, str]:
    """calls.fhir.json (--fhir), as the registry of formats renders it."""
    system = options.setting("patient_id_system")
    return {
        FHIR_BUNDLE: render_fhir_bundle(
            document,
            default_build=options.build,
            **({"patient_system": system} if system else {}),
        )
    }
