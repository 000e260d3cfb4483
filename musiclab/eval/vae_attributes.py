"""Attribute vectors of a MusicVAE: move a melody's code towards "more notes", "bigger leaps" or "calm".

MusicVAE (Roberts et al., ICML 2018, Section 5.3) edits a melody by adding an *attribute vector*
to its latent code; the paper's vector is the mean code of the windows that have much of an
attribute minus the mean code of those that have little. Three attributes here, each measured from
the notes of a melody [T]:

* ``note_density``: note onsets per 16th step (0 .. 1).
* ``interval_size``: mean size (semitones) of the moves between consecutive notes; NaN under 2 notes.
  The two are correlated in the corpus (the mean codes of the top and bottom quarters by interval
  size differ mostly in density), so their vectors come from one joint fit instead: a ridge
  regression (penalty :data:`RIDGE`) predicts both attributes, standardised over the corpus, from
  the code, a_hat = W^T (z - mean) with W [z_size, 2], and the vector of attribute j is the shortest
  change of z that raises a_hat_j by one standard deviation and leaves the other prediction
  unchanged: column j of W (W^T W)^-1 (then rescaled like the others, below). :attr:`AttributeVectors.fit_r2` says how much of
  each attribute the code predicts linearly; a vector can only follow an attribute that much.
* ``calm``: the vector is the mean code of the calming set (Essen lullabies and evening songs)
  minus the mean code of the corpus. Its measured quantity, the *calm score*, is how far a melody's
  note statistics (:data:`CALM_FEATURES`) lie along the same difference in note space: with m_c and
  m_0 the feature means of the calming and corpus windows and s the corpus standard deviations,
  calm score = sum_f ((x_f - m_0f) / s_f) * ((m_cf - m_0f) / s_f). Zero is a typical corpus window,
  the calming set's mean is positive. It says "looks like the calming set in these four numbers",
  not that a listener finds it calm.

Each vector is rescaled to the standard deviation of the corpus codes along its direction, so one
step (scale 1) moves a code by one typical spread of the corpus, whatever the attribute.

*Local* vectors (:meth:`AttributeVectors.local_vector`, a departure from the paper): the same joint
fit over only the :data:`LOCAL_NEIGHBOURS` corpus codes nearest to one melody's code, so the
vector points where the attribute grows *around that melody*. An attribute the code holds
non-linearly (interval size: a leap up and a leap down are both big) has no good global direction
but often a good local one. Rescaled like the global vectors.

:func:`attribute_vectors` computes the vectors from a model's encoder; :func:`attribute_path`
moves a melody along one; :func:`attribute_sweep` measures whether the attribute follows (Spearman
rank correlation between step and attribute) and whether the melodies stay in key
(:func:`musiclab.eval.vae.in_key_share`). Notebook 04 and ``bench/music_vae.py`` use them.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch
from scipy.stats import rankdata

from musiclab.errors import BadParameterError, check_choice, check_range
from musiclab.eval.vae import _events_2d, in_key_share
from musiclab.models.attribute_regularisation import WINDOW_ATTRIBUTES, window_attributes
from musiclab.models.music_vae import MusicVAE
from musiclab.theory import FIRST_PITCH_EVENT

#: Attributes with a vector, in the order notebook 04 shows them.
ATTRIBUTES = ("note_density", "interval_size", "calm")
#: The note statistics the calm score reads (per melody), in the order of :func:`note_statistics`.
CALM_FEATURES = (*WINDOW_ATTRIBUTES, "pitch_range", "mean_pitch")
#: Attributes whose vectors come from the joint regression (the others held fixed), in fit order.
FITTED = ("note_density", "interval_size")
#: Ridge penalty of that regression, per window, on codes centred on the corpus mean.
RIDGE = 1e-3
#: Corpus codes that a local vector is fitted on (the nearest to the melody's code, Euclidean).
LOCAL_NEIGHBOURS = 256
#: Ridge penalty of the local fit, per window (larger than :data:`RIDGE`: 256 windows, 32 dimensions).
LOCAL_RIDGE = 0.1
#: Steps along a vector: multiples of the (rescaled) vector added to the melody's code (5 steps, as the bench measures).
DEFAULT_SCALES = (0.0, 1.0, 2.0, 3.0, 4.0)


def note_statistics(melodies) -> np.ndarray:
    """Per melody of [N, T] events: onsets per step, mean |interval| (semitones), pitch range
    (semitones) and mean pitch (event index): float64 [N, 4] (:data:`CALM_FEATURES`); NaN where
    a melody has too few notes (none; under 2 for the interval)."""
    events = _events_2d("melodies", melodies)
    stats = np.full((len(events), len(CALM_FEATURES)), np.nan)
    stats[:, :2] = window_attributes(torch.from_numpy(events)).numpy()  # the two the AR-VAE loss reads too
    for row, melody in enumerate(events):
        pitches = melody[melody >= FIRST_PITCH_EVENT]
        if pitches.size:
            stats[row, 2] = pitches.max() - pitches.min()
            stats[row, 3] = pitches.mean()
    return stats


@dataclass
class AttributeVectors:
    """What :func:`attribute_vectors` returns: one latent direction per attribute and the calm scale."""

    vectors: dict[str, torch.Tensor]
    """name -> float32 [z_size]: the direction to add to a code (see the module docstring), as long
    as the corpus codes' standard deviation along it."""
    calm_centre: np.ndarray
    """float64 [4]: corpus means of :data:`CALM_FEATURES` (m_0)."""
    calm_spread: np.ndarray
    """float64 [4]: corpus standard deviations of the features (s)."""
    calm_shift: np.ndarray
    """float64 [4]: (m_c - m_0) / s, the calming set's standardised difference from the corpus."""
    fit_r2: dict[str, float]
    """name -> share of the corpus variance of each :data:`FITTED` attribute that the linear
    prediction from the code explains (R^2, 0 .. 1)."""
    corpus_codes: torch.Tensor
    """float32 [N, z_size]: codes of the corpus windows the :data:`FITTED` fit used (local vectors)."""
    corpus_attributes: np.ndarray
    """float64 [N, len(FITTED)]: their :data:`FITTED` attributes."""

    def measure(self, name: str, melodies) -> np.ndarray:
        """Attribute ``name`` of each melody of [N, T] events: float64 [N] (NaN where undefined)."""
        check_choice("attribute", name, ATTRIBUTES)
        stats = note_statistics(melodies)
        if name == "calm":
            return ((stats - self.calm_centre) / self.calm_spread) @ self.calm_shift
        return stats[:, CALM_FEATURES.index(name)]

    def share_on_dimension(self, name: str, dimension: int) -> float:
        """Share (0 .. 1) of the squared length of vector ``name`` that lies on latent ``dimension``:
        near 1 when moving along the vector moves that dimension alone (an attribute-regularised
        model's own dimension for the attribute), small when it moves others too."""
        vector = self.vectors[check_choice("attribute", name, ATTRIBUTES)]
        check_range("dimension", dimension, 0, len(vector) - 1)
        return float(vector[dimension] ** 2 / (vector ** 2).sum())

    def along_dimension(self, name: str, dimension: int) -> AttributeVectors:
        """A copy whose vector ``name`` is latent axis ``dimension`` alone, as long as the corpus codes'
        standard deviation on it: the AR-VAE way to move an attribute (along its regularised
        dimension), a diagnostic beside the fitted vector, not a replacement for it."""
        check_choice("attribute", name, FITTED)
        check_range("dimension", dimension, 0, self.corpus_codes.shape[1] - 1)
        axis = torch.zeros(self.corpus_codes.shape[1])
        axis[dimension] = self.corpus_codes[:, dimension].std()
        return replace(self, vectors={**self.vectors, name: axis})

    def local_vector(self, name: str, code, neighbours: int = LOCAL_NEIGHBOURS) -> torch.Tensor:
        """The local vector [z_size] of :data:`FITTED` attribute ``name`` at ``code`` [z_size]: the joint
        fit over the ``neighbours`` corpus codes nearest to it (module docstring), rescaled to the
        corpus codes' standard deviation along it."""
        check_choice("local attribute", name, FITTED)
        check_range("neighbours", neighbours, len(FITTED) + 1, len(self.corpus_codes))
        code = torch.as_tensor(code, dtype=torch.float32).reshape(1, -1)
        if code.shape[1] != self.corpus_codes.shape[1]:
            raise BadParameterError(f"code must have {self.corpus_codes.shape[1]} dimensions, got {code.shape[1]}")
        near = torch.cdist(code, self.corpus_codes)[0].argsort()[:int(neighbours)].numpy()
        directions, _ = _joint_directions(self.corpus_codes[near].double().numpy(), self.corpus_attributes[near],
                                          LOCAL_RIDGE)
        return _rescaled(torch.from_numpy(directions[FITTED.index(name)]).float(), self.corpus_codes, name)


