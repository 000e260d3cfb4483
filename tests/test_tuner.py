"""The RL tuner: rewards, targets, the Q-network, replay, tuning, composing, checkpoints, bad input.

Everything runs on tiny models (a 16-unit Note-RNN and a bigram toy model), so the whole file
takes seconds.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from torch import nn

from musiclab.checkpoints import CheckpointMismatchError, load_checkpoint, save_checkpoint
from musiclab.data.melody import NO_EVENT, NUM_CLASSES
from musiclab.errors import BadParameterError, UnknownNameError
from musiclab.data.drums import NUM_DRUM_CLASSES
from musiclab.models.note_cnn import NoteCNN, NoteCNNConfig
from musiclab.models.note_rnn import NoteRNN, NoteRNNConfig
from musiclab.models.sequence import SequenceModel
from musiclab.rl import compose as composing
from musiclab.rl import targets as TG
from musiclab.rl import tuner as T
from musiclab.rl import tuner_config as TC
from musiclab.rl.q_network import QNetwork, soft_update, target_network
from musiclab.rl.replay import EpisodeBatch, EpisodeReplay
from musiclab.rl.rule_set import RuleSet
from musiclab.rl.rules import rule_set

C = NUM_CLASSES


def tiny_rnn(seed: int = 0, **overrides) -> NoteRNN:
    torch.manual_seed(seed)
    return NoteRNN(NoteRNNConfig(**{"hidden_size": 16, "embedding_dim": 8, **overrides})).eval()


class Bigram(SequenceModel, nn.Module):
    """A toy sequence model: the logits of the next event depend on the previous event only."""

    kind = "bigram"

    def __init__(self, num_classes: int = C) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.table = nn.Embedding(num_classes + 1, num_classes)

    def initial_state(self, batch_size: int):
        return None

    def step(self, tokens, state):
        return self.table(tokens), state


def small(**overrides) -> TC.TunerConfig:
    values = {"episodes": 64, "batch_size": 16, "minibatch_size": 4, "train_every": 2,
              "memory": 32 * 64, "length": 32, "epsilon_start": 0.5, "epsilon": 0.1, "lr": 1e-2}
    return TC.TunerConfig(**{**values, **overrides})


def likes(event: int, bonus: float = 1.0) -> RuleSet:
    """A one-rule set: +bonus whenever ``event`` is played."""
    return RuleSet(f"likes_{event}", {"likes": (lambda composition, action, step: bonus * (action == event), 1.0)})


# --- rewards and targets ---------------------------------------------------------------------------


def test_the_reward_is_log_p_plus_the_rules_over_c():
    tuner = T.Tuner(tiny_rnn(), small(c=0.25))
    batch = tuner.collect()
    expected_log_p = tuner.q_net.prior.log_prob(batch.actions)
    assert torch.allclose(batch.log_p, expected_log_p, atol=1e-5)
    rules = rule_set("rl_tuner")
    actions = batch.actions.numpy()
    for step in (0, 5, 31):
        assert np.allclose(batch.rule_reward[:, step].numpy(),
                           rules.rewards(actions[:, :step], actions[:, step], step), atol=1e-5)
    total = TG.total_reward(batch.log_p, batch.rule_reward, 0.25)
    assert torch.allclose(TG.step_rewards(tuner.config, batch), total)
    history = tuner.history
    assert history.log_p_reward[-1] == pytest.approx(float(batch.log_p.mean()), abs=1e-6)
    assert history.rule_reward[-1] == pytest.approx(float(batch.rule_reward.mean()) / 0.25, abs=1e-5)
    assert history.total_reward[-1] == pytest.approx(float(total.mean()), abs=1e-5)


def test_g_learning_and_the_rules_only_agent_leave_log_p_out_of_the_reward():
    batch = EpisodeBatch(torch.zeros((1, 2), dtype=torch.long), torch.tensor([[-1.0, -2.0]]),
                         torch.tensor([[3.0, 0.5]]), torch.tensor([0.5]))
    assert TG.step_rewards(small(algorithm="dqn"), batch).tolist() == [[5.0, -1.0]]
    assert TG.step_rewards(small(algorithm="g"), batch).tolist() == [[6.0, 1.0]]
    assert TG.step_rewards(small(learned_reward=False), batch).tolist() == [[6.0, 1.0]]


def hand_made():
    """Two steps, three events: rewards [E=1, T=2] and target values at s_0, s_1 [1, 2, 3]."""
    rewards = torch.tensor([[1.0, 2.0]])
    values = torch.tensor([[[9.0, 9.0, 9.0], [0.0, 1.0, math.log(2.0)]]])
    return rewards, values


def test_dqn_target_adds_the_discounted_best_next_value_and_nothing_after_the_last_step():
    rewards, values = hand_made()
    assert TG.dqn_target(rewards, values, 0.5).tolist()[0] == pytest.approx([1.0 + 0.5 * 1.0, 2.0])


def test_the_double_q_target_values_the_online_networks_choice_with_the_target_network():
    rewards, values = hand_made()
    online = torch.tensor([[[0.0, 0.0, 0.0], [5.0, 0.0, 0.0]]])  # online prefers event 0 next, valued 0 by Q⁻
    assert TG.dqn_target(rewards, values, 0.5, online).tolist()[0] == pytest.approx([1.0, 2.0])


def test_psi_target_adds_the_discounted_log_sum_exp_of_the_next_values():
    rewards, values = hand_made()
    soft = math.log(1.0 + math.e + 2.0)
    assert TG.psi_target(rewards, values, 0.5).tolist()[0] == pytest.approx([1.0 + 0.5 * soft, 2.0])


def test_g_target_weighs_the_next_values_by_the_prior():
    rewards, values = hand_made()
    prior = torch.log(torch.tensor([[[0.2, 0.3, 0.5], [0.5, 0.25, 0.25]]]))
    soft = math.log(0.5 * 1.0 + 0.25 * math.e + 0.25 * 2.0)
    assert TG.g_target(rewards, values, prior, 0.5).tolist()[0] == pytest.approx([1.0 + 0.5 * soft, 2.0])


@pytest.mark.parametrize("algorithm", ["dqn", "psi", "g"])
def test_td_targets_score_a_minibatch_with_the_target_network(algorithm):
    tuner = T.Tuner(tiny_rnn(), small(algorithm=algorithm))
    tuner.collect()
    batch = tuner.replay.sample(3, torch.Generator().manual_seed(0))
    targets = TG.td_targets(tuner.config, batch, tuner.target)
    values = tuner.target.q_values(batch.actions).detach()
    rewards = TG.step_rewards(tuner.config, batch)
    if algorithm == "dqn":
        nxt = values.max(-1).values
    elif algorithm == "psi":
        nxt = torch.logsumexp(values, -1)
    else:
        nxt = torch.logsumexp(values + tuner.q_net.prior_log_p(batch.actions), -1)
    assert torch.allclose(targets[:, :-1], rewards[:, :-1] + 0.5 * nxt[:, 1:], atol=1e-5)
    assert torch.allclose(targets[:, -1], rewards[:, -1])


def test_double_q_td_targets_value_the_online_networks_next_choice():
    tuner = T.Tuner(tiny_rnn(), small(double_q=True))
    tuner.collect()
    tuner.update()  # the online network now differs from its target
    batch = tuner.replay.sample(3, torch.Generator().manual_seed(0))
    online = tuner.q_net.q_values(batch.actions).detach()
    targets = TG.td_targets(tuner.config, batch, tuner.target, online)
    values = tuner.target.q_values(batch.actions).detach()
    nxt = values.gather(-1, online.argmax(-1, keepdim=True)).squeeze(-1)
    rewards = TG.step_rewards(tuner.config, batch)
    assert torch.allclose(targets[:, :-1], rewards[:, :-1] + 0.5 * nxt[:, 1:], atol=1e-5)


# --- the Q-network -----------------------------------------------------------------------------------


@pytest.mark.parametrize("conditioned", [False, True])
def test_the_q_network_starts_as_the_model_with_its_logits_as_q_values(conditioned):
    model = tiny_rnn()
    q_net = QNetwork.from_model(model, conditioned=conditioned)
    actions = torch.randint(C, (3, 12), generator=torch.Generator().manual_seed(1))
    logits = model(torch.cat([torch.full((3, 1), model.bos), actions[:, :-1]], 1))[0]
    c = torch.tensor([0.1, 1.0, 10.0]) if conditioned else None
    assert torch.allclose(q_net.q_values(actions, c), logits, atol=1e-6)
    assert torch.allclose(q_net.prior_log_p(actions), torch.log_softmax(logits, -1), atol=1e-6)


def test_stepping_the_q_network_agrees_with_the_teacher_forced_pass():
    q_net = QNetwork.from_model(tiny_rnn(), algorithm="g", conditioned=True)
    with torch.no_grad():  # make c matter
        q_net.c_encoder[2].weight.normal_()
        q_net.rule_head.weight.normal_()
    actions = torch.randint(C, (2, 6), generator=torch.Generator().manual_seed(2))
    c = torch.tensor([0.3, 3.0])
    state, tokens = q_net.initial_state(2, c), q_net.begin_tokens(2)
    whole, prior = q_net.q_values(actions, c), q_net.prior_log_p(actions)
    for t in range(6):
        values, prior_log_p, state = q_net.step_values(tokens, state)
        assert torch.allclose(values, whole[:, t], atol=1e-5)
        assert torch.allclose(prior_log_p, prior[:, t], atol=1e-5)
        tokens = actions[:, t]


def test_the_g_policy_is_the_prior_plus_g():
    q_net = QNetwork.from_model(tiny_rnn(), algorithm="g")
    values, prior = torch.randn(2, C), torch.log_softmax(torch.randn(2, C), -1)
    assert torch.equal(q_net.policy_logits(values, prior), values + prior)
    assert torch.equal(QNetwork.from_model(tiny_rnn(), "psi").policy_logits(values, prior), values)


def test_soft_update_moves_the_target_by_the_rate_and_shares_the_prior():
    q_net = QNetwork.from_model(tiny_rnn())
    target = target_network(q_net)
    assert target.prior is q_net.prior
    before = target.body.head.weight.clone()
    with torch.no_grad():
        q_net.body.head.weight.add_(1.0)
    soft_update(target, q_net, 0.25)
    assert torch.allclose(target.body.head.weight, before + 0.25, atol=1e-6)


def test_only_a_note_rnn_can_be_conditioned_on_c():
    with pytest.raises(BadParameterError, match="Note-RNN"):
        QNetwork.from_model(Bigram(), conditioned=True)


# --- replay ----------------------------------------------------------------------------------------


def episodes(first: int, count: int, length: int = 4) -> EpisodeBatch:
    actions = torch.arange(first, first + count).unsqueeze(1).expand(count, length) % C
    return EpisodeBatch(actions.clone(), torch.zeros(count, length), torch.zeros(count, length),
                        torch.ones(count))


def test_the_replay_memory_keeps_the_newest_episodes_up_to_its_capacity_in_transitions():
    memory = EpisodeReplay(capacity=12, length=4)  # three episodes
    memory.add(episodes(0, 2))
    memory.add(episodes(2, 2))
    assert len(memory) == 3 and memory.transitions == 12
    assert sorted(memory.actions[:, 0].tolist()) == [1, 2, 3]
    memory.add(episodes(10, 5))
    assert sorted(memory.actions[:, 0].tolist()) == [12, 13, 14]
    sample = memory.sample(8, torch.Generator().manual_seed(0))
    assert sample.actions.shape == (8, 4) and set(sample.actions[:, 0].tolist()) <= {12, 13, 14}


def test_the_replay_memory_rejects_episodes_of_another_length():
    with pytest.raises(BadParameterError, match=r"\[E, 4\]"):
        EpisodeReplay(12, 4).add(episodes(0, 1, length=5))


# --- tuning ----------------------------------------------------------------------------------------


def test_a_tuner_update_changes_the_q_network_and_not_the_reward_model():
    model = tiny_rnn()
    original = {k: v.clone() for k, v in model.state_dict().items()}
    tuner = T.Tuner(model, small())
    prior_before = {k: v.clone() for k, v in tuner.q_net.prior.state_dict().items()}
    body_before = {k: v.clone() for k, v in tuner.q_net.body.state_dict().items()}
    target_before = tuner.target.body.head.weight.clone()
    tuner.collect()
    loss = tuner.update()
    assert math.isfinite(loss)
    assert any(not torch.equal(body_before[k], v) for k, v in tuner.q_net.body.state_dict().items())
    assert all(torch.equal(prior_before[k], v) for k, v in tuner.q_net.prior.state_dict().items())
    assert all(torch.equal(original[k], v) for k, v in model.state_dict().items())
    assert not torch.equal(target_before, tuner.target.body.head.weight)  # soft-updated a little


def test_a_tuner_goes_on_tuning_a_copy_of_a_tuned_q_network():
    tuned = T.tune(tiny_rnn(), small(episodes=32), quiet=True).q_net
    before = {k: v.clone() for k, v in tuned.state_dict().items()}
    tuner = T.Tuner.from_q_network(tuned, small(episodes=32))
    assert all(torch.equal(before[k], v) for k, v in tuner.q_net.state_dict().items())
    assert all(torch.equal(before[k], v) for k, v in tuner.target.state_dict().items())
    assert tuner.target is not tuner.q_net and tuner.q_net.body is not tuned.body
    tuner.run(quiet=True)
    assert any(not torch.equal(before[k], v) for k, v in tuner.q_net.state_dict().items())
    assert all(torch.equal(before[k], v) for k, v in tuned.state_dict().items())  # the source is untouched
    tuner.load_q_state(before)
    assert all(torch.equal(before[k], v) for k, v in tuner.target.state_dict().items())


def test_a_tuner_refuses_to_go_on_with_a_q_network_of_another_kind():
    tuned = QNetwork.from_model(tiny_rnn())
    with pytest.raises(BadParameterError, match="QNetwork"):
        T.Tuner.from_q_network(tiny_rnn(), small())
    with pytest.raises(BadParameterError, match="use algorithm='dqn'"):
        T.Tuner.from_q_network(tuned, small(algorithm="psi"))
    with pytest.raises(BadParameterError, match="not conditioned on c, so config.c_range must be None"):
        T.Tuner.from_q_network(tuned, small(c_range=(0.1, 1.0)))


def test_tuning_makes_the_rewarded_event_the_greedy_choice():
    tuner = T.tune(tiny_rnn(), small(episodes=256, c=0.1), rules=likes(NO_EVENT), quiet=True)
    composed = composing.compose(tuner.q_net, 8, 32, seed=0, temperature=0)
    assert (composed == NO_EVENT).float().mean() > 0.9
    assert tuner.history.rule_reward[-1] > tuner.history.rule_reward[0]
    assert len(tuner.history.episodes) == 16 and tuner.history.episodes[-1] == 256
    assert len(tuner.history.loss) == tuner.updates > 0


def test_a_toy_sequence_model_tunes_on_the_learned_reward_alone():
    torch.manual_seed(0)
    model = Bigram()
    tuner = T.tune(model, small(rules=None, episodes=96), quiet=True)
    assert tuner.rules is None and tuner.history.rule_reward[-1] == 0.0
    assert not torch.equal(tuner.q_net.body.table.weight, model.table.weight)
    composed = composing.compose(tuner.q_net, 3, 10, epsilon=0.5, seed=1)
    assert composed.shape == (3, 10) and composed.dtype == torch.long


def test_a_drum_note_cnn_tunes_with_the_drums_preset():
    torch.manual_seed(0)
    cnn = NoteCNN(NoteCNNConfig(channels=4, kernel_size=5, hidden_size=8))
    tuner = T.tune(cnn, TC.preset("drums", episodes=32, batch_size=16, minibatch_size=4, train_every=2,
                                 memory=32 * 64), quiet=True)
    assert tuner.rules is None and tuner.updates > 0 and tuner.config.target_update_every == 10
    assert not torch.equal(tuner.q_net.body.head.weight, cnn.head.weight)
    grids = composing.compose(tuner.q_net, 4, 32, epsilon=0.2, seed=0)
    assert grids.shape == (4, 32) and int(grids.max()) < NUM_DRUM_CLASSES


def test_a_conditioned_network_composes_differently_for_different_c():
    model = tiny_rnn()
    with torch.no_grad():
        model.head.bias[7] += 2.0  # the model likes event 7; the rule likes holds
    config = small(episodes=256, c_range=(0.1, 10.0), lr=2e-2)
    tuner = T.tune(model, config, rules=likes(NO_EVENT), quiet=True)
    rule_heavy = composing.compose(tuner.q_net, 8, 32, c=0.1, seed=0, temperature=0)
    model_heavy = composing.compose(tuner.q_net, 8, 32, c=10.0, seed=0, temperature=0)
    assert (rule_heavy == NO_EVENT).float().mean() > 0.9
    assert (model_heavy == NO_EVENT).float().mean() < 0.1 and (model_heavy == 7).float().mean() > 0.5


def test_the_same_seed_gives_the_same_tuned_weights_and_compositions():
    runs = [T.tune(tiny_rnn(), small(seed=seed), quiet=True) for seed in (3, 3, 4)]
    weights = [run.q_net.body.head.weight for run in runs]
    assert torch.equal(weights[0], weights[1]) and not torch.equal(weights[0], weights[2])
    first, second = (composing.compose(run.q_net, 4, 16, epsilon=0.3, seed=9) for run in runs[:2])
    assert torch.equal(first, second)
    assert not torch.equal(composing.compose(runs[0].q_net, 4, 16, epsilon=0.3, seed=10), first)


def test_compose_at_temperature_0_is_greedy_and_returns_the_right_shape():
    q_net = QNetwork.from_model(tiny_rnn())
    melodies = composing.compose(q_net, 5, 12, temperature=0)
    assert melodies.shape == (5, 12) and melodies.dtype == torch.long
    assert (melodies == melodies[0]).all()  # greedy from the same start: one melody
    state, tokens = q_net.initial_state(1), q_net.begin_tokens(1)
    for t in range(12):
        values, _, state = q_net.step_values(tokens, state)
        tokens = values.argmax(-1)
        assert tokens.item() == melodies[0, t].item()


def test_compose_samples_the_policy_at_temperature_1_by_default_so_each_piece_is_a_new_tune():
    q_net = QNetwork.from_model(tiny_rnn())
    melodies = composing.compose(q_net, 16, 12, seed=5)
    assert len({tuple(row.tolist()) for row in melodies}) == 16
    assert torch.equal(melodies, composing.compose(q_net, 16, 12, seed=5, temperature=1.0))  # same seed, same pieces
    assert not torch.equal(melodies, composing.compose(q_net, 16, 12, seed=6))


def test_a_low_temperature_plays_the_greedy_event_more_often():
    model = tiny_rnn()
    with torch.no_grad():
        model.head.bias[7] += 1.0  # event 7 is the greedy first event, but not by far
    q_net = QNetwork.from_model(model)
    assert composing.compose(q_net, 1, 1, temperature=0).item() == 7
    share = {t: (composing.compose(q_net, 400, 1, seed=0, temperature=t) == 7).float().mean().item() for t in (0.1, 1.0)}
    assert share[0.1] > 0.95 and share[1.0] < 0.5


def test_compose_rejects_a_negative_temperature_and_bad_seeds():
    q_net = QNetwork.from_model(tiny_rnn())
    with pytest.raises(BadParameterError, match="temperature must be in"):
        composing.compose(q_net, temperature=-0.5)
    for seed in (-1, 1.7, "abc", True):
        with pytest.raises(BadParameterError, match="seed must be a non-negative integer"):
            composing.compose(q_net, seed=seed)


def test_a_non_finite_reward_stops_tuning_and_keeps_the_last_good_checkpoint(tmp_path):
    calls = {"n": 0}

    def turns_nan(composition, action, step):
        calls["n"] += 1
        return float("nan") if calls["n"] > 16 * 32 * 2 else 0.0

    path = tmp_path / "q.pt"
    tuner = T.Tuner(tiny_rnn(), small(episodes=128, checkpoint_every=1))
    tuner.rules = RuleSet("turns_nan", {"nan": (turns_nan, 1.0)})
    with pytest.warns(RuntimeWarning, match="tuning stopped.*not finite|tuning stopped.*nan"):
        history = tuner.run(quiet=True, checkpoint_path=path)
    assert history.stop_reason == "non-finite loss"
    assert tuner.updates > 0 and tuner.episodes_played < 128
    saved = T.load_q_network(path)
    assert saved.extra["updates"] == tuner.updates
    assert all(torch.equal(saved.state_dict()[k], v) for k, v in tuner.q_net.state_dict().items())
    assert all(torch.isfinite(p).all() for p in tuner.q_net.parameters())


# --- checkpoints -----------------------------------------------------------------------------------


def test_a_saved_q_network_loads_back_and_composes_the_same(tmp_path):
    tuner = T.tune(tiny_rnn(), small(c_range=(0.2, 5.0), algorithm="psi"), quiet=True,
                   checkpoint_path=tmp_path / "q.pt")
    loaded = T.load_q_network(tmp_path / "q.pt")
    assert loaded.config.algorithm == "psi" and loaded.config.conditioned
    assert loaded.extra["tuner_config"]["c_range"] == (0.2, 5.0)
    assert loaded.extra["rules"] == "rl_tuner" and loaded.extra["stop_reason"] == "finished"
    for c in (0.3, 2.0):
        assert torch.equal(composing.compose(loaded, 3, 16, c=c, epsilon=0.2, seed=1),
                           composing.compose(tuner.q_net, 3, 16, c=c, epsilon=0.2, seed=1))


def test_loading_a_checkpoint_of_another_model_is_a_clear_error(tmp_path):
    model = tiny_rnn()
    save_checkpoint(tmp_path / "rnn.pt", model)
    with pytest.raises(CheckpointMismatchError, match="'note_rnn'.*expected 'q_network'"):
        T.load_q_network(tmp_path / "rnn.pt")
    T.tune(model, small(episodes=16, batch_size=16), quiet=True, checkpoint_path=tmp_path / "q.pt")
    with pytest.raises(CheckpointMismatchError, match="tuned Q-network"):
        T.tune_from_checkpoint(tmp_path / "q.pt", "dqn", "fast", 0)


def test_tune_from_checkpoint_tunes_the_saved_model_with_a_preset(tmp_path):
    save_checkpoint(tmp_path / "rnn.pt", tiny_rnn())
    tuner = T.tune_from_checkpoint(tmp_path / "rnn.pt", "g", "playground", seed=2, out_path=tmp_path / "g.pt",
                                   quiet=True, episodes=32, batch_size=16, minibatch_size=4)
    assert tuner.config.algorithm == "g" and tuner.config.seed == 2 and tuner.config.c_range == (0.1, 10.0)
    assert load_checkpoint(tmp_path / "g.pt", expected_kind="q_network")["extra"]["episodes"] == 32


# --- presets and bad input -------------------------------------------------------------------------


def test_presets_hold_the_published_settings():
    therapy = TC.preset("therapy")
    assert (therapy.c, therapy.epsilon, therapy.train_every, therapy.minibatch_size, therapy.gamma,
            therapy.memory, therapy.target_update_rate) == (0.7, 0.3, 5, 32, 0.5, 100_000, 0.01)
    rl = TC.preset("rl_tuner")
    assert (rl.c, rl.gamma, rl.algorithm, rl.rules) == (0.5, 0.5, "dqn", "rl_tuner")
    drums = TC.preset("drums")
    assert (drums.rules, drums.gamma, drums.target_update_rate, drums.target_update_every,
            drums.exploration) == (None, 0.5, 0.01, 10, "egreedy")
    assert TC.preset("fast").c_range is None and TC.preset("playground").c_range == (0.1, 10.0)
    for name, factory in TC.PRESETS.items():
        assert any(word in (factory.__doc__ or "") for word in ("20", "Not from a paper", "project", "system")), name


@pytest.mark.parametrize("overrides, error, message", [
    ({"c": 0.0}, BadParameterError, "c must be in"),
    ({"c": -1.0}, BadParameterError, "c must be in"),
    ({"epsilon": 1.5}, BadParameterError, "epsilon must be in"),
    ({"epsilon_start": -0.1}, BadParameterError, "epsilon_start must be in"),
    ({"algorithm": "sarsa"}, UnknownNameError, "'dqn', 'psi', 'g'"),
    ({"exploration": "curious"}, UnknownNameError, "'egreedy', 'boltzmann'"),
    ({"gamma": 1.0}, BadParameterError, "gamma"),
    ({"c_range": (2.0, 1.0)}, BadParameterError, "c_range high"),
    ({"rules": None, "c_range": (0.1, 10.0)}, BadParameterError, "no effect"),
    ({"algorithm": "g", "learned_reward": False}, BadParameterError, "rules-only"),
    ({"rule_weights": {"jazz_hands": 2.0}}, UnknownNameError, "'in_key'"),
    ({"rule_weights": {"motif": math.inf}}, BadParameterError, "finite"),
    ({"rules": None, "rule_weights": {"motif": 2.0}}, BadParameterError, "needs a rule set"),
    ({"algorithm": "psi", "double_q": True}, BadParameterError, "double_q"),
])
def test_bad_tuner_settings_name_the_parameter(overrides, error, message):
    with pytest.raises(error, match=message):
        small(**overrides)


def test_rule_weights_replace_the_weights_of_the_named_rules_only():
    tuner = T.Tuner(tiny_rnn(), small(rule_weights={"low_autocorrelation": 3.0}))
    weights = {name: weight for name, (_, weight) in tuner.rules.rules.items()}
    assert weights.pop("low_autocorrelation") == 3.0
    assert set(weights.values()) == {1.0} and len(weights) == len(rule_set("rl_tuner").rules) - 1


def test_the_fast_preset_explores_as_it_composes_with_the_papers_leap_reward():
    config = TC.preset("fast")
    assert config.exploration == "boltzmann" and config.temperature_start == config.temperature == 1.0
    rules = T.Tuner(tiny_rnn(), TC.preset("fast", episodes=1)).rules
    assert "leap_up_back" in rules.rules and "leap_resolution" not in rules.rules
    assert rules.rules["leap_up_back"][1] == 2.0
    egreedy = TC.preset("egreedy")
    assert egreedy.exploration == "egreedy" and egreedy.rules == "rl_tuner"


def test_unknown_rule_sets_algorithms_and_presets_list_the_valid_names():
    with pytest.raises(UnknownNameError, match="rl_tuner"):
        T.Tuner(tiny_rnn(), small(rules="jazz"))
    with pytest.raises(UnknownNameError, match="'dqn', 'psi', 'g'"):
        T.tune_from_checkpoint("unused.pt", "a3c")
    with pytest.raises(UnknownNameError, match="'rl_tuner', 'therapy', 'fast', 'egreedy', 'playground', 'drums'"):
        TC.preset("slow")
    with pytest.raises(BadParameterError, match="unknown TunerConfig field"):
        TC.preset("fast", discount=0.9)


def test_compose_rejects_bad_c_epsilon_and_models():
    q_net = QNetwork.from_model(tiny_rnn(), c=0.5)
    with pytest.raises(BadParameterError, match="c must be > 0"):
        composing.compose(q_net, c=0.0)
    with pytest.raises(BadParameterError, match="epsilon must be in"):
        composing.compose(q_net, epsilon=-0.1)
    with pytest.raises(BadParameterError, match="epsilon must be in"):
        composing.compose(q_net, epsilon=1.01)
    with pytest.raises(BadParameterError, match="tuned at c=0.5 only"):
        composing.compose(q_net, c=2.0)
    with pytest.raises(BadParameterError, match="QNetwork"):
        composing.compose(tiny_rnn())


def test_the_tuner_refuses_models_it_cannot_tune():
    with pytest.raises(BadParameterError, match="SequenceModel"):
        T.Tuner(nn.Linear(2, 2), small())
    with pytest.raises(BadParameterError, match="already a tuned QNetwork"):
        T.Tuner(QNetwork.from_model(tiny_rnn()), small())
    with pytest.raises(BadParameterError, match="38 classes"):
        T.Tuner(Bigram(num_classes=10), small())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        T.Tuner(Bigram(num_classes=10), small(rules=None))
