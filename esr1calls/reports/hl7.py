"""results.hl7 (--hl7): HL7 v2.5.1 ORU^R01 messages for a hospital LIS, one per sample.

Each message is MSH, PID, OBR, then OBX segments (docs/lis.md):

* the sample's overall interpretation (LOINC 51968-6, answers of LL541-4: Positive, Negative,
  Inconclusive, Failure) and the regions examined (81293-3: every hotspot tested, at the limit
  the run could exclude), so a negative says what it covers;
* per tested hotspot, one group of OBX segments sharing an OBX-4 sub-ID (1, 2, ... in report
  order): gene studied (48018-6, HGNC:3467 ESR1), c.HGVS (48004-6), p.HGVS (48005-3), the variant
  assessment (69548-6: LA9633-4 Present, LA9634-2 Absent, LA11884-6 Indeterminate, LA18198-4 No
  call) with an NTE giving the call, its reasons and action, and the allele fraction (81258-6)
  when it was measured (NGS, dPCR; a PCR estimate from delta-Ct is only in the NTE).

NTE segments after OBR carry the limitations: the review status, a placeholder kit, the run's
notices. Results are preliminary (OBR-25 and OBX-11 ``P``) until ``esr1calls sign`` renders the
file again from a verified review (``review``, lis_review.py): an approval makes them final
(``F``; ``C`` where it corrects an earlier final), names the reviewer in OBR-32 and OBX-16 and
the review time in OBR-22, and carries the reviewer's calls with the original and the reason in
an NTE; a rejection sends no value (``X``). PID-3 holds the patient identifier when the sample
has one (a plate map's patient_id or --patient), with the assigning authority of
--patient-id-system; otherwise the sample id, typed ``ACSN`` (an accession: a laboratory's
specimen id, not a patient's). Every text from an input is escaped (``escape``). The message
control id and the message time come from the run (the document's content and its UTC time; a
signed message's from its sign-off), never the wall clock, so a re-render is byte-identical.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

from ..errors import ConfigError
from ..model import reportable_fraction
from ..text import exact_percent, percent
from ..transcript import ACCESSION, PROTEIN_ACCESSION
from .document import notices, reason_sentences, reportable_text, run_of, tested_calls
from .fhir import VALUE_CODES
from .formats import HL7_DEFAULT_FACILITY, HL7_DEFAULT_RECEIVER
from .lis_review import (
    LisReview,
    ResultStatus,
    Review,
    ReviewedCall,
    ReviewedSample,
    lis_review,
    reviewed,
)
from .options import ReportOptions

__all__ = [
    "FILES",
    "HL7_RESULTS",
    "MEASURED_METHODS",
    "check_facility",
    "check_receiver",
    "escape",
    "parse_patient_id_system",
    "render_files",
    "render_hl7",
    "settings_of",
]

HL7_RESULTS = "results.hl7"
FILES = (HL7_RESULTS,)
SEGMENT_END = "\r"
VERSION = "2.5.1"
SENDING_APPLICATION = "ESR1CALLS"
DEFAULT_FACILITY = HL7_DEFAULT_FACILITY  # MSH-4 without --hl7-facility
DEFAULT_RECEIVER = HL7_DEFAULT_RECEIVER  # MSH-5 without --hl7-receiver

Document = Mapping[str, Any]

# 51968-6 answers (LOINC answer list LL541-4)
OVERALL_CODES = {
    "POSITIVE": ("LA6576-8", "Positive"),
    "NEGATIVE": ("LA6577-6", "Negative"),
    "INDETERMINATE": ("LA9663-1", "Inconclusive"),
    "INVALID": ("LA9664-9", "Failure"),
}
_LOINC_NAMES = {
    "51968-6": "Genetic analysis overall interpretation",
    "81293-3": "Description of ranges of DNA sequences examined",
    "48018-6": "Gene studied [ID]",
    "48004-6": "DNA change (c.HGVS)",
    "48005-3": "Amino acid change (pHGVS)",
    "69548-6": "Genetic variant assessment",
    "81258-6": "Sample variant allelic frequency [NFr]",
    "81247-9": "Master HL7 genetic variant reporting panel",
}
_METHODS = {  # OBX-17 (LOINC LL4048-6), as calls.fhir.json
    "PCR": ("LA26419-4", "qPCR (real-time PCR)"),
    "NGS": ("LA26398-0", "Sequencing"),
}
MEASURED_METHODS = frozenset({"NGS", "dPCR"})  # whose allele fraction is a measurement
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_HL7_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._-]{0,19}")
_ID_TYPE = re.compile(r"[A-Z]{1,5}")
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:\S+")


def escape(text: object) -> str:
    """Text from an input file as an HL7 v2 field value: the delimiters and the escape
    character as escape sequences, line breaks as ``\\.br\\``, other control characters as
    spaces.

    >>> escape("S1|A^B~C\\\\D&E")
    'S1\\\\F\\\\A\\\\S\\\\B\\\\R\\\\C\\\\E\\\\D\\\\T\\\\E'
    >>> escape("two\\r\\nlines")
    'two\\\\.br\\\\lines'
    """
    value = str(text).replace("\\", "\\E\\")
    for char, sequence in (("|", "\\F\\"), ("^", "\\S\\"), ("&", "\\T\\"), ("~", "\\R\\")):
        value = value.replace(char, sequence)
    value = value.replace("\r\n", "\\.br\\").replace("\n", "\\.br\\").replace("\r", "\\.br\\")
    return _CONTROL.sub(" ", value)


# ------------------------------------------------------------------------- the options
def parse_patient_id_system(value: str) -> tuple[str, str]:
    """--patient-id-system as PID-3's (CX.4 assigning authority, CX.5 identifier type code).

    A URI (``https://hospital.example/mrn``, ``urn:oid:1.2.3``) is the authority's universal id
    (an identifier typed MR); ``AUTHORITY^TYPE`` (``HOSP^MR``) is a namespace and a type code.

    >>> parse_patient_id_system("HOSP^MR")
    ('HOSP', 'MR')
    >>> parse_patient_id_system("urn:oid:2.16.840.1.113883.3.1")
    ('&urn:oid:2.16.840.1.113883.3.1&URI', 'MR')
    """
    text = value.strip()
    if "^" in text:
        authority, _, kind = text.partition("^")
        if _HL7_NAME.fullmatch(authority) and _ID_TYPE.fullmatch(kind):
            return authority, kind
    elif _URI.fullmatch(text) and not set(text) & set("|^~\\"):
        return f"&{escape(text)}&URI", "MR"
    raise ConfigError(
        f"--patient-id-system {value!r}: give the patient identifier's assigning authority as a "
        "URI (https://hospital.example/mrn, urn:oid:1.2.3) or as AUTHORITY^TYPE (HOSP^MR: up to "
        "20 letters, digits, spaces, dots or dashes, then an HL7 identifier type code)"
    )


def _hd(option: str, value: str) -> str:
    """--hl7-facility / --hl7-receiver: names (HD namespace ids, ``^`` between two for the
    receiver's application and facility); refused when one cannot be."""
    parts = value.strip().split("^")
    if len(parts) > (2 if option == "--hl7-receiver" else 1) or not all(
        _HL7_NAME.fullmatch(part) for part in parts
    ):
        shape = (
            "APPLICATION or APPLICATION^FACILITY, each of up to"
            if "receiver" in option
            else "a name of up to"
        )
        raise ConfigError(
            f"{option} {value!r}: give {shape} 20 letters, digits, spaces, dots or dashes "
            "(no HL7 delimiters | ^ ~ \\ &: a LIS matches these names as written)"
        )
    return "^".join(parts)


def check_facility(value: str) -> str:
    return _hd("--hl7-facility", value)


def check_receiver(value: str) -> str:
    return _hd("--hl7-receiver", value)


# --------------------------------------------------------------------------- segments
def _segment(name: str, *fields: str) -> str:
    """One segment, trailing empty fields dropped."""
    values = list(fields)
    while values and values[-1] == "":
        values.pop()
    return "|".join([name, *values])


def _ce(code: str, text: str, system: str = "LN") -> str:
    return f"{code}^{escape(text)}^{system}"


def _loinc(code: str) -> str:
    return _ce(code, _LOINC_NAMES[code])


def _hl7_time(utc: object) -> str:
    """``2026-12-05T07:00:00Z`` (calls.json's run time) as an HL7 TS, ``20261205070000+0000``."""
    digits = re.sub(r"\D", "", str(utc or ""))[:14]
    return f"{digits}+0000" if len(digits) == 14 else ""


def _hl7_date(value: object) -> str:
    """A collected date ``YYYY-MM-DD`` as an HL7 DT; empty when there is none."""
    text = str(value or "")
    return text.replace("-", "") if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) else ""


def _control_id(document: Document, index: int, signed: LisReview) -> str:
    """MSH-10: 20 characters from the document's content, the sample's place in it and the
    sign-off (a LIS drops a message whose control id it has seen: the final one must differ
    from the preliminary one, and each sign-off's from the last)."""
    digest = hashlib.sha256(
        json.dumps(document, sort_keys=True, ensure_ascii=True).encode("utf-8")
        + f"|{index}".encode()
        + (f"|{signed.signoff}|{signed.state}|{signed.time}".encode() if signed.signed else b"")
    )
    return digest.hexdigest()[:20].upper()


def _run_time(document: Document, sample: Mapping[str, Any]) -> str:
    """The run's UTC time: the sample's own run in a cohort, else the document's."""
    return _hl7_time(run_of(document, sample).get("utc_time") or document["run"].get("utc_time"))


class _Message:
    """Segments of one message, with OBX set ids counted."""

    def __init__(self) -> None:
        self.segments: list[str] = []
        self.obx = 0
        self.notes = 0

    def add(self, name: str, *fields: str) -> None:
        self.segments.append(_segment(name, *fields))

    def note(self, text: str) -> None:
        """An NTE on the segment before it (OBR: the order; OBX: that observation)."""
        self.notes += 1
        self.add("NTE", str(self.notes), "L", escape(text))

    def observation(
        self,
        value_type: str,
        code: str,
        sub_id: str,
        value: str,
        *,
        units: str = "",
        status: ResultStatus = ResultStatus.PRELIMINARY,
        method: str = "",
        observer: str = "",
    ) -> None:
        self.obx += 1
        if status is ResultStatus.CANCELLED:  # a rejected result: no value reaches the LIS
            value, units, method = "", "", ""
        self.add(
            "OBX", str(self.obx), value_type, _loinc(code), sub_id, value, units,
            "", "", "", "", status.value, "", "", "", "", observer, method,
        )  # fmt: skip

    def text(self) -> str:
        return "".join(segment + SEGMENT_END for segment in self.segments)


def _patient_identifier(sample: Mapping[str, Any], options: ReportOptions) -> str:
    """PID-3: the patient id with its authority, or the sample id typed as an accession."""
    patient = sample.get("patient_id")
    if patient:
        system = options.setting("patient_id_system")
        authority, kind = parse_patient_id_system(system) if system else ("", "MR")
        return f"{escape(patient)}^^^{authority}^{kind}"
    return f"{escape(sample.get('sample_id'))}^^^^ACSN"


def _call_note(call: Mapping[str, Any], method: str, thresholds: Mapping[str, Any]) -> str:
    parts = [f"esr1calls call {call.get('status')}."]
    parts.extend(reason_sentences(call, thresholds))
    if call.get("lod95") is not None:
        lod = call["lod95"]
        # a PCR negative's limit is the kit's reportable fraction: shown exactly, as the kit has it
        shown = exact_percent(lod) if lod == reportable_fraction(thresholds) else percent(lod)
        parts.append(f"Achieved limit of detection {shown}.")
    if method == "PCR" and call.get("delta_ct") is not None:
        parts.append(f"Delta-Ct {call['delta_ct']:.2f} (cut-off {call.get('cutoff')}).")
    if method not in MEASURED_METHODS and call.get("allele_fraction") is not None:
        parts.append(
            f"Semi-quantitative allele fraction estimate {percent(call['allele_fraction'])}; "
            "not a measured fraction."
        )
    return " ".join(parts)


def _limitations(document: Document, sample: Mapping[str, Any], signed: LisReview) -> list[str]:
    run = run_of(document, sample)
    out = [signed.sentence()]
    kit = run.get("kit")
    if isinstance(kit, Mapping):  # a placeholder kit's notice follows and says what it means
        placeholder = " (PLACEHOLDER values)" if kit.get("placeholder") else ""
        out.append(f"Kit {kit.get('id')} {kit.get('version')}{placeholder}.")
    out.extend(notices(document, sample))
    return out


def _regions(sample: Mapping[str, Any], thresholds: Mapping[str, Any]) -> tuple[str, str]:
    """The regions examined (OBX-5: the hotspots tested, by name) and its NTE (the gene's
    transcript, the limit a NOT_DETECTED holds at, and that nothing else was looked at)."""
    tested = [str(c.get("hotspot")) for c in tested_calls(sample)]
    if not tested:
        return "none", "No ESR1 hotspot was tested."
    limit = reportable_text(thresholds)
    at = f"; each NOT_DETECTED excludes it at {limit}" if limit else ""
    return ", ".join(tested), (
        f"ESR1 ({ACCESSION}) ligand-binding-domain hotspots tested{at}. Other regions of ESR1 "
        "and other genes were not examined."
    )


def _message(
    document: Document,
    index: int,
    options: ReportOptions,
    entry: ReviewedSample,
    signed: LisReview,
) -> str:
    sample = entry.sample
    run = run_of(document, sample)
    thresholds = run.get("thresholds") or {}
    method = str(sample.get("method"))
    receiver = options.setting("hl7_receiver")
    receiver = check_receiver(receiver) if receiver else DEFAULT_RECEIVER
    application, _, receiving_facility = receiver.partition("^")
    facility = options.setting("hl7_facility")
    facility = check_facility(facility) if facility else DEFAULT_FACILITY
    # a signed message is made at its sign-off: its time is the review's (MSH-7, OBR-22)
    time = _hl7_time(signed.time) if signed.signed else _run_time(document, sample)
    message = _Message()
    message.add(
        "MSH", "^~\\&", SENDING_APPLICATION, facility, application, receiving_facility, time, "",
        "ORU^R01^ORU_R01", _control_id(document, index, signed), "P", VERSION, "", "", "AL",
        "NE", "", "UNICODE UTF-8",
    )  # fmt: skip
    # PID-5 is required: esr1calls never knows a name, so an empty one of type U (unspecified)
    message.add("PID", "1", "", _patient_identifier(sample, options), "", "^^^^^^U")
    sample_id = escape(sample.get("sample_id"))
    # OBR-32, the principal result interpreter (NDL: its CNN name, ID empty, the name as given)
    interpreter = f"&{escape(signed.reviewer)}" if signed.signed else ""
    message.add(
        "OBR", "1", "", f"{sample_id}^{SENDING_APPLICATION}", _loinc("81247-9"), "", "",
        _hl7_date(sample.get("collected")), "", "", "", "", "", "", "", "", "", "", "", "", "",
        "", time, "", "GE", entry.order_status.value, "", "", "", "", "", "", interpreter,
    )  # fmt: skip
    for text in _limitations(document, sample, signed):
        message.note(text)
    # OBX-16, the responsible observer (XCN: ID empty, the name as given) of an approved result
    observer = f"^{escape(signed.reviewer)}" if signed.state == "approved" else ""

    def observe(value_type: str, code: str, sub_id: str, value: str, **kwargs: Any) -> None:
        kwargs.setdefault("status", entry.result_status if not sub_id else _final(signed))
        message.observation(value_type, code, sub_id, value, observer=observer, **kwargs)

    def note(text: str) -> None:
        if not signed.rejected:  # a rejected result's notes would describe values not sent
            message.note(text)

    code, answer = OVERALL_CODES.get(entry.status, OVERALL_CODES["INDETERMINATE"])
    observe("CWE", "51968-6", "", _ce(code, answer))
    if entry.status != entry.original:
        note(
            f"{entry.status} after review by {signed.reviewer} at {signed.time}, from the "
            f"calls changed below; esr1calls's result was {entry.original}: "
            f"{sample.get('summary')}"
        )
    else:
        note(f"{entry.status}: {sample.get('summary')}")
    regions, regions_note = _regions(sample, thresholds)
    observe("ST", "81293-3", "", escape(regions), status=_final(signed))
    note(regions_note)
    observed_by = _METHODS.get(method)
    method_field = _ce(*observed_by) if observed_by else ""
    tested_ids = {id(call) for call in tested_calls(sample)}
    tested = [c for c in entry.calls if id(c.call) in tested_ids]
    for sub_id, reviewed_call in enumerate(tested, 1):
        call, group = reviewed_call.call, str(sub_id)
        observe("CWE", "48018-6", group, "HGNC:3467^ESR1^HGNC")
        observe("CWE", "48004-6", group, f"{escape(_hgvs_c(call))}^^HGVS.c")
        if call.get("hgvs_p"):
            observe("CWE", "48005-3", group, f"{escape(_hgvs_p(call))}^^HGVS.p")
        value = reviewed_call.status.fhir_value
        observe(
            "CWE", "69548-6", group, _ce(VALUE_CODES[value], value), method=method_field,
            status=reviewed_call.result_status,
        )  # fmt: skip
        note(_call_note(call, method, thresholds))
        if reviewed_call.override is not None:
            note(_override_note(reviewed_call))
        fraction = call.get("allele_fraction")
        if method in MEASURED_METHODS and isinstance(fraction, int | float):
            observe("NM", "81258-6", group, f"{fraction:.6g}", units="1^^UCUM")
    return message.text()


def _final(signed: LisReview) -> ResultStatus:
    """The status of an observation a review cannot change (gene, HGVS, regions, fraction)."""
    if signed.state == "approved":
        return ResultStatus.FINAL
    return ResultStatus.CANCELLED if signed.rejected else ResultStatus.PRELIMINARY


def _override_note(reviewed_call: ReviewedCall) -> str:
    """The NTE of a call the reviewer changed: the original call and the reason."""
    item = reviewed_call.override or {}
    reasons = ", ".join(map(str, item.get("original_reasons") or []))
    return (
        f"Changed at review by {item.get('reviewer')} at {item.get('time')} (sign-off "
        f"{item.get('signoff')}): esr1calls called {item.get('original')}"
        f"{f' ({reasons})' if reasons else ''}; the reviewer's call is {item.get('status')}. "
        f"Reason: {item.get('reason')}"
    )


def _hgvs_c(call: Mapping[str, Any]) -> str:
    text = str(call.get("hgvs_c") or "")
    return text if ":" in text else f"{ACCESSION}:{text}"


def _hgvs_p(call: Mapping[str, Any]) -> str:
    text = str(call.get("hgvs_p") or "")
    return text if ":" in text else f"{PROTEIN_ACCESSION}:{text}"


def render_hl7(document: Document, options: ReportOptions, review: Review = None) -> str:
    """results.hl7: one ORU^R01 message per sample, in the document's order. ``review`` is what
    the review record says (``audit.review_summary``), None when the folder was never signed."""
    signed = lis_review(review)
    return "".join(
        _message(document, index, options, entry, signed)
        for index, entry in enumerate(reviewed(document, review))
    )


def settings_of(text: str, path: object = HL7_RESULTS) -> dict[str, str]:
    """The --hl7-facility, --hl7-receiver and --patient-id-system a results.hl7 was written with,
    read back from its MSH and PID segments, so ``esr1calls sign`` renders it again as it was
    addressed (calls.json does not hold them). Each is checked as the option would be; a file
    esr1calls did not write this way is an error naming the segment."""
    settings: dict[str, str] = {}
    segments = [s.split("|") for s in text.split(SEGMENT_END) if s]
    if not segments:  # no sample, no message: nothing to address
        return settings
    if segments[0][0] != "MSH" or len(segments[0]) < 12:
        raise ConfigError(f"{path}: does not start with an MSH segment; it is not a results.hl7")
    msh = segments[0]
    settings["hl7_facility"] = check_facility(_unescape(msh[3]))
    receiver = "^".join(part for part in (msh[4], msh[5]) if part)
    settings["hl7_receiver"] = check_receiver(_unescape(receiver))
    for fields in segments:
        if fields[0] != "PID" or len(fields) < 4:
            continue
        components = fields[3].split("^")
        authority = components[3] if len(components) > 3 else ""
        kind = components[4] if len(components) > 4 else ""
        if kind == "ACSN" or not authority:
            continue
        universal = authority.split("&")
        system = (
            _unescape(universal[1])
            if len(universal) == 3 and universal[2] == "URI"
            else f"{_unescape(authority)}^{kind}"
        )
        parse_patient_id_system(system)  # as --patient-id-system would check it
        settings["patient_id_system"] = system
        break
    return settings


_ESCAPES = {"F": "|", "S": "^", "T": "&", "R": "~", "E": "\\", ".br": "\n"}


def _unescape(value: str) -> str:
    r"""The text ``escape`` turned into ``value``.

    >>> _unescape("a\\T\\b\\E\\c")
    'a&b\\c'
    """
    return re.sub(r"\\(F|S|T|R|E|\.br)\\", lambda m: _ESCAPES[m.group(1)], value)


def render_files(document: Document, options: ReportOptions) -> dict[str, str]:
    """results.hl7 (--hl7), as the registry of formats renders it."""
    return {HL7_RESULTS: render_hl7(document, options)}
