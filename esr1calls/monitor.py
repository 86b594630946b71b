"""Serial monitoring: every hotspot's state at each of a patient's timepoints (docs/monitor.md).

Pure: calls.json documents (plain mappings, given one at a time) in, states out; nothing here
reads or writes a file (``monitor_report.py`` does). A timepoint is one patient and collection
date; the samples of one date are merged per hotspot (any DETECTED wins, else any NOT_DETECTED,
else it is not evaluable). Each timepoint is compared with the latest earlier *evaluable* one of
the same hotspot: INDETERMINATE and INVALID are skipped, never read as negative.

Only what the states and their evidence need is kept per sample (:class:`Observation`), so
memory grows with the samples monitored, not with the documents read.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import PurePath
from typing import Any

from .errors import InputError
from .hotspots import EXTENDED_PANEL, load_panel
from .model import CallStatus
from .patients import SampleSheet, SheetRow, folder_labels
from .stats import fisher_exact_one_sided

__all__ = [
    "METHOD_ORDER",
    "MIN_DELTA_CT_CHANGE",
    "MIN_FOLD",
    "P_VALUE_MAX",
    "Comparison",
    "HotspotState",
    "MonitorReason",
    "MonitoredSample",
    "Observation",
    "PatientHistory",
    "SampleCollector",
    "State",
    "Timepoint",
    "evaluate_patient",
]

P_VALUE_MAX = 0.05
"""A change between two DETECTED calls counts when the one-sided Fisher p is below this..."""
MIN_FOLD = 2.0
"""...and the larger fraction is at least this many times the smaller."""
MIN_DELTA_CT_CHANGE = 1.0
"""ARMS-PCR (semi-quantitative): a change counts when delta-Ct moves by at least this (cycles)."""
METHOD_ORDER = ("NGS", "dPCR", "PCR")
"""Quantitative first: the method a timepoint's fraction and a comparison are taken from."""
_COUNTED = ("NGS", "dPCR")
_EVALUABLE = (CallStatus.DETECTED.value, CallStatus.NOT_DETECTED.value)


class State(StrEnum):
    """A hotspot's state at one timepoint, against the latest earlier evaluable call."""

    PRESENT_AT_BASELINE = "PRESENT_AT_BASELINE"  # DETECTED, the first evaluable call
    ABSENT = "ABSENT"  # NOT_DETECTED, after NOT_DETECTED or as the first evaluable call
    NEW = "NEW"  # DETECTED after NOT_DETECTED: emergence
    RISING = "RISING"  # DETECTED after DETECTED, significantly higher
    FALLING = "FALLING"  # DETECTED after DETECTED, significantly lower
    PERSISTENT = "PERSISTENT"  # DETECTED after DETECTED, no significant change (or none testable)
    CLEARED = "CLEARED"  # NOT_DETECTED after DETECTED
    NOT_EVALUABLE = "NOT_EVALUABLE"  # INDETERMINATE or INVALID: skipped by later timepoints


FLAG_STATES = (State.NEW, State.RISING)


class MonitorReason(StrEnum):
    """Why a state is what it is, beyond the calls' own reason codes."""

    METHOD_CHANGED = "METHOD_CHANGED"
    NO_MEASURE = "NO_MEASURE"

    @property
    def description(self) -> str:
        return _MONITOR_REASON_TEXT[self]


_MONITOR_REASON_TEXT = {
    MonitorReason.METHOD_CHANGED: (
        "the two DETECTED calls were made by different methods, whose fractions cannot be "
        "compared: a change is not judged"
    ),
    MonitorReason.NO_MEASURE: (
        "the calls record no counts (NGS, dPCR) or delta-Ct (PCR) to compare: a change is not "
        "judged"
    ),
}


@dataclass(frozen=True, slots=True)
class Observation:
    """What one sample's call says about one hotspot, as far as monitoring needs it.

    ``mutant`` and ``other`` are the two columns of the Fisher table: NGS alt and non-alt reads
    (or molecules), x and n - x; dPCR mutant- and wild-type-positive partitions, k_m and k_w.
    """

    status: str
    reasons: tuple[str, ...] = ()
    fraction: float | None = None
    lod95: float | None = None
    mutant: int | None = None
    other: int | None = None
    delta_ct: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "reasons": list(self.reasons),
            "fraction": self.fraction,
            "lod95": self.lod95,
            "mutant": self.mutant,
            "other": self.other,
            "delta_ct": self.delta_ct,
        }


