"""A bytecode cache for the methods ``@dataclass`` writes, as ``__pycache__`` is for modules.

``@dataclass`` writes the source of each method it adds (``__init__``, ``__repr__``, ``__eq__``,
``__hash__``, and a frozen class's ``__setattr__`` and ``__delattr__``) and compiles it, at every
import: about 0.7 ms a class on this project's machine, some 35 ms of the 53 classes one
``esr1calls ngs`` imports, a fifth of the whole command (docs/performance.md). Python keeps a
module's bytecode in ``__pycache__`` but not these methods'.

Here the compiled code is kept beside the module's ``.pyc``, keyed by the exact source text
``dataclasses`` asked to run: a hit is the code of that very text, compiled as ``exec`` would
compile it, so the class is the one ``@dataclass`` makes without the cache (tests/test_startup.py
compares them). A missing, stale, damaged or foreign cache file is read as empty; a cache that
cannot be written (read-only installation, ``PYTHONDONTWRITEBYTECODE``) is not written, as with
``.pyc`` files. Only the package's own modules are cached; any other module's dataclasses are
compiled as they always are.
"""

from __future__ import annotations

import atexit
import builtins
import contextlib
import dataclasses
import importlib.util
import marshal
import os
import sys
from pathlib import Path
from types import CodeType
from typing import Any

_PREFIX = __name__.rpartition(".")[0] + "."  # "esr1calls."
# the .pyc's own magic (a change of bytecode) and the optimisation level a code was compiled at
_HEADER = importlib.util.MAGIC_NUMBER + bytes([sys.flags.optimize & 0xFF]) + b"dataclasses\n"
_SUFFIX = ".dataclasses"
_MAX_ENTRIES = 512  # a module's file keeps what its edits made, up to this; then what one run used


class _ModuleCache:
    """The kept code of one module's dataclass methods: loaded from its file on the first
    method, written back at exit when a method was compiled here."""

    __slots__ = ("changed", "codes", "path", "used")

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.codes: dict[str, CodeType] = _load(path) if path else {}
        self.used: set[str] = set()
        self.changed = False

    def code(self, source: str) -> CodeType:
        self.used.add(source)
        code = self.codes.get(source)
        if code is None:
            # dont_inherit: the flags dataclasses' own exec compiles with (this module's
            # `from __future__ import annotations` must not reach the methods' annotations)
            code = compile(source, "<string>", "exec", dont_inherit=True)
            self.codes[source] = code
            self.changed = True
        return code

    def save(self, *, force: bool = False) -> None:
        if not (self.changed and self.path) or (sys.dont_write_bytecode and not force):
            return
        codes = self.codes
        if len(codes) > _MAX_ENTRIES:
            codes = {source: codes[source] for source in self.used}
        temporary = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary.write_bytes(_HEADER + marshal.dumps(codes))
            temporary.replace(self.path)  # whole or not at all, whoever else writes it
        except OSError:  # a read-only installation: compiled at each start, as without a cache
            with contextlib.suppress(OSError):
                temporary.unlink()


def _load(path: Path) -> dict[str, CodeType]:
    """The codes of a cache file; empty when it is missing, damaged or of another Python."""
    try:
        data = path.read_bytes()
    except OSError:
        return {}
    if not data.startswith(_HEADER):
        return {}
    try:
        codes = marshal.loads(memoryview(data)[len(_HEADER) :])
    except (ValueError, EOFError, TypeError):
        return {}
    if not isinstance(codes, dict):
        return {}
    return {
        source: code
        for source, code in codes.items()
        if type(source) is str and type(code) is CodeType
    }


def cache_path(module_file: str | None) -> Path | None:
    """Where a module's dataclass methods are kept: beside its ``.pyc``, or nowhere."""
    if not module_file or not module_file.endswith(".py"):
        return None
    try:
        compiled = importlib.util.cache_from_source(module_file)
    except (NotImplementedError, ValueError):  # no cache_tag: this Python keeps no bytecode
        return None
    return Path(compiled.removesuffix(".pyc") + _SUFFIX)


_modules: dict[str, _ModuleCache] = {}


def _module_cache(name: str, module_globals: dict[str, Any]) -> _ModuleCache:
    cache = _modules.get(name)
    if cache is None:
        cache = _modules[name] = _ModuleCache(cache_path(module_globals.get("__file__")))
    return cache


def _exec(source: Any, globals: Any = None, locals: Any = None, /) -> None:
    """``exec`` as dataclasses calls it, with the package's methods' code kept."""
    if type(source) is str and type(globals) is dict:
        name = globals.get("__name__")
        if type(name) is str and name.startswith(_PREFIX):
            source = _module_cache(name, globals).code(source)
    builtins.exec(source, globals, locals)


def _save_all() -> None:
    for cache in _modules.values():
        cache.save()


def install() -> None:
    """Route ``dataclasses``' ``exec`` through the cache (once; the package's import does it)."""
    if getattr(dataclasses, "exec", None) is _exec:
        return
    dataclasses.exec = _exec  # type: ignore[attr-defined]  # found before the builtin
    atexit.register(_save_all)


def compile_package() -> list[Path]:
    """Import every module of the package and write its dataclass methods' cache now, even
    under ``PYTHONDONTWRITEBYTECODE`` (what ``compileall`` is for ``.pyc``: for an installation
    that is read-only at run time, and for the benchmarks). Returns the files written."""
    import importlib
    import pkgutil

    package = sys.modules[_PREFIX[:-1]]
    for module in pkgutil.walk_packages(package.__path__, _PREFIX):
        importlib.import_module(module.name)
    for cache in _modules.values():
        cache.save(force=True)
    return sorted(c.path for c in _modules.values() if c.path and c.path.exists())


__all__ = ["cache_path", "compile_package", "install"]
