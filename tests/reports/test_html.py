"""report.html: content and structure, and the page as headless Chromium loads and draws it."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from esr1calls.reports.calls_json import to_json_document
from esr1calls.reports.html import render_html
from esr1calls.reports.merge import load_calls_json, merge_documents
from esr1calls.reports.options import ReportOptions
from esr1calls.reports.svg import FractionRow, contrast, fraction_chart
from esr1calls.reports.write import write_document, write_reports
from esr1calls.testing import REPO
from esr1calls.testing.runs import NGS_COMMAND, PCR_COMMAND, ngs_run, pcr_run

from ..browser import chromium_page, layout_problems, load_report

ARTIFACTS = REPO / "test-artifacts"
HOSTILE = ('=HYPERLINK("x")', "<script>alert(1)</script>")


@pytest.fixture(scope="module")
def pcr_document():
    return to_json_document(pcr_run(), ReportOptions(PCR_COMMAND, reproducible=True))


@pytest.fixture(scope="module")
def ngs_document():
    return to_json_document(ngs_run(), ReportOptions(NGS_COMMAND, reproducible=True))


class _Outline(HTMLParser):
    """Collects tags, attributes and text, to check the page without a browser."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def outline(page: str) -> _Outline:
    parser = _Outline()
    parser.feed(page)
    return parser


def test_pcr_page_has_every_section(pcr_document):
    page = render_html(pcr_document)
    parsed = outline(page)
    ids = {a.get("id") for _, a in parsed.tags}
    assert {"samples", "provenance", "run-qc", "plates", "delta-ct", "calls", "dropped"} <= ids
    text = " ".join(parsed.text)
    assert "unreviewed" in text and "never signs out" in text
    assert "PLACEHOLDER values" in text  # the kit notice, shown as a notice
    assert "esr1calls pcr testdata/plates/esr1_demo_plate.tsv" in text  # the exact command
    kit = pcr_document["run"]["kit"]
    assert kit["sha256"] in text and pcr_document["run"]["panel"]["sha256"] in text
    for item in pcr_document["run"]["inputs"]:
        assert item["sha256"] in text and item["path"] in text
    assert "ct_max" in text  # thresholds, with their sources
    # one sample section per sample, each with its summary sentence
    for index, sample in enumerate(pcr_document["samples"]):
        assert f"sample-{index}" in ids and sample["summary"] in text
    # plate map by role and by result, one delta-Ct chart per tested target
    svgs = [a for t, a in parsed.tags if t == "svg"]
    assert sum(a["aria-labelledby"].startswith("plate-") for a in svgs) == 2
    assert sum(a["aria-labelledby"].startswith("dct-") for a in svgs) == 11
    assert all(a.get("role") == "img" for a in svgs)
    # every reason code is explained in words
    assert "IC_FAIL</span>: internal control failed in a negative well" in page
    assert "REF_CT_LOW</span>: reference Ct below its window" in page


def test_run_qc_rows_show_pass_and_fail_against_the_range(pcr_document):
    failed = json.loads(json.dumps(pcr_document))
    failed["run_qc"][0].update(passed=False, reason="PC_FAIL", value=31.2)
    page = render_html(failed)
    total = len(failed["run_qc"])
    assert f"{total - 1} of {total} checks passed" in page
    row = re.search(r"<tr><td>PC</td><td>well A1 FAM \(D538G\)</td>.*?</tr>", page).group(0)
    assert "31.20" in row and "26-30" in row and "s-FAIL" in row and "PC_FAIL" in row


def test_ngs_page_has_fraction_charts_and_counts(ngs_document):
    page = render_html(ngs_document)
    parsed = outline(page)
    svgs = [a["aria-labelledby"] for t, a in parsed.tags if t == "svg"]
    assert svgs == ["af-0-t af-0-d", "af-1-t af-1-d"]
    assert "148 / 11890" in page  # x / n
    assert "1.24 % (1.05 %–1.46 %)" in page  # fraction with its interval
    assert "INSUFFICIENT_DEPTH</span>: depth too low" in page
    assert "0.661 %" in page  # the achieved lod95 of the shallow hotspot
    assert "NO_COVERAGE" in page and "plates" not in {a.get("id") for _, a in parsed.tags}
    assert "No panel of normals" in page  # run notice
    assert "not at a panel hotspot" in page  # the dropped list


