"""Reading VCFs: formats and indexes, header decisions, per-caller counts, codon-effect matching."""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pysam
import pytest

from esr1calls.errors import VcfFormatError
from esr1calls.hotspots import load_panel
from esr1calls.model import Build, CallStatus, Reason
from esr1calls.ngs import call_vcf
from esr1calls.ngs.callers import Caller, detect_caller, select_sample
from esr1calls.ngs.files import sniff_ngs_format
from esr1calls.ngs.vcf_read import detect_build, read_vcf_evidence
from esr1calls.ngs.vcf_record import parse_header
from esr1calls.testing import TESTDATA

from ..real_cli import run_esr1calls

VCF = TESTDATA / "vcf"
PANEL = load_panel()

M2_HEADER = [
    "##fileformat=VCFv4.2",
    '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
    '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths">',
    '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Depth">',
    '##FORMAT=<ID=PGT,Number=1,Type=String,Description="Physical phasing haplotype">',
    '##FORMAT=<ID=PID,Number=1,Type=String,Description="Physical phasing ID">',
    '##FORMAT=<ID=PS,Number=1,Type=Integer,Description="Phasing set">',
    '##FILTER=<ID=germline,Description="germline">',
    "##MutectVersion=2.2",
    "##source=Mutect2",
    "##contig=<ID=chr6,length=170805979>",
    "##tumor_sample=T",
]
GENERIC_HEADER = [line for line in M2_HEADER if "Mutect" not in line and "tumor" not in line]


def write_vcf(path: Path, rows: list[str], header: list[str] = M2_HEADER, samples=("T",)) -> Path:
    columns = "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO"])
    if samples:
        columns += "\tFORMAT\t" + "\t".join(samples)
    path.write_text("\n".join([*header, columns, *rows]) + "\n")
    return path


def row(pos: int, ref: str, alt: str, sample: str, fmt: str = "GT:AD:DP", filt: str = "PASS",
        chrom: str = "chr6") -> str:  # fmt: skip
    return f"{chrom}\t{pos}\t.\t{ref}\t{alt}\t.\t{filt}\t.\t{fmt}\t{sample}"


def calls_of(path: Path, **kwargs):
    return {c.hotspot: c for c in call_vcf(path, **kwargs).samples[0].calls}


# --- header decisions -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path, caller",
    [
        ("mutect2/esr1_tumour_normal.vcf", Caller.MUTECT2),
        ("mutect2/esr1_gvcf.g.vcf", Caller.MUTECT2),
        ("haplotypecaller/esr1_tumour.g.vcf", Caller.HAPLOTYPECALLER),
        ("mutect1/test_mutect.vcf", Caller.MUTECT1),
        ("strelka/test_strelka.vcf", Caller.STRELKA),
        ("strelka/somatic.indels.vcf", Caller.STRELKA),
        ("varscan2/esr1_somatic.vcf", Caller.VARSCAN2),
        ("vardict/esr1_paired.vcf", Caller.VARDICT),
        ("lofreq/lofreq-out1.vcf", Caller.LOFREQ),
        ("freebayes/tiny_chr22_full.vcf", Caller.FREEBAYES),
        ("bcftools/esr1_mpileup.vcf", Caller.BCFTOOLS),
        ("bcftools/mpileup.c.1.out.vcf", Caller.BCFTOOLS),
        ("pisces/esr1_plasma.genome.vcf", Caller.PISCES),
        ("dragen/esr1_tumour_only.vcf", Caller.DRAGEN),
        ("iontorrent/esr1_tvc.vcf", Caller.TVC),
        ("generic/esr1_ad_dp.vcf", Caller.GENERIC),
        ("freebayes/test.oncogemini.vcf", Caller.GENERIC),
    ],
)
def test_caller_is_recognised_from_the_header(path, caller):
    lines = [line for line in (VCF / path).read_text().splitlines() if line.startswith("#")]
    assert detect_caller(parse_header(lines)) is caller


@pytest.mark.parametrize(
    "lines, caller",
    [
        (["##bcftoolsVersion=1.16+htslib-1.16", "##bcftoolsCommand=mpileup -a AD -f x.fa"],
         Caller.BCFTOOLS),  # what bcftools 1.16 mpileup writes
        (["##bcftoolsVersion=1.16+htslib-1.16", "##bcftoolsCommand=norm -m- x.vcf"],
         Caller.GENERIC),  # any caller's VCF normalised by bcftools
    ],
)  # fmt: skip
def test_bcftools_is_the_caller_only_when_it_called(lines, caller):
    assert detect_caller(parse_header(lines)) is caller


@pytest.mark.parametrize(
    "lines, notice",
    [
        (["##bcftoolsVersion=1.16+htslib-1.16", "##bcftoolsCommand=mpileup -a AD -f x.fa"],
         "bcftools mpileup ran with its default --max-depth 250"),
        (["##bcftoolsVersion=1.16+htslib-1.16", "##bcftoolsCommand=mpileup -a AD -d 0 -f x.fa"],
         "bcftools 1.16 mpileup ran with -d 0"),
        (["##bcftools_mpileupVersion=1.22", "##bcftools_mpileupCommand=mpileup --max-depth=0"],
         "bcftools 1.22 mpileup ran with -d 0"),
        (["##bcftoolsVersion=1.23+htslib-1.23", "##bcftoolsCommand=mpileup -d 0 -f x.fa"], None),
        (["##bcftoolsVersion=1.16+htslib-1.16", "##bcftoolsCommand=mpileup -d 1000000"], None),
    ],
)  # fmt: skip
def test_a_capped_mpileup_depth_is_a_notice(tmp_path, lines, notice):
    header = [*GENERIC_HEADER[:4], *lines, "##contig=<ID=chr6,length=170805979>"]
    path = write_vcf(tmp_path / "x.vcf", [row(152098788, "A", "G", "0/1:100,10:110")], header)
    notices = read_vcf_evidence(path, PANEL).notices
    if notice is None:
        assert notices == ()
    else:
        (found,) = notices
        assert found.startswith(f"x.vcf: {notice}") and found.endswith("e.g. -d 1000000")


@pytest.mark.parametrize(
    "lines, build, evidence",
    [
        (["##contig=<ID=6,length=171115067>"], Build.GRCH37, "##contig 6 length 171,115,067"),
        (["##contig=<ID=chr6,length=170805979>"], Build.GRCH38, "##contig chr6 length"),
        (["##contig=<ID=chr6,assembly=hg19>"], Build.GRCH37, "assembly=hg19"),
        (["##reference=file:///refs/Homo_sapiens_assembly38.fasta"], Build.GRCH38, "##reference"),
        (["##reference=/refs/hs37d5.fa"], Build.GRCH37, "names hs37d5"),
        (['##GATKCommandLine=<ID=HaplotypeCaller,CommandLine="x --reference '
          'human_g1k_v37.20.21.fasta">'], Build.GRCH37, "names human_g1k_v37"),
    ],
)  # fmt: skip
def test_build_is_read_from_the_header(lines, build, evidence):
    found, why = detect_build(parse_header(lines))
    assert found is build and evidence in why


def test_build_evidence_that_contradicts_itself_is_refused():
    with pytest.raises(ValueError, match="neither GRCh37"):
        detect_build(parse_header(["##contig=<ID=chr6,length=172126628>"]))  # T2T chr6
    with pytest.raises(ValueError, match="both GRCh37 and GRCh38"):
        detect_build(parse_header(["##reference=liftover_hg19_to_hg38.fa"]))


