"""Exercises of notebook 07 (therapy session): a moment's step, the preference reward, and a new
preference feature (how much of what was just heard is in key).

In the notebook: ``from musiclab.exercises import nb07; nb07.check("07.2", preference_reward)``.
The reference solutions are in :mod:`musiclab.exercises.solutions.n07`.
"""
from __future__ import annotations

import numpy as np

from musiclab.errors import check_choice
from musiclab.eval.vae import in_key_share
from musiclab.exercises.feedback import Feedback, attempt, failed, passed
from musiclab.exercises.numeric import mismatch, short
from musiclab.exercises.registry import EXERCISES, Exercise, register
from musiclab.exercises.solutions import n07
from musiclab.therapy.feedback import seconds_to_step
from musiclab.therapy.preference import NUM_FEATURES, PreferenceModel

IDS = ("07.1", "07.2", "07.3")


def check(exercise_id: str, answer) -> Feedback:
    """Feedback on ``answer`` for one of notebook 07's exercises (``"07.1"`` … ``"07.3"``)."""
    return EXERCISES[check_choice("exercise id", exercise_id, IDS)].check(answer)


# ----- 07.1 from a moment to a step ----------------------------------------------------------------
MOMENTS = ((2.0, 90.0), (0.5, 72.0), (1.0, 60.0), (3.3, 120.0), (0.0, 100.0), (10.0, 72.0))


def check_step_at(answer) -> Feedback:
    expected = f"step_at(seconds, tempo_bpm) equal to feedback.seconds_to_step for {len(MOMENTS)} moments"
    hint = "A quarter note lasts 60 / tempo seconds and holds 4 sixteenths: step = ⌊seconds · tempo / 60 · 4⌋."
    for seconds, tempo in MOMENTS:
        want = seconds_to_step(seconds, tempo)
        got, feedback = attempt("07.1", expected, hint, lambda: answer(seconds, tempo))
        if feedback:
            return feedback
        if mismatch(got, want) is not None:
            return failed("07.1", expected, f"{seconds} s at {tempo:.0f} bpm: {short(got)} instead of step {want}", hint)
    return passed("07.1", expected, f"all {len(MOMENTS)} agree; 2 s at 90 bpm is step {seconds_to_step(2.0, 90.0)}")


def _wrong_step(seconds, tempo_bpm):
    return int(seconds * tempo_bpm / 60)  # counted quarter notes, not sixteenths


# ----- 07.2 the preference reward ------------------------------------------------------------------
def check_preference_reward(answer) -> Feedback:
    expected = "preference_reward(z, w, b) [B] equal to PreferenceModel(weights=w, bias=b).reward(z), 3 models"
    hint = "P(like | z) = σ(w·z + b) = 1 / (1 + exp(−(z @ w + b))); r_pref = 2 P − 1 lies in [−1, 1]."
    rng = np.random.default_rng(7)
    for i, bias in enumerate((0.0, 0.8, -1.5)):
        weights, z = rng.normal(size=NUM_FEATURES), rng.normal(size=(6, NUM_FEATURES))
        want = PreferenceModel(weights=weights, bias=bias).reward(z)
        got, feedback = attempt("07.2", expected, hint, lambda: answer(z.copy(), weights.copy(), bias))
        if feedback:
            return feedback
        problem = mismatch(got, want, atol=1e-6)
        if problem:
            return failed("07.2", expected, f"model {i + 1} (b = {bias}): {problem}", hint)
    return passed("07.2", expected, "all 3 models agree: z = 0 with b = 0 gives r_pref = 0, 'as usual' is neutral")


def _wrong_reward(z, weights, bias):
    return 1.0 / (1.0 + np.exp(-(np.asarray(z) @ np.asarray(weights) + bias)))  # P(like), not 2P − 1


# ----- 07.3 a new feature: in key --------------------------------------------------------------------
def _melodies() -> np.ndarray:
    """5 random melodies [5, 24] of the shared encoding, with rests, holds and out-of-key notes."""
    rng = np.random.default_rng(8)
    events = rng.integers(2, 38, size=(5, 24))
    events[rng.random(events.shape) < 0.4] = 1  # holds
    events[rng.random(events.shape) < 0.1] = 0  # note-offs
    events[0, :10] = [0, 1, 1, 1, 1, 1, 1, 1, 1, 1]  # a silent start: no onset in the first windows
    return events


def check_in_key_feature(answer) -> Feedback:
    expected = ("in_key_feature(events, end, window): eval.vae.in_key_share of the window's steps "
                "(1.0 without an onset), at every end of 5 melodies, windows 8 and 3")
    hint = ("The window is events[max(0, end − window + 1) : end + 1]; count onsets (events ≥ 2) only, "
            "not holds; with no onset return 1.0.")
    for melody in _melodies():
        for window in (8, 3):
            for end in range(len(melody)):
                heard = melody[max(0, end - window + 1):end + 1]
                share = in_key_share(heard)
                want = 1.0 if np.isnan(share) else share
                got, feedback = attempt("07.3", expected, hint, lambda: answer(melody.copy(), end, window=window))
                if feedback:
                    return feedback
                problem = mismatch(got, want, atol=1e-9)
                if problem:
                    return failed("07.3", expected, f"window {window} ending at step {end} of {melody.tolist()}: "
                                                    f"{problem}", hint)
    return passed("07.3", expected, "every window agrees")


def _wrong_feature(events, end, window=8):
    heard = np.asarray(events)[max(0, end - window):end]  # the window stops before the moment itself
    share = in_key_share(heard) if len(heard) else float("nan")
    return 1.0 if np.isnan(share) else share


register(Exercise(
    "07.1", "From a moment to a step", "warm-up", 5,
    'def step_at(seconds, tempo_bpm):\n'
    '    """The 16th-note step playing `seconds` into a piece at `tempo_bpm` quarter notes per minute."""\n'
    '    raise NotImplementedError("how long is one sixteenth at this tempo?")\n',
    check_step_at, lambda: n07.step_at, lambda: _wrong_step))
register(Exercise(
    "07.2", "The preference reward", "core", 10,
    'def preference_reward(z, weights, bias):\n'
    '    """r_pref = 2 P(like | z) - 1 with P = sigmoid(w.z + b), for features z [B, F] -> [B]."""\n'
    '    raise NotImplementedError("logistic regression, then map [0, 1] to [-1, 1]")\n',
    check_preference_reward, lambda: n07.preference_reward, lambda: _wrong_reward))
register(Exercise(
    "07.3", "A preference feature: how much was in key?", "open-ended", 20,
    'def in_key_feature(events, end, window=8):\n'
    '    """Share of the note onsets in C major among the `window` steps ending at `end` (inclusive);\n'
    '    1.0 when there is no onset."""\n'
    '    raise NotImplementedError("cut the window, keep the onsets, look them up in OUT_OF_KEY_EVENT")\n',
    check_in_key_feature, lambda: n07.in_key_feature, lambda: _wrong_feature))
