"""Every dPCR export cut at every byte of its last row: an error, or the row (for Absolute Q
its well) dropped with the reason; never a count read from half a cell ("15234" cut to "152"
is never a smaller N)."""

from __future__ import annotations

from pathlib import Path

import pytest

from esr1calls.dpcr import call_dpcr, read_export
from esr1calls.dpcr.wells import DpcrExport
from esr1calls.errors import InputError
from esr1calls.model import CallStatus, Reason
from esr1calls.testing import TESTDATA

DPCR = TESTDATA / "dpcr"
DEMO_MAP = DPCR / "esr1_demo_dpcr_platemap.csv"
FILES = sorted(p for p in DPCR.glob("*/*.csv"))


def keyed(export: DpcrExport) -> dict[tuple[str, str], tuple[int, int, str]]:
    return {row.key: (row.positives, row.partitions, row.sample_name) for row in export.rows}


def combinations(export: DpcrExport) -> dict[str, dict[frozenset[str], int]]:
    """Each well's combinations with partitions (a combination row of 0 adds nothing)."""
    return {
        well: {dyes: n for dyes, n in c.counts.items() if n}
        for well, c in export.combinations.items()
    }


def last_line(data: bytes) -> tuple[int, int]:
    """(start, end) of the last non-empty line, its line end included."""
    body = data.rstrip(b"\r\n")
    return body.rfind(b"\n") + 1, len(data)


@pytest.mark.parametrize("source", FILES, ids=lambda p: p.name)
def test_a_cut_at_any_byte_of_the_last_row_is_an_error_or_a_dropped_row(tmp_path, source: Path):
    data = source.read_bytes()
    original = read_export(source)
    before, before_combinations = keyed(original), combinations(original)
    start, end = last_line(data)
    last_text = data[start:end].decode("utf-8", errors="ignore")
    outcomes = set()
    for cut in range(start, end + 1):
        path = tmp_path / source.name
        path.write_bytes(data[:cut])
        try:
            export = read_export(path)
        except InputError as exc:
            message = str(exc)
            assert message.startswith(path.name) and "\n" not in message, message
            outcomes.add("error")
            continue
        after = keyed(export)
        changed = {k: (before.get(k), v) for k, v in after.items() if before.get(k) != v}
        assert not changed, f"cut at byte {cut}: counts changed {changed}"
        for well, counts in combinations(export).items():
            assert before_combinations[well] == counts, f"cut at byte {cut}: well {well}"
        lost = set(before) - set(after)
        told = [d for d in export.dropped if d not in original.dropped]
        if not lost:  # whole, or a row of nothing (an Absolute Q combination of 0) dropped
            outcomes.add("dropped" if told else "read whole")
            continue
        wells = {well for well, _ in lost}
        assert len(wells) == 1, f"cut at byte {cut}: lost {sorted(lost)}"
        kept = data[start:cut].decode("utf-8", errors="ignore").strip(' \t,;"\r\n\ufeff')
        if told:
            assert any(
                "the file ends inside" in d.reason or "not used" in d.reason for d in told
            ), told
            outcomes.add("dropped")
        else:  # nothing of the row is left but separators: the row is simply not there
            assert kept == "", f"cut at byte {cut}: {sorted(lost)} vanished without a reason"
            outcomes.add("gone")
    # a file without its final line end already drops its last row (ddpcr's SMN2 export)
    already = not data.endswith((b"\n", b"\r")) and original.dropped
    assert outcomes & {"dropped", "error"} or already, (outcomes, last_text)


def test_a_count_cut_short_is_never_a_smaller_n(tmp_path):
    """The issue's case: the demo's last row ends with the well's partitions; cut from
    '17745' to '177' it is dropped, and the calls that need the well are INVALID."""
    source = DPCR / "absoluteq" / "esr1_demo_absoluteq.csv"
    data = source.read_bytes()
    assert data.endswith(b",Sample E10,FAM VIC,350,23.44,17745\n")
    path = tmp_path / source.name
    path.write_bytes(data[: -len(b"45\n")])
    export = read_export(path)
    assert not any(row.well == "E10" for row in export.rows)
    result = call_dpcr([path], DEMO_MAP)
    l1 = next(s for s in result.samples if s.sample_id == "L1")
    region = next(c for c in l1.calls if c.hotspot == "EX8_DROPOFF")
    assert (region.status, region.reasons[0]) == (CallStatus.INVALID, Reason.MISSING_WELL)
    assert any("looks cut short" in n for n in result.notices)