def test_unknown_build_reports_what_was_found():
    found, clues = detect_build(parse_header(["##contig=<ID=6>", "##reference=ref.fa"]))
    assert found is None
    assert clues == "##contig=<ID=6> without a length; ##reference=ref.fa"


def test_build_option_must_agree_with_the_header(tmp_path):
    path = write_vcf(tmp_path / "a.vcf", [])
    with pytest.raises(VcfFormatError, match="--build GRCh37 contradicts the header"):
        call_vcf(path, build="GRCh37")
    lifted = write_vcf(tmp_path / "b.vcf", [], [*M2_HEADER, "##liftOverProgram=CrossMap"])
    result = call_vcf(lifted, build="GRCh37")  # stale contigs after liftover: --build wins
    assert result.samples[0].details["build"] == "GRCh37"


def _header(*lines: str, samples: tuple[str, ...]) -> object:
    columns = "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT"])
    return parse_header([*lines, "\t".join([columns, *samples])])


def test_tumour_sample_choice_follows_the_header_evidence():
    tn = _header("##tumor_sample=T1", "##normal_sample=N1", samples=("N1", "T1"))
    assert select_sample(tn, Caller.MUTECT2, None) == ("T1", "##tumor_sample", "N1")
    fixed = _header(samples=("NORMAL", "TUMOR"))
    assert select_sample(fixed, Caller.STRELKA, None)[0] == "TUMOR"
    paired = _header(samples=("abc", "abc-match"))
    assert select_sample(paired, Caller.VARDICT, None)[::2] == ("abc", "abc-match")
    assert select_sample(_header(samples=("only",)), Caller.GENERIC, None)[0] == "only"
    assert select_sample(_header(samples=()), Caller.LOFREQ, None)[0] is None
    assert select_sample(paired, Caller.GENERIC, "abc-match")[:2] == ("abc-match", "--sample")


def test_ambiguous_or_missing_samples_are_refused_by_name():
    several = _header(samples=("A", "B", "C"))
    with pytest.raises(ValueError, match=r"^3 samples and no ##tumor_sample line: A, B, C\."):
        select_sample(several, Caller.GENERIC, None)
    with pytest.raises(ValueError, match=r"sample 'X' is not in this VCF\. Samples: A, B, C"):
        select_sample(several, Caller.GENERIC, "X")
    stale = _header("##tumor_sample=GONE", samples=("A", "B"))
    with pytest.raises(ValueError, match="##tumor_sample=GONE is not a sample column"):
        select_sample(stale, Caller.MUTECT2, None)


# --- formats, indexes, streaming ----------------------------------------------------------------


def _summary(path: Path, **kwargs) -> list[tuple]:
    return _summary_of(call_vcf(path, **kwargs))


def _summary_of(result) -> list[tuple]:
    return [(c.hotspot, c.status, c.alt_count, c.depth, c.reasons) for c in result.samples[0].calls]


def _golden_summary(case: str) -> list[tuple]:
    """The same summary, read from calls.tsv in the case's golden file (test_vcf_golden.py)."""
    text = (TESTDATA / "expected" / "vcf" / f"{case}.txt").read_text()
    table = text.split("== calls.tsv\n")[1].split("\n== ")[0]
    return [
        (
            r["hotspot"],
            CallStatus(r["status"]),
            int(r["alt_count"]) if r["alt_count"] else None,
            int(r["depth"]) if r["depth"] else None,
            tuple(Reason(name) for name in r["reasons"].split(";") if name),
        )
        for r in csv.DictReader(io.StringIO(table), delimiter="\t")
    ]


def _bgzip(src: Path, dst: Path) -> Path:
    pysam.tabix_compress(str(src), str(dst), force=True)
    return dst


def _bcf(src: Path, dst: Path, index: bool) -> Path:
    subprocess.run(["bcftools", "view", "-Ob", "-o", str(dst), str(src)], check=True)
    if index:
        subprocess.run(["bcftools", "index", "-f", str(dst)], check=True)
    return dst


FORMS = ["plain-text", "gzip", "bgzf", "bgzf+tbi", "bgzf+csi", "bcf", "bcf+csi"]
# fixture -> its golden case in testdata/expected/vcf, run without options
GOLDEN_CASES = {
    "mutect2/esr1_tumour_normal.vcf": "mutect2_tumour_normal",
    "mutect2/esr1_gvcf.g.vcf": "mutect2_gvcf",
    "pisces/esr1_plasma.genome.vcf": "pisces_genome",
    "iontorrent/esr1_tvc.vcf": "iontorrent_tvc",
    "strelka/somatic.snvs.vcf": "strelka2_snvs",
    "freebayes/esr1_plasma.vcf": "freebayes_plasma",
}


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("fixture", list(GOLDEN_CASES))
def test_every_container_and_index_gives_the_same_calls(fixture, form, tmp_path):
    src = VCF / fixture
    if form == "plain-text":
        path = src
    elif form == "gzip":
        path = tmp_path / "x.vcf.gz"
        path.write_bytes(gzip.compress(src.read_bytes()))
    elif form.startswith("bgzf"):
        path = _bgzip(src, tmp_path / "x.vcf.gz")
        if form != "bgzf":
            pysam.tabix_index(str(path), preset="vcf", force=True, csi=form.endswith("csi"))
    else:
        path = _bcf(src, tmp_path / "x.bcf", index=form.endswith("csi"))
    result = call_vcf(path)
    access = result.samples[0].details["access"]
    expected_access = {"bgzf+tbi": "tabix index", "bgzf+csi": "CSI index", "bcf+csi": "CSI index"}
    assert access.startswith(expected_access.get(form, "one streaming pass"))
    assert _summary_of(result) == _golden_summary(GOLDEN_CASES[fixture])
    assert result.inputs[0].sha256 == _sha256(path)


def _sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_gvcf_block_starting_far_upstream_is_found_streaming_and_indexed(tmp_path):
    header = [*M2_HEADER, '##FORMAT=<ID=MIN_DP,Number=1,Type=Integer,Description="min">',
              '##INFO=<ID=END,Number=1,Type=Integer,Description="end">']  # fmt: skip
    rows = [
        "chr1\t152098788\t.\tA\tC\t.\tPASS\t.\tGT:AD:DP\t0/1:100,900:1000",  # wrong chromosome
        "chr6\t150000000\t.\tA\t<NON_REF>\t.\t.\tEND=153000000\tGT:DP:MIN_DP\t0/0:13000:12500",
        "chr16\t152098788\t.\tA\tC\t.\tPASS\t.\tGT:AD:DP\t0/1:100,900:1000",
    ]
    text = write_vcf(tmp_path / "blocks.vcf", rows, header)
    calls = calls_of(text)
    assert {c.status for c in calls.values()} == {CallStatus.NOT_DETECTED}
    assert {c.depth for c in calls.values()} == {12500}
    indexed = _bgzip(text, tmp_path / "blocks.vcf.gz")
    pysam.tabix_index(str(indexed), preset="vcf", force=True)
    assert _summary(indexed) == _summary(text)