@dataclass(frozen=True)
class MonitoredSample:
    """One sample on a patient's timeline: its qualified id (``run:sample``), where it came from,
    and one :class:`Observation` per hotspot it called."""

    sample_id: str
    method: str
    document: str
    status: str
    calls: Mapping[str, Observation]
    note: str = ""


@dataclass(frozen=True)
class Comparison:
    """How a DETECTED timepoint was judged against the latest earlier DETECTED one."""

    method: str | None  # the shared method; None when the methods differ
    test: str | None  # "fisher_exact" (NGS, dPCR), "delta_ct" (PCR), None: nothing testable
    sample: str  # the sample of each side that was compared
    against: str
    alternative: str | None = None  # "greater" (now higher) or "less"
    table: tuple[tuple[int, int], tuple[int, int]] | None = None  # [[now], [before]]
    odds_ratio: float | None = None
    p_value: float | None = None
    fold: float | None = None  # larger fraction over smaller
    delta_ct_change: float | None = None  # now minus before (PCR)
    significant: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "test": self.test,
            "sample": self.sample,
            "against": self.against,
            "alternative": self.alternative,
            "table": None if self.table is None else [list(row) for row in self.table],
            "odds_ratio": self.odds_ratio,
            "p_value": self.p_value,
            "fold": self.fold,
            "delta_ct_change": self.delta_ct_change,
            "significant": self.significant,
        }


@dataclass(frozen=True)
class HotspotState:
    """One hotspot at one timepoint: the merged status, the state, and what decided them."""

    hotspot: str
    status: str
    state: State
    fraction: float | None
    reasons: tuple[str, ...]
    samples: tuple[tuple[MonitoredSample, Observation], ...]  # every sample that called it
    previous: tuple[str, str] | None = None  # (collected, status) it was compared with
    comparison: Comparison | None = None


@dataclass(frozen=True)
class Timepoint:
    collected: str
    samples: tuple[MonitoredSample, ...]
    hotspots: tuple[HotspotState, ...]


@dataclass(frozen=True)
class PatientHistory:
    patient_id: str
    flagged: bool
    flags: tuple[str, ...]  # e.g. "Y537S NEW": the latest timepoint's NEW and RISING hotspots
    timepoints: tuple[Timepoint, ...]


# ----------------------------------------------------------------------------- the states
def _hotspot_order() -> dict[str, int]:
    return {h.name: i for i, h in enumerate(load_panel(EXTENDED_PANEL))}


def _merged_status(statuses: Iterable[str]) -> str:
    found = set(statuses)
    for status in (*_EVALUABLE, CallStatus.INDETERMINATE.value):
        if status in found:
            return status
    return CallStatus.INVALID.value


def _information(sample: MonitoredSample, observation: Observation) -> int:
    if observation.mutant is None or observation.other is None:
        return -1
    return observation.mutant + observation.other


def _best(
    entries: Sequence[tuple[MonitoredSample, Observation]], method: str | None = None
) -> tuple[MonitoredSample, Observation] | None:
    """The sample a timepoint is represented by: the first method of METHOD_ORDER (or the one
    given), then the most molecules or partitions, then the sample id."""
    candidates = [e for e in entries if method is None or e[0].method == method]
    if not candidates:
        return None
    rank = {m: i for i, m in enumerate(METHOD_ORDER)}
    return min(
        candidates,
        key=lambda e: (rank.get(e[0].method, len(rank)), -_information(*e), e[0].sample_id),
    )


def _fraction_of(observation: Observation) -> float | None:
    if observation.fraction is not None:
        return observation.fraction
    if observation.mutant is not None and observation.other is not None:
        total = observation.mutant + observation.other
        return observation.mutant / total if total else None
    return None


def _fold(now: float | None, before: float | None) -> float | None:
    if now is None or before is None or now <= 0 or before <= 0:
        return None
    return max(now, before) / min(now, before)


