"""The playable launchpad panel of notebook 06, driven without a browser through the methods its
buttons call."""
from __future__ import annotations

import numpy as np
import pytest

from musiclab.errors import BadParameterError, UnknownNameError
from musiclab.launchpad.agents import lookahead_policy, q_learning, q_table_policy
from musiclab.launchpad.buttons import LaunchpadState
from musiclab.launchpad.env import LaunchpadEnv, reduced_env
from musiclab.launchpad.panel import LaunchpadPanel


def small_env(**kwargs) -> LaunchpadEnv:
    """Four notes x 16 steps with four random target bars."""
    bars = np.random.default_rng(0).random((6, 4, 16)) < 0.15
    return LaunchpadEnv(bars, notes=4, beats_log2=4, k=4, seed=0, **kwargs)


def lit_pads(panel: LaunchpadPanel) -> int:
    """Lit pads in the panel's view of "your bar" (the first of the two grids)."""
    yours = panel.bar_view.value.split("nearest real bar")[0]
    return yours.count('class="lit"')


def test_the_grid_has_a_button_per_basis_vector_and_per_shift_of_every_note():
    env = small_env()
    panel = LaunchpadPanel(env, play=False)
    assert len(panel.toggle_buttons) == len(panel.shift_buttons) == env.notes
    assert all(len(row) == env.beats_log2 + 1 for row in panel.toggle_buttons)
    assert [b.description for b in panel.shift_buttons[0]] == ["+1", "+2", "+4", "+8"]
    assert "every 4 steps from step 1" in panel.toggle_buttons[2][1].tooltip
    assert panel.agent_button.disabled  # no agent given


def test_pressing_a_button_toggles_that_basis_vector_and_lights_its_steps():
    env = small_env()
    panel = LaunchpadPanel(env, play=False)
    before = env.bar().copy()
    reward = panel.press(2, 1)
    assert env.state.toggles[2, 1] and env.state.toggles.sum() == 1
    assert np.array_equal(env.bar() ^ before, np.eye(4, dtype=bool)[2][:, None] & env.basis[1])
    assert panel.toggle_buttons[2][1].button_style == "warning"
    assert reward == panel.reward == env.reward() == panel.rewards[-1]
    assert lit_pads(panel) == int(env.bar().sum()) == 4
    panel.press(2, 1)
    assert not env.state.toggles.any() and panel.toggle_buttons[2][1].button_style == ""
    assert panel.history == ["start", "you: toggle basis 1 of B3", "you: toggle basis 1 of B3"]


def test_clicking_the_buttons_calls_press_and_shift():
    env = small_env()
    panel = LaunchpadPanel(env, play=False)
    panel.toggle_buttons[0][3].click()  # basis 3: step 7 only
    panel.shift_buttons[0][2].click()  # 4 steps later
    assert env.state.toggles[0, 3] and env.state.offsets[0] == 4
    assert panel.offset_labels[0].value == "off 4"
    assert np.flatnonzero(env.bar()).tolist() == [11]


def test_the_readout_shows_the_reward_the_ceiling_and_the_nearest_real_bar():
    env = small_env()
    panel = LaunchpadPanel(env, play=False)
    panel.press(1, 0)
    nearest, distance = env.nearest_target()
    assert f"reward {env.reward():.0f}" in panel.readout.value
    assert f"best possible {env.reward_ceiling():.0f}" in panel.readout.value
    assert f"target {nearest}, {distance} cells differ" in panel.readout.value
    assert distance == -env.reward()


def test_the_agent_takes_one_action_per_step_and_a_lookahead_agent_never_loses_reward():
    env = small_env(start="random")
    panel = LaunchpadPanel(env, lookahead_policy, play=False)
    for _ in range(12):
        panel.agent_step()
    assert len(panel.rewards) == 13
    assert all(b >= a for a, b in zip(panel.rewards, panel.rewards[1:]))
    assert panel.rewards[-1] > panel.rewards[0]
    assert all(entry.startswith("agent: ") for entry in panel.history[1:])


