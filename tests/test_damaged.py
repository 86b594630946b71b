"""The damaged-input corpus: every file in testdata/damaged/ is run as a user runs it, and what the
user gets must equal testdata/expected/damaged/<name>.txt, written in one format for every input:

    $ esr1calls ARGS...                     each command run (paths as given, OUTDIR, TMP)
    exit CODE
    stdout: LINE                            what it printed
    stderr: LINE                            an error is exactly one line, and no report is written
    notice: TEXT                            calls.json's notices (the example kit's left out)
    dropped: FILE, PLACE: REASON            calls.json's dropped rows and records
    sample: ID STATUS
    call: ID HOTSPOT STATUS REASONS [ALT/DEPTH]
      disagreement: TEXT                    where records or sources disagree
    job error: JOB_ID: ERROR                batch: batch_errors.tsv

A case lists the commands that read its file (a kit is read by `kit validate` and by `pcr`), and
what they need beside it (a copy of the signed folder, two runs to validate or monitor).
Update deliberately, in its own commit (review `git diff testdata/expected/damaged`):
    ESR1CALLS_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_damaged.py
"""

from __future__ import annotations

import csv
import json
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from esr1calls.cli import cli
from esr1calls.testing import REPO
from esr1calls.testing.golden import assert_golden

from . import monitor_factory as monitor
from .real_cli import run_esr1calls

DAMAGED = Path("testdata/damaged")  # relative to the repository: messages name files as given
EXPECTED = REPO / "testdata" / "expected" / "damaged"
DEMO_MAP = "testdata/plates/esr1_demo_platemap.csv"
DEMO_TABLE = "testdata/plates/esr1_demo_plate.tsv"
LC480_OTHERS = tuple(
    f"testdata/plates/lightcycler480/esr1_demo_lc480_{slug}.txt"
    for slug in ("hex_533-580", "rox_533-610", "cy5_618-660")
)
DPCR_MAP = "testdata/dpcr/esr1_demo_dpcr_platemap.csv"
SIGNED = REPO / "testdata" / "audit" / "signed"
KEY_FILE = str(REPO / "testdata" / "audit" / "test-hmac.key")
AUDIT_REPLACES = {".json": "calls.json", ".html": "report.html", ".jsonl": "audit.jsonl"}
VALIDATE_VCF = "testdata/vcf/generic/esr1_ad_dp.vcf"
FILE, OUT = "{file}", "{out}"
EXAMPLE_KIT_NOTICE = "uses PLACEHOLDER values"


def _pcr(*others: str, options: Sequence[str] = ()) -> tuple[tuple[str, ...], ...]:
    return (("pcr", FILE, *others, "--plate-map", DEMO_MAP, *options, "-o", OUT),)


def _ngs(*options: str) -> tuple[tuple[str, ...], ...]:
    return (("ngs", FILE, *options, "-o", OUT, "--reproducible"),)


def _index_newer_than_its_file(tmp: Path, name: str) -> dict[str, str]:
    """A copy of the VCF and its index, the index made newer than the data (git keeps no file
    times), as it was when the data was replaced by a copy that kept its old time: only the
    index's content can betray it."""
    for suffix in ("", ".tbi"):
        shutil.copy(REPO / DAMAGED / f"{name}{suffix}", tmp / f"{name}{suffix}")
    later = (tmp / name).stat().st_mtime + 60
    os.utime(tmp / f"{name}.tbi", (later, later))
    return {"file": str(tmp / name)}


def _signed_folder_with_it(tmp: Path, name: str) -> dict[str, str]:
    """A copy of the signed folder with the damaged file in its namesake's place."""
    shutil.copytree(SIGNED, tmp / "signed")
    shutil.copy(REPO / DAMAGED / name, tmp / "signed" / AUDIT_REPLACES[Path(name).suffix])
    return {}


def _two_runs_to_monitor(tmp: Path, name: str) -> dict[str, str]:
    """plate1 and plate2, each with samples S1 and S2 (plate2's S1 recorded as PT-2's)."""
    s1, s2 = monitor.sample("S1", "PCR", []), monitor.sample("S2", "PCR", [])
    pt2 = monitor.sample("S1", "PCR", [], patient="PT-2", collected="2024-03-05")
    monitor.write(tmp / "plate1", monitor.document([s1, s2], "esr1calls pcr 1"))
    monitor.write(tmp / "plate2", monitor.document([pt2, s2], "esr1calls pcr 2"))
    return {}


def _in_a_run_folder(tmp: Path, name: str) -> dict[str, str]:
    (tmp / "cut").mkdir()
    shutil.copy(REPO / DAMAGED / name, tmp / "cut" / "calls.json")
    return {}


