"""The baselines the papers compare the Note-RNN against (notebook 01's comparison table).

* ``TopPitchesModel``: random notes drawn uniformly from the ``top`` (10) most frequent
  pitches of the training set; note-off and no-event keep their training frequencies, so
  the rhythm density is realistic and only the choice of pitch is random.
* ``NGramModel``: a Markov model of order n over events (the next event given the previous
  n-1), with add-k smoothing; the sequence start is padded with the begin-of-sequence input.

Both fit from np arrays of events (a list of 1-D melodies or a 2-D array of windows) and
share the sequence-model interface (``log_prob``, ``sample``, ``initial_state``/``step``),
so they are scored and sampled exactly like the Note-RNN. They are not trained by gradient.
"""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch

from musiclab.data.melody import NO_EVENT, NOTE_OFF, NUM_CLASSES
from musiclab.errors import BadParameterError, check_range
from musiclab.models.sequence import SequenceModel, as_token_batch


def _event_arrays(melodies, num_classes: int) -> list[np.ndarray]:
    """Melodies (list of 1-D arrays, or a 2-D array) as validated 1-D int64 arrays."""
    if isinstance(melodies, (np.ndarray, torch.Tensor)) and melodies.ndim == 2:
        rows = list(melodies)
    elif isinstance(melodies, (np.ndarray, torch.Tensor)) and melodies.ndim == 1:
        rows = [melodies]
    elif isinstance(melodies, Iterable):
        rows = list(melodies)
    else:
        raise BadParameterError(f"melodies must be event arrays, got {type(melodies).__name__}")
    arrays = []
    for i, row in enumerate(rows):
        events = as_token_batch(row, f"melodies[{i}]", num_classes)[0].cpu().numpy()
        if len(events):
            arrays.append(events)
    if not arrays:
        raise BadParameterError("melodies hold no events to fit")
    return arrays


class TopPitchesModel(SequenceModel):
    """Random notes from the ``top`` most frequent training pitches; fixed per-step distribution.

    Each step is independent: note-off and no-event with their training frequencies, the rest
    of the probability spread evenly over the top pitches. ``floor`` (default 0) gives every
    other event a small probability so held-out scores stay finite.
    """

    kind = "top_pitches"

    def __init__(self, top: int = 10, floor: float = 0.0, num_classes: int = NUM_CLASSES) -> None:
        self.top = int(check_range("top", top, 1, num_classes - 2))
        self.floor = check_range("floor", floor, 0, 1.0 / num_classes, high_open=True)
        self.num_classes = num_classes
        self.pitches: np.ndarray | None = None
        self.probs: torch.Tensor | None = None

    def fit(self, melodies) -> "TopPitchesModel":
        """Count events in ``melodies``; keep the ``top`` most frequent onset events. Returns self."""
        counts = np.zeros(self.num_classes, dtype=np.int64)
        for events in _event_arrays(melodies, self.num_classes):
            counts += np.bincount(events, minlength=self.num_classes)
        onsets = counts.copy()
        onsets[[NOTE_OFF, NO_EVENT]] = -1
        self.pitches = np.sort(np.argsort(-onsets, kind="stable")[:self.top])
        total = counts.sum()
        probs = np.zeros(self.num_classes)
        special = [NOTE_OFF, NO_EVENT]
        probs[special] = counts[special] / total
        probs[self.pitches] = (1.0 - probs[special].sum()) / self.top
        probs = (1.0 - self.floor * self.num_classes) * probs + self.floor
        self.probs = torch.tensor(probs / probs.sum(), dtype=torch.float64)
        return self

    def _fitted(self) -> torch.Tensor:
        if self.probs is None:
            raise BadParameterError("the model is not fitted yet: call fit(melodies) first")
        return self.probs

    def initial_state(self, batch_size: int) -> None:
        """No state: every step has the same distribution."""
        self._fitted()
        return None

    def step(self, tokens: torch.Tensor, state: None):
        """Log-probabilities [B, C] of the next event (the same for every step) and no state."""
        log_p = self._fitted().log().float()
        return log_p.expand(len(tokens), -1).clone(), None

    def next_log_probs(self, sequences) -> torch.Tensor:
        """log p(·) [B, T, C] at every step of ``sequences`` [B, T] (-inf where the probability is 0)."""
        events = as_token_batch(sequences, "sequences", self.num_classes)
        return self._fitted().log().float().expand(*events.shape, -1)


