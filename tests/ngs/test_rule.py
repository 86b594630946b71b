"""The 0.2 % rule over AlleleCounts: boundaries, properties, filters, settings, PoN, summaries."""

from __future__ import annotations

import math

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from esr1calls.errors import ConfigError
from esr1calls.hotspots import load_panel
from esr1calls.model import AlleleCounts, CallStatus, Method, Reason, SampleStatus
from esr1calls.ngs import NgsSettings, call_ngs, call_vcf, make_settings
from esr1calls.ngs.callers import classify_filter
from esr1calls.ngs.options import ReadOptions
from esr1calls.ngs.pon import build_pon, estimate_background, read_pon
from esr1calls.ngs.rule import call_hotspot, summarize_sample
from esr1calls.stats import clopper_pearson
from esr1calls.testing import TESTDATA

PANEL = load_panel()
D538G = PANEL["D538G"]
DEFAULT = NgsSettings()
UMI = NgsSettings(reads=ReadOptions(umi=True))
PON_DIR = TESTDATA / "vcf" / "pon"
NORMALS = [PON_DIR / f"normal_{i}.vcf" for i in (1, 2, 3)]


def call(x, n, rule=DEFAULT, **kwargs):
    names = ("filters", "alt_forward", "alt_reverse", "excluded_alt")
    fields = {k: kwargs.pop(k) for k in names if k in kwargs}
    counts = AlleleCounts("D538G", x, n, source="test", **fields)
    return call_hotspot(D538G, counts, rule, sample_id="S1", **kwargs)


# --- boundaries ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "x, expected, reasons",
    [(19, CallStatus.INDETERMINATE, (Reason.LOW_LEVEL, Reason.DEFAULT_BACKGROUND)),  # 0.0019
     (20, CallStatus.DETECTED, (Reason.DEFAULT_BACKGROUND,)),  # 0.0020, the reportable fraction
     (21, CallStatus.DETECTED, (Reason.DEFAULT_BACKGROUND,))],  # 0.0021
)  # fmt: skip
def test_allele_fraction_boundary_at_0_2_percent(x, expected, reasons):
    result = call(x, 10_000)
    assert result.evidence["k_required"] == 14
    assert result.status is expected
    assert result.reasons == reasons
    assert result.allele_fraction == pytest.approx(x / 10_000)


def test_alt_count_boundary_at_k_required():
    # n = 5,000, e = 5e-4: k_req = 10 and 10 / 5,000 is exactly 0.2 %
    below, at = call(9, 5_000), call(10, 5_000)
    assert below.evidence["k_required"] == at.evidence["k_required"] == 10
    assert (
        below.status is CallStatus.INDETERMINATE and below.reasons[0] is Reason.INSUFFICIENT_DEPTH
    )
    assert at.status is CallStatus.DETECTED
    # n = 10,394: k_req = 14, power 0.953; x = 13 is excluded, x = 14 is significant but 0.13 %
    assert call(13, 10_394).status is CallStatus.NOT_DETECTED
    low = call(14, 10_394)
    assert low.status is CallStatus.INDETERMINATE and low.reasons[0] is Reason.LOW_LEVEL


@pytest.mark.parametrize(
    "n, rule, expected",
    [
        (10_330, DEFAULT, CallStatus.INDETERMINATE),  # power 0.94998
        (10_331, DEFAULT, CallStatus.NOT_DETECTED),  # power 0.95002 (notes: n_req 10,331)
        (10_394, DEFAULT, CallStatus.NOT_DETECTED),  # k_req 14, power 0.953
        (10_395, DEFAULT, CallStatus.INDETERMINATE),  # k_req jumps to 15: power 0.922
        (3_874, UMI, CallStatus.INDETERMINATE),
        (3_875, UMI, CallStatus.NOT_DETECTED),  # notes: n_req 3,875 at e = 1e-4
        (4_286, UMI, CallStatus.NOT_DETECTED),
        (4_287, UMI, CallStatus.INDETERMINATE),  # k_req 5: power falls to 0.929
    ],
)
def test_power_is_evaluated_at_the_actual_depth(n, rule, expected):
    result = call(0, n, rule)
    assert result.status is expected
    if expected is CallStatus.INDETERMINATE:
        assert result.reasons[0] is Reason.INSUFFICIENT_DEPTH
        assert result.evidence["power"] < 0.95
    else:
        assert result.evidence["power"] >= 0.95


