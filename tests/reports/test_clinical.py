"""clinical.html: one printable page per sample, in English and Simplified Chinese
(reports/clinical.py, docs/clinical.md)."""

from __future__ import annotations

import base64
import re
import subprocess
import sys
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from esr1calls.ngs import call_ngs
from esr1calls.reports.calls_json import to_json_document
from esr1calls.reports.clinical import LANGUAGES, render_clinical
from esr1calls.reports.options import ReportOptions
from esr1calls.testing import REPO, TESTDATA
from esr1calls.testing.ctdna import DNMT3A_R882H, GERMLINE_SNP, TP53_R273H, write_plasma_vcf
from esr1calls.testing.golden import assert_golden
from esr1calls.testing.runs import PCR_COMMAND, pcr_run

from ..browser import chromium_page, load_report

EXPECTED = TESTDATA / "expected" / "reports" / "clinical"
ARTIFACTS = REPO / "test-artifacts"
PACKAGE = Path(str(resources.files("esr1calls")))
LOCALES = PACKAGE / "reports" / "locales"
ZH = "zh-CN"


def _pcr_document(specimen: str | None = "plasma") -> dict:
    document = to_json_document(pcr_run(), ReportOptions(PCR_COMMAND, reproducible=True))
    for sample in document["samples"]:
        if specimen is not None:
            sample["specimen"] = specimen
    return document


def _ngs_document(folder: Path) -> dict:
    """A positive, a negative with adequate ctDNA, a negative with low ctDNA and an
    indeterminate plasma sample, each its own Mutect2 VCF."""
    cases = {
        "P01": {"others": [(TP53_R273H, 0.08)], "detected": {"D538G": 0.015}},
        "P02": {"others": [(TP53_R273H, 0.08), (DNMT3A_R882H, 0.05), (GERMLINE_SNP, 0.48)]},
        "P03": {"others": [(DNMT3A_R882H, 0.05)]},
        "P04": {"others": [], "depth": 4000},
    }
    paths = []
    for sample, case in cases.items():
        paths.append(write_plasma_vcf(folder / f"{sample}.vcf", sample=sample, **case))
    result = call_ngs(paths)
    from esr1calls.interpretation import with_specimen

    result = with_specimen(result, "plasma")
    document = to_json_document(result, ReportOptions("esr1calls ngs", reproducible=True))
    assert [s["status"] for s in document["samples"]] == [
        "POSITIVE", "NEGATIVE", "NEGATIVE", "INDETERMINATE"
    ]  # fmt: skip
    return document


def _dpcr_document() -> dict:
    from esr1calls.dpcr import call_dpcr
    from esr1calls.interpretation import with_specimen

    folder = TESTDATA / "dpcr"
    result = call_dpcr(
        [folder / "quantasoft" / "esr1_demo_quantasoft.csv"],
        [folder / "esr1_demo_dpcr_platemap.csv"],
    )
    return to_json_document(with_specimen(result, "plasma"), ReportOptions("x", reproducible=True))


# ------------------------------------------------------------------------------------ goldens
@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_pcr_pages_match_their_golden(lang):
    """A positive, a negative (ctDNA unknown), an indeterminate and two invalid samples."""
    assert_golden(render_clinical(_pcr_document(), lang), EXPECTED / f"pcr.{lang}.html")


@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_ngs_pages_match_their_golden(lang, tmp_path):
    document = _ngs_document(tmp_path)
    assert_golden(render_clinical(document, lang), EXPECTED / f"ngs.{lang}.html")


# ------------------------------------------------------------------------------ the readings
class _Text(HTMLParser):
    """Visible text per page (``section.page``), without the elements in ``skip``."""

    def __init__(self, skip: frozenset[str] = frozenset({"code", "cite", "style"})) -> None:
        super().__init__()
        self.skip = skip
        self.pages: list[str] = []
        self.skipping = 0
        self.head: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.skip:
            self.skipping += 1
        if tag == "section":
            self.pages.append("")
        elif tag in ("td", "th", "br", "li", "p", "dt", "dd", "h1", "h2") and self.pages:
            self.pages[-1] += " "  # a cell or line break separates words

    def handle_endtag(self, tag):
        if tag in self.skip:
            self.skipping -= 1

    def handle_data(self, data):
        if self.skipping:
            return
        if self.pages:
            self.pages[-1] += data
        else:
            self.head.append(data)


