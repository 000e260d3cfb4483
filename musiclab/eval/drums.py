"""Metrics over generated drum patterns (notebook 05).

A pattern is a 2-bar grid: a 1-D array of 32 sixteenth steps, each a drum class index in
``0..9`` (``musiclab.data.drums.DRUM_CLASSES``; 9 = silence). Metrics take a batch of
patterns, np.int64 ``[N, 32]``, and return one number per metric: a mean over patterns
(or over bars, for the backbeat), so the rows of different systems can sit side by side in
:func:`metric_table`.

Definitions (a *hit* is a non-silent step):

* ``instrument_diversity`` — distinct drum classes (silence not counted) per pattern; 0..9.
* ``longest_run`` — the longest run of hits of one drum class, counted in hits, rests
  skipped (``kick . kick kick`` is a run of 3): a rest does not break monotony, another drum
  does. Crossing the bar line counts. 0 for an all-silent pattern.
* ``rests`` — share of silent steps, 0..1.
* ``bar_consistency`` — share of the 16 step positions where bar 2 equals bar 1, 0..1.
* ``backbeat`` — share of bars with a snare on both steps 4 and 12 (beats 2 and 4), 0..1.
* ``monotonous`` — share of patterns the drum paper's failure detector flags, "one
  instrument repeated for most of the bar", made precise as: some drum class has a run of
  at least :data:`MONOTONY_MIN_RUN` (= 8) hits (as in ``longest_run``) AND that class makes
  up more than :data:`MONOTONY_MIN_SHARE` (= 50 %) of the pattern's hits. A steady hi-hat
  broken up by kick and snare (runs of 1–3) is not flagged; eight hi-hats in a row that
  dominate the pattern are. An all-silent pattern is not flagged (``rests`` shows it).
* ``mean_log_p`` (only with a ``model``) — mean of ``model.log_prob(patterns)`` over
  patterns and the steps from ``skip_steps`` on, in nats per step.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import torch

from musiclab.data.drums import DRUM_CLASSES, GRID_STEPS, NUM_DRUM_CLASSES, SILENCE
from musiclab.errors import BadParameterError, check_range

#: Steps per bar (16 sixteenth notes of 4/4).
BAR_STEPS = 16
#: Backbeat steps within a bar (beats 2 and 4).
BACKBEAT_STEPS = (4, 12)
#: The failure detector's minimum run of one drum, in hits.
MONOTONY_MIN_RUN = 8
#: The failure detector's share of hits one drum must exceed.
MONOTONY_MIN_SHARE = 0.5

SNARE = DRUM_CLASSES.index("snare")

#: Metric key → (label for tables, kind): kind 'share' prints as a percentage,
#: 'count' as a plain number, 'nats' as a log-probability.
METRICS = {
    "instrument_diversity": ("drums used per pattern", "count"),
    "longest_run": ("longest run of one drum (hits)", "count"),
    "rests": ("rests", "share"),
    "bar_consistency": ("bar 2 equal to bar 1", "share"),
    "backbeat": ("bars with snare backbeat", "share"),
    "monotonous": ("monotonous patterns (failure)", "share"),
    "mean_log_p": ("mean log p per step (nats)", "nats"),
}


def as_patterns(patterns) -> np.ndarray:
    """Check and return drum patterns as np.int64 ``[N, 32]`` (one ``[32]`` grid becomes N = 1).

    Raises BadParameterError for another shape, an empty batch, or a class outside 0..9.
    """
    array = np.asarray(patterns.cpu() if isinstance(patterns, torch.Tensor) else patterns)
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2 or array.shape[1] != GRID_STEPS or array.shape[0] == 0:
        raise BadParameterError(
            f"patterns must have shape [N, {GRID_STEPS}] with N >= 1 (or one grid of "
            f"{GRID_STEPS} steps), got shape {tuple(array.shape)}"
        )
    if not np.issubdtype(array.dtype, np.integer):
        raise BadParameterError(f"patterns must hold integer drum classes, got dtype {array.dtype}")
    if array.min() < 0 or array.max() >= NUM_DRUM_CLASSES:
        raise BadParameterError(
            f"patterns must hold drum classes 0..{NUM_DRUM_CLASSES - 1}, "
            f"got values from {array.min()} to {array.max()}"
        )
    return array.astype(np.int64, copy=False)


def _hit_runs(pattern: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The hits of a ``[32]`` pattern (rests skipped) cut into runs of one drum:
    (hits, run lengths, run classes)."""
    hits = pattern[pattern != SILENCE]
    starts = np.flatnonzero(np.diff(hits, prepend=-1) != 0)
    lengths = np.diff(np.append(starts, len(hits)))
    return hits, lengths, hits[starts]


def _run_metrics(pattern: np.ndarray) -> tuple[int, bool]:
    """(longest run of one drum in hits, monotonous?) of a checked ``[32]`` pattern."""
    hits, lengths, drums = _hit_runs(pattern)
    monotonous = any(np.mean(hits == drum) > MONOTONY_MIN_SHARE
                     for drum in drums[lengths >= MONOTONY_MIN_RUN])
    return int(lengths.max(initial=0)), monotonous


def longest_run(pattern) -> int:
    """The longest run of hits of one drum in a ``[32]`` pattern, rests skipped (0 if silent)."""
    return _run_metrics(as_patterns(pattern)[0])[0]


