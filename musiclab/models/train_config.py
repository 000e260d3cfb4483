"""How to train: ``TrainConfig``, its named presets and the learning-rate schedule (notebooks 01, 04, 05).

The model's shape lives in its own config; ``musiclab.models.train.train`` runs a TrainConfig.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from musiclab.errors import BadParameterError, check_choice, check_fields, check_range

OPTIMIZERS = ("adam", "sgd", "rmsprop")
SCHEDULES = ("constant", "step", "cosine")


@dataclass
class TrainConfig:
    """How to train (the model's shape lives in its own config). Presets: ``preset(name)``."""

    steps: int = 1000
    """Optimizer steps in total (a resumed run continues up to this number)."""
    batch_size: int = 64
    """Examples per step."""
    window: int | None = 64
    """Length of each training sequence in events (None: examples are not sequences).
    Build windows with ``musiclab.data.melody.make_windows(tunes, config.window)``; ``train``
    checks the data matches."""
    lr: float = 1e-3
    """(Initial) learning rate."""
    optimizer: str = "adam"
    """One of ``OPTIMIZERS``: 'adam', 'sgd' or 'rmsprop'."""
    schedule: str = "constant"
    """One of ``SCHEDULES``: 'constant'; 'step' (lr x decay_rate every decay_steps); 'cosine' (to 0 at ``steps``)."""
    decay_steps: int = 1000
    """Steps between decays of the 'step' schedule."""
    decay_rate: float = 0.85
    """Factor of each decay of the 'step' schedule."""
    clip_norm: float | None = 5.0
    """Clip the global gradient norm to this (None: no clipping)."""
    skip_first: int = 0
    """Leave the first this many steps of every window out of the loss (passed to ``model.loss``)."""
    eval_every: int = 100
    """Validate every this many steps (and after the last)."""
    eval_batch_size: int = 256
    """Examples per validation batch."""
    patience: int | None = None
    """Stop after this many validations without a lower validation loss (None: never)."""
    checkpoint_every: int | None = None
    """Save a checkpoint every this many steps (with a checkpoint path; it is saved at the end anyway)."""
    seed: int = 0
    """Seeds batch order and dropout."""
    num_threads: int | None = None
    """torch CPU threads while training (None: leave torch's setting)."""

    def __post_init__(self) -> None:
        check_range("steps", self.steps, 1)
        check_range("batch_size", self.batch_size, 1)
        if self.window is not None:
            check_range("window", self.window, 1)
        check_range("lr", self.lr, 0, low_open=True)
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        check_choice("schedule", self.schedule, SCHEDULES)
        check_range("decay_steps", self.decay_steps, 1)
        check_range("decay_rate", self.decay_rate, 0, 1, low_open=True)
        if self.clip_norm is not None:
            check_range("clip_norm", self.clip_norm, 0, low_open=True)
        check_range("skip_first", self.skip_first, 0)
        if self.window is not None and self.skip_first >= self.window:
            raise BadParameterError(f"skip_first={self.skip_first} must be below window={self.window}")
        check_range("eval_every", self.eval_every, 1)
        check_range("eval_batch_size", self.eval_batch_size, 1)
        if self.patience is not None:
            check_range("patience", self.patience, 1)
        if self.checkpoint_every is not None:
            check_range("checkpoint_every", self.checkpoint_every, 1)
        if self.num_threads is not None:
            check_range("num_threads", self.num_threads, 1)


def rl_tuner(**overrides) -> TrainConfig:
    """How the RL Tuner's Note-RNN was trained: batch 128, initial lr 0.5 x0.85 every 1000 steps,
    gradient norm clipped to 5, the first 32 losses of each sequence skipped.

    Jaques et al. (2017), Sequence Tutor / RL Tuner, with the hyper-parameters of its released
    code (Magenta's ``rl_tuner_ops``). Plain SGD: 0.5 is an SGD-sized step (measured on Essen
    with the 1 x 100 Note-RNN: SGD reaches a valid NLL of 1.25 nats/step in 300 steps; Adam at
    0.5 sits at 15-36). Windows of 128 events (8 bars of 4/4) are this kit's choice.
    """
    values = {"batch_size": 128, "window": 128, "lr": 0.5, "optimizer": "sgd", "schedule": "step",
              "decay_steps": 1000, "decay_rate": 0.85, "clip_norm": 5.0, "skip_first": 32,
              "steps": 20000, "eval_every": 500}
    return TrainConfig(**{**values, **overrides})


def therapy(**overrides) -> TrainConfig:
    """The music-therapy generator's Note-RNN training: initial lr 0.5 decayed x0.85 every 1000
    steps, first 32 losses skipped (its 2 x 512 Note-RNN is ``note_rnn.therapy``).

    The RL-Tuner-based music-therapy system, which keeps the RL Tuner's training recipe
    (batch 128, gradient norm clipped to 5) for a larger network. Plain SGD, as ``rl_tuner``.
    """
    return rl_tuner(**overrides)


def classic(**overrides) -> TrainConfig:
    """The classic melody LSTM's training: 40-token windows, RMSprop (lr 1e-3), batch 64.

    Skúli (2017), "How to Generate Music using a LSTM Neural Network in Keras": RMSprop and
    batch 64, at the issue's 40-token windows; its 3 x 1024 LSTM is ``note_rnn.classic``.
    """
    values = {"batch_size": 64, "window": 40, "lr": 1e-3, "optimizer": "rmsprop",
              "schedule": "constant", "clip_norm": 5.0, "steps": 20000, "eval_every": 500}
    return TrainConfig(**{**values, **overrides})


def fast(**overrides) -> TrainConfig:
    """A quick run for notebooks and tests: 600 Adam steps (lr 4e-3, cosine to 0), batch 64,
    windows of 64, on one CPU thread.

    Not from a paper: with ``note_rnn.fast`` it takes about 25 s of one CPU core on the Essen
    training split. One thread: on a shared 2-core machine two threads were 16x slower for
    this small model (the cores were busy with other work), one thread never fights for them.
    """
    values = {"batch_size": 64, "window": 64, "lr": 4e-3, "optimizer": "adam", "schedule": "cosine",
              "clip_norm": 1.0, "steps": 600, "eval_every": 100, "num_threads": 1}
    return TrainConfig(**{**values, **overrides})


#: Named training presets; ``preset(name, **overrides)`` builds one.
PRESETS = {"rl_tuner": rl_tuner, "therapy": therapy, "classic": classic, "fast": fast}


def preset(name: str, **overrides) -> TrainConfig:
    """The TrainConfig preset ``name`` (see ``PRESETS``) with any fields overridden."""
    check_choice("training preset", name, PRESETS)
    check_fields(TrainConfig, overrides)
    return PRESETS[name](**overrides)


def learning_rate(config: TrainConfig, step: int) -> float:
    """The learning rate of (0-based) ``step`` under ``config.schedule``."""
    if config.schedule == "step":
        return config.lr * config.decay_rate ** (step // config.decay_steps)
    if config.schedule == "cosine":
        return config.lr * 0.5 * (1.0 + math.cos(math.pi * min(step, config.steps) / config.steps))
    return config.lr
