"""The user's cache folder, where esr1calls keeps what it compiled between runs (the clinical.html
template, the dataclass methods): ``$XDG_CACHE_HOME/esr1calls``, else ``~/.cache/esr1calls``."""

from __future__ import annotations

import os
from pathlib import Path


def user_cache_folder(*parts: str) -> Path | None:
    """``$XDG_CACHE_HOME/esr1calls/<parts>`` (a relative ``XDG_CACHE_HOME`` is ignored, as the
    XDG specification says), else ``~/.cache/esr1calls/<parts>``; None where there is no home
    (no ``HOME`` and no password entry, as in a container run under an arbitrary user id)."""
    base = Path(os.environ.get("XDG_CACHE_HOME", ""))
    if not base.is_absolute():
        try:
            base = Path.home() / ".cache"
        except (RuntimeError, KeyError):
            return None
    return base.joinpath("esr1calls", *parts)


__all__ = ["user_cache_folder"]
