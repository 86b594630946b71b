"""report.html for digital PCR: the calls table, the partition bars and the plate section,
checked against the calls' evidence, and the page as headless Chromium draws it."""

from __future__ import annotations

import html
import json
import re

import pytest

from esr1calls.reports.calls_json import to_json_document
from esr1calls.reports.html import render_html
from esr1calls.reports.merge import load_calls_json, merge_documents
from esr1calls.reports.options import ReportOptions
from esr1calls.reports.svg import PartitionBar, partition_bars
from esr1calls.reports.write import write_document, write_reports
from esr1calls.testing.runs import DPCR_COMMAND, DPCR_MAP, dpcr_run, pcr_run

from ..browser import chromium_page
from .test_html import ARTIFACTS, _check_in_browser, outline

HOSTILE = '<script>alert(1)</script>&"'


@pytest.fixture(scope="module")
def document():
    return to_json_document(dpcr_run(), ReportOptions(DPCR_COMMAND, reproducible=True))


def section(page: str, section_id: str) -> str:
    start = page.index(f"<section id='{section_id}'>")
    return page[start : page.index("<section id='", start + 1)]  # to the next top-level one


def test_a_dpcr_page_has_its_own_plate_section_and_no_pcr_one(document):
    page = render_html(document)
    ids = {a.get("id") for _, a in outline(page).tags}
    assert {"samples", "run-qc", "dpcr-plates", "calls", "dropped"} <= ids
    assert "plates" not in ids and "delta-ct" not in ids  # no Ct, no delta-Ct
    assert "<h2>Digital PCR plates</h2>" in page
    assert "Delta-Ct" not in section(page, "calls")  # the PCR table is not used for dPCR


def test_each_call_shows_the_counts_k_req_lod95_and_p0_with_its_source(document):
    page = render_html(document)
    calls = section(page, "calls")
    for sample in document["samples"]:
        for call in sample["calls"]:
            evidence = call["evidence"]
            if call["alt_count"] is not None:
                assert f"{call['alt_count']:,} / {call['depth']:,}" in calls
            if "p0" in evidence:
                assert f"{evidence['p0']:.3g}<br><span class='muted'>wild-type controls" in calls
                assert html.escape(evidence["p0_source"]) in section(page, "dpcr-plates")
    e380q = next(c for c in document["samples"][0]["calls"] if c["hotspot"] == "E380Q")
    row = calls[calls.index("<strong>E380Q</strong>") :].split("</tr>")[0]
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row)
    assert cells[6] == str(e380q["evidence"]["k_req"])  # the k_req column (cells after the first)
    assert cells[5] == f"{e380q['alt_count']} / {e380q['depth']:,}"
    assert "E380Q<br><span class='muted'>A6</span>" in cells[3]  # assay and the well used


def test_the_region_call_names_its_region_instead_of_an_hgvs(document):
    calls = section(render_html(document), "calls")
    row = calls[calls.index("<strong>EX8_DROPOFF</strong>") :].split("</tr>")[0]
    assert "codons 536-538 (c.1606-1614)" in row and "L536H, L536P" in row


def test_one_partition_chart_per_assay_with_the_p0_the_assay_used(document):
    plates = section(render_html(document), "dpcr-plates")
    assays = list(document["run"]["thresholds"]["assays"])
    charts = re.findall(r'<svg[^>]*aria-labelledby="(dpcr-0-bars-\d+)-t', plates)
    assert len(charts) == len(assays) == 5
    for assay in assays:
        assert f"<h4>Assay {assay}</h4>" in plates
        wells = [w for w in document["plates"][0]["wells"] if w["assay"] == assay]
        p0 = wells[0]["p0"]
        assert f"p0 = {p0:.3g}" in plates
    # E380Q's background came from its three WT wells: the caption says so
    assert "p0 = 8.26e-05: wild-type controls A3, A4, A5" in plates
    # the summed counts per sample: L1's two E380Q wells, one left out (LOW_PARTITIONS)
    l1 = next(s for s in document["samples"] if s["sample_id"] == "L1")
    e380q = next(c for c in l1["calls"] if c["hotspot"] == "E380Q")
    assert e380q["evidence"]["wells_used"] == ["A10"]
    assert "A9 L1" in plates and "LOW_PARTITIONS" in plates


def test_every_well_count_is_in_the_wells_table(document):
    plates = section(render_html(document), "dpcr-plates")
    for well in document["plates"][0]["wells"]:
        for channel, counts in (well.get("channels") or {}).items():
            shown = (
                f"{channel} ({counts['target']}) {counts['positives']:,} / {counts['negatives']:,}"
            )
            assert html.escape(shown) in plates, shown


def _bar_widths(svg: str) -> list[float]:
    return [float(w) for w in re.findall(r'<rect x="150" y="[\d.]+" width="([\d.]+)"', svg)]


def test_a_bar_grows_with_its_positives_and_none_is_drawn_for_zero():
    rows = [
        PartitionBar("A1 NTC", 20000, (("mutant (FAM-positive)", 0), ("wild type (HEX+)", 0))),
        PartitionBar("A2 P1", 20000, (("mutant (FAM-positive)", 2), ("wild type (HEX+)", 5000))),
        PartitionBar("A3 P2", 20000, (("mutant (FAM-positive)", 40), ("wild type (HEX+)", 5000))),
    ]
    svg = partition_bars("E380Q", rows, 5e-5, "t")
    widths = _bar_widths(svg)
    assert len(widths) == 4  # A1 draws no bar at all
    assert widths[0] < widths[2] and widths[1] == widths[3]
    assert "0 / 20,000" in svg and "2 / 19,998" in svg and "40 / 19,960" in svg
    assert 'stroke-dasharray="4 3"' in svg  # the p0 line
    no_p0 = partition_bars("E380Q", rows, None, "t")
    assert 'stroke-dasharray="4 3"' not in no_p0


