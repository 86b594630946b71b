#!/usr/bin/env python3
"""Write esr1calls/data/hotspots.compiled.json, the checked form of the packaged panel.

    .venv/bin/python scripts/compile_panel.py          # (re)writes it
    .venv/bin/python scripts/compile_panel.py --check  # exit 1 if it is out of date

Every entry of esr1calls/data/hotspots.tsv is checked against NM_000125.4 (data/NM_000125.4.fa,
data/esr1_cds_exons.tsv) exactly as a lab panel is, and the result is written with the sha256
of those three files. esr1calls loads the packaged panel from this file while the hashes match,
and checks hotspots.tsv in full otherwise; tests/test_hotspots.py fails until the file is
regenerated after any change to the three files or to the checks. Run it after editing
hotspots.tsv, the transcript files or esr1calls/hotspots.py, and commit the result.
"""

from __future__ import annotations

import argparse
import sys
from importlib import resources
from pathlib import Path

from esr1calls.hotspots import COMPILED_PANEL, compile_panel


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check; write nothing")
    args = parser.parse_args(argv)
    target = resources.files("esr1calls") / "data" / COMPILED_PANEL
    text = compile_panel()
    if args.check:
        current = target.read_text(encoding="utf-8") if target.is_file() else ""
        if current != text:
            print(f"esr1calls/data/{COMPILED_PANEL} is out of date: run {sys.argv[0]}")
            return 1
        print(f"esr1calls/data/{COMPILED_PANEL} is up to date")
        return 0
    Path(str(target)).write_bytes(text.encode("utf-8"))
    print(f"wrote esr1calls/data/{COMPILED_PANEL}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
