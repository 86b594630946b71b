"""Reading a VCF for the hotspots (ngs/vcf_read.py): a text VCF cut short is never half read."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from esr1calls.errors import VcfFormatError
from esr1calls.model import CallStatus, Reason
from esr1calls.ngs import call_vcf

from .test_vcf import GENERIC_HEADER, M2_HEADER, row

COLUMNS = "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT", "T"])
Y537S = row(152098788, "A", "C", "0/1:11820,180:12000")
SYNONYMOUS_D538 = row(152098792, "C", "T", "0/1:11990,10:12000")  # covers the D538 codon
D538G = row(152098791, "A", "G", "0/1:11900,100:12000")  # DETECTED when read whole


def _vcf(path: Path, *rows: str, end: str = "\n", header=M2_HEADER) -> Path:
    path.write_bytes(("\n".join([*header, COLUMNS, *rows]) + end).encode())
    return path


def _result(path: Path):
    result = call_vcf(path)
    return result, {c.hotspot: c for c in result.samples[0].calls}


@pytest.mark.parametrize(
    "cut",
    [
        D538G[:-3],  # inside DP: "12000" read as "12"
        D538G[:-8],  # inside AD: 100 alt reads read as 1
        D538G[: D538G.index("GT:AD")],  # after INFO: FORMAT and the sample lost
        D538G[: D538G.index("\tG\t") + 2],  # inside ALT
        "chr6\t1520987",  # inside POS
        "ch",  # inside CHROM
    ],
    ids=["in-dp", "in-ad", "after-info", "in-alt", "in-pos", "in-chrom"],
)
def test_a_last_record_without_a_line_end_is_never_half_read(tmp_path, cut):
    """Whole, the last record makes D538G DETECTED; cut anywhere it is not read, and D538G,
    which it may describe, is INDETERMINATE (never a NOT_DETECTED from Mutect2's silence beside
    the synonymous record, nor a count from half a number), with the record in ``dropped`` and a
    notice."""
    whole = _result(_vcf(tmp_path / "whole.vcf", Y537S, SYNONYMOUS_D538, D538G))[1]
    assert whole["D538G"].status is CallStatus.DETECTED
    result, calls = _result(_vcf(tmp_path / "cut.vcf", Y537S, SYNONYMOUS_D538, cut, end=""))
    call = calls["D538G"]
    assert call.status is CallStatus.INDETERMINATE
    assert call.reasons[0] is Reason.ALLELE_NOT_REPORTED and call.alt_count is None
    assert call.depth == 12000  # the synonymous record's, as before
    assert call.action == "copy cut.vcf again: its last record (line 16) is cut short"
    assert [(d.place, d.reason) for d in result.dropped] == [
        ("line 16", "the last line has no line end: the file looks cut short, so this record is "
         "not read")
    ]  # fmt: skip
    assert len(result.notices) == 1
    assert result.notices[0].startswith(
        "cut.vcf: the VCF looks cut short: the last line has no line end (line 16), so that "
        "record was not read; the hotspots it could describe are INDETERMINATE ("
    )
    assert result.notices[0].endswith("D538G); copy the file again")


def test_a_cut_record_leaves_hotspots_it_cannot_reach_alone(tmp_path):
    """With POS and REF and INFO whole, the cut record reaches D538 only: Y537S, read from its
    own complete record before it, stays DETECTED."""
    cut = D538G[: D538G.index("GT:AD") + 3]
    calls = _result(_vcf(tmp_path / "cut.vcf", Y537S, SYNONYMOUS_D538, cut, end=""))[1]
    assert calls["Y537S"].status is CallStatus.DETECTED
    assert calls["D538G"].status is CallStatus.INDETERMINATE
    assert calls["E380Q"].reasons[0] is Reason.NO_COVERAGE
    assert calls["E380Q"].action != calls["D538G"].action  # no record there, cut or not


def test_a_cut_record_off_chr6_is_dropped_with_a_notice_and_calls_stand(tmp_path):
    rows = (Y537S, SYNONYMOUS_D538, "chr7\t1000\t.\tA\tG\t.\tPASS\t.\tGT:AD:DP\t0/1:11")
    result, calls = _result(_vcf(tmp_path / "cut.vcf", *rows, end=""))
    assert calls["Y537S"].status is CallStatus.DETECTED
    assert calls["D538G"].status is CallStatus.NOT_DETECTED  # Mutect2's silence, file intact there
    assert [d.place for d in result.dropped] == ["line 16"]
    assert result.notices == (
        "cut.vcf: the VCF looks cut short: the last line has no line end (line 16), so that "
        "record was not read; copy the file again",
    )


def test_a_last_record_short_of_its_sample_columns_is_dropped_likewise(tmp_path):
    """A line end after it, but fewer columns than the header's: cut at a tab."""
    short = D538G[: D538G.rindex("\t")]
    result, calls = _result(_vcf(tmp_path / "short.vcf", Y537S, SYNONYMOUS_D538, short))
    assert calls["D538G"].status is CallStatus.INDETERMINATE
    assert calls["D538G"].reasons[0] is Reason.ALLELE_NOT_REPORTED
    assert [(d.place, d.reason) for d in result.dropped] == [
        ("line 16", "the last line has 9 tab-separated columns where this VCF has 10: the file "
         "looks cut short, so this record is not read")
    ]  # fmt: skip


def test_a_short_record_before_the_last_is_still_an_error(tmp_path):
    short = D538G[: D538G.rindex("\t")]
    with pytest.raises(VcfFormatError, match=r"line 15: malformed record: 9 tab-separated"):
        call_vcf(_vcf(tmp_path / "x.vcf", Y537S, short, SYNONYMOUS_D538))


@pytest.mark.parametrize("end", ["\n", "\r\n"])
def test_a_whole_file_has_no_cut_record(tmp_path, end):
    result, calls = _result(_vcf(tmp_path / "whole.vcf", Y537S, SYNONYMOUS_D538, D538G, end=end))
    assert calls["D538G"].status is CallStatus.DETECTED
    assert result.dropped == () and result.notices == ()


def test_a_sites_only_vcf_is_measured_against_its_eight_columns(tmp_path):
    """No FORMAT or sample columns: 8 columns is whole."""
    header = [line for line in GENERIC_HEADER if not line.startswith("##FORMAT")]
    header += ['##INFO=<ID=DP4,Number=4,Type=Integer,Description="counts">',
               '##INFO=<ID=DP,Number=1,Type=Integer,Description="depth">']  # fmt: skip
    columns = COLUMNS.rsplit("\tFORMAT", 1)[0]
    text = "\n".join(
        [*header, columns, "chr6\t152098791\t.\tA\tG\t.\tPASS\tDP=12000;DP4=5950,5950,50,50"]
    )
    path = tmp_path / "sites.vcf"
    path.write_text(text + "\n")
    assert call_vcf(path).dropped == ()
    path.write_text(text)  # no line end
    calls = {c.hotspot: c for c in call_vcf(path).samples[0].calls}
    assert calls["D538G"].status is CallStatus.INDETERMINATE


def test_a_gzip_vcf_cut_before_it_was_compressed_is_read_like_a_plain_one(tmp_path):
    plain = _vcf(tmp_path / "cut.vcf", Y537S, SYNONYMOUS_D538, D538G[:-8], end="")
    packed = tmp_path / "cut.vcf.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    calls = _result(packed)[1]
    assert calls["D538G"].status is CallStatus.INDETERMINATE
