"""esr1calls ngs on reads: BAM/CRAM alone or with the sample's VCF, UMI acceptance, PoN from BAMs.

Every BAM is written at test time from listed molecules (esr1calls/testing/bams.py), except the
committed README fixture testdata/bam/plasma_07.umi.bam, which scripts/make_bam_fixtures.py
writes (and a test checks it still does). Expected numbers are traced to the molecules.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pysam
import pytest

from esr1calls.errors import ConfigError
from esr1calls.hotspots import load_panel
from esr1calls.model import Build
from esr1calls.ngs import NgsSettings, call_ngs, call_vcf, make_settings
from esr1calls.ngs.options import ReadOptions
from esr1calls.ngs.pon import estimate_background
from esr1calls.ngs.reads import count_regions
from esr1calls.stats import detection_power, k_required, lod95
from esr1calls.testing import REPO, TESTDATA
from esr1calls.testing.bams import (
    Edit,
    Fragment,
    around,
    bam_to_cram,
    codon_edit,
    esr1_reference,
    g,
    make_header,
    write_families,
    write_fasta,
)
from esr1calls.testing.golden import assert_golden

PANEL = load_panel()
REF38 = esr1_reference(Build.GRCH38)
PLASMA = TESTDATA / "bam" / "plasma_07.umi.bam"  # see scripts/make_bam_fixtures.py
EXPECTED = TESTDATA / "expected" / "bam"
REGIONS = (("e380", 1138), ("v422", 1265), ("s463", 1387), ("x8", 1609))  # c. position centred
Groups = list[tuple[Fragment, int]]


# ------------------------------------------------------------------ building blocks


def consensus(
    name: str,
    c_pos: int,
    count: int,
    edits: Sequence[Edit] = (),
    *,
    reverse: float = 0.5,
    tags: dict[str, Any] | None = None,
    rg: str | None = "rg1",
) -> Groups:
    """``count`` UMI consensus molecules (fgbio: one read pair, MI, cD 3) centred on c_pos; the
    share ``reverse`` of them is F2R1."""
    n_reverse = round(count * reverse)
    out: Groups = []
    for strand, n, r1_reverse in (("f", count - n_reverse, False), ("r", n_reverse, True)):
        if n == 0:
            continue
        extra = {"MI": f"{name}{strand}", "cD": 3, **(tags or {})}
        if rg is not None:
            extra["RG"] = rg
        fragment = Fragment(f"{name}{strand}", around(c_pos, 61), 150, edits=tuple(edits),
                            r1_reverse=r1_reverse, tags=extra)  # fmt: skip
        out.append((fragment, n))
    return out


def reads_only(name: str, c_pos: int, count: int, edits: Sequence[Edit] = (), **kw: Any) -> Groups:
    """``count`` single 100 bp reads (no UMI) centred on c_pos, half on each strand by default."""
    reverse = kw.pop("reverse", 0.5)
    n_reverse = round(count * reverse)
    out: Groups = []
    for strand, n, r1_reverse in (("f", count - n_reverse, False), ("r", n_reverse, True)):
        if n:
            fragment = Fragment(
                f"{name}{strand}", around(c_pos, 40), 100, edits=tuple(edits), paired=False,
                r1_reverse=r1_reverse, tags={"RG": "rg1"},
            )  # fmt: skip
            out.append((fragment, n))
    return out


def umi_bam(
    path: Path,
    families: int,
    mutants: Iterable[tuple[str, int, Sequence[Edit]]] = (),
    *,
    sample: str | None = "PLASMA",
    reverse: float = 0.5,
    mutant_tags: dict[str, Any] | None = None,
) -> Path:
    """``families`` UMI molecules at every hotspot region; ``mutants`` (name, count, edits) at
    exon 8 replace that many wild-type molecules there, so exon 8 depth stays ``families``."""
    mutants = list(mutants)
    groups: Groups = []
    for name, c_pos in REGIONS:
        wild = families - (sum(n for _, n, _ in mutants) if name == "x8" else 0)
        groups += consensus(name, c_pos, wild, rg="rg1" if sample else None)
    for name, count, edits in mutants:
        groups += consensus(name, 1609, count, edits, reverse=reverse, tags=mutant_tags,
                            rg="rg1" if sample else None)  # fmt: skip
    read_groups = (("rg1", sample),) if sample else ()
    return write_families(path, groups, REF38, header=make_header(REF38, read_groups))


def d538g(count: int) -> tuple[str, int, Sequence[Edit]]:
    return ("d538g", count, (codon_edit(538, "GGC"),))


def ngs(run_cli: Callable[..., Any], outdir: Path, *args: Any) -> Any:
    return run_cli(["ngs", *map(str, args), "-o", str(outdir), "--reproducible"])


def calls_table(outdir: Path) -> dict[tuple[str, str], dict[str, str]]:
    """calls.tsv as {(sample, hotspot): row}."""
    rows = csv.DictReader(io.StringIO((outdir / "calls.tsv").read_text()), delimiter="\t")
    return {(r["sample_id"], r["hotspot"]): r for r in rows}


def json_calls(document: dict[str, Any], sample: int = 0) -> dict[str, dict[str, Any]]:
    return {c["hotspot"]: c for c in document["samples"][sample]["calls"]}


def one_line_error(result: Any) -> str:
    assert result.exit_code == 1, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ngs_reads")


@pytest.fixture(scope="module")
def fasta(work: Path) -> Path:
    return write_fasta(REF38, work / "esr1_grch38.fa.gz")


# ------------------------------------------------------------------ acceptance: UMI families


def test_umi_0_2_percent_at_10000_families_is_detected(
    run_cli, work, tmp_path, validate_calls_json
):
    bam = umi_bam(work / "f10000_d538g20.bam", 10_000, [d538g(20)])
    result = ngs(run_cli, tmp_path / "out", bam, "--umi")
    assert result.exit_code == 0, result.stderr
    document = validate_calls_json(tmp_path / "out" / "calls.json")
    call = json_calls(document)["D538G"]
    assert (call["status"], call["alt_count"], call["depth"]) == ("DETECTED", 20, 10_000)
    assert call["allele_fraction"] == 0.002  # exactly the reportable fraction
    assert call["evidence"]["k_required"] == 6 == k_required(10_000, 1e-4, 1e-3, 3)
    assert call["evidence"]["alt_strands"] == {"forward": 10, "reverse": 10}
    assert call["evidence"]["background_error"] == 1e-4  # molecules: the UMI default
    assert call["reasons"] == ["DEFAULT_BACKGROUND"]
    assert document["samples"][0]["status"] == "POSITIVE"
    assert result.stdout.startswith("PLASMA\tPOSITIVE\tESR1 D538G (0.2 %) detected;")


def test_umi_10000_families_without_it_is_not_detected(run_cli, work, tmp_path):
    bam = umi_bam(work / "f10000.bam", 10_000)
    result = ngs(run_cli, tmp_path / "umi", bam, "--umi")
    assert result.exit_code == 0, result.stderr
    table = calls_table(tmp_path / "umi")
    assert {row["status"] for row in table.values()} == {"NOT_DETECTED"}
    row = table["PLASMA", "D538G"]
    assert (row["alt_count"], row["depth"]) == ("0", "10000")
    assert float(row["lod95"]) == pytest.approx(lod95(10_000, 6, 0.95), rel=1e-5)  # TSV: 6 digits
    assert detection_power(10_000, 6, 0.002) >= 0.95
    assert result.stdout.startswith("PLASMA\tNEGATIVE\t")
    # the same file counted as fragments: read-level background 5e-4 needs >= 10,331
    fragments = ngs(run_cli, tmp_path / "reads", bam)
    assert fragments.exit_code == 0, fragments.stderr
    row = calls_table(tmp_path / "reads")["PLASMA", "D538G"]
    assert (row["status"], row["reasons"]) == (
        "INDETERMINATE",
        "INSUFFICIENT_DEPTH;DEFAULT_BACKGROUND",
    )


def test_umi_800_families_is_insufficient_depth_with_lod95(run_cli, work, tmp_path):
    bam = umi_bam(work / "f800.bam", 800)
    result = ngs(run_cli, tmp_path / "out", bam, "--umi")
    assert result.exit_code == 0, result.stderr
    table = calls_table(tmp_path / "out")
    k = k_required(800, 1e-4, 1e-3, 3)
    expected = lod95(800, k, 0.95)
    assert (k, round(expected, 5)) == (3, 0.00785)  # 0.78 %, four times the 0.2 % asked for
    for (_, hotspot), row in table.items():
        assert (row["status"], row["reasons"].split(";")[0]) == (
            "INDETERMINATE",
            "INSUFFICIENT_DEPTH",
        ), hotspot
        assert (row["alt_count"], row["depth"]) == ("0", "800")
        assert float(row["lod95"]) == pytest.approx(expected, rel=1e-5)
        assert row["action"] == "sequence deeper, or from more input DNA: lod95 0.78 % at n=800"


# ------------------------------------------------------------------ strands with molecules


def test_alt_molecules_on_one_strand_are_strand_bias(run_cli, work, tmp_path):
    bam = umi_bam(work / "one_strand.bam", 10_000, [d538g(30)], reverse=0.0)
    assert ngs(run_cli, tmp_path / "out", bam, "--umi").exit_code == 0
    row = calls_table(tmp_path / "out")["PLASMA", "D538G"]
    assert (row["status"], row["reasons"]) == ("INDETERMINATE", "STRAND_BIAS;DEFAULT_BACKGROUND")


def test_duplex_molecules_count_on_both_strands(run_cli, work, tmp_path, validate_calls_json):
    # every D538G read pair is F1R2, but each is a duplex consensus seen on both strands
    duplex = {"aD": 2, "bD": 1}
    bam = umi_bam(work / "duplex.bam", 10_000, [d538g(30)], reverse=0.0, mutant_tags=duplex)
    assert ngs(run_cli, tmp_path / "out", bam, "--umi").exit_code == 0
    call = json_calls(validate_calls_json(tmp_path / "out" / "calls.json"))["D538G"]
    assert call["status"] == "DETECTED"
    assert call["evidence"]["alt_strands"] == {"forward": 30, "reverse": 30}  # x is still 30
    assert call["alt_count"] == 30


# ------------------------------------------------------------------ the committed BAM


def test_golden_calls_for_the_committed_umi_bam(
    run_cli, tmp_path, monkeypatch, validate_calls_json
):
    monkeypatch.chdir(REPO)  # the report's source column shows the relative path
    outdir = tmp_path / "out"
    result = ngs(run_cli, outdir, "testdata/bam/plasma_07.umi.bam", "--umi")
    assert result.exit_code == 0, result.stderr
    validate_calls_json(outdir / "calls.json")
    assert_golden((outdir / "calls.tsv").read_text(), EXPECTED / "plasma_07.umi.calls.tsv")
    assert_golden((outdir / "samples.tsv").read_text(), EXPECTED / "plasma_07.umi.samples.tsv")


def test_committed_bam_is_what_its_script_writes():
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "make_bam_fixtures.py"), "--check"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def test_reads_evidence_has_the_codon_and_the_settings(run_cli, tmp_path, validate_calls_json):
    assert ngs(run_cli, tmp_path / "out", PLASMA, "--umi").exit_code == 0
    document = validate_calls_json(tmp_path / "out" / "calls.json")
    calls = json_calls(document)
    y537s = calls["Y537S"]["evidence"]
    assert y537s["codon"]["window"] == "Y537"
    assert y537s["codon"]["hotspots"] == {"Y537C": 0, "Y537N": 0, "Y537S": 30}
    assert y537s["codon"]["other_changes"] == {"Y537T": 2}
    assert y537s["codon"]["family_sizes"] == {"4": 5_000}
    assert y537s["fields"]["min_base_quality"] == "20"
    assert y537s["fields"]["unit"] == "molecules"
    assert y537s["source"] == "bam"
    # another change in the codon is flagged: Y537T beside Y537S; L536Q beside L536H
    assert "OTHER_CHANGE_IN_CODON" in calls["Y537S"]["reasons"]
    assert "OTHER_CHANGE_IN_CODON" in calls["L536H"]["reasons"]
    assert "OTHER_CHANGE_IN_CODON" not in calls["E380Q"]["reasons"]
    assert calls["L536H"]["alt_count"] == 0 and calls["L536Q"]["status"] == "DETECTED"
    details = document["samples"][0]["details"]
    assert details["build"] == "GRCh38" and details["depth_unit"] == "molecules"
    assert details["sample_evidence"] == "@RG SM"
    thresholds = document["run"]["thresholds"]
    assert thresholds["read_counting"]["min_family_size"] == 1
    (entry,) = document["run"]["inputs"]
    assert entry["format"] == "bam" and len(entry["sha256"]) == 64


def test_bam_and_cram_of_the_same_molecules_give_identical_calls(
    run_cli, work, fasta, tmp_path, validate_calls_json
):
    cram = bam_to_cram(PLASMA, work / "plasma_07.umi.cram", fasta)
    assert ngs(run_cli, tmp_path / "bam", PLASMA, "--umi").exit_code == 0
    result = ngs(run_cli, tmp_path / "cram", cram, "--umi", "--reference", fasta)
    assert result.exit_code == 0, result.stderr

    def without_source(outdir: Path) -> list[list[str]]:
        lines = (outdir / "calls.tsv").read_text().splitlines()
        return [line.split("\t")[:-1] for line in lines]  # source is the last column

    assert without_source(tmp_path / "cram") == without_source(tmp_path / "bam")
    document = validate_calls_json(tmp_path / "cram" / "calls.json")
    assert [i["format"] for i in document["run"]["inputs"]] == ["cram", "fasta"]
    assert json_calls(document)["Y537S"]["evidence"]["source"] == "cram"


# ------------------------------------------------------------------ agreement with bcftools


def concordance_groups() -> Groups:
    """Plain reads (no UMI), one per fragment, at depths and fractions that give every status."""
    mutants = {
        "y537s": (30, cod(537, "TCT"), 0.5),  # 0.6 %: DETECTED
        "l536q": (12, cod(536, "CAG"), 0.5),  # the MNV: an SNV caller adds it to L536H
        "y537t": (2, cod(537, "ACT"), 0.5),  # TAT>ACT: an A at c.1609 and a C at c.1610
        "d538g": (7, cod(538, "GGC"), 0.5),  # 0.14 %: LOW_LEVEL
        "y537c": (20, cod(537, "TGT"), 0.0),  # every read forward: STRAND_BIAS
        "l536p": (3, cod(536, "CCC"), 0.5),  # below k_req: excluded
    }
    groups: Groups = reads_only("e380", 1138, 1_000)  # too shallow: INSUFFICIENT_DEPTH
    groups += reads_only("e380q", 1138, 0)
    groups += reads_only("v422", 1265, 5_000) + reads_only("s463", 1387, 5_000)
    groups += reads_only("x8", 1609, 5_000 - sum(n for n, _, _ in mutants.values()))
    for name, (count, edits, reverse) in mutants.items():
        groups += reads_only(name, 1609, count, edits, reverse=reverse)
    return groups


def cod(aa: int, codon: str) -> tuple[Edit, ...]:
    return (codon_edit(aa, codon),)


def bcftools_vcf(
    bam: Path, fasta: Path, out: Path, *, call: bool = False, max_depth: str = "1000000"
) -> Path:
    """bcftools mpileup -a AD,ADF,ADR over the regions esr1calls reads, with its read filters
    (MAPQ 20, base quality 20, no BAQ, no depth cap: -d 0 is a cap of 0 before bcftools 1.23);
    with ``call``, then bcftools call -mv."""
    regions = ",".join(f"chr6:{a}-{b}" for a, b in count_regions(PANEL, Build.GRCH38))
    pileup = subprocess.run(
        ["bcftools", "mpileup", "-f", str(fasta), "-r", regions, "-a", "AD,ADF,ADR", "-B",
         "-Q", "20", "-q", "20", "-d", max_depth, "--ns", "UNMAP,SECONDARY,QCFAIL,DUP",
         "-Ou" if call else "-Ov", str(bam)],
        check=True, capture_output=True,
    ).stdout  # fmt: skip
    if call:
        pileup = subprocess.run(
            ["bcftools", "call", "-mv", "-Ov"], input=pileup, check=True, capture_output=True
        ).stdout
    out.write_bytes(pileup)
    return out


@pytest.fixture(scope="module")
def concordance_bam(work: Path) -> Path:
    header = make_header(REF38, (("rg1", "CONC"),))
    return write_families(work / "concordance.bam", concordance_groups(), REF38, header=header)


@pytest.mark.slow
def test_bam_and_a_bcftools_mpileup_vcf_of_it_give_the_same_calls(
    run_cli, work, fasta, concordance_bam, tmp_path
):
    """Real bcftools on the same reads: the same status, x and n on every SNV hotspot the VCF
    can express. It cannot phase a codon, so it differs exactly where the reads carry L536Q
    (an A at c.1607, which an SNV caller adds to L536H) and Y537T (an A at c.1609 and a C at
    c.1610, added to Y537N and Y537S; with Y537N's A and Y537C's G they could also spell Y537S):
    the VCF gives those hotspots a count range. L536H's range straddles k_req, so the VCF cannot
    call it (PHASE_UNKNOWN) where the reads exclude it; Y537N and Y537S keep their status. x is
    the count the VCF lists for the allele (the range's high end when only combinations of
    other changes could make it)."""
    vcf = bcftools_vcf(concordance_bam, fasta, work / "concordance.mpileup.vcf")
    options = ["--background-error", "1e-4"]  # decisive at 5,000 reads; the rule is the same
    assert ngs(run_cli, tmp_path / "bam", concordance_bam, *options).exit_code == 0
    result = ngs(run_cli, tmp_path / "vcf", vcf, *options)
    assert result.exit_code == 0, result.stderr
    from_bam, from_vcf = calls_table(tmp_path / "bam"), calls_table(tmp_path / "vcf")
    assert {s for s, _ in from_vcf} == {"CONC"}  # bcftools names the column by the read group
    details = json.loads((tmp_path / "vcf" / "calls.json").read_text())["samples"][0]["details"]
    assert details["caller"] == "bcftools"

    def summary(row: dict[str, str]) -> tuple[str, str, str, str]:
        return row["status"], row["reasons"], row["alt_count"], row["depth"]

    snvs = [h.name for h in PANEL if len(h.ref) == len(h.alt) == 1]
    expected_bam = {
        "E380Q": ("INDETERMINATE", "INSUFFICIENT_DEPTH", "0", "1000"),
        "S463P": ("NOT_DETECTED", "", "0", "5000"),
        "L536H": ("NOT_DETECTED", "OTHER_CHANGE_IN_CODON", "0", "5000"),
        "L536P": ("NOT_DETECTED", "OTHER_CHANGE_IN_CODON", "3", "5000"),
        "L536R": ("NOT_DETECTED", "OTHER_CHANGE_IN_CODON", "0", "5000"),
        "Y537C": ("INDETERMINATE", "STRAND_BIAS;OTHER_CHANGE_IN_CODON", "20", "5000"),
        "Y537N": ("NOT_DETECTED", "OTHER_CHANGE_IN_CODON", "0", "5000"),
        "Y537S": ("DETECTED", "OTHER_CHANGE_IN_CODON", "30", "5000"),
        "D538G": ("INDETERMINATE", "LOW_LEVEL", "7", "5000"),
    }
    assert {h: summary(from_bam["CONC", h]) for h in snvs} == expected_bam
    # what an unphased VCF says where the reads phase a codon (the documented differences)
    unphased = {
        "L536H": ("INDETERMINATE", "PHASE_UNKNOWN;OTHER_CHANGE_IN_CODON", "12", "5000"),  # 0-12
        "Y537N": ("NOT_DETECTED", "OTHER_CHANGE_IN_CODON", "2", "5000"),  # 0-2, all below k_req
        "Y537S": ("DETECTED", "OTHER_CHANGE_IN_CODON", "32", "5000"),  # listed 32, range 30-34
    }
    for hotspot in snvs:
        expected = unphased.get(hotspot, expected_bam[hotspot])
        assert summary(from_vcf["CONC", hotspot]) == expected, hotspot


@pytest.mark.slow
def test_bcftools_call_vcf_with_the_bam_makes_not_detected_possible(
    run_cli, work, fasta, concordance_bam, tmp_path, validate_calls_json
):
    """bcftools call -mv writes only variant sites: alone, every other hotspot has no depth
    (NO_COVERAGE); with the BAM beside it, the reads supply the depth."""
    vcf = bcftools_vcf(concordance_bam, fasta, work / "concordance.call.vcf", call=True)
    options = ["--background-error", "1e-4"]
    assert ngs(run_cli, tmp_path / "vcf", vcf, *options).exit_code == 0
    alone = calls_table(tmp_path / "vcf")
    assert alone["CONC", "S463P"]["reasons"] == "NO_COVERAGE"
    result = ngs(run_cli, tmp_path / "both", concordance_bam, vcf, *options)
    assert result.exit_code == 0, result.stderr
    both = calls_table(tmp_path / "both")
    assert {s for s, _ in both} == {"CONC"}  # one sample: the names agree
    assert both["CONC", "S463P"]["status"] == "NOT_DETECTED"
    assert both["CONC", "S463P"]["source"] == f"{concordance_bam}, {vcf}"
    assert both["CONC", "Y537S"]["status"] == "DETECTED"
    assert not any("SOURCES_DISAGREE" in row["reasons"] for row in both.values())
    document = validate_calls_json(tmp_path / "both" / "calls.json")
    assert document["samples"][0]["details"]["pairing"] == "same sample name CONC"


@pytest.mark.slow
def test_bcftools_mpileup_with_d_0_is_flagged_where_it_caps_the_depth(
    run_cli, work, fasta, concordance_bam, tmp_path
):
    """Before bcftools 1.23, mpileup -d 0 is a cap of almost no reads (samtools/bcftools#2435),
    not "no cap": the VCF's depths are tiny, the report says why, and nothing is excluded."""
    vcf = bcftools_vcf(concordance_bam, fasta, work / "d0.vcf", max_depth="0")
    version_line = next(x for x in vcf.read_text().splitlines() if "bcftoolsVersion" in x)
    major, minor = (int(v) for v in version_line.split("=")[1].split("+")[0].split(".")[:2])
    result = ngs(run_cli, tmp_path / "out", vcf, "--background-error", "1e-4")
    assert result.exit_code == 0, result.stderr
    notices = json.loads((tmp_path / "out" / "calls.json").read_text())["run"]["notices"]
    table = calls_table(tmp_path / "out")
    if (major, minor) < (1, 23):
        assert notices == [
            f"d0.vcf: bcftools {major}.{minor} mpileup ran with -d 0, which before bcftools 1.23 "
            "sets a cap of almost no reads instead of lifting it (samtools/bcftools#2435): "
            "depths may be far below the BAM's and the reportable fraction not excludable; "
            "re-run with a "
            "--max-depth above the deepest site, e.g. -d 1000000"
        ]
        assert "NOT_DETECTED" not in {row["status"] for row in table.values()}
    else:  # the cap is lifted: the calls are the BAM's (see the test above)
        assert notices == []
        assert table["CONC", "S463P"]["status"] == "NOT_DETECTED"


# ------------------------------------------------------------------ BAM + VCF of one sample

M2_HEADER = [
    "##fileformat=VCFv4.2",
    '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
    '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths">',
    '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Depth">',
    '##FILTER=<ID=orientation,Description="orientation bias">',
    '##FILTER=<ID=multiallelic,Description="several alt alleles">',
    "##source=Mutect2",
]


def m2_vcf(
    path: Path,
    records: Iterable[tuple[int, str, str, str, str]],
    *,
    sample: str = "PLASMA_07",
    contig: str = "##contig=<ID=chr6,length=170805979>",
) -> Path:
    """A Mutect2 tumour-only VCF: records are (pos, ref, alt, AD, FILTER)."""
    lines = [*M2_HEADER, contig, f"##tumor_sample={sample}"]
    lines.append("\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO",
                            "FORMAT", sample]))  # fmt: skip
    for pos, ref, alt, ad, filt in sorted(records):
        depth = sum(int(a) for a in ad.split(","))
        lines.append(f"chr6\t{pos}\t.\t{ref}\t{alt}\t.\t{filt}\t.\tGT:AD:DP\t0/1:{ad}:{depth}")
    path.write_text("\n".join(lines) + "\n")
    return path


