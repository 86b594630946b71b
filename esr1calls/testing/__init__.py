"""Internal: what the test suite, scripts/ and benchmarks/ share (not a public API).

``golden.py`` (golden files: compared with a unified diff, rewritten only with
``ESR1CALLS_UPDATE_GOLDEN=1``), ``plates.py`` (plates built from the demo table),
``plate_goldens.py`` (a plate rendered for its golden files), ``bams.py`` (exact BAM/CRAM files
built from known molecules) and ``runs.py`` (run results for the report tests).

esr1calls itself never imports this package. It works in a checkout of the repository (it reads
``testdata/``), and importing it loads nothing: each module imports what it needs (pandas,
pysam) when it is imported itself.
"""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TESTDATA = REPO / "testdata"

__all__ = ["REPO", "TESTDATA"]
