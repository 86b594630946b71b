"""Plate exports cut short (a copy interrupted, a USB stick pulled): a cut row is never read as
data. Every text family is cut at every byte offset of its last row: the result is an error or
that row dropped with its reason, never a changed Ct; real exports that end without a line end
read as before."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from esr1calls.errors import InputError
from esr1calls.model import CallStatus, Reason
from esr1calls.pcr.run import call_pcr
from esr1calls.plates import Plate, read_plate
from esr1calls.plates._source import Row, TextSource, decode_text, whole_cells
from esr1calls.testing.plate_goldens import PLATES

DEMO_MAP = PLATES / "esr1_demo_platemap.csv"
CFX = PLATES / "cfx" / "esr1_demo_cfx - Quantification Cq Results.csv"
CFX_SEMICOLON = PLATES / "cfx" / "esr1_demo_cfx_semicolon - Quantification Cq Results.csv"
LC480_FAM = PLATES / "lightcycler480" / "esr1_demo_lc480_fam_465-510.txt"
LC480_REAL = PLATES / "lightcycler480" / "LIGHTCYCLER480__HTqPCR__LightCycler_sample.txt"
SDS_REAL = PLATES / "sds7900" / "SDS7900HT__HTqPCR__SDS_sample.txt"
GENERIC = PLATES / "generic" / "esr1_demo_generic.csv"
_LINE_END = re.compile(rb"\r\n|\r|\n")


def keyed(plate: Plate) -> dict[tuple[str, str], tuple[object, ...]]:
    """(well, dye) -> every value of the row; a NaN Ct as None so that equal means equal."""
    result = {}
    for row in plate.wells.itertuples(index=False):
        ct = None if math.isnan(row.ct) else row.ct
        result[row.well, row.dye] = (row.sample_name, row.target_name, ct, row.flags)
    return result


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


# ---------------------------------------------------------------------------------------------
# the mechanism: a text source knows whether it ended with a line end, a row which cells are whole


def test_only_a_last_line_without_its_line_end_has_cells_that_may_be_cut() -> None:
    complete = TextSource(Path("x.csv"), ("well,ct", "A1,35.5"), "utf-8", line_end=True)
    assert all(row.whole is None for row in complete.grid(",").rows)
    cut = TextSource(Path("x.csv"), ("well,ct", "A1,35.5"), "utf-8", line_end=False)
    rows = cut.grid(",").rows
    assert rows[0].whole is None and rows[1].whole == 1
    assert rows[1].cut_column(0) is None and rows[1].cut_column(0, 1) == 1


@pytest.mark.parametrize(
    "line, whole",
    [
        ("A1,FAM,35", 2),  # "35" may be "35.50" cut
        ("A1,FAM,35.50,", 3),  # the delimiter proves the Ct whole
        ('A1,FAM,"35.50"', 3),  # so does a closing quote
        ('A1,FAM,"35.5', 2),  # an unclosed quote is a cut
        ('A1,"a,b","x""y"', 3),  # quoted delimiters and doubled quotes
        ('A1,"x""', 1),  # a doubled quote is not a closing one
        ("", 0),
    ],
)
def test_whole_cells_counts_what_a_delimiter_or_a_closing_quote_proves(line: str, whole: int):
    assert whole_cells(line, ",") == whole


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be"])
def test_a_character_cut_by_the_end_of_the_data_is_left_out_not_misdecoded(encoding: str) -> None:
    """Before, a UTF-8 file cut inside a multi-byte character fell back to cp1252 (mojibake in
    every header), and a UTF-16 file cut at an odd byte was refused as binary."""
    text = "反应孔,通道,Ct\nA1,FAM,阴性"
    data = text.encode(encoding)
    decoded, _ = decode_text(Path("x.csv"), data[:-1])
    assert decoded == text[:-1]


# ---------------------------------------------------------------------------------------------
# the cases, through the readers and the calls


@pytest.mark.parametrize("source", [CFX, CFX_SEMICOLON], ids=["comma", "semicolon"])
def test_a_cfx_export_cut_inside_a_cq_is_never_read_as_the_shorter_cq(tmp_path, source) -> None:
    """'34.45' cut to '34' was read as Cq 34 (S3's L536Q: 34.45 - 23.85 = 10.6, negative; 34 -
    23.85 = 10.15); it is dropped, and the pcr call is INVALID MISSING_WELL."""
    data = source.read_bytes()
    separator = b";" if source is CFX_SEMICOLON else b","
    cell = b"34,45" if source is CFX_SEMICOLON else b"34.45"
    row = data.index(b"D06" + separator + b"Cy5")
    cut = data.index(cell, row) + 2
    path = write(tmp_path, source.name, data[:cut])
    plate = read_plate(path)
    assert ("D6", "CY5") not in keyed(plate)
    dropped = plate.dropped[-1]
    assert dropped.place == "row 199"
    assert dropped.reason == (
        'well D06 Cy5: the file ends inside this row, without a line end, and its "Cq" cell '
        "'34' may be cut short; the row is not used"
    )
    assert plate.notices and plate.notices[0].startswith(
        f"{path.name} ends inside row 199 (no line end after it): the export looks cut short"
    )
    result = call_pcr([path], DEMO_MAP)
    s3 = {c.hotspot: c for s in result.samples if s.sample_id == "S3" for c in s.calls}
    assert s3["L536Q"].status is CallStatus.INVALID
    assert s3["L536Q"].reasons == (Reason.MISSING_WELL,)
    assert any(n.startswith(f"{path.name} ends inside row 199") for n in result.notices)


def test_a_lightcycler_file_cut_before_its_last_cp_is_not_no_amplification(tmp_path) -> None:
    """The empty Cp of a cut row used to be read as "no amplification": S9's reference (E12 FAM
    30.62) would be missing silently; the row is dropped, the well reported missing."""
    data = LC480_FAM.read_bytes()
    cut = data.rindex(b"E12\tS9\t") + len(b"E12\tS9\t")
    path = write(tmp_path, LC480_FAM.name, data[:cut])
    plate = read_plate(path)
    assert ("E12", "FAM (465-510)") not in keyed(plate)
    assert plate.dropped[-1].reason.startswith(
        'well E12 FAM (465-510): the file ends inside this row, without a line end, and its "Cp"'
    )


def test_a_generic_table_cut_after_its_last_separator_is_not_no_amplification(tmp_path) -> None:
    """S2's D538G (Ct 31.75, DETECTED) as the last row, cut after its last separator: the empty
    Ct was read as "no amplification" and the call became NOT_DETECTED."""
    lines = GENERIC.read_bytes().split(b"\n")[:-1]
    positive = next(line for line in lines if line.startswith(b"A5,S2,D538G,FAM,"))
    lines.remove(positive)
    path = write(tmp_path, GENERIC.name, b"\n".join([*lines, b"A5,S2,D538G,FAM,"]))
    plate = read_plate(path)
    assert ("A5", "FAM") not in keyed(plate)
    result = call_pcr([path], DEMO_MAP)
    s2 = {c.hotspot: c for s in result.samples if s.sample_id == "S2" for c in s.calls}
    assert s2["D538G"].status is CallStatus.INVALID
    assert s2["D538G"].reasons == (Reason.MISSING_WELL,)
    assert any(d.place == "row 206" and "ends inside this row" in d.reason for d in result.dropped)


def test_a_cut_internal_control_row_makes_its_well_missing_not_an_ic_failure(tmp_path) -> None:
    """S1's RM1 IC (A4 HEX, 29.81) as the last row, cut inside its Ct: the negatives of that
    well were INVALID IC_FAIL ("the internal control failed: repeat the mix"); the IC did not
    fail, its row is missing from the export: MISSING_WELL, with its action."""
    lines = GENERIC.read_bytes().split(b"\n")[:-1]
    ic = next(line for line in lines if line.startswith(b"A4,S1,IC,HEX,"))
    lines.remove(ic)
    path = write(tmp_path, GENERIC.name, b"\n".join([*lines, ic[:-3]]))
    result = call_pcr([path], DEMO_MAP)
    s1 = {c.hotspot: c for s in result.samples if s.sample_id == "S1" for c in s.calls}
    for hotspot in ("D538G", "E380Q", "L536H"):  # RM1, negative in A4
        assert s1[hotspot].status is CallStatus.INVALID
        assert s1[hotspot].reasons == (Reason.MISSING_WELL,)
        assert s1[hotspot].action.startswith("a well is missing from the export")
    assert s1["Y537S"].status is CallStatus.NOT_DETECTED  # RM2, untouched


def test_a_file_that_is_complete_but_lacks_its_final_line_end_loses_only_an_unproven_ct(
    tmp_path,
) -> None:
    """Ambiguous by nature: '29.6' at the very end may be '29.61' cut. The row is dropped with
    a reason that says how to fix a complete file; every other row reads as before."""
    data = GENERIC.read_bytes()
    assert data.endswith(b"29.6\n")
    path = write(tmp_path, GENERIC.name, data[:-1])
    plate = read_plate(path)
    original = keyed(read_plate(GENERIC))
    del original["E12", "HEX"]
    assert keyed(plate) == original
    assert "end its last line with a line break" in plate.notices[0]


@pytest.mark.parametrize("path", [LC480_REAL, SDS_REAL], ids=lambda p: p.parent.name)
def test_real_exports_without_a_final_line_end_read_as_before(path: Path) -> None:
    """LCS480 ends its last row without a CR and without its Status cell, but the Cp cell is
    followed by tabs; the SDS file's unterminated last line is below the table."""
    assert not path.read_bytes().endswith((b"\n", b"\r"))
    plate = read_plate(path)
    assert not plate.notices and not any("ends inside" in d.reason for d in plate.dropped)
    if path is LC480_REAL:
        p24 = plate.wells.set_index("well").loc["P24"]
        assert p24["sample_name"] == "no template control" and math.isnan(p24["ct"])


