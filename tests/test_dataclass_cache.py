"""The kept code of the dataclass methods (esr1calls/_dataclass_cache.py): a class made from the
cache is the class ``@dataclass`` makes without it, and no cache file, however damaged, foreign
or unwritable, changes a class or stops a command."""

from __future__ import annotations

import dataclasses
import json
import marshal
import os
import subprocess
import sys
from pathlib import Path

import pytest

from esr1calls import _dataclass_cache
from esr1calls._dataclass_cache import _HEADER, _ModuleCache, cache_path

REPO = Path(__file__).resolve().parents[1]

# every dataclass method of the package, as a fingerprint of what it does and how it was
# compiled (bytecode, constants, names, annotations, defaults), printed as JSON; with "bare", the
# cache is taken out right after `import esr1calls` (which makes no dataclass), so every class
# is made by dataclasses' own exec
_FINGERPRINTS = """
import builtins, dataclasses, importlib, inspect, json, pkgutil, sys
import esr1calls
from esr1calls import _dataclass_cache
if sys.argv[1] == "bare":
    dataclasses.exec = builtins.exec
for module in pkgutil.walk_packages(esr1calls.__path__, "esr1calls."):
    importlib.import_module(module.name)
prints = {}
for name, module in sorted(sys.modules.items()):
    if not name.startswith("esr1calls."):
        continue
    for _, cls in inspect.getmembers(module, inspect.isclass):
        if not dataclasses.is_dataclass(cls) or cls.__module__ != name:
            continue
        for method, function in sorted(vars(cls).items()):
            code = getattr(function, "__code__", None)
            if code is None or code.co_filename != "<string>":
                continue  # written in the module, not by dataclasses
            prints[f"{name}.{cls.__qualname__}.{method}"] = [
                code.co_code.hex(), repr(code.co_consts), code.co_names, code.co_varnames,
                code.co_freevars, code.co_flags, code.co_firstlineno, function.__qualname__,
                repr(function.__annotations__), repr(function.__defaults__),
                repr(function.__kwdefaults__),
            ]
kept = sum(len(c.codes) for c in _dataclass_cache._modules.values())
compiled = sorted(n for n, c in _dataclass_cache._modules.items() if c.changed)
print(json.dumps({"prints": prints, "kept": kept, "compiled": compiled}))
"""


