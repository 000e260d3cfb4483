"""This kit's own reading of the RL Tuner's rules: how closely N compositions follow them, per note.

Compositions are np.int64 [N, T] in the shared melody encoding (0 note-off, 1 no-event, 2.. pitch
onsets; C major; 16th steps). Every metric uses the same helpers as the rules in
:mod:`musiclab.rl.rules`, so a melody that follows the rules scores well. These counts are *not*
the paper's: they count notes (onsets) rather than events, accept any C as the tonic and count every
note a motif window covers. Any comparison with the figures of Jaques et al. (2017) uses
:func:`musiclab.eval.paper.paper_metrics`, which counts as the paper's released code counted; this
table is never set beside the paper's row. :func:`metric_table` prints either; :func:`piece_profiles`
gives these quantities per piece (the therapy session matches pieces by them, notebook 07).
"""
from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np
import torch

from musiclab.data.melody import NUM_CLASSES, check_events
from musiclab.errors import BadParameterError
from musiclab.theory import (FIRST_PITCH_EVENT, LEAP_DOUBLED, LEAP_RESOLVED, LEAP_SEMITONES,
                             MOTIF_MIN_PITCHES, MOTIF_STEPS, OUT_OF_KEY_EVENT, TONIC_EVENT, STEP_SEMITONES,
                             autocorrelations, is_excessive_repeat, motif_pitch_counts, motif_windows,
                             open_leap_outcomes)

#: The metrics of the table, in the paper's order (all fractions in [0, 1] but the autocorrelations).
METRIC_KEYS = (
    "notes_excessively_repeated", "notes_not_in_key",
    "autocorrelation_lag1", "autocorrelation_lag2", "autocorrelation_lag3",
    "starts_with_tonic", "leaps_resolved", "leaps_stepped_back", "unique_max", "unique_min",
    "notes_in_motif", "notes_in_repeated_motif",
)
#: The metric a sequence model adds: mean log-probability per step under the model.
LOG_P_KEY = "mean_log_p"
_SIGNED_KEYS = ("autocorrelation_lag1", "autocorrelation_lag2", "autocorrelation_lag3", LOG_P_KEY)
#: Keys that are neither fractions nor signed: printed as plain numbers (bits, ratios, seconds).
_PLAIN_KEYS = ("pitch_class_entropy", "retained_likelihood_ratio", "tuning_seconds")


def check_compositions(compositions, parameter: str = "compositions", length: int | None = None) -> np.ndarray:
    """``compositions`` as an int64 [N, T] array of valid events (T = ``length`` when given), or a
    BadParameterError naming ``parameter`` (:func:`musiclab.data.melody.check_events` checks the events)."""
    array = check_events(compositions, parameter, ndim=2)
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise BadParameterError(f"{parameter} must be a non-empty [N, T] array of events (use melody[None] "
                                f"for one), got shape {array.shape}")
    if length is not None and array.shape[1] != length:
        raise BadParameterError(f"{parameter} must hold pieces of {length} steps, got {array.shape[1]} "
                                "(pass length=None to count pieces of another length)")
    return array


def _ratio(count: float, total: float) -> float:
    return float(count) / total if total else math.nan


def _cover(starts: np.ndarray, length: int) -> np.ndarray:
    """[N, W] bool marks of windows starting at 0..W-1 → [N, length] bool: step covered by a marked window."""
    covered = np.zeros((len(starts), length), dtype=bool)
    for start in range(starts.shape[1]):
        covered[:, start:start + MOTIF_STEPS] |= starts[:, start:start + 1]
    return covered


