"""Music-theory rules as small pure functions, and named rule sets built from them.

A rule scores one step of a melody being composed: ``rule(composition, action, step) -> float``,
where ``composition`` holds the events so far (np.int64 [step], the shared melody encoding of
``musiclab.data.melody``: 0 note-off, 1 no-event, 2.. pitch onsets of MIDI 48..83, C major,
16th-note steps), ``action`` is the event about to be appended and ``step`` its index in the piece.
The rule that needs the length of the piece (``ends_on_tonic``) takes a keyword ``num_steps``; a
:class:`RuleSet` binds it from its own setting.

The rules are the RL Tuner's (Jaques et al. 2017, "Sequence Tutor: Conservative fine-tuning of
sequence generation models with KL-control", first published as "Tuning recurrent neural networks
with reinforcement learning"), at the magnitudes of its published implementation (−1 out of key,
+3 tonic, −100 excessive repeats, −3·|r| autocorrelation, +3 motif, +4 repeated motif, interval
preferences × 5, ±5 leaps, +3 unique extremes). Judgement calls of this kit, each on its rule: the
tonic is a C in any octave; the tritone is penalised like a seventh; a hold earns the interval
reward on its first step only; autocorrelation is judged from 8 events on; holds beyond 6 steps count
as excessive repeats; an unresolved leap costs as much as a doubled one; the unique-extremes reward is
paid as it changes rather than at the last step; a repeated motif is paid once per repetition, not on
every step of a loop. ``leap_up_back`` (the RL Tuner's own leap reward on its open-leap bookkeeping,
:func:`open_leap_outcomes`) replaces ``leap_resolution`` in the ``rl_tuner_open_leaps`` set that the
shipped tuners use. Each rule carries its
magnitude (:func:`magnitude`, shown by :func:`describe`) and a vectorised twin (:func:`with_batch`)
that :meth:`RuleSet.rewards` calls once per batch. Notebook 02 shows the table of rules; notebook
03 tunes a Note-RNN with them.
"""
from __future__ import annotations

from typing import Callable, Iterable, Mapping, Sequence

import numpy as np

from musiclab.data.melody import NO_EVENT, NOTE_OFF, NUM_CLASSES
from musiclab.errors import check_choice
from musiclab.rl.rule_set import RuleSet, magnitude, per_item_batch, with_batch
from musiclab.theory import (FIRST_PITCH_EVENT, MOTIF_STEPS, MOTIF_MIN_PITCHES, LEAP_SEMITONES,
                             OUT_OF_KEY_EVENT, TONIC_EVENT, TRIAD_EVENT, last_pitches, is_excessive_repeat,
                             autocorrelations, motif_pitch_counts, leap_outcome, open_leap_outcomes)

#: Steps the final tonic lasts: the piece should end with a tonic onset ``FINAL_NOTE_STEPS`` steps
#: before its end, then only holds or rests (one beat of 16ths).
FINAL_NOTE_STEPS = 4
#: The autocorrelation rule penalises |r| above this threshold.
AUTOCORRELATION_THRESHOLD = 0.15
#: The autocorrelation rule waits for this many events: shorter prefixes give noisy estimates.
MIN_AUTOCORRELATION_STEPS = 8


def _with_actions(compositions: np.ndarray, actions: np.ndarray) -> np.ndarray:
    """[B, t] compositions and [B] actions → [B, t + 1] events."""
    return np.concatenate([compositions, np.asarray(actions, dtype=np.int64).reshape(-1, 1)], axis=1)


def _one(batch_fn: Callable[..., np.ndarray], composition, action: int, step: int, **settings) -> float:
    """Run a batch rule on a single composition."""
    return float(batch_fn(np.asarray(composition, dtype=np.int64).reshape(1, -1), np.array([action]), step,
                          **settings)[0])


# --- the rules -------------------------------------------------------------------------------


def _in_key_batch(compositions: np.ndarray, actions: np.ndarray, step: int) -> np.ndarray:
    return -1.0 * OUT_OF_KEY_EVENT[actions]


@with_batch(_in_key_batch)
@magnitude("−1 per pitch onset outside C major")
def in_key(composition: np.ndarray, action: int, step: int) -> float:
    """Stay in key: −1 when ``action`` is a pitch onset outside C major; rests and holds never are."""
    return -1.0 if OUT_OF_KEY_EVENT[action] else 0.0


