"""Every text follows the settings the run used, never a default written into a sentence.

Runs with --min-allele-fraction 0.01 and 0.0025 (and kits whose reportable fraction is 1 % or
0.25 %) must not say "0.2 %" anywhere, and must say the setting they used: the terminal summary,
the calls' actions, calls.tsv, samples.tsv, report.html, the FHIR narrative, the detected.vcf
header and the MultiQC section. A report re-rendered from calls.json says the same, and a report
merging runs with different settings never claims one value for all of them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from esr1calls.hotspots import load_panel
from esr1calls.model import (
    AlleleCounts,
    Call,
    CallStatus,
    InputFile,
    Method,
    Reason,
    RunResult,
    SampleReport,
    SampleStatus,
    exact_percent,
    reportable_fraction,
)
from esr1calls.ngs import NgsSettings, call_ngs
from esr1calls.ngs.rule import call_hotspot
from esr1calls.pcr.kit import describe_kit, load_kit
from esr1calls.pcr.rules import evaluate_reference
from esr1calls.reports.calls_json import to_json_document
from esr1calls.reports.options import ReportOptions
from esr1calls.reports.write import render_files
from esr1calls.testing.plates import DEMO_MAP, DEMO_TABLE

KIT_TOML = Path(__file__).resolve().parents[1] / "esr1calls" / "data" / "kits"
KIT_TOML = KIT_TOML / "esr1-11-arms-example.toml"
EVERY_FORMAT = ("--multiqc", "--fhir", "--vcf", "--reproducible")
DEFAULT_TEXT = re.compile(r"0\.2 ?%")  # "0.2 %" (percent()) and "0.2%" ({:.2%} style)

# A generic AD/DP VCF whose measured values never print as 0.2 %: E380Q 27/15,000 (0.18 %,
# significant: LOW_LEVEL at 1 % and at 0.25 %), V422del 2.5 % (DETECTED), Y537S 0/12,000
# (NOT_DETECTED), D538G 0/150 (INSUFFICIENT_DEPTH); the rest have no record (NO_COVERAGE).
VCF = """\
##fileformat=VCFv4.2
##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">
##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths">
##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Read depth">
##reference=GRCh38
##contig=<ID=chr6,length=170805979>
#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t{sample}
chr6\t152011697\t.\tG\tC\t.\t.\t.\tGT:AD:DP\t0/1:14973,27:15000
chr6\t152061016\t.\tATGG\tA\t.\t.\t.\tGT:AD:DP\t0/1:11700,300:12000
chr6\t152098788\t.\tA\tC\t.\t.\t.\tGT:AD:DP\t0/0:12000,0:12000
chr6\t152098791\t.\tA\tG\t.\t.\t.\tGT:AD:DP\t0/0:150,0:150
"""
SETTINGS = [pytest.param("0.01", "1 %", id="1%"), pytest.param("0.0025", "0.25 %", id="0.25%")]


def _vcf(tmp_path: Path, sample: str = "PLASMA_S") -> Path:
    path = tmp_path / f"{sample}.vcf"
    path.write_text(VCF.format(sample=sample))
    return path


def _ngs(run_cli, tmp_path: Path, fraction: str, sample: str = "PLASMA_S"):
    outdir = tmp_path / f"ngs-{sample}-{fraction}"
    vcf = _vcf(tmp_path, sample)
    args = ["ngs", vcf, "--min-allele-fraction", fraction, *EVERY_FORMAT, "-o", outdir]
    result = run_cli(args)
    assert result.exit_code == 0, result.stderr
    return result, outdir


def _texts(outdir: Path) -> dict[str, str]:
    return {path.name: path.read_text(encoding="utf-8") for path in sorted(outdir.iterdir())}


def _words(outdir: Path) -> dict[str, str]:
    """Each output's text as people see it (FHIR and MultiQC: their strings; the rest whole)."""
    texts = _texts(outdir)
    for name in ("calls.fhir.json", "esr1calls_calls_mqc.json"):
        texts[name] = " ".join(_strings(json.loads(texts[name])))
    return texts


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _fhir_notes(bundle: dict, sample_id: str) -> str:
    """The narrative of one sample: its Observations' notes and its report's conclusion."""
    specimens = {
        e["fullUrl"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "Specimen"
        and e["resource"]["identifier"][0]["value"] == sample_id
    }
    out = []
    for entry in bundle["entry"]:
        resource = entry["resource"]
        specimen = resource.get("specimen")
        refs = specimen if isinstance(specimen, list) else [specimen] if specimen else []
        if not {r["reference"] for r in refs} & specimens:
            continue
        out += [note["text"] for note in resource.get("note", [])]
        out.append(resource.get("conclusion", ""))
    return " ".join(out)


# -------------------------------------------------------------------------------- NGS run
@pytest.mark.parametrize("fraction, shown", SETTINGS)
def test_no_output_of_an_ngs_run_claims_another_fraction(run_cli, tmp_path, fraction, shown):
    result, outdir = _ngs(run_cli, tmp_path, fraction)
    texts = _words(outdir)
    assert sorted(texts) == [
        "calls.fhir.json", "calls.json", "calls.tsv", "clinical.html", "detected.vcf",
        "esr1calls_calls_mqc.json", "esr1calls_general_stats_mqc.json", "report.html",
        "samples.tsv",
    ]  # fmt: skip
    for name, text in {"stdout": result.stdout, **texts}.items():
        assert not DEFAULT_TEXT.search(text), (name, DEFAULT_TEXT.search(text))
    said = f"below {shown}"
    assert said in result.stdout  # the terminal summary's reason words
    document = json.loads(texts["calls.json"])
    sample = document["samples"][0]
    assert said in sample["summary"]
    calls = {c["hotspot"]: c for c in sample["calls"]}
    assert calls["E380Q"]["reasons"][0] == "LOW_LEVEL"
    assert calls["D538G"]["reasons"][0] == "INSUFFICIENT_DEPTH"
    assert f"below the {shown} reportable fraction;" in calls["E380Q"]["action"]
    assert f"below the {shown} reportable fraction;" in texts["calls.tsv"]
    assert said in texts["samples.tsv"]
    html = texts["report.html"]
    assert f"LOW_LEVEL</span>: significant evidence of the mutation, below the {shown} " in html
    assert f"INSUFFICIENT_DEPTH</span>: depth too low to exclude {shown} with 95 % " in html
    assert f"the {shown} reportable fraction (red dashed)" in html
    fhir = texts["calls.fhir.json"]
    assert f"LOW_LEVEL: significant evidence of the mutation, below the {shown} " in fhir
    assert f"INSUFFICIENT_DEPTH: depth too low to exclude {shown} with 95 % probability" in fhir
    assert f"(a claim: {shown} would have been seen)" in texts["detected.vcf"]
    assert f"reportable fraction {shown};" in texts["esr1calls_calls_mqc.json"]
    assert f"Reportable allele fraction: {shown}." in texts["clinical.html"]


def test_a_setting_is_shown_exactly_never_rounded(tmp_path):
    """0.125 % read 0.13 % in the action and the summary (two significant digits)."""
    settings = NgsSettings(min_allele_fraction=0.00125, background_error=1e-5)
    hotspot = load_panel()["E380Q"]
    call = call_hotspot(hotspot, AlleleCounts("E380Q", 10, 10_000, "vcf"), settings, sample_id="S")
    assert call.reasons[0] is Reason.LOW_LEVEL
    assert "below the 0.125 % reportable fraction" in (call.action or "")
    assert exact_percent(0.0025) == "0.25 %" and exact_percent(0.00125) == "0.125 %"


def test_a_re_rendered_report_says_what_the_run_said(run_cli, tmp_path):
    """esr1calls report takes each sentence's number from calls.json, not from a default."""
    _, outdir = _ngs(run_cli, tmp_path, "0.01")
    document = json.loads((outdir / "calls.json").read_text())
    options = ReportOptions("x", reproducible=True, formats=frozenset({"multiqc", "fhir", "vcf"}))
    for name, text in render_files(document, options).items():
        assert text == (outdir / name).read_text(), name
    result = run_cli(["report", outdir / "calls.json", *EVERY_FORMAT, "-o", tmp_path / "again"])
    assert result.exit_code == 0, result.stderr
    for name, text in _words(tmp_path / "again").items():
        assert not DEFAULT_TEXT.search(text), name


def test_the_required_power_is_the_runs(tmp_path):
    """NOT_DETECTED and lod95 at 90 %: no text says 95 % for them."""
    settings = NgsSettings(min_allele_fraction=0.01, power=0.9)
    result = call_ngs([_vcf(tmp_path)], settings=settings)
    options = ReportOptions("x", reproducible=True, formats=frozenset({"fhir", "vcf"}))
    files = render_files(_document(result), options)
    assert "depth too low to exclude 1 % with 90 % probability" in files["report.html"]
    assert "achieved 90 % limit of detection" in files["report.html"]
    assert "Achieved 90 % limit of detection" in files["calls.fhir.json"]
    assert 'Description="Achieved 90 % limit of detection"' in files["detected.vcf"]
    assert "95 % limit" not in files["calls.fhir.json"] + files["detected.vcf"]


def _document(result: RunResult) -> dict:
    return to_json_document(result, ReportOptions("x", reproducible=True))


def test_a_run_that_recorded_no_fraction_names_none(tmp_path):
    """A document without a reportable fraction: the texts say "the reportable fraction"."""
    calls = (
        Call("S", "E380Q", Method.NGS, CallStatus.INDETERMINATE, (Reason.LOW_LEVEL,),
             allele_fraction=0.0018, alt_count=27, depth=15000, lod95=0.0017),
        Call("S", "D538G", Method.NGS, CallStatus.INDETERMINATE, (Reason.INSUFFICIENT_DEPTH,),
             alt_count=0, depth=150, lod95=0.04),
    )  # fmt: skip
    sample = SampleReport("S", Method.NGS, SampleStatus.INDETERMINATE, "two indeterminate", calls)
    result = RunResult((sample,), (InputFile("s.vcf", "0" * 64),), panel=load_panel().describe())
    options = ReportOptions("x", reproducible=True, formats=frozenset({"multiqc", "fhir", "vcf"}))
    files = render_files(_document(result), options)
    for name, text in files.items():
        assert not DEFAULT_TEXT.search(text), name
    assert "below the reportable fraction" in files["report.html"]
    assert "stroke-dasharray" not in files["report.html"].split("<figure>")[1]  # no line drawn
    assert "(a claim: the reportable fraction would have been seen)" in files["detected.vcf"]
    assert "depth too low to exclude the reportable fraction" in files["calls.fhir.json"]


# --------------------------------------------------------------------------- merged runs
def test_a_merged_report_never_claims_one_fraction_for_all(run_cli, tmp_path):
    _, first = _ngs(run_cli, tmp_path, "0.01", sample="PLASMA_A")
    _, second = _ngs(run_cli, tmp_path, "0.0025", sample="PLASMA_B")
    cohort = tmp_path / "cohort"
    result = run_cli(
        ["report", first / "calls.json", second / "calls.json", *EVERY_FORMAT, "-o", cohort]
    )
    assert result.exit_code == 0, result.stderr
    texts = _words(cohort)
    for name, text in {"stdout": result.stdout, **texts}.items():
        assert not DEFAULT_TEXT.search(text), name
    # per sample: its own run's value
    html = texts["report.html"]
    sections = {
        part.split("<h3>")[1].split(" ")[0]: part.split("</section>")[0]
        for part in html.split("<section class='sample'")[1:]
    }
    assert "below the 1 % reportable fraction" in sections["PLASMA_A"]
    assert "0.25 %" not in sections["PLASMA_A"]
    assert "below the 0.25 % reportable fraction" in sections["PLASMA_B"]
    assert "below the 1 %" not in sections["PLASMA_B"]
    bundle = json.loads((cohort / "calls.fhir.json").read_text())
    first_notes, second_notes = (_fhir_notes(bundle, s) for s in ("PLASMA_A", "PLASMA_B"))
    assert "exclude 1 % with" in first_notes and "0.25 %" not in first_notes
    assert "exclude 0.25 % with" in second_notes and "exclude 1 %" not in second_notes
    header, *lines = texts["calls.tsv"].splitlines()
    at = {name: i for i, name in enumerate(header.split("\t"))}  # a merge: run comes first
    rows = {
        (cells[at["sample_id"]], cells[at["hotspot"]]): line
        for line in lines
        for cells in [line.split("\t")]
    }
    assert "below the 1 % reportable" in rows["PLASMA_A", "E380Q"]
    assert "below the 0.25 % reportable" in rows["PLASMA_B", "E380Q"]
    # page level: each value, with the run it belongs to
    assert (
        "(a claim: the reportable fraction of the sample's run (1 % in source 1, 0.25 % in "
        "source 2) would have been seen)"
    ) in texts["detected.vcf"]
    description = json.loads((cohort / "esr1calls_calls_mqc.json").read_text())["description"]
    assert description.count("reportable fraction") == 2
    assert description.index("reportable fraction 1 %") < description.index(
        "reportable fraction 0.25 %"
    )


def test_a_merged_report_of_runs_with_one_setting_names_it_once(run_cli, tmp_path):
    _, first = _ngs(run_cli, tmp_path, "0.01", sample="PLASMA_A")
    _, second = _ngs(run_cli, tmp_path, "0.01", sample="PLASMA_B")
    cohort = tmp_path / "cohort"
    result = run_cli(["report", first / "calls.json", second / "calls.json", "--vcf", "-o", cohort])
    assert result.exit_code == 0, result.stderr
    assert "(a claim: 1 % would have been seen)" in (cohort / "detected.vcf").read_text()


# -------------------------------------------------------------------------------- PCR run
def _kit(tmp_path: Path, fraction: str) -> Path:
    """The example kit at another reportable fraction; its sources (the kit author's words)
    name that fraction too."""
    text = KIT_TOML.read_text().replace("0.2 %", f"{float(fraction) * 100:g} %")
    text = text.replace(
        "placeholder = true\n",
        f'placeholder = true\nreportable_fraction = {{ value = {fraction}, source = "test" }}\n',
    )
    path = tmp_path / f"kit-{fraction}.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("fraction, shown", SETTINGS)
def test_no_output_of_a_pcr_run_claims_another_fraction(run_cli, tmp_path, fraction, shown):
    """The reportable fraction of a PCR run is its kit's: S9's low input and S1's sufficient
    input are said at it, and a negative's lod95 is it."""
    outdir = tmp_path / "pcr"
    kit = _kit(tmp_path, fraction)
    args = ["pcr", DEMO_TABLE, "--plate-map", DEMO_MAP, "--kit", kit, *EVERY_FORMAT, "-o", outdir]
    result = run_cli(args)
    assert result.exit_code == 0, result.stderr
    texts = _words(outdir)
    for name, text in texts.items():
        assert not DEFAULT_TEXT.search(text), (name, DEFAULT_TEXT.search(text))
    document = json.loads(texts["calls.json"])
    assert document["run"]["thresholds"]["reportable_fraction"] == float(fraction)
    samples = {s["sample_id"]: s for s in document["samples"]}
    assert f"input sufficient for the {shown} limit of detection" in samples["S1"]["summary"]
    low = samples["S9"]["calls"][0]
    assert low["reasons"][0] == "LOW_INPUT" and f": {shown} cannot be excluded" in low["action"]
    negative = samples["S1"]["calls"][1]
    assert negative["status"] == "NOT_DETECTED" and negative["lod95"] == float(fraction)
    assert samples["S1"]["details"]["achieved_lod95"] == float(fraction)
    for name in ("calls.tsv", "samples.tsv", "calls.fhir.json", "report.html"):
        assert shown in texts[name], name
    assert (
        f"LOW_INPUT</span>: DNA input below that needed for the {shown} limit"
        in texts["report.html"]
    )
    assert f"Achieved 95 % limit of detection {shown}." in texts["calls.fhir.json"]
    assert f"(a claim: {shown} would have been seen)" in texts["detected.vcf"]
    assert f"reportable fraction {shown};" in texts["esr1calls_calls_mqc.json"]


def test_a_pcr_limit_that_is_the_setting_is_shown_exactly(tmp_path):
    """Above the full-sensitivity Ct with enough copies on the curve, the achievable LoD is the
    kit's fraction itself: 0.125 %, not ~0.13%."""
    text = _kit(tmp_path, "0.00125").read_text()
    # ~3,000 copies at Ct 29: above ct_full_sensitivity 28.5, yet enough copies
    text = text.replace(
        'overload_policy = "invalidate_all"',
        'overload_policy = "invalidate_all"\n'
        "standard_curve = { slope = -3.3, intercept = 40.4747 }",
    )
    path = tmp_path / "curve.toml"
    path.write_text(text)
    outcome = evaluate_reference([29.0], load_kit(path))
    assert outcome.low_input and outcome.lod95 == 0.00125
    assert "0.125 % cannot be excluded (achievable LoD 0.125 %)" in (outcome.action or "")


def test_a_kit_says_its_reportable_fraction(tmp_path):
    assert "Reportable fraction (the kit's LoD95): 1 % (test)" in describe_kit(
        load_kit(_kit(tmp_path, "0.01"))
    )
    default = load_kit(None)
    assert default.reportable_fraction.value == 0.002
    assert "Reportable fraction (the kit's LoD95): 0.2 % (default:" in describe_kit(default)


@pytest.mark.parametrize(
    "value, message",
    [
        ("0.2", "reportable_fraction 0.2 is 20 %: give it as a fraction (0.002 = 0.2 %)"),
        ("0", "reportable_fraction 0 is 0 %: give it as a fraction"),
        ("-0.001", "reportable_fraction -0.001 is -0.1 %"),
        ('"0.2 %"', "reportable_fraction must be a number, got '0.2 %'"),
    ],
)
def test_a_kit_reportable_fraction_must_be_a_plausible_fraction(run_cli, tmp_path, value, message):
    path = _kit(tmp_path, "0.01")
    path.write_text(path.read_text().replace("value = 0.01, ", f"value = {value}, "))
    result = run_cli(["kit", "validate", path])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"esr1calls: error: {path.name}, [kit]: {message}")


