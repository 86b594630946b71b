"""What esr1calls knows about each caller (ngs/callers.py), held against real-shaped VCFs."""

from __future__ import annotations

from pathlib import Path

import pytest

from esr1calls.model import CallStatus, Reason
from esr1calls.ngs import call_vcf
from esr1calls.testing import TESTDATA

STRELKA_INDELS = TESTDATA / "vcf/strelka/somatic.indels.vcf"
# Strelka2 somatic indels (GRCh37, contig 6): the header of the real-shaped fixture
STRELKA_INDEL_HEADER = [
    line for line in STRELKA_INDELS.read_text().splitlines() if line.startswith("#")
]
# c.1606-1617 on GRCh37 (L536, Y537, D538, L539): CTC TAT GAC CTG
L536_FIRST = 152419919


def _strelka_indels(tmp_path: Path, *records: str) -> Path:
    path = tmp_path / "somatic.indels.vcf"
    path.write_text("\n".join([*STRELKA_INDEL_HEADER, *records]) + "\n")
    return path


def _indel(pos: int, ref: str, alt: str, tar: str, tir: str, tor: str) -> str:
    """One Strelka2 indel record: TAR/TIR/TOR are tier 1,tier 2 pairs, the tumour second."""
    info = "SOMATIC;QSI=45;TQSS=1;NT=ref;SGT=ref->het;DP=21012;SomaticEVS=14.20"
    normal = "9005:9005:9000,9002:0,0:5,5"
    depth = tar.split(",")[0]
    tumour = f"{depth}:{depth}:{tar}:{tir}:{tor}"
    return f"6\t{pos}\t.\t{ref}\t{alt}\t.\tPASS\t{info}\tDP:DP2:TAR:TIR:TOR\t{normal}\t{tumour}"


def _calls(path: Path) -> dict:
    return {c.hotspot: c for c in call_vcf(path).samples[0].calls}


# A 6-base deletion of the Y537 and D538 codons (c.1609_1614del), written by Strelka with the
# reads of its indel tiers: TAR/TIR/TOR count reads for the reference and indel alleles over the
# deletion, not the bases at a codon inside it. Tier 1 differs from tier 2, as in real files.
DELETION = (L536_FIRST + 2, "CTATGAC", "C")


@pytest.mark.parametrize("tor", ["0,0", "0,9", "2,9"])
def test_a_strelka_indel_record_never_bounds_an_snv_hotspot_inside_it(tmp_path, tor):
    """Its TOR (other reads at the indel) is not the count of a base: an SNV hotspot inside the
    deletion, without a record of its own, is INDETERMINATE ALLELE_NOT_REPORTED, never
    NOT_DETECTED from the indel's depth."""
    path = _strelka_indels(tmp_path, _indel(*DELETION, "12000,12600", "30,35", tor))
    calls = _calls(path)
    for name in ("Y537S", "Y537C", "Y537N", "D538G"):
        call = calls[name]
        assert call.status is CallStatus.INDETERMINATE, name
        assert call.reasons[0] is Reason.ALLELE_NOT_REPORTED, name
        assert call.alt_count is None, name
        assert "at most" not in call.evidence["fields"].get("alt_count", ""), name
    assert calls["E380Q"].reasons[0] is Reason.NO_COVERAGE  # nothing there at all


def test_a_strelka_indel_is_counted_from_tier_1(tmp_path):
    """x = TIR[0] and n = TAR[0] + TIR[0]: tier 2 (looser mapping) is never read."""
    path = _strelka_indels(tmp_path, _indel(152382151, "ATGG", "A", "11970,12400", "30,41", "5,9"))
    call = _calls(path)["V422del"]
    assert (call.alt_count, call.depth) == (30, 12000)
    assert call.evidence["fields"] == {
        "alt_count": "FORMAT/TIR[0] (tier 1)",
        "depth": "FORMAT/TAR[0] + FORMAT/TIR[0]",
        "other": "FORMAT/TOR[0]",
    }
    assert call.status is CallStatus.DETECTED


def test_a_strelka_snv_record_still_decides_its_own_position_beside_an_indel(tmp_path):
    """``bcftools concat -a somatic.snvs.vcf somatic.indels.vcf``: the SNV record at D538's
    changed base counts every base there (tier 1), so D538G is judged on it; Y537S, inside the
    deletion with no SNV record, stays unknown."""
    snvs = (TESTDATA / "vcf/strelka/somatic.snvs.vcf").read_text().splitlines()
    header = [line for line in snvs if line.startswith("##")]
    header += [line for line in STRELKA_INDEL_HEADER if line.startswith("##FORMAT=<ID=T")]
    snv = (
        f"6\t{L536_FIRST + 7}\t.\tA\tC\t.\tPASS\tSOMATIC;QSS=40;TQSS=1;NT=ref;SGT=AA->AC;"
        "DP=21006;SomaticEVS=9.1\tDP:FDP:SDP:SUBDP:AU:CU:GU:TU\t9003:3:0:0:9000,9005:0,0:0,0:0,0"
        "\t12003:3:0:0:11970,11975:30,31:0,4:0,0"
    )  # tier 1 has no G; tier 2 has 4
    columns = next(line for line in snvs if line.startswith("#CHROM"))
    path = tmp_path / "somatic.vcf"
    deletion = _indel(*DELETION, "12000,12600", "30,35", "0,0")
    path.write_text("\n".join([*header, columns, deletion, snv]) + "\n")
    calls = _calls(path)
    assert (calls["D538G"].alt_count, calls["D538G"].depth) == (0, 12000)
    assert calls["D538G"].evidence["fields"]["alt_count"] == "FORMAT/GU[0] (tier 1)"
    assert calls["D538G"].status is CallStatus.NOT_DETECTED
    assert calls["Y537S"].reasons[0] is Reason.ALLELE_NOT_REPORTED
