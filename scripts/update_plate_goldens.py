#!/usr/bin/env python3
"""Rewrite testdata/expected/plates/ from the current readers -- deliberately, never in tests.

    python scripts/update_plate_goldens.py          # all fixtures
    python scripts/update_plate_goldens.py cfx      # fixtures whose path contains "cfx"

Review `git diff testdata/expected` before committing: every change is a change in what a
reader returns for a real or demo export.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from esr1calls.plates import read_plate
from tests.plate_golden import golden_paths, plate_fixtures, render_meta, render_wells


def main(patterns: list[str]) -> None:
    for fixture in plate_fixtures():
        if patterns and not any(p in str(fixture) for p in patterns):
            continue
        plate = read_plate(fixture)
        for path, text in zip(golden_paths(fixture), (render_wells(plate), render_meta(plate)),
                              strict=True):  # fmt: skip
            old = path.read_text(encoding="utf-8") if path.exists() else None
            if old != text:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
                print(f"{'updated' if old is not None else 'created'} {path}")


if __name__ == "__main__":
    main(sys.argv[1:])
