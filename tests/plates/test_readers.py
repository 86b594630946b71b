"""Plate export readers: detection, golden tables, the ESR1 demo plate in every format, errors,
and a property test that damaged files give a Plate or an InputError, never a crash."""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import math
import random
import re
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import esr1calls
from esr1calls.errors import InputError, PlateFormatError, UnknownFormatError
from esr1calls.pcr.run import call_pcr
from esr1calls.plates import (
    PLATE_FORMATS,
    READERS,
    WELL_COLUMNS,
    Plate,
    PlateFormat,
    _source,
    read_plate,
    sniff_format,
)
from esr1calls.plates._source import MAX_ZIP_RATIO
from esr1calls.testing.golden import assert_golden
from esr1calls.testing.plate_goldens import (
    PLATES,
    golden_paths,
    plate_fixtures,
    render_meta,
    render_wells,
)

FIXTURES = plate_fixtures()
DEMO_TSV = PLATES / "esr1_demo_plate.tsv"
WELL_OR_TUBE = re.compile(r"[A-P](?:[1-9]|1[0-9]|2[0-4])|[1-9][0-9]*")

# What each instrument calls the demo plate's four channels, in canonical names.
DYE_ALIASES = {
    "FAM": "FAM", "HEX": "HEX", "VIC": "HEX", "ROX": "ROX", "CY5": "CY5",
    "GREEN": "FAM", "YELLOW": "HEX", "ORANGE": "ROX", "RED": "CY5",
    "FAM (465-510)": "FAM", "HEX (533-580)": "HEX", "ROX (533-610)": "ROX",
    "CY5 (618-660)": "CY5",
}  # fmt: skip


def fixture_param(path: Path) -> object:
    return pytest.param(path, id=f"{path.parent.name}/{path.name}")


def assert_contract(plate: Plate) -> None:
    """What every reader promises (plates/__init__.py)."""
    wells = plate.wells
    assert tuple(wells.columns) == WELL_COLUMNS
    assert not wells.duplicated(["well", "dye"]).any()
    assert wells["ct"].dtype == "float64"
    assert all(math.isnan(c) or c >= 0 for c in wells["ct"])
    assert all(WELL_OR_TUBE.fullmatch(w) for w in wells["well"])
    assert all(isinstance(v, str) for c in ("sample_name", "target_name", "dye", "flags")
               for v in wells[c])  # fmt: skip
    assert all(d == d.upper() for d in wells["dye"])
    assert (wells["source_row"] >= 0).all()
    assert plate.run_id
    assert plate.format in PLATE_FORMATS


# ---------------------------------------------------------------------------------------------
# detection


def test_fixtures_cover_every_format() -> None:
    assert {p.parent.name for p in FIXTURES} == set(PLATE_FORMATS)
    assert set(PLATE_FORMATS) == {f.value for f in PlateFormat}


@pytest.mark.parametrize("path", [fixture_param(p) for p in FIXTURES])
def test_sniff_format_recognises_each_export(path: Path) -> None:
    assert sniff_format(path) is PlateFormat(path.parent.name)


def test_sniffing_ignores_the_extension(tmp_path: Path) -> None:
    source = PLATES / "rdml" / "esr1_demo_rdml12.rdml"
    disguised = tmp_path / "results.csv"
    disguised.write_bytes(source.read_bytes())
    assert sniff_format(disguised) is PlateFormat.RDML
    xlsx = PLATES / "quantstudio" / "esr1_demo_quantstudio.xlsx"
    (tmp_path / "export.txt").write_bytes(xlsx.read_bytes())
    assert sniff_format(tmp_path / "export.txt") is PlateFormat.QUANTSTUDIO


def test_detected_format_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="esr1calls.plates"):
        read_plate(PLATES / "generic" / "esr1_demo_generic.csv")
    assert "Detected plate format: generic long table" in caplog.text


def test_format_override_skips_detection() -> None:
    path = PLATES / "cfx" / "esr1_demo_cfx - Quantification Cq Results.csv"
    assert read_plate(path, "cfx").format == "cfx"
    assert read_plate(path, PlateFormat.CFX).wells.equals(read_plate(path).wells)


def test_wrong_override_is_a_plate_format_error() -> None:
    with pytest.raises(PlateFormatError, match="Quantitative analysis of Cycling"):
        read_plate(PLATES / "cfx" / "esr1_demo_cfx - Quantification Cq Results.csv", "rotorgene")


def _count_disk_reads(monkeypatch: pytest.MonkeyPatch) -> tuple[list[Path], list[Path]]:
    """Every read of an export from disk, and every workbook parse (the child process)."""
    reads: list[Path] = []
    parses: list[Path] = []
    read_bytes, spreadsheet_values = _source.read_bytes, _source._spreadsheet_values
    monkeypatch.setattr(_source, "read_bytes", lambda p: reads.append(p) or read_bytes(p))
    monkeypatch.setattr(
        _source, "_spreadsheet_values", lambda p, d: parses.append(p) or spreadsheet_values(p, d)
    )
    return reads, parses


@pytest.mark.parametrize("fmt", [None, "quantstudio"])
def test_an_export_is_read_from_disk_and_parsed_once(monkeypatch, fmt) -> None:
    """read_plate loads the file once; the sniffer and the reader look at those bytes (no module
    state between calls: each read_plate holds its own)."""
    path = PLATES / "quantstudio" / "esr1_demo_quantstudio.xlsx"
    reads, parses = _count_disk_reads(monkeypatch)
    plate = read_plate(path, fmt)
    assert (reads, parses) == ([path], [path])
    assert plate.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_hint_for_a_wrong_format_sniffs_the_bytes_already_read(monkeypatch) -> None:
    """With --format wrong, what the file looks like is told from the bytes read for it (the
    hint read the file a second time: a FIFO hung there, and a file that changed in between was
    described by its new content)."""
    path = PLATES / "cfx" / "esr1_demo_cfx - Quantification Cq Results.csv"
    reads, _ = _count_disk_reads(monkeypatch)
    with pytest.raises(PlateFormatError, match=r"the file looks like Bio-Rad CFX"):
        read_plate(path, "rotorgene")
    assert reads == [path]


def test_unknown_override_name_is_an_error() -> None:
    with pytest.raises(UnknownFormatError, match="unknown plate format 'excel'; use one of: rdml"):
        read_plate(PLATES / "generic" / "esr1_demo_generic.csv", "excel")