def test_records_are_found_in_an_unsorted_file_with_either_chromosome_name(tmp_path):
    rows = [
        row(152098791, "A", "G", "0/1:11900,100:12000", chrom="6"),
        row(152011697, "G", "C", "0/1:6000,6000:12000", chrom="6"),
    ]
    header = [h.replace("chr6", "6") for h in M2_HEADER]
    calls = calls_of(write_vcf(tmp_path / "unsorted.vcf", rows, header))
    assert calls["D538G"].status is CallStatus.DETECTED and calls["D538G"].alt_count == 100
    assert calls["E380Q"].alt_count == 6000


def test_a_stale_index_is_ignored_with_a_notice(tmp_path):
    path = _bgzip(VCF / "mutect2/esr1_tumour_normal.vcf", tmp_path / "x.vcf.gz")
    pysam.tabix_index(str(path), preset="vcf", force=True)
    index = Path(str(path) + ".tbi")
    os.utime(index, (1_000_000, 1_000_000))  # older than the data
    result = call_vcf(path)
    assert result.samples[0].details["access"].startswith("one streaming pass")
    assert any("older than the file" in n for n in result.notices)


# --- refusals -----------------------------------------------------------------------------------


def test_truncated_bgzf_is_refused(tmp_path):
    data = _bgzip(VCF / "mutect2/cfdna-unfiltered.vcf", tmp_path / "x.vcf.gz").read_bytes()
    cut = tmp_path / "cut.vcf.gz"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(VcfFormatError, match=r"^cut\.vcf\.gz: the file is truncated"):
        read_vcf_evidence(cut, PANEL)


def test_truncated_plain_gzip_is_refused(tmp_path):
    data = gzip.compress((VCF / "mutect2/cfdna-unfiltered.vcf").read_bytes())
    cut = tmp_path / "cut.vcf.gz"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(VcfFormatError, match="compressed file is truncated or corrupt"):
        read_vcf_evidence(cut, PANEL)


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "the file is empty"),
        (b"well,sample,ct\nA1,S1,25.1\n", "not a VCF, BCF, BAM or CRAM (it starts with 'well,"),
        (b"##fileformat=VCFv4.2\n##source=x\n", "the header has no #CHROM line"),
    ],
)
def test_files_that_are_not_vcfs_are_refused(tmp_path, content, message):
    path = tmp_path / "input.vcf"
    path.write_bytes(content)
    with pytest.raises(VcfFormatError, match=re.escape(message)):
        read_vcf_evidence(path, PANEL)


def _alignment_file(path, mode, **kwargs):
    header = {"HD": {"VN": "1.6"}, "SQ": [{"SN": "chr6", "LN": 4}]}
    with pysam.AlignmentFile(str(path), mode, header=header, **kwargs):
        pass
    return path


@pytest.mark.parametrize("fmt", ["bam", "cram", "sam", "vcf", "vcf.gz", "bcf"])
def test_ngs_inputs_are_recognised_by_content_not_extension(tmp_path, fmt):
    # every file is named .txt: only its bytes can tell what it is
    path = tmp_path / "input.txt"
    if fmt in ("bam", "sam"):
        _alignment_file(path, "wb" if fmt == "bam" else "w")
    elif fmt == "cram":
        fasta = tmp_path / "ref.fa"
        fasta.write_text(">chr6\nACGT\n")
        pysam.faidx(str(fasta))
        _alignment_file(path, "wc", reference_filename=str(fasta))
    else:
        source = VCF / "mutect2/esr1_tumour_normal.vcf"
        if fmt == "vcf":
            path.write_bytes(source.read_bytes())
        else:
            with (
                pysam.VariantFile(str(source)) as vcf_in,
                pysam.VariantFile(
                    str(path), "wz" if fmt == "vcf.gz" else "wb", header=vcf_in.header
                ) as out,
            ):
                for rec in vcf_in:
                    out.write(rec)
    assert sniff_ngs_format(path) == fmt.removesuffix(".gz")


def test_reads_given_as_a_vcf_point_to_the_reads_counter(tmp_path):
    path = _alignment_file(tmp_path / "reads.vcf", "wb")  # a BAM whatever its name says
    with pytest.raises(
        VcfFormatError,
        match=r"^reads\.vcf: this is a BAM file of reads, not a VCF; call it with esr1calls ngs",
    ):
        read_vcf_evidence(path, PANEL)


def test_a_ref_base_that_disagrees_with_the_build_names_the_record(tmp_path):
    path = write_vcf(tmp_path / "x.vcf", [row(152098788, "G", "C", "0/1:100,10:110")])
    with pytest.raises(VcfFormatError) as caught:
        read_vcf_evidence(path, PANEL)
    assert str(caught.value) == (
        "x.vcf, record chr6:152098788 (line 14): REF G at 152098788 does not match NM_000125.4 "
        "(GRCh38): expected A. The VCF does not match the GRCh38 reference: check --build and "
        "the reference it was called against"
    )


def test_a_vcf_without_counts_is_refused(tmp_path):
    header = ["##fileformat=VCFv4.2", "##contig=<ID=chr6,length=170805979>"]
    path = write_vcf(tmp_path / "x.vcf", [], header, samples=())
    with pytest.raises(VcfFormatError, match="no allele-count fields in the header"):
        read_vcf_evidence(path, PANEL)


# --- codon-effect matching ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "pos, ref, alt",
    [
        (152061016, "ATGG", "A"),  # left-aligned
        (152061017, "TGGT", "T"),
        (152061019, "GTGG", "G"),  # right-shifted (HGVS 3' rule, VarDict -3)
        (152061015, "CATGG", "CA"),  # padded
        (152061016, "ATGGTG", "ATG"),
    ],
)
def test_v422del_is_recognised_in_every_representation(tmp_path, pos, ref, alt):
    path = write_vcf(tmp_path / "x.vcf", [row(pos, ref, alt, "0/1:11970,30:12000")])
    calls = calls_of(path)
    assert calls["V422del"].status is CallStatus.DETECTED and calls["V422del"].alt_count == 30


def test_two_representations_of_one_deletion_are_not_counted_twice(tmp_path):
    rows = [
        row(152061016, "ATGG", "A", "0/1:11970,30:12000"),
        row(152061019, "GTGG", "G", "0/1:11972,28:12000"),
    ]
    call = calls_of(write_vcf(tmp_path / "x.vcf", rows))["V422del"]
    assert call.alt_count == 30  # the larger, not 58
    assert call.evidence["representations"] == [
        "152061017 TGG>- (V422del): 30", "152061020 TGG>- (V422del): 28"]  # fmt: skip


def test_l536q_as_one_mnv(tmp_path):
    calls = calls_of(
        write_vcf(tmp_path / "x.vcf", [row(152098785, "TC", "AG", "0/1:11960,40:12000")])
    )
    assert calls["L536Q"].status is CallStatus.DETECTED
    assert calls["L536H"].status is CallStatus.NOT_DETECTED  # CTC>CAG is not His
    assert Reason.OTHER_CHANGE_IN_CODON in calls["L536H"].reasons


def _two_snvs(tmp_path, first: str, second: str, fmt: str = "GT:AD:DP", header=M2_HEADER):
    rows = [row(152098785, "T", "A", first, fmt), row(152098786, "C", "G", second, fmt)]
    return calls_of(write_vcf(tmp_path / "x.vcf", rows, header))


