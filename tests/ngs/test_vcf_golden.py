"""Golden tests: every real VCF and every caller fixture, run through `esr1calls ngs`.

Each case is one command; its expected exit code, one-line error or tables (calls.tsv,
samples.tsv, dropped records, notices) are in testdata/expected/vcf/<case>.txt and compared with a
unified diff. Goldens are updated deliberately, in their own commit:
    ESR1CALLS_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/ngs/test_vcf_golden.py
"""

from __future__ import annotations

import json
import shlex

import pytest

from esr1calls.testing import REPO
from esr1calls.testing.golden import assert_golden

EXPECTED = REPO / "testdata" / "expected" / "vcf"

# (case name, arguments after `esr1calls ngs`, with paths relative to the repository)
REAL = [
    ("real_mutect2_cfdna", "testdata/vcf/mutect2/cfdna-unfiltered.vcf"),
    ("real_mutect2_many_allelic", "testdata/vcf/mutect2/many-allelic-somatic.vcf"),
    ("real_haplotypecaller_gvcf", "testdata/vcf/haplotypecaller/"
     "expected.CEUTrio.HiSeq.WGS.b37.NA12878.calls.20.10100000-10150000.g.vcf"),
    ("real_mutect1", "testdata/vcf/mutect1/test_mutect.vcf"),
    ("real_strelka1_no_build", "testdata/vcf/strelka/test_strelka.vcf"),
    ("real_strelka1", "testdata/vcf/strelka/test_strelka.vcf --build GRCh37"),
    ("real_varscan2_no_build", "testdata/vcf/varscan2/test_varscan.vcf"),
    ("real_varscan2", "testdata/vcf/varscan2/test_varscan.vcf --build GRCh37"),
    ("real_vardict_no_build", "testdata/vcf/vardict/vardict.paired.first600.vcf"),
    ("real_vardict", "testdata/vcf/vardict/vardict.paired.first600.vcf --build GRCh37"),
    ("real_freebayes_no_build", "testdata/vcf/freebayes/tiny_chr22_full.vcf"),
    ("real_freebayes", "testdata/vcf/freebayes/tiny_chr22_full.vcf --build GRCh38"),
    ("real_oncogemini_no_build", "testdata/vcf/freebayes/test.oncogemini.vcf"),
    ("real_oncogemini_no_sample", "testdata/vcf/freebayes/test.oncogemini.vcf --build GRCh37"),
    ("real_oncogemini_A2", "testdata/vcf/freebayes/test.oncogemini.vcf --build GRCh37 --sample A2"),
    ("real_oncogemini_D1", "testdata/vcf/freebayes/test.oncogemini.vcf --build GRCh37 --sample D1"),
    ("real_bcftools_mpileup_no_build", "testdata/vcf/bcftools/mpileup.2.vcf"),
    ("real_bcftools_mpileup",
     "testdata/vcf/bcftools/mpileup.2.vcf --build GRCh38 --sample sample1"),
    ("real_bcftools_call_no_sample", "testdata/vcf/bcftools/mpileup.c.1.out.vcf --build GRCh37"),
    ("real_bcftools_call",
     "testdata/vcf/bcftools/mpileup.c.1.out.vcf --build GRCh37 --sample HG00100"),
    ("real_lofreq_no_build", "testdata/vcf/lofreq/lofreq-out1.vcf"),
    ("real_lofreq", "testdata/vcf/lofreq/lofreq-out1.vcf --build GRCh38"),
    ("real_pcgr_no_build", "testdata/vcf/pcgr/T001-BRCA.grch38.vcf.gz"),
    ("real_pcgr_no_counts", "testdata/vcf/pcgr/T001-BRCA.grch38.vcf.gz --build GRCh38"),
]  # fmt: skip

FIXTURES = [
    ("mutect2_tumour_normal", "testdata/vcf/mutect2/esr1_tumour_normal.vcf"),
    ("mutect2_tumour_normal_umi", "testdata/vcf/mutect2/esr1_tumour_normal.vcf --umi"),
    ("mutect2_tumour_normal_pon",
     "testdata/vcf/mutect2/esr1_tumour_normal.vcf --pon testdata/vcf/pon/normals.pon.tsv"),
    ("mutect2_phased_snvs", "testdata/vcf/mutect2/esr1_phased_snvs.vcf"),
    ("mutect2_gvcf", "testdata/vcf/mutect2/esr1_gvcf.g.vcf"),
    ("haplotypecaller_gvcf", "testdata/vcf/haplotypecaller/esr1_tumour.g.vcf"),
    ("vardict_paired", "testdata/vcf/vardict/esr1_paired.vcf --build GRCh38"),
    ("varscan2_somatic", "testdata/vcf/varscan2/esr1_somatic.vcf --build GRCh37"),
    ("strelka2_snvs", "testdata/vcf/strelka/somatic.snvs.vcf"),
    ("strelka2_indels", "testdata/vcf/strelka/somatic.indels.vcf"),
    ("lofreq_plasma", "testdata/vcf/lofreq/esr1_plasma.vcf"),
    ("freebayes_plasma", "testdata/vcf/freebayes/esr1_plasma.vcf"),
    ("bcftools_mpileup", "testdata/vcf/bcftools/esr1_mpileup.vcf"),
    ("pisces_genome", "testdata/vcf/pisces/esr1_plasma.genome.vcf"),
    ("dragen_tumour_only", "testdata/vcf/dragen/esr1_tumour_only.vcf"),
    ("iontorrent_tvc", "testdata/vcf/iontorrent/esr1_tvc.vcf"),
    ("generic_ad_dp", "testdata/vcf/generic/esr1_ad_dp.vcf"),
]  # fmt: skip


def _render(args: str, result, outdir, validate) -> str:
    lines = [f"$ esr1calls ngs {args}", f"exit {result.exit_code}"]
    if result.exit_code != 0:
        return "\n".join([*lines, *result.stderr.splitlines()]) + "\n"
    document = validate(outdir / "calls.json")
    lines += ["== stdout", *result.stdout.splitlines()]
    lines += ["== calls.tsv", *(outdir / "calls.tsv").read_text().splitlines()]
    lines += ["== samples.tsv", *(outdir / "samples.tsv").read_text().splitlines()]
    lines += ["== sample details"]
    lines += [json.dumps(s["details"], sort_keys=True) for s in document["samples"]]
    lines += ["== dropped", *(f"{d['place']}: {d['reason']}" for d in document["dropped"])]
    lines += ["== notices", *document["run"]["notices"]]
    thresholds = document["run"]["thresholds"]
    lines += ["== thresholds", json.dumps(thresholds, sort_keys=True)]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("name, args", REAL + FIXTURES, ids=[c[0] for c in REAL + FIXTURES])
def test_golden(name, args, tmp_path, run_cli, validate_calls_json, monkeypatch):
    monkeypatch.chdir(REPO)  # the report's source paths are the relative ones shown
    outdir = tmp_path / "out"
    result = run_cli(["ngs", *shlex.split(args), "-o", str(outdir), "--reproducible"])
    actual = _render(args, result, outdir, validate_calls_json)
    assert_golden(actual, EXPECTED / f"{name}.txt")


def test_every_real_vcf_and_fixture_has_a_golden_case():
    covered = {shlex.split(args)[0] for _, args in REAL + FIXTURES}
    files = {
        str(p.relative_to(REPO))
        for p in (REPO / "testdata" / "vcf").rglob("*")
        if p.is_file() and ".vcf" in p.name and "/pon/" not in str(p)
    }
    assert files <= covered, sorted(files - covered)
