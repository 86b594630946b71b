"""detected.vcf: the calls as VCF 4.2, for downstream annotation and for merging runs.

One multi-sample file: one record per hotspot of the panel (every hotspot any sample was called
for; one record per ALT allele, so same-position hotspots such as L536H/P/R stay separate
records), one column per sample. Every sample column says what esr1calls called at that record:
GT 0/1 DETECTED, 0/0 NOT_DETECTED (a claim), ./. INDETERMINATE, INVALID or no call, with the
status in FORMAT/CS and the reasons in FORMAT/RS. So ``bcftools merge`` of several runs keeps a
NOT_DETECTED as 0/0 and never confuses it with "not looked at". ``detected_only`` gives the
older, smaller form: only the records of hotspots DETECTED in at least one sample.

Positions are the panel's alleles in one build: ``--build`` when given, else the build the NGS
run(s) recorded when they agree, else GRCh38 (PCR records none). Column names are the sample ids
(``RUN:SAMPLE`` in a document merging runs, as MultiQC's rows) made unique and VCF-safe; the
original id is kept in a ##SAMPLE line. The header carries the
audit trail: tool, command, review status, panel, kit and inputs.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from ..hotspots import vcf_contig_line, vcf_info_hgvs
from ..model import Build
from .document import (
    Locus,
    detected_calls,
    detected_hotspots,
    document_builds,
    hotspot_locus,
    notices,
    power_text,
    qualified_labels,
    reportable_text,
    run_of,
    setting_text,
    source_runs,
)
from .options import ReportOptions

__all__ = ["DETECTED_VCF", "FILES", "render_detected_vcf", "render_files", "vcf_build"]

DETECTED_VCF = "detected.vcf"
FILES = (DETECTED_VCF,)

log = logging.getLogger(__name__)
Document = Mapping[str, Any]
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_NOT_IN_ID = re.compile(r"[\s,;=<>\"'\\]+")
_NOT_IN_INFO = re.compile(r"[\s;=,]+")
_GT = {"DETECTED": "0/1", "NOT_DETECTED": "0/0"}
_INFO_HEADER = (
    '##INFO=<ID=HOTSPOT,Number=1,Type=String,Description="ESR1 hotspot (protein short form)">',
    '##INFO=<ID=HGVSC,Number=1,Type=String,Description="HGVS c. on NM_000125.4">',
    '##INFO=<ID=HGVSP,Number=1,Type=String,Description="HGVS p. on NP_000116.2">',
)
# FORMAT key -> (Number, Type, Description); {claim} and {limit} name the runs' settings
_FORMAT_HEADER = {
    "GT": ("1", "String", "0/1 DETECTED, 0/0 NOT_DETECTED (a claim: {claim} would have been "
           "seen), ./. INDETERMINATE, INVALID or no call (see CS)"),
    "CS": ("1", "String", "esr1calls call status"),
    "RS": (".", "String", "esr1calls reason codes"),
    "AF": ("A", "Float", "Allele fraction: NGS x/n; PCR a semi-quantitative estimate from "
           "delta-Ct"),
    "AFCI": ("2", "Float", "95 % interval of AF"),
    "AO": ("A", "Integer", "Alt observations x (NGS)"),
    "DP": ("1", "Integer", "Informative depth n (NGS)"),
    "LOD": ("1", "Float", "{limit}"),
    "DCT": ("1", "Float", "Delta-Ct (PCR)"),
    "MT": ("1", "String", "Method: PCR or NGS"),
}  # fmt: skip
FORMAT_KEYS = tuple(_FORMAT_HEADER)


def _format_header(document: Document) -> list[str]:
    """The FORMAT lines; those naming a setting take it from the runs that made the calls, each
    source's value when a merged document's runs differ."""
    fraction, mixed = setting_text(document, reportable_text)
    if fraction is None:
        claim = "the reportable fraction"
    elif mixed:
        claim = f"the reportable fraction of the sample's run ({fraction})"
    else:
        claim = fraction
    power, mixed_power = setting_text(document, power_text)
    limit = (
        f"Achieved limit of detection (at {power})"
        if mixed_power
        else f"Achieved {power} limit of detection"
    )
    return [
        f'##FORMAT=<ID={key},Number={number},Type={kind},Description="'
        + text.format(claim=claim, limit=limit)
        + '">'
        for key, (number, kind, text) in _FORMAT_HEADER.items()
    ]


def vcf_build(document: Document, build: Build | None) -> tuple[Build, str]:
    """The build of the VCF and why it was chosen."""
    if build is not None:
        return build, "given with --build"
    recorded = document_builds(document)
    if len(recorded) == 1:
        found = recorded.pop()
        return found, "recorded by the NGS run"
    if recorded:
        return Build.GRCH38, "default: the runs recorded different builds, give --build"
    return Build.GRCH38, "default: no build recorded (PCR)"


def _line(text: Any) -> str:
    """Header text on one line that htslib will not read as a structured <...> value."""
    flat = _CONTROL.sub(" ", str(text)).strip()
    return " " + flat if flat.startswith("<") else flat


def _quoted(text: Any) -> str:
    return '"' + _line(text).strip().replace("\\", "\\\\").replace('"', '\\"') + '"'


def _column_names(document: Document) -> list[str]:
    """The sample columns: each sample's label (``RUN:SAMPLE`` in a merged document), VCF-safe
    and unique."""
    names: list[str] = []
    for label in qualified_labels(document):
        name = _NOT_IN_ID.sub("_", label).strip("_") or "sample"
        base, n = name, 1
        while name in names:
            n += 1
            name = f"{base}_{n}"
        names.append(name)
    return names


def _num(value: Any) -> str:
    if value is None:
        return "."
    return str(value) if isinstance(value, int) else f"{float(value):.6g}"


def _format(call: Mapping[str, Any] | None, method: str) -> str:
    if call is None:
        return ":".join(["./.", "NO_CALL"] + ["."] * (len(FORMAT_KEYS) - 3) + [method])
    interval = call.get("allele_fraction_ci95")
    values = [
        _GT.get(str(call.get("status")), "./."),
        str(call.get("status")),
        ",".join(str(r) for r in call.get("reasons") or []) or ".",
        _num(call.get("allele_fraction")),
        f"{_num(interval[0])},{_num(interval[1])}" if interval else ".",
        _num(call.get("alt_count")),
        _num(call.get("depth")),
        _num(call.get("lod95")),
        _num(call.get("delta_ct")),
        method,
    ]
    return ":".join(values)


def render_detected_vcf(
    document: Document, build: Build | None = None, *, detected_only: bool = False
) -> str:
    """detected.vcf text for a calls.json document (see the module docstring): a record for
    every hotspot, or with ``detected_only`` for those DETECTED in at least one sample."""
    target, why = vcf_build(document, build)
    tool = document.get("tool") or {}
    run = document.get("run") or {}
    samples = list(document.get("samples") or [])
    names = _column_names(document)
    header = ["##fileformat=VCFv4.2"]
    if run.get("utc_time"):
        header.append(f"##fileDate={str(run['utc_time'])[:10].replace('-', '')}")
    header += [
        f"##source={_line(tool.get('name'))} {_line(tool.get('version'))}",
        f"##reference={target.value}",
        vcf_contig_line(target),
        "##esr1calls_content="
        + (
            "DETECTED calls only: one record per hotspot allele DETECTED in at least one sample; "
            if detected_only
            else "every hotspot of the panel: one record per hotspot allele; "
        )
        + "every sample column gives its own call there (GT 0/1 DETECTED, 0/0 NOT_DETECTED, "
        "./. otherwise, the status in CS)",
        f"##esr1calls_build={target.value} ({why})",
        f"##esr1calls_review_status={_line(run.get('review_status'))} (esr1calls never signs out "
        "results)",
        f"##esr1calls_command={_line(run.get('command'))}",
    ]
    listed: set[str] = set()
    for index, source in enumerate(source_runs(document)):
        prefix = f"source {index + 1}: " if run.get("sources") else ""
        if run.get("sources"):
            header.append(f"##esr1calls_source_command={prefix}{_line(source.get('command'))}")
        panel = source.get("panel") or {}
        header.append(
            f"##esr1calls_panel={prefix}{_line(panel.get('name'))} {_line(panel.get('version'))} "
            f"sha256:{_line(panel.get('sha256'))}"
        )
        kit = source.get("kit")
        if isinstance(kit, Mapping):
            placeholder = " (PLACEHOLDER values)" if kit.get("placeholder") else ""
            header.append(
                f"##esr1calls_kit={prefix}{_line(kit.get('id'))} {_line(kit.get('version'))} "
                f"sha256:{_line(kit.get('sha256'))}{placeholder}"
            )
        for item in source.get("inputs") or []:
            header.append(
                f"##esr1calls_input={prefix}sha256:{_line(item.get('sha256'))} "
                f"{_line(item.get('path'))}"
            )
        for notice in source.get("notices") or []:
            header.append(f"##esr1calls_notice={prefix}{_line(notice)}")
            listed.add(str(notice))
    # the document's own, such as a cohort's "different panels"
    header.extend(f"##esr1calls_notice={_line(n)}" for n in notices(document) if n not in listed)
    for source in run.get("inputs") or [] if run.get("sources") else []:
        header.append(
            f"##esr1calls_report_input=sha256:{_line(source.get('sha256'))} "
            f"{_line(source.get('path'))}"
        )
    header.extend(_INFO_HEADER)
    header.extend(_format_header(document))
    for name, sample in zip(names, samples, strict=True):
        description = (
            f"sample_id {sample.get('sample_id')}; method {sample.get('method')}; status "
            f"{sample.get('status')}; source {sample.get('source') or '-'}; run "
            f"{run_of(document, sample).get('command')}"
        )
        header.append(f"##SAMPLE=<ID={name},Description={_quoted(description)}>")

    by_sample = [
        {str(c.get("hotspot")): c for c in sample.get("calls") or []} for sample in samples
    ]
    records: dict[tuple[int, str, str], tuple[Locus, Mapping[str, Any]]] = {}
    unpositioned: dict[str, Mapping[str, Any]] = {}
    for sample in samples:
        calls = detected_calls(sample) if detected_only else sample.get("calls") or []
        for call in calls:
            hotspot = str(call.get("hotspot"))
            locus = hotspot_locus(hotspot, str(call.get("hgvs_c")), target)
            region = (call.get("evidence") or {}).get("region")
            if locus is None and region and not call.get("hgvs_c"):
                # a dPCR drop-off's region call: a mutation somewhere in the region, no allele
                if call.get("status") == "DETECTED":
                    message = (
                        f"{call.get('hotspot')} (region {region}) is DETECTED in "
                        f"{sample.get('sample_id')}: a region call names no single allele, so it "
                        "has no VCF record; its hotspots are INDETERMINATE ALLELE_NOT_RESOLVED "
                        "unless a specific assay decided them"
                    )
                    log.info("%s", message)
                    header.append(f"##esr1calls_region_call={_line(message)}")
                continue
            if locus is None:
                unpositioned.setdefault(hotspot, call)
                continue
            records.setdefault((locus.pos, locus.alt, hotspot), (locus, call))
    for hotspot, call in unpositioned.items():
        where = [str(s.get("sample_id")) for s in samples if hotspot in detected_hotspots(s)]
        message = f"{hotspot} {call.get('hgvs_c')} has no known genomic position: not in the VCF"
        if where:
            message += f" (DETECTED in {', '.join(where)})"
            log.warning("%s", message)
        header.append(f"##esr1calls_unpositioned={_line(message)}")
    columns = ["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT", *names]
    lines = [*dict.fromkeys(header), "\t".join(columns)]
    for (_, _, hotspot), (locus, first) in sorted(records.items()):
        hgvs_c, hgvs_p = vcf_info_hgvs(str(first.get("hgvs_c")), str(first.get("hgvs_p") or "."))
        info = ";".join(
            f"{key}={_NOT_IN_INFO.sub('_', value)}"
            for key, value in (("HOTSPOT", hotspot), ("HGVSC", hgvs_c), ("HGVSP", hgvs_p))
        )
        cells = [
            _format(calls.get(hotspot), str(sample.get("method")))
            for calls, sample in zip(by_sample, samples, strict=True)
        ]
        lines.append(
            "\t".join(
                [
                    locus.chrom,
                    str(locus.pos),
                    ".",
                    locus.ref,
                    locus.alt,
                    ".",
                    "PASS",
                    info,
                    ":".join(FORMAT_KEYS),
                    *cells,
                ]
            )
        )
    return "\n".join(lines) + "\n"


def render_files(document: Document, options: ReportOptions) -> dict[str, str]:
    """detected.vcf (--vcf), as the registry of formats renders it."""
    only = options.flag("detected_only")
    return {DETECTED_VCF: render_detected_vcf(document, build=options.build, detected_only=only)}