def test_power_exactly_the_required_power_is_enough():
    from esr1calls.stats import detection_power

    power = detection_power(10_000, 14, 0.002)  # k_req 14 at n = 10,000 (e = 5e-4)
    rule = NgsSettings(power=power)
    at = call(0, 10_000, rule)
    assert at.evidence["power"] == power and at.status is CallStatus.NOT_DETECTED
    assert Reason.INSUFFICIENT_DEPTH not in call(None, 10_000, rule).reasons
    above = NgsSettings(power=math.nextafter(power, 1.0))
    assert call(0, 10_000, above).reasons[0] is Reason.INSUFFICIENT_DEPTH
    assert Reason.INSUFFICIENT_DEPTH in call(None, 10_000, above).reasons


def test_notes_worked_examples():
    # Mutect2 cfDNA normal AD=1530,0 with UMI background: k_req 3, power 0.59, lod95 0.41 %
    result = call(0, 1_530, UMI)
    assert result.status is CallStatus.INDETERMINATE
    assert result.evidence["k_required"] == 3
    assert result.evidence["power"] == pytest.approx(0.59, abs=0.005)
    assert result.action == "sequence deeper or supply the BAM: lod95 0.41 % at n=1,530"
    # VarDict DP=264, VD=2: x < k_min, lod95 2.4 %
    vardict = call(2, 264)
    assert vardict.reasons[0] is Reason.INSUFFICIENT_DEPTH
    assert vardict.lod95 == pytest.approx(0.024, abs=0.0005)


def test_every_call_reports_the_numbers_behind_it():
    result = call(40, 12_000)
    low, high = result.allele_fraction_ci95
    assert low < 40 / 12_000 < high
    assert (low, high) == clopper_pearson(40, 12_000)  # the exact interval of x in n
    assert call(0, 20_000).allele_fraction_ci95 == (0.0, clopper_pearson(0, 20_000)[1])
    # a range: from the lower limit of its lowest count to the upper limit of its highest
    ranged = call(30, 12_000, alt_count_range=(20, 30), reasons=(Reason.PHASE_UNKNOWN,))
    assert ranged.allele_fraction_ci95 == (
        clopper_pearson(20, 12_000)[0],
        clopper_pearson(30, 12_000)[1],
    )
    for key in ("k_required", "power", "lod95", "background_error", "alpha", "k_min"):
        assert key in result.evidence
    assert result.lod95 == result.evidence["lod95"]
    assert result.hgvs_c == "NM_000125.4:c.1613A>G" and result.method is Method.NGS


# --- no evidence, filters, strand, ranges -------------------------------------------------------


def test_more_alt_observations_than_depth_is_a_programming_error():
    with pytest.raises(ValueError, match="alt count 5 exceeds depth 3"):
        call(5, 3)


def test_no_depth_is_no_coverage_never_not_detected():
    result = call(None, None)
    assert result.status is CallStatus.INDETERMINATE and result.reasons == (Reason.NO_COVERAGE,)
    assert "force-call the panel" in result.action
    assert call(0, 0).reasons == (Reason.NO_COVERAGE,)


def test_no_coverage_from_reads_says_what_the_reads_lacked():
    counts = AlleleCounts("D538G", 0, 0, source="bam")
    result = call_hotspot(D538G, counts, DEFAULT, sample_id="S1")
    assert result.reasons == (Reason.NO_COVERAGE,)
    assert result.action.startswith("no usable read covers this codon")
    assert call(None, None).action.startswith("no record, reference row or gVCF block")


def test_each_filter_is_recorded_with_its_kind():
    result = call(40, 12_000, filters=("multiallelic", "germline"))
    assert result.evidence["filter_kinds"] == {"multiallelic": "benign", "germline": "artefact"}
    assert result.evidence["filters"] == ["multiallelic", "germline"]
    assert "filter_kinds" not in call(40, 12_000).evidence


def test_unknown_alt_count_with_depth_is_allele_not_reported():
    result = call(None, 20_000)
    assert result.status is CallStatus.INDETERMINATE
    assert result.reasons[0] is Reason.ALLELE_NOT_REPORTED
    assert Reason.INSUFFICIENT_DEPTH not in result.reasons
    assert result.lod95 is not None
    shallow = call(None, 1_000)  # and too shallow for a NOT_DETECTED whatever x was
    assert shallow.reasons[:2] == (Reason.ALLELE_NOT_REPORTED, Reason.INSUFFICIENT_DEPTH)


