"""Package data read through the package's loader (esr1calls/_package_data.py) is what
importlib.resources gives: from the installed folder, from a zip archive, and through
importlib.resources itself when the loader cannot read data."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from importlib import resources

import pytest

from esr1calls import _package_data
from esr1calls.testing import REPO

FILES = [
    ("data", "calls.schema.json"),
    ("data", "hotspots.compiled.json"),
    ("data", "kits", "esr1-11-arms-example.toml"),
    ("reports", "templates", "clinical.html.j2"),
    ("reports", "locales", "zh_CN", "LC_MESSAGES", "clinical.mo"),
]


@pytest.mark.parametrize("parts", FILES, ids="/".join)
def test_the_same_bytes_as_importlib_resources(parts):
    expected = resources.files("esr1calls").joinpath(*parts).read_bytes()
    assert _package_data.read_bytes(*parts) == expected


def test_text_has_universal_newlines_as_read_text(monkeypatch):
    monkeypatch.setattr(_package_data, "read_bytes", lambda *parts: b"a\r\nb\rc\n\xc3\xa9")
    assert _package_data.read_text("x") == "a\nb\nc\n\u00e9"


def test_a_missing_file_is_file_not_found():
    with pytest.raises(FileNotFoundError):
        _package_data.read_bytes("data", "no-such-file.json")


def test_a_loader_without_get_data_falls_back_to_importlib_resources(monkeypatch):
    monkeypatch.setattr(_package_data, "_LOADER", object())
    expected = resources.files("esr1calls").joinpath("data", "calls.schema.json").read_bytes()
    assert _package_data.read_bytes("data", "calls.schema.json") == expected


def test_read_from_a_zip_archive(tmp_path):
    """An installation zipped (zipimport): the loader reads inside the archive."""
    archive = tmp_path / "esr1calls.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        for path in sorted((REPO / "esr1calls").rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                handle.write(path, path.relative_to(REPO).as_posix())
    code = (
        "import esr1calls._package_data as p, zipimport, sys;"
        "assert isinstance(p._LOADER, zipimport.zipimporter), p._LOADER;"
        "sys.stdout.write(p.read_text('data', 'calls.schema.json'))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True, text=True, check=False,
        env={"PYTHONPATH": str(archive), "PYTHONDONTWRITEBYTECODE": "1"},
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout == (REPO / "esr1calls/data/calls.schema.json").read_text("utf-8")
