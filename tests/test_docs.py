"""The README and docs/ are tested: every command they show runs and prints what is shown, and
what docs/ says about reason codes, commands, options, links and default numbers is the code's."""

from __future__ import annotations

import contextlib
import importlib
import io
import math
import re
import shlex
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest

from esr1calls.batch import DPCR_OPTIONS, MANIFEST_COLUMNS, NGS_OPTIONS, PCR_OPTIONS
from esr1calls.cli import cli
from esr1calls.errors import ConfigError
from esr1calls.hotspots import load_panel
from esr1calls.model import Build, Call, CallStatus, Method, Reason
from esr1calls.ngs import options as ngs
from esr1calls.ngs.callers import COUNT_RULES, AbsentAllele, Caller, FilterKind, classify_filter
from esr1calls.pcr import rules as pcr
from esr1calls.pcr.kit import Kit, parse_kit
from esr1calls.pcr.platemap import _ROLE_ALIASES, OPTIONAL_COLUMNS, REQUIRED_COLUMNS
from esr1calls.plates._table import NO_AMP_TOKENS
from esr1calls.plates.format import PlateFormat
from esr1calls.reports import calls_json as report
from esr1calls.reports import tables
from esr1calls.stats import detection_power, k_required
from esr1calls.testing import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def _console_blocks() -> list[str]:
    return re.findall(r"```console\n(.*?)```", README, flags=re.S)


def _shown_commands() -> list[tuple[str, list[str]]]:
    """(command, expected output lines) for every `$ esr1calls ...` line in the README."""
    found: list[tuple[str, list[str]]] = []
    for block in _console_blocks():
        for line in block.splitlines():
            if line.startswith("$ "):
                found.append((line[2:], []))
            elif found:
                found[-1][1].append(line)
    return found


def test_set_up_commands_are_shown():
    assert "make demo" in README and "make test" in README


@pytest.mark.parametrize("command", sorted(cli.commands))
def test_every_command_appears_in_readme(command):
    assert f"esr1calls {command}" in README


SHELL_TOOLS = ("cut ", "grep ", "head ", "tail ", "cat ", "column ")


def test_readme_shows_only_commands_the_test_can_run():
    for command, _ in _shown_commands():
        assert command.startswith(("esr1calls ", *SHELL_TOOLS)), command


def test_readme_commands_run_and_print_what_is_shown(tmp_path, run_cli, monkeypatch):
    """Run every shown command in order, in one scratch directory, like a reader would."""
    (tmp_path / "testdata").symlink_to(REPO / "testdata")
    monkeypatch.chdir(tmp_path)
    for command, expected in _shown_commands():
        if command.startswith("esr1calls "):
            result = run_cli(shlex.split(command)[1:])
            assert result.exit_code == 0, f"{command}\n{result.stderr}"
            stdout = result.stdout
        else:
            done = subprocess.run(command, shell=True, capture_output=True, text=True, check=False)
            assert done.returncode == 0, f"{command}\n{done.stderr}"
            stdout = done.stdout
        _assert_shown(command, expected, stdout.splitlines())


def _assert_shown(command: str, expected: list[str], actual: list[str]) -> None:
    position = 0
    for line in expected:
        if line.strip() in ("", "..."):
            continue
        assert line in actual[position:], (
            f"README shows {line!r} after `{command}`; it printed:\n" + "\n".join(actual[:20])
        )
        position = actual.index(line, position) + 1


def test_readme_python_examples_run():
    blocks = re.findall(r"```python\n(.*?)```", README, flags=re.S)
    assert blocks
    for block in blocks:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(block, "README.md", "exec"), {})
        for comment in re.findall(r"print\(.*\)\s+# (.+)", block):
            assert comment.strip() in out.getvalue()


def test_links_in_readme_resolve():
    for target in re.findall(r"\]\(([^)#:]+)\)", README):
        assert (REPO / target).exists(), target


# the README keeps to set-up, a quick start and links (STYLE.md section 9); the rest is in docs/
README_SECTIONS = ("Set-up", "Quick start", "Supported inputs", "Commands", "Output", "Exit codes",
                   "Python API", "Snakemake", "Performance", "Links")  # fmt: skip


def test_readme_keeps_to_set_up_quick_start_and_links():
    sections = re.findall(r"^## (.+)$", README, flags=re.M)
    assert sections == list(README_SECTIONS)
    assert not re.search(r"^###", README, flags=re.M)  # long sections live in docs/
    for page in sorted(p.name for p in (REPO / "docs").glob("*.md") if p.name != "index.md"):
        assert f"](docs/{page}" in README, f"README does not link docs/{page}"