@pytest.mark.parametrize("x", [0, 5, 40])
def test_an_artefact_filter_is_never_detected_nor_not_detected(x):
    result = call(x, 20_000, filters=("germline",))
    assert result.status is CallStatus.INDETERMINATE
    assert result.reasons[0] is Reason.ARTEFACT_FILTER
    assert "germline" in result.action


def test_benign_filters_count_and_are_listed():
    detected = call(40, 12_000, filters=("multiallelic", "weak_evidence"))
    assert detected.status is CallStatus.DETECTED
    assert Reason.CALLER_FILTER in detected.reasons
    assert call(0, 20_000, filters=("f0.02",)).status is CallStatus.NOT_DETECTED


@pytest.mark.parametrize(
    "name, kind",
    [("PASS", "benign"), ("multiallelic", "benign"), ("clustered_events", "benign"),
     ("f0.02", "benign"), ("v3", "benign"), ("q30", "benign"), ("LowEVS", "benign"),
     ("min_dp_10", "benign"), ("low_af", "benign"),
     ("germline", "artefact"), ("panel_of_normals", "artefact"), ("normal_artifact", "artefact"),
     ("orientation", "artefact"), ("strand_bias", "artefact"), ("Bias", "artefact"),
     ("sb_fdr", "artefact"), ("slippage", "artefact"), ("REJECT", "artefact"),
     ("NOCALL(STDBIAS0.98>0.95)", "artefact"), ("NOCALL(MINCOV6<10)", "benign"),
     ("something_new", "artefact")],
)  # fmt: skip
def test_caller_filter_table(name, kind):
    assert classify_filter(name)[0].value == kind


def test_a_flagged_significant_count_below_the_fraction_also_says_low_level():
    # x = 15 of 10,000 passes k_req 14 but is 0.15 %: the flag comes first, LOW_LEVEL after it
    flagged = call(15, 10_000, filters=("germline",))
    assert flagged.reasons[:2] == (Reason.ARTEFACT_FILTER, Reason.LOW_LEVEL)
    one_strand = call(15, 10_000, alt_forward=15, alt_reverse=0)
    assert one_strand.reasons[:2] == (Reason.STRAND_BIAS, Reason.LOW_LEVEL)
    assert Reason.LOW_LEVEL not in call(20, 10_000, filters=("germline",)).reasons  # 0.2 %


def test_a_range_reaching_the_fraction_exactly_is_no_low_level_claim():
    # 15 to 20 alt reads of 10,000, all past k_req 14: 20 is exactly 0.2 %, so the range may be
    # reportable and is not LOW_LEVEL; 15 to 19 is below the fraction wherever x is
    kwargs = {"reasons": (Reason.PHASE_UNKNOWN,)}
    at = call(20, 10_000, alt_count_range=(15, 20), **kwargs)
    assert at.status is CallStatus.INDETERMINATE and at.reasons[0] is Reason.PHASE_UNKNOWN
    assert Reason.LOW_LEVEL not in at.reasons
    below = call(19, 10_000, alt_count_range=(15, 19), **kwargs)
    assert below.reasons[0] is Reason.LOW_LEVEL


def test_the_background_source_says_which_default_was_used():
    assert call(0, 20_000).evidence["background_source"] == "default read-level background"
    umi = call(0, 20_000, UMI).evidence["background_source"]
    assert umi == "default UMI consensus background"


def test_no_coverage_keeps_only_the_other_change_flag():
    flags = (Reason.PHASE_UNKNOWN, Reason.OTHER_CHANGE_IN_CODON)
    assert call(None, None, reasons=flags).reasons == (
        Reason.NO_COVERAGE,
        Reason.OTHER_CHANGE_IN_CODON,
    )


def test_a_range_ending_exactly_at_k_required_is_uncertain_not_low_quality():
    k = call(0, 12_000).evidence["k_required"]
    kwargs = {"reasons": (Reason.PHASE_UNKNOWN,)}
    at = call(k, 12_000, alt_count_range=(0, k), **kwargs)
    assert at.reasons[0] is Reason.PHASE_UNKNOWN and Reason.LOW_QUALITY_SUPPORT not in at.reasons
    flagged = call(k, 12_000, alt_count_range=(0, k), filters=("germline",), **kwargs)
    assert flagged.reasons[:2] == (Reason.PHASE_UNKNOWN, Reason.ARTEFACT_FILTER)