def test_page_is_self_contained(pcr_document, ngs_document):
    for document in (pcr_document, ngs_document):
        page = render_html(document)
        parsed = outline(page)
        assert not [t for t, _ in parsed.tags if t in ("script", "link", "img", "iframe", "object")]
        for _, attrs in parsed.tags:
            assert not (attrs.get("src") or "").strip(), attrs
            href = attrs.get("href") or ""
            assert not href or href.startswith("#"), href
        assert "url(" not in page and "@import" not in page
        assert "default-src 'none'" in page  # the CSP forbids fetching or running anything


def test_every_input_string_is_escaped(ngs_document):
    hostile = to_json_document(ngs_run(HOSTILE), ReportOptions(NGS_COMMAND, reproducible=True))
    hostile["run"]["notices"].append('<img src=x onerror="alert(2)">')
    hostile["samples"][0]["summary"] = "</p><script>alert(3)</script>"
    hostile["dropped"][0]["reason"] = "<b>bold</b>"
    page = render_html(hostile)
    assert "<script" not in page and "<img" not in page and "<b>bold" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # shown, as text
    assert "=HYPERLINK(&quot;x&quot;)" in page
    # inside the SVG charts too (chart title and row labels)
    svg = re.search(r"<svg[^>]*aria-labelledby=\"af-1-t.*?</svg>", page, flags=re.S).group(0)
    assert "Allele fractions, sample &lt;script&gt;alert(1)&lt;/script&gt;" in svg


def test_reproducible_page_is_byte_identical(tmp_path):
    for name in ("a", "b"):
        write_reports(pcr_run(), tmp_path / name, ReportOptions(PCR_COMMAND, reproducible=True))
    assert (tmp_path / "a" / "report.html").read_bytes() == (
        tmp_path / "b" / "report.html"
    ).read_bytes()
    assert "not recorded (--reproducible)" in (tmp_path / "a" / "report.html").read_text()


def test_run_time_is_shown_when_recorded(tmp_path):
    write_reports(pcr_run(), tmp_path, ReportOptions(PCR_COMMAND))
    time = json.loads((tmp_path / "calls.json").read_text())["run"]["utc_time"]
    assert time in (tmp_path / "report.html").read_text()


# ----------------------------------------------------------------------- in headless Chromium
def _check_in_browser(page, path: Path, screenshot: Path) -> dict:
    load_report(page, path)
    url = path.resolve().as_uri()
    requests = [e["request"]["url"] for e in page.named("Network.requestWillBeSent")]
    assert requests == [url], f"the page fetched something: {requests}"
    assert not page.named("Runtime.exceptionThrown")
    errors = [e for e in page.named("Runtime.consoleAPICalled") if e.get("type") == "error"]
    errors += [e for e in page.named("Log.entryAdded") if e["entry"]["level"] == "error"]
    assert not errors, errors  # a CSP violation would be reported here
    assert not page.named("Page.javascriptDialogOpening")  # no alert() ran
    facts = page.evaluate(
        """({
        title: document.title,
        h1: document.querySelector('h1').textContent,
        h2: [...document.querySelectorAll('h2')].map(h => h.textContent),
        scripts: document.scripts.length,
        samples: document.querySelectorAll('#samples tbody tr').length,
        sampleCells: [...document.querySelectorAll('#samples tbody tr td:first-child')]
            .map(td => td.textContent),
        review: document.querySelector('.review').textContent,
        notices: [...document.querySelectorAll('.notices li')].map(li => li.textContent),
        svgs: document.querySelectorAll('svg[role=img]').length,
        svgsWithText: [...document.querySelectorAll('svg[role=img]')]
            .filter(s => s.querySelector('title').textContent
                && s.querySelector('desc').textContent).length,
        width: document.documentElement.scrollWidth,
        height: document.documentElement.scrollHeight,
        })"""
    )
    shot = page.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    import base64

    screenshot.write_bytes(base64.b64decode(shot["data"]))
    assert screenshot.stat().st_size > 10_000  # a drawn page, not a blank one
    assert facts["scripts"] == 0 and facts["svgs"] == facts["svgsWithText"] > 0
    assert "unreviewed" in facts["review"]
    # every text, folded parts opened: inside its cell or box, and at >= 4.5:1 on its background
    problems = layout_problems(page)
    assert problems["texts"] > 100, problems["texts"]
    assert not problems["contrast"], problems["contrast"][:12]
    assert not problems["overflow"], problems["overflow"][:12]
    return facts


