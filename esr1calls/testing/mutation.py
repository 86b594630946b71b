"""Mutation testing of the rule modules: a small AST mutator and its runner (scripts/mutate.py).

Each mutant changes one thing in one function the scope file names (a comparison, a boolean, an
arithmetic operator, a constant, a return value, a negation, a condition) and runs that module's
tests against it: a test failing "kills" it; all passing means no test grips that line.

A mutant is named by what it changes, never by where: the function's qualified name, the operator,
the original and mutated code, and which occurrence of that same change in the function it is
(``call_hotspot: high + counts.excluded_alt >= k -> high + counts.excluded_alt > k``). So its
identity, and a reviewed equivalent's entry, survive a function moving to another file or code
above it changing; the file is found at run time by searching the scope's folders for the name.

The repository is never edited: each worker runs in its own copy of ``esr1calls/`` and
``tests/`` (everything else linked), writes the mutant there, and restores the file after.
"""

from __future__ import annotations

import ast
import contextlib
import fnmatch
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

__all__ = [
    "Equivalent",
    "Mutant",
    "Outcome",
    "Scope",
    "ScopeError",
    "enumerate_mutants",
    "load_equivalents",
    "load_scope",
    "mutate_source",
    "run_mutants",
    "sample",
    "write_report",
]

OPERATORS = ("compare", "boolean", "arithmetic", "constant", "return", "negation", "condition")

_COMPARE_SWAPS: dict[type[ast.cmpop], tuple[type[ast.cmpop], ...]] = {
    ast.Lt: (ast.LtE, ast.GtE),
    ast.LtE: (ast.Lt, ast.Gt),
    ast.Gt: (ast.GtE, ast.LtE),
    ast.GtE: (ast.Gt, ast.Lt),
    ast.Eq: (ast.NotEq,),
    ast.NotEq: (ast.Eq,),
    ast.Is: (ast.IsNot,),
    ast.IsNot: (ast.Is,),
    ast.In: (ast.NotIn,),
    ast.NotIn: (ast.In,),
}
_ARITHMETIC_SWAPS: dict[type[ast.operator], type[ast.operator]] = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.Div,
    ast.Div: ast.Mult,
    ast.FloorDiv: ast.Div,
    ast.Mod: ast.FloorDiv,
    ast.Pow: ast.Mult,
}


class ScopeError(Exception):
    """The scope or equivalents file does not fit the code; the message says what to change."""


@dataclass(frozen=True)
class Module:
    """One rule module of the scope: where its functions are looked for, and its tests."""

    name: str
    search: tuple[str, ...]
    functions: tuple[str, ...]
    tests: tuple[str, ...]


@dataclass(frozen=True)
class Scope:
    root: Path
    modules: tuple[Module, ...]
    sample_size: int = 120
    seed: int = 11
    timeout_factor: float = 4.0
    timeout_min_seconds: float = 30.0


@dataclass(frozen=True)
class Mutant:
    id: str
    module: str
    function: str  # qualified name: "call_hotspot", "NgsSettings.background"
    operator: str
    original: str
    mutated: str
    occurrence: int
    path: str  # relative to the root, as resolved this run
    line: int
    start: int  # byte offsets of the replaced span in the file
    end: int
    replacement: str

    @property
    def description(self) -> str:
        return f"{_short(self.original)} -> {_short(self.mutated)}"


@dataclass(frozen=True)
class Equivalent:
    id: str
    function: str
    mutation: str
    reason: str


@dataclass
class Outcome:
    mutant: Mutant
    status: str  # killed | survived | timeout | equivalent
    seconds: float
    detail: str = ""


