"""The c, ε & temperature playground of notebook 03: turn the knobs of a tuned RL Tuner and hear the result.

``c`` weighs the two halves of the RL Tuner's reward r(s, a) = log p(a | s) + r_MT(a, s) / c: small
c lets the music-theory rules dominate, large c leaves the Note-RNN's own habits. The policy composes
by sampling softmax(logits / T) at each step: the *temperature* T = 1 is how the paper composed
(every seed a new tune), T = 0 is greedy (one tune, whatever the seed). ``ε`` is the probability
that a step's event is sampled from the frozen Note-RNN instead. A c-conditioned
Q-network (tuned once over a range of c, ``TunerConfig.c_range``) moves with c at no extra cost,
so every slider release composes, draws and renders a new melody in a fraction of a second.

:class:`Playground` holds the logic in :meth:`~Playground.update` and
:meth:`~Playground.generate`, so it works and is tested without a browser; its ``widget`` shows
the sliders (updating on release), a seed box, a button, a readout, the piano roll and a player.
"""
from __future__ import annotations

import html
import time

import ipywidgets as widgets
import numpy as np

from musiclab.audio import check_sample_rate, play_melody
from musiclab.data.melody import STEPS_PER_QUARTER, check_events, decode_events, pitch_name
from musiclab.errors import BadParameterError, check_range
from musiclab.eval.melody import melody_metrics
from musiclab.plots.core import (BAR_LINE, BEAT_LINE, BLACK_KEY_ROW, BLACK_KEYS, NOTE_COLOR, NOTE_EDGE,
                                 WHITE_KEY_ROW)
from musiclab.rl.q_network import QNetwork
from musiclab.rl.rules import rule_set
from musiclab.theory import FIRST_PITCH_EVENT
from musiclab.rl.compose import compose

#: Largest seed the seed box accepts.
MAX_SEED = 2**31 - 1
#: Largest sampling temperature the temperature slider offers.
MAX_TEMPERATURE = 2.0
#: Piano-roll geometry (pixels): width of a 16th step, height of a pitch row, left margin for names.
STEP_PX, ROW_PX, LABEL_PX = 20, 9, 36


def piano_roll_svg(melody, title: str = "") -> str:
    """An SVG piano roll of encoded melody events (1-D ints, 16th steps): one ``<rect class="note">``
    per note, black-key rows shaded, beat and bar lines, and a pitch name on every row it shows (a
    ``<text class="pitch">`` each), so a student reads any note's pitch off the roll. The playground's
    view: it redraws in about a millisecond, where a matplotlib figure (``plots.piano_roll``) takes a
    tenth of a second or more."""
    melody = check_events(melody, "melody")
    notes = decode_events(melody)
    steps = max(len(melody), 1)
    pitches = [note.pitch for note in notes] or [60, 72]
    low, high = min(pitches) - 1, max(pitches) + 1
    if high - low < 12:  # at least an octave, centred on the tune
        pad = 12 - (high - low)
        low, high = low - pad // 2, high + pad - pad // 2
    top, rows = 18, high - low + 1
    width, height = LABEL_PX + steps * STEP_PX + 1, top + rows * ROW_PX + 1

    def y(pitch: int) -> int:
        return top + (high - pitch) * ROW_PX

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="piano-roll" width="{width}" height="{height}" '
             f'font-family="sans-serif" font-size="9">',
             f'<text x="{LABEL_PX}" y="12" font-size="12">{html.escape(title)}</text>']
    for pitch in range(low, high + 1):
        shade = BLACK_KEY_ROW if pitch % 12 in BLACK_KEYS else WHITE_KEY_ROW
        parts.append(f'<rect x="{LABEL_PX}" y="{y(pitch)}" width="{steps * STEP_PX}" height="{ROW_PX}" fill="{shade}"/>')
        parts.append(f'<text class="pitch" x="{LABEL_PX - 4}" y="{y(pitch) + ROW_PX - 1}" text-anchor="end" '
                     f'font-size="8">{pitch_name(pitch)}</text>')
    for step in range(0, steps + 1, STEPS_PER_QUARTER):
        bar = step % (4 * STEPS_PER_QUARTER) == 0
        x = LABEL_PX + step * STEP_PX
        parts.append(f'<line x1="{x}" y1="{top}" x2="{x}" y2="{height - 1}" '
                     f'stroke="{BAR_LINE if bar else BEAT_LINE}" stroke-width="{1.2 if bar else 0.6}"/>')
    for note in notes:
        parts.append(f'<rect class="note" x="{LABEL_PX + note.start * STEP_PX + 1}" y="{y(note.pitch) + 1}" '
                     f'width="{max(note.duration * STEP_PX - 2, 3)}" height="{ROW_PX - 2}" rx="2" '
                     f'fill="{NOTE_COLOR}" stroke="{NOTE_EDGE}"/>')
    parts.append("</svg>")
    return "".join(parts)


