"""The drum Note-CNN: a 1-D convolutional next-step model over 2-bar drum grids (notebook 05).

To predict step t of a grid, the steps before it (one-hot over the 10 drum classes) are placed
at the right end of a zero window of ``context`` (= 32) steps: the zero columns say "before the
start", so the network also sees where in the 2 bars it is. Then: a 1-D convolution over time
(10 → ``channels``, kernel ``kernel_size``), ReLU, flatten, a linear layer to ``hidden_size``,
ReLU, and a linear layer to logits over the 10 classes. One softmax: the loss is the
cross-entropy of the logits (the original applied a softmax and then a cross-entropy that
applies another, which flattens the gradients; we don't).

The empty prefix (the all-zero window) predicts step 0, so the begin-of-sequence input of
:class:`~musiclab.models.sequence.SequenceModel` appends nothing. Prefixes longer than
``context`` slide: the last ``context`` steps are seen. The first steps of a grid are predicted
from little context and were not trained on in the paper (``skip_first=8`` in
:func:`train_config`); sample with an 8-step primer from a real grid, as the paper seeded its
samples.

Shapes: grids [B, T] LongTensor of classes 0..9; logits [B, T, 10]; all at once via one
convolution over the zero-padded grid, so training sees all 32 prefixes of a grid in one pass.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from musiclab.data.drums import GRID_STEPS, NUM_DRUM_CLASSES
from musiclab.errors import BadParameterError, check_choice, check_fields, check_range
from musiclab.models.sequence import SequenceModel, as_token_batch
from musiclab.models.train_config import TrainConfig


@dataclass
class NoteCNNConfig:
    """The shape of a Note-CNN. Presets: ``preset(name)`` with a name from ``PRESETS``."""

    num_classes: int = NUM_DRUM_CLASSES
    """Drum classes in and out (10: nine drums and silence)."""
    context: int = GRID_STEPS
    """Steps of the input window (the prefix, right-aligned, zero-padded on the left)."""
    channels: int = 64
    """Output channels of the 1-D convolution."""
    kernel_size: int = 17
    """Width of the convolution in steps (at most ``context``)."""
    hidden_size: int = 32
    """Units of the hidden linear layer."""

    def __post_init__(self) -> None:
        check_range("num_classes", self.num_classes, 2)
        check_range("context", self.context, 1)
        check_range("channels", self.channels, 1)
        check_range("kernel_size", self.kernel_size, 1, self.context)
        check_range("hidden_size", self.hidden_size, 1)


def paper(**overrides) -> NoteCNNConfig:
    """The drum Note-CNN as reported in its released code: a 32-step window of 10 one-hot
    channels, a convolution to 64 channels with kernel 17 (= 32 / 2 + 1, so 16 outputs per
    channel), a linear layer of 32 units, 10 outputs.

    The "Percussion Tuning" project (Note-CNN + DQN over 2-bar drum grids; code and report
    at github.com/Sriram-Ravula/RL-Music-Tuner). Trained there with Adam, learning rate
    1e-3, one grid position at a time, from the 9th step on (``train_config('paper')``).
    """
    return NoteCNNConfig(**{"channels": 64, "kernel_size": 17, "hidden_size": 32, **overrides})


def fast(**overrides) -> NoteCNNConfig:
    """A smaller Note-CNN for notebooks and tests: 32 channels, kernel 17, 32 hidden units.

    Not from a paper: with ``train_config('fast')`` it trains on the mma groove grids in
    seconds on 2 CPU cores.
    """
    return NoteCNNConfig(**{"channels": 32, "kernel_size": 17, "hidden_size": 32, **overrides})


#: Named model presets; ``preset(name, **overrides)`` builds one.
PRESETS = {"paper": paper, "fast": fast}


def preset(name: str, **overrides) -> NoteCNNConfig:
    """The NoteCNNConfig preset ``name`` ('paper' or 'fast') with any fields overridden."""
    check_choice("Note-CNN preset", name, PRESETS)
    check_fields(NoteCNNConfig, overrides)
    return PRESETS[name](**overrides)


#: Training presets for the Note-CNN (``musiclab.models.train_config.TrainConfig`` values).
TRAIN_PRESETS = {
    # The paper's optimiser (Adam 1e-3) and loss mask (from the 9th step on); it updated once per
    # grid position, here once per grid (its 24 positions at once). The step count is ours.
    "paper": {"batch_size": 1, "window": GRID_STEPS, "lr": 1e-3, "optimizer": "adam",
              "schedule": "constant", "clip_norm": None, "skip_first": 8, "steps": 20000,
              "eval_every": 1000},
    # Quick: Adam 3e-3 with a cosine decay, 64 grids per update.
    "fast": {"batch_size": 64, "window": GRID_STEPS, "lr": 3e-3, "optimizer": "adam",
             "schedule": "cosine", "clip_norm": 1.0, "skip_first": 8, "steps": 600,
             "eval_every": 100},
}


def train_config(name: str = "fast", **overrides) -> TrainConfig:
    """How to train a Note-CNN with ``musiclab.models.train.train`` (notebook 05): 'paper'
    (Adam 1e-3, batch 1, as the drum Note-CNN project) or 'fast' (batch 64, cosine); both
    leave the first 8 steps of each grid out of the loss (``skip_first=8``)."""
    check_choice("Note-CNN training preset", name, TRAIN_PRESETS)
    check_fields(TrainConfig, overrides)
    return TrainConfig(**{**TRAIN_PRESETS[name], **overrides})


class NoteCNN(SequenceModel, nn.Module):
    """Convolutional next-step model over drum grids; see the module docstring for the shapes."""

    kind = "note_cnn"
    config_class = NoteCNNConfig

    def __init__(self, config: NoteCNNConfig | None = None) -> None:
        super().__init__()
        self.config = config if config is not None else NoteCNNConfig()
        cfg = self.config
        self.num_classes = cfg.num_classes
        self.conv = nn.Conv1d(cfg.num_classes, cfg.channels, cfg.kernel_size)
        self.positions = cfg.context - cfg.kernel_size + 1
        self.hidden = nn.Linear(cfg.channels * self.positions, cfg.hidden_size)
        self.head = nn.Linear(cfg.hidden_size, cfg.num_classes)

    def _head(self, features: torch.Tensor) -> torch.Tensor:
        """Convolution outputs [..., channels, positions] → logits [..., num_classes]."""
        return self.head(F.relu(self.hidden(F.relu(features).flatten(-2))))

    def forward(self, events: torch.Tensor) -> torch.Tensor:
        """Logits [B, T, C] for every step of ``events`` [B, T]: logits[:, t] predicts step t
        from events[:, :t] only (causal)."""
        context = self.config.context
        onehot = F.one_hot(events, self.num_classes).float().transpose(1, 2)      # [B, C, T]
        padded = F.pad(onehot, (context, 0))                                      # [B, C, context + T]
        features = self.conv(padded)                                              # [B, ch, context + T - k + 1]
        # the window predicting step t is padded[t : t + context]: conv outputs t .. t + positions - 1
        windows = features.unfold(2, self.positions, 1)[:, :, :events.shape[1]]   # [B, ch, T, positions]
        return self._head(windows.transpose(1, 2))

    def initial_state(self, batch_size: int) -> torch.Tensor:
        """The empty prefix: a LongTensor [batch_size, 0] (the state is the prefix so far)."""
        return torch.empty((batch_size, 0), dtype=torch.long, device=self.device)

    def step(self, tokens: torch.Tensor, state: torch.Tensor):
        """Append ``tokens`` [B] to the prefix ``state`` [B, t] (BOS appends nothing) and
        return the next-step logits [B, C] and the new prefix."""
        tokens = tokens.reshape(-1, 1).to(self.device)
        is_bos = tokens == self.bos
        if bool(is_bos.any()):
            if not bool(is_bos.all()):
                raise BadParameterError("step got BOS for some sequences but not all; start them together")
        else:
            state = torch.cat([state, tokens], dim=1)
        window = state[:, -self.config.context:]
        onehot = F.one_hot(window, self.num_classes).float().transpose(1, 2)
        onehot = F.pad(onehot, (self.config.context - window.shape[1], 0))       # [B, C, context]
        return self._head(self.conv(onehot)), state

    def next_logits(self, sequences) -> torch.Tensor:
        """Next-class logits [B, T, C] of ``sequences`` [B, T] in one pass (equals the step-wise one)."""
        return self(as_token_batch(sequences, "sequences", self.num_classes).to(self.device))

    def loss(self, batch: torch.Tensor, skip_first: int = 0):
        """Mean cross-entropy (nats per step) of ``batch`` [B, T] grids over steps ≥ ``skip_first``.

        Returns ``(loss, {'nll': float, 'accuracy': float})``, the form ``train.train`` expects.
        """
        events = batch.long()
        if skip_first >= events.shape[1]:
            raise BadParameterError(f"skip_first={skip_first} leaves no steps of grids {events.shape[1]} long")
        logits, targets = self(events)[:, skip_first:], events[:, skip_first:]
        loss = F.cross_entropy(logits.reshape(-1, self.num_classes), targets.reshape(-1))
        with torch.no_grad():
            accuracy = (logits.argmax(-1) == targets).float().mean()
        return loss, {"nll": loss.item(), "accuracy": accuracy.item()}

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in asdict(self.config).items())
