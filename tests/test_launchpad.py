"""The Launchpad DJ: environment, tabular Q-learning, MCMC exploration and DQN (notebook 06)."""
from __future__ import annotations

import itertools
import re
from pathlib import Path

import numpy as np
import pytest
import torch

import musiclab
from musiclab.checkpoints import SHIPPED, CheckpointMismatchError, save_checkpoint, shipped_path
from musiclab.cli import main
from musiclab.errors import BadFileError, BadParameterError, MusiclabError, UnknownNameError
from musiclab.launchpad import plots
from musiclab.launchpad.agents import (
    acceptance_probability, beta_sweep, lookahead_policy, mcmc_explore, metropolis_accept,
    play_policy, q_learning, q_table_policy, steps_to_ceiling,
)
from musiclab.launchpad.bars import shrink_bars
from musiclab.launchpad.buttons import LaunchpadState, basis_vectors
from musiclab.launchpad.dqn import (
    DQNConfig, load_agent, make_q_network, play_episode, q_network_policy, save_agent, train_agent,
    train_dqn,
)
from musiclab.launchpad.env import LaunchpadEnv, reduced_env


#: What ``musiclab/launchpad/`` may import: ``musiclab.<name>`` (plus the two shared plot modules).
FOUNDATIONS = ("errors", "runtime", "checkpoints", "audio", "data", "models", "launchpad")


def random_bars(count: int, notes: int, steps: int, seed: int = 0, density: float = 0.2):
    return np.random.default_rng(seed).random((count, notes, steps)) < density


def small_env(**kwargs) -> LaunchpadEnv:
    """Two notes, an 8-step bar (B = 3), four hand-made target bars."""
    options = dict(notes=2, beats_log2=3, k=4, max_steps=8, seed=0)
    options.update(kwargs)
    return LaunchpadEnv(random_bars(6, 2, 8, density=0.3), **options)


def tiny_dqn_config(**changes) -> DQNConfig:
    config = DQNConfig.fast()
    config.steps, config.buffer_size, config.learning_starts = 1200, 1200, 100
    config.eps_decay_steps, config.target_update, config.eval_every = 600, 200, 300
    config.eval_episodes, config.mlp_hidden, config.batch_size = 3, (64, 64), 32
    for name, value in changes.items():
        setattr(config, name, value)
    return config


# ----- basis vectors ---------------------------------------------------------------------------
@pytest.mark.parametrize("beats_log2", range(1, 9))
def test_basis_vectors_never_overlap_and_cover_every_step(beats_log2):
    basis = basis_vectors(beats_log2)
    assert basis.shape == (beats_log2 + 1, 2 ** beats_log2)
    assert (basis.sum(axis=0) == 1).all()


@pytest.mark.parametrize("beats_log2", range(1, 9))
def test_basis_vector_k_has_period_2_to_k_plus_1_and_phase_2_to_k_minus_1(beats_log2):
    basis = basis_vectors(beats_log2)
    for k in range(beats_log2):
        steps = np.flatnonzero(basis[k])
        assert steps[0] == 2 ** k - 1
        assert (np.diff(steps) == 2 ** (k + 1)).all()
        assert len(steps) == 2 ** (beats_log2 - k - 1)
    assert np.flatnonzero(basis[beats_log2]).tolist() == [2 ** beats_log2 - 1]


# ----- actions and states ----------------------------------------------------------------------
@pytest.mark.parametrize("notes,beats_log2", [(1, 1), (1, 2), (3, 4), (24, 6), (5, 8)])
def test_action_count_is_n_times_2b_plus_1_plus_one(notes, beats_log2):
    env = LaunchpadEnv(random_bars(1, notes, 2 ** beats_log2), notes=notes,
                       beats_log2=beats_log2, k=1)
    assert env.num_actions == notes * (2 * beats_log2 + 1) + 1
    kinds = [env.decode_action(a).kind for a in range(env.num_actions)]
    assert kinds.count("toggle") == notes * (beats_log2 + 1)
    assert kinds.count("shift") == notes * beats_log2
    assert kinds[-1] == "noop" and kinds.count("noop") == 1


def test_encode_and_decode_action_are_inverse():
    env = small_env()
    for action in range(env.num_actions):
        move = env.decode_action(action)
        assert env.encode_action(move.kind, max(move.note, 0), max(move.k, 0)) == action


def test_every_toggle_is_an_involution_that_flips_one_basis_vector_of_one_note():
    env = small_env()
    state = env.random_state(np.random.default_rng(3))
    for note, k in itertools.product(range(env.notes), range(env.beats_log2 + 1)):
        action = env.encode_action("toggle", note, k)
        once = env.apply(state, action)
        twice = env.apply(once, action)
        assert np.array_equal(twice.toggles, state.toggles)
        assert np.array_equal(twice.offsets, state.offsets)
        changed = env.bar(once) ^ env.bar(state)
        expected = np.roll(env.basis[k], state.offsets[note])
        assert np.array_equal(changed[note], expected)
        assert not np.delete(changed, note, axis=0).any()