@pytest.mark.slow
def test_report_renders_in_headless_chromium(tmp_path):
    """The PCR, NGS (with hostile sample names) and cohort pages load in Chromium with no
    script, no error and no network request; their content is what calls.json says; a
    screenshot of each is kept in test-artifacts/."""
    pcr_dir, ngs_dir = tmp_path / "pcr", tmp_path / "ngs"
    write_reports(pcr_run(), pcr_dir, ReportOptions(PCR_COMMAND, reproducible=True))
    write_reports(ngs_run(HOSTILE), ngs_dir, ReportOptions(NGS_COMMAND, reproducible=True))
    with chromium_page(tmp_path / "profile") as page:
        facts = _check_in_browser(page, pcr_dir / "report.html", ARTIFACTS / "report.png")
        assert facts["title"] == "ESR1 hotspot calls — 9 sample(s)"
        assert facts["samples"] == 9 and facts["sampleCells"][0] == "S1"
        assert any("PLACEHOLDER" in n for n in facts["notices"])
        assert {"Samples", "Run QC", "PCR plates", "Dropped input rows"} <= set(facts["h2"])
        assert facts["svgs"] == 2 + 11  # two plate maps, one delta-Ct chart per target
        assert facts["width"] <= 1280  # nothing overflows the page sideways

    with chromium_page(tmp_path / "profile-ngs") as page:
        facts = _check_in_browser(page, ngs_dir / "report.html", ARTIFACTS / "report-ngs.png")
        # the hostile names are plain text on the page: shown exactly, never run
        assert facts["sampleCells"] == list(HOSTILE)
        assert facts["svgs"] == 2

    cohort_dir = tmp_path / "cohort"
    options = ReportOptions("esr1calls report pcr/calls.json ngs/calls.json", reproducible=True)
    loaded = [load_calls_json(d / "calls.json") for d in (pcr_dir, ngs_dir)]
    write_document(merge_documents(loaded, options), cohort_dir, options)
    with chromium_page(tmp_path / "profile-cohort") as page:
        facts = _check_in_browser(page, cohort_dir / "report.html", ARTIFACTS / "report-cohort.png")
        assert facts["title"] == "ESR1 hotspot calls — 11 sample(s)"
        assert facts["sampleCells"] == [f"S{i}" for i in range(1, 10)] + list(HOSTILE)
        assert any("PLACEHOLDER" in n for n in facts["notices"])  # each run's notices
        assert any("No panel of normals" in n for n in facts["notices"])
        assert facts["svgs"] == 2 + 11 + 2  # the PCR run's charts and the NGS samples'
        assert facts["width"] <= 1280


_BAD_PAGE = """<!DOCTYPE html><html><body style="margin:0"><main style="width:400px">
<p style="color:#aaaaaa">faint grey on white</p>
<p style="background:rgba(0,0,0,0.5);color:#333333">dark on half-black</p>
<p style="color:#595959">readable grey</p>
<table style="table-layout:fixed;width:200px"><tr><td style="width:60px;white-space:nowrap">
D538G_a_code_too_wide_for_its_cell</td><td>fits</td></tr></table>
<svg viewBox="0 0 120 40" width="120" height="40"><rect x="0" y="0" width="60" height="40"
fill="#009E73"/><text x="10" y="24" fill="#555555">RM1</text><text x="70" y="24"
fill="#222222">ok</text><text x="100" y="36" fill="#222222">cut off</text></svg>
<table style="width:700px"><tr><td>x</td></tr>
</table></main></body></html>"""


@pytest.mark.slow
def test_the_layout_check_finds_what_a_reader_cannot_read(tmp_path):
    """The check itself can fail: on a page made to break it, it names each low-contrast text
    (HTML, on a blended background, and SVG on a well's fill), the overflowing cell, the SVG
    label cut off at the chart's edge and the table wider than the page, and nothing else."""
    path = tmp_path / "bad.html"
    path.write_text(_BAD_PAGE, encoding="utf-8")
    with chromium_page(tmp_path / "profile") as page:
        load_report(page, path)
        found = layout_problems(page)
    low = {p["where"]: p["ratio"] for p in found["contrast"]}
    assert set(low) == {"p: faint grey on white", "p: dark on half-black", "text: RM1"}, low
    assert low["p: faint grey on white"] == pytest.approx(2.32, abs=0.01)
    assert low["text: RM1"] == pytest.approx(2.18, abs=0.01)  # the old mix label on PASS green
    where = [p["where"] for p in found["overflow"]]
    assert "td: D538G_a_code_too_wide_for_its_cell" in where
    assert "text: cut off" in where and "table: x" in where
    assert not [w for w in where if "fits" in w or w.startswith("text: ok")]


