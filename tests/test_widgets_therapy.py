"""The therapy-session panel (musiclab.therapy.panel), driven without a browser, and its figure."""
from __future__ import annotations

import numpy as np
import pytest

from musiclab.checkpoints import load_model
from musiclab.errors import MusiclabError
from musiclab.rl.q_network import QNetwork
from musiclab.therapy.personaliser_config import PersonaliserConfig
from musiclab.therapy.panel import TherapyPanel
from musiclab.therapy.profiles import ProfileStore

TINY = PersonaliserConfig(episodes=32, batch_size=32, train_every=1, candidates=2, scale_pieces=32)


class FakeClock:
    """Seconds that the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def q_net():
    """A small c-conditioned Q-network: the shipped fast Note-RNN before tuning."""
    return QNetwork.from_model(load_model("note_rnn_fast", device="cpu"), "dqn", conditioned=True, c=0.2)


@pytest.fixture()
def store(tmp_path):
    with ProfileStore(tmp_path / "profiles.sqlite3", hashing="interactive") as opened:
        yield opened


def test_reactions_before_signing_in_or_before_a_piece_are_explained_errors(q_net, store):
    panel = TherapyPanel(store, q_net, TINY, play=False)
    with pytest.raises(MusiclabError, match="sign in"):
        panel.next_piece()
    panel.sign_up("ada", "secret")
    with pytest.raises(MusiclabError, match="next piece"):
        panel.react(1.0)


def test_a_reaction_during_playback_is_stored_at_the_step_playing(q_net, store):
    clock = FakeClock()
    panel = TherapyPanel(store, q_net, TINY, play=False, clock=clock)
    panel.sign_up("ada", "secret", {"tempo": 60.0})
    piece_id = panel.next_piece()
    clock.now += 2.6  # 2.6 s at 60 quarters per minute: step 10
    event = panel.react(1.0)
    assert (event.piece_id, event.position, event.unit) == (piece_id, 10.0, "step")
    clock.now += 100.0  # long after the end: the last step
    assert panel.react(-1.0).position == 31.0
    panel.react(0.9, "calm", seconds=1.0)
    assert len(store.feedback(panel.profile, piece_id)) == 3
    assert panel.satisfaction == [pytest.approx((1 + 0 + 0.9) / 3)]


def test_each_press_is_acknowledged_in_the_status_line(q_net, store):
    clock = FakeClock()
    panel = TherapyPanel(store, q_net, TINY, play=False, clock=clock)
    panel.sign_up("ada", "secret", {"tempo": 60.0})
    panel.next_piece()
    clock.now += 2.6
    panel.more.click()
    assert "more like this" in panel.status.value and "2.6 s" in panel.status.value
    assert "step 10" in panel.status.value and "1 reaction on" in panel.status.value
    panel.less.click()
    assert "less like this" in panel.status.value and "2 reactions" in panel.status.value
    panel.calm.value = 0.8
    assert "calm-o-meter 0.80" in panel.status.value


@pytest.mark.slow
def test_next_piece_retunes_on_feedback_saves_and_a_new_sign_in_resumes(q_net, store):
    panel = TherapyPanel(store, q_net, TINY, play=False, clock=FakeClock())
    panel.sign_up("ada", "secret")
    panel.next_piece()
    panel.react(1.0, seconds=3.0)
    panel.react(-1.0, seconds=5.0)
    second = panel.next_piece()  # re-tunes on the two reactions, then saves
    assert store.model_version(panel.profile) == 1 and len(panel.personaliser.rounds) == 1
    assert store.piece(panel.profile, second).events.shape == (32,)
    tuned = panel.personaliser.q_net.body.head.weight.detach().clone()
    again = TherapyPanel(store, q_net, TINY, play=False, scale=panel.scale)
    again.sign_in("ada", "secret")
    assert again.personaliser.q_net.body.head.weight.detach().equal(tuned)
    assert again.personaliser.preference.count == 2


def test_the_buttons_show_errors_in_the_status_line_and_sign_in_works_from_the_fields(q_net, store):
    panel = TherapyPanel(store, q_net, TINY, play=False)
    panel.more.click()
    assert "sign in" in panel.status.value
    store.sign_up("bob", "pw")
    panel.name.value, panel.password.value = "bob", "wrong"
    panel.widget.children[0].children[2].click()
    assert "wrong password" in panel.status.value and panel.profile is None
    panel.password.value = "pw"
    panel.widget.children[0].children[2].click()
    assert panel.profile.name == "bob" and "bob" in panel.status.value


def test_the_panel_plays_each_piece_and_plots_satisfaction(q_net, store):
    panel = TherapyPanel(store, q_net, TINY, play=True, clock=FakeClock())
    panel.sign_up("cy", "pw")
    panel.next_piece()
    panel.react(1.0, seconds=1.0)
    audio = [o for o in panel._player.outputs if "text/html" in o.get("data", {})]
    assert audio and "<audio" in audio[0]["data"]["text/html"]
    shown = [o.get("data", {}) for o in panel._plot.outputs]  # a PNG in a kernel, the Figure's repr outside
    assert shown and ("image/png" in shown[0] or "Figure" in shown[0]["text/plain"])
    assert np.isclose(panel.satisfaction[0], 1.0)


def test_the_satisfaction_curve_draws_a_point_per_piece_or_the_median_of_many_listeners():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from musiclab.errors import BadParameterError
    from musiclab.therapy.plots import satisfaction_curve

    ax = satisfaction_curve([0.2, 0.6, 1.0], target=0.8, title="one listener")
    points = [line for line in ax.lines if line.get_gid() == "piece"]
    assert len(points) == 1 and list(points[0].get_xdata()) == [1, 2, 3]
    plt.close(ax.figure)
    ax = satisfaction_curve(np.array([[0.2, 0.4], [0.6, 0.8], [1.0, 1.0]]))
    assert "median of 3 listeners" in [line.get_label() for line in ax.lines]
    plt.close(ax.figure)
    with pytest.raises(BadParameterError, match="satisfaction"):
        satisfaction_curve(np.zeros((2, 2, 2)))
