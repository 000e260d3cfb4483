"""Reference solutions of notebook 05's exercises (drum grids and a rule against empty bars)."""
from __future__ import annotations

import numpy as np

from musiclab.data.drums import SILENCE

BAR_STEPS = 16
MIN_HITS = 4


def hits_per_bar(grid) -> np.ndarray:
    """05.1: the number of steps with a drum hit (not silence) in each bar of a 2-bar grid [32] → [2]."""
    return (np.asarray(grid).reshape(-1, BAR_STEPS) != SILENCE).sum(axis=1)


def no_empty_bar(pattern, action: int, step: int) -> float:
    """05.2: at the last step of a bar, −1 if the bar (``action`` included) has fewer than 4 hits."""
    if step % BAR_STEPS != BAR_STEPS - 1:
        return 0.0
    bar = list(pattern[step - (BAR_STEPS - 1):step]) + [action]
    hits = sum(1 for drum in bar if drum != SILENCE)
    return -1.0 if hits < MIN_HITS else 0.0


def empty_bar_share(grids, min_hits: int = MIN_HITS) -> float:
    """05.3: the share of the bars of grids [N, 32] that have fewer than ``min_hits`` hits."""
    hits = (np.asarray(grids).reshape(-1, BAR_STEPS) != SILENCE).sum(axis=1)
    return float((hits < min_hits).mean())