def compare(
    now: Sequence[tuple[MonitoredSample, Observation]],
    before: Sequence[tuple[MonitoredSample, Observation]],
) -> tuple[State, tuple[str, ...], Comparison]:
    """RISING, FALLING or PERSISTENT for a DETECTED timepoint after a DETECTED one.

    The two are compared within a method both have (NGS, then dPCR, then PCR): NGS and dPCR by
    a one-sided Fisher exact test on (mutant, other) now against before, in the direction of the
    change, significant when p < P_VALUE_MAX and the fold is at least MIN_FOLD; PCR by delta-Ct,
    significant when it moved by at least MIN_DELTA_CT_CHANGE cycles (lower is more mutant).
    Without a shared method the state is PERSISTENT, METHOD_CHANGED.
    """
    method = next(
        (m for m in METHOD_ORDER if _best(now, m) is not None and _best(before, m) is not None),
        None,
    )
    if method is None:
        (sample, observation), (other, earlier) = _best(now), _best(before)  # type: ignore[misc]
        fold = _fold(_fraction_of(observation), _fraction_of(earlier))
        comparison = Comparison(None, None, sample.sample_id, other.sample_id, fold=fold)
        return State.PERSISTENT, (MonitorReason.METHOD_CHANGED.value,), comparison
    (sample, observation), (other, earlier) = _best(now, method), _best(before, method)  # type: ignore[misc]
    ids = (sample.sample_id, other.sample_id)
    fraction_now, fraction_before = _fraction_of(observation), _fraction_of(earlier)
    fold = _fold(fraction_now, fraction_before)
    if method == "PCR":
        if observation.delta_ct is None or earlier.delta_ct is None:
            untested = Comparison(method, None, *ids, fold=fold)
            return State.PERSISTENT, (MonitorReason.NO_MEASURE.value,), untested
        # rounded: 5.3 - 4.3 is 0.9999999999999996 in floating point, one cycle on the plate
        change = round(observation.delta_ct - earlier.delta_ct, 6)
        significant = abs(change) >= MIN_DELTA_CT_CHANGE
        comparison = Comparison(
            method, "delta_ct", *ids, fold=fold, delta_ct_change=change, significant=significant
        )
        if not significant:
            return State.PERSISTENT, (), comparison
        return (State.RISING if change < 0 else State.FALLING), (), comparison
    counts = (observation.mutant, observation.other, earlier.mutant, earlier.other)
    if any(c is None or c < 0 for c in counts) or fraction_now is None or fraction_before is None:
        untested = Comparison(method, None, *ids, fold=fold)
        return State.PERSISTENT, (MonitorReason.NO_MEASURE.value,), untested
    a, b, c, d = (int(c) for c in counts)  # type: ignore[arg-type]
    table = ((a, b), (c, d))
    odds_ratio = (a * d) / (b * c) if b * c else None
    if fraction_now == fraction_before:
        comparison = Comparison(method, "fisher_exact", *ids, None, table, odds_ratio, 1.0, fold)
        return State.PERSISTENT, (), comparison
    alternative = "greater" if fraction_now > fraction_before else "less"
    p_value = fisher_exact_one_sided(a, b, c, d, alternative)
    # the fold of two fractions written with a few digits: 0.006 / 0.003 must count as 2
    significant = p_value < P_VALUE_MAX and fold is not None and fold >= MIN_FOLD * (1 - 1e-9)
    comparison = Comparison(
        method,
        "fisher_exact",
        *ids,
        alternative,
        table,
        odds_ratio,
        p_value,
        fold,
        significant=significant,
    )
    if not significant:
        return State.PERSISTENT, (), comparison
    return (State.RISING if alternative == "greater" else State.FALLING), (), comparison