def test_l536q_as_two_snvs_phased_in_cis_by_pgt_pid(tmp_path):
    fmt = "GT:AD:DP:PGT:PID"
    calls = _two_snvs(tmp_path, "0|1:11960,40:12000:0|1:p1", "0|1:11960,40:12000:0|1:p1", fmt)
    assert calls["L536Q"].status is CallStatus.DETECTED and calls["L536Q"].alt_count == 40
    assert calls["L536Q"].evidence["phase"] == "phased by the caller (PGT/PID)"
    assert calls["L536H"].alt_count == 0 and calls["L536H"].status is CallStatus.NOT_DETECTED


def test_l536q_as_two_snvs_phased_by_ps(tmp_path):
    fmt = "GT:AD:DP:PS"
    calls = _two_snvs(tmp_path, "0|1:11960,40:12000:785", "0|1:11960,40:12000:785", fmt)
    assert calls["L536Q"].status is CallStatus.DETECTED
    assert calls["L536Q"].evidence["phase"] == "phased by the caller (PS and phased GT)"


def test_snvs_phased_in_trans_stay_separate(tmp_path):
    fmt = "GT:AD:DP:PGT:PID"
    calls = _two_snvs(tmp_path, "0|1:11960,40:12000:0|1:p1", "1|0:11960,40:12000:1|0:p1", fmt)
    assert calls["L536H"].status is CallStatus.DETECTED and calls["L536H"].alt_count == 40
    assert calls["L536Q"].status is CallStatus.NOT_DETECTED


def test_unphased_snvs_with_equal_counts_are_never_a_confident_call(tmp_path):
    calls = _two_snvs(tmp_path, "0/1:11960,40:12000", "0/1:11960,40:12000", header=GENERIC_HEADER)
    for name in ("L536Q", "L536H"):
        assert calls[name].status is CallStatus.INDETERMINATE
        assert calls[name].reasons[0] is Reason.PHASE_UNKNOWN
        assert calls[name].evidence["alt_count_range"] == [0, 40]
    assert "equal counts (40) suggest one molecule (L536Q)" in calls["L536Q"].evidence["phase"]


def test_unphased_noise_next_to_a_clear_snv_does_not_block_it(tmp_path):
    calls = _two_snvs(tmp_path, "0/1:11900,100:12000", "0/1:11997,3:12000", header=GENERIC_HEADER)
    assert calls["L536H"].status is CallStatus.DETECTED  # at least 97 reads are His only
    assert calls["L536Q"].status is CallStatus.NOT_DETECTED  # at most 3 reads can be Gln
    assert calls["L536Q"].evidence["alt_count_range"] == [0, 3]


def test_y537_double_change_is_threonine_neither_n_nor_s(tmp_path):
    mnv = [row(152098787, "TA", "AC", "0/1:11950,50:12000")]
    calls = calls_of(write_vcf(tmp_path / "mnv.vcf", mnv))
    assert calls["Y537N"].status is calls["Y537S"].status is CallStatus.NOT_DETECTED
    assert calls["Y537S"].evidence["other_changes_in_codon"] == ["152098787 TA>AC (Y537T) (50)"]
    split = [row(152098787, "T", "A", "0/1:11950,50:12000"),
             row(152098788, "A", "C", "0/1:11950,50:12000")]  # fmt: skip
    calls = calls_of(write_vcf(tmp_path / "split.vcf", split, GENERIC_HEADER))
    assert calls["Y537N"].status is calls["Y537S"].status is CallStatus.INDETERMINATE
    assert Reason.PHASE_UNKNOWN in calls["Y537N"].reasons


def test_multiallelic_site_counts_each_alt_against_every_allele(tmp_path):
    path = write_vcf(tmp_path / "x.vcf", [row(152098788, "A", "C,G", "0/1/2:11796,180,24:12000")])
    calls = calls_of(path)
    assert (calls["Y537S"].alt_count, calls["Y537S"].depth) == (180, 12000)
    assert (calls["Y537C"].alt_count, calls["Y537C"].depth) == (24, 12000)


def test_split_records_without_kept_sums_get_the_site_depth_back(tmp_path):
    split = [row(152098788, "A", "C", "0/1:11796,180:11976"), row(152098788, "A", "G",
             "0/1:11796,24:11820")]  # fmt: skip
    calls = calls_of(write_vcf(tmp_path / "x.vcf", split, GENERIC_HEADER))
    assert calls["Y537S"].depth == calls["Y537C"].depth == 12000
    assert "REF + every ALT" in calls["Y537C"].evidence["fields"]["depth"]


def test_strelka_counts_every_base_of_an_snv_record():
    calls = calls_of(VCF / "strelka/somatic.snvs.vcf")
    assert calls["Y537C"].alt_count == 24  # from GU, though the ALT is C
    assert calls["Y537C"].evidence["fields"]["alt_count"] == "FORMAT/GU[0] (tier 1)"


def test_ion_torrent_counts_follow_alt_order_and_ids_follow_omapalt():
    calls = calls_of(VCF / "iontorrent/esr1_tvc.vcf")
    assert (calls["Y537S"].alt_count, calls["Y537S"].evidence["caller_hotspot_id"]) == (
        180, "COSM1074639")  # fmt: skip
    assert (calls["Y537C"].alt_count, calls["Y537C"].evidence["caller_hotspot_id"]) == (
        24, "COSM1074637")  # fmt: skip
    assert calls["E380Q"].evidence["filters"] == ["NOCALL(STDBIAS0.9877>0.95)"]


def test_mutect2_posterior_af_is_shown_but_not_used():
    call = calls_of(VCF / "mutect2/esr1_tumour_normal.vcf")["S463P"]
    assert call.alt_count == 0 and call.depth == 1530
    assert call.evidence["caller_allele_fraction_not_used"] == pytest.approx(9.784e-04)
    assert call.allele_fraction == 0.0


def test_an_unlisted_allele_is_zero_only_for_a_caller_that_weighs_every_allele(tmp_path):
    rows = [row(152098788, "A", "C", "0/1:11820,180:12000")]
    mutect2 = calls_of(write_vcf(tmp_path / "m2.vcf", rows))["Y537C"]
    assert mutect2.status is CallStatus.NOT_DETECTED and mutect2.alt_count == 0
    generic = calls_of(write_vcf(tmp_path / "g.vcf", rows, GENERIC_HEADER))["Y537C"]
    assert generic.status is CallStatus.NOT_DETECTED  # DP - sum(AD) = 0 bounds it
    rows = [row(152098788, "A", "C", "0/1:11800,180:12000")]  # 20 reads unassigned
    bounded = calls_of(write_vcf(tmp_path / "b.vcf", rows, GENERIC_HEADER))["Y537C"]
    assert bounded.status is CallStatus.INDETERMINATE
    assert bounded.reasons[0] is Reason.ALLELE_NOT_REPORTED
    assert bounded.evidence["alt_count_range"] == [0, 20]


def test_germline_reference_blocks_give_depth_but_never_not_detected():
    calls = calls_of(VCF / "haplotypecaller/esr1_tumour.g.vcf")
    assert calls["D538G"].depth == 15300 and calls["D538G"].lod95 is not None
    assert calls["D538G"].status is CallStatus.INDETERMINATE
    assert calls["D538G"].reasons[0] is Reason.ALLELE_NOT_REPORTED


