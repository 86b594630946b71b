"""detected.vcf: valid VCF 4.2 (pysam reads it), panel positions in the right build."""

from __future__ import annotations

import json

import pysam
import pytest

from esr1calls.hotspots import load_panel
from esr1calls.model import Build
from esr1calls.reports.vcf import render_detected_vcf, vcf_build
from esr1calls.reports.write import ReportOptions, to_json_document
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


def test_pcr_vcf_loads_and_holds_every_detected_call(tmp_path, pcr_document):
    vcf = read(tmp_path, render_detected_vcf(pcr_document))
    assert list(vcf.header.samples) == [s["sample_id"] for s in pcr_document["samples"]]
    assert vcf.header.contigs["chr6"].length == Build.GRCH38.chr6_length
    records = list(vcf)
    detected = {
        (s["sample_id"], c["hotspot"])
        for s in pcr_document["samples"] for c in s["calls"] if c["status"] == "DETECTED"
    }  # fmt: skip
    in_vcf = {
        (sample, r.info["HOTSPOT"])
        for r in records for sample in r.samples if r.samples[sample]["CS"] == "DETECTED"
    }  # fmt: skip
    assert in_vcf == detected
    for record in records:
        hotspot = PANEL[record.info["HOTSPOT"]]
        assert (record.pos, record.ref, record.alts) == (
            hotspot.pos(Build.GRCH38),
            hotspot.ref,
            (hotspot.alt,),
        )
        assert record.filter.keys() == ["PASS"]
        assert record.info["NDET"] == sum(
            record.samples[s]["CS"] == "DETECTED" for s in record.samples
        )
    positions = [r.pos for r in records]
    assert positions == sorted(positions)


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


def test_a_run_with_nothing_detected_gives_a_header_only_vcf(tmp_path, pcr_document):
    document = json.loads(json.dumps(pcr_document))
    document["samples"] = [s for s in document["samples"] if s["status"] != "POSITIVE"]
    vcf = read(tmp_path, render_detected_vcf(document))
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
    assert len(done.stdout.splitlines()) == 8 and "Warning" not in done.stderr


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
    assert "##esr1calls_unpositioned=X999del NM_000125.4:c.1264_1266del is DETECTED in S2" in text
    assert "has no known genomic position" in caplog.text
    assert len(list(read(tmp_path, text))) == 7


def test_a_dpcr_run_gives_its_detected_alleles_and_names_its_region_calls(tmp_path, caplog):
    """D538G (a specific assay) is a record with the partition counts as AO/DP; the drop-off's
    DETECTED region call has no single allele: a header line says so, without a warning."""
    document = to_json_document(dpcr_run(), ReportOptions(DPCR_COMMAND, reproducible=True))
    with caplog.at_level("WARNING"):
        text = render_detected_vcf(document)
    assert not caplog.records
    records = list(read(tmp_path, text))
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