def at(hotspot: str, ad: str, filt: str = "PASS") -> tuple[int, str, str, str, str]:
    h = PANEL[hotspot]
    return h.pos(Build.GRCH38), h.ref, h.alt, ad, filt


def mixed(run_cli, tmp_path: Path, vcf: Path, *extra: Any) -> tuple[dict[str, Any], Any]:
    result = ngs(run_cli, tmp_path / "out", PLASMA, vcf, "--umi", *extra)
    assert result.exit_code == 0, result.stderr
    document = json.loads((tmp_path / "out" / "calls.json").read_text())
    return document, result


def test_a_vcf_without_records_plus_the_bam_makes_not_detected_possible(
    run_cli, tmp_path, validate_calls_json
):
    vcf = m2_vcf(tmp_path / "p7.vcf", [at("Y537S", "4970,30")])
    alone = ngs(run_cli, tmp_path / "alone", vcf, "--umi")
    assert alone.exit_code == 0
    assert calls_table(tmp_path / "alone")["PLASMA_07", "E380Q"]["reasons"] == "NO_COVERAGE"
    document, result = mixed(run_cli, tmp_path, vcf)
    validate_calls_json(tmp_path / "out" / "calls.json")
    assert len(document["samples"]) == 1
    calls = json_calls(document)
    assert calls["E380Q"]["status"] == "NOT_DETECTED"
    assert calls["E380Q"]["evidence"]["vcf"]["depth"] is None  # the VCF said nothing there
    assert calls["Y537S"]["status"] == "DETECTED"
    assert calls["Y537S"]["evidence"]["source"] == "bam+vcf"
    assert calls["Y537S"]["evidence"]["vcf"]["alt_count"] == 30
    details = document["samples"][0]["details"]
    assert (details["pairing"], details["vcf"], details["caller"]) == (
        "same sample name PLASMA_07", "p7.vcf", "Mutect2",
    )  # fmt: skip
    assert document["samples"][0]["source"] == f"{PLASMA}, {vcf}"
    assert result.stdout.startswith("PLASMA_07\tPOSITIVE\t")