def _check_seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise BadParameterError(f"seed must be an integer in 0..{MAX_SEED}, got {seed!r}")
    return int(check_range("seed", seed, 0, MAX_SEED))


class Playground:
    """Compose with a tuned Q-network at any c and ε; the panel of notebook 03.

    ``q_net``: a tuned :class:`~musiclab.rl.q_network.QNetwork` (``load_q_network('rl_tuner_playground')``).
    A c-conditioned network accepts any c in ``c_range``; a network tuned at one c keeps its c
    slider fixed there. Each update composes one melody of ``length`` 16th steps with
    :func:`~musiclab.rl.compose.compose` (``seed`` makes it repeatable), scores it with the rule set
    ``rules`` and the network's frozen Note-RNN, draws its piano roll and renders it at
    ``sample_rate`` Hz and ``tempo_bpm``. ``timings`` holds the seconds each part took.
    """

    def __init__(self, q_net: QNetwork, *, length: int = 32, c: float | None = None, epsilon: float = 0.0,
                 temperature: float = 1.0, seed: int = 0, c_range: tuple[float, float] = (0.1, 10.0), rules: str = "rl_tuner",
                 tempo_bpm: float = 120.0, sample_rate: int = 16000):
        if not isinstance(q_net, QNetwork):
            raise BadParameterError(f"q_net must be a tuned QNetwork (from tune or load_q_network), "
                                    f"got {type(q_net).__name__}")
        self.q_net = q_net
        self.conditioned = bool(q_net.config.conditioned)
        low, high = (float(v) for v in c_range)
        check_range("c_range low", low, 0, low_open=True)
        check_range("c_range high", high, low, low_open=True)
        self.c_range = (low, high) if self.conditioned else (q_net.config.c, q_net.config.c)
        self.length = int(check_range("length", length, 1))
        self.rules = rule_set(rules, num_steps=self.length)
        self.tempo_bpm = float(check_range("tempo_bpm", tempo_bpm, 0.0, 400.0, low_open=True))
        self.sample_rate = check_sample_rate(sample_rate)
        self.melody = np.zeros(0, dtype=np.int64)  #: the current melody, np.int64 [length]
        self.wav = b""  #: the current melody as WAV bytes (what the player plays)
        self.scores: dict[str, float] = {}  #: the current melody's rule reward, log p and metrics
        self.timings: dict[str, float] = {}  #: seconds of the last update: compose, score, draw, audio, total
        self.history: list[tuple[float, float, float, int]] = []  #: (c, ε, temperature, seed) of every update
        self._syncing = False
        self._build()
        self.update(c=q_net.config.c if c is None else c, epsilon=epsilon, temperature=temperature, seed=seed)

    # ----- the methods the widgets call ----------------------------------------------------------
    def update(self, c: float | None = None, epsilon: float | None = None, seed: int | None = None,
               temperature: float | None = None) -> np.ndarray:
        """Compose anew at the given values (None keeps the current one); refresh the piano roll,
        the readout and the player; return the melody, np.int64 [length]."""
        started = time.perf_counter()
        c = float(self.c_slider.value if c is None else c)
        epsilon = float(self.epsilon_slider.value if epsilon is None else epsilon)
        temperature = float(self.temperature_slider.value if temperature is None else temperature)
        seed = _check_seed(self.seed_box.value if seed is None else seed)
        low, high = self.c_range
        if not low <= c <= high:
            what = f"in [{low:g}, {high:g}]" if self.conditioned else f"{low:g}: this network was tuned at that c only"
            raise BadParameterError(f"c must be {what}, got {c!r}")
        check_range("epsilon", epsilon, 0, 1)
        check_range("temperature", temperature, 0, MAX_TEMPERATURE)
        self._show_values(c, epsilon, temperature, seed)
        self.melody = compose(self.q_net, 1, self.length, c=c if self.conditioned else None,
                              epsilon=epsilon, temperature=temperature, seed=seed)[0].numpy()
        composed = time.perf_counter()
        self.scores = self.score(self.melody)
        scored = time.perf_counter()
        self.roll.value = self._piano_roll(c, epsilon, temperature, seed)
        drawn = time.perf_counter()
        self.wav = play_melody(self.melody, tempo_bpm=self.tempo_bpm, sample_rate=self.sample_rate).data
        self.audio.value = self.wav
        done = time.perf_counter()
        self.timings = {"compose": composed - started, "score": scored - composed, "draw": drawn - scored,
                        "audio": done - drawn, "total": done - started}
        self.history.append((c, epsilon, temperature, seed))
        self.readout.value = self._readout_html(c, epsilon, temperature, seed)
        return self.melody

    def generate(self) -> np.ndarray:
        """A new melody at the same c, ε and temperature: the next seed (what the button does)."""
        return self.update(seed=(int(self.seed_box.value) + 1) % (MAX_SEED + 1))

    def score(self, melody) -> dict[str, float]:
        """How ``melody`` (np.int64 [length]) fares: total music-theory reward Σ r_MT, mean log p per
        step under the network's frozen Note-RNN (nats), its number of notes, and its share of notes
        in key and in motifs (fractions; NaN without notes)."""
        melody = np.asarray(melody, dtype=np.int64)
        rule_total = sum(float(self.rules.rewards(melody[None, :t], melody[t:t + 1], t)[0])
                         for t in range(len(melody)))
        metrics = melody_metrics(melody[None], self.q_net.prior)
        return {"rule_reward": rule_total, "mean_log_p": metrics["mean_log_p"],
                "notes": float(np.count_nonzero(melody >= FIRST_PITCH_EVENT)),
                "in_key": 1.0 - metrics["notes_not_in_key"], "in_motif": metrics["notes_in_motif"]}

    # ----- drawing -------------------------------------------------------------------------------
    def _piano_roll(self, c: float, epsilon: float, temperature: float, seed: int) -> str:
        return piano_roll_svg(self.melody, title=f"c = {c:.3g}   ε = {epsilon:.2f}   T = {temperature:.2f}   seed {seed}")

    def _readout_html(self, c: float, epsilon: float, temperature: float, seed: int) -> str:
        s = self.scores
        notes = int(s["notes"])
        shares = ("no notes: only holds and rests" if notes == 0 else
                  f"{notes} notes, {100 * s['in_key']:.0f} % in key, {100 * s['in_motif']:.0f} % in motifs")
        return (f'<div style="font-family:monospace;font-size:12px">'
                f"r = log p + r<sub>MT</sub> / c with c = {c:.3g}; ε = {epsilon:.2f}; "
                f"temperature {temperature:.2f}{' (greedy)' if temperature == 0 else ''}; seed {seed}<br>"
                f"Σ r<sub>MT</sub> = {s['rule_reward']:+.1f} &nbsp; mean log p = {s['mean_log_p']:+.2f} nats/step"
                f" &nbsp; {html.escape(shares)}<br>"
                f'<span class="playground-time">new melody in {1000 * self.timings["total"]:.0f} ms</span>'
                f"</div>")

    # ----- widgets -------------------------------------------------------------------------------
    def _build(self) -> None:
        low, high = self.c_range
        style = {"description_width": "initial"}
        self.c_slider = widgets.FloatLogSlider(
            value=self.q_net.config.c, base=10, min=np.log10(low), max=np.log10(high) if high > low else np.log10(low) + 1,
            step=0.05, description="c (rules weigh 1/c)", continuous_update=False, readout_format=".3g",
            disabled=not self.conditioned, style=style, layout=widgets.Layout(width="380px"))
        self.epsilon_slider = widgets.FloatSlider(
            value=0.0, min=0.0, max=1.0, step=0.05, description="ε (exploration)", continuous_update=False,
            readout_format=".2f", style=style, layout=widgets.Layout(width="320px"))
        self.temperature_slider = widgets.FloatSlider(
            value=1.0, min=0.0, max=MAX_TEMPERATURE, step=0.05, description="temperature (0 = greedy)",
            continuous_update=False, readout_format=".2f", style=style, layout=widgets.Layout(width="340px"))
        self.seed_box = widgets.BoundedIntText(value=0, min=0, max=MAX_SEED, description="seed",
                                               style=style, layout=widgets.Layout(width="150px"))
        self.button = widgets.Button(description="New melody", icon="music", button_style="primary",
                                     tooltip="compose again with the next seed")
        self.readout = widgets.HTML()
        self.roll = widgets.HTML()
        self.audio = widgets.Audio(format="wav", autoplay=False, controls=True, loop=False)
        for control in (self.c_slider, self.epsilon_slider, self.temperature_slider, self.seed_box):
            control.observe(self._on_change, names="value")
        self.button.on_click(self._on_click)
        controls = widgets.VBox([widgets.HBox([self.c_slider, self.epsilon_slider, self.temperature_slider]),
                                  widgets.HBox([self.seed_box, self.button])])
        self.widget = widgets.VBox([controls, self.readout, self.roll, self.audio])
        self.widget.add_class("musiclab-playground")

    def _show_values(self, c: float, epsilon: float, temperature: float, seed: int) -> None:
        """Set the controls to these values without triggering another update."""
        self._syncing = True
        try:
            if self.conditioned:
                self.c_slider.value = c
            self.epsilon_slider.value = epsilon
            self.temperature_slider.value = temperature
            self.seed_box.value = seed
        finally:
            self._syncing = False

    def _on_change(self, _change) -> None:
        if not self._syncing:
            self.audio.autoplay = True  # the student moved a control: play what they asked for
            self.update()

    def _on_click(self, _button) -> None:
        self.audio.autoplay = True
        self.generate()

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)
