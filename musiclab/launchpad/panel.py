"""The playable launchpad of notebook 06: press buttons, let an agent play, perturb, listen.

:class:`LaunchpadPanel` holds the logic in methods the buttons call (:meth:`~LaunchpadPanel.press`,
:meth:`~LaunchpadPanel.shift`, :meth:`~LaunchpadPanel.agent_step`, :meth:`~LaunchpadPanel.perturb`),
so it works and is tested without a browser. Its ``widget`` shows one row per note (highest on
top): a button per basis vector (amber when on), the note's offset and a button per offset shift;
then the controls, a reward readout, the bar next to the nearest real bar, and an ``Output`` in
which every new bar gets a player. A player starts by itself only after a click on the panel: a
change made from code (Run All included) shows a player that waits for the student's click.
"""
from __future__ import annotations

import html

import ipywidgets as widgets
import numpy as np

from musiclab.audio import check_sample_rate, player
from musiclab.errors import BadParameterError, check_choice, check_int, check_range
from musiclab.launchpad.buttons import LaunchpadState
from musiclab.launchpad.env import LaunchpadEnv

#: How :meth:`LaunchpadPanel.perturb` disturbs the state: a uniformly random state, or the
#: whole pattern moved 1-3 notes up or down (a key change).
PERTURBATIONS = ("random", "transpose")
#: Colours of the bar view: board, unlit and lit pads (as in
#: :func:`musiclab.launchpad.plots.launchpad_bar`).
BOARD, PAD_OFF, PAD_ON = "#1d1f27", "#2f333f", "#ffb000"


