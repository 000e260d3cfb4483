"""The therapy-session panel of notebook 07: sign in, listen, react while it plays, next piece.

:class:`TherapyPanel` keeps the logic in methods the buttons call (:meth:`~TherapyPanel.sign_up`,
:meth:`~TherapyPanel.sign_in`, :meth:`~TherapyPanel.next_piece`, :meth:`~TherapyPanel.react`), so
it works and is tested without a browser. A reaction refers to the moment of the piece playing when
it is given: the seconds since "next piece" started the player (``clock``), mapped to a step with
the listener's tempo. "Next piece" first re-tunes the listener's generator on the feedback so far
(:meth:`musiclab.therapy.feedback.Personaliser.personalise`) and saves it to their profile.
"""
from __future__ import annotations

import time
from typing import Callable

import ipywidgets as widgets
import numpy as np

from musiclab.audio import check_sample_rate, play_melody
from musiclab.errors import BadParameterError, MusiclabError
from musiclab.rl.q_network import QNetwork
from musiclab.therapy.feedback import Personaliser, record_feedback
from musiclab.therapy.personaliser_config import PersonaliserConfig
from musiclab.therapy.preference import FeatureScale, feedback_target
from musiclab.therapy.profiles import ProfileStore
from musiclab.therapy.records import FeedbackEvent, Preferences, Profile