def _short(text: str, limit: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _strings(table: dict[str, object], key: str, where: str) -> tuple[str, ...]:
    value = table.get(key)
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise ScopeError(f"{where}: '{key}' must be a non-empty list of strings")
    return tuple(value)


def load_scope(path: Path, root: Path) -> Scope:
    """Read the scope file (TOML): ``[settings]`` and one ``[[module]]`` table per rule module."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ScopeError(f"{path}: {error}") from None
    settings = data.get("settings", {})
    modules = []
    for number, table in enumerate(data.get("module", []), 1):
        where = f"{path.name}, module {number}"
        name = table.get("name")
        if not isinstance(name, str) or not name:
            raise ScopeError(f"{where}: 'name' is missing")
        modules.append(
            Module(
                name,
                _strings(table, "search", where),
                _strings(table, "functions", where),
                _strings(table, "tests", where),
            )
        )
    if not modules:
        raise ScopeError(f"{path}: no [[module]] table")
    return Scope(
        root,
        tuple(modules),
        int(settings.get("sample_size", 120)),
        int(settings.get("seed", 11)),
        float(settings.get("timeout_factor", 4.0)),
        float(settings.get("timeout_min_seconds", 30.0)),
    )


def load_equivalents(path: Path) -> dict[str, Equivalent]:
    """The reviewed equivalent mutants: each ``[[equivalent]]`` has id, function, mutation and a
    one-line reason (an entry without a reason is refused: equivalence is a claim to justify)."""
    if not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ScopeError(f"{path}: {error}") from None
    found: dict[str, Equivalent] = {}
    for number, table in enumerate(data.get("equivalent", []), 1):
        values = [table.get(key) for key in ("id", "function", "mutation", "reason")]
        if not all(isinstance(v, str) and v.strip() for v in values):
            raise ScopeError(
                f"{path.name}, equivalent {number}: id, function, mutation and reason are all "
                "needed (the reason says in one line why no test can tell the mutant apart)"
            )
        entry = Equivalent(*(str(v).strip() for v in values))
        if entry.id in found:
            raise ScopeError(f"{path.name}, equivalent {number}: id {entry.id} is listed twice")
        found[entry.id] = entry
    return found


# --- finding the functions -------------------------------------------------------------------


def _python_files(root: Path, search: str) -> list[Path]:
    place = root / search
    if place.is_file():
        return [place]
    if not place.is_dir():
        raise ScopeError(f"scope: search path {search} does not exist under {root}")
    return sorted(p for p in place.rglob("*.py") if "__pycache__" not in p.parts)


def _functions(tree: ast.Module) -> Iterator[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    """Top-level functions and class methods with their qualified names (nested functions are
    mutated as part of the function that holds them)."""
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node.name, node
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                    yield f"{node.name}.{item.name}", item


def resolve(
    scope: Scope, module: Module
) -> list[tuple[Path, str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    """The functions the module's patterns name, each found in exactly one file of its search."""
    candidates: dict[str, list[tuple[Path, ast.FunctionDef | ast.AsyncFunctionDef]]] = {}
    for search in module.search:
        for path in _python_files(scope.root, search):
            tree = ast.parse(path.read_bytes(), filename=str(path))
            for qualname, node in _functions(tree):
                candidates.setdefault(qualname, []).append((path, node))
    chosen: dict[str, tuple[Path, ast.FunctionDef | ast.AsyncFunctionDef]] = {}
    for pattern in module.functions:
        names = [name for name in candidates if fnmatch.fnmatchcase(name, pattern)]
        if not names:
            raise ScopeError(
                f"scope, module {module.name!r}: no function matches {pattern!r} under "
                f"{', '.join(module.search)}; it was renamed or moved out: update the scope file"
            )
        for name in names:
            places = candidates[name]
            if len(places) > 1:
                files = ", ".join(str(p.relative_to(scope.root)) for p, _ in places)
                raise ScopeError(
                    f"scope, module {module.name!r}: {name} is defined in {files}; "
                    "narrow the module's search folders"
                )
            chosen[name] = places[0]
    return [(path, name, node) for name, (path, node) in chosen.items()]


# --- the operators ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Change:
    operator: str
    node: ast.expr | ast.stmt  # the span replaced
    original: str
    mutated: str
    replacement: str  # the text written in place of the span


def _unparse(node: ast.AST) -> str:
    return ast.unparse(node)


def _with(node: ast.AST, **fields: object) -> ast.AST:
    copy = type(node)(**{name: getattr(node, name) for name in node._fields})
    for name, value in fields.items():
        setattr(copy, name, value)
    return copy


def _constant_tweaks(value: object) -> list[object]:
    if isinstance(value, bool):
        return [not value]
    if isinstance(value, int):
        if value in (0, 1):
            return [1 - value]
        return [value + 1, value - 1]
    if isinstance(value, float):
        if value in (0.0, 1.0):
            return [1.0 - value]
        return [value * 1.1]
    return []


def _changes(node: ast.AST, parent: ast.AST | None) -> Iterator[_Change]:
    if isinstance(node, ast.Compare):
        for index, op in enumerate(node.ops):
            for swap in _COMPARE_SWAPS.get(type(op), ()):
                ops = list(node.ops)
                ops[index] = swap()
                text = _unparse(_with(node, ops=ops))
                yield _Change("compare", node, _unparse(node), text, f"({text})")
    elif isinstance(node, ast.BoolOp):
        other = ast.Or() if isinstance(node.op, ast.And) else ast.And()
        text = _unparse(_with(node, op=other))
        yield _Change("boolean", node, _unparse(node), text, f"({text})")
        for index in range(len(node.values)):
            rest = node.values[:index] + node.values[index + 1 :]
            kept = rest[0] if len(rest) == 1 else _with(node, values=rest)
            text = _unparse(kept)
            yield _Change("condition", node, _unparse(node), text, f"({text})")
    elif isinstance(node, ast.BinOp) and type(node.op) in _ARITHMETIC_SWAPS:
        text = _unparse(_with(node, op=_ARITHMETIC_SWAPS[type(node.op)]()))
        yield _Change("arithmetic", node, _unparse(node), text, f"({text})")
    elif isinstance(node, ast.AugAssign) and type(node.op) in _ARITHMETIC_SWAPS:
        text = _unparse(_with(node, op=_ARITHMETIC_SWAPS[type(node.op)]()))
        yield _Change("arithmetic", node, _unparse(node), text, text)
    elif isinstance(node, ast.Constant) and not isinstance(parent, ast.UnaryOp):
        for value in _constant_tweaks(node.value):
            yield _Change("constant", node, repr(node.value), repr(value), f"({value!r})")
    elif isinstance(node, ast.UnaryOp) and isinstance(node.operand, ast.Constant):
        value = node.operand.value
        if isinstance(node.op, ast.USub) and isinstance(value, int | float):
            for tweak in _constant_tweaks(-value):
                yield _Change("constant", node, _unparse(node), repr(tweak), f"({tweak!r})")
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not | ast.USub):
        text = _unparse(node.operand)
        yield _Change("negation", node, _unparse(node), text, f"({text})")
    elif isinstance(node, ast.Return) and node.value is not None:
        value = node.value
        if not (isinstance(value, ast.Constant) and value.value is None):
            yield _Change("return", value, _unparse(value), "None", "None")
    elif isinstance(node, ast.If | ast.IfExp | ast.While):
        test = node.test
        if not (isinstance(test, ast.Constant) and isinstance(test.value, bool)):
            yield _Change("condition", test, _unparse(test), "False", "False")


