"""The mutation tester (esr1calls.testing.mutation, scripts/mutate.py): which mutants it makes,
that their identity survives a function moving, that the scope fits the code, and that a run
kills what a test grips and reports what none does."""

from __future__ import annotations

import ast
import json
import textwrap
from pathlib import Path

import pytest

from esr1calls.testing import REPO
from esr1calls.testing.mutation import (
    ScopeError,
    enumerate_mutants,
    load_equivalents,
    load_scope,
    mutate_source,
    run_mutants,
    sample,
    write_report,
)

RULE = '''\
"""A rule."""


def over(x: int, k: int) -> bool:
    """Docstrings and annotations are never mutated."""
    return x >= k


def call(x: int, n: int, excluded: int = 0) -> str:
    if n <= 0 or not x:
        return "none"
    total = x + excluded
    return "yes" if total >= 3 else "no"
'''

SCOPE = """
[settings]
sample_size = 4
seed = 3
timeout_min_seconds = 60

[[module]]
name = "rule"
search = ["pkg"]
functions = ["over", "call"]
tests = ["tests/test_rule.py"]
"""


def make_repo(root: Path, rule: str = RULE, test: str = "") -> Path:
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "rule.py").write_text(rule)
    (root / "tests").mkdir()
    (root / "tests" / "test_rule.py").write_text(textwrap.dedent(test) or "def test_nothing():\n")
    (root / "scope.toml").write_text(SCOPE)
    return root


def descriptions(root: Path) -> set[str]:
    scope = load_scope(root / "scope.toml", root)
    return {f"{m.function} {m.operator} {m.description}" for m in enumerate_mutants(scope)}


def test_each_operator_makes_its_mutants(tmp_path):
    found = descriptions(make_repo(tmp_path))
    # docstrings, annotations, f-string texts and string constants are never mutated
    assert found == {
        "over compare x >= k -> x > k",
        "over compare x >= k -> x < k",
        "over return x >= k -> None",
        "call boolean n <= 0 or not x -> n <= 0 and (not x)",
        "call condition n <= 0 or not x -> n <= 0",
        "call condition n <= 0 or not x -> not x",
        "call condition n <= 0 or not x -> False",
        "call negation not x -> x",
        "call compare n <= 0 -> n < 0",
        "call compare n <= 0 -> n > 0",
        "call constant 0 -> 1",
        "call return 'none' -> None",
        "call arithmetic x + excluded -> x - excluded",
        "call return 'yes' if total >= 3 else 'no' -> None",
        "call condition total >= 3 -> False",
        "call compare total >= 3 -> total > 3",
        "call compare total >= 3 -> total < 3",
        "call constant 3 -> 4",
        "call constant 3 -> 2",
    }


def test_a_mutant_changes_only_its_span(tmp_path):
    root = make_repo(tmp_path)
    scope = load_scope(root / "scope.toml", root)
    source = (root / "pkg" / "rule.py").read_bytes()
    for mutant in enumerate_mutants(scope):
        mutated = mutate_source(source, mutant)
        assert mutated[: mutant.start] == source[: mutant.start]
        assert mutated.endswith(source[mutant.end :])
        assert ast.dump(ast.parse(mutated)) != ast.dump(ast.parse(source))
    boundary = next(
        m for m in enumerate_mutants(scope) if m.description == "total >= 3 -> total > 3"
    )
    namespace: dict[str, object] = {}
    exec(compile(mutate_source(source, boundary), "rule.py", "exec"), namespace)
    assert namespace["call"](2, 100, 1) == "no"  # type: ignore[operator]


def test_mutant_ids_survive_the_function_moving_to_another_file(tmp_path):
    before = make_repo(tmp_path / "before")
    after = make_repo(
        tmp_path / "after", rule="def over(x: int, k: int) -> bool:\n    return x >= k\n"
    )
    (after / "pkg" / "rules.py").write_text(
        "import math\n\n\ndef helper() -> float:\n    return math.pi * 2\n\n\n"
        + RULE.split("\n\n\n", 2)[2]
    )
    old = {m.id: m for m in enumerate_mutants(load_scope(before / "scope.toml", before))}
    new = {m.id: m for m in enumerate_mutants(load_scope(after / "scope.toml", after))}
    assert old.keys() == new.keys()
    moved = [i for i in old if old[i].function == "call"]
    assert moved and all(new[i].path == "pkg/rules.py" != old[i].path for i in moved)
    assert all(new[i].line != old[i].line for i in moved)


