"""Figures: piano rolls of melodies and MIDI, drum grids, launchpad bars.

Every function is ``fn(..., ax=None) -> matplotlib.axes.Axes``: it draws into ``ax`` or, when
``ax`` is None, into a new figure sized to the music. Nothing changes matplotlib's global
settings. Drawn notes are the Axes' patches with gid ``"note"`` (drum hits ``"hit"``, lit
launchpad cells ``"cell"``), so tests and widgets can find them.
"""
from __future__ import annotations

import math

import numpy as np

from musiclab.errors import BadParameterError

#: Colours: note bars, piano-roll rows, beat and bar lines, launchpad board/unlit/lit pads.
NOTE_COLOR, NOTE_EDGE = "#3a6ea5", "#1f3f66"
BLACK_KEY_ROW, WHITE_KEY_ROW = "#eceff3", "#ffffff"
BEAT_LINE, BAR_LINE = "#d0d4da", "#7d8590"
#: Drum-class colours by family: drums warm, hi-hats and cymbals cool, silence grey.
DRUM_COLORS = {
    "kick": "#c0392b", "snare": "#e67e22", "high_tom": "#d4a017", "low_mid_tom": "#b8860b",
    "floor_tom": "#8d6e1f", "open_hihat": "#16a085", "closed_hihat": "#1abc9c",
    "crash": "#2980b9", "ride": "#6c5ce7", "silence": "#c8ccd2",
}
LAUNCHPAD_BACK, LAUNCHPAD_OFF, LAUNCHPAD_ON = "#1d1f27", "#2f333f", "#ffb000"
_BLACK_KEYS = {1, 3, 6, 8, 10}


