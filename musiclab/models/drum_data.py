"""Train / valid / test drum grids, the drum n-gram baseline and the drum Note-CNN recipe (notebook 05).

The one place that turns a groove set (``musiclab.data.grooves.load_grooves``: mma's library or a
folder of drum MIDI files) into tensors: every grid is assigned to a split by a hash of its name
and ``split_seed`` (80/10/10, ``musiclab.data.corpus.split_tunes``), so the split never depends on
the order of the library and adding grooves moves no other grid. Splits are LongTensors [N, 32]
of drum classes 0..9. ``bench/drums.py``, ``musiclab.rl.drum_tuning`` and notebook 05 all read
their grids here, so every figure is measured on the same held-out grids.

Held-out scores leave out the first :data:`SKIP_FIRST` = 8 steps, which the Note-CNN is not
trained on (``note_cnn.train_config``); :func:`primers` cuts 8-step openings from real grids to
start compositions from, as the drum Note-CNN project seeded its samples.
"""
from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from musiclab.checkpoints import save_checkpoint
from musiclab.data.corpus import split_tunes
from musiclab.data.drums import GRID_STEPS, NUM_DRUM_CLASSES, DrumSet
from musiclab.data.grooves import load_grooves
from musiclab.data.midi_files import midi_files
from musiclab.errors import BadParameterError, check_choice, check_range, check_seed
from musiclab.models import distributed, note_cnn
from musiclab.models.baselines import NGramModel
from musiclab.models.melody_data import score
from musiclab.models.train import train
from musiclab.models.train_state import TrainHistory
from musiclab.runtime import seed_everything

SPLITS = ("train", "valid", "test")
#: Steps at the start of each grid left out of training and of held-out scores (and primer length).
SKIP_FIRST = 8
#: n-gram orders and add-k values tried on the validation grids by :func:`fit_drum_ngram`.
NGRAM_ORDERS = (1, 2, 3, 4, 5, 6)
NGRAM_KS = (0.01, 0.1, 0.5)


@dataclass(frozen=True)
class _Named:
    """A grid with a name, split like a tune (``split_tunes`` reads ``tune_id``)."""

    tune_id: str
    grid: np.ndarray


@dataclass
class DrumData:
    """A groove set split into ``train``/``valid``/``test`` LongTensors [N, 32] of drum classes.

    ``names[split]`` are the grids' names (``lib/GROOVE`` for mma) in row order; ``skipped``
    counts what the loader left out and why (duplicates, triplet grooves, files without drums).
    """

    source: str
    split_seed: int
    train: torch.Tensor
    valid: torch.Tensor
    test: torch.Tensor
    names: dict[str, list[str]] = field(repr=False)
    skipped: dict[str, int] = field(default_factory=dict)
    files: int = 0
    """MIDI files read from a folder (0 for mma's library)."""

    num_classes: int = NUM_DRUM_CLASSES

    def split(self, name: str) -> torch.Tensor:
        """The grids [N, 32] of split ``name`` ('train', 'valid' or 'test')."""
        check_choice("split", name, SPLITS)
        return getattr(self, name)

    def describe(self) -> dict:
        """Plain data saying where the grids came from (stored in checkpoints' ``extra``)."""
        return {"source": self.source, "split_seed": self.split_seed,
                "grids": {name: int(self.split(name).shape[0]) for name in SPLITS}}

    def summary(self) -> str:
        """One line: the source and the number of grids per split."""
        parts = ", ".join(f"{name} {self.split(name).shape[0]:,}" for name in SPLITS)
        return f"drum grids from {self.source}: {parts} (2 bars of 32 sixteenths each)"

    def report(self) -> str:
        """The end-of-training summary: files read, what was skipped by reason, grids per split."""
        read = f"files read {self.files:,}; " if self.files else ""
        skipped = ", ".join(f"{n} {why}" for why, n in sorted(self.skipped.items())) or "none"
        grids = ", ".join(f"{name} {self.split(name).shape[0]:,}" for name in SPLITS)
        return f"{read}skipped {sum(self.skipped.values()):,} ({skipped}); 2-bar grids: {grids}"


def split_drums(drums: DrumSet, split_seed: int = 0, source: str = "grooves") -> DrumData:
    """Split a :class:`~musiclab.data.drums.DrumSet` by a hash of each grid's name (80/10/10).

    Raises BadParameterError when a split would be empty (a set of fewer than about 20 grids).
    """
    if not isinstance(drums, DrumSet):
        raise BadParameterError(f"drums must be a DrumSet (from load_grooves), got {type(drums).__name__}")
    named = [_Named(name, grid) for name, grid in zip(drums.names, drums.grids)]
    parts = split_tunes(named, seed=int(split_seed))
    tensors = {}
    for name in SPLITS:
        if not parts[name]:
            raise BadParameterError(f"the {name} split of {len(named)} grids from {source} is empty: "
                                    "give a larger groove set")
        rows = np.stack([piece.grid for piece in parts[name]]).astype(np.int64)
        tensors[name] = torch.from_numpy(rows)
    return DrumData(source, int(split_seed), tensors["train"], tensors["valid"], tensors["test"],
                    {name: [piece.tune_id for piece in parts[name]] for name in SPLITS},
                    dict(drums.skipped))