def test_a_benign_filter_beside_an_artefact_one_is_not_listed_again():
    result = call(40, 12_000, filters=("germline", "multiallelic"))
    assert result.reasons[0] is Reason.ARTEFACT_FILTER
    assert Reason.CALLER_FILTER not in result.reasons


def test_alt_strands_are_evidence_only_when_both_are_known():
    both = call(40, 12_000, alt_forward=22, alt_reverse=18)
    assert both.evidence["alt_strands"] == {"forward": 22, "reverse": 18}
    for one in ({"alt_forward": 40}, {"alt_reverse": 40}, {"alt_forward": 0}):
        result = call(40, 12_000, **one)
        assert "alt_strands" not in result.evidence
        assert result.status is CallStatus.DETECTED  # one strand unknown is no strand bias


def test_alt_reads_on_one_strand_only_are_strand_bias():
    result = call(40, 12_000, alt_forward=40, alt_reverse=0)
    assert result.status is CallStatus.INDETERMINATE and result.reasons[0] is Reason.STRAND_BIAS
    assert call(40, 12_000, alt_forward=22, alt_reverse=18).status is CallStatus.DETECTED


@pytest.mark.parametrize("x", [0, 5])
def test_excluded_low_quality_reads_reaching_k_required_exactly_make_no_claim(x):
    # x plus the reads left out for quality: one short of k_req is still excluded; exactly k_req
    # (>=, not >) means the left-out reads alone could make it significant
    k = call(0, 20_000).evidence["k_required"]
    one_short = call(x, 20_000, excluded_alt=k - x - 1)
    assert one_short.status is CallStatus.NOT_DETECTED
    assert one_short.evidence["excluded_reads_showing_allele"] == k - x - 1
    exactly = call(x, 20_000, excluded_alt=k - x)
    assert exactly.status is CallStatus.INDETERMINATE
    assert exactly.reasons[0] is Reason.LOW_QUALITY_SUPPORT
    assert f"k_req {k}" in exactly.action
    # an artefact filter comes first, and x at k_req is judged on x alone
    flagged = call(x, 20_000, excluded_alt=k, filters=("germline",))
    assert flagged.reasons[0] is Reason.ARTEFACT_FILTER
    assert call(k, 20_000, excluded_alt=k).reasons[0] is not Reason.LOW_QUALITY_SUPPORT


def test_a_count_range_claims_only_what_holds_over_the_whole_range():
    phase = (Reason.PHASE_UNKNOWN,)
    kwargs = {"reasons": phase}
    straddles = call(40, 12_000, alt_count_range=(0, 40), **kwargs)
    assert straddles.status is CallStatus.INDETERMINATE
    assert straddles.reasons[0] is Reason.PHASE_UNKNOWN
    assert call(100, 12_000, alt_count_range=(97, 100), **kwargs).status is CallStatus.DETECTED
    excluded = call(3, 12_000, alt_count_range=(0, 3), **kwargs)
    assert excluded.status is CallStatus.NOT_DETECTED
    assert Reason.PHASE_UNKNOWN not in excluded.reasons  # the range did not matter


# --- properties ---------------------------------------------------------------------------------

depths = st.integers(min_value=1, max_value=60_000)
backgrounds = st.sampled_from([1e-5, 1e-4, 2e-4, 5e-4, 1e-3])


@settings(max_examples=150, deadline=None)
@given(n=depths, data=st.data(), e=backgrounds)
def test_raising_the_alt_count_never_turns_detected_into_not_detected(n, data, e):
    rule = NgsSettings(background_error=e)
    x = data.draw(st.integers(min_value=0, max_value=n))
    more = data.draw(st.integers(min_value=x, max_value=n))
    first, second = call(x, n, rule).status, call(more, n, rule).status
    if first is CallStatus.DETECTED:
        assert second is not CallStatus.NOT_DETECTED
    if second is CallStatus.NOT_DETECTED:
        assert first is CallStatus.NOT_DETECTED  # fewer alt reads cannot be less excluded