def _sample_block(page: str, index: int) -> str:
    return re.search(
        rf"<section class='sample' id='sample-{index}'>.*?</section>", page, flags=re.S
    ).group(0)


def test_sample_facts_read_in_words_units_and_percent(pcr_document, ngs_document):
    """A sample's details in a lab scientist's words: no internal keys, booleans as yes/no,
    an achieved limit in percent with sensible digits, never a bare fraction."""
    page = render_html(pcr_document)
    facts = re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", page)
    shown = {k for k, _ in facts}
    for key in ("reference_replicate_cts", "genome_copies_estimate", "low_input", "achieved_lod95"):
        assert key not in shown, key
    assert {"Reference Ct per replicate", "Limit of detection achieved (lod95)"} <= shown
    assert not re.search(r"<dd>(True|False)</dd>", page)
    lods = [v for k, v in facts if k == "Limit of detection achieved (lod95)"]
    assert lods and all(v == "—" or v.endswith(" %") for v in lods), lods
    assert "0.008239547689965945" not in page and "0.824 %" in page
    assert "<dt>Low input (too few genome copies)</dt><dd>yes</dd>" in page
    ngs = render_html(ngs_document)
    assert "<dt>UMI consensus reads</dt><dd>yes</dd>" in ngs and "<dt>umi</dt>" not in ngs


def test_a_reason_of_the_whole_sample_is_shown_once(pcr_document):
    """S8's reference Ct is too high: all 11 calls are INVALID for REF_CT_HIGH. The page says
    so once, at sample level, not on 11 rows; a reason of one well stays on its row."""
    page = render_html(pcr_document)
    index = [s["sample_id"] for s in pcr_document["samples"]].index("S8")
    block = _sample_block(page, index)
    assert block.count("REF_CT_HIGH") == 1, block.count("REF_CT_HIGH")
    assert 'Every hotspot of this sample:</strong> <span class="code nw">REF_CT_HIGH' in block
    assert block.count("the sample's reason, above") == 11
    s6 = _sample_block(page, [s["sample_id"] for s in pcr_document["samples"]].index("S6"))
    assert "Every hotspot" not in s6 and "IC_FAIL</span>: internal control failed" in s6
    # a reason code never breaks inside the word in a squeezed column
    assert 'class="code nw">IC_FAIL' in s6


def _result_map(page: str) -> str:
    return re.search(r"<svg[^>]*aria-labelledby=\"plate-0-result.*?</svg>", page, flags=re.S)[0]


def _well_cell(svg: str, well: str) -> tuple[str, str]:
    """(result in the tooltip, fill) of one well of a plate map."""
    found = re.search(
        rf"<g><title>{well}: [^<]*result: ([\w ]+)</title><rect [^>]*fill=\"(#\w+)\"", svg
    )
    assert found, well
    return found[1], found[2]


def test_plate_map_colours_each_well_by_its_own_result(pcr_document):
    """S6 is POSITIVE, but the internal control of its RM1 well failed: on the plate map by
    result that well is INVALID (grey), not the sample's POSITIVE (orange); its other wells
    keep their own results, and the wells a DETECTED call was read in are POSITIVE."""
    s6 = next(s for s in pcr_document["samples"] if s["sample_id"] == "S6")
    assert s6["status"] == "POSITIVE"
    svg = _result_map(render_html(pcr_document))
    by_well: dict[str, set[str]] = {}
    for call in s6["calls"]:
        for well in call["evidence"]["wells"]:
            by_well.setdefault(well, set()).add(call["status"])
    failed = [w for w, statuses in by_well.items() if "INVALID" in statuses]
    assert failed == ["A9"], failed
    assert _well_cell(svg, "A9") == ("INVALID", "#555555")
    for well, statuses in by_well.items():
        if well in failed:
            continue
        expected = "POSITIVE" if "DETECTED" in statuses else "NEGATIVE"
        assert statuses <= {"DETECTED", "NOT_DETECTED"} and _well_cell(svg, well)[0] == expected
    # every sample well of the plate shows a result of its own calls, never "no call"
    wells = [w for w in pcr_document["plates"][0]["wells"] if w["role"] == "SAMPLE"]
    shown = {w["well"]: _well_cell(svg, w["well"])[0] for w in wells}
    assert "no call" not in shown.values()
    # a sample whose status is POSITIVE has wells of every other result on this plate
    s9 = {w["well"] for w in wells if w["sample_id"] == "S9"}
    assert {shown[w] for w in s9} == {"POSITIVE", "INDETERMINATE", "PASS"}


