"""The installed ``esr1calls`` command run in its own process, as a user runs it.

In-process runs (``run_cli``) share file descriptor 2 with pytest, so they cannot show what
htslib writes there itself; these runs capture the real stderr.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ESR1CALLS = Path(sys.executable).with_name("esr1calls")  # this environment's command


def run_esr1calls(
    *args: object, stdin: bytes | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``esr1calls ARGS...`` (``env``: added to the environment); stdout and stderr kept
    apart, as text."""
    done = subprocess.run(
        [str(ESR1CALLS), *map(str, args)], input=stdin, capture_output=True, check=False,
        env=None if env is None else {**os.environ, **env},
    )  # fmt: skip
    return subprocess.CompletedProcess(
        done.args, done.returncode, done.stdout.decode(), done.stderr.decode()
    )