def _python(
    tmp_path: Path, code: str, *args: str, write: bool = True
) -> subprocess.CompletedProcess:
    """A fresh interpreter whose bytecode caches (and so the dataclass caches) go under
    tmp_path/pycache, never into the repository."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(tmp_path / "pycache")
    if not write:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    return done


def _fingerprints(tmp_path: Path, mode: str) -> dict:
    return json.loads(_python(tmp_path, _FINGERPRINTS, mode).stdout)


def test_classes_made_from_the_cache_are_those_dataclasses_makes(tmp_path):
    bare = _fingerprints(tmp_path, "bare")
    assert bare["kept"] == 0 and len(bare["prints"]) > 300  # every class, none from the cache
    first = _fingerprints(tmp_path, "cached")  # compiles each method once and keeps it
    assert first["compiled"] and first["kept"] >= len(bare["prints"])
    again = _fingerprints(tmp_path, "cached")  # every method from the cache file
    assert again["compiled"] == []
    assert first["prints"] == bare["prints"]
    assert again["prints"] == bare["prints"]


def test_a_command_run_twice_compiles_no_method_the_second_time(tmp_path):
    run = (
        "import sys; from esr1calls.cli import main; from esr1calls import _dataclass_cache as c\n"
        "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
        "print(sorted(n for n, m in c._modules.items() if m.changed), file=sys.stderr)"
    )
    vcf = str(REPO / "testdata/vcf/mutect2/esr1_tumour_normal.vcf")
    outputs = []
    for turn in range(2):
        out = tmp_path / f"out{turn}"
        done = _python(tmp_path, run, "ngs", vcf, "-o", str(out), "--reproducible")
        outputs.append((out / "calls.tsv").read_text())
        compiled = done.stderr.strip().splitlines()[-1]
        assert (compiled == "[]") == (turn == 1), compiled
    assert outputs[0] == outputs[1]
    kept = list((tmp_path / "pycache").rglob("*.dataclasses"))
    assert {p.name for p in kept} >= {
        "model.cpython-311.dataclasses".replace("cpython-311", sys.implementation.cache_tag)
    }


def test_nothing_is_written_under_pythondontwritebytecode(tmp_path):
    _python(tmp_path, "import esr1calls.model", write=False)
    assert list((tmp_path / "pycache").rglob("*.dataclasses")) == []


def test_an_unwritable_cache_place_is_no_error(tmp_path):
    (tmp_path / "pycache").write_text("a file where the cache folder would be\n")
    done = _python(tmp_path, "import esr1calls.model; print('made')")
    assert done.stdout == "made\n" and done.stderr == ""


def _source_and_code():
    source = "def __create_fn__():\n def f(self):\n  return 1\n return f"
    return source, compile(source, "<string>", "exec", dont_inherit=True)


@pytest.mark.parametrize(
    "content",
    [
        b"",
        _HEADER[:5],  # cut in the header
        b"\x00" * 4 + _HEADER[4:] + marshal.dumps({}),  # another Python's magic
        _HEADER + marshal.dumps({"x": _source_and_code()[1]})[:-3],  # cut in the codes
        _HEADER + b"\xff garbage",
        _HEADER + marshal.dumps(["not", "a", "dict"]),
        _HEADER + marshal.dumps({_source_and_code()[0]: "not a code"}),
        _HEADER + marshal.dumps({1: _source_and_code()[1]}),
    ],
    ids=["empty", "cut-header", "other-python", "cut-codes", "garbage", "list",
         "text-for-code", "number-for-source"],
)  # fmt: skip
def test_a_damaged_or_foreign_cache_file_is_read_as_empty_and_rewritten(tmp_path, content):
    path = tmp_path / "module.cpython-311.dataclasses"
    path.write_bytes(content)
    cache = _ModuleCache(path)
    assert cache.codes == {}
    source, code = _source_and_code()
    assert cache.code(source) == code and cache.changed
    cache.save(force=True)
    assert _ModuleCache(path).codes == {source: code}


def test_a_kept_code_is_used_only_for_its_exact_source(tmp_path):
    path = tmp_path / "module.dataclasses"
    source, code = _source_and_code()
    path.write_bytes(_HEADER + marshal.dumps({source: code}))
    cache = _ModuleCache(path)
    assert cache.code(source) is cache.codes[source] and not cache.changed
    other = source.replace("return 1", "return 2")
    assert cache.code(other) == compile(other, "<string>", "exec", dont_inherit=True)
    assert cache.changed  # a new source is compiled, and kept beside the old one
    cache.save(force=True)
    assert set(_ModuleCache(path).codes) == {source, other}


def test_a_file_grown_by_many_edits_keeps_what_the_run_used(tmp_path, monkeypatch):
    monkeypatch.setattr(_dataclass_cache, "_MAX_ENTRIES", 2)
    path = tmp_path / "module.dataclasses"
    sources = [_source_and_code()[0].replace("return 1", f"return {n}") for n in range(3)]
    cache = _ModuleCache(path)
    for source in sources:
        cache.code(source)
    cache.used = {sources[2]}
    cache.save(force=True)
    assert set(_ModuleCache(path).codes) == {sources[2]}


def test_other_modules_dataclasses_are_not_kept():
    assert dataclasses.exec is _dataclass_cache._exec  # installed by `import esr1calls`
    before = dict(_dataclass_cache._modules)

    @dataclasses.dataclass(frozen=True)
    class Outside:  # made in tests.test_dataclass_cache, not in the package
        value: int = 1

    assert Outside() == Outside(1) and hash(Outside()) == hash(Outside(1))
    assert _dataclass_cache._modules == before


def test_the_cache_lies_beside_the_modules_bytecode():
    import esr1calls.model

    path = cache_path(esr1calls.model.__file__)
    assert path is not None and path.name == f"model.{sys.implementation.cache_tag}.dataclasses"
    assert path.parent.name == "__pycache__" or sys.pycache_prefix
    assert cache_path(None) is None and cache_path("module.so") is None
