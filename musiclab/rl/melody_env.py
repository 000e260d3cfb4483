"""Compose a melody one event per step: the RL Tuner's reward as a Gymnasium environment (notebook 03).

After Jaques et al. 2017 ("Sequence Tutor", first "Tuning recurrent neural networks with
reinforcement learning"). Each step appends one event of the kit's melody encoding
(``musiclab.data.melody``: 0 note-off, 1 no-event, 2.. onsets of MIDI 48..83, 16th-note steps) and
pays r(s, a) = log p(a | s) + r_MT(a, s) / c (:func:`musiclab.rl.targets.total_reward`): log p from a
frozen Note-RNN (default the shipped ``note_rnn_fast``, the prior of the shipped tuners), r_MT from
a rule set (:func:`musiclab.rl.rules.rule_set`). The episode terminates when the piece has
``num_steps`` events. ``gymnasium.make("musiclab/Melody-v0", rules=..., c=...)`` makes it once
:mod:`musiclab.envs` is imported.

Spaces: ``Discrete(38)`` actions (the events); observations float32 ``[num_steps * 38 + 38]`` in
``[0, 1]``: the events so far one-hot (row ``t`` for step ``t``; rows of the steps to come are
zero), then the Note-RNN's p(. | s) for the next event, so an off-the-shelf agent sees the whole
state and what the Note-RNN expects. ``render_mode``: ``"ansi"`` (event names, a bar per line)
or ``"rgb_array"`` (a piano-roll frame, :func:`melody_frame`); :meth:`MelodyEnv.play` plays the
piece in a notebook.
"""
from __future__ import annotations

import gymnasium
import numpy as np
import torch
from gymnasium import spaces

from musiclab.data.melody import NUM_CLASSES, PITCH_OFFSET, check_events, decode_events, event_names
from musiclab.errors import BadParameterError, check_choice, check_int, check_range
from musiclab.limits import check_limit
from musiclab.models.sequence import SequenceModel
from musiclab.rl.rule_set import RuleSet
from musiclab.rl.rules import rule_set
from musiclab.rl.targets import total_reward

#: Render modes (Gymnasium's ``metadata["render_modes"]``).
RENDER_MODES = ("ansi", "rgb_array")
#: What ``reset(options=...)`` accepts: ``{"primer": events}`` starts the piece with those events.
RESET_OPTIONS = ("primer",)
#: Pixels per 16th step and per semitone in an ``rgb_array`` frame.
STEP_PIXELS, PITCH_PIXELS = 8, 4
#: Frame colours: white-key rows, black-key rows, beat lines, notes.
_WHITE, _BLACK, _BEAT, _NOTE = (255, 255, 255), (236, 239, 243), (200, 205, 214), (58, 110, 165)
_BLACK_KEYS = (1, 3, 6, 8, 10)


def melody_frame(events, num_steps: int) -> np.ndarray:
    """A piano-roll frame of ``events`` (1-D, at most ``num_steps``) on a grid of ``num_steps``
    steps x the encoding's 36 pitches (MIDI 83 on top): uint8 ``[36 * PITCH_PIXELS,
    num_steps * STEP_PIXELS, 3]``, key rows shaded, a line every beat (4 steps)."""
    events = check_events(events)
    pitches = NUM_CLASSES - 2
    rows = np.array([_BLACK if (PITCH_OFFSET + 2 + p) % 12 in _BLACK_KEYS else _WHITE
                     for p in range(pitches - 1, -1, -1)], dtype=np.uint8)  # [36, 3], top row first
    frame = np.repeat(np.repeat(rows[:, None, :], PITCH_PIXELS, axis=0), num_steps * STEP_PIXELS, axis=1)
    frame[:, ::4 * STEP_PIXELS] = _BEAT
    for note in decode_events(events):
        top = (pitches - 1 - (note.pitch - PITCH_OFFSET - 2)) * PITCH_PIXELS
        frame[top + 1:top + PITCH_PIXELS, note.start * STEP_PIXELS + 1:
              (note.start + note.duration) * STEP_PIXELS - 1] = _NOTE
    return frame


