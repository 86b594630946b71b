from __future__ import annotations

import subprocess
import sys

import pytest

from esr1calls import __version__
from esr1calls.cli import cli

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
    import esr1calls.cli as cli_module

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_module, "export_panel", interrupted)
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


def test_kit_validate_good_and_bad(run_cli, tmp_path):
    from esr1calls.kit import load_kit

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