def test_records_read_but_not_used_are_listed_as_dropped(tmp_path):
    header = [*M2_HEADER, '##INFO=<ID=END,Number=1,Type=Integer,Description="end">']
    rows = [
        row(152098791, "A", "G", "./.:.:."),
        "chr6\t152098780\t.\tA\t<NON_REF>\t.\t.\tEND=152098800\tGT:DP\t0/0:12000",
        row(152011697, "G", "C", "0/1:11900,100:12000"),
        row(152011697, "G", "C", "0/1:11900,100:12000"),
    ]
    result = call_vcf(write_vcf(tmp_path / "x.vcf", rows, header))
    reasons = [(d.place, d.reason) for d in result.dropped]
    assert reasons == [
        ("record chr6:152098791 (line 15)", "the tumour sample has no values in this record (./.)"),
        ("record chr6:152098780 (line 16)",
         "reference block without MIN_DP: its DP is the block median, not a minimum"),
        ("record chr6:152011697 (line 18)", "duplicate of an earlier record"),
    ]  # fmt: skip
    calls = {c.hotspot: c for c in result.samples[0].calls}
    assert calls["D538G"].reasons[0] is Reason.NO_COVERAGE  # dropped records give no depth


@pytest.mark.parametrize(
    "unusable",
    ["./.:.:.", "0/1:11990,20000:12000"],  # no tumour values; alt count above the depth
    ids=["no-values", "malformed"],
)
def test_an_allele_listed_only_in_an_unusable_record_is_never_counted_as_zero(tmp_path, unusable):
    """Mutect2 lists every allele it saw: its silence means 0. But here it *did* list D538G, in a
    record we could not use, while another record covers the codon: that must not read as 0."""
    rows = [
        row(152098791, "A", "G", unusable),
        row(152098792, "C", "T", "0/1:11990,10:12000"),  # synonymous, covers the D538 codon
    ]
    calls = calls_of(write_vcf(tmp_path / "x.vcf", rows))
    assert calls["D538G"].status is CallStatus.INDETERMINATE
    assert calls["D538G"].reasons[0] is Reason.ALLELE_NOT_REPORTED
    assert calls["D538G"].alt_count is None


def test_indexed_and_streamed_reads_drop_the_same_duplicates(tmp_path):
    header = [*M2_HEADER, '##FORMAT=<ID=MIN_DP,Number=1,Type=Integer,Description="min">',
              '##INFO=<ID=END,Number=1,Type=Integer,Description="end">']  # fmt: skip
    block = "chr6\t152050000\t.\tA\t<NON_REF>\t.\t.\tEND=152100000\tGT:DP:MIN_DP\t0/0:13000:12500"
    rows = [block, *[row(152098791, "A", "G", "0/1:11900,100:12000")] * 2]
    text = write_vcf(tmp_path / "dup.vcf", rows, header)
    indexed = _bgzip(text, tmp_path / "dup.vcf.gz")
    pysam.tabix_index(str(indexed), preset="vcf", force=True)
    streamed, fetched = call_vcf(text), call_vcf(indexed)
    # the block spans three fetch windows but is one record; the repeated D538G line is a duplicate
    assert (
        [d.reason for d in streamed.dropped]
        == [d.reason for d in fetched.dropped]
        == ["duplicate of an earlier record"]
    )
    assert _summary(text) == _summary(indexed)


def test_counts_above_the_depth_are_dropped_as_malformed(tmp_path):
    rows = [row(152098791, "A", "G", "0/1:10,50:40", filt="PASS")]
    header = [line for line in GENERIC_HEADER if "MutectVersion" not in line]
    result = call_vcf(write_vcf(tmp_path / "x.vcf", rows, [*header, "##source=Pisces 5.2"]))
    assert [d.reason for d in result.dropped] == [
        "an alt count exceeds the depth (FORMAT/DP): malformed"
    ]


def test_sites_only_vcf_is_named_after_the_file():
    assert call_vcf(VCF / "lofreq/esr1_plasma.vcf").samples[0].sample_id == "esr1_plasma"


def test_bcftools_is_available_for_the_bcf_cases():
    assert shutil.which("bcftools"), "run scripts/install-system-deps.sh"


def test_a_deletion_is_not_made_uncertain_by_an_unphased_snv_in_its_codon(tmp_path):
    rows = [
        row(152061016, "ATGG", "A", "0/1:11970,30:12000"),
        row(152061019, "G", "A", "0/1:11990,10:12000"),  # c.1264G>A in codon 422 (V422M)
    ]
    call = calls_of(write_vcf(tmp_path / "x.vcf", rows, GENERIC_HEADER))["V422del"]
    assert call.status is CallStatus.DETECTED and call.alt_count == 30
    assert Reason.OTHER_CHANGE_IN_CODON in call.reasons


# --- review fixes: silence, other samples' INFO, sample choice ----------------------------------
Y537N_POS, Y537SC_POS = 152098787, 152098788  # GRCh38: Y537N changes 787; Y537S/C change 788
HEADER_BLOCKS = [*M2_HEADER, '##FORMAT=<ID=MIN_DP,Number=1,Type=Integer,Description="m">',
                 '##INFO=<ID=END,Number=1,Type=Integer,Description="e">',
                 '##ALT=<ID=NON_REF,Description="n">']  # fmt: skip


def test_a_gvcf_gap_at_the_changed_base_is_no_coverage(tmp_path):
    """Blocks end at 787 and start at 790: nothing evaluated 788, where Y537S/C change."""
    path = write_vcf(tmp_path / "gap.g.vcf", header=HEADER_BLOCKS, rows=[
        "chr6\t152098770\t.\tA\t<NON_REF>\t.\t.\tEND=152098787\tGT:DP:MIN_DP\t0/0:12300:12200",
        "chr6\t152098790\t.\tA\t<NON_REF>\t.\t.\tEND=152098810\tGT:DP:MIN_DP\t0/0:12300:12200",
    ])  # fmt: skip
    calls = calls_of(path, panel=load_panel("default", ["Y537N", "Y537S", "Y537C"]))
    assert calls["Y537N"].status is CallStatus.NOT_DETECTED  # its base is in a block
    for name in ("Y537S", "Y537C"):
        assert calls[name].status is CallStatus.INDETERMINATE
        assert calls[name].reasons[0] is Reason.NO_COVERAGE


def test_mutect2_silence_is_not_zero_after_records_were_filtered_out(tmp_path):
    """`bcftools view -f PASS` dropped the multiallelic 788 record that held Y537S."""
    rows = [row(Y537N_POS, "T", "A", "0/1:11900,100:12000")]
    filtered = [*M2_HEADER, "##bcftools_viewCommand=view -f PASS m2.vcf; Date=Thu Dec  3 2026"]
    panel = load_panel("default", ["Y537S"])
    after = calls_of(write_vcf(tmp_path / "pass.vcf", rows, header=filtered), panel=panel)
    assert after["Y537S"].status is CallStatus.INDETERMINATE
    assert after["Y537S"].reasons[0] is Reason.ALLELE_NOT_REPORTED
    assert "records were removed after calling" in after["Y537S"].evidence["evidence"]
    # the caller's own file: Mutect2's silence inside its active region is a count of 0
    before = calls_of(write_vcf(tmp_path / "m2.vcf", rows), panel=panel)
    assert before["Y537S"].status is CallStatus.NOT_DETECTED