# ---------------------------------------------------------------------------- reason texts
def test_reason_descriptions_hold_no_number_of_a_setting():
    """A reason's plain description names no fraction or probability: those come from the
    run's thresholds (Reason.describe), so no renderer can print a default."""
    for reason in Reason:
        assert "%" not in reason.description, reason
        assert reason.describe({}) == reason.description


@pytest.mark.parametrize(
    "reason, thresholds, expected",
    [
        (Reason.LOW_LEVEL, {"min_allele_fraction": 0.0025},
         "significant evidence of the mutation, below the 0.25 % reportable fraction"),
        (Reason.INSUFFICIENT_DEPTH, {"min_allele_fraction": 0.01, "required_power": 0.9},
         "depth too low to exclude 1 % with 90 % probability"),
        (Reason.INSUFFICIENT_DEPTH, {"min_allele_fraction": 0.002},
         "depth too low to exclude 0.2 % with 95 % probability"),
        (Reason.LOW_INPUT, {"reportable_fraction": 0.005},
         "DNA input below that needed for the 0.5 % limit of detection"),
        (Reason.LOW_INPUT, {"reportable_fraction": {"value": 0.00125, "source": "kit"}},
         "DNA input below that needed for the 0.125 % limit of detection"),
    ],
)  # fmt: skip
def test_reason_texts_name_the_runs_numbers(reason, thresholds, expected):
    assert reason.describe(thresholds) == expected


def test_reportable_fraction_is_read_from_either_command():
    assert reportable_fraction({"min_allele_fraction": 0.01}) == 0.01
    assert reportable_fraction({"reportable_fraction": 0.005}) == 0.005
    assert reportable_fraction({"min_allele_fraction": True}) is None
    assert reportable_fraction({"reportable_fraction": 2}) is None


@pytest.mark.parametrize("vcf", ["bcftools/esr1_mpileup.vcf", "haplotypecaller/esr1_tumour.g.vcf"])
def test_caller_notices_claim_no_fraction(run_cli, tmp_path, vcf):
    """A capped mpileup or a germline caller cannot exclude the fraction in force, whatever it
    is: the notice names no default."""
    path = Path(__file__).resolve().parents[1] / "testdata" / "vcf" / vcf
    args = ["ngs", path, "--min-allele-fraction", "0.01", "-o", tmp_path / "out"]
    result = run_cli(args)
    assert result.exit_code == 0, result.stderr
    notices = json.loads((tmp_path / "out" / "calls.json").read_text())["run"]["notices"]
    assert notices and all("reportable fraction" in n for n in notices)
    assert not any(DEFAULT_TEXT.search(n) for n in notices)
