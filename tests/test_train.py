"""The one training loop: learning, determinism, resume, schedules, early stopping, NaN guard."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from musiclab.checkpoints import CheckpointMismatchError, load_checkpoint
from musiclab.errors import BadParameterError, UnknownNameError
from musiclab.models.note_rnn import NoteRNN, NoteRNNConfig
from musiclab.models.train import train
from musiclab.models.train_config import PRESETS, TrainConfig, learning_rate, preset

PATTERN = [2, 1, 1, 1, 6, 1, 0, 1, 9, 1, 1, 1, 13, 1, 0, 1]


def windows(rows: int = 32, length: int = 16, shift: bool = True) -> torch.Tensor:
    """A learnable toy melody: one repeating bar, cut at every offset."""
    loop = torch.tensor(PATTERN * 4)
    return torch.stack([loop[(i % 16 if shift else 0):][:length] for i in range(rows)])


def tiny(seed: int = 0, **overrides) -> NoteRNN:
    torch.manual_seed(seed)
    return NoteRNN(NoteRNNConfig(**{"hidden_size": 24, "embedding_dim": 8, **overrides}))


def quick(**overrides) -> TrainConfig:
    return TrainConfig(**{"steps": 12, "batch_size": 8, "window": 16, "lr": 1e-2, "eval_every": 4,
                          **overrides})


def weights(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def same_weights(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_training_loss_goes_down_on_a_learnable_melody():
    data = windows()
    model = tiny()
    history = train(model, data, data[:8], quick(steps=80, eval_every=20), quiet=True)
    assert history.steps_done == 80 and history.stop_reason == "finished"
    assert sum(history.train_loss[-5:]) / 5 < 0.5 * sum(history.train_loss[:5]) / 5
    assert history.valid["nll"][-1] < history.valid["nll"][0]
    assert history.valid["accuracy"][-1] > 0.6
    assert history.eval_steps == [20, 40, 60, 80]
    assert not model.training


def test_same_seed_gives_bit_identical_weights_on_cpu():
    data = windows()
    runs = []
    for _ in range(2):
        model = tiny(num_layers=2, dropout=0.3)
        train(model, data, config=quick(seed=7), quiet=True, device="cpu")
        runs.append(weights(model))
    assert same_weights(*runs)
    other = tiny(num_layers=2, dropout=0.3)
    train(other, data, config=quick(seed=8), quiet=True, device="cpu")
    assert not same_weights(runs[0], weights(other))


def test_resume_continues_exactly_like_an_uninterrupted_run(tmp_path):
    data = windows(rows=20)  # not a multiple of the batch size: epochs straddle batches
    config = quick(steps=14, schedule="step", decay_steps=5, decay_rate=0.5, eval_every=3)
    whole = tiny(num_layers=2, dropout=0.3)
    full = train(whole, data, data[:6], config, quiet=True, device="cpu")

    path = tmp_path / "run.pt"
    first = tiny(num_layers=2, dropout=0.3)
    part = train(first, data, data[:6], quick(**{**config.__dict__, "steps": 6}),
                 checkpoint_path=path, quiet=True, device="cpu")
    assert part.steps_done == 6
    torch.manual_seed(12345)  # the resumed run must restore the dropout RNG itself
    resumed = tiny(seed=99, num_layers=2, dropout=0.3)  # and the weights
    history = train(resumed, data, data[:6], config, checkpoint_path=path, resume=True,
                    quiet=True, device="cpu")
    assert same_weights(weights(whole), weights(resumed))
    assert history.train_loss == full.train_loss and history.lr == full.lr
    assert history.eval_steps == full.eval_steps and history.valid == full.valid
    assert load_checkpoint(path)["extra"]["training"]["step"] == 14


def test_resume_refuses_a_changed_training_setting(tmp_path):
    path = tmp_path / "run.pt"
    train(tiny(), windows(), config=quick(steps=4), checkpoint_path=path, quiet=True)
    with pytest.raises(CheckpointMismatchError, match=r"run\.pt.*'lr'"):
        train(tiny(), windows(), config=quick(steps=8, lr=0.5), checkpoint_path=path, resume=True,
              quiet=True)


def test_resume_refuses_a_model_of_another_shape(tmp_path):
    path = tmp_path / "run.pt"
    train(tiny(), windows(), config=quick(steps=4), checkpoint_path=path, quiet=True)
    with pytest.raises(CheckpointMismatchError, match="hidden_size"):
        train(tiny(hidden_size=12), windows(), config=quick(steps=8), checkpoint_path=path,
              resume=True, quiet=True)


class ExplodingLoss:
    """A loss_fn that turns NaN from a given step on, like a diverging run."""

    def __init__(self, at: int) -> None:
        self.at, self.calls = at, 0

    def __call__(self, model, batch):
        self.calls += 1
        loss, metrics = model.loss(batch)
        return (loss * math.nan if self.calls > self.at else loss), metrics


def test_nan_loss_stops_with_a_clear_warning_and_keeps_the_last_good_state(tmp_path):
    path = tmp_path / "run.pt"
    model = tiny()
    with pytest.warns(RuntimeWarning, match="stopped at step 9: the loss is nan.*run.pt"):
        history = train(model, windows(), config=quick(steps=20, checkpoint_every=4),
                        loss_fn=ExplodingLoss(at=8), checkpoint_path=path, quiet=True)
    assert history.stop_reason == "non-finite loss" and history.steps_done == 8
    assert all(math.isfinite(x) for x in history.train_loss)
    checkpoint = load_checkpoint(path)
    assert checkpoint["extra"]["training"]["step"] == 8
    assert same_weights(weights(model), checkpoint["state_dict"])  # the weights of step 8


def test_infinite_gradients_also_stop_training():
    model = tiny()

    def poisoned(model, batch):
        loss, metrics = model.loss(batch)
        return loss + 0.0 * (model.head.bias.sum() * torch.tensor(math.inf)), metrics

    with pytest.warns(RuntimeWarning, match="stopped at step 1"):
        history = train(model, windows(), config=quick(), loss_fn=poisoned, quiet=True)
    assert history.steps_done == 0 and history.stop_reason == "non-finite loss"


def test_early_stopping_after_patience_validations_without_improvement(tmp_path):
    evals = iter(range(100))

    def loss_fn(model, batch):
        loss, metrics = model.loss(batch)
        if not model.training:  # validation gets worse after the 2nd evaluation
            scores = [3.0, 2.0, 2.5, 2.6, 2.7, 2.8, 2.9, 3.0]
            return loss * 0 + scores[min(next(evals), 7)], metrics
        return loss, metrics

    history = train(tiny(), windows(), windows(rows=8), quick(steps=40, eval_every=2, patience=3,
                                                              eval_batch_size=8),
                    loss_fn=loss_fn, checkpoint_path=tmp_path / "es.pt", quiet=True)
    assert history.stop_reason == "early stopping"
    assert history.eval_steps == [2, 4, 6, 8, 10]
    assert history.best_step == 4 and history.best_valid_loss == pytest.approx(2.0)
    assert load_checkpoint(tmp_path / "es.pt")["extra"]["training"]["step"] == 10


def test_learning_rate_schedules():
    step = TrainConfig(lr=0.5, schedule="step", decay_steps=1000, decay_rate=0.85)
    assert [learning_rate(step, s) for s in (0, 999, 1000, 2500)] == \
        pytest.approx([0.5, 0.5, 0.425, 0.5 * 0.85 ** 2])
    cosine = TrainConfig(lr=1.0, schedule="cosine", steps=100)
    assert learning_rate(cosine, 0) == 1.0 and learning_rate(cosine, 50) == pytest.approx(0.5)
    assert learning_rate(cosine, 100) == pytest.approx(0.0)
    assert learning_rate(TrainConfig(lr=0.1), 12345) == 0.1


def test_history_records_the_learning_rate_of_every_step():
    history = train(tiny(), windows(), config=quick(steps=6, schedule="step", decay_steps=2,
                                                    decay_rate=0.5, lr=0.01), quiet=True)
    assert history.lr == pytest.approx([0.01, 0.01, 0.005, 0.005, 0.0025, 0.0025])
    assert history.steps_per_second > 0


def test_training_presets_keep_the_published_recipes():
    therapy = preset("therapy")
    assert (therapy.lr, therapy.schedule, therapy.decay_rate, therapy.decay_steps,
            therapy.skip_first) == (0.5, "step", 0.85, 1000, 32)
    assert preset("classic").window == 40
    assert preset("fast", steps=5).steps == 5
    assert set(PRESETS) == {"rl_tuner", "therapy", "classic", "fast"}
    with pytest.raises(UnknownNameError, match="fast"):
        preset("slow")
    with pytest.raises(BadParameterError, match="learning_rate"):
        preset("fast", learning_rate=1.0)


@pytest.mark.parametrize("field,value,error", [
    ("lr", 0.0, BadParameterError), ("optimizer", "adagrad", UnknownNameError),
    ("schedule", "linear", UnknownNameError), ("decay_rate", 1.5, BadParameterError),
    ("steps", 0, BadParameterError), ("skip_first", 16, BadParameterError)])
def test_invalid_training_settings_name_the_field(field, value, error):
    with pytest.raises(error, match=field):
        TrainConfig(**{"window": 16, field: value})


def test_skip_first_is_applied_through_model_loss():
    model = tiny()
    history = train(model, windows(), windows(rows=4), quick(steps=2, skip_first=8), quiet=True)
    expected = model.loss(windows(rows=4), skip_first=8)[0].item()
    assert history.valid["loss"][-1] == pytest.approx(expected, rel=1e-5)


def test_windows_of_the_wrong_length_are_refused_with_a_hint():
    with pytest.raises(BadParameterError, match="make_windows"):
        train(tiny(), windows(length=12), config=quick(window=16), quiet=True)


def test_the_loop_trains_other_models_through_a_loss_function():
    """Any model, any examples (here a tuple of inputs and targets), e.g. the VAE or the CNN."""
    torch.manual_seed(0)
    inputs = torch.randn(64, 3)
    targets = inputs @ torch.tensor([[1.0], [-2.0], [0.5]])
    model = nn.Linear(3, 1)

    def loss_fn(model, batch):
        x, y = batch
        loss = nn.functional.mse_loss(model(x), y)
        return loss, {"mse": loss.item()}

    history = train(model, (inputs, targets), (inputs, targets),
                    TrainConfig(steps=150, window=None, lr=0.05, eval_every=50),
                    loss_fn=loss_fn, quiet=True)
    assert history.valid["mse"][-1] < 0.01 * history.valid["mse"][0]


def test_quiet_training_prints_nothing(capsys):
    train(tiny(), windows(), config=quick(steps=3), quiet=True)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
