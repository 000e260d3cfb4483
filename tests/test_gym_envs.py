"""The kit's Gymnasium environments: registered ids, Gymnasium's own checker, seeding, rewards, errors."""
from __future__ import annotations

import warnings

import gymnasium
import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env

import musiclab.envs
from musiclab.data.melody import NUM_CLASSES
from musiclab.envs import LAUNCHPAD_ID, LAUNCHPAD_SETTINGS, MELODY_ID
from musiclab.envs.baselines import launchpad_policy, play_episode
from musiclab.errors import BadParameterError, UnknownNameError
from musiclab.launchpad.env import LaunchpadEnv
from musiclab.rl.rules import rule_set
from musiclab.rl.targets import total_reward


@pytest.fixture(scope="module")
def note_rnn():
    from musiclab.checkpoints import load_model

    return load_model("note_rnn_fast", device="cpu")


def melody_env(note_rnn, **options):
    return gymnasium.make(MELODY_ID, model=note_rnn, **options)


# ----- registration and Gymnasium's checker ------------------------------------------------------
@pytest.mark.parametrize("env_id, options", [(LAUNCHPAD_ID, {}), (MELODY_ID, {"c": 0.5}),
                                             (MELODY_ID, {"rules": "classic_lstm", "primer_steps": 2})])
def test_both_environments_pass_gymnasiums_checker_without_a_warning(env_id, options):
    env = gymnasium.make(env_id, **options)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env.unwrapped)  # its spec lets the checker make and render every render mode
    assert [str(w.message) for w in caught] == []


def test_the_launchpad_id_makes_the_shipped_agents_launchpad():
    env = gymnasium.make(LAUNCHPAD_ID).unwrapped
    assert isinstance(env, LaunchpadEnv)
    assert {key: env.settings()[key] for key in LAUNCHPAD_SETTINGS} == LAUNCHPAD_SETTINGS
    assert env.action_space == gymnasium.spaces.Discrete(8 * (2 * 4 + 1) + 1)
    assert env.observation_space.shape == (8 * (4 + 1 + 16),)
    bigger = gymnasium.make(LAUNCHPAD_ID, notes=12, beats_log2=3).unwrapped
    assert (bigger.notes, bigger.bar_steps) == (12, 8)


def test_importing_the_package_twice_registers_each_id_once():
    import importlib

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        importlib.reload(musiclab.envs)
    assert not caught
    assert {LAUNCHPAD_ID, MELODY_ID} <= set(gymnasium.registry)


# ----- seeding ---------------------------------------------------------------------------------
def test_a_seeded_reset_gives_the_same_observation_and_other_seeds_can_differ(note_rnn):
    for env in (gymnasium.make(LAUNCHPAD_ID), melody_env(note_rnn, primer_steps=4)):
        first, _ = env.reset(seed=7)
        env.step(env.action_space.sample())
        again, _ = env.reset(seed=7)
        assert np.array_equal(first, again)
        others = [env.reset(seed=seed)[0] for seed in range(8, 12)]
        assert any(not np.array_equal(first, other) for other in others)


def test_an_unseeded_reset_continues_the_generator_so_episodes_differ():
    env = gymnasium.make(LAUNCHPAD_ID)
    first, _ = env.reset(seed=3)
    second, _ = env.reset()
    assert not np.array_equal(first, second)
    assert np.array_equal(env.reset(seed=3)[0], first) and np.array_equal(env.reset()[0], second)


# ----- the melody environment: reward, observation, episode ------------------------------------
def test_the_melody_reward_is_log_p_plus_the_rules_over_c(note_rnn):
    env = melody_env(note_rnn, rules="rl_tuner", c=0.5)
    env.reset(seed=0)
    env.action_space.seed(0)
    rewards = []
    for _ in range(32):
        _, reward, terminated, truncated, info = env.step(env.action_space.sample())
        rewards.append(reward)
    melody = env.unwrapped.melody
    with torch.no_grad():
        log_p = note_rnn.next_log_probs(melody[None])[0].numpy()[np.arange(32), melody]
    rules = sum(rule_set("rl_tuner", 32).trace(melody).values())
    expected = total_reward(log_p, rules, 0.5)
    np.testing.assert_allclose(rewards, expected, rtol=1e-5, atol=1e-5)
    assert terminated and not truncated  # the piece is complete after 32 events
    assert info["rule_reward"] == pytest.approx(rules[-1])


