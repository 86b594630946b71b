"""Each VCF caller's count rule at a hotspot, with fixtures whose fields disagree on purpose.

The shared fixtures give equal Strelka tiers, Ion Torrent records with FDP, no bcftools DV record
at a hotspot and LoFreq/VarScan2 strands that are even: a rule reading the wrong tier, field or
strand still passed. Here every alternative a rule could read gives another number or call.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from esr1calls.model import CallStatus, Reason
from esr1calls.ngs import call_vcf

CONTIG = "##contig=<ID=chr6,length=170805979>"
D538G = ("chr6", 152098791, "A", "G")  # c.1613A>G, GRCh38
V422DEL = ("chr6", 152061016, "ATGG", "A")  # c.1265_1267del


def fmt(name: str, number: str = "1") -> str:
    kind = "String" if name == "GT" else "Integer"
    return f'##FORMAT=<ID={name},Number={number},Type={kind},Description="{name}">'


def info(name: str, number: str = "1") -> str:
    return f'##INFO=<ID={name},Number={number},Type=Integer,Description="{name}">'


def vcf_result(
    tmp_path: Path,
    header: list[str],
    site: tuple[str, int, str, str],
    *,
    info_text: str = ".",
    format_text: str | None = None,
    samples: dict[str, str] | None = None,
    more: tuple[str, ...] = (),
):
    """call_vcf of a one-record VCF (``more``: further records, whole lines); ``samples`` maps
    each column to its FORMAT values."""
    chrom, pos, ref, alt = site
    columns = ["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO"]
    record = [chrom, str(pos), ".", ref, alt, ".", "PASS", info_text]
    if samples:
        columns += ["FORMAT", *samples]
        record += [format_text or "", *samples.values()]
    path = tmp_path / "calls.vcf"
    lines = ["##fileformat=VCFv4.2", CONTIG, *header, "\t".join(columns), "\t".join(record)]
    path.write_text("\n".join([*lines, *more]) + "\n")
    return call_vcf(path)


def vcf_calls(tmp_path: Path, header: list[str], site: tuple[str, int, str, str], **kwargs):
    """The calls of :func:`vcf_result`'s VCF, by hotspot."""
    return {c.hotspot: c for c in vcf_result(tmp_path, header, site, **kwargs).samples[0].calls}


# --- Strelka ------------------------------------------------------------------------------------

STRELKA = ["##source=strelka", fmt("DP"), fmt("TAR", "2"), fmt("TIR", "2"), fmt("TOR", "2")]
STRELKA_SNV = ["##source=strelka", fmt("DP"), *(fmt(f"{b}U", "2") for b in "ACGT")]


def test_strelka_indel_counts_come_from_tier_1_not_tier_2(tmp_path):
    # tier 1: 10 of 12,000 (excluded at k_req 16); tier 2 would be 400 of 6,400 (DETECTED)
    calls = vcf_calls(
        tmp_path, STRELKA, V422DEL, format_text="DP:TAR:TIR:TOR",
        samples={"NORMAL": "9000:9000,9000:0,0:0,0", "TUMOR": "12100:11990,6000:10,400:7,90"},
    )  # fmt: skip
    call = calls["V422del"]
    assert (call.alt_count, call.depth) == (10, 12_000)
    assert call.status is CallStatus.NOT_DETECTED
    assert call.evidence["fields"]["alt_count"] == "FORMAT/TIR[0] (tier 1)"


def test_strelka_snv_counts_every_base_of_tier_1(tmp_path):
    # tier 1: G 40 of A 11,950 + C 3 + G 40 + T 7 = 12,000; tier 2 numbers differ everywhere
    calls = vcf_calls(
        tmp_path, STRELKA_SNV, D538G, format_text="DP:AU:CU:GU:TU",
        samples={"NORMAL": "9000:9000,9000:0,0:0,0:0,0",
                 "TUMOR": "12100:11950,5000:3,300:40,2:7,700"},
    )  # fmt: skip
    call = calls["D538G"]
    assert (call.alt_count, call.depth) == (40, 12_000)
    assert call.status is CallStatus.DETECTED


# --- Ion Torrent --------------------------------------------------------------------------------

TVC = [
    "##source=tvc",
    *(fmt(name) for name in ("FDP", "FRO", "MDP", "MRO")),
    *(fmt(name, "A") for name in ("FAO", "FSAF", "FSAR", "MAO")),
]


@pytest.mark.parametrize(
    "format_text, values, depth, alt",
    [
        # FDP is the flow-evaluated depth of every allele at the locus: it is n
        ("FDP:FRO:FAO:FSAF:FSAR", "12500:11960:40:22:18", 12_500, 40),
        # without FDP, n is FRO + FAO (never None: the record has counts)
        ("FRO:FAO:FSAF:FSAR", "11960:40:22:18", 12_000, 40),
        # tag sequencing: molecules (MRO, MAO, MDP), never the flow reads
        ("FDP:FRO:FAO:MDP:MRO:MAO", "12500:11960:40:3000:2985:9", 2_994, 9),
    ],
)
def test_ion_torrent_depth_with_and_without_fdp(tmp_path, format_text, values, depth, alt):
    calls = vcf_calls(tmp_path, TVC, D538G, format_text=format_text, samples={"S": values})
    call = calls["D538G"]
    assert (call.alt_count, call.depth) == (alt, depth)
    if "FSAF" in format_text:
        assert call.evidence["alt_strands"] == {"forward": 22, "reverse": 18}