def _starts_on_tonic_batch(compositions: np.ndarray, actions: np.ndarray, step: int) -> np.ndarray:
    return 3.0 * TONIC_EVENT[actions] if step == 0 else np.zeros(len(actions))


@with_batch(_starts_on_tonic_batch)
@magnitude("+3 for a tonic (any C) as the first event")
def starts_on_tonic(composition: np.ndarray, action: int, step: int) -> float:
    """Start on the tonic: +3 when the event at step 0 is a C onset (any octave)."""
    return 3.0 if step == 0 and TONIC_EVENT[action] else 0.0


def _ends_on_tonic_batch(compositions: np.ndarray, actions: np.ndarray, step: int, *,
                         num_steps: int = 32) -> np.ndarray:
    final = max(num_steps - FINAL_NOTE_STEPS, 0)
    if step == final:
        return 3.0 * TONIC_EVENT[actions]
    if step > final and compositions.shape[1] > final:
        return 3.0 * ((actions <= NO_EVENT) & TONIC_EVENT[compositions[:, final]])
    return np.zeros(len(actions))


@with_batch(_ends_on_tonic_batch)
@magnitude("+3 for a tonic onset 4 steps before the end, +3 per hold/rest after it")
def ends_on_tonic(composition: np.ndarray, action: int, step: int, *, num_steps: int = 32) -> float:
    """End on the tonic: +3 for a C onset at step ``num_steps − 4``, and +3 for each hold or rest
    after it (when that final note was indeed a C), so the piece closes on a held tonic.
    """
    final = max(num_steps - FINAL_NOTE_STEPS, 0)
    if step == final:
        return 3.0 if TONIC_EVENT[action] else 0.0
    if step > final and action <= NO_EVENT and len(composition) > final and TONIC_EVENT[composition[final]]:
        return 3.0
    return 0.0


@per_item_batch
@magnitude("−100 for a 5th onset of one pitch in a row (7th with holds/rests between), a 3rd note-off "
           "or a 6th hold in a row")
def no_excessive_repeats(composition: Sequence[int], action: int, step: int) -> float:
    """Don't repeat: −100 when ``action`` plays a pitch more than 4 times in a row (6 when holds or
    rests intervene), adds a 3rd note-off to a rest, or holds a note or rest beyond 6 steps (see
    :func:`is_excessive_repeat`).
    """
    return -100.0 if is_excessive_repeat(composition, action) else 0.0


def _low_autocorrelation_batch(compositions: np.ndarray, actions: np.ndarray, step: int) -> np.ndarray:
    if compositions.shape[1] + 1 < MIN_AUTOCORRELATION_STEPS:
        return np.zeros(len(compositions))
    size = np.abs(autocorrelations(_with_actions(compositions, actions)))
    return -3.0 * np.where(size > AUTOCORRELATION_THRESHOLD, size, 0.0).sum(axis=1)  # NaN compares False


@with_batch(_low_autocorrelation_batch)
@magnitude("−3 × |r| for each lag 1–3 with |r| > 0.15 (once 8 events exist)")
def low_autocorrelation(composition: np.ndarray, action: int, step: int) -> float:
    """Avoid monotony: −3·|r(lag)| for each lag in 1, 2, 3 whose autocorrelation of the events so far
    (``action`` included; :func:`autocorrelations`) exceeds 0.15 in size; silent for fewer than 8 events.
    """
    return _one(_low_autocorrelation_batch, composition, action, step)


def _motif_batch(compositions: np.ndarray, actions: np.ndarray, step: int) -> np.ndarray:
    if compositions.shape[1] + 1 < MOTIF_STEPS:
        return np.zeros(len(compositions))
    pitches = motif_pitch_counts(_with_actions(compositions[:, compositions.shape[1] + 1 - MOTIF_STEPS:], actions))
    return np.where(pitches >= MOTIF_MIN_PITCHES, 3.0 + 0.3 * (pitches - MOTIF_MIN_PITCHES), 0.0)


@with_batch(_motif_batch)
@magnitude("+3 (+0.3 per pitch beyond 3) while the last 8 steps hold ≥ 3 distinct pitches")
def motif(composition: np.ndarray, action: int, step: int) -> float:
    """Build motifs: +3 + 0.3·(k − 3) when the last 8 events (``action`` included) contain k ≥ 3
    distinct pitches.
    """
    return _one(_motif_batch, composition, action, step)


