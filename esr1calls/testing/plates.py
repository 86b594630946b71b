"""Plates built in memory from the canonical ESR1 demo plate, for interpretation tests.

The instrument readers are tested on their own files (tests/plates/); these tests exercise the
rules, so they start from the canonical table and change exactly what a scenario needs.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from ..plates.plate import WELL_COLUMNS, Plate
from . import TESTDATA

DEMO_TABLE = TESTDATA / "plates" / "esr1_demo_plate.tsv"
DEMO_MAP = TESTDATA / "plates" / "esr1_demo_platemap.csv"
MIXES = {"A": "RM1", "B": "RM2", "C": "RM3", "D": "RM4", "E": "RM5"}


def demo_wells() -> pd.DataFrame:
    wells = pd.read_csv(DEMO_TABLE, sep="\t", keep_default_na=False, dtype=str)
    wells["ct"] = [float(v) if v else math.nan for v in wells["ct"]]
    wells["flags"] = ""
    wells["source_row"] = range(2, len(wells) + 2)
    return wells[list(WELL_COLUMNS)]


def plate_from(wells: pd.DataFrame, run_id: str = "demo", name: str = "demo.tsv") -> Plate:
    return Plate(Path(name), "generic", run_id, wells.reset_index(drop=True))


def demo_plate(
    set_ct: dict[tuple[str, str], float] | None = None,
    drop_wells: Iterable[str] = (),
    run_id: str = "demo",
) -> Plate:
    """The demo plate with Cts replaced ((well, dye) -> Ct, NaN = no Ct) and wells removed."""
    wells = demo_wells()
    for (well, dye), ct in (set_ct or {}).items():
        hit = (wells["well"] == well) & (wells["dye"] == dye)
        assert hit.sum() == 1, (well, dye)
        wells.loc[hit, "ct"] = ct
    wells = wells[~wells["well"].isin(set(drop_wells))]
    return plate_from(wells, run_id)


def column_wells(column: int) -> list[str]:
    return [f"{row}{column}" for row in MIXES]