def evaluate_patient(
    patient_id: str, samples: Iterable[tuple[str, MonitoredSample]]
) -> PatientHistory:
    """Every timepoint of one patient (``(collected, sample)`` pairs in any order), each hotspot
    with its state, and whether the patient is flagged: a NEW or RISING hotspot at the latest
    timepoint."""
    by_date: dict[str, list[MonitoredSample]] = {}
    for collected, sample in samples:
        by_date.setdefault(collected, []).append(sample)
    order = _hotspot_order()
    names = sorted(
        {h for group in by_date.values() for s in group for h in s.calls},
        key=lambda h: (order.get(h, len(order)), h),
    )
    latest: dict[str, tuple[str, str, list[tuple[MonitoredSample, Observation]]]] = {}
    timepoints = []
    for collected in sorted(by_date):
        group = sorted(by_date[collected], key=lambda s: s.sample_id)
        states = []
        for hotspot in names:
            entries = [(s, s.calls[hotspot]) for s in group if hotspot in s.calls]
            if entries:
                states.append(_state(hotspot, collected, entries, latest))
        timepoints.append(Timepoint(collected, tuple(group), tuple(states)))
    flags = (
        tuple(
            f"{h.hotspot} {h.state.value}"
            for h in timepoints[-1].hotspots
            if h.state in FLAG_STATES
        )
        if timepoints
        else ()
    )
    return PatientHistory(patient_id, bool(flags), flags, tuple(timepoints))


def _state(
    hotspot: str,
    collected: str,
    entries: list[tuple[MonitoredSample, Observation]],
    latest: dict[str, tuple[str, str, list[tuple[MonitoredSample, Observation]]]],
) -> HotspotState:
    status = _merged_status(o.status for _, o in entries)
    deciding = [e for e in entries if e[1].status == status]
    best = _best(deciding)
    assert best is not None
    fraction = None if status == CallStatus.NOT_DETECTED.value else best[1].fraction
    if status not in _EVALUABLE:
        reasons = tuple(dict.fromkeys(r for _, o in entries for r in o.reasons))
        return HotspotState(hotspot, status, State.NOT_EVALUABLE, fraction, reasons, tuple(entries))
    reasons = tuple(dict.fromkeys(r for _, o in deciding for r in o.reasons))
    previous = latest.get(hotspot)
    latest[hotspot] = (collected, status, deciding)
    detected = status == CallStatus.DETECTED.value
    if previous is None:
        state = State.PRESENT_AT_BASELINE if detected else State.ABSENT
        return HotspotState(hotspot, status, state, fraction, reasons, tuple(entries))
    before_date, before_status, before = previous
    was_detected = before_status == CallStatus.DETECTED.value
    comparison = None
    if detected and was_detected:
        state, extra, comparison = compare(deciding, before)
        reasons = (*reasons, *extra)
    elif detected:
        state = State.NEW
    elif was_detected:
        state = State.CLEARED
    else:
        state = State.ABSENT
    return HotspotState(
        hotspot,
        status,
        state,
        fraction,
        reasons,
        tuple(entries),
        (before_date, before_status),
        comparison,
    )


# ----------------------------------------------------------------------------- from documents
_INTERNED: dict[Any, Any] = {}


def _intern(value: Any) -> Any:
    """One shared object per distinct status and reason list (60,000 samples repeat them)."""
    return _INTERNED.setdefault(value, value)


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def observe(call: Mapping[str, Any], method: str) -> Observation:
    """The :class:`Observation` of one calls.json call. NGS counts are ``alt_count`` and
    ``depth``; dPCR ones the partitions ``k_m`` and ``k_w`` in the call's evidence."""
    mutant = other = None
    if method == "NGS":
        x, n = _count(call.get("alt_count")), _count(call.get("depth"))
        if x is not None and n is not None and n >= x:
            mutant, other = x, n - x
    elif method == "dPCR":
        evidence = call.get("evidence") or {}
        mutant, other = _count(evidence.get("k_m")), _count(evidence.get("k_w"))
    return Observation(
        status=_intern(str(call.get("status"))),
        reasons=_intern(tuple(str(r) for r in call.get("reasons") or ())),
        fraction=_number(call.get("allele_fraction")),
        lod95=_number(call.get("lod95")),
        mutant=mutant,
        other=other,
        delta_ct=_number(call.get("delta_ct")) if method == "PCR" else None,
    )


@dataclass
class _Pending:
    """A sample read from a document, before the sheet and the run labels are applied."""

    sample_id: str
    folder: tuple[str, ...]  # the path parts of the folder its calls.json is in
    run_id: str  # the PCR run id when its document holds the sample id twice, else ""
    document: str
    method: str
    status: str
    calls: dict[str, Observation]
    patient_id: str | None
    collected: str | None