def test_a_well_trained_tabular_agent_recovers_the_target_after_every_perturbation():
    env = reduced_env()
    run = q_learning(env, steps=10_000, reset_every=20, seed=0)  # every state visited often
    panel = LaunchpadPanel(env, q_table_policy(run.q_table), play=False)
    for seed in range(10):
        panel.perturb(seed=seed)
        for _ in range(6):
            if panel.reward == run.ceiling:
                break
            panel.agent_step()
        assert panel.reward == run.ceiling == 0.0


def test_perturbations_are_reproducible_and_transposition_moves_the_pattern():
    env = small_env()
    one = LaunchpadPanel(env, play=False, seed=3)
    two = LaunchpadPanel(small_env(), play=False, seed=3)
    one.perturb(seed=7)
    two.perturb(seed=7)
    assert np.array_equal(one.env.bar(), two.env.bar())
    one.perturb()  # the panel's own generator: different from the last state, same in both panels
    two.perturb()
    assert np.array_equal(one.env.bar(), two.env.bar())
    state = LaunchpadState(np.zeros((4, 5), bool), np.zeros(4, dtype=np.int64))
    state.toggles[1, 0] = True
    panel = LaunchpadPanel(small_env(), play=False, state=state)
    panel.perturb(seed=0, kind="transpose")
    moved = panel.history[-1]
    rows = int(moved.split()[2]) * (1 if "up" in moved else -1)
    expected = np.zeros((4, 16), bool)
    if 0 <= 1 + rows < 4:
        expected[1 + rows] = panel.env.basis[0]
    assert np.array_equal(panel.env.bar(), expected)


def test_clear_switches_everything_off():
    env = small_env(start="random")
    panel = LaunchpadPanel(env, play=False)
    assert env.bar().any()
    panel.clear()
    assert not env.bar().any() and lit_pads(panel) == 0
    assert panel.reward == -min(int(t.sum()) for t in env.targets)


def test_every_change_puts_a_player_of_the_new_bar_in_the_output_when_play_is_on():
    env = small_env()
    panel = LaunchpadPanel(env, play=True, sample_rate=8000, tempo_bpm=240)
    panel.press(0, 4)
    panel.press(3, 0)
    assert len(panel.output.outputs) == 1  # each new bar replaces the last player
    html = panel.output.outputs[0]["data"]["text/html"]
    assert "<audio" in html and "base64" in html
    assert "autoplay" not in html  # a change made from code (Run All) waits for the student's click
    panel.autoplay.value = False
    panel.press(3, 0)
    assert len(panel.output.outputs) == 1 and panel.output.outputs[0]["data"]["text/html"] == html


def test_a_click_on_a_panel_button_plays_the_new_bar_at_once():
    env = small_env()
    panel = LaunchpadPanel(env, play=True, sample_rate=8000, tempo_bpm=240)
    panel.toggle_buttons[0][4].click()
    assert "autoplay" in panel.output.outputs[0]["data"]["text/html"]
    panel.press(3, 0)  # from code again: no autoplay
    assert "autoplay" not in panel.output.outputs[0]["data"]["text/html"]
    panel.play_button.click()
    assert "autoplay" in panel.output.outputs[0]["data"]["text/html"]


def test_bad_input_names_the_parameter():
    env = small_env()
    panel = LaunchpadPanel(env, play=False)
    with pytest.raises(BadParameterError, match=r"note must be an integer in \[0, 3\]"):
        panel.press(4, 0)
    with pytest.raises(BadParameterError, match=r"k must be an integer in \[0, 4\]"):
        panel.press(0, 5)
    with pytest.raises(BadParameterError, match="no agent"):
        panel.agent_step()
    with pytest.raises(UnknownNameError, match="transpose"):
        panel.perturb(kind="sideways")
    with pytest.raises(BadParameterError, match="sample_rate"):
        LaunchpadPanel(env, sample_rate=100)
    with pytest.raises(BadParameterError, match="env must be a LaunchpadEnv"):
        LaunchpadPanel("launchpad")
    with pytest.raises(BadParameterError, match="policy must be"):
        LaunchpadPanel(env, policy=3)