def test_offsets_wrap_modulo_the_bar_length():
    env = small_env()
    state = env.random_state(np.random.default_rng(4))
    for k in range(env.beats_log2):
        action = env.encode_action("shift", 1, k)
        moved = state
        for _ in range(2 ** (env.beats_log2 - k)):
            moved = env.apply(moved, action)
            assert 0 <= moved.offsets[1] < env.bar_steps
        assert np.array_equal(moved.offsets, state.offsets)


def test_a_shift_rotates_the_note_later_in_time():
    env = small_env()
    state = LaunchpadState(np.array([[1, 0, 0, 1], [0, 1, 0, 0]], bool), np.array([0, 3]))
    moved = env.apply(state, env.encode_action("shift", 0, 1))  # +2 steps
    assert np.array_equal(env.bar(moved)[0], np.roll(env.bar(state)[0], 2))
    assert np.array_equal(env.bar(moved)[1], env.bar(state)[1])


def test_noop_changes_nothing():
    env = small_env()
    state = env.random_state(np.random.default_rng(5))
    same = env.apply(state, env.num_actions - 1)
    assert np.array_equal(env.bar(same), env.bar(state))


def test_state_index_round_trips_and_transition_table_matches_apply():
    bars = random_bars(6, 2, 4, density=0.3)
    env = LaunchpadEnv(bars, notes=2, beats_log2=2, k=3)
    table = env.transition_table()
    assert table.shape == (env.num_states, env.num_actions) == ((8 * 4) ** 2, 11)
    rng = np.random.default_rng(0)
    for index in rng.integers(0, env.num_states, size=50):
        state = env.state_from_index(int(index))
        assert env.state_index(state) == index
        for action in range(env.num_actions):
            assert env.state_index(env.apply(state, action)) == table[index, action]


def test_observation_is_toggle_bits_then_one_hot_offsets():
    env = small_env()
    state = LaunchpadState(np.array([[1, 0, 0, 1], [0, 1, 1, 0]], bool), np.array([5, 0]))
    obs = env.observation(state)
    assert obs.shape == (env.observation_size,) == (2 * (4 + 8),)
    assert obs[:8].tolist() == [1, 0, 0, 1, 0, 1, 1, 0]
    onehot = obs[8:].reshape(2, 8)
    assert onehot.sum(axis=1).tolist() == [1, 1] and onehot[0, 5] == 1 and onehot[1, 0] == 1


# ----- rewards ---------------------------------------------------------------------------------
def test_reward_is_zero_for_a_state_equal_to_a_sampled_bar():
    probe = LaunchpadEnv(random_bars(1, 3, 16), notes=3, beats_log2=4, k=1)
    rng = np.random.default_rng(7)
    states = [probe.random_state(rng) for _ in range(10)]
    bars = np.stack([probe.bar(s) for s in states])
    env = LaunchpadEnv(bars, notes=3, beats_log2=4, k=4, seed=2)
    for index in env.target_indices:
        assert env.reward(states[index]) == 0.0
    assert env.reward_ceiling() == 0.0


def test_reward_is_minus_the_smallest_hamming_distance_to_the_targets():
    env = small_env()
    rng = np.random.default_rng(8)
    for _ in range(20):
        state = env.random_state(rng)
        brute = min(int((env.bar(state) != target).sum()) for target in env.targets)
        assert env.reward(state) == -brute


def test_batched_distances_match_one_by_one():
    env = small_env()
    rng = np.random.default_rng(9)
    bars = rng.random((12, 2, 8)) < 0.5
    batch = env.distances(bars)
    assert batch.shape == (12, 4)
    for i, bar in enumerate(bars):
        assert batch[i].tolist() == [int((bar != t).sum()) for t in env.targets]


def test_reward_ceiling_is_the_best_reward_of_any_state():
    env = LaunchpadEnv(random_bars(5, 2, 4, seed=3, density=0.6), notes=2, beats_log2=2, k=3)
    assert env.reward_ceiling() == env.reward_table().max()
    assert env.reward_ceiling() < 0  # random targets are not all representable here


def test_reduced_problem_has_32_states_6_actions_and_reachable_target():
    env = reduced_env()
    assert (env.num_states, env.num_actions) == (32, 6)
    assert env.targets.tolist() == [[[True, False, True, True]]]
    assert env.reward_ceiling() == 0.0


