"""The shared look of every figure: colours, the piano-roll keyboard rows, beat and bar lines, axes.

Every plotting function of the kit is ``fn(..., ax=None) -> matplotlib.axes.Axes``: it draws into
``ax`` or, when ``ax`` is None, into a new figure (:func:`axes_or_new`). Nothing changes matplotlib's
global settings. The piano-roll layout (black-key rows, pitch names, beat and bar lines) lives here
once; the playground's SVG roll (``musiclab.widgets.playground``) uses the same colours and keys.
"""
from __future__ import annotations

import numpy as np

from musiclab.data.melody import pitch_name
from musiclab.errors import BadParameterError

#: Colours: note bars and their edges, piano-roll rows of black and white keys, beat and bar lines.
NOTE_COLOR, NOTE_EDGE = "#3a6ea5", "#1f3f66"
BLACK_KEY_ROW, WHITE_KEY_ROW = "#eceff3", "#ffffff"
BEAT_LINE, BAR_LINE = "#d0d4da", "#7d8590"
#: The accent colour of highlights (chosen events, a marked setting).
ACCENT = "#e67e22"
#: Pitch classes of the black keys (their piano-roll rows are shaded).
BLACK_KEYS = frozenset({1, 3, 6, 8, 10})


def axes_or_new(ax, width: float, height: float):
    """``ax`` itself, or the Axes of a new figure of ``width`` × ``height`` inches."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=(width, height), layout="constrained")
    return ax


def as_array(values, name: str, ndim: int | None) -> np.ndarray:
    """A list, NumPy array or torch tensor as a NumPy array of ``ndim`` dimensions (any if None)."""
    if hasattr(values, "detach"):
        values = values.detach().cpu().numpy()
    array = np.asarray(values)
    if ndim is not None and array.ndim != ndim:
        raise BadParameterError(f"{name} must have {ndim} dimension(s), got shape {array.shape}")
    return array


def style(ax, title: str | None) -> None:
    """The common clean look: no top/right spines, small ticks, a left-aligned title."""
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(length=3, labelsize=8)
    if title:
        ax.set_title(title, loc="left", fontsize=11)


def named_pitches(low: int, high: int) -> list[int]:
    """The pitches from ``low`` to ``high`` (MIDI) whose rows a piano roll labels: every one up to an
    octave or so, the white keys up to two octaves, then Cs and Gs, then Cs alone, so names never
    crowd. The matplotlib roll (:func:`keyboard_rows`) and the playground's SVG roll both use it."""
    span = high - low
    if span <= 14:
        wanted = set(range(12))
    elif span <= 24:
        wanted = set(range(12)) - BLACK_KEYS
    else:
        wanted = {0, 7} if span <= 48 else {0}
    return [p for p in range(low, high + 1) if p % 12 in wanted]


def keyboard_rows(ax, low: int, high: int, x0: float, x1: float) -> None:
    """Shade black-key rows from pitch ``low`` to ``high`` and label the y axis with pitch names."""
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import Rectangle

    rows = [Rectangle((x0, p - 0.5), x1 - x0, 1.0) for p in range(low, high + 1)]
    colors = [BLACK_KEY_ROW if p % 12 in BLACK_KEYS else WHITE_KEY_ROW for p in range(low, high + 1)]
    ax.add_collection(PatchCollection(rows, facecolors=colors, edgecolors="none", zorder=0))
    ticks = named_pitches(low, high)
    ax.set_yticks(ticks, [pitch_name(p) for p in ticks])
    ax.set_ylim(low - 0.5, high + 0.5)
    ax.set_ylabel("pitch")


def step_lines(ax, steps: int, beat: int, bar: int, color_beat: str = BEAT_LINE,
                color_bar: str = BAR_LINE) -> None:
    """Thin vertical lines every ``beat`` steps and stronger ones every ``bar`` steps."""
    for step in range(0, steps + 1, beat):
        on_bar = step % bar == 0
        ax.axvline(step, color=color_bar if on_bar else color_beat, linewidth=1.1 if on_bar else 0.6,
                   zorder=1)


def moving_average(values: np.ndarray, width: int) -> np.ndarray:
    """Trailing mean over up to ``width`` values (shorter at the start), same length as ``values``."""
    sums = np.cumsum(np.insert(values, 0, 0.0))
    index = np.arange(1, values.size + 1)
    start = np.maximum(index - width, 0)
    return (sums[index] - sums[start]) / (index - start)
