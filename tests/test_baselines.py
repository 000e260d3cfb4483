"""Baselines: the top-10-pitches random model and the add-k n-gram, with the Note-RNN's interface."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from musiclab.errors import BadParameterError
from musiclab.models.baselines import NGramModel, TopPitchesModel
from musiclab.models.sequence import SequenceModel

C = 38

def random_melodies(count: int = 40, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, C, size=rng.integers(4, 60)) for _ in range(count)]


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_ngram_probabilities_sum_to_one_in_seen_and_unseen_contexts(order):
    model = NGramModel(order=order, k=0.5).fit(random_melodies())
    state = model.initial_state(3)
    for tokens in (model.begin_tokens(3), torch.tensor([2, 5, 37]), torch.tensor([0, 1, 1])):
        log_p, state = model.step(tokens, state)
        assert log_p.shape == (3, C)
        assert torch.allclose(log_p.exp().sum(-1), torch.ones(3), atol=1e-5)


def test_ngram_uses_add_k_counts():
    melody = np.array([2, 1, 1, 3, 2, 1, 1, 3, 2, 1], dtype=np.int64)
    model = NGramModel(order=2, k=0.25).fit([melody])
    log_p, _ = model.step(torch.tensor([2]), torch.zeros(1, 1, dtype=torch.long))
    # after event 2 the data shows 1 three times: (3 + k) / (3 + k*C)
    assert log_p[0, 1].exp().item() == pytest.approx((3 + 0.25) / (3 + 0.25 * C), rel=1e-6)
    assert log_p[0, 3].exp().item() == pytest.approx(0.25 / (3 + 0.25 * C), rel=1e-6)
    unseen, _ = model.step(torch.tensor([30]), torch.zeros(1, 1, dtype=torch.long))
    assert torch.allclose(unseen.exp(), torch.full((1, C), 1 / C), atol=1e-6)


def test_ngram_first_event_is_predicted_from_the_sequence_start():
    melodies = [np.array([9, 1, 1, 1]), np.array([9, 1, 0, 1]), np.array([13, 1, 1, 1])]
    model = NGramModel(order=3, k=0.01).fit(melodies)
    first = model.log_prob(torch.tensor([[9], [13]]))[:, 0].exp()
    assert first[0] == pytest.approx((2 + 0.01) / (3 + 0.01 * C), rel=1e-5)
    assert first[1] == pytest.approx((1 + 0.01) / (3 + 0.01 * C), rel=1e-5)


@pytest.mark.parametrize("make", [lambda: NGramModel(order=1), lambda: NGramModel(order=2),
                                  lambda: NGramModel(order=3), lambda: TopPitchesModel(floor=1e-3)],
                         ids=["unigram", "bigram", "trigram", "top-pitches"])
def test_vectorised_scores_equal_the_stepwise_scores(make):
    model = make().fit(random_melodies())
    events = torch.from_numpy(np.stack([m[:4] for m in random_melodies(5, seed=1) if len(m) >= 4]))
    assert torch.allclose(model.next_log_probs(events), SequenceModel.next_log_probs(model, events),
                          atol=1e-5)
    chosen = SequenceModel.next_log_probs(model, events).gather(2, events.unsqueeze(2)).squeeze(2)
    assert torch.allclose(model.log_prob(events), chosen, atol=1e-5)


def test_ngram_samples_reproduce_a_memorised_cycle_and_follow_the_seed():
    cycle = np.array([2, 1, 6, 1, 9, 1, 6, 1] * 8, dtype=np.int64)
    model = NGramModel(order=5, k=1e-6).fit([cycle])  # 4 events of context disambiguate it
    sample = model.sample(2, 32, seed=0)
    assert sample[:, :16].tolist() == [cycle[:16].tolist()] * 2
    fuzzy = NGramModel(order=2, k=1.0).fit(random_melodies())
    assert torch.equal(fuzzy.sample(3, 20, seed=4), fuzzy.sample(3, 20, seed=4))
    assert not torch.equal(fuzzy.sample(3, 20, seed=4), fuzzy.sample(3, 20, seed=5))


def test_ngram_fits_a_2d_array_of_windows_like_a_list_of_melodies():
    windows = np.stack([m[:4] for m in random_melodies() if len(m) >= 4])
    a = NGramModel(order=2).fit(windows)
    b = NGramModel(order=2).fit(list(windows))
    assert np.array_equal(a.keys, b.keys) and np.array_equal(a.counts, b.counts)


def test_top_pitches_keeps_the_ten_most_frequent_onsets():
    rng = np.random.default_rng(0)
    pitches = np.repeat(np.arange(2, 16), np.arange(14, 0, -1))  # event 2 most frequent ... 15 least
    melody = np.concatenate([rng.permutation(pitches), [0, 0, 1, 1, 1, 1]])
    model = TopPitchesModel(top=10).fit([melody])
    assert model.pitches.tolist() == list(range(2, 12))
    probs = model.probs
    assert probs.sum().item() == pytest.approx(1.0)
    assert probs[1].item() == pytest.approx(4 / len(melody))
    assert torch.allclose(probs[2:12], probs[2].expand(10))
    assert probs[12:].sum() == 0


def test_top_pitches_samples_only_top_pitches_and_the_two_special_events():
    model = TopPitchesModel(top=3).fit(random_melodies())
    sample = model.sample(4, 200, seed=1)
    allowed = {0, 1, *model.pitches.tolist()}
    assert set(sample.unique().tolist()) <= allowed and len(set(sample.unique().tolist())) == 5
    assert torch.equal(sample, model.sample(4, 200, seed=1))


def test_top_pitches_scores_impossible_events_minus_infinity_unless_floored():
    melodies = random_melodies()
    model = TopPitchesModel(top=3).fit(melodies)
    outside = next(e for e in range(2, C) if e not in model.pitches)
    assert model.log_prob(torch.tensor([[outside]]))[0, 0].item() == -math.inf
    floored = TopPitchesModel(top=3, floor=1e-4).fit(melodies)
    assert floored.log_prob(torch.tensor([[outside]]))[0, 0].exp().item() == pytest.approx(1e-4)
    assert floored.probs.sum().item() == pytest.approx(1.0)


def test_unfitted_baselines_and_bad_input_raise_clear_errors():
    with pytest.raises(BadParameterError, match="fit"):
        NGramModel().log_prob(torch.tensor([[2, 1]]))
    with pytest.raises(BadParameterError, match="fit"):
        TopPitchesModel().sample(1, 4)
    with pytest.raises(BadParameterError, match="melodies\\[1\\].*38"):
        NGramModel().fit([np.array([2, 1]), np.array([2, 38])])
    with pytest.raises(BadParameterError, match="order"):
        NGramModel(order=0)
    with pytest.raises(BadParameterError, match="k must"):
        NGramModel(k=0.0)
    with pytest.raises(BadParameterError, match="no events"):
        NGramModel().fit([np.array([], dtype=np.int64)])