def _walk(node: ast.AST, parent: ast.AST | None = None) -> Iterator[tuple[ast.AST, ast.AST | None]]:
    """Every node of a function body in source order, leaving out what is never run as code:
    annotations, the texts of f-strings, docstrings."""
    yield node, parent
    for name, value in ast.iter_fields(node):
        if name in ("annotation", "returns", "type_comment"):
            continue
        if isinstance(node, ast.JoinedStr):
            continue
        children = value if isinstance(value, list) else [value]
        for child in children:
            if isinstance(child, ast.AST):
                yield from _walk(child, node)


def _body(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.stmt]:
    body = list(function.body)
    first = body[0] if body else None
    if (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    ):
        body = body[1:]
    return body


def _offsets(source: bytes) -> list[int]:
    starts = [0]
    for index, byte in enumerate(source):
        if byte == 0x0A:
            starts.append(index + 1)
    return starts


def _identity(function: str, change: _Change, occurrence: int) -> str:
    key = f"{function}|{change.operator}|{change.original}|{change.mutated}|{occurrence}"
    return hashlib.sha1(key.encode()).hexdigest()[:10]


def enumerate_mutants(scope: Scope, modules: Sequence[str] = ()) -> list[Mutant]:
    """Every first-order mutant of the scope (or of the named modules), in source order."""
    unknown = set(modules) - {m.name for m in scope.modules}
    if unknown:
        names = ", ".join(m.name for m in scope.modules)
        raise ScopeError(f"no module {', '.join(sorted(unknown))} in the scope; it has: {names}")
    mutants: list[Mutant] = []
    for module in scope.modules:
        if modules and module.name not in modules:
            continue
        for path, qualname, function in resolve(scope, module):
            source = path.read_bytes()
            starts = _offsets(source)
            seen: dict[tuple[str, str, str], int] = {}
            relative = str(path.relative_to(scope.root))
            for statement in _body(function):
                for node, parent in _walk(statement):
                    for change in _changes(node, parent):
                        target = change.node
                        assert target.end_lineno is not None and target.end_col_offset is not None
                        key = (change.operator, change.original, change.mutated)
                        occurrence = seen.get(key, 0)
                        seen[key] = occurrence + 1
                        start = starts[target.lineno - 1] + target.col_offset
                        end = starts[target.end_lineno - 1] + target.end_col_offset
                        mutants.append(
                            Mutant(
                                _identity(qualname, change, occurrence),
                                module.name,
                                qualname,
                                change.operator,
                                change.original,
                                change.mutated,
                                occurrence,
                                relative,
                                target.lineno,
                                start,
                                end,
                                change.replacement,
                            )
                        )
    return mutants