def test_unknown_file_is_a_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello\nthis is not a plate\n", encoding="utf-8")
    with pytest.raises(UnknownFormatError) as caught:
        read_plate(tmp_path / "notes.txt")
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("notes.txt: not a recognised plate export (expected one of: ")
    assert "QuantStudio" in message and "CFX" in message and "RDML" in message
    assert message.endswith("Pass --format if you know it.")


def test_public_api_is_exported_from_the_package() -> None:
    assert esr1calls.read_plate is read_plate
    assert esr1calls.sniff_format is sniff_format
    assert {"read_plate", "sniff_format", "PlateFormat"} <= set(esr1calls.__all__)
    assert list(READERS) == list(PlateFormat)
    assert PLATE_FORMATS[-1] == "generic"  # the catch-all is tried last


# ---------------------------------------------------------------------------------------------
# golden tables


@pytest.mark.parametrize("path", [fixture_param(p) for p in FIXTURES])
def test_export_parses_to_its_golden_table(path: Path) -> None:
    plate = read_plate(path)
    assert_contract(plate)
    tsv, meta = golden_paths(path)
    for golden, actual in ((tsv, render_wells(plate)), (meta, render_meta(plate))):
        assert_golden(actual, golden)


# ---------------------------------------------------------------------------------------------
# the ESR1 demo plate in every format


def canonical_demo() -> pd.DataFrame:
    table = pd.read_csv(DEMO_TSV, sep="\t", dtype={"ct": "float64"}, keep_default_na=False,
                        na_values={"ct": [""]})  # fmt: skip
    return table.rename(columns={"sample_name": "sample", "target_name": "target"})


def tube_to_well() -> dict[str, str]:
    """Rotor-Gene tubes back to wells, joining the two plate maps on (sample_id, mix)."""
    with (PLATES / "esr1_demo_platemap.csv").open(encoding="utf-8") as handle:
        by_key = {(r["sample_id"], r["mix"]): r["well"] for r in csv.DictReader(handle)}
    with (PLATES / "rotorgene" / "esr1_demo_platemap.csv").open(encoding="utf-8") as handle:
        return {r["well"]: by_key[r["sample_id"], r["mix"]] for r in csv.DictReader(handle)}


DEMOS = [
    ("quantstudio/esr1_demo_quantstudio.txt", True),
    ("quantstudio/esr1_demo_quantstudio.xlsx", True),
    ("quantstudio/esr1_demo_quantstudio.xls", True),  # Excel 97-2003 (BIFF8 in OLE2)
    ("abi7500/esr1_demo_7500.txt", True),
    ("abi7500/esr1_demo_steponeplus.csv", True),
    ("cfx/esr1_demo_cfx - Quantification Cq Results.csv", True),
    ("cfx/esr1_demo_cfx - Quantification Cq Results.xlsx", True),
    ("cfx/esr1_demo_cfx_semicolon - Quantification Cq Results.csv", True),
    ("lightcycler480/esr1_demo_lc480_*.txt", False),  # no target column in LC480 exports
    ("lightcycler96/esr1_demo_lc96.csv", True),
    ("rotorgene/esr1_demo_rotorgene.csv", False),  # the target is the analysis, per channel
    ("slan/esr1_demo_slan.xlsx", True),
    ("slan/esr1_demo_slan.csv", True),  # saved by Excel as CSV UTF-8
    ("rdml/esr1_demo_rdml12.rdml", True),
    ("rdml/esr1_demo_rdml12.xml", True),  # RDML uncompressed
    ("rdml/esr1_demo_rdml14.rdml", True),  # RDML 1.4: dyeChemistry, react vol, Ncopy
    ("generic/esr1_demo_generic.csv", True),
    ("generic/esr1_demo_generic.tsv", True),
]


@pytest.mark.parametrize("pattern, has_targets", [pytest.param(p, t, id=p) for p, t in DEMOS])
def test_demo_rendering_parses_back_to_the_canonical_plate(pattern: str, has_targets: bool) -> None:
    paths = sorted(PLATES.glob(pattern))
    assert paths, pattern
    plates = [read_plate(p) for p in paths]
    wells = pd.concat([p.wells for p in plates], ignore_index=True)
    wells["dye"] = wells["dye"].map(DYE_ALIASES)
    assert wells["dye"].notna().all(), "a dye name missing from the alias table"
    if plates[0].format == "rotorgene":
        wells["well"] = wells["well"].map(tube_to_well())
    columns = ["well", "sample", "dye", "ct"] + (["target"] if has_targets else [])
    actual = wells.rename(columns={"sample_name": "sample", "target_name": "target"})[columns]
    expected = canonical_demo()[columns]
    key = ["well", "dye"]
    actual = actual.sort_values(key).reset_index(drop=True)
    expected = expected.sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(actual, expected, check_dtype=False)
    assert all(not p.dropped for p in plates), [p.dropped for p in plates]
    assert all(not p.notices for p in plates), [p.notices for p in plates]
    assert len({p.run_id for p in plates}) == 1


def test_demo_plate_metadata_is_kept() -> None:
    plate = read_plate(PLATES / "quantstudio" / "esr1_demo_quantstudio.xlsx")
    assert plate.run_id == "ESR1_ARMS_demo_2026-03-02"
    assert plate.metadata["serial"] == "272530975"  # an Excel float, shown as the number
    assert plate.metadata["thresholds"] == {"FAM": 0.1, "VIC": 0.08, "ROX": 0.05, "CY5": 0.04}
    assert plate.metadata["analysis_type"] == "Multiplex"
    rotor = read_plate(PLATES / "rotorgene" / "esr1_demo_rotorgene.csv")
    assert rotor.metadata["serial"] == "R0912345"
    assert rotor.metadata["thresholds"]["GREEN (ESR1 mut FAM)"] == 0.1


# ---------------------------------------------------------------------------------------------
# quirks of real files


def test_ct_mean_is_never_used_for_an_undetermined_well() -> None:
    plate = read_plate(PLATES / "abi7500" / "esr1_demo_7500.txt")
    a2 = plate.wells.set_index(["well", "dye"]).loc[("A2", "FAM")]
    assert math.isnan(a2["ct"])
    assert a2["flags"] == "NOAMP;EXPFAIL"
    cfx = read_plate(PLATES / "cfx" / "CFX384-MANAGER__HTqPCR__CFX_sample.txt")
    assert cfx.wells["ct"].isna().sum() == 10  # N/A, though their Cq Mean is 0.00 or a number


