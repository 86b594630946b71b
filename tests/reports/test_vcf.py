"""detected.vcf: valid VCF 4.2 (pysam reads it), panel positions in the right build, a record for
every hotspot (or, --detected-only, the DETECTED ones), and merges that keep NOT_DETECTED."""

from __future__ import annotations

import json

import pysam
import pytest

from esr1calls.hotspots import load_panel
from esr1calls.model import Build
from esr1calls.reports.calls_json import to_json_document
from esr1calls.reports.options import ReportOptions
from esr1calls.reports.vcf import render_detected_vcf, vcf_build
from esr1calls.testing.runs import (
    DPCR_COMMAND,
    NGS_COMMAND,
    PCR_COMMAND,
    dpcr_run,
    ngs_run,
    pcr_run,
)

PANEL = load_panel()
OPTIONS = ReportOptions(PCR_COMMAND, reproducible=True)


def read(tmp_path, text, name="detected.vcf"):
    path = tmp_path / name
    path.write_text(text)
    return pysam.VariantFile(str(path))


@pytest.fixture(scope="module")
def pcr_document():
    return to_json_document(pcr_run(), OPTIONS)


def _calls(document):
    return {
        (s["sample_id"], c["hotspot"]): c["status"] for s in document["samples"] for c in s["calls"]
    }


def test_pcr_vcf_has_a_record_for_every_hotspot_and_every_call(tmp_path, pcr_document):
    vcf = read(tmp_path, render_detected_vcf(pcr_document))
    assert list(vcf.header.samples) == [s["sample_id"] for s in pcr_document["samples"]]
    assert vcf.header.contigs["chr6"].length == Build.GRCH38.chr6_length
    assert "NDET" not in vcf.header.info  # one file's count would be wrong in any merge
    records = list(vcf)
    assert [r.info["HOTSPOT"] for r in records] == [
        "E380Q", "V422del", "S463P", "L536H", "L536Q", "L536P", "L536R", "Y537N", "Y537S",
        "Y537C", "D538G",
    ]  # fmt: skip
    in_vcf = {
        (sample, r.info["HOTSPOT"]): r.samples[sample] for r in records for sample in r.samples
    }
    calls = _calls(pcr_document)
    assert set(in_vcf) == set(calls)
    genotype = {"DETECTED": (0, 1), "NOT_DETECTED": (0, 0)}
    for key, status in calls.items():
        assert in_vcf[key]["CS"] == status, key
        assert in_vcf[key]["GT"] == genotype.get(status, (None, None)), key
    assert {"DETECTED", "NOT_DETECTED", "INVALID", "INDETERMINATE"} <= set(calls.values())
    for record in records:
        hotspot = PANEL[record.info["HOTSPOT"]]
        assert (record.pos, record.ref, record.alts) == (
            hotspot.pos(Build.GRCH38),
            hotspot.ref,
            (hotspot.alt,),
        )
        assert record.filter.keys() == ["PASS"]
    positions = [r.pos for r in records]
    assert positions == sorted(positions)


def test_detected_only_keeps_the_older_smaller_form(tmp_path, pcr_document):
    text = render_detected_vcf(pcr_document, detected_only=True)
    assert "##esr1calls_content=DETECTED calls only" in text
    records = list(read(tmp_path, text))
    detected = {h for (_, h), status in _calls(pcr_document).items() if status == "DETECTED"}
    assert {r.info["HOTSPOT"] for r in records} == detected and len(records) == 8
    # the columns still give each sample's own call at those records
    for record in records:
        assert {record.samples[s]["CS"] for s in record.samples} >= {"DETECTED"}


def test_sample_columns_say_what_was_called_there(tmp_path, pcr_document):
    records = {r.info["HOTSPOT"]: r for r in read(tmp_path, render_detected_vcf(pcr_document))}
    d538g = records["D538G"]
    s2 = d538g.samples["S2"]
    assert s2["GT"] == (0, 1) and s2["MT"] == "PCR" and s2["DCT"] == pytest.approx(6.02, abs=1e-4)
    assert s2["AF"][0] == pytest.approx(0.0251, rel=0.05) and len(s2["AFCI"]) == 2
    assert d538g.samples["S1"]["GT"] == (0, 0)  # NOT_DETECTED is a claim: 0/0
    assert d538g.samples["S1"]["LOD"] == pytest.approx(0.002)
    assert d538g.samples["S7"]["GT"] == (None, None)  # INVALID: no genotype
    assert d538g.samples["S7"]["RS"] == ("REF_CT_LOW",)


