"""Inline ``IPython.display.Audio`` players for audio, MIDI and encoded sequences (every notebook)."""
from __future__ import annotations

import os

import numpy as np

from musiclab.audio.render import drums_pm, melody_pm, tokens_pm
from musiclab.audio.synth import (DEFAULT_SAMPLE_RATE, PEAK_LEVEL, RELEASE_SECONDS, check_audio,
                                  check_sample_rate, synthesize)
from musiclab.errors import BadParameterError, check_range

#: Longest clip a player embeds by default (seconds).
DEFAULT_MAX_SECONDS = 15.0
#: Level, relative to the peak, below which trailing audio counts as silence (-50 dB).
SILENCE_RATIO = 10 ** (-50 / 20)


def prepare_clip(audio: np.ndarray, sample_rate: int,
                 max_seconds: float | None = DEFAULT_MAX_SECONDS) -> np.ndarray:
    """Make audio ready to embed: trim trailing silence, cap at ``max_seconds`` (with a 50 ms
    fade-out), normalise the peak to 0.9. Returns float32 [m], m <= len(audio)."""
    sample_rate = check_sample_rate(sample_rate)
    samples = check_audio(audio).astype(np.float64)
    peak = float(np.abs(samples).max()) if samples.size else 0.0
    if peak > 0:
        loud = np.flatnonzero(np.abs(samples) > peak * SILENCE_RATIO)
        samples = samples[: min(samples.size, loud[-1] + 1 + int(0.05 * sample_rate))]
    if max_seconds is not None:
        limit = int(check_range("max_seconds", max_seconds, 0.0, low_open=True) * sample_rate)
        if samples.size > limit:
            samples = samples[:limit].copy()
            fade = min(limit, int(0.05 * sample_rate))
            samples[limit - fade:] *= np.linspace(1.0, 0.0, fade)
    peak = float(np.abs(samples).max()) if samples.size else 0.0
    if peak > 0:
        samples = samples * (PEAK_LEVEL / peak)
    return samples.astype(np.float32)


def player(audio_or_pm, sample_rate: int = DEFAULT_SAMPLE_RATE,
           max_seconds: float | None = DEFAULT_MAX_SECONDS,
           soundfont: str | os.PathLike | None = None, engine: str = "auto"):
    """An inline ``IPython.display.Audio`` player for float audio [n] at ``sample_rate``, a PrettyMIDI,
    or a MIDI file path; trimmed, capped at ``max_seconds`` and peak-normalised (every notebook)."""
    from IPython.display import Audio

    sample_rate = check_sample_rate(sample_rate)
    if hasattr(audio_or_pm, "detach"):  # a torch tensor of samples
        audio_or_pm = audio_or_pm.detach().cpu().numpy()
    if isinstance(audio_or_pm, np.ndarray):
        if np.issubdtype(audio_or_pm.dtype, np.integer):
            raise BadParameterError("player got an integer array; for encoded melodies, drum grids or "
                                    "tokens use play_melody / play_drums / play_tokens")
        audio = audio_or_pm
    else:
        audio = synthesize(audio_or_pm, sample_rate, soundfont, engine=engine,
                           max_seconds=None if max_seconds is None else max_seconds + RELEASE_SECONDS)
    clip = prepare_clip(audio, sample_rate, max_seconds)
    return Audio(clip, rate=sample_rate, normalize=False)


def play_melody(events, tempo_bpm: float = 120.0, program: int = 0, sample_rate: int = DEFAULT_SAMPLE_RATE,
                max_seconds: float | None = DEFAULT_MAX_SECONDS, soundfont: str | os.PathLike | None = None,
                engine: str = "auto"):
    """Inline player for encoded melody events (1-D ints; notebooks 01–04)."""
    pm = melody_pm(events, tempo_bpm, program)
    return player(pm, sample_rate, max_seconds, soundfont, engine)


def play_drums(grid, tempo_bpm: float = 100.0, sample_rate: int = DEFAULT_SAMPLE_RATE,
               max_seconds: float | None = DEFAULT_MAX_SECONDS, soundfont: str | os.PathLike | None = None,
               engine: str = "auto"):
    """Inline player for a 2-bar drum grid (32 class indices; notebook 05)."""
    pm = drums_pm(grid, tempo_bpm)
    return player(pm, sample_rate, max_seconds, soundfont, engine)


def play_tokens(tokens, vocab=None, tempo_bpm: float = 120.0, step_quarters: float = 0.5, program: int = 0,
                sample_rate: int = DEFAULT_SAMPLE_RATE, max_seconds: float | None = DEFAULT_MAX_SECONDS,
                soundfont: str | os.PathLike | None = None, engine: str = "auto"):
    """Inline player for notes-and-chords tokens (indices with their vocab, or strings; notebooks 01–02)."""
    pm = tokens_pm(tokens, vocab, tempo_bpm, step_quarters, program)
    return player(pm, sample_rate, max_seconds, soundfont, engine)