# ---------------------------------------------------------------------------------------------
# a cut row given a line end afterwards (editors and copy tools add one)


def test_only_the_last_line_of_a_file_with_its_line_end_can_be_fitted_as_cut() -> None:
    source = TextSource(Path("x.csv"), ("well,dye,ct", "A1,FAM,30", "A2,FAM,3", ""), "utf-8")
    rows = source.grid(",").rows
    assert [row.tail for row in rows] == [None, None, 2, None]  # the last line that holds any
    header, above, last = rows[0], rows[1], rows[2]
    assert last.fit(header, above) == last  # as long as the header and the row above
    short = Row(3, ("A2", "FAM"), tail=1)
    assert short.fit(header, above).cut_column(0, 1) == 1
    assert Row(3, ("A2", "FAM"), tail=1).fit(header, Row(2, ("A1", "FAM"))).whole is None
    assert Row(3, ("A2", "FAM")).fit(header, above).whole is None  # not the file's last line


@pytest.mark.parametrize(
    "fixture, fmt, row_start, cut_after, key",
    [
        (CFX, "cfx", b",D12,Cy5,", b",D12,Cy5,L536Q,Unkn", ("D12", "CY5")),
        (LC480_FAM, "lightcycler480", b"True\t65280\tE12\t", b"E12\tS9\t",
         ("E12", "FAM (465-510)")),
        (PLATES / "quantstudio" / "esr1_demo_quantstudio.txt", "quantstudio",
         b"60\tE12\tfalse\tS9\tIC", b"VIC\tNFQ-MGB\t29.6", ("E12", "VIC")),
        (PLATES / "abi7500" / "esr1_demo_steponeplus.csv", "abi7500", b"E12,S9,IC,",
         b"NFQ-MGB,29.6", ("E12", "VIC")),
        (PLATES / "lightcycler96" / "esr1_demo_lc96.csv", "lightcycler96",
         b"255;0;0;255,E12,S9,IC,", b"IC,29.", ("E12", "HEX")),
        (PLATES / "rotorgene" / "esr1_demo_rotorgene.csv", "rotorgene", b"\n58;",
         b"58;5775359;S9;Unknown;34.6", ("58", "RED")),
        (PLATES / "slan" / "esr1_demo_slan.csv", "slan", b"E12,S9,", b"VIC,IC,29.", ("E12", "VIC")),
        (GENERIC, "generic", b"E12,S9,IC,", b"E12,S9,IC,HEX,", ("E12", "HEX")),
    ],
    ids=["cfx", "lc480", "quantstudio", "steponeplus", "lc96", "rotorgene", "slan", "generic"],
)  # fmt: skip
def test_a_last_row_cut_and_given_a_line_end_is_dropped_never_read(
    tmp_path, fixture, fmt, row_start, cut_after, key
) -> None:
    """Before, only a cut without a line end after it was seen: "29." and a line end read as
    Ct 29, an empty Cp or Ct as no amplification, a row cut before its Ct an error in some
    families only. Now the file's last row, shorter than the header and the row above (or
    ending empty where the row above has a value), is dropped with its reason."""
    data = fixture.read_bytes()
    ending = b"\r\n" if b"\r\n" in data else b"\n"
    start = data.rindex(row_start) + (1 if row_start.startswith(b"\n") else 0)
    cut = data.index(cut_after, start) + len(cut_after)
    path = write(tmp_path, fixture.name, data[:cut] + ending)
    whole = keyed(read_plate(fixture, fmt))
    plate = read_plate(path, fmt)
    row_number = data[:start].count(b"\n") + 1
    dropped = [d for d in plate.dropped if d.place.endswith(f"row {row_number}")]
    assert dropped and "the file ends with this row, which" in dropped[0].reason, plate.dropped
    assert any("looks cut short" in n for n in plate.notices)
    read = keyed(plate)
    assert key in whole and key not in read
    assert all(read[k] == whole[k] for k in read)


