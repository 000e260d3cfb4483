"""Hostile input: killed builds (worker pools, temp files) and bad MIDI files and folders.

Every hostile file is made at test time in ``tmp_path``. Profile sign-in hardening is tested in
test_profiles.py."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from musiclab.data.cache import cache_entries, cached, clear_cache
from musiclab.runtime import CACHE_ENV

REPO = Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------- killed builds


def _children(pid: int) -> list[int]:
    """Ids of the live (not zombie) child processes of ``pid``, from /proc."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _wait(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads child processes from /proc")
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL])
def test_a_killed_build_leaves_no_pool_workers(tmp_path, signum):
    """An Essen build with music21 (abc2midi hidden from PATH: about 10 s on 2 workers) is killed
    while its pool runs; its workers must be gone within seconds."""
    env = {**os.environ, CACHE_ENV: str(tmp_path / "cache"), "PATH": str(tmp_path), "OMP_NUM_THREADS": "1"}
    build = subprocess.Popen([sys.executable, "-m", "musiclab.cli", "data", "build", "--corpus", "essen",
                              "--subset", "kinder0", "--refresh"], cwd=REPO, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert _wait(lambda: len(_children(build.pid)) >= 2, 30), "the build started no worker pool"
        workers = _children(build.pid)
        time.sleep(0.5)
        build.send_signal(signum)
        build.wait(timeout=15)
        assert _wait(lambda: not any(_alive(w) for w in workers), 5), "pool workers outlived the build"
    finally:
        build.kill()
        build.wait()


def _dead_pid() -> int:
    """The id of a process that has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _leftovers(folder: Path) -> list[Path]:
    """Temp files as a killed writer leaves them: this naming, and the one before writer ids."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f".melodies-essen-0123456789abcdef.pkl.{_dead_pid()}.k2j_9x1a.tmp",
             folder / ".melodies-essen-0123456789abcdef.pkl.a8f3kq1z.tmp"]
    for path in paths:
        path.write_bytes(b"half a pickle")
    return paths


def test_the_next_build_removes_temp_files_of_killed_writers(isolated_cache):
    leftovers = _leftovers(isolated_cache)
    live = isolated_cache / f".other.pkl.{os.getpid()}.abcd1234.tmp"  # a writer still running
    live.write_bytes(b"being written")
    assert cached("thing", {}, lambda: 42, quiet=True) == 42
    assert not any(path.exists() for path in leftovers) and live.exists()


def test_clear_cache_removes_temp_files_and_they_are_never_listed(isolated_cache):
    cached("thing", {}, lambda: 42, quiet=True)
    leftovers = _leftovers(isolated_cache)
    assert [path.name for path in cache_entries()] == [next(isolated_cache.glob("thing-*.pkl")).name]
    assert clear_cache() == 1
    assert list(isolated_cache.iterdir()) == []
    assert not any(path.exists() for path in leftovers)


def test_data_info_lists_cache_files_only(isolated_cache):
    cached("thing", {}, lambda: 42, quiet=True)
    _leftovers(isolated_cache)
    shown = subprocess.run([sys.executable, "-m", "musiclab.cli", "data", "info"], cwd=REPO, check=True,
                           env={**os.environ, CACHE_ENV: str(isolated_cache)}, capture_output=True, text=True)
    assert "(1 cache files" in shown.stdout and "thing-" in shown.stdout and ".tmp" not in shown.stdout