# --- LoFreq and VarScan2 strands -----------------------------------------------------------------

LOFREQ = ["##source=lofreq call", info("DP"), info("DP4", "4")]
VARSCAN = ["##source=VarScan2", fmt("DP"), fmt("RD"), fmt("AD"), fmt("DP4", "4")]


def test_lofreq_counts_and_strands_come_from_dp4(tmp_path):
    # DP4 = ref-fwd, ref-rev, alt-fwd, alt-rev: every position holds another number
    calls = vcf_calls(tmp_path, LOFREQ, D538G, info_text="DP=12100;DP4=6000,5960,25,15")
    call = calls["D538G"]
    assert (call.alt_count, call.depth) == (40, 12_000)
    assert call.evidence["alt_strands"] == {"forward": 25, "reverse": 15}
    assert call.status is CallStatus.DETECTED


def test_lofreq_alt_reads_on_one_strand_are_strand_bias(tmp_path):
    calls = vcf_calls(tmp_path, LOFREQ, D538G, info_text="DP=12100;DP4=6000,5960,0,40")
    call = calls["D538G"]
    assert call.evidence["alt_strands"] == {"forward": 0, "reverse": 40}
    assert call.status is CallStatus.INDETERMINATE and call.reasons[0] is Reason.STRAND_BIAS


@pytest.mark.parametrize("strands, detected", [((25, 15), True), ((40, 0), False)])
def test_varscan2_strands_come_from_the_tumours_dp4(tmp_path, strands, detected):
    forward, reverse = strands
    calls = vcf_calls(
        tmp_path, VARSCAN, D538G, format_text="DP:RD:AD:DP4",
        samples={"NORMAL": "9000:9000:0:4500,4500,0,0",
                 "TUMOR": f"12100:11960:40:6000,5960,{forward},{reverse}"},
    )  # fmt: skip
    call = calls["D538G"]
    assert (call.alt_count, call.depth) == (40, 12_000)  # RD + AD; DP is not n
    assert call.evidence["alt_strands"] == {"forward": forward, "reverse": reverse}
    assert (call.status is CallStatus.DETECTED) is detected


# --- VarDict ALD strands ------------------------------------------------------------------------

VARDICT = ["##source=VarDict_v1.8.2", fmt("DP"), fmt("VD"), fmt("AD", "R"), fmt("ALD", "2"),
           fmt("RD", "2")]  # fmt: skip


@pytest.mark.parametrize("strands, detected", [((25, 15), True), ((0, 40), False)])
def test_vardict_strands_come_from_ald_and_decide_strand_bias(tmp_path, strands, detected):
    # ALD = alt forward, alt reverse; RD (the REF's strands) is another pair that must not be read
    forward, reverse = strands
    calls = vcf_calls(
        tmp_path, VARDICT, D538G, format_text="DP:VD:AD:ALD:RD",
        samples={"T": f"12000:40:11960,40:{forward},{reverse}:6000,5960"},
    )  # fmt: skip
    call = calls["D538G"]
    assert (call.alt_count, call.depth) == (40, 12_000)
    assert call.evidence["alt_strands"] == {"forward": forward, "reverse": reverse}
    if detected:
        assert call.status is CallStatus.DETECTED
    else:  # every alt read on one strand: never a plain DETECTED
        assert call.status is CallStatus.INDETERMINATE and call.reasons[0] is Reason.STRAND_BIAS


def test_vardict_without_ald_gives_no_strands(tmp_path):
    header = [h for h in VARDICT if "ID=ALD" not in h]
    calls = vcf_calls(
        tmp_path, header, D538G, format_text="DP:VD:AD", samples={"T": "12000:40:11960,40"}
    )
    assert "alt_strands" not in calls["D538G"].evidence
    assert calls["D538G"].status is CallStatus.DETECTED


# --- bcftools legacy DV -------------------------------------------------------------------------

BCFTOOLS = ["##bcftools_callVersion=1.2", fmt("DP"), fmt("DV")]


def test_bcftools_legacy_dv_gives_x_and_dp_gives_n_at_a_hotspot(tmp_path):
    calls = vcf_calls(tmp_path, BCFTOOLS, D538G, format_text="DP:DV", samples={"T": "12000:40"})
    call = calls["D538G"]
    assert (call.alt_count, call.depth) == (40, 12_000)
    assert call.evidence["fields"] == {"alt_count": "FORMAT/DV", "depth": "FORMAT/DP"}
    assert call.status is CallStatus.DETECTED
    below = vcf_calls(tmp_path, BCFTOOLS, D538G, format_text="DP:DV", samples={"T": "12000:5"})
    assert below["D538G"].status is CallStatus.NOT_DETECTED