def is_monotonous(pattern) -> bool:
    """The failure detector on one ``[32]`` pattern: a run of >= 8 hits of one drum that
    also makes up more than half of the hits (see the module docstring)."""
    return _run_metrics(as_patterns(pattern)[0])[1]


def pattern_metrics(patterns) -> dict[str, np.ndarray]:
    """Per-pattern metrics of np.int64 ``[N, 32]`` patterns: each key maps to an array ``[N]``
    (``backbeat`` is the share of the pattern's two bars with a snare backbeat)."""
    patterns = as_patterns(patterns)
    silent = patterns == SILENCE
    present = np.zeros((len(patterns), NUM_DRUM_CLASSES), dtype=bool)
    present[np.arange(len(patterns))[:, None], patterns] = True
    diversity = (present.sum(axis=1) - present[:, SILENCE]).astype(np.float64)
    bars = patterns.reshape(len(patterns), -1, BAR_STEPS)
    snare_backbeat = np.all(bars[:, :, list(BACKBEAT_STEPS)] == SNARE, axis=2)
    runs = np.array([_run_metrics(p) for p in patterns], dtype=np.float64).reshape(-1, 2)
    return {
        "instrument_diversity": diversity,
        "longest_run": runs[:, 0],
        "rests": silent.mean(axis=1),
        "bar_consistency": (bars[:, 0] == bars[:, 1]).mean(axis=1),
        "backbeat": snare_backbeat.mean(axis=1),
        "monotonous": runs[:, 1],
    }


def tuning_effect(reference, tuned) -> dict[str, np.ndarray]:
    """Where tuning shows, pattern by pattern: ``reference`` and ``tuned`` are np.int64 ``[N, 32]``
    grids composed from the same N primers (e.g. the Note-CNN's samples and a rule-tuned Q-network's
    grooves). Returns bool arrays ``[N]``: ``differs`` (the two grids differ on some step),
    ``adds_backbeat`` (the tuned grid has a snare backbeat in more bars than the reference) and
    ``shows`` (both: a student hears the tuning). Notebook 05 picks its demo primer with it and
    counts how often the effect shows."""
    reference, tuned = as_patterns(reference), as_patterns(tuned)
    if reference.shape != tuned.shape:
        raise BadParameterError(f"reference and tuned must be grids from the same primers, got shapes "
                                f"{reference.shape} and {tuned.shape}")
    differs = (reference != tuned).any(axis=1)
    adds = pattern_metrics(tuned)["backbeat"] > pattern_metrics(reference)["backbeat"]
    return {"differs": differs, "adds_backbeat": adds, "shows": differs & adds}


def mean_log_p(patterns, model, skip_steps: int = 0) -> float:
    """Mean log p(x_t | x_<t) in nats per step under ``model`` (anything with
    ``log_prob(LongTensor [N, 32]) -> [N, 32]``), over patterns and steps ``skip_steps..31``
    (use 8 for the Note-CNN, which is not trained on the first 8 steps)."""
    patterns = as_patterns(patterns)
    check_range("skip_steps", skip_steps, 0, GRID_STEPS - 1)
    with torch.no_grad():
        log_p = model.log_prob(torch.as_tensor(patterns, dtype=torch.long))
    if tuple(log_p.shape) != patterns.shape:
        raise BadParameterError(
            f"model.log_prob must return shape {patterns.shape}, got {tuple(log_p.shape)}"
        )
    return float(log_p[:, skip_steps:].mean())


def drum_metrics(patterns, model=None, skip_steps: int = 0) -> dict[str, float]:
    """All drum metrics of np.int64 ``[N, 32]`` patterns as means over patterns (notebook 05);
    ``mean_log_p`` is added when a ``model`` is given (see :func:`mean_log_p`)."""
    results = {key: float(values.mean()) for key, values in pattern_metrics(patterns).items()}
    if model is not None:
        results["mean_log_p"] = mean_log_p(patterns, model, skip_steps)
    return results


def _format(value: float | None, kind: str) -> str:
    """One table cell: shares as percentages, counts with 2 decimals, nats with 3."""
    if value is None:
        return "-"
    if kind == "share":
        return f"{100 * value:.1f} %"
    return f"{value:.3f}" if kind == "nats" else f"{value:.2f}"


def metric_table(results: Mapping[str, Mapping[str, float]]) -> str:
    """A plain-text table with one column per system: ``results`` maps a system name
    (e.g. 'real', 'cnn', 'tuned') to its :func:`drum_metrics` dict (notebook 05)."""
    if not results:
        raise BadParameterError("metric_table needs at least one system's results, got none")
    keys = [key for key in METRICS if any(key in row for row in results.values())]
    header = ["metric", *results]
    rows = [
        [METRICS[key][0], *(_format(row.get(key), METRICS[key][1]) for row in results.values())]
        for key in keys
    ]
    widths = [max(len(str(line[i])) for line in [header, *rows]) for i in range(len(header))]

    def line(cells):
        first = cells[0].ljust(widths[0])
        return "  ".join([first, *(c.rjust(w) for c, w in zip(cells[1:], widths[1:]))])

    rule = "-" * len(line(header))
    return "\n".join([line(header), rule, *(line(r) for r in rows)])
