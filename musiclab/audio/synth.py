"""Render a PrettyMIDI to mono float audio through libfluidsynth and a SoundFont (every notebook).

When libfluidsynth is missing, the simple synth (``audio.simple_synth``) stands in, with a
warning that says how to install libfluidsynth, so notebooks still run. Rendering is
deterministic: a fresh synthesizer per call, float output (no dither), so the same input always
gives the same samples — committed notebook outputs rely on it.
"""
from __future__ import annotations

import math
import os
from collections.abc import Iterator
import sys
import warnings
from pathlib import Path

import numpy as np

from musiclab.audio.simple_synth import render_simple
from musiclab.audio.soundfonts import resolve_soundfont
from musiclab.errors import BadFileError, BadParameterError, MusiclabError, check_choice, check_range
from musiclab.limits import LimitError, check_limit
from musiclab.runtime import import_pyfluidsynth_quietly

#: Sample rate of notebook players (Hz): small enough to keep committed notebooks light.
DEFAULT_SAMPLE_RATE = 22050
#: Sample rates libfluidsynth accepts (Hz).
MIN_SAMPLE_RATE, MAX_SAMPLE_RATE = 8000, 96000
#: ``engine`` choices: fluidsynth when available ("auto"), always fluidsynth, or the simple synth.
ENGINES = ("auto", "fluidsynth", "simple")
#: How to get libfluidsynth, quoted in the warning and errors.
INSTALL_HINT = (
    "install libfluidsynth: `sudo apt-get install libfluidsynth3` (Debian/Ubuntu), "
    "`conda install -c conda-forge fluidsynth`, or `brew install fluid-synth` (macOS)"
)
#: Seconds rendered after the last note ends, so releases and reverb die away.
RELEASE_SECONDS = 1.0
#: Peak level of normalised audio (a little headroom below full scale).
PEAK_LEVEL = 0.9
#: Peak below which a rendering counts as silent (FluidSynth's reverb leaves ~1e-8 of noise).
SILENCE_FLOOR = 1e-5


def check_sample_rate(sample_rate: int) -> int:
    """Return ``sample_rate`` as an int if it is a whole number of Hz in [8000, 96000]."""
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)):
        raise BadParameterError(
            f"sample_rate must be an integer number of Hz in [{MIN_SAMPLE_RATE}, {MAX_SAMPLE_RATE}], "
            f"got {sample_rate!r}"
        )
    return int(check_range("sample_rate", int(sample_rate), MIN_SAMPLE_RATE, MAX_SAMPLE_RATE))


def check_audio(audio) -> np.ndarray:
    """Return ``audio`` as a finite 1-D float array, or raise :class:`BadParameterError`."""
    samples = np.asarray(audio)
    if samples.ndim != 1 or not np.issubdtype(samples.dtype, np.floating):
        raise BadParameterError(
            f"audio must be a 1-D float array of mono samples, got dtype {samples.dtype} "
            f"and shape {samples.shape}"
        )
    if not np.all(np.isfinite(samples)):
        raise BadParameterError("audio contains NaN or infinite samples")
    return samples


def load_midi(path: str | os.PathLike):
    """Read a MIDI file into a ``pretty_midi.PrettyMIDI``; :class:`BadFileError` naming it if unreadable,
    LimitError if it holds more than ``LIMITS.max_notes`` notes (counted before parsing)."""
    from musiclab.data.midi_files import read_midi

    path = Path(path)
    if not path.is_file():
        raise BadFileError(f"MIDI file {str(path)!r} not found")
    if path.stat().st_size == 0:
        raise BadFileError(f"MIDI file {str(path)!r} is empty")
    try:
        return read_midi(path)
    except LimitError:
        raise
    except Exception as exc:  # mido and pretty_midi raise many types on corrupt files
        raise BadFileError(f"MIDI file {str(path)!r} is not a readable MIDI file: {exc}") from exc


def _import_fluidsynth():
    """Import pyfluidsynth; raises ImportError when it or libfluidsynth is missing."""
    return import_pyfluidsynth_quietly()


def _fluidsynth_or_none(engine: str):
    """The pyfluidsynth module, or None (with a warning) when it cannot load and engine is auto."""
    try:
        return _import_fluidsynth()
    except (ImportError, OSError) as exc:
        if engine == "fluidsynth":
            raise MusiclabError(f"engine='fluidsynth' needs libfluidsynth ({exc}); {INSTALL_HINT}") from exc
        warnings.warn(
            f"FluidSynth is not available ({exc}); playing with musiclab's simple synth instead. "
            f"For real instrument sounds, {INSTALL_HINT}.",
            RuntimeWarning,
            stacklevel=_user_stacklevel(),
        )
        return None


def _user_stacklevel() -> int:
    """The ``stacklevel`` that points a warning at the first caller outside musiclab."""
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_globals.get("__name__", "").startswith("musiclab"):
        frame, level = frame.f_back, level + 1
    return level


