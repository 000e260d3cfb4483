"""Exercises of notebook 05 (drums): hits per bar, a drum rule against empty bars, and where the
systems leave bars (nearly) empty.

In the notebook: ``from musiclab.exercises import nb05; nb05.check("05.2", no_empty_bar)``. The
reference solutions are in :mod:`musiclab.exercises.solutions.n05`.
"""
from __future__ import annotations

import numpy as np

from musiclab.data.drums import DRUM_CLASSES, SILENCE
from musiclab.errors import check_choice
from musiclab.exercises.feedback import Feedback, attempt, failed, passed
from musiclab.exercises.numeric import mismatch, short
from musiclab.exercises.registry import EXERCISES, Exercise, register
from musiclab.exercises.solutions import n05
from musiclab.rl.rule_set import RuleSet

IDS = ("05.1", "05.2", "05.3")
KICK, SNARE, HIHAT = (DRUM_CLASSES.index(name) for name in ("kick", "snare", "closed_hihat"))


def check(exercise_id: str, answer) -> Feedback:
    """Feedback on ``answer`` for one of notebook 05's exercises (``"05.1"`` … ``"05.3"``)."""
    return EXERCISES[check_choice("exercise id", exercise_id, IDS)].check(answer)


def _grids(n: int, seed: int) -> np.ndarray:
    """``n`` random 2-bar grids [n, 32], from nearly silent to busy (a few bars left empty)."""
    rng = np.random.default_rng(seed)
    density = rng.uniform(0.0, 0.8, size=(n, 2, 1)).repeat(16, axis=2).reshape(n, 32)
    drums = rng.integers(0, SILENCE, size=(n, 32))
    grids = np.where(rng.random((n, 32)) < density, drums, SILENCE)
    grids[0, :16] = SILENCE  # an empty first bar
    return grids


def _hits(grids: np.ndarray) -> np.ndarray:
    """Hits (non-silent steps) per bar: [..., 32] → [..., 2]."""
    return (grids.reshape(*grids.shape[:-1], 2, 16) != SILENCE).sum(axis=-1)


# ----- 05.1 hits per bar ---------------------------------------------------------------------------
def check_hits_per_bar(answer) -> Feedback:
    expected = "hits_per_bar(grid): the number of non-silent steps of bar 1 and bar 2, for 6 grids"
    hint = f"Silence is class {SILENCE}; reshape the 32 steps to 2 bars of 16 and count the other classes."
    grids = np.concatenate([_grids(5, seed=0), np.full((1, 32), KICK)])
    for grid in grids:
        got, feedback = attempt("05.1", expected, hint, lambda: answer(grid.copy()))
        if feedback:
            return feedback
        problem = mismatch(got, _hits(grid))
        if problem:
            return failed("05.1", expected, f"for the grid {grid.tolist()}: {problem}", hint)
    return passed("05.1", expected, f"all 6 agree, e.g. {short(_hits(grids[0]))} for a grid with an empty first bar")


def _wrong_hits(grid):
    return (np.asarray(grid).reshape(2, 16) == SILENCE).sum(axis=1)  # counted the rests


# ----- 05.2 a rule against empty bars --------------------------------------------------------------
def _bar(hits: int, drum: int = KICK) -> list[int]:
    """16 steps with ``hits`` hits of ``drum`` on the first steps, silence after."""
    return [drum] * hits + [SILENCE] * (16 - hits)


#: (what, pattern so far, action, step, reward) — the rule's specification, case by case.
EMPTY_BAR_CASES = (
    ("an empty bar ends with a rest", _bar(0)[:15], SILENCE, 15, -1.0),
    ("3 hits, then a rest at the bar's end", _bar(3)[:15], SILENCE, 15, -1.0),
    ("3 hits, then a 4th on the bar's last step", _bar(3)[:15], HIHAT, 15, 0.0),
    ("4 hits and a rest", _bar(4)[:15], SILENCE, 15, 0.0),
    ("an empty bar, one step before its end", _bar(0)[:14], SILENCE, 14, 0.0),
    ("mid-bar, nothing played yet", [], SILENCE, 7, 0.0),
    ("a full first bar, an empty second one", _bar(16) + _bar(0)[:15], SILENCE, 31, -1.0),
    ("an empty first bar, 4 snares in the second", _bar(0) + _bar(4, SNARE)[:15], SILENCE, 31, 0.0),
)