def mutate_source(source: bytes, mutant: Mutant) -> bytes:
    """The file's text with the mutant applied; the result is checked to be valid Python."""
    mutated = source[: mutant.start] + mutant.replacement.encode() + source[mutant.end :]
    ast.parse(mutated)
    return mutated


def sample(mutants: Sequence[Mutant], size: int, seed: int) -> list[Mutant]:
    """A seeded sample, the same for the same mutants whatever their order or file."""
    ordered = sorted(mutants, key=lambda m: m.id)
    if size >= len(ordered):
        return ordered
    chosen = random.Random(seed).sample(ordered, size)
    return sorted(chosen, key=lambda m: (m.module, m.path, m.start, m.id))


# --- running ---------------------------------------------------------------------------------

_NOT_LINKED = {".git", ".venv", "__pycache__", ".pytest_cache", ".mypy_cache", ".hypothesis"}

# A pytest plugin for the unmutated run: which scope functions each test calls (through its
# fixtures too: a module-scoped fixture runs once, for the first test that asks for it).
_TRACER = """
import json, os, sys, threading, time
import pytest

_TARGETS = {tuple(t) for t in json.loads(os.environ["MUTATION_TRACE_TARGETS"])}
_FILES = {f for f, _ in _TARGETS}
_stack = [set()]
_tests, _fixtures = {}, {}


def _profile(frame, event, arg):
    if event == "call":
        code = frame.f_code
        if code.co_filename in _FILES and (code.co_filename, code.co_qualname) in _TARGETS:
            _stack[-1].add(code.co_qualname)


@pytest.hookimpl(hookwrapper=True)
def pytest_fixture_setup(fixturedef, request):
    _stack.append(set())
    yield
    seen = _stack.pop()
    _fixtures.setdefault(fixturedef.argname, set()).update(seen)
    _stack[-1].update(seen)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    _stack[:] = [set()]
    began = time.perf_counter()
    sys.setprofile(_profile)
    threading.setprofile(_profile)
    yield
    sys.setprofile(None)
    threading.setprofile(None)
    seconds = time.perf_counter() - began
    _tests[item.nodeid] = (_stack[0], list(getattr(item, "fixturenames", ())), seconds)


def pytest_sessionfinish(session):
    found = {}
    for nodeid, (seen, fixtures, seconds) in _tests.items():
        for name in fixtures:
            seen |= _fixtures.get(name, set())
        found[nodeid] = [seconds, sorted(seen)]
    with open(os.environ["MUTATION_TRACE_OUT"], "w") as out:
        json.dump(found, out)
"""