def test_generic_cut_after_its_last_separator_and_given_a_line_end_is_missing_not_negative(
    tmp_path,
) -> None:
    """The issue's case, with a line end added: S2's D538G positive (A5 FAM, 31.75) as the
    last row, cut to "A5,S2,D538G,FAM,": the empty Ct would be no amplification and the call
    NOT_DETECTED; the row is dropped and the call INVALID MISSING_WELL."""
    lines = GENERIC.read_bytes().split(b"\n")[:-1]
    positive = next(line for line in lines if line.startswith(b"A5,S2,D538G,FAM,"))
    lines.remove(positive)
    path = write(tmp_path, GENERIC.name, b"\n".join([*lines, b"A5,S2,D538G,FAM,"]) + b"\n")
    result = call_pcr([path], DEMO_MAP)
    s2 = {c.hotspot: c for s in result.samples if s.sample_id == "S2" for c in s.calls}
    assert s2["D538G"].status is CallStatus.INVALID
    assert s2["D538G"].reasons == (Reason.MISSING_WELL,)
    assert any(
        d.place == "row 206"
        and "ends with an empty cell where the row above has a value" in d.reason
        for d in result.dropped
    )
    assert any("looks cut short" in n for n in result.notices)


def test_a_complete_last_row_with_a_no_amplification_token_reads(tmp_path) -> None:
    """The way to end a complete table with a well that did not amplify: write the token."""
    path = write(tmp_path, "g.csv", b"well,dye,ct\nA1,FAM,28.5\nA2,FAM,Undetermined\n")
    plate = read_plate(path)
    assert keyed(plate)["A2", "FAM"] == ("", "", None, "") and not plate.notices


