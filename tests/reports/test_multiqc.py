"""MultiQC custom content, checked against the structure MultiQC documents for *_mqc.json files
(docs: Custom content, "MultiQC-specific data file"), and by MultiQC itself (tests/multiqc_tool.py:
`make test` installs it into .venv/multiqc; elsewhere those tests skip without it)."""

from __future__ import annotations

import json

import pytest

from esr1calls.reports.calls_json import to_json_document
from esr1calls.reports.multiqc import GENERAL_STATS_ID, TABLE_ID, multiqc_sections
from esr1calls.reports.options import ReportOptions
from esr1calls.reports.write import write_reports
from esr1calls.testing import TESTDATA
from esr1calls.testing.runs import NGS_COMMAND, PCR_COMMAND, ngs_run, pcr_run

from ..multiqc_tool import run_multiqc, tsv_samples

PLOT_TYPES = {"generalstats", "table", "bargraph", "linegraph", "boxplot", "scatter", "heatmap",
              "violin", "html"}  # fmt: skip


@pytest.fixture(scope="module")
def sections():
    return multiqc_sections(
        to_json_document(pcr_run(), ReportOptions(PCR_COMMAND, reproducible=True))
    )


def MULTIQC(command: str) -> ReportOptions:  # noqa: N802 (reads like the options it makes)
    return ReportOptions(command, formats=frozenset({"multiqc"}))


def test_file_names_are_found_by_multiqc_without_configuration(sections):
    assert all(name.endswith("_mqc.json") for name in sections)


def test_documented_structure(sections):
    table = sections["esr1calls_calls_mqc.json"]
    assert table["id"] == TABLE_ID and table["plot_type"] in PLOT_TYPES
    assert table["plot_type"] == "table" and table["section_name"]
    assert isinstance(table["pconfig"], dict) and table["pconfig"]["id"]
    assert isinstance(table["headers"], dict)
    # data: sample -> {column: value}; every column has a header
    assert list(table["data"]) == [f"S{i}" for i in range(1, 10)]
    for row in table["data"].values():
        assert set(row) <= set(table["headers"])
    assert table["data"]["S2"]["D538G"] == "DETECTED (2.51 %)"
    assert table["data"]["S5"]["Y537S"] == "INVALID [IC_FAIL]"
    general = sections["esr1calls_general_stats_mqc.json"]
    assert general["id"] == GENERAL_STATS_ID and general["plot_type"] == "generalstats"
    # general stats headers are a list of one-key dicts, which fixes the column order
    assert isinstance(general["headers"], list) and all(len(h) == 1 for h in general["headers"])
    columns = [next(iter(h)) for h in general["headers"]]
    for row in general["data"].values():
        assert set(row) == set(columns)
    assert general["data"]["S2"] == {
        "esr1_status": "POSITIVE", "esr1_detected": "E380Q, V422del, D538G",
        "esr1_n_detected": 3, "esr1_method": "PCR",
    }  # fmt: skip


def test_section_description_carries_the_audit_trail(sections):
    document = to_json_document(pcr_run(), ReportOptions(PCR_COMMAND, reproducible=True))
    description = sections["esr1calls_calls_mqc.json"]["description"]
    assert "review status: <strong>unreviewed</strong>" in description
    assert document["tool"]["version"] in description and PCR_COMMAND in description
    assert document["run"]["kit"]["sha256"] in description and "PLACEHOLDER" in description
    assert document["run"]["panel"]["sha256"] in description
    for item in document["run"]["inputs"]:
        assert item["sha256"] in description


def test_hostile_names_are_escaped_for_multiqc_html(tmp_path):
    names = ('=HYPERLINK("x")', "<script>alert(1)</script>")
    write_reports(ngs_run(names), tmp_path, MULTIQC(NGS_COMMAND))
    for path in tmp_path.glob("*_mqc.json"):
        section = json.loads(path.read_text())
        assert list(section["data"]) == [
            "=HYPERLINK(&quot;x&quot;)", "&lt;script&gt;alert(1)&lt;&#47;script&gt;"
        ]  # fmt: skip
        assert "<script" not in path.read_text()


def test_only_written_when_asked(tmp_path):
    write_reports(pcr_run(), tmp_path, ReportOptions(PCR_COMMAND))
    assert not list(tmp_path.glob("*_mqc.json"))