def test_every_damaged_file_is_named_in_refusals_md():
    """Each class of damage has its file in testdata/damaged/ and its subsection, naming it, in
    docs/refusals.md (an index beside its file is named with it)."""
    text = (REPO / "docs" / "refusals.md").read_text(encoding="utf-8")
    damaged = sorted(p.name for p in (REPO / "testdata" / "damaged").iterdir()
                     if not p.name.endswith((".tbi", ".csi")))  # fmt: skip
    assert len(damaged) >= 20
    assert [name for name in damaged if f"(../testdata/damaged/{name})" not in text] == []


# ---------------------------------------------------------------------------------------------
# docs/: the rules in the project's own words, kept true by the checks below

DOCS = REPO / "docs"
PAGES = sorted(DOCS.glob("*.md"))
PAGE_IDS = [p.name for p in PAGES]
BUNDLED_KIT = REPO / "esr1calls" / "data" / "kits" / "esr1-11-arms-example.toml"


def _text(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def _all_docs() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in PAGES)


def _prose(text: str) -> str:
    """The text without fenced code blocks (links and headings there are not Markdown)."""
    return re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)


def _table_rows(text: str) -> list[list[str]]:
    """The cells of every body row of every Markdown table (no header or separator rows)."""
    rows: list[list[str]] = []
    for line in _prose(text).splitlines():
        if line.startswith("|") and line.rstrip().endswith("|"):
            cells = [cell.strip() for cell in line.strip()[1:-1].split("|")]
            if all(re.fullmatch(r":?-+:?", cell) for cell in cells):
                rows.pop()  # the header row above the separator
            else:
                rows.append(cells)
    return rows


def _section(text: str, heading: str) -> str:
    """From a heading line to the next heading of the same or a higher level."""
    level = len(heading) - len(heading.lstrip("#"))
    start = text.index(heading + "\n")
    end = re.compile(rf"^#{{1,{level}}} ", re.M).search(text, start + len(heading))
    return text[start : end.start() if end else len(text)]


def _numbers(cell: str) -> list[float]:
    cell = cell.replace("\u2212", "-")  # the minus sign the docs write
    return [float(n.replace(",", "")) for n in re.findall(r"-?\d[\d,]*(?:\.\d+)?", cell)]


def test_docs_have_the_pages_the_issue_asks_for():
    for name in ("index.md", "calls.md", "pcr.md", "ngs.md", "outputs.md", "batch.md",
                 "refusals.md"):  # fmt: skip
        assert (DOCS / name).is_file(), name


@pytest.mark.parametrize("page", [p for p in PAGE_IDS if p != "index.md"])
def test_every_page_is_in_the_index(page):
    assert f"]({page})" in _text("index.md")


# ----------------------------------------------------------------------------- reason codes
def _reason_rows() -> dict[str, list[str]]:
    """calls.md's reason tables: code -> [code, comes with, meaning, action]."""
    rows: dict[str, list[str]] = {}
    for cells in _table_rows(_section(_text("calls.md"), "## Reason codes")):
        found = re.fullmatch(r"`([A-Z][A-Z0-9_]*)`", cells[0])
        if found:
            assert found.group(1) not in rows, f"{found.group(1)} is listed twice"
            rows[found.group(1)] = cells
    return rows


def test_every_reason_code_is_in_the_calls_table_and_no_other():
    documented = set(_reason_rows())
    codes = {r.value for r in Reason}
    assert not codes - documented, f"not in docs/calls.md: {sorted(codes - documented)}"
    assert not documented - codes, f"not a Reason: {sorted(documented - codes)}"


@pytest.mark.parametrize("code", [r.value for r in Reason])
def test_each_reason_row_says_when_and_with_which_status(code):
    cells = _reason_rows()[code]
    assert len(cells) == 4, cells
    _, statuses, meaning, action = cells
    allowed = {s.value for s in CallStatus} | {"any", "—"}
    assert statuses and set(re.split(r",\s*", statuses)) <= allowed, statuses
    assert len(meaning) > 40 and action, cells


def _given_by_the_code() -> set[str]:
    """Reason codes some module other than model.py hands out."""
    sources = [p for p in (REPO / "esr1calls").rglob("*.py") if p.name != "model.py"]
    text = "\n".join(p.read_text(encoding="utf-8") for p in sources)
    return {r.value for r in Reason if re.search(rf"Reason\.{r.value}\b", text)}


