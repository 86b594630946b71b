from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from esr1calls import __version__
from esr1calls.cli import cli
from esr1calls.testing import REPO

from .real_cli import ESR1CALLS, run_esr1calls

COMMANDS = sorted(cli.commands)


def test_version(run_cli):
    result = run_cli(["--version"])
    assert result.exit_code == 0 and __version__ in result.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(run_cli, command):
    result = run_cli([command, "--help"])
    assert result.exit_code == 0
    assert "Usage: " in result.stdout


def test_unknown_option_is_a_usage_error(run_cli):
    result = run_cli(["hotspots", "--bogus"])
    assert result.exit_code == 2
    assert "No such option" in result.stderr


def test_config_error_is_one_line_exit_1(run_cli):
    result = run_cli(["hotspots", "--hotspots", "D538X"])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "esr1calls: error: unknown hotspot D538X in panel default; known: E380Q, V422del, "
        "S463P, L536H, L536P, L536R, L536Q, Y537C, Y537N, Y537S, D538G"
    ]


def test_debug_shows_the_traceback(run_cli):
    result = run_cli(["hotspots", "--debug", "--hotspots", "D538X"])
    assert result.exit_code == 1
    assert "Traceback" in result.stderr
    assert result.stderr.rstrip().splitlines()[-1].startswith("esr1calls: error: unknown hotspot")


def test_hotspots_to_stdout_and_to_file(run_cli, tmp_path):
    result = run_cli(["hotspots", "--format", "bed", "--build", "GRCh37"])
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == "6\t152332831\t152332832\tE380Q"
    out = tmp_path / "panel.vcf"
    result = run_cli(["hotspots", "--format", "vcf", "-o", out])
    assert result.exit_code == 0 and out.read_text().startswith("##fileformat=VCFv4.2")


def test_keyboard_interrupt_exits_130(run_cli, monkeypatch):
    import esr1calls.hotspots

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(esr1calls.hotspots, "export_panel", interrupted)
    result = run_cli(["hotspots"])
    assert result.exit_code == 130
    assert result.stderr.strip() == "esr1calls: interrupted"


