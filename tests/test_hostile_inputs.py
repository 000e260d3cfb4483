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

import numpy as np
import pretty_midi
import pytest

from musiclab.data.cache import cache_entries, cached, clear_cache
from musiclab.data.chords import load_midi_folder_tokens, tokens_from_midi
from musiclab.data.midi_melodies import load_midi_folder, load_midi_melody
from musiclab.data.drum_midi import grid_from_midi
from musiclab.data.grooves import load_grooves
from musiclab.data.melody import from_pretty_midi
from musiclab.data.midi_files import NoMidiFilesError
from musiclab.data.smf import midi_file_notes
from musiclab.errors import BadFileError, BadParameterError
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
@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one CPU core: builds run without a worker pool")
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL])
def test_a_killed_build_leaves_no_pool_workers(tmp_path, signum):
    """An Essen build with music21 (abc2midi hidden from PATH: about 10 s on 2 workers) is killed
    while its pool runs; its workers must be gone within seconds. Reaching the pool may take minutes on
    a loaded machine (importing music21), hence the long first wait, which ends as soon as it is up."""
    env = {**os.environ, CACHE_ENV: str(tmp_path / "cache"), "PATH": str(tmp_path), "OMP_NUM_THREADS": "1"}
    build = subprocess.Popen([sys.executable, "-m", "musiclab.cli", "data", "build", "--corpus", "essen",
                              "--subset", "kinder0", "--refresh"], cwd=REPO, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert _wait(lambda: len(_children(build.pid)) >= 2, 180), "the build started no worker pool"
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


# ---------------------------------------------------------------- hostile MIDI files and folders


def _midi(path: Path, pitches=(), is_drum: bool = False) -> Path:
    """A one-instrument MIDI file of ``pitches`` (one 16th each at 120 bpm) at ``path``."""
    pm = pretty_midi.PrettyMIDI(initial_tempo=120.0)
    instrument = pretty_midi.Instrument(program=0, is_drum=is_drum)
    for i, pitch in enumerate(pitches):
        instrument.notes.append(pretty_midi.Note(velocity=90, pitch=pitch, start=i * 0.125, end=(i + 1) * 0.125))
    pm.instruments.append(instrument)
    path.parent.mkdir(parents=True, exist_ok=True)
    pm.write(str(path))
    return path


@pytest.fixture
def hostile(tmp_path) -> dict[str, Path]:
    """Hostile inputs: empty, random bytes, text renamed .mid, truncated, no notes, drums only,
    drums outside the General MIDI map, an empty folder, a folder named like a MIDI file."""
    good = _midi(tmp_path / "source" / "good.mid", (60, 62, 64, 65, 67))
    files = {"empty": tmp_path / "empty.mid", "random": tmp_path / "random.mid",
             "text": tmp_path / "text.mid", "truncated": tmp_path / "truncated.mid"}
    files["empty"].write_bytes(b"")
    files["random"].write_bytes(np.random.default_rng(0).integers(0, 256, 300, dtype=np.uint8).tobytes())
    files["text"].write_text("X:1\nT:ABC text, not MIDI\nK:C\nCDEF|\n")
    files["truncated"].write_bytes(good.read_bytes()[:40])
    files["no_notes"] = _midi(tmp_path / "silent.mid")
    files["drums_only"] = _midi(tmp_path / "drums.mid", (36, 38, 42, 38), is_drum=True)
    files["unmapped_drums"] = _midi(tmp_path / "unmapped.mid", (100, 101, 102, 103) * 4, is_drum=True)
    files["empty_folder"] = tmp_path / "nothing_here"
    files["empty_folder"].mkdir()
    files["folder"] = tmp_path / "folder.mid"
    files["folder"].mkdir()
    return files


@pytest.mark.parametrize("loader", [load_midi_folder, load_midi_folder_tokens, load_grooves])
def test_every_folder_loader_refuses_an_empty_folder_naming_it(hostile, isolated_cache, loader):
    with pytest.raises(NoMidiFilesError, match="nothing_here: no .mid or .midi files"):
        loader(hostile["empty_folder"], quiet=True)


def test_drums_outside_the_general_midi_map_are_a_named_error_not_silence(hostile):
    with pytest.raises(BadFileError, match=r"unmapped\.mid: no General MIDI drums \(drum pitches \[100"):
        grid_from_midi(hostile["unmapped_drums"])


def test_a_folder_of_unmapped_drums_counts_them(hostile, isolated_cache, tmp_path):
    folder = tmp_path / "grooves"
    _midi(folder / "good.mid", (36, 42, 38, 42) * 4, is_drum=True)
    (folder / "unmapped.mid").write_bytes(hostile["unmapped_drums"].read_bytes())
    with pytest.warns(UserWarning, match=r"unmapped\.mid \(no General MIDI drums"):
        drums = load_grooves(folder, quiet=True)
    assert drums.skipped["no General MIDI drums"] == 1 and len(drums.grids) == 1


def test_a_drums_only_file_is_not_encoded_as_a_melody(hostile):
    with pytest.raises(BadParameterError, match="instrument 0 is a drum track"):
        from_pretty_midi(pretty_midi.PrettyMIDI(str(hostile["drums_only"])))
    with pytest.raises(BadFileError, match=r"drums\.mid has only drum notes"):
        load_midi_melody(hostile["drums_only"])
    with pytest.raises(BadFileError, match=r"drums\.mid has only drum notes"):
        tokens_from_midi(hostile["drums_only"])


@pytest.mark.parametrize("loader", [load_midi_melody, tokens_from_midi, grid_from_midi])
def test_a_folder_where_a_file_is_expected_is_called_a_folder(hostile, loader):
    with pytest.raises(BadFileError, match=r"folder\.mid.*is a folder, not a MIDI file"):
        loader(hostile["folder"])


@pytest.mark.parametrize("loader", [load_midi_melody, tokens_from_midi])
def test_a_file_without_notes_says_it_has_no_notes(hostile, loader):
    with pytest.raises(BadFileError, match=r"silent\.mid has no notes$"):
        loader(hostile["no_notes"])


def test_the_small_midi_reader_raises_value_error_on_truncated_data(hostile):
    with pytest.raises(ValueError, match="truncated Standard MIDI File"):
        midi_file_notes(hostile["truncated"].read_bytes())
    data = (hostile["truncated"].parent / "source" / "good.mid").read_bytes()
    for end in range(len(data)):  # any cut: notes read so far, or ValueError (never IndexError)
        try:
            midi_file_notes(data[:end])
        except ValueError:
            pass


@pytest.mark.parametrize("loader", [load_midi_folder, load_midi_folder_tokens])
def test_melody_folder_loaders_skip_count_and_report_every_bad_file(hostile, tmp_path, loader):
    folder = tmp_path / "songs"
    _midi(folder / "good.mid", (60, 62, 64, 65, 67))
    for kind in ("empty", "random", "text", "truncated", "no_notes", "drums_only"):
        (folder / f"{kind}.mid").write_bytes(hostile[kind].read_bytes())
    with pytest.warns(UserWarning, match=r"skipped 6 of 7 MIDI files") as caught:
        loaded = loader(folder, quiet=True)
    assert len(loaded.skipped_ids) == 6 and sum(loaded.skipped.values()) == 6
    assert loaded.skipped_ids["drums_only.mid"] == "no melody" and loaded.skipped_ids["no_notes.mid"] == "no notes"
    assert all(f"{kind}.mid" in str(caught[0].message) for kind in ("empty", "random", "truncated"))


def test_the_drum_folder_loader_skips_counts_and_reports_every_bad_file(hostile, isolated_cache, tmp_path):
    folder = tmp_path / "grooves"
    _midi(folder / "good.mid", (36, 42, 38, 42) * 4, is_drum=True)
    for kind in ("empty", "random", "text", "truncated", "no_notes", "unmapped_drums"):
        (folder / f"{kind}.mid").write_bytes(hostile[kind].read_bytes())
    with pytest.warns(UserWarning, match=r"skipped 6 unusable MIDI files") as caught:
        drums = load_grooves(folder, quiet=True)
    assert len(drums.bad_files) == 6 and len(drums.grids) == 1
    assert all(f"{kind}.mid" in str(caught[0].message) for kind in ("empty", "random", "truncated"))