def test_bcftools_legacy_dv_of_two_alts_is_not_split(tmp_path):
    # DV sums every ALT: with two ALTs no allele's count is known
    site = (*D538G[:3], "G,C")
    calls = vcf_calls(tmp_path, BCFTOOLS, site, format_text="DP:DV", samples={"T": "12000:40"})
    assert calls["D538G"].status is not CallStatus.DETECTED
    assert calls["D538G"].alt_count is None


def test_bcftools_split_dv_records_give_the_site_depth_from_their_shared_ref_count(tmp_path):
    # two ALT records at one position, each DP = REF + its own ALT (11,960 + 40, 11,960 + 50):
    # the same REF count in both, so the site depth is REF + every ALT = 12,050
    second = "\t".join(["chr6", "152098791", ".", "A", "C", ".", "PASS", ".", "DP:DV", "12010:50"])
    calls = vcf_calls(tmp_path, BCFTOOLS, D538G, format_text="DP:DV", samples={"T": "12000:40"},
                      more=(second,))  # fmt: skip
    assert (calls["D538G"].alt_count, calls["D538G"].depth) == (40, 12_050)


def test_bcftools_sites_only_records_are_read_from_info_dp4(tmp_path):
    header = ["##bcftools_callVersion=1.2", info("DP"), info("DP4", "4")]
    calls = vcf_calls(tmp_path, header, D538G, info_text="DP=12100;DP4=6000,5960,25,15")
    call = calls["D538G"]
    assert (call.alt_count, call.depth) == (40, 12_000)
    assert call.evidence["alt_strands"] == {"forward": 25, "reverse": 15}


def test_strelka_snv_tier_1_counts_stand_without_tier_2(tmp_path):
    calls = vcf_calls(
        tmp_path, STRELKA_SNV, D538G, format_text="DP:AU:CU:GU:TU",
        samples={"NORMAL": "9000:9000,9000:0,0:0,0:0,0", "TUMOR": "12100:11950,.:3,.:40,.:7,."},
    )  # fmt: skip
    assert (calls["D538G"].alt_count, calls["D538G"].depth) == (40, 12_000)


def test_a_strelka_indel_record_without_tir_is_dropped_not_read(tmp_path):
    result = vcf_result(
        tmp_path, STRELKA, V422DEL, format_text="DP:TAR",
        samples={"NORMAL": "9000:9000,9000", "TUMOR": "12100:11990,6000"},
    )  # fmt: skip
    assert [d.reason for d in result.dropped] == [
        "no allele counts in the fields this caller writes"
    ]
    call = next(c for c in result.samples[0].calls if c.hotspot == "V422del")
    assert call.status is CallStatus.INDETERMINATE and call.reasons[0] is Reason.NO_COVERAGE


# --- AD callers: the depth, the unassigned reads, Mutect2's SB -----------------------------------

M2 = ["##source=Mutect2", fmt("DP"), fmt("AD", "R"), fmt("SB", "4"), fmt("GT")]
HC = ["##source=HaplotypeCaller", fmt("DP"), fmt("AD", "R"), fmt("GT")]
Y537C = ("chr6", 152098788, "A", "G")


def test_ad_without_dp_gives_the_sum_of_ad(tmp_path):
    calls = vcf_calls(tmp_path, M2, D538G, format_text="GT:AD", samples={"T": "0/1:11960,40"})
    assert (calls["D538G"].alt_count, calls["D538G"].depth) == (40, 12_000)
    assert calls["D538G"].evidence["fields"]["depth"] == "sum(FORMAT/AD)"


def test_a_dp_below_the_sum_of_ad_caps_the_depth(tmp_path):
    calls = vcf_calls(
        tmp_path, M2, D538G, format_text="GT:AD:DP", samples={"T": "0/1:11960,40:11000"}
    )
    assert calls["D538G"].depth == 11_000


@pytest.mark.parametrize("dp", [12_000, 12_140])
def test_haplotypecaller_reads_beyond_ad_are_no_bound_on_an_unlisted_allele(tmp_path, dp):
    # Y537C listed; Y537S (the same base to C) is not. HaplotypeCaller's DP - sum(AD) are reads
    # it did not assign (filtered, uninformative), not reads without the listed alleles: with no
    # <NON_REF>, nothing bounds Y537S, whatever DP is; never a count of 0
    calls = vcf_calls(tmp_path, HC, Y537C, format_text="GT:AD:DP",
                      samples={"T": f"0/1:11960,40:{dp}"})  # fmt: skip
    y537s = calls["Y537S"]
    assert y537s.status is CallStatus.INDETERMINATE
    assert y537s.reasons[0] is Reason.ALLELE_NOT_REPORTED
    assert y537s.alt_count is None and "alt_count_range" not in y537s.evidence


