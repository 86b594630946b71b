"""NGS: VCF/BCF and BAM/CRAM files into calls by the depth-aware rule (docs/ngs.md).

The modules: ``run.py`` (:func:`call_ngs`, :func:`call_vcf` and :func:`make_settings`, the
run's settings built once from its options), ``options.py`` (every default and ``ReadOptions``,
pysam-free so the command line shows them at start-up), ``rule.py`` (the settings and the rule
per hotspot, pure: numbers in, a Call out), ``callers.py`` (everything known about each VCF
caller: detection, counts, FILTER values, what its silence means), ``vcf_read.py`` (reading a
VCF/BCF for the hotspots, through ``files.py``: formats, the index), ``vcf_match.py``
(codon-effect matching and phase), ``vcf_record.py`` (the values they share), ``reads.py``
(counting BAM/CRAM reads per codon), ``inputs.py`` (reading every input and grouping them into
samples), ``concordance.py`` (a BAM and a VCF of one sample held against each other),
``pon.py`` (the panel of normals), ``ctdna.py`` (a negative's ctDNA-fraction proxy from the
VCF's other variants) and ``htslib.py`` (htslib's own messages kept off the
terminal).

The names below load on first use: they load pysam, and a command that does not read NGS files
starts without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_names

if TYPE_CHECKING:
    from .rule import NgsSettings
    from .run import call_ngs, call_vcf, make_settings

__getattr__ = lazy_names(
    __name__,
    {
        "NgsSettings": "rule",
        "call_ngs": "run",
        "call_vcf": "run",
        "make_settings": "run",
    },
)

__all__ = ["NgsSettings", "call_ngs", "call_vcf", "make_settings"]