def test_a_reference_well_is_judged_by_its_own_ct_window(pcr_document):
    """S8's reference Ct (33.12) is above the window (20-32): its reference well is FAIL; S9's
    (30.62, low input) is inside it: PASS, although its negatives are INDETERMINATE."""
    svg = _result_map(render_html(pcr_document))
    samples = {s["sample_id"]: s for s in pcr_document["samples"]}
    for sample_id, expected in (("S8", "FAIL"), ("S9", "PASS"), ("S1", "PASS")):
        (well,) = samples[sample_id]["calls"][0]["evidence"]["reference_wells"]
        assert _well_cell(svg, well)[0] == expected, sample_id
    doc = json.loads(json.dumps(pcr_document))
    s1 = next(s for s in doc["samples"] if s["sample_id"] == "S1")
    s1["details"]["reference_replicate_cts"] = [None]  # no Ct: not in the window
    (well,) = s1["calls"][0]["evidence"]["reference_wells"]
    assert _well_cell(_result_map(render_html(doc)), well)[0] == "FAIL"


def test_plate_map_labels_read_at_wcag_contrast(pcr_document):
    """Every sample and mix label drawn on a plate-map well is at least 4.5:1 on the well's
    fill, in both maps (mix labels were #555555 on a PASS well's green: 2.2:1)."""
    page = render_html(pcr_document)
    wells = re.findall(
        r'<rect [^>]*fill="(#[0-9A-Fa-f]{6})"[^>]*/>\s*((?:<text[^>]*>[^<]*</text>\s*)+)</g>', page
    )
    fills = {fill for fill, _ in wells}
    assert len(wells) >= 2 * 60 and {"#009E73", "#E69F00", "#555555", "#D55E00"} <= fills
    for fill, texts in wells:
        inks = re.findall(r'<text[^>]*fill="(#[0-9A-Fa-f]{6})"', texts)
        assert len(inks) == 2  # the sample and the mix
        for ink in inks:
            assert contrast(ink, fill) >= 4.5, (ink, fill)


def test_contrast_is_the_wcag_ratio():
    assert contrast("#777777", "#FFFFFF") == pytest.approx(4.48, abs=0.01)  # WCAG's own example
    assert contrast("#009E73", "#555555") == pytest.approx(2.17, abs=0.01)
    assert contrast("#ABCDEF", "#ABCDEF") == 1.0


def test_delta_ct_caption_does_not_call_every_point_left_of_the_cutoff_detected(pcr_document):
    """Same-codon INDETERMINATE points sit at or left of the cut-off (S4's weaker Y537 assays):
    neither the caption nor a chart's text alternative may say that side is DETECTED; both say
    the marker is the call."""
    held = [
        (s["sample_id"], c["hotspot"])
        for s in pcr_document["samples"]
        for c in s["calls"]
        if c["status"] == "INDETERMINATE"
        and c["delta_ct"] is not None
        and c["delta_ct"] <= c["cutoff"]
    ]
    assert held  # the demo plate has such points
    page = render_html(pcr_document)
    section = re.search(r"<section id='delta-ct'>.*?</section>", page, flags=re.S)[0]
    caption = re.search(r"<p class='muted'>(.*?)</p>", section, flags=re.S)[1]
    assert "DETECTED" in caption and "INDETERMINATE" in caption and "same codon" in caption
    assert not re.search(r"(left of|below) the [^.]*cut-off is DETECTED", section)
    assert "colour and shape of its call" in caption
    descs = re.findall(r"<desc id=\"dct-\d+-d\">(.*?)</desc>", section)
    assert len(descs) == 11 and all("each marker shows the call" in d for d in descs)


