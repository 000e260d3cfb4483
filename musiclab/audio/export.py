"""Write MIDI and WAV files atomically (notebooks 01–07 export results; ``musiclab render``)."""
from __future__ import annotations

import os
import uuid
import wave
from pathlib import Path

import numpy as np

from musiclab.audio.render import melody_pm
from musiclab.audio.synth import (DEFAULT_SAMPLE_RATE, check_audio, check_sample_rate, load_midi, peak_of,
                                  render_chunks, scale_audio)
from musiclab.errors import BadParameterError


def _atomic_target(path: str | os.PathLike, suffixes: tuple[str, ...], what: str) -> Path:
    """Check the suffix of an output ``path`` and create its folder."""
    path = Path(path).expanduser()
    if path.suffix.lower() not in suffixes:
        raise BadParameterError(f"{what} path {str(path)!r} must end in one of {', '.join(suffixes)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _write_atomically(path: Path, write) -> Path:
    """Call ``write(temp_path)`` on a temporary file next to ``path``, then move it into place."""
    temp = str(path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"))
    try:
        write(temp)
        os.replace(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise
    return path


def export_midi(pm_or_events, path: str | os.PathLike, tempo_bpm: float = 120.0, program: int = 0) -> Path:
    """Write a PrettyMIDI, or encoded melody events (1-D ints), to a ``.mid`` file atomically.

    ``tempo_bpm`` and ``program`` (General MIDI, 0 = piano) apply to melody events only.
    Returns the path written. Notebooks 01–07 export their results with it.
    """
    import pretty_midi

    pm = pm_or_events
    if not isinstance(pm, pretty_midi.PrettyMIDI):
        pm = melody_pm(pm_or_events, tempo_bpm, program)
    target = _atomic_target(path, (".mid", ".midi"), "MIDI")
    return _write_atomically(target, lambda temp: pm.write(temp))


def write_wav(audio: np.ndarray, path: str | os.PathLike, sample_rate: int = DEFAULT_SAMPLE_RATE) -> Path:
    """Write mono float audio ([n] samples in [-1, 1]; louder parts are clipped) as a 16-bit WAV.

    Atomic (temporary file, then rename). Used by ``musiclab render IN.mid OUT.wav``.
    """
    sample_rate = check_sample_rate(sample_rate)
    samples = check_audio(audio)
    pcm = _pcm(samples)
    target = _atomic_target(path, (".wav",), "WAV")

    def write(temp: str) -> None:
        with wave.open(temp, "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(sample_rate)
            out.writeframes(pcm)

    return _write_atomically(target, write)


#: Seconds of audio :func:`render_midi_file` holds in memory at a time.
CHUNK_SECONDS = 10.0


def _pcm(audio: np.ndarray) -> bytes:
    """Float samples in [-1, 1] as 16-bit little-endian PCM bytes (louder parts clipped)."""
    return np.round(np.clip(audio, -1.0, 1.0) * 32767).astype("<i2").tobytes()


def render_midi_file(midi_path: str | os.PathLike, wav_path: str | os.PathLike,
                     sample_rate: int = 44100, soundfont: str | os.PathLike | None = None,
                     engine: str = "auto", chunk_seconds: float = CHUNK_SECONDS) -> Path:
    """Render a MIDI file to a 16-bit mono WAV file; returns the WAV path (``musiclab render``).

    The same samples as ``write_wav(synthesize(...))``, in bounded memory: the file is rendered
    twice, ``chunk_seconds`` at a time (once for its peak, once to stream the normalised samples
    into a temporary file that then replaces ``wav_path``), so memory does not grow with its length.
    """
    sample_rate = check_sample_rate(sample_rate)
    target = _atomic_target(wav_path, (".wav",), "WAV")
    pm = load_midi(midi_path)

    def pieces():
        return render_chunks(pm, sample_rate, soundfont, engine=engine, chunk_seconds=chunk_seconds)[1]

    peak = max((peak_of(piece) for piece in pieces()), default=0.0)

    def write(temp: str) -> None:
        with wave.open(temp, "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(sample_rate)
            for piece in pieces():
                out.writeframes(_pcm(scale_audio(piece, peak)))

    return _write_atomically(target, write)
