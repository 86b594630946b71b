"""What a report run writes and how: a ``ReportFormat`` describes one kind of output (its
option flag, help, file names and renderer), ``ReportOptions`` is the one validated object the
CLI or batch builds at the edge and hands down to every renderer.

The formats themselves are listed once, in ``reports/formats.py`` (``FORMATS``); the CLI makes
each command's output options from that list, so a new format is one module and one entry there
(docs/architecture.md, "A new report format").
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..model import Build

__all__ = ["FormatOption", "Renderer", "ReportFormat", "ReportOptions"]

# a renderer: a calls.json document and the options -> {file name: text}
Renderer = Callable[[Mapping[str, Any], "ReportOptions"], dict[str, str]]


@dataclass(frozen=True)
class FormatOption:
    """An option of one format beyond its flag (``--hl7-facility TEXT``): the value reaches the
    renderer as ``options.setting(name)``. ``check`` (optional) turns the text into an error
    naming the option before anything is read or written (it raises ConfigError)."""

    flag: str
    name: str
    help: str
    metavar: str = "TEXT"
    check: Callable[[str], object] | None = None
    is_flag: bool = False  # an on/off switch (``--detected-only``) rather than a value
    # other formats that read this option too, each with its own check (None: none):
    # --patient-id-system serves --fhir and --hl7
    also_with: Mapping[str, Callable[[str], object] | None] = field(default_factory=dict)


@dataclass(frozen=True)
class ReportFormat:
    """One kind of output. ``flag`` is its command-line switch (None: always written);
    ``files`` the names it writes in OUTDIR, owned by its renderer module; ``module`` names that
    module (in esr1calls.reports), whose ``render_files`` turns a calls.json document into those
    files (name -> text), in memory. The module is imported when the format is rendered."""

    name: str
    flag: str | None
    help: str
    files: tuple[str, ...]
    module: str
    options: tuple[FormatOption, ...] = ()

    @property
    def optional(self) -> bool:
        return self.flag is not None

    @property
    def renderer(self) -> Renderer:
        """The module's ``render_files`` (the module is imported now, if it was not)."""
        render: Renderer = importlib.import_module(f"{__package__}.{self.module}").render_files
        return render

    def render(self, document: Mapping[str, Any], options: ReportOptions) -> dict[str, str]:
        """This format's files rendered from ``document``: name -> text."""
        return self.renderer(document, options)


@dataclass(frozen=True)
class ReportOptions:
    """How the report is stamped and which optional formats are written.

    ``formats`` holds the names of the optional formats asked for (``FORMATS`` keys: "multiqc",
    "fhir", ...); calls.json, the TSVs and report.html are always written. ``build`` is the
    genome build for positions of calls whose run recorded none (PCR); None means "not given":
    GRCh38, or the build the NGS runs recorded. ``settings`` holds the formats' own options by
    name (``FormatOption.name``), as given.
    """

    command: str
    reproducible: bool = False
    formats: frozenset[str] = frozenset()
    build: Build | None = None
    settings: Mapping[str, str | bool] = field(default_factory=dict)
    knowledge: str | None = None  # --knowledge FILE; None: the bundled file
    lang: str = "en"  # --lang: the language of clinical.html (en or zh-CN)
    pdf: bool = False  # --pdf: clinical.pdf too, printed by headless Chromium

    def setting(self, name: str) -> str | None:
        """A format option's value, None when not given."""
        value = self.settings.get(name)
        return value if isinstance(value, str) else None

    def flag(self, name: str) -> bool:
        """Whether a format's on/off option (``FormatOption.is_flag``) was given."""
        return self.settings.get(name) is True

    def fingerprint(self) -> str:
        """Everything here but the command line, as stable text (the same in every process:
        batch compares it between runs to know a job's report is current)."""
        import json  # here: the registry, and so every command's --help, imports this module

        return json.dumps(
            {
                "reproducible": self.reproducible,
                "formats": sorted(self.formats),
                "build": self.build.value if self.build else None,
                "settings": dict(sorted(self.settings.items())),
                "knowledge": self.knowledge,
                "lang": self.lang,
                "pdf": self.pdf,
            },
            sort_keys=True,
        )