def _two_runs_to_validate(tmp: Path, name: str) -> dict[str, str]:
    """Two calls.json of one NGS sample (two runs of one VCF), and a design naming it."""
    for run in ("first", "second"):
        args = ["ngs", VALIDATE_VCF, "-o", str(tmp / run), "--reproducible"]
        assert _run(args, real=False).exit_code == 0
    (tmp / "design.csv").write_text("sample_id,expected_fraction\nPLASMA_10,0\n", encoding="utf-8")
    return {f"{run}": str(tmp / run / "calls.json") for run in ("first", "second")} | {
        "design": str(tmp / "design.csv")
    }


@dataclass(frozen=True)
class Case:
    commands: tuple[tuple[str, ...], ...]  # {file}, {out} and what setup names filled in
    real: bool = False  # the installed command in its own process: htslib writes to fd 2 itself
    setup: Callable[[Path, str], dict[str, str]] | None = None  # makes what the commands need
    in_tmp: bool = False  # run in the setup's folder (paths in the messages are relative to it)


BATCH = (("batch", FILE, "-o", OUT, "-j", "1", "--reproducible"),)
KIT_COMMANDS = (
    ("kit", "validate", FILE),
    ("pcr", DEMO_TABLE, "--plate-map", DEMO_MAP, "--kit", FILE, "-o", OUT),
)
DPCR = (("dpcr", FILE, "--plate-map", DPCR_MAP, "-o", OUT),)
VERIFY = Case((("verify", "signed", "--key-file", KEY_FILE),), setup=_signed_folder_with_it,
              in_tmp=True)  # fmt: skip
MONITOR = Case(
    (("monitor", "plate1/calls.json", "plate2/calls.json", "--samples", FILE, "-o", OUT),),
    setup=_two_runs_to_monitor, in_tmp=True,
)  # fmt: skip
LOD = Case((("validate", "lod", "{first}", "--design", FILE, "-o", OUT),),
           setup=_two_runs_to_validate)  # fmt: skip