def test_a_scope_that_no_longer_fits_the_code_stops_with_what_to_change(tmp_path):
    root = make_repo(tmp_path)
    (root / "scope.toml").write_text(SCOPE.replace('"over", "call"', '"over", "call_it"'))
    with pytest.raises(ScopeError, match="no function matches 'call_it' under pkg"):
        enumerate_mutants(load_scope(root / "scope.toml", root))
    (root / "scope.toml").write_text(SCOPE)
    (root / "pkg" / "copy.py").write_text(RULE)
    with pytest.raises(ScopeError, match=r"over is defined in pkg/copy.py, pkg/rule.py"):
        enumerate_mutants(load_scope(root / "scope.toml", root))
    (root / "scope.toml").write_text(SCOPE.replace('tests = ["tests/test_rule.py"]', ""))
    with pytest.raises(ScopeError, match="'tests' must be a non-empty list"):
        load_scope(root / "scope.toml", root)


def test_an_equivalent_needs_a_reason(tmp_path):
    path = tmp_path / "equivalents.toml"
    path.write_text('[[equivalent]]\nid = "abc"\nfunction = "over"\nmutation = "x"\nreason = " "\n')
    with pytest.raises(ScopeError, match=r"equivalent 1: .*reason"):
        load_equivalents(path)
    path.write_text(
        '[[equivalent]]\nid = "abc"\nfunction = "over"\nmutation = "x"\nreason = "same"\n' * 2
    )
    with pytest.raises(ScopeError, match="id abc is listed twice"):
        load_equivalents(path)


def test_the_sample_is_seeded_and_independent_of_order(tmp_path):
    root = make_repo(tmp_path)
    mutants = enumerate_mutants(load_scope(root / "scope.toml", root))
    first = sample(mutants, 5, 3)
    assert first == sample(list(reversed(mutants)), 5, 3)
    assert len(first) == 5 and first != sample(mutants, 5, 4)


def test_a_run_kills_what_the_tests_grip_and_reports_the_rest(tmp_path):
    test = """
        from pkg.rule import call, over

        NO_DEPTH = call(1, 0)  # at import: a mutant breaking it fails the collection (exit 4)
        assert NO_DEPTH == "none"

        def test_boundary():
            assert over(3, 3) and not over(2, 3)
            assert call(2, 100) == "no" and call(3, 100) == "yes"
    """
    root = make_repo(tmp_path / "repo", test=test)
    scope = load_scope(root / "scope.toml", root)
    mutants = [
        m
        for m in enumerate_mutants(scope)
        if m.description
        in ("x >= k -> x > k", "x + excluded -> x - excluded", "n <= 0 or not x -> False")
    ]
    equivalent = next(m for m in enumerate_mutants(scope) if m.description == "n <= 0 -> n < 0")
    (tmp_path / "eq.toml").write_text(
        f'[[equivalent]]\nid = "{equivalent.id}"\nfunction = "call"\nmutation = "n <= 0"\n'
        'reason = "n is never 0 in this test"\n'
    )
    outcomes, baseline = run_mutants(
        scope, [*mutants, equivalent], load_equivalents(tmp_path / "eq.toml"), jobs=2
    )
    status = {o.mutant.description: o.status for o in outcomes}
    assert status == {
        "x >= k -> x > k": "killed",  # the boundary test grips it
        "n <= 0 or not x -> False": "killed",  # the test module cannot even be imported
        "x + excluded -> x - excluded": "survived",  # no test gives excluded reads
        "n <= 0 -> n < 0": "equivalent",
    }
    assert (root / "pkg" / "rule.py").read_text() == RULE  # the repository is never edited
    text = write_report(outcomes, baseline, [], tmp_path / "report", "t", 1.0)
    assert "rule                 2       3   66.7%        4      1" in text
    assert "pkg/rule.py:12  call  arithmetic  x + excluded -> x - excluded" in text
    document = json.loads((tmp_path / "report" / "report.json").read_text())
    assert document["modules"][0]["survivors"][0]["function"] == "call"


def test_a_failing_unmutated_run_stops_everything(tmp_path):
    root = make_repo(tmp_path, test="def test_broken():\n    assert False\n")
    scope = load_scope(root / "scope.toml", root)
    with pytest.raises(ScopeError, match="fail without any mutant"):
        run_mutants(scope, enumerate_mutants(scope)[:1], {})


def test_the_repository_scope_names_functions_that_exist():
    """If this fails, a rule function was renamed or moved out of its module's search folders:
    update scripts/mutation_scope.toml (the error names the function)."""
    scope = load_scope(REPO / "scripts" / "mutation_scope.toml", REPO)
    mutants = enumerate_mutants(scope)
    assert {m.module for m in mutants} == {"stats", "ngs rule", "pcr rules", "count rules"}
    equivalents = load_equivalents(REPO / "scripts" / "mutation_equivalents.toml")
    assert all(e.reason for e in equivalents.values())
