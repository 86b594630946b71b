"""clinical.html: one printable A4 page per sample, in English or Simplified Chinese.

What a molecular pathologist signs and an oncologist reads: who and what was tested, the result
in one sentence, the hotspots with the limit each reached, the mutations found, their therapy
relevance as the knowledge file recorded it, what a negative means, the method and its limits,
and the review. Everything comes from the calls.json document (never the callers) and every word
from a gettext catalog: the page is a Jinja2 template (``templates/clinical.html.j2``, autoescaped)
and the catalogs are ``locales/<lang>/LC_MESSAGES/clinical.po`` with their compiled ``.mo``, so
a lab adapts the wording or adds a language without touching code. Jinja2 is imported only when
a page is rendered, so commands that write no page do not pay for it.

``--pdf`` prints the page to clinical.pdf with headless Chromium (``render_pdf``).
"""

from __future__ import annotations

import gettext
import io
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

from .._package_data import read_bytes, read_text
from ..errors import Esr1CallsError
from ..interpretation import interpret, lowest_wild_type_copies
from ..model import reportable_fraction, required_power
from .document import notices, run_of, sample_labels
from .formats import CLINICAL_LANGUAGES
from .options import ReportOptions

__all__ = [
    "CLINICAL_HTML",
    "CLINICAL_PDF",
    "FILES",
    "LANGUAGES",
    "check_pdf_renderer",
    "clinical_view",
    "render_clinical",
    "render_pdf",
]

CLINICAL_HTML, CLINICAL_PDF = "clinical.html", "clinical.pdf"
FILES = (CLINICAL_HTML,)  # clinical.pdf is printed from it after writing (--pdf)
LANGUAGES = CLINICAL_LANGUAGES  # the registry's, which --lang offers
"""``--lang`` value -> the catalog's folder under ``locales/``."""
DOMAIN = "clinical"
LANG_META = "esr1calls-lang"  # <meta> naming the page's language (sign re-renders it in it)
_BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
_METHODS = {"PCR": "ARMS-PCR", "NGS": "NGS", "dPCR": "dPCR"}
_DICT_ATTRIBUTES = frozenset(dir(dict))  # what getattr finds on a dict before its keys


def _percent(fraction: float | None, digits: int = 2) -> str | None:
    """A fraction as a percent for the page, trailing zeros dropped (0.002 -> "0.2 %").

    >>> _percent(0.002), _percent(0.0801), _percent(None)
    ('0.2 %', '8.01 %', None)
    """
    if fraction is None:
        return None
    text = f"{100 * fraction:.{digits}f}".rstrip("0").rstrip(".")
    return f"{text} %"


def _hotspot_rows(sample: Mapping[str, Any], reportable: float | None) -> list[dict[str, Any]]:
    rows = []
    for call in sample.get("calls") or []:
        status = str(call.get("status"))
        lod = call.get("lod95")
        if lod is None and status == "NOT_DETECTED":
            lod = reportable
        rows.append(
            {
                "hotspot": call.get("hotspot"),
                "hgvs_p": call.get("hgvs_p") or "",
                "status": status,
                "limit": _percent(lod) if status in ("NOT_DETECTED", "INDETERMINATE") else None,
                "reasons": list(call.get("reasons") or []),
            }
        )
    return rows


def _detected(sample: Mapping[str, Any]) -> list[dict[str, Any]]:
    found = []
    for call in sample.get("calls") or []:
        if call.get("status") != "DETECTED":
            continue
        fraction = call.get("allele_fraction")
        found.append(
            {
                "hotspot": call.get("hotspot"),
                "hgvs_c": call.get("hgvs_c") or "",
                "hgvs_p": call.get("hgvs_p") or "",
                "fraction": _percent(fraction),
                "semi_quantitative": sample.get("method") == "PCR",
                "alt_count": call.get("alt_count"),
                "depth": call.get("depth"),
            }
        )
    return found