# Loaded into every run: a slow machine must not kill a mutant by a hypothesis deadline.
_NO_DEADLINE = """
from hypothesis import settings

settings.register_profile("mutation", deadline=None)
settings.load_profile("mutation")
"""


def _make_worker(scope: Scope, parent: Path, number: int) -> Path:
    """A copy of the folders holding the scope's code and tests; the rest of the root linked."""
    copied = {Path(p).parts[0] for m in scope.modules for p in (*m.search, *m.tests)}
    worker = parent / f"worker{number}"
    worker.mkdir()
    for entry in scope.root.iterdir():
        if entry.name in copied:
            shutil.copytree(entry, worker / entry.name, ignore=shutil.ignore_patterns("*.pyc"))
        elif entry.name not in _NOT_LINKED and not entry.name.endswith(".egg-info"):
            (worker / entry.name).symlink_to(entry)
    (worker / "_mutation_trace.py").write_text(_TRACER, encoding="utf-8")
    (worker / "_mutation_no_deadline.py").write_text(_NO_DEADLINE, encoding="utf-8")
    return worker


def _test_command(tests: Sequence[str], doctests: bool) -> list[str]:
    command = [sys.executable, "-m", "pytest", "-x", "-q", "--no-header", "-p", "no:cacheprovider"]
    command += ["-o", "addopts=", "-W", "error", "-p", "_mutation_no_deadline"]
    return command + (["--doctest-modules"] if doctests else []) + list(tests)


def _forget_bytecode(path: Path) -> None:
    for cached in (path.parent / "__pycache__").glob(f"{path.stem}.*.pyc"):
        cached.unlink(missing_ok=True)


class _Runner:
    """Runs pytest in a worker; every process still running is killed on interrupt."""

    def __init__(self) -> None:
        self.running: set[subprocess.Popen[str]] = set()
        self.lock = threading.Lock()
        self.stopped = threading.Event()

    def stop(self) -> None:
        self.stopped.set()
        with self.lock:
            for process in self.running:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)

    def run(
        self,
        worker: Path,
        tests: Sequence[str],
        doctests: bool,
        timeout: float,
        extra_env: dict[str, str] | None = None,
    ) -> tuple[str, float, str]:
        env = {**os.environ, "PYTHONPATH": str(worker), **(extra_env or {})}
        env.pop("ESR1CALLS_UPDATE_GOLDEN", None)
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # the unmutated modules' bytecode is reused
        began = time.monotonic()
        process = subprocess.Popen(
            _test_command(tests, doctests), cwd=worker, env=env, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
        )  # fmt: skip
        with self.lock:
            self.running.add(process)
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            return "timeout", time.monotonic() - began, f"no result within {timeout:.0f} s"
        finally:
            with self.lock:
                self.running.discard(process)
        seconds = time.monotonic() - began
        if self.stopped.is_set():
            return "interrupted", seconds, ""
        last = (stdout.strip().splitlines() or [""])[-1]
        if process.returncode == 0:
            return "survived", seconds, last
        failed = [line for line in stdout.splitlines() if line.startswith(("FAILED", "ERROR"))]
        # exit 4 ("found no collectors") after a test module failed to import: the mutant broke
        # the import itself, which is a kill; any other exit 4 or 5 is the tool's fault
        broke_import = process.returncode == 4 and "ERROR collecting" in stdout
        if process.returncode in (1, 2, 3) or broke_import:
            return "killed", seconds, (failed or [last])[0]
        return "error", seconds, f"pytest exit {process.returncode}: {(stderr or last)[-300:]}"


