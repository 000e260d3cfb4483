"""One data path for next-event models: splits cut into preset-sized windows, held-out scores, baselines."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from musiclab.checkpoints import CheckpointMismatchError, save_checkpoint
from musiclab.data.chords import Vocabulary
from musiclab.data.melody import NUM_CLASSES
from musiclab.errors import BadParameterError, UnknownNameError
from musiclab.models import melody_data
from musiclab.models.baselines import NGramModel
from musiclab.models.melody_data import fit_baselines, load_trained, load_windows, score
from musiclab.models.note_rnn import NoteRNN, NoteRNNConfig
from musiclab.models.train import evaluate


#: The real Essen collection kinder0 is built once into a temporary cache for this module.
pytestmark = pytest.mark.usefixtures("module_cache")


@pytest.fixture(scope="module")
def kinder():
    """Essen's kinder0 (213 children's songs) in windows of the fast preset (64 steps)."""
    return load_windows("essen", "fast", subset="kinder0", quiet=True)


def contains_run(sequence: np.ndarray, run: np.ndarray) -> bool:
    view = np.lib.stride_tricks.sliding_window_view(sequence, len(run))
    return bool((view == run).all(axis=1).any())


def test_windows_have_the_presets_length_and_hold_melody_events(kinder):
    assert kinder.window == 64 and kinder.hop == 64 and kinder.num_classes == NUM_CLASSES
    for split in melody_data.SPLITS:
        windows = kinder.split(split)
        assert windows.dtype == torch.int64 and windows.shape[1] == 64 and windows.shape[0] > 0
        assert 0 <= int(windows.min()) and int(windows.max()) < NUM_CLASSES
    assert "kinder0" in kinder.summary() and "train" in kinder.summary()


def test_the_window_follows_the_training_preset_unless_given():
    assert load_windows("essen", "rl_tuner", subset="kinder0", quiet=True).window == 128
    assert load_windows("essen", "classic", subset="kinder0", quiet=True).train.shape[1] == 40
    assert load_windows("essen", "fast", window=32, subset="kinder0", quiet=True).valid.shape[1] == 32


def test_splits_are_disjoint_deterministic_and_cover_the_corpus(kinder):
    names = kinder.names
    assert not set(names["train"]) & set(names["valid"]) and not set(names["train"]) & set(names["test"])
    assert sum(len(v) for v in names.values()) == 213
    again = load_windows("essen", "fast", subset="kinder0", quiet=True)
    assert all(torch.equal(kinder.split(s), again.split(s)) for s in melody_data.SPLITS)
    other = load_windows("essen", "fast", subset="kinder0", split_seed=1, quiet=True)
    assert other.names["test"] != kinder.names["test"]


def test_every_window_is_cut_from_a_tune_of_its_own_split(kinder):
    for split in melody_data.SPLITS:
        tunes = kinder.sequences[split]
        for window in kinder.split(split)[::7].numpy():
            assert any(contains_run(tune, window) for tune in tunes if len(tune) >= len(window))


def test_held_out_windows_never_overlap_and_hop_only_thickens_training(kinder):
    expected = sum(len(t) // 64 for t in kinder.sequences["valid"])
    assert kinder.valid.shape[0] == expected
    dense = load_windows("essen", "fast", hop=16, subset="kinder0", quiet=True)
    assert dense.train.shape[0] == sum(max(0, (len(t) - 64) // 16 + 1) for t in kinder.sequences["train"])
    assert dense.train.shape[0] > 2 * kinder.train.shape[0]
    assert torch.equal(dense.valid, kinder.valid) and torch.equal(dense.test, kinder.test)


def test_describe_is_plain_data_for_a_checkpoint(kinder):
    info = kinder.describe()
    assert info["corpus"] == "essen" and info["subset"] == "kinder0" and info["window"] == 64
    assert info["windows"]["train"] == kinder.train.shape[0]
    assert info["pieces"] == {s: len(kinder.names[s]) for s in melody_data.SPLITS}


def test_bad_corpus_window_or_too_long_windows_are_reported():
    with pytest.raises(UnknownNameError, match="chorale-tokens"):
        load_windows("bach", quiet=True)
    with pytest.raises(BadParameterError, match="window"):
        load_windows("essen", window=1, subset="kinder0", quiet=True)
    with pytest.raises(BadParameterError, match=r"(train|valid|test) split of essen/kinder0 has no window"):
        load_windows("essen", window=5000, subset="kinder0", quiet=True)


@pytest.mark.slow
def test_chorale_tokens_give_windows_over_the_vocabulary_ending_in_the_predicted_token():
    data = load_windows("chorale-tokens", "classic", subset="sample", quiet=True)
    assert data.vocabulary is not None and data.num_classes == len(data.vocabulary) > NUM_CLASSES
    assert data.train.shape[1] == 40 and data.hop == 1
    assert int(data.train.max()) < data.num_classes
    first = data.sequences["train"][0]
    assert np.array_equal(data.train[0].numpy(), first[:40])
    assert np.array_equal(data.train[1].numpy(), first[1:41])
    assert data.labels() == list(data.vocabulary.tokens)


def tiny_model(seed: int = 0) -> NoteRNN:
    torch.manual_seed(seed)
    return NoteRNN(NoteRNNConfig(hidden_size=16, embedding_dim=8))


def test_score_agrees_with_the_training_loops_validation(kinder):
    model = tiny_model().eval()
    figures = score(model, kinder.valid)
    reference = evaluate(model, kinder.valid)
    assert figures["nll"] == pytest.approx(reference["nll"], rel=1e-5)
    assert figures["accuracy"] == pytest.approx(reference["accuracy"], abs=1e-6)
    assert figures["steps"] == kinder.valid.numel()
    assert figures["bits"] == pytest.approx(figures["nll"] / np.log(2))


def test_score_can_skip_warm_up_steps_and_leaves_the_mode_alone(kinder):
    model = tiny_model()
    model.train()
    late = score(model, kinder.valid, skip_first=32)
    assert late["steps"] == kinder.valid.shape[0] * 32
    assert model.training
    with pytest.raises(BadParameterError, match="skip_first"):
        score(model, kinder.valid, skip_first=64)
    with pytest.raises(BadParameterError, match="empty"):
        score(model, kinder.valid[:0])


def test_baselines_pick_the_ngram_order_with_the_lowest_validation_nll(kinder):
    baselines = fit_baselines(kinder, orders=(1, 2, 3), ks=(0.1,))
    name, ngram = next(iter(baselines.items()))
    assert name.startswith("n-gram") and isinstance(ngram, NGramModel) and "top-10 pitches" in baselines
    chosen = score(ngram, kinder.valid)["nll"]
    for order in (1, 2, 3):
        other = NGramModel(order, 0.1).fit(kinder.train)
        assert chosen <= score(other, kinder.valid)["nll"] + 1e-12
    uniform = np.log(NUM_CLASSES)
    assert score(ngram, kinder.test)["nll"] < uniform
    assert score(baselines["top-10 pitches"], kinder.test)["nll"] > score(ngram, kinder.test)["nll"]


def test_load_trained_rebuilds_a_token_models_vocabulary(tmp_path):
    vocabulary = Vocabulary(("C4", "E4", "G4", "0.4.7"))
    model = NoteRNN(NoteRNNConfig(num_classes=4, hidden_size=8))
    path = save_checkpoint(tmp_path / "tokens.pt", model, extra={"vocabulary": list(vocabulary.tokens)})
    trained = load_trained(path, device="cpu")
    assert trained.vocabulary == vocabulary and trained.extra["vocabulary"] == list(vocabulary.tokens)
    assert load_trained(save_checkpoint(tmp_path / "melody.pt", tiny_model()), device="cpu").vocabulary is None
    bad = save_checkpoint(tmp_path / "bad.pt", model, extra={"vocabulary": ["C4", "E4"]})
    with pytest.raises(CheckpointMismatchError, match="bad.pt.*2 tokens.*4 classes"):
        load_trained(bad)