def test_the_melody_observation_is_the_piece_one_hot_then_the_next_event_probabilities(note_rnn):
    env = melody_env(note_rnn, num_steps=8)
    obs, _ = env.reset()
    assert obs.shape == (9 * NUM_CLASSES,) and obs.dtype == np.float32
    assert obs[:8 * NUM_CLASSES].sum() == 0 and obs[8 * NUM_CLASSES:].sum() == pytest.approx(1, abs=1e-5)
    for event in (14, 1, 0):
        obs, *_ = env.step(event)
    rows = obs[:8 * NUM_CLASSES].reshape(8, NUM_CLASSES)
    assert rows[:3].argmax(axis=1).tolist() == [14, 1, 0] and rows.sum() == 3
    with torch.no_grad():
        expected = note_rnn.next_log_probs(np.array([[14, 1, 0, 0]]))[0, 3].exp().numpy()
    np.testing.assert_allclose(obs[8 * NUM_CLASSES:], expected, atol=1e-5)


def test_a_primer_option_starts_the_piece_and_shortens_the_episode(note_rnn):
    env = melody_env(note_rnn, num_steps=8)
    env.reset(options={"primer": [14, 1, 1]})
    assert env.unwrapped.melody.tolist() == [14, 1, 1]
    ends = [env.step(1)[2] for _ in range(5)]
    assert ends == [False] * 4 + [True] and env.unwrapped.melody.tolist() == [14] + [1] * 7


