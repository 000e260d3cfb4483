"""Melodies written as text for tests: 'C4 D4 - . E4' (pitch names, '-' hold, '.' note-off)."""
from __future__ import annotations

import numpy as np

from musiclab.data.melody import NO_EVENT, NOTE_OFF

_NAMES = {"C": 0, "C#": 1, "D": 2, "D#": 3, "E": 4, "F": 5, "F#": 6, "G": 7, "G#": 8, "A": 9, "A#": 10, "B": 11}


def ev(token: str) -> int:
    """One event from a token: '-' hold, '.' note-off, else a pitch name such as 'C4' or 'F#3'."""
    if token == "-":
        return NO_EVENT
    if token == ".":
        return NOTE_OFF
    return 12 * (int(token[-1]) + 1) + _NAMES[token[:-1]] - 46


def mel(text: str) -> np.ndarray:
    """One melody from space-separated tokens → int64 [T]."""
    return np.array([ev(token) for token in text.split()], dtype=np.int64)


def mels(*texts: str) -> np.ndarray:
    """Equal-length melodies from space-separated tokens → int64 [N, T]."""
    return np.array([mel(text) for text in texts], dtype=np.int64)
