"""Reading a TOML file of ours (settings.toml, measures.toml) once per version of the file."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


def read_cached(p: Path, cache: dict[tuple[str, int, int], Any], parse: Callable[[dict, str], T], *,
                shown: str, what: str, error: type[Exception], hint: str = "") -> T:
    """``parse(document, shown)`` of the TOML file ``p``, kept in ``cache`` by path, mtime and size
    (read again when the file changes). A file that cannot be read or is not TOML raises
    ``error`` with one line naming it (``shown``), ``what`` it is, and ``hint`` (e.g. which
    environment variable named it)."""
    try:
        st = p.stat()
    except OSError as exc:
        raise error(f"{shown}: {what} cannot be read ({exc.strerror or exc}){hint}") from None
    key = (str(p.resolve()), st.st_mtime_ns, st.st_size)
    hit = cache.get(key)
    if hit is not None:
        return hit
    try:
        doc = tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{shown}: not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{shown}: {what} cannot be read ({exc})") from None
    out = parse(doc, shown)
    if len(cache) > 32:
        cache.clear()
    cache[key] = out
    return out