class NGramModel(SequenceModel):
    """Order-n Markov model over events with add-k smoothing.

    p(x_t = c | the previous n-1 events) = (count(context, c) + k) / (count(context) + k·C).
    Contexts reaching before the sequence start are padded with the BOS input (``num_classes``);
    an unseen context gives the uniform distribution.
    """

    kind = "ngram"

    def __init__(self, order: int = 3, k: float = 0.1, num_classes: int = NUM_CLASSES) -> None:
        self.order = int(check_range("order", order, 1, 8))
        self.k = check_range("k", k, 0, low_open=True)
        self.num_classes = num_classes
        self._base = num_classes + 1
        if self._base ** (self.order - 1) >= 2 ** 62:
            raise BadParameterError(f"order {order} is too high for {num_classes} classes")
        self.keys: np.ndarray | None = None
        self.counts: np.ndarray | None = None

    def _context_keys(self, events: torch.Tensor) -> np.ndarray:
        """Integer keys [B, T] of the n-1 events before each step of ``events`` [B, T]."""
        array = events.cpu().numpy()
        padded = np.concatenate(
            [np.full((array.shape[0], self.order - 1), self.num_classes, dtype=np.int64), array], axis=1)
        keys = np.zeros(array.shape, dtype=np.int64)
        for j in range(self.order - 1):
            keys = keys * self._base + padded[:, j:j + array.shape[1]]
        return keys

    def fit(self, melodies) -> "NGramModel":
        """Count (context, next event) pairs over ``melodies``. Returns self."""
        keys, nexts = [], []
        for events in _event_arrays(melodies, self.num_classes):
            row = torch.from_numpy(events).unsqueeze(0)
            keys.append(self._context_keys(row)[0])
            nexts.append(events)
        keys, nexts = np.concatenate(keys), np.concatenate(nexts)
        self.keys, inverse = np.unique(keys, return_inverse=True)
        pairs = np.bincount(inverse * self.num_classes + nexts,
                            minlength=len(self.keys) * self.num_classes)
        self.counts = pairs.reshape(len(self.keys), self.num_classes).astype(np.float64)
        return self

    def _log_probs(self, keys: np.ndarray) -> torch.Tensor:
        """log p(· | context) [..., C] for integer context ``keys`` [...]."""
        if self.keys is None:
            raise BadParameterError("the model is not fitted yet: call fit(melodies) first")
        flat = keys.reshape(-1)
        index = np.minimum(np.searchsorted(self.keys, flat), len(self.keys) - 1)
        found = self.keys[index] == flat
        counts = np.where(found[:, None], self.counts[index], 0.0) + self.k
        log_p = np.log(counts) - np.log(counts.sum(axis=1, keepdims=True))
        return torch.from_numpy(log_p.reshape(*keys.shape, self.num_classes)).float()

    def initial_state(self, batch_size: int) -> torch.Tensor:
        """The last n-1 inputs [B, n-1], all BOS at the start."""
        return torch.full((batch_size, self.order - 1), self.num_classes, dtype=torch.long)

    def step(self, tokens: torch.Tensor, state: torch.Tensor):
        """Shift ``tokens`` [B] into the context; return log p(next | context) [B, C] and the context."""
        context = torch.cat([state, tokens.reshape(-1, 1).cpu().long()], dim=1)[:, 1:]
        keys = np.zeros(len(context), dtype=np.int64)
        for j in range(self.order - 1):
            keys = keys * self._base + context[:, j].numpy()
        return self._log_probs(keys), context

    def next_log_probs(self, sequences) -> torch.Tensor:
        """log p(· | previous n-1 events) [B, T, C] at every step of ``sequences`` [B, T], vectorised."""
        return self._log_probs(self._context_keys(as_token_batch(sequences, "sequences", self.num_classes)))
