"""The ctDNA-fraction proxy of a negative NGS sample (ngs/ctdna.py, docs/clinical.md)."""

from __future__ import annotations

import json
import subprocess

import pytest

from esr1calls.model import Build
from esr1calls.ngs import call_vcf
from esr1calls.ngs.ctdna import gene_at
from esr1calls.testing.ctdna import (
    DNMT3A_R882H,
    GERMLINE_SNP,
    TP53_R273H,
    plasma_vcf,
    write_plasma_vcf,
)


def _sample(tmp_path, *args, **kwargs):
    return call_vcf(write_plasma_vcf(tmp_path / "plasma.vcf", *args, **kwargs)).samples[0]


def test_a_tp53_variant_at_8_percent_makes_the_negative_adequate(tmp_path):
    sample = _sample(tmp_path, [(TP53_R273H, 0.08)])
    assert sample.status.value == "NEGATIVE"
    assert sample.ctdna["status"] == "CTDNA_ADEQUATE"
    assert sample.ctdna["fraction"] == pytest.approx(0.08)
    variant = sample.ctdna["variant"]
    assert (variant["chrom"], variant["pos"], variant["ref"], variant["alt"]) == TP53_R273H
    assert variant["alt_count"] == 1600 and variant["depth"] == 20000
    assert variant["fields"]["alt_count"] == "FORMAT/AD[allele]"  # the caller's rule, not AF


def test_only_a_dnmt3a_variant_is_chip_and_leaves_it_low_or_unknown(tmp_path):
    sample = _sample(tmp_path, [(DNMT3A_R882H, 0.05)])
    assert sample.ctdna["status"] == "CTDNA_LOW_OR_UNKNOWN"
    assert sample.ctdna["variant"] is None and sample.ctdna["excluded"]["chip"] == 1


def test_a_germline_like_48_percent_variant_alone_is_low_or_unknown(tmp_path):
    sample = _sample(tmp_path, [(GERMLINE_SNP, 0.48)])
    assert sample.ctdna["status"] == "CTDNA_LOW_OR_UNKNOWN"
    assert sample.ctdna["excluded"]["germline_like"] == 1


def test_no_other_variant_is_low_or_unknown(tmp_path):
    sample = _sample(tmp_path)
    assert sample.ctdna["status"] == "CTDNA_LOW_OR_UNKNOWN" and sample.ctdna["fraction"] is None
    assert "no PASS somatic variant outside ESR1" in sample.ctdna["why"]


def test_the_highest_eligible_variant_wins_over_chip_and_germline_ones(tmp_path):
    sample = _sample(tmp_path, [(DNMT3A_R882H, 0.3), (GERMLINE_SNP, 0.5), (TP53_R273H, 0.02)])
    assert sample.ctdna["status"] == "CTDNA_ADEQUATE"
    assert sample.ctdna["variant"]["pos"] == TP53_R273H[1]


@pytest.mark.parametrize(
    "fraction, status",
    [(0.0099, "CTDNA_LOW_OR_UNKNOWN"), (0.01, "CTDNA_ADEQUATE"), (0.0101, "CTDNA_ADEQUATE")],
)
def test_the_1_percent_boundary(tmp_path, fraction, status):
    assert _sample(tmp_path, [(TP53_R273H, fraction)]).ctdna["status"] == status


@pytest.mark.parametrize("fraction", [0.35, 0.65, 0.9, 1.0])
def test_the_germline_bounds_are_inclusive(tmp_path, fraction):
    assert _sample(tmp_path, [(TP53_R273H, fraction)]).ctdna["status"] == "CTDNA_LOW_OR_UNKNOWN"


def test_a_filtered_record_never_counts(tmp_path):
    sample = _sample(tmp_path, filtered=[(TP53_R273H, 0.2)])
    assert sample.ctdna["status"] == "CTDNA_LOW_OR_UNKNOWN"
    assert sample.ctdna["excluded"]["filtered"] == 1


def test_a_matched_normal_lets_chip_genes_count(tmp_path):
    text = plasma_vcf([(DNMT3A_R882H, 0.05)])
    lines = text.splitlines()
    out = []
    for line in lines:
        if line.startswith("##tumor_sample"):
            out += [line, "##normal_sample=BLOOD1"]
        elif line.startswith("#CHROM"):
            out.append(line + "\tBLOOD1")
        elif not line.startswith("#"):
            alts = line.split("\t")[4].count(",") + 1
            out.append(f"{line}\t0/0:{','.join(['20000'] + ['0'] * alts)}:20000")
        else:
            out.append(line)
    path = tmp_path / "paired.vcf"
    path.write_text("\n".join(out) + "\n")
    sample = call_vcf(path).samples[0]
    assert sample.ctdna["status"] == "CTDNA_ADEQUATE"
    assert sample.ctdna["variant"]["pos"] == DNMT3A_R882H[1] and not sample.ctdna["chip_excluded"]


