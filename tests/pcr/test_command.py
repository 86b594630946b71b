"""End to end through the real readers: the same plate from every instrument family gives the
same calls, and bad inputs are one-line errors."""

from __future__ import annotations

import csv
import json
import re
from pathlib import PurePath

import pytest

from esr1calls.testing import TESTDATA

PLATES = TESTDATA / "plates"
DEMO_MAP = PLATES / "esr1_demo_platemap.csv"
TUBE_MAP = PLATES / "rotorgene" / "esr1_demo_platemap.csv"
GOLDEN_CALLS = TESTDATA / "expected" / "pcr" / "demo.calls.tsv"

FAMILIES = [
    pytest.param(["quantstudio/esr1_demo_quantstudio.txt"], DEMO_MAP, id="quantstudio-txt"),
    pytest.param(["quantstudio/esr1_demo_quantstudio.xlsx"], DEMO_MAP, id="quantstudio-xlsx"),
    pytest.param(["quantstudio/esr1_demo_quantstudio.xls"], DEMO_MAP, id="quantstudio-xls"),
    pytest.param(["abi7500/esr1_demo_7500.txt"], DEMO_MAP, id="7500"),
    pytest.param(["abi7500/esr1_demo_steponeplus.csv"], DEMO_MAP, id="steponeplus"),
    pytest.param(["cfx/esr1_demo_cfx - Quantification Cq Results.csv"], DEMO_MAP, id="cfx-csv"),
    pytest.param(["cfx/esr1_demo_cfx - Quantification Cq Results.xlsx"], DEMO_MAP, id="cfx-xlsx"),
    pytest.param(["cfx/esr1_demo_cfx_semicolon - Quantification Cq Results.csv"], DEMO_MAP,
                 id="cfx-semicolon"),
    pytest.param([f"lightcycler480/esr1_demo_lc480_{f}.txt"
                  for f in ("fam_465-510", "hex_533-580", "rox_533-610", "cy5_618-660")],
                 DEMO_MAP, id="lightcycler480-4-files"),
    pytest.param(["lightcycler96/esr1_demo_lc96.csv"], DEMO_MAP, id="lightcycler96"),
    pytest.param(["rotorgene/esr1_demo_rotorgene.csv"], TUBE_MAP, id="rotorgene"),
    pytest.param(["slan/esr1_demo_slan.xlsx"], DEMO_MAP, id="slan"),
    pytest.param(["rdml/esr1_demo_rdml12.rdml"], DEMO_MAP, id="rdml"),
    pytest.param(["generic/esr1_demo_generic.csv"], DEMO_MAP, id="generic"),
]  # fmt: skip


def _calls_without_source(path):
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return [{k: v for k, v in row.items() if k != "source"} for row in rows]


@pytest.mark.parametrize("exports, plate_map", FAMILIES)
def test_every_instrument_family_gives_the_demo_calls(exports, plate_map, run_cli, tmp_path,
                                                      validate_calls_json):  # fmt: skip
    out = tmp_path / "out"
    result = run_cli(["pcr", *[PLATES / e for e in exports], "--plate-map", plate_map, "-o", out,
                      "--reproducible", "-v"])  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "Detected plate format" in result.stderr
    assert _calls_without_source(out / "calls.tsv") == _calls_without_source(GOLDEN_CALLS)
    document = validate_calls_json(out / "calls.json")
    assert document["run"]["kit"]["id"] == "esr1-11-arms-example"
    assert any("PLACEHOLDER" in n for n in document["run"]["notices"])
    formats = {i["format"] for i in document["run"]["inputs"]}
    assert "plate map" in formats and any(f.startswith("plate export") for f in formats)
    assert all(len(i["sha256"]) == 64 for i in document["run"]["inputs"])


def test_verbose_shows_each_runs_controls(run_cli, tmp_path):
    args = ["pcr", PLATES / "generic" / "esr1_demo_generic.csv", "--plate-map", DEMO_MAP,
            "-o", tmp_path]  # fmt: skip
    quiet, verbose = run_cli(args), run_cli([*args, "-v"])
    assert quiet.exit_code == verbose.exit_code == 0
    assert "run controls" not in quiet.stderr
    lines = [line for line in verbose.stderr.splitlines() if "run controls" in line]
    assert len(lines) == 1 and re.fullmatch(
        r"esr1calls: run \S+: 9 sample\(s\), run controls passed", lines[0]
    ), verbose.stderr


def test_reproducible_pcr_reports_are_byte_identical(run_cli, tmp_path):
    args = ["pcr", PLATES / "generic" / "esr1_demo_generic.csv", "--plate-map", DEMO_MAP,
            "--reproducible"]  # fmt: skip
    names = ("calls.json", "calls.tsv", "samples.tsv")
    assert run_cli([*args, "-o", tmp_path / "out"]).exit_code == 0
    first = {name: (tmp_path / "out" / name).read_bytes() for name in names}
    assert run_cli([*args, "-o", tmp_path / "out"]).exit_code == 0
    assert first == {name: (tmp_path / "out" / name).read_bytes() for name in names}