CASES: dict[str, Case] = {
    # plate exports (cut short, blank lines, RDML, an Excel error cell)
    "cfx_cut_inside_cq.csv": Case(_pcr()),  # '35.33' cut to '3': a Cq of 3 was a DETECTED
    "cfx_cut_inside_cq_then_a_line_end.csv": Case(_pcr()),  # the same, given a line end
    "cfx_cut_at_a_line_end.csv": Case(_pcr()),  # the Cy5 block stops part-way
    "lc480_cut_before_last_cp.txt": Case(_pcr(*LC480_OTHERS)),  # an empty Cp read as no amp
    "generic_cut_after_last_separator.csv": Case(_pcr()),  # an empty ct read as no amplification
    "generic_ntc_ic_row_missing.csv": Case(_pcr()),  # was CONTROL_IC_FAIL, a failed control
    "generic_ct_zero_for_no_ct.csv": Case(_pcr()),  # a Ct of 0.00 was Y537S DETECTED
    "abi7500_utf16_cut_inside_a_character.txt": Case(_pcr()),  # was refused as "binary data"
    "quantstudio_blank_line_in_results.txt": Case(_pcr()),  # the RM5 rows were taken for a footer
    "rdml_cut_inside_a_react.xml": Case(_pcr()),  # one-line XML: the error names the react
    "rdml_runs_not_one_plate.xml": Case(_pcr()),  # was "well A1, dye FAM appears twice"
    "slan_error_cell.xls": Case(_pcr()),  # an Excel error cell in the Ct column
    # plate maps the export's own names contradict
    "quantstudio_samples_swapped.txt": Case(_pcr()),
    "cfx_mix_moved.csv": Case(_pcr()),
    "generic_ntc_and_sample_swapped.csv": Case(_pcr()),
    # kits
    "kit_reportable_fraction_as_percent.toml": Case(KIT_COMMANDS),
    # VCFs
    "vcf_index_made_before_the_file_was_replaced.vcf.gz": Case(
        _ngs(), real=True, setup=_index_newer_than_its_file
    ),
    "vcf_record_cut_mid_line.vcf": Case(_ngs(), real=True),
    "vcf_last_record_without_line_end.vcf": Case(_ngs(), real=True),
    "vcf_chrom_line_with_spaces.vcf": Case(_ngs(), real=True),
    "vcf_same_allele_in_two_runs_records.vcf": Case(_ngs(), real=True),
    # BAMs (scripts/make_bam_fixtures.py writes them)
    "bam_mate_suffixes.bam": Case(_ngs()),
    "bam_unmarked_duplicates.bam": Case(_ngs()),
    "bam_read_group_without_sm.bam": Case(_ngs()),
    "bam_chr6_test_contig.bam": Case(_ngs("--build", "GRCh38")),
    "bam_unsorted.bam": Case(_ngs()),
    # batch manifests
    "batch_bom_crlf_line_numbers.tsv": Case(BATCH),
    "batch_column_twice.tsv": Case(BATCH),
    "batch_id_is_a_cohort_table.tsv": Case(BATCH),
    "batch_id_is_a_path.tsv": Case(BATCH),
    "batch_ids_differ_in_case.tsv": Case(BATCH),
    "batch_open_quote.tsv": Case(BATCH),
    "batch_option_twice.tsv": Case(BATCH),
    "batch_row_repeated.tsv": Case(BATCH),
    # dPCR exports (scripts/make_dpcr_fixtures.py writes them)
    "quantasoft_cut_inside_accepted_droplets.csv": Case(
        DPCR
    ),  # 17745 cut to 177: never a smaller N
    "qxmanager_no_call_count.csv": Case(DPCR),  # No Call where a count should be: never zero
    "quantasoft_well_and_target_twice.csv": Case(DPCR),  # a (well, target) row repeated
    "quantasoft_combinations_disagree.csv": Case(DPCR),  # Ch1+Ch2- no longer gives FAM positives
    "absoluteq_combination_row_missing.csv": Case(DPCR),  # a combination row lost mid-file
    "qxmanager_samples_swapped.csv": Case(DPCR),  # P1 and N1 swapped in the D538G wells
    "qiacuity_micro_sign_misencoded.csv": Case(DPCR),  # µ for µ in the header: read as the demo
    # review records: each replaces its namesake in the signed folder (make_audit_fixtures.py)
    "audit_calls_json_call_rewritten.json": VERIFY,
    "audit_first_line_deleted.jsonl": VERIFY,
    "audit_last_line_deleted.jsonl": VERIFY,
    "audit_line_edited.jsonl": VERIFY,
    "audit_line_forged_without_the_key.jsonl": VERIFY,
    "audit_lines_reordered.jsonl": VERIFY,
    "audit_report_html_cut_short.html": VERIFY,
    # monitoring: sample sheets read against two runs, a calls.json cut short, a plate map
    "monitor_sheet_contradicts_calls_json.tsv": MONITOR,
    "monitor_sheet_date_not_iso.tsv": MONITOR,
    "monitor_sheet_sample_in_two_runs.tsv": MONITOR,
    "monitor_sheet_sample_twice.csv": MONITOR,
    "monitor_calls_json_cut_short.json": Case(
        (("monitor", "cut/calls.json", "-o", OUT),), setup=_in_a_run_folder, in_tmp=True
    ),
    "platemap_patient_on_a_control_well.csv": Case(
        (("pcr", DEMO_TABLE, "--plate-map", FILE, "--format", "generic", "-o", OUT),)
    ),
    # validation: design and pairing sheets, a calls.json cut short
    "validate_design_percent.csv": LOD,
    "validate_design_hotspot_misspelt.csv": LOD,
    "validate_design_row_twice.csv": LOD,
    "validate_pairs_test_sample_twice.csv": Case(
        (
            (
                "validate",
                "concordance",
                "{first}",
                "--reference",
                "{second}",
                "--pairs",
                FILE,
                "-o",
                OUT,
            ),
        ),
        setup=_two_runs_to_validate,
    ),
    "validate_calls_cut_short.json": Case(
        (("validate", "lod", "{first}", FILE, "--design", "{design}", "-o", OUT),),
        setup=_two_runs_to_validate,
    ),
}


def test_every_damaged_file_has_a_case():
    found = {p.name for p in (REPO / DAMAGED).iterdir()}
    indexes = {name for name in found if name.endswith((".csi", ".tbi"))}  # beside their file
    assert sorted(found - indexes) == sorted(CASES)


@dataclass(frozen=True)
class Run:
    exit_code: int
    stdout: str
    stderr: str


def _run(args: Sequence[str], real: bool) -> Run:
    if real:
        done = run_esr1calls(*args)
        return Run(done.returncode, done.stdout, done.stderr)
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return Run(result.exit_code, result.stdout, result.stderr)


def _shown(text: str, outdir: Path, tmp: Path) -> str:
    shown = text.replace(str(outdir), "OUTDIR").replace(str(tmp), "TMP")
    return shown.replace(f"{REPO}/", "")