def test_a_well_without_data_says_so_and_labels_are_escaped():
    rows = [PartitionBar(f"A1 {HOSTILE}", None, (), "MISSING_WELL")]
    svg = partition_bars(f"{HOSTILE} chart", rows, None, "t")
    assert HOSTILE not in svg and "&lt;script&gt;" in svg
    assert "MISSING_WELL" in svg and not _bar_widths(svg)


def test_sample_names_from_the_map_are_escaped(tmp_path):
    hostile_map = tmp_path / "map.csv"
    hostile_map.write_text(
        DPCR_MAP.read_text(encoding="utf-8").replace(",P1,", ",<script>alert(1)</script>&,"),
        encoding="utf-8",
    )
    page = render_html(
        to_json_document(dpcr_run(hostile_map), ReportOptions(DPCR_COMMAND, reproducible=True))
    )
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&amp;" in section(page, "dpcr-plates")


def loaded(tmp_path, *runs):
    """Each run written to its folder and loaded back as ``esr1calls report`` loads it."""
    out = []
    for index, result in enumerate(runs):
        folder = tmp_path / f"run{index}"
        write_reports(result, folder, ReportOptions(f"run {index}", reproducible=True))
        out.append(load_calls_json(folder / "calls.json"))
    return out


def test_a_cohort_of_pcr_and_dpcr_shows_both_plate_sections(tmp_path):
    options = ReportOptions("esr1calls report pcr/calls.json dpcr/calls.json", reproducible=True)
    page = render_html(merge_documents(loaded(tmp_path, pcr_run(), dpcr_run()), options))
    assert "<h2>PCR plates</h2>" in page and "<h2>Digital PCR plates</h2>" in page
    plates = section(page, "plates")
    assert "esr1_demo_quantasoft" not in plates  # the dPCR plate is not drawn as a PCR plate
    assert "esr1_demo_quantasoft" in section(page, "dpcr-plates")
    assert "Delta-Ct" in page and "k_req" in page


@pytest.mark.slow
def test_the_dpcr_report_renders_in_headless_chromium(tmp_path):
    """The dPCR page loads with no script, no error and no network request; it draws the role
    map, one partition chart per assay and one fraction chart per sample."""
    out = tmp_path / "dpcr"
    write_reports(dpcr_run(), out, ReportOptions(DPCR_COMMAND, reproducible=True))
    with chromium_page(tmp_path / "profile") as page:
        facts = _check_in_browser(page, out / "report.html", ARTIFACTS / "report-dpcr.png")
        assert facts["title"] == "ESR1 hotspot calls — 4 sample(s)"
        assert facts["sampleCells"] == ["P1", "N1", "D1", "L1"]
        assert "Digital PCR plates" in facts["h2"] and "PCR plates" not in facts["h2"]
        assert facts["svgs"] == 1 + 5 + 4
        assert facts["width"] <= 1280
        bars = page.evaluate(
            """[...document.querySelectorAll('#dpcr-plates svg[role=img]')].slice(1)
            .map(s => s.querySelectorAll('rect').length)"""
        )
        assert len(bars) == 5 and all(n > 0 for n in bars)

    cohort = tmp_path / "cohort"
    options = ReportOptions("esr1calls report", reproducible=True)
    write_document(
        merge_documents(loaded(tmp_path, pcr_run(), dpcr_run()), options), cohort, options
    )
    with chromium_page(tmp_path / "profile-cohort") as page:
        facts = _check_in_browser(page, cohort / "report.html", ARTIFACTS / "report-pcr-dpcr.png")
        assert {"PCR plates", "Digital PCR plates"} <= set(facts["h2"])
        assert facts["samples"] == 9 + 4
        assert facts["width"] <= 1280


def test_a_wt_background_rate_is_shown_with_its_digits_not_as_zero(document):
    """1.74e-05 mutant partitions per partition was shown as "0.00" (two decimals)."""
    qc = section(render_html(document), "run-qc")
    checks = [c for c in document["run_qc"] if c["check"] == "WT background"]
    assert any(c["value"] for c in checks)
    for check in checks:
        row = qc[qc.index(html.escape(check["subject"])) :].split("</tr>")[0]
        shown = f"{check['value']:.3g}" if check["value"] else "0.00"
        assert f'<td class="num">{shown}</td>' in row


def test_a_reason_every_call_of_a_dpcr_sample_gives_is_shown_once(document):
    """A contaminated NTC makes every call of the run INVALID NTC_AMPLIFIED (tests/dpcr): each
    sample says so once above its table, not on all 11 rows; a reason of one call (L1's
    S463P LOW_PARTITIONS) stays on its row."""
    page = render_html(document)
    l1 = _sample_section(page, "L1")
    assert "Every hotspot" not in l1 and l1.count("LOW_PARTITIONS</span>") == 2  # its own rows
    failed = json.loads(json.dumps(document))
    for sample in failed["samples"]:
        for call in sample["calls"]:
            call.update(status="INVALID", reasons=["NTC_AMPLIFIED"])
    page = render_html(failed)
    for sample in failed["samples"]:
        block = _sample_section(page, sample["sample_id"])
        assert block.count("NTC_AMPLIFIED") == 1, sample["sample_id"]
        assert 'Every hotspot of this sample:</strong> <span class="code nw">NTC_AMPLIFIED' in block
        assert block.count("the sample's reason, above") == len(sample["calls"]) == 11


def _sample_section(page: str, sample_id: str) -> str:
    for block in re.findall(r"<section class='sample' id='sample-\d+'>.*?</section>", page, re.S):
        if re.match(rf"<section[^>]*><h3>{sample_id} ", block):
            return block
    raise AssertionError(sample_id)
