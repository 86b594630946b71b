"""A BAM and a VCF of one sample held against each other (ngs/concordance.py): each source's
view is judged by the rule's own numbers and predicates, never by a copy of them."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from esr1calls.hotspots import load_panel
from esr1calls.model import AlleleCounts, CallStatus, Reason
from esr1calls.ngs import NgsSettings
from esr1calls.ngs.concordance import compare_sources, view_of
from esr1calls.ngs.rule import call_hotspot

D538G = load_panel()["D538G"]
RULES = st.builds(
    NgsSettings,
    min_allele_fraction=st.sampled_from([0.001, 0.002, 0.005, 0.01]),
    alpha=st.sampled_from([1e-4, 1e-3, 1e-2]),
    k_min=st.integers(min_value=1, max_value=6),
    power=st.sampled_from([0.8, 0.9, 0.95, 0.99]),
    background_error=st.sampled_from([None, 1e-5, 1e-4, 5e-4]),
)


@settings(max_examples=200, deadline=None)
@given(rule=RULES, n=st.integers(min_value=1, max_value=40_000), data=st.data())
def test_a_view_shows_and_excludes_exactly_where_the_rule_calls(rule, n, data):
    """With no filter or strand to weigh, a source's view "shows" the allele where the rule's
    x reaches k_req (DETECTED or LOW_LEVEL) and "excludes" it where the rule says NOT_DETECTED,
    whatever the settings: the view takes k_req and power from the rule."""
    x = data.draw(st.integers(min_value=0, max_value=min(n, 200)))
    call = call_hotspot(D538G, AlleleCounts("D538G", x, n, source="test"), rule, sample_id="S")
    error_rate = rule.background(D538G.name).error_rate
    view = view_of(x, x, n, error_rate=error_rate, settings=rule)
    assert view.k_required == call.evidence["k_required"]
    assert view.power == call.evidence["power"]
    detected_or_low = call.status is CallStatus.DETECTED or Reason.LOW_LEVEL in call.reasons
    assert view.shows == detected_or_low
    assert view.excludes(rule.power) == (call.status is CallStatus.NOT_DETECTED)


def test_a_source_without_depth_neither_shows_nor_excludes():
    view = view_of(5, 5, None, error_rate=1e-4, settings=NgsSettings())
    assert not view.shows and not view.excludes(0.95) and view.k_required is None


def test_a_range_shows_on_its_certain_end_and_excludes_on_its_possible_end():
    rule = NgsSettings()
    k = view_of(0, 0, 12_000, error_rate=5e-4, settings=rule).k_required
    assert k is not None
    straddling = view_of(k - 1, k, 12_000, error_rate=5e-4, settings=rule)
    assert not straddling.shows and not straddling.excludes(rule.power)
    reads = view_of(k + 10, k + 10, 12_000, error_rate=5e-4, settings=rule)
    assert compare_sources(reads, straddling, required_power=rule.power) == []
