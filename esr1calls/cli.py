# Size: about 1,500 lines, one concept: the click layer, every command with its options and help
# (13 commands); each body only builds its settings and makes one library call.
"""The ``esr1calls`` command: parse options, make one library call, write the report.

Expected errors (Esr1CallsError) become one line on stderr and exit 1; usage errors exit 2;
Ctrl-C exits 130. ``--debug`` adds tracebacks. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import contextlib
import functools
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ._version import __version__
from .errors import AuditError, Esr1CallsError
from .ngs.options import (
    DEFAULT_MIN_ALLELE_FRACTION,
    DEFAULT_MIN_BASE_QUALITY,
    DEFAULT_MIN_FAMILY_SIZE,
    DEFAULT_MIN_MAPPING_QUALITY,
    HAPLOID_GENOME_PG,
    READ_BACKGROUND_ERROR,
    UMI_BACKGROUND_ERROR,
    ReadOptions,
)
from .pcr import settings as pcr_settings
from .plates.format import PlateFormat
from .reports.formats import CLINICAL_LANGUAGES, FORMATS, optional_formats

if TYPE_CHECKING:
    import logging

    from .batch import JobOutcome
    from .hotspots import Panel
    from .model import RunResult
    from .reports.options import ReportOptions

# Start-up (docs/architecture.md): every command's help is built when this module is imported,
# so at the top it imports only click and the light modules the help reads (defaults, formats,
# choices); each command imports its machinery in its body. Names the help shows whose owners
# load more than the help needs are repeated here, and tests/test_cli.py holds each to its owner.
DEFAULT_PANEL, EXTENDED_PANEL = "default", "extended"  # hotspots.DEFAULT_PANEL, EXTENDED_PANEL
PANEL_FORMATS = ("tsv", "bed", "vcf", "json")  # hotspots.PANEL_FORMATS
BUNDLED_KNOWLEDGE = "esr1-actionability"  # knowledge.BUNDLED_KNOWLEDGE
DECISIONS = ("approve", "reject")  # audit.Decision
AUDIT_TRAIL = "audit.jsonl"  # reports.write.AUDIT_TRAIL
EXAMPLE_ASSAYS = "esr1-dpcr-example"  # dpcr.assays.EXAMPLE_ASSAYS
BUILDS = ("GRCh37", "GRCh38")  # model.Build (the call model loads when a command runs)
SPECIMENS = ("plasma", "tissue", "other")  # interpretation.Specimen

F = TypeVar("F", bound=Callable[..., Any])

_ARGV_KEY = "esr1calls.argv"
_DEBUG_KEY = "esr1calls.debug"
_VERBOSE_KEY = "esr1calls.verbose"
_VERBOSITY_KEY = {"debug": _DEBUG_KEY, "verbose": _VERBOSE_KEY}
_FORMATS_KEY = "esr1calls.formats"  # the output options of reports/formats.py, for report_options
_CLINICAL_KEY = "esr1calls.clinical"  # --knowledge and --specimen (clinical_options)

# the path types of the options, made once (click looks each one's words up in gettext's
# catalogs, a cost every start would pay again for each option)
_EXISTING_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
_NEW_FILE = click.Path(dir_okay=False, path_type=Path)
_FOLDER = click.Path(file_okay=False, path_type=Path)


def _log() -> logging.Logger:
    import logging

    return logging.getLogger("esr1calls")


def _configure_logging(ctx: click.Context) -> None:
    """Log lines to the current stderr (which CliRunner swaps in tests), at the level -v and
    --debug ask for. Done when a command runs, not at start: --help loads no logging."""
    import logging

    class ClickEchoHandler(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            click.echo(self.format(record), err=True)

    if ctx.meta.get(_DEBUG_KEY):
        level = logging.DEBUG
    elif ctx.meta.get(_VERBOSE_KEY):
        level = logging.INFO
    else:
        level = logging.WARNING
    root = logging.getLogger("esr1calls")
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = ClickEchoHandler()
    handler.setFormatter(logging.Formatter("esr1calls: %(message)s"))
    root.addHandler(handler)
    root.setLevel(level)
    root.propagate = False


class Esr1Command(click.Command):
    """A command that sets up logging (quiet by default, -v, --debug) when it runs."""

    def invoke(self, ctx: click.Context) -> Any:
        _configure_logging(ctx)
        return super().invoke(ctx)


class Esr1Subgroup(click.Group):
    """A group of commands under esr1calls (pon, validate, kit, assays)."""

    command_class = Esr1Command


class Esr1Group(click.Group):
    """A click group that records the exact argv and maps errors to exit codes."""

    command_class = Esr1Command
    group_class = Esr1Subgroup

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        argv = list(args)
        ctx = super().make_context(info_name, args, parent=parent, **extra)
        ctx.meta[_ARGV_KEY] = argv
        return ctx

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except Esr1CallsError as exc:
            if ctx.meta.get(_DEBUG_KEY):
                import traceback

                click.echo(traceback.format_exc().rstrip(), err=True)
            click.echo(f"esr1calls: error: {exc}", err=True)
            ctx.exit(1)
        except KeyboardInterrupt:
            click.echo("esr1calls: interrupted", err=True)
            ctx.exit(130)


def _set_verbosity(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    """Quiet by default (an error is then the only line); -v shows progress, --debug everything
    (the command sets logging up when it runs: ``Esr1Command``)."""
    if value:
        ctx.meta[_VERBOSITY_KEY[param.name or ""]] = True


def debug_option(func: F) -> F:
    """--debug and -v/--verbose, accepted by every command."""
    func = click.option(
        "-v",
        "--verbose",
        is_flag=True,
        expose_value=False,
        is_eager=True,
        callback=_set_verbosity,
        help="Show progress: detected formats, runs, where the report went.",
    )(func)
    return click.option(
        "--debug",
        is_flag=True,
        expose_value=False,
        is_eager=True,
        callback=_set_verbosity,
        help="Show debug logging and tracebacks for expected errors.",
    )(func)


def _remember_format(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    """Keep an output option (a format's flag or one of its settings) for ``report_options``."""
    if param.name and value is not None and value is not False:
        ctx.meta.setdefault(_FORMATS_KEY, {})[param.name] = value


_OUTDIR_HELP = (
    "Directory for calls.json, calls.tsv, samples.tsv, report.html and clinical.html "
    "(created if needed)."
)


def output_options(func: F, *, outdir_help: str = _OUTDIR_HELP, required: bool = True) -> F:
    """-o/--outdir, --reproducible, every optional format's flag and settings (from the registry
    of formats, reports/formats.py) and --debug, shared by every command that writes a report.
    The format options reach ``report_options`` through the context, so commands need no extra
    parameters for them."""
    for report_format in reversed(optional_formats()):
        for setting in reversed(report_format.options):
            shape: dict[str, Any] = (
                {"is_flag": True} if setting.is_flag else {"metavar": setting.metavar}
            )
            func = click.option(
                setting.flag,
                setting.name,
                **shape,
                default=None,
                expose_value=False,
                callback=_remember_format,
                help=setting.help,
            )(func)
        func = click.option(
            report_format.flag or "",
            report_format.name,
            is_flag=True,
            expose_value=False,
            callback=_remember_format,
            help=report_format.help,
        )(func)
    func = click.option(
        "--pdf",
        is_flag=True,
        expose_value=False,
        callback=_remember_clinical,
        help="Also print clinical.html to clinical.pdf (needs headless Chromium).",
    )(func)
    func = click.option(
        "--lang",
        type=click.Choice(list(CLINICAL_LANGUAGES)),
        default="en",
        show_default=True,
        expose_value=False,
        callback=_remember_clinical,
        help="Language of clinical.html, the one-page-per-sample clinical report.",
    )(func)
    func = click.option(
        "--reproducible",
        is_flag=True,
        help="Omit the run time so identical inputs give byte-identical reports.",
    )(func)
    func = click.option(
        "-o",
        "--outdir",
        required=required,
        type=_FOLDER,
        help=outdir_help,
    )(func)
    return debug_option(func)


def _remember_clinical(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if param.name and value is not None:
        ctx.meta.setdefault(_CLINICAL_KEY, {})[param.name] = value


def clinical_options(specimen: bool = True) -> Callable[[F], F]:
    """--knowledge (and --specimen): what the clinical reading quotes and what the DNA came from.
    Like the format flags they reach ``report_options`` and ``specimen_given`` through the
    context."""

    def decorate(func: F) -> F:
        if specimen:
            func = click.option(
                "--specimen",
                type=click.Choice(SPECIMENS),
                default=None,
                expose_value=False,
                callback=_remember_clinical,
                help="What the DNA came from, for every sample without a specimen in the plate "
                "map or manifest; a blood NEGATIVE carries the guideline step, a tissue one the "
                "tissue reading (docs/clinical.md).",
            )(func)
        return click.option(
            "--knowledge",
            metavar="FILE",
            default=None,
            expose_value=False,
            callback=_remember_clinical,
            help="Actionability knowledge file (TOML) that reports quote for detected mutations "
            f"(default: the bundled {BUNDLED_KNOWLEDGE}).",
        )(func)

    return decorate


def specimen_given(ctx: click.Context) -> str | None:
    """--specimen, or None."""
    given: str | None = ctx.meta.get(_CLINICAL_KEY, {}).get("specimen")
    return given


def report_formats() -> dict[str, str]:
    """The optional report formats by name (the registry's, reports/formats.py), each with its
    flag on every command that writes a report, and their on/off settings (detected_only) and
    --pdf: what ``batch --plan`` lists for the workflow's ``outputs:`` switches."""
    switches: dict[str, str] = {}
    for report_format in optional_formats():
        switches[report_format.name] = report_format.flag or ""
        switches.update({o.name: o.flag for o in report_format.options if o.is_flag})
    return {**switches, "pdf": "--pdf"}


def panel_options(func: F) -> F:
    """--panel and --hotspots: which hotspots are reported."""
    func = click.option(
        "--hotspots",
        "hotspot_names",
        metavar="NAMES",
        default=None,
        help="Comma-separated subset of the panel, e.g. D538G,Y537S.",
    )(func)
    func = click.option(
        "--panel",
        "panel_spec",
        default=DEFAULT_PANEL,
        show_default=True,
        metavar="default|extended|FILE",
        help="The default 11 hotspots, the extended catalog, or a lab panel TSV.",
    )(func)
    return func


def panel_from_options(spec: str, hotspots: str | None) -> Panel:
    """The panel that --panel and --hotspots name (hotspots.panel_from_options)."""
    from .hotspots import panel_from_options as from_options

    return from_options(spec, hotspots)


def write_run(
    ctx: click.Context,
    result: RunResult,
    outdir: Path,
    reproducible: bool,
    patient: str | None = None,
    collected: str | None = None,
) -> RunResult:
    """--patient, --collected and --specimen recorded in the run, then its report written;
    the run as recorded."""
    from .interpretation import with_specimen
    from .patients import with_patient
    from .reports.write import write_reports

    result = with_specimen(with_patient(result, patient, collected), specimen_given(ctx))
    finish(write_reports(result, outdir, report_options(ctx, reproducible)))
    return result


def write_text(path: Path, text: str) -> None:
    """A file written atomically (reports.write.write_text_atomic)."""
    from .reports.write import write_text_atomic

    write_text_atomic(path, text)


def patient_options(func: F) -> F:
    """--patient and --collected: whose sample, and when (one sample only)."""
    func = click.option(
        "--collected",
        metavar="YYYY-MM-DD",
        default=None,
        help="The date the sample was collected, recorded in calls.json for esr1calls monitor "
        "(the run must hold one sample).",
    )(func)
    return click.option(
        "--patient",
        metavar="ID",
        default=None,
        help="The patient the sample came from, recorded in calls.json for esr1calls monitor "
        "(the run must hold one sample; a plate of several: the plate map's patient_id column).",
    )(func)


def build_option(required: bool, default: str | None = None) -> Callable[[F], F]:
    return click.option(
        "--build",
        type=click.Choice(BUILDS, case_sensitive=False),
        default=default,
        required=required,
        show_default=default is not None,
        help="Genome build of the coordinates.",
    )


def _exponent(value: float) -> str:
    """A small rate as people write it in help texts.

    >>> _exponent(5e-4), _exponent(1e-4)
    ('5e-4', '1e-4')
    """
    mantissa, _, power = f"{value:.0e}".partition("e")
    return f"{mantissa}e{int(power)}"


def read_counting_options(func: F) -> F:
    """--reference, --min-base-quality, --min-mapping-quality, --min-family-size,
    --include-unlabelled-read-groups, --reads-are-molecules: how BAM/CRAM reads are counted
    (``ngs`` and ``pon build``). Defaults are those of ``ngs/options.py``."""
    func = click.option(
        "--reads-are-molecules",
        is_flag=True,
        help="The reads are already molecules though no duplicate marking is recorded (e.g. a "
        "consensus BAM whose @PG lines were stripped); recorded in the report.",
    )(func)
    func = click.option(
        "--include-unlabelled-read-groups",
        is_flag=True,
        help="In a BAM/CRAM that names a sample, count read groups without SM (and reads "
        "without RG) as that sample's; without it they are left out. A notice names them.",
    )(func)
    func = click.option(
        "--min-family-size",
        type=int,
        default=DEFAULT_MIN_FAMILY_SIZE,
        show_default=True,
        help="With --umi: molecules from fewer raw reads are unusable.",
    )(func)
    func = click.option(
        "--min-mapping-quality",
        type=int,
        default=DEFAULT_MIN_MAPPING_QUALITY,
        show_default=True,
        help="BAM/CRAM records below this MAPQ are not counted.",
    )(func)
    func = click.option(
        "--min-base-quality",
        type=int,
        default=DEFAULT_MIN_BASE_QUALITY,
        show_default=True,
        help="Every base of a hotspot codon must reach this Phred score to count.",
    )(func)
    return click.option(
        "--reference",
        type=_EXISTING_FILE,
        default=None,
        metavar="FASTA",
        help="The indexed FASTA a CRAM was written with (needed for CRAM only).",
    )(func)


def report_options(
    ctx: click.Context, reproducible: bool, build: str | None = None
) -> ReportOptions:
    """The exact command, --reproducible, the optional formats with their settings (each
    setting checked here, before anything is read) and the build for positions."""
    from .knowledge import load_knowledge
    from .model import Build
    from .provenance import command_line
    from .reports.options import ReportOptions

    argv: Sequence[str] = ctx.meta.get(_ARGV_KEY, sys.argv[1:])
    given = ctx.meta.get(_FORMATS_KEY, {})
    clinical = ctx.meta.get(_CLINICAL_KEY, {})
    if clinical.get("knowledge") is not None:
        load_knowledge(clinical["knowledge"])  # a bad file is refused before any input is read
    formats, settings = set(), {}
    for report_format in optional_formats():
        if given.get(report_format.name):
            formats.add(report_format.name)
        for setting in report_format.options:
            value = given.get(setting.name)
            if value is None:
                continue
            checks = {report_format.name: setting.check, **setting.also_with}
            if not any(given.get(name) for name in checks):
                flags = " or ".join(FORMATS[name].flag or name for name in checks)
                raise click.UsageError(f"{setting.flag} goes with {flags}: give it with one")
            for name, check in checks.items():
                if check is None or setting.is_flag or not given.get(name):
                    continue
                try:
                    checked = check(value)
                except ValueError as exc:
                    raise click.BadParameter(str(exc), param_hint=setting.flag) from None
                value = checked if isinstance(checked, str) else value
            settings[setting.name] = value
    return ReportOptions(
        command=command_line(argv),
        reproducible=reproducible,
        formats=frozenset(formats),
        build=Build.parse(build) if build else None,
        settings=settings,
        knowledge=clinical.get("knowledge"),
        lang=clinical.get("lang", "en"),
        pdf=bool(clinical.get("pdf", False)),
    )


def finish(written: Sequence[Path]) -> None:
    """Tell the user where the report is (data goes to -o, this one line to stderr)."""
    if written:
        names = ", ".join(p.name for p in written)
        click.echo(f"esr1calls: report written to {written[0].parent}/ ({names})", err=True)


@click.group(cls=Esr1Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="esr1calls")
@debug_option
def cli() -> None:
    """Structured, auditable calls for the ESR1 ligand-binding-domain hotspots.

    Reads ARMS-PCR plate exports and NGS VCF/BAM files and reports DETECTED, NOT_DETECTED,
    INDETERMINATE or INVALID for each hotspot, at a reportable fraction (default 0.2 %;
    ngs --min-allele-fraction, or the PCR kit's reportable_fraction).
    Results are for review by qualified staff; esr1calls never signs out a result.
    """


@cli.command("hotspots")
@build_option(required=False, default="GRCh38")
@click.option("--format", "fmt", type=click.Choice(PANEL_FORMATS), default="tsv", show_default=True)
@click.option(
    "--chrom",
    type=click.Choice(["chr6", "6"]),
    default=None,
    help="Chromosome name (default: chr6 for GRCh38, 6 for GRCh37).",
)
@click.option(
    "-o",
    "--output",
    type=_NEW_FILE,
    default=None,
    help="Write to this file instead of standard output.",
)
@panel_options
@debug_option
def hotspots_command(
    build: str,
    fmt: str,
    chrom: str | None,
    output: Path | None,
    panel_spec: str,
    hotspot_names: str | None,
) -> None:
    """Export the hotspot panel for force-calling or region queries.

    \b
    Examples:
      esr1calls hotspots --build GRCh38 --format vcf -o esr1_hotspots.vcf   # Mutect2 --alleles
      esr1calls hotspots --build GRCh37 --format bed > esr1.bed             # bcftools view -R
    """
    from .hotspots import export_panel
    from .model import Build

    panel = panel_from_options(panel_spec, hotspot_names)
    text = export_panel(panel, Build.parse(build), fmt, chrom)
    if output is None:
        click.echo(text, nl=False)
    else:
        write_text(output, text)
        _log().info("panel written to %s", output)


@cli.command("pcr")
@click.argument("exports", nargs=-1, required=True, type=_EXISTING_FILE)
@click.option(
    "--plate-map",
    "plate_maps",
    multiple=True,
    required=True,
    type=_EXISTING_FILE,
    help="well,sample_id,role,mix[,replicate][,plate] CSV; one per run, or one with a "
    "plate column.",
)
@click.option(
    "--kit",
    default=None,
    metavar="FILE",
    help=f"Kit definition TOML (default: the bundled {pcr_settings.DEFAULT_KIT}, placeholder "
    "values).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice([pcr_settings.AUTO_FORMAT, *(f.value for f in PlateFormat)]),
    default=pcr_settings.DEFAULT_FORMAT,
    show_default=True,
    help=f"Export format; {pcr_settings.AUTO_FORMAT} detects it from the content.",
)
@click.option(
    "--trust-map",
    is_flag=True,
    default=pcr_settings.DEFAULT_TRUST_MAP,
    help="Keep the plate map's samples and mixes where the export's own sample or target "
    "names contradict them (the lab relabelled on purpose); the report lists each one. "
    "Without it such samples are INVALID MAP_EXPORT_MISMATCH.",
)
@patient_options
@panel_options
@clinical_options()
@output_options
@click.pass_context
def pcr_command(
    ctx: click.Context,
    exports: tuple[Path, ...],
    plate_maps: tuple[Path, ...],
    kit: str | None,
    fmt: str,
    trust_map: bool,
    patient: str | None,
    collected: str | None,
    panel_spec: str,
    hotspot_names: str | None,
    outdir: Path,
    reproducible: bool,
) -> None:
    """Call the ESR1 hotspots on ARMS-PCR plate exports.

    Example: esr1calls pcr run1.txt --plate-map run1_map.csv -o results
    """
    from .pcr.run import call_pcr  # loads pandas and the plate readers

    panel = panel_from_options(panel_spec, hotspot_names)
    settings = pcr_settings.make_settings(kit=kit, panel=panel, fmt=fmt, trust_map=trust_map)
    result = call_pcr(exports, plate_maps, settings)
    write_run(ctx, result, outdir, reproducible, patient, collected)


DPCR_FORMATS = ("quantasoft", "qxmanager", "qiacuity", "absoluteq")  # esr1calls.dpcr.READERS


@cli.command("dpcr")
@click.argument("exports", nargs=-1, required=True, type=_EXISTING_FILE)
@click.option(
    "--plate-map",
    "plate_maps",
    multiple=True,
    required=True,
    type=_EXISTING_FILE,
    help="well,sample_id,role,assay[,replicate][,plate][,plasma_ml,elution_ul,template_ul] CSV; "
    "one per export, or one with a plate column.",
)
@click.option(
    "--assays",
    default=None,
    metavar="FILE",
    help="Assay definition TOML (default: the bundled esr1-dpcr-example, placeholder values).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["auto", *DPCR_FORMATS]),
    default="auto",
    show_default=True,
    help="Export format; auto detects it from the content.",
)
@patient_options
@clinical_options()
@output_options
@click.pass_context
def dpcr_command(
    ctx: click.Context,
    exports: tuple[Path, ...],
    plate_maps: tuple[Path, ...],
    assays: str | None,
    fmt: str,
    patient: str | None,
    collected: str | None,
    outdir: Path,
    reproducible: bool,
) -> None:
    """Call the ESR1 hotspots on digital PCR exports (QuantaSoft, QX Manager, QIAcuity,
    Absolute Q) from their partition counts.

    Example: esr1calls dpcr run1.csv --plate-map run1_map.csv -o results
    """
    from .dpcr import call_dpcr  # loads the readers

    result = call_dpcr(exports, plate_maps, assays=assays, fmt=None if fmt == "auto" else fmt)
    write_run(ctx, result, outdir, reproducible, patient, collected)


_BATCH_OUTDIR_HELP = (
    "Directory for the cohort tables (samples.tsv, calls.tsv, batch_jobs.tsv, batch_errors.tsv) "
    "and one folder per job holding that job's report (calls.json, calls.tsv, samples.tsv, "
    "report.html and the optional formats); created if needed. Not with --plan."
)
# batch's options that stand for the single commands' (pcr: PCR_OPTIONS, ngs: NGS_OPTIONS):
# parameter name -> the option's key in a manifest's options column
_BATCH_WIDE = {
    "fmt": "format", "trust_map": "trust_map", "panel_spec": "panel", "hotspot_names": "hotspots",
    "build": "build", "umi": "umi", "pon": "pon", "min_allele_fraction": "min_allele_fraction",
    "background_error": "background_error", "reference": "reference",
    "min_base_quality": "min_base_quality", "min_mapping_quality": "min_mapping_quality",
    "min_family_size": "min_family_size",
    "include_unlabelled_read_groups": "include_unlabelled_read_groups",
    "reads_are_molecules": "reads_are_molecules", "assays": "assays",
}  # fmt: skip
BUNDLED_PANELS = (DEFAULT_PANEL, EXTENDED_PANEL)


def _default_workers() -> int:
    from .batch import default_workers

    return default_workers()


def _batch_wide(ctx: click.Context, given: dict[str, Any]) -> dict[str, str]:
    """The batch-wide options typed on the command line, as a manifest's options column holds
    them (flags "true", paths absolute: they are relative to here, not to a manifest)."""
    wide: dict[str, str] = {}
    for name, key in _BATCH_WIDE.items():
        if ctx.get_parameter_source(name) is not click.core.ParameterSource.COMMANDLINE:
            continue
        value = given[name]
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif (
            isinstance(value, Path)
            or (key == "panel" and value not in BUNDLED_PANELS)
            or (key == "assays" and value != EXAMPLE_ASSAYS)
        ):
            value = str(Path(value).absolute())
        wide[key] = str(value)
    return wide


@cli.command("batch")
@click.argument("source", metavar="MANIFEST_OR_DIR", type=click.Path(exists=True, path_type=Path))
@click.option(
    "-j",
    "--jobs",
    "workers",
    type=click.IntRange(1, 64),
    default=_default_workers,
    show_default="the processors, at most 4",
    help="Inputs processed in parallel.",
)
@click.option(
    "--plan",
    is_flag=True,
    help="Run nothing: print the jobs as JSON (each one's esr1calls command, the files it reads, "
    "or why it cannot run) and the report formats; the Snakemake workflow reads its sample "
    "sheet this way.",
)
@click.option(
    "--plate-map",
    "plate_maps",
    multiple=True,
    type=_EXISTING_FILE,
    help="Directory scan: the plate map of every plate (else <export>.platemap.csv or "
    "platemap.csv beside it).",
)
@click.option("--kit", default=None, metavar="FILE", help="PCR jobs: kit definition TOML.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice([f.value for f in PlateFormat]),
    default=None,
    help="PCR jobs: the export format (default: detected from the content).",
)
@click.option("--trust-map", is_flag=True, help="PCR jobs: as pcr --trust-map.")
@click.option("--assays", default=None, metavar="FILE", help="dPCR jobs: assay definition TOML.")
@build_option(required=False)
@click.option("--umi", is_flag=True, help="NGS jobs: count UMI molecules, as ngs --umi.")
@click.option("--pon", type=_EXISTING_FILE, default=None, help="NGS jobs: panel of normals TSV.")
@click.option(
    "--min-allele-fraction", type=float, default=None, help="NGS jobs: reportable fraction."
)
@click.option("--background-error", type=float, default=None, help="NGS jobs: as ngs.")
@read_counting_options
@clinical_options(specimen=False)
@click.option(
    "--samples",
    "sheet",
    type=_EXISTING_FILE,
    default=None,
    metavar="SHEET",
    help="Sample sheet: sample_id, patient_id, collected[, note] (tab or comma), a sample_id "
    "qualified by its job, JOB:S1; OUTDIR then gets monitor.json, monitor.tsv and "
    "timeline.html (as when the manifest or plate maps name patients).",
)
@panel_options
@functools.partial(output_options, outdir_help=_BATCH_OUTDIR_HELP, required=False)
@click.pass_context
def batch_command(
    ctx: click.Context,
    /,
    source: Path,
    workers: int,
    plan: bool,
    plate_maps: tuple[Path, ...],
    kit: str | None,
    sheet: Path | None,
    outdir: Path | None,
    reproducible: bool,
    **given: Any,
) -> None:
    """Run many PCR plates, dPCR runs and NGS samples; one bad input never stops the others.

    MANIFEST_OR_DIR is a manifest TSV (columns: id, type, inputs, plate_map, kit, sample, options,
    patient_id, collected; paths relative to it) or a directory scanned by content. Each job's
    report goes to OUTDIR/<job>/ (a failed job's earlier report is removed); cohort samples.tsv,
    calls.tsv, batch_jobs.tsv and batch_errors.tsv go to OUTDIR, and with patients (manifest,
    plate maps or --samples) the monitor outputs. Exit 1 if any failed, 130 on Ctrl-C.

    The single commands' options given here (--kit, --umi, --min-allele-fraction, ...) apply
    to every job of the type they belong to, as if typed on each job's command; a manifest
    row's own options column wins over them.

    \b
    Examples:
      esr1calls batch plates/ -o results
      esr1calls batch bams/ --umi --build GRCh38 -o results
      esr1calls batch manifest.tsv -o results --jobs 2
    """
    import json

    from .batch import plan_document, plan_jobs, run_batch, summarise, with_batch_options
    from .pcr.kit import EXAMPLE_KIT, load_kit

    # the batch-wide kit and panel are checked once here, not found bad by every job
    panel_from_options(given["panel_spec"], given["hotspot_names"])
    if kit is not None:
        load_kit(kit)
        kit = kit if kit == EXAMPLE_KIT else str(Path(kit).absolute())
    if given["assays"] is not None:
        from .dpcr.assays import load_assays

        load_assays(given["assays"])
    jobs, skipped = plan_jobs(source, plate_maps)
    jobs = with_batch_options(jobs, _batch_wide(ctx, given), kit)
    if plan and sheet is not None:
        raise click.UsageError(
            "--samples names patients for the monitor outputs a batch writes, and --plan "
            "writes nothing; give each job's patient_id and collected in the manifest (its "
            "command then carries them) or the plate maps' columns"
        )
    if plan:
        document = {**plan_document(jobs, skipped), "formats": report_formats()}
        click.echo(json.dumps(document, indent=1))
        return
    if outdir is None:
        raise click.UsageError("Missing option '-o' / '--outdir' (or give --plan).")
    options = report_options(ctx, reproducible)
    with _progress(len(jobs)) as advance:
        outcomes = run_batch(
            jobs, outdir, workers=workers, options=options, skipped=skipped, progress=advance
        )
    failed = [o for o in outcomes if o.state == "failed"]
    click.echo(f"esr1calls: batch: {summarise(outcomes)}; cohort tables in {outdir}/", err=True)
    for name, why in skipped:
        click.echo(f"esr1calls: warning: skipped {name}: {why}", err=True)
    for outcome in failed:
        _log().info("%s: %s", outcome.job_id, outcome.error)
    monitor_error = _monitor_batch(outcomes, outdir, sheet, options.command, reproducible)
    if failed:
        click.echo(
            f"esr1calls: error: {len(failed)} of {len(outcomes)} input(s) failed; see "
            f"{outdir / 'batch_errors.tsv'}",
            err=True,
        )
    if failed or monitor_error:
        ctx.exit(1)


def _monitor_batch(
    outcomes: Sequence[JobOutcome],
    outdir: Path,
    sheet: Path | None,
    command: str,
    reproducible: bool,
) -> bool:
    """The monitor outputs of a batch whose samples name patients; True when that failed (its
    error printed)."""
    from .batch import monitor_batch

    try:
        monitored = monitor_batch(
            outcomes, outdir, sheet=sheet, command=command, reproducible=reproducible
        )
    except Esr1CallsError as exc:
        click.echo(f"esr1calls: error: monitor: {exc}", err=True)
        return True
    if monitored is not None:
        for patient, flags in monitored.flagged:
            click.echo(f"{patient}\tFLAGGED\t{', '.join(flags)}")
        for notice in monitored.notices:
            click.echo(f"esr1calls: warning: {notice}", err=True)
        click.echo(
            f"esr1calls: monitor: {monitored.patients} patient(s), {monitored.timepoints} "
            f"timepoint(s), {len(monitored.flagged)} flagged; monitor.json, monitor.tsv and "
            f"timeline.html in {outdir}/",
            err=True,
        )
    return False


@contextlib.contextmanager
def _progress(total: int) -> Iterator[Callable[[JobOutcome], None]]:
    """A progress bar on a terminal; silent when stderr is not a TTY (logs, CI, Snakemake)."""
    if not sys.stderr.isatty() or total == 0:
        yield lambda outcome: None
        return
    with click.progressbar(length=total, label="esr1calls batch", file=sys.stderr) as bar:
        yield lambda outcome: bar.update(1)


@cli.group("kit")
def kit_group() -> None:
    """Show or validate ARMS-PCR kit definitions (TOML)."""


@kit_group.command("show")
@click.argument("kit", required=False, default=pcr_settings.DEFAULT_KIT)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@debug_option
def kit_show(kit: str, fmt: str) -> None:
    """Print a kit definition: mixes, windows, cut-offs and their sources.

    KIT is a kit TOML file or the bundled example's id (the default).
    """
    import json

    from .pcr.kit import describe_kit, load_kit

    loaded = load_kit(kit)
    if fmt == "json":
        fraction = loaded.reportable_fraction
        document = {
            "kit": loaded.describe(),
            "mixes": loaded.mixes,
            "reportable_fraction": {"value": fraction.value, "source": fraction.source},
            **loaded.thresholds(),
        }
        click.echo(json.dumps(document, indent=2))
    else:
        click.echo(describe_kit(loaded), nl=False)


@kit_group.command("validate")
@click.argument("kit_file", type=_EXISTING_FILE)
@debug_option
def kit_validate(kit_file: Path) -> None:
    """Check a kit definition; exit 1 with the first problem, naming the table and key."""
    from .pcr.kit import load_kit

    kit = load_kit(kit_file)
    placeholder = " (PLACEHOLDER values)" if kit.placeholder else ""
    click.echo(
        f"{kit_file.name}: valid kit {kit.id} {kit.version}, {len(kit.assays)} assays"
        f"{placeholder}, sha256 {kit.sha256}"
    )


@cli.group("assays")
def assays_group() -> None:
    """Show or validate digital PCR assay definitions (TOML)."""


@assays_group.command("show")
@click.argument("assays", required=False, default=EXAMPLE_ASSAYS)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@debug_option
def assays_show(assays: str, fmt: str) -> None:
    """Print an assay definition: assays, channels, targets, rules and their sources.

    ASSAYS is an assay TOML file or the bundled example's id (the default).
    """
    import json

    from .dpcr.assays import describe_assays, load_assays

    loaded = load_assays(assays)
    if fmt == "json":
        click.echo(json.dumps({"assay_set": loaded.describe(), **loaded.thresholds()}, indent=2))
    else:
        click.echo(describe_assays(loaded), nl=False)


@assays_group.command("validate")
@click.argument("assays_file", type=_EXISTING_FILE)
@debug_option
def assays_validate(assays_file: Path) -> None:
    """Check an assay definition; exit 1 with the first problem, naming the table and key."""
    from .dpcr.assays import load_assays

    loaded = load_assays(assays_file)
    placeholder = " (PLACEHOLDER values)" if loaded.placeholder else ""
    click.echo(
        f"{assays_file.name}: valid assay set {loaded.id} {loaded.version}, "
        f"{len(loaded.assays)} assays covering {len(loaded.hotspots)} hotspots{placeholder}, "
        f"sha256 {loaded.sha256}"
    )


@cli.command("report")
@click.argument(
    "calls_json",
    nargs=-1,
    required=True,
    type=_EXISTING_FILE,
)
@build_option(required=False)
@output_options
@click.pass_context
def report_command(
    ctx: click.Context,
    calls_json: tuple[Path, ...],
    build: str | None,
    outdir: Path,
    reproducible: bool,
) -> None:
    """Re-render earlier results, or merge several runs into one cohort report.

    Each CALLS_JSON (written by pcr, ngs, batch or report) is checked against the calls.json
    schema first. OUTDIR gets calls.json (every source run's provenance kept in run.sources),
    calls.tsv, samples.tsv, report.html and the optional formats. --build sets the genome
    build for positions of calls whose run recorded none (PCR); default GRCh38.

    \b
    Example:
      esr1calls report run1/calls.json run2/calls.json -o cohort --fhir --vcf
    """
    from .reports.merge import load_calls_json, merge_documents, summary_lines
    from .reports.write import write_document

    loaded = [load_calls_json(path) for path in calls_json]
    options = report_options(ctx, reproducible, build)
    document = merge_documents(loaded, options)
    written = write_document(document, outdir, options)
    click.echo("\n".join(summary_lines(document)))
    finish(written)


@cli.command("monitor")
@click.argument("calls_json", nargs=-1, required=True, type=_EXISTING_FILE)
@click.option(
    "--samples",
    "sheet",
    type=_EXISTING_FILE,
    default=None,
    metavar="SHEET",
    help="Sample sheet: sample_id, patient_id, collected[, note] (tab or comma); a sample_id "
    "may be qualified by its run folder, run:S1.",
)
@click.option(
    "-o",
    "--outdir",
    required=True,
    type=_FOLDER,
    help="Directory for monitor.json, monitor.tsv and timeline.html (created if needed).",
)
@click.option(
    "--reproducible",
    is_flag=True,
    help="Omit the run time so identical inputs give byte-identical reports.",
)
@debug_option
@click.pass_context
def monitor_command(
    ctx: click.Context,
    calls_json: tuple[Path, ...],
    sheet: Path | None,
    outdir: Path,
    reproducible: bool,
) -> None:
    """Follow each patient's hotspots over time: NEW, RISING, CLEARED...

    Each CALLS_JSON (pcr, ngs, batch job or report output) is checked against the schema and
    read one at a time. Patients and collection dates come from calls.json (plate map columns,
    --patient/--collected) or the --samples sheet. OUTDIR gets monitor.json, monitor.tsv and
    timeline.html; patients flagged for review are printed (a NEW or RISING hotspot at their
    latest timepoint).

    \b
    Example:
      esr1calls monitor runs/*/calls.json --samples samples.tsv -o monitoring
    """
    from .monitor_report import run_monitor  # loads the validator
    from .provenance import command_line

    argv: Sequence[str] = ctx.meta.get(_ARGV_KEY, sys.argv[1:])
    outcome = run_monitor(
        calls_json, outdir, command=command_line(argv), sheet=sheet, reproducible=reproducible
    )
    for patient, flags in outcome.flagged:
        click.echo(f"{patient}\tFLAGGED\t{', '.join(flags)}")
    for notice in outcome.notices:
        click.echo(f"esr1calls: warning: {notice}", err=True)
    click.echo(
        f"esr1calls: monitor: {outcome.patients} patient(s), {outcome.timepoints} timepoint(s), "
        f"{len(outcome.flagged)} flagged; written to {outdir}/ (monitor.json, monitor.tsv, "
        "timeline.html)",
        err=True,
    )


@cli.command("ngs")
@click.argument("inputs", nargs=-1, required=True, metavar="VCF_OR_BAM...", type=_EXISTING_FILE)
@click.option(
    "--sample",
    default=None,
    help="Tumour sample: the VCF column (default: ##tumor_sample, the caller's convention, or "
    "the only sample) and the BAM/CRAM read groups' SM (default: the only one).",
)
@build_option(required=False)
@click.option(
    "--umi",
    is_flag=True,
    help="Count UMI molecules (BAM/CRAM: MI or UG groups; VCF: depths are molecules): default "
    "background 1e-4, not 5e-4.",
)
@click.option(
    "--pon",
    type=_EXISTING_FILE,
    default=None,
    help="Panel of normals TSV (esr1calls pon build): per-hotspot background error.",
)
@click.option(
    "--min-allele-fraction",
    type=float,
    default=DEFAULT_MIN_ALLELE_FRACTION,
    show_default=True,
    help="Reportable fraction, as a fraction (0.002 = 0.2 %).",
)
@click.option(
    "--background-error",
    type=float,
    default=None,
    help="Background error for every hotspot without a PoN row (default "
    f"{_exponent(READ_BACKGROUND_ERROR)}; {_exponent(UMI_BACKGROUND_ERROR)} with --umi).",
)
@click.option(
    "--input-ng",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    metavar="NG",
    help=f"DNA put into the library, in ng ({HAPLOID_GENOME_PG:g} pg per haploid genome copy): "
    "caps n at the molecules it holds when duplicates were never marked (amplicon panels).",
)
@click.option(
    "--input-copies",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    metavar="N",
    help="Haploid genome copies put into the library; as --input-ng.",
)
@read_counting_options
@patient_options
@panel_options
@clinical_options()
@output_options
@click.pass_context
def ngs_command(
    ctx: click.Context,
    inputs: tuple[Path, ...],
    sample: str | None,
    build: str | None,
    umi: bool,
    pon: Path | None,
    min_allele_fraction: float,
    background_error: float | None,
    reference: Path | None,
    min_base_quality: int,
    min_mapping_quality: int,
    min_family_size: int,
    include_unlabelled_read_groups: bool,
    reads_are_molecules: bool,
    input_ng: float | None,
    input_copies: float | None,
    patient: str | None,
    collected: str | None,
    panel_spec: str,
    hotspot_names: str | None,
    outdir: Path,
    reproducible: bool,
) -> None:
    """Call the ESR1 hotspots in NGS VCF/BCF files and indexed BAM/CRAM files.

    Files are recognised by content. A BAM/CRAM and the VCF of the same sample are combined: the
    reads give the counts, the VCF its FILTER; where they disagree the call is INDETERMINATE.

    \b
    Example:
      esr1calls ngs tumour.vcf.gz -o results
      esr1calls ngs plasma.bam plasma.vcf.gz --umi --pon pon.tsv -o results
      esr1calls ngs tumour.cram --reference GRCh38.fa -o results
    """
    from .ngs import call_ngs, make_settings  # loads pysam

    panel = panel_from_options(panel_spec, hotspot_names)
    reads = ReadOptions(
        reference=reference, min_base_quality=min_base_quality,
        min_mapping_quality=min_mapping_quality, umi=umi, min_family_size=min_family_size,
        include_unlabelled_read_groups=include_unlabelled_read_groups,
        reads_are_molecules=reads_are_molecules, input_ng=input_ng, input_copies=input_copies,
    )  # fmt: skip
    settings = make_settings(
        panel, min_allele_fraction=min_allele_fraction, background_error=background_error,
        pon=pon, reads=reads,
    )  # fmt: skip
    result = call_ngs(inputs, panel=panel, settings=settings, sample=sample, build=build)
    result = write_run(ctx, result, outdir, reproducible, patient, collected)
    for report in result.samples:  # one line per sample on stdout: what a person reads first
        click.echo(f"{report.sample_id}\t{report.status.value}\t{report.summary}")


@cli.group("pon")
def pon_group() -> None:
    """Panel of normals: the background error of each hotspot, measured in normal samples."""


@pon_group.command("build")
@click.argument(
    "normals", nargs=-1, required=True, metavar="NORMAL.vcf|NORMAL.bam...", type=_EXISTING_FILE
)
@click.option(
    "-o",
    "--output",
    required=True,
    type=_NEW_FILE,
    help="The PoN TSV to write.",
)
@click.option("--umi", is_flag=True, help="The normals' depths count molecules (UMI consensus).")
@click.option(
    "--sample", default=None, help="Sample column (VCF) or read-group SM (BAM) in each normal."
)
@build_option(required=False)
@read_counting_options
@panel_options
@debug_option
def pon_build_command(
    normals: tuple[Path, ...],
    output: Path,
    umi: bool,
    sample: str | None,
    build: str | None,
    reference: Path | None,
    min_base_quality: int,
    min_mapping_quality: int,
    min_family_size: int,
    include_unlabelled_read_groups: bool,
    reads_are_molecules: bool,
    panel_spec: str,
    hotspot_names: str | None,
) -> None:
    """Estimate per-hotspot background error from normal VCFs, or from normal BAM/CRAMs.

    Normals are all VCF/BCF or all BAM/CRAM. From reads, the counting options are written into
    the PoN, and a run that counts differently refuses it.

    \b
    Example:
      esr1calls pon build normal1.vcf.gz normal2.vcf.gz -o pon.tsv
      esr1calls pon build normal*.bam --umi --min-family-size 3 -o pon.tsv
    """
    from .model import Build
    from .ngs.pon import NOTICE_PREFIX, build_pon  # loads pysam

    panel = panel_from_options(panel_spec, hotspot_names)
    reads = ReadOptions(
        reference=reference, min_base_quality=min_base_quality,
        min_mapping_quality=min_mapping_quality, umi=umi, min_family_size=min_family_size,
        include_unlabelled_read_groups=include_unlabelled_read_groups,
        reads_are_molecules=reads_are_molecules,
    )  # fmt: skip
    genome = Build.parse(build) if build else None
    text, _ = build_pon(normals, panel, sample=sample, build=genome, read_options=reads)
    write_text(output, text)
    for line in text.splitlines():
        if line.startswith(NOTICE_PREFIX):  # also in the PoN file, for whoever uses it
            click.echo(f"esr1calls: warning: {line.removeprefix(NOTICE_PREFIX)}", err=True)
    click.echo(
        f"esr1calls: panel of normals written to {output} ({len(normals)} normals)", err=True
    )


_SIGNED_FOLDER = click.Path(exists=True, file_okay=False, path_type=Path)


def key_file_option(func: F) -> F:
    """--key-file: the HMAC key of sign and verify."""
    return click.option(
        "--key-file",
        type=_EXISTING_FILE,
        default=None,
        metavar="FILE",
        help="HMAC key (at least 16 bytes, kept outside OUTDIR): each sign-off line carries an "
        "HMAC-SHA256 that cannot be forged without it. Without a key the record is "
        "tamper-evident only.",
    )(func)


@cli.command("sign")
@click.argument("outdir", metavar="OUTDIR", type=_SIGNED_FOLDER)
@click.option("--reviewer", required=True, metavar="NAME", help="Who reviewed the results.")
@click.option(
    "--decision",
    required=True,
    type=click.Choice(DECISIONS),
    help="approve: the results may be reported; reject: they must not be.",
)
@click.option("--comment", default=None, metavar="TEXT", help="A remark kept with the sign-off.")
@click.option(
    "--override",
    "overrides",
    multiple=True,
    metavar="SAMPLE:HOTSPOT=STATUS",
    help="Change one call (repeatable), e.g. S4:Y537C=NOT_DETECTED; calls.json is not edited, "
    "the override is kept in the review record and shown beside the original call.",
)
@click.option(
    "--reason",
    "reasons",
    multiple=True,
    metavar="TEXT",
    help="Why the call is changed: one for every --override, or one each in the same order.",
)
@key_file_option
@debug_option
def sign_command(
    outdir: Path,
    reviewer: str,
    decision: str,
    comment: str | None,
    overrides: tuple[str, ...],
    reasons: tuple[str, ...],
    key_file: Path | None,
) -> None:
    """Sign off reviewed results: append a line to OUTDIR/audit.jsonl and re-render report.html
    (and clinical.html, results.hl7, results_lis.csv where OUTDIR has them) to show it.

    The line holds the UTC time, reviewer, decision, comment, overrides, the sha256 of calls.json
    and of every report file, and the sha256 of the line before. Refused when the existing
    record does not verify.

    \b
    Example:
      esr1calls sign results --reviewer "A. Chen" --decision approve
      esr1calls sign results --reviewer "A. Chen" --decision approve \\
        --override S4:Y537C=NOT_DETECTED --reason "cross-reactivity confirmed by NGS"
    """
    from .audit import parse_overrides, read_key, sign

    requests = parse_overrides(overrides, reasons)
    key = read_key(key_file, outdir) if key_file else None
    entry = sign(
        outdir, reviewer=reviewer, decision=decision, comment=comment, overrides=requests, key=key
    )
    changed = f", {len(entry.overrides)} call(s) overridden" if entry.overrides else ""
    # the LIS files sign rendered again (those the folder has), so the user knows to send them
    lis = [name for f in ("hl7", "lis_csv") for name in FORMATS[f].files if name in entry.files]
    shown = (
        f"{', '.join(['report.html', *lis[:-1]])} and {lis[-1]} show it"
        if lis
        else ("report.html shows it")
    )
    click.echo(
        f"signed: sign-off {entry.number} in {outdir / AUDIT_TRAIL}: {entry.decision.value} by "
        f"{entry.reviewer} at {entry.time}{changed}; {shown}"
    )


@cli.command("verify")
@click.argument("outdir", metavar="OUTDIR", type=_SIGNED_FOLDER)
@key_file_option
@debug_option
def verify_command(outdir: Path, key_file: Path | None) -> None:
    """Check OUTDIR's review record: every hash, the chain and, with --key-file, every HMAC.

    Exit 0 with one line "verified: ..."; exit 1 naming the first broken link (an edited
    calls.json or report, a changed, deleted or reordered line) or an unsigned folder.
    """
    from .audit import read_key, verify

    verification = verify(outdir, read_key(key_file, outdir) if key_file else None)
    if verification.problem is not None:
        raise AuditError(verification.problem)
    if not verification.ok:
        raise AuditError(f"{outdir}: not signed (no {AUDIT_TRAIL}); sign it with esr1calls sign")
    click.echo(verification.summary())


def validation_output_options(func: F) -> F:
    """-o/--outdir and --reproducible of the validate commands (validation.json, .html)."""
    func = click.option(
        "--reproducible",
        is_flag=True,
        help="Omit the run time so identical inputs give byte-identical files.",
    )(func)
    func = click.option(
        "-o",
        "--outdir",
        required=True,
        type=_FOLDER,
        help="Directory for validation.json and validation.html (created if needed).",
    )(func)
    return debug_option(func)


@cli.group("validate")
def validate_group() -> None:
    """Assay validation: limits of blank and detection, a proposed kit, method concordance."""


@validate_group.command("lod")
@click.argument("calls_json", nargs=-1, required=True, metavar="CALLS_JSON...", type=_EXISTING_FILE)
@click.option(
    "--design",
    required=True,
    type=_EXISTING_FILE,
    help="sample_id,expected_fraction[,hotspot] sheet: 0 for a blank, fractions (0.002 = 0.2 %); "
    "an empty hotspot is every hotspot of the sample.",
)
@click.option(
    "--propose-kit",
    type=_NEW_FILE,
    default=None,
    metavar="OUT.toml",
    help="ARMS-PCR: write the kit the runs used with A, delta-Ct at 100 % and the cut-off "
    "replaced where the data give them, each with its source.",
)
@click.option(
    "--kit",
    default=None,
    metavar="FILE",
    help="The kit file the runs were called with, for --propose-kit (default: the bundled "
    f"{pcr_settings.DEFAULT_KIT}, or the path the runs recorded, when its sha256 matches).",
)
@validation_output_options
@click.pass_context
def validate_lod_command(
    ctx: click.Context,
    calls_json: tuple[Path, ...],
    design: Path,
    propose_kit: Path | None,
    kit: str | None,
    outdir: Path,
    reproducible: bool,
) -> None:
    """Limit of blank, hit rates and LoD95 (probit) per hotspot from a dilution series.

    \b
    Example:
      esr1calls validate lod run1/calls.json run2/calls.json --design design.csv \\
          --propose-kit kit-proposed.toml -o validation
    """
    from .report_validation import write_validation
    from .validate import lod_summary_lines, run_lod, write_kit

    command = report_options(ctx, reproducible).command
    result = run_lod(calls_json, design, command=command, reproducible=reproducible, kit=kit,
                     propose_kit=propose_kit)  # fmt: skip
    for notice in result.notices:
        click.echo(f"esr1calls: warning: {notice}", err=True)
    written = write_validation(result.document, outdir)
    if result.kit_text is not None and result.kit_path is not None:
        write_kit(result.kit_text, result.kit_path)
        click.echo(f"esr1calls: proposed kit written to {result.kit_path}", err=True)
    click.echo("\n".join(lod_summary_lines(result.document)))
    finish(written)
    if propose_kit is not None and result.kit_text is None:
        raise Esr1CallsError(
            f"no kit proposed: no assay has an amplification factor or a cut-off the data "
            f"support; {outdir / 'validation.json'} and validation.html say why (flags)"
        )


@validate_group.command("concordance")
@click.argument("tests", nargs=-1, required=True, metavar="TEST_JSON...", type=_EXISTING_FILE)
@click.option(
    "--reference",
    "references",
    multiple=True,
    required=True,
    type=_EXISTING_FILE,
    metavar="REF_JSON",
    help="calls.json of the reference method; repeat for several runs.",
)
@click.option(
    "--pairs",
    type=_EXISTING_FILE,
    default=None,
    metavar="SHEET",
    help="test_sample_id,reference_sample_id sheet, when the two methods name samples "
    "differently (default: matched by sample id).",
)
@validation_output_options
@click.pass_context
def validate_concordance_command(
    ctx: click.Context,
    tests: tuple[Path, ...],
    references: tuple[Path, ...],
    pairs: Path | None,
    outdir: Path,
    reproducible: bool,
) -> None:
    """PPA, NPA, OPA and kappa of a test method against a reference method, per hotspot.

    \b
    Example:
      esr1calls validate concordance pcr/calls.json --reference ngs/calls.json -o concordance
    """
    from .report_validation import write_validation
    from .validate import concordance_summary_lines, run_concordance

    command = report_options(ctx, reproducible).command
    document = run_concordance(tests, references, command=command, reproducible=reproducible,
                               pairs_path=pairs)  # fmt: skip
    for notice in document["run"]["notices"]:
        click.echo(f"esr1calls: warning: {notice}", err=True)
    written = write_validation(document, outdir)
    click.echo("\n".join(concordance_summary_lines(document)))
    finish(written)


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point."""
    cli.main(args=None if argv is None else list(argv), prog_name="esr1calls")


__all__ = ["cli", "main", "output_options", "panel_options"]