class TherapyPanel:
    """A listener's therapy session (notebook 07).

    ``store``: the profiles database; ``q_net``: the starting generator of every new listener;
    ``config``/``scale``: for their :class:`~musiclab.therapy.feedback.Personaliser` (share one ``scale``
    to skip fitting it per listener). ``play=False`` skips sound (tests); ``clock`` gives seconds
    (default ``time.monotonic``); ``seed`` makes the pieces reproducible.
    """

    def __init__(self, store: ProfileStore, q_net: QNetwork, config: PersonaliserConfig | None = None,
                 scale: FeatureScale | None = None, *, play: bool = True, sample_rate: int = 16000,
                 clock: Callable[[], float] = time.monotonic, seed: int = 0) -> None:
        if not isinstance(store, ProfileStore):
            raise BadParameterError(f"store must be a ProfileStore, got {type(store).__name__}")
        if not isinstance(q_net, QNetwork):
            raise BadParameterError(f"q_net must be a tuned QNetwork, got {type(q_net).__name__}")
        self.store, self.q_net, self.config, self.scale = store, q_net, config, scale
        self.sample_rate = check_sample_rate(sample_rate)
        self.clock, self.seed, self._play = clock, int(seed), play
        self.profile: Profile | None = None
        self.personaliser: Personaliser | None = None
        self.piece_id: int | None = None
        self.piece: np.ndarray | None = None
        self.started: float | None = None
        self.reactions: dict[int, list[float]] = {}
        self._pending = False
        self._build()

    # ----------------------------------------------------------------- logic

    def sign_up(self, name: str, password: str, preferences: Preferences | dict | None = None) -> Profile:
        """Make a new profile and start its session."""
        return self._start(self.store.sign_up(name, password, preferences))

    def sign_in(self, name: str, password: str) -> Profile:
        """Sign in and resume the profile's saved generator (if it has one)."""
        return self._start(self.store.sign_in(name, password))

    def _start(self, profile: Profile) -> Profile:
        self.profile = profile
        self.personaliser = Personaliser(self.q_net, self.config, self.scale)
        self.scale = self.personaliser.scale
        resumed = self.personaliser.restore(self.store, profile)
        self.piece_id = self.piece = self.started = None
        self.reactions, self._pending = {}, False
        self._say(f"Signed in as <b>{profile.name}</b>"
                  f"{' (your personalised generator is back)' if resumed else ''}. Press <i>next piece</i>.")
        self._refresh()
        return profile

    @property
    def satisfaction(self) -> list[float]:
        """Satisfaction with each piece of this session that got reactions, in order: the mean liking
        target of its reactions (share of "more like this" for ±1 reactions, mean calm reading), 0..1."""
        return [float(np.mean([feedback_target(value, kind) for value, kind in pairs]))
                for pairs in (self.reactions[k] for k in sorted(self.reactions)) if pairs]

    def next_piece(self) -> int:
        """Re-tune on new feedback (and save), compose and store the next piece, start playing it;
        returns its piece id."""
        personaliser = self._signed_in()
        if self._pending:
            report = personaliser.personalise()
            personaliser.save(self.store, self.profile)
            self._pending = False
            if report is not None:
                self._say(f"Re-tuned in {report.seconds:.1f} s on {report.examples} reactions.")
        number = len(self.store.pieces(self.profile))
        self.piece = personaliser.compose_piece(seed=self.seed + number)
        prefs = self.profile.preferences
        self.piece_id = self.store.add_piece(self.profile, self.piece, {
            "seed": self.seed + number, "c": personaliser.c, "tempo": prefs.tempo,
            "instrument": prefs.instrument, "model_version": self.store.model_version(self.profile)})
        self.reactions[self.piece_id] = []
        if self._play:
            self._player.outputs = ()
            self._player.append_display_data(play_melody(
                self.piece, tempo_bpm=prefs.tempo, program=prefs.instrument, sample_rate=self.sample_rate,
                max_seconds=None))
        self.started = self.clock()
        self._refresh()
        return self.piece_id

    def react(self, value: float, kind: str = "more_less", seconds: float | None = None) -> FeedbackEvent:
        """A reaction to the playing piece (``seconds`` into it; default: since it started): stored
        with the step it refers to, and learned from at once."""
        personaliser = self._signed_in()
        if self.piece_id is None:
            raise MusiclabError("no piece is playing: press 'next piece' first")
        if seconds is None:
            seconds = max(0.0, self.clock() - self.started)
        event = record_feedback(self.store, self.profile, self.piece_id, seconds, value,
                                self.profile.preferences.tempo, kind, len(self.piece))
        personaliser.observe(self.piece, int(event.position), event.value, kind)
        self.reactions[self.piece_id].append((event.value, kind))
        self._pending = True
        self._say(self._acknowledgement(event, seconds))
        self._refresh()
        return event

    def _acknowledgement(self, event: FeedbackEvent, seconds: float) -> str:
        """The status line after a reaction: what was heard, where, and what happens next."""
        if event.kind == "calm":
            what = f"calm-o-meter {event.value:.2f}"
        else:
            what = "more like this" if event.value > 0 else "less like this"
        count = len(self.reactions[self.piece_id])
        return (f"Noted: <b>{what}</b> at {seconds:.1f} s (step {int(event.position)} of the piece). "
                f"{count} reaction{'s' * (count != 1)} on this piece; press <b>next piece</b> to hear "
                f"them taken into account.")

    def _signed_in(self) -> Personaliser:
        if self.personaliser is None:
            raise MusiclabError("sign in or sign up first")
        return self.personaliser

    # ----------------------------------------------------------------- widgets

    def _build(self) -> None:
        self.name = widgets.Text(description="name")
        self.password = widgets.Password(description="password")
        sign_in = widgets.Button(description="sign in")
        sign_up = widgets.Button(description="sign up")
        self.next_button = widgets.Button(description="next piece", button_style="primary", icon="play")
        self.more = widgets.Button(description="more like this", icon="thumbs-up", button_style="success")
        self.less = widgets.Button(description="less like this", icon="thumbs-down", button_style="warning")
        self.calm = widgets.FloatSlider(value=0.5, min=0.0, max=1.0, step=0.05, description="calm-o-meter",
                                        continuous_update=False)
        self.status = widgets.HTML("Sign in or sign up to begin.")
        self._player, self._plot = widgets.Output(), widgets.Output()
        sign_in.on_click(lambda _: self._guard(lambda: self.sign_in(self.name.value, self.password.value)))
        sign_up.on_click(lambda _: self._guard(lambda: self.sign_up(self.name.value, self.password.value)))
        self.next_button.on_click(lambda _: self._guard(self.next_piece))
        self.more.on_click(lambda _: self._guard(lambda: self.react(1.0)))
        self.less.on_click(lambda _: self._guard(lambda: self.react(-1.0)))
        self.calm.observe(lambda change: self._guard(lambda: self.react(change["new"], "calm")), names="value")
        self.widget = widgets.VBox([
            widgets.HBox([self.name, self.password, sign_in, sign_up]),
            widgets.HBox([self.next_button, self.more, self.less, self.calm]),
            self.status, self._player, self._plot])

    def _guard(self, action: Callable[[], object]) -> None:
        """Run a button's action; a musiclab error is shown in the status line instead of raised."""
        try:
            action()
        except MusiclabError as error:
            self._say(f"<span style='color:#b03a2e'>{error}</span>")

    def _say(self, text: str) -> None:
        self.status.value = text

    def _refresh(self) -> None:
        """Redraw the satisfaction plot of this session."""
        if not self._play:
            return
        values = self.satisfaction
        self._plot.outputs = ()
        if values:
            import matplotlib.pyplot as plt

            from musiclab.therapy.plots import satisfaction_curve

            ax = satisfaction_curve(values, title=f"{self.profile.name}: satisfaction this session")
            self._plot.append_display_data(ax.figure)
            plt.close(ax.figure)

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)
