"""The NGS options and their defaults: every number the rule and the read counting use unless told
otherwise, and :class:`ReadOptions`, how BAM/CRAM reads are counted.

The command line shows these defaults (``esr1calls ngs --help``) and the library uses them: they
live here once. Nothing here loads pysam, so the CLI reads them at start-up. The run's settings,
:class:`~esr1calls.ngs.rule.NgsSettings`, are built once from the options at the edge (the
command or a batch job) with :func:`esr1calls.ngs.make_settings`, and carry the ReadOptions; the
UMI choice is ReadOptions' ``umi``, which the settings read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from ..defaults import DEFAULT_MIN_ALLELE_FRACTION, DEFAULT_REQUIRED_POWER
from ..errors import ConfigError

__all__ = [
    "DEFAULT_ALPHA",
    "DEFAULT_K_MIN",
    "DEFAULT_MIN_ALLELE_FRACTION",
    "DEFAULT_MIN_BASE_QUALITY",
    "DEFAULT_MIN_FAMILY_SIZE",
    "DEFAULT_MIN_MAPPING_QUALITY",
    "HAPLOID_GENOME_PG",
    "PON_READ_SETTINGS",
    "READ_BACKGROUND_ERROR",
    "REQUIRED_POWER",
    "UMI_BACKGROUND_ERROR",
    "UNIT_FRAGMENTS",
    "UNIT_MOLECULES",
    "ReadOptions",
    "check_read_thresholds",
]

# The rule (docs/ngs.md, "The rule"): the false-positive budget per hotspot, the fewest alt
# observations ever called, the power a NOT_DETECTED needs, the background error per read
# (fragment) and per UMI molecule.
DEFAULT_ALPHA = 1e-3
DEFAULT_K_MIN = 3
REQUIRED_POWER = DEFAULT_REQUIRED_POWER
READ_BACKGROUND_ERROR = 5e-4
UMI_BACKGROUND_ERROR = 1e-4

# Counting reads (docs/ngs.md, "From the reads"): the base and mapping quality floors, the
# smallest UMI family.
DEFAULT_MIN_BASE_QUALITY = 20
DEFAULT_MIN_MAPPING_QUALITY = 20
DEFAULT_MIN_FAMILY_SIZE = 1

UNIT_FRAGMENTS = "fragments"
UNIT_MOLECULES = "molecules"

# A haploid human genome weighs about 3.3 pg (3.1-3.2 Gbp at ~1.02 pg per Gbp; Piovesan et al.
# 2019, BMC Res Notes 12:106: a diploid genome is 6.41 pg in men, 6.51 pg in women), so 1 ng
# of DNA holds about 303 copies of each locus.
HAPLOID_GENOME_PG = 3.3


# The counting settings a panel of normals must share with the runs that use it: a background
# measured with other floors or family sizes is the background of another assay.
PON_READ_SETTINGS = ("min_base_quality", "min_mapping_quality", "min_family_size")


@dataclass(frozen=True)
class ReadOptions:
    """How reads are counted (the ``ngs`` and ``pon build`` options), validated on creation."""

    reference: Path | None = None  # the FASTA a CRAM was written with
    min_base_quality: int = DEFAULT_MIN_BASE_QUALITY
    min_mapping_quality: int = DEFAULT_MIN_MAPPING_QUALITY
    umi: bool = False
    min_family_size: int = DEFAULT_MIN_FAMILY_SIZE
    include_unlabelled_read_groups: bool = False
    reads_are_molecules: bool = False  # --reads-are-molecules
    input_ng: float | None = None  # --input-ng: the DNA put into the library
    input_copies: float | None = None  # --input-copies: the genome copies put into it

    def __post_init__(self) -> None:
        check_read_thresholds(self.min_base_quality, self.min_mapping_quality, self.min_family_size)
        _check_duplicate_options(self)
        if self.min_family_size != DEFAULT_MIN_FAMILY_SIZE and not self.umi:
            raise ConfigError(
                f"--min-family-size {self.min_family_size} needs --umi: family sizes exist only "
                "when reads are grouped into UMI molecules"
            )

    @property
    def unit(self) -> str:
        return UNIT_MOLECULES if self.umi else UNIT_FRAGMENTS

    @property
    def genome_copies(self) -> float | None:
        """The haploid genome copies put into the library (--input-copies, or --input-ng at
        ``HAPLOID_GENOME_PG``), which bound the molecules at any locus; None if not given."""
        if self.input_copies is not None:
            return self.input_copies
        if self.input_ng is not None:
            return self.input_ng * 1000.0 / HAPLOID_GENOME_PG
        return None

    def pon_settings(self) -> dict[str, str]:
        """The settings a panel of normals records and must match (``PON_READ_SETTINGS``)."""
        return {
            "min_base_quality": str(self.min_base_quality),
            "min_mapping_quality": str(self.min_mapping_quality),
            "min_family_size": str(self.min_family_size),
        }


def _check_duplicate_options(options: ReadOptions) -> None:
    """The duplicate choices exclude each other: --umi, --reads-are-molecules, the DNA input."""
    if options.input_ng is not None and options.input_copies is not None:
        raise ConfigError("give --input-ng or --input-copies, not both: they say the same thing")
    given = "--input-ng" if options.input_ng is not None else "--input-copies"
    copies = options.genome_copies
    if copies is not None:
        value = options.input_ng if options.input_ng is not None else options.input_copies
        if not (math.isfinite(copies) and copies >= 1):
            raise ConfigError(
                f"{given} {value} is less than one haploid genome copy ({HAPLOID_GENOME_PG} pg); "
                "give the DNA put into the library (ng) or its genome copies"
            )
        if options.umi:
            raise ConfigError(
                f"{given} with --umi: UMI molecules are counted already; drop {given}"
            )
        if options.reads_are_molecules:
            raise ConfigError(
                f"--reads-are-molecules and {given} contradict each other (the reads are "
                "molecules, or they may be duplicates bounded by the input); give one"
            )
    if options.reads_are_molecules and options.umi:
        raise ConfigError(
            "--reads-are-molecules with --umi: --umi counts the molecules from their tags; "
            "drop --reads-are-molecules"
        )


def check_read_thresholds(min_base_quality: int, min_mapping_quality: int, min_family: int) -> None:
    if not 0 <= min_base_quality <= 93:
        raise ConfigError(f"min_base_quality must be 0-93 (Phred), got {min_base_quality}")
    if not 0 <= min_mapping_quality <= 254:
        raise ConfigError(f"min_mapping_quality must be 0-254, got {min_mapping_quality}")
    if min_family < 1:
        raise ConfigError(f"min_family_size must be at least 1, got {min_family}")
