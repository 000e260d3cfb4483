"""Shared pytest fixtures: one torch thread, an isolated cache folder, hand-made MIDI files (good and bad)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pretty_midi
import pytest

from musiclab.runtime import CACHE_ENV


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread():
    """Tiny models run fastest on one thread, and far faster on a busy 2-core machine."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture
def isolated_cache(tmp_path, monkeypatch) -> Path:
    """Point MUSICLAB_CACHE at an empty temporary folder for one test; return that folder."""
    folder = tmp_path / "musiclab-cache"
    monkeypatch.setenv(CACHE_ENV, str(folder))
    return folder


@pytest.fixture(scope="module")
def module_cache(tmp_path_factory, request):
    """One temporary cache for a whole test module, so its data is built once; a module opts in with
    ``pytestmark = pytest.mark.usefixtures("module_cache")``."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(CACHE_ENV, str(tmp_path_factory.mktemp(f"{request.module.__name__}-cache")))
        yield


@pytest.fixture(scope="session")
def essen_sample(tmp_path_factory):
    """The real Essen collection 'kinder0' (children's songs, 213 tunes), built once per session
    into a temporary cache."""
    from musiclab.data.corpus import load_melodies

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(CACHE_ENV, str(tmp_path_factory.mktemp("essen-cache")))
        return load_melodies("essen", subset="kinder0", quiet=True)


def _write_midi(path: Path, pitches=(60, 62, 64, 65, 67), step_s: float = 0.25,
                      program: int = 0, is_drum: bool = False) -> Path:
    """Write a one-instrument MIDI of ``pitches`` (each ``step_s`` seconds, 120 bpm) to ``path``."""
    pm = pretty_midi.PrettyMIDI(initial_tempo=120.0)
    instrument = pretty_midi.Instrument(program=program, is_drum=is_drum)
    for i, pitch in enumerate(pitches):
        instrument.notes.append(pretty_midi.Note(velocity=90, pitch=pitch, start=i * step_s,
                                                 end=(i + 1) * step_s))
    pm.instruments.append(instrument)
    path.parent.mkdir(parents=True, exist_ok=True)
    pm.write(str(path))
    return path


@pytest.fixture
def make_midi(tmp_path):
    """A factory: ``make_midi(name, pitches=..., step_s=0.25, program=0, is_drum=False)`` writes
    a one-instrument MIDI (one note per ``step_s`` seconds at 120 bpm) under tmp_path."""
    return lambda name, **kwargs: _write_midi(tmp_path / name, **kwargs)


@pytest.fixture
def melody_midi(tmp_path) -> Path:
    """A valid MIDI file: C D E F G as 8th notes at 120 bpm (2 sixteenth steps each)."""
    return _write_midi(tmp_path / "good.mid")


@pytest.fixture
def bad_midi_files(tmp_path) -> dict[str, Path]:
    """Broken inputs for single-file loaders: 'missing', 'empty', 'truncated', 'text' (not
    MIDI), 'drums_only' (notes only on the drum channel), 'no_notes' (a valid file, no notes)."""
    good = _write_midi(tmp_path / "source.mid")
    files = {"missing": tmp_path / "missing.mid"}
    files["empty"] = tmp_path / "empty.mid"
    files["empty"].write_bytes(b"")
    files["truncated"] = tmp_path / "truncated.mid"
    files["truncated"].write_bytes(good.read_bytes()[:30])
    files["text"] = tmp_path / "text.mid"
    files["text"].write_text("X:1\nT:this is ABC text, not MIDI\nK:C\nCDEF|\n")
    files["drums_only"] = _write_midi(tmp_path / "drums.mid", pitches=(36, 38, 42), is_drum=True)
    files["no_notes"] = _write_midi(tmp_path / "silent.mid", pitches=())
    return files


@pytest.fixture
def needs_abc2midi() -> str:
    """Skip the test when Debian's abc2midi (package abcmidi) is not installed."""
    path = shutil.which("abc2midi")
    if path is None:
        pytest.skip("abc2midi is not installed (apt-get install abcmidi)")
    return path