def test_stepone_rdml_keeps_40_and_flags_it() -> None:
    plate = read_plate(PLATES / "rdml" / "STEPONE-RDML__RDML__stepone_std.rdml")
    ntc = plate.wells[plate.wells["sample_name"] == "NTC_RNase P"]
    assert list(ntc["ct"]) == [40.0, 40.0, 40.0]
    assert set(ntc["flags"]) == {"CQ_AT_LAST_CYCLE"}
    assert "StepOne" in plate.metadata["note"]
    others = plate.wells[plate.wells["sample_name"] != "NTC_RNase P"]
    assert (others["flags"] == "").all()


def test_rdml_absent_cq_is_no_amplification_and_wells_follow_pcr_format() -> None:
    plate = read_plate(PLATES / "rdml" / "CFX96-RDML__RDML__BioRad_qPCR_melt.rdml")
    wells = plate.wells.set_index(["well", "dye"])
    assert wells.loc[("A1", "FAM"), "ct"] == pytest.approx(27.7514537682101)
    assert math.isnan(wells.loc[("A8", "FAM"), "ct"])
    assert wells.loc[("D1", "FAM"), "sample_name"] == "Alm12"  # react 37 on 8 x 12
    assert plate.metadata["serial"] == "CC009466"


def test_omitted_and_flagged_wells_are_kept_with_flags() -> None:
    sds = read_plate(PLATES / "sds7900" / "SDS7900HT__HTqPCR__SDS_sample.txt")
    assert (sds.wells["flags"] == "FLAGGED").sum() > 0
    assert sds.wells["dye"].eq("").all()  # RQ exports carry no reporter


def test_omitted_wells_keep_their_ct_and_carry_the_flag(tmp_path: Path) -> None:
    text = demo_text("quantstudio/esr1_demo_quantstudio.txt")
    path = tmp_path / "qs.txt"
    path.write_text(text.replace("\n1\tA1\tfalse\t", "\n1\tA1\ttrue\t", 1), encoding="utf-8")
    a1 = read_plate(path).wells.set_index(["well", "dye"]).loc[("A1", "FAM")]
    assert a1["flags"] == "OMITTED" and a1["ct"] == 28.28
    lc480 = demo_text("lightcycler480/esr1_demo_lc480_fam_465-510.txt").replace("True", "False", 1)
    path = tmp_path / "lc.txt"
    path.write_text(lc480, encoding="utf-8")
    first = read_plate(path).wells.iloc[0]
    assert first["flags"] == "OMITTED" and first["ct"] == 28.28


def test_only_the_results_section_is_read(tmp_path: Path) -> None:
    text = demo_text("quantstudio/esr1_demo_quantstudio.txt")
    decoy = (
        "[Amplification Data]\nWell\tWell Position\tCycle\tTarget Name\tReporter\tCT\n"
        "1\tA1\t1\tX\tFAM\t1.0\n\n"
    )
    path = tmp_path / "qs.txt"
    path.write_text(text.replace("[Results]", decoy + "[Results]", 1), encoding="utf-8")
    plate = read_plate(path)
    assert len(plate.wells) == 204
    assert any("[Amplification Data]" in d.reason for d in plate.dropped)


def test_excel_float_wells_and_zero_padded_wells_are_normalised() -> None:
    da2 = read_plate(PLATES / "quantstudio-da2" / (
        "QUANTSTUDIO7PRO-DIOMNI__allotropy__appbio_quantstudio_designandanalysis_Diomni_v4.3_"
        "Presence_Absence.xlsx"))  # fmt: skip
    assert list(da2.wells["well"].unique()) == ["A1", "A2", "C3", "O23"]


# ---------------------------------------------------------------------------------------------
# errors


def demo_text(name: str) -> str:
    return (PLATES / name).read_text(encoding="utf-8")


def test_missing_ct_column_names_the_columns_found(tmp_path: Path) -> None:
    text = demo_text("cfx/esr1_demo_cfx - Quantification Cq Results.csv")
    path = tmp_path / "plate.csv"
    path.write_text(text.replace(",Cq,", ",Cq (deleted),", 1), encoding="utf-8")
    with pytest.raises(PlateFormatError) as caught:
        read_plate(path, "cfx")
    message = str(caught.value)
    assert message.startswith('plate.csv, row 1: column "Cq" is missing. Found: Well, Fluor,')
    assert "Cq Mean" in message and message.endswith("or pass --format.")


def test_missing_ct_column_in_a_quantstudio_export(tmp_path: Path) -> None:
    text = demo_text("quantstudio/esr1_demo_quantstudio.txt").replace("\tCT\t", "\tCT (x)\t")
    path = tmp_path / "qs.txt"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PlateFormatError, match=r'^qs.txt, row 20: column "CT" is missing'):
        read_plate(path)


def test_non_numeric_ct_names_file_row_and_column(tmp_path: Path) -> None:
    text = demo_text("quantstudio/esr1_demo_quantstudio.txt")
    lines = text.splitlines()
    assert "\t28.280\t" in lines[20]
    lines[20] = lines[20].replace("\t28.280\t", "\t28.2x8\t", 1)
    path = tmp_path / "qs.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(PlateFormatError) as caught:
        read_plate(path)
    assert str(caught.value).startswith("qs.txt, row 21: column \"CT\": '28.2x8' is not a number")


def test_negative_ct_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "g.csv"
    path.write_text("well,sample,target,dye,ct\nA1,S1,D538G,FAM,-3\n", encoding="utf-8")
    with pytest.raises(PlateFormatError, match=r"row 2: .*not a possible Ct"):
        read_plate(path)


@pytest.mark.parametrize("ct", ["0", "0.00", "0,0", "0.999", "-0"])
def test_a_ct_below_the_first_cycle_is_an_error(tmp_path: Path, ct: str) -> None:
    """Cycles are counted from 1: a 0 is what some software, or a spreadsheet, writes where it
    found no Ct. Read as a Ct it was an amplification at cycle 0: a mutation DETECTED."""
    path = tmp_path / "g.csv"
    text = f"well;sample;target;dye;ct\nA1;S1;D538G;FAM;{ct}\nA2;S1;IC;HEX;1\n"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PlateFormatError) as caught:
        read_plate(path)
    assert str(caught.value).startswith(
        f"g.csv, row 2: column \"ct\": '{ct}' is not a possible Ct (cycles are counted from 1; "
    )
    assert str(caught.value).endswith("Correct the cell or export the file again")


def test_an_rdml_cq_below_the_first_cycle_is_an_error(tmp_path: Path) -> None:
    xml = RDML_DEMO.read_text(encoding="utf-8").replace("<cq>31.75</cq>", "<cq>0</cq>", 1)
    path = tmp_path / "zero.xml"
    path.write_text(xml, encoding="utf-8")
    with pytest.raises(PlateFormatError) as caught:
        read_plate(path)
    assert str(caught.value).endswith(
        "<cq> '0' is below 1, not a possible Cq (cycles are counted from 1); RDML writes -1 where "
        "there is none: correct it or export the file again"
    )


