"""The drum data path: groove sets split deterministically into [N, 32] tensors, primers, baselines."""
from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch

from musiclab.data.drums import GRID_STEPS, NUM_DRUM_CLASSES, DrumSet
from musiclab.errors import BadParameterError
from musiclab.models import drum_data
from musiclab.models.baselines import NGramModel
from musiclab.models.note_cnn import NoteCNN


def toy_set(n: int = 200, seed: int = 0) -> DrumSet:
    """``n`` distinct grids: a kick/snare/hi-hat groove with one random step each, named by index."""
    rng = np.random.default_rng(seed)
    base = np.tile([0, 9, 6, 9, 1, 9, 6, 9], 4)
    grids = np.repeat(base[None], n, axis=0)
    grids[np.arange(n), rng.integers(0, GRID_STEPS, n)] = rng.integers(0, NUM_DRUM_CLASSES, n)
    return DrumSet(grids.astype(np.int64), [f"lib/GROOVE{i}" for i in range(n)], {"duplicate grid": 3})


def test_split_gives_long_tensors_of_32_steps_and_keeps_every_grid_once():
    drums = toy_set()
    data = drum_data.split_drums(drums)
    sizes = [data.split(name).shape[0] for name in drum_data.SPLITS]
    assert sum(sizes) == len(drums) and all(size > 0 for size in sizes)
    assert sizes[0] > sizes[1] and sizes[0] > sizes[2]  # about 80/10/10
    for name in drum_data.SPLITS:
        tensor = data.split(name)
        assert tensor.dtype == torch.long and tensor.shape[1] == GRID_STEPS
        assert len(data.names[name]) == tensor.shape[0]
    assert sorted(sum(data.names.values(), [])) == sorted(drums.names)
    row = data.names["test"].index(data.names["test"][0])
    assert torch.equal(data.test[row], torch.from_numpy(drums.grids[drums.names.index(data.names["test"][0])]))
    assert data.skipped == {"duplicate grid": 3}
    assert data.describe()["grids"]["train"] == sizes[0]


def test_the_split_is_deterministic_and_independent_of_the_library_order():
    drums = toy_set()
    first = drum_data.split_drums(drums, split_seed=0)
    order = np.random.default_rng(1).permutation(len(drums))
    shuffled = DrumSet(drums.grids[order], [drums.names[i] for i in order], {})
    again = drum_data.split_drums(shuffled, split_seed=0)
    for name in drum_data.SPLITS:
        assert sorted(first.names[name]) == sorted(again.names[name])
    other = drum_data.split_drums(drums, split_seed=1)
    assert other.names["test"] != first.names["test"]


def test_a_set_too_small_for_three_splits_and_a_wrong_type_are_refused():
    with pytest.raises(BadParameterError, match="split .* empty"):
        drum_data.split_drums(toy_set(2))
    with pytest.raises(BadParameterError, match="DrumSet"):
        drum_data.split_drums(np.zeros((10, 32), dtype=np.int64))


def test_primers_are_seeded_openings_of_real_grids():
    grids = drum_data.split_drums(toy_set()).train
    first = drum_data.primers(grids, 50, seed=3)
    assert first.shape == (50, drum_data.SKIP_FIRST) and first.dtype == torch.long
    assert torch.equal(first, drum_data.primers(grids, 50, seed=3))
    assert not torch.equal(first, drum_data.primers(grids, 50, seed=4))
    openings = {tuple(row.tolist()) for row in grids[:, :drum_data.SKIP_FIRST]}
    assert all(tuple(row.tolist()) in openings for row in first)
    with pytest.raises(BadParameterError, match="shape"):
        drum_data.primers(grids[:, :16], 5, seed=0)


def test_the_ngram_baseline_is_chosen_on_validation_and_beats_a_unigram():
    data = drum_data.split_drums(toy_set(300))
    model = drum_data.fit_drum_ngram(data, orders=(1, 3), ks=(0.1,))
    assert isinstance(model, NGramModel) and model.order == 3
    unigram = NGramModel(1, 0.1, num_classes=NUM_DRUM_CLASSES).fit(data.train)
    scores = drum_data.held_out_scores(model, data)
    assert scores["nll"] < drum_data.held_out_scores(unigram, data)["nll"]
    assert scores["steps"] == data.test.shape[0] * (GRID_STEPS - drum_data.SKIP_FIRST)


def test_train_drum_cnn_learns_and_saves_a_loadable_checkpoint(tmp_path):
    from musiclab.checkpoints import load_checkpoint, load_model

    data = drum_data.split_drums(toy_set(300))
    path = tmp_path / "cnn.pt"
    model, history = drum_data.train_drum_cnn("fast", 0, path, data=data, quiet=True, steps=30, eval_every=15,
                                                  num_threads=1)
    assert isinstance(model, NoteCNN) and history.steps_done == 30
    assert history.valid["nll"][-1] < history.valid["nll"][0]
    extra = load_checkpoint(path)["extra"]
    assert extra["command"] == f"musiclab train note-cnn --preset fast --seed 0 --eval-every 15 --num-threads 1 --steps 30 --out {path}"
    assert extra["test"]["nll"] == pytest.approx(drum_data.held_out_scores(load_model(path), data)["nll"])


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("mma") is None, reason="Debian's mma is not installed")
def test_the_mma_grooves_split_into_about_80_10_10():
    data = drum_data.load_drum_data(quiet=True)
    total = sum(data.split(name).shape[0] for name in drum_data.SPLITS)
    assert total > 700 and 0.7 < data.train.shape[0] / total < 0.9
    assert int(data.train.max()) < NUM_DRUM_CLASSES
