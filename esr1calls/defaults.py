"""The two numbers every part of a call shares, in a module that loads nothing else: the options'
help shows them at start-up, before any command has loaded the call model (``model`` gives them
too; docs/architecture.md, "Start-up")."""

from __future__ import annotations

DEFAULT_MIN_ALLELE_FRACTION = 0.002
"""The default reportable allele fraction (0.2 %): NGS ``--min-allele-fraction`` and a kit
without ``reportable_fraction``; always a fraction. Texts take the one in force from the run's
thresholds (:func:`esr1calls.model.reportable_fraction`), never this constant."""
DEFAULT_REQUIRED_POWER = 0.95
"""The probability with which NOT_DETECTED excludes the reportable fraction (lod95's 95 %)."""

__all__ = ["DEFAULT_MIN_ALLELE_FRACTION", "DEFAULT_REQUIRED_POWER"]
