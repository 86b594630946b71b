"""Golden renderings of parsed plates: every export under testdata/plates/ has its table and
metadata in testdata/expected/plates/, compared (and updated) with :mod:`.golden`."""

from __future__ import annotations

import json
import math
from pathlib import Path

from ..plates.plate import WELL_COLUMNS, Plate
from . import TESTDATA

PLATES = TESTDATA / "plates"
EXPECTED = TESTDATA / "expected" / "plates"


def plate_fixtures() -> list[Path]:
    """Every export under testdata/plates/<format>/ (plate maps are not exports)."""
    return sorted(
        p for p in PLATES.glob("*/*") if p.is_file() and not p.name.endswith("platemap.csv")
    )


def golden_paths(fixture: Path) -> tuple[Path, Path]:
    folder = EXPECTED / fixture.parent.name
    return folder / f"{fixture.name}.tsv", folder / f"{fixture.name}.meta.json"


def render_wells(plate: Plate) -> str:
    """The canonical table as TSV; ct by repr (exact), NaN as empty."""
    lines = ["\t".join(WELL_COLUMNS)]
    for row in plate.wells.itertuples(index=False):
        cells = []
        for name, value in zip(WELL_COLUMNS, row, strict=True):
            if name == "ct":
                cells.append("" if math.isnan(value) else repr(float(value)))
            else:
                cells.append(str(value))
        lines.append("\t".join(cells))
    return "\n".join(lines) + "\n"


def render_meta(plate: Plate) -> str:
    """Format, run id, metadata and dropped rows as stable JSON."""
    document = {
        "format": plate.format,
        "run_id": plate.run_id,
        "metadata": plate.metadata,
        "dropped": [{"place": d.place, "reason": d.reason} for d in plate.dropped],
    }
    if plate.notices:  # e.g. an export cut short
        document["notices"] = list(plate.notices)
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
