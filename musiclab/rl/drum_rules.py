"""Percussion rules as small pure functions, and the named drum rule set (notebook 05).

The drum Note-CNN + DQN paper tuned its model with log p alone and named music-theory
rewards for drums as future work; these rules are that next step. They have the form of the
melody rules in :mod:`musiclab.rl.rules`, ``rule(pattern, action, step) -> float``: ``pattern``
is the 2-bar grid so far (``step`` drum classes of ``musiclab.data.drums``, 9 = silence, as an
np.int64 array or a list: :meth:`RuleSet.rewards` passes lists), ``action`` the class about to be played at ``step`` (0..31; 16 steps a bar, beats at
steps 0, 4, 8, 12 of each bar). A :class:`musiclab.rl.rule_set.RuleSet` combines them, so a drum
set is used as r_MT exactly like a melody set, divided by c (the drum tuner's c is 0.25,
``musiclab.rl.drum_tuning.DRUM_C``).

Each rule has a vectorised twin (``_<rule>_batch(patterns [B, t], actions [B], step) -> [B]``,
attached with :func:`musiclab.rl.rule_set.with_batch`) that :meth:`RuleSet.rewards` calls once per
batch; the tests check that the two agree.

Magnitudes are on the melody rules' scale (±1 for the main rules, ±0.5 for the finer ones),
so one step earns between −2 and +1 before the division by c.
"""
from __future__ import annotations

from typing import Iterable, Mapping, Sequence

import numpy as np

from musiclab.data.drums import DRUM_CLASSES, GRID_STEPS, SILENCE
from musiclab.errors import check_choice
from musiclab.rl.rule_set import RuleSet, magnitude, with_batch

KICK = DRUM_CLASSES.index("kick")
SNARE = DRUM_CLASSES.index("snare")
OPEN_HIHAT = DRUM_CLASSES.index("open_hihat")
CLOSED_HIHAT = DRUM_CLASSES.index("closed_hihat")
RIDE = DRUM_CLASSES.index("ride")
#: The time-keeping drums, in two families: the hi-hats (open or closed) and the ride.
TIMEKEEPERS = frozenset({OPEN_HIHAT, CLOSED_HIHAT, RIDE})
#: Steps per bar, and positions within a bar: strong beats (1, 3), backbeats (2, 4),
#: off-beat eighths (the "and"s).
BAR_STEPS = 16
STRONG_BEATS = (0, 8)
BACKBEATS = (4, 12)
OFFBEAT_EIGHTHS = (2, 6, 10, 14)
#: A drum hit more than this many times in a row (rests skipped) is monotonous.
MAX_RUN = 4
#: A bar should leave at least this many of its 16 steps silent.
MIN_RESTS_PER_BAR = 4


def _is_timekeeper(drums: np.ndarray) -> np.ndarray:
    """Elementwise: is the drum a hi-hat or the ride? (bool array of the same shape)"""
    return (drums == RIDE) | (drums == OPEN_HIHAT) | (drums == CLOSED_HIHAT)


def _kick_on_strong_beats_batch(patterns: np.ndarray, actions: np.ndarray, step: int) -> np.ndarray:
    if step % BAR_STEPS not in STRONG_BEATS:
        return np.zeros(len(actions))
    return (actions == KICK) - (actions == SILENCE).astype(np.float64)


@with_batch(_kick_on_strong_beats_batch)
@magnitude("+1 for a kick on beat 1 or 3, −1 for a rest there")
def kick_on_strong_beats(pattern: Sequence[int], action: int, step: int) -> float:
    """Anchor the bar: +1 for a kick on a strong beat (steps 0 and 8 of a bar), −1 for leaving
    a strong beat silent; other drums there (a crash, a tom fill) score 0."""
    if step % BAR_STEPS not in STRONG_BEATS:
        return 0.0
    return 1.0 if action == KICK else (-1.0 if action == SILENCE else 0.0)


def _snare_on_backbeat_batch(patterns: np.ndarray, actions: np.ndarray, step: int) -> np.ndarray:
    position = step % BAR_STEPS
    sign = 1.0 if position in BACKBEATS else (-1.0 if position in STRONG_BEATS else 0.0)
    return sign * (actions == SNARE)


@with_batch(_snare_on_backbeat_batch)
@magnitude("+1 for a snare on beat 2 or 4, −1 for a snare on beat 1 or 3")
def snare_on_backbeat(pattern: Sequence[int], action: int, step: int) -> float:
    """The backbeat: +1 for a snare on steps 4 and 12 of a bar, −1 for a snare on the strong
    beats (steps 0 and 8), where the kick belongs."""
    if action != SNARE:
        return 0.0
    position = step % BAR_STEPS
    return 1.0 if position in BACKBEATS else (-1.0 if position in STRONG_BEATS else 0.0)


def _timekeeper_on_offbeats_batch(patterns: np.ndarray, actions: np.ndarray, step: int) -> np.ndarray:
    if step % BAR_STEPS not in OFFBEAT_EIGHTHS:
        return np.zeros(len(actions))
    return 0.5 * _is_timekeeper(actions)


@with_batch(_timekeeper_on_offbeats_batch)
@magnitude("+0.5 for a hi-hat or ride on an off-beat eighth")
def timekeeper_on_offbeats(pattern: Sequence[int], action: int, step: int) -> float:
    """Keep time: +0.5 for a hi-hat (open or closed) or ride on the off-beat eighths (steps
    2, 6, 10, 14 of a bar), the places kick and snare leave free for a steady pulse."""
    return 0.5 if action in TIMEKEEPERS and step % BAR_STEPS in OFFBEAT_EIGHTHS else 0.0


