"""Seeding, device choice and where files go: the few helpers every module shares."""
from __future__ import annotations

import contextlib
import io
import os
import random
import tempfile
from pathlib import Path

import numpy as np
import torch

from musiclab.errors import BadParameterError, check_seed

#: Environment variable that moves every musiclab cache (default: the user cache dir).
CACHE_ENV = "MUSICLAB_CACHE"
#: The repository's ``data/`` folder: shipped checkpoints and data notes.
SHIPPED_DATA_DIR = Path(__file__).resolve().parent.parent / "data"


def import_pyfluidsynth_quietly():
    """Import pyfluidsynth with its stdout swallowed; return the module. Raises ImportError/OSError
    when pyfluidsynth or libfluidsynth is missing.

    pyfluidsynth 1.4 prints where it found libfluidsynth whenever the ``CI`` environment variable is
    set, and pretty_midi imports it at import time, so the line would land in notebook outputs.
    """
    with contextlib.redirect_stdout(io.StringIO()):
        import fluidsynth
    return fluidsynth


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch with ``seed`` (a non-negative integer); return a torch.Generator
    seeded the same."""
    seed = check_seed(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def pick_device(prefer: str | None = None) -> torch.device:
    """CUDA when present (or ``prefer`` when given), CPU otherwise. Nothing assumes a GPU."""
    if prefer is not None:
        return torch.device(prefer)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def cache_dir() -> Path:
    """The folder for built data caches: ``$MUSICLAB_CACHE`` or the user cache dir."""
    override = os.environ.get(CACHE_ENV)
    if override:
        path = Path(override).expanduser()
    else:
        from platformdirs import user_cache_dir

        path = Path(user_cache_dir("musiclab"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` via a temp file in the same folder and :func:`os.replace`.

    Readers see either the old file or the complete new one, never a partial write. The temp
    file is ``.NAME.PID.RANDOM.tmp`` (PID: this process), so a killed writer's leftover can be told
    from a live one's (:func:`musiclab.data.cache.remove_stale_temp_files`).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def check_output_path(path: str | os.PathLike, what: str = "output") -> Path:
    """``path`` as a Path if a file can be written there, checked before any work is done:
    BadParameterError naming ``what`` if it is a folder or a file stands where its folder should be."""
    path = Path(path)
    if path.is_dir():
        raise BadParameterError(f"{what} path {path} is a folder; give the path of a file (in it or elsewhere)")
    folder = next(parent for parent in path.absolute().parents if parent.exists())
    if not folder.is_dir():
        raise BadParameterError(f"{what} path {path}: {folder} is a file, not a folder")
    return path