def bar_html(bar: np.ndarray, title: str, cell_px: int = 10) -> str:
    """One bar (bool ``[notes, steps]``, row 0 the lowest note) as an HTML grid of pads, highest
    note on top, a wider gap every quarter of the bar; lit pads carry ``class="lit"``."""
    notes, steps = bar.shape
    beat = max(1, steps // 4)
    rows = []
    for note in range(notes - 1, -1, -1):
        cells = "".join(
            f'<td class="{"lit" if bar[note, s] else "off"}" style="width:{cell_px}px;'
            f'height:{cell_px}px;padding:0;background:{PAD_ON if bar[note, s] else PAD_OFF};'
            f'border-left:{2 if s % beat == 0 and s else 0}px solid {BOARD}"></td>'
            for s in range(steps))
        rows.append(f"<tr>{cells}</tr>")
    return (f'<div style="display:inline-block;margin-right:16px;vertical-align:top">'
            f'<div style="font-size:12px">{html.escape(title)}</div>'
            f'<table style="border-collapse:separate;border-spacing:1px;background:{BOARD}">'
            f'{"".join(rows)}</table></div>')


class LaunchpadPanel:
    """A launchpad you and an agent play together (notebook 06).

    ``env``: the launchpad (its current state is the panel's state; episodes and time limits do
    not apply here). ``policy``: the agent, ``env -> action`` (e.g.
    ``musiclab.launchpad.dqn.q_network_policy(net)``); None leaves the launchpad to you. Every
    change updates the readout and, with ``play=True``, plays the new bar (``tempo_bpm``, at
    ``sample_rate`` Hz). ``seed`` drives :meth:`perturb` when it gets no seed of its own.
    """

    def __init__(self, env: LaunchpadEnv, policy=None, *, play: bool = True,
                 sample_rate: int = 16000, tempo_bpm: float = 100.0, seed: int = 0,
                 state: LaunchpadState | None = None):
        if not isinstance(env, LaunchpadEnv):
            raise BadParameterError(f"env must be a LaunchpadEnv, got {type(env).__name__}")
        if policy is not None and not callable(policy):
            raise BadParameterError(f"policy must be a function env -> action or None, "
                                    f"got {type(policy).__name__}")
        self.env, self.policy = env, policy
        self.sample_rate = check_sample_rate(sample_rate)
        self.tempo_bpm = float(check_range("tempo_bpm", tempo_bpm, 0.0, 400.0, low_open=True))
        self._rng = np.random.default_rng(check_int("seed", seed, 0))
        self.ceiling = env.reward_ceiling()
        self.rewards: list[float] = []  #: the reward after every change, the start included
        self.history: list[str] = []  #: what happened at every change, in words
        self._clicked = False  # True only while a button's click is being handled
        self._build(play)
        self._set_state(env.start_state() if state is None else env.check_state(state), "start")

    # ----- the methods the buttons call ------------------------------------------------------
    def press(self, note: int, basis: int) -> float:
        """Toggle basis vector ``basis`` of ``note`` (row 0 the lowest); return the new reward."""
        action = self.env.encode_action("toggle", note, basis)
        return self._act(action, "you")

    def shift(self, note: int, k: int) -> float:
        """Move ``note``'s pattern ``2^k`` steps later (modulo the bar); return the new reward."""
        action = self.env.encode_action("shift", note, k)
        return self._act(action, "you")

    def agent_step(self) -> float:
        """Let the agent take one action (one bar); return the new reward."""
        if self.policy is None:
            raise BadParameterError("this panel has no agent: give LaunchpadPanel a policy, "
                                    "e.g. musiclab.launchpad.dqn.q_network_policy(network)")
        return self._act(int(self.policy(self.env)), "agent")

    def perturb(self, seed: int | None = None, kind: str = "random") -> float:
        """Disturb the state (``kind``: ``"random"`` state or ``"transpose"`` by 1-3 notes up or
        down), drawn with ``seed`` (default: the panel's own generator); return the new reward."""
        check_choice("kind", kind, PERTURBATIONS)
        rng = self._rng if seed is None else np.random.default_rng(check_int("seed", seed, 0))
        if kind == "random":
            return self._set_state(self.env.random_state(rng), "perturb: a random state")
        limit = max(1, min(3, self.env.notes - 1))
        rows = int(rng.integers(1, limit + 1)) * int(rng.choice((-1, 1)))
        return self._set_state(self.env.transposed(self.env.state, rows),
                               f"perturb: moved {abs(rows)} note{'s' * (abs(rows) > 1)} "
                               f"{'up' if rows > 0 else 'down'}")

    def clear(self) -> float:
        """Switch every button off and every offset to 0; return the new reward."""
        notes, bits = self.env.notes, self.env.beats_log2 + 1
        return self._set_state(LaunchpadState(np.zeros((notes, bits), dtype=bool),
                                              np.zeros(notes, dtype=np.int64)), "clear")

    def play(self, start: bool = False) -> None:
        """Show a player of the current bar in :attr:`output` (replacing the last one); it starts
        playing at once only with ``start=True`` (what the panel's buttons pass)."""
        clip = player(self.env.to_pretty_midi(tempo_bpm=self.tempo_bpm),
                      sample_rate=self.sample_rate)
        clip.autoplay = bool(start)
        self.output.outputs = ()
        self.output.append_display_data(clip)

    @property
    def reward(self) -> float:
        """The reward of the current state."""
        return self.rewards[-1]

    # ----- state changes ---------------------------------------------------------------------
    def _act(self, action: int, who: str) -> float:
        return self._set_state(self.env.apply(self.env.state, action),
                               f"{who}: {self.env.describe_action(action)}")

    def _set_state(self, state: LaunchpadState, what: str) -> float:
        self.env.state = state
        self.rewards.append(self.env.reward())
        self.history.append(what)
        self._refresh()
        if self.autoplay.value:
            self.play(start=self._clicked)
        return self.reward

    # ----- widgets ---------------------------------------------------------------------------
    def _build(self, play: bool) -> None:
        env, small = self.env, widgets.Layout(width="40px", padding="0")
        self.toggle_buttons = [[widgets.Button(description=f"b{k}", layout=small,
                                               tooltip=self._basis_tip(note, k))
                                for k in range(env.beats_log2 + 1)] for note in range(env.notes)]
        self.shift_buttons = [[widgets.Button(description=f"+{2 ** k}", layout=small,
                                              tooltip=f"{env.pitch_name(note)}: +{2 ** k} steps")
                               for k in range(env.beats_log2)] for note in range(env.notes)]
        self.offset_labels = [widgets.Label(layout=widgets.Layout(width="48px"))
                              for _ in range(env.notes)]
        for note in range(env.notes):
            for k, button in enumerate(self.toggle_buttons[note]):
                button.on_click(self._click(lambda n=note, b=k: self.press(n, b)))
            for k, button in enumerate(self.shift_buttons[note]):
                button.on_click(self._click(lambda n=note, s=k: self.shift(n, s)))
        self.agent_button = widgets.Button(description="agent: next bar", button_style="info",
                                           disabled=self.policy is None)
        self.perturb_kind = widgets.Dropdown(options=PERTURBATIONS, value="random",
                                             layout=widgets.Layout(width="110px"))
        self.perturb_button = widgets.Button(description="perturb", button_style="danger")
        self.clear_button = widgets.Button(description="clear")
        self.play_button = widgets.Button(description="play", icon="play")
        self.autoplay = widgets.Checkbox(value=bool(play), description="play each bar",
                                         indent=False)
        self.agent_button.on_click(self._click(self.agent_step))
        self.perturb_button.on_click(self._click(lambda: self.perturb(kind=self.perturb_kind.value)))
        self.clear_button.on_click(self._click(self.clear))
        self.play_button.on_click(self._click(lambda: self.play(start=True)))
        self.readout = widgets.HTML()
        self.bar_view = widgets.HTML()
        self.output = widgets.Output()
        name_width = widgets.Layout(width="40px")
        rows = [widgets.HBox([widgets.Label(env.pitch_name(note), layout=name_width),
                              *self.toggle_buttons[note], self.offset_labels[note],
                              *self.shift_buttons[note]])
                for note in range(env.notes - 1, -1, -1)]
        controls = widgets.HBox([self.agent_button, self.perturb_button, self.perturb_kind,
                                 self.clear_button, self.play_button, self.autoplay])
        self.widget = widgets.VBox([widgets.VBox(rows), controls, self.readout, self.bar_view,
                                    self.output])

    def _click(self, action):
        """A button handler that runs ``action()`` as the student's own click: the players it
        shows start at once."""
        def handler(_button) -> None:
            self._clicked = True
            try:
                action()
            finally:
                self._clicked = False
        return handler

    def _basis_tip(self, note: int, k: int) -> str:
        steps = self.env.bar_steps
        where = (f"step {steps - 1} only" if k == self.env.beats_log2
                 else f"every {2 ** (k + 1)} steps from step {2 ** k - 1}")
        return f"{self.env.pitch_name(note)}: basis {k} ({where})"

    def _refresh(self) -> None:
        state = self.env.state
        for note in range(self.env.notes):
            for k, button in enumerate(self.toggle_buttons[note]):
                button.button_style = "warning" if state.toggles[note, k] else ""
            self.offset_labels[note].value = f"off {int(state.offsets[note])}"
        nearest, distance = self.env.nearest_target()
        last = self.rewards[-9:-1]
        trace = " ".join(f"{r:.0f}" for r in last) if last else "none yet"
        self.readout.value = (
            f"<b>reward {self.reward:.0f}</b> (best possible {self.ceiling:.0f}) &middot; nearest "
            f"real bar: target {nearest}, {distance} cells differ &middot; last: "
            f"{html.escape(self.history[-1])}<br><small>earlier rewards: {trace}</small>")
        cell = max(4, min(12, 320 // self.env.bar_steps))
        self.bar_view.value = (bar_html(self.env.bar(), "your bar", cell)
                               + bar_html(self.env.targets[nearest],
                                          f"nearest real bar (target {nearest})", cell))

    def _repr_mimebundle_(self, **kwargs):
        """Display as the widget in notebooks."""
        return self.widget._repr_mimebundle_(**kwargs)