def test_an_artefact_filter_in_the_vcf_makes_the_reads_call_indeterminate(run_cli, tmp_path):
    vcf = m2_vcf(tmp_path / "p7.vcf", [at("Y537S", "4970,30", "orientation")])
    calls = json_calls(mixed(run_cli, tmp_path, vcf)[0])
    y537s = calls["Y537S"]
    assert (y537s["status"], y537s["reasons"][0]) == ("INDETERMINATE", "ARTEFACT_FILTER")
    assert y537s["alt_count"] == 30 and y537s["evidence"]["filters"] == ["orientation"]


def test_a_benign_filter_in_the_vcf_is_noted_and_the_reads_decide(run_cli, tmp_path):
    vcf = m2_vcf(tmp_path / "p7.vcf", [at("Y537S", "4970,30", "multiallelic")])
    y537s = json_calls(mixed(run_cli, tmp_path, vcf)[0])["Y537S"]
    assert y537s["status"] == "DETECTED" and "CALLER_FILTER" in y537s["reasons"]


def test_vcf_detects_but_the_reads_show_nothing_is_sources_disagree(run_cli, tmp_path):
    vcf = m2_vcf(tmp_path / "p7.vcf", [at("E380Q", "4770,30")])  # the reads have 0 of 4,800
    e380q = json_calls(mixed(run_cli, tmp_path, vcf)[0])["E380Q"]
    assert e380q["status"] == "INDETERMINATE"
    assert e380q["reasons"] == ["SOURCES_DISAGREE", "DEFAULT_BACKGROUND"]
    assert e380q["evidence"]["reads_alone"] == "NOT_DETECTED"
    assert e380q["evidence"]["disagreement"] == [
        "the VCF shows the allele (x 30 of 4,800, k_req 5) but the reads do not "
        "(x 0 of 4,800, k_req 5)"
    ]
    assert e380q["action"].startswith(
        "check that plasma_07.umi.bam and p7.vcf are the same sample and library"
    )
    assert (e380q["alt_count"], e380q["depth"]) == (0, 4_800)  # the numbers stay the reads'


def test_reads_show_what_the_vcf_excludes_is_sources_disagree(run_cli, tmp_path):
    # Mutect2 weighs every allele: listing only Y537C at c.1610 says 0 Y537S reads of 5,000
    h = PANEL["Y537C"]
    vcf = m2_vcf(tmp_path / "p7.vcf", [(h.pos(Build.GRCH38), h.ref, h.alt, "4970,30", "PASS")])
    calls = json_calls(mixed(run_cli, tmp_path, vcf)[0])
    y537s, y537c = calls["Y537S"], calls["Y537C"]
    assert (y537s["status"], y537s["reasons"][0]) == ("INDETERMINATE", "SOURCES_DISAGREE")
    assert y537s["evidence"]["reads_alone"] == "DETECTED"
    assert y537s["evidence"]["disagreement"][0].startswith(
        "the reads show the allele (x 30 of 5,000, k_req 5) but the VCF excludes it (x 0 of 5,000"
    )
    assert y537s["evidence"]["vcf"]["judged_alone"]["k_required"] == 5
    assert (y537c["status"], y537c["reasons"][0]) == ("INDETERMINATE", "SOURCES_DISAGREE")