def test_codes_the_docs_call_reserved_are_exactly_those_the_code_never_gives():
    reserved = {code for code, cells in _reason_rows().items() if "not given by this" in cells[2]}
    never_given = {r.value for r in Reason} - _given_by_the_code()
    assert reserved == never_given


def _forbidden_with_not_detected() -> set[str]:
    call = report.load_schema()["$defs"]["call"]
    rule = next(
        r for r in call["allOf"] if r["if"]["properties"]["status"] == {"const": "NOT_DETECTED"}
    )
    return set(rule["then"]["properties"]["reasons"]["not"]["contains"]["enum"])


def test_no_row_puts_a_code_on_not_detected_that_the_schema_refuses_there():
    for code in _forbidden_with_not_detected():
        statuses = _reason_rows()[code][1]
        assert "NOT_DETECTED" not in statuses and statuses != "any", code


def test_the_list_of_codes_never_on_not_detected_is_the_schemas():
    text = _text("calls.md")
    sentence = text[text.index("A NOT_DETECTED call never carries") :].split(": the calls.json")[0]
    assert set(re.findall(r"`([A-Z_]+)`", sentence)) == _forbidden_with_not_detected()


# ----------------------------------------------------------------------------- commands
def _leaf_commands(
    group: click.Group = cli, prefix: str = ""
) -> Iterator[tuple[str, click.Command]]:
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from _leaf_commands(command, f"{prefix}{name} ")
        else:
            yield f"{prefix}{name}", command


COMMANDS = list(_leaf_commands())
OPTIONS = sorted(
    {
        (path, opt)
        for path, command in [*COMMANDS, ("", cli)]
        for param in command.params
        for opt in param.opts
        if opt.startswith("--")
    }
)


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS])
def test_every_command_is_documented(path):
    assert f"esr1calls {path}" in _all_docs()


@pytest.mark.parametrize("path, option", OPTIONS)
def test_every_option_is_documented(path, option):
    assert re.search(rf"{re.escape(option)}(?![\w-])", _all_docs()), f"{path} {option}"


def test_the_option_list_is_not_empty():
    """Guards the two tests above: click must list every command's options."""
    assert len(COMMANDS) >= 8 and len(OPTIONS) >= 40
    assert ("ngs", "--min-allele-fraction") in OPTIONS and ("kit show", "--format") in OPTIONS


# ----------------------------------------------------------------------------- links
def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    found: set[str] = set()
    for line in _prose(path.read_text(encoding="utf-8")).splitlines():
        heading = re.match(r"#{1,6} (.*)", line)
        if heading:
            slug, n = _slug(heading.group(1)), 1
            while slug in found:
                slug, n = f"{_slug(heading.group(1))}-{n}", n + 1
            found.add(slug)
    return found


def test_slug_follows_github():
    assert _slug("Re-rendering and merging: `esr1calls report`") == (
        "re-rendering-and-merging-esr1calls-report"
    )
    assert _slug('What each export calls "no amplification"') == (
        "what-each-export-calls-no-amplification"
    )
    assert _slug("From the reads (BAM/CRAM)") == "from-the-reads-bamcram"


@pytest.mark.parametrize("page", PAGE_IDS)
def test_every_relative_link_points_at_a_file_and_heading_that_exist(page):
    path = DOCS / page
    links = re.findall(r"\]\(([^)\s]+)\)", _prose(path.read_text(encoding="utf-8")))
    assert links, page
    for link in links:
        if re.match(r"[a-z]+:", link):
            continue
        target, _, anchor = link.partition("#")
        resolved = (path.parent / target).resolve() if target else path
        assert resolved.exists(), f"{page}: {link}"
        if anchor:
            assert resolved.suffix == ".md", f"{page}: {link}"
            assert anchor in _anchors(resolved), f"{page}: {link}: no such heading"


# ----------------------------------------------------------------------------- numbers
def _option_default(reference: str) -> Any:
    """The default of ``esr1calls CMD --option``."""
    words = reference.split()
    command: click.Command = cli
    for word in words[1:-1]:
        assert isinstance(command, click.Group)
        command = command.commands[word]
    option = next(p for p in command.params if words[-1] in p.opts)
    return option.default


def _referenced_value(cell: str) -> tuple[str, Any] | None:
    """The value a "set in" cell points at: a module constant or a command-line default."""
    constant = re.search(r"\]\(\.\./esr1calls/([\w/]+)\.py\) `([A-Z][A-Z0-9_]*)`", cell)
    if constant:
        module = importlib.import_module("esr1calls." + constant.group(1).replace("/", "."))
        return f"{constant.group(1)}.py {constant.group(2)}", getattr(module, constant.group(2))
    option = re.search(r"`(esr1calls [a-z ]+ --[a-z-]+)`", cell)
    if option:
        return option.group(1), _option_default(option.group(1))
    return None


