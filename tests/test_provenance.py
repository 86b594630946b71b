"""Input hashes: sha256_file reads an unchanged file once per process; hashing in the background."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from esr1calls.errors import InputError
from esr1calls.provenance import hash_in_background, sha256_file


def _refuse_to_open(*args, **kwargs):
    raise AssertionError("the file was read again")


def test_an_unchanged_file_is_read_once(tmp_path, monkeypatch):
    path = tmp_path / "normal.bam"
    path.write_bytes(b"reads" * 1000)
    first = sha256_file(path)
    assert first == hashlib.sha256(path.read_bytes()).hexdigest()
    monkeypatch.setattr(Path, "open", _refuse_to_open)
    assert sha256_file(path) == first
    assert sha256_file(str(path)) == first  # the same file however it is named


def test_a_changed_or_replaced_file_is_hashed_again(tmp_path):
    path = tmp_path / "ref.fa"
    path.write_bytes(b"ACGT")
    old = sha256_file(path)
    stat = path.stat()
    replacement = tmp_path / "ref.fa.new"
    replacement.write_bytes(b"TTTT")  # same size, and the same mtime below: only the inode differs
    os.utime(replacement, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    replacement.replace(path)
    assert sha256_file(path) == hashlib.sha256(b"TTTT").hexdigest() != old
    path.write_bytes(b"ACGTA")
    assert sha256_file(path) == hashlib.sha256(b"ACGTA").hexdigest()


def test_hashing_in_the_background_gives_the_digest_or_a_one_line_error(tmp_path):
    path = tmp_path / "tumour.bam"
    path.write_bytes(b"x" * 100_000)
    assert hash_in_background(path)() == hashlib.sha256(b"x" * 100_000).hexdigest()
    wait = hash_in_background(tmp_path / "gone.bam")
    with pytest.raises(InputError, match=r"^gone\.bam: cannot read the file to hash it \("):
        wait()