@pytest.mark.parametrize(
    "command, removed",
    [("view -f PASS in.vcf", True), ("view -i 'FORMAT/DP>10' in.vcf", True),
     ("view -Oz -o out.vcf.gz in.vcf", False), ("view -s T in.vcf", False)],
)  # fmt: skip
def test_which_bcftools_view_commands_remove_records(command, removed):
    from esr1calls.ngs.callers import records_removed_by
    from esr1calls.ngs.vcf_record import parse_header

    header = parse_header([f"##bcftools_viewCommand={command}; Date=x"])
    assert bool(records_removed_by(header)) is removed
    filtered = parse_header(["##bcftools_filterCommand=filter -e 'QUAL<20' in.vcf; Date=x"])
    soft = parse_header(["##bcftools_filterCommand=filter -s LowQual -e 'QUAL<20' in.vcf"])
    assert records_removed_by(filtered) and not records_removed_by(soft)


def test_info_counts_of_a_multi_sample_vcf_never_stand_in_for_the_tumours(tmp_path):
    header = [*GENERIC_HEADER, '##INFO=<ID=DP4,Number=4,Type=Integer,Description="d">']
    path = write_vcf(tmp_path / "tn.vcf", header=header, samples=("NORMAL", "TUMOUR"), rows=[
        "chr6\t152098791\t.\tA\tG\t.\tPASS\tDP4=6000,6000,0,0\tGT:AD:DP\t0/0:12000,0:12000\t./.:.:.",
    ])  # fmt: skip
    calls = calls_of(path, sample="TUMOUR", panel=load_panel("default", ["D538G"]))
    assert calls["D538G"].status is CallStatus.INDETERMINATE  # was NOT_DETECTED 0/12000
    assert calls["D538G"].reasons[0] is Reason.NO_COVERAGE


def test_several_tumour_samples_need_a_choice(tmp_path):
    header = [*M2_HEADER[:-1], "##tumor_sample=TISSUE", "##tumor_sample=PLASMA"]
    rows = [row(152098791, "A", "G", "0/0:12000,0:12000\t0/1:11950,50:12000")]
    path = write_vcf(tmp_path / "two.vcf", rows, header=header, samples=("TISSUE", "PLASMA"))
    with pytest.raises(VcfFormatError, match=r"2 ##tumor_sample lines \(TISSUE, PLASMA\)"):
        call_vcf(path)
    assert calls_of(path, sample="PLASMA")["D538G"].status is CallStatus.DETECTED


def test_vardict_info_sample_naming_another_column_is_refused(tmp_path):
    header = [*GENERIC_HEADER, "##source=VarDict_v1.8.2",
              '##INFO=<ID=SAMPLE,Number=1,Type=String,Description="s">',
              '##FORMAT=<ID=VD,Number=1,Type=Integer,Description="v">']  # fmt: skip
    rows = ["chr6\t152098791\t.\tA\tG\t.\tPASS\tSAMPLE=P4\tGT:DP:VD:AD\t"
            "0/0:12000:0:12000,0\t0/1:12000:100:11900,100"]  # fmt: skip
    path = write_vcf(tmp_path / "vd.vcf", rows, header=header, samples=("P4-match", "P4"))
    with pytest.raises(VcfFormatError, match=r"names the tumour P4 \(INFO/SAMPLE\).*--sample P4"):
        call_vcf(path)
    assert calls_of(path, sample="P4")["D538G"].status is CallStatus.DETECTED


def test_a_negative_count_drops_the_record_with_a_reason(tmp_path):
    path = write_vcf(tmp_path / "neg.vcf", [row(152098791, "A", "G", "0/1:12000,-5:12000")])
    result = call_vcf(path)
    assert any("negative allele count" in d.reason for d in result.dropped)
    # the only record is unusable: D538G has no depth source, so no claim either way
    d538g = result.samples[0].calls[-1]
    assert (d538g.hotspot, d538g.reasons) == ("D538G", (Reason.NO_COVERAGE,))


def test_the_count_shown_is_the_callers_not_the_unphased_upper_bound(tmp_path):
    multiallelic = row(Y537SC_POS, "A", "C,G", "0/1/2:11796,180,24:12000", filt="multiallelic")
    rows = [row(Y537N_POS, "T", "A", "0/1:11900,100:12000"), multiallelic]
    header = [*M2_HEADER, '##FILTER=<ID=multiallelic,Description="m">']
    calls = calls_of(write_vcf(tmp_path / "m.vcf", rows, header=header))
    assert calls["Y537S"].alt_count == 180  # listed; Y537N + Y537C in cis could add 24 more


def test_a_gvcf_is_known_from_its_header_even_where_no_block_touches_the_codon(tmp_path):
    """Block to 789, a variant record at 790, next block from 793: D538G's base 791 has nothing."""
    rows = [
        "chr6\t152098770\t.\tA\t<NON_REF>\t.\t.\tEND=152098789\tGT:DP:MIN_DP\t0/0:12600:12200",
        "chr6\t152098790\t.\tG\tT,<NON_REF>\t.\t.\t.\tGT:AD:DP\t0/1/0:11900,100,0:12000",
        "chr6\t152098793\t.\tC\t<NON_REF>\t.\t.\tEND=152098810\tGT:DP:MIN_DP\t0/0:12100:11900",
    ]
    path = write_vcf(tmp_path / "gap.g.vcf", rows, header=HEADER_BLOCKS)
    calls = calls_of(path, panel=load_panel("default", ["D538G"]))
    assert calls["D538G"].status is CallStatus.INDETERMINATE
    assert calls["D538G"].reasons[0] is Reason.NO_COVERAGE


def test_mutect2_silence_after_filtering_is_not_zero_even_where_other_changes_could_combine(
    tmp_path,
):
    """Y537N (A at 787) and Y537C (G at 788) could spell AGT (Ser): a combination range [0, 5]
    assumed Y537S's own record was absent, not filtered out."""
    filtered = [*M2_HEADER, "##bcftools_viewCommand=view -f PASS m2.vcf; Date=Thu Dec  3 2026"]
    rows = [row(Y537N_POS, "T", "A", "0/1:11900,100:12000"),
            row(Y537SC_POS, "A", "G", "0/1:11995,5:12000")]  # fmt: skip
    path = write_vcf(tmp_path / "pass.vcf", rows, header=filtered)
    calls = calls_of(path, panel=load_panel("default", ["Y537S"]))
    assert calls["Y537S"].status is CallStatus.INDETERMINATE
    assert calls["Y537S"].reasons[0] is Reason.ALLELE_NOT_REPORTED


# --- an index that does not describe its file ---------------------------------------------------
TUMOUR_NORMAL = VCF / "mutect2/esr1_tumour_normal.vcf"


def _with_chr1_records(src: Path, dst: Path, n: int) -> Path:
    """The same VCF with ``n`` chr1 records before its chr6 ones: a re-run on a wider panel."""
    lines = src.read_text().splitlines()
    header = [line for line in lines if line.startswith("#")]
    header.insert(-1, "##contig=<ID=chr1,length=248956422>")
    filler = [f"chr1\t{1000 + 10 * i}\t.\tA\tC\t.\tPASS\tDP=10\tGT:AD:DP\t0/1:5,5:10\t0/1:5,5:10"
              for i in range(n)]  # fmt: skip
    dst.write_text("\n".join([*header, *filler, *(x for x in lines if x[:1] != "#")]) + "\n")
    return dst