def _motif_windows(compositions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per window start of MOTIF_STEPS events: is it a motif, and is it a repeated motif? Both [N, W]."""
    is_motif, keys = motif_windows(compositions)
    starts = is_motif.shape[1]
    repeated = np.zeros_like(is_motif)
    for shift in range(MOTIF_STEPS, starts):  # only non-overlapping pairs of windows
        same = keys[:, shift:] == keys[:, :-shift]
        repeated[:, shift:] |= same
        repeated[:, :-shift] |= same
    return is_motif, is_motif & repeated


def _excessive_repeats(compositions: np.ndarray) -> int:
    count = 0
    for row in compositions.tolist():
        count += sum(event >= FIRST_PITCH_EVENT and is_excessive_repeat(row[:i], event)
                     for i, event in enumerate(row))
    return count


def _leap_outcome_counts(pieces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per piece of [N, T]: (leaps resolved, leaps doubled) as the RL Tuner's evaluation counts them
    (:func:`~musiclab.theory.open_leap_outcomes`), float64 [N] each."""
    outcomes = np.array([open_leap_outcomes(row) for row in pieces.tolist()]).reshape(pieces.shape)
    return ((outcomes == LEAP_RESOLVED).sum(axis=1).astype(np.float64),
            (outcomes == LEAP_DOUBLED).sum(axis=1).astype(np.float64))


def _stepped_back_counts(pieces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per piece of [N, T]: (leaps followed by another note, of which the next note steps back),
    float64 [N] each; the step-back test of :func:`~musiclab.theory.leap_outcome`, vectorised."""
    rows = len(pieces)
    before, leap_end = np.full(rows, -1), np.full(rows, -1)  # the last two pitches so far
    leaps, stepped_back = np.zeros(rows), np.zeros(rows)
    for event in pieces.T:
        onset = event >= FIRST_PITCH_EVENT
        leap = onset & (before >= 0) & (np.abs(leap_end - before) >= LEAP_SEMITONES)
        move = event - leap_end
        step_back = (np.sign(move) == np.sign(before - leap_end)) & (np.abs(move) <= STEP_SEMITONES)
        leaps += leap
        stepped_back += leap & step_back
        before, leap_end = np.where(onset, leap_end, before), np.where(onset, event, leap_end)
    return leaps, stepped_back


def _unique_extreme(compositions: np.ndarray, highest: bool) -> np.ndarray:
    """[N] bool: the highest (or lowest) pitch of each composition is played exactly once."""
    is_pitch = compositions >= FIRST_PITCH_EVENT
    if highest:
        extreme = np.where(is_pitch, compositions, -1).max(axis=1, keepdims=True)
    else:
        extreme = np.where(is_pitch, compositions, NUM_CLASSES).min(axis=1, keepdims=True)
    return np.count_nonzero(compositions == extreme, axis=1) == 1


def _model_device(model) -> torch.device:
    try:
        return next(model.parameters()).device
    except (AttributeError, StopIteration):
        return torch.device("cpu")


def mean_log_p(compositions, model, batch_size: int = 1024) -> float:
    """Mean log-probability (nats) per step of ``compositions`` [N, T] under ``model``.

    ``model.log_prob(LongTensor [n, T]) -> [n, T]`` (the Note-RNN's); averaged over all steps of all
    compositions, evaluated in chunks of ``batch_size`` without gradients.
    """
    compositions = check_compositions(compositions)
    device = _model_device(model)
    total = 0.0
    with torch.no_grad():
        for start in range(0, len(compositions), batch_size):
            chunk = torch.as_tensor(compositions[start:start + batch_size], dtype=torch.long, device=device)
            log_p = model.log_prob(chunk)
            if tuple(log_p.shape) != tuple(chunk.shape):
                raise BadParameterError(
                    f"model.log_prob must return one value per step, shape {tuple(chunk.shape)}, got {tuple(log_p.shape)}")
            total += float(log_p.double().sum())
    return total / compositions.size


def melody_metrics(compositions, model=None) -> dict[str, float]:
    """The RL Tuner's table for N compositions [N, T] (np.int64 or LongTensor): name → value.

    "Notes" are pitch onsets (events ≥ 2). Fractions are NaN when their denominator is 0.

    - ``notes_excessively_repeated``: notes that the repeat rule penalises (the 5th onset of a pitch
      in a row, the 7th when holds/rests lie between; :func:`~musiclab.theory.is_excessive_repeat`)
      / all notes.
    - ``notes_not_in_key``: notes outside C major / all notes.
    - ``autocorrelation_lag1`` … ``lag3``: the autocorrelation of each composition's raw events at lag
      1, 2, 3 (:func:`~musiclab.theory.autocorrelations`), averaged over the compositions where it is
      defined (not constant).
    - ``starts_with_tonic``: compositions whose first event is a C onset (any octave) / compositions.
    - ``leaps_resolved``: the RL Tuner's own count (its evaluation code; ``open_leap_outcomes``): a
      leap (≥ 7 semitones between consecutive notes) is resolved when the melody comes back to the
      pitch it leapt from, doubled when it leaps again the same way first; resolved / (resolved +
      doubled). Leaps that stay open count in neither.
    - ``leaps_stepped_back``: leaps that the very next note answers by a step back (1–2 semitones,
      opposite direction; what the leap rule rewards) / leaps followed by another note. Stricter than
      ``leaps_resolved`` and not in the paper's table.
    - ``unique_max``, ``unique_min``: compositions whose highest (lowest) pitch is played exactly once
      / compositions (a composition without notes has neither).
    - ``notes_in_motif``: notes inside some window of 8 consecutive steps that holds ≥ 3 distinct
      pitches (a motif) / all notes.
    - ``notes_in_repeated_motif``: notes inside a motif window whose exact 8 events occur again in
      the composition without overlapping it / all notes.
    - ``mean_log_p`` (only with ``model``): see :func:`mean_log_p`.
    """
    compositions = check_compositions(compositions)
    n, length = compositions.shape
    is_note = compositions >= FIRST_PITCH_EVENT
    notes = int(is_note.sum())
    lag_r = autocorrelations(compositions, (1, 2, 3))
    defined = ~np.isnan(lag_r)
    resolved, doubled = (float(counts.sum()) for counts in _leap_outcome_counts(compositions))
    leaps, stepped_back = (float(counts.sum()) for counts in _stepped_back_counts(compositions))
    is_motif, is_repeated = _motif_windows(compositions)
    metrics = {
        "notes_excessively_repeated": _ratio(_excessive_repeats(compositions), notes),
        "notes_not_in_key": _ratio(OUT_OF_KEY_EVENT[compositions].sum(), notes),
    }
    for j in range(3):
        metrics[f"autocorrelation_lag{j + 1}"] = _ratio(np.nansum(lag_r[:, j]), defined[:, j].sum())
    metrics.update({
        "starts_with_tonic": _ratio(TONIC_EVENT[compositions[:, 0]].sum(), n),
        "leaps_resolved": _ratio(resolved, resolved + doubled),
        "leaps_stepped_back": _ratio(stepped_back, leaps),
        "unique_max": _ratio(_unique_extreme(compositions, highest=True).sum(), n),
        "unique_min": _ratio(_unique_extreme(compositions, highest=False).sum(), n),
        "notes_in_motif": _ratio((_cover(is_motif, length) & is_note).sum(), notes),
        "notes_in_repeated_motif": _ratio((_cover(is_repeated, length) & is_note).sum(), notes),
    })
    if model is not None:
        metrics[LOG_P_KEY] = mean_log_p(compositions, model)
    return metrics


def _format(key: str, value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if key in _SIGNED_KEYS:
        return f"{value:+.3f}"
    if key in _PLAIN_KEYS:
        return f"{value:.3g}"
    return f"{100 * value:.2f} %"


def metric_table(results: Mapping[str, Mapping[str, float]], keys: Sequence[str] | None = None) -> str:
    """A plain-text table with one row per metric and one column per system (e.g. 'Note-RNN', 'DQN';
    ``musiclab.eval.paper.PAPER_DQN_ROW`` goes beside rows of ``paper_metrics`` only). Fractions print
    as percentages, autocorrelations and mean log p as signed numbers, entropies (bits), ratios and
    seconds as plain numbers, missing values as '–'. ``keys`` defaults to every metric of this kit's
    table present.
    """
    if not results:
        raise BadParameterError("results must name at least one system, e.g. {'Note-RNN': melody_metrics(...)}")
    if keys is None:
        keys = list(METRIC_KEYS) + ([LOG_P_KEY] if any(LOG_P_KEY in row for row in results.values()) else [])
    names = list(results)
    cells = [[_format(key, results[name].get(key)) for name in names] for key in keys]
    label_width = max(len("metric"), *(len(key) for key in keys))
    widths = [max(len(name), *(len(row[j]) for row in cells)) for j, name in enumerate(names)]
    lines = ["  ".join(["metric".ljust(label_width)] + [name.rjust(w) for name, w in zip(names, widths)])]
    lines.append("  ".join(["-" * label_width] + ["-" * w for w in widths]))
    for key, row in zip(keys, cells):
        lines.append("  ".join([key.ljust(label_width)] + [cell.rjust(w) for cell, w in zip(row, widths)]))
    return "\n".join(lines)


#: The columns of :func:`piece_profiles`: one piece's values of the RL Tuner's metric table
#: (:func:`melody_metrics`), with its leaps as counts.
PIECE_PROFILE_KEYS = ("starts_with_tonic", "unique_max", "unique_min", "leaps", "leaps_stepped_back",
                      "leaps_resolved", "leaps_doubled", "notes_in_motif", "notes_not_in_key",
                      "autocorrelation_lag1", "autocorrelation_lag2", "autocorrelation_lag3")


def piece_profiles(pieces) -> np.ndarray:
    """Each piece's music-theory profile: melodies [N, T] → float64 [N, len(PIECE_PROFILE_KEYS)].

    Per piece, the quantities behind the RL Tuner's metric table (``melody_metrics``, whose
    population values they add up to): starts on the tonic, unique highest / lowest pitch (0 or 1);
    leaps (≥ a fifth, followed by a note) and of them those the next note steps back from (counts);
    leaps resolved and leaps doubled as the RL Tuner counts them (counts, ``open_leap_outcomes``); share
    of notes inside a motif and outside C major; autocorrelation at lags 1-3 (0 where undefined).
    The therapy session's theory match compares them (``musiclab.therapy.feedback``, notebook 07).
    """
    batch = check_events(pieces, "pieces", ndim=2)
    if batch.shape[1] < MOTIF_STEPS:
        raise BadParameterError(f"pieces must be [N, T >= {MOTIF_STEPS}] melodies, got shape {batch.shape}")
    rows = len(batch)
    is_note = batch >= FIRST_PITCH_EVENT
    notes = np.maximum(is_note.sum(axis=1), 1)
    top = np.where(is_note, batch, -1).max(axis=1, keepdims=True)
    bottom = np.where(is_note, batch, NUM_CLASSES).min(axis=1, keepdims=True)
    leaps, stepped_back = _stepped_back_counts(batch)
    windows = np.lib.stride_tricks.sliding_window_view(batch, MOTIF_STEPS, axis=1)
    is_motif = (motif_pitch_counts(windows.reshape(-1, MOTIF_STEPS)) >= MOTIF_MIN_PITCHES).reshape(rows, -1)
    in_motif = np.zeros_like(is_note)
    for start in range(is_motif.shape[1]):
        in_motif[:, start:start + MOTIF_STEPS] |= is_motif[:, start:start + 1]
    return np.column_stack([
        TONIC_EVENT[batch[:, 0]], (batch == top).sum(axis=1) == 1, (batch == bottom).sum(axis=1) == 1,
        leaps, stepped_back, *_leap_outcome_counts(batch), (in_motif & is_note).sum(axis=1) / notes,
        OUT_OF_KEY_EVENT[batch].sum(axis=1) / notes,
        np.nan_to_num(autocorrelations(batch, (1, 2, 3)))]).astype(np.float64)
