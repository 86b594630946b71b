"""Files shipped inside the package (``data/``, the clinical page's template and catalogs), read
through the package's own loader.

What ``importlib.resources.files("esr1calls").joinpath(...).read_bytes()`` gives, without loading
importlib.resources: importing it and its first ``files()`` cost about 6 ms of every run that
reads package data (it loads tempfile, shutil and zipfile), more than reading the files. The
loader reads from a folder and from a zip archive alike; one without ``get_data`` (some freezers)
falls back to importlib.resources.
"""

from __future__ import annotations

from pathlib import Path

_FOLDER = Path(__file__).parent
_LOADER = __spec__.loader  # a FileLoader for a folder, a zipimporter for an archive


def read_bytes(*parts: str) -> bytes:
    """The bytes of ``esr1calls/<parts...>``; OSError when missing (FileNotFoundError from a
    folder; a zip archive's loader raises a plain OSError)."""
    get_data = getattr(_LOADER, "get_data", None)
    if get_data is None:
        from importlib import resources

        return resources.files(__package__).joinpath(*parts).read_bytes()
    data: bytes = get_data(str(_FOLDER.joinpath(*parts)))
    return data


def read_text(*parts: str, encoding: str = "utf-8") -> str:
    """The text of ``esr1calls/<parts...>`` with universal newlines, as
    ``Traversable.read_text`` reads it."""
    text = read_bytes(*parts).decode(encoding)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


__all__ = ["read_bytes", "read_text"]
