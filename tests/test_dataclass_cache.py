"""The kept code of the dataclass methods (esr1calls/_dataclass_cache.py): a class made from the
cache is the class ``@dataclass`` makes without it, and no cache file, however damaged, foreign
or unwritable, changes a class or stops a command."""

from __future__ import annotations

import builtins
import dataclasses
import inspect
import json
import marshal
import os
import subprocess
import sys
import typing
import zlib
from pathlib import Path

import pytest

from esr1calls import _dataclass_cache
from esr1calls._dataclass_cache import _HEADER, _ModuleCache, _write, cache_path

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
            if callable(function):
                function = inspect.unwrap(function)  # __repr__ is wrapped by _recursive_repr
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
    """A fresh interpreter whose user cache folder (and so the dataclass caches) is
    tmp_path/cache, never the tester's."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    if not write:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    return done


def _kept(tmp_path: Path) -> set[str]:
    """The modules whose dataclass caches lie in tmp_path's cache folder."""
    return {
        p.name.removesuffix(".dataclasses") for p in (tmp_path / "cache").rglob("*.dataclasses")
    }


def _fingerprints(tmp_path: Path, mode: str) -> dict:
    return json.loads(_python(tmp_path, _FINGERPRINTS, mode).stdout)


def test_classes_made_from_the_cache_are_those_dataclasses_makes(tmp_path):
    bare = _fingerprints(tmp_path, "bare")
    assert bare["kept"] == 0 and len(bare["prints"]) > 600  # every class, none from the cache
    assert sum(key.endswith(".__repr__") for key in bare["prints"]) > 100
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
    assert "esr1calls.model" in _kept(tmp_path)


def test_nothing_is_written_under_pythondontwritebytecode(tmp_path):
    _python(tmp_path, "import esr1calls.model", write=False)
    assert _kept(tmp_path) == set()


def test_an_unwritable_cache_place_is_no_error(tmp_path):
    (tmp_path / "cache").write_text("a file where the cache folder would be\n")
    done = _python(tmp_path, "import esr1calls.model; print('made')")
    assert done.stdout == "made\n" and done.stderr == ""


def _source_and_code(value: int = 1):
    source = f"def __create_fn__():\n def f(self):\n  return {value}\n return f"
    return source, compile(source, "<string>", "exec", dont_inherit=True)


def _cache_file(codes: dict, header: bytes = _HEADER) -> bytes:
    """A cache file as _write makes it, with any header."""
    body = marshal.dumps(codes)
    return header + zlib.crc32(body).to_bytes(4, "little") + len(body).to_bytes(4, "little") + body


def test_a_written_file_is_read_back(tmp_path):
    path = tmp_path / "module.dataclasses"
    source, code = _source_and_code()
    _write(path, {source: code})
    assert path.read_bytes() == _cache_file({source: code})
    assert _ModuleCache(path).codes == {source: code}
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary left


_GOOD = {_source_and_code()[0]: _source_and_code()[1]}