def _defaults_rows() -> list[tuple[str, str, str]]:
    """(page, value cell, set-in cell) of every "| setting | default | set in |" row."""
    rows = []
    for page in PAGES:
        for cells in _table_rows(page.read_text(encoding="utf-8")):
            if len(cells) == 3 and _referenced_value(cells[2]) is not None:
                rows.append((page.name, cells[1], cells[2]))
    return rows


def _check_default(value_cell: str, set_in: str) -> str | None:
    """None when the number shown is the code's, else what differs."""
    referenced = _referenced_value(set_in)
    assert referenced is not None
    where, actual = referenced
    shown = _numbers(value_cell)
    if not shown or not math.isclose(shown[0], float(actual), rel_tol=1e-9):
        return f"{where} is {actual!r}, the docs show {value_cell!r}"
    return None


def test_every_default_quoted_from_the_code_is_the_codes():
    rows = _defaults_rows()
    assert len(rows) >= 15, rows  # the tables exist and the parser finds them
    problems = [f"{page}: {why}" for page, value, where in rows
                if (why := _check_default(value, where))]  # fmt: skip
    assert not problems, "\n".join(problems)


def test_the_default_check_catches_a_wrong_number():
    """The check above is only worth something if a drifted number fails it."""
    alpha = "[ngs/options.py](../esr1calls/ngs/options.py) `DEFAULT_ALPHA`"
    assert _check_default("0.002", alpha)
    assert _check_default("25", "`esr1calls ngs --min-base-quality`")
    assert _check_default("0.001", alpha) is None


def test_every_constant_the_docs_name_exists():
    pattern = r"\[[\w./]+\]\(\.\./esr1calls/([\w/]+)\.py\) `([A-Z][A-Z0-9_]*)`"
    pattern += r"|`([A-Z][A-Z0-9_]*)` in \[[\w./]+\]\(\.\./esr1calls/([\w/]+)\.py\)"
    named = re.findall(pattern, _all_docs())
    assert len(named) >= 10
    for module_a, name_a, name_b, module_b in named:
        module = importlib.import_module("esr1calls." + (module_a or module_b).replace("/", "."))
        assert hasattr(module, name_a or name_b), f"{module_a or module_b}.py {name_a or name_b}"


def test_the_genome_copies_of_the_low_input_rule_are_the_codes():
    copies = f"{pcr.FULL_SENSITIVITY_COPIES:,.0f}"
    fraction = f"{ngs.DEFAULT_MIN_ALLELE_FRACTION:g}"
    pcr_text, calls_text = (" ".join(_text(page).split()) for page in ("pcr.md", "calls.md"))
    assert f"{copies} copies at `ct_full_sensitivity`, is `FULL_SENSITIVITY_COPIES`" in pcr_text
    assert f"`lod95` = {fraction} × {copies} / copies" in pcr_text
    assert f"fewer than {copies} genome copies on it" in pcr_text
    assert f"under {copies} genome copies" in calls_text
    assert f"{fraction} × {copies} / (estimated genome copies)" in calls_text


def test_the_depth_figures_of_the_ngs_page_are_the_rules():
    def needed(error_rate: float) -> tuple[int, int]:
        """The first depth with enough power, and the first from which every depth has it."""
        passing = [
            n
            for n in range(3_000, 12_001)
            if detection_power(n, k_required(n, error_rate), ngs.DEFAULT_MIN_ALLELE_FRACTION)
            >= ngs.REQUIRED_POWER
        ]
        every = next(n for n in passing if set(range(n, 12_001)) <= set(passing))
        return passing[0], every

    (reads_first, reads_every), (umi_first, umi_every) = (
        needed(ngs.READ_BACKGROUND_ERROR),
        needed(ngs.UMI_BACKGROUND_ERROR),
    )
    text = " ".join(_text("ngs.md").split())
    assert (
        f"at n = {reads_first:,} reads (k_req {k_required(reads_first, ngs.READ_BACKGROUND_ERROR)})"
        in text
    )
    assert (
        f"at {umi_first:,} molecules (k_req {k_required(umi_first, ngs.UMI_BACKGROUND_ERROR)})"
        in text
    )
    assert f"every depth from {reads_every:,} reads ({umi_every:,} molecules)" in text


