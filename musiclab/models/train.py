"""One supervised training loop for every model of the kit (notebooks 01, 04, 05).

``train(model, train_data, valid_data, config)`` draws seeded mini-batches of examples
(rows of a tensor [N, ...], e.g. melody windows [N, T] or drum grids [N, 32]), calls
``model.loss(batch) -> (loss, metrics)`` (or a ``loss_fn(model, batch)``), steps the optimizer
with gradient clipping and a learning-rate schedule, validates every ``eval_every`` steps,
stops early when validation stops improving, and saves resumable checkpoints.

Determinism: batch order is a pure function of (seed, step) and the learning rate a pure
function of the step; the checkpoint also stores the optimizer and torch's RNG state
(dropout), so a resumed run continues exactly, and on the CPU the same seed gives
bit-identical weights.
"""
from __future__ import annotations

import inspect
import math
import time
import warnings
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from musiclab.checkpoints import (CheckpointMismatchError, load_checkpoint, load_weights,
                                  check_config, save_checkpoint)
from musiclab.errors import BadParameterError, check_choice, check_fields, check_range
from musiclab.runtime import check_output_path, pick_device, seed_everything

OPTIMIZERS = ("adam", "sgd", "rmsprop")
SCHEDULES = ("constant", "step", "cosine")
#: TrainConfig fields a resumed run may change (all leave the weights' path alone, except that
#: a new ``steps`` stretches a cosine schedule).
RESUMABLE_CHANGES = ("steps", "patience", "eval_every", "eval_batch_size", "checkpoint_every",
                     "num_threads")


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


@dataclass
class TrainHistory:
    """What happened: per-step training loss and lr, per-validation metrics (for ``plots``)."""

    train_loss: list[float] = field(default_factory=list)
    """Training loss of every step (index i = step i + 1)."""
    lr: list[float] = field(default_factory=list)
    """Learning rate of every step."""
    eval_steps: list[int] = field(default_factory=list)
    """Steps after which validation ran."""
    valid: dict[str, list[float]] = field(default_factory=dict)
    """Validation metrics per evaluation: 'loss' and the model's metrics (e.g. 'nll', 'accuracy')."""
    best_step: int | None = None
    """Step of the lowest validation loss."""
    best_valid_loss: float | None = None
    """The lowest validation loss."""
    stop_reason: str = ""
    """'finished', 'early stopping' or 'non-finite loss'."""
    seconds: float = 0.0
    """Wall time spent in training steps and validation, over all resumed parts."""

    @property
    def steps_done(self) -> int:
        """Optimizer steps taken so far."""
        return len(self.train_loss)

    @property
    def steps_per_second(self) -> float:
        """Training throughput over the whole run (validation time included)."""
        return self.steps_done / self.seconds if self.seconds > 0 else float("nan")


