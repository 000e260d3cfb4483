"""A hashed, atomic on-disk cache for built data sets.

A cache entry is keyed by a name (``"melodies-essen"``) and a settings dict; the file name holds
a hash of the settings plus :data:`FORMAT_VERSION`, so changing a setting (or the layout of the
cached objects) builds a new entry instead of reading a stale one. Files are written to a temp
file and moved into place with :func:`os.replace`, so an interrupted build never leaves a
half-written cache; the temp files of writers that were killed are removed by the next build
and by :func:`clear_cache`, and are never listed as entries (:func:`cache_entries`). Each file
carries a SHA-256 of its payload: a corrupt or truncated file is detected, reported with a
warning, and rebuilt.

The folder is :func:`musiclab.runtime.cache_dir` (``$MUSICLAB_CACHE`` overrides it). Entries are
pickles; only read caches that this package wrote into your own cache folder.
"""
from __future__ import annotations

import hashlib
import json
import os
import pickle
import re
import warnings
from pathlib import Path
from typing import Callable, TypeVar

from musiclab.errors import BadParameterError
from musiclab.runtime import atomic_write_bytes, cache_dir

T = TypeVar("T")

#: Bump when the layout of any cached object changes; old entries are then ignored.
FORMAT_VERSION = 1
_MAGIC = b"MUSICLAB-CACHE\x00"
_DIGEST_BYTES = 32
_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]+$")
_TEMP_RE = re.compile(r"^\..+\.(?P<pid>[0-9]+)\.[^.]+\.tmp$")


class CorruptCacheError(Exception):
    """A cache file exists but cannot be read back (internal: triggers a rebuild)."""


def settings_hash(settings: dict) -> str:
    """A 16-hex-digit hash of ``settings`` (JSON, sorted keys) and :data:`FORMAT_VERSION`."""
    try:
        text = json.dumps({"format": FORMAT_VERSION, "settings": settings}, sort_keys=True)
    except TypeError as exc:
        raise BadParameterError(
            f"settings must be JSON-serialisable (str, int, float, bool, None, lists, dicts): {exc}"
        ) from None
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def files_digest(root: Path, paths: list[Path]) -> str:
    """A SHA-256 (hex) of every file's path relative to ``root`` and its bytes: a cache key that
    changes when any file of a folder is added, removed, renamed or edited."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def cache_path(name: str, settings: dict) -> Path:
    """Where the entry for ``name`` and ``settings`` lives: ``cache_dir()/NAME-HASH.pkl``."""
    if not _NAME_RE.match(name):
        raise BadParameterError(
            f"cache name must use only letters, digits, '_', '-' and '.', got {name!r}"
        )
    return cache_dir() / f"{name}-{settings_hash(settings)}.pkl"


def save_entry(path: str | os.PathLike, value) -> Path:
    """Pickle ``value`` into a checksummed cache file at ``path`` (atomically)."""
    payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    digest = hashlib.sha256(payload).digest()
    return atomic_write_bytes(path, _MAGIC + digest + payload)


def load_entry(path: str | os.PathLike):
    """Read a cache file written by :func:`save_entry`; raise :class:`CorruptCacheError` if damaged."""
    data = Path(path).read_bytes()
    head = len(_MAGIC) + _DIGEST_BYTES
    if len(data) < head or not data.startswith(_MAGIC):
        raise CorruptCacheError("not a musiclab cache file (bad header or too short)")
    digest, payload = data[len(_MAGIC):head], data[head:]
    if hashlib.sha256(payload).digest() != digest:
        raise CorruptCacheError("checksum mismatch (truncated or damaged)")
    try:
        return pickle.loads(payload)
    except Exception as exc:  # a pickle of classes that changed since it was written
        raise CorruptCacheError(f"cannot unpickle: {type(exc).__name__}: {exc}") from None


def cached(name: str, settings: dict, build: Callable[[], T], refresh: bool = False,
           quiet: bool = False) -> T:
    """Return the cached value for ``(name, settings)``, calling ``build()`` to make it if needed.

    ``refresh=True`` rebuilds even when an entry exists. A corrupt entry is rebuilt with a
    warning. ``build`` shows its own progress bar (it should honour the caller's ``quiet``);
    ``quiet`` here silences the "building ..." notice printed before a build.
    """
    path = cache_path(name, settings)
    if not refresh and path.exists():
        try:
            return load_entry(path)
        except (CorruptCacheError, OSError) as exc:
            warnings.warn(f"cache file {path} is unreadable ({exc}); rebuilding it", stacklevel=2)
    remove_stale_temp_files()
    if not quiet:
        print(f"musiclab: building {name} (cached afterwards in {path.parent})")
    value = build()
    save_entry(path, value)
    return value


def cache_entries() -> list[Path]:
    """The cache files in :func:`musiclab.runtime.cache_dir` (``NAME-HASH.pkl``), sorted by name."""
    return sorted(path for path in cache_dir().glob("*.pkl") if path.is_file())


def _writer_alive(temp: Path) -> bool:
    """Whether the process whose id is in ``temp``'s name (``.NAME.PID.RANDOM.tmp``) still runs."""
    match = _TEMP_RE.match(temp.name)
    if match is None:
        return False
    try:
        os.kill(int(match["pid"]), 0)
    except (ProcessLookupError, OverflowError):  # no such process (or no possible one)
        return False
    except PermissionError:  # another user's process
        return True
    return True


def remove_stale_temp_files() -> int:
    """Delete temp files left in the cache folder by killed writers; return how many."""
    stale = [path for path in cache_dir().glob(".*.tmp") if path.is_file() and not _writer_alive(path)]
    for path in stale:
        path.unlink(missing_ok=True)
    return len(stale)


def clear_cache(name: str | None = None) -> int:
    """Delete cache entries (all, or only those of ``name``) and stale temp files; return how many
    entries were removed."""
    if name is not None:
        cache_path(name, {})  # validates the name
    remove_stale_temp_files()
    removed = 0
    for path in cache_entries():
        if name is None or path.stem.rsplit("-", 1)[0] == name:
            path.unlink(missing_ok=True)
            removed += 1
    return removed
