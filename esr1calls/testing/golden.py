"""Golden files: the one way every golden test compares, and the one way to update them.

A mismatch fails with a unified diff; files are (re)written only when ``ESR1CALLS_UPDATE_GOLDEN=1``
is set. Update deliberately, in their own commit, and review ``git diff testdata/expected``:

    ESR1CALLS_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/plates     # or any test path, -k ...
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

UPDATE = os.environ.get("ESR1CALLS_UPDATE_GOLDEN") == "1"


def assert_golden(actual: str, expected_path: Path) -> None:
    if UPDATE:
        expected_path.parent.mkdir(parents=True, exist_ok=True)
        expected_path.write_text(actual, encoding="utf-8")
        return
    assert expected_path.exists(), (
        f"golden file {expected_path} is missing; create it with ESR1CALLS_UPDATE_GOLDEN=1"
    )
    expected = expected_path.read_text(encoding="utf-8")
    if actual != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True), actual.splitlines(keepends=True),
                fromfile=str(expected_path), tofile="actual",
            )
        )  # fmt: skip
        raise AssertionError(f"output differs from {expected_path.name}:\n{diff}")
