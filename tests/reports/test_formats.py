"""The registry of report formats: one entry per format, and everything built from it."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys

import click
import pytest

from esr1calls.cli import cli
from esr1calls.reports import clinical, hl7
from esr1calls.reports.calls_json import to_json_document
from esr1calls.reports.formats import ALWAYS_WRITTEN, FILES, FORMATS, OPTIONAL_FILES, PRINTED
from esr1calls.reports.options import ReportOptions
from esr1calls.reports.write import render_files
from esr1calls.testing.runs import PCR_COMMAND, pcr_run

REPORT_COMMANDS = ("pcr", "ngs", "dpcr", "batch", "report")


def test_every_file_belongs_to_one_format():
    assert len(FILES) == len(set(FILES))
    always = {"calls.json", "calls.tsv", "samples.tsv", "report.html", "clinical.html"}
    assert set(ALWAYS_WRITTEN) == always
    assert set(OPTIONAL_FILES) == set(FILES) - set(ALWAYS_WRITTEN)
    assert "clinical.pdf" in OPTIONAL_FILES  # printed, not rendered, but removed when stale


@pytest.mark.parametrize("name", list(FORMATS))
def test_each_entry_names_its_renderer_and_the_files_that_module_owns(name):
    """The registry imports no renderer (start-up), so it lists their file names: here they
    are held to each module's own ``FILES`` and ``render_files``."""
    report_format = FORMATS[name]
    module = importlib.import_module(f"esr1calls.reports.{report_format.module}")
    assert report_format.files == module.FILES
    assert report_format.renderer is module.render_files


def test_the_registry_s_names_of_other_modules_are_theirs():
    assert PRINTED == (clinical.CLINICAL_PDF,)
    hl7_options = {o.name: o for o in FORMATS["hl7"].options}
    assert f"(default {hl7.DEFAULT_FACILITY})" in hl7_options["hl7_facility"].help
    assert f"(default {hl7.DEFAULT_RECEIVER})" in hl7_options["hl7_receiver"].help


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [("hl7_facility", "A|B", "--hl7-facility"), ("hl7_receiver", "A^B^C", "--hl7-receiver")],
)
def test_an_option_s_check_is_its_renderer_s_loaded_on_use(name, value, message):
    from esr1calls.errors import ConfigError

    option = {o.name: o for o in FORMATS["hl7"].options}[name]
    assert option.check is not None
    with pytest.raises(ConfigError, match=message):
        option.check(value)
    assert option.check("LAB 2") == "LAB 2"


@pytest.mark.parametrize("command", REPORT_COMMANDS)
def test_every_command_that_writes_a_report_takes_every_format(command):
    options = {
        opt: param for param in cli.commands[command].params for opt in param.opts
    }  # fmt: skip
    for report_format in FORMATS.values():
        if report_format.flag is None:
            continue
        assert report_format.flag in options, (command, report_format.flag)
        assert options[report_format.flag].help == report_format.help
        for setting in report_format.options:
            assert options[setting.flag].help == setting.help, (command, setting.flag)


def test_each_format_writes_exactly_the_files_it_owns():
    document = to_json_document(pcr_run(), ReportOptions(PCR_COMMAND, reproducible=True))
    plain = render_files(document, ReportOptions(PCR_COMMAND, reproducible=True))
    assert tuple(plain) == ALWAYS_WRITTEN
    for name, report_format in FORMATS.items():
        if not report_format.optional:
            continue
        options = ReportOptions(PCR_COMMAND, reproducible=True, formats=frozenset({name}))
        files = render_files(document, options)
        assert tuple(files) == ALWAYS_WRITTEN + report_format.files, name


def test_an_unknown_format_is_refused_not_ignored():
    document = to_json_document(pcr_run(), ReportOptions(PCR_COMMAND, reproducible=True))
    with pytest.raises(ValueError, match="unknown report format"):
        render_files(document, ReportOptions(PCR_COMMAND, formats=frozenset({"pdf"})))


def test_the_fingerprint_is_the_same_in_every_process():
    """batch compares it between runs: a set's order must not leak into it (string hashing
    differs between processes), nor the command line."""
    code = (
        "from esr1calls.reports.options import ReportOptions\n"
        "print(ReportOptions('x', formats=frozenset(FORMATS), settings={'b': '2', 'a': '1'})"
        ".fingerprint())"
    ).replace("FORMATS", repr(sorted(n for n, f in FORMATS.items() if f.optional)))
    seen = set()
    for seed in ("1", "2", "3", "4"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
        )
        seen.add(done.stdout)
    assert len(seen) == 1
    one = ReportOptions("a", formats=frozenset({"fhir"}))
    assert one.fingerprint() == ReportOptions("b", formats=frozenset({"fhir"})).fingerprint()
    assert one.fingerprint() != ReportOptions("a", formats=frozenset({"vcf"})).fingerprint()


def test_the_help_lists_the_formats_in_the_registrys_order():
    params = [p.opts[0] for p in cli.commands["pcr"].params if isinstance(p, click.Option)]
    flags = [f.flag for f in FORMATS.values() if f.flag]
    shown = [p for p in params if p in flags]
    assert shown == flags
