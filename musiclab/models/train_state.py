"""What a training run has done (``TrainHistory``) and its resumable state in a checkpoint.

``musiclab.models.train.train`` saves the weights with the optimizer, torch's RNG state, the
history and the TrainConfig, so a resumed run continues exactly (notebooks 01, 04, 05).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn

from musiclab.checkpoints import (CheckpointMismatchError, load_checkpoint, load_weights,
                                  check_config, save_checkpoint)
from musiclab.models.train_config import TrainConfig

#: TrainConfig fields a resumed run may change (all leave the weights' path alone, except that
#: a new ``steps`` stretches a cosine schedule).
RESUMABLE_CHANGES = ("steps", "patience", "eval_every", "eval_batch_size", "checkpoint_every",
                     "num_threads")


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


def save_training(path: Path, model: nn.Module, optimizer, config: TrainConfig, history: TrainHistory,
                  bad_evals: int) -> None:
    """Save ``model`` with the full training state (optimizer, RNG, history, config) to ``path``."""
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


def resume_training(path: Path, model: nn.Module, optimizer,
                    config: TrainConfig) -> tuple[TrainHistory, int]:
    """Load the state ``save_training`` wrote into ``model`` and ``optimizer``.

    Returns the history and the count of validations since the best one. Raises
    :class:`CheckpointMismatchError` when ``config`` differs outside ``RESUMABLE_CHANGES``.
    """
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