@pytest.mark.parametrize("path", [LC480_REAL, SDS_REAL], ids=lambda p: p.parent.name)
def test_real_exports_given_a_final_line_end_read_as_before(tmp_path, path: Path) -> None:
    """LCS480's last row lacks its Status cell: given a line end it is shorter than the header
    and the row above, but every cell read from it is whole, so it reads as before."""
    data = path.read_bytes()
    copy = write(tmp_path, path.name, data + (b"\r" if b"\r" in data else b"\n"))
    assert keyed(read_plate(copy)) == keyed(read_plate(path))
    assert not read_plate(copy).notices


# ---------------------------------------------------------------------------------------------
# a cut at a line end: the last block of a block-per-dye export is short


def test_a_cfx_file_cut_at_a_line_end_in_its_last_block_says_which_wells_lack_that_dye(
    tmp_path,
) -> None:
    """CFX writes the FAM rows, then HEX, ROX, Cy5. Cut after 20 of the 48 Cy5 rows, the file
    still ends with a line end: nothing in it is broken, but the Cy5 block stops part-way
    through the wells of the ROX block before it. Those wells' Cy5 calls are INVALID
    MISSING_WELL, and a notice says the export may be cut short."""
    lines = CFX.read_bytes().split(b"\r\n")
    header_and_rows = lines[: 1 + 60 + 60 + 36 + 20]
    path = write(tmp_path, CFX.name, b"\r\n".join(header_and_rows) + b"\r\n")
    plate = read_plate(path)
    assert not plate.dropped
    assert plate.notices == (
        f"{path.name}: the CY5 rows stop at well B8 (row 177) in the last block, while the ROX "
        "rows before them go on to well C12: 16 well(s) (B9, B10, B11, B12, C1, C2, C3, C4, C5, "
        "C6, C7, C8 and 4 more) have no CY5 row. If the export was cut short, export it again; "
        "those wells' CY5 values are missing (MISSING_WELL), never no amplification",
    )
    result = call_pcr([path], DEMO_MAP)
    assert plate.notices[0] in result.notices
    # the PCs of RM3 and RM4 lost their Cy5 row too: the run fails, nothing reads as negative
    assert {c.status for s in result.samples for c in s.calls} == {CallStatus.INVALID}
    assert any(c.check == "PC" and c.subject == "well C1 CY5 (L536R)" for c in result.run_qc)


