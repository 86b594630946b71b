"""A bytecode cache for the methods ``@dataclass`` writes, as ``__pycache__`` is for modules.

``@dataclass`` writes the source of each method it adds (``__init__``, ``__repr__``, ``__eq__``,
``__hash__``, the order methods, a frozen class's ``__setattr__`` and ``__delattr__``) and
compiles it, at every import: about 0.7 ms a class on this project's machine, some 30 ms for the
53 classes one ``esr1calls ngs`` imports (docs/performance.md). Python keeps a module's bytecode
in ``__pycache__`` but not these methods'.

Here the compiled code is kept in the user's cache folder, as the compiled clinical.html
template is (``$XDG_CACHE_HOME/esr1calls/dataclasses/<python tag>/<module>.dataclasses``, else
``~/.cache/...``: never in the installation, which ``pip uninstall`` would leave it in), keyed by
the exact source text ``dataclasses`` asked to run: a hit is the code of that very text,
compiled as dataclasses' own ``exec`` compiles it, so the class is the one ``@dataclass`` makes
without the cache (tests/test_dataclass_cache.py compares every method of every class of the
package). The file carries the bytecode's magic number, the optimisation level and a CRC-32 of
its contents: a missing, cut, damaged or foreign file is read as empty and rewritten. A cache
that cannot be written (no home, a read-only one, ``PYTHONDONTWRITEBYTECODE``) is not written,
and every start compiles the methods as without it. Only the package's own modules are kept; any
other dataclass is compiled exactly as dataclasses compiles it.
"""

from __future__ import annotations

import atexit
import builtins
import contextlib
import dataclasses
import functools
import importlib.util
import marshal
import os
import sys
import zlib
from pathlib import Path
from types import CodeType
from typing import Any

from ._user_cache import user_cache_folder

_PREFIX = __name__.rpartition(".")[0] + "."  # "esr1calls."
# the .pyc's own magic (a change of bytecode) and the optimisation level a code was compiled at;
# then the CRC-32 and the length of the marshalled codes
_HEADER = importlib.util.MAGIC_NUMBER + bytes([sys.flags.optimize & 0xFF]) + b"dataclasses\n"
_CHECK_BYTES = 8
_SUFFIX = ".dataclasses"
_MAX_ENTRIES = 512  # a module's file keeps what its edits made, up to this; then what one run used


def _compile(source: str) -> CodeType:
    """The code ``exec(source, ...)`` runs when dataclasses calls it: dont_inherit, because the
    caller whose ``from __future__`` flags a string's exec takes is this module, not
    dataclasses.py (and this module's ``annotations`` must not reach the methods)."""
    return compile(source, "<string>", "exec", dont_inherit=True)


class _ModuleCache:
    """The kept code of one module's dataclass methods: loaded from its file on the first
    method, written back when a method was compiled here."""

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
            code = self.codes[source] = _compile(source)
            self.changed = True
        return code

    def save(self, *, force: bool = False) -> None:
        if not (self.changed and self.path) or (sys.dont_write_bytecode and not force):
            return
        codes = self.codes
        if len(codes) > _MAX_ENTRIES:
            codes = {source: codes[source] for source in self.used}
        _write(self.path, codes)
        self.changed = False


def _write(path: Path, codes: dict[str, CodeType]) -> None:
    """Write a cache file whole or not at all, whoever else writes it at the same time (another
    process, or another host on a shared installation: the temporary name is its own)."""
    body = marshal.dumps(codes)
    check = zlib.crc32(body).to_bytes(4, "little") + len(body).to_bytes(4, "little")
    temporary = path.with_name(f"{path.name}.{os.getpid()}.{os.urandom(6).hex()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(_HEADER + check + body)
        temporary.replace(path)
    except OSError:  # a read-only installation, a full disk: compiled at each start, as without
        with contextlib.suppress(OSError):
            temporary.unlink()


def _load(path: Path) -> dict[str, CodeType]:
    """The codes of a cache file; empty when it is missing, cut, damaged or of another Python."""
    try:
        data = path.read_bytes()
    except OSError:
        return {}
    start = len(_HEADER) + _CHECK_BYTES
    if len(data) < start or not data.startswith(_HEADER):
        return {}
    body = memoryview(data)[start:]
    check = data[len(_HEADER) : start]
    if check != zlib.crc32(body).to_bytes(4, "little") + len(body).to_bytes(4, "little"):
        return {}
    try:
        codes = marshal.loads(body)
    except Exception:  # marshal raises ValueError, EOFError, TypeError, SystemError...
        return {}
    if not isinstance(codes, dict):
        return {}
    return {
        source: code
        for source, code in codes.items()
        if type(source) is str and type(code) is CodeType
    }


def cache_folder() -> Path | None:
    """The user's cache folder's ``dataclasses/<tag>``, the tag naming the Python and the
    optimisation level; None where this Python keeps no bytecode or there is no home."""
    tag = sys.implementation.cache_tag
    if tag is None:
        return None
    level = f".opt-{sys.flags.optimize}" if sys.flags.optimize else ""
    return user_cache_folder("dataclasses", f"{tag}{level}")


def cache_path(module: str, folder: Path | None = None) -> Path | None:
    """Where a module's dataclass methods are kept (in ``folder``, else :func:`cache_folder`),
    or nowhere."""
    folder = cache_folder() if folder is None else folder
    return None if folder is None else folder / f"{module}{_SUFFIX}"


@functools.cache
def _process_folder() -> Path | None:
    """:func:`cache_folder`, found once a process rather than for each of some 50 modules."""
    return cache_folder()


_modules: dict[str, _ModuleCache] = {}


def _module_cache(name: str) -> _ModuleCache:
    cache = _modules.get(name)
    if cache is None:
        folder = _process_folder()
        cache = _ModuleCache(None if folder is None else cache_path(name, folder))
        _modules[name] = cache
    return cache


def _exec(source: Any, globals: Any = None, locals: Any = None, /) -> None:
    """``exec`` as dataclasses calls it, with the package's methods' code kept."""
    if type(source) is str:
        name = globals.get("__name__") if type(globals) is dict else None
        if type(name) is str and name.startswith(_PREFIX):
            source = _module_cache(name).code(source)
        else:  # another package's class, or one made by make_dataclass: compiled, not kept
            source = _compile(source)
    builtins.exec(source, globals, locals)


def save() -> None:
    """Write the files of the modules whose methods were compiled since the last save: at the
    process's exit, and at a batch worker's (which ends without the exit handlers) from the
    multiprocessing finaliser its start-up registers."""
    for cache in _modules.values():
        cache.save()


def install() -> None:
    """Route ``dataclasses``' ``exec`` through the cache (once; the package's import does it)."""
    if getattr(dataclasses, "exec", None) is _exec:
        return
    dataclasses.exec = _exec  # type: ignore[attr-defined]  # found before the builtin
    atexit.register(save)


def compile_package() -> list[Path]:
    """Import every module of the package and write its dataclass methods' cache now, even
    under ``PYTHONDONTWRITEBYTECODE`` (what ``compileall`` is for ``.pyc``: for a container
    image built for the user who will run it, and for the benchmarks). Returns the files."""
    import importlib
    import pkgutil

    package = sys.modules[_PREFIX[:-1]]
    for module in pkgutil.walk_packages(package.__path__, _PREFIX):
        importlib.import_module(module.name)
    for cache in _modules.values():
        cache.save(force=True)
    return sorted(c.path for c in _modules.values() if c.path and c.path.exists())


__all__ = ["cache_path", "compile_package", "install", "save"]
