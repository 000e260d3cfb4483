"""One supervised training loop for every model of the kit (notebooks 01, 04, 05).

``train(model, train_data, valid_data, config)`` draws seeded mini-batches of examples
(rows of a tensor [N, ...], e.g. melody windows [N, T] or drum grids [N, 32]), calls
``model.loss(batch) -> (loss, metrics)`` (or a ``loss_fn(model, batch)``), steps the optimizer
with gradient clipping and a learning-rate schedule, validates every ``eval_every`` steps,
stops early when validation stops improving, and saves resumable checkpoints. The config and
its presets live in ``train_config``, the history and checkpointed state in ``train_state``.
Under ``torchrun`` the same loop runs DistributedDataParallel (``distributed``): each process
trains on its share of every global batch, and only rank 0 shows progress and saves.

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
from functools import partial
from typing import Callable

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from musiclab.errors import BadParameterError
from musiclab.models import distributed
from musiclab.models.train_config import TrainConfig, learning_rate
from musiclab.models.train_state import TrainHistory, resume_training, save_training
from musiclab.runtime import check_output_path, pick_device, seed_everything


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


def _validate(model: nn.Module, valid: tuple[torch.Tensor, ...], loss_fn: Callable | None,
              config: TrainConfig, device) -> dict[str, float]:
    """Validation figures over all of ``valid``; each process scores its share (rows rank::N)."""
    if not distributed.active():
        return evaluate(model, valid, loss_fn, config.eval_batch_size, config.skip_first, device)
    rows = torch.arange(distributed.rank(), valid[0].shape[0], distributed.world_size())
    scores = (evaluate(model, tuple(t[rows] for t in valid), loss_fn, config.eval_batch_size,
                       config.skip_first, device) if len(rows) else {})
    return distributed.weighted_means(scores, len(rows))


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
    device = distributed.local_device(pick_device(None if device is None else str(device)))
    distributed.init(device)
    shard = distributed.shard_positions(config.batch_size).to(device)
    main = distributed.is_main()
    tensors = tuple(t.to(device) for t in _as_tensors(train_data, "train_data"))
    _check_window(tensors, config, "train_data")
    valid = None
    if valid_data is not None:
        valid = _as_tensors(valid_data, "valid_data")
        _check_window(valid, config, "valid_data")
    compute = _loss_function(model, loss_fn, config)
    model.to(device)
    runner = distributed.loss_runner(model, compute)
    optimizer = _make_optimizer(model, config)
    history, bad_evals = TrainHistory(), 0
    if resume and path is not None and path.is_file():
        history, bad_evals = resume_training(path, model, optimizer, config)
    else:
        seed_everything(config.seed)
    batches = _Batches(tensors[0].shape[0], config.batch_size, config.seed)
    history.stop_reason = "finished"
    with _threads(config.num_threads), tqdm(total=config.steps, initial=history.steps_done,
                                            desc="train", disable=quiet or not main, leave=False) as bar:
        started = time.perf_counter()
        for step in range(history.steps_done, config.steps):
            lr = learning_rate(config, step)
            for group in optimizer.param_groups:
                group["lr"] = lr
            model.train()
            loss, _ = runner(_batch(tensors, batches.indices(step).to(device)[shard]))
            loss_value = distributed.mean(loss.item())  # the global batch's loss
            problem = None if math.isfinite(loss_value) else f"the loss is {loss_value}"
            if problem is None:
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                norm = nn.utils.clip_grad_norm_(model.parameters(), config.clip_norm or math.inf)
                problem = None if torch.isfinite(norm) else f"the gradient norm is {norm.item()}"
            if problem is not None:
                history.stop_reason = "non-finite loss"
                kept = f"; the checkpoint {path} is kept as it was" if path is not None else ""
                if main:
                    warnings.warn(
                        f"training stopped at step {step + 1}: {problem}. The model keeps the weights "
                        f"of step {step}{kept}. Try a lower lr (now {lr:g}) or a smaller clip_norm.",
                        RuntimeWarning, stacklevel=2)
                break
            optimizer.step()
            history.train_loss.append(loss_value)
            history.lr.append(lr)
            done = step + 1
            bar.update(1)
            if done % 10 == 0:
                bar.set_postfix(loss=f"{loss_value:.3f}")
            if valid is not None and (done % config.eval_every == 0 or done == config.steps):
                scores = _validate(model, valid, loss_fn, config, device)
                history.eval_steps.append(done)
                for key, value in scores.items():
                    history.valid.setdefault(key, []).append(value)
                if history.best_valid_loss is None or scores["loss"] < history.best_valid_loss:
                    history.best_valid_loss, history.best_step, bad_evals = scores["loss"], done, 0
                else:
                    bad_evals += 1
                bar.set_postfix(loss=f"{loss_value:.3f}", valid=f"{scores['loss']:.3f}")
                if config.patience is not None and bad_evals >= config.patience:
                    history.stop_reason = "early stopping"
            if path is not None and (history.stop_reason == "early stopping" or done == config.steps or
                                     (config.checkpoint_every and done % config.checkpoint_every == 0)):
                history.seconds += time.perf_counter() - started
                started = time.perf_counter()
                if main:
                    save_training(path, model, optimizer, config, history, bad_evals)
            if history.stop_reason == "early stopping":
                break
        history.seconds += time.perf_counter() - started
    model.eval()
    return history
