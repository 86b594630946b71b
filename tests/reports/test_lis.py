"""results_lis.csv: one row per sample x hotspot, UTF-8 with a BOM and CRLF, formula-guarded,
read back with the csv module and with pandas."""

from __future__ import annotations

import csv
import io

import pandas as pd

from esr1calls.reports.lis import LIS_COLUMNS, LIS_CSV, render_lis_csv
from esr1calls.testing import REPO, TESTDATA
from esr1calls.testing.golden import assert_golden
from esr1calls.testing.plates import DEMO_MAP

from .test_hl7 import ngs_document, pcr_document

EXPECTED = TESTDATA / "expected" / "reports" / "lis"


def rows(text):
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:], newline="")))


def test_pcr_rows_match_golden():
    text = render_lis_csv(pcr_document())
    # the golden file is read with universal newlines: CRLF is checked below
    assert_golden(text.replace("\r\n", "\n"), EXPECTED / "pcr_lis.csv")


def test_bom_crlf_and_one_row_per_sample_and_hotspot():
    document = pcr_document()
    data = render_lis_csv(document).encode("utf-8")
    assert data.startswith(b"\xef\xbb\xbf")
    lines = data[3:].split(b"\r\n")
    assert lines[-1] == b"" and not any(b"\n" in line or b"\r" in line for line in lines)
    found = rows(data.decode("utf-8"))
    assert list(found[0]) == list(LIS_COLUMNS)
    expected = [(s["sample_id"], c["hotspot"]) for s in document["samples"] for c in s["calls"]]
    assert [(r["sample_id"], r["hotspot"]) for r in found] == expected


def test_pandas_reads_it_as_excel_would():
    document = pcr_document()
    table = pd.read_csv(io.BytesIO(render_lis_csv(document).encode("utf-8")), encoding="utf-8-sig",
                        dtype=str, keep_default_na=False)  # fmt: skip
    assert list(table.columns) == list(LIS_COLUMNS)  # the BOM is not part of the first name
    assert len(table) == sum(len(s["calls"]) for s in document["samples"])
    s2 = table[table.sample_id == "S2"]
    assert set(s2.patient_id) == {"P-0042"} and set(s2.sample_result) == {"POSITIVE"}
    assert set(s2.sample_result_code) == {"LA6576-8"}
    detected = s2[s2.call == "DETECTED"]
    assert set(detected.result) == {"Present"} and set(detected.result_code) == {"LA9633-4"}
    assert set(detected.allele_fraction) == {""}  # a delta-Ct estimate is not a measurement
    s7 = table[table.sample_id == "S7"]
    assert set(s7.call) == {"INVALID"} and set(s7.result_code) == {"LA18198-4"}
    assert set(table[table.sample_id == "S1"].result) == {"Absent"}


def test_text_from_inputs_is_guarded_and_quoted():
    hostile = ('=HYPERLINK("http://x","y")', "a,b\r\nc")
    document = ngs_document(names=hostile)
    text = render_lis_csv(document)
    found = rows(text)
    ids = {r["sample_id"] for r in found}
    assert ids == {"'" + hostile[0], "a,b c"}
    assert len(found) == sum(len(s["calls"]) for s in document["samples"])
    for row in found:
        assert not any(v.lstrip(" ").startswith(("=", "+", "-", "@")) for v in row.values())
    ngs = [r for r in found if r["allele_fraction"] not in ("", "0")]
    assert ngs and all(0 < float(r["allele_fraction"]) < 1 for r in ngs)  # fractions, never %


def test_pcr_command_writes_it(tmp_path, run_cli):
    plate = REPO / "testdata" / "plates" / "esr1_demo_plate.tsv"
    args = ["pcr", plate, "--plate-map", DEMO_MAP, "-o", tmp_path, "--reproducible", "--lis-csv"]
    result = run_cli(args)
    assert result.exit_code == 0, result.stderr
    data = (tmp_path / LIS_CSV).read_bytes()
    assert data.startswith(b"\xef\xbb\xbfpatient_id,sample_id,") and b"\r\n" in data
    # a re-run without --lis-csv writes another calls.json (its command differs): the LIS file
    # of the earlier calls must not stay beside it
    again = run_cli(args[:-1])
    assert again.exit_code == 0 and not (tmp_path / LIS_CSV).exists()