def test_unknown_export_is_a_one_line_error_and_writes_nothing(run_cli, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("hello\n")
    result = run_cli(["pcr", notes, "--plate-map", DEMO_MAP, "-o", tmp_path / "out"])
    assert result.exit_code == 1
    assert result.stderr.startswith("esr1calls: error: notes.txt: not a recognised plate export")
    assert len(result.stderr.splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_plate_map_error_names_the_line(run_cli, tmp_path):
    bad_map = tmp_path / "map.csv"
    bad_map.write_text("well,sample_id,role,mix\nA1,PC,PC,RM7\n")
    result = run_cli(["pcr", PLATES / "generic" / "esr1_demo_generic.csv", "--plate-map", bad_map,
                      "-o", tmp_path / "out"])  # fmt: skip
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "esr1calls: error: map.csv, line 2: mix 'RM7' is not a mix of kit esr1-11-arms-example "
        "(RM1, RM2, RM3, RM4, RM5)"
    )


def test_forced_format_that_does_not_fit_is_an_error(run_cli, tmp_path):
    result = run_cli(["pcr", PLATES / "generic" / "esr1_demo_generic.csv", "--plate-map", DEMO_MAP,
                      "--format", "rdml", "-o", tmp_path / "out"])  # fmt: skip
    assert result.exit_code == 1
    assert result.stderr.startswith("esr1calls: error: esr1_demo_generic.csv")
    assert "drop --format or pass --format generic" in result.stderr
    assert len(result.stderr.splitlines()) == 1


# --------------------------------------------------------------------------- the export's names
def _edited(source, target, change):
    """A copy of a demo export with ``change(cells) -> cells`` applied to each delimited line."""
    text = source.read_bytes().decode("utf-8")
    delimiter = max(("\t", ";", ","), key=text.count)
    # the line ends (CRLF, CR or LF, as each instrument writes them) are kept as they were
    parts = re.split(r"(\r\n|\r|\n)", text)
    parts[::2] = [delimiter.join(change(line.split(delimiter))) for line in parts[::2]]
    target.write_bytes("".join(parts).encode("utf-8"))
    assert target.read_bytes() != source.read_bytes()
    return target


def _swap(a, b):
    return lambda cells: [b if c == a else a if c == b else c for c in cells]


MIX_MOVED = {"D538G": "Y537S", "E380Q": "S463P", "L536H": "L536P"}


def _mix_moved(cells):
    """Wells A6 and B6 hold each other's mix (RM1 <-> RM2) by the export's target names."""
    if not {"A6", "A06", "B6", "B06"} & set(cells):
        return cells
    swap = {**MIX_MOVED, **{v: k for k, v in MIX_MOVED.items()}}
    return [swap.get(c, c) for c in cells]


def _rows(path, samples):
    rows = _calls_without_source(path)
    return [r for r in rows if r["sample_id"] in samples]


NAMED_FAMILIES = [
    pytest.param(["quantstudio/esr1_demo_quantstudio.txt"], DEMO_MAP, _swap("S1", "S2"),
                 {"S1", "S2"}, id="quantstudio-txt-swapped"),
    pytest.param(["cfx/esr1_demo_cfx - Quantification Cq Results.csv"], DEMO_MAP, _mix_moved,
                 {"S3"}, id="cfx-csv-mix-moved"),
    pytest.param([f"lightcycler480/esr1_demo_lc480_{f}.txt"
                  for f in ("fam_465-510", "hex_533-580", "rox_533-610", "cy5_618-660")],
                 DEMO_MAP, _swap("S1", "S2"), {"S1", "S2"}, id="lightcycler480-name-swapped"),
    pytest.param(["rotorgene/esr1_demo_rotorgene.csv"], TUBE_MAP, _swap("S4", "S9"),
                 {"S4", "S9"}, id="rotorgene-swapped"),
    pytest.param(["generic/esr1_demo_generic.csv"], DEMO_MAP, _swap("S2", "S6"),
                 {"S2", "S6"}, id="generic-swapped"),
]  # fmt: skip


@pytest.mark.parametrize("exports, plate_map, change, doubted", NAMED_FAMILIES)
def test_a_map_the_exports_names_contradict_invalidates_those_samples(
    exports, plate_map, change, doubted, run_cli, tmp_path, validate_calls_json
):
    edited = [_edited(PLATES / e, tmp_path / PurePath(e).name, change) for e in exports]
    out = tmp_path / "out"
    result = run_cli(["pcr", *edited, "--plate-map", plate_map, "-o", out, "--reproducible"])
    assert result.exit_code == 0, result.stderr
    others = {f"S{i}" for i in range(1, 10)} - doubted
    assert _rows(out / "calls.tsv", others) == _rows(GOLDEN_CALLS, others)
    mine = _rows(out / "calls.tsv", doubted)
    assert len(mine) == 11 * len(doubted)
    assert {(r["status"], r["reasons"]) for r in mine} == {("INVALID", "MAP_EXPORT_MISMATCH")}
    document = validate_calls_json(out / "calls.json")
    assert document["run"]["thresholds"]["trust_map"]["value"] is False
    failed = [q for q in document["run_qc"] if not q["passed"]]
    assert failed and {q["reason"] for q in failed} == {"MAP_EXPORT_MISMATCH"}

    trusted = tmp_path / "trusted"
    result = run_cli(["pcr", *edited, "--plate-map", plate_map, "-o", trusted, "--reproducible",
                      "--trust-map"])  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert _calls_without_source(trusted / "calls.tsv") == _calls_without_source(GOLDEN_CALLS)
    document = validate_calls_json(trusted / "calls.json")
    assert document["run"]["thresholds"]["trust_map"] == {"value": True, "source": "--trust-map"}
    assert any("--trust-map: the plate map was trusted" in n for n in document["run"]["notices"])
    assert all(q["passed"] for q in document["run_qc"])
    assert "--trust-map" in document["run"]["command"]


def test_an_ntc_swapped_with_a_sample_invalidates_the_run(run_cli, tmp_path):
    def change(cells):
        return _swap("NTC", "S5")(cells) if cells[0] in ("A2", "A8") else cells

    edited = _edited(PLATES / "generic" / "esr1_demo_generic.csv", tmp_path / "plate.csv", change)
    out = tmp_path / "out"
    result = run_cli(["pcr", edited, "--plate-map", DEMO_MAP, "-o", out, "--reproducible"])
    assert result.exit_code == 0, result.stderr
    rows = _calls_without_source(out / "calls.tsv")
    assert {(r["status"], r["reasons"].split(";")[0]) for r in rows} == {
        ("INVALID", "MAP_EXPORT_MISMATCH")
    }


def test_trust_map_is_in_the_help(run_cli):
    result = run_cli(["pcr", "--help"])
    assert "--trust-map" in result.stdout and "MAP_EXPORT_MISMATCH" in result.stdout


def test_a_batch_manifest_passes_trust_map_per_job(run_cli, tmp_path):
    _edited(PLATES / "generic" / "esr1_demo_generic.csv", tmp_path / "plate.csv", _swap("S1", "S2"))
    manifest = tmp_path / "manifest.tsv"
    manifest.write_text(
        "id\ttype\tinputs\tplate_map\tkit\tsample\toptions\n"
        f"checked\tpcr\tplate.csv\t{DEMO_MAP}\t\t\t\n"
        f"trusted\tpcr\tplate.csv\t{DEMO_MAP}\t\t\ttrust_map\n"
        f"explicit\tpcr\tplate.csv\t{DEMO_MAP}\t\t\ttrust-map=false\n"
    )
    out = tmp_path / "out"
    result = run_cli(["batch", manifest, "-o", out, "--reproducible"])
    assert result.exit_code == 0, result.stderr
    with (out / "samples.tsv").open(encoding="utf-8") as handle:
        status = {(r["job_id"], r["sample_id"]): r["status"]
                  for r in csv.DictReader(handle, delimiter="\t")}  # fmt: skip
    assert status["checked", "S1"] == status["explicit", "S2"] == "INVALID"
    assert (status["trusted", "S1"], status["trusted", "S2"]) == ("NEGATIVE", "POSITIVE")


def test_a_rotor_gene_channel_named_after_one_hotspot_is_no_contradiction(run_cli, tmp_path):
    # Rotor-Gene names a channel's analysis, which covers every tube and so every mix: the name
    # says nothing about one tube (a per-well export naming every FAM well D538G would contradict)
    edited = _edited(PLATES / "rotorgene" / "esr1_demo_rotorgene.csv", tmp_path / "rgq.csv",
                     lambda cells: [c.replace("ESR1 mut FAM", "D538G") for c in cells])  # fmt: skip
    out = tmp_path / "out"
    result = run_cli(["pcr", edited, "--plate-map", TUBE_MAP, "-o", out, "--reproducible"])
    assert result.exit_code == 0, result.stderr
    assert _calls_without_source(out / "calls.tsv") == _calls_without_source(GOLDEN_CALLS)
    document = json.loads((out / "calls.json").read_text(encoding="utf-8"))
    rows = {q["subject"]: q["value"] for q in document["run_qc"] if q["check"] == "map vs export"}
    assert rows["target names"] == "the export names none"
    assert rows["sample names"] == "60 wells: 60 agree, 0 contradict, 0 unknown, 0 generic"