def test_duplicate_well_and_dye_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "g.csv"
    path.write_text(
        "well,sample,target,dye,ct\nA1,S1,D538G,FAM,30.1\nA01,S1,D538G,FAM,31.0\n",
        encoding="utf-8",
    )
    with pytest.raises(PlateFormatError) as caught:
        read_plate(path)
    assert str(caught.value).startswith(
        "g.csv, row 3: well A1, dye FAM appears twice (first at row 2)"
    )


def test_well_index_without_plate_size_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "g.csv"
    path.write_text("well,dye,ct\n13,FAM,30.1\n", encoding="utf-8")
    with pytest.raises(PlateFormatError, match="row 2: well '13' is an index"):
        read_plate(path)


def test_quantstudio_index_and_position_must_agree(tmp_path: Path) -> None:
    text = demo_text("quantstudio/esr1_demo_quantstudio.txt")
    path = tmp_path / "qs.txt"
    path.write_text(text.replace("\n2\tA2\t", "\n3\tA2\t", 1), encoding="utf-8")
    with pytest.raises(PlateFormatError, match="Well 3 and Well Position A2 disagree"):
        read_plate(path)


@pytest.mark.parametrize(
    "name, delimiter, line, keep, message",
    [
        ("quantstudio/esr1_demo_quantstudio.txt", "\t", 31, 6,
         'after 6 of 21 columns, before "CT"'),
        ("cfx/esr1_demo_cfx - Quantification Cq Results.csv", ",", 204, 4,
         'after 4 of 16 columns, before "Cq"'),
        ("lightcycler480/esr1_demo_lc480_fam_465-510.txt", "\t", 61, 3,
         'after 3 of 8 columns, before "Cp"'),
        ("rotorgene/esr1_demo_rotorgene.csv", ";", 27, 4, 'after 4 of 14 columns, before "Ct"'),
    ],
)  # fmt: skip
def test_truncated_text_row_is_an_error(tmp_path, name, delimiter, line, keep, message):
    """Every text family: a row inside the table cut before its Ct column is an error, never a
    dropped well (the file's last row, which a cut may end, is dropped: test_cut_short.py)."""
    lines = demo_text(name).splitlines()
    lines[line - 1] = delimiter.join(lines[line - 1].split(delimiter)[:keep])
    path = tmp_path / Path(name).name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(PlateFormatError, match=f"row {line}: the row stops {message}; the file"):
        read_plate(path)


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("quantstudio/esr1_demo_quantstudio.xlsx", id="xlsx"),
        pytest.param("rdml/esr1_demo_rdml12.rdml", id="rdml"),
    ],
)
def test_truncated_archive_is_a_plate_format_error(tmp_path: Path, name: str) -> None:
    data = (PLATES / name).read_bytes()
    path = tmp_path / Path(name).name
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(PlateFormatError, match=f"^{re.escape(path.name)}: "):
        read_plate(path, Path(name).parent.name)


def test_empty_file_is_an_error_with_a_place(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(PlateFormatError, match=r"^empty.csv, row 1: the file is empty"):
        read_plate(path)
    with pytest.raises(PlateFormatError, match=r"^empty.csv, row 1: the file is empty"):
        read_plate(path, "generic")


def test_header_only_file_has_no_wells(tmp_path: Path) -> None:
    path = tmp_path / "g.csv"
    path.write_text("well,sample,target,dye,ct\n", encoding="utf-8")
    with pytest.raises(PlateFormatError, match="no well results were found"):
        read_plate(path)


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "member, fmt",
    [pytest.param("xl/workbook.xml", None, id="xlsx"),
     pytest.param("rdml_data.xml", "rdml", id="rdml")],
)  # fmt: skip
def test_zip_bomb_is_refused(tmp_path: Path, member: str, fmt: str | None) -> None:
    bomb = b"<rdml xmlns='http://www.rdml.org'>" + b" " * (8 * 2**20) + b"</rdml>"
    data = zip_bytes({member: bomb})
    assert len(bomb) > MAX_ZIP_RATIO * len(data)
    path = tmp_path / "bomb.xlsx"
    path.write_bytes(data)
    with pytest.raises(PlateFormatError, match=r"^bomb.xlsx: the archive expands \d+-fold"):
        read_plate(path, fmt)


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<rdml xmlns="http://www.rdml.org" version="1.2"><experiment id="&lol2;"/></rdml>
"""


def test_rdml_with_doctype_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "lol.rdml"
    path.write_bytes(zip_bytes({"rdml_data.xml": BILLION_LAUGHS}))
    with pytest.raises(PlateFormatError, match="DOCTYPE or XML entities"):
        read_plate(path)
    plain = tmp_path / "lol.xml"
    plain.write_bytes(BILLION_LAUGHS)
    with pytest.raises(PlateFormatError, match="DOCTYPE or XML entities"):
        read_plate(plain, "rdml")


def test_rdml_doctype_is_refused_by_the_parser_too(tmp_path: Path) -> None:
    from esr1calls.plates._xml import iterparse_xml

    utf16 = BILLION_LAUGHS.decode().replace('version="1.0"', 'version="1.0" encoding="UTF-16"')
    with pytest.raises(PlateFormatError, match=r"line 2: .*DOCTYPE"):
        list(iterparse_xml(tmp_path / "x.xml", [utf16.encode("utf-16")], "x.xml"))


def _edited_workbook(source: Path, member: str, old: bytes, new: bytes, path: Path) -> Path:
    """A copy of the workbook ``source`` at ``path`` with ``old`` replaced once in ``member``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(buffer, "w") as copy:
        for info in original.infolist():
            data = original.read(info)
            if info.filename == member:
                assert old in data, (member, old)
                data = data.replace(old, new, 1)
            copy.writestr(info, data)
    path.write_bytes(buffer.getvalue())
    return path


def _xlsx_with_a_far_cell(tmp_path: Path, ref: str) -> Path:
    """The demo workbook plus one cell at ``ref``: the sheet then claims that whole range."""
    row = ref.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    far = f'<row r="{row}"><c r="{ref}"><v>1</v></c></row></sheetData>'.encode()
    source = PLATES / "quantstudio" / "esr1_demo_quantstudio.xlsx"
    sheet = "xl/worksheets/sheet1.xml"
    return _edited_workbook(source, sheet, b"</sheetData>", far, tmp_path / "far.xlsx")