def test_the_melody_renders_as_text_and_as_a_piano_roll_frame(note_rnn):
    text_env = melody_env(note_rnn, num_steps=16, render_mode="ansi")
    text_env.reset()
    for event in (14, 1, 1, 1, 18, 0):
        text_env.step(event)
    text = text_env.render()
    assert text.splitlines()[0].split() == ["C4", "-", "-", "-", "E4", "off"]
    assert text.splitlines()[-1].startswith("step 6/16, return")
    frame_env = melody_env(note_rnn, num_steps=16, render_mode="rgb_array")
    frame_env.reset()
    frame_env.step(14)  # C4 (MIDI 60): 23 semitones below the top row, MIDI 83
    frame = frame_env.render()
    assert frame.shape == (36 * 4, 16 * 8, 3) and frame.dtype == np.uint8
    note = np.all(frame == (58, 110, 165), axis=2)
    assert set(np.flatnonzero(note.any(axis=1)) // 4) == {23} and note[:, 8:].sum() == 0


def test_the_launchpad_renders_its_bar_as_text_and_as_pads():
    env = gymnasium.make(LAUNCHPAD_ID, render_mode="ansi")
    env.reset(seed=0)
    lines = env.render().splitlines()
    bar = env.unwrapped.bar()
    assert len(lines) == 9 and lines[-1] == f"step 0/16, reward {env.unwrapped.reward():.0f}"
    assert [line.split()[1] for line in lines[:8]] == ["".join("●" if x else "·" for x in row)
                                                       for row in bar[::-1]]
    pads = gymnasium.make(LAUNCHPAD_ID, render_mode="rgb_array")
    pads.reset(seed=0)
    frame = pads.render()
    assert frame.shape == (8 * 12 + 2, 16 * 12 + 2, 3) and frame.dtype == np.uint8
    lit = np.all(frame[2::12, 2::12] == (0xff, 0xb0, 0x00), axis=2)  # one pixel per pad
    assert np.array_equal(lit, pads.unwrapped.bar()[::-1])


def test_a_launchpad_episode_is_truncated_at_its_time_limit():
    env = gymnasium.make(LAUNCHPAD_ID, max_steps=5)
    env.reset(seed=0)
    ends = [env.step(env.action_space.sample())[2:4] for _ in range(5)]
    assert ends == [(False, False)] * 4 + [(False, True)]


# ----- bad options -------------------------------------------------------------------------------
@pytest.mark.parametrize("options, error, words", [
    ({"rules": "jazz"}, UnknownNameError, "rule set"),
    ({"c": 0}, BadParameterError, "c must be"),
    ({"c": "0.5"}, BadParameterError, "c must be"),
    ({"num_steps": 0}, BadParameterError, "num_steps"),
    ({"primer_steps": 32}, BadParameterError, "primer_steps"),
    ({"model": "note_rnn_nonexistent"}, UnknownNameError, "note_rnn_nonexistent"),
])
def test_bad_melody_options_are_named(options, error, words):
    with pytest.raises(error, match=words):
        gymnasium.make(MELODY_ID, **options)


def test_rules_for_another_length_a_drum_model_and_unknown_render_modes_are_refused(note_rnn):
    from musiclab.rl.melody_env import MelodyEnv

    with pytest.raises(UnknownNameError, match="render_mode"):
        MelodyEnv(model=note_rnn, render_mode="human")
    with pytest.raises(BadParameterError, match="rules are for pieces of 16 steps"):
        melody_env(note_rnn, rules=rule_set("rl_tuner", 16), num_steps=32)
    with pytest.raises(BadParameterError, match="melody model"):
        gymnasium.make(MELODY_ID, model="drum_cnn_fast")


def test_bad_actions_reset_options_and_steps_past_the_end_are_named(note_rnn):
    env = melody_env(note_rnn, num_steps=2).unwrapped
    env.reset()
    for action in (-1, NUM_CLASSES, 1.0, True):
        with pytest.raises(BadParameterError, match=r"action must be an event"):
            env.step(action)
    env.step(14), env.step(1)
    with pytest.raises(BadParameterError, match="call reset"):
        env.step(1)
    with pytest.raises(UnknownNameError, match="reset option"):
        env.reset(options={"state": [14]})
    with pytest.raises(BadParameterError, match="primer must have fewer"):
        env.reset(options={"primer": [14, 1]})
    launchpad = gymnasium.make(LAUNCHPAD_ID).unwrapped
    with pytest.raises(UnknownNameError, match="reset option"):
        launchpad.reset(options={"primer": [1]})
    with pytest.raises(UnknownNameError, match="render_mode"):
        LaunchpadEnv(np.ones((1, 1, 4), bool), notes=1, beats_log2=2, k=1, render_mode="human")


# ----- off-the-shelf agents ----------------------------------------------------------------------
class _Constant:
    """Stands in for a stable-baselines3 model: always predicts ``action``."""

    def __init__(self, action):
        self.action = action

    def predict(self, obs, deterministic=False):
        return np.array(self.action), None


def test_a_model_becomes_a_launchpad_policy_and_plays_episodes(note_rnn):
    env = gymnasium.make(LAUNCHPAD_ID).unwrapped
    noop = env.num_actions - 1
    assert launchpad_policy(_Constant(noop))(env) == noop
    with pytest.raises(BadParameterError, match="predict"):
        launchpad_policy(object())
    start, _ = env.reset(seed=4)
    total, steps = play_episode(env, _Constant(noop), seed=4)
    assert steps == 16 and total == 16 * env.reward()  # the no-op keeps the start's reward
    assert np.array_equal(env.observation(env.state), start)


@pytest.mark.slow
def test_stable_baselines3_trains_on_both_environments(note_rnn):
    from musiclab.envs.baselines import train_off_the_shelf

    launchpad = gymnasium.make(LAUNCHPAD_ID).unwrapped
    model = train_off_the_shelf(launchpad, "dqn", steps=300, seed=0, reward_scale=1 / 128,
                                learning_starts=100)
    assert 0 <= launchpad_policy(model)(launchpad) < launchpad.num_actions
    melody = melody_env(note_rnn, num_steps=8).unwrapped
    model = train_off_the_shelf(melody, "ppo", steps=64, seed=0, n_steps=32, batch_size=16)
    total, steps = play_episode(melody, model, seed=0)
    assert steps == 8 and np.isfinite(total)
    with pytest.raises(UnknownNameError, match="algorithm"):
        train_off_the_shelf(melody, "a2c")