def test_mutect2_sb_gives_the_strands_of_a_single_alt_only(tmp_path):
    calls = vcf_calls(tmp_path, M2, D538G, format_text="GT:AD:DP:SB",
                      samples={"T": "0/1:11960,40:12000:6000,5960,25,15"})  # fmt: skip
    assert calls["D538G"].evidence["alt_strands"] == {"forward": 25, "reverse": 15}
    # SB sums every ALT: with two ALTs no allele's strands are known
    two = (*D538G[:3], "G,C")
    calls = vcf_calls(tmp_path, M2, two, format_text="GT:AD:DP:SB",
                      samples={"T": "0/1/2:11950,40,10:12000:6000,5950,50,0"})  # fmt: skip
    assert calls["D538G"].alt_count == 40
    assert "alt_strands" not in calls["D538G"].evidence
    assert calls["D538G"].status is CallStatus.DETECTED


def test_the_callers_own_fraction_is_shown_never_used(tmp_path):
    header = [*VARSCAN, '##FORMAT=<ID=FREQ,Number=1,Type=String,Description="FREQ">']
    calls = vcf_calls(
        tmp_path, header, D538G, format_text="DP:RD:AD:FREQ:DP4",
        samples={"NORMAL": "9000:9000:0:0%:4500,4500,0,0",
                 "TUMOR": "12100:11960:40:0.5%:6000,5960,25,15"},
    )  # fmt: skip
    call = calls["D538G"]
    assert call.evidence["caller_allele_fraction_not_used"] == pytest.approx(0.005)
    assert call.allele_fraction == pytest.approx(40 / 12_000)


# --- Pisces and reference rows -----------------------------------------------------------------

PISCES = ["##source=Pisces 5.2", fmt("DP"), fmt("AD", "."), fmt("GT")]


def test_pisces_without_dp_is_dropped_not_read(tmp_path):
    result = vcf_result(tmp_path, PISCES, D538G, format_text="GT:AD", samples={"S": "0/1:11960,40"})
    assert [d.reason for d in result.dropped] == [
        "no allele counts in the fields this caller writes"
    ]
    with_dp = vcf_calls(tmp_path, PISCES, D538G, format_text="GT:AD:DP",
                        samples={"S": "0/1:11960,40:12100"})  # fmt: skip
    assert (with_dp["D538G"].alt_count, with_dp["D538G"].depth) == (40, 12_100)


def test_a_reference_row_without_counts_gives_its_dp_as_depth(tmp_path):
    header = [fmt("DP"), fmt("AD", "R"), fmt("GT")]
    calls = vcf_calls(tmp_path, header, (*D538G[:3], "."), format_text="GT:DP",
                      samples={"S": "0/0:12000"})  # fmt: skip
    call = calls["D538G"]
    assert call.depth == 12_000 and call.evidence["fields"]["depth"] == "FORMAT/DP"
    assert call.status is not CallStatus.DETECTED


# --- What the full mutation run of the count rules found unchecked (docs/development.md) --------


def _unlisted_y537s(calls):
    """Y537S (A>C) beside a Y537C (A>G) record: the reads its caller says carry no listed allele
    bound it (at most that many), or nothing does."""
    return calls["Y537S"].evidence.get("alt_count_range")


VARDICT_ANY_DP = ["##source=VarDict_v1.8.2", fmt("DP", "."), fmt("VD"), fmt("AD", "R")]


@pytest.mark.parametrize("dp, depth", [("12000", 12_000), ("12000,12100", None)])
def test_a_count_declared_with_any_number_of_values_is_read_only_when_it_holds_one(
    tmp_path, dp, depth
):
    result = vcf_result(tmp_path, VARDICT_ANY_DP, D538G, format_text="DP:VD:AD",
                        samples={"T": f"{dp}:40:11960,40"})  # fmt: skip
    call = next(c for c in result.samples[0].calls if c.hotspot == "D538G")
    assert call.depth == depth
    if depth is None:  # which of two depths? neither
        assert [d.reason for d in result.dropped] == [
            "no allele counts in the fields this caller writes"
        ]


def test_a_depth_declared_as_a_flag_is_no_count(tmp_path):
    # a Flag reads as True, which int() would make one read: the bound on Y537S would be 0 reads
    header = ["##source=lofreq call", '##INFO=<ID=DP,Number=0,Type=Flag,Description="DP">',
              info("DP4", "4")]  # fmt: skip
    calls = vcf_calls(tmp_path, header, Y537C, info_text="DP;DP4=6000,5960,25,15")
    assert (calls["Y537C"].alt_count, calls["Y537C"].depth) == (40, 12_000)
    assert _unlisted_y537s(calls) is None
    assert calls["Y537S"].status is CallStatus.INDETERMINATE