@pytest.mark.parametrize(
    "ref, message",
    [
        # 3 million cells: read, then refused by size
        ("CV30000", r"sheet 'Results' spans 30000 rows x 100 columns, more than any plate export"),
        # 17 billion cells: the spreadsheet library would abort the whole process (tens of GB)
        (
            "XFD1048576",
            r"the spreadsheet reader failed on it \(it crashed or needed more than 2 GiB",
        ),
    ],
)
def test_a_sheet_claiming_a_huge_range_is_a_plate_format_error(tmp_path, ref, message) -> None:
    path = _xlsx_with_a_far_cell(tmp_path, ref)
    with pytest.raises(PlateFormatError, match=f"^far.xlsx: .*{message}"):
        read_plate(path)
    with pytest.raises(PlateFormatError, match=message):
        read_plate(path, "quantstudio")


def test_the_xls_fixture_is_a_real_excel_97_workbook() -> None:
    """Excel 97-2003 (BIFF8 in an OLE2 container), the format older AB software saves."""
    data = (PLATES / "quantstudio" / "esr1_demo_quantstudio.xls").read_bytes()
    assert data.startswith(bytes.fromhex("d0cf11e0a1b11ae1"))
    plate = read_plate(PLATES / "quantstudio" / "esr1_demo_quantstudio.xls")
    assert plate.format == "quantstudio" and plate.metadata["sheet"] == "Results"


def test_xlsx_with_doctype_is_refused(tmp_path: Path) -> None:
    path = _edited_workbook(
        PLATES / "quantstudio" / "esr1_demo_quantstudio.xlsx",
        "xl/sharedStrings.xml",
        b"?>\n",
        b'?>\n<!DOCTYPE sst [<!ENTITY x "boom">]>\n',
        tmp_path / "qs.xlsx",
    )
    with pytest.raises(PlateFormatError, match=r"xl/sharedStrings\.xml declares a DOCTYPE"):
        read_plate(path)


def test_malformed_rdml_names_the_xml_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.rdml"
    path.write_bytes(zip_bytes({"rdml_data.xml": b'<rdml xmlns="http://www.rdml.org">\n<x/><\n'}))
    with pytest.raises(
        PlateFormatError,
        match=r"^bad.rdml, line 2, column 6: rdml_data.xml is not well-formed XML \(invalid token",
    ):
        read_plate(path)


# ---------------------------------------------------------------------------------------------
# encodings and separators


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-le", "cp1252"])
def test_encodings_are_detected(tmp_path: Path, encoding: str) -> None:
    text = demo_text("abi7500/esr1_demo_7500.txt")
    if encoding == "cp1252":
        text = text.replace("Cт", "Ct")  # cp1252 has no Cyrillic; old exports wrote Ct
    path = tmp_path / "7500.txt"
    path.write_bytes(text.encode(encoding))
    plate = read_plate(path)
    assert plate.format == "abi7500"
    expected = read_plate(PLATES / "abi7500" / "esr1_demo_7500.txt").wells
    pd.testing.assert_frame_equal(plate.wells, expected)


def test_utf8_is_preferred_over_cp1252() -> None:
    plate = read_plate(PLATES / "abi7500" / "esr1_demo_steponeplus.csv")
    # decoded as cp1252 the header would read "CÑ‚" and the Ct column would not be found
    assert plate.metadata["encoding"] == "utf-8-sig"
    assert len(plate.wells) == 204 and plate.wells["ct"].notna().sum() == 95


def test_decimal_commas_and_thousands_separators(tmp_path: Path) -> None:
    path = tmp_path / "g.csv"
    path.write_text("well;dye;ct\nA2;FAM;\nA1;FAM;28,5\n", encoding="utf-8")
    wells = read_plate(path).wells.set_index("well")
    assert wells.loc["A1", "ct"] == 28.5 and math.isnan(wells.loc["A2", "ct"])


# ---------------------------------------------------------------------------------------------
# property test: damaged files never crash the readers

SMALL_FIXTURES = [p for p in FIXTURES if p.stat().st_size < 60_000]


def _shuffle_columns(data: bytes, seed: int) -> bytes:
    """Permute the cells of every line the same way (for delimited text)."""
    text = data.decode("utf-8", errors="replace")
    delimiter = "\t" if "\t" in text else (";" if text.count(";") > text.count(",") else ",")
    lines = text.splitlines()
    width = max(len(line.split(delimiter)) for line in lines)
    order = list(range(width))
    random.Random(seed).shuffle(order)
    out = []
    for line in lines:
        cells = line.split(delimiter) + [""] * (width - len(line.split(delimiter)))
        out.append(delimiter.join(cells[i] for i in order))
    return "\n".join(out).encode("utf-8")


BINARY_MAGIC = (b"PK", b"\xd0\xcf\x11\xe0")  # zip (xlsx, RDML) and OLE2 (xls)


@st.composite
def damaged_exports(draw: st.DrawFn) -> tuple[Path, bytes, str]:
    source = draw(st.sampled_from(SMALL_FIXTURES))
    data = source.read_bytes()
    kind = draw(st.sampled_from(["truncate", "flip", "shuffle", "encode"]))
    if kind == "truncate":
        data = data[: draw(st.integers(0, len(data)))]
    elif kind == "flip":
        mutable = bytearray(data)
        for _ in range(draw(st.integers(1, 8))):
            position = draw(st.integers(0, len(mutable) - 1))
            mutable[position] = draw(st.integers(0, 255))
        data = bytes(mutable)
    elif kind == "shuffle" and not data.startswith(BINARY_MAGIC):
        data = _shuffle_columns(data, draw(st.integers(0, 10_000)))
    elif kind == "encode" and not data.startswith(BINARY_MAGIC):
        text = data.decode("utf-8-sig")
        encoding = draw(st.sampled_from(["utf-16", "utf-16-be", "cp1252", "latin-1"]))
        data = text.encode(encoding, errors="replace")
    return source, data, kind


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(case=damaged_exports(), use_format=st.booleans())
def test_damaged_exports_give_a_plate_or_an_input_error(
    tmp_path: Path, case: tuple[Path, bytes, str], use_format: bool
) -> None:
    """And a text export cut anywhere keeps only rows exactly as the whole file has them: the
    row the cut falls in is dropped (test_cut_short.py cuts every byte of last rows)."""
    source, data, kind = case
    path = tmp_path / source.name
    path.write_bytes(data)
    try:
        plate = read_plate(path, source.parent.name if use_format else None)
    except InputError as exc:
        assert str(exc).startswith(path.name)
        assert "\n" not in str(exc)
        return
    assert_contract(plate)
    if kind == "truncate" and not data.startswith(BINARY_MAGIC):
        whole = read_plate(source).wells.set_index(["well", "dye"])
        for row in plate.wells.itertuples(index=False):
            expected = whole.loc[(row.well, row.dye)]
            assert (row.sample_name, row.target_name, row.flags) == (
                expected["sample_name"],
                expected["target_name"],
                expected["flags"],
            )
            assert row.ct == expected["ct"] or (math.isnan(row.ct) and math.isnan(expected["ct"]))


