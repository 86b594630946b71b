"""NGS: VCF/BCF and BAM/CRAM files into calls by the depth-aware rule (docs/ngs.md).

``rule.py`` (the settings and the rule per hotspot, pure), ``vcf.py`` (reading VCF/BCF: callers,
counts, filters, phase, the index), ``reads.py`` (counting BAM/CRAM reads per codon),
``inputs.py`` (reading every input and grouping them into samples), ``concordance.py`` (a BAM
and a VCF of one sample held against each other), ``pon.py`` (the panel of normals) and
``htslib.py`` (htslib's own messages kept off the terminal). Everything here loads pysam.
"""

from .rule import (
    CALLER_FILTERS,
    DEFAULT_ALPHA,
    DEFAULT_K_MIN,
    DEFAULT_MIN_ALLELE_FRACTION,
    READ_BACKGROUND_ERROR,
    REQUIRED_POWER,
    UMI_BACKGROUND_ERROR,
    Background,
    FilterKind,
    NgsSettings,
    call_hotspot,
    call_ngs,
    call_vcf,
    classify_filter,
    duplicate_notices,
    make_settings,
    percent,
    summarize_sample,
)

__all__ = [
    "CALLER_FILTERS",
    "DEFAULT_ALPHA",
    "DEFAULT_K_MIN",
    "DEFAULT_MIN_ALLELE_FRACTION",
    "READ_BACKGROUND_ERROR",
    "REQUIRED_POWER",
    "UMI_BACKGROUND_ERROR",
    "Background",
    "FilterKind",
    "NgsSettings",
    "call_hotspot",
    "call_ngs",
    "call_vcf",
    "classify_filter",
    "duplicate_notices",
    "make_settings",
    "percent",
    "summarize_sample",
]