@torch.no_grad()
def latent_codes(model: MusicVAE, windows, batch_size: int = 512) -> torch.Tensor:
    """Posterior means [N, z_size] (CPU) of windows [N, seq_len] under ``model``'s encoder."""
    events = torch.as_tensor(_events_2d("windows", windows))
    check_range("batch_size", batch_size, 1)
    return torch.cat([model.encode(events[start:start + batch_size])[0].cpu()
                      for start in range(0, len(events), batch_size)])


def _joint_directions(codes: np.ndarray, stats: np.ndarray, ridge: float = RIDGE) -> tuple[np.ndarray, np.ndarray]:
    """Directions [k, z_size] and R^2 [k] of the joint fit of standardised attributes [N, k] from codes [N, z_size].

    W [z_size, k] = (Zc^T Zc + ridge * N * I)^-1 Zc^T A; direction j = column j of W (W^T W)^-1:
    the shortest code change that moves prediction j by one and every other prediction by zero.
    """
    targets = (stats - stats.mean(0)) / np.where(stats.std(0) > 0, stats.std(0), 1.0)
    centred = codes - codes.mean(0)
    gram = centred.T @ centred + ridge * len(codes) * np.eye(codes.shape[1])
    weights = np.linalg.solve(gram, centred.T @ targets)
    residual = ((targets - centred @ weights) ** 2).mean(0)
    r2 = 1.0 - residual / np.maximum(targets.var(0), 1e-12)
    cross = weights.T @ weights
    if np.linalg.cond(cross) > 1e12:
        raise BadParameterError("the attributes cannot be told apart in the codes: their fitted directions are parallel or zero")
    return np.linalg.solve(cross, weights.T), r2