@pytest.mark.parametrize(
    "cell, shown",
    [
        ('<c r="F31" t="e"><v>#VALUE!</v></c>', "#VALUE!"),  # an Excel error
        ('<c r="F31"><f>E31/0</f></c>', "#FORMULA_WITHOUT_VALUE"),  # saved uncalculated
    ],
    ids=["error-cell", "formula-without-value"],
)
def test_a_ct_cell_the_workbook_cannot_give_is_an_error_never_no_amplification(
    tmp_path: Path, cell: str, shown: str
) -> None:
    """The spreadsheet library returns both as empty, which SLAN (like Rotor-Gene and the generic
    table) reads as "no amplification": S2's D538G Ct 31.75 would become a negative."""
    path = _edited_workbook(
        PLATES / "slan" / "esr1_demo_slan.xlsx",
        "xl/worksheets/sheet1.xml",
        b'<c r="F31"><v>31.75</v></c>',
        cell.encode(),
        tmp_path / "slan.xlsx",
    )
    with pytest.raises(PlateFormatError, match=rf"row 31: column \"Ct\": '{re.escape(shown)}'"):
        read_plate(path)


def test_an_xls_error_cell_in_the_ct_column_is_an_error(tmp_path: Path) -> None:
    """xls (BIFF): the error cell is found by xlrd, as calamine returns it empty."""
    path = PLATES.parent / "damaged" / "slan_error_cell.xls"
    with pytest.raises(PlateFormatError, match=r"row 31: column \"Ct\": '#[A-Z/0!?]+'"):
        read_plate(path)


def _sheet_xml(cells: str) -> bytes:
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    return f'<worksheet xmlns="{main}"><sheetData>{cells}</sheetData></worksheet>'.encode()


@pytest.mark.parametrize(
    "workbook_sheet, cells, expected",
    [
        # the usual spelling
        ('<sheet name="R" sheetId="1" r:id="rId1"/>',
         '<row r="31"><c r="F31" t="e"><v>#VALUE!</v></c></row>', {(30, 5): "#VALUE!"}),
        # r:id first, an escaped name, single quotes, another prefix for the relationship
        ("<sheet x:id='rId1' sheetId='1' name='R&amp;D'/>",
         "<row r='3'><c r='B3' t='e'><v>#N/A</v></c></row>", {(2, 1): "#N/A"}),
        # no r attributes at all: positions counted
        ('<sheet name="R" sheetId="1" r:id="rId1"/>',
         "<row><c><v>1</v></c></row><row><c/><c><f>A1/0</f></c></row>",
         {(1, 1): "#FORMULA_WITHOUT_VALUE"}),
        # rows without r, blank rows left out: the cell's own reference places it
        ('<sheet name="R" sheetId="1" r:id="rId1"/>',
         '<row><c r="A1"><v>1</v></c></row><row><c r="F31" t="e"><v>#VALUE!</v></c></row>',
         {(30, 5): "#VALUE!"}),
        # a formula with its cached value is fine
        ('<sheet name="R" sheetId="1" r:id="rId1"/>',
         '<row r="1"><c r="A1"><f>1+1</f><v>2</v></c></row>', {}),
    ],
)  # fmt: skip
def test_xlsx_cells_the_library_returns_empty_are_found_whatever_the_spelling(
    workbook_sheet: str, cells: str, expected: dict[tuple[int, int], str]
) -> None:
    from esr1calls.plates._workbook_child import xlsx_unreadable

    rels_ns = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    prefix = "x" if "x:id" in workbook_sheet else "r"
    workbook = (f'<workbook xmlns="{main}" xmlns:{prefix}="{rels_ns}"><sheets>{workbook_sheet}'
                "</sheets></workbook>")  # fmt: skip
    package = "http://schemas.openxmlformats.org/package/2006/relationships"
    rels = (f'<Relationships xmlns="{package}"><Relationship Id="rId1" '
            'Target="worksheets/sheet1.xml" Type="w"/></Relationships>')  # fmt: skip
    data = zip_bytes({"xl/workbook.xml": workbook.encode(), "xl/_rels/workbook.xml.rels":
                      rels.encode(), "xl/worksheets/sheet1.xml": _sheet_xml(cells)})  # fmt: skip
    name = "R&D" if "R&amp;D" in workbook_sheet else "R"
    assert xlsx_unreadable(data) == ({name: expected} if expected else {})


