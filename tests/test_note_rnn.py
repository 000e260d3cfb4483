"""The Note-RNN: presets, shapes, scoring, stepping and sampling (synthetic data only)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from musiclab.errors import BadParameterError, UnknownNameError
from musiclab.models.note_rnn import PRESETS, NoteRNN, NoteRNNConfig, preset
from musiclab.models.sequence import SequenceModel

C = 38


def tiny(**overrides) -> NoteRNN:
    torch.manual_seed(0)
    return NoteRNN(NoteRNNConfig(**{"hidden_size": 16, **overrides})).eval()


@pytest.fixture(params=[{}, {"embedding_dim": 8, "num_layers": 2, "dropout": 0.3}],
                ids=["one-hot", "embedded-2-layers"])
def model(request) -> NoteRNN:
    return tiny(**request.param)


def test_presets_reproduce_the_published_shapes():
    assert (preset("rl_tuner").num_layers, preset("rl_tuner").hidden_size) == (1, 100)
    assert (preset("therapy").num_layers, preset("therapy").hidden_size) == (2, 512)
    classic = preset("classic", num_classes=130)
    assert (classic.num_layers, classic.hidden_size, classic.dropout, classic.num_classes) == (3, 1024, 0.4, 130)
    assert preset("fast").num_classes == C
    assert set(PRESETS) == {"rl_tuner", "therapy", "classic", "fast"}


def test_every_preset_docstring_cites_its_source():
    for name, factory in PRESETS.items():
        doc = factory.__doc__ or ""
        assert any(word in doc for word in ("(20", "Not from a paper", "system")), name


def test_unknown_preset_name_lists_the_valid_ones():
    with pytest.raises(UnknownNameError, match="rl_tuner.*therapy.*classic.*fast"):
        preset("magenta")


def test_classic_preset_needs_the_vocabulary_size():
    with pytest.raises(BadParameterError, match="num_classes"):
        preset("classic")


def test_preset_override_of_an_unknown_field_is_refused():
    with pytest.raises(BadParameterError, match="hidden_units"):
        preset("fast", hidden_units=3)


def test_invalid_config_values_name_the_field():
    with pytest.raises(BadParameterError, match="dropout"):
        NoteRNNConfig(dropout=1.0)
    with pytest.raises(BadParameterError, match="hidden_size"):
        NoteRNNConfig(hidden_size=0)


def test_forward_gives_logits_per_step_over_the_real_events(model):
    logits, (h, c) = model(torch.randint(0, C + 1, (3, 7)))
    assert logits.shape == (3, 7, C)
    assert h.shape == c.shape == (model.config.num_layers, 3, 16)


def test_step_from_bos_matches_the_first_position_of_log_prob(model):
    events = torch.randint(0, C, (4, 9))
    logits, _ = model.step(model.begin_tokens(4), model.initial_state(4))
    first = torch.log_softmax(logits, -1).gather(1, events[:, :1]).squeeze(1)
    assert torch.allclose(first, model.log_prob(events)[:, 0], atol=1e-6)
    assert model.bos == C


def test_log_prob_of_a_sequence_equals_the_sum_of_stepwise_log_probs(model):
    events = torch.randint(0, C, (5, 30))
    whole = model.log_prob(events)
    stepwise = SequenceModel.next_log_probs(model, events)  # the generic loop over step()
    assert whole.shape == (5, 30)
    assert torch.allclose(model.next_log_probs(events), stepwise, atol=1e-5)
    stepwise_sum = stepwise.gather(2, events.unsqueeze(2)).squeeze(2).sum(1)
    assert torch.allclose(whole.sum(1), stepwise_sum, atol=1e-4)
    assert (whole <= 0).all()


def test_next_log_probs_are_whole_distributions_for_probability_plots(model):
    log_p = model.next_log_probs(torch.randint(0, C, (2, 11)))
    assert log_p.shape == (2, 11, C)
    assert torch.allclose(log_p.exp().sum(-1), torch.ones(2, 11), atol=1e-5)


def test_step_carries_state_so_a_tuner_can_act_one_note_at_a_time(model):
    events = torch.randint(0, C, (2, 12))
    state, tokens, total = model.initial_state(2), model.begin_tokens(2), torch.zeros(2)
    for t in range(12):
        logits, state = model.step(tokens, state)
        total += torch.log_softmax(logits, -1)[torch.arange(2), events[:, t]]
        tokens = events[:, t]
    assert torch.allclose(total, model.log_prob(events).sum(1), atol=1e-4)


def test_log_prob_accepts_a_single_numpy_melody():
    model = tiny()
    melody = np.array([2, 1, 1, 0, 9, 1], dtype=np.int64)
    assert model.log_prob(melody).shape == (1, 6)


def test_log_prob_refuses_events_outside_the_vocabulary():
    with pytest.raises(BadParameterError, match="38"):
        tiny().log_prob(torch.tensor([[2, 38, 1]]))


def test_sample_returns_encoded_melodies(model):
    melodies = model.sample(6, 20, seed=3)
    assert melodies.shape == (6, 20) and melodies.dtype == torch.long
    assert int(melodies.min()) >= 0 and int(melodies.max()) < C


def test_same_seed_same_music_and_other_seeds_differ(model):
    assert torch.equal(model.sample(4, 32, seed=11), model.sample(4, 32, seed=11))
    assert not torch.equal(model.sample(4, 32, seed=11), model.sample(4, 32, seed=12))
    a = model.sample(4, 32, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a, model.sample(4, 32, seed=5))


def test_primer_fixes_the_first_events():
    primer = [9, 1, 1, 1, 13, 1]
    melodies = tiny().sample(3, 16, primer=primer, seed=0)
    assert (melodies[:, :6] == torch.tensor(primer)).all()
    per_row = torch.tensor([[2, 1], [5, 1], [9, 0]])
    assert torch.equal(tiny().sample(3, 5, primer=per_row, seed=0)[:, :2], per_row)


def test_primer_changes_what_follows_through_the_state():
    model = tiny()
    a = model.sample(8, 24, primer=[2] * 12, seed=4)[:, 12:]
    b = model.sample(8, 24, primer=[37] * 12, seed=4)[:, 12:]
    assert not torch.equal(a, b)


def test_near_zero_temperature_is_greedy():
    model = tiny()
    greedy, state, tokens = [], model.initial_state(1), model.begin_tokens(1)
    for _ in range(15):
        logits, state = model.step(tokens, state)
        tokens = logits.argmax(-1)
        greedy.append(int(tokens))
    assert model.sample(1, 15, temperature=1e-4, seed=0)[0].tolist() == greedy


@pytest.mark.parametrize("temperature", [0.0, -1.0, math.nan])
def test_temperature_must_be_positive(temperature):
    with pytest.raises(BadParameterError, match="temperature"):
        tiny().sample(1, 8, temperature=temperature)


def test_primer_outside_the_vocabulary_is_refused():
    with pytest.raises(BadParameterError, match="primer"):
        tiny().sample(1, 8, primer=[2, 40])
    with pytest.raises(BadParameterError, match="primer"):
        tiny().sample(1, 8, primer=[-1])


def test_primer_longer_than_length_is_refused():
    with pytest.raises(BadParameterError, match="longer than length=4"):
        tiny().sample(1, 4, primer=[2, 1, 1, 1, 1])


def test_seed_and_generator_together_are_refused():
    with pytest.raises(BadParameterError, match="seed or generator"):
        tiny().sample(1, 4, seed=1, generator=torch.Generator())


def test_sampling_switches_dropout_off_and_restores_training_mode():
    model = tiny(num_layers=2, dropout=0.5).train()
    torch.manual_seed(0)
    a = model.sample(3, 20, seed=1)
    torch.manual_seed(99)  # dropout would draw from the global generator
    assert torch.equal(a, model.sample(3, 20, seed=1))
    assert model.training


def test_loss_skipping_first_steps_averages_only_the_later_steps():
    model = tiny()
    events = torch.randint(0, C, (3, 20))
    loss, metrics = model.loss(events, skip_first=8)
    expected = -model.log_prob(events)[:, 8:].mean()
    assert torch.allclose(loss, expected, atol=1e-5)
    assert metrics["nll"] == pytest.approx(loss.item())
    assert 0.0 <= metrics["accuracy"] <= 1.0
    with pytest.raises(BadParameterError, match="skip_first"):
        model.loss(events, skip_first=20)