def _index(path: Path, tool: str) -> Path:
    if tool == "tabix":
        subprocess.run(["tabix", "-f", "-p", "vcf", str(path)], check=True)
        return Path(f"{path}.tbi")
    subprocess.run(["bcftools", "index", "-f", str(path)], check=True)
    return Path(f"{path}.csi")


def _compressed(src: Path, dst: Path) -> Path:
    fmt = "-Ob" if dst.suffix == ".bcf" else "-Oz"
    subprocess.run(["bcftools", "view", fmt, "-o", str(dst), str(src)], check=True)
    return dst


def _stale_index(tmp_path: Path, case: str) -> tuple[Path, Path]:
    """(data file, its index) where the index was made for another version of the file, and is
    newer than the data (the copy that replaced it kept its old time), so age alone cannot tell."""
    suffix = ".bcf" if "bcf" in case else ".vcf.gz"
    tool = "tabix" if case.endswith("tbi") else "bcftools"
    old = tmp_path / f"old{suffix}"
    new = tmp_path / f"calls{suffix}"
    if case.startswith("replaced-by-longer"):
        _compressed(TUMOUR_NORMAL, old)
        _compressed(_with_chr1_records(TUMOUR_NORMAL, tmp_path / "long.vcf", 3000), new)
    elif case.startswith("replaced-by-shorter"):
        _compressed(_with_chr1_records(TUMOUR_NORMAL, tmp_path / "long.vcf", 3000), old)
        _compressed(TUMOUR_NORMAL, new)
    index = Path(f"{new}.{'tbi' if tool == 'tabix' else 'csi'}")
    if case.startswith("not-an-index"):
        _compressed(TUMOUR_NORMAL, new)
        index.write_bytes(b"<html>404 Not Found</html>\n")  # a failed download, saved as the index
    else:
        shutil.copy(_index(old, tool), index)
    later = new.stat().st_mtime + 60
    os.utime(index, (later, later))
    return new, index


STALE_INDEXES = [
    "replaced-by-longer-tbi",  # gave: "calls.vcf.gz: cannot read records near ... (truncated file)"
    "replaced-by-shorter-tbi",  # gave: NO_COVERAGE at every hotspot, no notice
    "replaced-by-longer-csi",
    "replaced-by-shorter-bcf-csi",
    "not-an-index-tbi",  # gave: NO_COVERAGE at every hotspot, no notice
    "not-an-index-bcf-csi",
]


@pytest.mark.parametrize("case", STALE_INDEXES)
def test_an_index_made_for_another_version_of_the_file_is_not_used(tmp_path, case):
    data, index = _stale_index(tmp_path, case)
    done = run_esr1calls("ngs", data, "-o", tmp_path / "out")
    assert done.returncode == 0, done.stderr
    assert "[E::" not in done.stderr and "[W::" not in done.stderr
    document = json.loads((tmp_path / "out" / "calls.json").read_text())
    calls = [(c["hotspot"], c["status"], c["alt_count"], c["depth"], c["reasons"])
             for c in document["samples"][0]["calls"]]  # fmt: skip
    streamed = call_vcf(TUMOUR_NORMAL).samples[0].calls
    assert calls == [(c.hotspot, c.status.value, c.alt_count, c.depth, [r.value for r in c.reasons])
                     for c in streamed]  # fmt: skip
    fix = "tabix -f -p vcf" if index.suffix == ".tbi" else "bcftools index -f"
    notices = document["run"]["notices"]
    assert any(n.startswith(f"{data.name}: the index {index.name} ") and
               n.endswith(f"Re-index it: {fix} {data.name}") for n in notices), notices  # fmt: skip
    assert document["samples"][0]["details"]["access"] == "one streaming pass (no index)"


@pytest.mark.parametrize("tool", ["tabix", "bcftools"])
def test_a_fresh_index_is_used(tmp_path, tool):
    """The checks must not refuse a good index (a whole-file pass is what it saves)."""
    data = _compressed(_with_chr1_records(TUMOUR_NORMAL, tmp_path / "long.vcf", 3000),
                       tmp_path / "long.vcf.gz")  # fmt: skip
    index = _index(data, tool)
    result = call_vcf(data)
    assert result.samples[0].details["access"].endswith(f"index ({index.name})")
    assert result.notices == ()
    assert _summary_of(result) == _summary(TUMOUR_NORMAL)


def test_a_damaged_index_is_not_used(tmp_path):
    """A flipped byte in the index's compressed data fails its block's CRC: the index is not
    read (nor followed to wrong offsets), and the file is read in one streaming pass."""
    data = _compressed(_with_chr1_records(TUMOUR_NORMAL, tmp_path / "long.vcf", 3000),
                       tmp_path / "long.vcf.gz")  # fmt: skip
    index = _index(data, "tabix")
    damaged = bytearray(index.read_bytes())
    damaged[40] ^= 0xFF  # inside the first block's deflate data
    index.write_bytes(bytes(damaged))
    result = call_vcf(data)
    assert result.samples[0].details["access"] == "one streaming pass (no index)"
    assert any("is not a readable tabix or CSI index" in n for n in result.notices)
    assert _summary_of(result) == _summary(TUMOUR_NORMAL)


@pytest.mark.parametrize("tool", ["tabix", "bcftools"])
def test_an_index_is_loaded_once(tmp_path, tool, monkeypatch):
    """The handle that checked the index against the file is the one that fetches the hotspots:
    htslib loads the index (megabytes for a genome-wide VCF) once, not twice."""
    data = _compressed(_with_chr1_records(TUMOUR_NORMAL, tmp_path / "long.vcf", 3000),
                       tmp_path / "long.vcf.gz")  # fmt: skip
    index = _index(data, tool)
    opened = []

    class Counting(pysam.VariantFile):
        def __init__(self, *args, **kwargs):
            opened.append(args[0])
            super().__init__(*args, **kwargs)

    monkeypatch.setattr("esr1calls.ngs.files.pysam.VariantFile", Counting)
    result = call_vcf(data)
    assert result.samples[0].details["access"].endswith(f"index ({index.name})")
    assert opened == [str(data)]


def test_bgzf_blocks_are_decompressed_as_gzip_does(tmp_path):
    from esr1calls.ngs.files import _bgzf_decompress

    data = _compressed(_with_chr1_records(TUMOUR_NORMAL, tmp_path / "long.vcf", 3000),
                       tmp_path / "long.vcf.gz")  # fmt: skip
    raw = _index(data, "tabix").read_bytes()
    assert _bgzf_decompress(raw) == gzip.decompress(raw)
    assert _bgzf_decompress(gzip.compress(b"TBI\x01")) == b"TBI\x01"  # plain gzip, not BGZF
    with pytest.raises(EOFError):
        _bgzf_decompress(raw[:-40])  # the end-of-file block cut short


# --- one allele in several records --------------------------------------------------------------
D538G_POS = 152098791
LOFREQ = VCF / "lofreq/esr1_plasma.vcf"


def _cli_result(path: Path, tmp_path: Path) -> tuple[dict[str, dict], list[dict]]:
    """(calls by hotspot, dropped) from the real command's calls.json."""
    done = run_esr1calls("ngs", path, "-o", tmp_path / "out")
    assert done.returncode == 0, done.stderr
    document = json.loads((tmp_path / "out" / "calls.json").read_text())
    return {c["hotspot"]: c for c in document["samples"][0]["calls"]}, document["dropped"]


