"""Reference solutions for notebook 01 (the Note-RNN): temperature, a counting baseline, the next-event distribution."""
from __future__ import annotations

import numpy as np
import torch

from musiclab.data.melody import NUM_CLASSES


def with_temperature(probs, temperature: float) -> np.ndarray:
    """01.1: p_τ(x) ∝ p(x)^(1/τ), normalised over the last axis; ``probs`` [..., C] → [..., C]."""
    powered = np.asarray(probs, dtype=float) ** (1.0 / temperature)
    return powered / powered.sum(axis=-1, keepdims=True)


def unigram_nll(train, test, k: float) -> float:
    """01.2: NLL per step (nats) on ``test`` [N, T] of p(x) = (count(x) + k) / (steps + 38 k) from ``train``."""
    counts = np.bincount(np.asarray(train).reshape(-1), minlength=NUM_CLASSES) + k
    log_p = np.log(counts / counts.sum())
    return float(-log_p[np.asarray(test).reshape(-1)].mean())


def next_event_probs(model, prefix, temperature: float = 1.0) -> torch.Tensor:
    """01.3: the model's distribution [38] of the event after ``prefix`` (a list of events), at ``temperature``.

    Row t of ``next_log_probs`` is the distribution *before* event t: append any event to the
    prefix and read the last row.
    """
    with torch.no_grad():
        log_p = model.next_log_probs(torch.tensor([list(prefix) + [0]]))[0, -1]
    return torch.softmax(log_p / temperature, dim=-1)