class MelodyEnv(gymnasium.Env):
    """Compose ``num_steps`` events scored by a Note-RNN and a rule set (see the module docstring).

    ``rules``: a name of ``musiclab.rl.rules.RULE_SETS`` or a :class:`RuleSet` of ``num_steps``
    steps; ``c`` (> 0) divides its reward; ``model``: a shipped Note-RNN's name or a melody
    :class:`SequenceModel` (38 classes); ``primer_steps`` events are sampled from the Note-RNN at
    every reset (from the generator ``reset(seed=)`` seeds) before the agent plays; 0 (the default)
    lets the agent compose the whole piece, from an empty start that no seed changes. ``info`` of
    a step: its ``log_p`` and its rules' ``rule_reward``.
    """

    metadata = {"render_modes": list(RENDER_MODES), "render_fps": 8}

    def __init__(self, rules: str | RuleSet = "rl_tuner_open_leaps", c: float = 0.6, *,
                 num_steps: int = 32, model: str | SequenceModel = "note_rnn_fast",
                 primer_steps: int = 0, render_mode: str | None = None):
        self.num_steps = int(check_limit("max_steps", "num_steps", check_int("num_steps", num_steps, 1)))
        self.primer_steps = check_int("primer_steps", primer_steps, 0, self.num_steps - 1)
        self.rules = _resolve_rules(rules, self.num_steps)
        if isinstance(c, bool) or not isinstance(c, (int, float)):
            raise BadParameterError(f"c must be a number > 0, got {c!r}")
        self.c = float(check_range("c", c, 0.0, low_open=True))
        self.model = _resolve_model(model)
        self.render_mode = None if render_mode is None else check_choice("render_mode", render_mode,
                                                                         RENDER_MODES)
        self.action_space = spaces.Discrete(NUM_CLASSES)
        self.observation_space = spaces.Box(0.0, 1.0, shape=((self.num_steps + 1) * NUM_CLASSES,),
                                            dtype=np.float32)
        self._events = np.zeros(self.num_steps, dtype=np.int64)
        self.t = 0
        self.total = 0.0
        self._restart()

    @property
    def melody(self) -> np.ndarray:
        """The events composed so far (the primer included): int64 ``[t]``, a copy."""
        return self._events[:self.t].copy()

    @torch.no_grad()
    def _feed(self, tokens: torch.Tensor) -> None:
        """Feed the Note-RNN one input [1]; keep log p(. | s) of the next event (float64 [38])."""
        logits, self._state = self.model.step(tokens.to(self.model.device), self._state)
        self._log_p = torch.log_softmax(logits[0].double(), dim=-1).cpu().numpy()

    def _append(self, event: int) -> None:
        self._events[self.t] = event
        self.t += 1
        self._feed(torch.tensor([event]))

    def _restart(self) -> None:
        self.t, self.total = 0, 0.0
        self._state = self.model.initial_state(1)
        self._feed(self.model.begin_tokens(1))

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        """Start a new piece: the events of ``options["primer"]`` if given (fewer than ``num_steps``),
        else ``primer_steps`` events sampled from the Note-RNN; returns (observation, info)."""
        super().reset(seed=seed)
        options = dict(options or {})
        for key in options:
            check_choice("reset option", key, RESET_OPTIONS)
        self._restart()
        if "primer" in options:
            primer = check_events(options["primer"], "primer")
            if len(primer) >= self.num_steps:
                raise BadParameterError(f"primer must have fewer than num_steps = {self.num_steps} "
                                        f"events, got {len(primer)}")
            for event in primer.tolist():
                self._append(event)
        else:
            for _ in range(self.primer_steps):
                probs = np.exp(self._log_p)
                self._append(int(self.np_random.choice(NUM_CLASSES, p=probs / probs.sum())))
        return self._observation(), {}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        """Append the event ``action``; return the observation, r = log p + r_MT / c, terminated
        (the piece is complete), truncated (always False) and ``info`` (``log_p``, ``rule_reward``)."""
        if isinstance(action, (bool, np.bool_)) or not isinstance(action, (int, np.integer)) \
                or not 0 <= action < NUM_CLASSES:
            raise BadParameterError(f"action must be an event, an integer in [0, {NUM_CLASSES - 1}], "
                                    f"got {action!r}")
        if self.t >= self.num_steps:
            raise BadParameterError(f"the piece already has its {self.num_steps} events: call reset()")
        action = int(action)
        log_p = float(self._log_p[action])
        rule_reward = self.rules.reward(self._events[:self.t], action, self.t)
        reward = float(total_reward(log_p, rule_reward, self.c))
        self.total += reward
        self._append(action)
        return (self._observation(), reward, self.t == self.num_steps, False,
                {"log_p": log_p, "rule_reward": rule_reward})

    def _observation(self) -> np.ndarray:
        obs = np.zeros(self.observation_space.shape, dtype=np.float32)
        obs[np.arange(self.t) * NUM_CLASSES + self._events[:self.t]] = 1.0
        obs[self.num_steps * NUM_CLASSES:] = np.clip(np.exp(self._log_p), 0.0, 1.0)
        return obs

    def render(self):
        """``"ansi"``: the event names, 16 steps (a bar) per line, then the step and the return so
        far; ``"rgb_array"``: :func:`melody_frame`; None without a render mode."""
        if self.render_mode == "ansi":
            names = event_names(self.melody)
            bars = [" ".join(f"{name:>3}" for name in names[i:i + 16]) for i in range(0, len(names), 16)]
            return "\n".join([*bars, f"step {self.t}/{self.num_steps}, return {self.total:.2f}"])
        if self.render_mode == "rgb_array":
            return melody_frame(self.melody, self.num_steps)
        return None

    def play(self, sample_rate: int = 16000):
        """An inline audio player of the piece so far (never autoplaying; notebook 03)."""
        from musiclab.audio import play_melody

        if self.t == 0:
            raise BadParameterError("the piece has no events yet: step the environment first")
        return play_melody(self.melody, sample_rate=sample_rate)


def _resolve_rules(rules, num_steps: int) -> RuleSet:
    """A rule-set name or a RuleSet of ``num_steps`` steps -> the RuleSet."""
    if isinstance(rules, str):
        return rule_set(rules, num_steps)
    if not isinstance(rules, RuleSet):
        raise BadParameterError(f"rules must be a rule-set name or a RuleSet, got {type(rules).__name__}")
    if rules.num_steps != num_steps:
        raise BadParameterError(f"rules are for pieces of {rules.num_steps} steps, but num_steps = {num_steps}")
    return rules


def _resolve_model(model) -> SequenceModel:
    """A shipped Note-RNN's name (on the CPU) or a melody SequenceModel -> the model."""
    if isinstance(model, str):
        from musiclab.checkpoints import load_model

        model = load_model(model, device="cpu")
    if not isinstance(model, SequenceModel) or model.num_classes != NUM_CLASSES:
        raise BadParameterError(f"model must be a melody model ({NUM_CLASSES} event classes, e.g. "
                                f"'note_rnn_fast'), got {type(model).__name__}")
    return model
