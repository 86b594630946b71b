"""esr1calls monitor end to end: the CLI on real calls.json files (validated, streamed),
monitor.json against its schema, monitor.tsv's columns, timeline.html in headless Chromium."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import jsonschema
import pytest

from esr1calls.monitor_report import MONITOR_COLUMNS, load_monitor_schema
from esr1calls.testing import REPO, TESTDATA
from esr1calls.testing.golden import assert_golden

from .browser import chromium_page, load_report
from .monitor_factory import document, ngs, sample, write
from .test_monitor import cohort

ARTIFACTS = REPO / "test-artifacts"
EXPECTED = TESTDATA / "expected" / "monitor"
HOSTILE = "<script>alert(1)</script>"


def _runs(root: Path, *, with_dpcr: bool = False) -> list[Path]:
    """The synthetic cohort written as calls.json files (dPCR needs the 1.5.0 dPCR method)."""
    return [write(root / folder, doc) for folder, doc in cohort()
            if with_dpcr or not folder.startswith("dpcr")]  # fmt: skip


@pytest.fixture
def monitored(tmp_path, run_cli, monkeypatch):
    monkeypatch.chdir(tmp_path)
    paths = [p.relative_to(tmp_path) for p in _runs(tmp_path / "runs")]
    result = run_cli(["monitor", *paths, "-o", "out", "--reproducible"])
    assert result.exit_code == 0, result.stderr
    return tmp_path / "out", result


def test_monitor_writes_the_three_outputs_and_prints_the_flagged(monitored):
    out, result = monitored
    assert result.stdout == "P02\tFLAGGED\tE380Q NEW\n"
    assert result.stderr.strip().endswith(
        "3 patient(s), 15 timepoint(s), 1 flagged; written to out/ (monitor.json, monitor.tsv, "
        "timeline.html)"
    )
    assert {p.name for p in out.iterdir()} == {"monitor.json", "monitor.tsv", "timeline.html"}


def test_monitor_json_is_valid_against_its_shipped_schema(monitored):
    out, _ = monitored
    schema = load_monitor_schema()
    validator = jsonschema.validators.validator_for(schema)
    validator.check_schema(schema)
    document_ = json.loads((out / "monitor.json").read_text(encoding="utf-8"))
    errors = list(validator(schema).iter_errors(document_))
    assert not errors, errors[0]
    assert document_["summary"] == {"patients": 3, "flagged": 1, "timepoints": 15, "samples": 16}
    p02 = next(p for p in document_["patients"] if p["patient_id"] == "P02")
    rising = p02["timepoints"][1]["hotspots"]["D538G"]
    assert rising["state"] == "RISING"
    assert rising["evidence"]["comparison"]["delta_ct_change"] == -1.5
    assert rising["evidence"]["previous"] == {"collected": "2024-01-15", "status": "DETECTED"}


def test_the_schema_refuses_what_the_states_never_say(monitored):
    out, _ = monitored
    schema = load_monitor_schema()
    validator = jsonschema.validators.validator_for(schema)(schema)
    document_ = json.loads((out / "monitor.json").read_text(encoding="utf-8"))
    hotspot = document_["patients"][0]["timepoints"][0]["hotspots"]["D538G"]
    hotspot["state"] = "NEW"  # a NOT_DETECTED call can never be NEW
    assert not validator.is_valid(document_)


def test_monitor_tsv_has_exactly_the_design_columns_and_one_row_per_hotspot(monitored):
    out, _ = monitored
    lines = (out / "monitor.tsv").read_text(encoding="utf-8").splitlines()
    assert tuple(lines[0].split("\t")) == MONITOR_COLUMNS == (
        "patient_id", "collected", "sample_id", "method", "hotspot", "status", "state",
        "fraction", "reasons")  # fmt: skip
    assert len(lines) == 1 + 15 * 11
    merged = next(line for line in lines if "2024-09-20" in line and "\tE380Q\t" in line)
    assert merged.split("\t")[2:4] == ["ngs-2024-09:P02-T5n;pcr-2024-09:P02-T5p", "NGS;PCR"]
    assert_golden("\n".join(lines) + "\n", EXPECTED / "cohort.monitor.tsv")


def test_monitor_is_byte_identical_on_rerun_and_whatever_the_order(tmp_path, run_cli, monitored,
                                                                     monkeypatch):  # fmt: skip
    out, _ = monitored
    paths = sorted(Path("runs").glob("*/calls.json"), reverse=True)
    result = run_cli(["monitor", *paths, "-o", "again", "--reproducible"])
    assert result.exit_code == 0
    for name in ("monitor.tsv", "timeline.html"):
        assert (tmp_path / "again" / name).read_text() == (out / name).read_text(), name
    first, again = (json.loads((d / "monitor.json").read_text()) for d in (out, tmp_path / "again"))
    assert first["patients"] == again["patients"]


def test_a_sheet_supplies_patients_and_a_hostile_id_is_text(tmp_path, run_cli):
    plain = [sample(f"S{i}", "NGS", [ngs("D538G", "DETECTED", 10 * i, 10000)]) for i in (1, 2)]
    path = write(tmp_path / "run", document(plain))
    sheet = tmp_path / "sheet.csv"
    sheet.write_text(
        "sample_id,patient_id,collected,note\n"
        f'S1,"{HOSTILE}",2024-01-01,=HYPERLINK("x")\nS2,"{HOSTILE}",2024-02-01,\nS7,P7,2024-02-01,\n',
        encoding="utf-8",
    )
    result = run_cli(["monitor", path, "--samples", sheet, "-o", tmp_path / "out"])
    assert result.exit_code == 0, result.stderr
    assert "1 sample sheet line(s) name no sample of these calls.json files (line 4: S7)" in (
        result.stderr
    )
    page = (tmp_path / "out" / "timeline.html").read_text(encoding="utf-8")
    assert HOSTILE not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    tsv = (tmp_path / "out" / "monitor.tsv").read_text(encoding="utf-8")
    assert "\t'=HYPERLINK" not in tsv  # the note is not a TSV column; ids are guarded
    assert tsv.splitlines()[1].startswith(HOSTILE + "\t2024-01-01\trun:S1\tNGS\t")


def test_no_patient_anywhere_is_one_error(tmp_path, run_cli):
    path = write(tmp_path / "run", document([sample("S1", "NGS", [])]))
    result = run_cli(["monitor", path, "-o", tmp_path / "out"])
    assert result.exit_code == 1
    assert result.stderr.startswith(
        "esr1calls: error: no sample in the 1 calls.json file(s) names a patient and a "
        "collection date; give them in a sample sheet (--samples SHEET"
    )
    assert not (tmp_path / "out").exists()


def test_a_damaged_calls_json_is_refused_before_anything_is_written(tmp_path, run_cli):
    paths = _runs(tmp_path / "runs")
    text = paths[3].read_text(encoding="utf-8")
    paths[3].write_text(text[: len(text) // 2], encoding="utf-8")
    result = run_cli(["monitor", *paths, "-o", tmp_path / "out"])
    assert result.exit_code == 1 and "not valid JSON" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "out").exists()


def test_pcr_calls_with_the_plate_maps_patients_are_monitored(tmp_path, run_cli):
    """The real path: pcr with patient columns, ngs with --patient, then monitor."""
    from .test_patients import _map_with_patients

    export = TESTDATA / "plates" / "esr1_demo_plate.tsv"
    plate_map = _map_with_patients(tmp_path, {"S1": ("PT-1", "2024-01-05"),
                                              "S2": ("PT-2", "2024-01-05")})  # fmt: skip
    assert run_cli(["pcr", export, "--plate-map", plate_map, "--format", "generic", "-o",
                    tmp_path / "plate1"]).exit_code == 0  # fmt: skip
    vcf = TESTDATA / "vcf" / "generic" / "esr1_ad_dp.vcf"
    assert run_cli(["ngs", vcf, "--patient", "PT-1", "--collected", "2024-04-02", "-o",
                    tmp_path / "ngs1"]).exit_code == 0  # fmt: skip
    result = run_cli(["monitor", tmp_path / "plate1" / "calls.json",
                      tmp_path / "ngs1" / "calls.json", "-o", tmp_path / "out"])  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "7 sample(s) name no patient and are not monitored (plate1:S3" in result.stderr
    monitor = json.loads((tmp_path / "out" / "monitor.json").read_text())
    pt1 = next(p for p in monitor["patients"] if p["patient_id"] == "PT-1")
    assert [t["collected"] for t in pt1["timepoints"]] == ["2024-01-05", "2024-04-02"]
    assert [t["samples"][0]["method"] for t in pt1["timepoints"]] == ["PCR", "NGS"]


# ----------------------------------------------------------------------------- timeline.html
def test_the_timeline_page_has_an_overview_and_each_patients_charts(monitored):
    out, _ = monitored
    page = (out / "timeline.html").read_text(encoding="utf-8")
    assert "<script" not in page and "default-src 'none'" in page
    assert page.count("<section id='patient-") == 3
    assert "Cohort overview" in page and "Flagged for review: E380Q NEW" in page
    # D538G of P01 and P02, Y537S of P01, E380Q of P02 get charts; quiet hotspots one chart
    assert len(re.findall(r"<svg xmlns=[^>]*role=\"img\"", page)) == 3 + 3 + 1 + 2
    assert "METHOD_CHANGED" in page and "&lt;" in page  # a "<" mark for a not-detected point


def test_a_large_cohort_is_an_index_and_one_page_per_patient(tmp_path, run_cli):
    from esr1calls.errors import Esr1CallsError
    from esr1calls.monitor_report import run_monitor

    paths = _runs(tmp_path / "runs")
    out = tmp_path / "out"
    # an earlier, larger run left more pages: they go; a file monitor did not write is refused
    (out / "timeline").mkdir(parents=True)
    (out / "timeline" / "patient-00099.html").write_text("old")
    (out / "timeline" / "notes.txt").write_text("mine")
    with pytest.raises(Esr1CallsError, match=r"timeline: holds notes.txt, which esr1calls "
                       r"monitor did not write"):  # fmt: skip
        run_monitor(paths, out, command="esr1calls monitor", single_page_patients=1)
    assert sorted(p.name for p in out.iterdir()) == ["timeline"]  # nothing written
    (out / "timeline" / "notes.txt").unlink()
    run_monitor(paths, out, command="esr1calls monitor", reproducible=True,
                single_page_patients=1)  # fmt: skip
    pages = sorted(p.name for p in (out / "timeline").iterdir())
    assert pages == ["patient-00001.html", "patient-00002.html", "patient-00003.html"]
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no staging left
    index = (out / "timeline.html").read_text(encoding="utf-8")
    assert "href='timeline/patient-00002.html'>P02</a>" in index
    assert "<svg" not in index and "<section" not in index
    patient = (out / "timeline" / "patient-00002.html").read_text(encoding="utf-8")
    assert "href='../timeline.html'" in patient and "Patient P02" in patient
    # and back to one page: the folder of pages goes with the patients it described
    run_monitor(paths[:5], out, command="esr1calls monitor")
    assert not (out / "timeline").exists()


def test_overview_pages_link_back_and_forth(tmp_path, monkeypatch):
    from esr1calls import monitor_html
    from esr1calls.monitor_report import run_monitor

    monkeypatch.setattr(monitor_html, "OVERVIEW_ROWS", 2)
    out = tmp_path / "out"
    run_monitor(_runs(tmp_path / "runs"), out, command="m", single_page_patients=1)
    second = (out / "timeline" / "overview-002.html").read_text(encoding="utf-8")
    assert "href='patient-00003.html'>P04</a>" in second and "href='../timeline.html'" in second
    assert "href='timeline/overview-002.html'>2</a>" in (out / "timeline.html").read_text()


def _facts(page, path: Path, screenshot: Path) -> dict:
    load_report(page, path)
    requests = [e["request"]["url"] for e in page.named("Network.requestWillBeSent")]
    assert requests == [path.resolve().as_uri()], f"the page fetched something: {requests}"
    assert not page.named("Runtime.exceptionThrown")
    errors = [e for e in page.named("Runtime.consoleAPICalled") if e.get("type") == "error"]
    errors += [e for e in page.named("Log.entryAdded") if e["entry"]["level"] == "error"]
    assert not errors, errors
    assert not page.named("Page.javascriptDialogOpening")
    facts = page.evaluate(
        """({
        title: document.title,
        scripts: document.scripts.length,
        svgs: document.querySelectorAll('svg[role=img]').length,
        svgsWithText: [...document.querySelectorAll('svg[role=img]')]
            .filter(s => s.querySelector('title').textContent
                && s.querySelector('desc').textContent).length,
        links: [...document.querySelectorAll('a')].map(a => a.getAttribute('href')),
        width: document.documentElement.scrollWidth,
        overflowing: [...document.querySelectorAll('td, th, p, h1, h2, h3')]
            .filter(e => e.scrollWidth > e.clientWidth + 1 && !e.closest('.wrap')).length,
        })"""
    )
    shot = page.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    screenshot.write_bytes(base64.b64decode(shot["data"]))
    assert facts["scripts"] == 0 and facts["svgs"] == facts["svgsWithText"]
    assert facts["width"] <= 1280 and facts["overflowing"] == 0, facts
    return facts


@pytest.mark.slow
def test_timeline_pages_render_offline_in_headless_chromium(tmp_path):
    """timeline.html (one page), and the index and a patient page of a paged cohort, load in
    Chromium with no script, no error, no network request, and nothing wider than the page."""
    from esr1calls.monitor_report import run_monitor

    paths = _runs(tmp_path / "runs")
    run_monitor(paths, tmp_path / "one", command="esr1calls monitor", reproducible=True)
    run_monitor(paths, tmp_path / "paged", command="esr1calls monitor", reproducible=True,
                single_page_patients=1)  # fmt: skip
    with chromium_page(tmp_path / "profile") as page:
        facts = _facts(page, tmp_path / "one" / "timeline.html", ARTIFACTS / "timeline.png")
        assert facts["title"] == "ESR1 monitoring — 3 patient(s)" and facts["svgs"] == 9
    with chromium_page(tmp_path / "profile-index") as page:
        facts = _facts(page, tmp_path / "paged" / "timeline.html", ARTIFACTS / "timeline-index.png")
        assert facts["svgs"] == 0 and "timeline/patient-00003.html" in facts["links"]
    with chromium_page(tmp_path / "profile-patient") as page:
        patient = tmp_path / "paged" / "timeline" / "patient-00002.html"
        facts = _facts(page, patient, ARTIFACTS / "timeline-patient.png")
        assert facts["title"] == "Patient P02" and facts["svgs"] == 3