@dataclass
class SampleCollector:
    """Reads documents one at a time and keeps only what monitoring needs of their samples.

    ``add`` takes each validated calls.json (its path as given and its sha256); ``finish``
    applies the sample sheet and returns every patient's samples. A document or run given twice,
    or one sample in two documents, is refused; so is a sheet row that could be either of two
    samples, or that contradicts what calls.json records.
    """

    sheet: SampleSheet | None = None
    _pending: list[_Pending] = field(default_factory=list)
    _documents: dict[str, str] = field(default_factory=dict)  # sha256 -> path shown
    _measurements: dict[tuple[Any, ...], str] = field(default_factory=dict)

    def add(
        self,
        path: str,
        sha256: str,
        document: Mapping[str, Any],
        folder: Sequence[str] | None = None,
    ) -> None:
        """One validated calls.json; ``folder``: the parts of the absolute path of the folder it
        is in (default: as ``path`` has them), which name its run."""
        run = document.get("run") or {}
        sources = run.get("sources") or []
        self._claim(sha256, path, path)
        for source in sources:
            self._claim(str(source.get("sha256")), f"{path} (run {source.get('path')})", path)
        groups: dict[int | None, list[Mapping[str, Any]]] = {}
        for sample in document.get("samples") or []:
            key = sample.get("source_index") if sources else None
            groups.setdefault(key, []).append(sample)
        for key, samples in groups.items():
            if key is None:
                origin, inputs = path, run.get("inputs") or []
                parts = tuple(folder) if folder else PurePath(path).parent.parts
            else:
                source = sources[key]
                origin = str(source.get("path"))
                inputs = (source.get("run") or {}).get("inputs") or []
                parts = PurePath(origin).parent.parts
            self._add_run(path, origin, parts or (".",), inputs, samples)

    def _claim(self, sha256: str, shown: str, path: str) -> None:
        first = self._documents.get(sha256)
        if first is not None:
            raise InputError(
                None,
                f"{shown}: the same calls.json as {first} (sha256 {sha256[:12]}...); give each "
                "run once",
            )
        self._documents[sha256] = shown

    def _add_run(
        self,
        path: str,
        origin: str,
        folder: tuple[str, ...],
        inputs: Sequence[Mapping[str, Any]],
        samples: Sequence[Mapping[str, Any]],
    ) -> None:
        shown = path if origin == path else f"{path} (run {origin})"
        digests = {str(i.get("path")): str(i.get("sha256")) for i in inputs}
        counts: dict[str, int] = {}
        for sample in samples:
            counts[str(sample.get("sample_id"))] = counts.get(str(sample.get("sample_id")), 0) + 1
        for sample in samples:
            sample_id, method = str(sample.get("sample_id")), str(sample.get("method"))
            details = sample.get("details") or {}
            run_id = str(details.get("run_id") or "") if counts[sample_id] > 1 else ""
            if counts[sample_id] > 1 and not run_id:
                raise InputError(
                    None,
                    f"{shown}: holds sample {sample_id} {counts[sample_id]} times with nothing "
                    "to tell them apart; re-run them into separate output folders",
                )
            self._check_measurement(shown, sample_id, method, run_id, sample, digests)
            self._pending.append(
                _Pending(
                    sample_id=sample_id,
                    folder=tuple(folder),
                    run_id=run_id,
                    document=shown,
                    method=_intern(method),
                    status=_intern(str(sample.get("status"))),
                    calls={
                        _intern(str(c.get("hotspot"))): observe(c, method)
                        for c in sample.get("calls") or []
                    },
                    patient_id=sample.get("patient_id"),
                    collected=sample.get("collected"),
                )
            )

    def _check_measurement(
        self,
        shown: str,
        sample_id: str,
        method: str,
        run_id: str,
        sample: Mapping[str, Any],
        digests: Mapping[str, str],
    ) -> None:
        """The same sample of the same input files in two documents (a run called twice into
        two folders) is one measurement given twice."""
        files = [p.strip() for p in str(sample.get("source") or "").split(",") if p.strip()]
        known = sorted(digests[f] for f in files if f in digests)
        if not known:
            return
        key = (sample_id, method, run_id, *known)
        first = self._measurements.setdefault(key, shown)
        if first != shown:
            raise InputError(
                None,
                f"{shown}: sample {sample_id} is the sample of {first} again (the same input "
                f"files, sha256 {known[0][:12]}...); give each run once",
            )

    def finish(self) -> tuple[dict[str, list[tuple[str, MonitoredSample]]], list[str], list[str]]:
        """Every patient's ``(collected, sample)`` pairs, the qualified ids of samples without a
        patient, and the sheet lines that named no sample (``line N: sample_id``)."""
        labels = folder_labels({p.folder for p in self._pending})
        qualified = [
            f"{labels[p.folder]}{'/' + p.run_id if p.run_id else ''}:{p.sample_id}"
            for p in self._pending
        ]
        rows = self._rows_for(qualified)
        patients: dict[str, list[tuple[str, MonitoredSample]]] = {}
        unassigned: list[str] = []
        for index, pending in enumerate(self._pending):
            row = rows.get(index)
            patient, collected = _identity(pending, qualified[index], row, self.sheet)
            if patient is None and collected is None:
                unassigned.append(qualified[index])
                continue
            if patient is None or collected is None:
                missing = "patient_id" if patient is None else "collected date"
                raise InputError(
                    None,
                    f"{pending.document}: sample {qualified[index]} has no {missing}; give it in "
                    "the sample sheet (--samples) or the plate map",
                )
            sample = MonitoredSample(
                qualified[index],
                pending.method,
                pending.document,
                pending.status,
                pending.calls,
                row.note if row else "",
            )
            patients.setdefault(patient, []).append((collected, sample))
        used = {row.line for row in rows.values()}
        unused = [
            f"line {r.line}: {r.sample_id}"
            for r in (self.sheet.rows if self.sheet else ())
            if r.line not in used
        ]
        self._pending = []
        return patients, unassigned, unused

    def _rows_for(self, qualified: Sequence[str]) -> dict[int, SheetRow]:
        """Which sheet row applies to which pending sample: a row naming the qualified id
        (``run:S1``) first, else one naming the bare id, when only one sample has it."""
        if self.sheet is None:
            return {}
        by_qualified = {q: i for i, q in enumerate(qualified)}
        by_bare: dict[str, list[int]] = {}
        for index, pending in enumerate(self._pending):
            by_bare.setdefault(pending.sample_id, []).append(index)
        applied: dict[int, SheetRow] = {}
        for row in self.sheet.rows:
            if row.sample_id in by_qualified:
                applied[by_qualified[row.sample_id]] = row
        for row in self.sheet.rows:
            if row.sample_id in by_qualified:
                continue
            targets = [i for i in by_bare.get(row.sample_id, []) if i not in applied]
            if len(targets) > 1:
                first, second = (qualified[i] for i in targets[:2])
                raise InputError(
                    self.sheet.path,
                    f"sample {row.sample_id} is {first} ({self._pending[targets[0]].document}) "
                    f"and {second} ({self._pending[targets[1]].document}); write {first} or "
                    f"{second} to say which",
                    place=f"line {row.line}",
                )
            if targets:
                applied[targets[0]] = row
        return applied


def _identity(
    pending: _Pending, qualified: str, row: SheetRow | None, sheet: SampleSheet | None
) -> tuple[str | None, str | None]:
    """The sample's patient and date: calls.json's and the sheet's, which must agree."""
    patient, collected = pending.patient_id, pending.collected
    if row is None or sheet is None:
        return patient, collected
    for column, recorded, given in (
        ("patient_id", patient, row.patient_id),
        ("collected", collected, row.collected),
    ):
        if recorded is not None and recorded != given:
            raise InputError(
                sheet.path,
                f"sample {qualified} has {column} {given!r} here but {recorded!r} in "
                f"{pending.document} (the plate map or --patient/--collected); correct one of them",
                place=f"line {row.line}",
            )
    return row.patient_id, row.collected


def patients_in_order(
    patients: Mapping[str, list[tuple[str, MonitoredSample]]],
) -> Iterator[PatientHistory]:
    """Every patient's history, patients sorted by id."""
    for patient_id in sorted(patients):
        yield evaluate_patient(patient_id, patients[patient_id])