def _rescaled(direction: torch.Tensor, codes: torch.Tensor, name: str) -> torch.Tensor:
    """``direction`` [z_size] made as long as the standard deviation of ``codes`` [N, z_size] along it."""
    length = float(direction.norm())
    if length == 0:
        raise BadParameterError(f"the {name} vector is zero: the two groups of windows have the same mean code")
    unit = direction / length
    return unit * float((codes @ unit).std())


def attribute_vectors(model: MusicVAE, corpus_windows, calm_windows) -> AttributeVectors:
    """The three attribute vectors of ``model`` (notebook 04; the bench).

    ``corpus_windows`` [N, seq_len]: e.g. Essen training windows; ``calm_windows`` [M, seq_len]: the
    calming set's windows. note_density and interval_size: the joint regression of the module
    docstring over the corpus windows where both are defined; calm: mean code of the calm windows
    minus that of the corpus windows. Each is rescaled to the standard deviation of the corpus
    codes along it.
    """
    corpus, calm = _events_2d("corpus_windows", corpus_windows), _events_2d("calm_windows", calm_windows)
    codes, calm_codes = latent_codes(model, corpus), latent_codes(model, calm)
    stats, calm_stats = note_statistics(corpus), note_statistics(calm)
    columns = [CALM_FEATURES.index(name) for name in FITTED]
    defined = ~np.isnan(stats[:, columns]).any(axis=1)
    if defined.sum() <= codes.shape[1]:
        raise BadParameterError(f"corpus_windows needs more than {codes.shape[1]} windows with 2 notes or "
                                f"more (one per latent dimension), got {int(defined.sum())}")
    directions, r2 = _joint_directions(codes[defined].double().numpy(), stats[defined][:, columns])
    vectors = {name: torch.from_numpy(direction).float() for name, direction in zip(FITTED, directions)}
    vectors["calm"] = calm_codes.mean(0) - codes.mean(0)
    vectors = {name: _rescaled(direction, codes, name) for name, direction in vectors.items()}
    centre, spread = np.nanmean(stats, axis=0), np.nanstd(stats, axis=0)
    spread = np.where(spread > 0, spread, 1.0)
    shift = (np.nanmean(calm_stats, axis=0) - centre) / spread
    return AttributeVectors(vectors, centre, spread, shift, {name: float(v) for name, v in zip(FITTED, r2)},
                            codes[torch.from_numpy(defined)], stats[defined][:, columns])


def _first_window_code(model: MusicVAE, melody) -> torch.Tensor:
    """The code [1, z_size] of the first ``seq_len`` steps of one melody (1-D events, at least that long)."""
    window = model.config.seq_len
    events = _events_2d("melody", melody)
    if events.shape[0] != 1 or events.shape[1] < window:
        raise BadParameterError(f"melody must be one melody of at least {window} steps, got shape {events.shape}")
    return latent_codes(model, events[:, :window])


def local_vector_for(model: MusicVAE, vectors: AttributeVectors, name: str, melody) -> torch.Tensor:
    """The local vector [z_size] of :data:`FITTED` attribute ``name`` at the code of ``melody``'s first window."""
    return vectors.local_vector(name, _first_window_code(model, melody)[0])