def test_step_counts_to_the_episode_limit_and_reports_the_reward():
    env = small_env(max_steps=3)
    env.reset()
    action = env.encode_action("toggle", 0, 3)
    results = [env.step(action) for _ in range(3)]
    assert [(terminated, truncated) for _, _, terminated, truncated, _ in results] == [
        (False, False), (False, False), (False, True)]  # a time limit, never a terminal state
    assert results[0][1] == env.reward(env.apply(env.start_state(), action))
    assert results[-1][1] == env.reward() == results[0][1]  # toggled on, off, on
    assert np.array_equal(results[-1][0], env.observation(env.state))
    assert results[-1][4] == {"nearest_target": env.nearest_target()[0],
                              "distance": -env.reward()}


# ----- determinism -----------------------------------------------------------------------------
def test_same_seed_same_targets_and_same_random_starts():
    bars = random_bars(30, 2, 8)
    one = LaunchpadEnv(bars, notes=2, beats_log2=3, k=5, seed=11, start="random")
    two = LaunchpadEnv(bars, notes=2, beats_log2=3, k=5, seed=11, start="random")
    other = LaunchpadEnv(bars, notes=2, beats_log2=3, k=5, seed=12, start="random")
    assert one.target_indices.tolist() == two.target_indices.tolist()
    assert one.target_indices.tolist() != other.target_indices.tolist()
    assert np.array_equal(one.reset(seed=3)[0], two.reset(seed=3)[0])


def test_q_learning_and_mcmc_are_deterministic_given_a_seed():
    env = reduced_env()
    a, b = q_learning(env, steps=600, seed=5), q_learning(env, steps=600, seed=5)
    assert np.array_equal(a.rewards, b.rewards) and np.array_equal(a.q_table, b.q_table)
    c = q_learning(env, steps=600, seed=6)
    assert not np.array_equal(a.rewards, c.rewards)
    m1 = mcmc_explore(env, 0.2, explore_steps=50, seed=1)
    m2 = mcmc_explore(env, 0.2, explore_steps=50, seed=1)
    assert np.array_equal(m1.greedy_rewards, m2.greedy_rewards)


# ----- tabular Q-learning ----------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(8))
def test_tabular_agent_reaches_the_maximal_reward_within_300_steps(seed):
    run = q_learning(reduced_env(), steps=300, reset_every=1000, seed=seed)
    assert run.ceiling == 0.0
    assert run.first_max_step <= 300
    assert run.rewards[int(run.first_max_step) - 1] == 0.0


def test_tabular_agent_recovers_after_every_random_reset_and_stays_at_the_top():
    run = q_learning(reduced_env(), steps=3000, reset_every=500, seed=0)
    assert run.reset_steps.tolist() == [500, 1000, 1500, 2000, 2500]
    assert np.isfinite(run.recover_steps).all() and (run.recover_steps >= 1).all()
    assert (run.recover_steps < 100).all()
    assert (run.rewards[-50:] == 0.0).all()  # holds the target bar with the no-op
    assert run.q_table.shape == (32, 6) and run.q_table.max() <= 0.0  # optimistic zero start


# ----- MCMC exploration ------------------------------------------------------------------------
def test_moves_that_do_not_lower_the_reward_are_always_accepted():
    rng = np.random.default_rng(0)
    for beta in (0.0, 0.2, 5.0, 1e6):
        assert metropolis_accept(np.array([0.0, 1.0, 40.0] * 100), beta, rng).all()
    assert metropolis_accept(np.full(1000, -30.0), 0.0, rng).all()  # beta 0: a random walk


@pytest.mark.parametrize("delta,beta", [(-1.0, 0.2), (-2.0, 0.5), (-4.0, 0.2), (-3.0, 1.0)])
def test_worse_moves_are_accepted_with_probability_exp_beta_delta(delta, beta):
    rng = np.random.default_rng(42)
    draws = 40_000
    accepted = metropolis_accept(np.full(draws, delta), beta, rng).mean()
    expected = np.exp(beta * delta)
    assert acceptance_probability(delta, beta) == pytest.approx(expected)
    assert abs(accepted - expected) < 4 * np.sqrt(expected * (1 - expected) / draws)


def test_mcmc_exploration_returns_traces_and_a_q_table():
    run = mcmc_explore(reduced_env(), 0.2, explore_steps=40, greedy_steps=30, greedy_starts=8)
    assert run.explore_rewards.shape == (1, 40) and run.greedy_rewards.shape == (1, 30)
    assert run.q_tables.shape == (1, 32, 6)
    assert 0 < run.acceptance_rate[0] < 1