def _lofreq_with(extra: str, tmp_path: Path) -> Path:
    path = tmp_path / "lofreq.vcf"
    path.write_text(LOFREQ.read_text() + extra + "\n")
    return path


ONE_ALLELE_TWICE = {
    # two runs' records in one file: the second run saw 15 reads where the first saw 100
    "two-runs-concatenated": lambda tmp: write_vcf(tmp / "x.vcf", [
        row(D538G_POS, "A", "G", "0/1:11900,100:12000"),
        row(D538G_POS, "A", "G", "0/1:11985,15:12000")]),
    "two-runs-other-order": lambda tmp: write_vcf(tmp / "x.vcf", [
        row(D538G_POS, "A", "G", "0/1:11985,15:12000"),
        row(D538G_POS, "A", "G", "0/1:11900,100:12000")]),
    # the same count of 0, at a depth that excludes 0.2 % and at one that cannot
    "same-zero-other-depth": lambda tmp: write_vcf(tmp / "x.vcf", [
        row(D538G_POS, "A", "G", "0/1:12000,0:12000"),
        row(D538G_POS, "A", "G", "0/1:500,0:500")]),
    # the same counts, one record flagged as germline
    "same-counts-other-filter": lambda tmp: write_vcf(tmp / "x.vcf", [
        row(D538G_POS, "A", "G", "0/1:11900,100:12000"),
        row(D538G_POS, "A", "G", "0/1:11900,100:12000", filt="germline")]),
    # one deletion written at two places, 30 and 2 reads
    "two-representations": lambda tmp: write_vcf(tmp / "x.vcf", [
        row(152061016, "ATGG", "A", "0/1:11970,30:12000"),
        row(152061019, "GTGG", "G", "0/1:11998,2:12000")]),
    # sites-only: the records differ only in INFO/DP4 (was dropped as "duplicate of an earlier
    # record", keeping the first)
    "sites-only-counts-in-info": lambda tmp: _lofreq_with(
        "chr6\t152098788\t.\tA\tC\t120\tPASS\tDP=12010;AF=0.0005;SB=0;DP4=5995,5995,3,3", tmp),
}  # fmt: skip
HOTSPOT_OF = {"two-representations": "V422del", "sites-only-counts-in-info": "Y537S"}


@pytest.mark.parametrize("case", list(ONE_ALLELE_TWICE))
def test_one_allele_in_two_records_that_call_differently_is_never_claimed(case, tmp_path):
    calls, dropped = _cli_result(ONE_ALLELE_TWICE[case](tmp_path), tmp_path)
    call = calls[HOTSPOT_OF.get(case, "D538G")]
    assert call["status"] == "INDETERMINATE"
    assert call["reasons"][0] == "SOURCES_DISAGREE"
    alone = call["evidence"]["records_alone"]
    assert len(alone) == 2 and len({r["status"] for r in alone}) == 2
    assert len({r["place"] for r in alone}) == 2  # each record named
    assert "call one run's records" in call["action"]
    (entry,) = [d for d in dropped if "the larger count is shown" in d["reason"]]
    assert entry["place"] in {r["place"] for r in alone}


def test_two_runs_concatenated_by_bcftools_without_a_are_never_claimed(tmp_path):
    """bcftools concat of two runs' overlapping files, without -a, keeps both D538G records."""
    runs = []
    for name, sample in (("run1", "0/1:11900,100:12000"), ("run2", "0/1:11995,5:12000")):
        text = write_vcf(tmp_path / f"{name}.vcf", [row(D538G_POS, "A", "G", sample)])
        runs.append(_compressed(text, tmp_path / f"{name}.vcf.gz"))
    both = tmp_path / "both.vcf.gz"
    subprocess.run(["bcftools", "concat", "-Oz", "-o", both, *runs], check=True)
    calls, _ = _cli_result(both, tmp_path)
    assert calls["D538G"]["status"] == "INDETERMINATE"  # was DETECTED, from run1 alone
    assert calls["D538G"]["reasons"][0] == "SOURCES_DISAGREE"


def test_one_allele_in_two_records_that_agree_keeps_one_and_lists_the_other(tmp_path):
    path = write_vcf(tmp_path / "x.vcf", [
        row(D538G_POS, "A", "G", "0/1:11910,90:12000"),
        row(D538G_POS, "A", "G", "0/1:11900,100:12000"),
    ])  # fmt: skip
    calls, dropped = _cli_result(path, tmp_path)
    assert (calls["D538G"]["status"], calls["D538G"]["alt_count"]) == ("DETECTED", 100)
    assert [(d["place"], d["reason"]) for d in dropped] == [(
        "record chr6:152098791 (line 14)",
        "lists 152098791 A>G (D538G) as record chr6:152098791 (line 15) does, with other counts "
        "or filters (90 of 12000 here, 100 of 12000 there): the larger count is shown, and each "
        "record is judged alone; a hotspot they call differently is INDETERMINATE "
        "SOURCES_DISAGREE",
    )]  # fmt: skip


def test_one_allele_twice_with_the_same_counts_is_counted_once_and_listed(tmp_path):
    """Not the same record (FORMAT/DP differs, x and n do not): both were used, and neither
    was listed as dropped."""
    first = row(D538G_POS, "A", "G", "0/1:11900,100:12000")
    second = row(D538G_POS, "A", "G", "0/1:11900,100:12500")
    calls, dropped = _cli_result(write_vcf(tmp_path / "x.vcf", [first, second]), tmp_path)
    assert (calls["D538G"]["status"], calls["D538G"]["alt_count"]) == ("DETECTED", 100)
    assert "records_alone" not in calls["D538G"]["evidence"]
    assert [(d["place"], d["reason"]) for d in dropped] == [(
        "record chr6:152098791 (line 15)",
        "lists 152098791 A>G (D538G) as record chr6:152098791 (line 14) does, with the same "
        "counts (100 of 12000): the allele is counted once",
    )]  # fmt: skip


def test_a_repeated_alt_is_not_read_as_a_split_site(tmp_path):
    """After ``bcftools norm -m-`` each ALT has its record, and the site depth is REF + every
    ALT. The same ALT twice is two runs' records, not two alleles: its reads were added to the
    depth twice (11,796 + 180 + 24 + 150)."""
    path = write_vcf(tmp_path / "split.vcf", [
        row(Y537SC_POS, "A", "C", "0/1:11796,180:11976"),
        row(Y537SC_POS, "A", "G", "0/1:11796,24:11820"),
        row(Y537SC_POS, "A", "C", "0/1:11796,150:11946"),
    ], GENERIC_HEADER)  # fmt: skip
    calls, _ = _cli_result(path, tmp_path)
    assert calls["Y537S"]["depth"] <= 11796 + 180 + 24


def test_the_index_of_a_vcf_without_records_is_used_without_a_notice(tmp_path):
    """Such an index holds no per-contig summary: that is not the mark of an old tabix here."""
    header = [line for line in TUMOUR_NORMAL.read_text().splitlines() if line.startswith("#")]
    text = tmp_path / "none.vcf"
    text.write_text("\n".join(header) + "\n")
    data = _compressed(text, tmp_path / "none.vcf.gz")
    _index(data, "tabix")
    result = call_vcf(data)
    assert result.notices == ()
    assert result.samples[0].details["access"] == "tabix index (none.vcf.gz.tbi)"
    assert {c.reasons[0] for c in result.samples[0].calls} == {Reason.NO_COVERAGE}
