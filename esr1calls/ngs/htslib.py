"""The boundary to htslib: its own stderr lines are silenced while esr1calls reads through pysam.

htslib writes ``[E::...]`` and ``[W::...]`` lines straight to file descriptor 2, so without this
they print around the one-line error esr1calls gives (a CRAM without its index printed two
``[E::cram_index_load]`` lines before ours). Every VCF/BCF read and every BAM/CRAM count runs
inside :func:`quiet_htslib`; the readers turn pysam's exceptions into errors that name the file
and the fix, and what htslib only warned about (an index older than its file) into notices.
``--debug`` keeps htslib's lines, for the cases where its own words help.

pysam is imported on first use: commands that read no NGS file do not load it.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

__all__ = ["quiet_htslib"]


@contextlib.contextmanager
def quiet_htslib() -> Iterator[None]:
    """Run the block with htslib's verbosity 0 (unless esr1calls logs at DEBUG level)."""
    import pysam

    if logging.getLogger("esr1calls").isEnabledFor(logging.DEBUG):
        yield
        return
    previous = pysam.set_verbosity(0)
    try:
        yield
    finally:
        pysam.set_verbosity(previous)