def test_beta_sweep_finds_an_intermediate_best_beta():
    sweep = beta_sweep(reduced_env(), np.logspace(-2, 1, 7), repeats=16, quiet=True, seed=0)
    assert sweep.runs.shape == (7, 16)
    assert sweep.greedy_mean.shape == sweep.greedy_sem.shape == (7,)
    assert (sweep.greedy_sem > 0).all() and sweep.ceiling == 0.0
    assert (sweep.greedy_mean <= 0).all()
    assert 0.01 < sweep.best_beta < 10  # too cold explores too little, too hot never settles
    best = sweep.greedy_mean.max()
    assert best > sweep.greedy_mean[0] + 3 * sweep.greedy_sem[0]
    assert best > sweep.greedy_mean[-1] + 3 * sweep.greedy_sem[-1]
    assert np.all(np.diff(sweep.acceptance_rate) < 0)  # hotter chains accept more


# ----- DQN -------------------------------------------------------------------------------------
def test_q_networks_map_observations_to_one_value_per_action():
    env = small_env()
    obs = torch.from_numpy(np.stack([env.observation(env.random_state(np.random.default_rng(i)))
                                     for i in range(5)]))
    for kind, layers in (("linear", 1), ("mlp", 3)):
        net = make_q_network(env.observation_size, env.num_actions, kind, (32, 16))
        assert net(obs).shape == (5, env.num_actions)
        assert sum(isinstance(m, torch.nn.Linear) for m in net.modules()) == layers


def test_presets_are_valid_and_the_paper_preset_uses_the_published_settings():
    paper = DQNConfig.paper().validate()
    assert (paper.batch_size, paper.target_update, paper.gamma) == (32, 1000, 0.99)
    assert paper.mlp_hidden == (1024, 512)
    fast = DQNConfig.fast().validate()
    assert fast.steps < paper.steps and fast.epsilon(0) > fast.epsilon(fast.eps_decay_steps)


def test_dqn_learns_to_beat_its_untrained_policy():
    env = small_env(start="random")
    run = train_dqn(env, tiny_dqn_config(), q_function="mlp", seed=0, quiet=True)
    assert run.eval_steps.tolist() == [0, 300, 600, 900, 1200]
    assert run.eval_rewards[-1] > run.eval_rewards[0] + 1.0
    assert len(run.episode_rewards) == 1200 // env.max_steps
    assert run.ceiling == env.reward_ceiling()


def test_dqn_training_is_deterministic_given_a_seed():
    env = small_env(start="random")
    config = tiny_dqn_config(steps=400, eval_every=200)
    one, two = (train_dqn(env, config, q_function="mlp", seed=0, quiet=True) for _ in range(2))
    other = train_dqn(env, config, q_function="mlp", seed=1, quiet=True)
    assert np.array_equal(one.eval_rewards, two.eval_rewards)
    assert np.array_equal(one.losses, two.losses) and len(one.losses) > 100
    assert not np.array_equal(one.losses, other.losses)


def test_play_episode_runs_to_the_time_limit_with_a_trained_or_untrained_network():
    env = small_env(max_steps=5)
    net = make_q_network(env.observation_size, env.num_actions, "linear")
    episode = play_episode(env, net, epsilon=0.5, seed=3)
    assert episode.actions.shape == episode.rewards.shape == (5,)
    assert episode.rewards[-1] == env.reward(episode.final_state)


# ----- bad input -------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs,parameter", [
    (dict(notes=0), "notes"), (dict(notes=2.5), "notes"), (dict(beats_log2=0), "beats_log2"),
    (dict(beats_log2=9), "beats_log2"), (dict(k=0), "k"), (dict(k=7), "k"),
    (dict(max_steps=0), "max_steps"),
])
def test_invalid_sizes_name_the_parameter_and_the_valid_range(kwargs, parameter):
    options = dict(notes=2, beats_log2=3, k=2)
    options.update(kwargs)
    steps = 2 ** options["beats_log2"] if 1 <= options["beats_log2"] <= 8 else 8
    notes = options["notes"] if isinstance(options["notes"], int) and options["notes"] > 0 else 2
    bars = random_bars(6, notes, steps)
    with pytest.raises(BadParameterError, match=rf"{parameter} must be .*\["):
        LaunchpadEnv(bars, **options)


def test_unknown_start_is_rejected_with_the_choices():
    with pytest.raises(UnknownNameError, match="empty"):
        small_env(start="middle")


@pytest.mark.parametrize("action", [-1, 17, 2.0, True, "3"])
def test_invalid_actions_are_rejected(action):
    env = small_env()
    with pytest.raises(BadParameterError, match=r"action must be an integer in \[0, 14\]"):
        env.step(action)


def test_invalid_offsets_and_state_shapes_are_rejected():
    env = small_env()
    with pytest.raises(BadParameterError, match=r"offsets must be integers in \[0, 7\]"):
        env.reset(options=dict(state=LaunchpadState(np.zeros((2, 4), bool), np.array([0, 8]))))
    with pytest.raises(BadParameterError, match="toggles of shape"):
        env.reset(options=dict(state=LaunchpadState(np.zeros((3, 4), bool), np.array([0, 1]))))