def _repeats_a_motif(events: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """[B, t] events → (do the last 8 events repeat, whole and not overlapping, an earlier window
    [B] bool; distinct pitches in the last 8 events [B])."""
    if events.shape[1] < 2 * MOTIF_STEPS:
        return np.zeros(len(events), dtype=bool), np.zeros(len(events), dtype=np.int64)
    windows = events[:, -MOTIF_STEPS:]
    earlier = np.lib.stride_tricks.sliding_window_view(events[:, :-MOTIF_STEPS], MOTIF_STEPS, axis=1)
    return (earlier == windows[:, None, :]).all(axis=2).any(axis=1), motif_pitch_counts(windows)


def _repeated_motif_batch(compositions: np.ndarray, actions: np.ndarray, step: int) -> np.ndarray:
    repeats, pitches = _repeats_a_motif(_with_actions(compositions, actions))
    already, _ = _repeats_a_motif(compositions)
    return np.where(repeats & ~already & (pitches >= MOTIF_MIN_PITCHES), 4.0 + (pitches - MOTIF_MIN_PITCHES), 0.0)


@with_batch(_repeated_motif_batch)
@magnitude("+4 (+1 per pitch beyond 3) once per repetition: when the last 8 steps, a motif, complete a "
           "copy of an earlier passage")
def repeated_motif(composition: np.ndarray, action: int, step: int) -> float:
    """Repeat motifs: +4 + (k − 3) when the last 8 events (``action`` included) form a motif of k ≥ 3
    distinct pitches that already occurred, whole and not overlapping, earlier in the piece — paid
    once per repetition: not again while the following windows keep repeating (a piece that loops
    one motif would otherwise earn it on every step, and a tuned policy learns to do just that).
    """
    return _one(_repeated_motif_batch, composition, action, step)


#: Reward of ``preferred_intervals`` by interval size in semitones (0 = unison … 12 = octave), before
#: the tonic-triad bonuses; larger than an octave: ``LEAP_BEYOND_OCTAVE_REWARD``.
INTERVAL_REWARDS = (0.0, 0.4, 0.4, 0.45, 0.45, 0.35, -1.5, 0.1, 0.25, 0.25, -1.5, -1.5, 0.0)
LEAP_BEYOND_OCTAVE_REWARD = -5.0
#: A third inside the tonic triad (C–E, E–G) and the fifth C–G earn more than other thirds and fifths.
TRIAD_THIRD_REWARD = 0.75
TRIAD_FIFTH_REWARD = 0.5
#: Starting a rest after a note, and holding a note for its second step (more after a third or fifth).
REST_REWARD = 0.25
HOLD_REWARD = 0.375
HOLD_AFTER_THIRD_OR_FIFTH_REWARD = 0.625


def _sounding(composition: Sequence[int]) -> bool:
    """True if a note is sounding at the end of ``composition`` (its last non-hold event is an onset)."""
    for i in range(len(composition) - 1, -1, -1):
        if composition[i] != NO_EVENT:
            return bool(composition[i] >= FIRST_PITCH_EVENT)
    return False


@per_item_batch
@magnitude("steps +0.4, thirds +0.45 (C–E/E–G +0.75), fourth +0.35, fifths +0.1 (C–G +0.5), sixths +0.25; "
           "tritone/sevenths −1.5, beyond an octave −5; rest +0.25, hold +0.375 (+0.625 after a 3rd/5th)")
def preferred_intervals(composition: Sequence[int], action: int, step: int) -> float:
    """Prefer singable intervals between consecutive notes: steps and thirds good, sevenths, the tritone
    and leaps beyond an octave bad (table ``INTERVAL_REWARDS``; the RL Tuner's values × 5). Starting a
    rest after a note earns +0.25; holding a note into its second step +0.375, or +0.625 when that note
    was reached by a third or a fifth.
    """
    if action >= FIRST_PITCH_EVENT:
        previous = last_pitches(composition, 1)
        if not previous:
            return 0.0
        interval = abs(int(action) - previous[0])
        if interval > 12:
            return LEAP_BEYOND_OCTAVE_REWARD
        if TRIAD_EVENT[action] and TRIAD_EVENT[previous[0]]:
            if interval in (3, 4):
                return TRIAD_THIRD_REWARD
            if interval == 7:
                return TRIAD_FIFTH_REWARD
        return INTERVAL_REWARDS[interval]
    if action == NOTE_OFF:
        return REST_REWARD if _sounding(composition) else 0.0
    if len(composition) == 0 or composition[-1] < FIRST_PITCH_EVENT:
        return 0.0
    held = last_pitches(composition, 2)
    if len(held) == 2 and abs(held[1] - held[0]) in (3, 4, 7):
        return HOLD_AFTER_THIRD_OR_FIFTH_REWARD
    return HOLD_REWARD


@per_item_batch
@magnitude("+5 for a step back after a leap ≥ a fifth, −5 for any other next note")
def leap_resolution(composition: Sequence[int], action: int, step: int) -> float:
    """Resolve leaps: after a leap of a fifth or more between the last two notes, +5 when ``action``
    steps back (1–2 semitones, opposite direction) and −5 for any other note. The RL Tuner penalised
    only a second leap the same way; leaving a leap unresolved costs the same here, so resolving is
    the only note without a penalty after a leap.
    """
    if action < FIRST_PITCH_EVENT:
        return 0.0
    previous = last_pitches(composition, 2)
    if len(previous) < 2 or abs(previous[1] - previous[0]) < LEAP_SEMITONES:
        return 0.0
    return 5.0 if leap_outcome(previous[0], previous[1], int(action)) == 1 else -5.0


@per_item_batch
@magnitude("+5 when the melody comes back from an open leap, −5 for a second leap the same way")
def leap_up_back(composition: Sequence[int], action: int, step: int) -> float:
    """Leap up, come back: the RL Tuner's own leap reward on its open-leap bookkeeping
    (:func:`open_leap_outcomes`): +5 when ``action`` resolves an open leap (back to or past the pitch
    it leapt from, or a leap back after more than 6 steps), −5 when it leaps again the same way.
    Exactly what the paper's evaluation counts as resolved and doubled leaps.
    """
    if action < FIRST_PITCH_EVENT:
        return 0.0
    return 5.0 * open_leap_outcomes([*composition, int(action)])[-1]


def _unique_extremes_score(events: np.ndarray) -> np.ndarray:
    """[B, t] events → [B]: +3 if the highest pitch so far was played once, +3 if the lowest was."""
    if events.shape[1] == 0:
        return np.zeros(len(events))
    is_pitch = events >= FIRST_PITCH_EVENT
    top = np.where(is_pitch, events, -1).max(axis=1, keepdims=True)
    bottom = np.where(is_pitch, events, NUM_CLASSES).min(axis=1, keepdims=True)
    unique_top = np.count_nonzero(events == top, axis=1) == 1
    unique_bottom = np.count_nonzero(events == bottom, axis=1) == 1
    return 3.0 * unique_top + 3.0 * unique_bottom


def _unique_extremes_batch(compositions: np.ndarray, actions: np.ndarray, step: int) -> np.ndarray:
    return _unique_extremes_score(_with_actions(compositions, actions)) - _unique_extremes_score(compositions)


@with_batch(_unique_extremes_batch)
@magnitude("±3 as the highest (lowest) note so far becomes or stops being unique; "
           "summed over a piece: +3 unique highest, +3 unique lowest")
def unique_extremes(composition: np.ndarray, action: int, step: int) -> float:
    """A single climax: the change that ``action`` makes to the score "+3 if the highest pitch so far
    was played only once, +3 if the lowest was" (onsets counted).

    Summed over a piece this is exactly the RL Tuner's end-of-piece reward (+3 for a unique highest
    note, +3 for a unique lowest), but paid when it happens (potential-based shaping, Ng, Harada &
    Russell 1999): with γ = 0.5 a reward paid only at the last step is invisible to early choices.
    Replaying the current highest or lowest note costs 3; a new extreme earns back what was lost.
    """
    return _one(_unique_extremes_batch, composition, action, step)


#: Every named melody rule, for :func:`make_rule_set`.
MELODY_RULES: dict[str, Callable[..., float]] = {
    "in_key": in_key,
    "starts_on_tonic": starts_on_tonic,
    "ends_on_tonic": ends_on_tonic,
    "no_excessive_repeats": no_excessive_repeats,
    "low_autocorrelation": low_autocorrelation,
    "motif": motif,
    "repeated_motif": repeated_motif,
    "preferred_intervals": preferred_intervals,
    "leap_resolution": leap_resolution,
    "leap_up_back": leap_up_back,
    "unique_extremes": unique_extremes,
}


# --- named rule sets ---------------------------------------------------------------------------


def make_rule_set(rules: Mapping[str, float] | Iterable[str], *, name: str = "custom",
                  num_steps: int = 32) -> RuleSet:
    """A rule set from named rules of :data:`MELODY_RULES`: ``{'in_key': 2.0, 'motif': 1.0}`` (name →
    weight) or a list of names (weight 1). Raises UnknownNameError for an unknown rule name.
    """
    weights = dict(rules) if isinstance(rules, Mapping) else {rule_name: 1.0 for rule_name in rules}
    for rule_name in weights:
        check_choice("rule", rule_name, MELODY_RULES)
    return RuleSet(name, {rule_name: (MELODY_RULES[rule_name], weight) for rule_name, weight in weights.items()},
                   num_steps=num_steps)


def rl_tuner_rules(num_steps: int = 32) -> RuleSet:
    """The RL Tuner's full music-theory reward, every rule at weight 1.

    Jaques, Gu, Bahdanau, Hernández-Lobato, Turner & Eck, "Sequence Tutor: Conservative fine-tuning
    of sequence generation models with KL-control", ICML 2017 (arXiv:1611.02796; earlier "Tuning
    recurrent neural networks with reinforcement learning"): stay in key, start and end on the tonic,
    no excessive repeats, low autocorrelation, motifs and repeated motifs, preferred intervals,
    resolved leaps, a unique highest and lowest note. Pieces of 32 sixteenths, as in the paper.
    Every rule of ``MELODY_RULES`` but ``leap_up_back`` (the paper's own leap reward, which the
    ``rl_tuner_open_leaps`` set uses instead of ``leap_resolution``).
    """
    return make_rule_set([name for name in MELODY_RULES if name != "leap_up_back"], name="rl_tuner",
                         num_steps=num_steps)


def open_leaps_rules(num_steps: int = 32) -> RuleSet:
    """The RL Tuner's rules with its published leap reward: ``leap_up_back`` (+5 when the melody comes
    back from an open leap, −5 for a second leap the same way) in place of this kit's ``leap_resolution``.

    The rule set of the shipped tuners (``musiclab.rl.tuner_config.fast``). A policy that composes by
    sampling meets leaps of its own making: ``leap_resolution`` pays a step back after any leap, so
    such a policy learns to leap, step back and leap the same way again, which the paper's evaluation
    counts as doubled (Jaques et al. 2017; its ``reward_leap_up_back``). Rewarding what the paper
    counts removes the loophole.
    """
    names = [name for name in MELODY_RULES if name != "leap_resolution"]
    return make_rule_set(names, name="rl_tuner_open_leaps", num_steps=num_steps)


def classic_lstm_rules(num_steps: int = 32) -> RuleSet:
    """The three rules of the classic melody-LSTM + RL study, at the RL Tuner's magnitudes.

    The classic notes-and-chords melody LSTM tuned with reinforcement learning used three music rules:
    stay in the same key; begin and end on the tonic (two functions here); no tone more than four
    times in a row unless held or separated by rests (then up to six). This kit gives them the RL
    Tuner's magnitudes (Jaques et al. 2017).
    """
    return make_rule_set(["in_key", "starts_on_tonic", "ends_on_tonic", "no_excessive_repeats"],
                         name="classic_lstm", num_steps=num_steps)


#: Named rule sets for :func:`rule_set`.
RULE_SETS: dict[str, Callable[[int], RuleSet]] = {
    "rl_tuner": rl_tuner_rules,
    "rl_tuner_open_leaps": open_leaps_rules,
    "classic_lstm": classic_lstm_rules,
}


def rule_set(name: str, num_steps: int = 32) -> RuleSet:
    """The named rule set (a key of ``RULE_SETS``) for pieces of ``num_steps`` steps."""
    check_choice("rule set", name, RULE_SETS)
    return RULE_SETS[name](num_steps)