def _pages(html: str) -> list[str]:
    """The text of each page as a reader sees it (identifiers included)."""
    parser = _Text(frozenset({"style"}))
    parser.feed(html)
    return [" ".join(p.split()) for p in parser.pages]


def test_every_page_says_what_its_sample_means(tmp_path):
    found = _pages(render_clinical(_ngs_document(tmp_path)))
    pages = dict(zip(("P01", "P02", "P03", "P04"), found, strict=True))
    assert "ESR1 mutation detected: D538G." in pages["P01"]
    assert "elacestrant" in pages["P01"] and "imlunestrant" in pages["P01"]
    assert "elacestrant monotherapy FDA 2023-01-27 D538G" in pages["P01"]
    assert "imlunestrant monotherapy NMPA 2026-06-22 D538G" in pages["P01"]
    assert "imlunestrant in combination with abemaciclib NMPA 2026-06-22" in pages["P01"]
    for negative in ("P02", "P03"):
        assert (
            "not archival primary tissue; re-test blood at the next progression" in pages[negative]
        )
    assert "Tumour DNA in the sample: adequate" in pages["P02"] and "8 %" in pages["P02"]
    assert "Tumour DNA in the sample: low or unknown" in pages["P03"]
    assert "No conclusion: 11 of 11 hotspots could not be evaluated" in pages["P04"]
    for page in pages.values():
        assert "Not reviewed." in page and "does not prescribe" in page
    assert "PLACEHOLDER" not in " ".join(pages.values())  # NGS has no placeholder kit


def test_pcr_pages_carry_the_placeholder_warning_and_an_unknown_ctdna():
    pages = _pages(render_clinical(_pcr_document()))
    assert len(pages) == 9
    assert all("PLACEHOLDER values" in p for p in pages)
    negative = pages[0]  # S1
    assert "Tumour DNA in the sample: unknown" in negative
    assert "Invalid: the test failed a quality control" in pages[6]
    assert "Hotspots not evaluable:" in pages[6] and "Repeat the test" in pages[6]


@pytest.mark.parametrize(
    "specimen, words",
    [
        ("tissue", "No ESR1 mutation was found in this tissue."),
        (None, "The specimen type was not stated"),
        ("other", "The specimen is neither plasma nor tissue"),
    ],
)
def test_the_specimen_decides_the_negative_reading(specimen, words):
    document = _pcr_document(specimen)
    document["samples"] = document["samples"][:1]
    document["samples"][0].pop("interpretation")  # as an older calls.json: read again
    page = _pages(render_clinical(document))[0]
    assert words in page
    assert ("re-test blood at the next progression" in page) is (specimen != "tissue")


def test_a_dpcr_negative_shows_the_wild_type_copies_beside_an_unknown_ctdna():
    document = _dpcr_document()
    labels = [s["sample_id"] for s in document["samples"]]
    page = _pages(render_clinical(document))[labels.index("N1")]
    assert "Tumour DNA in the sample: unknown." in page
    assert "Wild-type ESR1 copies per mL of plasma (the lowest of the assays): 22,059." in page
    assert "Digital PCR" in page


def test_a_positive_without_a_listed_mutation_and_a_document_without_knowledge():
    document = _pcr_document()
    sample = document["samples"][1]
    sample["actionability"] = []
    page = _pages(render_clinical(document))[1]
    assert "No approval in the knowledge file lists the mutation(s) detected." in page
    del document["run"]["knowledge"]
    page = _pages(render_clinical(document))[1]
    assert "recorded no knowledge file" in page


def test_the_review_block_says_reviewed_only_from_a_verified_record():
    document = _pcr_document()
    approved = {"state": "approved", "reviewer": "Dr Li", "time": "2026-12-05T08:00:00Z",
                "signoff": 1}  # fmt: skip
    page = _pages(render_clinical(document, "en", approved))[0]
    assert "Reviewed by" in page and "(sign-off 1: approved)" in page
    broken = {"state": "not_verified", "problem": "audit.jsonl: line 2 changed"}
    page = _pages(render_clinical(document, "en", broken))[0]
    assert "does not verify" in page and "Reviewed by" not in page