@pytest.mark.parametrize("bars,match", [
    (np.zeros((0, 2, 8), bool), "no bars"),
    (np.zeros((3, 2, 16), bool), r"shape \[M, 2, 8\]"),
    (np.zeros((2, 8), bool), r"shape \[M, 2, 8\]"),
    (np.full((3, 2, 8), 2), "binary"),
    ([[[0] * 8] * 2], "numpy array"),
])
def test_bad_bar_corpora_raise_a_clear_musiclab_error(bars, match):
    with pytest.raises(MusiclabError, match=match):
        LaunchpadEnv(bars, notes=2, beats_log2=3, k=1)


def test_agent_parameters_are_checked():
    env = reduced_env()
    with pytest.raises(BadParameterError, match="alpha"):
        q_learning(env, alpha=0.0)
    with pytest.raises(BadParameterError, match="beta"):
        mcmc_explore(env, -0.1)
    with pytest.raises(BadParameterError, match="betas"):
        beta_sweep(env, [], quiet=True)
    with pytest.raises(BadParameterError, match="gamma"):
        DQNConfig(gamma=1.5).validate()
    with pytest.raises(UnknownNameError, match="linear"):
        train_dqn(env, tiny_dqn_config(), q_function="cnn", quiet=True)


def test_tabular_view_refuses_a_full_size_launchpad():
    env = LaunchpadEnv(random_bars(2, 24, 64), k=1)
    with pytest.raises(BadParameterError, match="fewer notes"):
        env.transition_table()


def test_shrink_bars_keeps_a_pitch_window_coarsens_time_and_drops_empty_bars():
    bars = np.zeros((3, 24, 64), bool)
    bars[0, 12, 13] = bars[1, 0, 0] = bars[2, 11, 63] = True
    shrunk = shrink_bars(bars, notes=8, beats_log2=4)  # rows 8..15, 16 steps of 4
    assert shrunk.shape == (2, 8, 16)
    assert np.flatnonzero(shrunk[0]).tolist() == [4 * 16 + 3]
    assert np.flatnonzero(shrunk[1]).tolist() == [3 * 16 + 15]
    with pytest.raises(BadParameterError, match="no bar"):
        shrink_bars(bars, notes=2, beats_log2=1, lowest=20)
    with pytest.raises(BadParameterError, match="multiple of"):
        shrink_bars(bars[:, :, :48], notes=2, beats_log2=5)


def test_the_bar_converts_to_midi_through_the_bars_module():
    from musiclab.launchpad.bars import BAR_STEPS, LOW_PITCH, NUM_PITCHES

    env = LaunchpadEnv(random_bars(3, NUM_PITCHES, BAR_STEPS), k=2)
    env.reset(options=dict(state=env.random_state(np.random.default_rng(0))))
    notes = [n for instrument in env.to_pretty_midi().instruments for n in instrument.notes]
    assert len(notes) == int(env.bar().sum())  # one note per onset
    assert sorted({n.pitch - LOW_PITCH for n in notes}) == np.flatnonzero(env.bar().any(1)).tolist()


@pytest.mark.slow
def test_from_corpus_builds_full_and_small_launchpads_on_real_bars():
    full = LaunchpadEnv.from_corpus(k=16, seed=0, quiet=True)
    assert full.targets.shape == (16, 24, 64) and full.targets.sum() >= 16 * 20
    assert full.reward() == -min(int(t.sum()) for t in full.targets)  # empty start
    small = LaunchpadEnv.from_corpus(notes=8, beats_log2=4, start="random", quiet=True)
    assert small.targets.shape == (16, 8, 16) and small.num_actions == 73
    assert small.reward() <= small.reward_ceiling() <= 0


# ----- batched moves, descriptions, perturbations ----------------------------------------------
def test_apply_batch_and_successors_match_apply_one_by_one():
    env = small_env()
    rng = np.random.default_rng(10)
    states = [env.random_state(rng) for _ in range(20)]
    actions = rng.integers(0, env.num_actions, size=20)
    toggles, offsets = env.apply_batch(np.stack([s.toggles for s in states]),
                                       np.stack([s.offsets for s in states]), actions)
    for i, (state, action) in enumerate(zip(states, actions)):
        one = env.apply(state, int(action))
        assert np.array_equal(toggles[i], one.toggles) and np.array_equal(offsets[i], one.offsets)
    toggles, offsets = env.successors(states[0])
    assert toggles.shape == (env.num_actions, 2, 4) and offsets.shape == (env.num_actions, 2)
    for action in range(env.num_actions):
        assert np.array_equal(env.render_bars(toggles, offsets)[action],
                              env.bar(env.apply(states[0], action)))
    with pytest.raises(BadParameterError, match=r"actions must be 1 integers in \[0, 14\]"):
        env.apply_batch(toggles[:1], offsets[:1], np.array([15]))


