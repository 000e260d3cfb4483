"""Measures of a MusicVAE interpolation path, and the naive baseline it is compared with (notebook 04).

A path is melodies [n, T] in the shared event encoding, from melody A to melody B. ``in_key_share``
counts the notes a path keeps in C major (the same table as every rule and metric of the kit,
:data:`musiclab.theory.OUT_OF_KEY_EVENT`), ``step_change`` how much neighbouring melodies differ, and
``note_space_blend`` is the path that blends events instead of latent codes. ``bench/music_vae.py``
compares slerp paths with it. ``unseen_windows`` keeps the test windows that never occur in the
training windows. ``latent_coordinates`` projects a MusicVAE's posterior means to 2-D
for ``plots.latent_map``.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from musiclab.eval.melody import check_compositions
from musiclab.errors import BadParameterError, check_choice, check_range, check_seed
from musiclab.models.music_vae import MusicVAE
from musiclab.theory import FIRST_PITCH_EVENT, OUT_OF_KEY_EVENT

#: Note-space blends of :func:`note_space_blend`.
BLEND_MODES = ("random", "splice")


def _events_2d(name: str, melodies) -> np.ndarray:
    """Melodies [N, T] (or one [T]) as a checked int64 array (whole-number floats accepted)."""
    array = np.asarray(melodies.cpu() if hasattr(melodies, "cpu") else melodies, dtype=np.int64)
    return check_compositions(array[None] if array.ndim == 1 else array, name)


def in_key_share(melodies) -> float:
    """Share of note onsets of melodies [N, T] (or one [T]) whose pitch is in C major; NaN without notes."""
    events = _events_2d("melodies", melodies)
    onsets = events[events >= FIRST_PITCH_EVENT]
    return float(1.0 - OUT_OF_KEY_EVENT[onsets].mean()) if onsets.size else float("nan")


def unseen_windows(test_windows, train_windows) -> np.ndarray:
    """The distinct windows of ``test_windows`` [N, T] that occur nowhere in ``train_windows`` [M, T]:
    int64 [K, T], in order of first appearance (``bench/music_vae.py``, notebook 04).

    Folk tunes share openings, cadences and whole variants, so a test window can equal a training
    window note for note even though the tunes differ; a model that memorised it is not tested on
    it. Measured on these, reconstruction accuracy is a held-out figure.
    """
    test, train = _events_2d("test_windows", test_windows), _events_2d("train_windows", train_windows)
    if test.shape[1] != train.shape[1]:
        raise BadParameterError(f"test_windows and train_windows must have the same length, got "
                                f"{test.shape[1]} and {train.shape[1]} steps")
    seen = {row.tobytes() for row in train}
    keep, kept = [], set()
    for index, row in enumerate(test):
        key = row.tobytes()
        if key not in seen and key not in kept:
            kept.add(key)
            keep.append(index)
    return test[np.asarray(keep, dtype=np.int64)]


def step_change(path) -> float:
    """Mean share of the T steps that differ between neighbouring melodies of a path [n, T] (n >= 2)."""
    events = _events_2d("path", path)
    if events.shape[0] < 2:
        raise BadParameterError(f"path needs at least 2 melodies, got {events.shape[0]}")
    return float((events[1:] != events[:-1]).mean())


def note_space_blend(melody_a, melody_b, n_steps: int, mode: str = "random", seed: int = 0) -> np.ndarray:
    """A naive path [n_steps, T] from melody A to B (both [T]) blending events, not latents (notebook 04).

    At fraction t = i / (n_steps - 1): "random" takes each step from B with probability t (seeded),
    else from A; "splice" takes the first round((1 - t) * T) steps from A and the rest from B.
    """
    check_choice("mode", mode, BLEND_MODES)
    check_range("n_steps", n_steps, 2)
    a, b = _events_2d("melody_a", melody_a), _events_2d("melody_b", melody_b)
    if a.shape[0] != 1 or b.shape != a.shape:
        raise BadParameterError(f"melody_a and melody_b must be single melodies of equal length, "
                                f"got shapes {a.shape} and {b.shape}")
    a, b = a[0], b[0]
    rng = np.random.default_rng(check_seed(seed))
    path = []
    for t in np.linspace(0.0, 1.0, int(n_steps)):
        if mode == "random":
            from_b = rng.random(a.size) < t
        else:
            from_b = np.arange(a.size) >= round((1.0 - t) * a.size)
        path.append(np.where(from_b, b, a))
    return np.stack(path)


class LatentCoordinates(NamedTuple):
    """What :func:`latent_coordinates` returns; notebook 04 hands it to ``plots.latent_map``."""

    points: np.ndarray
    """float64 [N, 2]: each posterior mean on the first two principal components."""
    highlight: np.ndarray
    """bool [N]: True for the points of the highlighted tunes (they come last)."""
    variance_share: np.ndarray
    """float64 [2]: the share of the variance along each of the two axes."""


def _first_windows(tunes, length: int, name: str) -> np.ndarray:
    """The first ``length`` events of each tune (a Tune with ``.events`` or a 1-D array) long enough: [N, length]."""
    rows = [np.asarray(getattr(tune, "events", tune))[:length] for tune in tunes]
    rows = [row for row in rows if row.ndim == 1 and len(row) == length]
    if not rows:
        raise BadParameterError(f"{name} holds no tune of at least {length} steps")
    return np.stack(rows).astype(np.int64)


def latent_coordinates(model: MusicVAE, tunes, highlight=None) -> LatentCoordinates:
    """2-D PCA coordinates of a MusicVAE's latent space (notebook 04).

    Each tune of ``tunes``, then of ``highlight`` (e.g. the calming set), is encoded to the
    posterior mean of its first window (``model.config.seq_len`` steps); tunes shorter than a
    window are left out. The axes are the first two principal components of all the means.
    """
    window = model.config.seq_len
    base = _first_windows(tunes, window, "tunes")
    marked = _first_windows(highlight, window, "highlight") if highlight is not None else base[:0]
    events = torch.from_numpy(np.concatenate([base, marked]))
    with torch.no_grad():
        mu = torch.cat([model.encode(events[start:start + 512])[0].cpu()
                        for start in range(0, len(events), 512)]).numpy().astype(np.float64)
    centred = mu - mu.mean(axis=0)
    _, singular, basis = np.linalg.svd(centred, full_matrices=False)
    share = singular[:2] ** 2 / max(float((singular ** 2).sum()), 1e-12)
    return LatentCoordinates(centred @ basis[:2].T, np.arange(len(events)) >= len(base), share)