def _ctdna_view(ctdna: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not ctdna:
        return None
    variant = ctdna.get("variant") or None
    return {
        "status": ctdna.get("status"),
        "fraction": _percent(ctdna.get("fraction")),
        "threshold": _percent(ctdna.get("threshold")),
        "variant": None
        if variant is None
        else {
            # the gene where it is known (CHIP table or annotation), then the allele
            "label": " ".join(
                part
                for part in (
                    variant.get("gene") or "",
                    f"{variant.get('chrom')}:{variant.get('pos')} "
                    f"{variant.get('ref')}>{variant.get('alt')}",
                )
                if part
            ),
            "fraction": _percent(variant.get("fraction")),
        },
        "chip_excluded": bool(ctdna.get("chip_excluded", True)),
        "wild_type_copies": None
        if ctdna.get("wild_type_copies_per_ml") is None
        else f"{ctdna['wild_type_copies_per_ml']:,.0f}",
    }


def clinical_view(
    document: Mapping[str, Any], lang: str, review: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Everything the template shows, as plain values (numbers formatted, no words)."""
    samples = list(document.get("samples") or [])
    run = document.get("run") or {}
    pages = []
    for sample, label in zip(samples, sample_labels(samples), strict=True):
        sample_run = run_of(document, sample)
        kit = sample_run.get("kit") or {}
        reportable = reportable_fraction(sample_run.get("thresholds") or {})
        status = str(sample.get("status"))
        reading = sample.get("interpretation") or interpret(
            status,
            str(sample.get("method")),
            sample.get("specimen"),
            sample.get("ctdna"),
            lowest_wild_type_copies(sample.get("calls") or []),
        )
        calls = sample.get("calls") or []
        not_evaluable = [c for c in calls if c.get("status") in ("INDETERMINATE", "INVALID")]
        reasons = sorted({r for c in not_evaluable for r in c.get("reasons") or []})
        knowledge = sample_run.get("knowledge") or run.get("knowledge")
        pages.append(
            {
                "label": label,
                "sample_id": sample.get("sample_id"),
                "patient_id": sample.get("patient_id"),
                "collected": sample.get("collected"),
                "specimen": sample.get("specimen"),
                "method": sample.get("method"),
                "method_name": _METHODS.get(str(sample.get("method")), sample.get("method")),
                "source": sample.get("source") or "",
                "status": status,
                "hotspots": _hotspot_rows(sample, reportable),
                "n_hotspots": len(calls),
                "n_not_evaluable": len(not_evaluable),
                "not_evaluable": [c.get("hotspot") for c in not_evaluable],
                "reasons": reasons,
                "detected": _detected(sample),
                "reportable": _percent(reportable) or "—",
                "power": _percent(required_power(sample_run.get("thresholds") or {}), 0),
                "actionability": list(sample.get("actionability") or []),
                "knowledge": knowledge,
                "reading": None if reading is None else reading.get("reading"),
                "ctdna": _ctdna_view(None if reading is None else reading.get("ctdna")),
                "kit": {
                    "id": kit.get("id"),
                    "version": kit.get("version"),
                    "placeholder": bool(kit.get("placeholder")),
                }
                if kit
                else None,
                "placeholder": bool(kit.get("placeholder"))
                or any("PLACEHOLDER" in n for n in notices(document, sample)),
                "caller": (sample.get("details") or {}).get("caller"),
            }
        )
    tool = document.get("tool") or {}
    return {
        "lang": lang,
        "catalog": LANGUAGES.get(lang, lang),  # the key of the knowledge file's texts
        "html_lang": lang,
        "pages": pages,
        "tool": f"{tool.get('name', 'esr1calls')} {tool.get('version', '')}".strip(),
        "schema": document.get("schema_version"),
        "time": run.get("utc_time"),
        "review": review,
    }


@cache
def _translations(lang: str) -> gettext.NullTranslations:
    folder = LANGUAGES.get(lang)
    if folder is None:
        raise Esr1CallsError(f"--lang {lang}: no such language; use one of {', '.join(LANGUAGES)}")
    catalog = read_bytes("reports", "locales", folder, "LC_MESSAGES", f"{DOMAIN}.mo")
    return gettext.GNUTranslations(io.BytesIO(catalog))


@cache
def _environment(lang: str) -> Any:
    import jinja2  # only when a page is rendered: start-up cost (docs/clinical.md)

    class PageContext(jinja2.runtime.Context):
        def call(__self, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
            """The page's ``_`` called straight: Jinja2 compiles every call in a template to
            ``context.call``, which first looks on the callable for what to pass it (the
            context, the environment), about 2,900 times on a 384-well plate's page. ``_`` takes
            none of them; the loop and block variables Jinja2 adds inside loops are dropped as
            it drops them. Anything else, and a StopIteration, go Jinja2's own way."""
            translate: Any = __self.environment.globals.get("_")
            if translate is not None and __obj is translate:
                kwargs.pop("_loop_vars", None)
                kwargs.pop("_block_vars", None)
                try:
                    return translate(*args, **kwargs)
                except StopIteration:
                    pass
            return super().call(__obj, *args, **kwargs)

    class PageEnvironment(jinja2.Environment):
        context_class = PageContext

        def getattr(self, obj: Any, attribute: str) -> Any:
            """``page.label`` on the view's dicts straight to the key. Jinja2 tries the
            attribute first, which a dict's key is not, so each lookup raised and caught an
            AttributeError: 7,000 lookups on a 384-well plate's page. A name a dict has as an
            attribute (``items``) still goes that way, so the result is always Jinja2's."""
            if type(obj) is dict and attribute not in _DICT_ATTRIBUTES and attribute in obj:
                return obj[attribute]
            return super().getattr(obj, attribute)

    environment = PageEnvironment(
        loader=jinja2.FunctionLoader(lambda name: read_text("reports", "templates", name)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        bytecode_cache=_bytecode_cache(jinja2),
    )
    environment.filters["code"] = _code
    environment.filters["strong"] = _strong
    environment.install_gettext_translations(_translations(lang), newstyle=True)  # type: ignore[attr-defined]
    environment.globals["_"] = _page_gettext(_translations(lang))
    return environment


def _page_gettext(translations: gettext.NullTranslations) -> Any:
    """The template's ``_``: what jinja2's newstyle gettext does (translate, mark safe since
    autoescape is on, then always format with ``%``, so ``%%`` is one percent sign), each message
    translated once. Jinja2's own ``_`` goes through two context calls per string: a page calls it
    about 40 times per sample, which made it the largest part of a plate's clinical.html."""
    from markupsafe import Markup

    messages: dict[str, Any] = {}
    constants: dict[str, Any] = {}  # a message without variables, formatted once

    def translate(message: str, /, **variables: Any) -> Any:
        if not variables:
            constant = constants.get(message)
            if constant is None:
                constant = constants[message] = Markup(translations.gettext(message)) % {}
            return constant
        translated = messages.get(message)
        if translated is None:
            translated = messages[message] = Markup(translations.gettext(message))
        return translated % variables

    return translate


def _bytecode_cache(jinja2: Any) -> Any:
    """The compiled template kept between runs (compiling it costs about 0.1 s, every run):
    $XDG_CACHE_HOME/esr1calls/templates, else ~/.cache/...; none when it cannot be made (no
    home, a read-only one). Jinja2 keys it by the template's checksum and writes it atomically."""
    from .._user_cache import user_cache_folder

    folder = user_cache_folder("templates")
    if folder is None:
        return None
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    if not os.access(folder, os.W_OK):
        return None
    return jinja2.FileSystemBytecodeCache(str(folder))


def _code(value: Any) -> Any:
    """An identifier (hotspot, id, file, version) as <code>: it stays as written in any language."""
    return _element("code", "" if value is None else value)


def _strong(value: Any) -> Any:
    return _element("strong", value)


def _element(tag: str, value: Any) -> Any:
    """``Markup("<tag>{}</tag>").format(value)``; a plain string or whole number (almost every
    value a page shows) escaped directly: Markup.format goes through string.Formatter, 525 calls
    and 2 ms of a 384-well plate's page."""
    from markupsafe import Markup, escape

    if type(value) is str or type(value) is int:
        return Markup(f"<{tag}>{escape(value)}</{tag}>")
    return Markup(f"<{tag}>{{}}</{tag}>").format(value)


def render_clinical(
    document: Mapping[str, Any], lang: str = "en", review: Mapping[str, Any] | None = None
) -> str:
    """The whole clinical.html for a calls.json document in ``lang`` (``en`` or ``zh-CN``);
    ``review`` is what the review record says (``audit.review_summary``), None when unsigned."""
    _translations(lang)  # an unknown language is refused before jinja2 loads
    template = _environment(lang).get_template("clinical.html.j2")
    text: str = template.render(view=clinical_view(document, lang, review))
    return text


def check_pdf_renderer() -> str:
    """The headless browser --pdf uses; a one-line error when none is installed."""
    for name in _BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    raise Esr1CallsError(
        "--pdf: no headless Chromium found (looked for chromium, chromium-browser, "
        "google-chrome); install it (make system-deps) or leave out --pdf: clinical.html "
        "prints the same pages from any browser"
    )


def render_pdf(html: Path, pdf: Path, browser: str | None = None) -> None:
    """Print ``html`` to ``pdf`` with headless Chromium, through a temporary file and a rename."""
    import subprocess  # only to print: start-up cost of every page otherwise

    browser = browser or check_pdf_renderer()
    with tempfile.TemporaryDirectory(prefix="esr1calls-pdf-") as profile:
        partial = pdf.with_name(f".{pdf.name}.tmp")
        command: Sequence[str] = (
            browser, "--headless=new", "--no-sandbox", "--disable-gpu",
            f"--user-data-dir={profile}", "--no-pdf-header-footer",
            f"--print-to-pdf={partial}", html.resolve().as_uri(),
        )  # fmt: skip
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        except (OSError, subprocess.TimeoutExpired) as exc:
            partial.unlink(missing_ok=True)
            raise Esr1CallsError(f"{pdf}: Chromium could not print {html.name} ({exc})") from exc
        if done.returncode != 0 or not partial.is_file() or partial.stat().st_size == 0:
            partial.unlink(missing_ok=True)
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise Esr1CallsError(f"{pdf}: Chromium could not print {html.name} ({last})")
        partial.replace(pdf)


def render_files(document: Mapping[str, Any], options: ReportOptions) -> dict[str, str]:
    """clinical.html in ``options.lang``, as the registry of formats renders it."""
    return {CLINICAL_HTML: render_clinical(document, options.lang)}