# ----------------------------------------------------------------------------- the kit table
def _kit_value(kit: Kit, table: str, key: str) -> Any:
    """What the program uses for one kit key (windows as [min, max])."""
    thresholds = kit.thresholds()
    if table == "kit":
        return getattr(kit, key)
    if table == "targets":
        return next(iter(thresholds["assays"].values()))[key]["value"]
    place = {
        ("controls.PC", "mutation_window"): ("controls", "pc_mutation_window"),
        ("controls.PC", "reference_window"): ("controls", "pc_reference_window"),
        ("controls.NTC", "max_ct_allowed"): ("controls", "ntc_max_ct"),
    }.get((table, key), (table, key))
    return thresholds[place[0]][place[1]]["value"]


def _without_key(text: str, table: str, key: str) -> str:
    """The kit TOML with one key of one table left out."""
    lines = text.splitlines()
    start = lines.index(f"[{table}]")
    for number in range(start + 1, len(lines)):
        if lines[number].startswith("["):
            break
        if re.match(rf"{key}\s*=", lines[number]):
            return "\n".join(lines[:number] + lines[number + 1 :]) + "\n"
    raise AssertionError(f"[{table}] {key} is not in the bundled kit")


def _kit_rows() -> list[list[str]]:
    rows = [c for c in _table_rows(_text("pcr.md")) if re.fullmatch(r"`\[[\w.]+\] \w+`", c[0])]
    assert len(rows) >= 15
    return rows


@pytest.mark.parametrize("cells", _kit_rows(), ids=lambda cells: cells[0].strip("`"))
def test_the_kit_table_gives_the_bundled_kits_values_and_the_defaults(cells):
    table, key = re.fullmatch(r"`\[([\w.]+)\] (\w+)`", cells[0]).groups()  # type: ignore[union-attr]
    text = BUNDLED_KIT.read_text(encoding="utf-8")
    bundled = _kit_value(parse_kit(text.encode(), "kit.toml"), table, key)
    assert _numbers(cells[2]) == (bundled if isinstance(bundled, list) else [bundled])
    stripped = _without_key(text, table, key).encode()
    if cells[3] == "required":
        with pytest.raises(ConfigError):
            parse_kit(stripped, "kit.toml")
    else:
        default = _kit_value(parse_kit(stripped, "kit.toml"), table, key)
        assert _numbers(cells[3]) == [default]


def test_the_placeholder_cutoff_and_fraction_model_are_quoted_right():
    kit = parse_kit(BUNDLED_KIT.read_bytes(), "kit.toml")
    assay = next(iter(kit.assays.values()))
    exponent = assay.cutoff.value - assay.delta_ct_100.value
    fraction = assay.amplification_factor.value**-exponent
    text = " ".join(_text("pcr.md").split())
    shown = f"{assay.amplification_factor.value:g}^−{exponent:g} ≈ {100 * fraction:.2f} %"
    assert f"delta-Ct of {assay.cutoff.value:.1f} estimates {shown}" in text


# ----------------------------------------------------------------------------- tables of names
def _first_cells(text: str) -> list[str]:
    return [name for cells in _table_rows(text) for name in re.findall(r"`([^`]+)`", cells[0])]


def test_calls_tsv_and_samples_tsv_columns_are_the_reports():
    text = _text("outputs.md")
    assert _first_cells(_section(text, "## calls.tsv")) == list(tables.CALL_COLUMNS)
    assert _first_cells(_section(text, "## samples.tsv")) == list(tables.SAMPLE_COLUMNS)


def test_the_calls_json_shape_lists_every_key_of_a_call():
    call = report._call_document(Call("S", "D538G", Method.PCR, CallStatus.NOT_DETECTED))
    shape = _text("outputs.md").split('"calls": [{')[1].split("}]")[0]
    assert re.findall(r'"(\w+)"', shape) == list(call)


def test_schema_versions_are_the_schemas():
    text = _text("outputs.md")
    schema = report.load_schema()["properties"]["schema_version"]["enum"]
    table = _section(text, "## calls.json")
    versions = [c[0] for c in _table_rows(table) if re.fullmatch(r"\d+\.\d+\.\d+", c[0])]
    assert versions == schema
    assert f'"schema_version": "{report.SCHEMA_VERSION}"' in text
    assert f"This version writes {report.SCHEMA_VERSION}" in text


def test_plate_map_columns_and_role_aliases_are_the_readers():
    section = _section(_text("pcr.md"), "## Plate maps")
    assert _first_cells(section) == [*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS]
    role_row = next(c for c in _table_rows(section) if c[0] == "`role`")
    aliases = dict(re.findall(r"`(\w+)` = (\w+)", role_row[2]))
    aliases.update({a: role for pair in re.findall(r"`(\w+)` and `(\w+)` = (\w+)", role_row[2])
                    for a, role in ((pair[0], pair[2]), (pair[1], pair[2]))})  # fmt: skip
    assert aliases == _ROLE_ALIASES


