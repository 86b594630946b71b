"""The registry of report formats: every kind of file esr1calls writes into OUTDIR, once.

``FORMATS`` lists each format with its command-line flag (None: always written), the help the
CLI shows, the file names its renderer module owns and that module's ``render_files``. The CLI
builds the output options of pcr, ngs, dpcr, batch and report from it, ``write.render_files``
walks it, and ``sign``/``verify`` and batch take every file name from it. A new format is one
renderer module and one entry here (docs/architecture.md, "A new report format").
"""

from __future__ import annotations

from collections.abc import Mapping

from . import calls_json, clinical, fhir, hl7, html, lis, multiqc, tables, vcf
from .options import FormatOption, ReportFormat

__all__ = ["ALWAYS_WRITTEN", "FILES", "FORMATS", "OPTIONAL_FILES", "PRINTED", "optional_formats"]

FORMATS: Mapping[str, ReportFormat] = {
    f.name: f
    for f in (
        ReportFormat("json", None, "calls.json", calls_json.FILES, calls_json.render_files),
        ReportFormat("tsv", None, "calls.tsv and samples.tsv", tables.FILES, tables.render_files),
        ReportFormat("html", None, "report.html", html.FILES, html.render_files),
        ReportFormat("clinical", None, "clinical.html", clinical.FILES, clinical.render_files),
        ReportFormat(
            "multiqc",
            "--multiqc",
            "Also write MultiQC custom content (esr1calls_*_mqc.json).",
            multiqc.FILES,
            multiqc.render_files,
        ),
        ReportFormat(
            "fhir",
            "--fhir",
            "Also write a FHIR R4 Genomics Reporting bundle (calls.fhir.json).",
            fhir.FILES,
            fhir.render_files,
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
                    check=fhir.check_identifier_system,
                    also_with={"hl7": hl7.parse_patient_id_system},
                ),
            ),
        ),
        ReportFormat(
            "vcf",
            "--vcf",
            "Also write the calls as VCF 4.2 (detected.vcf): a record for every hotspot, GT 0/0 "
            "NOT_DETECTED, ./. INDETERMINATE or INVALID, 0/1 DETECTED.",
            vcf.FILES,
            vcf.render_files,
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
            hl7.FILES,
            hl7.render_files,
            hl7.OPTIONS,
        ),
        ReportFormat(
            "lis_csv",
            "--lis-csv",
            "Also write one CSV row per sample and hotspot for a LIS import (results_lis.csv).",
            lis.FILES,
            lis.render_files,
        ),
    )
}

# files printed from a rendered one after it is written, not rendered as text: clinical.pdf
# (--pdf, headless Chromium; write.write_document prints it)
PRINTED: tuple[str, ...] = (clinical.CLINICAL_PDF,)
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
