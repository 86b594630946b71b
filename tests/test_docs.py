"""The README is tested: every command it shows runs, and shown output is real output."""

from __future__ import annotations

import contextlib
import io
import re
import shlex

import pytest

from esr1calls.cli import cli

from .conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def _console_blocks() -> list[str]:
    return re.findall(r"```console\n(.*?)```", README, flags=re.S)


def _shown_commands() -> list[tuple[str, list[str]]]:
    """(command, expected output lines) for every `$ esr1calls ...` line in the README."""
    found: list[tuple[str, list[str]]] = []
    for block in _console_blocks():
        for line in block.splitlines():
            if line.startswith("$ "):
                found.append((line[2:], []))
            elif found:
                found[-1][1].append(line)
    return [(cmd, out) for cmd, out in found if cmd.startswith("esr1calls ")]


def test_set_up_commands_are_shown():
    assert "make demo" in README and "make test" in README


@pytest.mark.parametrize("command", sorted(cli.commands))
def test_every_command_appears_in_readme(command):
    assert f"esr1calls {command}" in README


@pytest.mark.parametrize("command, expected", _shown_commands(), ids=lambda v: str(v)[:60])
def test_readme_command_runs_and_prints_what_is_shown(command, expected, tmp_path, run_cli,
                                                      monkeypatch):  # fmt: skip
    (tmp_path / "testdata").symlink_to(REPO / "testdata")
    monkeypatch.chdir(tmp_path)
    result = run_cli(shlex.split(command)[1:])
    assert result.exit_code == 0, result.stderr
    actual = result.stdout.splitlines()
    position = 0
    for line in expected:
        if line.strip() in ("", "..."):
            continue
        assert line in actual[position:], f"README shows {line!r}, the command printed:\n" + (
            "\n".join(actual[:20])
        )
        position = actual.index(line, position) + 1


def test_readme_python_examples_run():
    blocks = re.findall(r"```python\n(.*?)```", README, flags=re.S)
    assert blocks
    for block in blocks:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(block, "README.md", "exec"), {})
        for comment in re.findall(r"print\(.*\)\s+# (.+)", block):
            assert comment.strip() in out.getvalue()


def test_links_in_readme_resolve():
    for target in re.findall(r"\]\(([^)#:]+)\)", README):
        assert (REPO / target).exists(), target
