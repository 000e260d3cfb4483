"""Train the shipped MusicVAE (``data/checkpoints/music_vae_cpu.pt``) from the Essen corpus.

``train_music_vae`` cuts the Essen training split into 2-bar windows (32 sixteenth steps, hop 16),
trains a :class:`~musiclab.models.music_vae.MusicVAE` preset with ``musiclab.models.train.train``
on one CPU thread, measures it on held-out windows and writes a checkpoint whose ``extra`` holds
the reproducing command, the training time and the validation figures. Run it as
``python -m musiclab.models.vae_training --preset cpu --steps N --seed 0 --out PATH`` (the
``musiclab train music-vae`` command calls ``train_music_vae_from_args`` with the same options).
Notebook 04 loads the result with ``load_model('music_vae_cpu')``. The measures of an interpolation
path that notebook 04 and ``bench/music_vae.py`` compare (``in_key_share``, ``step_change``, and the
naive ``note_space_blend`` baseline) live here too.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from musiclab.checkpoints import save_checkpoint
from musiclab.data.corpus import load_melodies
from musiclab.data.melody import MIN_PITCH, NUM_CLASSES, make_windows
from musiclab.errors import BadParameterError, check_choice, check_range
from musiclab.models.music_vae import MusicVAE, preset as vae_preset, reconstruction_accuracy
from musiclab.models.train import TrainConfig, evaluate, train
from musiclab.runtime import seed_everything

#: Event of the lowest pitch onset (MIDI 48) in the shared encoding.
FIRST_PITCH_EVENT = 2
#: Steps of one training window: 2 bars of 4/4 in 16th notes.
WINDOW = 32
#: Hop between windows cut from a tune: one bar.
HOP = 16


def essen_windows(split: str, max_windows: int | None = None, seed: int = 0) -> np.ndarray:
    """2-bar windows [N, 32] (int64 events) of one Essen split ('train', 'valid' or 'test').

    With ``max_windows`` a seeded random subset of that many windows (in their original order).
    The full training split gives 60,421 windows.
    """
    tunes = load_melodies("essen", quiet=True).split()[split]
    windows = make_windows([t.events for t in tunes], WINDOW, hop=HOP)
    if max_windows is not None and max_windows < len(windows):
        check_range("max_windows", max_windows, 1)
        rng = np.random.default_rng(seed)
        windows = windows[np.sort(rng.choice(len(windows), max_windows, replace=False))]
    return windows


#: Training options of ``train_music_vae`` that the command line can change, with their defaults.
TRAIN_DEFAULTS = {"batch_size": 64, "lr": 3e-3, "eval_every": 250}


def command_line(preset: str, steps: int, seed: int, out_path, **options) -> str:
    """The shell command that reproduces a checkpoint of ``train_music_vae``.

    ``options`` (batch_size, lr, eval_every) appear only where they differ from ``TRAIN_DEFAULTS``.
    """
    extra = "".join(f" --{name.replace('_', '-')} {value}" for name, value in options.items()
                    if value != TRAIN_DEFAULTS[name])
    return (f"python -m musiclab.models.vae_training --preset {preset} --steps {steps} "
            f"--seed {seed}{extra} --out {out_path}")


def train_music_vae(preset: str = "cpu", steps: int = 4000, seed: int = 0, out_path=None,
                    quiet: bool = False, *, batch_size: int = 64, lr: float = 3e-3,
                    max_train_windows: int | None = None, eval_windows: int = 1024,
                    eval_every: int = 250) -> tuple[MusicVAE, dict]:
    """Train a MusicVAE ``preset`` on Essen 2-bar windows; return (model in eval mode, figures).

    Adam, ``lr`` cosine-decayed to 0 over ``steps``, batch ``batch_size``, gradients clipped to
    norm 1 (as in Roberts et al. 2018), one CPU thread. Validation (teacher-forced loss, every
    ``eval_every`` steps) and the final figures use ``eval_windows`` random windows of the valid
    and test splits. ``max_train_windows`` trains on a random subset (tests). With ``out_path``
    the checkpoint is written there; its ``extra`` holds ``command``, ``train_seconds``,
    ``train_loss`` and the figures: ``test_reconstruction_accuracy`` (posterior mean, argmax, no
    teacher forcing), ``test_teacher_forced_accuracy``, ``test_kl_bits``, ``test_recon_nats``.
    """
    steps = int(check_range("steps", steps, 1))
    check_range("eval_windows", eval_windows, 1)
    model_config = vae_preset(preset)  # a bad name fails before the corpus loads
    train_windows = essen_windows("train", max_train_windows, seed)
    valid_windows = essen_windows("valid", eval_windows, seed)
    test_windows = essen_windows("test", eval_windows, seed + 1)
    seed_everything(seed)  # same seed, same initial weights
    model = MusicVAE(model_config)
    config = TrainConfig(steps=steps, batch_size=batch_size, window=WINDOW, lr=lr, optimizer="adam",
                         schedule="cosine", clip_norm=1.0, eval_every=min(eval_every, steps),
                         eval_batch_size=512, seed=seed, num_threads=1)
    history = train(model, train_windows, valid_windows, config, device="cpu", quiet=quiet)
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
        "command": (command_line(preset, steps, seed, out_path, batch_size=batch_size, lr=lr,
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
    if out_path is not None:
        save_checkpoint(out_path, model, extra=figures)
    return model, figures


#: Pitch classes of C major (and A minor): the key every corpus melody is transposed to.
C_MAJOR_PITCH_CLASSES = (0, 2, 4, 5, 7, 9, 11)
#: Note-space blends of :func:`note_space_blend`.
BLEND_MODES = ("random", "splice")


def _events_2d(name: str, melodies) -> np.ndarray:
    """Melodies [N, T] (or one [T]) as an int64 array."""
    array = np.asarray(melodies.cpu() if hasattr(melodies, "cpu") else melodies, dtype=np.int64)
    array = array[None] if array.ndim == 1 else array
    if array.ndim != 2 or array.size == 0:
        raise BadParameterError(f"{name} must be melodies [N, T] with N, T >= 1, got shape {array.shape}")
    if array.min() < 0 or array.max() >= NUM_CLASSES:
        raise BadParameterError(f"{name} holds events outside 0..{NUM_CLASSES - 1}")
    return array


def in_key_share(melodies) -> float:
    """Share of note onsets (events >= 2) in [N, T] melodies whose pitch is in C major; NaN without notes."""
    events = _events_2d("melodies", melodies)
    pitches = events[events >= FIRST_PITCH_EVENT] - FIRST_PITCH_EVENT + MIN_PITCH
    if pitches.size == 0:
        return float("nan")
    return float(np.isin(pitches % 12, C_MAJOR_PITCH_CLASSES).mean())


def step_change(path) -> float:
    """Mean share of the T steps that differ between neighbouring melodies of a path [n, T] (n >= 2)."""
    events = _events_2d("path", path)
    if events.shape[0] < 2:
        raise BadParameterError(f"path needs at least 2 melodies, got {events.shape[0]}")
    return float((events[1:] != events[:-1]).mean())


def note_space_blend(melody_a, melody_b, n_steps: int, mode: str = "random", seed: int = 0) -> np.ndarray:
    """A naive path [n_steps, T] from melody A to B (both [T]) blending events, not latents (notebook 04).

    At fraction t = i / (n_steps - 1): "random" takes each step from B with probability t (seeded),
    else from A; "splice" takes the first round((1 - t) * T) steps from A and the rest from B.
    """
    check_choice("mode", mode, BLEND_MODES)
    check_range("n_steps", n_steps, 2)
    a, b = _events_2d("melody_a", melody_a), _events_2d("melody_b", melody_b)
    if a.shape[0] != 1 or b.shape != a.shape:
        raise BadParameterError(f"melody_a and melody_b must be single melodies of equal length, "
                                f"got shapes {a.shape} and {b.shape}")
    a, b = a[0], b[0]
    rng = np.random.default_rng(seed)
    path = []
    for t in np.linspace(0.0, 1.0, int(n_steps)):
        if mode == "random":
            from_b = rng.random(a.size) < t
        else:
            from_b = np.arange(a.size) >= round((1.0 - t) * a.size)
        path.append(np.where(from_b, b, a))
    return np.stack(path)


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the options of ``train_music_vae_from_args`` to ``parser`` (this module's command line and
    ``musiclab train music-vae`` take the same ones)."""
    parser.add_argument("--preset", default="cpu", help="MusicVAE preset (small, big, hierarchical, cpu)")
    parser.add_argument("--steps", type=int, default=4000, help="optimizer steps (default 4000)")
    parser.add_argument("--seed", type=int, default=0, help="seeds weights, batches and sampling")
    parser.add_argument("--batch-size", type=int, default=TRAIN_DEFAULTS["batch_size"], help="windows per step")
    parser.add_argument("--lr", type=float, default=TRAIN_DEFAULTS["lr"], help="initial Adam learning rate")
    parser.add_argument("--eval-every", type=int, default=TRAIN_DEFAULTS["eval_every"],
                        help="steps between validations")
    parser.add_argument("--out", type=Path, required=True, help="checkpoint file to write")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def train_music_vae_from_args(args: argparse.Namespace) -> dict:
    """Run ``train_music_vae`` with parsed options (see ``add_arguments``), print its figures, return them.

    Options that are missing or None take the defaults of ``add_arguments``.
    """
    def option(name: str, default):
        value = getattr(args, name, None)
        return default if value is None else value

    _, figures = train_music_vae(
        option("preset", "cpu"), option("steps", 4000), option("seed", 0), args.out,
        option("quiet", False), batch_size=option("batch_size", TRAIN_DEFAULTS["batch_size"]),
        lr=option("lr", TRAIN_DEFAULTS["lr"]), eval_every=option("eval_every", TRAIN_DEFAULTS["eval_every"]))
    for key in ("train_seconds", "test_reconstruction_accuracy", "test_teacher_forced_accuracy",
                "test_kl_bits", "test_recon_nats"):
        print(f"{key}: {figures[key]}")
    print(f"wrote {args.out}")
    return figures


def main(argv: list[str] | None = None) -> None:
    """Command line: train and save the shipped MusicVAE, print its figures."""
    parser = add_arguments(argparse.ArgumentParser(description="Train a MusicVAE on Essen 2-bar windows."))
    train_music_vae_from_args(parser.parse_args(argv))


if __name__ == "__main__":
    main()
