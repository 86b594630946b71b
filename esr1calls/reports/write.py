"""Calls -> calls.json, then every report rendered from that document, written atomically.

``to_json_document`` (calls_json.py) turns a RunResult into the calls.json document; every file
(calls.json, calls.tsv, samples.tsv, report.html and the optional formats of ``FORMATS``) is
rendered from the document alone, so ``esr1calls report`` re-renders and merges earlier results
with the same code. ``render_files`` walks the registry of formats (formats.py), each renderer
naming its own files. Every file is rendered in memory first and then written atomically
(temporary file + rename), so a crash never leaves a half-written report, and a renderer that
refuses (a bad format option) leaves nothing written.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, TextIO

from ..errors import Esr1CallsError
from ..model import RunResult
from .calls_json import CALLS_JSON, to_json_document
from .clinical import CLINICAL_HTML, CLINICAL_PDF
from .formats import FORMATS, OPTIONAL_FILES
from .options import ReportOptions

log = logging.getLogger(__name__)

__all__ = [
    "AUDIT_TRAIL",
    "atomic_writer",
    "render_files",
    "write_document",
    "write_files_atomic",
    "write_reports",
    "write_text_atomic",
]

AUDIT_TRAIL = "audit.jsonl"  # the review record of esr1calls sign (audit.py)


@contextlib.contextmanager
def atomic_writer(path: Path) -> Iterator[TextIO]:
    """A text handle on a temporary file beside ``path``, renamed onto it only on success."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp makes the file private (0600); a report is shared like any file the user writes
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        Path(tmp_name).replace(path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file in the same directory and a rename."""
    with atomic_writer(path) as handle:
        handle.write(text)


def write_files_atomic(outdir: Path, files: Mapping[str, str]) -> list[Path]:
    """Write several rendered files into ``outdir``; each appears whole or not at all."""
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise Esr1CallsError(
            f"{outdir}: cannot create the output directory ({exc.strerror}); choose another -o"
        ) from exc
    written = []
    for name, text in files.items():
        target = outdir / name
        try:
            write_text_atomic(target, text)
        except OSError as exc:
            raise Esr1CallsError(f"{target}: cannot write ({exc.strerror})") from exc
        written.append(target)
    return written


def render_files(document: Mapping[str, Any], options: ReportOptions) -> dict[str, str]:
    """Every report file for a calls.json document, rendered in memory: name -> text (the
    formats always written, then the optional ones ``options.formats`` names, in the registry's
    order)."""
    unknown = sorted(options.formats - FORMATS.keys())
    if unknown:
        raise ValueError(f"unknown report format(s) {', '.join(unknown)}; known: {list(FORMATS)}")
    files: dict[str, str] = {}
    for report_format in FORMATS.values():
        if not report_format.optional or report_format.name in options.formats:
            files.update(report_format.render(document, options))
    return files


def write_document(
    document: Mapping[str, Any], outdir: str | Path, options: ReportOptions
) -> list[Path]:
    """Render every report of a calls.json document and write them atomically into ``outdir``.

    When this replaces a different calls.json, the optional reports an earlier run left there
    and this one does not write (say detected.vcf, after a re-run without --vcf) are removed:
    they describe the earlier calls and must not sit beside the new ones. A folder signed with
    ``esr1calls sign`` is refused as a whole: its reports are the signed record.
    """
    outdir = Path(outdir)
    browser = None
    if options.pdf:
        from .clinical import check_pdf_renderer

        browser = check_pdf_renderer()  # before anything is written: no half a report
    if (outdir / AUDIT_TRAIL).exists():
        raise Esr1CallsError(
            f"{outdir}: holds a signed review ({AUDIT_TRAIL}); new reports there would replace "
            "the signed ones and break the record: write them to another -o"
        )
    files = render_files(document, options)
    try:
        previous: str | None = (outdir / CALLS_JSON).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        previous = None
    written = write_files_atomic(outdir, files)
    if browser is not None:
        from .clinical import render_pdf

        render_pdf(outdir / CLINICAL_HTML, outdir / CLINICAL_PDF, browser)
        written.append(outdir / CLINICAL_PDF)
    if previous != files[CALLS_JSON]:
        for name in OPTIONAL_FILES:
            stale = outdir / name
            if stale not in written and stale.is_file():
                try:
                    stale.unlink()
                except OSError as exc:
                    raise Esr1CallsError(
                        f"{stale}: written by an earlier run and no longer matching calls.json, "
                        f"but it cannot be removed ({exc.strerror}); delete it by hand"
                    ) from exc
                log.warning(
                    "removed %s: an earlier run wrote it; it does not match these calls", stale
                )
    return written


def write_reports(result: RunResult, outdir: str | Path, options: ReportOptions) -> list[Path]:
    """Write calls.json, calls.tsv, samples.tsv, report.html, clinical.html (and the optional
    formats)."""
    return write_document(to_json_document(result, options), outdir, options)
