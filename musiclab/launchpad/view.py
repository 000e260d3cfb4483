"""How a launchpad state looks and sounds: pitches, MIDI, Gymnasium frames, an inline player (notebook 06).

A mixin of :class:`musiclab.launchpad.env.LaunchpadEnv` that reads its ``notes``, ``bar_steps``,
``lowest``, :meth:`bar` and ``render_mode``. ``render_mode="ansi"`` gives the bar as text (one line
per note, highest on top, ``●`` a lit pad), ``"rgb_array"`` as an image of pads (uint8
``[H, W, 3]``, for Gymnasium's video recorders); the figures of notebook 06 are
:mod:`musiclab.launchpad.plots`, and :meth:`BarView.play` plays the bar in a notebook.
"""
from __future__ import annotations

import numpy as np

from musiclab.errors import BadParameterError, check_int
from musiclab.launchpad.bars import BAR_STEPS, LOW_PITCH, NUM_PITCHES, bar_to_pretty_midi
from musiclab.launchpad.buttons import LaunchpadState

#: Colours of the launchpad: board, unlit and lit pads (the figures of ``plots`` use them too).
LAUNCHPAD_BACK, LAUNCHPAD_OFF, LAUNCHPAD_ON = "#1d1f27", "#2f333f", "#ffb000"
#: Render modes of the environment (Gymnasium's ``metadata["render_modes"]``).
RENDER_MODES = ("ansi", "rgb_array")
#: Side of one pad and the gap between pads in an ``rgb_array`` frame (pixels).
PAD_PIXELS, GAP_PIXELS = 10, 2


def _rgb(colour: str) -> np.ndarray:
    """``"#rrggbb"`` -> uint8 ``[3]``."""
    return np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)], dtype=np.uint8)


def bar_text(bar: np.ndarray, names: list[str]) -> str:
    """A bar bool ``[N, L]`` as text: one line per note, the highest first, its name (``names[n]``
    for row ``n``) then ``●`` for a lit pad and ``·`` for an unlit one."""
    width = max(map(len, names), default=0)
    return "\n".join(f"{names[n]:>{width}} " + "".join("●" if lit else "·" for lit in bar[n])
                     for n in range(len(bar) - 1, -1, -1))


def bar_image(bar: np.ndarray) -> np.ndarray:
    """A bar bool ``[N, L]`` as pads on a board: uint8 ``[N(p + g) + g, L(p + g) + g, 3]`` with
    ``p = PAD_PIXELS``, ``g = GAP_PIXELS``; row 0 (the lowest note) at the bottom."""
    bar = np.asarray(bar, dtype=bool)
    rows, steps = bar.shape
    cell = PAD_PIXELS + GAP_PIXELS
    image = np.empty((rows * cell + GAP_PIXELS, steps * cell + GAP_PIXELS, 3), dtype=np.uint8)
    image[:] = _rgb(LAUNCHPAD_BACK)
    colours = np.where(bar[::-1, :, None], _rgb(LAUNCHPAD_ON), _rgb(LAUNCHPAD_OFF))  # [N, L, 3]
    pads = np.repeat(np.repeat(colours, cell, axis=0), cell, axis=1)  # each pad with its gap
    inside = (np.arange(rows * cell) % cell < PAD_PIXELS)[:, None] & \
        (np.arange(steps * cell) % cell < PAD_PIXELS)[None, :]
    body = image[GAP_PIXELS:, GAP_PIXELS:]
    body[inside] = pads[inside]
    return image


class BarView:
    """Pitches, MIDI, render frames and an inline player of a launchpad's bar (mixin of
    :class:`~musiclab.launchpad.env.LaunchpadEnv`)."""

    def pitch(self, note: int) -> int:
        """MIDI pitch of row ``note``: ``47 + lowest + note`` (rows of the full launchpad)."""
        return LOW_PITCH + self.lowest + check_int("note", note, 0, self.notes - 1)

    def pitch_name(self, note: int) -> str:
        """Name of the pitch of row ``note``, such as ``"C4"``."""
        import pretty_midi

        return pretty_midi.note_number_to_name(self.pitch(note))

    def full_size_bar(self, bar: np.ndarray) -> np.ndarray:
        """A bar of this launchpad ``[N, 2^B]`` placed on the full launchpad ``[24, 64]``: rows
        from ``lowest``, each step's onset at the start of the 64ths it covers (the inverse of
        :func:`shrink_bars` for onsets on the coarse grid)."""
        bar = np.asarray(bar, dtype=bool)
        if bar.shape != (self.notes, self.bar_steps):
            raise BadParameterError(f"bar must have shape ({self.notes}, {self.bar_steps}), "
                                    f"got {bar.shape}")
        if self.notes > NUM_PITCHES or self.bar_steps > BAR_STEPS:
            raise BadParameterError(f"a launchpad of {self.notes} notes x {self.bar_steps} steps "
                                    f"does not fit the {NUM_PITCHES} x {BAR_STEPS} launchpad")
        full = np.zeros((NUM_PITCHES, BAR_STEPS), dtype=bool)
        full[self.lowest:self.lowest + self.notes, ::BAR_STEPS // self.bar_steps] = bar
        return full

    def to_pretty_midi(self, state: LaunchpadState | None = None, **kwargs):
        """The bar of ``state`` (default: the current one) as a PrettyMIDI, via
        :meth:`full_size_bar` and :func:`musiclab.launchpad.bars.bar_to_pretty_midi` (``kwargs`` go
        there: ``tempo_bpm``, ``program``) (notebook 06 and its launchpad widget)."""
        return bar_to_pretty_midi(self.full_size_bar(self.bar(state)), **kwargs)

    def play(self, state: LaunchpadState | None = None, sample_rate: int = 16000, **kwargs):
        """An inline audio player of the bar of ``state`` (default: the current one), never
        autoplaying (``kwargs`` go to :meth:`to_pretty_midi`) (notebook 06)."""
        from musiclab.audio import player

        return player(self.to_pretty_midi(state, **kwargs), sample_rate=sample_rate)

    def render(self):
        """Gymnasium's render of the current bar: text for ``render_mode="ansi"`` (:func:`bar_text`,
        then the step and the reward), an image for ``"rgb_array"`` (:func:`bar_image`), None when
        the environment was made without a render mode."""
        if self.render_mode == "ansi":
            names = [self.pitch_name(n) for n in range(self.notes)]
            return (f"{bar_text(self.bar(), names)}\nstep {self.t}/{self.max_steps}, "
                    f"reward {self.reward():.0f}")
        if self.render_mode == "rgb_array":
            return bar_image(self.bar())
        return None
