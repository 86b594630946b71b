"""Matching a VCF's alleles to the hotspots by codon effect, with phase and the in-cis merge.

Each record ALT is projected onto the transcript, never string-compared:

* An allele matches a hotspot when its protein effect contains the hotspot's change, whatever
  its representation (MNV, padded, complex, not left-aligned); one allele written twice counts
  once. Other changes at the residue count toward depth only (OTHER_CHANGE_IN_CODON).
* Substitutions in one codon from different records are combined by codon effect when the
  caller phased them in cis (same PGT and PID, or same PS with phased GT on one haplotype): the
  combined allele gets min(x) and each part keeps its remainder. In trans they stay separate.
* Without phase the VCF cannot say which molecules carry both changes, so the count becomes a
  range: certain = x minus every unphased partner's count, possible = x (plus combinations that
  form the hotspot). Equal counts are reported as "probably one molecule", never as a call; the
  rule claims only a status that holds over the whole range (else PHASE_UNKNOWN). Indels are
  never combined.
* A hotspot allele that no record lists is read from the caller's silence
  (``callers.read_silence``).
* One allele listed by several records with other counts (two runs' records in one file) is
  also judged with each record alone (``each_record_alone``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from itertools import combinations
from pathlib import Path
from typing import Any

from ..errors import VcfFormatError
from ..hotspots import Hotspot
from ..model import AlleleCounts, Build, Dropped, Reason
from ..transcript import (
    OutsideCdsError,
    ProteinChange,
    RefMismatchError,
    effect_of_genomic_change,
    genomic_to_cds_edit,
    transcript,
    trim_allele,
)
from .callers import COUNT_RULES, AbsentAllele, Caller, caller_hotspot_id, read_silence
from .vcf_record import (
    HotspotEvidence,
    SiteCounts,
    VcfRecord,
    hotspot_window,
    is_sequence,
    substitutions,
)

__all__ = [
    "Allele",
    "alleles_of",
    "each_record_alone",
    "evidence_for",
    "listed_without_counts",
    "repeated_alleles",
    "repeated_dropped",
    "split_site_depths",
]


@dataclass(frozen=True)
class Allele:
    """One ALT of one record (or an in-cis combination), projected onto the transcript."""

    record: VcfRecord
    index: int  # ALT index; -1 for a Strelka base count that is not a listed ALT
    alt: str
    changes: tuple[ProteinChange, ...] | None  # None: effect unknown (not inside one exon)
    count: int | None
    depth: int | None
    fields: Mapping[str, str]
    strand: tuple[int, int] | None
    edits: Mapping[int, str]  # substitutions only: genomic position -> new base
    key: str  # equal for every representation of the same allele
    caller_fraction: float | None = None  # the caller's own AF: shown, never used
    caller_id: str = ""  # the hotspot ID the caller gave this ALT (Ion Torrent OID via OMAPALT)
    group: int = -1  # in-cis group id, for merged alleles and what is left of their parts
    parts: tuple[Allele, ...] = ()
    span_ref: str = ""  # reference bases under a merged allele
    phase: str = ""


def _allele_key(pos: int, ref: str, alt: str, build: Build) -> str:
    """The mutated coding sequence (hashed), so ATGG>A at 016 and GTGG>G at 019 are one allele."""
    edit = genomic_to_cds_edit(pos, ref, alt, build)
    if edit is None:
        first, changed_ref, changed_alt = trim_allele(pos, ref, alt)
        return f"g.{first}{changed_ref or '-'}>{changed_alt or '-'}"
    c_start, c_end, new_bases = edit
    cds = transcript().cds
    mutated = cds[: c_start - 1] + new_bases + cds[c_end:]
    return "cds:" + hashlib.sha1(mutated.encode()).hexdigest()[:16]


def _effect(path: Path, rec: VcfRecord, ref: str, alt: str, pos: int, build: Build) -> Any:
    try:
        return effect_of_genomic_change(pos, ref, alt, build)
    except RefMismatchError as exc:
        raise VcfFormatError(
            path,
            f"{exc}. The VCF does not match the {build.value} reference: check --build and the "
            "reference it was called against",
            place=rec.place,
        ) from exc
    except OutsideCdsError:
        return None


def alleles_of(path: Path, rec: VcfRecord, counts: SiteCounts, build: Build) -> list[Allele]:
    _effect(path, rec, rec.ref, rec.ref, rec.pos, build)  # REF check even for blocks and rows
    found: list[Allele] = []
    listed = {alt for alt in rec.alts if is_sequence(alt)}
    candidates = [(i, alt) for i, alt in enumerate(rec.alts) if is_sequence(alt)]
    if counts.base_counts is not None and len(rec.ref) == 1:
        candidates += [(-1, b) for b in "ACGT" if b != rec.ref and b not in listed]
    for index, alt in candidates:
        fraction = None
        if index >= 0:
            count = counts.alt_counts[index] if index < len(counts.alt_counts) else None
            strand = counts.strand[index] if index < len(counts.strand) else None
            fields = dict(counts.fields)
            if index < len(counts.caller_fraction):
                fraction = counts.caller_fraction[index]
        else:
            assert counts.base_counts is not None
            count, strand = counts.base_counts.get(alt), None
            fields = {**counts.fields, "alt_count": f"FORMAT/{alt}U[0] (tier 1)"}
        found.append(
            Allele(
                record=rec,
                index=index,
                alt=alt,
                changes=_effect(path, rec, rec.ref, alt, rec.pos, build),
                count=count,
                depth=counts.depth,
                fields=fields,
                strand=strand,
                edits=substitutions(rec.pos, rec.ref, alt),
                key=_allele_key(rec.pos, rec.ref, alt, build),
                caller_fraction=fraction,
                caller_id=caller_hotspot_id(rec, alt),
            )
        )
    return found


def split_site_depths(
    usable: list[tuple[VcfRecord, SiteCounts]],
) -> list[tuple[VcfRecord, SiteCounts]]:
    """One record per ALT at a position (LoFreq, Pisces, VarDict -A, bcftools norm -m-).

    The depth must count every allele at the site. If the records already agree on depth they
    carry the site total; if they agree on the REF count instead, each was written with REF +
    its own ALT only, so the site depth is REF + every ALT; otherwise the largest depth is used.
    """
    groups: dict[tuple[str, int, str], list[int]] = {}
    for number, (rec, counts) in enumerate(usable):
        if len([a for a in rec.alts if is_sequence(a)]) == 1 and counts.depth is not None:
            groups.setdefault((rec.chrom, rec.pos, rec.ref), []).append(number)
    result = list(usable)
    for members in groups.values():
        alts = [usable[m][0].alts for m in members]
        if len(members) < 2 or len(set(alts)) < len(alts):
            continue  # one ALT in two records is a repeated record, not a split site
        depths = {usable[m][1].depth for m in members}
        refs = {usable[m][1].ref_count for m in members}
        if len(depths) == 1:
            continue
        if len(refs) == 1 and None not in refs:
            ref = next(iter(refs))
            assert ref is not None
            site = ref + sum(
                c or 0 for m in members for a, c in zip(usable[m][0].alts, usable[m][1].alt_counts,
                                                        strict=False) if is_sequence(a)
            )  # fmt: skip
            how = "REF + every ALT record at this position"
        else:
            site = max(d for d in depths if d is not None)
            how = "largest depth among the ALT records at this position"
        for m in members:
            rec, counts = usable[m]
            result[m] = (rec, replace(counts, depth=site, fields={**counts.fields, "depth": how}))
    return result


def _relation(a: Allele, b: Allele) -> str:
    """cis / trans / exclusive / unknown: can these two changes sit on the same molecule?"""
    if a.group >= 0 and a.group == b.group:
        return "exclusive"
    if set(a.edits) & set(b.edits):
        return "exclusive"
    relations = {_record_phase(x, y) for x in (a.parts or (a,)) for y in (b.parts or (b,))}
    if "exclusive" in relations:
        return "exclusive"
    if len(relations) == 1:
        return relations.pop()
    return "exclusive" if relations == {"trans"} else "unknown"


def _haplotypes(allele: Allele) -> set[int]:
    genotype = allele.record.sample.get("GT")
    if not isinstance(genotype, tuple):
        return set()
    return {k for k, value in enumerate(genotype) if value == allele.index + 1}


def _record_phase(a: Allele, b: Allele) -> str:
    if a.record is b.record:
        return "exclusive"  # alleles of one record are alternatives, read by read
    sa, sb = a.record.sample, b.record.sample
    if sa.get("PID") and sa.get("PID") == sb.get("PID") and sa.get("PGT") and sb.get("PGT"):
        return "cis" if sa["PGT"] == sb["PGT"] else "trans"
    if (
        sa.get("PS") is not None
        and sa.get("PS") == sb.get("PS")
        and a.record.phased
        and b.record.phased
    ):
        left, right = _haplotypes(a), _haplotypes(b)
        if left and right:
            if left == right:
                return "cis"
            if not left & right:
                return "trans"
    return "unknown"


def _phase_label(a: Allele, b: Allele) -> str:
    if a.record.sample.get("PID") and a.record.sample.get("PID") == b.record.sample.get("PID"):
        return "phased by the caller (PGT/PID)"
    return "phased by the caller (PS and phased GT)"


def _combined_effect(edits: Mapping[int, str], build: Build) -> tuple[ProteinChange, ...] | None:
    tx = transcript()
    first, last = min(edits), max(edits)
    ref_bases = []
    for position in range(first, last + 1):
        c_pos = tx.genomic_to_c(position, build)
        if c_pos is None:
            return None
        ref_bases.append(tx.cds[c_pos - 1])
    ref = "".join(ref_bases)
    alt = "".join(edits.get(p, ref[p - first]) for p in range(first, last + 1))
    try:
        return effect_of_genomic_change(first, ref, alt, build)
    except (OutsideCdsError, RefMismatchError):
        return None


def _in_codon(pool: list[Allele], codon: set[int]) -> list[Allele]:
    """The substitutions with reads whose every changed base lies in the codon."""
    return [a for a in pool if a.edits and set(a.edits) <= codon and a.count]


def _merge_in_cis(pool: list[Allele], codon: set[int], build: Build) -> list[Allele]:
    """Replace caller-phased in-cis changes within a codon by their combined allele."""
    inside = _in_codon(pool, codon)
    parent = {id(a): id(a) for a in inside}

    def root(key: int) -> int:
        while parent[key] != key:
            key = parent[key]
        return key

    labels: dict[int, str] = {}
    for a, b in combinations(inside, 2):
        if _relation(a, b) == "cis":
            parent[root(id(a))] = root(id(b))
            labels[root(id(b))] = _phase_label(a, b)
    components: dict[int, list[Allele]] = {}
    for a in inside:
        components.setdefault(root(id(a)), []).append(a)
    result = [a for a in pool if id(a) not in parent or len(components[root(id(a))]) < 2]
    for group, (top, members) in enumerate((t, m) for t, m in components.items() if len(m) >= 2):
        edits: dict[int, str] = {}
        for member in members:
            edits.update(member.edits)
        count = min(m.count or 0 for m in members)
        depths = [m.depth for m in members if m.depth is not None]
        first = min(edits)
        ref = "".join(
            transcript().cds[(transcript().genomic_to_c(p, build) or 1) - 1]
            for p in range(first, max(edits) + 1)
        )
        alt = "".join(edits.get(p, ref[p - first]) for p in range(first, max(edits) + 1))
        merged = Allele(
            record=members[0].record,
            index=members[0].index,
            alt=alt,
            changes=_combined_effect(edits, build),
            count=count,
            depth=min(depths) if depths else None,
            fields={**members[0].fields, "alt_count": "min(alt counts of the in-cis changes)"},
            strand=None,
            edits=edits,
            key=_allele_key(first, ref, alt, build),
            group=group,
            parts=tuple(members),
            phase=labels.get(top, "phased by the caller"),
            span_ref=ref,
        )
        result.append(merged)
        result.extend(
            replace(m, count=(m.count or 0) - count, group=group) for m in members
        )  # molecules carrying one change but not the other
    return result


def _touches(allele: Allele, change: ProteinChange) -> bool:
    if allele.changes is None:
        return True
    return any(c.start <= change.end and c.end >= change.start for c in allele.changes)


def listed_without_counts(
    path: Path, unusable: list[tuple[VcfRecord, str]], build: Build
) -> list[tuple[ProteinChange, VcfRecord, str]]:
    """The protein changes that dropped records list: the caller named the allele there, so
    its silence elsewhere must not be read as a count of 0."""
    listed = []
    for rec, why in unusable:
        for alt in rec.alts:
            if is_sequence(alt):
                for change in _effect(path, rec, rec.ref, alt, rec.pos, build) or ():
                    listed.append((change, rec, why))
    return listed


def evidence_for(
    path: Path,
    hotspot: Hotspot,
    build: Build,
    caller: Caller,
    usable: list[tuple[VcfRecord, SiteCounts]],
    alleles: list[Allele],
    silenced: list[tuple[ProteinChange, VcfRecord, str]],
    *,
    records_removed: str,
    gvcf: bool,
) -> HotspotEvidence:
    lo, hi = hotspot_window(hotspot, build)
    covering = [(r, c) for r, c in usable if r.pos <= hi and r.end >= lo and c.depth is not None]
    details: dict[str, Any] = {"caller": caller.value, "records": [r.label for r, _ in covering]}
    if not covering:
        empty = AlleleCounts(hotspot.name, None, None, source="vcf", place=path.name)
        return HotspotEvidence(empty, details=details)
    codon = set(hotspot.codon_positions(build))
    pool = [a for a in alleles if a.record.pos <= hi and a.record.end >= lo]
    if hotspot.change.kind == "sub":
        pool = _merge_in_cis(pool, codon, build)
    change = hotspot.change
    reasons: list[Reason] = []
    direct = [a for a in pool if a.changes is not None and change in a.changes]
    listed_unusable = [(rec, why) for c, rec, why in silenced if c == change]
    if not direct and listed_unusable:
        rec, why = listed_unusable[0]
        details["evidence"] = f"allele listed only in a record that could not be used ({why})"
        counts = AlleleCounts(
            hotspot.name,
            None,
            min(c.depth or 0 for _, c in covering),
            source="vcf",
            place=f"{path.name}, {rec.place}",
            filters=rec.filters,
        )
        return HotspotEvidence(counts, None, (Reason.ALLELE_NOT_REPORTED,), details)
    others = [a for a in pool if a.count and a not in direct and _touches(a, change)]
    if others:
        reasons.append(Reason.OTHER_CHANGE_IN_CODON)
        details["other_changes_in_codon"] = sorted({f"{_describe(a)} ({a.count})" for a in others})
    # only substitutions combine: an indel is judged on its own (it is rarely in cis with an SNV
    # in the same codon, and can remove the very bases the SNV would change)
    in_codon = _in_codon(pool, codon) if change.kind == "sub" else []
    if direct:
        best: dict[str, Allele] = {}
        for a in direct:
            if a.key not in best or (a.count or 0) > (best[a.key].count or 0):
                best[a.key] = a
        chosen = sorted(best.values(), key=lambda a: -(a.count or 0))
        if any(a.count is None for a in chosen):
            return _not_reported(path, hotspot, chosen[0], details, reasons)
        high = sum(a.count or 0 for a in chosen)
        low = 0
        for a in chosen:
            partners = [b for b in in_codon if b is not a and _relation(a, b) == "unknown"]
            low += max(0, (a.count or 0) - sum(b.count or 0 for b in partners))
    else:
        chosen = []
        high = low = 0
    combos = _unphased_combinations(in_codon, direct, change, build)
    combos_high = sum(min(p.count or 0 for p in combo) for combo in combos)
    combo_note = _combination_note(combos, hotspot)
    # a caller whose silence is a count of 0 (Mutect2), in a file that lost records after
    # calling: the allele's own record may be among them, whatever else could combine into it
    silence_unknown = bool(records_removed) and COUNT_RULES[caller].absent is AbsentAllele.EVALUATED
    if not chosen and (not combos or silence_unknown):
        return read_silence(
            path, hotspot, build, caller, covering, details, reasons,
            records_removed=records_removed, gvcf=gvcf,
        )  # fmt: skip
    # shown as the count: what the caller listed for this allele; unphased combinations only
    # widen the range the rule weighs (alt_count_range)
    listed = high if chosen else high + combos_high
    high += combos_high
    primary = chosen[0] if chosen else min(combos[0], key=lambda p: p.count or 0)
    depth = primary.depth
    if chosen:
        details["evidence"] = "allele listed by the caller"
        if primary.group >= 0 and not primary.parts:
            details["evidence"] = (
                "allele listed by the caller, less its reads in cis with another change in "
                "the codon (counted as the combined allele)"
            )
        if primary.caller_id:
            details["caller_hotspot_id"] = primary.caller_id
        if primary.phase:
            details["phase"] = primary.phase
            details["evidence"] = "in-cis changes combined by codon effect"
        if len(direct) > 1:  # one allele written several ways counts once (the largest count)
            details["representations"] = [f"{_describe(a)}: {a.count}" for a in direct]
    else:
        details["evidence"] = "changes in this codon that may combine into the hotspot"
        depths = [p.depth for combo in combos for p in combo if p.depth is not None]
        depth = min(depths) if depths else None
    if combo_note:
        details["phase"] = combo_note
    alt_range = None if low == high else (low, high)
    if alt_range is not None:
        reasons.insert(0, Reason.PHASE_UNKNOWN)
        details["alt_count_range"] = list(alt_range)
    filters = tuple(
        dict.fromkeys(f for a in chosen or combos[0] for p in (a.parts or (a,))
                      for f in p.record.filters)
    )  # fmt: skip
    if chosen and chosen[0].caller_fraction is not None:
        details["caller_allele_fraction_not_used"] = chosen[0].caller_fraction
    counts = AlleleCounts(
        hotspot=hotspot.name,
        alt_count=min(listed, depth) if depth is not None else listed,
        depth=depth,
        source="vcf",
        place=f"{path.name}, {primary.record.place}",
        fields=dict(primary.fields),
        filters=filters,
        alt_forward=primary.strand[0] if primary.strand and len(chosen) == 1 else None,
        alt_reverse=primary.strand[1] if primary.strand and len(chosen) == 1 else None,
    )
    return HotspotEvidence(counts, alt_range, tuple(reasons), details)


def _describe(allele: Allele) -> str:
    if allele.changes:
        name = ",".join(c.short for c in allele.changes)
    elif allele.changes == ():
        name = "synonymous"
    else:
        name = "effect unknown"
    first, ref, alt = trim_allele(allele.record.pos, allele.record.ref, allele.alt)
    if allele.parts:
        first, ref, alt = min(allele.edits), allele.span_ref, allele.alt
    return f"{first} {ref or '-'}>{alt or '-'} ({name})"


def _unphased_combinations(
    in_codon: list[Allele], direct: list[Allele], change: ProteinChange, build: Build
) -> list[tuple[Allele, ...]]:
    """Sets of 2-3 changes in the codon, pairwise of unknown phase, that together make the change.

    Sets containing an allele that already matches on its own are skipped: its count already
    covers those molecules as an upper bound.
    """
    found: list[tuple[Allele, ...]] = []
    candidates = [a for a in in_codon if a not in direct]
    for size in (2, 3):
        for combo in combinations(candidates, size):
            if any(_relation(a, b) != "unknown" for a, b in combinations(combo, 2)):
                continue
            edits: dict[int, str] = {}
            for allele in combo:
                edits.update(allele.edits)
            effect = _combined_effect(edits, build)
            if effect is not None and change in effect:
                found.append(combo)
    return found


def _combination_note(combos: list[tuple[Allele, ...]], hotspot: Hotspot) -> str:
    if not combos:
        return ""
    notes = []
    for combo in combos:
        counts = [a.count or 0 for a in combo]
        parts = " + ".join(_describe(a) for a in combo)
        if len(set(counts)) == 1:
            notes.append(
                f"{parts}: equal counts ({counts[0]}) suggest one molecule ({hotspot.name}), "
                "but the caller gave no phase"
            )
        else:
            notes.append(f"{parts}: counts {counts}, phase not given")
    return "; ".join(notes)


def _not_reported(
    path: Path,
    hotspot: Hotspot,
    allele: Allele,
    details: dict[str, Any],
    reasons: list[Reason],
) -> HotspotEvidence:
    details["evidence"] = "allele listed without a count"
    counts = AlleleCounts(
        hotspot.name, None, allele.depth, source="vcf",
        place=f"{path.name}, {allele.record.place}", fields=dict(allele.fields),
        filters=allele.record.filters,
    )  # fmt: skip
    return HotspotEvidence(counts, None, (Reason.ALLELE_NOT_REPORTED, *reasons), details)


def repeated_alleles(alleles: list[Allele]) -> list[list[Allele]]:
    """Alleles listed by more than one record (by codon effect: one allele, however written):
    a VCF concatenated from two runs, or ``bcftools concat`` of overlapping files without
    ``-a``. Each group is in file order."""
    by_key: dict[str, list[Allele]] = {}
    for allele in alleles:
        if allele.count is not None:
            by_key.setdefault(allele.key, []).append(allele)
    return [group for group in by_key.values() if len({id(a.record) for a in group}) > 1]


def _shown(group: list[Allele]) -> Allele:
    """The record of a repeated allele whose count is shown: the first with the largest (as
    :func:`evidence_for` chooses among the records of one allele)."""
    return max(group, key=lambda a: a.count or 0)


def _same_counts(group: list[Allele]) -> bool:
    return len({(a.count, a.depth, a.record.filters) for a in group}) == 1


def each_record_alone(
    path: Path,
    hotspot: Hotspot,
    build: Build,
    caller: Caller,
    usable: list[tuple[VcfRecord, SiteCounts]],
    alleles: list[Allele],
    silenced: list[tuple[ProteinChange, VcfRecord, str]],
    repeated: list[list[Allele]],
    *,
    records_removed: str,
    gvcf: bool,
) -> tuple[tuple[str, HotspotEvidence], ...]:
    """What the VCF says about the hotspot with each record of a repeated allele and without
    the others, for the repeated alleles whose records reach the hotspot and whose counts or
    filters differ (identical ones say the same thing)."""
    lo, hi = hotspot_window(hotspot, build)
    found = []
    for group in repeated:
        if _same_counts(group) or not any(a.record.pos <= hi and a.record.end >= lo
                                          for a in group):  # fmt: skip
            continue
        for kept in group:
            others = {id(a.record) for a in group if a.record is not kept.record}
            alone = evidence_for(
                path, hotspot, build, caller,
                [(r, c) for r, c in usable if id(r) not in others],
                [a for a in alleles if id(a.record) not in others],
                silenced, records_removed=records_removed, gvcf=gvcf,
            )  # fmt: skip
            found.append((kept.record.place, alone))
    return tuple(found)


def repeated_dropped(path: Path, repeated: list[list[Allele]]) -> list[Dropped]:
    """The records of a repeated allele whose count is not the one shown, and why."""
    dropped = []
    for group in repeated:
        shown = _shown(group)
        there = f"{shown.count} of {shown.depth}"
        for other in (a for a in group if a is not shown):
            here = f"{other.count} of {other.depth}"
            same = (other.count, other.depth, other.record.filters) == (
                shown.count, shown.depth, shown.record.filters)  # fmt: skip
            reason = (
                f"lists {_describe(other)} as {shown.record.place} does, with the same counts "
                f"({here}): the allele is counted once"
                if same
                else f"lists {_describe(other)} as {shown.record.place} does, with other counts "
                f"or filters ({here} here, {there} there): the larger count is shown, and each "
                "record is judged alone; a hotspot they call differently is INDETERMINATE "
                "SOURCES_DISAGREE"
            )
            dropped.append(Dropped(str(path), other.record.place, reason))
    return dropped
