"""Earlier results back in: load and validate calls.json files, merge them into a cohort document.

``esr1calls report`` re-renders every format from calls.json documents. Each input is checked
against the shipped JSON Schema before anything is merged or written; a bad one is a one-line
error naming the file and its first problem. The cohort document keeps every source run's
provenance: ``run.sources`` lists each input calls.json (path, sha256, its whole run block), and
every sample, QC check, plate and dropped row carries ``source_index`` into that list. A cohort
calls.json can itself be merged again: its sources are carried over (with ``via``), so the
list stays flat and every call still points at the run that made it.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._version import __version__
from ..errors import InputError
from ..model import InputFile
from .calls_json import SCHEMA_VERSION, document_head, load_schema
from .options import ReportOptions
from .tables import render_table, sample_row

__all__ = ["LoadedCalls", "load_calls_json", "merge_documents", "summary_lines"]

_ITEM_LISTS = ("samples", "run_qc", "plates", "dropped")
_FIX = "re-create it with esr1calls (calls.json is not meant to be edited by hand)"


@dataclass(frozen=True)
class LoadedCalls:
    """One calls.json as given on the command line, with the sha256 of its exact bytes."""

    path: Path
    sha256: str
    document: dict[str, Any]


def _where(path: Sequence[Any]) -> str:
    """A JSON location as people write it: samples[0].calls[3].status."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "the top level"


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


@functools.cache
def _fast_check() -> Callable[[Any], Any]:
    """The shipped schema compiled to Python by fastjsonschema, to pass valid documents quickly:
    ``esr1calls monitor`` reads hundreds of them (60,000 samples), where jsonschema takes about
    0.4 s per 200 samples. It compiles draft-07; the schema uses only keywords that mean the
    same in draft-07 and 2020-12 (tests/reports/test_merge.py holds it to that)."""
    import fastjsonschema

    schema = copy.deepcopy(load_schema())
    schema["$schema"] = "http://json-schema.org/draft-07/schema#"
    check: Callable[[Any], Any] = fastjsonschema.compile(schema)
    return check


def _schema_error(document: Any) -> Any:
    """The first problem jsonschema finds in ``document`` (a ``ValidationError``), or None.

    A document the compiled check passes is valid; any other is judged by jsonschema, which also
    words the error, so the message never depends on the fast path.
    """
    # imported here: only `report` and `monitor` need a validator, other commands start light
    import fastjsonschema
    import jsonschema

    try:
        _fast_check()(document)
        return None
    except fastjsonschema.JsonSchemaException:
        pass
    schema = load_schema()
    validator = jsonschema.validators.validator_for(schema)(schema)
    return jsonschema.exceptions.best_match(validator.iter_errors(document))