@pytest.mark.parametrize(
    "umi, vcf_depth, status",
    [
        (False, 15_000, "NOT_DETECTED"),  # 3 x the reads' 5,000 fragments
        (False, 15_001, "INDETERMINATE"),
        # molecules: 3 x the 5,000 x 3 raw reads behind them (a VCF of the raw reads counts all)
        (True, 45_000, "NOT_DETECTED"),
        (True, 45_001, "INDETERMINATE"),
    ],
)
def test_vcf_depth_far_above_the_reads_is_sources_disagree(
    run_cli, work, tmp_path, umi, vcf_depth, status
):
    bam = (
        umi_bam(work / "families_3.bam", 5_000, sample="CONC")  # every molecule from 3 reads
        if umi
        else write_families(
            work / "fragments.bam", reads_only("s463", 1387, 5_000), REF38,
            header=make_header(REF38, (("rg1", "CONC"),)),
        )
    )  # fmt: skip
    vcf = m2_vcf(tmp_path / "conc.vcf", [at("S463P", f"{vcf_depth},0")], sample="CONC")
    # 1e-4 in both: 5,000 fragments at the read-level 5e-4 could not exclude anything anyway
    options = ["--umi"] if umi else ["--background-error", "1e-4"]
    result = ngs(run_cli, tmp_path / "out", bam, vcf, *options)
    assert result.exit_code == 0, result.stderr
    document = json.loads((tmp_path / "out" / "calls.json").read_text())
    s463p = json_calls(document)["S463P"]
    assert s463p["status"] == status
    if status == "INDETERMINATE":
        assert s463p["reasons"][0] == "SOURCES_DISAGREE"
        found = "5,000 molecules from 15,000 raw reads" if umi else "5,000"
        assert s463p["evidence"]["disagreement"] == [
            f"the VCF's depth {vcf_depth:,} is more than 3 times the reads' usable depth "
            f"({found}): the BAM cannot be the file the VCF was called from"
        ]


def test_reads_phase_what_the_vcf_cannot(run_cli, tmp_path):
    # L536Q written as two unphased SNVs: alone the VCF cannot tell L536Q from L536H + another
    records = [(g(1607), "T", "A", "4988,12", "PASS"), (g(1608), "C", "G", "4988,12", "PASS")]
    vcf = m2_vcf(tmp_path / "p7.vcf", records)
    assert ngs(run_cli, tmp_path / "alone", vcf, "--umi").exit_code == 0
    alone = calls_table(tmp_path / "alone")
    assert alone["PLASMA_07", "L536Q"]["reasons"].startswith("PHASE_UNKNOWN")
    calls = json_calls(mixed(run_cli, tmp_path, vcf)[0])
    assert (calls["L536Q"]["status"], calls["L536Q"]["alt_count"]) == ("DETECTED", 12)
    assert (calls["L536H"]["status"], calls["L536H"]["alt_count"]) == ("NOT_DETECTED", 0)
    assert calls["L536H"]["evidence"]["vcf"]["reasons"][0] == "PHASE_UNKNOWN"


# ------------------------------------------------------------------ which files are one sample


def test_bam_and_vcf_naming_different_samples_are_two_samples(run_cli, tmp_path):
    vcf = m2_vcf(tmp_path / "other.vcf", [at("Y537S", "4970,30")], sample="PLASMA_99")
    document, _ = mixed(run_cli, tmp_path, vcf)
    assert [s["sample_id"] for s in document["samples"]] == ["PLASMA_07", "PLASMA_99"]
    assert document["run"]["notices"] == [
        "plasma_07.umi.bam is sample PLASMA_07 but other.vcf is sample PLASMA_99: they were "
        "called as two samples. If they are one, check for a sample swap, then make the names "
        "agree (samtools addreplacerg or bcftools reheader)"
    ]
    assert json_calls(document, 1)["E380Q"]["reasons"] == ["NO_COVERAGE"]  # the VCF alone


def test_a_placeholder_vcf_column_pairs_with_the_only_bam(run_cli, tmp_path):
    vcf = m2_vcf(tmp_path / "strelka_like.vcf", [at("Y537S", "4970,30")], sample="TUMOR")
    document, _ = mixed(run_cli, tmp_path, vcf)
    (sample,) = document["samples"]
    assert sample["sample_id"] == "PLASMA_07"
    assert sample["details"]["pairing"].startswith("the run's only BAM/CRAM (PLASMA_07) and only")
    assert sample["details"]["vcf_sample"] == "TUMOR"


def test_a_bam_without_read_groups_pairs_with_the_only_vcf(run_cli, work, tmp_path):
    bam = umi_bam(work / "no_rg.bam", 5_000, [("y537s", 30, cod(537, "TCT"))], sample=None)
    vcf = m2_vcf(tmp_path / "p7.vcf", [at("Y537S", "4970,30")])
    result = ngs(run_cli, tmp_path / "out", bam, vcf, "--umi")
    assert result.exit_code == 0, result.stderr
    document = json.loads((tmp_path / "out" / "calls.json").read_text())
    (sample,) = document["samples"]
    assert sample["sample_id"] == "PLASMA_07"  # the only real name
    assert sample["details"]["sample_evidence"] == "no @RG SM: file name"
    # without the VCF the reads are named after the file
    assert ngs(run_cli, tmp_path / "bam", bam, "--umi").stdout.startswith("no_rg\t")


def test_bams_of_different_samples_are_different_samples(run_cli, work, tmp_path):
    other = umi_bam(work / "other_sample.bam", 1_000, sample="PLASMA_99")
    result = ngs(run_cli, tmp_path / "out", PLASMA, other, "--umi")
    assert result.exit_code == 0, result.stderr
    assert [line.split("\t")[0] for line in result.stdout.splitlines()] == [
        "PLASMA_07",
        "PLASMA_99",
    ]


def test_two_bams_of_one_sample_are_an_error(run_cli, work, tmp_path):
    copy = umi_bam(work / "again.bam", 1_000, sample="PLASMA_07")
    line = one_line_error(ngs(run_cli, tmp_path / "out", PLASMA, copy, "--umi"))
    assert line == (
        "esr1calls: error: plasma_07.umi.bam and again.bam are both sample PLASMA_07; merge "
        "them (samtools merge) or run them separately"
    )
    assert not (tmp_path / "out").exists()


def test_a_bam_matching_two_vcfs_is_an_error(run_cli, tmp_path):
    first = m2_vcf(tmp_path / "a.vcf", [at("Y537S", "4970,30")])
    second = m2_vcf(tmp_path / "b.vcf", [at("Y537S", "4969,31")])  # not a copy of a.vcf
    line = one_line_error(ngs(run_cli, tmp_path / "out", PLASMA, first, second, "--umi"))
    assert line == (
        "esr1calls: error: plasma_07.umi.bam (sample PLASMA_07) matches two VCFs, a.vcf and "
        "b.vcf; give one VCF per sample, or run them separately"
    )


def test_a_bam_and_vcf_of_one_sample_in_different_builds_are_an_error(run_cli, tmp_path):
    vcf = m2_vcf(
        tmp_path / "b37.vcf", [(152_420_000, "A", "G", "10,0", "PASS")],
        contig="##contig=<ID=chr6,length=171115067>",
    )  # fmt: skip
    line = one_line_error(ngs(run_cli, tmp_path / "out", PLASMA, vcf, "--umi"))
    assert line == (
        "esr1calls: error: plasma_07.umi.bam: aligned to GRCh38 (@SQ chr6 LN:170805979) but "
        "b37.vcf of the same sample is GRCh37 (##contig chr6 length 171,115,067); give the files "
        "of one build"
    )


# ------------------------------------------------------------------ command-line errors


def test_bam_without_index_is_one_line(run_cli, work, tmp_path):
    bam = tmp_path / "plasma.bam"
    bam.write_bytes(PLASMA.read_bytes())  # the same reads, no index beside them
    line = one_line_error(ngs(run_cli, tmp_path / "out", bam, "--umi"))
    assert line == (
        "esr1calls: error: plasma.bam: no index (.bai/.csi) found next to the file; run: "
        "samtools index plasma.bam"
    )
    assert not (tmp_path / "out").exists()


def test_cram_without_reference_is_one_line(run_cli, work, fasta, tmp_path):
    cram = bam_to_cram(PLASMA, work / "noref.cram", fasta)
    line = one_line_error(ngs(run_cli, tmp_path / "out", cram, "--umi"))
    assert line == (
        "esr1calls: error: noref.cram: a CRAM needs the reference FASTA it was written with; "
        "pass reference= (CLI: --reference GRCh38.fa)"
    )


def test_wrong_build_is_one_line(run_cli, tmp_path):
    line = one_line_error(ngs(run_cli, tmp_path / "out", PLASMA, "--umi", "--build", "GRCh37"))
    assert line == (
        "esr1calls: error: plasma_07.umi.bam: @SQ chr6 is 170,805,979 bp, which is GRCh38, but "
        "build GRCh37 was given; drop the build option or use the GRCh37 file"
    )


def test_sam_text_is_one_line_with_the_conversion(run_cli, tmp_path):
    sam = tmp_path / "plasma.sam"
    subprocess.run(["samtools", "view", "-h", "-o", str(sam), str(PLASMA)], check=True)
    line = one_line_error(ngs(run_cli, tmp_path / "out", sam, "--umi"))
    assert line.startswith("esr1calls: error: plasma.sam: SAM text cannot be queried by region")


def test_family_size_without_umi_is_one_line(run_cli, tmp_path):
    line = one_line_error(ngs(run_cli, tmp_path / "out", PLASMA, "--min-family-size", "3"))
    assert line == (
        "esr1calls: error: --min-family-size 3 needs --umi: family sizes exist only when reads "
        "are grouped into UMI molecules"
    )


@pytest.mark.parametrize(
    "option, value, message",
    [
        ("--min-base-quality", "94", "min_base_quality must be 0-93 (Phred), got 94"),
        ("--min-mapping-quality", "-1", "min_mapping_quality must be 0-254, got -1"),
    ],
)
def test_out_of_range_read_options_are_one_line(run_cli, tmp_path, option, value, message):
    line = one_line_error(ngs(run_cli, tmp_path / "out", PLASMA, option, value))
    assert line == f"esr1calls: error: {message}"


def test_family_size_changes_the_counts(run_cli, tmp_path):
    # every consensus read of the fixture stands for 4 raw reads
    assert ngs(run_cli, tmp_path / "a", PLASMA, "--umi", "--min-family-size", "4").exit_code == 0
    assert calls_table(tmp_path / "a")["PLASMA_07", "Y537S"]["depth"] == "5000"
    assert ngs(run_cli, tmp_path / "b", PLASMA, "--umi", "--min-family-size", "5").exit_code == 0
    row = calls_table(tmp_path / "b")["PLASMA_07", "Y537S"]
    assert (row["depth"], row["reasons"].split(";")[0]) == ("0", "NO_COVERAGE")
    assert row["action"].startswith("no usable read covers this codon")