# ------------------------------------------------------------------------ NGS fraction chart
def _chart(page: str, chart_id: str) -> str:
    return re.search(rf"<svg[^>]*aria-labelledby=\"{chart_id}-t.*?</svg>", page, flags=re.S)[0]


def test_a_zero_fraction_is_drawn_in_its_own_lane_not_on_the_axis(ngs_document):
    """0 alt reads is a fraction of 0, which a log axis cannot show: it was drawn at the
    0.01 % gridline, on that label. It is drawn in a lane labelled 0 left of the axis."""
    svg = _chart(render_html(ngs_document), "af-0")
    ticks = dict(
        (label, float(x))
        for x, label in re.findall(r'<text x="([\d.]+)" y="[\d.]+" font-size="11" '
                                   r'text-anchor="middle" fill="#222">([^<]+)</text>', svg)
    )  # fmt: skip
    assert {"0", "0.01 %", "100 %"} <= set(ticks)
    assert ticks["0"] < ticks["0.01 %"] - 20  # a lane of its own, with an axis break between
    zeros = [c for c in ngs_document["samples"][0]["calls"] if c["allele_fraction"] == 0]
    assert len(zeros) == 9
    for call in zeros:
        group = re.search(rf"<g><title>{call['hotspot']}: .*?</g>", svg, flags=re.S)[0]
        (cx,) = re.findall(r'<circle cx="([\d.]+)"', group)
        assert float(cx) == ticks["0"], call["hotspot"]
    d538g = re.search(r"<g><title>D538G: .*?</g>", svg, flags=re.S)[0]
    assert float(re.search(r'<circle cx="([\d.]+)"', d538g)[1]) > ticks["1 %"]  # 1.24 %


def test_lod95_marks_leave_the_reportable_line_readable():
    """A lod95 at the reportable fraction (a PCR negative's 0.2 %) was a grey tick drawn on
    the red dashed line, hiding it. It is a white-edged triangle under the row's line, and the
    legend names both marks; the line is labelled with its value."""
    rows = [FractionRow("D538G", "NOT_DETECTED", 0.0, (0.0, 0.0003), 0.002, note="x / n 0 / 9")]
    svg = fraction_chart("S1", rows, 0.002, "af-x")
    line = re.search(r'<line x1="([\d.]+)" y1="[\d.]+" x2="[\d.]+" y2="[\d.]+" '
                     r'stroke="#CC0000"[^>]*stroke-dasharray', svg)  # fmt: skip
    lod = re.search(r'<polygon points="([\d.]+),([\d.]+) [^"]*" fill="#595959" '
                    r'stroke="#FFFFFF"', svg)  # fmt: skip
    assert line and lod and float(lod[1]) == float(line[1])  # the same place on the axis
    row_y = float(re.search(r'<circle cx="[\d.]+" cy="([\d.]+)"', svg)[1])
    assert float(lod[2]) >= row_y + 2  # under the row's line, not across it
    assert ">0.2 % reportable</text>" in svg
    assert ">achieved limit of detection (lod95)</text>" in svg
    assert ">reportable fraction</text>" in svg
    assert "x / n 0 / 9" in svg  # the tooltip carries the counts
    width = float(re.search(r'<svg [^>]*width="([\d.]+)"', svg)[1])
    assert width >= 760  # larger than the 510 px it was


def test_ngs_table_explains_a_not_detected_with_alt_reads(run_cli, testdata, tmp_path):
    """D538G of the Mutect2 demo has 15 alt reads of 12,000 and is NOT_DETECTED: the row says
    that 16 were needed (k_req) and that the caller filtered it weak_evidence; the chart's
    tooltip says the same."""
    out = tmp_path / "out"
    vcf = testdata / "vcf" / "mutect2" / "esr1_tumour_normal.vcf"
    assert run_cli(["ngs", vcf, "-o", out, "--reproducible"]).exit_code == 0
    call = next(
        c
        for c in json.loads((out / "calls.json").read_text())["samples"][0]["calls"]
        if c["hotspot"] == "D538G"
    )
    assert (call["status"], call["alt_count"], call["evidence"]["k_required"]) == (
        "NOT_DETECTED", 15, 16,
    )  # fmt: skip
    assert call["evidence"]["filters"] == ["weak_evidence"]
    page = (out / "report.html").read_text()
    head = re.findall(r'<th scope="col">(.*?)</th>', page)
    assert "Alt needed (k_req)" in head and "Caller FILTER" in head
    row = page[page.index("<strong>D538G</strong>") :].split("</tr>")[0]
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)
    assert cells[5] == "15 / 12000" and cells[6] == "16"
    assert 'class="code nw">weak_evidence</span>' in cells[7]
    assert "the caller&#x27;s own threshold" in cells[7]
    v422 = page[page.index("<strong>V422del</strong>") :].split("</tr>")[0]
    assert re.findall(r"<td[^>]*>(.*?)</td>", v422, flags=re.S)[7] == "none"  # PASS
    assert "x / n 15 / 12,000, 16 needed (k_req), caller FILTER weak_evidence" in page


