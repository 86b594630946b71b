"""The registry of report formats: every kind of file esr1calls writes into OUTDIR, once.

``FORMATS`` lists each format with its command-line flag (None: always written), the help the
CLI shows, the file names its renderer module owns and that module's name. The CLI builds the
output options of pcr, ngs, dpcr, batch and report from it, ``write.render_files`` walks it, and
``sign``/``verify`` and batch take every file name from it. A new format is one renderer module
and one entry here (docs/architecture.md, "A new report format").

The registry names its renderer modules and imports none: a renderer (and its checks of the
format's options) loads when its format is written or its option given, so every command starts
without the renderers it does not use (tests/reports/test_formats.py holds each entry's files
to its module's ``FILES``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping

from .options import FormatOption, ReportFormat

__all__ = [
    "ALWAYS_WRITTEN",
    "CLINICAL_LANGUAGES",
    "FILES",
    "FORMATS",
    "HL7_DEFAULT_FACILITY",
    "HL7_DEFAULT_RECEIVER",
    "OPTIONAL_FILES",
    "PRINTED",
    "optional_formats",
]

# clinical.html's languages (--lang) and the folder of each one's catalog in locales/
CLINICAL_LANGUAGES = {"en": "en", "zh-CN": "zh_CN"}
HL7_DEFAULT_FACILITY = "LAB"  # MSH-4 without --hl7-facility
HL7_DEFAULT_RECEIVER = "LIS"  # MSH-5 without --hl7-receiver


def _check(module: str, function: str) -> Callable[[str], object]:
    """A format option's check, ``function`` of the renderer ``module``, imported when an option
    is checked."""

    def check(value: str) -> object:
        found: Callable[[str], object] = getattr(
            importlib.import_module(f"{__package__}.{module}"), function
        )
        return found(value)

    check.__qualname__ = f"{module}.{function}"
    return check


FORMATS: Mapping[str, ReportFormat] = {
    f.name: f
    for f in (
        ReportFormat("json", None, "calls.json", ("calls.json",), "calls_json"),
        ReportFormat(
            "tsv", None, "calls.tsv and samples.tsv", ("calls.tsv", "samples.tsv"), "tables"
        ),
        ReportFormat("html", None, "report.html", ("report.html",), "html"),
        ReportFormat("clinical", None, "clinical.html", ("clinical.html",), "clinical"),
        ReportFormat(
            "multiqc",
            "--multiqc",
            "Also write MultiQC custom content (esr1calls_*_mqc.json).",
            ("esr1calls_calls_mqc.json", "esr1calls_general_stats_mqc.json"),
            "multiqc",
        ),
        ReportFormat(
            "fhir",
            "--fhir",
            "Also write a FHIR R4 Genomics Reporting bundle (calls.fhir.json).",
            ("calls.fhir.json",),
            "fhir",
            options=(
                FormatOption(
                    "--patient-id-system",
                    "patient_id_system",
                    "With --fhir or --hl7: the identifier system of the samples' patient ids: "
                    "your records' URI (e.g. urn:oid:1.2.3.4; default "
                    "urn:esr1calls:local-patient-id) or, for --hl7 alone, AUTHORITY^TYPE "
                    "(HOSP^MR). "
                    "A patient is named only for a sample with a patient_id, never from a "
                    "sample id.",
                    metavar="URI",
                    check=_check("fhir", "check_identifier_system"),
                    also_with={"hl7": _check("hl7", "parse_patient_id_system")},
                ),
            ),
        ),
        ReportFormat(
            "vcf",
            "--vcf",
            "Also write the calls as VCF 4.2 (detected.vcf): a record for every hotspot, GT 0/0 "
            "NOT_DETECTED, ./. INDETERMINATE or INVALID, 0/1 DETECTED.",
            ("detected.vcf",),
            "vcf",
            options=(
                FormatOption(
                    "--detected-only",
                    "detected_only",
                    "With --vcf: records only for hotspots DETECTED in some sample (the older "
                    "form; a merge of such files cannot tell NOT_DETECTED from not looked at).",
                    is_flag=True,
                ),
            ),
        ),
        ReportFormat(
            "hl7",
            "--hl7",
            "Also write HL7 v2.5.1 ORU^R01 messages for a LIS, one per sample (results.hl7).",
            ("results.hl7",),
            "hl7",
            options=(
                FormatOption(
                    "--hl7-facility",
                    "hl7_facility",
                    "With --hl7: this laboratory's name in MSH-4 (default "
                    f"{HL7_DEFAULT_FACILITY}).",
                    metavar="NAME",
                    check=_check("hl7", "check_facility"),
                ),
                FormatOption(
                    "--hl7-receiver",
                    "hl7_receiver",
                    "With --hl7: the receiving APPLICATION[^FACILITY] in MSH-5/MSH-6 (default "
                    f"{HL7_DEFAULT_RECEIVER}).",
                    metavar="APP[^FACILITY]",
                    check=_check("hl7", "check_receiver"),
                ),
            ),
        ),
        ReportFormat(
            "lis_csv",
            "--lis-csv",
            "Also write one CSV row per sample and hotspot for a LIS import (results_lis.csv).",
            ("results_lis.csv",),
            "lis",
        ),
    )
}

# files printed from a rendered one after it is written, not rendered as text: clinical.pdf
# (--pdf, headless Chromium; write.write_document prints it)
PRINTED: tuple[str, ...] = ("clinical.pdf",)
# every file name esr1calls writes into OUTDIR, in the registry's order, the printed ones last
FILES: tuple[str, ...] = (*(name for f in FORMATS.values() for name in f.files), *PRINTED)
ALWAYS_WRITTEN: tuple[str, ...] = tuple(
    name for f in FORMATS.values() if not f.optional for name in f.files
)
OPTIONAL_FILES: tuple[str, ...] = (
    *(name for f in FORMATS.values() if f.optional for name in f.files),
    *PRINTED,
)


def optional_formats() -> tuple[ReportFormat, ...]:
    """The formats a command line switches on, in the order their options are shown."""
    return tuple(f for f in FORMATS.values() if f.optional)