# ------------------------------------------------------------------ panel of normals from BAMs


@pytest.fixture(scope="module")
def normal_bams(work: Path) -> list[Path]:
    """Three UMI normals with D538G background 2, 1 and 0 in 10,000 molecules."""
    return [
        umi_bam(work / f"normal_{i}.bam", 10_000, [d538g(x)] if x else [], sample=f"N{i}")
        for i, x in ((1, 2), (2, 1), (3, 0))
    ]


@pytest.fixture(scope="module")
def reads_pon(normal_bams: list[Path], work: Path) -> Path:
    from click.testing import CliRunner

    from esr1calls.cli import cli

    out = work / "reads_pon.tsv"
    result = CliRunner().invoke(cli, ["pon", "build", *map(str, normal_bams), "--umi",
                                      "-o", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    return out


def test_pon_from_bams_records_the_counting_and_the_background(reads_pon, normal_bams):
    lines = reads_pon.read_text().splitlines()
    meta = [line for line in lines if line.startswith("#")]
    assert meta[:6] == [
        "#esr1calls_pon_version=1",
        "#depth_unit=molecules",
        "#counts_from=reads",
        "#min_base_quality=20",
        "#min_mapping_quality=20",
        "#min_family_size=1",
    ]
    assert [m.split(" ")[0] for m in meta if m.startswith("#input=")] == [
        "#input=normal_1.bam", "#input=normal_2.bam", "#input=normal_3.bam",
    ]  # fmt: skip
    rows = {r["hotspot"]: r for r in csv.DictReader(io.StringIO("\n".join(
        line for line in lines if not line.startswith("#"))), delimiter="\t")}  # fmt: skip
    rate, upper, dispersion = estimate_background([(2, 10_000), (1, 10_000), (0, 10_000)])
    assert rows["D538G"] == {
        "hotspot": "D538G", "n_normals": "3", "alt_count": "3", "depth": "30000",
        "error_rate": f"{rate:.6g}", "error_rate_upper95": f"{upper:.6g}",
        "dispersion": f"{dispersion:.4g}",
    }  # fmt: skip
    assert rows["E380Q"]["alt_count"] == "0" and rows["E380Q"]["depth"] == "30000"


def test_a_pon_from_bams_is_used_in_a_bam_run(run_cli, reads_pon, tmp_path):
    result = ngs(run_cli, tmp_path / "out", PLASMA, "--umi", "--pon", reads_pon)
    assert result.exit_code == 0, result.stderr
    document = json.loads((tmp_path / "out" / "calls.json").read_text())
    d538g_call = json_calls(document)["D538G"]
    rows = {line.split("\t")[0]: line.split("\t") for line in reads_pon.read_text().splitlines()}
    upper = float(rows["D538G"][5])
    assert d538g_call["evidence"]["background_error"] == upper
    assert d538g_call["evidence"]["background_source"].startswith("panel of normals reads_pon.tsv")
    assert "DEFAULT_BACKGROUND" not in d538g_call["reasons"]
    assert d538g_call["evidence"]["k_required"] == k_required(5_000, upper, 1e-3, 3)
    assert [i["format"] for i in document["run"]["inputs"]] == ["bam", "pon"]


def test_a_pon_counted_with_other_settings_is_refused(run_cli, reads_pon, tmp_path):
    args = ["--umi", "--pon", reads_pon, "--min-base-quality", "30", "--min-family-size", "2"]
    line = one_line_error(ngs(run_cli, tmp_path / "out", PLASMA, *args))
    assert line == (
        "esr1calls: error: reads_pon.tsv: cannot be used for sample PLASMA_07 "
        f"({PLASMA}): it was built with min_base_quality 20, the run uses 30; "
        "min_family_size 1, the run uses 2; run with the PoN's settings, or rebuild the PoN "
        "with this run's"
    )
    assert not (tmp_path / "out").exists()


def test_a_pon_from_vcfs_is_refused_for_reads(run_cli, testdata, tmp_path):
    pon = testdata / "vcf" / "pon" / "normals.pon.tsv"  # Mutect2 normals, reads
    line = one_line_error(ngs(run_cli, tmp_path / "out", PLASMA, "--pon", pon))
    assert line == (
        f"esr1calls: error: normals.pon.tsv: cannot be used for sample PLASMA_07 ({PLASMA}): "
        "it was built from VCF counts, but these counts come from reads (BAM/CRAM); build the "
        "PoN from normal BAM/CRAMs counted with this run's options (esr1calls pon build "
        "NORMAL.bam... -o pon.tsv)"
    )


def test_a_pon_from_bams_is_refused_for_a_vcf_only_sample(run_cli, reads_pon, tmp_path):
    vcf = m2_vcf(tmp_path / "p9.vcf", [at("Y537S", "4970,30")], sample="PLASMA_09")
    line = one_line_error(ngs(run_cli, tmp_path / "out", vcf, "--umi", "--pon", reads_pon))
    assert line == (
        f"esr1calls: error: reads_pon.tsv: cannot be used for sample PLASMA_09 ({vcf}): it was "
        "built from reads (BAM/CRAM), but these counts come from a VCF; use a PoN built from "
        "normal VCFs of the same caller, or give the sample's BAM"
    )


@pytest.mark.parametrize("run", [call_vcf, lambda path, **kw: call_ngs([path], **kw)],
                         ids=["call_vcf", "call_ngs"])  # fmt: skip
def test_the_python_api_refuses_a_pon_from_bams_for_a_vcf(run, reads_pon, tmp_path):
    vcf = m2_vcf(tmp_path / "p9.vcf", [at("Y537S", "4970,30")], sample="PLASMA_09")
    settings = make_settings(PANEL, pon=reads_pon, reads=ReadOptions(umi=True))
    with pytest.raises(ConfigError) as caught:
        run(vcf, settings=settings)
    assert str(caught.value) == (
        f"reads_pon.tsv: cannot be used for sample PLASMA_09 ({vcf}): it was built from reads "
        "(BAM/CRAM), but these counts come from a VCF; use a PoN built from normal VCFs of the "
        "same caller, or give the sample's BAM"
    )


def test_a_pon_from_bams_in_molecules_needs_umi(run_cli, reads_pon, tmp_path):
    line = one_line_error(ngs(run_cli, tmp_path / "out", PLASMA, "--pon", reads_pon))
    assert line == (
        "esr1calls: error: reads_pon.tsv: the PoN counts molecules, but this run counts reads; "
        "add --umi"
    )


def test_pon_build_refuses_bams_mixed_with_vcfs(run_cli, normal_bams, testdata, tmp_path):
    vcf = testdata / "vcf" / "pon" / "normal_1.vcf"
    result = run_cli(["pon", "build", normal_bams[0], vcf, "-o", tmp_path / "pon.tsv"])
    assert one_line_error(result) == (
        "esr1calls: error: pon build: normal_1.bam hold reads but normal_1.vcf variants; a "
        "panel of normals measures one way of counting: give all BAM/CRAMs or all VCFs"
    )
    assert not (tmp_path / "pon.tsv").exists()


def test_a_reads_pon_without_its_settings_is_refused(run_cli, reads_pon, tmp_path):
    damaged = tmp_path / "damaged.tsv"
    text = reads_pon.read_text().replace("#min_mapping_quality=20\n", "")
    damaged.write_text(text)
    line = one_line_error(ngs(run_cli, tmp_path / "out", PLASMA, "--umi", "--pon", damaged))
    assert line == (
        "esr1calls: error: damaged.tsv: a PoN counted from reads must record "
        "#min_mapping_quality; rebuild it with esr1calls pon build"
    )


# ------------------------------------------------------------------ duplicates never marked

EXON8 = ["--hotspots", "L536H,L536P,L536R,L536Q,Y537C,Y537N,Y537S,D538G"]
MARK_DUPLICATES_ADVICE = (
    "mark duplicates (samtools markdup or Picard MarkDuplicates) and run again, or give the DNA "
    "input (--input-ng NG or --input-copies N); if the reads are already molecules (a consensus "
    "BAM whose @PG lines were stripped), say so with --reads-are-molecules"
)
AMPLICON_ADVICE = (
    "amplicon reads share their start and end, so duplicates cannot be marked by position: give "
    "the DNA input (--input-ng NG or --input-copies N) or use UMIs"
)


def molecules_bam(
    path: Path,
    molecules: int = 2_000,
    copies: int = 6,
    mutants: Sequence[tuple[int, Sequence[Edit]]] = (),
    tags: Mapping[str, Any] | None = None,
) -> Path:
    """``molecules`` distinct exon 8 molecules (each its own start, length and orientation, as a
    duplicate marker sees them), each read ``copies`` times as overlapping 2x100 pairs, none
    flagged duplicate and no marking program in the header; ``mutants`` (count, edits) are the
    first molecules' changes."""
    import random

    # samtools markdup does not tell F1R2 from F2R1 at one start and end: each pair of ends once
    shapes = [(o, n, (o + n) % 2 == 1) for o in range(50, 96) for n in range(150, 200)]
    random.Random(537).shuffle(shapes)
    edits = [e for count, e in mutants for _ in range(count)]
    groups: Groups = []
    for i, (offset, length, reverse) in enumerate(shapes[:molecules]):
        fragment = Fragment(
            f"m{i}", around(1610, offset), length, edits=tuple(edits[i]) if i < len(edits) else (),
            r1_reverse=reverse, tags={"RG": "rg1", **(tags or {})},
        )  # fmt: skip
        groups.append((fragment, copies))
    header = make_header(REF38, (("rg1", "TUMOUR"),), programs=())
    return write_families(path, groups, REF38, header=header)


def markdup(bam: Path, out: Path) -> Path:
    """Mark duplicates with samtools itself: name-sort, fixmate -m, sort, markdup, index."""
    named, fixed, ordered = (out.with_suffix(f".{step}.bam") for step in ("n", "fm", "s"))
    for command in (
        ["samtools", "sort", "-n", "-o", named, bam],
        ["samtools", "fixmate", "-m", named, fixed],
        ["samtools", "sort", "-o", ordered, fixed],
        ["samtools", "markdup", ordered, out],
        ["samtools", "index", out],
    ):
        subprocess.run([str(c) for c in command], check=True, capture_output=True)
    return out


@pytest.fixture(scope="module")
def unmarked_bam(work: Path) -> Path:
    """The issue's BAM: 2,000 molecules read 6 times each, 12,000 fragments at every codon."""
    return molecules_bam(work / "unmarked.bam")


UNMARKED_NOTICE = (
    "unmarked.bam: duplicates were never marked (no MarkDuplicates, markdup or consensus step in "
    "the @PG header lines, and no read flagged duplicate among up to 12,000 fragments at a "
    "codon), so n counts reads, not molecules: no hotspot is NOT_DETECTED from these reads. "
    f"Fix: {MARK_DUPLICATES_ADVICE}"
)


def test_unmarked_duplicates_never_give_not_detected(
    run_cli, unmarked_bam, tmp_path, validate_calls_json
):
    """2,000 molecules read 6 times each, no duplicate flag, no marking program: every call was
    NOT_DETECTED at 12,000 'fragments'; the molecules (2,000) could never exclude 0.2 %."""
    result = ngs(run_cli, tmp_path / "out", unmarked_bam, *EXON8)
    assert result.exit_code == 0, result.stderr
    document = validate_calls_json(tmp_path / "out" / "calls.json")
    assert document["run"]["notices"] == [UNMARKED_NOTICE]
    for name, call in json_calls(document).items():
        assert (call["status"], call["reasons"][0]) == ("INDETERMINATE", "UNMARKED_DUPLICATES")
        assert (call["alt_count"], call["depth"], call["lod95"]) == (0, 12_000, None), name
        assert call["action"] == (
            "duplicates were never marked in unmarked.bam (no marking program in @PG, no read "
            f"flagged duplicate): {MARK_DUPLICATES_ADVICE}"
        )
    evidence = json_calls(document)["Y537S"]["evidence"]["duplicates"]
    assert evidence == {
        "state": "unmarked", "marking_programs": [], "grouping_programs": [],
        "duplicate_flagged_reads": 0, "deepest_codon_fragments": 12_000, "amplicon": False,
        "molecule_tags": [], "alt_distinct_coordinates": 0,
        "reads": {"alt_count": 0, "depth": 12_000},
    }  # fmt: skip
    assert result.stdout.startswith("TUMOUR\tINDETERMINATE\tNo ESR1 hotspot mutation detected, "
                                    "but 8 of 8 hotspots are indeterminate (duplicates not "
                                    "marked 8)")  # fmt: skip


def test_the_same_reads_marked_by_samtools_are_2000_molecules(run_cli, unmarked_bam, tmp_path):
    marked = markdup(unmarked_bam, tmp_path / "marked.bam")
    result = ngs(run_cli, tmp_path / "out", marked, *EXON8)
    assert result.exit_code == 0, result.stderr
    document = json.loads((tmp_path / "out" / "calls.json").read_text())
    call = json_calls(document)["Y537S"]
    k = k_required(2_000, 5e-4, 1e-3, 3)
    assert (call["status"], call["reasons"][0], call["depth"]) == (
        "INDETERMINATE", "INSUFFICIENT_DEPTH", 2_000,
    )  # fmt: skip
    assert call["lod95"] == pytest.approx(lod95(2_000, k, 0.95))
    # 10,000 duplicate pairs: each has a read over the codon, some both
    assert 10_000 <= call["evidence"]["codon"]["filtered_reads"]["duplicate"] <= 20_000
    duplicates = document["samples"][0]["details"]["duplicates"]
    assert duplicates["state"] == "marked"
    assert duplicates["marking_programs"] == [
        f"samtools.3 (samtools markdup {tmp_path / 'marked.s.bam'} {tmp_path / 'marked.bam'})"
    ]
    assert document["run"]["notices"] == []


def test_reads_declared_molecules_are_counted_and_the_report_says_so(
    run_cli, unmarked_bam, tmp_path, validate_calls_json
):
    result = ngs(run_cli, tmp_path / "out", unmarked_bam, *EXON8, "--reads-are-molecules")
    assert result.exit_code == 0, result.stderr
    document = validate_calls_json(tmp_path / "out" / "calls.json")
    assert {c["status"] for c in json_calls(document).values()} == {"NOT_DETECTED"}
    assert document["run"]["notices"] == [
        "unmarked.bam: no duplicate marking found; the reads are taken as molecules, as "
        "--reads-are-molecules says (n counts them)"
    ]
    assert document["run"]["thresholds"]["read_counting"]["reads_are_molecules"] is True
    details = document["samples"][0]["details"]["duplicates"]
    assert details["state"] == "reads are molecules (--reads-are-molecules)"


@pytest.mark.parametrize(
    "option", [("--input-copies", "2000"), ("--input-ng", "6.6")], ids=["copies", "ng"]
)
def test_the_dna_input_caps_n_at_its_molecules(run_cli, unmarked_bam, tmp_path, option):
    """2,000 genome copies read 12,000 times show about C(1 - e^-6) = 1,995 molecules."""
    result = ngs(run_cli, tmp_path / "out", unmarked_bam, *EXON8, *option)
    assert result.exit_code == 0, result.stderr
    document = json.loads((tmp_path / "out" / "calls.json").read_text())
    call = json_calls(document)["Y537S"]
    k = k_required(1_995, 5e-4, 1e-3, 3)
    assert (call["status"], call["reasons"], call["alt_count"], call["depth"]) == (
        "INDETERMINATE", ["INSUFFICIENT_DEPTH", "DEFAULT_BACKGROUND"], 0, 1_995,
    )  # fmt: skip
    assert call["lod95"] == pytest.approx(lod95(1_995, k, 0.95))
    assert call["evidence"]["duplicates"]["molecules"] == 1_995
    assert call["evidence"]["duplicates"]["genome_copies"] == 2_000.0
    assert document["run"]["notices"] == [
        "unmarked.bam: duplicates were never marked; n is capped at the molecules 2,000 haploid "
        f"genome copies ({' '.join(option)}) can give at each codon, and x is scaled with it"
    ]


@pytest.mark.parametrize(
    "mutant_molecules, status, reasons",
    [
        (30, "DETECTED", ["DEFAULT_BACKGROUND", "UNMARKED_DUPLICATES"]),
        (12, "INDETERMINATE", ["UNMARKED_DUPLICATES", "DEFAULT_BACKGROUND"]),
    ],
    ids=["30-molecules-stand", "12-molecules-do-not"],
)
def test_a_detected_from_unmarked_reads_rests_on_distinct_alt_molecules(
    run_cli, tmp_path, mutant_molecules, status, reasons
):
    """Y537S molecules read 6 times: 180 or 72 alt reads, both DETECTED before. k_req(12,000) is
    16, so 30 alt molecules at distinct coordinates pass on their own; 12 do not."""
    y537s = (mutant_molecules, cod(537, "TCT"))
    bam = molecules_bam(tmp_path / "mut.bam", mutants=[y537s])
    result = ngs(run_cli, tmp_path / "out", bam, "--hotspots", "Y537S")
    assert result.exit_code == 0, result.stderr
    call = json_calls(json.loads((tmp_path / "out" / "calls.json").read_text()))["Y537S"]
    assert (call["status"], call["reasons"]) == (status, reasons)
    assert call["alt_count"] == 6 * mutant_molecules
    duplicates = call["evidence"]["duplicates"]
    assert duplicates["alt_distinct_coordinates"] == mutant_molecules
    assert duplicates["detected"] == (
        "stands: 30 alt fragments at distinct coordinates reach k_req 16 and the reportable "
        "fraction at n=12,000"
        if status == "DETECTED"
        else "not claimed: only 12 alt fragments at distinct coordinates (k_req 16)"
    )


def test_with_the_input_a_detected_rests_on_molecules(run_cli, tmp_path):
    y537s = (30, cod(537, "TCT"))
    bam = molecules_bam(tmp_path / "mut.bam", mutants=[y537s])
    result = ngs(run_cli, tmp_path / "out", bam, "--hotspots", "Y537S", "--input-copies", "2000")
    assert result.exit_code == 0, result.stderr
    call = json_calls(json.loads((tmp_path / "out" / "calls.json").read_text()))["Y537S"]
    # 180 alt reads of 12,000 at 1,995 molecules: 29.9, at least the 30 distinct coordinates
    assert (call["status"], call["alt_count"], call["depth"]) == ("DETECTED", 30, 1_995)
    assert call["evidence"]["duplicates"]["alt_molecules"] == [30, 30]


def test_few_reads_of_two_molecules_never_make_a_detected_at_low_depth(run_cli, tmp_path):
    """500 fragments (too few to presume duplicates) and two Y537S molecules, one per strand,
    read 3 times each: 6 alt reads were DETECTED (k_req 4, 1.2 %); two molecules are not."""
    groups: Groups = [
        (Fragment(f"r{i}", around(1610, 50 + i % 40), 150 + i // 40, tags={"RG": "rg1"}), 1)
        for i in range(494)
    ]
    for name, reverse in (("mut_f", False), ("mut_r", True)):
        mutant = Fragment(name, around(1610, 60), 170, edits=cod(537, "TCT"), r1_reverse=reverse,
                          tags={"RG": "rg1"})  # fmt: skip
        groups.append((mutant, 3))
    header = make_header(REF38, (("rg1", "TUMOUR"),), programs=())
    bam = write_families(tmp_path / "low.bam", groups, REF38, header=header)
    result = ngs(run_cli, tmp_path / "out", bam, "--hotspots", "Y537S,D538G")
    assert result.exit_code == 0, result.stderr
    document = json.loads((tmp_path / "out" / "calls.json").read_text())
    y537s, d538g = json_calls(document)["Y537S"], json_calls(document)["D538G"]
    assert (y537s["status"], y537s["reasons"][0], y537s["alt_count"]) == (
        "INDETERMINATE", "UNMARKED_DUPLICATES", 6,
    )  # fmt: skip
    assert y537s["evidence"]["duplicates"]["alt_distinct_coordinates"] == 2
    assert y537s["evidence"]["duplicates"]["state"] == "unmarked, none presumed at this depth"
    # at this depth nothing else changes: D538G is what the reads give, unflagged
    assert (d538g["status"], d538g["reasons"]) == (
        "INDETERMINATE", ["INSUFFICIENT_DEPTH", "DEFAULT_BACKGROUND"],
    )  # fmt: skip
    assert document["run"]["notices"] == []


def amplicon_bam(path: Path) -> Path:
    """Two overlapping amplicons over exon 8 (12,000 and 8,000 read pairs, every read of an
    amplicon at its start and end), 100 of them D538G; no marking program, no flag."""
    a = Fragment("ampA", around(1610, 60), 150, tags={"RG": "rg1"})
    b = Fragment("ampB", around(1610, 75), 170, r1_reverse=True, tags={"RG": "rg1"})
    groups: Groups = [
        (a, 11_950),
        (replace(a, name="ampA_g", edits=cod(538, "GGC")), 50),
        (b, 7_950),
        (replace(b, name="ampB_g", edits=cod(538, "GGC")), 50),
    ]
    header = make_header(REF38, (("rg1", "AMP"),), programs=())
    return write_families(path, groups, REF38, header=header)


def test_amplicon_reads_need_the_dna_input(run_cli, work, tmp_path, validate_calls_json):
    bam = amplicon_bam(work / "amplicon.bam")
    result = ngs(run_cli, tmp_path / "out", bam, *EXON8)
    assert result.exit_code == 0, result.stderr
    document = validate_calls_json(tmp_path / "out" / "calls.json")
    calls = json_calls(document)
    for name, call in calls.items():
        assert (call["status"], call["reasons"][0]) == ("INDETERMINATE", "UNMARKED_DUPLICATES")
        assert call["action"].endswith(AMPLICON_ADVICE), name
    assert calls["D538G"]["alt_count"] == 100  # 0.5 % of the reads: from 2 coordinates
    assert calls["D538G"]["evidence"]["duplicates"]["alt_distinct_coordinates"] == 2
    assert document["samples"][0]["details"]["duplicates"]["amplicon"] is True
    assert calls["D538G"]["evidence"]["codon"]["coordinates"]["top_share"] == 1.0
    # 66 ng = 20,000 genome copies; 20,000 reads of them show 20,000(1 - e^-1) = 12,642
    result = ngs(run_cli, tmp_path / "input", bam, *EXON8, "--input-ng", "66")
    assert result.exit_code == 0, result.stderr
    calls = json_calls(validate_calls_json(tmp_path / "input" / "calls.json"))
    d538g = calls.pop("D538G")
    assert (d538g["status"], d538g["alt_count"], d538g["depth"]) == ("DETECTED", 63, 12_642)
    assert d538g["evidence"]["duplicates"]["alt_molecules"] == [63, 64]  # 100 x 12,642/20,000
    assert {(c["status"], c["depth"]) for c in calls.values()} == {("NOT_DETECTED", 12_642)}


def test_a_umi_bam_counted_as_reads_says_count_molecules(run_cli, tmp_path):
    result = ngs(run_cli, tmp_path / "out", PLASMA)
    assert result.exit_code == 0, result.stderr
    document = json.loads((tmp_path / "out" / "calls.json").read_text())
    umi_advice = "the reads carry UMI molecule tags (MI): count molecules with --umi"
    calls = json_calls(document)
    y537s, s463p = calls["Y537S"], calls["S463P"]
    # 30 consensus reads, 2 coordinates: as fragments, not a DETECTED; with --umi it is one
    assert (y537s["status"], y537s["reasons"][0]) == ("INDETERMINATE", "UNMARKED_DUPLICATES")
    assert y537s["action"].endswith(umi_advice)
    assert s463p["reasons"] == ["INSUFFICIENT_DEPTH", "DEFAULT_BACKGROUND", "UNMARKED_DUPLICATES"]
    assert s463p["action"].startswith("sequence deeper, or from more input DNA: lod95 ")
    assert s463p["action"].endswith(
        " at n=4,800; and duplicates were never marked in plasma_07.umi.bam (no marking program "
        f"in @PG, no read flagged duplicate): {umi_advice}"
    )
    assert document["samples"][0]["details"]["duplicates"]["molecule_tags"] == ["MI", "cD"]


@pytest.mark.parametrize(
    "tags, advice",
    [
        ({"RX": "ACGTAC-TTGACA"}, "the reads carry UMIs (RX) not grouped into molecules: group "
         "them (fgbio GroupReadsByUmi or umi_tools group) and count molecules with --umi"),
        ({"cD": 6, "RX": "ACGTAC"}, "the reads carry consensus tags (cD): each is a molecule "
         "already; say so with --reads-are-molecules"),
        ({"UG": 7}, "the reads carry UMI molecule tags (UG): count molecules with --umi"),
    ],
)  # fmt: skip
def test_umi_tags_counted_as_reads_name_the_option_that_fits(run_cli, tmp_path, tags, advice):
    """Raw UMIs (RX, BX) need grouping before --umi; consensus reads (cD) whose MI and @PG lines
    are gone are molecules (--reads-are-molecules); without these the advice was to mark
    duplicates, as for reads with no UMI."""
    bam = molecules_bam(tmp_path / "tagged.bam", molecules=200, tags=tags)
    result = ngs(run_cli, tmp_path / "out", bam, *EXON8)
    assert result.exit_code == 0, result.stderr
    document = json.loads((tmp_path / "out" / "calls.json").read_text())
    assert document["run"]["notices"][0].endswith(f"Fix: {advice}")
    assert all(c["action"].endswith(advice) for c in json_calls(document).values())


def test_the_input_is_not_used_where_duplicates_are_marked(run_cli, unmarked_bam, tmp_path):
    marked = markdup(unmarked_bam, tmp_path / "marked.bam")
    result = ngs(run_cli, tmp_path / "out", marked, *EXON8, "--input-ng", "10")
    assert result.exit_code == 0, result.stderr
    document = json.loads((tmp_path / "out" / "calls.json").read_text())
    assert json_calls(document)["Y537S"]["depth"] == 2_000
    assert document["run"]["notices"] == [
        "marked.bam: --input-ng 10 is not used: n already counts molecules (marked)"
    ]


@pytest.mark.parametrize(
    "options, message",
    [
        (
            ["--input-ng", "10", "--input-copies", "3000"],
            "give --input-ng or --input-copies, not both: they say the same thing",
        ),
        (
            ["--input-ng", "10", "--umi"],
            "--input-ng with --umi: UMI molecules are counted already; drop --input-ng",
        ),
        (
            ["--reads-are-molecules", "--umi"],
            "--reads-are-molecules with --umi: --umi counts the molecules from their tags; drop "
            "--reads-are-molecules",
        ),
        (
            ["--reads-are-molecules", "--input-copies", "500"],
            "--reads-are-molecules and --input-copies contradict each other (the reads are "
            "molecules, or they may be duplicates bounded by the input); give one",
        ),
        (
            ["--input-ng", "0.001"],
            "--input-ng 0.001 is less than one haploid genome copy (3.3 pg); give the DNA put into "
            "the library (ng) or its genome copies",
        ),
    ],
    ids=["both-inputs", "input-umi", "molecules-umi", "molecules-input", "below-one-copy"],
)
def test_duplicate_choices_that_contradict_are_one_line(run_cli, tmp_path, options, message):
    line = one_line_error(ngs(run_cli, tmp_path / "out", PLASMA, *options))
    assert line == f"esr1calls: error: {message}"


def test_batch_jobs_take_the_duplicate_choices(run_cli, unmarked_bam, tmp_path):
    manifest = tmp_path / "manifest.tsv"
    rows = [("as_reads", ""), ("copies", "input_copies=2000"), ("molecules", "reads-are-molecules")]
    manifest.write_text(
        "id\ttype\tinputs\tplate_map\tkit\tsample\toptions\n"
        + "".join(
            f"{job}\tngs\t{unmarked_bam}\t\t\t\thotspots=Y537S {opts}\n" for job, opts in rows
        )
    )
    result = run_cli(["batch", manifest, "-o", tmp_path / "out"])
    assert result.exit_code == 0, result.stderr
    found = {}
    for job, _ in rows:
        document = json.loads((tmp_path / "out" / job / "calls.json").read_text())
        call = json_calls(document)["Y537S"]
        found[job] = (call["status"], call["reasons"][0], call["depth"])
    assert found == {
        "as_reads": ("INDETERMINATE", "UNMARKED_DUPLICATES", 12_000),
        "copies": ("INDETERMINATE", "INSUFFICIENT_DEPTH", 1_995),
        "molecules": ("NOT_DETECTED", "DEFAULT_BACKGROUND", 12_000),
    }


def test_pon_build_refuses_normals_with_unmarked_duplicates(run_cli, unmarked_bam, tmp_path):
    out = tmp_path / "pon.tsv"
    result = run_cli(["pon", "build", unmarked_bam, "--hotspots", "Y537S", "-o", out])
    assert one_line_error(result) == (
        "esr1calls: error: pon build: unmarked.bam: duplicates were never marked (no marking "
        "program in @PG, no read flagged duplicate among up to 12,000 fragments at a codon), so "
        "its depth counts reads, not molecules, and the background would look tighter than it "
        "is: mark duplicates (samtools markdup), count UMI molecules (--umi), or, if its reads "
        "are molecules, say so with --reads-are-molecules"
    )
    assert not out.exists()
    declared = run_cli(["pon", "build", unmarked_bam, "--hotspots", "Y537S",
                        "--reads-are-molecules", "-o", out])  # fmt: skip
    assert declared.exit_code == 0, declared.stderr
    assert (
        "#notice=unmarked.bam: no duplicate marking found; its reads are taken as molecules, "
        "as --reads-are-molecules says" in out.read_text().splitlines()
    )


# ------------------------------------------------------------------ read groups without SM


def unlabelled_bam(path: Path, sample: str = "PLASMA") -> Path:
    """rg1 of ``sample``: 20 D538G reads in 10,000; rg2, no SM: 30 D538G reads in 2,000."""
    header_dict = make_header(REF38, (("rg1", sample),)).to_dict()
    header_dict["RG"].append({"ID": "rg2", "PL": "ILLUMINA"})
    groups = reads_only("x8", 1609, 9_980) + reads_only("d538g", 1609, 20, cod(538, "GGC"))
    rg2 = {"RG": "rg2"}
    for name, count, edits in (("u", 1_970, ()), ("ud538g", 30, cod(538, "GGC"))):
        groups += [(replace(f, name=f"{name}{f.name}", tags=rg2), n)
                   for f, n in reads_only(name, 1609, count, edits)]  # fmt: skip
    header = pysam.AlignmentHeader.from_dict(header_dict)
    return write_families(path, groups, REF38, header=header)


def test_read_groups_without_sm_are_reported_and_counted_only_when_asked(
    run_cli, tmp_path, validate_calls_json
):
    bam = unlabelled_bam(tmp_path / "plasma.bam")
    hotspots = ["--hotspots", "D538G"]
    assert ngs(run_cli, tmp_path / "out", bam, *hotspots).exit_code == 0
    document = validate_calls_json(tmp_path / "out" / "calls.json")
    call = json_calls(document)["D538G"]
    assert (call["alt_count"], call["depth"]) == (20, 10_000)
    assert document["run"]["notices"] == [
        "plasma.bam: no sample name (@RG SM) for read group rg2 (2,000 reads at the hotspots): "
        "not counted as sample PLASMA. If they are PLASMA's reads, add "
        "--include-unlabelled-read-groups, or add SM to their @RG header lines (samtools reheader)"
    ]
    details = document["samples"][0]["details"]
    assert (details["read_groups"], details["unlabelled_read_groups"]) == ("rg1", "not counted")
    included = ngs(run_cli, tmp_path / "in", bam, *hotspots, "--include-unlabelled-read-groups")
    assert included.exit_code == 0, included.stderr
    document = validate_calls_json(tmp_path / "in" / "calls.json")
    call = json_calls(document)["D538G"]
    assert (call["alt_count"], call["depth"]) == (50, 12_000)
    assert document["run"]["notices"][0].endswith(
        "(2,000 reads at the hotspots): counted as sample PLASMA (--include-unlabelled-read-groups)"
    )
    assert document["samples"][0]["details"]["read_groups"] == "rg1,rg2,(reads without RG)"


def test_pon_build_names_unlabelled_read_groups(run_cli, tmp_path):
    normals = [unlabelled_bam(tmp_path / f"n{i}.bam", sample=f"N{i}") for i in (1, 2)]
    out = tmp_path / "pon.tsv"
    result = run_cli(["pon", "build", *normals, "--hotspots", "D538G", "-o", out])
    assert result.exit_code == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "warning" in line]
    assert warnings == [
        f"esr1calls: warning: n{i}.bam: no sample name (@RG SM) for read group rg2 (2,000 reads "
        f"at the hotspots): not counted as sample N{i}. If they are N{i}'s reads, add "
        "--include-unlabelled-read-groups, or add SM to their @RG header lines (samtools reheader)"
        for i in (1, 2)
    ]
    assert sum(line.startswith("#notice=n") for line in out.read_text().splitlines()) == 2


# ------------------------------------------------------------------ reads that were not used


def test_excluded_and_unusable_reads_are_accounted_for_in_dropped(run_cli, work, tmp_path):
    groups = reads_only("x8", 1609, 100)
    dup = Fragment("dup", around(1609, 40), 100, paired=False, flags=0x400, tags={"RG": "rg1"})
    low = Fragment("lowq", around(1609, 40), 100, paired=False, tags={"RG": "rg1"},
                   low_quality_r1=(g(1610),))  # fmt: skip
    bam = write_families(work / "dropped.bam", [*groups, (dup, 4), (low, 2)], REF38)
    assert ngs(run_cli, tmp_path / "out", bam).exit_code == 0
    document = json.loads((tmp_path / "out" / "calls.json").read_text())
    dropped = {d["place"]: d["reason"] for d in document["dropped"]}
    assert dropped[f"chr6:{g(1609)}-{g(1611)} (Y537)"] == (
        "reads excluded or unusable at this codon: 4 duplicate, 2 low_base_quality"
    )
    assert dropped[f"chr6:{g(1606)}-{g(1608)} (L536)"] == (
        "reads excluded or unusable at this codon: 4 duplicate"
    )
    assert all(d["source"] == str(bam) for d in document["dropped"])
    assert pysam.AlignmentFile(str(bam)).count() == 106


@pytest.mark.parametrize("command", [("ngs",), ("pon", "build")])
def test_cli_read_options_default_to_the_library_defaults(command):
    # written out in cli.py so that importing the CLI does not load pysam: they must not drift
    from esr1calls.cli import cli
    from esr1calls.ngs import options

    group_or_command = cli
    for name in command:
        group_or_command = group_or_command.commands[name]  # type: ignore[attr-defined]
    defaults = {p.name: p.default for p in group_or_command.params}
    assert defaults["min_base_quality"] == options.DEFAULT_MIN_BASE_QUALITY
    assert defaults["min_mapping_quality"] == options.DEFAULT_MIN_MAPPING_QUALITY
    assert defaults["min_family_size"] == options.DEFAULT_MIN_FAMILY_SIZE


@pytest.mark.parametrize(
    "mutant, excluded_as",
    [
        # the Y537S base at Q10 in both mates: below --min-base-quality 20
        ({"low_quality_r1": (g(1610),), "low_quality_r2": (g(1610),)}, "low_base_quality"),
        ({"mapq": 5}, "low_mapping_quality"),  # below --min-mapping-quality 20
        ({"mapq": 5, "low_quality_r1": (g(1610),)}, "low_mapping_quality"),  # both floors
    ],
    ids=["base-quality", "mapping-quality", "both"],
)
def test_mutant_reads_below_the_quality_floors_prevent_not_detected(tmp_path, mutant, excluded_as):
    """12,000 clean reference fragments and 100 Y537S fragments that fail a quality floor: n and x
    leave them out, but 100 reads showing the allele make NOT_DETECTED unsafe."""
    y537s = codon_edit(537, "TCT")
    fragments = [
        (Fragment("ref", around(1610), 200, tags={"RG": "rg1"}), 12000),
        (Fragment("mut", around(1610), 200, edits=(y537s,), tags={"RG": "rg1"}, **mutant), 100),
    ]
    bam = write_families(tmp_path / "lowq.bam", fragments, REF38)
    result = call_ngs([bam], panel=load_panel("default", ["Y537S", "D538G"]))
    calls = {c.hotspot: c for c in result.samples[0].calls}
    y537s_call = calls["Y537S"]
    assert (y537s_call.alt_count, y537s_call.depth) == (0, 12000)  # still left out of x and n
    assert y537s_call.status.value == "INDETERMINATE"
    assert y537s_call.reasons[0].value == "LOW_QUALITY_SUPPORT"
    assert y537s_call.action.startswith("review the reads: reads below the base- or mapping-")
    assert y537s_call.evidence["excluded_reads_showing_allele"] == 100  # fragments, not reads
    assert calls["D538G"].status.value == "NOT_DETECTED"  # the same reads show D538G's reference
    assert any(f"{excluded_as} showing Y537S" in d.reason for d in result.dropped)


def test_mates_named_with_suffixes_count_once_so_6000_fragments_are_not_12000(tmp_path):
    """6,000 overlapping pairs whose mates are named /1 and /2 (older aligners): n is 6,000, too
    few to exclude 0.2 %; counting each mate as a fragment made it 12,000 and NOT_DETECTED."""
    pairs = [(Fragment("ref", around(1610), 150, mate_suffixes=True, tags={"RG": "rg1"}), 6000)]
    bam = write_families(tmp_path / "suffixed.bam", pairs, REF38)
    call = call_ngs([bam], panel=load_panel("default", ["Y537S"])).samples[0].calls[0]
    assert (call.depth, call.alt_count) == (6000, 0)
    assert (call.status.value, call.reasons[0].value) == ("INDETERMINATE", "INSUFFICIENT_DEPTH")
    assert call.lod95 == pytest.approx(lod95(6000, k_required(6000, 5e-4, 1e-3, 3), 0.95))


def test_another_samples_low_mapq_reads_do_not_count_against_this_one(tmp_path):
    header = make_header(REF38, (("rg1", "TUMOUR"), ("rg2", "OTHER")))
    y537s = codon_edit(537, "TCT")
    fragments = [
        (Fragment("ref", around(1610), 200, tags={"RG": "rg1"}), 12000),
        (Fragment("mut", around(1610), 200, edits=(y537s,), mapq=5, tags={"RG": "rg2"}), 100),
    ]
    bam = write_families(tmp_path / "two.bam", fragments, REF38, header=header)
    result = call_ngs([bam], panel=load_panel("default", ["Y537S"]), sample="TUMOUR")
    call = result.samples[0].calls[0]
    assert call.status.value == "NOT_DETECTED"  # OTHER's reads are not this sample's evidence
    assert "excluded_reads_showing_allele" not in call.evidence


def test_one_low_mapq_umi_molecule_is_one_excluded_molecule(tmp_path):
    y537s = codon_edit(537, "TCT")
    reads_of_one_molecule = [
        (
            Fragment(
                f"mut{j}",
                around(1610),
                120,
                edits=(y537s,),
                mapq=5,
                tags={"MI": "one", "RG": "rg1"},
            ),
            1,
        )
        for j in range(10)
    ]
    reference = (Fragment("ref", around(1610), 200, tags={"MI": "r", "RG": "rg1"}), 12000)
    bam = write_families(tmp_path / "umi.bam", [reference, *reads_of_one_molecule], REF38)
    umi = NgsSettings(reads=ReadOptions(umi=True))
    result = call_ngs([bam], panel=load_panel("default", ["Y537S"]), settings=umi)
    call = result.samples[0].calls[0]
    assert call.evidence["excluded_reads_showing_allele"] == 1  # 10 read pairs, one molecule
    assert call.status.value == "NOT_DETECTED"  # one molecule is below k_req: it cannot block