def _trace(
    runner: _Runner, worker: Path, module: Module, targets: Sequence[tuple[str, str]]
) -> tuple[float, dict[str, tuple[float, list[str]]]]:
    """The module's tests unmutated, traced: their time, and each test's time and the scope
    functions it calls."""
    out = worker / f"trace-{hashlib.sha1(module.name.encode()).hexdigest()[:8]}.json"
    env = {
        "MUTATION_TRACE_TARGETS": json.dumps([[str(worker / f), q] for f, q in targets]),
        "MUTATION_TRACE_OUT": str(out),
    }
    doctests = any(t.startswith("esr1calls/") for t in module.tests)
    tests = ["-p", "_mutation_trace", *module.tests]
    status, seconds, detail = runner.run(worker, tests, doctests, 3600, env)
    if status != "survived" or not out.exists():
        raise ScopeError(
            f"the tests of module {module.name!r} fail without any mutant ({detail}); "
            "fix them before mutation testing"
        )
    calls: dict[str, tuple[float, list[str]]] = json.loads(out.read_text(encoding="utf-8"))
    return seconds, calls


def run_mutants(
    scope: Scope,
    mutants: Sequence[Mutant],
    equivalents: dict[str, Equivalent],
    jobs: int = 1,
    progress: Callable[[Outcome, int, int], None] | None = None,
) -> tuple[list[Outcome], dict[str, float]]:
    """Run each non-equivalent mutant against the tests of its module that call its function.

    The module's tests run once unmutated first, traced, which gives each function's tests, the
    quickest first (a mutant whose function no test calls survives without a run) and the
    baseline time; if they fail, nothing is run. Returns the outcomes and the baseline times."""
    modules = {m.name: m for m in scope.modules}
    outcomes: list[Outcome] = [
        Outcome(m, "equivalent", 0.0, equivalents[m.id].reason)
        for m in mutants
        if m.id in equivalents
    ]
    todo = [m for m in mutants if m.id not in equivalents]
    runner = _Runner()
    with tempfile.TemporaryDirectory(prefix="esr1calls-mutation-") as temp:
        workers = [_make_worker(scope, Path(temp), n) for n in range(max(1, jobs))]
        baseline: dict[str, float] = {}
        tests_of: dict[tuple[str, str], list[str]] = {}
        for name in sorted({m.module for m in todo}):
            targets = sorted({(m.path, m.function) for m in todo if m.module == name})
            seconds, calls = _trace(runner, workers[0], modules[name], targets)
            baseline[name] = seconds
            # the quickest tests first: with -x, a mutant one of them kills costs little
            for nodeid, (_, functions) in sorted(calls.items(), key=lambda c: c[1][0]):
                for function in functions:
                    tests_of.setdefault((name, function), []).append(nodeid)
        free = list(workers)
        lock = threading.Lock()
        done = [0]

        def one(mutant: Mutant) -> Outcome:
            tests = tests_of.get((mutant.module, mutant.function), [])
            if runner.stopped.is_set():
                return Outcome(mutant, "interrupted", 0.0)
            if not tests:
                outcome = Outcome(mutant, "survived", 0.0, "no test calls this function")
            else:
                with lock:
                    worker = free.pop()
                target = worker / mutant.path
                original = target.read_bytes()
                try:
                    target.write_bytes(mutate_source(original, mutant))
                    _forget_bytecode(target)
                    limit = max(
                        scope.timeout_min_seconds, scope.timeout_factor * baseline[mutant.module]
                    )
                    doctests = any(t.startswith("esr1calls/") for t in tests)
                    status, seconds, detail = runner.run(worker, tests, doctests, limit)
                finally:
                    target.write_bytes(original)
                    _forget_bytecode(target)
                    with lock:
                        free.append(worker)
                outcome = Outcome(mutant, status, seconds, detail)
            with lock:
                done[0] += 1
                if progress is not None and outcome.status != "interrupted":
                    progress(outcome, done[0], len(todo))
            return outcome

        with ThreadPoolExecutor(max_workers=len(workers)) as pool:
            futures = [pool.submit(one, m) for m in todo]
            try:
                outcomes.extend(f.result() for f in futures)
            except BaseException:
                runner.stop()
                for future in futures:
                    future.cancel()
                raise
    return outcomes, baseline