def test_python_dash_m_runs_the_same_cli():
    done = subprocess.run(
        [sys.executable, "-m", "esr1calls", "hotspots", "--format", "tsv"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[1].startswith("E380Q\t")


def test_kit_show_text_and_json(run_cli):
    result = run_cli(["kit", "show"])
    assert result.exit_code == 0
    assert "PLACEHOLDER" in result.stdout and "RM1   FAM D538G" in result.stdout
    result = run_cli(["kit", "show", "--format", "json"])
    import json

    document = json.loads(result.stdout)
    assert document["kit"]["id"] == "esr1-11-arms-example"
    assert document["assays"]["D538G"]["cutoff"]["value"] == 9.0
    assert document["flags"]["delta_ct_negative_below"]["value"] == -1.0
    assert document["flags"]["mutation_ct_early_below"]["value"] == 20.0


def test_kit_validate_good_and_bad(run_cli, tmp_path):
    from esr1calls.pcr.kit import load_kit

    good = tmp_path / "lab.toml"
    source = load_kit().path  # the bundled id, not a file
    assert source == "esr1-11-arms-example"
    from importlib import resources

    text = (
        resources.files("esr1calls") / "data" / "kits" / "esr1-11-arms-example.toml"
    ).read_text()
    good.write_text(text)
    result = run_cli(["kit", "validate", good])
    assert result.exit_code == 0 and result.stdout.startswith("lab.toml: valid kit esr1-11-arms")
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace('FAM = "D538G"', 'FAM = "D538X"'))
    result = run_cli(["kit", "validate", bad])
    assert result.exit_code == 1
    assert result.stderr.startswith("esr1calls: error: bad.toml, [mixes.RM1]: FAM: unknown hotspot")
    assert len(result.stderr.splitlines()) == 1
    bad.write_text(
        text.replace(
            "mutation_ct_early_below = { value = 20.0", "mutation_ct_early_below = { value = 60.0"
        )
    )
    result = run_cli(["kit", "validate", bad])
    assert result.exit_code == 1
    assert result.stderr == (
        "esr1calls: error: bad.toml, [flags]: mutation_ct_early_below 60 is out of range (0, 45]\n"
    )


# --- esr1calls ngs ------------------------------------------------------------------------------

NGS_VCF = "testdata/vcf"


def _ngs(run_cli, tmp_path, *args):
    return run_cli(["ngs", *args, "-o", str(tmp_path / "out")])


def test_ngs_writes_the_report_and_one_line_per_sample(run_cli, tmp_path, validate_calls_json):
    from esr1calls.testing import REPO

    result = _ngs(run_cli, tmp_path, REPO / NGS_VCF / "mutect2/esr1_tumour_normal.vcf")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == [
        "PLASMA_01\tPOSITIVE\tESR1 V422del (0.25 %), L536Q (0.33 %), Y537C (0.2 %) and Y537S "
        "(1.5 %) detected; of the other hotspots 5 not detected, 2 indeterminate (artefact filter "
        "1, insufficient depth 1)."
    ]
    document = validate_calls_json(tmp_path / "out" / "calls.json")
    assert document["run"]["inputs"][0]["sha256"] == (
        __import__("hashlib")
        .sha256((REPO / NGS_VCF / "mutect2/esr1_tumour_normal.vcf").read_bytes())
        .hexdigest()
    )
    assert document["run"]["thresholds"]["min_allele_fraction"] == 0.002


def test_ngs_reports_are_byte_identical_with_reproducible(run_cli, tmp_path, monkeypatch):
    from esr1calls.testing import REPO

    vcf = REPO / NGS_VCF / "vardict/esr1_paired.vcf"
    for run in ("a", "b"):
        (tmp_path / run).mkdir()
        monkeypatch.chdir(tmp_path / run)  # the same command line in two places
        args = ["ngs", vcf, "--build", "GRCh38", "-o", "out", "--reproducible"]
        assert run_cli(args).exit_code == 0
    for name in ("calls.json", "calls.tsv", "samples.tsv"):
        first, second = (tmp_path / run / "out" / name for run in ("a", "b"))
        assert first.read_bytes() == second.read_bytes()


def test_vcf_every_hotspot_or_detected_only(run_cli, tmp_path):
    vcf = REPO / NGS_VCF / "mutect2/esr1_tumour_normal.vcf"
    full = _ngs(run_cli, tmp_path / "full", vcf, "--vcf")
    only = _ngs(run_cli, tmp_path / "only", vcf, "--vcf", "--detected-only")
    assert full.exit_code == 0 and only.exit_code == 0, full.stderr + only.stderr

    def records(folder):
        text = (folder / "out" / "detected.vcf").read_text()
        return [line.split("\t")[9].split(":")[1] for line in text.splitlines() if line[0] != "#"]

    assert len(records(tmp_path / "full")) == 11
    assert set(records(tmp_path / "only")) == {"DETECTED"}
    assert "NOT_DETECTED" in records(tmp_path / "full")
    alone = _ngs(run_cli, tmp_path / "alone", vcf, "--detected-only")
    assert alone.exit_code == 2 and "--detected-only goes with --vcf" in alone.stderr
    assert not (tmp_path / "alone" / "out").exists()


def _error(result) -> str:
    assert result.exit_code == 1, result.stdout + result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_ngs_unknown_build_is_one_line(run_cli, tmp_path, testdata):
    line = _error(_ngs(run_cli, tmp_path, testdata / "vcf/strelka/test_strelka.vcf"))
    assert line == (
        "esr1calls: error: test_strelka.vcf: the genome build cannot be determined from the "
        "header (no ##contig lines; no ##reference line). Pass --build GRCh37 or --build GRCh38"
    )


def test_ngs_several_samples_without_sample_is_one_line(run_cli, tmp_path, testdata):
    vcf = testdata / "vcf/freebayes/test.oncogemini.vcf"
    line = _error(_ngs(run_cli, tmp_path, vcf, "--build", "GRCh37"))
    assert line == (
        "esr1calls: error: test.oncogemini.vcf: 13 samples and no ##tumor_sample line: A1, A2, "
        "A3, B0, B1, B2, B3, B4, C0, C1, C2, D0, D1. Choose the tumour with --sample"
    )


def test_ngs_sample_not_found_is_one_line(run_cli, tmp_path, testdata):
    vcf = testdata / "vcf/mutect2/esr1_tumour_normal.vcf"
    line = _error(_ngs(run_cli, tmp_path, vcf, "--sample", "PLASMA_99"))
    assert line == (
        "esr1calls: error: esr1_tumour_normal.vcf: sample 'PLASMA_99' is not in this VCF. "
        "Samples: BUFFY_COAT, PLASMA_01"
    )


def test_ngs_truncated_gzip_is_one_line(run_cli, tmp_path, testdata):
    data = (testdata / "vcf/pcgr/T001-BRCA.grch38.vcf.gz").read_bytes()
    cut = tmp_path / "cut.vcf.gz"
    cut.write_bytes(data[:3000])
    assert _error(_ngs(run_cli, tmp_path, cut)) == (
        "esr1calls: error: cut.vcf.gz: the file is truncated (no BGZF end-of-file marker); "
        "copy it again"
    )
    import gzip

    plain = tmp_path / "plain.vcf.gz"
    text = (testdata / "vcf/mutect2/cfdna-unfiltered.vcf").read_bytes()
    plain.write_bytes(gzip.compress(text)[:5000])
    assert _error(_ngs(run_cli, tmp_path, plain)) == (
        "esr1calls: error: plain.vcf.gz: the compressed file is truncated or corrupt (Compressed "
        "file ended before the end-of-stream marker was reached); copy it again"
    )


def test_ngs_not_a_vcf_is_one_line(run_cli, tmp_path):
    table = tmp_path / "export.csv"
    table.write_text("Well,Sample,Target,Ct\nA1,S1,D538G,31.2\n")
    assert _error(_ngs(run_cli, tmp_path, table)) == (
        "esr1calls: error: export.csv: not a VCF, BCF, BAM or CRAM (it starts with "
        "'Well,Sample,Target,Ct', not ##fileformat=VCF); pass the VCF written by your variant "
        "caller, or the indexed BAM/CRAM"
    )


def test_ngs_ref_mismatch_names_the_record(run_cli, tmp_path, testdata):
    text = (testdata / "vcf/mutect2/esr1_tumour_normal.vcf").read_text()
    bad = tmp_path / "wrong_ref.vcf"
    bad.write_text(text.replace("chr6\t152098788\t.\tA\t", "chr6\t152098788\t.\tG\t"))
    assert _error(_ngs(run_cli, tmp_path, bad)) == (
        "esr1calls: error: wrong_ref.vcf, record chr6:152098788 (line 33): REF G at 152098788 "
        "does not match NM_000125.4 (GRCh38): expected A. The VCF does not match the GRCh38 "
        "reference: check --build and the reference it was called against"
    )


def test_ngs_bad_option_values_are_one_line(run_cli, tmp_path, testdata):
    vcf = testdata / "vcf/mutect2/esr1_tumour_normal.vcf"
    line = _error(_ngs(run_cli, tmp_path, vcf, "--min-allele-fraction", "2"))
    assert line == (
        "esr1calls: error: --min-allele-fraction 2.0 is not a fraction between 0 and 1 "
        "(0.002 means 0.2 %)"
    )
    line = _error(_ngs(run_cli, tmp_path, vcf, "--umi", "--pon",
                       testdata / "vcf/pon/normals.pon.tsv"))  # fmt: skip
    assert line == (
        "esr1calls: error: normals.pon.tsv: the PoN counts reads, but this run counts molecules "
        "(--umi); drop --umi or rebuild the PoN with --umi"
    )
    assert not (tmp_path / "out").exists()  # nothing half-written


def test_pon_build_writes_the_panel_of_normals(run_cli, tmp_path, testdata):
    normals = [testdata / f"vcf/pon/normal_{i}.vcf" for i in (1, 2, 3)]
    out = tmp_path / "pon.tsv"
    result = run_cli(["pon", "build", *normals, "-o", out])
    assert result.exit_code == 0, result.stderr
    assert out.read_text() == (testdata / "vcf/pon/normals.pon.tsv").read_text()
    assert result.stderr.strip().endswith(f"panel of normals written to {out} (3 normals)")


def test_ngs_several_vcfs_and_a_hotspot_subset(run_cli, tmp_path, testdata):
    vcfs = [testdata / "vcf/mutect2/esr1_gvcf.g.vcf", testdata / "vcf/iontorrent/esr1_tvc.vcf"]
    result = _ngs(run_cli, tmp_path, *vcfs, "--hotspots", "D538G,Y537S")
    assert result.exit_code == 0, result.stderr
    assert [line.split("\t")[:2] for line in result.stdout.splitlines()] == [
        ["PLASMA_03", "POSITIVE"],
        ["PLASMA_09", "POSITIVE"],
    ]
    rows = (tmp_path / "out" / "calls.tsv").read_text().splitlines()[1:]
    assert [(r.split("\t")[0], r.split("\t")[2]) for r in rows] == [
        ("PLASMA_03", "Y537S"), ("PLASMA_03", "D538G"), ("PLASMA_09", "Y537S"),
        ("PLASMA_09", "D538G"),
    ]  # fmt: skip


def test_ngs_warns_when_the_fraction_looks_like_a_percent(run_cli, tmp_path, testdata):
    vcf = testdata / "vcf/mutect2/esr1_tumour_normal.vcf"
    result = _ngs(run_cli, tmp_path, vcf, "--min-allele-fraction", "0.2")
    assert result.exit_code == 0
    assert result.stderr.splitlines()[0] == (
        "esr1calls: --min-allele-fraction 0.2 is 20 %; it is a fraction (0.002 = 0.2 %), "
        "not a percent"
    )


# --- start-up: what each command imports (never how long it takes) ------------------------------

# a command run as the console script runs it, then the modules it imported, as JSON on fd 3's
# stand-in (a file named by the first argument): stdout and stderr stay the command's
_IMPORTS_RUNNER = """
import json, sys
from esr1calls.cli import main
out, args = sys.argv[1], sys.argv[2:]
try:
    main(args)
finally:
    with open(out, "w") as handle:
        json.dump(sorted(sys.modules), handle)
"""
# what no --help may load: the heavy libraries and the report renderers
HEAVY = ("pandas", "numpy", "pysam", "jsonschema", "fastjsonschema", "jinja2", "babel", "scipy")
RENDERERS = tuple(
    f"esr1calls.reports.{name}"
    for name in ("calls_json", "tables", "html", "html_dpcr", "html_parts", "svg", "clinical",
                 "multiqc", "fhir", "hl7", "lis", "vcf", "write", "merge", "document")
)  # fmt: skip


def imported_by(tmp_path: Path, *args: object) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run ``esr1calls ARGS`` in a fresh interpreter; (the process, the modules it imported)."""
    out = tmp_path / f"modules-{len(list(tmp_path.glob('modules-*')))}.json"
    done = subprocess.run(
        [sys.executable, "-c", _IMPORTS_RUNNER, str(out), *map(str, args)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    return done, set(json.loads(out.read_text()))


def _command_paths(group=cli, prefix=()):
    for name, command in sorted(group.commands.items()):
        path = (*prefix, name)
        yield path
        if hasattr(command, "commands"):
            yield from _command_paths(command, path)


COMMAND_PATHS = [(), *_command_paths()]


def test_every_command_is_checked_for_its_start_up():
    names = {" ".join(p) for p in COMMAND_PATHS}
    assert {"", "pcr", "ngs", "dpcr", "batch", "report", "hotspots", "sign", "verify", "monitor",
            "pon build", "validate lod", "kit show", "assays validate"} <= names  # fmt: skip


@pytest.mark.parametrize("path", COMMAND_PATHS, ids=lambda p: " ".join(p) or "esr1calls")
def test_help_loads_no_heavy_module_nor_renderer(tmp_path, path):
    """Every Snakemake job, and every --help, pays the start-up: the heavy libraries, the panel
    and the report renderers load only in the commands that use them."""
    done, modules = imported_by(tmp_path, *path, "--help")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Usage: esr1calls")
    assert sorted(m for m in modules if m.split(".")[0] in HEAVY) == []
    assert sorted(m for m in modules if m in RENDERERS) == []
    # nor the machinery of any command
    machinery = ("esr1calls.batch", "esr1calls.audit", "esr1calls.hotspots", "esr1calls.knowledge",
                 "esr1calls.pcr.kit", "esr1calls.ngs.run", "esr1calls.dpcr", "esr1calls.monitor",
                 "esr1calls.validate", "logging", "tomllib",
                 # nor the call model: the choices and defaults the help shows are light
                 "esr1calls.model", "esr1calls.interpretation", "decimal")  # fmt: skip
    assert sorted(m for m in modules if m in machinery) == []


def test_the_checker_sees_what_a_command_imports(tmp_path):
    """The same runner on a command that renders a report does see the renderers: the test
    above cannot pass by looking at the wrong process."""
    vcf = REPO / "testdata/vcf/mutect2/esr1_tumour_normal.vcf"
    done, modules = imported_by(tmp_path, "ngs", vcf, "-o", tmp_path / "out", "--reproducible")
    assert done.returncode == 0, done.stderr
    assert {"pysam", "jinja2", "esr1calls.reports.html", "esr1calls.reports.write"} <= modules


@pytest.mark.parametrize("indexed", [False, True], ids=["plain", "bgzipped-indexed"])
def test_ngs_on_a_vcf_never_loads_pandas(tmp_path, indexed):
    import pysam

    vcf = tmp_path / "tumour.vcf"
    shutil.copy(REPO / "testdata/vcf/mutect2/esr1_tumour_normal.vcf", vcf)
    if indexed:
        vcf = Path(pysam.tabix_index(str(vcf), preset="vcf", keep_original=True))
    done, modules = imported_by(tmp_path, "ngs", vcf, "-o", tmp_path / "out", "--reproducible")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out" / "calls.json").is_file()
    assert sorted(m for m in modules if m.split(".")[0] in ("pandas", "numpy", "scipy")) == []
    # formats not asked for are not loaded either
    unasked = ("fhir", "hl7", "lis", "multiqc", "vcf", "merge")
    assert sorted(m for m in modules if m in {f"esr1calls.reports.{n}" for n in unasked}) == []
    # nor importlib.resources (package data is read through its loader: _package_data.py), nor
    # subprocess (only --pdf starts a process): about 8 ms of start-up between them
    assert sorted(m for m in modules if m in ("importlib.resources", "subprocess", "zipfile")) == []


def test_import_esr1calls_loads_none_of_its_parts():
    code = (
        "import sys, esr1calls; print(sorted(m for m in sys.modules if m.startswith('esr1calls')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert (
        done.stdout.strip() == "['esr1calls', 'esr1calls._dataclass_cache', 'esr1calls._lazy', "
        "'esr1calls._user_cache', 'esr1calls._version', 'esr1calls.errors']"
    )


def test_names_the_help_shows_are_their_owners():
    """cli.py repeats a few names its help shows rather than load their owners at start-up."""
    from esr1calls import audit, batch, hotspots, knowledge, model
    from esr1calls import cli as cli_module
    from esr1calls.dpcr import assays
    from esr1calls.interpretation import Specimen
    from esr1calls.model import Build
    from esr1calls.pcr import kit, settings
    from esr1calls.reports import write

    assert (cli_module.DEFAULT_PANEL, cli_module.EXTENDED_PANEL) == (
        hotspots.DEFAULT_PANEL, hotspots.EXTENDED_PANEL)  # fmt: skip
    assert cli_module.PANEL_FORMATS == hotspots.PANEL_FORMATS
    assert cli_module.BUNDLED_KNOWLEDGE == knowledge.BUNDLED_KNOWLEDGE
    assert tuple(d.value for d in audit.Decision) == cli_module.DECISIONS
    assert cli_module.AUDIT_TRAIL == write.AUDIT_TRAIL
    assert cli_module.EXAMPLE_ASSAYS == assays.EXAMPLE_ASSAYS == batch.EXAMPLE_ASSAYS
    assert settings.DEFAULT_KIT == kit.EXAMPLE_KIT
    assert tuple(b.value for b in Build) == cli_module.BUILDS
    assert tuple(s.value for s in Specimen) == cli_module.SPECIMENS
    assert cli_module.DEFAULT_MIN_ALLELE_FRACTION == model.DEFAULT_MIN_ALLELE_FRACTION


def test_batch_jobs_default_is_the_processors_at_most_four(run_cli):
    from esr1calls.batch import default_workers

    jobs = next(p for p in cli.commands["batch"].params if p.name == "workers")
    assert jobs.get_default(click_context()) == default_workers()
    result = run_cli(["batch", "--help"])
    assert "[default: (the processors, at most 4); 1<=x<=64]" in " ".join(result.stdout.split())


def click_context():
    import click

    return click.Context(cli.commands["batch"])


def test_lazy_public_api_names_resolve():
    import esr1calls

    names = ("call_pcr", "call_vcf", "call_ngs", "read_plate", "count_hotspots", "NgsSettings",
             "ReadOptions")  # fmt: skip
    for name in names:
        assert callable(getattr(esr1calls, name))
    with pytest.raises(AttributeError):
        esr1calls.no_such_name  # noqa: B018


# --- htslib's own lines: the real command, its real stderr ----------------------------------------

PLASMA_BAM = REPO / "testdata/bam/plasma_07.umi.bam"


@pytest.fixture(scope="module")
def cram_files(tmp_path_factory):
    """plasma_07 as a CRAM, written by samtools against the synthetic GRCh38 chr6 FASTA."""
    from esr1calls.testing.bams import bam_to_cram, esr1_reference, write_fasta

    folder = tmp_path_factory.mktemp("cram")
    fasta = write_fasta(esr1_reference(), folder / "ref.fa.gz")
    return bam_to_cram(PLASMA_BAM, folder / "plasma.cram", fasta), fasta


def _other_reference(path: Path) -> Path:
    """The same chr6 with one intron base changed inside the CRAM's slice (not at a codon)."""
    from esr1calls.testing.bams import Reference, esr1_reference, write_fasta

    ref = esr1_reference()
    segments = list(ref.segments)
    start, bases = segments[-2]  # exon 8's segment: its first flank base is in the slice
    segments[-2] = (start, ("A" if bases[0] != "A" else "C") + bases[1:])
    return write_fasta(Reference(ref.build, ref.contig, ref.length, tuple(segments)), path)


def _htslib_case(case: str, tmp_path: Path, cram_files) -> list[object]:
    """The arguments of an ``esr1calls ngs`` run where htslib has something to say."""
    cram, fasta = cram_files
    if case == "cram-without-crai":
        shutil.copy(cram, tmp_path / "plasma.cram")
        return [tmp_path / "plasma.cram", "--reference", fasta]
    if case == "cram-other-reference":
        return [cram, "--reference", _other_reference(tmp_path / "other.fa.gz")]
    if case == "fasta-cut-short":
        data = fasta.read_bytes()
        cut = tmp_path / "cut.fa.gz"
        cut.write_bytes(data[: len(data) // 2])
        for suffix in (".fai", ".gzi"):
            shutil.copy(f"{fasta}{suffix}", f"{cut}{suffix}")
        return [cram, "--reference", cut]
    raise AssertionError(case)


HTSLIB_ERRORS = {
    # printed two [E::cram_index_load] lines first
    "cram-without-crai": "esr1calls: error: plasma.cram: no index (.crai) found next to the file; "
    "run: samtools index plasma.cram",
    # printed six [E::cram_decode_slice] / [E::cram_next_slice] lines first
    "cram-other-reference": "esr1calls: error: plasma.cram, chr6:",
    # printed [W::bgzf_read_block] and [E::fai_retrieve], then a traceback
    "fasta-cut-short": "esr1calls: error: cut.fa.gz: cannot read chr6:",
}


@pytest.mark.parametrize("case", list(HTSLIB_ERRORS))
def test_htslib_says_nothing_around_the_one_line_error(case, tmp_path, cram_files):
    done = run_esr1calls("ngs", *_htslib_case(case, tmp_path, cram_files), "-o", tmp_path / "o")
    assert done.returncode == 1
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(HTSLIB_ERRORS[case])


def test_debug_keeps_what_htslib_says(tmp_path, cram_files):
    args = _htslib_case("cram-without-crai", tmp_path, cram_files)
    done = run_esr1calls("ngs", *args, "-o", tmp_path / "o", "--debug")
    assert "[E::cram_index_load]" in done.stderr
    assert done.stderr.splitlines()[-1] == HTSLIB_ERRORS["cram-without-crai"]


def test_an_index_older_than_its_bam_is_a_notice_not_an_htslib_warning(tmp_path):
    bam = shutil.copy(PLASMA_BAM, tmp_path / "plasma.bam")
    index = Path(shutil.copy(f"{PLASMA_BAM}.csi", tmp_path / "plasma.bam.csi"))
    os.utime(index, (1_000_000, 1_000_000))
    done = run_esr1calls("ngs", bam, "-o", tmp_path / "o")
    assert done.returncode == 0, done.stderr
    assert "[W::" not in done.stderr  # was: [W::hts_idx_load3] The index file is older ... (x2)
    notices = json.loads((tmp_path / "o" / "calls.json").read_text())["run"]["notices"]
    assert (
        "plasma.bam: its index plasma.bam.csi is older than the file; if the file was rewritten "
        "after indexing, reads at a hotspot may be missed. Re-index it: samtools index plasma.bam"
    ) in notices


def _vcf_with(tmp_path: Path, name: str, edit) -> Path:
    text = (REPO / NGS_VCF / "mutect2/esr1_tumour_normal.vcf").read_text()
    path = tmp_path / name
    path.write_text(edit(text))
    return path


VCF_DAMAGE = {
    # was: "hotspot_records.vcf: cannot read as VCF/BCF (file `b'/tmp/esr1calls-.../
    # hotspot_records.vcf'` does not have valid header (mode=`b'r'`) - is it VCF/BCF format?)"
    "spaces.vcf": (
        lambda t: t.replace("#CHROM\tPOS\tID\t", "#CHROM POS ID "),
        "esr1calls: error: spaces.vcf: htslib cannot parse the VCF header, most often its #CHROM "
        "line (tab-separated #CHROM POS ID REF ALT QUAL FILTER INFO, then FORMAT and distinct "
        "sample names); bcftools view -h spaces.vcf names the line to fix",
    ),
    # was: "cut.vcf, line 33: malformed record (truncated file)"
    "cut.vcf": (
        lambda t: t.replace("152098788\t.\tA\tC,G\t.\tmultiallelic\t", "152098788\t.\tA\n"),
        "esr1calls: error: cut.vcf, line 33: malformed record: 4 tab-separated columns where this "
        "VCF has 11 (CHROM to INFO, FORMAT and one per sample); the line is cut or its "
        "separators are not tabs",
    ),
    # was: "text.vcf, line 33: malformed record (unable to parse next record)"
    "text.vcf": (
        lambda t: t.replace("0/1/2:11796,180,24:", "0/1/2:11796,many,24:"),
        "esr1calls: error: text.vcf, line 33: malformed record: htslib cannot parse a value in "
        "it (text in a numeric field, or a value that does not fit its ##INFO/##FORMAT line); "
        "bcftools view text.vcf names the field",
    ),
}


@pytest.mark.parametrize("name", list(VCF_DAMAGE))
def test_a_vcf_htslib_cannot_parse_is_one_line_naming_the_users_file(name, tmp_path):
    edit, expected = VCF_DAMAGE[name]
    done = run_esr1calls("ngs", _vcf_with(tmp_path, name, edit), "-o", tmp_path / "o")
    assert (done.returncode, done.stdout, done.stderr.splitlines()) == (1, "", [expected])


# --- pipes and repeated inputs ------------------------------------------------------------------

TUMOUR_NORMAL = REPO / NGS_VCF / "mutect2/esr1_tumour_normal.vcf"


def _calls(outdir: Path) -> list[tuple[str, str, str]]:
    document = json.loads((outdir / "calls.json").read_text())
    return [(s["sample_id"], c["hotspot"], c["status"]) for s in document["samples"]
            for c in s["calls"]]  # fmt: skip


def _piped(form: str, tmp_path: Path) -> bytes:
    """What a lab pipeline pipes in: ``bcftools view [-Oz|-Ob] -r chr6 calls.vcf.gz | ...``."""
    indexed = tmp_path / "calls.vcf.gz"
    subprocess.run(["bcftools", "view", "-Oz", "-o", indexed, TUMOUR_NORMAL], check=True)
    subprocess.run(["bcftools", "index", indexed], check=True)
    out = {"vcf": "-Ov", "vcf.gz": "-Oz", "bcf": "-Ob"}[form]
    return subprocess.run(["bcftools", "view", out, "-r", "chr6", indexed], check=True,
                          capture_output=True).stdout  # fmt: skip


@pytest.mark.parametrize("form", ["vcf", "vcf.gz", "bcf"])
def test_a_vcf_piped_to_dev_stdin_is_read_once_and_hashed_as_read(form, tmp_path):
    data = _piped(form, tmp_path)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    done = run_esr1calls("ngs", "/dev/stdin", "-o", tmp_path / "o", stdin=data,
                         env={"TMPDIR": str(scratch)})  # fmt: skip
    assert done.returncode == 0, done.stderr  # was: "stdin: the file is empty; expected a VCF..."
    assert list(scratch.iterdir()) == []  # the pipe's copy is removed
    assert run_esr1calls("ngs", TUMOUR_NORMAL, "-o", tmp_path / "direct").returncode == 0
    assert _calls(tmp_path / "o") == _calls(tmp_path / "direct")
    document = json.loads((tmp_path / "o" / "calls.json").read_text())
    assert document["run"]["inputs"] == [
        {"path": "/dev/stdin", "sha256": hashlib.sha256(data).hexdigest(), "format": "vcf"}
    ]
    assert document["samples"][0]["details"]["access"].startswith("read from a pipe")


def test_a_process_substitution_is_a_pipe_too(tmp_path):
    command = f"{ESR1CALLS} ngs <(cat {TUMOUR_NORMAL}) -o {tmp_path / 'o'}"
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr  # was: "63: the file is empty; ..."
    assert _calls(tmp_path / "o")[0] == ("PLASMA_01", "E380Q", "INDETERMINATE")


@pytest.mark.parametrize(
    "args, stdin, expected",
    [
        (["ngs", "/dev/stdin"], b"",
         "esr1calls: error: stdin: no data on the pipe: the command writing to it wrote nothing "
         "(check that it ran and found its input), or the pipe was given twice"),
        (["ngs", "/dev/stdin"], PLASMA_BAM.read_bytes(),
         "esr1calls: error: stdin: a BAM/CRAM cannot be read from a pipe: its reads are fetched "
         "by region through an index, which a pipe has none of; write it to a file, index it "
         "(samtools index) and give the file"),
        (["ngs", "/dev/stdin", "/dev/stdin"], TUMOUR_NORMAL.read_bytes(),
         "esr1calls: error: /dev/stdin and /dev/stdin are the same file, given twice: it would be "
         "reported as two samples with one name. Give each input once"),
        (["pon", "build", "/dev/stdin"], TUMOUR_NORMAL.read_bytes(),
         "esr1calls: error: stdin: a pipe can be read only once and this reads its input more "
         "than once; write it to a file first (esr1calls ngs reads a VCF from a pipe itself)"),
    ],
    ids=["empty-pipe", "bam-on-a-pipe", "stdin-twice", "pon-build-from-a-pipe"],
)  # fmt: skip
def test_a_pipe_that_cannot_be_used_is_one_line_with_the_real_cause(args, stdin, expected,
                                                                     tmp_path):  # fmt: skip
    done = run_esr1calls(*args, "-o", tmp_path / "o", stdin=stdin)
    assert (done.returncode, done.stdout, done.stderr.splitlines()) == (1, "", [expected])


def test_the_same_file_twice_is_refused_naming_both(tmp_path):
    """It was two samples with one id, 'PLASMA_01 (esr1_tumour_normal.vcf)', twice."""
    copy = shutil.copy(TUMOUR_NORMAL, tmp_path / "copy.vcf")
    link = tmp_path / "link.vcf"
    link.symlink_to(TUMOUR_NORMAL)
    cases = [
        ([TUMOUR_NORMAL, TUMOUR_NORMAL],
         f"{TUMOUR_NORMAL} and {TUMOUR_NORMAL} are the same file, given twice"),
        ([TUMOUR_NORMAL, link], f"{TUMOUR_NORMAL} and {link} are the same file, given twice"),
        ([TUMOUR_NORMAL, copy],
         f"{TUMOUR_NORMAL} and {copy} have identical contents (sha256 2e2ccf56b18b...): the same "
         "data would be reported as two samples. Give each input once"),
    ]  # fmt: skip
    for inputs, expected in cases:
        done = run_esr1calls("ngs", *inputs, "-o", tmp_path / "o")
        assert done.returncode == 1 and done.stdout == ""
        (line,) = done.stderr.splitlines()
        assert line.startswith(f"esr1calls: error: {expected}")
    assert not (tmp_path / "o").exists()


def test_a_named_fifo_is_read_once(tmp_path):
    """It hung: the format check read the FIFO, then opening it again waited for a writer."""
    fifo = tmp_path / "calls.fifo"
    os.mkfifo(fifo)
    writer = subprocess.Popen(["sh", "-c", f"cat '{TUMOUR_NORMAL}' > '{fifo}'"])
    try:
        done = subprocess.run([ESR1CALLS, "ngs", fifo, "-o", tmp_path / "o"], capture_output=True,
                              text=True, timeout=60, check=False)  # fmt: skip
    finally:
        writer.kill()
        writer.wait()
    assert done.returncode == 0, done.stderr
    assert _calls(tmp_path / "o")[0] == ("PLASMA_01", "E380Q", "INDETERMINATE")