def test_workbooks_read_when_esr1calls_is_deployed_on_pythonpath(tmp_path: Path) -> None:
    """The child runs with -I (no PYTHONPATH); it gets the parent's sys.path explicitly."""
    import os
    import site
    import subprocess
    import sys

    repo = PLATES.parent.parent
    paths = [*site.getsitepackages(), str(repo)]
    script = (
        "from esr1calls.plates import read_plate; "
        f"print(len(read_plate({str(PLATES / 'slan' / 'esr1_demo_slan.xlsx')!r}).wells))"
    )
    done = subprocess.run(
        [sys._base_executable, "-c", script],  # the bare interpreter, not the venv's
        env={"PYTHONPATH": os.pathsep.join(paths), "PATH": os.environ.get("PATH", "")},
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "204"


# ---------------------------------------------------------------------------------------------
# blank lines inside a results table


def _with_blank_line(name: str, before: str, tmp_path: Path, blank: str = "") -> Path:
    """The fixture with a blank line inserted before the first line starting with ``before``."""
    text = (PLATES / name).read_bytes().decode("utf-8-sig")
    newline = "\r\n" if "\r\n" in text else "\r" if "\n" not in text else "\n"
    lines = text.split(newline)
    index = next(i for i, line in enumerate(lines) if line.startswith(before))
    lines.insert(index, blank)
    path = tmp_path / Path(name).name
    path.write_text(newline.join(lines), encoding="utf-8", newline="")
    return path


@pytest.mark.parametrize(
    "name, before, blank",
    [
        ("quantstudio/esr1_demo_quantstudio.txt", "49\tE1\t", ""),
        ("abi7500/esr1_demo_7500.txt", "C6\t", ""),
        ("abi7500/esr1_demo_steponeplus.csv", "C6,", ",,,,,,,,,,,,,,,,,,,,"),
        ("cfx/esr1_demo_cfx - Quantification Cq Results.csv", ",A01,HEX,", ""),
        ("lightcycler96/esr1_demo_lc96.csv", "255;0;0;255,C6,", ""),
        ("generic/esr1_demo_generic.tsv", "C6\t", ""),
        ("slan/esr1_demo_slan.csv", "C6,", ",,,,,,,"),
        ("lightcycler480/esr1_demo_lc480_fam_465-510.txt", "True\t65280\tC6\t", ""),
        ("rotorgene/esr1_demo_rotorgene.csv", "30;", ";;;;;;;;;;;;;"),
    ],
    ids=lambda v: str(v).split("/")[0] if "/" in str(v) else None,
)
def test_rows_after_a_blank_line_inside_the_results_are_read(tmp_path, name, before, blank):
    """They were taken for a footer (AB: key = value metadata) or dropped as 'lines after the
    results table', and every well below the blank line looked missing: controls included."""
    path = _with_blank_line(name, before, tmp_path, blank)
    plate = read_plate(path)
    original = read_plate(PLATES / name)
    pd.testing.assert_frame_equal(
        plate.wells.drop(columns="source_row"), original.wells.drop(columns="source_row")
    )
    assert plate.dropped == original.dropped
    if "quantstudio" in name:
        assert plate.metadata["results_footer"] == {"Analysis Type": "Multiplex"}


def test_what_follows_a_results_table_is_said_precisely(tmp_path: Path) -> None:
    text = demo_text("generic/esr1_demo_generic.csv")
    path = tmp_path / "g.csv"
    path.write_text(text + "\nexported by,LIMS 4.2\nE12,S9,X,ROX,30.1\n", encoding="utf-8")
    plate = read_plate(path)
    assert [(d.place, d.reason) for d in plate.dropped] == [
        ("row 208", "below the results table (row 206): column \"well\" is 'exported by', not a "
                    "well"),
        ("row 209", "well E12: a results row below rows that are not results (the table ends at "
                    "row 206); not read: check the export"),
    ]  # fmt: skip
    assert ("E12", "ROX") not in set(zip(plate.wells["well"], plate.wells["dye"], strict=True))


def test_results_rows_after_an_ab_footer_are_not_taken_for_metadata(tmp_path: Path) -> None:
    text = demo_text("quantstudio/esr1_demo_quantstudio.txt")
    stray = "\t".join(["60", "E12", "false", "S9", "X", "UNKNOWN", "ROX", "NFQ-MGB", "30.1"]
                      + [""] * 12)  # fmt: skip
    path = tmp_path / "qs.txt"
    path.write_text(text + stray + "\n", encoding="utf-8")
    plate = read_plate(path)
    assert plate.metadata["results_footer"] == {"Analysis Type": "Multiplex"}
    assert plate.dropped[-1].reason == (
        "lines after the results table not recognised; 1 of them (row 227) look like results "
        "rows but come after lines that are not results, so they are not read: check the export"
    )


# ---------------------------------------------------------------------------------------------
# RDML: several runs, places by element, version 1.4, memory

RDML_DEMO = PLATES / "rdml" / "esr1_demo_rdml12.xml"


def _two_run_rdml(second_run: str = "Run 2", dyes_of_second: dict[str, str] | None = None) -> bytes:
    """The demo RDML with its run twice in one experiment (a second plate of the same kit)."""
    xml = RDML_DEMO.read_text(encoding="utf-8")
    start, end = xml.index("    <run id="), xml.index("    </run>") + len("    </run>\n")
    run = xml[start:end]
    second = run.replace('<run id="Run 1">', f'<run id="{second_run}">')
    second = second.replace("<cq>28.28</cq>", "<cq>27.5</cq>")  # another plate, another Cq
    for old, new in (dyes_of_second or {}).items():
        second = second.replace(old, new)
    return (xml[:end] + second + xml[end:]).encode("utf-8")


def test_an_rdml_file_with_two_runs_of_the_same_dyes_is_two_plates(tmp_path: Path) -> None:
    """Before: 'well A1, dye FAM appears twice', as if one plate had a duplicate well."""
    path = tmp_path / "two_runs.xml"
    path.write_bytes(_two_run_rdml())
    plates = esr1calls.read_plates(path)
    assert [p.run_id for p in plates] == ["Run 1", "Run 2"]
    assert [len(p.wells) for p in plates] == [204, 204]
    assert plates[0].wells["ct"].max() < 40 and (plates[1].wells["ct"] == 27.5).any()
    assert not (plates[0].wells["ct"] == 27.5).any()
    assert [p.metadata["runs"][0]["run"] for p in plates] == ["Run 1", "Run 2"]
    with pytest.raises(PlateFormatError) as caught:
        read_plate(path)
    assert str(caught.value).startswith(
        "two_runs.xml: holds 2 runs that each use the same dyes ('Run 1', 'Run 2'): each run is "
        "a plate of its own, with its own controls. 'esr1calls pcr' reads every run as a plate"
    )


def test_each_run_of_an_rdml_file_is_called_as_its_own_plate(tmp_path: Path) -> None:
    path = tmp_path / "two_runs.xml"
    path.write_bytes(_two_run_rdml())
    plate_map = tmp_path / "map.csv"
    rows = (PLATES / "esr1_demo_platemap.csv").read_text(encoding="utf-8").splitlines()
    plate_map.write_text(
        "\n".join(["plate," + rows[0]] + [f"{run},{r}" for run in ("Run 1", "Run 2")
                                          for r in rows[1:]]) + "\n", encoding="utf-8",
    )  # fmt: skip
    result = call_pcr([path], plate_map)
    assert len(result.samples) == 2 * 9  # S1-S9 on each plate
    assert {s.details["run_id"] for s in result.samples} == {"Run 1", "Run 2"}
    # a map that names the file would give both plates the same samples: a mix-up, refused
    by_file = tmp_path / "by_file.csv"
    by_file.write_text("\n".join(["plate," + rows[0]] + [f"two_runs.xml,{r}" for r in rows[1:]]),
                       encoding="utf-8")  # fmt: skip
    with pytest.raises(InputError, match="no line has plate 'Run 1' \\(plates in the map: two_r"):
        call_pcr([path], by_file)


def test_runs_of_an_rdml_file_that_are_neither_one_plate_nor_separate_ones_are_refused(
    tmp_path: Path,
) -> None:
    """Runs 1 and 2 share their dyes (two plates); run 3 shares none with them (a third plate
    of one dye, or the Cy7 read of run 1 or 2?). Guessing could put one plate's Cy7 beside
    another plate's FAM, so the file is refused."""
    xml = _two_run_rdml().decode("utf-8")
    start, end = xml.index('    <run id="Run 2">'), xml.index("    </run>\n  </experiment>")
    third = xml[start:end].replace('<run id="Run 2">', '<run id="Run 3">')
    third = re.sub(r'<tar id="[^"]+"/>', '<tar id="EXTRA"/>', third)
    third = re.sub(r"(<react id=\"\d+\">.*?<data>.*?</data>)(?:\s*<data>.*?</data>)*",
                   r"\1", third, flags=re.S)  # fmt: skip
    extra = '  <target id="EXTRA"><type>toi</type><dyeId id="Cy7"/></target>\n'
    xml = xml[:end] + "    </run>\n" + third + xml[end:]
    xml = xml.replace("  <experiment ", extra + "  <experiment ", 1)
    path = tmp_path / "mixed.xml"
    path.write_text(xml, encoding="utf-8")
    with pytest.raises(PlateFormatError) as caught:
        esr1calls.read_plates(path)
    assert str(caught.value) == (
        'mixed.xml: holds 3 runs (run "Run 1", run "Run 2", run "Run 3"), some with dyes in '
        "common and some without, so which runs make up one plate cannot be told; export one "
        "plate per RDML file"
    )


def test_cfx_rdml_with_one_run_per_fluor_stays_one_plate() -> None:
    plates = esr1calls.read_plates(PLATES / "rdml" / "CFX96-RDML__RDML__BioRad_qPCR_melt.rdml")
    assert len(plates) == 1 and plates[0].run_id == "All Wells"
    assert {r["run"] for r in plates[0].metadata["runs"]} == {"Amp Step 3_FAM", "Amp Step 3_Cy5"}


def test_rdml_errors_name_the_element_not_a_line_of_a_one_line_file(tmp_path: Path) -> None:
    """Bio-Rad writes the whole document on one line: 'line 1' told the user nothing."""
    xml = RDML_DEMO.read_text(encoding="utf-8")
    one_line = re.sub(r">\s+<", "><", xml).replace("<cq>31.75</cq>", "<cq>31.7x</cq>", 1)
    path = tmp_path / "one_line.xml"
    path.write_text(one_line, encoding="utf-8")
    with pytest.raises(PlateFormatError) as caught:
        read_plate(path)
    assert str(caught.value) == (
        'one_line.xml, run "Run 1", react "5", data tar "D538G": <cq> \'31.7x\' is not a '
        "number; the RDML is damaged"
    )
    cut = one_line[: one_line.index("<cq>", one_line.index('<react id="37">'))]
    path.write_text(cut, encoding="utf-8")
    with pytest.raises(PlateFormatError) as caught:
        read_plate(path, "rdml")
    assert str(caught.value) == (
        'one_line.xml, run "Run 1", react "37", data tar "Y537N": the file ends inside this '
        "<data> element; the file is damaged or truncated: export it again"
    )


def test_rdml_14_reads_and_its_new_elements_are_read_past() -> None:
    plate = read_plate(PLATES / "rdml" / "esr1_demo_rdml14.rdml")
    assert plate.metadata["rdml_version"] == "1.4"
    demo = read_plate(PLATES / "rdml" / "esr1_demo_rdml12.rdml")
    columns = [c for c in WELL_COLUMNS if c != "source_row"]  # 1.4 adds a <vol> line per react
    pd.testing.assert_frame_equal(plate.wells[columns], demo.wells[columns])


def test_rdml_partition_data_is_not_read_as_a_cq(tmp_path: Path) -> None:
    """RDML 1.3+ digital PCR: <react><partitions><data> holds partition counts, no Cq."""
    xml = RDML_DEMO.read_text(encoding="utf-8").replace(
        '<react id="1"><sample id="PC"/>',
        '<react id="1"><sample id="PC"/><partitions><volume>0.85</volume><data><tar id="IC"/>'
        "<pos>120</pos><neg>20000</neg></data></partitions>",
        1,
    )
    path = tmp_path / "dpcr.xml"
    path.write_text(xml, encoding="utf-8")
    pd.testing.assert_frame_equal(read_plate(path).wells, read_plate(RDML_DEMO).wells)


def _large_rdml(path: Path, cycles: int) -> Path:
    """The demo RDML with an amplification curve of ``cycles`` points on every <data>."""
    xml = RDML_DEMO.read_text(encoding="utf-8")
    curve = "".join(
        f"<adp><cyc>{c}</cyc><tmp>60</tmp><fluor>{1000 + 37.5 * c:.3f}</fluor></adp>"
        for c in range(1, cycles + 1)
    )
    xml = re.sub(r"(<cq>[^<]*</cq>)</data>", lambda m: m.group(1) + curve + "</data>", xml)
    path.write_bytes(zip_bytes({"rdml_data.xml": xml.encode("utf-8")}))
    return path


def test_rdml_memory_does_not_grow_with_the_amplification_data(tmp_path: Path) -> None:
    """The whole tree of a 19 MB RDML took 470 MB (this 1.8 MB one: 36 MB of Python memory);
    each react is now dropped once read, so the peak stays a few MB whatever the file size."""
    import tracemalloc

    path = _large_rdml(tmp_path / "large.rdml", 150)
    read_plate(path, "rdml")  # warm-up: imports and caches are not the parser's memory
    tracemalloc.start()
    try:
        plate = read_plate(path, "rdml")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    size = zipfile.ZipFile(path).infolist()[0].file_size
    assert size > 1.5 * 2**20 and len(plate.wells) == 204
    assert peak < 5 * 2**20, f"peak {peak / 2**20:.1f} MiB for {size / 2**20:.1f} MiB of XML"


def test_an_xml_declaration_naming_no_encoding_is_a_plate_format_error(tmp_path) -> None:
    """A damaged byte in RDML's XML declaration (encoding="aTF-8", found by the damaged-exports
    property test) was a LookupError traceback; it is the file's one-line error."""
    source = (PLATES / "rdml" / "esr1_demo_rdml12.xml").read_bytes()
    damaged = tmp_path / "damaged.xml"
    damaged.write_bytes(source.replace(b'encoding="UTF-8"', b'encoding="aTF-8"', 1))
    with pytest.raises(PlateFormatError, match=r"declares an encoding that does not exist"):
        read_plate(damaged)