@settings(max_examples=150, deadline=None)
@given(
    n=st.one_of(st.none(), depths),
    x=st.one_of(st.none(), st.integers(min_value=0, max_value=100)),
    artefact=st.booleans(),
)
def test_absent_or_flagged_evidence_is_never_not_detected(n, x, artefact):
    assume(n is None or x is None or x <= n)
    filters = ("panel_of_normals",) if artefact else ()
    result = call(x, n, filters=filters)
    if n is None or x is None or artefact:
        assert result.status is not CallStatus.NOT_DETECTED
        assert result.reasons  # an indeterminate call always says why


@settings(max_examples=100, deadline=None)
@given(n=depths, data=st.data())
def test_a_range_across_k_required_is_never_a_claim(n, data):
    k = call(0, n).evidence["k_required"]
    assume(k <= n)
    low = data.draw(st.integers(min_value=0, max_value=max(0, k - 1)))
    high = data.draw(st.integers(min_value=k, max_value=max(k, n)))
    result = call(high, n, alt_count_range=(low, high), reasons=(Reason.PHASE_UNKNOWN,))
    assert result.status is CallStatus.INDETERMINATE


# --- settings -----------------------------------------------------------------------------------


def test_default_background_is_flagged_and_umi_lowers_it():
    assert call(0, 20_000).evidence["background_error"] == 5e-4
    assert Reason.DEFAULT_BACKGROUND in call(0, 20_000).reasons
    assert call(0, 20_000, UMI).evidence["background_error"] == 1e-4
    given_e = NgsSettings(background_error=2e-4)
    assert Reason.DEFAULT_BACKGROUND not in call(0, 20_000, given_e).reasons


@pytest.mark.parametrize(
    "options, message",
    [({"min_allele_fraction": 0.0}, "--min-allele-fraction 0.0 is not a fraction"),
     ({"min_allele_fraction": 2.0}, "--min-allele-fraction 2.0 is not a fraction"),
     ({"background_error": 0.002}, "--background-error 0.002 must be above 0 and below"),
     ({"background_error": -1e-4}, "--background-error -0.0001 must be above 0"),
     ({"min_allele_fraction": 1.0}, "--min-allele-fraction 1.0 is not a fraction"),
     ({"background_error": 0.0}, "--background-error 0.0 must be above 0"),
     ({"min_allele_fraction": 0.01, "background_error": 0.01}, "--background-error 0.01 must"),
     ({"alpha": 0.0}, "alpha, k_min and power"), ({"alpha": 1.0}, "alpha, k_min and power"),
     ({"k_min": 0}, "alpha, k_min and power"), ({"power": 0.49}, "alpha, k_min and power"),
     ({"power": 1.0}, "alpha, k_min and power"),
     ({"pon_error_rates": {"D538G": 0.0}, "pon_name": "p.tsv"}, "p.tsv: background 0.0 for D538G"),
     ({"pon_error_rates": {"D538G": 1.0}, "pon_name": "p.tsv"}, "p.tsv: background 1.0 for D538G")],
)  # fmt: skip
def test_out_of_range_options_are_config_errors(options, message):
    with pytest.raises(ConfigError, match=message):
        NgsSettings(**options)


@pytest.mark.parametrize(
    "options",
    [{"min_allele_fraction": 0.999}, {"min_allele_fraction": 1e-6, "background_error": 9e-7},
     {"alpha": 0.999}, {"k_min": 1}, {"power": 0.5}, {"power": 0.999},
     {"pon_error_rates": {"D538G": 0.999}}],
)  # fmt: skip
def test_options_at_the_edge_of_their_range_are_accepted(options):
    assert NgsSettings(**options)


@pytest.mark.parametrize("run", [call_vcf, lambda path, **kw: call_ngs([path], **kw)],
                         ids=["call_vcf", "call_ngs"])  # fmt: skip
def test_an_unknown_build_is_a_config_error(run):
    with pytest.raises(ConfigError) as caught:
        run(TESTDATA / "vcf/mutect2/esr1_tumour_normal.vcf", build="hg99")
    assert str(caught.value) == "unknown genome build 'hg99'; use GRCh37 or GRCh38"


def test_thresholds_record_every_number_used():
    thresholds = DEFAULT.thresholds(PANEL)
    assert thresholds["min_allele_fraction"] == 0.002 and thresholds["alpha"] == 1e-3
    assert thresholds["k_min"] == 3 and thresholds["required_power"] == 0.95
    assert set(thresholds["background_error"]) == set(PANEL.names)


# --- panel of normals ---------------------------------------------------------------------------