def test_every_plate_format_is_in_both_export_tables():
    text = _text("pcr.md")
    formats = {f.value for f in PlateFormat}
    supported = _section(text, "## Supported instrument exports")
    assert {c[3].strip("`") for c in _table_rows(supported)} == formats
    no_amp = _section(text, '## What each export calls "no amplification"')
    assert set(_first_cells(no_amp)) == formats


def test_the_no_amplification_words_every_reader_accepts_are_the_readers():
    text = " ".join(_text("pcr.md").split())
    sentence = text.split("Every reader accepts the spellings")[1].split("as no amplification")[0]
    assert {w.lower() for w in re.findall(r"`([^`]+)`", sentence)} == set(NO_AMP_TOKENS)


def test_the_callers_table_names_every_caller_and_what_its_silence_means():
    rows = [c for c in _table_rows(_section(_text("ngs.md"), "## From a VCF")) if len(c) == 5]
    silence = {
        AbsentAllele.EVALUATED: lambda cell: cell.startswith("0"),
        AbsentAllele.UNKNOWN: lambda cell: cell.startswith("unknown"),
        AbsentAllele.BOUNDED: lambda cell: "at most" in cell or "own count" in cell,
    }
    for caller in Caller:
        name = "anything else" if caller is Caller.GENERIC else caller.value
        row = next((c for c in rows if name in c[0]), None)
        assert row is not None, caller
        assert silence[COUNT_RULES[caller].absent](row[3]), (caller, row[3])


def test_the_filters_the_ngs_page_names_are_classified_as_it_says():
    text = " ".join(_text("ngs.md").split())
    paragraph = text.split("**Caller FILTERs.**")[1].split("make the call INDETERMINATE")[0]
    benign, artefact = paragraph.split("are *benign*")
    names = {
        FilterKind.BENIGN: re.findall(r"`([A-Za-z_][\w.]*)`", benign),
        FilterKind.ARTEFACT: re.findall(r"`([a-z_]+)`", artefact),
    }
    assert len(names[FilterKind.BENIGN]) >= 5 and len(names[FilterKind.ARTEFACT]) >= 5
    for kind, filters in names.items():
        for name in filters:
            if name != "CALLER_FILTER":
                assert classify_filter(name)[0] is kind, name


def test_the_panel_table_is_the_packaged_panel():
    rows = [
        c for c in _table_rows(_text("panel.md")) if re.fullmatch(r"[A-Z]\d+[A-Z]|V422del", c[0])
    ]
    shown = [
        (c[0], c[1], c[2], int(c[3]), int(c[4].replace(",", "")), int(c[5].replace(",", "")), c[6])
        for c in rows
    ]
    assert shown == [
        (h.name, h.hgvs_c.split(":")[1], h.hgvs_p, h.exon, h.pos(Build.GRCH38),
         h.pos(Build.GRCH37), f"{h.ref}>{h.alt}")
        for h in load_panel()
    ]  # fmt: skip


def test_batch_columns_and_options_are_the_batch_modules():
    text = " ".join(_text("batch.md").split())
    manifest = _section(_text("batch.md"), "### The manifest")
    assert tuple(_first_cells(manifest)) == MANIFEST_COLUMNS
    pcr_options = text.split("Options of a `pcr` job:")[1].split(".")[0]
    dpcr_options = text.split("Options of a `dpcr` job:")[1].split(". Options")[0]
    ngs_options = text.split("Options of an `ngs` job:")[1].split(". They")[0]
    assert set(re.findall(r"`(\w+)`", pcr_options)) == PCR_OPTIONS
    assert set(re.findall(r"`(\w+)`", dpcr_options)) == DPCR_OPTIONS
    assert set(re.findall(r"`(\w+)`", ngs_options)) == NGS_OPTIONS


def test_the_read_counting_defaults_of_the_cli_are_the_libraries():
    """The docs quote both; they must agree with each other (cli.py shows ngs/options.py's)."""
    assert _option_default("esr1calls ngs --min-base-quality") == ngs.DEFAULT_MIN_BASE_QUALITY
    assert _option_default("esr1calls ngs --min-mapping-quality") == (
        ngs.DEFAULT_MIN_MAPPING_QUALITY
    )
    assert _option_default("esr1calls ngs --min-family-size") == ngs.DEFAULT_MIN_FAMILY_SIZE


