"""calls.json rendering: byte for byte what json.dumps(indent=2) writes, whatever the document."""

from __future__ import annotations

import json
import math
from enum import Enum

import pytest
from hypothesis import given
from hypothesis import strategies as st

from esr1calls.model import CallStatus
from esr1calls.reports.calls_json import _jsonable, render_json
from esr1calls.testing.runs import pcr_run


def _dumps(value: object) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


class Level(int, Enum):
    LOW = 1


PLAIN = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner)
    | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=30,
)  # fmt: skip


@given(PLAIN)
def test_plain_documents_render_as_json_dumps_does(value):
    assert render_json(value) == _dumps(value)


@pytest.mark.parametrize(
    "value",
    [
        {"status": CallStatus.DETECTED},  # a str subclass: json writes its value
        {"level": Level.LOW},  # an int subclass: json writes int.__repr__
        {1: "a", None: "b", 2.5: "c", False: "d"},  # keys json converts to strings
        {"nested": [{"x": (1, [], {}, 'é\u2028"\\')}]},
        [True, False, None, 0, -1, 1e-300, 1.5e300, 0.1 + 0.2, "\x00\x1f"],
    ],
    ids=["str-enum", "int-enum", "non-string-keys", "escapes", "scalars"],
)
def test_unusual_values_render_as_json_dumps_does(value):
    assert render_json(value) == _dumps(value)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, {"x": [math.nan]}, {(1, 2): 1}])
def test_what_json_refuses_is_refused(bad):
    with pytest.raises((ValueError, TypeError)):
        _dumps(bad)
    with pytest.raises((ValueError, TypeError)):
        render_json(bad)


def test_jsonable_plain_values_and_the_rest():
    assert _jsonable({"a": (1, 2.5, None, True, "x"), 3: [math.nan, math.inf]}) == {
        "a": [1, 2.5, None, True, "x"],
        "3": [None, None],
    }
    assert _jsonable(CallStatus.DETECTED) == "DETECTED"
    assert type(_jsonable(True)) is bool and type(_jsonable(Level.LOW)) is int


def test_a_plates_calls_json_is_what_json_dumps_writes():
    from esr1calls.reports.calls_json import to_json_document
    from esr1calls.reports.options import ReportOptions

    document = to_json_document(pcr_run(), ReportOptions("esr1calls pcr", reproducible=True))
    assert render_json(document) == _dumps(document)