def test_background_estimator():
    rate, upper, dispersion = estimate_background([(0, 10_000), (0, 10_000), (0, 10_000)])
    assert rate == 0 and upper == pytest.approx(3 / 30_000, rel=0.01)  # rule of three
    assert dispersion == 1.0
    _, noisy_upper, noisy_dispersion = estimate_background([(30, 10_000), (0, 10_000)])
    _, even_upper, _ = estimate_background([(15, 10_000), (15, 10_000)])
    assert noisy_dispersion > 10 and noisy_upper > even_upper  # over-dispersion widens e
    with pytest.raises(ValueError, match="no normal has depth"):
        estimate_background([])


def test_pon_build_reproduces_the_committed_pon():
    text, inputs = build_pon(NORMALS, PANEL)
    assert text == (PON_DIR / "normals.pon.tsv").read_text()
    assert len(inputs) == 3


def test_pon_sets_the_background_per_hotspot():
    rule = make_settings(PANEL, pon=PON_DIR / "normals.pon.tsv")
    assert rule.pon is not None and rule.pon.input.format == "pon"
    noisy = call(15, 12_000, rule)
    assert noisy.evidence["background_error"] == pytest.approx(0.000945419)
    assert noisy.status is CallStatus.INDETERMINATE  # the noisy D538G site needs more depth
    assert Reason.DEFAULT_BACKGROUND not in noisy.reasons


def test_a_real_variant_in_a_normal_is_not_background(tmp_path):
    text = NORMALS[0].read_text().replace("0/0:11069,6:", "0/0:10075,1000:")
    (tmp_path / "variant.vcf").write_text(text)
    pon, _ = build_pon([tmp_path / "variant.vcf", NORMALS[1]], PANEL)
    assert "#excluded=variant.vcf D538G 1000/11075: above 1%" in pon
    assert "\nD538G\t1\t9\t" in pon  # only normal_2 (9 alt reads) measures the background


def _pon(tmp_path, body: str, meta: str = "#esr1calls_pon_version=1\n#depth_unit=reads\n"):
    path = tmp_path / "pon.tsv"
    header = "hotspot\tn_normals\talt_count\tdepth\terror_rate\terror_rate_upper95\tdispersion\n"
    path.write_text(meta + header + body)
    return path