def learning_rate(config: TrainConfig, step: int) -> float:
    """The learning rate of (0-based) ``step`` under ``config.schedule``."""
    if config.schedule == "step":
        return config.lr * config.decay_rate ** (step // config.decay_steps)
    if config.schedule == "cosine":
        return config.lr * 0.5 * (1.0 + math.cos(math.pi * min(step, config.steps) / config.steps))
    return config.lr


class _Batches:
    """Mini-batch indices as a pure function of the step: epochs are seeded permutations."""

    def __init__(self, size: int, batch_size: int, seed: int) -> None:
        self.size, self.batch_size, self.seed = size, batch_size, seed
        self._epoch, self._perm = -1, None

    def _permutation(self, epoch: int) -> torch.Tensor:
        if epoch != self._epoch:
            state = np.random.SeedSequence([self.seed, epoch]).generate_state(1, dtype=np.uint64)[0]
            generator = torch.Generator().manual_seed(int(state))
            self._epoch, self._perm = epoch, torch.randperm(self.size, generator=generator)
        return self._perm

    def indices(self, step: int) -> torch.Tensor:
        """The example indices [batch_size] of (0-based) ``step``."""
        parts, position, need = [], step * self.batch_size, self.batch_size
        while need:
            epoch, offset = divmod(position, self.size)
            take = min(need, self.size - offset)
            parts.append(self._permutation(epoch)[offset:offset + take])
            position, need = position + take, need - take
        return torch.cat(parts)


def _as_tensors(data, name: str) -> tuple[torch.Tensor, ...]:
    """``data`` (a tensor/array [N, ...] or a tuple of them) as a tuple of tensors of equal N."""
    parts = data if isinstance(data, (tuple, list)) else (data,)
    tensors = []
    for part in parts:
        if isinstance(part, np.ndarray):
            part = torch.from_numpy(np.ascontiguousarray(part))
        if not isinstance(part, torch.Tensor) or part.dim() == 0:
            raise BadParameterError(f"{name} must be a tensor or array [N, ...] (or a tuple of them), "
                                    f"got {type(part).__name__}")
        tensors.append(part)
    if len({t.shape[0] for t in tensors}) != 1 or tensors[0].shape[0] == 0:
        raise BadParameterError(f"{name} must hold at least one example and equal N in every part, "
                                f"got shapes {[tuple(t.shape) for t in tensors]}")
    return tuple(tensors)


def _check_window(tensors: tuple[torch.Tensor, ...], config: TrainConfig, name: str) -> None:
    first = tensors[0]
    if config.window is not None and len(tensors) == 1 and first.dim() == 2 \
            and not first.dtype.is_floating_point and first.shape[1] != config.window:
        raise BadParameterError(
            f"{name} holds windows of {first.shape[1]} events but config.window={config.window}; "
            f"cut them with make_windows(tunes, {config.window}) or set window={first.shape[1]}")


def _loss_function(model: nn.Module, loss_fn: Callable | None, config: TrainConfig) -> Callable:
    if loss_fn is not None:
        if config.skip_first:
            raise BadParameterError("skip_first is passed to model.loss; with a loss_fn, skip steps there")
        return partial(loss_fn, model)
    if not callable(getattr(model, "loss", None)):
        raise BadParameterError(f"{type(model).__name__} has no loss(batch) method; pass loss_fn=")
    if config.skip_first:
        if "skip_first" not in inspect.signature(model.loss).parameters:
            raise BadParameterError(f"{type(model).__name__}.loss takes no skip_first; set skip_first=0")
        return partial(model.loss, skip_first=config.skip_first)
    return model.loss


def _make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    parameters = [p for p in model.parameters() if p.requires_grad]
    if config.optimizer == "sgd":
        return torch.optim.SGD(parameters, lr=config.lr)
    if config.optimizer == "rmsprop":
        return torch.optim.RMSprop(parameters, lr=config.lr)
    return torch.optim.Adam(parameters, lr=config.lr)


@contextmanager
def _threads(count: int | None):
    previous = torch.get_num_threads()
    if count is not None:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _batch(tensors: tuple[torch.Tensor, ...], index: torch.Tensor):
    picked = tuple(t[index] for t in tensors)
    return picked[0] if len(picked) == 1 else picked


@torch.no_grad()
def evaluate(model: nn.Module, data, loss_fn: Callable | None = None, batch_size: int = 256,
             skip_first: int = 0, device=None) -> dict[str, float]:
    """Mean loss and metrics of ``model`` over all of ``data`` (examples [N, ...]), dropout off.

    Batches are weighted by their number of examples. Returns e.g. ``{'loss', 'nll', 'accuracy'}``.
    """
    device = torch.device(device) if device is not None else next(model.parameters()).device
    tensors = tuple(t.to(device) for t in _as_tensors(data, "data"))
    compute = _loss_function(model, loss_fn, TrainConfig(window=None, skip_first=skip_first))
    was_training = model.training
    model.eval()
    totals: dict[str, float] = {}
    size = tensors[0].shape[0]
    for start in range(0, size, batch_size):
        index = torch.arange(start, min(start + batch_size, size))
        batch = _batch(tensors, index.to(device))
        loss, metrics = compute(batch)
        rows = len(index)
        for key, value in {"loss": loss.item(), **metrics}.items():
            totals[key] = totals.get(key, 0.0) + float(value) * rows
    model.train(was_training)
    return {key: value / size for key, value in totals.items()}


def _save(path: Path, model: nn.Module, optimizer, config: TrainConfig, history: TrainHistory,
          bad_evals: int) -> None:
    training = {
        "step": history.steps_done,
        "optimizer": optimizer.state_dict(),
        "rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "history": asdict(history),
        "train_config": asdict(config),
        "bad_evals": bad_evals,
    }
    save_checkpoint(path, model, extra={"training": training})


def _resume(path: Path, model: nn.Module, optimizer, config: TrainConfig) -> tuple[TrainHistory, int]:
    checkpoint = load_checkpoint(path, expected_kind=getattr(model, "kind", None))
    if getattr(model, "config", None) is not None:
        check_config(checkpoint, model.config, path)
    training = checkpoint["extra"].get("training")
    if not isinstance(training, dict):
        raise CheckpointMismatchError(f"{path} holds no training state to resume from")
    stored, wanted = training["train_config"], asdict(config)
    for name, value in wanted.items():
        if name not in RESUMABLE_CHANGES and stored.get(name) != value:
            raise CheckpointMismatchError(
                f"{path}: cannot resume with training field {name!r} = {value!r}; "
                f"the run was started with {stored.get(name)!r}")
    load_weights(model, checkpoint, path)
    optimizer.load_state_dict(training["optimizer"])
    torch.set_rng_state(training["rng"])
    if torch.cuda.is_available() and training["cuda_rng"]:
        torch.cuda.set_rng_state_all(training["cuda_rng"])
    return TrainHistory(**training["history"]), int(training["bad_evals"])


def train(model: nn.Module, train_data, valid_data=None, config: TrainConfig | None = None, *,
          loss_fn: Callable | None = None, checkpoint_path=None, resume: bool = False,
          device=None, quiet: bool = False) -> TrainHistory:
    """Train ``model`` on ``train_data`` (examples [N, ...], or a tuple of such tensors/arrays).

    The loss is ``model.loss(batch)`` (with ``skip_first=`` when the config sets it) or
    ``loss_fn(model, batch)``; each returns ``(loss, metrics dict)``. With ``valid_data`` the
    model is validated every ``config.eval_every`` steps. With ``checkpoint_path`` the full
    training state is saved every ``checkpoint_every`` steps and at the end; ``resume=True``
    continues from that file if it exists. A NaN/inf loss or gradient stops training with a
    warning, keeping the last good weights (and the last checkpoint). The model ends in eval
    mode on ``device`` (default ``runtime.pick_device()``). Returns the TrainHistory.
    """
    config = config if config is not None else TrainConfig()
    path = check_output_path(checkpoint_path, "checkpoint") if checkpoint_path is not None else None
    device = pick_device(None if device is None else str(device))
    tensors = tuple(t.to(device) for t in _as_tensors(train_data, "train_data"))
    _check_window(tensors, config, "train_data")
    valid = None
    if valid_data is not None:
        valid = _as_tensors(valid_data, "valid_data")
        _check_window(valid, config, "valid_data")
    compute = _loss_function(model, loss_fn, config)
    model.to(device)
    optimizer = _make_optimizer(model, config)
    history, bad_evals = TrainHistory(), 0
    if resume and path is not None and path.is_file():
        history, bad_evals = _resume(path, model, optimizer, config)
    else:
        seed_everything(config.seed)
    batches = _Batches(tensors[0].shape[0], config.batch_size, config.seed)
    history.stop_reason = "finished"
    with _threads(config.num_threads), tqdm(total=config.steps, initial=history.steps_done,
                                            desc="train", disable=quiet, leave=False) as bar:
        started = time.perf_counter()
        for step in range(history.steps_done, config.steps):
            lr = learning_rate(config, step)
            for group in optimizer.param_groups:
                group["lr"] = lr
            model.train()
            loss, _ = compute(_batch(tensors, batches.indices(step).to(device)))
            problem = None if torch.isfinite(loss) else f"the loss is {loss.item()}"
            if problem is None:
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                norm = nn.utils.clip_grad_norm_(model.parameters(), config.clip_norm or math.inf)
                problem = None if torch.isfinite(norm) else f"the gradient norm is {norm.item()}"
            if problem is not None:
                history.stop_reason = "non-finite loss"
                kept = f"; the checkpoint {path} is kept as it was" if path is not None else ""
                warnings.warn(
                    f"training stopped at step {step + 1}: {problem}. The model keeps the weights "
                    f"of step {step}{kept}. Try a lower lr (now {lr:g}) or a smaller clip_norm.",
                    RuntimeWarning, stacklevel=2)
                break
            optimizer.step()
            history.train_loss.append(loss.item())
            history.lr.append(lr)
            done = step + 1
            bar.update(1)
            if done % 10 == 0:
                bar.set_postfix(loss=f"{loss.item():.3f}")
            if valid is not None and (done % config.eval_every == 0 or done == config.steps):
                scores = evaluate(model, valid, loss_fn, config.eval_batch_size, config.skip_first, device)
                history.eval_steps.append(done)
                for key, value in scores.items():
                    history.valid.setdefault(key, []).append(value)
                if history.best_valid_loss is None or scores["loss"] < history.best_valid_loss:
                    history.best_valid_loss, history.best_step, bad_evals = scores["loss"], done, 0
                else:
                    bad_evals += 1
                bar.set_postfix(loss=f"{loss.item():.3f}", valid=f"{scores['loss']:.3f}")
                if config.patience is not None and bad_evals >= config.patience:
                    history.stop_reason = "early stopping"
            if path is not None and (history.stop_reason == "early stopping" or done == config.steps or
                                     (config.checkpoint_every and done % config.checkpoint_every == 0)):
                history.seconds += time.perf_counter() - started
                started = time.perf_counter()
                _save(path, model, optimizer, config, history, bad_evals)
            if history.stop_reason == "early stopping":
                break
        history.seconds += time.perf_counter() - started
    model.eval()
    return history