@pytest.mark.parametrize("first", [0.0, -0.0])
def test_a_coordinate_is_written_the_same_whatever_was_met_first(first):
    """The SVG coordinates are kept for the values met last; 0.0 and -0.0 are one key to such
    a cache, so zero is written apart: "-0" stays "-0" and "0" stays "0" in any order."""
    from esr1calls.reports import svg

    def plain(value):
        text = f"{value:.1f}"
        return text[:-2] if text.endswith(".0") else text

    svg._kept_coordinate.cache_clear()
    values = [first, -first, 0, 1, 1.0, True, -0.04, 0.04, 2.25, -3.75, 1e6, float("nan")]
    for value in values + values[::-1]:
        assert svg._n(value) == plain(value), value
    assert (svg._n(0.0), svg._n(-0.0)) == ("0", "-0")


def _plate_wells(page: str, plate: int) -> dict[str, tuple[str, str, str]]:
    """Each well of one plate: (result on the role map's tooltip, on the result map's, in the
    wells table)."""
    maps = {}
    for view in ("role", "result"):
        svg = re.search(
            rf"<svg[^>]*aria-labelledby=\"plate-{plate}-{view}.*?</svg>", page, flags=re.S
        )[0]
        maps[view] = dict(re.findall(r"<g><title>(\w+): [^<]*result: ([\w ]+)</title>", svg))
    tables = page.split("<summary>Plate wells as a table</summary>")[1:]
    row = r"<tr><td>(\w+)</td>(?:<td[^>]*>[^<]*</td>){4}<td>([\w ]+)</td>"
    rows = re.findall(row, tables[plate])
    return {well: (maps["role"][well], maps["result"][well], shown) for well, shown in rows}


def test_each_plate_shows_its_own_wells_results_on_both_maps_and_its_table(pcr_document):
    """A well's result is worked out once per plate and shown three times (the tooltip of each
    map, the wells table): the three agree, and a second plate of the same wells in another run
    shows its own results (no calls read in it), not the first plate's."""
    import copy

    document = copy.deepcopy(pcr_document)
    other = copy.deepcopy(document["plates"][0])
    other["run_id"] = "another-run"
    document["plates"].append(other)
    page = render_html(document)
    first, second = _plate_wells(page, 0), _plate_wells(page, 1)
    assert first and first.keys() == second.keys()
    assert all(role == result == table for role, result, table in first.values())
    assert all(role == result == table for role, result, table in second.values())
    samples = [w["well"] for w in other["wells"] if w.get("role") == "SAMPLE"]
    assert {first[w][0] for w in samples} >= {"POSITIVE", "NEGATIVE"}
    assert {second[w][0] for w in samples} == {"no call"}


def test_plate_maps_of_either_size_keep_their_own_geometry_in_any_order():
    """The drawing of a plate size is kept once made: a 96-well and a 384-well plate drawn in
    turn each keep their own well size and positions, whichever came first."""
    from esr1calls.reports import svg

    def draw(name: str) -> str:
        wells = [{"well": name, "role": "SAMPLE", "sample_id": "S1", "mix": "RM1"}]
        return svg.plate_map_svg(wells, lambda w: "#FFFFFF", lambda w: "tip", "p", "t", "d")

    svg._plate_layout.cache_clear()
    small, large = draw("B2"), draw("P24")
    assert (draw("P24"), draw("B2")) == (large, small)
    svg._plate_layout.cache_clear()
    assert (draw("P24"), draw("B2")) == (large, small)
    assert '<title>tip</title><rect x="79" y="61.6" width="50" height="38.6"' in small
    assert '<title>B2: not in the plate map</title><rect x="57" y="44.4" width="28"' in large
    assert 'height="21.4"' in large and 'width="752" height="400.4"' in large