# ----------------------------------------------------------------------------- examples run
def _shown_in(text: str) -> list[tuple[str, list[str]]]:
    found: list[tuple[str, list[str]]] = []
    for block in re.findall(r"```console\n(.*?)```", text, flags=re.S):
        for line in block.splitlines():
            if line.startswith("$ "):
                found.append((line[2:], []))
            elif found:
                found[-1][1].append(line)
    return found


@pytest.mark.parametrize("page", [p.name for p in PAGES if "```console" in p.read_text("utf-8")])
def test_docs_commands_run_and_print_what_is_shown(page, tmp_path, run_cli, monkeypatch):
    (tmp_path / "testdata").symlink_to(REPO / "testdata")
    monkeypatch.chdir(tmp_path)
    shown = _shown_in(_text(page))
    assert shown
    for command, expected in shown:
        assert command.startswith(("esr1calls ", *SHELL_TOOLS)), command
        if command.startswith("esr1calls "):
            result = run_cli(shlex.split(command)[1:])
            assert result.exit_code == 0, f"{command}\n{result.stderr}"
            stdout = result.stdout
        else:
            done = subprocess.run(command, shell=True, capture_output=True, text=True, check=False)
            assert done.returncode == 0, f"{command}\n{done.stderr}"
            stdout = done.stdout
        _assert_shown(command, expected, stdout.splitlines())


@pytest.mark.parametrize("page", [p.name for p in PAGES if "```python" in p.read_text("utf-8")])
def test_docs_python_examples_run(page, monkeypatch):
    monkeypatch.chdir(REPO)
    for block in re.findall(r"```python\n(.*?)```", _text(page), flags=re.S):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(block, page, "exec"), {})
        for comment in re.findall(r"print\(.*\)\s+# (.+)", block):
            assert comment.strip() in out.getvalue()


def test_the_error_shown_in_outputs_is_what_the_cli_prints(tmp_path, run_cli, monkeypatch):
    shown = next(
        line for line in _text("outputs.md").splitlines() if line.startswith("esr1calls: error:")
    )
    monkeypatch.chdir(tmp_path)
    Path("map.csv").write_text("well,sample_id,role\nA1,S1,SAMPLE\n", encoding="utf-8")
    export = REPO / "testdata" / "plates" / "generic" / "esr1_demo_generic.csv"
    result = run_cli(["pcr", export, "--plate-map", "map.csv", "-o", "out"])
    assert result.exit_code == 1
    assert result.stderr.strip() == shown


# Every bracketed placeholder number in calls.md and pcr.md, by the words just before it, and
# the bundled kit's key it quotes.
PLACEHOLDERS = [
    ("calls.md", "outside the kit's PC mutation window", "controls.PC", "mutation_window"),
    ("calls.md", "outside the reference window", "controls.PC", "reference_window"),
    ("calls.md", "at or below the kit's NTC limit", "controls.NTC", "max_ct_allowed"),
    ("calls.md", "no Ct at or below the IC limit", "internal_control", "ct_max"),
    ("calls.md", "reference Ct is below the kit's window", "reference", "ct_min"),
    ("calls.md", "reference Ct is above the kit's window", "reference", "ct_max"),
    ("calls.md", "above the kit's full-sensitivity Ct", "reference", "ct_full_sensitivity"),
    ("calls.md", "amplify either (no Ct at or below", "internal_control", "ct_max"),
    ("calls.md", "the kit's equivocal band above it", "targets", "equivocal_band"),
    ("calls.md", "at least the kit's margin", "groups", "cross_reactivity_margin"),
    ("calls.md", "within the cut-off plus the kit's margin", "replicates", "mean_delta_ct_margin"),
    ("calls.md", "their SD is above the kit's limit", "replicates", "reference_sd_max"),
    ("pcr.md", "must lie in the PC mutation window", "controls.PC", "mutation_window"),
    ("pcr.md", "in the PC reference window", "controls.PC", "reference_window"),
    ("pcr.md", "a Ct at or below the NTC limit", "controls.NTC", "max_ct_allowed"),
    ("pcr.md", "amplify at or below the IC limit", "internal_control", "ct_max"),
    ("pcr.md", "Reference Ct below `ct_min`", "reference", "ct_min"),
    ("pcr.md", "brings it to `ct_target`", "reference", "ct_target"),
    ("pcr.md", "Reference Ct above `ct_max`", "reference", "ct_max"),
    ("pcr.md", "Reference Ct above `ct_full_sensitivity`", "reference", "ct_full_sensitivity"),
    ("pcr.md", "SD is above `reference_sd_max`", "replicates", "reference_sd_max"),
    ("pcr.md", "a Ct above the assay's `ct_max`", "targets", "ct_max"),
    ("pcr.md", "internal control amplified (Ct at or below", "internal_control", "ct_max"),
    ("pcr.md", "At or below the assay's `cutoff`", "targets", "cutoff"),
    ("pcr.md", "within `cutoff + equivocal_band`", "targets", "equivocal_band"),
    ("pcr.md", "cut-off + `mean_delta_ct_margin`", "replicates", "mean_delta_ct_margin"),
    ("pcr.md", "at least `cross_reactivity_margin`", "groups", "cross_reactivity_margin"),
    ("pcr.md", "`amplification_factor` A", "targets", "amplification_factor"),
    ("pcr.md", "and `delta_ct_100`", "targets", "delta_ct_100"),
    ("pcr.md", "1.96 × `delta_ct_sd`", "targets", "delta_ct_sd"),
    ("pcr.md", "`[flags] delta_ct_negative_below`", "flags", "delta_ct_negative_below"),
    ("pcr.md", "`[flags] mutation_ct_early_below`", "flags", "mutation_ct_early_below"),
]