def _one_timekeeper_batch(patterns: np.ndarray, actions: np.ndarray, step: int) -> np.ndarray:
    if patterns.shape[1] == 0:
        return np.zeros(len(actions))
    keeps = _is_timekeeper(patterns)
    last = patterns.shape[1] - 1 - np.argmax(keeps[:, ::-1], axis=1)
    previous = patterns[np.arange(len(actions)), last]
    switched = keeps.any(axis=1) & _is_timekeeper(actions) & ((previous == RIDE) != (actions == RIDE))
    return -0.5 * switched


@with_batch(_one_timekeeper_batch)
@magnitude("−0.5 for switching between hi-hat and ride")
def one_timekeeper(pattern: Sequence[int], action: int, step: int) -> float:
    """A steady pulse stays on one cymbal: −0.5 for a hi-hat after the ride or the ride after a
    hi-hat (the last time-keeping hit of the pattern so far decides; open ↔ closed is fine)."""
    if action not in TIMEKEEPERS:
        return 0.0
    for earlier in pattern[::-1]:
        if earlier in TIMEKEEPERS:
            return -0.5 if (earlier == RIDE) != (action == RIDE) else 0.0
    return 0.0


def run_length(pattern: Sequence[int], action: int) -> int:
    """How many hits of ``action`` in a row end the pattern once ``action`` is played, counting
    back over rests until another drum (0 for a rest)."""
    if action == SILENCE:
        return 0
    run = 1
    for earlier in pattern[::-1]:
        if earlier == action:
            run += 1
        elif earlier != SILENCE:
            break
    return run


def _no_monotony_batch(patterns: np.ndarray, actions: np.ndarray, step: int) -> np.ndarray:
    if patterns.shape[1] == 0:
        return np.zeros(len(actions))
    same = patterns == actions[:, None]
    other = ~same & (patterns != SILENCE)
    # index of the last other drum (−1 if none); the run is the same drum's hits after it
    last_other = patterns.shape[1] - 1 - np.argmax(other[:, ::-1], axis=1)
    last_other = np.where(other.any(axis=1), last_other, -1)
    after = np.arange(patterns.shape[1])[None, :] > last_other[:, None]
    runs = (same & after).sum(axis=1) + 1
    return -1.0 * ((runs > MAX_RUN) & (actions != SILENCE))


@with_batch(_no_monotony_batch)
@magnitude("−1 for a 5th hit of one drum in a row (rests skipped)")
def no_monotony(pattern: Sequence[int], action: int, step: int) -> float:
    """No single drum repeated monotonously: −1 for a hit that makes a run of more than 4 hits
    of one drum, rests skipped (another drum breaks the run; see :func:`run_length`)."""
    return -1.0 if run_length(pattern, action) > MAX_RUN else 0.0


def _some_rests_batch(patterns: np.ndarray, actions: np.ndarray, step: int) -> np.ndarray:
    if step % BAR_STEPS != BAR_STEPS - 1:
        return np.zeros(len(actions))
    rests = (patterns[:, step - (BAR_STEPS - 1):step] == SILENCE).sum(axis=1) + (actions == SILENCE)
    return -1.0 * (rests < MIN_RESTS_PER_BAR)


@with_batch(_some_rests_batch)
@magnitude("−1 at the end of a bar with fewer than 4 rests in its 16 steps")
def some_rests(pattern: Sequence[int], action: int, step: int) -> float:
    """Leave some air: at the last step of a bar, −1 if the bar (``action`` included) has fewer
    than 4 silent steps of 16."""
    if step % BAR_STEPS != BAR_STEPS - 1:
        return 0.0
    bar = pattern[step - (BAR_STEPS - 1):step]
    rests = sum(1 for drum in bar if drum == SILENCE) + (action == SILENCE)
    return -1.0 if rests < MIN_RESTS_PER_BAR else 0.0


#: Every drum rule by name, for :func:`make_drum_rule_set`.
DRUM_RULES = {
    "kick_on_strong_beats": kick_on_strong_beats,
    "snare_on_backbeat": snare_on_backbeat,
    "timekeeper_on_offbeats": timekeeper_on_offbeats,
    "one_timekeeper": one_timekeeper,
    "no_monotony": no_monotony,
    "some_rests": some_rests,
}

#: Named drum rule sets: 'groove' (every rule, weight 1) and 'variety' (only the rules against
#: the drum paper's failure, one instrument repeated for most of the bar).
DRUM_RULE_SETS = {
    "groove": tuple(DRUM_RULES),
    "variety": ("no_monotony", "some_rests"),
}


def make_drum_rule_set(rules: Mapping[str, float] | Iterable[str], *, name: str = "custom_drums") -> RuleSet:
    """A :class:`RuleSet` over 2-bar drum grids from named rules of :data:`DRUM_RULES`:
    ``{'kick_on_strong_beats': 2.0, 'no_monotony': 1.0}`` (name → weight) or a list of names
    (weight 1). Raises UnknownNameError for an unknown rule name."""
    weights = dict(rules) if isinstance(rules, Mapping) else {rule: 1.0 for rule in rules}
    for rule in weights:
        check_choice("drum rule", rule, DRUM_RULES)
    return RuleSet(name, {rule: (DRUM_RULES[rule], weight) for rule, weight in weights.items()},
                   num_steps=GRID_STEPS)


def drum_rule_set(name: str = "groove") -> RuleSet:
    """The named drum rule set ('groove' or 'variety'), r_MT for tuning the Note-CNN (notebook 05).
    Rewards of a step lie in [−2, +1] for 'groove', [−2, 0] for 'variety'."""
    check_choice("drum rule set", name, DRUM_RULE_SETS)
    return make_drum_rule_set(DRUM_RULE_SETS[name], name=name)