def test_text_from_inputs_is_escaped():
    document = _pcr_document()
    document["samples"][0]["sample_id"] = "<script>alert(1)</script>"
    document["samples"][0]["patient_id"] = '"><img src=x onerror=alert(1)>'
    html = render_clinical(document)
    assert "<script>alert" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_an_unknown_language_is_refused():
    from esr1calls.errors import Esr1CallsError

    with pytest.raises(Esr1CallsError, match="--lang fr: no such language; use one of en, zh-CN"):
        render_clinical(_pcr_document(), "fr")


# ------------------------------------------------------------------------------ the catalogs
def _template_messages() -> set[str]:
    mapping = [("**/templates/**.j2", "jinja2")]
    options = {"**/templates/**.j2": {"extensions": "jinja2.ext.i18n", "trim_blocks": "true",
                                       "lstrip_blocks": "true"}}  # fmt: skip
    found = extract_from_dir(str(PACKAGE / "reports"), mapping, options_map=options)
    return {message for _, _, message, _, _ in found}


def _catalog(folder: str):
    with (LOCALES / folder / "LC_MESSAGES" / "clinical.po").open("rb") as handle:
        return read_po(handle)


@pytest.mark.parametrize("folder", list(LANGUAGES.values()))
def test_every_message_of_the_page_is_in_both_catalogs(folder):
    wanted = _template_messages()
    assert len(wanted) > 50
    catalog = _catalog(folder)
    have = {m.id: m.string for m in catalog if m.id}
    assert wanted - set(have) == set(), f"missing in {folder}"
    assert set(have) - wanted == set(), f"{folder} has messages the page no longer uses"
    assert all(have[m] for m in wanted), f"untranslated in {folder}"
    assert not [m.id for m in catalog if m.id and m.fuzzy]
    for message in wanted:  # the same placeholders in every language
        assert sorted(re.findall(r"%\(\w+\)s", have[message])) == sorted(
            re.findall(r"%\(\w+\)s", message)
        ), message


@pytest.mark.parametrize("folder", list(LANGUAGES.values()))
def test_the_shipped_mo_is_the_po_compiled(folder):
    """The page reads the .mo; it must be exactly `pybabel compile` of the .po beside it."""
    import io

    compiled = io.BytesIO()
    write_mo(compiled, _catalog(folder))
    shipped = (LOCALES / folder / "LC_MESSAGES" / "clinical.mo").read_bytes()
    assert compiled.getvalue() == shipped, f"recompile {folder}: see docs/clinical.md"


ALLOWED_LATIN = {
    # names and abbreviations a Chinese clinical report writes in Latin letters
    "ESR1", "NGS", "PCR", "ARMS", "dPCR", "DNA", "HGVS", "NCCN", "FDA", "NMPA", "ER", "HER2",
    "sha256", "report", "html", "calls", "json", "elacestrant", "imlunestrant",
}  # fmt: skip


def test_no_english_leaks_into_the_chinese_page(tmp_path):
    documents = [_pcr_document(), _pcr_document("tissue"), _pcr_document(None),
                 _pcr_document("other"), _ngs_document(tmp_path), _dpcr_document()]  # fmt: skip
    reviews = [None, {"state": "approved", "reviewer": "Li", "time": "T", "signoff": 2},
               {"state": "rejected", "reviewer": "Li", "time": "T", "signoff": 2},
               {"state": "not_verified", "problem": "x"}]  # fmt: skip
    words: set[str] = set()
    for document in documents:
        for review in reviews:
            html = render_clinical(document, ZH, review)
            assert '<html lang="zh-CN">' in html
            parser = _Text()
            parser.feed(html)
            text = " ".join([*parser.head, *parser.pages])
            words |= set(re.findall(r"[A-Za-z][A-Za-z0-9]*", text))
    assert words - ALLOWED_LATIN == set()