def test_build_comes_from_the_option_then_the_document(tmp_path, pcr_document):
    grch37 = read(tmp_path, render_detected_vcf(pcr_document, Build.GRCH37), "37.vcf")
    assert list(grch37.header.contigs) == ["6"]
    first = next(iter(grch37))
    assert (first.chrom, first.pos) == ("6", PANEL["E380Q"].pos(Build.GRCH37))
    ngs = to_json_document(ngs_run(), ReportOptions(NGS_COMMAND, reproducible=True))
    assert vcf_build(ngs, None) == (Build.GRCH38, "recorded by the NGS run")
    for sample in ngs["samples"]:
        sample["details"]["build"] = "hg19"
    ngs["run"]["thresholds"]["build"] = "hg19"
    assert vcf_build(ngs, None)[0] is Build.GRCH37
    ngs["samples"][0]["details"]["build"] = "GRCh38"
    assert vcf_build(ngs, None) == (
        Build.GRCH38, "default: the runs recorded different builds, give --build"
    )  # fmt: skip
    assert vcf_build(pcr_document, None) == (Build.GRCH38, "default: no build recorded (PCR)")


def test_header_names_the_audit_trail(pcr_document):
    header = [
        line for line in render_detected_vcf(pcr_document).splitlines() if line.startswith("##")
    ]
    text = "\n".join(header)
    assert f"##source=esr1calls {pcr_document['tool']['version']}" in text
    assert f"##esr1calls_command={PCR_COMMAND}" in text
    assert "##esr1calls_review_status=unreviewed" in text
    assert pcr_document["run"]["panel"]["sha256"] in text
    assert pcr_document["run"]["kit"]["sha256"] in text
    for item in pcr_document["run"]["inputs"]:
        assert f"##esr1calls_input=sha256:{item['sha256']} {item['path']}" in text


def test_hostile_and_duplicate_sample_ids_make_valid_unique_columns(tmp_path):
    names = ("<script>alert(1)</script>", 'tab\there "q"')
    document = to_json_document(ngs_run(names), ReportOptions(NGS_COMMAND, reproducible=True))
    twin = json.loads(json.dumps(document["samples"][0]))
    twin["method"] = "PCR"
    document["samples"].append(twin)
    document["run"]["command"] = "esr1calls ngs\nnew line <injected>"
    vcf = read(tmp_path, render_detected_vcf(document))
    columns = list(vcf.header.samples)
    assert len(set(columns)) == 3
    assert all(not any(ch in c for ch in ' \t<>",;=') for c in columns)
    descriptions = [r for r in vcf.header.records if r.key == "SAMPLE"]
    assert "sample_id <script>alert(1)</script>;" in descriptions[0]["Description"]
    assert 'tab here \\"q\\"' in str(descriptions[1])
    assert list(vcf)  # the records still parse


def test_a_run_with_nothing_detected(tmp_path, pcr_document):
    document = json.loads(json.dumps(pcr_document))
    document["samples"] = [s for s in document["samples"] if s["status"] != "POSITIVE"]
    # every hotspot still has its record: the negatives are claims worth keeping
    records = list(read(tmp_path, render_detected_vcf(document)))
    assert len(records) == 11 and all(len(r.samples) == 4 for r in records)
    # the detected-only form is a header with no record
    vcf = read(tmp_path, render_detected_vcf(document, detected_only=True), "only.vcf")
    assert list(vcf) == [] and len(vcf.header.samples) == 4