def attribute_path(model: MusicVAE, melody, vector, scales=DEFAULT_SCALES) -> np.ndarray:
    """Melodies [len(scales), seq_len] decoded (argmax) from z = mu(melody) + scale * vector.

    ``melody``: 1-D events, at least ``seq_len`` steps (its first window is used); ``vector`` [z_size].
    Scale 0 is the melody's own reconstruction. Notebook 04's slider walks this path.
    """
    return _decode_along(model, _first_window_code(model, melody), vector, scales)


def local_attribute_path(model: MusicVAE, vectors: AttributeVectors, name: str, melody,
                         scales=DEFAULT_SCALES) -> np.ndarray:
    """:func:`attribute_path` along ``melody``'s own local vector of :data:`FITTED` attribute ``name``
    (:func:`local_vector_for`), the melody encoded once for both."""
    code = _first_window_code(model, melody)
    return _decode_along(model, code, vectors.local_vector(name, code[0]), scales)


def _decode_along(model: MusicVAE, code: torch.Tensor, vector, scales) -> np.ndarray:
    """Melodies [len(scales), seq_len] decoded from code [1, z_size] + scale * vector [z_size]."""
    steps = np.asarray(scales, dtype=np.float64)
    if steps.ndim != 1 or steps.size == 0 or not np.isfinite(steps).all():
        raise BadParameterError(f"scales must be a non-empty 1-D list of finite numbers, got {scales!r}")
    direction = torch.as_tensor(vector, dtype=torch.float32).reshape(1, -1)
    z = code + torch.from_numpy(steps).float().unsqueeze(1) * direction
    return model.decode(z).numpy()


def rank_correlation(values) -> float:
    """Spearman rank correlation between step index 0..n-1 and ``values`` [n] (ties share their mean rank).

    1 when the attribute rises with every step, -1 when it falls; 0 when it does not change at all
    (or any value is NaN: an undefined attribute counts as no change)."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 1 or values.size < 2:
        raise BadParameterError(f"values must be 1-D with at least 2 entries, got shape {values.shape}")
    if np.isnan(values).any():
        return 0.0
    ranks = rankdata(values) - (values.size + 1) / 2
    steps = np.arange(values.size) - (values.size - 1) / 2
    norm = np.sqrt((ranks ** 2).sum() * (steps ** 2).sum())
    return float((ranks * steps).sum() / norm) if norm > 0 else 0.0


@dataclass
class Sweep:
    """What :func:`attribute_sweep` returns for one attribute over a set of tunes."""

    values: np.ndarray
    """float64 [n_tunes, n_steps]: the attribute of each decoded melody."""
    spearman: np.ndarray
    """float64 [n_tunes]: :func:`rank_correlation` of each tune's row."""
    in_key: float
    """Share of all the decoded melodies' notes that are in C major."""
    melodies: np.ndarray
    """int64 [n_tunes, n_steps, seq_len]: the decoded melodies."""

    @property
    def unmoved_first_step(self) -> np.ndarray:
        """bool [n_tunes]: the first step decodes the very melody of step 0 (the code has not yet left
        the region that decodes to its own melody), so the attribute cannot rise there."""
        return (self.melodies[:, 1] == self.melodies[:, 0]).all(axis=1)

    @property
    def falls(self) -> np.ndarray:
        """bool [n_tunes]: the attribute falls from some step to the next (NaN counts as no fall)."""
        return (np.diff(self.values, axis=1) < 0).any(axis=1)


def attribute_sweep(model: MusicVAE, vectors: AttributeVectors, name: str, melodies,
                    scales=DEFAULT_SCALES, local: bool = False) -> Sweep:
    """Move each melody of ``melodies`` [N, >= seq_len] along attribute ``name`` and measure it (bench, tests).

    ``local``: each melody moves along its own local vector (:meth:`AttributeVectors.local_vector`;
    :data:`FITTED` attributes only) instead of the global one."""
    check_choice("local attribute" if local else "attribute", name, FITTED if local else ATTRIBUTES)
    rows = _events_2d("melodies", melodies)
    paths = np.stack([local_attribute_path(model, vectors, name, row, scales) if local else
                      attribute_path(model, row, vectors.vectors[name], scales) for row in rows])
    values = np.stack([vectors.measure(name, path) for path in paths])
    spearman = np.array([rank_correlation(row) for row in values])
    return Sweep(values, spearman, in_key_share(paths.reshape(-1, paths.shape[-1])), paths)