def test_a_single_alt_count_declared_as_one_value_is_read(tmp_path):
    header = ["##source=freeBayes v1.3.6", fmt("DP"), fmt("RO"), fmt("AO")]
    calls = vcf_calls(tmp_path, header, D538G, format_text="DP:RO:AO",
                      samples={"T": "12000:11960:40"})  # fmt: skip
    assert (calls["D538G"].alt_count, calls["D538G"].depth) == (40, 12_000)


@pytest.mark.parametrize("ad", ["11900,40,60", "11960,."], ids=["three-values", "a-missing-one"])
def test_allele_depths_not_one_per_allele_are_dropped_not_read(tmp_path, ad):
    header = ["##source=Mutect2", fmt("DP"), fmt("AD", "."), fmt("GT")]
    result = vcf_result(tmp_path, header, D538G, format_text="GT:AD:DP",
                        samples={"T": f"0/1:{ad}:12000"})  # fmt: skip
    assert [d.reason for d in result.dropped] == [
        "no allele counts in the fields this caller writes"
    ]


def test_a_dp_equal_to_the_sum_of_ad_is_not_named_as_the_depth(tmp_path):
    calls = vcf_calls(tmp_path, M2, D538G, format_text="GT:AD:DP",
                      samples={"T": "0/1:11960,40:12000"})  # fmt: skip
    assert calls["D538G"].evidence["fields"]["depth"] == "sum(FORMAT/AD)"


def test_mutect2_reads_beyond_ad_are_no_other_count(tmp_path):
    calls = vcf_calls(tmp_path, M2, D538G, format_text="GT:AD:DP",
                      samples={"T": "0/1:11960,40:12100"})  # fmt: skip
    assert calls["D538G"].evidence["fields"] == {
        "alt_count": "FORMAT/AD[allele]", "depth": "sum(FORMAT/AD)"}  # fmt: skip


def test_mutect2_without_ad_is_dropped_even_with_sb(tmp_path):
    result = vcf_result(tmp_path, M2, D538G, format_text="GT:DP:SB",
                        samples={"T": "0/1:12000:6000,5960,25,15"})  # fmt: skip
    assert [d.reason for d in result.dropped] == [
        "no allele counts in the fields this caller writes"
    ]


def test_non_ref_reads_bound_an_unlisted_allele(tmp_path):
    two = (*Y537C[:3], "G,<NON_REF>")
    calls = vcf_calls(
        tmp_path, HC, two, format_text="GT:AD:DP", samples={"T": "0/1:11940,40,20:12000"}
    )
    assert calls["Y537C"].evidence["fields"]["other"] == "AD of <NON_REF>/<*>"
    assert _unlisted_y537s(calls) == [0, 20]
    plain = vcf_calls(tmp_path, HC, Y537C, format_text="GT:AD:DP",
                      samples={"T": "0/1:11960,40:12000"})  # fmt: skip
    assert "other" not in plain["Y537C"].evidence["fields"]


DRAGEN = ["##source=DRAGEN 4.2", fmt("DP"), fmt("AD", "R"), fmt("GT")]


def test_dragen_unassigned_reads_add_to_non_ref_to_bound_an_unlisted_allele(tmp_path):
    # <NON_REF> 5 reads, and DP 12,010 - sum(AD) 11,995 = 15 more: at most 20 carry Y537S
    two = (*Y537C[:3], "G,<NON_REF>")
    calls = vcf_calls(tmp_path, DRAGEN, two, format_text="GT:AD:DP",
                      samples={"T": "0/1:11950,40,5:12010"})  # fmt: skip
    assert _unlisted_y537s(calls) == [0, 20]
    assert calls["Y537C"].evidence["fields"]["other"] == "FORMAT/DP - sum(AD)"


def test_dragen_without_dp_gives_the_sum_of_ad_and_no_bound(tmp_path):
    calls = vcf_calls(tmp_path, DRAGEN, Y537C, format_text="GT:AD", samples={"T": "0/1:11960,40"})
    assert (calls["Y537C"].alt_count, calls["Y537C"].depth) == (40, 12_000)
    assert _unlisted_y537s(calls) is None


BCFTOOLS_AD = ["##bcftools_callVersion=1.17", fmt("DP"), fmt("AD", "R"), fmt("ADF", "R"),
               fmt("ADR", "R")]  # fmt: skip


@pytest.mark.parametrize(
    "format_text, values, strands",
    [("AD:ADF:ADR:DP", "11960,40:6000,25:5960,15:12000", {"forward": 25, "reverse": 15}),
     ("AD:ADF:DP", "11960,40:6000,25:12000", None),
     ("AD:ADR:DP", "11960,40:5960,15:12000", None)],
    ids=["adf-and-adr", "adf-only", "adr-only"],
)  # fmt: skip
def test_ad_strands_come_from_adf_and_adr_together(tmp_path, format_text, values, strands):
    calls = vcf_calls(tmp_path, BCFTOOLS_AD, D538G, format_text=format_text, samples={"T": values})
    assert calls["D538G"].evidence.get("alt_strands") == strands
    assert calls["D538G"].alt_count == 40


