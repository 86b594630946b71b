"""Numbers as people read them: fractions as percent text, one rule per kind of number.

Three kinds, three names, because they really differ in digits (docs/outputs.md, "Fractions"):

* ``exact_percent``: a setting or a limit someone typed (the reportable fraction, the required
  power): shown exactly, never rounded, so a 0.25 % setting never reads 0.3 %.
* ``percent``: a measured or derived fraction in reports and charts (an allele fraction, its
  interval, a lod95, an axis tick): three significant digits, "1.23 %".
* ``short_percent``: a fraction inside a reason or summary sentence of the NGS rule: two
  significant digits below 10 %, whole percent above, "0.41 %", "12 %".

Fractions stay fractions everywhere else (0.002, never 0.2); percent is only ever text. This module
sits at the bottom of the package: callers and reports both use it, and it imports nothing of it.
"""

from __future__ import annotations

from decimal import Decimal

__all__ = ["exact_percent", "percent", "short_percent"]


def exact_percent(fraction: float) -> str:
    """A setting (a fraction) as percent text that shows it exactly, never rounded: a 0.25 %
    setting must not read 0.3 %, nor 0.125 % read 0.13 %.

    >>> exact_percent(0.002), exact_percent(0.0025), exact_percent(0.00125), exact_percent(0.01)
    ('0.2 %', '0.25 %', '0.125 %', '1 %')
    >>> exact_percent(0.007), exact_percent(1e-05), exact_percent(0.95)
    ('0.7 %', '0.001 %', '95 %')
    """
    # repr is the shortest text that reads back as the same float: the setting as it was typed
    value = (Decimal(repr(float(fraction))) * 100).normalize()
    return f"{value:f} %"


def percent(fraction: float) -> str:
    """A measured fraction as percent text, three significant digits.

    >>> percent(0.002), percent(0.0123), percent(1.0), percent(0.0001), percent(0.0021273)
    ('0.2 %', '1.23 %', '100 %', '0.01 %', '0.213 %')
    """
    return f"{fraction * 100:.3g} %"


def short_percent(fraction: float) -> str:
    """A fraction in a sentence: two significant digits below 10 %, whole percent from 10 %.

    >>> short_percent(0.0041), short_percent(0.002), short_percent(0.1234), short_percent(1.0)
    ('0.41 %', '0.2 %', '12 %', '100 %')
    """
    value = 100 * fraction
    return f"{value:.0f} %" if value >= 10 else f"{value:.2g} %"
