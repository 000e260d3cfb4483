"""The small interface every next-event model shares, so one tuner can tune them all.

A sequence model predicts the next event of a sequence of class indices ``0 .. num_classes-1``.
It is driven one step at a time::

    state = model.initial_state(batch_size)
    tokens = model.begin_tokens(batch_size)          # the begin-of-sequence input, index num_classes
    logits, state = model.step(tokens, state)        # logits [B, num_classes] for event 0
    logits, state = model.step(events[:, 0], state)  # logits for event 1, and so on

The first event is predicted from a begin-of-sequence (BOS) input whose index is ``num_classes``;
outputs range over the ``num_classes`` real events only. A subclass implements
``initial_state`` and ``step``; ``next_log_probs``, ``log_prob`` and ``sample`` are built here
on top of them (a subclass may override ``next_log_probs`` with a faster whole-sequence
version, which must agree with the step-wise one).
The Note-RNN (notebooks 01-03), the drum Note-CNN (notebook 05) and the baselines use it;
``musiclab.rl.tuner`` tunes any of them.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np
import torch

from musiclab.data.melody import check_events
from musiclab.errors import BadParameterError, check_range, check_seed
from musiclab.limits import check_limit


class SequenceModel(ABC):
    """Mixin for next-event models: implement ``num_classes``, ``initial_state`` and ``step``."""

    num_classes: int

    @abstractmethod
    def initial_state(self, batch_size: int) -> Any:
        """The state before any input, for ``batch_size`` parallel sequences."""

    @abstractmethod
    def step(self, tokens: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        """Feed the previous events ``tokens`` [B] (or BOS); return next-event logits [B, C] and the new state."""

    @property
    def bos(self) -> int:
        """The begin-of-sequence input index (= ``num_classes``); never an output."""
        return self.num_classes

    @property
    def device(self) -> torch.device:
        """Where the model's tensors live (CPU for models without parameters)."""
        parameters = getattr(self, "parameters", None)
        if parameters is not None:
            for parameter in parameters():
                return parameter.device
        return torch.device("cpu")

    def begin_tokens(self, batch_size: int) -> torch.Tensor:
        """A LongTensor [batch_size] of BOS inputs, on the model's device: the first ``step`` input."""
        return torch.full((batch_size,), self.bos, dtype=torch.long, device=self.device)

    def next_logits(self, sequences) -> torch.Tensor:
        """Next-event logits [B, T, C] at every prefix of ``sequences`` [B, T] (teacher-forced): row t
        predicts event t from the events before it. A step loop here; the Note-RNN and the Note-CNN
        compute it in one pass. The RL tuner reads Q-values and the prior's log p this way."""
        events = as_token_batch(sequences, "sequences", self.num_classes).to(self.device)
        state = self.initial_state(events.shape[0])
        tokens = self.begin_tokens(events.shape[0])
        rows = []
        for t in range(events.shape[1]):
            logits, state = self.step(tokens, state)
            rows.append(logits)
            tokens = events[:, t]
        if not rows:
            return torch.zeros((*events.shape, self.num_classes), device=self.device)
        return torch.stack(rows, dim=1)

    def next_log_probs(self, sequences) -> torch.Tensor:
        """log p(· | x_<t) in nats for every step of ``sequences`` [B, T]: a float tensor [B, T, C].

        Row t is the whole predicted distribution before event t (for note-probability plots
        and accuracy). Runs in the model's current mode (call ``eval()`` first for scores
        without dropout) and current grad mode.
        """
        return torch.log_softmax(self.next_logits(sequences).float(), dim=-1)

    def log_prob(self, sequences) -> torch.Tensor:
        """log p(x_t | x_<t) in nats for every step of ``sequences`` [B, T]: a float tensor [B, T].

        The reward the RL tuner adds (notebook 02); the sum over t is the sequence's log-likelihood.
        """
        events = as_token_batch(sequences, "sequences", self.num_classes).to(self.device)
        return self.next_log_probs(events).gather(2, events.unsqueeze(2)).squeeze(2)

    @torch.no_grad()
    def sample(self, n: int, length: int, temperature: float = 1.0, primer=None,
               seed: int | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        """Sample ``n`` sequences of ``length`` events: a LongTensor [n, length] on the CPU.

        ``temperature`` (> 0) divides the logits: below 1 is more conservative, above 1 wilder.
        ``primer`` (1-D, shared by all samples, or [n, P]) fixes the first P ≤ length events.
        Randomness comes from ``generator`` if given, else a fresh generator seeded with ``seed``,
        else torch's global generator: the same seed gives the same music. Dropout is off while
        sampling. Used in notebooks 01-03 and 05.
        """
        n = int(check_limit("max_pieces", "n", check_range("n", n, 1)))
        length = int(check_limit("max_steps", "length", check_range("length", length, 1)))
        check_range("temperature", temperature, 0, low_open=True)
        fixed = _check_primer(primer, n, length, self.num_classes)
        generator = resolve_generator(seed, generator)
        was_training = getattr(self, "training", False)
        if was_training:
            self.train(False)
        try:
            out = torch.empty((n, length), dtype=torch.long)
            state = self.initial_state(n)
            tokens = self.begin_tokens(n)
            for t in range(length):
                logits, state = self.step(tokens, state)
                if t < fixed.shape[1]:
                    chosen = fixed[:, t]
                else:
                    probs = torch.softmax(logits.float().cpu() / temperature, dim=-1)
                    chosen = torch.multinomial(probs, 1, generator=generator).squeeze(1)
                out[:, t] = chosen
                tokens = chosen.to(self.device)
        finally:
            if was_training:
                self.train(True)
        return out


def resolve_generator(seed: int | None = None,
                      generator: torch.Generator | None = None) -> torch.Generator | None:
    """The CPU generator to sample with: ``generator``, else one seeded with ``seed``, else None (global)."""
    if generator is not None and seed is not None:
        raise BadParameterError("give either seed or generator, not both")
    if generator is not None:
        if not isinstance(generator, torch.Generator):
            raise BadParameterError(f"generator must be a torch.Generator, got {type(generator).__name__}")
        return generator
    if seed is not None:
        return torch.Generator().manual_seed(check_seed(seed))
    return None


def as_token_batch(events, parameter: str, num_classes: int) -> torch.Tensor:
    """``events`` ([T] or [B, T]: array, tensor or lists) as a CPU LongTensor [B, T] of tokens
    0..``num_classes`` - 1, checked by :func:`musiclab.data.melody.check_events` (the one validator)."""
    array = check_events(events, parameter, ndim=None, num_classes=num_classes)
    if array.ndim == 1:
        array = array[None]
    if array.ndim != 2:
        raise BadParameterError(f"{parameter} must have shape [batch, time], got {array.shape}")
    return torch.from_numpy(np.ascontiguousarray(array))


def _check_primer(primer, n: int, length: int, num_classes: int) -> torch.Tensor:
    """The primer as a CPU LongTensor [n, P] (P = 0 without a primer), validated against length."""
    if primer is None:
        return torch.empty((n, 0), dtype=torch.long)
    fixed = as_token_batch(primer, "primer", num_classes)
    if fixed.shape[0] == 1 and n > 1:
        fixed = fixed.expand(n, -1)
    if fixed.shape[0] != n:
        raise BadParameterError(f"primer has {fixed.shape[0]} rows; give one primer or n={n} of them")
    if fixed.shape[1] > length:
        raise BadParameterError(f"primer has {fixed.shape[1]} events, longer than length={length}")
    return fixed
