"""What a listener likes, learned from their feedback: musical features, a preference model, a
simulated listener, and the preference reward that joins the RL Tuner's reward (notebook 07).

Features describe a *window* of a melody (the shared event encoding of ``musiclab.data.melody``,
16th-note steps): the last ``window`` steps up to a moment of the piece, the music a listener was
hearing when they reacted. :data:`FEATURES` names them:

- ``register``: mean MIDI pitch of the notes sounding in the window;
- ``density``: note onsets per step;
- ``leap``: mean size (semitones) of the intervals between consecutive notes that land in the window;
- ``rest``: share of the window's steps in silence;
- ``range``: highest minus lowest sounding pitch (semitones).

A :class:`FeatureScale` standardises them against the unpersonalised generator's own music, so
z = 0 is "as usual". The :class:`PreferenceModel` is a small logistic regression
P(like | z) = σ(w·z + b) refitted (Newton steps, L2 prior) after every feedback event; its reward
r_pref = 2·P(like | z) − 1 ∈ [−1, 1] scores each step of a composition by the window ending there.
:class:`PreferenceRule` wraps it as one more rule of a :class:`~musiclab.rl.rule_set.RuleSet`, so the
tuner needs no change. :class:`SimulatedListener` has hidden weights over the same features and
gives noisy, seeded feedback, for tests and ``bench/personalisation.py``.

Tempo is a playback setting (``Preferences.tempo``), not part of the events, so it is no feature here.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from musiclab.data.melody import MIN_PITCH, NO_EVENT, check_events
from musiclab.errors import BadParameterError, check_range, check_seed
from musiclab.therapy.records import FEEDBACK_KINDS

#: The features of a window, in the order of every feature vector.
FEATURES = ("register", "density", "leap", "rest", "range")
NUM_FEATURES = len(FEATURES)
#: Default window: the last 8 sixteenths (half a 4/4 bar) up to the moment of a reaction.
WINDOW_STEPS = 8
#: L2 penalty on the preference model's bias b (weak: a listener may like most of what they hear).
BIAS_L2 = 0.1
_FIRST_PITCH_EVENT = NO_EVENT + 1


def _as_batch(events) -> np.ndarray:
    """Events [T] or [B, T] (numpy, torch or lists) as a checked int64 array [B, T]."""
    array = check_events(events, "events", ndim=None)
    if array.ndim == 1:
        array = array[None]
    if array.ndim != 2 or array.shape[1] == 0:
        raise BadParameterError(f"events must be a melody [T] or a batch [B, T] with T >= 1, got shape {array.shape}")
    return array


def sounding_pitches(events) -> np.ndarray:
    """The MIDI pitch sounding at each step (NaN in silence): events [B, T] → float64 [B, T]."""
    batch = _as_batch(events)
    rows, steps = batch.shape
    value = np.where(batch >= _FIRST_PITCH_EVENT, batch - _FIRST_PITCH_EVENT + MIN_PITCH, np.nan).astype(np.float64)
    decided = batch != NO_EVENT
    decided[:, 0] = True  # a hold at the very start continues a rest
    source = np.maximum.accumulate(np.where(decided, np.arange(steps), 0), axis=1)
    return value[np.arange(rows)[:, None], source]


def _previous_onsets(batch: np.ndarray) -> np.ndarray:
    """The event of the last onset strictly before each step (NaN where none): [B, T] → float64 [B, T]."""
    rows, steps = batch.shape
    onset = batch >= _FIRST_PITCH_EVENT
    source = np.maximum.accumulate(np.where(onset, np.arange(steps), -1), axis=1)
    latest = np.where(source >= 0, batch[np.arange(rows)[:, None], np.maximum(source, 0)], np.nan)
    return np.concatenate([np.full((rows, 1), np.nan), latest[:, :-1]], axis=1).astype(np.float64)


def window_features(events, ends, window: int = WINDOW_STEPS) -> np.ndarray:
    """Raw features (``FEATURES``) of the ``window`` steps ending at step ``ends`` (inclusive) of
    each melody: events [B, T] (or [T]), ``ends`` an int or [B] ints → float64 [B, NUM_FEATURES].

    A feature with nothing to measure (no note in the window, no interval) is NaN; a
    :class:`FeatureScale` maps NaN to 0 ("as usual"). Vectorised: B windows cost one gather of
    [B, window] steps.
    """
    batch = _as_batch(events)
    rows, steps = batch.shape
    check_range("window", window, 1)
    ends = np.broadcast_to(np.asarray(ends, dtype=np.int64), (rows,))
    if ends.min() < 0 or ends.max() >= steps:
        raise BadParameterError(f"window ends must be steps in 0..{steps - 1}, got {ends.min()}..{ends.max()}")
    index = ends[:, None] - np.arange(window)[None, ::-1]  # [B, W], the steps of each window
    inside = index >= 0
    index = np.maximum(index, 0)
    row = np.arange(rows)[:, None]
    pitch = sounding_pitches(batch)[row, index]
    onset = (batch >= _FIRST_PITCH_EVENT)[row, index] & inside
    interval = np.abs(batch[row, index] - _previous_onsets(batch)[row, index])
    sounding = inside & ~np.isnan(pitch)
    size = inside.sum(axis=1)
    counted = onset & ~np.isnan(interval)
    with np.errstate(invalid="ignore", divide="ignore"):
        register = np.where(sounding, pitch, 0.0).sum(axis=1) / sounding.sum(axis=1)
        top = np.where(sounding, pitch, -np.inf).max(axis=1)
        bottom = np.where(sounding, pitch, np.inf).min(axis=1)
        spread = np.where(sounding.any(axis=1), top - bottom, np.nan)
        leap = np.where(counted, interval, 0.0).sum(axis=1) / counted.sum(axis=1)
    density = onset.sum(axis=1) / size
    rest = (inside & np.isnan(pitch)).sum(axis=1) / size
    return np.stack([register, density, leap, rest, spread], axis=1)


def all_window_features(events, window: int = WINDOW_STEPS) -> np.ndarray:
    """Raw features of the window ending at every step: events [B, T] → float64 [B, T, NUM_FEATURES]."""
    batch = _as_batch(events)
    rows, steps = batch.shape
    ends = np.tile(np.arange(steps), rows)
    return window_features(np.repeat(batch, steps, axis=0), ends, window).reshape(rows, steps, NUM_FEATURES)


@dataclass
class FeatureScale:
    """Standardises raw features: z = (f − mean) / std, NaN → 0. Fit on the usual music."""

    mean: np.ndarray
    """[NUM_FEATURES] raw means."""
    std: np.ndarray
    """[NUM_FEATURES] raw standard deviations (> 0)."""

    def __post_init__(self) -> None:
        self.mean = np.asarray(self.mean, dtype=np.float64).reshape(-1)
        self.std = np.asarray(self.std, dtype=np.float64).reshape(-1)
        if self.mean.shape != (NUM_FEATURES,) or self.std.shape != (NUM_FEATURES,):
            raise BadParameterError(f"mean and std must hold {NUM_FEATURES} values ({', '.join(FEATURES)})")
        if not (np.isfinite(self.mean).all() and np.isfinite(self.std).all() and (self.std > 0).all()):
            raise BadParameterError("mean must be finite and std finite and > 0")

    @classmethod
    def fit(cls, compositions, window: int = WINDOW_STEPS) -> FeatureScale:
        """The scale of the windows ending at every step from ``window − 1`` on of ``compositions``
        [N, T] (e.g. 256 pieces of the unpersonalised generator)."""
        batch = _as_batch(compositions)
        start = min(window - 1, batch.shape[1] - 1)
        raw = all_window_features(batch, window)[:, start:].reshape(-1, NUM_FEATURES)
        mean = np.nanmean(raw, axis=0)
        std = np.nanstd(raw, axis=0)
        return cls(np.nan_to_num(mean), np.where(np.nan_to_num(std) > 1e-6, np.nan_to_num(std), 1.0))

    def __call__(self, raw: np.ndarray) -> np.ndarray:
        """Standardised features [..., NUM_FEATURES] of raw features [..., NUM_FEATURES]."""
        return np.nan_to_num((np.asarray(raw, dtype=np.float64) - self.mean) / self.std)


def feedback_target(value: float, kind: str = "more_less") -> float:
    """A feedback value as the probability-of-liking target in [0, 1]: 'more_less' −1..1 → 0..1,
    'calm' (0 agitated … 1 calm) as it is."""
    low, high = FEEDBACK_KINDS[kind] if kind in FEEDBACK_KINDS else (None, None)
    if low is None:
        raise BadParameterError(f"feedback kind must be one of {', '.join(FEEDBACK_KINDS)}, got {kind!r}")
    check_range(f"value of {kind!r} feedback", float(value), low, high)
    return (float(value) - low) / (high - low)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, dtype=np.float64)))


@dataclass
class PreferenceModel:
    """P(like | z) = σ(w·z + b) over standardised window features z [NUM_FEATURES] (notebook 07).

    Learns online: :meth:`observe` adds one feedback example and refits by Newton steps on the
    L2-regularised cross-entropy of all examples so far (a handful of examples suffice to point w
    the right way; ``l2`` keeps early guesses small).
    """

    l2: float = 1.0
    """Strength λ of the Gaussian prior on w (the penalty ½λ‖w‖²; b gets ½·BIAS_L2·b²)."""
    weights: np.ndarray = field(default_factory=lambda: np.zeros(NUM_FEATURES))
    """w [NUM_FEATURES]."""
    bias: float = 0.0
    """b."""
    inputs: list = field(default_factory=list)
    """The standardised feature vectors observed so far."""
    targets: list = field(default_factory=list)
    """Their targets in [0, 1] (1 = liked)."""

    def __post_init__(self) -> None:
        check_range("l2", self.l2, 0.0, low_open=True)
        self.weights = np.asarray(self.weights, dtype=np.float64).reshape(NUM_FEATURES)

    def probability(self, z) -> np.ndarray:
        """P(like | z) for z [..., NUM_FEATURES] → [...]."""
        return _sigmoid(np.asarray(z, dtype=np.float64) @ self.weights + self.bias)

    def reward(self, z) -> np.ndarray:
        """r_pref = 2·P(like | z) − 1 ∈ [−1, 1] for z [..., NUM_FEATURES] → [...]."""
        return 2.0 * self.probability(z) - 1.0

    def observe(self, z, target: float) -> None:
        """Add one example (standardised features z [NUM_FEATURES], target in [0, 1]) and refit."""
        z = np.asarray(z, dtype=np.float64).reshape(-1)
        if z.shape != (NUM_FEATURES,) or not np.isfinite(z).all():
            raise BadParameterError(f"z must be {NUM_FEATURES} finite standardised features, got shape {z.shape}")
        check_range("target", float(target), 0.0, 1.0)
        self.inputs.append(z)
        self.targets.append(float(target))
        self.fit()

    def fit(self, newton_steps: int = 20) -> None:
        """Refit w and b to every observed example: damped Newton steps from zero on the penalised
        cross-entropy (strictly convex, so the result does not depend on the order of the examples)."""
        if not self.inputs:
            return
        x = np.hstack([np.asarray(self.inputs), np.ones((len(self.inputs), 1))])
        y = np.asarray(self.targets)
        penalty = np.append(np.full(NUM_FEATURES, self.l2), BIAS_L2)

        def loss(theta: np.ndarray) -> float:
            logits = x @ theta
            return float(np.sum(np.logaddexp(0.0, logits) - y * logits) + 0.5 * penalty @ theta ** 2)

        theta = np.zeros(NUM_FEATURES + 1)
        for _ in range(newton_steps):
            p = _sigmoid(x @ theta)
            gradient = x.T @ (p - y) + penalty * theta
            hessian = (x * (p * (1 - p))[:, None]).T @ x + np.diag(penalty)
            step, before = np.linalg.solve(hessian, gradient), loss(theta)
            size = 1.0
            while size > 1e-4 and loss(theta - size * step) > before:
                size /= 2
            theta = theta - size * step
            if np.abs(size * step).max() < 1e-8:
                break
        self.weights, self.bias = theta[:-1], float(theta[-1])

    @property
    def count(self) -> int:
        """Number of feedback examples learned from."""
        return len(self.targets)


class PreferenceRule:
    """The preference reward as a rule of a :class:`~musiclab.rl.rule_set.RuleSet`:
    ``rule(composition, action, step)`` = r_pref of the window that ``action`` ends.

    Reads ``model`` live, so refitting the model changes the reward without rebuilding the rule set.
    ``batched`` is its vectorised twin (called once per batch by ``RuleSet.rewards``).
    """

    magnitude = "2·P(like | window) − 1, in [−1, 1]"

    def __init__(self, model: PreferenceModel, scale: FeatureScale, window: int = WINDOW_STEPS) -> None:
        self.model, self.scale, self.window = model, scale, int(check_range("window", window, 1))

    def batched(self, compositions: np.ndarray, actions: np.ndarray, step: int) -> np.ndarray:
        """r_pref [B] of appending ``actions`` [B] to ``compositions`` [B, t]."""
        events = np.concatenate([np.asarray(compositions, dtype=np.int64).reshape(len(actions), -1),
                                 np.asarray(actions, dtype=np.int64).reshape(-1, 1)], axis=1)
        return self.model.reward(self.scale(window_features(events, events.shape[1] - 1, self.window)))

    def __call__(self, composition, action: int, step: int) -> float:
        """r_pref of appending ``action`` to ``composition`` [t] at ``step``."""
        return float(self.batched(np.asarray(composition, dtype=np.int64).reshape(1, -1), np.array([action]), step)[0])


@dataclass
class SimulatedListener:
    """A listener with hidden preferences over the standardised features, for tests and benchmarks.

    At a moment of a piece, they like what they hear with probability σ(w*·z) (z: the window up to
    that moment), and say so: 'more_less' feedback is +1 or −1 drawn from that probability (the
    noise is in the draw); 'calm' feedback is that probability plus Gaussian noise of ``noise``,
    clipped to 0..1. Build one with :meth:`random`.
    """

    weights: np.ndarray
    """Hidden w* [NUM_FEATURES]; its norm is how sharply they judge."""
    scale: FeatureScale
    """The standardisation their z uses."""
    window: int = WINDOW_STEPS
    """Steps of music each reaction refers to."""
    kind: str = "more_less"
    """'more_less' (±1) or 'calm' (0..1)."""
    noise: float = 0.1
    """Standard deviation of the noise added to 'calm' readings."""

    def __post_init__(self) -> None:
        self.weights = np.asarray(self.weights, dtype=np.float64).reshape(NUM_FEATURES)
        if self.kind not in FEEDBACK_KINDS:
            raise BadParameterError(f"kind must be one of {', '.join(FEEDBACK_KINDS)}, got {self.kind!r}")
        check_range("noise", self.noise, 0.0)

    @classmethod
    def random(cls, scale: FeatureScale, seed: int, strength: float = 3.0, **options) -> SimulatedListener:
        """A listener whose w* points in a random direction (seeded) with norm ``strength``."""
        check_range("strength", strength, 0.0)
        direction = np.random.default_rng(check_seed(seed)).standard_normal(NUM_FEATURES)
        return cls(strength * direction / np.linalg.norm(direction), scale, **options)

    def probability(self, events, position) -> np.ndarray:
        """P(they like the moment ``position`` of each melody): events [B, T] → [B]."""
        return _sigmoid(self.scale(window_features(events, position, self.window)) @ self.weights)

    def react(self, events, positions, rng: np.random.Generator) -> np.ndarray:
        """Their feedback values at ``positions`` (steps) of one melody [T]: float64 [len(positions)]."""
        positions = np.asarray(positions, dtype=np.int64).reshape(-1)
        batch = np.repeat(_as_batch(events), len(positions), axis=0)
        p = self.probability(batch, positions)
        if self.kind == "more_less":
            return np.where(rng.random(len(p)) < p, 1.0, -1.0)
        return np.clip(p + self.noise * rng.standard_normal(len(p)), 0.0, 1.0)