def test_bcftools_reads_it(tmp_path, pcr_document):
    import shutil
    import subprocess

    bcftools = shutil.which("bcftools")
    if bcftools is None:
        pytest.skip("bcftools is installed by scripts/install-system-deps.sh")
    path = tmp_path / "detected.vcf"
    path.write_text(render_detected_vcf(pcr_document))
    done = subprocess.run([bcftools, "view", "-H", str(path)], capture_output=True, text=True,
                          check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 11 and "Warning" not in done.stderr


def test_hotspots_outside_the_catalog(tmp_path, pcr_document, caplog):
    from esr1calls.reports.document import hotspot_locus

    # a lab-panel substitution is placed from its HGVS c. and the transcript
    locus = hotspot_locus("E380K", "NM_000125.4:c.1138G>A", Build.GRCH38)
    assert (locus.chrom, locus.pos, locus.ref, locus.alt) == ("chr6", 152011697, "G", "A")
    # a deletion's VCF anchor base is not known here: no position rather than a wrong one
    assert hotspot_locus("V422del2", "NM_000125.4:c.1264_1266del", Build.GRCH38) is None
    document = json.loads(json.dumps(pcr_document))
    call = document["samples"][1]["calls"][1]  # S2 V422del, DETECTED
    call.update(hotspot="X999del", hgvs_c="NM_000125.4:c.1264_1266del")
    text = render_detected_vcf(document)
    assert (
        "##esr1calls_unpositioned=X999del NM_000125.4:c.1264_1266del has no known genomic "
        "position: not in the VCF (DETECTED in S2)"
    ) in text
    assert "has no known genomic position" in caplog.text
    # V422del is still placed from the other samples' calls; X999del has no record
    assert len(list(read(tmp_path, text))) == 11
    assert (
        len(list(read(tmp_path, render_detected_vcf(document, detected_only=True), "d.vcf"))) == 7
    )


def test_bcftools_merge_of_two_runs_keeps_not_detected_as_0_0(tmp_path, pcr_document):
    """The consumer a lab uses: two runs (one PCR plate, one NGS run whose first sample is also
    called S1) merged by bcftools. Every sample keeps its own call at every hotspot: 0/0 for
    NOT_DETECTED (not the ./. a merge gives where a file has no record), ./. with the status in CS
    for INDETERMINATE and INVALID."""
    import shutil
    import subprocess

    bcftools, bgzip = shutil.which("bcftools"), shutil.which("bgzip")
    if bcftools is None or bgzip is None:
        pytest.skip("bcftools and bgzip are installed by scripts/install-system-deps.sh")
    ngs_document = to_json_document(
        ngs_run(("S1", "T02")), ReportOptions(NGS_COMMAND, reproducible=True)
    )
    paths = []
    for name, document in (("pcr", pcr_document), ("ngs", ngs_document)):
        path = tmp_path / f"{name}.vcf.gz"
        with path.open("wb") as out:
            subprocess.run([bgzip, "-c"], input=render_detected_vcf(document).encode(),
                           stdout=out, check=True)  # fmt: skip
        subprocess.run([bcftools, "index", str(path)], check=True)
        paths.append(str(path))
    merged = tmp_path / "merged.vcf"
    done = subprocess.run(
        [bcftools, "merge", "--force-samples", *paths, "-o", str(merged)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    vcf = pysam.VariantFile(str(merged))
    pcr_ids = [s["sample_id"] for s in pcr_document["samples"]]
    # bcftools names the second file's repeated S1 "2:S1"
    columns = {**{("pcr", i): i for i in pcr_ids}, ("ngs", "S1"): "2:S1", ("ngs", "T02"): "T02"}
    assert list(vcf.header.samples) == list(columns.values())
    expected = {
        (columns[(run, sample)], hotspot): status
        for run, document in (("pcr", pcr_document), ("ngs", ngs_document))
        for (sample, hotspot), status in _calls(document).items()
    }
    genotype = {"DETECTED": (0, 1), "NOT_DETECTED": (0, 0)}
    seen = {}
    for record in vcf:
        for column in record.samples:
            call = record.samples[column]
            seen[(column, record.info["HOTSPOT"])] = (call["GT"], call["CS"])
    assert seen == {
        key: (genotype.get(status, (None, None)), status) for key, status in expected.items()
    }
    assert sum(status == "NOT_DETECTED" for status in expected.values()) > 40


def test_a_dpcr_run_gives_its_detected_alleles_and_names_its_region_calls(tmp_path, caplog):
    """D538G (a specific assay) is a record with the partition counts as AO/DP; the drop-off's
    DETECTED region call has no single allele: a header line says so, without a warning."""
    document = to_json_document(dpcr_run(), ReportOptions(DPCR_COMMAND, reproducible=True))
    with caplog.at_level("WARNING"):
        text = render_detected_vcf(document)
    assert not caplog.records
    # every hotspot the run called has its record; the detected-only form keeps D538G alone
    every = {r.info["HOTSPOT"] for r in read(tmp_path, text)}
    assert "D538G" in every and len(every) > 1 and "EX8_DROPOFF" not in every
    text = render_detected_vcf(document, detected_only=True)
    records = list(read(tmp_path, text, "only.vcf"))
    assert [r.info["HOTSPOT"] for r in records] == ["D538G"]
    p1 = records[0].samples["P1"]
    call = next(c for c in document["samples"][0]["calls"] if c["hotspot"] == "D538G")
    assert (p1["GT"], p1["CS"], p1["MT"]) == ((0, 1), "DETECTED", "dPCR")
    assert (p1["AO"], p1["DP"]) == ((call["alt_count"],), call["depth"])  # AO is Number=A
    assert p1["AF"][0] == pytest.approx(call["allele_fraction"], rel=1e-5)
    regions = [line for line in text.splitlines() if line.startswith("##esr1calls_region_call=")]
    assert [line.split(" is DETECTED in ")[1].split(":")[0] for line in regions] == ["P1", "D1"]
    assert "EX8_DROPOFF (region codons 536-538 (c.1606-1614))" in regions[0]
    assert "##esr1calls_unpositioned" not in text


def test_a_merged_report_names_columns_by_run_and_sample(tmp_path, pcr_document):
    """Two plates' S1..S9 merged by esr1calls report: eighteen columns, plate1:S1 and plate2:S1,
    never S1 and S1_2 (which plate's was which?)."""
    from pathlib import Path

    from esr1calls.reports.merge import LoadedCalls, merge_documents

    loaded = [LoadedCalls(Path(f"plate{n}/calls.json"), str(n) * 64, pcr_document) for n in (1, 2)]
    cohort = merge_documents(loaded, ReportOptions("esr1calls report", reproducible=True))
    vcf = read(tmp_path, render_detected_vcf(cohort))
    expected = [f"plate{n}:S{i}" for n in (1, 2) for i in range(1, 10)]
    assert list(vcf.header.samples) == expected
    record = next(r for r in vcf if r.info["HOTSPOT"] == "D538G")
    assert record.samples["plate2:S2"]["CS"] == "DETECTED"