def test_wells_cut_off_the_end_of_a_cfx_file_are_missing_never_negative(tmp_path) -> None:
    """Cut after D6 in the Cy5 block (the controls are in columns 1-3, all read): S4-S9's
    L536Q rows are missing and their calls INVALID MISSING_WELL, where the kit reads them."""
    lines = CFX.read_bytes().split(b"\r\n")
    path = write(tmp_path, CFX.name, b"\r\n".join(lines[: 1 + 60 + 60 + 36 + 42]) + b"\r\n")
    result = call_pcr([path], DEMO_MAP)
    l536q = {s.sample_id: c for s in result.samples for c in s.calls if c.hotspot == "L536Q"}
    assert [l536q[f"S{n}"].reasons for n in (4, 5, 6, 9)] == [(Reason.MISSING_WELL,)] * 4
    assert l536q["S3"].status is CallStatus.DETECTED  # D6, read


def test_blocks_of_different_lengths_that_are_a_layout_say_nothing() -> None:
    """The demo plate has no ROX in RM4-RM5 and no Cy5 in RM5: its blocks are 60, 60, 36 and
    48 rows long, and the last is longer than the one before it."""
    for path in (CFX, PLATES / "rotorgene" / "esr1_demo_rotorgene.csv"):
        assert read_plate(path).notices == ()


# ---------------------------------------------------------------------------------------------
# the property: every text family, cut at every byte offset of its last row