def _report(outdir: Path) -> list[str]:
    """What calls.json says: notices, dropped rows, every sample and call."""
    document = json.loads((outdir / "calls.json").read_text(encoding="utf-8"))
    lines = [f"notice: {n}" for n in document["run"].get("notices") or []
             if EXAMPLE_KIT_NOTICE not in n]  # fmt: skip
    lines += [
        f"dropped: {Path(d['source']).name}, {d['place']}: {d['reason']}"
        for d in document["dropped"]
    ]
    for sample in document["samples"]:
        lines.append(f"sample: {sample['sample_id']} {sample['status']}")
        for call in sample["calls"]:
            alt = "-" if call["alt_count"] is None else call["alt_count"]
            counts = "" if call["depth"] is None else f" {alt}/{call['depth']}"
            reasons = ",".join(call["reasons"]) or "-"
            lines.append(
                f"call: {sample['sample_id']} {call['hotspot']} {call['status']} {reasons}{counts}"
            )
            lines += [f"  disagreement: {d}" for d in call["evidence"].get("disagreement", [])]
    return lines


def _job_errors(outdir: Path) -> list[str]:
    errors = outdir / "batch_errors.tsv"
    if not errors.is_file():
        return []
    with errors.open(encoding="utf-8") as handle:
        return [f"job error: {row['job_id']}: {row['error']}"
                for row in csv.DictReader(handle, delimiter="\t")]  # fmt: skip


def outcome(name: str, tmp: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every command of the case run on the damaged file, rendered as the expected file holds it."""
    case = CASES[name]
    values = {"file": str(REPO / DAMAGED / name) if case.in_tmp else str(DAMAGED / name)}
    if case.setup is not None:
        values.update(case.setup(tmp, name))
    if case.in_tmp:
        monkeypatch.chdir(tmp)
    lines = []
    for number, template in enumerate(case.commands):
        outdir = tmp / f"out{number}"
        args = [a.format(**values, out=outdir) for a in template]
        run = _run(args, case.real)
        command = _shown(" ".join(["esr1calls", *args]), outdir, tmp)
        lines += [f"$ {command}", f"exit {run.exit_code}"]
        lines += [f"stdout: {_shown(line, outdir, tmp)}" for line in run.stdout.splitlines()]
        lines += [f"stderr: {_shown(line, outdir, tmp)}" for line in run.stderr.splitlines()]
        assert "Traceback" not in run.stderr
        assert run.exit_code in (0, 1), run.stderr
        if template[0] == "batch":
            lines += _job_errors(outdir)
            continue
        if run.exit_code != 0:  # one line, and nothing written
            assert run.stderr.startswith("esr1calls: error: ") and run.stderr.count("\n") == 1
            assert not outdir.exists()
        elif OUT in template:
            lines += _report(outdir)
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("name", list(CASES))
def test_damaged_input_gives_its_expected_outcome(name, tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    assert_golden(outcome(name, tmp_path, monkeypatch), EXPECTED / f"{name}.txt")


def test_the_signed_folder_verifies_undamaged(tmp_path, monkeypatch):
    """The review-record cases fail only by what each damaged file changes."""
    _signed_folder_with_it(tmp_path, "audit_calls_json_call_rewritten.json")
    shutil.copy(SIGNED / "calls.json", tmp_path / "signed" / "calls.json")
    monkeypatch.chdir(tmp_path)
    run = _run(["verify", "signed", "--key-file", KEY_FILE], real=False)
    assert (run.exit_code, run.stdout) == (0, (
        "verified: 2 entries, last signed by B. Li at 2026-03-02T11:40:00Z (approve); HMAC "
        "checked with the key\n"
    ))  # fmt: skip


MAP_CASES = [
    "quantstudio_samples_swapped.txt",
    "cfx_mix_moved.csv",
    "generic_ntc_and_sample_swapped.csv",
]


def _calls_with_trust_map(name: str, tmp: Path) -> list[str]:
    outdir = tmp / name
    args = ["pcr", str(DAMAGED / name), "--plate-map", DEMO_MAP, "--trust-map", "-o", str(outdir)]
    assert _run(args, real=False).exit_code == 0
    return [line for line in _report(outdir) if line.startswith(("sample:", "call:"))]


@pytest.mark.parametrize("name", MAP_CASES)
def test_with_trust_map_a_relabelled_export_calls_as_the_demo(name, tmp_path, monkeypatch):
    """--trust-map keeps the map's word: every such export then gives the demo plate's calls."""
    monkeypatch.chdir(REPO)
    demo = _calls_with_trust_map("quantstudio_samples_swapped.txt", tmp_path / "demo")
    assert _calls_with_trust_map(name, tmp_path / "case") == demo
    assert not any("MAP_EXPORT_MISMATCH" in line for line in demo)