@pytest.mark.parametrize(
    "key, layout",
    [
        ("CSQ", "Allele|Consequence|IMPACT|SYMBOL|Gene"),
        ("ANN", "Allele | Annotation | Annotation_Impact | Gene_Name | Gene_ID"),
    ],
)
def test_an_annotation_names_the_gene_where_coordinates_do_not(tmp_path, key, layout):
    """A CHIP-gene variant the coordinate table does not place (here moved off DNMT3A) is still
    left out when VEP or SnpEff names its gene; a TP53 one is named and kept."""
    chip = ("chr17", 7_000_000, "C", "T")
    text = plasma_vcf([(chip, 0.05), (TP53_R273H, 0.008)])
    info = f'##INFO=<ID={key},Number=.,Type=String,Description="Consequence. Format: {layout}">'
    lines = []
    for line in text.splitlines():
        if line.startswith("#CHROM"):
            lines.append(info)
        fields = line.split("\t")
        if not line.startswith("#") and fields[1] == str(chip[1]):
            fields[7] = f"{key}=T|missense_variant|MODERATE|SF3B1|x"
        if not line.startswith("#") and fields[1] == str(TP53_R273H[1]):
            fields[7] = f"{key}=T|missense_variant|MODERATE|TP53|x"
        lines.append("\t".join(fields))
    path = tmp_path / "annotated.vcf"
    path.write_text("\n".join(lines) + "\n")
    sample = call_vcf(path).samples[0]
    assert sample.ctdna["excluded"]["chip"] == 1
    assert sample.ctdna["variant"]["gene"] == "TP53"
    assert sample.ctdna["variant"]["gene_from"] == "CSQ/ANN"
    assert sample.ctdna["status"] == "CTDNA_LOW_OR_UNKNOWN"  # 0.8 % is below 1 %


def test_chip_genes_are_placed_in_both_builds():
    # DNMT3A R882H, SF3B1 K700E, JAK2 V617F and TP53 R273H in GRCh37 and GRCh38
    assert gene_at("2", 25_457_242, Build.GRCH37) == ("DNMT3A", "CHIP")
    assert gene_at("chr2", 25_234_373, Build.GRCH38) == ("DNMT3A", "CHIP")
    assert gene_at("2", 198_266_834, Build.GRCH37) == ("SF3B1", "CHIP")
    assert gene_at("chr2", 197_402_110, Build.GRCH38) == ("SF3B1", "CHIP")
    assert gene_at("chr9", 5_073_770, Build.GRCH38) == ("JAK2", "CHIP")
    assert gene_at("chr17", 7_673_802, Build.GRCH38) is None
    assert gene_at("2", 25_234_373, Build.GRCH37) is None  # the GRCh38 position, in GRCh37
    assert gene_at("chr6", 152_098_791, Build.GRCH38) == ("ESR1", "ESR1")


def test_a_positive_sample_is_not_scanned(tmp_path):
    sample = _sample(tmp_path, [(TP53_R273H, 0.08)], detected={"D538G": 0.05})
    assert sample.status.value == "POSITIVE" and sample.ctdna is None


def test_a_bgzipped_vcf_gives_the_same_proxy(tmp_path):
    plain = write_plasma_vcf(tmp_path / "p.vcf", [(TP53_R273H, 0.08)])
    subprocess.run(["bgzip", "-k", str(plain)], check=True)
    assert call_vcf(tmp_path / "p.vcf.gz").samples[0].ctdna == call_vcf(plain).samples[0].ctdna


def test_the_proxy_reaches_calls_json_and_the_negative_reading(run_cli, tmp_path):
    path = write_plasma_vcf(tmp_path / "plasma.vcf", [(TP53_R273H, 0.08)])
    result = run_cli(["ngs", path, "--specimen", "plasma", "-o", tmp_path / "out"])
    assert result.exit_code == 0, result.stderr
    sample = json.loads((tmp_path / "out" / "calls.json").read_text())["samples"][0]
    assert sample["ctdna"]["status"] == "CTDNA_ADEQUATE"
    assert sample["interpretation"]["reading"] == "BLOOD_NEGATIVE"
    assert sample["interpretation"]["ctdna"] == sample["ctdna"]
