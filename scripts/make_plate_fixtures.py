#!/usr/bin/env python3
"""Render the canonical ESR1 demo plate into every instrument family's export format.

    python scripts/make_plate_fixtures.py   # (re)writes testdata/plates/<family>/esr1_demo_*

Input: testdata/plates/esr1_demo_plate.tsv (well, sample_name, target_name, dye in canonical
names FAM/HEX/ROX/CY5, ct; empty ct = no amplification) and esr1_demo_platemap.csv.
Each rendering follows docs in shared/notes/instrument-exports.md: the instrument's own dye
names (VIC on AB, HEX on Bio-Rad, Green/Yellow/Orange/Red on Rotor-Gene, filter combinations
on LightCycler 480), its own spelling of "no amplification", its header, encoding and line
ends. Run metadata (dates, serials, file names) is invented. Output is deterministic (fixed zip
timestamps), so re-running on an unchanged TSV gives byte-identical files.

xlsx files are written with the standard library (no writer dependency), which also lets the
CFX workbook carry CFX Manager's quirks: backslash member names and a lower-case
``xl/sharedstrings.xml``. The .xls (Excel 97-2003) files, the QuantStudio rendering and the
damaged SLAN sheet in testdata/damaged/, are written with xlwt, needed only when re-rendering.
"""

from __future__ import annotations

import csv
import io
import re
import sys
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

REPO = Path(__file__).resolve().parents[1]
PLATES = REPO / "testdata" / "plates"
ZIP_TIME = (2026, 3, 2, 9, 0, 0)

Cell = str | int | float | bool | None


@dataclass(frozen=True)
class Well:
    well: str
    sample: str
    target: str
    dye: str  # canonical: FAM, HEX, ROX, CY5
    ct: float | None
    role: str
    mix: str

    @property
    def row_letter(self) -> str:
        return self.well[0]

    @property
    def column(self) -> int:
        return int(self.well[1:])

    @property
    def index96(self) -> int:
        return (ord(self.row_letter) - ord("A")) * 12 + self.column

    @property
    def padded(self) -> str:
        return f"{self.row_letter}{self.column:02d}"


DYE_ORDER = {"FAM": 0, "HEX": 1, "ROX": 2, "CY5": 3}
ABI_DYES = {"FAM": "FAM", "HEX": "VIC", "ROX": "ROX", "CY5": "CY5"}
BIORAD_DYES = {"FAM": "FAM", "HEX": "HEX", "ROX": "ROX", "CY5": "Cy5"}
ROTOR_CHANNELS = {"FAM": "Green", "HEX": "Yellow", "ROX": "Orange", "CY5": "Red"}
LC480_FILTERS = {
    "FAM": ("FAM (465-510)", "fam_465-510"),
    "HEX": ("HEX (533-580)", "hex_533-580"),
    "ROX": ("ROX (533-610)", "rox_533-610"),
    "CY5": ("Cy5 (618-660)", "cy5_618-660"),
}
SLAN_DYES = {"FAM": "FAM", "HEX": "VIC", "ROX": "ROX", "CY5": "CY5"}
ABI_TASK = {"PC": "UNKNOWN", "NTC": "NTC", "WT": "UNKNOWN", "SAMPLE": "UNKNOWN"}
CFX_CONTENT = {"PC": "Pos Ctrl", "NTC": "NTC", "WT": "Neg Ctrl", "SAMPLE": "Unkn"}
THRESHOLDS = {"FAM": 0.1, "HEX": 0.08, "ROX": 0.05, "CY5": 0.04}


def load_plate() -> list[Well]:
    roles = {}
    with (PLATES / "esr1_demo_platemap.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            roles[row["well"]] = (row["role"], row["mix"])
    wells = []
    with (PLATES / "esr1_demo_plate.tsv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            role, mix = roles[row["well"]]
            ct = float(row["ct"]) if row["ct"].strip() else None
            wells.append(
                Well(row["well"], row["sample_name"], row["target_name"], row["dye"], ct, role, mix)
            )
    return wells


def fmt_ct(ct: float | None, decimals: int, missing: str) -> str:
    return missing if ct is None else f"{ct:.{decimals}f}"


def write_text(path: Path, lines: Iterable[str], *, newline: str = "\n", bom: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = newline.join(lines) + newline
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))


def csv_line(cells: Sequence[Cell], delimiter: str = ",") -> str:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="").writerow(
        ["" if c is None else c for c in cells]
    )
    return buffer.getvalue()


def plate_order(wells: list[Well]) -> list[Well]:
    """Row-major well order, dyes in FAM/HEX/ROX/CY5 order within a well (AB's export order)."""
    return sorted(wells, key=lambda w: (w.index96, DYE_ORDER[w.dye]))


# ---------------------------------------------------------------------------------------------
# xls (Excel 97-2003, what QuantStudio v1 and 7500 software save): xlwt, only here