@pytest.mark.parametrize("page", ["calls.md", "pcr.md"])
def test_every_bracketed_placeholder_is_the_bundled_kits_value(page):
    kit = parse_kit(BUNDLED_KIT.read_bytes(), "kit.toml")
    text = " ".join(_prose(_text(page)).split())
    checked = 0
    for where, before, table, key in PLACEHOLDERS:
        if where != page:
            continue
        shown = re.findall(re.escape(before) + r" \[([^\]]*\d[^\]]*)\]", text)
        assert shown, f"{page}: no bracketed number after {before!r}"
        value = _kit_value(kit, table, key)
        for cell in shown:
            assert _numbers(cell) == (value if isinstance(value, list) else [value]), before
        checked += len(shown)
    brackets = re.findall(r"\[(?:\u2212?\d|band )[^\]]*\]", text)
    assert checked == len(brackets), "a bracket is unchecked"


def test_the_delta_ct_and_early_ct_flags_are_where_the_docs_say():
    kit = parse_kit(BUNDLED_KIT.read_bytes(), "kit.toml")
    assay = kit.assays["D538G"]
    text = " ".join(_text("pcr.md").split())
    assert (
        "`DCT_NEGATIVE` for a delta-Ct below the kit's `[flags] delta_ct_negative_below` [−1.0] "
        "and `MUT_CT_EARLY` for a mutation Ct below its `[flags] mutation_ct_early_below` [20.0]"
        in text
    )

    def reasons(ct_mutation: float, ct_reference: float) -> tuple[Reason, ...]:
        return pcr.call_target(ct_mutation, ct_reference, 30.0, assay, kit).reasons

    assert Reason.DCT_NEGATIVE in reasons(23.99, 25.0)
    assert Reason.DCT_NEGATIVE not in reasons(24.0, 25.0)
    assert Reason.MUT_CT_EARLY in reasons(19.99, 20.5)
    assert Reason.MUT_CT_EARLY not in reasons(20.0, 20.5)


_SUPERSCRIPT = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")


def _superscripted(rate: float) -> str:
    """5e-4 as the docs write it: 5×10⁻⁴."""
    mantissa, exponent = f"{rate:.0e}".split("e")
    power = str(int(exponent)).translate(str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻"))
    return f"{mantissa}×10{power}"


def test_background_rates_and_ratios_in_the_prose_are_the_codes():
    """The NGS numbers written into sentences rather than tables."""
    from esr1calls.ngs.concordance import MAX_DEPTH_RATIO
    from esr1calls.ngs.pon import MAX_NORMAL_FRACTION

    text = " ".join(_all_docs().split())
    rates = re.findall(r"(\d)×10([⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+)", text)
    assert len(rates) >= 4
    defaults = {ngs.READ_BACKGROUND_ERROR, ngs.UMI_BACKGROUND_ERROR}
    for digit, exponent in rates:
        assert float(f"{digit}e{exponent.translate(_SUPERSCRIPT)}") in defaults, (digit, exponent)
    background, umi = (_superscripted(rate) for rate in sorted(defaults, reverse=True))
    assert f"({background}, or {umi} with `--umi`)" in text
    assert f"{umi} for molecules (`--umi`), {background} for fragments" in text
    ratio = f"more than {MAX_DEPTH_RATIO:g} times the reads' usable depth"
    assert text.count(ratio) == 2, ratio
    assert f"showing the allele above {MAX_NORMAL_FRACTION:.0%}".replace("%", " %") in text
