"""A few training steps of a tiny Note-RNN, run alone or under ``torchrun`` by tests/test_distributed.py.

    python tests/distributed_worker.py OUT_DIR                              # one process
    python -m torch.distributed.run --standalone --nproc_per_node=2 tests/distributed_worker.py OUT_DIR

Each process writes ``OUT_DIR/rank{R}.json``: the example ids it trained on at every step, the loss
history, the validation figures, how many checkpoints it saved, and its final weights; the training
checkpoint goes to ``OUT_DIR/checkpoints/model.pt``.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

from musiclab.models import distributed, train
from musiclab.models.note_rnn import NoteRNN, NoteRNNConfig
from musiclab.models.train_config import TrainConfig
from musiclab.runtime import seed_everything

#: The tiny problem: EXAMPLES windows of WINDOW events, STEPS steps of BATCH (global) windows.
EXAMPLES, WINDOW, STEPS, BATCH = 48, 16, 6, 8


def main(out: Path) -> None:
    seen: list[list[int]] = []
    saves = []
    real_save = train.save_training

    def spy_save(*args, **kwargs):  # count this process's checkpoint writes
        saves.append(str(args[0]))
        return real_save(*args, **kwargs)

    train.save_training = spy_save
    try:
        _train(out, seen, saves)
    finally:
        train.save_training = real_save


def _train(out: Path, seen: list, saves: list) -> None:

    def loss_fn(model, batch):
        windows, ids = batch
        if model.training:
            seen.append(ids.tolist())
        return model.loss(windows)

    data = torch.Generator().manual_seed(1)
    windows = torch.randint(0, 38, (EXAMPLES, WINDOW), generator=data)
    ids = torch.arange(EXAMPLES)
    valid = (torch.randint(0, 38, (13, WINDOW), generator=data), torch.arange(13))
    seed_everything(0)
    model = NoteRNN(NoteRNNConfig(hidden_size=16, num_layers=1, embedding_dim=8, dropout=0.0))
    config = TrainConfig(steps=STEPS, batch_size=BATCH, window=WINDOW, lr=1e-2, eval_every=3,
                         checkpoint_every=1, seed=0, num_threads=1)
    history = train.train(model, (windows, ids), valid, config, loss_fn=loss_fn,
                          checkpoint_path=out / "checkpoints" / "model.pt", device="cpu", quiet=True)
    report = {"rank": distributed.rank(), "world": distributed.world_size(), "seen": seen,
              "train_loss": history.train_loss, "valid": history.valid, "saves": saves,
              "weights": [p.detach().flatten().tolist() for p in model.parameters()]}
    (out / f"rank{distributed.rank()}.json").write_text(json.dumps(report))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