@pytest.mark.parametrize(
    "content",
    [
        b"",
        _HEADER[:5],  # cut in the header
        _cache_file(_GOOD)[: len(_HEADER) + 6],  # cut in the check
        _cache_file(_GOOD)[:-3],  # cut in the codes
        _cache_file(_GOOD, b"\x00" * 4 + _HEADER[4:]),  # another Python's bytecode
        _cache_file(_GOOD, _HEADER[:4] + bytes([7]) + _HEADER[5:]),  # another -O level
        _cache_file(_GOOD)[: len(_HEADER)] + b"\x00" * 8 + _cache_file(_GOOD)[len(_HEADER) + 8 :],
        _HEADER + b"\xff garbage and more garbage",
        _cache_file(["not", "a", "dict"]),
        _cache_file({_source_and_code()[0]: "not a code"}),
        _cache_file({1: _source_and_code()[1]}),
    ],
    ids=["empty", "cut-header", "cut-check", "cut-codes", "other-python", "other-optimisation",
         "wrong-check", "garbage", "list", "text-for-code", "number-for-source"],
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


def test_a_flipped_bit_anywhere_makes_the_file_unread(tmp_path):
    """A damaged file that still unmarshals must not give another method its code: the
    review's case was `alt_count` of AlleleCounts read from the wrong argument."""
    codes = {}
    cache = _ModuleCache(None)
    for source in (_source_and_code(n)[0] for n in range(40)):
        codes[source] = cache.code(source)
    good = _cache_file(codes)
    path = tmp_path / "module.dataclasses"
    for offset in range(len(_HEADER), len(good)):
        for bit in (0, 5):
            damaged = bytearray(good)
            damaged[offset] ^= 1 << bit
            path.write_bytes(bytes(damaged))
            assert _ModuleCache(path).codes == {}, (offset, bit)


def test_whatever_unmarshalling_raises_the_file_is_read_as_empty(tmp_path, monkeypatch):
    path = tmp_path / "module.dataclasses"
    path.write_bytes(_cache_file(_GOOD))
    for error in (SystemError("bad argument to internal function"), ValueError(), EOFError()):

        def broken(data, error=error):
            raise error

        monkeypatch.setattr(_dataclass_cache.marshal, "loads", broken)
        assert _ModuleCache(path).codes == {}


def test_a_failed_write_leaves_the_old_file_whole_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "module.dataclasses"
    path.write_bytes(_cache_file(_GOOD))

    def refused(self, target):
        raise OSError("disk full")

    monkeypatch.setattr(Path, "replace", refused)
    _write(path, {_source_and_code(2)[0]: _source_and_code(2)[1]})
    assert path.read_bytes() == _cache_file(_GOOD)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_a_kept_code_is_used_only_for_its_exact_source(tmp_path):
    path = tmp_path / "module.dataclasses"
    source, code = _source_and_code()
    path.write_bytes(_cache_file({source: code}))
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
    old = {_source_and_code(n)[0]: _source_and_code(n)[1] for n in range(3)}
    path.write_bytes(_cache_file(old))
    cache = _ModuleCache(path)
    assert cache.codes == old
    new_source = _source_and_code(9)[0]
    cache.code(_source_and_code(2)[0])  # kept, and used
    cache.code(new_source)  # compiled: the file is written, with what this run used
    cache.save(force=True)
    assert set(_ModuleCache(path).codes) == {_source_and_code(2)[0], new_source}


def _outside_class():
    @dataclasses.dataclass(frozen=True)
    class Outside:  # made in tests.test_dataclass_cache, not in the package
        value: int = 1
        items: tuple = dataclasses.field(default_factory=tuple)

    return Outside


def test_other_modules_dataclasses_are_made_as_without_the_cache_and_not_kept(monkeypatch):
    """This module has `from __future__ import annotations`: an exec of the text from here
    would have made every other library's __init__ annotations strings ('_type_value')."""
    assert dataclasses.exec is _dataclass_cache._exec  # installed by `import esr1calls`
    before = dict(_dataclass_cache._modules)
    outside = _outside_class()
    assert _dataclass_cache._modules == before
    assert outside() == outside(1, ()) and hash(outside()) == hash(outside(1))
    assert typing.get_type_hints(outside.__init__) == {
        "value": int,
        "items": tuple,
        "return": type(None),
    }
    monkeypatch.setattr(dataclasses, "exec", builtins.exec)
    bare = _outside_class()
    for method in ("__init__", "__eq__", "__setattr__", "__hash__", "__repr__"):
        made, plain = (inspect.unwrap(getattr(c, method)) for c in (outside, bare))
        assert made.__code__ == plain.__code__, method
        assert made.__annotations__ == plain.__annotations__, method
    # a module whose name only begins like the package's is not the package
    namespace: dict = {}
    _dataclass_cache._exec(_source_and_code()[0], {"__name__": "esr1callsx.mod"}, namespace)
    assert "esr1callsx.mod" not in _dataclass_cache._modules and "__create_fn__" in namespace


def test_a_batch_worker_keeps_what_it_compiled(tmp_path):
    """A pool's worker ends without the interpreter's exit handlers: its start-up registers the
    save with multiprocessing's finalisers."""
    run = (
        "import multiprocessing, sys\n"
        "def work():\n"
        "    from esr1calls.batch import _start_worker\n"
        "    _start_worker()\n"
        "    import esr1calls.ngs.vcf_record\n"
        "if __name__ == '__main__':\n"
        "    import esr1calls.batch\n"
        "    process = multiprocessing.get_context('fork').Process(target=work)\n"
        "    process.start(); process.join()\n"
        "    assert process.exitcode == 0 and 'esr1calls.ngs.vcf_record' not in sys.modules\n"
        "    import os; os._exit(0)  # the parent writes nothing of its own at exit\n"
    )
    _python(tmp_path, run)
    assert "esr1calls.ngs.vcf_record" in _kept(tmp_path)


def test_the_cache_lies_in_the_users_cache_folder_never_in_the_installation(monkeypatch, tmp_path):
    tag = sys.implementation.cache_tag
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_path("esr1calls.model") == (
        tmp_path / "esr1calls" / "dataclasses" / tag / "esr1calls.model.dataclasses"
    )
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")  # ignored, as the XDG rules say
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_path("esr1calls.model") == (
        tmp_path
        / "home"
        / ".cache"
        / "esr1calls"
        / "dataclasses"
        / tag
        / "esr1calls.model.dataclasses"
    )
    monkeypatch.setattr(sys, "flags", type("Flags", (), {"optimize": 2})())
    assert cache_path("esr1calls.model").parent.name == f"{tag}.opt-2"  # -OO's code apart

    def homeless():
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setattr(Path, "home", homeless)
    assert cache_path("esr1calls.model") is None  # compiled at each start, as without a cache


def test_the_documented_build_step_writes_every_modules_cache(tmp_path):
    """docs/performance.md's command for a read-only installation writes the caches even under
    PYTHONDONTWRITEBYTECODE, and a later run compiles nothing."""
    documented = "from esr1calls._dataclass_cache import compile_package; compile_package()"
    assert documented in (REPO / "docs/performance.md").read_text()
    _python(tmp_path, documented, write=False)
    kept = {f"esr1calls.{m}" for m in ("model", "ngs.reads", "ngs.rule", "batch", "validate")}
    assert kept <= _kept(tmp_path)
    run = (
        "import esr1calls.cli, esr1calls.ngs.run, esr1calls.pcr.run, esr1calls.batch\n"
        "from esr1calls import _dataclass_cache as c\n"
        "print(sorted(n for n, m in c._modules.items() if m.changed))"
    )
    assert _python(tmp_path, run, write=False).stdout == "[]\n"