def test_bcftools_reads_beyond_ad_do_not_bound_an_unlisted_allele(tmp_path):
    # bcftools counts unlisted alleles in <*> only; DP - sum(AD) are not those reads
    calls = vcf_calls(tmp_path, BCFTOOLS_AD, Y537C, format_text="AD:DP",
                      samples={"T": "11960,40:12100"})  # fmt: skip
    assert _unlisted_y537s(calls) is None and "other" not in calls["Y537C"].evidence["fields"]


def test_bcftools_legacy_dv_without_dp_is_dropped(tmp_path):
    result = vcf_result(tmp_path, BCFTOOLS, D538G, format_text="DV", samples={"T": "40"})
    assert [d.reason for d in result.dropped] == [
        "no allele counts in the fields this caller writes"
    ]


@pytest.mark.parametrize(
    "format_text, values, alt, other",
    [
        ("DP:VD:AD", "12000:40:11950,38", 40, "DP - AD[ref] - VD"),  # VD is x, not AD's alt
        ("DP:AD", "12000:11950,38", 38, "DP - AD[ref] - VD"),  # no VD: AD's alt
        ("DP:VD", "12000:40", 40, None),  # no AD: no REF count, no bound
    ],
)
def test_vardict_alt_count_is_vd_else_the_alt_of_ad(tmp_path, format_text, values, alt, other):
    calls = vcf_calls(tmp_path, VARDICT, Y537C, format_text=format_text, samples={"T": values})
    call = calls["Y537C"]
    assert (call.alt_count, call.depth) == (alt, 12_000)
    assert call.evidence["fields"].get("other") == other
    assert _unlisted_y537s(calls) == (None if other is None else [0, 12_000 - 11_950 - alt])


@pytest.mark.parametrize(
    "alt, format_text, values",
    [("G", "VD:AD", "40:11960,40"), ("G", "DP", "12000"),
     ("G,C", "DP:VD:AD", "12000:40:11950,40,10")],
    ids=["no-dp", "no-vd-nor-ad", "two-alts"],
)  # fmt: skip
def test_vardict_records_without_a_usable_x_or_n_are_dropped(tmp_path, alt, format_text, values):
    site = (*D538G[:3], alt)
    result = vcf_result(tmp_path, VARDICT, site, format_text=format_text, samples={"T": values})
    call = next(c for c in result.samples[0].calls if c.hotspot == "D538G")
    assert call.alt_count is None and call.status is not CallStatus.DETECTED
    assert result.dropped


@pytest.mark.parametrize(
    "alt, format_text, tumour",
    [("G", "DP:AD:DP4", "12100:40:6000,5960,25,15"),
     ("G", "DP:RD:DP4", "12100:11960:6000,5960,25,15"),
     ("G,C", "DP:RD:AD:DP4", "12100:11960:40:6000,5960,25,15")],
    ids=["no-rd", "no-ad", "two-alts"],
)  # fmt: skip
def test_varscan2_records_without_rd_and_one_ad_are_dropped(tmp_path, alt, format_text, tumour):
    site = (*D538G[:3], alt)
    normal = ":".join("0" if f != "DP4" else "0,0,0,0" for f in format_text.split(":"))
    result = vcf_result(tmp_path, VARSCAN, site, format_text=format_text,
                        samples={"NORMAL": normal, "TUMOR": tumour})  # fmt: skip
    call = next(c for c in result.samples[0].calls if c.hotspot == "D538G")
    assert call.alt_count is None and call.status is not CallStatus.DETECTED
    assert result.dropped


def test_a_strelka_snv_record_missing_one_bases_tier_1_is_dropped(tmp_path):
    result = vcf_result(
        tmp_path, STRELKA_SNV, D538G, format_text="DP:AU:CU:GU:TU",
        samples={"NORMAL": "9000:9000,9000:0,0:0,0:0,0",
                 "TUMOR": "12100:11950,5000:3,300:40,2:.,7"},
    )  # fmt: skip
    assert [d.reason for d in result.dropped] == [
        "no allele counts in the fields this caller writes"
    ]


@pytest.mark.parametrize(
    "tar, tir, tor, counts, other",
    [
        ("11990,.", "10,.", "7,.", (10, 12_000), "FORMAT/TOR[0]"),  # tier 1 alone suffices
        ("11990,6000", "10,400", None, (10, 12_000), None),  # no TOR: no other count
        ("11990,6000", "10,400", ".,90", (10, 12_000), None),  # TOR without tier 1: none either
        (".,6000", "10,400", "7,90", None, None),  # no tier-1 TAR: no depth
        ("11990,6000", ".,400", "7,90", None, None),  # no tier-1 TIR: no count
        (None, "10,400", "7,90", None, None),  # no TAR at all
    ],
)
def test_strelka_indel_counts_and_other_reads_are_tier_1_only(
    tmp_path, tar, tir, tor, counts, other
):
    fields = ["DP", *(n for n, v in (("TAR", tar), ("TIR", tir), ("TOR", tor)) if v is not None)]
    tumour = ":".join(["12100", *(v for v in (tar, tir, tor) if v is not None)])
    normal = ":".join(["9000", *("0,0" for v in (tar, tir, tor) if v is not None)])
    result = vcf_result(tmp_path, STRELKA, V422DEL, format_text=":".join(fields),
                        samples={"NORMAL": normal, "TUMOR": tumour})  # fmt: skip
    call = next(c for c in result.samples[0].calls if c.hotspot == "V422del")
    if counts is None:
        assert call.alt_count is None and result.dropped
    else:
        assert (call.alt_count, call.depth) == counts
        assert call.evidence["fields"].get("other") == other