@pytest.mark.parametrize(
    "body, message",
    [("D538X\t3\t1\t30000\t3e-05\t0.0002\t1\n", "pon.tsv, row 4: unknown hotspot 'D538X'"),
     ("D538G\t3\t1\t30000\tlots\t0.0002\t1\n",
      "pon.tsv, row 4 (D538G): error_rate 'lots' is not a number"),
     ("D538G\t3\t1\t30000\t3e-05\t0\t1\n", "error_rate_upper95 must be above 0"),
     ("D538G\t3\t1\t30000\t3e-05\tnan\t1\n", "must be a finite number"),
     ("D538G\t3\t1\t30000\t3e-05\t0.0002\t1\nD538G\t3\t1\t30000\t3e-05\t0.0002\t1\n",
      "pon.tsv, row 5: hotspot D538G is listed twice"),
     ("D538G\t3\t1\t30000\t3e-05\n", "pon.tsv, row 4: 5 cells, expected 7")],
)  # fmt: skip
def test_a_bad_pon_row_is_a_config_error_naming_the_row(tmp_path, body, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_pon(_pon(tmp_path, body), known_hotspots=set(PANEL.names), umi=False)


def test_pon_file_level_checks(tmp_path):
    row = "D538G\t3\t1\t30000\t3e-05\t0.0002\t1\n"
    with pytest.raises(ConfigError, match="not an esr1calls panel of normals"):
        read_pon(_pon(tmp_path, row, meta=""), known_hotspots=set(PANEL.names), umi=False)
    molecules = _pon(tmp_path, row, meta="#esr1calls_pon_version=1\n#depth_unit=molecules\n")
    with pytest.raises(ConfigError, match="the PoN counts molecules, but this run counts reads"):
        read_pon(molecules, known_hotspots=set(PANEL.names), umi=False)
    assert read_pon(molecules, known_hotspots=set(PANEL.names), umi=True).rows["D538G"]


# --- samples ------------------------------------------------------------------------------------


def test_sample_summaries_are_one_plain_sentence():
    positive = call_vcf(TESTDATA / "vcf/mutect2/esr1_tumour_normal.vcf").samples[0]
    assert positive.status is SampleStatus.POSITIVE
    assert positive.summary.startswith("ESR1 V422del (0.25 %), L536Q (0.33 %), Y537C (0.2 %)")
    empty = call_vcf(TESTDATA / "vcf/mutect2/cfdna-unfiltered.vcf").samples[0]
    assert empty.summary == (
        "No ESR1 hotspot mutation detected, but 11 of 11 hotspots are indeterminate "
        "(no coverage 11), so an ESR1 mutation is not excluded."
    )
    negative = [call(0, 20_000)] * 11
    assert summarize_sample(negative, SampleStatus.NEGATIVE) == (
        "No ESR1 hotspot mutation detected: all 11 hotspots excluded at the reportable fraction."
    )
    for text in (positive.summary, empty.summary):
        assert text.count(".") - text.count(" %)") <= 2 and "\n" not in text


def test_one_sample_name_from_two_files_is_two_distinct_samples():
    """Strelka writes SNVs and indels apart, both as TUMOR: never two rows with one id."""
    strelka = TESTDATA / "vcf" / "strelka"
    result = call_ngs([strelka / "somatic.snvs.vcf", strelka / "somatic.indels.vcf"])
    assert [s.sample_id for s in result.samples] == [
        "TUMOR (somatic.snvs.vcf)",
        "TUMOR (somatic.indels.vcf)",
    ]
    assert all(c.sample_id == s.sample_id for s in result.samples for c in s.calls)
    assert any("bcftools concat -a" in n for n in result.notices)


def test_one_sample_name_from_two_folders_of_same_named_files_is_still_distinct(tmp_path):
    import shutil

    strelka = TESTDATA / "vcf" / "strelka" / "somatic.snvs.vcf"
    for patient in ("p1", "p2"):
        (tmp_path / patient).mkdir()
        shutil.copy(strelka, tmp_path / patient / "somatic.snvs.vcf")
    # two patients' files differ (the same bytes twice are refused: one sample given twice)
    second = tmp_path / "p2" / "somatic.snvs.vcf"
    second.write_text(second.read_text().replace("##fileDate=20240312", "##fileDate=20240313"))
    result = call_ngs([tmp_path / "p1" / "somatic.snvs.vcf", tmp_path / "p2" / "somatic.snvs.vcf"])
    assert [s.sample_id for s in result.samples] == [
        "TUMOR (p1/somatic.snvs.vcf)",
        "TUMOR (p2/somatic.snvs.vcf)",
    ]


# --- the unmarked-duplicates rule, alone ---------------------------------------------------------


def _unmarked(x, n, *, distinct, amplicon=False, copies=None, excluded=0, state=None):
    from esr1calls.ngs.reads import CodonEvidence, Coordinates, Duplicates, DuplicateState
    from esr1calls.ngs.rule import UnmarkedDuplicates

    duplicates = Duplicates(
        state or DuplicateState.UNMARKED, (), (), 0, n, amplicon, ()
    )  # fmt: skip
    coordinates = Coordinates(n, n // 6, 0.9 if amplicon else 0.01, {"D538G": distinct})
    codon = CodonEvidence("D538", "chr6", 152098790, 152098792, "fragments", n - x,
                          {"D538G": x}, 0, {}, 0, {}, {}, coordinates=coordinates)  # fmt: skip
    counts = AlleleCounts("D538G", x, n, source="bam", excluded_alt=excluded)
    return UnmarkedDuplicates("D538G", counts, codon, duplicates, copies), counts


@pytest.mark.parametrize(
    "x, n, copies, amplicon, distinct, expected_n, expected_range, expected_x",
    [
        # 12,000 reads of 3,000 genome copies: n = floor(3000 (1 - e^-4)) = 2,945 molecules;
        # x = 60 reads scale to 14.73, so 14 to 15 alt molecules, 15 shown
        (60, 12_000, 3000.0, True, 0, 2_945, (14, 15), 15),
        # outside amplicon data the distinct alt coordinates are a certain lower bound
        (60, 12_000, 3000.0, False, 20, 2_945, (20, 20), 20),
        (60, 12_000, 3000.0, False, 3, 2_945, (14, 15), 15),
        # ...but never above the molecules
        (3, 4, 2.0, False, 4, 1, (1, 1), 1),
        # an exact scale gives one number: 100 reads of many copies are about 100 molecules
        (10, 100, 1e9, True, 0, 99, (9, 10), 10),
        (0, 12_000, 3000.0, True, 0, 2_945, (0, 0), 0),
        # under one genome copy still leaves one molecule
        (0, 3, 0.5, True, 0, 1, (0, 0), 0),
    ],
)
def test_unmarked_duplicates_in_molecules(
    x, n, copies, amplicon, distinct, expected_n, expected_range, expected_x
):
    judged, _ = _unmarked(x, n, distinct=distinct, amplicon=amplicon, copies=copies, excluded=8)
    molecules, alt_range = judged.in_molecules()
    assert molecules.depth == expected_n
    assert alt_range == expected_range
    assert molecules.alt_count == expected_x
    # the excluded low-quality reads scale alike, rounded up (8 x 2,945 / 12,000 = 1.96 -> 2)
    assert molecules.excluded_alt == math.ceil(8 * expected_n / n - 1e-9)


def test_unmarked_duplicates_without_the_dna_input():
    from esr1calls.ngs.reads import DuplicateState

    def judge(x, n, distinct, state=DuplicateState.UNMARKED):
        judged, counts = _unmarked(x, n, distinct=distinct, state=state)
        made = call_hotspot(D538G, counts, DEFAULT, sample_id="S1",
                            details={"duplicates": judged.evidence()})  # fmt: skip
        return made, judged.without_input(made, DEFAULT, "s.bam")

    # a DETECTED stands when the distinct alt coordinates alone reach k_req and 0.2 %
    made, judged = judge(40, 12_000, distinct=24)
    assert made.status is judged.status is CallStatus.DETECTED
    assert judged.reasons[-1] is Reason.UNMARKED_DUPLICATES
    assert judged.evidence["duplicates"]["detected"].startswith("stands: 24 alt fragments")
    k = made.evidence["k_required"]
    # k_req distinct coordinates, but below 0.2 % of n: not claimed
    assert k / 12_000 < 0.002
    _, short = judge(40, 12_000, distinct=k)
    assert short.status is CallStatus.INDETERMINATE
    assert short.reasons[0] is Reason.UNMARKED_DUPLICATES and short.lod95 is None
    # exactly 0.2 % and k_req: stands; one coordinate fewer: not claimed
    _, exact = judge(40, 10_000, distinct=20)
    assert exact.status is CallStatus.DETECTED
    _, below = judge(40, 10_000, distinct=19)
    assert below.status is CallStatus.INDETERMINATE
    assert "only 19 alt fragments" in below.evidence["duplicates"]["detected"]
    # a NOT_DETECTED from reads that may be duplicates is no claim
    made, judged = judge(0, 12_000, distinct=0)
    assert made.status is CallStatus.NOT_DETECTED
    assert judged.status is CallStatus.INDETERMINATE
    assert judged.reasons[0] is Reason.UNMARKED_DUPLICATES and "s.bam" in judged.action
    # no duplicates presumed at this depth: NOT_DETECTED stands, a DETECTED is not flagged
    _, kept = judge(0, 12_000, distinct=0, state=DuplicateState.NOT_PRESUMED)
    assert kept.status is CallStatus.NOT_DETECTED and Reason.UNMARKED_DUPLICATES not in kept.reasons
    _, flagless = judge(40, 12_000, distinct=24, state=DuplicateState.NOT_PRESUMED)
    assert flagless.status is CallStatus.DETECTED
    assert Reason.UNMARKED_DUPLICATES not in flagless.reasons
    # an INDETERMINATE gains the flag and the fix; NO_COVERAGE is left as it is
    made, judged = judge(3, 1_000, distinct=3)
    assert made.status is CallStatus.INDETERMINATE
    assert judged.reasons == (*made.reasons, Reason.UNMARKED_DUPLICATES)
    assert judged.action.startswith(f"{made.action}; and duplicates were never marked in s.bam")
    rule, _ = _unmarked(0, 1_000, distinct=0)
    nothing = call(None, None)
    assert rule.without_input(nothing, DEFAULT, "s.bam") is nothing
    # at n = 1,000 (k_req 5): 5 distinct coordinates stand; 4 (0.4 %, but under k_req) do not
    made, five = judge(10, 1_000, distinct=5)
    assert made.evidence["k_required"] == 5 and five.status is CallStatus.DETECTED
    _, four = judge(10, 1_000, distinct=4)
    assert four.status is CallStatus.INDETERMINATE and four.reasons[0] is Reason.UNMARKED_DUPLICATES