# --- the report ------------------------------------------------------------------------------


@dataclass
class ModuleScore:
    module: str
    total: int = 0
    equivalent: int = 0
    killed: int = 0
    survived: int = 0
    errors: int = 0
    seconds: float = 0.0
    survivors: list[dict[str, object]] = field(default_factory=list)

    @property
    def non_equivalent(self) -> int:
        return self.total - self.equivalent

    @property
    def score(self) -> float | None:
        return None if not self.non_equivalent else 100.0 * self.killed / self.non_equivalent


def score(outcomes: Sequence[Outcome]) -> list[ModuleScore]:
    by_module: dict[str, ModuleScore] = {}
    for outcome in outcomes:
        mutant = outcome.mutant
        entry = by_module.setdefault(mutant.module, ModuleScore(mutant.module))
        entry.total += 1
        entry.seconds += outcome.seconds
        if outcome.status == "equivalent":
            entry.equivalent += 1
        elif outcome.status in ("killed", "timeout"):
            entry.killed += 1
        else:
            entry.survived += outcome.status == "survived"
            entry.errors += outcome.status == "error"
            entry.survivors.append(
                {**asdict(mutant), "status": outcome.status, "detail": outcome.detail}
            )
    return [by_module[name] for name in sorted(by_module)]


def write_report(
    outcomes: Sequence[Outcome],
    baseline: dict[str, float],
    stale: Sequence[Equivalent],
    directory: Path,
    title: str,
    wall_seconds: float,
) -> str:
    """report.txt and report.json in ``directory``; returns the text."""
    scores = score(outcomes)
    lines = [f"# {title}", ""]
    lines.append(
        f"{'module':<14} {'killed':>7} {'non-eq':>7} {'score':>7} {'mutants':>8} "
        f"{'equiv':>6} {'seconds':>8}"
    )
    for entry in scores:
        shown = "-" if entry.score is None else f"{entry.score:.1f}%"
        lines.append(
            f"{entry.module:<14} {entry.killed:>7} {entry.non_equivalent:>7} {shown:>7} "
            f"{entry.total:>8} {entry.equivalent:>6} {entry.seconds:>8.0f}"
        )
    lines.append(f"wall time {wall_seconds:.0f} s")
    for entry in scores:
        if entry.survivors:
            lines += ["", f"## survivors in {entry.module}"]
        for survivor in entry.survivors:
            status = "" if survivor["status"] == "survived" else f" [{survivor['status']}]"
            lines.append(
                f"{survivor['path']}:{survivor['line']}  {survivor['function']}  "
                f"{survivor['operator']}  {_short(str(survivor['original']))} -> "
                f"{_short(str(survivor['mutated']))}  id={survivor['id']}{status}"
            )
    if stale:
        lines += ["", "## equivalents that match no mutant any more (remove or re-check them)"]
        lines += [f"{e.id}  {e.function}  {e.mutation}" for e in stale]
    text = "\n".join(lines) + "\n"
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "report.txt").write_text(text, encoding="utf-8")
    document = {
        "title": title,
        "wall_seconds": round(wall_seconds, 1),
        "baseline_seconds": {k: round(v, 2) for k, v in baseline.items()},
        "modules": [
            {
                "module": e.module,
                "total": e.total,
                "equivalent": e.equivalent,
                "non_equivalent": e.non_equivalent,
                "killed": e.killed,
                "survived": e.survived,
                "errors": e.errors,
                "score_percent": None if e.score is None else round(e.score, 1),
                "seconds": round(e.seconds, 1),
                "survivors": e.survivors,
            }
            for e in scores
        ],
        "stale_equivalents": [asdict(e) for e in stale],
    }
    (directory / "report.json").write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    return text