def test_a_strelka_indel_record_with_two_alts_is_dropped(tmp_path):
    site = (*V422DEL[:3], "A,ATG")
    result = vcf_result(tmp_path, STRELKA, site, format_text="DP:TAR:TIR:TOR",
                        samples={"NORMAL": "9000:9000,9000:0,0:0,0",
                                 "TUMOR": "12100:11990,6000:10,400:7,90"})  # fmt: skip
    call = next(c for c in result.samples[0].calls if c.hotspot == "V422del")
    assert call.alt_count is None and result.dropped


@pytest.mark.parametrize(
    "dp, y537s, other",
    [("DP=12010;", (None, [0, 10]), "INFO/DP - sum(DP4)"),  # at most 10 reads
     ("DP=12000;", (0, None), "INFO/DP - sum(DP4)"),  # no read left: 0
     ("", (None, None), None)],  # nothing bounds it
)  # fmt: skip
def test_lofreq_reads_beyond_dp4_bound_an_unlisted_allele(tmp_path, dp, y537s, other):
    calls = vcf_calls(tmp_path, LOFREQ, Y537C, info_text=f"{dp}DP4=6000,5960,25,15")
    assert (calls["Y537C"].alt_count, calls["Y537C"].depth) == (40, 12_000)
    assert calls["Y537C"].evidence["fields"].get("other") == other
    assert (calls["Y537S"].alt_count, _unlisted_y537s(calls)) == y537s


def test_a_dp4_record_with_two_alts_is_dropped(tmp_path):
    site = (*D538G[:3], "G,C")
    result = vcf_result(tmp_path, LOFREQ, site, info_text="DP=12100;DP4=6000,5960,25,15")
    call = next(c for c in result.samples[0].calls if c.hotspot == "D538G")
    assert call.alt_count is None and result.dropped


def test_a_negative_ref_count_in_a_strelka_snv_record_is_malformed(tmp_path):
    result = vcf_result(
        tmp_path, STRELKA_SNV, D538G, format_text="DP:AU:CU:GU:TU",
        samples={"NORMAL": "9000:9000,9000:0,0:0,0:0,0",
                 "TUMOR": "12100:-5,5000:3,300:40,2:7,700"},
    )  # fmt: skip
    assert [d.reason for d in result.dropped] == ["a negative allele count or depth: malformed"]


def test_strelka_indel_records_at_one_position_share_their_tier_1_ref_count(tmp_path):
    # two deletions at V422's position, each TAR + its own TIR (tier 2 differs): the site depth
    # is the tier-1 REF count 11,990 + 10 + 20
    second = "\t".join(["chr6", str(V422DEL[1]), ".", "ATGG", "AT", ".", "PASS", ".",
                        "DP:TAR:TIR:TOR", "9000:9000,9000:0,0:0,0",
                        "12100:11990,6000:20,300:7,90"])  # fmt: skip
    calls = vcf_calls(
        tmp_path, STRELKA, V422DEL, format_text="DP:TAR:TIR:TOR",
        samples={"NORMAL": "9000:9000,9000:0,0:0,0", "TUMOR": "12100:11990,6000:10,400:7,90"},
        more=(second,),
    )  # fmt: skip
    assert (calls["V422del"].alt_count, calls["V422del"].depth) == (10, 12_020)


FREEBAYES = ["##source=freeBayes v1.3.6", fmt("DP"), fmt("RO"), fmt("AO", "A"), fmt("GT")]


def test_a_freebayes_reference_row_gives_ro_as_its_depth(tmp_path):
    calls = vcf_calls(tmp_path, FREEBAYES, (*D538G[:3], "."), format_text="GT:DP:RO",
                      samples={"T": "0/0:12100:12000"})  # fmt: skip
    call = calls["D538G"]
    assert call.depth == 12_000 and call.evidence["fields"]["depth"] == "FORMAT/RO + sum(AO)"
    assert call.status is not CallStatus.DETECTED


def test_sites_only_freebayes_strands_come_from_info(tmp_path):
    header = ["##source=freeBayes v1.3.6", info("DP"), info("RO"), info("AO", "A"),
              info("SAF", "A"), info("SAR", "A")]  # fmt: skip
    calls = vcf_calls(tmp_path, header, D538G, info_text="DP=12000;RO=11960;AO=40;SAF=25;SAR=15")
    assert calls["D538G"].evidence["alt_strands"] == {"forward": 25, "reverse": 15}