def write_xls(
    path: Path,
    sheet: str,
    rows: Sequence[Sequence[Cell]],
    errors: dict[tuple[int, int], str] | None = None,
) -> None:
    """A BIFF8 workbook in an OLE2 container, written by xlwt (`pip install xlwt`; used only to
    render these fixtures, never by esr1calls, which reads xls through python-calamine and xlrd).
    ``errors``: (row, column) from 0 -> an Excel error cell such as #VALUE!."""
    try:
        import xlwt  # type: ignore[import-untyped]
    except ImportError:
        raise SystemExit("rendering the .xls fixture needs xlwt: pip install xlwt==1.3.0") from None
    errors = errors or {}
    book = xlwt.Workbook(encoding="utf-8")
    table = book.add_sheet(sheet)
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if (r, c) in errors:
                table.row(r).set_cell_error(c, errors[r, c])
            elif value != "":
                table.write(r, c, value)
    buffer = io.BytesIO()
    book.save(buffer)
    path.write_bytes(buffer.getvalue())


# xlsx, by hand


def _column_name(index: int) -> str:
    name = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        name = chr(65 + remainder) + name
    return name


def write_xlsx(
    path: Path, sheets: Sequence[tuple[str, Sequence[Sequence[Cell]]]], *, cfx_quirks: bool = False
) -> None:
    """A minimal valid xlsx: shared strings, numbers, booleans."""
    strings: list[str] = []
    index: dict[str, int] = {}

    def shared(text: str) -> int:
        if text not in index:
            index[text] = len(strings)
            strings.append(text)
        return index[text]

    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    package_rel = "http://schemas.openxmlformats.org/package/2006/relationships"
    head = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    sheet_xml = []
    for _, rows in sheets:
        parts = [f'{head}<worksheet xmlns="{main}"><sheetData>']
        for r, row in enumerate(rows, start=1):
            cells = []
            for c, value in enumerate(row):
                ref = f"{_column_name(c)}{r}"
                if value is None or value == "":
                    continue
                if isinstance(value, bool):
                    cells.append(f'<c r="{ref}" t="b"><v>{int(value)}</v></c>')
                elif isinstance(value, int | float):
                    cells.append(f'<c r="{ref}"><v>{value!r}</v></c>')
                else:
                    cells.append(f'<c r="{ref}" t="s"><v>{shared(str(value))}</v></c>')
            parts.append(f'<row r="{r}">{"".join(cells)}</row>')
        parts.append("</sheetData></worksheet>")
        sheet_xml.append("".join(parts))
    strings_name = "sharedstrings.xml" if cfx_quirks else "sharedStrings.xml"
    content_types = [
        f'{head}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">',
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>',
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
        'officedocument.spreadsheetml.sheet.main+xml"/>',
    ]
    workbook = [f'{head}<workbook xmlns="{main}" xmlns:r="{rel}"><sheets>']
    workbook_rels = [f'{head}<Relationships xmlns="{package_rel}">']
    for number, (name, _) in enumerate(sheets, start=1):
        content_types.append(
            f'<Override PartName="/xl/worksheets/sheet{number}.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        )
        workbook.append(f'<sheet name="{escape(name)}" sheetId="{number}" r:id="rId{number}"/>')
        workbook_rels.append(
            f'<Relationship Id="rId{number}" Type="{rel}/worksheet" '
            f'Target="worksheets/sheet{number}.xml"/>'
        )
    content_types.append(
        f'<Override PartName="/xl/{strings_name}" ContentType="application/vnd.openxmlformats-'
        'officedocument.spreadsheetml.sharedStrings+xml"/></Types>'
    )
    workbook.append("</sheets></workbook>")
    workbook_rels.append(
        f'<Relationship Id="rId{len(sheets) + 1}" Type="{rel}/sharedStrings" '
        f'Target="{strings_name}"/></Relationships>'
    )
    shared_xml = [f'{head}<sst xmlns="{main}" count="{len(strings)}" uniqueCount="{len(strings)}">']
    shared_xml.extend(f'<si><t xml:space="preserve">{escape(s)}</t></si>' for s in strings)
    shared_xml.append("</sst>")
    members = [
        ("[Content_Types].xml", "".join(content_types)),
        (
            "_rels/.rels",
            f'{head}<Relationships xmlns="{package_rel}"><Relationship Id="rId1" '
            f'Type="{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        ),
        ("xl/workbook.xml", "".join(workbook)),
        ("xl/_rels/workbook.xml.rels", "".join(workbook_rels)),
        *((f"xl/worksheets/sheet{n}.xml", x) for n, x in enumerate(sheet_xml, start=1)),
        (f"xl/{strings_name}", "".join(shared_xml)),
    ]
    write_zip(path, members, backslashes=cfx_quirks)


def write_zip(path: Path, members: Iterable[tuple[str, str]], *, backslashes: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in members:
            info = zipfile.ZipInfo(name.replace("/", "\\") if backslashes else name, ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, text.encode("utf-8"))


# ---------------------------------------------------------------------------------------------
# Applied Biosystems


QS_HEADER = [
    ("Block Type", "96-Well Block (0.2mL)"),
    ("Chemistry", "TAQMAN"),
    ("Date Created", "2026-03-02 08:12:40 AM CET"),
    ("Experiment Barcode", "ESR1-DEMO-0302"),
    ("Experiment Comment", "NA"),
    ("Experiment File Name", "D:\\Runs\\2026\\ESR1_ARMS_demo_2026-03-02.eds"),
    ("Experiment Name", "ESR1_ARMS_demo_2026-03-02"),
    ("Experiment Run End Time", "2026-03-02 10:41:07 AM CET"),
    ("Experiment Type", "Presence/Absence"),
    ("Instrument Name", "QS5-LAB2"),
    ("Instrument Serial Number", "272530975"),
    ("Instrument Type", "QuantStudio(TM) 5 System"),
    ("Passive Reference", ""),
    ("Quantification Cycle Method", "Ct"),
    ("Signal Smoothing On", "true"),
    ("Stage/ Cycle where Analysis is performed", "Stage 2, Step 2"),
    ("User Name", "NA"),
]
QS_COLUMNS = [
    "Well", "Well Position", "Omit", "Sample Name", "Target Name", "Task", "Reporter", "Quencher",
    "CT", "Ct Mean", "Ct SD", "Automatic Ct Threshold", "Ct Threshold", "Automatic Baseline",
    "Baseline Start", "Baseline End", "Comments", "Amp Score", "Cq Conf", "NOAMP", "EXPFAIL",
]  # fmt: skip
QS_FOOTER = [("Analysis Type", "Multiplex")]


def qs_row(w: Well, *, excel: bool) -> list[Cell]:
    no_amp = w.ct is None
    ct: Cell = "Undetermined" if no_amp else (w.ct if excel else fmt_ct(w.ct, 3, ""))
    mean: Cell = "" if no_amp else ct
    return [
        w.index96 * 1.0 if excel else str(w.index96), w.well, False if excel else "false",
        w.sample, w.target, ABI_TASK[w.role], ABI_DYES[w.dye], "NFQ-MGB", ct, mean, "",
        False if excel else "false", THRESHOLDS[w.dye], True if excel else "true", 3, 35, "",
        0.0 if no_amp else 1.21, 0.0 if no_amp else 0.97, "Y" if no_amp else "N", "N",
    ]  # fmt: skip


def make_quantstudio(wells: list[Well]) -> None:
    folder = PLATES / "quantstudio"
    lines = [f"* {k} = {v}" for k, v in QS_HEADER]
    lines += ["", "[Results]", "\t".join(QS_COLUMNS)]
    lines += ["\t".join(str(c) for c in qs_row(w, excel=False)) for w in plate_order(wells)]
    lines += [""] + [f"{k} = {v}" for k, v in QS_FOOTER]
    write_text(folder / "esr1_demo_quantstudio.txt", lines)

    header: list[list[Cell]] = [[k, v] for k, v in QS_HEADER]
    header[10][1] = 272530975.0  # Excel stores the serial as a number
    rows: list[Sequence[Cell]] = [*header, [], QS_COLUMNS]
    rows += [qs_row(w, excel=True) for w in plate_order(wells)]
    rows += [[], *([k, v] for k, v in QS_FOOTER)]
    write_xlsx(folder / "esr1_demo_quantstudio.xlsx", [("Results", rows)])
    write_xls(folder / "esr1_demo_quantstudio.xls", "Results", rows)


ABI7500_COLUMNS = [
    "Well", "Sample Name", "Target Name", "Task", "Reporter", "Quencher", "Cт", "Cт Mean", "Cт SD",
    "Quantity", "Quantity Mean", "Quantity SD", "Automatic Ct Threshold", "Ct Threshold",
    "Automatic Baseline", "Baseline Start", "Baseline End", "Comments", "HIGHSD", "NOAMP",
    "EXPFAIL",
]  # fmt: skip


def abi7500_rows(wells: list[Well]) -> list[list[str]]:
    rows = []
    for w in plate_order(wells):
        no_amp = w.ct is None
        ct = "Undetermined" if no_amp else fmt_ct(w.ct, 3, "")
        rows.append([
            w.well, w.sample, w.target, ABI_TASK[w.role], ABI_DYES[w.dye], "NFQ-MGB", ct,
            "" if no_amp else ct, "", "", "", "", "FALSE", str(THRESHOLDS[w.dye]), "TRUE", "3",
            "35", "", "N", "Y" if no_amp else "N", "Y" if no_amp else "N",
        ])  # fmt: skip
    return rows


def make_abi7500(wells: list[Well]) -> None:
    folder = PLATES / "abi7500"
    header = [
        ("Block Type", "96alum"),
        ("Chemistry", "TAQMAN"),
        ("Experiment File Name", "C:\\Applied Biosystems\\7500\\ESR1_ARMS_demo_7500.eds"),
        ("Experiment Run End Time", "2026-03-03 11:58:20 AM CET"),
        ("Instrument Type", "sds7500"),
        ("Passive Reference", ""),
    ]
    lines = [f"* {k} = {v}" for k, v in header] + ["", "[Results]", "\t".join(ABI7500_COLUMNS)]
    lines += ["\t".join(r) for r in abi7500_rows(wells)]
    write_text(folder / "esr1_demo_7500.txt", lines)

    # StepOnePlus results re-saved from Excel: UTF-8 with BOM, CRLF, commas, padded key rows
    width = len(ABI7500_COLUMNS)
    plus = [
        ("Block Type", "96well"),
        ("Chemistry", "TAQMAN"),
        ("Experiment File Name", "C:\\Users\\lab\\ESR1_ARMS_demo_stepone.eds"),
        ("Experiment Run End Time", "2026-03-04 09:30:11 AM CET"),
        ("Instrument Type", "steponeplus"),
        ("Passive Reference", ""),
    ]
    csv_lines = [csv_line([k, v] + [""] * (width - 2)) for k, v in plus]
    csv_lines += [csv_line([""] * width), csv_line(ABI7500_COLUMNS)]
    csv_lines += [csv_line(r) for r in abi7500_rows(wells)]
    write_text(folder / "esr1_demo_steponeplus.csv", csv_lines, newline="\r\n", bom=True)


# ---------------------------------------------------------------------------------------------
# Bio-Rad CFX

CFX_COLUMNS = [
    "", "Well", "Fluor", "Target", "Content", "Sample", "Biological Set Name", "Cq", "Cq Mean",
    "Cq Std. Dev", "Starting Quantity (SQ)", "Log Starting Quantity", "SQ Mean", "SQ Std. Dev",
    "Set Point", "Well Note",
]  # fmt: skip


def cfx_rows(wells: list[Well]) -> list[list[Cell]]:
    """Sorted by fluor, then well in row-major order, as CFX writes them."""
    ordered = sorted(wells, key=lambda w: (DYE_ORDER[w.dye], w.index96))
    rows: list[list[Cell]] = []
    for w in ordered:
        cq: Cell = "NaN" if w.ct is None else w.ct
        mean: Cell = 0.0 if w.ct is None else w.ct  # CFX Manager writes 0.00 for all-NaN groups
        rows.append([
            "", w.padded, BIORAD_DYES[w.dye], w.target, CFX_CONTENT[w.role], w.sample, "", cq,
            mean, 0.0, "NaN", "NaN", "NaN", 0.0, 60.0, "",
        ])  # fmt: skip
    return rows


def make_cfx(wells: list[Well]) -> None:
    folder = PLATES / "cfx"
    rows = cfx_rows(wells)

    def text(value: Cell, comma: bool = False) -> str:
        if isinstance(value, float):
            out = repr(value) if not value.is_integer() else f"{value:g}"
            return out.replace(".", ",") if comma else out
        return "" if value is None else str(value)

    write_text(
        folder / "esr1_demo_cfx - Quantification Cq Results.csv",
        [csv_line(CFX_COLUMNS)] + [csv_line([text(c) for c in r]) for r in rows],
        newline="\r\n",
    )
    # a CFX Maestro export from a German-locale Windows: semicolons and decimal commas
    write_text(
        folder / "esr1_demo_cfx_semicolon - Quantification Cq Results.csv",
        [csv_line(CFX_COLUMNS, ";")]
        + [csv_line([text(c, comma=True) for c in r], ";") for r in rows],
        newline="\r\n",
    )
    sheet: list[Sequence[Cell]] = [CFX_COLUMNS]
    sheet += [[n, *r[1:]] for n, r in enumerate(rows, start=1)]  # column A is a row index
    write_xlsx(
        folder / "esr1_demo_cfx - Quantification Cq Results.xlsx", [("0", sheet)], cfx_quirks=True
    )


# ---------------------------------------------------------------------------------------------
# Roche LightCycler 480 and 96


def make_lightcycler480(wells: list[Well]) -> None:
    folder = PLATES / "lightcycler480"
    for dye, (filter_name, slug) in LC480_FILTERS.items():
        lines = [
            f"Experiment: ESR1_ARMS_demo_LC480  Selected Filter: {filter_name}",
            "Include\tColor\tPos\tName\tCp\tConcentration\tStandard\tStatus",
        ]
        for w in plate_order([w for w in wells if w.dye == dye]):
            color = 255 if w.role == "PC" else 65280
            lines.append(f"True\t{color}\t{w.well}\t{w.sample}\t{fmt_ct(w.ct, 2, '')}\t\t0\t")
        # LCS480 writes CRLF; the HEX file is CR-only, like files passed through old Macs
        newline = "\r" if dye == "HEX" else "\r\n"
        write_text(folder / f"esr1_demo_lc480_{slug}.txt", lines, newline=newline)


LC96_COLUMNS = [
    "Color", "Position", "Sample Name", "Gene Name", "Cq", "Concentration", "Call", "Excluded",
    "Sample Type", "Standard", "Cq Mean", "Cq Error", "Concentration Mean",
    "Concentration Error", "Replicate Group", "Dye", "Edited Call", "Slope", "EPF", "Failure",
    "Notes", "Sample Prep Notes", "Number",
]  # fmt: skip
LC96_TYPE = {"PC": "Positive Control", "NTC": "Negative Control", "WT": "Unknown",
             "SAMPLE": "Unknown"}  # fmt: skip


def make_lightcycler96(wells: list[Well]) -> None:
    lines = [csv_line(LC96_COLUMNS)]
    for number, w in enumerate(plate_order(wells), start=1):
        cq = fmt_ct(w.ct, 2, "-")
        call = "Negative" if w.ct is None else "Positive"
        lines.append(csv_line([
            "255;0;0;255", w.well, w.sample, w.target, cq, "-", call, "Unchecked",
            LC96_TYPE[w.role], "-", cq, "-", "-", "-", "-", BIORAD_DYES[w.dye], "False", "-",
            "-" if w.ct is None else "2.31", "-", "", "", str(number),
        ]))  # fmt: skip
    write_text(PLATES / "lightcycler96" / "esr1_demo_lc96.csv", lines, newline="\r\n", bom=True)


# ---------------------------------------------------------------------------------------------
# QIAGEN Rotor-Gene Q


def tube_numbers() -> dict[str, int]:
    """Tubes in plate-map order: the samples are loaded mix by mix, sample by sample."""
    with (PLATES / "esr1_demo_platemap.csv").open(encoding="utf-8", newline="") as handle:
        return {row["well"]: n for n, row in enumerate(csv.DictReader(handle), start=1)}


def make_rotorgene(wells: list[Well]) -> None:
    folder = PLATES / "rotorgene"
    tubes = tube_numbers()
    width = 14

    def line(*cells: Cell) -> str:
        padded = ["" if c is None else str(c) for c in cells] + [""] * (width - len(cells))
        return ";".join(padded)

    analyses = {"FAM": "ESR1 mut FAM", "HEX": "IC", "ROX": "ESR1 mut ROX", "CY5": "ESR1 mut Cy5"}
    lines = [
        line("Excel Analysed Data Export"),
        line("Copyright (c) 2013 QIAGEN GmbH. All Rights Reserved."),
        line("File", "ESR1_ARMS_demo_RGQ 2026-03-05.rex"),
        line("Date", "3/5/2026"),
        line("Time", "2:15:09 PM"),
        line(),
        line("Operator", "lab"),
        line("Run Id", "ESR1-RGQ-0305"),
        line("Notes"),
        line("Machine Serial No", "R0912345"),
        line(),
        line("Channel", "Gain"),
        *(line(ROTOR_CHANNELS[d], g) for d, g in (("FAM", 7), ("HEX", 8), ("ROX", 9), ("CY5", 10))),
        line(),
        line("Channel", "Threshold"),
        *(line(f"Cycling A.{ROTOR_CHANNELS[d]} ({analyses[d]})", THRESHOLDS[d]) for d in DYE_ORDER),
    ]
    columns = [
        "No.", "Color", "Name", "Type", "Ct", "Ct Comment", "Given Conc (Copies)",
        "Calc Conc (Copies)", "% Var", "Rep. Ct", "Rep. Ct Std. Dev.", "Rep. Ct (95% CI)",
        "Rep. Calc. Conc.", "Rep. Calc. Conc. (95% CI)",
    ]  # fmt: skip
    kind = {"PC": "Positive Control", "NTC": "NTC", "WT": "Negative Control", "SAMPLE": "Unknown"}
    for dye in DYE_ORDER:
        lines += [line(), line(f"Quantitative analysis of Cycling A.{ROTOR_CHANNELS[dye]} "
                               f"({analyses[dye]})"), line(), line(*columns)]  # fmt: skip
        for w in sorted((w for w in wells if w.dye == dye), key=lambda w: tubes[w.well]):
            lines.append(line(tubes[w.well], 5775359, w.sample, kind[w.role],
                              fmt_ct(w.ct, 2, "")))  # fmt: skip
    write_text(folder / "esr1_demo_rotorgene.csv", lines, newline="\r\n")

    with (PLATES / "esr1_demo_platemap.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    map_lines = ["well,sample_id,role,mix"]
    map_lines += [f"{tubes[r['well']]},{r['sample_id']},{r['role']},{r['mix']}" for r in rows]
    write_text(folder / "esr1_demo_platemap.csv", map_lines)


# ---------------------------------------------------------------------------------------------
# Hongshi SLAN


def slan_rows(wells: list[Well]) -> list[Sequence[Cell]]:
    kind = {"PC": "阳性对照", "NTC": "阴性对照", "WT": "野生型对照", "SAMPLE": "待测样本"}
    rows: list[Sequence[Cell]] = [
        ["宏石 SLAN-96P 实时荧光定量PCR检测系统"],
        ["仪器型号", "SLAN-96P"],
        ["仪器序列号", "SLAN96P2207311"],
        ["软件版本", "SLAN-96P V8.2.2"],
        ["实验名称", "ESR1_ARMS_demo_SLAN"],
        ["文件名称", "ESR1_ARMS_demo_SLAN.sla"],
        ["操作者", "lab"],
        ["运行时间", "2026-03-06 13:02:44"],
        ["反应体积", "25 µL"],
        ["荧光通道", "FAM, VIC, ROX, CY5"],
        ["分析方法", "自动基线, 自动阈值"],
        ["导出时间", "2026-03-06 15:20:01"],
        [],
        ["反应孔", "样本名称", "样本类型", "通道", "目标", "Ct", "浓度", "结果"],
    ]
    for w in plate_order(wells):
        ct: Cell = "NoC" if w.ct is None else w.ct
        rows.append([w.well, w.sample, kind[w.role], SLAN_DYES[w.dye], w.target, ct, "",
                     "阴性" if w.ct is None else "阳性"])  # fmt: skip
    return rows


def make_slan(wells: list[Well]) -> None:
    rows = slan_rows(wells)
    write_xlsx(PLATES / "slan" / "esr1_demo_slan.xlsx", [("结果", rows)])
    # damaged on purpose (outside plates/, which holds only readable exports): S2's D538G Ct in
    # row 31 is an Excel error cell, which must never read as SLAN's blank "no amplification"
    damaged = REPO / "testdata" / "damaged"
    damaged.mkdir(exist_ok=True)
    write_xls(damaged / "slan_error_cell.xls", "结果", rows, errors={(30, 5): "#VALUE!"})


def make_slan_csv(wells: list[Well]) -> None:
    """The SLAN sheet saved by Excel as "CSV UTF-8": a BOM, CRLF, the metadata rows padded."""
    rows = slan_rows(wells)
    width = max(len(r) for r in rows)
    lines = [csv_line([*r, *[""] * (width - len(r))]) for r in rows]
    write_text(PLATES / "slan" / "esr1_demo_slan.csv", lines, newline="\r\n", bom=True)


# ---------------------------------------------------------------------------------------------
# RDML 1.2 and the generic table


def rdml_document(wells: list[Well], version: str) -> str:
    """The demo plate as RDML XML, 1.2 or 1.4 (1.4 adds dyeChemistry, react vol and Ncopy,
    from the RDML-consortium's RDML_v1_4_CR.xsd; element order follows that schema)."""
    v14 = version == "1.4"
    sample_type = {"PC": "pos", "NTC": "ntc", "WT": "unkn", "SAMPLE": "unkn"}
    samples = dict.fromkeys(w.sample for w in plate_order(wells))
    roles = {w.sample: w.role for w in wells}
    targets = {w.target: BIORAD_DYES[w.dye] for w in plate_order(wells)}
    out = ['<?xml version="1.0" encoding="UTF-8" standalone="yes"?>',
           f'<rdml xmlns="http://www.rdml.org" version="{version}">',
           "  <dateMade>2026-03-07T10:00:00</dateMade>",
           "  <id><publisher>esr1calls demo</publisher><serialNumber>DEMO-0001</serialNumber>"
           "</id>"]  # fmt: skip
    if v14:
        out += [f'  <dye id="{d}"><dyeChemistry>hydrolysis probe</dyeChemistry></dye>'
                for d in ("FAM", "HEX", "ROX", "Cy5")]  # fmt: skip
    else:
        out += [f'  <dye id="{d}"/>' for d in ("FAM", "HEX", "ROX", "Cy5")]
    out += [f'  <sample id="{escape(s)}"><type>{sample_type[roles[s]]}</type></sample>'
            for s in samples]  # fmt: skip
    out += [f'  <target id="{escape(t)}"><type>{"ref" if t in ("IC", "ESR1_REF") else "toi"}'
            f'</type><dyeId id="{d}"/></target>' for t, d in targets.items()]  # fmt: skip
    out += [f'  <experiment id="ESR1_ARMS_demo_RDML{"14" if v14 else ""}">', '    <run id="Run 1">',
            "      <instrument>CFX96 Touch, Cycler SN: CT012345</instrument>",
            "      <dataCollectionSoftware><name>demo</name><version>1.0</version>"
            "</dataCollectionSoftware>",
            "      <cqDetectionMethod>automated threshold and baseline settings"
            "</cqDetectionMethod>",
            "      <pcrFormat><rows>8</rows><columns>12</columns><rowLabel>ABC</rowLabel>"
            "<columnLabel>123</columnLabel></pcrFormat>",
            "      <runDate>2026-03-07T09:12:00</runDate>"]  # fmt: skip
    by_react: dict[int, list[Well]] = {}
    for w in plate_order(wells):
        by_react.setdefault(w.index96, []).append(w)
    for react, members in by_react.items():
        out.append(f'      <react id="{react}"><sample id="{escape(members[0].sample)}"/>')
        if v14:
            out.append("        <vol>25</vol>")
        for w in members:
            cq = "-1" if w.ct is None else repr(w.ct)  # RDML 1.2+: -1 = not available
            # Ncopy (1.4): copies by the rule of thumb that 10 copies give a Cq of 35
            ncopy = "" if not v14 else "<Ncopy>-1</Ncopy>" if w.ct is None else (
                f"<Ncopy>{10 * 1.9 ** (35 - w.ct):.1f}</Ncopy>")  # fmt: skip
            out.append(f'        <data><tar id="{escape(w.target)}"/><cq>{cq}</cq>{ncopy}</data>')
        out.append("      </react>")
    out += ["    </run>", "  </experiment>", "</rdml>"]
    return "\n".join(out) + "\n"


def make_rdml(wells: list[Well]) -> None:
    xml = rdml_document(wells, "1.2")
    write_zip(PLATES / "rdml" / "esr1_demo_rdml12.rdml", [("rdml_data.xml", xml)])
    # the same document uncompressed, as RDML allows ("software should be able to read ...
    # uncompressed .xml files")
    (PLATES / "rdml" / "esr1_demo_rdml12.xml").write_bytes(xml.encode("utf-8"))
    rdml14 = rdml_document(wells, "1.4")
    write_zip(PLATES / "rdml" / "esr1_demo_rdml14.rdml", [("rdml_data.xml", rdml14)])


def make_generic(wells: list[Well]) -> None:
    lines = ["# run_id: ESR1_ARMS_demo_generic", "well,sample,target,dye,ct"]
    lines += [csv_line([w.well, w.sample, w.target, w.dye, "" if w.ct is None else repr(w.ct)])
              for w in wells]  # fmt: skip
    write_text(PLATES / "generic" / "esr1_demo_generic.csv", lines)


def make_generic_tsv(wells: list[Well]) -> None:
    """The generic table as a tab-separated file with the optional columns."""
    lines = ["well\tsample_name\ttarget_name\tdye\tct\tomit"]
    lines += ["\t".join([w.well, w.sample, w.target, w.dye, "" if w.ct is None else repr(w.ct),
                         "false"]) for w in wells]  # fmt: skip
    write_text(PLATES / "generic" / "esr1_demo_generic.tsv", lines)


# ---------------------------------------------------------------------------------------------
# damaged exports (testdata/damaged/): one file per class of damage, each from a demo rendering


def _last(lines: list[bytes], prefix: bytes) -> list[bytes]:
    """``lines`` with the line starting with ``prefix`` moved to the end."""
    line = next(x for x in lines if x.startswith(prefix))
    return [x for x in lines if x is not line] + [line]


def make_damaged(wells: list[Well]) -> None:
    """Cut-short and blank-lined copies of the demo renderings (run after the renderings).

    A cut keeps the bytes up to a point inside a row, as an interrupted copy does. Where the
    demo's last row would not show what the cut does to a call, a row with a Ct near the
    cut-off is written last first (every reader takes rows in any order).
    """
    damaged = REPO / "testdata" / "damaged"
    damaged.mkdir(exist_ok=True)
    cfx = (PLATES / "cfx" / "esr1_demo_cfx - Quantification Cq Results.csv").read_bytes()
    # S1's D538G (Cq 35.33, just above the cut-off) last, cut after "3": read as Cq 3
    lines = _last(cfx.split(b"\r\n")[:-1], b",A04,FAM,")
    text = b"\r\n".join(lines)
    (damaged / "cfx_cut_inside_cq.csv").write_bytes(text[: text.rindex(b",,35.33,") + 3])
    # the same cut, then given a line end (editors and copy tools add one)
    cut_then_line_end = text[: text.rindex(b",,35.33,") + 3] + b"\r\n"
    (damaged / "cfx_cut_inside_cq_then_a_line_end.csv").write_bytes(cut_then_line_end)
    # a cut at a line end in the Cy5 block: 20 of its 48 rows, no broken row at all
    rows = cfx.split(b"\r\n")
    (damaged / "cfx_cut_at_a_line_end.csv").write_bytes(b"\r\n".join(rows[:177]) + b"\r\n")
    # S2's D538G (Cp 31.75) last, cut before its Cp: the empty Cp read as no amplification
    lc480 = (PLATES / "lightcycler480" / "esr1_demo_lc480_fam_465-510.txt").read_bytes()
    lines = _last(lc480.split(b"\r\n")[:-1], b"True\t65280\tA5\t")
    text = b"\r\n".join(lines)
    (damaged / "lc480_cut_before_last_cp.txt").write_bytes(text[: text.rindex(b"31.75")])
    # S2's D538G (Ct 31.75) last, cut after its last separator: an empty ct, no amplification
    generic = (PLATES / "generic" / "esr1_demo_generic.csv").read_bytes()
    lines = _last(generic.split(b"\n")[:-1], b"A5,S2,D538G,FAM,")
    text = b"\n".join(lines)
    (damaged / "generic_cut_after_last_separator.csv").write_bytes(text[: text.rindex(b",") + 1])
    # the NTC of RM1 (A2) without its internal-control row: a missing control, not a failed one
    rows = [line for line in generic.split(b"\n") if not line.startswith(b"A2,NTC,IC,HEX,")]
    (damaged / "generic_ntc_ic_row_missing.csv").write_bytes(b"\n".join(rows))
    # S1's Y537S well, not amplified (an empty ct), written 0.00 as some software writes a Ct it
    # did not find: read as a Ct it was an amplification at cycle 0, Y537S DETECTED
    zero = generic.replace(b"\nB4,S1,Y537S,FAM,\n", b"\nB4,S1,Y537S,FAM,0.00\n", 1)
    assert zero != generic
    (damaged / "generic_ct_zero_for_no_ct.csv").write_bytes(zero)
    # the 7500 export in UTF-16, cut in the middle of a character of its last Ct
    utf16 = (PLATES / "abi7500" / "esr1_demo_7500.txt").read_text(encoding="utf-8")
    data = utf16.encode("utf-16")
    cut = len(("\ufeff" + utf16[: utf16.rindex("\t29.600\t29.600") + 1]).encode("utf-16-le")) + 3
    (damaged / "abi7500_utf16_cut_inside_a_character.txt").write_bytes(data[:cut])
    # a blank line inside the results, before the RM5 (reference) rows
    qs = (PLATES / "quantstudio" / "esr1_demo_quantstudio.txt").read_bytes()
    (damaged / "quantstudio_blank_line_in_results.txt").write_bytes(
        qs.replace(b"\n49\tE1\t", b"\n\n49\tE1\t", 1)
    )
    # plain RDML cut inside react 37 (D1), written on one line as Bio-Rad does
    xml = (PLATES / "rdml" / "esr1_demo_rdml12.xml").read_text(encoding="utf-8")
    one_line = re.sub(r">\s+<", "><", xml)
    cut = one_line.index("<cq>", one_line.index('<react id="37">'))
    (damaged / "rdml_cut_inside_a_react.xml").write_bytes(one_line[:cut].encode("utf-8"))
    # three runs: two share their dyes (two plates), the third shares none (whose is it?)
    start, end = xml.index("    <run id="), xml.index("    </run>") + len("    </run>\n")
    run = xml[start:end]
    second = run.replace('<run id="Run 1">', '<run id="Run 2">')
    reacts = [r for r in run.split("      <react ")[1:13]]  # row A only
    third = ('    <run id="Run 3">\n' + "".join(
        "      <react " + r.split("        <data>")[0] + '        <data><tar id="EXTRA"/>'
        "<cq>-1</cq></data>\n      </react>\n" for r in reacts) + "    </run>\n")  # fmt: skip
    extra = '  <target id="EXTRA"><type>toi</type><dyeId id="Cy7"/></target>\n'
    mixed = xml[:end] + second + third + xml[end:]
    mixed = mixed.replace("  <experiment ", extra + "  <experiment ", 1)
    (damaged / "rdml_runs_not_one_plate.xml").write_bytes(mixed.encode("utf-8"))


def main() -> None:
    wells = load_plate()
    makers = (make_quantstudio, make_abi7500, make_cfx, make_lightcycler480, make_lightcycler96,
              make_rotorgene, make_slan, make_slan_csv, make_rdml, make_generic,
              make_generic_tsv, make_damaged)  # fmt: skip
    chosen = sys.argv[1:]  # e.g. make_rdml: only those (the .xls writers need xlwt)
    for make in makers:
        if not chosen or make.__name__ in chosen:
            make(wells)
    print(f"wrote the ESR1 demo plate renderings under {PLATES.relative_to(REPO)}/")


if __name__ == "__main__":
    main()
