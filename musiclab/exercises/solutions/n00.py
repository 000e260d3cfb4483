"""Reference solutions for notebook 00 (data and sound): the event encoding by hand, and statistics on events."""
from __future__ import annotations

import numpy as np

from musiclab.data.melody import NO_EVENT, PITCH_OFFSET


def twinkle() -> list[int]:
    """00.1: "C C G G A A G" (C4 G4 A4, quarter notes, the last G a half note) as 32 events."""
    c4, g4, a4 = 60 - PITCH_OFFSET, 67 - PITCH_OFFSET, 69 - PITCH_OFFSET
    quarter = lambda event: [event, NO_EVENT, NO_EVENT, NO_EVENT]  # noqa: E731
    return quarter(c4) + quarter(c4) + quarter(g4) + quarter(g4) + quarter(a4) + quarter(a4) + \
        [g4] + [NO_EVENT] * 7


def pitch_class_counts(events) -> np.ndarray:
    """00.2: how many note onsets of each pitch class (C = 0 … B = 11) ``events`` holds: int [12]."""
    events = np.asarray(events)
    onsets = events[events > NO_EVENT]
    return np.bincount((onsets + PITCH_OFFSET) % 12, minlength=12)


def notes_per_bar(events) -> float:
    """00.3: note onsets per bar of 16 steps (a bar cut short counts as the fraction it covers)."""
    events = np.asarray(events)
    return float((events > NO_EVENT).sum() / (len(events) / 16))
