"""The ``esr1calls`` command: parse options, make one library call, write the report.

Expected errors (Esr1CallsError) become one line on stderr and exit 1; usage errors exit 2;
Ctrl-C exits 130. ``--debug`` adds tracebacks. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from ._version import __version__
from .errors import Esr1CallsError
from .hotspots import DEFAULT_PANEL, PANEL_FORMATS, Panel, export_panel, load_panel
from .model import Build
from .ngs import DEFAULT_MIN_ALLELE_FRACTION, call_vcfs, make_settings
from .pon import build_pon
from .provenance import command_line
from .report import ReportOptions, write_reports, write_text_atomic

F = TypeVar("F", bound=Callable[..., Any])

_ARGV_KEY = "esr1calls.argv"
_DEBUG_KEY = "esr1calls.debug"
log = logging.getLogger("esr1calls")


class _ClickEchoHandler(logging.Handler):
    """Send log lines to the current stderr (which CliRunner swaps in tests)."""

    def emit(self, record: logging.LogRecord) -> None:
        click.echo(self.format(record), err=True)


def _configure_logging(debug: bool) -> None:
    root = logging.getLogger("esr1calls")
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = _ClickEchoHandler()
    handler.setFormatter(logging.Formatter("esr1calls: %(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    root.propagate = False


class Esr1Group(click.Group):
    """A click group that records the exact argv and maps errors to exit codes."""

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
                click.echo(traceback.format_exc().rstrip(), err=True)
            click.echo(f"esr1calls: error: {exc}", err=True)
            ctx.exit(1)
        except KeyboardInterrupt:
            click.echo("esr1calls: interrupted", err=True)
            ctx.exit(130)


def _set_debug(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    ctx.meta[_DEBUG_KEY] = bool(value) or ctx.meta.get(_DEBUG_KEY, False)
    _configure_logging(ctx.meta[_DEBUG_KEY])


def debug_option(func: F) -> F:
    return click.option(
        "--debug",
        is_flag=True,
        expose_value=False,
        is_eager=True,
        callback=_set_debug,
        help="Show debug logging and tracebacks for expected errors.",
    )(func)


def output_options(func: F) -> F:
    """-o/--outdir, --reproducible and --debug, shared by every command that writes a report."""
    func = click.option(
        "--reproducible",
        is_flag=True,
        help="Omit the run time so identical inputs give byte-identical reports.",
    )(func)
    func = click.option(
        "-o",
        "--outdir",
        required=True,
        type=click.Path(file_okay=False, path_type=Path),
        help="Directory for calls.json, calls.tsv, samples.tsv (created if needed).",
    )(func)
    return debug_option(func)


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


def build_option(required: bool, default: str | None = None) -> Callable[[F], F]:
    return click.option(
        "--build",
        type=click.Choice([b.value for b in Build], case_sensitive=False),
        default=default,
        required=required,
        show_default=default is not None,
        help="Genome build of the coordinates.",
    )


def resolve_panel(panel_spec: str, hotspot_names: str | None) -> Panel:
    names = hotspot_names.split(",") if hotspot_names else None
    return load_panel(panel_spec, names)


def report_options(ctx: click.Context, reproducible: bool) -> ReportOptions:
    argv: Sequence[str] = ctx.meta.get(_ARGV_KEY, sys.argv[1:])
    return ReportOptions(command=command_line(argv), reproducible=reproducible)


def finish(written: Sequence[Path]) -> None:
    """Tell the user where the report is (data to -o, messages to stderr)."""
    if written:
        log.info(
            "report written to %s/ (%s)", written[0].parent, ", ".join(p.name for p in written)
        )


@click.group(cls=Esr1Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="esr1calls")
@debug_option
def cli() -> None:
    """Structured, auditable calls for the ESR1 ligand-binding-domain hotspots.

    Reads ARMS-PCR plate exports and NGS VCF/BAM files and reports DETECTED, NOT_DETECTED,
    INDETERMINATE or INVALID for each hotspot, at the 0.2 % reportable fraction.
    Results are for review by qualified staff; esr1calls never signs out a result.
    """


@cli.command("hotspots")
@build_option(required=False, default=Build.GRCH38.value)
@click.option("--format", "fmt", type=click.Choice(PANEL_FORMATS), default="tsv", show_default=True)
@click.option("--chrom", type=click.Choice(["chr6", "6"]), default=None,
              help="Chromosome name (default: chr6 for GRCh38, 6 for GRCh37).")  # fmt: skip
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to this file instead of standard output.")  # fmt: skip
@panel_options
@debug_option
def hotspots_command(
    build: str, fmt: str, chrom: str | None, output: Path | None, panel_spec: str,
    hotspot_names: str | None,
) -> None:  # fmt: skip
    """Export the hotspot panel for force-calling or region queries.

    \b
    Examples:
      esr1calls hotspots --build GRCh38 --format vcf -o esr1_hotspots.vcf   # Mutect2 --alleles
      esr1calls hotspots --build GRCh37 --format bed > esr1.bed             # bcftools view -R
    """
    panel = resolve_panel(panel_spec, hotspot_names)
    text = export_panel(panel, Build.parse(build), fmt, chrom)
    if output is None:
        click.echo(text, nl=False)
    else:
        write_text_atomic(output, text)
        log.info("panel written to %s", output)


_EXISTING_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


@cli.command("ngs")
@click.argument("inputs", nargs=-1, required=True, metavar="VCF...", type=_EXISTING_FILE)
@click.option("--sample", default=None,
              help="Tumour sample column (default: ##tumor_sample, the caller's convention, "
                   "or the only sample).")  # fmt: skip
@build_option(required=False)
@click.option(
    "--umi",
    is_flag=True,
    help="Depths count molecules (UMI consensus): default background 1e-4, not 5e-4.",
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
@click.option("--background-error", type=float, default=None,
              help="Background error for every hotspot without a PoN row "
                   "(default 5e-4; 1e-4 with --umi).")  # fmt: skip
@panel_options
@output_options
@click.pass_context
def ngs_command(
    ctx: click.Context, inputs: tuple[Path, ...], sample: str | None, build: str | None,
    umi: bool, pon: Path | None, min_allele_fraction: float, background_error: float | None,
    panel_spec: str, hotspot_names: str | None, outdir: Path, reproducible: bool,
) -> None:  # fmt: skip
    """Call the ESR1 hotspots in NGS VCF/BCF files from any common caller.

    \b
    Example:
      esr1calls ngs tumour.vcf.gz -o results
      esr1calls ngs plasma.vcf.gz --umi --pon pon.tsv --build GRCh38 -o results
    """
    panel = resolve_panel(panel_spec, hotspot_names)
    settings, extra = make_settings(
        panel, min_allele_fraction=min_allele_fraction, background_error=background_error,
        umi=umi, pon=pon,
    )  # fmt: skip
    result = call_vcfs(
        inputs, panel=panel, settings=settings, sample=sample, build=build, extra_inputs=extra
    )
    finish(write_reports(result, outdir, report_options(ctx, reproducible)))
    for report in result.samples:  # one line per sample on stdout: what a person reads first
        click.echo(f"{report.sample_id}\t{report.status.value}\t{report.summary}")


@cli.group("pon")
def pon_group() -> None:
    """Panel of normals: the background error of each hotspot, measured in normal samples."""


@pon_group.command("build")
@click.argument("normals", nargs=-1, required=True, metavar="NORMAL.vcf...", type=_EXISTING_FILE)
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The PoN TSV to write.")  # fmt: skip
@click.option("--umi", is_flag=True, help="The normals' depths count molecules (UMI consensus).")
@click.option("--sample", default=None, help="Sample column to read in each normal VCF.")
@build_option(required=False)
@panel_options
@debug_option
def pon_build_command(
    normals: tuple[Path, ...], output: Path, umi: bool, sample: str | None, build: str | None,
    panel_spec: str, hotspot_names: str | None,
) -> None:  # fmt: skip
    """Estimate per-hotspot background error from normal VCFs.

    \b
    Example:
      esr1calls pon build normal1.vcf.gz normal2.vcf.gz -o pon.tsv
    """
    panel = resolve_panel(panel_spec, hotspot_names)
    text, _ = build_pon(normals, panel, umi=umi, sample=sample,
                        build=Build.parse(build) if build else None)  # fmt: skip
    write_text_atomic(output, text)
    log.info("panel of normals written to %s (%d normals)", output, len(normals))


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point."""
    _configure_logging(debug=False)
    cli.main(args=None if argv is None else list(argv), prog_name="esr1calls")


__all__ = ["cli", "main", "output_options", "panel_options"]
