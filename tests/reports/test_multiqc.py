"""MultiQC custom content, checked against the structure MultiQC documents for *_mqc.json files
(docs: Custom content, "MultiQC-specific data file"). MultiQC itself (~1 GB with its plotting
stack) is not a test dependency; the last test runs it when it happens to be installed."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from esr1calls.reports.multiqc import GENERAL_STATS_ID, TABLE_ID, multiqc_sections
from esr1calls.reports.write import ReportOptions, to_json_document, write_reports
from esr1calls.testing.runs import NGS_COMMAND, PCR_COMMAND, ngs_run, pcr_run

PLOT_TYPES = {"generalstats", "table", "bargraph", "linegraph", "boxplot", "scatter", "heatmap",
              "violin", "html"}  # fmt: skip


@pytest.fixture(scope="module")
def sections():
    return multiqc_sections(
        to_json_document(pcr_run(), ReportOptions(PCR_COMMAND, reproducible=True))
    )


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
    write_reports(ngs_run(names), tmp_path, ReportOptions(NGS_COMMAND, multiqc=True))
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
    """Runs only where MultiQC is installed (pip install multiqc): not a test dependency."""
    multiqc = shutil.which("multiqc")
    if multiqc is None:
        pytest.skip("multiqc is not installed (about 1 GB with its plotting stack)")
    write_reports(pcr_run(), tmp_path / "in", ReportOptions(PCR_COMMAND, multiqc=True))
    done = subprocess.run([multiqc, str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--no-ai"],
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    data = tmp_path / "out" / "multiqc_data"
    general = (data / "multiqc_general_stats.txt").read_text().splitlines()
    assert "esr1_status" in general[0] and any(line.startswith("S2\t") for line in general)
    table = (data / "multiqc_esr1calls_calls_table.txt").read_text().splitlines()
    assert table[0].split("\t")[:3] == ["Sample", "method", "status"] and len(table) == 10