def render_chunks(pm, sample_rate: int = DEFAULT_SAMPLE_RATE, soundfont: str | os.PathLike | None = None,
                  *, engine: str = "auto", max_seconds: float | None = None,
                  chunk_seconds: float | None = None) -> tuple[int, Iterator[np.ndarray]]:
    """``(n, pieces)``: the length of the audio of a PrettyMIDI (or MIDI file path), and an iterator
    of its consecutive pieces (mono float64, unnormalised, at most ``chunk_seconds`` each; one piece
    when None). Checked before any rendering (see :func:`synthesize`); memory stays bounded by one
    piece, so a long file streams to disk (:func:`musiclab.audio.export.render_midi_file`).
    """
    import pretty_midi

    if isinstance(pm, (str, os.PathLike)):
        pm = load_midi(pm)
    if not isinstance(pm, pretty_midi.PrettyMIDI):
        raise BadParameterError(
            f"synthesize needs a pretty_midi.PrettyMIDI or a MIDI file path, got {type(pm).__name__}; "
            "use melody_audio / drums_audio / tokens_audio for encoded sequences"
        )
    sample_rate = check_sample_rate(sample_rate)
    check_choice("engine", engine, ENGINES)
    path = resolve_soundfont(soundfont)
    seconds = pm.get_end_time() + RELEASE_SECONDS
    if max_seconds is not None:
        seconds = min(seconds, check_range("max_seconds", max_seconds, 0.0, low_open=True))
    check_limit("max_render_seconds", "seconds of audio", round(seconds, 3))
    length = int(math.ceil(seconds * sample_rate))
    chunk = None if chunk_seconds is None else max(1, int(check_range("chunk_seconds", chunk_seconds, 0.0,
                                                                      low_open=True) * sample_rate))
    module = None if engine == "simple" else _fluidsynth_or_none(engine)
    if module is None:
        return length, render_simple(pm, sample_rate, length, chunk)
    return length, _render_fluidsynth(module, pm, sample_rate, length, path, chunk)


def synthesize(pm, sample_rate: int = DEFAULT_SAMPLE_RATE, soundfont: str | os.PathLike | None = None,
               *, engine: str = "auto", max_seconds: float | None = None,
               normalize: bool = True) -> np.ndarray:
    """Render a PrettyMIDI (or a MIDI file path) to mono audio: float32 array [n] in [-1, 1].

    n = ceil((end of last note + 1 s release) × sample_rate), or ``max_seconds`` × sample_rate
    when that is shorter; over ``musiclab.limits.LIMITS.max_render_seconds`` is a LimitError.
    ``engine``: "auto" (FluidSynth, else the simple synth with a warning), "fluidsynth" or
    "simple". With ``normalize`` the peak is scaled to 0.9. Deterministic.
    """
    length, pieces = render_chunks(pm, sample_rate, soundfont, engine=engine, max_seconds=max_seconds)
    audio = np.concatenate(list(pieces)) if length else np.zeros(0)
    return scale_audio(audio, peak_of(audio), normalize)


def peak_of(audio: np.ndarray) -> float:
    """The largest absolute sample of ``audio`` (0 when empty)."""
    return float(np.abs(audio).max()) if audio.size else 0.0


def scale_audio(audio: np.ndarray, peak: float, normalize: bool = True) -> np.ndarray:
    """``audio`` (a piece of a rendering whose peak is ``peak``) as float32 in [-1, 1]: silence
    below SILENCE_FLOOR, scaled so the peak is PEAK_LEVEL with ``normalize``."""
    if peak < SILENCE_FLOOR:
        audio = np.zeros_like(audio)
    elif normalize:
        audio = audio * (PEAK_LEVEL / peak)
    return np.clip(audio, -1.0, 1.0).astype(np.float32)


def _render_fluidsynth(fluidsynth, pm, sample_rate: int, length: int, soundfont: Path,
                       chunk: int | None = None) -> Iterator[np.ndarray]:
    """Play every instrument of ``pm`` on its own channel of a fresh synth: mono float64 audio
    [length], yielded in consecutive pieces of at most ``chunk`` samples (one piece when None)."""
    from ctypes import c_int, c_void_p

    write_float = fluidsynth.cfunc(
        "fluid_synth_write_float", c_int, ("synth", c_void_p, 1), ("len", c_int, 1),
        ("lout", c_void_p, 1), ("loff", c_int, 1), ("lincr", c_int, 1),
        ("rout", c_void_p, 1), ("roff", c_int, 1), ("rincr", c_int, 1),
    )
    synth = fluidsynth.Synth(samplerate=float(sample_rate))
    try:
        sfid = synth.sfload(str(soundfont))
        if sfid < 0:
            raise BadFileError(f"SoundFont {str(soundfont)!r} could not be loaded by FluidSynth")
        events = []  # (time, order, action, args): note-offs first, then controls, then note-ons
        for channel, inst in enumerate(pm.instruments):
            bank = 128 if inst.is_drum else 0
            if synth.program_select(channel, sfid, bank, inst.program) < 0:
                synth.program_select(channel, sfid, bank, 0)
            for note in inst.notes:
                events.append((note.start, 2, synth.noteon, (channel, note.pitch, note.velocity)))
                events.append((note.end, 0, synth.noteoff, (channel, note.pitch)))
            for bend in inst.pitch_bends:
                events.append((bend.time, 1, synth.pitch_bend, (channel, bend.pitch)))
            for change in inst.control_changes:
                events.append((change.time, 1, synth.cc, (channel, change.number, change.value)))
        events.sort(key=lambda event: (event[0], event[1]))
        chunk = max(1, length if chunk is None else chunk)
        left, right = np.zeros(chunk, dtype=np.float32), np.zeros(chunk, dtype=np.float32)
        done = 0  # samples rendered; those of the piece being filled start at done - done % chunk

        def render_until(at: int):
            nonlocal done
            while done < at:
                filled = done % chunk
                count = min(at - done, chunk - filled)
                write_float(synth.synth, count, left.ctypes.data, filled, 1, right.ctypes.data, filled, 1)
                done += count
                if done % chunk == 0 or done == length:
                    size = done - (done - 1) // chunk * chunk
                    yield (left[:size].astype(np.float64) + right[:size]) / 2

        for time, _, action, args in events:
            yield from render_until(min(length, int(round(time * sample_rate))))
            if done >= length:
                break
            action(*args)
        yield from render_until(length)
    finally:
        synth.delete()
