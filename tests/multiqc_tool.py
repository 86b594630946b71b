"""MultiQC, the real consumer of the *_mqc.json files: found in its own virtualenv, which `make
test` installs (`.venv/multiqc`, about 1 GB with its plotting stack, kept apart so its pins never
meet esr1calls'), or on PATH. Without it the tests that run it skip, or fail when
ESR1CALLS_REQUIRE_MULTIQC=1 (as `make test` sets)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from esr1calls.testing import REPO

REQUIRE_ENV = "ESR1CALLS_REQUIRE_MULTIQC"


def find_multiqc() -> str:
    """The multiqc executable, or skip (fail when ESR1CALLS_REQUIRE_MULTIQC=1)."""
    for candidate in (REPO / ".venv" / "multiqc" / "bin" / "multiqc", shutil.which("multiqc")):
        if candidate and Path(candidate).is_file():
            return str(candidate)
    message = "multiqc is not installed; `make test` installs it into .venv/multiqc"
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{REQUIRE_ENV}=1 but {message}")
    pytest.skip(message)


def run_multiqc(folder: Path, out: Path) -> dict[str, Any]:
    """Run multiqc on ``folder`` into ``out``; its multiqc_data.json."""
    done = subprocess.run(
        [find_multiqc(), str(folder), "-o", str(out), "--no-ai", "--quiet"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    data: dict[str, Any] = json.loads((out / "multiqc_data" / "multiqc_data.json").read_text())
    return data


def tsv_samples(path: Path) -> list[str]:
    """The first column of one of multiqc_data's tables, header left out."""
    return [line.split("\t")[0] for line in path.read_text().splitlines()[1:]]
