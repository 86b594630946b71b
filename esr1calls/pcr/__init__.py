"""ARMS-PCR: plate exports, a plate map and a kit definition into calls.

``kit.py`` (the kit definition: mixes, channels, windows, cut-offs), ``platemap.py`` (the plate
map, and the map held against the export's own names), ``settings.py`` (``PcrSettings``: the
kit, panel, format and --trust-map, checked once by ``make_settings``), ``rules.py`` (the kit's
rules over one run, in the order docs/pcr.md gives them: pure, no file read), ``run.py``
(``call_pcr``: the exports, maps and kit read and wired to the rules). The readers of the
instrument exports are ``esr1calls.plates``.

``call_pcr`` is loaded on first use: it loads pandas and the plate readers, and the CLI reads a
kit at start-up without them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_names

if TYPE_CHECKING:
    from .rules import CtTable, interpret_run
    from .run import call_pcr, merge_plates
    from .settings import PcrSettings, make_settings

__getattr__ = lazy_names(
    __name__,
    {
        "CtTable": "rules",
        "interpret_run": "rules",
        "call_pcr": "run",
        "merge_plates": "run",
        "PcrSettings": "settings",
        "make_settings": "settings",
    },
)

__all__ = ["CtTable", "PcrSettings", "call_pcr", "interpret_run", "make_settings", "merge_plates"]
