"""The four dPCR export readers: real exports and the demo plate, detection by content, and
every way an export can contradict itself or hide a count."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from esr1calls.dpcr import call_dpcr, read_export, sniff_export
from esr1calls.dpcr.wells import DpcrExport
from esr1calls.errors import InputError, PlateFormatError, UnknownFormatError
from esr1calls.model import CallStatus, Reason
from esr1calls.testing import TESTDATA

DPCR = TESTDATA / "dpcr"
DEMO_MAP = DPCR / "esr1_demo_dpcr_platemap.csv"
DEMO = {
    "quantasoft": DPCR / "quantasoft" / "esr1_demo_quantasoft.csv",
    "qxmanager": DPCR / "qxmanager" / "esr1_demo_qxmanager.csv",
    "qiacuity": DPCR / "qiacuity" / "esr1_demo_qiacuity.csv",
    "absoluteq": DPCR / "absoluteq" / "esr1_demo_absoluteq.csv",
}
REAL = {
    "quantasoft/QUANTASOFT__ddpcr__small.csv": ("quantasoft", "qx200"),
    "qxmanager/QXMANAGER__ddpcr__quant.csv": ("qxmanager", "qx200"),
    "qxmanager/QXMANAGER__ddpcr__SMN2v2_20220630_162335_752.csv": ("qxmanager", "qx200"),
    "qiacuity/QIACUITY__allotropy__qiacuity_dpcr_example01.csv": ("qiacuity", "qiacuity"),
    "qiacuity/QIACUITY__allotropy__qiacuity_dpcr_example03.csv": ("qiacuity", "qiacuity"),
    "qiacuity/QIACUITY__allotropy__qiacuity_dpcr_example04.csv": ("qiacuity", "qiacuity"),
    "absoluteq/ABSOLUTEQ__allotropy__Appbio_AbsoluteQ_multichannel.csv": ("absoluteq", "absoluteq"),
    "absoluteq/ABSOLUTEQ__allotropy__Appbio_AbsoluteQ_example01.csv": ("absoluteq", "absoluteq"),
}


def keyed(export: DpcrExport) -> dict[tuple[str, str], tuple[int, int]]:
    return {row.key: (row.positives, row.partitions) for row in export.rows}


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("fmt, path", DEMO.items(), ids=list(DEMO))
def test_each_demo_export_is_recognised_by_content(fmt, path, tmp_path):
    renamed = write(tmp_path, "export.txt", path.read_bytes())
    assert sniff_export(renamed) == fmt


@pytest.mark.parametrize("name", REAL, ids=lambda n: n.split("/")[-1])
def test_real_exports_are_recognised_and_read(name):
    export = read_export(DPCR / name)
    assert (export.format, export.instrument) == REAL[name]
    assert export.rows and export.sha256


def test_the_real_quantasoft_export_gives_its_droplets_and_combinations():
    """ddpcr's small.csv: the older 44-column layout (TypeAssay, Assay), its data rows one
    cell short of the header (no MergedWells cell)."""
    export = read_export(DPCR / "quantasoft" / "QUANTASOFT__ddpcr__small.csv")
    a1 = {row.dye: row for row in export.rows if row.well == "A1"}
    assert (a1["CH1"].positives, a1["CH1"].partitions, a1["CH2"].positives) == (1901, 15820, 1978)
    combinations = export.combinations["A1"]
    assert combinations.count({"CH1"}, {"CH2"}) == 4 and combinations.total == 15820


def test_a_real_file_without_its_final_line_end_drops_the_unprovable_last_row():
    """The SMN2 export ends without a line end: its last cell ('20630') may be cut, so H02's
    last row is dropped with the reason, never read."""
    export = read_export(DPCR / "qxmanager" / "QXMANAGER__ddpcr__SMN2v2_20220630_162335_752.csv")
    assert ("H2", "2") not in keyed(export) and ("H2", "1") in keyed(export)
    assert export.dropped[-1].place == "row 33"
    assert "may be cut short" in export.dropped[-1].reason
    assert export.notices and "looks cut short" in export.notices[0]


def test_qiacuity_reads_both_headers_and_never_the_replicate_means():
    old = read_export(DPCR / "qiacuity" / "QIACUITY__allotropy__qiacuity_dpcr_example01.csv")
    assert keyed(old)["A1", "5p"] == (1778, 25485)
    means = read_export(DPCR / "qiacuity" / "QIACUITY__allotropy__qiacuity_dpcr_example03.csv")
    b1 = next(r for r in means.rows if r.well == "B1")
    assert (b1.positives, b1.concentration) == (13, 0.686)  # not "Mean conc." 85.20
    new = read_export(DPCR / "qiacuity" / "QIACUITY__allotropy__qiacuity_dpcr_example04.csv")
    assert new.run_id == "250227 AAV MA 6"
    assert keyed(new)["H5", "eGFP"] == (0, 8211)


def test_absolute_q_combinations_sum_to_each_channels_positives():
    export = read_export(
        DPCR / "absoluteq" / "ABSOLUTEQ__allotropy__Appbio_AbsoluteQ_multichannel.csv"
    )
    a1 = export.combinations["A1"]
    assert a1.total == 20419
    assert a1.positives("FAM") == 2252 + 430 + 428 + 72
    assert a1.count({"FAM"}, {"VIC"}) == 2252 + 430
    groups = read_export(
        DPCR / "absoluteq" / "ABSOLUTEQ__allotropy__Appbio_AbsoluteQ_example01.csv"
    )
    assert [d.place for d in groups.dropped] == ["row 2", "row 11"]  # the two group averages


@pytest.mark.parametrize("fmt", ["quantasoft", "qxmanager", "qiacuity"])
def test_demo_concentrations_in_the_export_are_the_poisson_formula(fmt):
    export = read_export(DEMO[fmt])
    checked = 0
    for row in export.rows:
        if row.concentration is None or row.positives == 0:
            continue
        expected = -math.log(1 - row.positives / row.partitions) / 0.85e-3
        if fmt == "qxmanager":  # written in full
            assert row.concentration == pytest.approx(expected, rel=1e-9), row
        else:  # QuantaSoft: 3 significant digits; QIAcuity: 3 decimals
            assert row.concentration == pytest.approx(expected, rel=5e-3, abs=1e-3), row
        checked += 1
    assert checked > 50


# ----------------------------------------------------------------------------- same plate, 4 ways
def _counts(export: DpcrExport) -> dict[tuple[str, str], tuple[int, int]]:
    """(well, canonical channel) -> (positives, partitions), merged rows aside."""
    names = {"CH1": "FAM", "CH2": "HEX", "VIC": "HEX"}
    targets = {"E380Q": "FAM", "S463P": "FAM", "Y537S": "FAM", "D538G": "FAM", "EX8_REF": "FAM"}
    out = {}
    for row in export.rows:
        channel = names.get(row.dye, row.dye) or targets.get(row.target, "HEX")
        out[row.well, channel] = (row.positives, row.partitions)
    return out


def test_the_four_demo_exports_hold_the_same_counts():
    counts = {fmt: _counts(read_export(path)) for fmt, path in DEMO.items()}
    first = counts.pop("quantasoft")
    assert len(first) == 100
    for fmt, found in counts.items():
        assert found == first, fmt


# ----------------------------------------------------------------------------- damage
def test_a_duplicated_well_and_target_is_an_error(tmp_path):
    lines = DEMO["quantasoft"].read_bytes().split(b"\r\n")
    path = write(tmp_path, "dup.csv", b"\r\n".join([*lines[:3], lines[2], *lines[3:]]))
    with pytest.raises(PlateFormatError) as caught:
        read_export(path)
    assert str(caught.value) == (
        "dup.csv, row 4: well A1, target 'E380_WT' appears twice (first at row 3). Each well "
        "and target must appear once: remove the duplicate row, or export one run per file"
    )


@pytest.mark.parametrize("written", [b"No Call", b"", b"NaN"])
def test_a_count_that_is_not_written_is_never_zero(tmp_path, written):
    """A1's HEX positives: 'No Call', empty and NaN drop the row; the well's E380Q calls are
    then a missing well, and the NTC is not there to judge: never a count of 0."""
    text = DEMO["qxmanager"].read_bytes()
    lines = text.split(b"\r\n")
    cells = lines[2].split(b",")
    assert cells[21] == b"0"  # A01 HEX Positives
    cells[21] = written
    path = write(tmp_path, "nocount.csv", b"\r\n".join([*lines[:2], b",".join(cells), *lines[3:]]))
    export = read_export(path)
    assert ("A1", "E380_WT") not in keyed(export)
    assert "is not zero, so the row is not used" in export.dropped[0].reason
    result = call_dpcr([path], DEMO_MAP)
    assert any(
        c.subject == "well A1 (E380Q)" and c.reason is Reason.MISSING_CONTROL for c in result.run_qc
    )
    assert {c.status for s in result.samples for c in s.calls} == {CallStatus.INVALID}


def test_a_row_short_of_a_count_is_refused(tmp_path):
    lines = DEMO["quantasoft"].read_bytes().split(b"\r\n")
    short = b",".join(lines[5].split(b",")[:18])  # stops before Ch1-Ch2-
    path = write(tmp_path, "short.csv", b"\r\n".join([*lines[:5], short, *lines[6:]]))
    with pytest.raises(
        PlateFormatError,
        match=r"short.csv, row 6: the row stops after 18 of 63 "
        r'columns, before "Ch1-Ch2\+"',
    ):
        read_export(path)


@pytest.mark.parametrize(
    "edits, message",
    [
        ({4: {15: b"123"}}, "4638 positive + 123 negative droplets is not its 17893 accepted"),
        ({3: {16: b"9999"}, 4: {16: b"9999"}}, "its partition combinations add up to 27819"),
        ({4: {15: b"10362", 21: b"15000"}}, "15000 accepted partitions here, 17893 at row 4"),
        ({4: {16: b"74"}}, "partition-combination counts differ from those of row 4"),
    ],
)
def test_an_export_that_contradicts_itself_is_refused(tmp_path, edits, message):
    lines = DEMO["quantasoft"].read_bytes().split(b"\r\n")
    for index, cells_edit in edits.items():
        cells = lines[index].split(b",")
        for column, value in cells_edit.items():
            cells[column] = value
        lines[index] = b",".join(cells)
    with pytest.raises(PlateFormatError, match=re.escape(message)):
        read_export(write(tmp_path, "odd.csv", b"\r\n".join(lines)))


def test_combinations_that_disagree_with_a_channels_positives_are_refused(tmp_path):
    lines = DEMO["quantasoft"].read_bytes().split(b"\r\n")
    rows = [line.split(b",") for line in lines[3:5]]  # A02 FAM and HEX
    for cells in rows:  # move one partition from FAM+HEX- to FAM-HEX-: same total
        cells[17] = str(int(cells[17]) - 1).encode()
        cells[19] = str(int(cells[19]) + 1).encode()
    path = write(
        tmp_path, "odd.csv", b"\r\n".join([*lines[:3], *(b",".join(c) for c in rows), *lines[5:]])
    )
    with pytest.raises(PlateFormatError, match="its partition combinations give"):
        read_export(path)


@pytest.mark.parametrize("fmt", ["quantasoft", "qxmanager"])
def test_a_merged_well_counts_once_whether_its_members_are_there_or_not(fmt, tmp_path):
    """With C09 and C10 in the export the M01 rows are dropped; without them M01 stands for
    both: the same calls either way."""
    with_members = call_dpcr([DEMO[fmt]], DEMO_MAP)
    assert any(d.reason.startswith("merged well M1 (C9, C10)") for d in with_members.dropped)
    lines = DEMO[fmt].read_bytes().split(b"\r\n")
    kept = [line for line in lines if not line.startswith((b"C09,", b"C10,"))]
    assert len(kept) == len(lines) - 4
    path = write(tmp_path, DEMO[fmt].name, b"\r\n".join(kept))
    without = call_dpcr([path], DEMO_MAP)

    def table(result):
        return [
            (s.sample_id, c.hotspot, c.status, c.reasons, c.alt_count, c.depth)
            for s in result.samples
            for c in s.calls
        ]

    assert table(without) == table(with_members)
    l1 = next(s for s in without.samples if s.sample_id == "L1")
    assert next(c for c in l1.calls if c.hotspot == "Y537S").evidence["wells"] == ["M1 (C9+C10)"]


@pytest.mark.parametrize("encoding", ["cp1252-as-utf8", "cp1252"])
def test_a_mis_encoded_micro_sign_still_finds_every_column(encoding, tmp_path):
    text = DEMO["qxmanager"].read_bytes().decode("utf-8-sig")
    if encoding == "cp1252":
        data = text.encode("cp1252")
    else:  # UTF-8 bytes of µ read once as cp1252 and written again as UTF-8: "Âµ"
        data = text.replace("µ", "µ".encode().decode("cp1252")).encode()
    export = read_export(write(tmp_path, "mu.csv", data))
    assert keyed(export) == keyed(read_export(DEMO["qxmanager"]))
    assert all(row.concentration is not None for row in export.rows if row.positives)


def test_qx600_is_told_from_qx200_by_content(tmp_path):
    text = DEMO["qxmanager"].read_bytes()
    assert read_export(DEMO["qxmanager"]).instrument == "qx200"
    six = text.replace(b",A01,NTC,,,,E380_WT,", b",A01,NTC,,,,E380_WT,", 1).replace(
        b"ddPCR Supermix for Probes (No dUTP),HEX,", b"ddPCR Supermix for Probes (No dUTP),Cy5,", 1
    )
    assert six != text
    export = read_export(write(tmp_path, "qx600.csv", six))
    assert export.instrument == "qx600"


def test_absolute_q_a_well_cut_at_a_line_end_is_dropped_and_said(tmp_path):
    lines = DEMO["absoluteq"].read_bytes().split(b"\n")[:-1]
    path = write(tmp_path, "aq.csv", b"\n".join(lines[:-1]) + b"\n")  # E10 lost its FAM VIC row
    export = read_export(path)
    assert not any(row.well == "E10" for row in export.rows)
    assert export.dropped[-1].reason.startswith("well E10: its combination rows add up to")
    assert "looks cut short" in export.notices[-1]
    inside = next(
        i
        for i, line in enumerate(lines)
        if line.startswith(b"ESR1") and i > 40 and int(line.split(b",")[6]) > 0
    )
    damaged = [line for i, line in enumerate(lines) if i != inside]  # a row inside the file
    with pytest.raises(PlateFormatError, match="its combination rows add up to"):
        read_export(write(tmp_path, "aq2.csv", b"\n".join(damaged) + b"\n"))


def test_absolute_q_without_wells_in_the_names_is_an_error(tmp_path):
    text = DEMO["absoluteq"].read_bytes().replace(b",Sample A1,", b",Patient 7,")
    with pytest.raises(PlateFormatError, match="does not end with a well position"):
        read_export(write(tmp_path, "aq.csv", text))


def test_an_unknown_file_is_a_one_line_error(tmp_path):
    path = write(tmp_path, "notes.csv", b"well,dye,ct\nA1,FAM,28.1\n")
    with pytest.raises(UnknownFormatError) as caught:
        read_export(path)
    assert str(caught.value).startswith("notes.csv: not a recognised digital PCR export")
    with pytest.raises(InputError):
        read_export(path, "qiacuity")