# --------------------------------------------------------------------------------- the CLI
def test_the_commands_write_clinical_html_in_the_language_asked(run_cli, testdata, tmp_path):
    result = run_cli(
        ["pcr", testdata / "plates" / "esr1_demo_plate.tsv", "--plate-map",
         testdata / "plates" / "esr1_demo_platemap.csv", "--lang", ZH, "--reproducible",
         "-o", tmp_path / "out"]
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    page = (tmp_path / "out" / "clinical.html").read_text()
    assert '<html lang="zh-CN">' in page and page.count('class="page"') == 9
    again = run_cli(["report", tmp_path / "out" / "calls.json", "-o", tmp_path / "again"])
    assert again.exit_code == 0, again.stderr
    assert 'lang="en"' in (tmp_path / "again" / "clinical.html").read_text()


def test_pdf_without_chromium_is_one_line_and_writes_nothing(run_cli, testdata, tmp_path,
                                                             monkeypatch):  # fmt: skip
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    result = run_cli(
        ["pcr", testdata / "plates" / "esr1_demo_plate.tsv", "--plate-map",
         testdata / "plates" / "esr1_demo_platemap.csv", "--pdf", "-o", tmp_path / "out"]
    )  # fmt: skip
    assert result.exit_code == 1
    assert result.stderr.startswith("esr1calls: error: --pdf: no headless Chromium found")
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_start_up_does_not_load_jinja2_or_babel():
    code = (
        "import sys, esr1calls.cli, esr1calls.reports.write; "
        "print(sorted(m for m in ('jinja2', 'babel', 'markupsafe') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


# -------------------------------------------------------------------------- headless Chromium
@pytest.mark.slow
def test_pages_print_as_a4_in_chromium_and_pdf(run_cli, testdata, tmp_path):
    """Each sample is one A4 page in print, nothing overflows, and --pdf prints them; the
    screenshots are kept in test-artifacts/."""
    from ..browser import find_chromium

    find_chromium()  # skips (or fails under make test) without Chromium
    out = {}
    for lang in LANGUAGES:
        folder = tmp_path / lang
        result = run_cli(
            ["pcr", testdata / "plates" / "esr1_demo_plate.tsv", "--plate-map",
             testdata / "plates" / "esr1_demo_platemap.csv", "--specimen", "plasma",
             "--lang", lang, "--pdf", "--reproducible", "-o", folder]
        )  # fmt: skip
        assert result.exit_code == 0, result.stderr
        pdf = (folder / "clinical.pdf").read_bytes()
        # one A4 page per sample: a page object per sample, each 595 x 842 points
        assert pdf.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page(?!s)", pdf)) == 9
        assert re.search(rb"/MediaBox\s*\[\s*0 0 59[45](\.\d+)? 84[12](\.\d+)?\s*\]", pdf)
        out[lang] = folder / "clinical.html"
    for lang, path in out.items():
        with chromium_page(tmp_path / f"profile-{lang}") as page:
            load_report(page, path)
            assert not page.named("Runtime.exceptionThrown")
            requests = [e["request"]["url"] for e in page.named("Network.requestWillBeSent")]
            assert requests == [path.resolve().as_uri()]
            facts = page.evaluate(
                """({
                pages: document.querySelectorAll('section.page').length,
                overflow: [...document.querySelectorAll('td, th, dd, p, li, h1, h2')]
                    .filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.textContent),
                width: document.documentElement.scrollWidth,
                })"""
            )
            assert facts["pages"] == 9 and facts["overflow"] == []
            shot = page.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)
            ARTIFACTS.mkdir(exist_ok=True)
            target = ARTIFACTS / f"clinical-{lang}.png"
            target.write_bytes(base64.b64decode(shot["data"]))
            assert target.stat().st_size > 10_000


def test_sign_renders_the_page_again_in_its_language_and_verify_covers_it(
    run_cli, testdata, tmp_path
):
    out = tmp_path / "out"
    result = run_cli(
        ["pcr", testdata / "plates" / "esr1_demo_plate.tsv", "--plate-map",
         testdata / "plates" / "esr1_demo_platemap.csv", "--lang", ZH, "-o", out]
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "尚未审核" in (out / "clinical.html").read_text()
    signed = run_cli(["sign", out, "--reviewer", "Dr Wang", "--decision", "approve"])
    assert signed.exit_code == 0, signed.stderr
    page = (out / "clinical.html").read_text()
    assert '<html lang="zh-CN">' in page and "由 <code>Dr Wang</code> 于" in page
    assert "尚未审核" not in page
    assert run_cli(["verify", out]).exit_code == 0
    (out / "clinical.html").write_text(page.replace("Dr Wang", "Dr Zhao"))
    broken = run_cli(["verify", out])
    assert broken.exit_code == 1 and "clinical.html: changed since sign-off 1" in broken.stderr


def test_the_compiled_template_is_kept_in_the_users_cache_folder_or_nowhere(tmp_path, monkeypatch):
    """No home (a container under an arbitrary user id) is no cache, not an error; a relative
    XDG_CACHE_HOME is ignored, as the XDG rules say, not a cache folder in the run's folder."""
    import jinja2

    from esr1calls.reports.clinical import _bytecode_cache

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert _bytecode_cache(jinja2).directory == str(tmp_path / "cache" / "esr1calls" / "templates")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", "relative")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert _bytecode_cache(jinja2).directory == str(tmp_path / "home/.cache/esr1calls/templates")
    assert not (tmp_path / "relative").exists()

    def homeless():
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setattr(Path, "home", homeless)
    assert _bytecode_cache(jinja2) is None


class _Html:
    def __html__(self):
        return "<b>safe</b>"


class _Formats:
    def __format__(self, spec):
        return "<formatted>"


@pytest.mark.parametrize(
    "value", ["D538G", "<i>x</i> & 'q'", "", 7, -3, True, 0.25, None, _Html(), _Formats()],
    ids=repr,
)  # fmt: skip
def test_the_code_and_strong_filters_are_markup_format(value):
    """The direct path for plain strings and whole numbers gives what Markup.format gives."""
    from markupsafe import Markup

    from esr1calls.reports.clinical import _code, _strong

    assert _code(value) == Markup("<code>{}</code>").format("" if value is None else value)
    assert _strong(value) == Markup("<strong>{}</strong>").format(value)
    assert type(_code(value)) is Markup and type(_strong(value)) is Markup


def test_the_pages_attribute_lookup_is_jinja2s(monkeypatch):
    """page.x on a dict gives what Jinja2's own lookup gives: the key, a dict method before a key
    of the same name (``items``), and a missing key still an error (StrictUndefined)."""
    import jinja2

    from esr1calls.reports.clinical import _environment

    ours = _environment("en")
    plain = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=True)
    source = (
        "{{ d.label }}|{{ d.items is callable }}|{{ d['items'] }}|{{ d.n + 1 }}|{{ s.upper() }}"
    )
    view = {"d": {"label": "<x>", "items": "the key", "n": 1}, "s": "ab"}
    assert ours.from_string(source).render(view) == plain.from_string(source).render(view)
    assert ours.from_string(source).render(view) == "&lt;x&gt;|True|the key|2|AB"
    for environment in (ours, plain):
        with pytest.raises(jinja2.UndefinedError):
            environment.from_string("{{ d.missing }}").render(view)


def test_a_message_without_variables_is_formatted_as_with_them():
    """``_`` formats every message with %, so a constant message's %% is one percent sign, and
    a constant is the same string each time it is asked for."""
    import gettext

    from esr1calls.reports.clinical import _page_gettext

    translate = _page_gettext(gettext.NullTranslations())
    assert translate("100%% <sure>") == "100% <sure>"
    assert translate("100%% <sure>") is translate("100%% <sure>")
    assert translate("%(n)s%%", n="<5>") == "&lt;5&gt;%"
    with pytest.raises(KeyError):
        translate("%(n)s hotspots")


def test_the_pages_underscore_is_called_as_jinja2_calls_it():
    """The page's ``_`` is called straight, not through Jinja2's context.call: in and out of
    loops and blocks, with and without variables, the page's environment renders what Jinja2's
    own renders; a callable that asks for the context still gets it, and a ``_`` the template
    sets itself is that one."""
    import jinja2

    from esr1calls.reports.clinical import _environment

    ours = _environment("en")
    plain = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=True)
    plain.globals["_"] = ours.globals["_"]

    @jinja2.pass_context
    def named(context, suffix):
        return context["name"] + suffix

    source = (
        "{% block b %}{{ _('Sample') }}{% for x in xs %}[{{ _('%(n)s hotspots', n=x) }}|"
        "{{ named('!') }}]{% endfor %}{% endblock %}{% set _ = upper %}{{ _('set here') }}"
    )
    view = {"xs": [1, "<2>"], "name": "S1", "named": named, "upper": str.upper}
    page = ours.from_string(source).render(view)
    assert page == plain.from_string(source).render(view)
    assert page == "Sample[1 hotspots|S1!][&lt;2&gt; hotspots|S1!]SET HERE"