def _axes(ax, width: float, height: float):
    """``ax`` itself, or the Axes of a new figure of ``width`` × ``height`` inches."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=(width, height), layout="constrained")
    return ax


def _as_array(values, name: str, ndim: int | None) -> np.ndarray:
    """A list, NumPy array or torch tensor as a NumPy array of ``ndim`` dimensions (any if None)."""
    if hasattr(values, "detach"):
        values = values.detach().cpu().numpy()
    array = np.asarray(values)
    if ndim is not None and array.ndim != ndim:
        raise BadParameterError(f"{name} must have {ndim} dimension(s), got shape {array.shape}")
    return array


def _pitch_name(pitch: int) -> str:
    """MIDI number → name such as ``C4`` (middle C = 60)."""
    import pretty_midi

    return pretty_midi.note_number_to_name(int(pitch))


def _style(ax, title: str | None) -> None:
    """The common clean look: no top/right spines, small ticks, a left-aligned title."""
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(length=3, labelsize=8)
    if title:
        ax.set_title(title, loc="left", fontsize=11)


def _keyboard_rows(ax, low: int, high: int, x0: float, x1: float) -> None:
    """Shade black-key rows from pitch ``low`` to ``high`` and label the y axis with pitch names."""
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import Rectangle

    rows = [Rectangle((x0, p - 0.5), x1 - x0, 1.0) for p in range(low, high + 1)]
    colors = [BLACK_KEY_ROW if p % 12 in _BLACK_KEYS else WHITE_KEY_ROW for p in range(low, high + 1)]
    ax.add_collection(PatchCollection(rows, facecolors=colors, edgecolors="none", zorder=0))
    span = high - low  # fewer names (pitch classes) as the range grows, so labels never crowd
    if span <= 14:
        wanted = set(range(12))
    elif span <= 24:
        wanted = set(range(12)) - _BLACK_KEYS
    else:
        wanted = {0, 7} if span <= 48 else {0}
    ticks = [p for p in range(low, high + 1) if p % 12 in wanted]
    ax.set_yticks(ticks, [_pitch_name(p) for p in ticks])
    ax.set_ylim(low - 0.5, high + 0.5)
    ax.set_ylabel("pitch")


def _step_lines(ax, steps: int, beat: int, bar: int, color_beat: str = BEAT_LINE,
                color_bar: str = BAR_LINE) -> None:
    """Thin vertical lines every ``beat`` steps and stronger ones every ``bar`` steps."""
    for step in range(0, steps + 1, beat):
        on_bar = step % bar == 0
        ax.axvline(step, color=color_bar if on_bar else color_beat, linewidth=1.1 if on_bar else 0.6,
                   zorder=1)


def _melody_notes(events: np.ndarray) -> list[tuple[int, int, int]]:
    """(pitch, start step, end step) of every note of encoded melody events."""
    from musiclab.data.melody import decode_events

    return [(note.pitch, note.start, note.end) for note in decode_events(events)]


def piano_roll(events, ax=None, title: str | None = None):
    """Piano roll of an encoded melody (1-D ints, one per 16th step): pitch against step.

    One bar per note, beat lines every 4 steps (up to 16 bars) and bar lines every 16, pitch
    names on the y axis. Notebooks 01–04 draw melodies with it.
    """
    from matplotlib.patches import Rectangle

    from musiclab.data.melody import STEPS_PER_QUARTER

    events = _as_array(events, "events", 1)
    notes = _melody_notes(events)
    steps = max(len(events), 1)
    pitches = [pitch for pitch, _, _ in notes] or [60, 72]
    low, high = min(pitches) - 1, max(pitches) + 1
    if high - low < 12:  # show at least an octave, centred on the tune
        pad = 12 - (high - low)
        low, high = low - pad // 2, high + pad - pad // 2
    ax = _axes(ax, width=min(14.0, max(6.0, steps / 16 * 2.6)),
               height=min(6.0, max(3.2, (high - low) * 0.15)))
    _keyboard_rows(ax, low, high, 0, steps)
    beat, bar = STEPS_PER_QUARTER, 4 * STEPS_PER_QUARTER
    _step_lines(ax, steps, beat if steps <= 16 * bar else bar, bar)  # long tunes: bar lines only
    for pitch, start, end in notes:
        ax.add_patch(Rectangle((start, pitch - 0.4), max(end - start, 0.3), 0.8, facecolor=NOTE_COLOR,
                               edgecolor=NOTE_EDGE, linewidth=0.8, zorder=2, gid="note"))
    ax.set_xlim(0, steps)
    ax.set_xticks(range(0, steps + 1, bar * math.ceil(steps / bar / 16)))  # at most ~16 labels
    ax.set_xlabel("16th-note step")
    _style(ax, title)
    return ax


def drum_grid(grid, ax=None, title: str | None = None):
    """A 2-bar drum grid ([32] class indices 0..9) as 10 drum rows × 32 steps, one filled cell per step.

    Hits are coloured by drum family; silent steps are grey cells in the silence row. Beat lines
    every 4 steps, bar lines every 16. Notebook 05 draws grids with it.
    """
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import Rectangle

    from musiclab.data.drums import DRUM_CLASSES, SILENCE, check_grid

    grid = check_grid(_as_array(grid, "grid", 1))
    steps, rows = grid.size, len(DRUM_CLASSES)
    ax = _axes(ax, width=min(14.0, max(6.0, steps / 32 * 8.0)), height=3.4)
    empty = [Rectangle((s + 0.06, r - 0.44), 0.88, 0.88) for s in range(steps) for r in range(rows)]
    ax.add_collection(PatchCollection(empty, facecolor="#f3f4f6", edgecolor="none", zorder=0))
    for step, cls in enumerate(grid.tolist()):
        name = DRUM_CLASSES[cls]
        ax.add_patch(Rectangle((step + 0.06, cls - 0.44), 0.88, 0.88, facecolor=DRUM_COLORS[name],
                               edgecolor="none", zorder=2, gid="silence" if cls == SILENCE else "hit"))
    _step_lines(ax, steps, 4, 16)
    ax.set_xlim(0, steps)
    ax.set_ylim(rows - 0.5, -0.5)  # class 0 (kick) on top, silence at the bottom
    ax.set_yticks(range(rows), [f"{name.replace('_', ' ')} ({i})" for i, name in enumerate(DRUM_CLASSES)])
    ax.set_xticks([s + 0.5 for s in range(0, steps, 4)], [str(s) for s in range(0, steps, 4)])
    ax.set_xlabel("16th-note step")
    _style(ax, title)
    ax.spines["left"].set_visible(False)
    ax.tick_params(axis="y", length=0)
    return ax


def pianoroll_pm(pm, ax=None, title: str | None = None, max_seconds: float | None = None):
    """Piano roll of any PrettyMIDI: pitch against time in seconds, one colour per instrument.

    Bar lines at the MIDI's downbeats; a legend names the instruments when there are several.
    ``max_seconds`` shows only the start. Notebooks 00 and 04 draw MIDI files with it.
    """
    import pretty_midi
    from matplotlib.patches import Patch, Rectangle

    if not isinstance(pm, pretty_midi.PrettyMIDI):
        raise BadParameterError(f"pm must be a pretty_midi.PrettyMIDI, got {type(pm).__name__}")
    end = pm.get_end_time() if max_seconds is None else float(max_seconds)
    end = max(end, 1.0)
    notes = [(i, n) for i, inst in enumerate(pm.instruments) for n in inst.notes if n.start < end]
    pitches = [n.pitch for _, n in notes] or [60, 72]
    low, high = min(pitches) - 1, max(pitches) + 1
    ax = _axes(ax, width=min(14.0, max(6.0, end * 0.9)), height=min(6.0, max(2.8, (high - low) * 0.12)))
    _keyboard_rows(ax, low, high, 0, end)
    for downbeat in pm.get_downbeats():
        if downbeat <= end:
            ax.axvline(downbeat, color=BAR_LINE, linewidth=0.9, zorder=1)
    colors = [f"C{i % 10}" for i in range(len(pm.instruments))]
    for i, note in notes:
        drum = pm.instruments[i].is_drum
        width = 0.04 if drum else max(min(note.end, end) - note.start, 0.01)
        ax.add_patch(Rectangle((note.start, note.pitch - 0.4), width, 0.8, facecolor=colors[i],
                               edgecolor="none", alpha=0.9, zorder=2, gid="note"))
    if len(pm.instruments) > 1:
        names = [inst.name.strip() or ("drums" if inst.is_drum else
                                       pretty_midi.program_to_instrument_name(inst.program))
                 for inst in pm.instruments]
        ax.legend(handles=[Patch(color=c, label=n) for c, n in zip(colors, names)], fontsize=8,
                  loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.set_xlim(0, end)
    ax.set_xlabel("time (s)")
    _style(ax, title)
    return ax


def launchpad_bar(bar, ax=None, title: str | None = None):
    """A launchpad bar ([24, 64] bool or 0/1: pitches MIDI 47..70 × 64th-note steps) as a grid of pads.

    Each onset is a lit pad, amber on a dark board; lines every 4 steps (a 16th) and every 16
    (a beat). Notebook 06 draws the agent's and the listener's bars with it.
    """
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import Rectangle

    from musiclab.data.bars import BAR_STEPS, LOW_PITCH, NUM_PITCHES, check_bars

    bars = check_bars(_as_array(bar, "bar", None))
    if len(bars) != 1:
        raise BadParameterError(f"bar must be one bar [{NUM_PITCHES}, {BAR_STEPS}], got {len(bars)} bars")
    lit = bars[0]
    ax = _axes(ax, width=9.0, height=4.0)
    ax.set_facecolor(LAUNCHPAD_BACK)
    pads = [Rectangle((s + 0.08, LOW_PITCH + p - 0.42), 0.84, 0.84)
            for p in range(NUM_PITCHES) for s in range(BAR_STEPS) if not lit[p, s]]
    ax.add_collection(PatchCollection(pads, facecolor=LAUNCHPAD_OFF, edgecolor="none", zorder=0))
    for p, s in zip(*np.nonzero(lit)):
        ax.add_patch(Rectangle((s + 0.08, LOW_PITCH + p - 0.42), 0.84, 0.84, facecolor=LAUNCHPAD_ON,
                               edgecolor="none", zorder=2, gid="cell"))
    _step_lines(ax, BAR_STEPS, 4, 16, color_beat="#3a3f4d", color_bar="#8a90a0")
    ticks = [LOW_PITCH + p for p in range(NUM_PITCHES) if (LOW_PITCH + p) % 12 not in _BLACK_KEYS]
    ax.set_yticks(ticks, [_pitch_name(t) for t in ticks])
    ax.set_ylim(LOW_PITCH - 0.5, LOW_PITCH + NUM_PITCHES - 0.5)
    ax.set_xlim(0, BAR_STEPS)
    ax.set_xticks(range(0, BAR_STEPS + 1, 16))
    ax.set_xlabel("step")
    ax.set_ylabel("pitch")
    _style(ax, title)
    return ax


def event_histogram(melodies, ax=None, title=None):
    """Bar chart of how often each melody event occurs (note-off, no-event, each pitch) in ``melodies``.

    ``melodies``: an iterable of 1-D event arrays. Shows at a glance that holds dominate and the
    pitches of C major are the common ones. Used by notebook 00.
    """
    from musiclab.data.melody import NUM_CLASSES, event_names

    counts = np.zeros(NUM_CLASSES, dtype=np.int64)
    for events in melodies:
        counts += np.bincount(_as_array(events, "melody", 1).astype(np.int64), minlength=NUM_CLASSES)
    if counts.sum() == 0:
        raise BadParameterError("melodies hold no events to count")
    ax = _axes(ax, 10, 3)
    shares = counts / counts.sum()
    colors = [BAR_LINE if i < 2 else NOTE_COLOR for i in range(NUM_CLASSES)]
    ax.bar(np.arange(NUM_CLASSES), shares, color=colors)
    ax.set_xticks(np.arange(NUM_CLASSES), event_names(np.arange(NUM_CLASSES)), rotation=90, fontsize=7)
    ax.set_ylabel("share of steps")
    ax.set_xlim(-0.7, NUM_CLASSES - 0.3)
    ax.set_title(title or "How often each event occurs")
    return ax
