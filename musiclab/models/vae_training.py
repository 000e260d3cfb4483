"""Train the shipped MusicVAEs (``data/checkpoints/music_vae_cpu*.pt``) from the Essen corpus (or your folder).

``train_music_vae`` cuts the Essen training split (or that of a folder of your own MIDI / ABC
files, ``corpus=PATH``) into 2-bar windows (32 sixteenth steps, hop 16),
trains a :class:`~musiclab.models.music_vae.MusicVAE` preset with ``musiclab.models.train.train``
on one CPU thread, measures it on held-out windows and writes a checkpoint whose ``extra`` holds
the reproducing command, the training time and the validation figures. Run it as
``musiclab train music-vae --preset cpu --steps N --seed 0 --out PATH``. Notebook 04 loads the
result with ``load_model('music_vae_cpu')`` (and ``'music_vae_cpu_swap_wide'`` for its attribute
vectors); the measures of its interpolation paths live in
:mod:`musiclab.eval.vae`.
"""
from __future__ import annotations

import time

import numpy as np
import torch

from musiclab.checkpoints import save_checkpoint
from musiclab.data.melody import make_windows
from musiclab.errors import check_range, check_seed
from musiclab.models import distributed
from musiclab.models.melody_data import load_corpus_melodies
from musiclab.models.music_vae import MusicVAE, reconstruction_accuracy
from musiclab.models.train import evaluate, train
from musiclab.models.train_config import TrainConfig
from musiclab.models.vae_config import preset as vae_preset
from musiclab.runtime import seed_everything

#: Steps of one training window: 2 bars of 4/4 in 16th notes.
WINDOW = 32
#: Hop between windows cut from a tune: one bar.
HOP = 16


def essen_windows(split: str, max_windows: int | None = None, seed: int = 0) -> np.ndarray:
    """2-bar windows [N, 32] (int64 events) of one Essen split ('train', 'valid' or 'test').

    With ``max_windows`` a seeded random subset of that many windows (in their original order).
    The full training split gives 60,421 windows.
    """
    return corpus_windows("essen", split, max_windows, seed)


def corpus_windows(corpus: str, split: str, max_windows: int | None = None, seed: int = 0,
                   quiet: bool = True) -> np.ndarray:
    """2-bar windows [N, 32] of one split of ``corpus`` (a melody corpus name or a folder of your
    MIDI / ABC files), as :func:`essen_windows`."""
    tunes = load_corpus_melodies(corpus, quiet=quiet).split()[split]
    windows = make_windows([t.events for t in tunes], WINDOW, hop=HOP)
    if max_windows is not None and max_windows < len(windows):
        check_range("max_windows", max_windows, 1)
        rng = np.random.default_rng(check_seed(seed))
        windows = windows[np.sort(rng.choice(len(windows), max_windows, replace=False))]
    return windows


#: Training options of ``train_music_vae`` that the command line can change, with their defaults.
TRAIN_DEFAULTS = {"batch_size": 128, "lr": 5e-3, "eval_every": 250}


def command_line(preset: str, steps: int, seed: int, out_path, corpus: str = "essen", **options) -> str:
    """The shell command that reproduces a checkpoint of ``train_music_vae``.

    ``options`` (batch_size, lr, eval_every) appear only where they differ from ``TRAIN_DEFAULTS``.
    """
    extra = "".join(f" --{name.replace('_', '-')} {value}" for name, value in options.items()
                    if value != TRAIN_DEFAULTS[name])
    extra += f" --corpus {corpus}" if str(corpus) != "essen" else ""
    return (f"musiclab train music-vae --preset {preset} --steps {steps} "
            f"--seed {seed}{extra} --out {out_path}")


def train_music_vae(preset: str = "cpu", steps: int = 4000, seed: int = 0, out_path=None,
                    quiet: bool = False, *, batch_size: int = TRAIN_DEFAULTS["batch_size"],
                    lr: float = TRAIN_DEFAULTS["lr"], max_train_windows: int | None = None,
                    eval_windows: int = 1024, eval_every: int = TRAIN_DEFAULTS["eval_every"],
                    corpus: str = "essen", device="cpu") -> tuple[MusicVAE, dict]:
    """Train a MusicVAE ``preset`` on Essen 2-bar windows; return (model in eval mode, figures).

    Adam, ``lr`` cosine-decayed to 0 over ``steps``, batch ``batch_size``, gradients clipped to
    norm 1 (as in Roberts et al. 2018), one CPU thread. Validation (teacher-forced loss, every
    ``eval_every`` steps) and the final figures use ``eval_windows`` random windows of the valid
    and test splits. ``max_train_windows`` trains on a random subset (tests). ``corpus``: 'essen' or
    a folder of your own MIDI / ABC files. ``device``: where to train (scores are taken on the CPU).
    Under torchrun each process trains on its share of every batch. With ``out_path`` the
    checkpoint is written there (by rank 0 only); its ``extra`` holds ``command``, ``train_seconds``,
    ``train_loss`` and the figures: ``test_reconstruction_accuracy`` (posterior mean, argmax, no
    teacher forcing), ``test_teacher_forced_accuracy``, ``test_kl_bits``, ``test_recon_nats``.
    """
    steps = int(check_range("steps", steps, 1))
    check_range("eval_windows", eval_windows, 1)
    model_config = vae_preset(preset)  # a bad name fails before the corpus loads
    with distributed.main_first(device):  # rank 0 builds a folder's cache, the others read it
        train_windows = corpus_windows(corpus, "train", max_train_windows, seed, quiet)
    valid_windows = corpus_windows(corpus, "valid", eval_windows, seed)
    test_windows = corpus_windows(corpus, "test", eval_windows, seed + 1)
    seed_everything(seed)  # same seed, same initial weights
    model = MusicVAE(model_config)
    config = TrainConfig(steps=steps, batch_size=batch_size, window=WINDOW, lr=lr, optimizer="adam",
                         schedule="cosine", clip_norm=1.0, eval_every=min(eval_every, steps),
                         eval_batch_size=512, seed=seed, num_threads=1)
    history = train(model, train_windows, valid_windows, config, device=device, quiet=quiet)
    model.cpu()
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        started = time.perf_counter()
        seed_everything(seed)  # the loss samples z from the posterior
        scores = evaluate(model, test_windows, batch_size=512)
        accuracy = reconstruction_accuracy(model, test_windows)
        eval_seconds = time.perf_counter() - started
    finally:
        torch.set_num_threads(previous)
    figures = {
        "command": (command_line(preset, steps, seed, out_path, corpus, batch_size=batch_size, lr=lr,
                                 eval_every=eval_every) if out_path is not None else ""),
        "preset": preset, "steps": history.steps_done, "seed": seed, "batch_size": batch_size, "lr": lr,
        "train_windows": int(len(train_windows)), "eval_windows": int(len(test_windows)),
        "train_seconds": round(history.seconds, 1), "eval_seconds": round(eval_seconds, 1),
        "stop_reason": history.stop_reason,
        "train_loss": [round(x, 4) for x in history.train_loss],
        "valid_steps": list(history.eval_steps),
        "valid_loss": [round(x, 4) for x in history.valid.get("loss", [])],
        "test_reconstruction_accuracy": round(accuracy, 4),
        "test_teacher_forced_accuracy": round(scores["accuracy"], 4),
        "test_kl_bits": round(scores["kl_bits"], 2),
        "test_recon_nats": round(scores["recon_nats"], 3),
    }
    if out_path is not None and distributed.is_main():
        save_checkpoint(out_path, model, extra=figures)
    return model, figures
