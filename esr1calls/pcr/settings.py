"""The options of an ARMS-PCR run, built and checked once where they come in (the ``pcr``
command, a batch job, a Python caller) and passed down whole: the kit, the panel, the export
format and whether the plate map is trusted over the export's own names.

The defaults live here once; the CLI's help shows them from these constants, so this module
loads neither the kit nor the panel until ``make_settings`` is called.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ConfigError
from ..plates.format import PlateFormat

if TYPE_CHECKING:
    from ..hotspots import Panel
    from .kit import Kit

__all__ = [
    "AUTO_FORMAT",
    "DEFAULT_FORMAT",
    "DEFAULT_KIT",
    "DEFAULT_TRUST_MAP",
    "PcrSettings",
    "make_settings",
]

AUTO_FORMAT = "auto"  # each export's format is detected from its content
DEFAULT_FORMAT = AUTO_FORMAT
DEFAULT_KIT = "esr1-11-arms-example"  # kit.EXAMPLE_KIT, the bundled example (placeholder values)
DEFAULT_TRUST_MAP = False  # the plate map is checked against the export's names


@dataclass(frozen=True)
class PcrSettings:
    """What ``call_pcr`` needs besides the files: made by :func:`make_settings`, which checks
    each option once."""

    kit: Kit
    panel: Panel
    fmt: PlateFormat | None = None  # None: detected per export
    trust_map: bool = DEFAULT_TRUST_MAP


def make_settings(
    *,
    kit: Kit | str | Path | None = None,
    panel: Panel | None = None,
    fmt: PlateFormat | str | None = None,
    trust_map: bool = DEFAULT_TRUST_MAP,
) -> PcrSettings:
    """The settings of a run, each option checked once: ``kit`` a loaded kit, a kit TOML file or
    the bundled kit's id (None: the bundled kit); ``panel`` (None: the 11 hotspots); ``fmt`` a
    plate format or its id (None or ``"auto"``: detected from each export's content).

    >>> make_settings(fmt="cfx").fmt
    <PlateFormat.CFX: 'cfx'>
    >>> make_settings(fmt="auto").fmt is None, make_settings().kit.id
    (True, 'esr1-11-arms-example')
    """
    from ..hotspots import load_panel
    from .kit import Kit, load_kit

    loaded = kit if isinstance(kit, Kit) else load_kit(kit)
    return PcrSettings(
        kit=loaded,
        panel=panel if panel is not None else load_panel(),
        fmt=parse_format(fmt),
        trust_map=bool(trust_map),
    )


def parse_format(fmt: PlateFormat | str | None) -> PlateFormat | None:
    """A plate format from its id; None for ``auto`` (or None). An unknown id is a ConfigError
    that lists the formats.

    >>> parse_format("lightcycler480"), parse_format("auto")
    (<PlateFormat.LIGHTCYCLER480: 'lightcycler480'>, None)
    """
    if fmt is None or isinstance(fmt, PlateFormat):
        return fmt
    text = fmt.strip().lower()
    if text == AUTO_FORMAT:
        return None
    try:
        return PlateFormat(text)
    except ValueError:
        known = ", ".join(f.value for f in PlateFormat)
        raise ConfigError(
            f"unknown plate format {fmt!r}; use {AUTO_FORMAT} or one of: {known}"
        ) from None