@pytest.mark.parametrize(
    "format_text, values, bound, other",
    [("GT:DP:RO:AO", "0/1:12010:11960:40", [0, 10], "DP - RO - sum(AO)"),
     ("GT:RO:AO", "0/1:11960:40", None, None)],
)  # fmt: skip
def test_freebayes_reads_beyond_ro_and_ao_bound_an_unlisted_allele(
    tmp_path, format_text, values, bound, other
):
    calls = vcf_calls(tmp_path, FREEBAYES, Y537C, format_text=format_text, samples={"T": values})
    assert (calls["Y537C"].alt_count, calls["Y537C"].depth) == (40, 12_000)
    assert calls["Y537C"].evidence["fields"].get("other") == other
    assert _unlisted_y537s(calls) == bound


def _dropped_at_d538g(result):
    call = next(c for c in result.samples[0].calls if c.hotspot == "D538G")
    assert call.alt_count is None and call.status is not CallStatus.DETECTED
    return [d.reason for d in result.dropped]


def test_a_freebayes_record_without_ao_is_dropped(tmp_path):
    result = vcf_result(tmp_path, FREEBAYES, D538G, format_text="GT:DP:RO",
                        samples={"T": "0/1:12000:11960"})  # fmt: skip
    assert _dropped_at_d538g(result) == ["no allele counts in the fields this caller writes"]


FREEBAYES_STRANDS = [*FREEBAYES, fmt("SAF", "A"), fmt("SAR", "A")]


@pytest.mark.parametrize(
    "format_text, values",
    [
        ("GT:DP:RO:AO:SAF", "0/1:12000:11960:40:25"),
        ("GT:DP:RO:AO:SAR", "0/1:12000:11960:40:15"),
        ("GT:DP:RO:AO:SAF:SAR", "0/1:12000:11960:40:.:15"),
    ],
    ids=["saf-only", "sar-only", "saf-missing"],
)
def test_freebayes_strands_need_saf_and_sar(tmp_path, format_text, values):
    calls = vcf_calls(tmp_path, FREEBAYES_STRANDS, D538G, format_text=format_text,
                      samples={"T": values})  # fmt: skip
    assert calls["D538G"].alt_count == 40 and "alt_strands" not in calls["D538G"].evidence


def test_an_ion_torrent_record_without_flow_counts_is_dropped(tmp_path):
    result = vcf_result(tmp_path, TVC, D538G, format_text="FDP", samples={"S": "12500"})
    assert _dropped_at_d538g(result) == ["no allele counts in the fields this caller writes"]


@pytest.mark.parametrize(
    "format_text, values",
    [("GT:DP", "0/1:12100"), ("GT:AD:DP", "0/1:11960:12100")],
    ids=["no-ad", "ad-without-the-alt"],
)
def test_a_pisces_record_without_the_alts_count_is_dropped(tmp_path, format_text, values):
    result = vcf_result(tmp_path, PISCES, D538G, format_text=format_text, samples={"S": values})
    assert _dropped_at_d538g(result) == ["no allele counts in the fields this caller writes"]


@pytest.mark.parametrize("key", ["MIN_DP", "MinDP"])
def test_a_reference_blocks_depth_is_its_minimum_by_either_name(tmp_path, key):
    header = [*HC, fmt(key), '##INFO=<ID=END,Number=1,Type=Integer,Description="end">']
    site = (D538G[0], 152098780, "G", "<NON_REF>")
    calls = vcf_calls(tmp_path, header, site, info_text="END=152098800",
                      format_text=f"GT:DP:{key}", samples={"T": "0/0:13000:12500"})  # fmt: skip
    call = calls["D538G"]
    assert call.depth == 12_500
    assert call.evidence["fields"]["depth"] == f"{key} (block minimum)"


def test_a_negative_tier_1_tor_in_a_strelka_indel_record_is_malformed(tmp_path):
    result = vcf_result(tmp_path, STRELKA, V422DEL, format_text="DP:TAR:TIR:TOR",
                        samples={"NORMAL": "9000:9000,9000:0,0:0,0",
                                 "TUMOR": "12100:11990,6000:10,400:-3,90"})  # fmt: skip
    assert [d.reason for d in result.dropped] == ["a negative allele count or depth: malformed"]


def test_a_reference_row_without_any_depth_is_dropped_with_its_reason(tmp_path):
    header = [fmt("GT"), fmt("AD", "R")]
    result = vcf_result(tmp_path, header, (*D538G[:3], "."), format_text="GT",
                        samples={"S": "0/0"})  # fmt: skip
    assert _dropped_at_d538g(result) == ["no allele counts in the fields this caller writes"]


def test_a_lofreq_record_without_dp4_is_dropped(tmp_path):
    result = vcf_result(tmp_path, LOFREQ, D538G, info_text="DP=12100")
    assert _dropped_at_d538g(result) == ["no allele counts in the fields this caller writes"]
