"""load_calls_json passes valid documents through a compiled validator (fastjsonschema) and lets
jsonschema judge and word everything else: the two must agree on every document."""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from esr1calls.errors import InputError
from esr1calls.reports.calls_json import load_schema
from esr1calls.reports.merge import _fast_check, _schema_error, load_calls_json
from esr1calls.testing import TESTDATA

GOLDENS = [TESTDATA / "expected" / "reports" / kind / "calls.json" for kind in ("pcr", "ngs")]
# keywords whose meaning is the same in draft-07 (what fastjsonschema compiles) and 2020-12
SAME_IN_BOTH = {
    "$schema", "$id", "$ref", "$defs", "title", "description", "type", "required", "properties",
    "enum", "const", "pattern", "items", "anyOf", "allOf", "if", "then", "not", "contains",
    "minItems", "maxItems", "minimum", "maximum",
}  # fmt: skip


def _keywords(node: Any, inside_properties: bool = False) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if not inside_properties:
                found.add(key)
            found |= _keywords(value, inside_properties=key in ("properties", "$defs")
                               and not inside_properties)  # fmt: skip
    elif isinstance(node, list):
        for item in node:
            found |= _keywords(item)
    return found


def test_the_schema_uses_only_keywords_both_drafts_read_alike():
    assert _keywords(load_schema()) <= SAME_IN_BOTH, _keywords(load_schema()) - SAME_IN_BOTH


def _jsonschema_valid(document: Any) -> bool:
    schema = load_schema()
    return bool(jsonschema.validators.validator_for(schema)(schema).is_valid(document))


def _fast_valid(document: Any) -> bool:
    try:
        _fast_check()(document)
    except Exception:
        return False
    return True


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node[:3]):
            found += _paths(value, (*prefix, index))
    return found


DOCUMENTS = [json.loads(path.read_text(encoding="utf-8")) for path in GOLDENS]
PATHS = [(i, p) for i, d in enumerate(DOCUMENTS) for p in _paths(d) if p]
VALUES = st.sampled_from(
    [None, -1, 0, 1, 1.5, 2.0, True, "", "x", "NOT_DETECTED", "NO_COVERAGE", "DETECTED",
     "2024-13-01", "2024-01-05", " P1", "P1", "1.5.0", "9.0.0", [], ["IC_FAIL"], {}, "a" * 64,
     float("1e308")]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(PATHS), VALUES, st.booleans())
def test_fast_and_full_validators_agree_on_any_one_change(where, value, delete):
    index, path = where
    document = copy.deepcopy(DOCUMENTS[index])
    parent = document
    for part in path[:-1]:
        parent = parent[part]
    if delete and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    assert _fast_valid(document) == _jsonschema_valid(document)


@pytest.mark.parametrize("golden", GOLDENS, ids=lambda p: p.parent.name)
def test_valid_goldens_pass_the_fast_check(golden):
    document = json.loads(golden.read_text(encoding="utf-8"))
    assert _fast_valid(document) and _schema_error(document) is None


def test_an_invalid_document_is_worded_by_jsonschema(tmp_path):
    document = json.loads(GOLDENS[1].read_text(encoding="utf-8"))
    call = document["samples"][1]["calls"][0]
    call["status"], call["reasons"] = "NOT_DETECTED", ["NO_COVERAGE"]
    path = tmp_path / "calls.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(InputError, match=r"calls.json, at samples\[1\].calls\[0\].reasons: "):
        load_calls_json(path)
