"""What a sample's result means for the next clinical step (docs/clinical.md).

A negative is never only "not detected": in blood it may mean too little tumour DNA, so every
blood NEGATIVE carries the guideline step (re-test tissue by NGS from a recurrent or metastatic
lesion taken after endocrine therapy, not archival primary tissue; re-test blood at the next
progression) and a ctDNA status: for NGS the proxy of ``ngs/ctdna.py`` (``CTDNA_ADEQUATE`` or
``CTDNA_LOW_OR_UNKNOWN``), for PCR and dPCR ``CTDNA_UNKNOWN``. A tissue negative gets the tissue
reading. The codes here go into calls.json; reports word them in the reader's language.

Pure: plain values in, a plain document out, for a SampleReport and a calls.json entry alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from enum import StrEnum
from typing import Any

from .errors import ConfigError
from .model import RunResult

__all__ = [
    "CTDNA_ADEQUATE_FRACTION",
    "CtdnaStatus",
    "Reading",
    "Specimen",
    "interpret",
    "lowest_wild_type_copies",
    "parse_specimen",
    "with_specimen",
]

CTDNA_ADEQUATE_FRACTION = 0.01
"""A somatic non-ESR1 variant at this fraction or above shows enough tumour DNA in the sample
for a negative to mean something (DESIGN.md section 10: 1 %)."""


class Specimen(StrEnum):
    """What the DNA was extracted from (plate map/manifest column ``specimen``, ``--specimen``)."""

    PLASMA = "plasma"
    TISSUE = "tissue"
    OTHER = "other"


class CtdnaStatus(StrEnum):
    """How much a negative says about tumour DNA in the sample."""

    CTDNA_ADEQUATE = "CTDNA_ADEQUATE"  # another somatic variant at >= 1 %: tumour DNA was there
    CTDNA_LOW_OR_UNKNOWN = "CTDNA_LOW_OR_UNKNOWN"  # NGS: no such variant (low shedding or none)
    CTDNA_UNKNOWN = "CTDNA_UNKNOWN"  # PCR/dPCR: the assay sees only ESR1, it cannot tell


class Reading(StrEnum):
    """The reading of a NEGATIVE sample, by specimen."""

    BLOOD_NEGATIVE = "BLOOD_NEGATIVE"  # the guideline step applies
    TISSUE_NEGATIVE = "TISSUE_NEGATIVE"  # the tissue reading
    SPECIMEN_NOT_STATED_NEGATIVE = "SPECIMEN_NOT_STATED_NEGATIVE"  # read as blood, with a note
    OTHER_SPECIMEN_NEGATIVE = "OTHER_SPECIMEN_NEGATIVE"  # read as blood, with a note


GUIDELINE_STEP = (
    "NCCN: re-test tissue by NGS from a recurrent or metastatic lesion taken after endocrine "
    "therapy (not archival primary tissue); re-test blood at the next progression"
)
TISSUE_STEP = (
    "ESR1 mutations are acquired under endocrine therapy: tissue taken before it does not "
    "exclude them; re-test (blood or a new biopsy) at the next progression"
)


def parse_specimen(text: str, where: str) -> Specimen:
    """A specimen type from a map cell, a manifest cell or ``--specimen``.

    >>> parse_specimen(" Plasma ", "map.csv, line 2")
    <Specimen.PLASMA: 'plasma'>
    """
    try:
        return Specimen(text.strip().lower())
    except ValueError:
        raise ConfigError(
            f"{where}: specimen {text.strip()!r} is not one of "
            f"{', '.join(s.value for s in Specimen)}; write one of them (blood samples: plasma)"
        ) from None


def lowest_wild_type_copies(calls: Iterable[Mapping[str, Any]]) -> float | None:
    """dPCR: the lowest wild-type ESR1 copies per mL of plasma among a sample's calls' evidence
    (``copies_per_ml_plasma``), None when no call has it (no plasma volume in the plate map)."""
    found = [
        float(copies["wild_type"])
        for call in calls
        if isinstance(copies := (call.get("evidence") or {}).get("copies_per_ml_plasma"), Mapping)
        and isinstance(copies.get("wild_type"), int | float)
    ]
    return min(found) if found else None


def with_specimen(result: RunResult, specimen: str | None) -> RunResult:
    """The run with ``--specimen`` recorded on every sample; a plate map (or manifest) that
    names another specimen for a sample is a contradiction, refused."""
    if specimen is None:
        return result
    given = parse_specimen(specimen, "--specimen").value
    for sample in result.samples:
        if sample.specimen is not None and sample.specimen != given:
            raise ConfigError(
                f"--specimen {given} contradicts the plate map, which gives sample "
                f"{sample.sample_id} {sample.specimen!r}; correct one of them"
            )
    return replace(result, samples=tuple(replace(s, specimen=given) for s in result.samples))


def interpret(
    status: str,
    method: str,
    specimen: str | None,
    ctdna: Mapping[str, Any] | None,
    wild_type_copies_per_ml: float | None = None,
) -> dict[str, Any] | None:
    """The reading of a NEGATIVE sample (None for any other status).

    ``ctdna`` is the NGS proxy's document (``ngs/ctdna.py``), None when the method has none;
    ``wild_type_copies_per_ml`` is what dPCR measured (the lowest of its assays), shown beside
    its ``CTDNA_UNKNOWN``: wild-type copies say how much DNA was tested, not how much of it
    came from the tumour.

    >>> interpret("NEGATIVE", "PCR", "plasma", None)["ctdna"]["status"]
    'CTDNA_UNKNOWN'
    >>> interpret("NEGATIVE", "NGS", "tissue", None)["reading"]
    'TISSUE_NEGATIVE'
    >>> interpret("POSITIVE", "NGS", "plasma", None) is None
    True
    """
    if status != "NEGATIVE":
        return None
    if specimen == Specimen.TISSUE:
        return {"reading": Reading.TISSUE_NEGATIVE.value, "step": TISSUE_STEP}
    reading = {
        Specimen.PLASMA.value: Reading.BLOOD_NEGATIVE,
        Specimen.OTHER.value: Reading.OTHER_SPECIMEN_NEGATIVE,
    }.get(specimen or "", Reading.SPECIMEN_NOT_STATED_NEGATIVE)
    if method == "NGS" and ctdna is not None:
        found = dict(ctdna)
    elif method == "NGS":
        found = {
            "status": CtdnaStatus.CTDNA_LOW_OR_UNKNOWN.value,
            "why": "no VCF of the sample to look for other somatic variants in",
        }
    else:
        found = {
            "status": CtdnaStatus.CTDNA_UNKNOWN.value,
            "why": f"{method} tests only the ESR1 hotspots: it cannot tell how much tumour DNA "
            "the sample held",
        }
        if wild_type_copies_per_ml is not None:
            found["wild_type_copies_per_ml"] = wild_type_copies_per_ml
    return {"reading": reading.value, "step": GUIDELINE_STEP, "ctdna": found}