def test_actions_are_described_in_words_with_the_pitch_of_their_note():
    env = small_env()  # 2 notes on the middle rows of the full launchpad: MIDI 58 and 59
    assert (env.lowest, env.pitch(0), env.pitch(1)) == (11, 58, 59)
    assert env.describe_action(env.encode_action("toggle", 1, 2)) == "toggle basis 2 of B3"
    assert env.describe_action(env.encode_action("shift", 0, 2)) == "shift A#3 by +4"
    assert env.describe_action(env.num_actions - 1) == "no-op"


def test_transposing_moves_every_note_and_drops_those_pushed_off():
    env = LaunchpadEnv(random_bars(2, 4, 8), notes=4, beats_log2=3, k=1)
    state = env.random_state(np.random.default_rng(11))
    up = env.transposed(state, 1)
    assert np.array_equal(env.bar(up)[1:], env.bar(state)[:3]) and not env.bar(up)[0].any()
    down = env.transposed(state, -2)
    assert np.array_equal(env.bar(down)[:2], env.bar(state)[2:]) and not env.bar(down)[2:].any()
    assert np.array_equal(env.bar(env.transposed(state, 0)), env.bar(state))
    with pytest.raises(BadParameterError, match=r"rows must be an integer in \[-4, 4\]"):
        env.transposed(state, 5)


def test_nearest_target_is_the_one_the_reward_measures():
    env = small_env()
    rng = np.random.default_rng(12)
    for _ in range(10):
        state = env.random_state(rng)
        index, distance = env.nearest_target(state)
        assert distance == -env.reward(state) == int((env.bar(state) != env.targets[index]).sum())


def test_a_small_launchpad_plays_on_its_rows_of_the_full_launchpad():
    from musiclab.launchpad.bars import LOW_PITCH

    bars = shrink_bars(random_bars(5, 24, 64, density=0.1), notes=8, beats_log2=4, lowest=5)
    env = LaunchpadEnv(bars, notes=8, beats_log2=4, k=2, lowest=5)
    state = env.random_state(np.random.default_rng(13))
    full = env.full_size_bar(env.bar(state))
    assert full.shape == (24, 64) and full.sum() == env.bar(state).sum()
    assert np.array_equal(full[5:13, ::4], env.bar(state)) and not full[:, 1::4].any()
    notes = [n for i in env.to_pretty_midi(state, tempo_bpm=60).instruments for n in i.notes]
    assert {n.pitch for n in notes} <= set(range(LOW_PITCH + 5, LOW_PITCH + 13))
    assert sorted(round(n.start * 4) for n in notes) == sorted(np.nonzero(env.bar(state))[1])
    with pytest.raises(BadParameterError, match="lowest must be an integer in"):
        LaunchpadEnv(bars, notes=8, beats_log2=4, k=2, lowest=17)


def test_settings_rebuild_the_same_launchpad():
    bars = random_bars(30, 2, 8)
    env = LaunchpadEnv(bars, notes=2, beats_log2=3, k=5, seed=4, start="random", max_steps=9)
    again = LaunchpadEnv(bars, **env.settings())
    assert again.target_indices.tolist() == env.target_indices.tolist()
    assert (again.start, again.max_steps, again.lowest) == ("random", 9, env.lowest)


# ----- policies ----------------------------------------------------------------------------------
def test_the_lookahead_policy_takes_the_best_next_reward_or_waits():
    env = small_env()
    rng = np.random.default_rng(14)
    for _ in range(10):
        env.reset(options=dict(state=env.random_state(rng)))
        action = lookahead_policy(env)
        best = max(env.reward(env.apply(env.state, a)) for a in range(env.num_actions))
        if best > env.reward():
            assert env.reward(env.apply(env.state, action)) == best
        else:
            assert action == env.num_actions - 1


def test_random_lookahead_and_network_policies_play_whole_episodes():
    env = small_env(start="random", max_steps=6)
    greedy = play_policy(env, lookahead_policy, seed=1)
    assert (np.diff(greedy.rewards) >= 0).all()
    random = play_policy(env, lookahead_policy, epsilon=1.0, seed=1)
    assert random.actions.shape == (6,) and not np.array_equal(random.actions, greedy.actions)
    net = make_q_network(env.observation_size, env.num_actions, "linear")
    assert np.array_equal(play_policy(env, q_network_policy(net), seed=2).actions,
                          play_episode(env, net, seed=2).actions)


