"""Reference solutions of notebook 07's exercises (moments, the preference reward, a new feature)."""
from __future__ import annotations

import math

import numpy as np

from musiclab.theory import FIRST_PITCH_EVENT, OUT_OF_KEY_EVENT


def step_at(seconds: float, tempo_bpm: float) -> int:
    """07.1: the 16th-note step playing ``seconds`` into a piece at ``tempo_bpm`` quarter notes a minute."""
    return math.floor(seconds * tempo_bpm / 60 * 4)


def preference_reward(z, weights, bias: float) -> np.ndarray:
    """07.2: r_pref = 2 σ(w·z + b) − 1 for standardised features z [B, F] → [B]."""
    logits = np.asarray(z, dtype=float) @ np.asarray(weights, dtype=float) + bias
    return 2.0 / (1.0 + np.exp(-logits)) - 1.0


def in_key_feature(events, end: int, window: int = 8) -> float:
    """07.3: share of the note onsets in C major among the ``window`` steps ending at ``end``
    (inclusive); 1.0 when the window has no onset (nothing out of key was heard)."""
    heard = np.asarray(events)[max(0, end - window + 1):end + 1]
    onsets = heard[heard >= FIRST_PITCH_EVENT]
    return float(1.0 - OUT_OF_KEY_EVENT[onsets].mean()) if onsets.size else 1.0