def load_calls_json(path: str | Path) -> LoadedCalls:
    """Read one calls.json and check it against the shipped schema (any 1.x version)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(None, f"{path}: cannot read ({exc.strerror})") from exc
    try:
        document = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except UnicodeDecodeError as exc:
        raise InputError(
            None, f"{path}: not UTF-8 text; give a calls.json written by esr1calls"
        ) from exc
    except json.JSONDecodeError as exc:
        raise InputError(
            None,
            f"{path}, line {exc.lineno} column {exc.colno}: not valid JSON ({exc.msg}); "
            "give a calls.json written by esr1calls",
        ) from exc
    except ValueError as exc:
        raise InputError(None, f"{path}: {exc}; {_FIX}") from exc
    version = document.get("schema_version") if isinstance(document, dict) else None
    if not isinstance(version, str):
        raise InputError(
            None,
            f"{path}: not an esr1calls calls.json (no schema_version); give the calls.json from "
            "an esr1calls -o directory",
        )
    if version.split(".")[0] != SCHEMA_VERSION.split(".")[0]:
        raise InputError(
            None,
            f"{path}: schema_version {version} is not {SCHEMA_VERSION.split('.')[0]}.x, which "
            f"esr1calls {__version__} reads; render it with the esr1calls that wrote it",
        )
    error = _schema_error(document)
    if error is not None:
        message = " ".join(error.message.split())
        if len(message) > 160:
            message = message[:157] + "..."
        raise InputError(
            None,
            f"{path}, at {_where(list(error.absolute_path))}: {message}; not a valid calls.json "
            f"(schema {SCHEMA_VERSION}): {_FIX}",
        )
    return LoadedCalls(path, hashlib.sha256(raw).hexdigest(), document)


def _common(values: Sequence[Any]) -> Any:
    """The value every source agrees on, else None."""
    first = values[0] if values else None
    return first if all(v == first for v in values) else None


def _merged_panel(panels: Sequence[Mapping[str, Any]]) -> tuple[dict[str, Any], str | None]:
    common = _common(list(panels))
    if common is not None:
        return dict(common), None
    unique = list({json.dumps(p, sort_keys=True): p for p in panels}.values())
    names = list(dict.fromkeys(str(p.get("name")) for p in unique))
    hotspots = list(dict.fromkeys(h for p in unique for h in p.get("hotspots") or []))
    digest = hashlib.sha256(
        json.dumps(
            sorted(unique, key=lambda p: json.dumps(p, sort_keys=True)), sort_keys=True
        ).encode("utf-8")
    ).hexdigest()
    panel = {
        "name": "mixed: " + ", ".join(names),
        "version": "mixed",
        "sha256": digest,
        "hotspots": hotspots,
    }
    notice = (
        f"The merged runs used different panels ({', '.join(names)}); each call's own panel, "
        "version and sha256 are in run.sources."
    )
    return panel, notice


def merge_documents(
    loaded: Sequence[LoadedCalls], options: ReportOptions, *, repeats: bool = False
) -> dict[str, Any]:
    """One cohort calls.json document from validated inputs, keeping each run's provenance.

    The same run given twice is refused, unless ``repeats``: ``batch`` combines its jobs, two of
    which may have read the same files (each is its own row, named by its job id)."""
    sources: list[dict[str, Any]] = []
    first_seen: dict[str, str] = {}
    items: dict[str, list[dict[str, Any]]] = {name: [] for name in _ITEM_LISTS}

    def add_source(entry: dict[str, Any], shown: Path) -> int:
        previous = first_seen.get(entry["sha256"])
        if previous is not None and not repeats:
            raise InputError(
                None,
                f"{shown}: holds the run of {previous} again (calls.json sha256 "
                f"{entry['sha256'][:12]}...); give each run once",
            )
        first_seen.setdefault(entry["sha256"], str(shown))
        sources.append(entry)
        return len(sources) - 1

    for item in loaded:
        document, run = item.document, item.document["run"]
        remap: dict[int | None, int]
        if run.get("sources"):
            remap = {
                index: add_source(
                    {**source, "via": {"path": str(item.path), "sha256": item.sha256}}, item.path
                )
                for index, source in enumerate(run["sources"])
            }
        else:
            only = {
                "path": str(item.path),
                "sha256": item.sha256,
                "schema_version": document["schema_version"],
                "tool": document["tool"],
                "run": run,
            }
            remap = {None: add_source(only, item.path)}
        for name in _ITEM_LISTS:
            for position, entry in enumerate(document.get(name) or []):
                key = entry.get("source_index") if run.get("sources") else None
                if key not in remap:
                    raise InputError(
                        None,
                        f"{item.path}, at {name}[{position}]: source_index {key!r} does not point "
                        f"into run.sources; {_FIX}",
                    )
                items[name].append({**entry, "source_index": remap[key]})

    runs = [s["run"] for s in sources]
    panel, panel_notice = _merged_panel([r["panel"] for r in runs])
    kits = [r.get("kit") for r in runs if r.get("kit")]
    notices = list(dict.fromkeys(n for r in runs for n in r.get("notices") or []))
    if panel_notice:
        notices.append(panel_notice)
    inputs = [InputFile(str(i.path), i.sha256, "calls.json") for i in loaded]
    return {
        **document_head(
            options,
            inputs,
            panel=panel,
            # a cohort has one kit only if every PCR run used it; else see run.sources
            kit=_common(kits) if kits else None,
            thresholds=_common([r.get("thresholds") or {} for r in runs]) or {},
            notices=notices,
            sources=sources,
        ),
        **items,
    }


def summary_lines(document: Mapping[str, Any]) -> list[str]:
    """What ``esr1calls report`` prints: one tab-separated line per sample (the first columns of
    samples.tsv)."""
    columns = ("sample_id", "method", "status", "detected")
    rows = (sample_row(sample) for sample in document.get("samples") or [])
    return render_table(columns, rows).splitlines()