def check_no_empty_bar(answer) -> Feedback:
    expected = ("a rule(pattern, action, step): −1 at a bar's last step (15 or 31) when that bar, action included, "
                f"has fewer than {n05.MIN_HITS} hits; 0 otherwise ({len(EMPTY_BAR_CASES)} cases)")
    hint = ("Only step % 16 == 15 can score; the bar is pattern[step - 15:step] plus the action; "
            f"count the steps that are not silence ({SILENCE}).")
    for what, pattern, action, step, reward in EMPTY_BAR_CASES:
        got, feedback = attempt("05.2", expected, hint, lambda: answer(list(pattern), action, step))
        if feedback:
            return feedback
        if mismatch(got, reward) is not None:
            return failed("05.2", expected, f"{what} (step {step}): {short(got, 1)} instead of {reward:.1f}", hint)
    rules = RuleSet("groove check", {"no_empty_bar": (answer, 1.0)}, num_steps=32)
    grids = _grids(4, seed=1)
    got, feedback = attempt("05.2", expected, hint, lambda: rules.rewards(grids[:, :15], grids[:, 15], 15))
    if feedback:
        return feedback
    want = np.where(_hits(grids)[:, 0] < n05.MIN_HITS, -1.0, 0.0)
    problem = mismatch(got, want)
    if problem:
        return failed("05.2", expected, f"inside a RuleSet, on 4 random grids at step 15: {problem}", hint)
    return passed("05.2", expected, f"all {len(EMPTY_BAR_CASES)} cases agree, and it works inside a RuleSet")


def _wrong_empty_bar(pattern, action, step):
    if step % 16 != 15:
        return 0.0
    hits = sum(1 for drum in list(pattern) + [action] if drum != SILENCE)  # the whole pattern, not this bar
    return -1.0 if hits < n05.MIN_HITS else 0.0


# ----- 05.3 the share of (nearly) empty bars -------------------------------------------------------
def check_empty_bar_share(answer) -> Feedback:
    expected = "empty_bar_share(grids, min_hits): the share of all bars (2 per grid) with fewer than min_hits hits"
    hint = "Count per bar, not per grid: reshape [N, 32] to [2N, 16], count the hits, compare with min_hits, average."
    cases = [(_grids(40, seed=2), 4), (_grids(40, seed=3), 1), (np.array([_bar(16) + _bar(2)]), 4)]
    for grids, min_hits in cases:
        got, feedback = attempt("05.3", expected, hint, lambda: answer(grids.copy(), min_hits=min_hits))
        if feedback:
            return feedback
        want = float((_hits(grids) < min_hits).mean())
        problem = mismatch(got, want, atol=1e-9)
        if problem:
            return failed("05.3", expected, f"for {len(grids)} grids and min_hits = {min_hits}: {problem}", hint)
    return passed("05.3", expected, f"all 3 cases agree; a full bar and a 2-hit bar give "
                                    f"{float((_hits(cases[2][0]) < 4).mean()):.2f}")


def _wrong_share(grids, min_hits=n05.MIN_HITS):
    return float((_hits(np.asarray(grids)).min(axis=1) < min_hits).mean())  # grids with an empty bar, not bars


register(Exercise(
    "05.1", "Count the hits in each bar", "warm-up", 5,
    'def hits_per_bar(grid):\n'
    '    """The number of steps with a drum hit (not silence) in each bar of a 2-bar grid [32] -> [2]."""\n'
    '    raise NotImplementedError("reshape to 2 bars of 16 steps and count")\n',
    check_hits_per_bar, lambda: n05.hits_per_bar, lambda: _wrong_hits))
register(Exercise(
    "05.2", "A drum rule against empty bars", "core", 15,
    'def no_empty_bar(pattern, action, step):\n'
    '    """At the last step of a bar: -1 if the bar (action included) has fewer than 4 hits; else 0."""\n'
    '    raise NotImplementedError("only steps 15 and 31 can score")\n',
    check_no_empty_bar, lambda: n05.no_empty_bar, lambda: _wrong_empty_bar))
register(Exercise(
    "05.3", "Which system leaves bars empty?", "open-ended", 20,
    'def empty_bar_share(grids, min_hits=4):\n'
    '    """The share of the bars of grids [N, 32] (2 bars each) with fewer than min_hits hits."""\n'
    '    raise NotImplementedError("count per bar, then average")\n',
    check_empty_bar_share, lambda: n05.empty_bar_share, lambda: _wrong_share))