def load_drum_data(source: str | os.PathLike = "mma", split_seed: int = 0, quiet: bool = False) -> DrumData:
    """Load the groove set ``source`` ('mma' or a folder of drum MIDI files; cached after the first
    build) and split it with :func:`split_drums`. Notebook 05, ``bench/drums.py``, the drum CLI."""
    data = split_drums(load_grooves(source, quiet=quiet), split_seed, str(source))
    if str(source) != "mma":
        data.files = len(midi_files(Path(source).expanduser()))
    return data


def primers(grids, n: int, seed: int | np.random.Generator, length: int = SKIP_FIRST) -> torch.Tensor:
    """``n`` openings of ``length`` (8) steps cut from rows of ``grids`` [N, 32] drawn with
    replacement (seeded): a LongTensor [n, length] to start compositions from (notebook 05)."""
    rows = torch.as_tensor(np.asarray(grids), dtype=torch.long)
    if rows.dim() != 2 or rows.shape[0] == 0 or rows.shape[1] != GRID_STEPS:
        raise BadParameterError(f"grids must have shape [N, {GRID_STEPS}] with N >= 1, got {tuple(rows.shape)}")
    n = int(check_range("n", n, 1))
    length = int(check_range("length", length, 0, GRID_STEPS))
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(check_seed(seed))
    return rows[torch.from_numpy(rng.integers(0, rows.shape[0], n)), :length].clone()


def fit_drum_ngram(data: DrumData, orders=NGRAM_ORDERS, ks=NGRAM_KS) -> NGramModel:
    """The drum n-gram baseline: orders and add-k tried on ``data.train``, the one with the lowest
    validation NLL (steps 8-31, as the Note-CNN is scored) returned. Notebook 05, the benchmark."""
    best, best_nll = None, float("inf")
    for order in orders:
        counted = NGramModel(order, num_classes=NUM_DRUM_CLASSES).fit(data.train)
        for k in ks:  # the counts do not depend on k: count once per order
            model = copy.copy(counted)
            model.k = check_range("k", k, 0, low_open=True)
            nll = score(model, data.valid, skip_first=SKIP_FIRST)["nll"]
            if nll < best_nll:
                best, best_nll = model, nll
    if best is None:
        raise BadParameterError("give at least one n-gram order and one k")
    return best


def held_out_scores(model, data: DrumData, split: str = "test") -> dict[str, float]:
    """NLL (nats and bits per step), accuracy and steps scored of ``model`` on a split, steps 8-31."""
    return score(model, data.split(split), skip_first=SKIP_FIRST)


def train_drum_cnn(preset: str = "fast", seed: int = 0, out_path=None, data: DrumData | None = None,
                   quiet: bool = False, source: str = "mma", device="cpu",
                   **overrides) -> tuple[note_cnn.NoteCNN, TrainHistory]:
    """Train a drum Note-CNN of model preset ``preset`` with the training preset of the same name
    (any ``TrainConfig`` field overridable, e.g. ``steps=200``) on the train split of ``data`` (default:
    the grooves of ``source``, 'mma' or a folder of drum MIDI files in the Groove MIDI Dataset layout);
    save it to ``out_path`` when given (rank 0 only under torchrun), with the data, the held-out
    scores and the command.

    What ``musiclab train note-cnn`` calls; the shipped ``data/checkpoints/drum_cnn_fast.pt`` is
    ``train_drum_cnn('fast', 0, 'data/checkpoints/drum_cnn_fast.pt', num_threads=1)``. Notebook 05.
    """
    if data is None:
        with distributed.main_first(device):  # rank 0 builds a folder's cache, the others read it
            data = load_drum_data(source, quiet=quiet or not distributed.is_main())
    config = note_cnn.train_config(preset, seed=seed, **overrides)
    seed_everything(seed)  # the initial weights; train() re-seeds for the batch order
    model = note_cnn.NoteCNN(note_cnn.preset(preset))
    history = train(model, data.train, data.valid, config, device=device, quiet=quiet)
    model.cpu()
    if out_path is not None and distributed.is_main():
        options = " ".join(f"--{k.replace('_', '-')} {v}" for k, v in sorted(overrides.items()))
        options += f" --corpus {source}" if str(source) != "mma" else ""
        extra = {"data": data.describe(), "history": vars(history),
                 "test": held_out_scores(model, data, "test"),
                 "command": f"musiclab train note-cnn --preset {preset} --seed {seed} {options} "
                            f"--out {out_path}".replace("  ", " ")}
        save_checkpoint(out_path, model, extra=extra)
    return model, history
