"""Tuning the drum Note-CNN: one DQN update, drum rules as r_MT, the ε sweep, primed composing."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from musiclab.data.drums import GRID_STEPS, NUM_DRUM_CLASSES
from musiclab.errors import BadParameterError, UnknownNameError
from musiclab.models.note_cnn import NoteCNN, NoteCNNConfig
from musiclab.rl import drum_tuning as D
from musiclab.rl import tuner as T
from musiclab.rl import compose as composing
from musiclab.rl import targets
from musiclab.rl.q_network import QNetwork

TINY = {"episodes": 32, "batch_size": 8, "minibatch_size": 4, "train_every": 2, "memory": 32 * 64,
        "num_threads": 1}


@pytest.fixture
def cnn() -> NoteCNN:
    torch.manual_seed(0)
    return NoteCNN(NoteCNNConfig(channels=8, kernel_size=9, hidden_size=16)).eval()


def test_drum_config_is_the_drums_preset_at_a_constant_epsilon():
    config = D.drum_config(0.3, rules="groove", episodes=64)
    assert config.epsilon == config.epsilon_start == 0.3
    assert (config.gamma, config.target_update_rate, config.target_update_every) == (0.5, 0.01, 10)
    assert config.rules == "groove" and config.c == D.DRUM_C and config.episodes == 64
    with pytest.raises(UnknownNameError, match="groove"):
        D.drum_config(rules="rl_tuner")
    with pytest.raises(BadParameterError, match="epsilon"):
        D.drum_config(1.5)


def test_one_tuner_update_changes_the_q_network_and_not_the_reward_network(cnn):
    run = T.Tuner(cnn, D.drum_config(0.1, **TINY), rules=None)
    prior_before = {k: v.clone() for k, v in run.q_net.prior.state_dict().items()}
    body_before = {k: v.clone() for k, v in run.q_net.body.state_dict().items()}
    while len(run.replay) < run.config.minibatch_size:
        run.collect()
    run.update()
    assert run.updates == 1 and np.isfinite(run.history.loss[-1])
    assert all(torch.equal(prior_before[k], v) for k, v in run.q_net.prior.state_dict().items())
    assert any(not torch.equal(body_before[k], v) for k, v in run.q_net.body.state_dict().items())
    assert all(torch.equal(v, cnn.state_dict()[k]) for k, v in run.q_net.prior.state_dict().items())


def test_drum_rules_enter_the_reward_and_the_rules_only_agent_ignores_log_p(cnn):
    tuned = D.tune_drums(cnn, D.drum_config(0.1, rules="groove", **TINY), quiet=True)
    assert tuned.rules is not None and tuned.rules.name == "groove"
    assert any(value != 0.0 for value in tuned.history.rule_reward)
    rules_only = D.tune_drums(cnn, D.drum_config(0.1, rules="groove", learned_reward=False, **TINY), quiet=True)
    batch = rules_only.replay.sample(4, torch.Generator().manual_seed(0))
    rewards = targets.step_rewards(rules_only.config, batch)
    assert torch.allclose(rewards, batch.rule_reward / D.DRUM_C)
    log_p_only = D.tune_drums(cnn, D.drum_config(0.1, **TINY), quiet=True)
    assert log_p_only.rules is None and set(log_p_only.history.rule_reward) == {0.0}


def test_rolling_reward_averages_over_the_window_weighted_by_transitions():
    history = T.TuningHistory(episodes=[2, 4, 6, 8], log_p_reward=[-4.0, -2.0, -1.0, -1.0],
                              rule_reward=[0.0, 0.0, 1.0, 0.0], transitions=8 * 32)
    x, y = D.rolling_reward(history, window=128)  # 64 transitions per round: 2 rounds per window
    assert x.tolist() == [64, 128, 192, 256]
    assert y.tolist() == [-4.0, -3.0, -1.0, -0.5]
    assert D.rolling_reward(history, window=10)[1].tolist() == [-4.0, -2.0, 0.0, -1.0]
    with pytest.raises(BadParameterError, match="no rounds"):
        D.rolling_reward(T.TuningHistory())


def test_the_epsilon_sweep_returns_one_curve_per_epsilon_of_the_right_length(cnn):
    sweep = D.epsilon_sweep(cnn, (0.05, 0.5), window=64, quiet=True, **TINY)
    assert sweep.epsilons == (0.05, 0.5) and set(sweep.curves) == {0.05, 0.5}
    for eps, (x, y) in sweep.curves.items():
        rounds = len(sweep.tuners[eps].history.episodes)
        assert rounds == TINY["episodes"] // TINY["batch_size"] and x.shape == y.shape == (rounds,)
        assert x[-1] == TINY["episodes"] * GRID_STEPS and sweep.seconds[eps] > 0
    assert sweep.as_dict()["runs"]["0.5"]["reward"] == sweep.curves[0.5][1].tolist()
    # more random (uniform) actions: lower log p of what was played
    assert sweep.final_rewards()[0.5] < sweep.final_rewards()[0.05]


def test_compose_drums_keeps_the_primer_and_plays_greedily_after_it(cnn):
    q_net = QNetwork.from_model(cnn)
    primer = torch.tensor([[0, 9, 6, 9, 1, 9, 6, 9], [5, 5, 5, 5, 5, 5, 5, 5]])
    grids = D.compose_drums(q_net, primer)
    assert grids.shape == (2, GRID_STEPS) and torch.equal(grids[:, :8], primer)
    greedy = cnn(grids).argmax(-1)
    assert torch.equal(grids[:, 8:], greedy[:, 8:])
    explored = D.compose_drums(q_net, primer[0], n=6, epsilon=0.5, seed=1)
    assert explored.shape == (6, GRID_STEPS) and int(explored.max()) < NUM_DRUM_CLASSES
    assert torch.equal(explored, D.compose_drums(q_net, primer[0], n=6, epsilon=0.5, seed=1))
    with pytest.raises(BadParameterError, match="QNetwork"):
        D.compose_drums(cnn, primer)


def test_retained_likelihood_is_one_for_the_cnn_and_zero_for_the_rules_only_agent():
    assert D.retained_likelihood(-0.6, -1.8, -0.6) == 1.0
    assert D.retained_likelihood(-1.8, -1.8, -0.6) == 0.0
    assert D.retained_likelihood(-0.9, -1.8, -0.6) == pytest.approx(0.75)
    with pytest.raises(BadParameterError, match="differ"):
        D.retained_likelihood(-1.0, -0.5, -0.5)


def test_tuning_from_a_checkpoint_saves_a_loadable_q_network(tmp_path, cnn):
    from musiclab.checkpoints import save_checkpoint

    save_checkpoint(tmp_path / "cnn.pt", cnn)
    run = D.tune_drums_from_checkpoint(tmp_path / "cnn.pt", rules="groove", epsilon=0.1, seed=0,
                                       out_path=tmp_path / "q.pt", quiet=True, primed=False, **TINY)
    loaded = T.load_q_network(tmp_path / "q.pt")
    assert loaded.extra["rules"] == "groove" and loaded.extra["episodes"] == TINY["episodes"]
    primer = torch.zeros(8, dtype=torch.long)
    assert torch.equal(D.compose_drums(loaded, primer), D.compose_drums(run.q_net, primer))


# ------------------------------------------------------------ primers and drum rule sets in the tuner

OPENINGS = torch.tensor([[0, 9, 6, 9, 1, 9, 6, 9], [6, 6, 6, 6, 6, 6, 6, 6], [0, 0, 9, 9, 1, 9, 9, 9]])


def test_play_keeps_the_primer_steps_and_scores_them_like_any_step(cnn):
    q_net = QNetwork.from_model(cnn)
    batch = composing.play(q_net, 3, GRID_STEPS, primer=OPENINGS, epsilon=0.5, random_actions="uniform",
                   generator=torch.Generator().manual_seed(0))
    assert torch.equal(batch.actions[:, :8], OPENINGS)
    assert torch.allclose(batch.log_p, cnn.log_prob(batch.actions), atol=1e-5)
    with pytest.raises(BadParameterError, match="primer must be"):
        composing.play(q_net, 2, GRID_STEPS, primer=OPENINGS)
    with pytest.raises(BadParameterError, match="outside the vocabulary"):
        composing.play(q_net, 1, GRID_STEPS, primer=torch.tensor([[12]]))


def test_without_primers_the_tuner_plays_exactly_as_before(cnn):
    plain = T.Tuner(cnn, D.drum_config(0.3, **TINY), rules=None)
    unprimed = T.Tuner(cnn, D.drum_config(0.3, **TINY), rules=None, primers=None)
    assert torch.equal(plain.collect().actions, unprimed.collect().actions)


def test_every_composition_the_tuner_plays_starts_from_one_of_its_primers(cnn):
    run = T.Tuner(cnn, D.drum_config(0.5, **TINY), rules=None, primers=OPENINGS)
    batch = run.collect()
    starts = {tuple(row) for row in batch.actions[:, :8].tolist()}
    assert starts <= {tuple(row) for row in OPENINGS.tolist()} and len(starts) > 1
    again = T.Tuner(cnn, D.drum_config(0.5, **TINY), rules=None, primers=OPENINGS).collect()
    assert torch.equal(batch.actions, again.actions)  # same seed, same primers drawn
    with pytest.raises(BadParameterError, match="primers must be"):
        T.Tuner(cnn, D.drum_config(0.5, **TINY), rules=None, primers=torch.zeros((2, 32), dtype=torch.long))
    with pytest.raises(BadParameterError, match="outside the vocabulary"):
        T.Tuner(cnn, D.drum_config(0.5, **TINY), rules=None, primers=torch.full((2, 8), 10))


def test_the_tuner_takes_a_drum_rule_set_for_a_drum_model_but_no_named_melody_set(cnn):
    from musiclab.rl.drum_rules import drum_rule_set

    run = T.Tuner(cnn, D.drum_config(0.1, rules="groove", **TINY), rules=drum_rule_set("groove"))
    assert run.rules.name == "groove" and run.collect().rule_reward.abs().sum() > 0
    with pytest.raises(BadParameterError, match="38 classes"):
        T.Tuner(cnn, D.drum_config(0.1, **TINY), rules="rl_tuner")


def test_tune_drums_starts_its_compositions_from_the_primers_it_is_given(cnn):
    run = D.tune_drums(cnn, D.drum_config(0.1, rules="groove", **TINY), primers=OPENINGS[:1], quiet=True)
    batch = run.replay.sample(4, torch.Generator().manual_seed(0))
    assert (batch.actions[:, :8] == OPENINGS[0]).all()


def test_tuning_from_a_checkpoint_is_primed_with_the_training_openings(tmp_path, cnn, monkeypatch):
    from musiclab.checkpoints import save_checkpoint
    from musiclab.data.drums import DrumSet
    from musiclab.models.drum_data import split_drums

    rng = np.random.default_rng(0)
    grids = rng.integers(0, NUM_DRUM_CLASSES, (60, GRID_STEPS))
    data = split_drums(DrumSet(grids, [f"g{i}" for i in range(60)], {}))
    monkeypatch.setattr(D, "load_drum_data", lambda quiet=False: data)
    assert torch.equal(D.training_primers(data), data.train[:, :8])
    save_checkpoint(tmp_path / "cnn.pt", cnn)
    run = D.tune_drums_from_checkpoint(tmp_path / "cnn.pt", quiet=True, **TINY)
    openings = {tuple(row) for row in data.train[:, :8].tolist()}
    played = run.replay.sample(8, torch.Generator().manual_seed(0)).actions[:, :8].tolist()
    assert all(tuple(row) in openings for row in played)