def test_a_frozen_q_table_finds_the_target_only_from_states_it_has_learned_well():
    env = reduced_env()
    short = q_learning(env, steps=3000, reset_every=500, seed=0)
    long = q_learning(env, steps=10_000, reset_every=20, seed=0)
    assert short.visits.sum() == 3000 and (short.visits == 0).sum() > (long.visits == 0).sum()
    well = steps_to_ceiling(env, q_table_policy(long.q_table))
    assert np.isfinite(well).all() and well.max() <= 6
    assert (well == 0).sum() == (env.reward_table() == 0).sum()
    assert np.isnan(steps_to_ceiling(env, q_table_policy(short.q_table))).sum() > 0
    with pytest.raises(BadParameterError, match="q_table has shape"):
        q_table_policy(np.zeros((3, 6)))(env)


# ----- saving and loading agents ---------------------------------------------------------------
def test_a_saved_agent_loads_with_the_same_network_curves_and_launchpad(tmp_path):
    env = small_env(start="random")
    config = tiny_dqn_config(steps=300, eval_every=150)
    run = train_dqn(env, config, q_function="mlp", seed=0, quiet=True)
    path = save_agent(tmp_path / "agent.pt", run, env, config, {"seed": 0, "command": "test"})
    agent = load_agent(path)
    assert agent.env_settings == env.settings() and agent.config == config
    assert agent.extra == {"seed": 0, "command": "test"}
    assert np.array_equal(agent.run.eval_rewards, run.eval_rewards)
    assert np.array_equal(agent.run.episode_steps, run.episode_steps)
    obs = torch.from_numpy(env.observation(env.random_state(np.random.default_rng(0))))[None]
    assert torch.equal(agent.run.network(obs), run.network(obs))
    assert agent.policy()(env) == q_network_policy(run.network)(env)


def test_loading_anything_but_a_launchpad_agent_fails_clearly(tmp_path):
    with pytest.raises(BadFileError, match="does not exist"):
        load_agent(tmp_path / "missing.pt")
    other = save_checkpoint(tmp_path / "other.pt", torch.nn.Linear(2, 2), kind="note_rnn")
    with pytest.raises(CheckpointMismatchError, match="launchpad_dqn"):
        load_agent(other)
    partial = save_checkpoint(tmp_path / "partial.pt", torch.nn.Linear(2, 2), DQNConfig.fast(),
                              kind="launchpad_dqn")
    with pytest.raises(CheckpointMismatchError, match="not a complete launchpad agent"):
        load_agent(partial)
    with pytest.raises(UnknownNameError, match="launchpad_dqn_mlp"):
        load_agent("launchpad_dqn_cnn")


@pytest.mark.parametrize("name,q_function", [("launchpad_dqn_mlp", "mlp"),
                                             ("launchpad_dqn_linear", "linear")])
def test_shipped_agents_are_registered_with_their_command_and_learned(name, q_function):
    assert f"--q-function {q_function}" in SHIPPED[name].command
    assert SHIPPED[name].command.endswith(f"--out data/checkpoints/{SHIPPED[name].file}")
    agent = load_agent(name)
    assert agent.run.q_function == q_function and agent.config == DQNConfig.fast()
    assert agent.env_settings["notes"] == 8 and agent.env_settings["beats_log2"] == 4
    stored = agent.extra["command"].replace(" --quiet", "")
    assert stored.split(" train ")[1] == SHIPPED[name].command.split(" train ")[1]
    assert agent.run.eval_steps.tolist() == list(range(0, 6001, 500))
    assert shipped_path(name).stat().st_size < 4_000_000


def test_the_shipped_mlp_learned_more_than_the_linear_q_function():
    mlp, linear = load_agent("launchpad_dqn_mlp").run, load_agent("launchpad_dqn_linear").run
    assert mlp.eval_rewards[-1] > mlp.eval_rewards[0] + 15
    assert mlp.eval_rewards[-1] > linear.eval_rewards[-1] + 10


