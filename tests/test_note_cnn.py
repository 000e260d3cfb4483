"""The drum Note-CNN: shapes, causality, the skipped first steps, sampling, scoring, training."""
from __future__ import annotations

import pytest
import torch

from musiclab.checkpoints import restore_weights, save_checkpoint
from musiclab.errors import BadParameterError, UnknownNameError
from musiclab.models import note_cnn
from musiclab.models.note_cnn import NoteCNN, NoteCNNConfig
from musiclab.models.sequence import SequenceModel
from musiclab.models.train import train

ROCK = [0, 9, 6, 9, 1, 9, 6, 9] * 4   # kick, -, hat, -, snare, -, hat, -


def model(seed: int = 0, name: str = "fast") -> NoteCNN:
    torch.manual_seed(seed)
    return NoteCNN(note_cnn.preset(name)).eval()


def grids(n: int, seed: int = 0, steps: int = 32) -> torch.Tensor:
    return torch.randint(0, 10, (n, steps), generator=torch.Generator().manual_seed(seed))


# -- shapes and presets ------------------------------------------------------------------
def test_shapes_of_logits_scores_and_steps():
    cnn, batch = model(), grids(5)
    assert cnn(batch).shape == (5, 32, 10)
    assert cnn.log_prob(batch).shape == (5, 32)
    logits, state = cnn.step(cnn.begin_tokens(5), cnn.initial_state(5))
    assert logits.shape == (5, 10) and state.shape == (5, 0)
    logits, state = cnn.step(batch[:, 0], state)
    assert logits.shape == (5, 10) and state.shape == (5, 1)


def test_the_paper_preset_has_the_reported_sizes():
    cnn = NoteCNN(note_cnn.preset("paper"))
    assert cnn.conv.in_channels == 10 and cnn.conv.out_channels == 64
    assert cnn.conv.kernel_size == (17,)
    assert cnn.hidden.in_features == 64 * 16 and cnn.hidden.out_features == 32
    assert cnn.head.out_features == 10


def test_presets_and_configs_reject_bad_names_and_values():
    with pytest.raises(UnknownNameError, match="'paper', 'fast'"):
        note_cnn.preset("huge")
    with pytest.raises(BadParameterError, match="widht"):
        note_cnn.preset("fast", widht=3)
    with pytest.raises(BadParameterError, match="kernel_size"):
        NoteCNNConfig(kernel_size=33)
    with pytest.raises(UnknownNameError):
        note_cnn.train_config("slow")
    with pytest.raises(BadParameterError, match="stpes"):
        note_cnn.train_config("fast", stpes=3)


# -- causality and scoring ---------------------------------------------------------------
@pytest.mark.parametrize("steps", [32, 40])
def test_logits_for_step_t_do_not_depend_on_events_from_t_on(steps):
    cnn, batch = model(), grids(3, steps=steps)
    logits = cnn(batch)
    for t in range(steps):
        changed = batch.clone()
        changed[:, t:] = (changed[:, t:] + 1 + torch.arange(steps - t)) % 10
        assert torch.allclose(cnn(changed)[:, :t + 1], logits[:, :t + 1], atol=1e-6), t


def test_logits_do_depend_on_the_previous_event():
    cnn, batch = model(), grids(3)
    changed = batch.clone()
    changed[:, 9] = (changed[:, 9] + 5) % 10
    assert not torch.allclose(cnn(changed)[:, 10], cnn(batch)[:, 10])


@pytest.mark.parametrize("steps", [32, 45])
def test_log_prob_equals_the_step_wise_log_prob(steps):
    cnn, batch = model(1, "paper"), grids(4, seed=2, steps=steps)
    whole = cnn.log_prob(batch)
    stepwise = SequenceModel.log_prob(cnn, batch)     # built on initial_state/step
    assert torch.allclose(whole, stepwise, atol=1e-5)
    assert torch.allclose(whole.sum(1), stepwise.sum(1), atol=1e-4)
    assert bool((whole < 0).all())


def test_the_empty_prefix_predicts_the_first_step():
    cnn = model()
    logits, _ = cnn.step(cnn.begin_tokens(1), cnn.initial_state(1))
    assert torch.allclose(logits, cnn(grids(1))[:, 0], atol=1e-6)


def test_step_refuses_bos_for_only_some_sequences():
    cnn = model()
    tokens = torch.tensor([cnn.bos, 3])
    with pytest.raises(BadParameterError, match="BOS"):
        cnn.step(tokens, cnn.initial_state(2))


def test_log_prob_rejects_classes_outside_the_drums():
    with pytest.raises(BadParameterError, match="0..9"):
        model().log_prob(torch.full((1, 32), 10))


# -- the loss ----------------------------------------------------------------------------
def test_the_loss_is_one_softmax_cross_entropy_over_steps_from_skip_first():
    cnn, batch = model(), grids(6)
    loss, metrics = cnn.loss(batch, skip_first=8)
    expected = -cnn.log_prob(batch)[:, 8:].mean()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)
    assert metrics["nll"] == pytest.approx(loss.item())
    assert loss.item() != pytest.approx(-cnn.log_prob(batch).mean().item(), rel=1e-4)


def test_predictions_of_the_first_eight_steps_get_no_gradient(monkeypatch):
    cnn, batch = model(), grids(4)
    logits = cnn(batch).detach().requires_grad_(True)
    monkeypatch.setattr(cnn, "forward", lambda events: logits)
    loss, _ = cnn.loss(batch, skip_first=8)
    loss.backward()
    assert bool((logits.grad[:, :8] == 0).all())
    assert bool((logits.grad[:, 8:].abs().sum(-1) > 0).all())


def test_skip_first_must_leave_steps():
    with pytest.raises(BadParameterError, match="skip_first"):
        model().loss(grids(2), skip_first=32)


# -- sampling ----------------------------------------------------------------------------
def test_sampling_is_deterministic_under_a_seed():
    cnn = model()
    first = cnn.sample(4, 32, seed=7)
    assert first.shape == (4, 32) and first.dtype == torch.long
    assert torch.equal(first, cnn.sample(4, 32, seed=7))
    assert not torch.equal(first, cnn.sample(4, 32, seed=8))
    assert int(first.min()) >= 0 and int(first.max()) <= 9


def test_sampling_keeps_the_primer():
    primer = torch.tensor(ROCK[:8])
    out = model().sample(3, 32, primer=primer, seed=0)
    assert torch.equal(out[:, :8], primer.expand(3, 8))


# -- training with the kit's loop --------------------------------------------------------
def test_the_training_loop_teaches_it_a_rock_beat():
    data = torch.tensor([ROCK] * 64)
    cnn = model()
    config = note_cnn.train_config("fast", steps=40, eval_every=40, batch_size=16)
    assert config.skip_first == 8
    history = train(cnn, data, data, config, quiet=True, device="cpu")
    assert history.train_loss[-1] < 0.2 * history.train_loss[0]
    assert history.valid["accuracy"][-1] == 1.0
    sampled = cnn.sample(2, 32, primer=torch.tensor(ROCK[:8]), temperature=0.5, seed=0)
    assert (sampled == torch.tensor(ROCK)).float().mean() > 0.9


def test_checkpoint_round_trip_keeps_the_scores(tmp_path):
    cnn, batch = model(3, "paper"), grids(2)
    path = save_checkpoint(tmp_path / "cnn.pt", cnn)
    again = NoteCNN(note_cnn.preset("paper"))
    restore_weights(again, path)
    assert torch.equal(again.eval().log_prob(batch), cnn.log_prob(batch))
