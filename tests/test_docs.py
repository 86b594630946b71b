"""The README is tested: every command it shows runs, and shown output is real output."""

from __future__ import annotations

import contextlib
import io
import re
import shlex
import subprocess

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
    return found


def test_set_up_commands_are_shown():
    assert "make demo" in README and "make test" in README


@pytest.mark.parametrize("command", sorted(cli.commands))
def test_every_command_appears_in_readme(command):
    assert f"esr1calls {command}" in README


SHELL_TOOLS = ("cut ", "grep ", "head ", "tail ", "cat ", "column ")


def test_readme_shows_only_commands_the_test_can_run():
    for command, _ in _shown_commands():
        assert command.startswith(("esr1calls ", *SHELL_TOOLS)), command


def test_readme_commands_run_and_print_what_is_shown(tmp_path, run_cli, monkeypatch):
    """Run every shown command in order, in one scratch directory, like a reader would."""
    (tmp_path / "testdata").symlink_to(REPO / "testdata")
    monkeypatch.chdir(tmp_path)
    for command, expected in _shown_commands():
        if command.startswith("esr1calls "):
            result = run_cli(shlex.split(command)[1:])
            assert result.exit_code == 0, f"{command}\n{result.stderr}"
            stdout = result.stdout
        else:
            done = subprocess.run(command, shell=True, capture_output=True, text=True, check=False)
            assert done.returncode == 0, f"{command}\n{done.stderr}"
            stdout = done.stdout
        _assert_shown(command, expected, stdout.splitlines())


def _assert_shown(command: str, expected: list[str], actual: list[str]) -> None:
    position = 0
    for line in expected:
        if line.strip() in ("", "..."):
            continue
        assert line in actual[position:], (
            f"README shows {line!r} after `{command}`; it printed:\n" + "\n".join(actual[:20])
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