@pytest.mark.slow
def test_real_multiqc_finds_our_section(tmp_path):
    write_reports(pcr_run(), tmp_path / "in", MULTIQC(PCR_COMMAND))
    run_multiqc(tmp_path / "in", tmp_path / "out")
    data = tmp_path / "out" / "multiqc_data"
    general = (data / "multiqc_general_stats.txt").read_text().splitlines()
    assert "esr1_status" in general[0] and any(line.startswith("S2\t") for line in general)
    table = (data / "multiqc_esr1calls_calls_table.txt").read_text().splitlines()
    assert table[0].split("\t")[:3] == ["Sample", "method", "status"] and len(table) == 10


@pytest.mark.slow
def test_real_multiqc_shows_every_sample_of_a_two_plate_batch(tmp_path, run_cli):
    """The bug as a user met it: `multiqc OUTDIR` after `batch --multiqc` of two plates whose
    samples are both S1..S9 showed 9 rows, one plate overwriting the other without a word."""
    data = tmp_path / "data"
    data.mkdir()
    for name, plate in (("plate1.csv", "generic/esr1_demo_generic.csv"),
                        ("plate2.txt", "quantstudio/esr1_demo_quantstudio.txt")):  # fmt: skip
        (data / name).write_bytes((TESTDATA / "plates" / plate).read_bytes())
    (data / "map.csv").write_bytes((TESTDATA / "plates" / "esr1_demo_platemap.csv").read_bytes())
    (data / "manifest.tsv").write_text(
        "id\ttype\tinputs\tplate_map\nplate1\tpcr\tplate1.csv\tmap.csv\n"
        "plate2\tpcr\tplate2.txt\tmap.csv\n"
    )
    out = tmp_path / "out"
    result = run_cli(["batch", data / "manifest.tsv", "-o", out, "-j", "1", "--multiqc"])
    assert result.exit_code == 0, result.stderr
    report = run_multiqc(out, tmp_path / "multiqc")
    expected = {f"{plate}:S{n}" for plate in ("plate1", "plate2") for n in range(1, 10)}
    tables = tmp_path / "multiqc" / "multiqc_data"
    assert set(tsv_samples(tables / "multiqc_general_stats.txt")) == expected
    assert set(tsv_samples(tables / "multiqc_esr1calls_calls_table.txt")) == expected
    saved = report["report_saved_raw_data"]["multiqc_esr1calls_calls_table"]
    assert set(saved) == expected
    assert saved["plate1:S2"]["status"] == "POSITIVE"
    html = (tmp_path / "multiqc" / "multiqc_report.html").read_text()
    assert "plate1:S9" in html and "plate2:S9" in html
    # one description, naming both plates (MultiQC shows the one section once)
    assert "<strong>plate1</strong>, <strong>plate2</strong>" in html


def _loaded(path, document):
    from esr1calls.reports.merge import LoadedCalls

    return LoadedCalls(path, str(abs(hash(str(path)))).rjust(64, "0"), document)


def test_merged_runs_are_keyed_run_sample_and_described_together(tmp_path):
    from pathlib import Path

    from esr1calls.reports.document import source_labels
    from esr1calls.reports.merge import merge_documents

    pcr = to_json_document(pcr_run(), ReportOptions(PCR_COMMAND, reproducible=True))
    ngs = to_json_document(ngs_run(("S1", "S2")), ReportOptions(NGS_COMMAND, reproducible=True))
    options = ReportOptions("esr1calls report ...", reproducible=True)
    loaded = [_loaded(Path("week1/plate/calls.json"), pcr),
              _loaded(Path("week2/plate/calls.json"), pcr),
              _loaded(Path("calls.json"), ngs)]  # fmt: skip
    cohort = merge_documents(loaded, options)
    # folders of one name take their parents; a path with no folder is its source number
    assert source_labels(cohort) == ["week1/plate", "week2/plate", "source 3"]
    table = multiqc_sections(cohort)["esr1calls_calls_mqc.json"]
    rows = list(table["data"])
    assert len(rows) == len(set(rows)) == 9 + 9 + 2
    assert rows[:2] == ["week1&#47;plate:S1", "week1&#47;plate:S2"]
    assert rows[-2:] == ["source 3:S1", "source 3:S2"]
    description = table["description"]
    assert "3 runs combined" in description
    assert description.count(f"<code>{PCR_COMMAND}</code>") == 2
    assert f"Run <strong>source 3</strong> <code>{NGS_COMMAND}</code>" in description
    # each run's notices under its name, once each
    assert "<strong>Notice (week1/plate):</strong> Kit" in description
    assert "<strong>Notice (source 3):</strong> No panel of normals" in description