@pytest.mark.slow
def test_the_training_command_writes_an_agent_that_loads(tmp_path, capsys):
    out = tmp_path / "agent.pt"
    args = ["launchpad", "train", "--q-function", "linear", "--steps", "500", "--out", str(out),
            "--quiet"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("linear DQN on 8 notes x 16 steps: evaluation reward ")
    assert f"wrote {out}" in printed
    agent = load_agent(out)
    assert agent.config.steps == 500 and agent.run.q_function == "linear"
    assert agent.extra["command"] == "musiclab " + " ".join(args)
    assert agent.make_env().num_actions == 73
    assert main(["launchpad", "train", "--notes", "30", "--out", str(out), "--quiet"]) == 2
    assert "notes" in capsys.readouterr().err


def test_train_agent_takes_typed_options_and_returns_what_load_agent_gives(tmp_path):
    agent, path = train_agent(tmp_path / "agent.pt", q_function="linear", steps=20, notes=2,
                              beats_log2=2, k=4, max_steps=4, quiet=True, command="test")
    loaded = load_agent(path)
    assert loaded.env_settings == agent.env_settings and loaded.config == agent.config
    assert loaded.extra == agent.extra and agent.extra["command"] == "test"
    assert np.array_equal(loaded.run.eval_rewards, agent.run.eval_rewards)
    assert loaded.summary() == agent.summary()
    assert agent.summary().startswith("linear DQN on 2 notes x 4 steps: evaluation reward ")
    with pytest.raises(UnknownNameError, match="'fast', 'paper'"):
        train_agent(tmp_path / "x.pt", preset="huge", quiet=True)
    assert not (tmp_path / "x.pt").exists()


def test_the_launchpad_is_imported_only_by_the_command_line_and_the_gymnasium_registry():
    """``musiclab/launchpad/`` rests on the foundations; only the command line (``musiclab/cli/``) and
    ``musiclab/envs/__init__.py`` (which registers ``musiclab/Launchpad-v0``) import it (and the
    exercises of notebook 06, in the layer above the systems)."""
    package = Path(musiclab.__file__).parent
    importers = sorted(str(path.relative_to(package)) for path in package.rglob("*.py")
                       if path.parent.name != "launchpad" and path.parent.name != "exercises"
                       and re.search(r"^\s*(from|import) musiclab\.launchpad\b|^\s*from musiclab "
                                     r"import .*\blaunchpad\b", path.read_text(), re.M))
    assert importers == ["cli/commands.py", "envs/__init__.py"]
    for path in (package / "launchpad").glob("*.py"):
        for name in re.findall(r"^\s*(?:from|import) (musiclab\.\w+(?:\.\w+)?)", path.read_text(),
                               re.M):
            assert name.split(".")[1] in FOUNDATIONS or name in ("musiclab.plots.core",
                                                                 "musiclab.plots.training"), \
                f"{path.name} imports {name}"


# ----- figures -----------------------------------------------------------------------------------
def gids(ax, name: str) -> int:
    """How many artists of an Axes carry the gid ``name``."""
    return sum(artist.get_gid() == name for artist in ax.get_children())


def test_the_basis_figure_lights_every_step_once():
    ax = plots.launchpad_basis(4)
    assert gids(ax, "cell") == 16 and len(ax.get_yticklabels()) == 5
    assert ax.get_yticklabels()[-1].get_text() == "b0: every 2 from 0"


def test_the_q_table_heatmap_circles_the_greedy_actions_and_greys_untried_ones():
    env = reduced_env()
    run = q_learning(env, steps=3000, reset_every=500, seed=0)
    ax = plots.q_table_heatmap(run.q_table, env, run.visits)
    image = next(a for a in ax.get_children() if a.get_gid() == "q")
    assert image.get_array().shape == (32, 6)
    assert image.get_array().mask.sum() == (run.visits == 0).sum()
    greedy = next(a for a in ax.get_children() if a.get_gid() == "greedy")
    assert len(greedy.get_xdata()) == 32
    assert ax.get_yticklabels()[0].get_text().endswith("r 0")  # best states first
    with pytest.raises(BadParameterError, match="q_table has shape"):
        plots.q_table_heatmap(np.zeros((4, 6)), env)


def test_reward_trace_beta_sweep_and_dqn_figures_mark_what_they_promise():
    run = q_learning(reduced_env(), steps=1000, reset_every=250, seed=0)
    ax = plots.reward_trace(run.rewards, run.reset_steps, run.ceiling)
    assert gids(ax, "reset") == 3 and gids(ax, "ceiling") == 1 and gids(ax, "reward") == 1
    sweep = beta_sweep(reduced_env(), [0.01, 0.2, 10], repeats=4, explore_steps=50, quiet=True)
    ax = plots.beta_sweep_curve(sweep)
    assert ax.get_xscale() == "log" and gids(ax, "best") == 1
    mlp, linear = load_agent("launchpad_dqn_mlp").run, load_agent("launchpad_dqn_linear").run
    ax = plots.dqn_curves([linear, mlp], reference={"random": -60.0})
    assert gids(ax, "eval") == 2 and gids(ax, "train") == 2 and gids(ax, "reference") == 1


def test_bar_versus_nearest_rings_every_differing_pad_on_both_sides():
    rng = np.random.default_rng(15)
    bar, nearest = rng.random((8, 16)) < 0.2, rng.random((8, 16)) < 0.2
    ax = plots.bar_vs_nearest(bar, nearest, low_pitch=55)
    assert gids(ax, "diff") == 2 * int((bar != nearest).sum())
    assert gids(ax, "cell") == int(bar.sum() + nearest.sum())
    assert ax.get_yticklabels()[0].get_text() == "G3"
    with pytest.raises(BadParameterError, match="same shape"):
        plots.bar_vs_nearest(bar, nearest[:4])
