"""Encoded sequences to PrettyMIDI and audio: melody events, drum grids, notes-and-chords tokens.

Notebooks 01–05; the players (``audio.players``) and ``export_midi`` use the same conversions.
"""
from __future__ import annotations

import os

import numpy as np

from musiclab.audio.synth import DEFAULT_SAMPLE_RATE, synthesize
from musiclab.errors import BadParameterError


def _as_sequence(values, name: str) -> np.ndarray:
    """A list, NumPy array or torch tensor of ints as a 1-D int64 array."""
    if hasattr(values, "detach"):
        values = values.detach().cpu().numpy()
    array = np.asarray(values)
    if array.ndim != 1 or not (np.issubdtype(array.dtype, np.integer) or array.size == 0):
        raise BadParameterError(
            f"{name} must be a 1-D sequence of integers, got dtype {array.dtype} and shape {array.shape}"
            + ("; pass one row, e.g. batch[0]" if array.ndim == 2 else "")
        )
    return array.astype(np.int64)


def melody_pm(events, tempo_bpm: float, program: int):
    """A PrettyMIDI of encoded melody events (1-D ints, a list, array or tensor)."""
    from musiclab.data.melody import to_pretty_midi

    return to_pretty_midi(_as_sequence(events, "events"), tempo_bpm=tempo_bpm, program=program)


def drums_pm(grid, tempo_bpm: float):
    """A PrettyMIDI of a 2-bar drum grid (32 class indices; a list, array or tensor)."""
    from musiclab.data.drums import grid_to_pretty_midi

    return grid_to_pretty_midi(_as_sequence(grid, "grid"), tempo_bpm=tempo_bpm)


def tokens_pm(tokens, vocab, tempo_bpm: float, step_quarters: float, program: int):
    """A PrettyMIDI of notes-and-chords tokens: strings, or indices decoded with ``vocab``."""
    from musiclab.data.chords import tokens_to_pretty_midi

    if vocab is not None:
        tokens = vocab.decode(_as_sequence(tokens, "tokens").tolist())
    elif isinstance(tokens, str) or not all(isinstance(token, str) for token in tokens):
        raise BadParameterError("tokens must be a list of token strings such as ['C4', 'C4.E4.G4'], "
                                "or indices together with their vocab")
    return tokens_to_pretty_midi(list(tokens), step_quarters=step_quarters, tempo_bpm=tempo_bpm,
                                 program=program)


def melody_audio(events, sample_rate: int = DEFAULT_SAMPLE_RATE, tempo_bpm: float = 120.0,
                 program: int = 0, soundfont: str | os.PathLike | None = None,
                 engine: str = "auto") -> np.ndarray:
    """Render encoded melody events (1-D ints, one per 16th step) to float32 audio [n] (notebooks 01–04)."""
    pm = melody_pm(events, tempo_bpm, program)
    return synthesize(pm, sample_rate, soundfont, engine=engine)


def drums_audio(grid, sample_rate: int = DEFAULT_SAMPLE_RATE, tempo_bpm: float = 100.0,
                soundfont: str | os.PathLike | None = None, engine: str = "auto") -> np.ndarray:
    """Render a 2-bar drum grid (32 class indices) to float32 audio [n] (notebook 05)."""
    pm = drums_pm(grid, tempo_bpm)
    return synthesize(pm, sample_rate, soundfont, engine=engine)


def tokens_audio(tokens, vocab=None, sample_rate: int = DEFAULT_SAMPLE_RATE, tempo_bpm: float = 120.0,
                 step_quarters: float = 0.5, program: int = 0, soundfont: str | os.PathLike | None = None,
                 engine: str = "auto") -> np.ndarray:
    """Render notes-and-chords tokens to float32 audio [n], each token ``step_quarters`` long.

    ``tokens``: indices (1-D ints) with their ``vocab`` (a ``chords.Vocabulary``), or token
    strings ("E4", "C4.E4.G4") with ``vocab=None``. Notebooks 01–02 (classic LSTM).
    """
    pm = tokens_pm(tokens, vocab, tempo_bpm, step_quarters, program)
    return synthesize(pm, sample_rate, soundfont, engine=engine)