def _qs_csv(tmp_path: Path) -> Path:
    """The QuantStudio demo as the csv QuantStudio software saves (key,value rows, commas)."""
    text = (PLATES / "quantstudio" / "esr1_demo_quantstudio.txt").read_text(encoding="utf-8")
    lines = []
    for line in text.splitlines():
        if line.startswith("* "):
            key, _, value = line[2:].partition(" = ")
            line = f"{key},{value}"
        lines.append(line.replace("\t", ","))
    return write(tmp_path, "esr1_demo_quantstudio.csv", ("\r\n".join(lines) + "\r\n").encode())


def _utf16(tmp_path: Path) -> Path:
    text = (PLATES / "abi7500" / "esr1_demo_7500.txt").read_text(encoding="utf-8")
    return write(tmp_path, "esr1_demo_7500_utf16.txt", text.encode("utf-16"))


@dataclass(frozen=True)
class Family:
    name: str
    fmt: str
    path: Path | None = None  # a fixture, or None for one made by ``make``
    make: object = None
    # the Ct is the row's last cell: a cut inside it, given a line end, leaves a row that looks
    # whole ("29.6" cut to "2" and a line end); nothing in the file can tell it from a real one
    ct_last: bool = False


FAMILIES = [
    Family("quantstudio-txt", "quantstudio", PLATES / "quantstudio" / "esr1_demo_quantstudio.txt"),
    Family("quantstudio-csv", "quantstudio", make=_qs_csv),
    Family("7500-txt", "abi7500", PLATES / "abi7500" / "esr1_demo_7500.txt"),
    Family("7500-csv", "abi7500", PLATES / "abi7500" / "esr1_demo_steponeplus.csv"),
    Family("7500-txt-utf16", "abi7500", make=_utf16),
    Family("sds", "sds7900", SDS_REAL),
    Family("cfx-comma", "cfx", CFX),
    Family("cfx-semicolon", "cfx", CFX_SEMICOLON),
    Family("lc480", "lightcycler480", LC480_FAM),
    Family("lc480-real-no-final-line-end", "lightcycler480", LC480_REAL),
    Family("lc96", "lightcycler96", PLATES / "lightcycler96" / "esr1_demo_lc96.csv"),
    Family("rotorgene-csv", "rotorgene", PLATES / "rotorgene" / "esr1_demo_rotorgene.csv"),
    Family("slan-csv", "slan", PLATES / "slan" / "esr1_demo_slan.csv"),
    Family("generic-csv", "generic", GENERIC, ct_last=True),
    Family("generic-tsv", "generic", PLATES / "generic" / "esr1_demo_generic.tsv"),
]


def _line_spans(data: bytes, encoding: str) -> list[tuple[int, int]]:
    """(start, end) byte offsets of every line, its line end included."""
    if encoding.startswith("utf-16"):
        text = data.decode("utf-16")
        spans, start = [], 2  # after the BOM; two bytes per (BMP) character
        for match in re.finditer(r"\r\n|\r|\n", text):
            spans.append((start, 2 + 2 * match.end()))
            start = 2 + 2 * match.end()
        return spans + ([(start, len(data))] if start < len(data) else [])
    spans, start = [], 0
    for match in _LINE_END.finditer(data):
        spans.append((start, match.end()))
        start = match.end()
    return spans + ([(start, len(data))] if start < len(data) else [])


@pytest.mark.parametrize("line_end", [False, True], ids=["as-cut", "line-end-added"])
@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.name)
def test_a_cut_at_any_byte_of_the_last_row_is_an_error_or_a_dropped_row(
    tmp_path, family, line_end
) -> None:
    """Cut at every byte of the last row, as the cut left it or with a line end added after it
    (as an editor or a copy tool adds one)."""
    source = family.path or family.make(tmp_path)  # type: ignore[operator]
    data = source.read_bytes()
    original = read_plate(source, family.fmt)
    before = keyed(original)
    last_line = int(original.wells["source_row"].max())
    last_key = tuple(original.wells.loc[original.wells["source_row"].idxmax(), ["well", "dye"]])
    encoding = "utf-16" if data.startswith(b"\xff\xfe") else "utf-8"
    spans = _line_spans(data, encoding)
    start, end = spans[last_line - 1]
    ending = data[spans[0][0] : spans[0][1]].decode(encoding, errors="ignore")
    ending = ending[len(ending.rstrip("\r\n")) :]
    added = ending.encode("utf-16-le" if encoding == "utf-16" else encoding)
    content = data[start:end].rstrip(b"\r\n\x00")
    last_cell = start + max(content.rfind(b","), content.rfind(b"\t"), content.rfind(b";")) + 1
    folder = tmp_path / "cut"
    folder.mkdir()
    outcomes = set()
    for cut in range(start, end + 1):
        if line_end and encoding == "utf-16":
            cut -= cut % 2  # the editor adds its line end after whole characters
        if line_end and family.ct_last and last_cell < cut < start + len(content):
            continue  # inside the last cell, the Ct: see Family.ct_last
        path = write(folder, source.name, data[:cut] + (added if line_end else b""))
        try:
            plate = read_plate(path, family.fmt)
        except InputError as exc:
            assert str(exc).startswith(path.name) and "\n" not in str(exc)
            outcomes.add("error")
            continue
        after = keyed(plate)
        expected = {k: v for k, v in before.items() if k != last_key}
        assert {k: v for k, v in after.items() if k != last_key} == expected, cut
        if last_key in after:
            assert after[last_key] == before[last_key], f"cut at byte {cut}: a changed row"
            outcomes.add("read whole")
            continue
        dropped = [d for d in plate.dropped if d.place.endswith(f"row {last_line}")]
        if dropped:
            reason = dropped[0].reason
            assert "the file ends inside this row" in reason or "the file ends with this" in reason
            assert any("looks cut short" in n for n in plate.notices)
            outcomes.add("dropped")
        else:  # nothing of the row's data is left: a cut at its start, or only separators
            kept = data[start:cut].decode(encoding, errors="ignore").strip(" \t,;\r\n\ufeff")
            assert kept == "", f"cut at byte {cut}: the row vanished without a reason"
            outcomes.add("gone")
    assert "dropped" in outcomes or "error" in outcomes, outcomes


def test_a_cut_anywhere_in_the_last_react_of_plain_rdml_is_an_error_naming_it(tmp_path) -> None:
    source = PLATES / "rdml" / "esr1_demo_rdml12.xml"
    data = source.read_bytes()
    start = data.rindex(b"<react ")
    end = data.rindex(b"</react>") + len(b"</react>")
    for cut in range(start, end + 1):
        path = write(tmp_path, source.name, data[:cut])
        with pytest.raises(InputError) as caught:
            read_plate(path, "rdml")
        message = str(caught.value)
        assert message.startswith(f"{source.name}, ") and "\n" not in message
        if start + len(b'<react id="60">') < cut < end:
            assert message.startswith(f'{source.name}, run "Run 1", react "60"'), message
        assert "the file ends inside this <" in message or "not well-formed" in message, message


def test_cut_rows_never_decide_a_decimal_comma(tmp_path) -> None:
    """A cut '28,' is not evidence of decimal commas; the other cells keep their points."""
    path = write(tmp_path, "g.csv", b"well;dye;ct\nA1;FAM;28.5\nA2;FAM;31,")
    plate = read_plate(path)
    assert keyed(plate) == {("A1", "FAM"): ("", "", 28.5, "")}
    assert plate.metadata["decimal_comma"] is False


def test_rows_are_only_cut_in_the_cells_a_reader_uses() -> None:
    row = Row(7, ("A1", "FAM", "35.5", "x"), whole=3)
    assert row.cut_column(0, 1, 2) is None
    assert row.cut_column(0, 3) == 3
    assert row.cut_column(None, 5) == 5
