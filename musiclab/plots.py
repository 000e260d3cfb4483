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


#: Colours of training curves: training loss (raw and smoothed), validation, reference lines.
TRAIN_COLOR, VALID_COLOR, REFERENCE_COLOR = "#3a6ea5", "#c0392b", "#7d8590"
#: Colour map of note-probability heatmaps, and the outline of the chosen events.
PROBABILITY_CMAP, CHOSEN_EDGE = "Blues", "#e67e22"


def _moving_average(values: np.ndarray, width: int) -> np.ndarray:
    """Trailing mean over up to ``width`` values (shorter at the start), same length as ``values``."""
    sums = np.cumsum(np.insert(values, 0, 0.0))
    index = np.arange(1, values.size + 1)
    start = np.maximum(index - width, 0)
    return (sums[index] - sums[start]) / (index - start)


def training_curves(history, ax=None, title: str | None = None, reference: dict | None = None):
    """Training loss per step and validation NLL per evaluation of a ``train.TrainHistory``.

    ``history``: a TrainHistory, or the dict a checkpoint stores in ``extra['history']``. The raw
    per-step loss is a faint line (gid ``"train"``), its moving average a solid one
    (``"train_smooth"``), validation NLL dots joined by a line (``"valid"``), the best one
    starred; ``reference`` maps names to NLLs drawn as dashed lines (e.g. a baseline's). All in
    nats per step. Notebook 01 draws its live training run with it.
    """
    from musiclab.models.train import TrainHistory

    if isinstance(history, dict):
        history = TrainHistory(**history)
    if not isinstance(history, TrainHistory):
        raise BadParameterError(f"history must be a TrainHistory (or its dict), got {type(history).__name__}")
    if not history.train_loss:
        raise BadParameterError("history holds no training steps to draw")
    ax = _axes(ax, 8.0, 3.6)
    loss = np.asarray(history.train_loss, dtype=float)
    steps = np.arange(1, loss.size + 1)
    ax.plot(steps, loss, color=TRAIN_COLOR, alpha=0.25, linewidth=0.8, gid="train",
            antialiased=False)  # a noisy anti-aliased line makes a PNG several times larger
    width = max(1, loss.size // 40)
    ax.plot(steps, _moving_average(loss, width), color=TRAIN_COLOR, linewidth=1.8, gid="train_smooth",
            label=f"training loss ({width}-step mean)" if width > 1 else "training loss")
    valid = history.valid.get("nll", history.valid.get("loss", []))
    if valid:
        ax.plot(history.eval_steps, valid, color=VALID_COLOR, marker="o", markersize=4, linewidth=1.4,
                gid="valid", label="validation NLL")
        best = int(np.argmin(valid))
        ax.plot([history.eval_steps[best]], [valid[best]], marker="*", markersize=13, color=VALID_COLOR,
                linestyle="none", gid="best", label=f"best: {valid[best]:.3f} at step {history.eval_steps[best]}")
    for i, (name, value) in enumerate((reference or {}).items()):
        ax.axhline(float(value), color=REFERENCE_COLOR, linestyle=(0, (4, 2 + 2 * i)), linewidth=1.1,
                   gid="reference", label=f"{name}: {float(value):.3f}")
    shown = np.concatenate([loss, np.asarray(valid, dtype=float),
                            np.asarray(list((reference or {}).values()), dtype=float)])
    shown = shown[np.isfinite(shown) & (shown > 0)]
    if shown.size and shown.max() > 2.5 * shown.min():  # the first steps dwarf the rest: log scale
        from matplotlib.ticker import FormatStrFormatter, LogLocator, NullLocator

        ax.set_yscale("log")
        ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 1.5, 2.0, 3.0, 5.0, 7.0)))
        ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
        ax.yaxis.set_minor_locator(NullLocator())
        ax.set_ylim(shown.min() * 0.92, shown.max() * 1.08)
    ax.set_xlim(0, loss.size + 1)
    ax.set_xlabel("training step")
    ax.set_ylabel("nats per step")
    ax.grid(axis="y", color=BEAT_LINE, linewidth=0.6)
    ax.legend(fontsize=8, frameon=False, loc="upper right")
    _style(ax, title)
    return ax


def _probability_rows(probs: np.ndarray, events: np.ndarray, melody: bool, min_prob: float) -> list[int]:
    """Classes to show: those chosen or reaching ``min_prob``; for melodies off, hold and a pitch range."""
    shown = set(np.flatnonzero(probs.max(axis=1) >= min_prob).tolist()) | set(events.tolist())
    if not melody:
        return sorted(shown)
    pitches = [c for c in shown if c >= 2] or [14]
    return [0, 1] + list(range(min(pitches), max(pitches) + 1))


def note_probabilities(model, events, ax=None, labels=None, title: str | None = None,
                       min_prob: float = 0.02):
    """Heatmap of what a sequence model expected at every step of ``events`` (1-D, e.g. a sample).

    Rows are event classes (for melodies: note-off, hold, then pitches upward; for a token
    vocabulary the classes the model gave at least ``min_prob`` or that occur), columns are
    steps; colour is p(event | events before it), from ``model.next_log_probs``. The event that
    actually came is outlined (patches with gid ``"chosen"``); the image has gid
    ``"probabilities"``. ``labels`` names the classes (default: 'off', 'hold', pitch names for
    38-class melody models; class numbers otherwise). In the style of the classic melody LSTM's
    note-probability figures. Notebook 01 draws a sampled melody with it.
    """
    import torch
    from matplotlib.colors import PowerNorm
    from matplotlib.patches import Rectangle

    from musiclab.data.melody import NUM_CLASSES, event_names

    events = _as_array(events, "events", 1).astype(np.int64)
    if events.size == 0:
        raise BadParameterError("events is empty: give at least one step")
    classes = int(model.num_classes)
    if labels is None:
        labels = ([name if name != "-" else "hold" for name in event_names(np.arange(NUM_CLASSES))]
                  if classes == NUM_CLASSES else [str(i) for i in range(classes)])
    labels = list(labels)
    if len(labels) != classes:
        raise BadParameterError(f"labels must name all {classes} classes of the model, got {len(labels)}")
    with torch.no_grad():
        probs = model.next_log_probs(torch.from_numpy(events)[None]).exp()[0].T.float().cpu().numpy()
    melody = classes == NUM_CLASSES
    rows = _probability_rows(probs, events, melody, min_prob)
    steps = events.size
    ax = _axes(ax, width=min(14.0, max(6.0, steps * 0.13 + 2.0)),
               height=min(9.0, max(3.0, len(rows) * 0.17 + 1.0)))
    image = ax.imshow(probs[rows], aspect="auto", origin="lower", interpolation="nearest", cmap=PROBABILITY_CMAP,
                      norm=PowerNorm(0.5, vmin=0.0, vmax=1.0), extent=(-0.5, steps - 0.5, -0.5, len(rows) - 0.5))
    image.set_gid("probabilities")
    position = {cls: row for row, cls in enumerate(rows)}
    for step, cls in enumerate(events.tolist()):
        ax.add_patch(Rectangle((step - 0.38, position[cls] - 0.38), 0.76, 0.76, fill=False,
                               edgecolor=CHOSEN_EDGE, linewidth=1.4, zorder=3, gid="chosen"))
    if melody:
        ax.axhline(1.5, color=BAR_LINE, linewidth=1.0)
    for bar in range(16, steps, 16):
        ax.axvline(bar - 0.5, color=BAR_LINE, linewidth=0.8, alpha=0.6)
    every = 1 if len(rows) <= 30 else math.ceil(len(rows) / 30)
    ax.set_yticks(range(0, len(rows), every), [labels[rows[i]] for i in range(0, len(rows), every)])
    ax.set_xticks(range(0, steps, 4 if steps <= 64 else 16))
    ax.set_xlabel("step")
    ax.set_ylabel("event" if melody else "token")
    colorbar = ax.figure.colorbar(image, ax=ax, fraction=0.035, pad=0.01)
    colorbar.set_label("p(event | events before)", fontsize=8)
    colorbar.ax.tick_params(labelsize=7)
    _style(ax, title)
    return ax


#: Colours of the launchpad agent figures: rewards, resets, ceilings, the two Q-functions.
REWARD_COLOR, RESET_COLOR, CEILING_COLOR = "#3a6ea5", "#c0392b", "#2e8b57"
Q_FUNCTION_COLORS = {"linear": "#e67e22", "mlp": "#3a6ea5"}


def _pads(ax, lit: np.ndarray, x0: float, y0: float, gid: str = "cell") -> None:
    """Launchpad pads of a bool grid [rows, steps] with its lower left corner at (x0, y0)."""
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import Rectangle

    rows, steps = lit.shape
    off = [Rectangle((x0 + s + 0.08, y0 + r + 0.08), 0.84, 0.84)
           for r in range(rows) for s in range(steps) if not lit[r, s]]
    ax.add_collection(PatchCollection(off, facecolor=LAUNCHPAD_OFF, edgecolor="none", zorder=1))
    for r, s in zip(*np.nonzero(lit)):
        ax.add_patch(Rectangle((x0 + s + 0.08, y0 + r + 0.08), 0.84, 0.84, facecolor=LAUNCHPAD_ON,
                               edgecolor="none", zorder=2, gid=gid))


def launchpad_basis(beats_log2: int, ax=None, title: str | None = None):
    """The ``B + 1`` basis vectors of a launchpad bar of ``2^B`` steps, one row each (pads with
    gid ``"cell"``): row ``k`` beats every ``2^(k+1)`` steps from step ``2^k - 1``, the last row
    once at the end; together they light every step exactly once. Notebook 06 opens with it."""
    from musiclab.rl.launchpad_env import basis_vectors

    basis = basis_vectors(beats_log2)
    count, steps = basis.shape
    ax = _axes(ax, width=min(12.0, 2.5 + steps * 0.28), height=1.0 + 0.42 * count)
    ax.set_facecolor(LAUNCHPAD_BACK)
    _pads(ax, basis[::-1], 0.0, 0.0)
    for step in range(0, steps + 1, max(1, steps // 4)):
        ax.axvline(step, color="#8a90a0", linewidth=1.0, zorder=3)
    labels = [f"b{k}: every {2 ** (k + 1)} from {2 ** k - 1}" for k in range(count - 1)]
    labels.append(f"b{count - 1}: step {steps - 1} only")
    ax.set_yticks(np.arange(count) + 0.5, labels[::-1])
    ax.set_xticks(np.arange(steps) + 0.5, [str(s) if steps <= 32 or s % 4 == 0 else ""
                                           for s in range(steps)])
    ax.set_xlim(0, steps)
    ax.set_ylim(0, count)
    ax.set_xlabel("step")
    _style(ax, title or f"Basis vectors of a bar of 2^{beats_log2} = {steps} steps")
    return ax


def _short_action(env, action: int) -> str:
    """A short column label for an action of a small launchpad: ``toggle b1``, ``shift +2``."""
    move = env.decode_action(action)
    if move.kind == "noop":
        return "no-op"
    prefix = "" if env.notes == 1 else f"{env.pitch_name(move.note)} "
    return f"{prefix}toggle b{move.k}" if move.kind == "toggle" else f"{prefix}shift +{2 ** move.k}"


def _state_label(env, index: int, reward: float) -> str:
    """A row label for a state: its bar (``●`` lit), basis vectors on, offset and reward."""
    state = env.state_from_index(index)
    if env.notes > 1:
        return f"{index} (r {reward:.0f})"
    pads = "".join("\u25cf" if on else "\u25cb" for on in env.bar(state)[0])
    bits = ",".join(f"b{k}" for k in np.flatnonzero(state.toggles[0])) or "none"
    return f"{pads}  {bits} +{int(state.offsets[0])}  r {reward:.0f}"


def q_table_heatmap(q_table, env=None, visits=None, ax=None, title: str | None = None):
    """A tabular Q-function ``[num_states, num_actions]`` as a heatmap (image gid ``"q"``),
    each state's greedy action circled (gid ``"greedy"``); with ``visits`` (same shape, e.g.
    ``TabularRun.visits``) the values never updated are grey. With ``env`` (the small launchpad
    it was learned on) rows are labelled by their bar (``●`` a lit step), switched-on basis
    vectors, offset and reward, sorted best reward first, and columns by action. Notebook 06."""
    import matplotlib

    q = _as_array(q_table, "q_table", 2).astype(float)
    states, actions = q.shape
    shown = q.copy()
    if visits is not None:
        visits = _as_array(visits, "visits", 2)
        if visits.shape != q.shape:
            raise BadParameterError(f"visits must have the shape of q_table {q.shape}, "
                                    f"got {visits.shape}")
        shown[visits == 0] = np.nan
    order = np.arange(states)
    if env is not None:
        if (states, actions) != (env.num_states, env.num_actions):
            raise BadParameterError(f"q_table has shape {q.shape}; env needs "
                                    f"({env.num_states}, {env.num_actions})")
        rewards = env.reward_table()
        order = np.lexsort((np.arange(states), -rewards))
        row_labels = [_state_label(env, int(i), rewards[i]) for i in order]
        col_labels = [_short_action(env, a) for a in range(actions)]
    else:
        row_labels, col_labels = [str(i) for i in order], [str(a) for a in range(actions)]
    ax = _axes(ax, width=2.8 + 0.75 * actions, height=min(12.0, 1.2 + 0.2 * states))
    cmap = matplotlib.colormaps["viridis"].with_extremes(bad="#d9dce1")
    image = ax.imshow(shown[order], aspect="auto", cmap=cmap, interpolation="nearest")
    image.set_gid("q")
    greedy = q[order].argmax(axis=1)
    ax.plot(greedy, np.arange(states), linestyle="none", marker="o", markersize=7,
            markerfacecolor="none", markeredgecolor="white", markeredgewidth=1.4, gid="greedy")
    every = 1 if states <= 40 else math.ceil(states / 40)
    ax.set_yticks(range(0, states, every), row_labels[::every], fontsize=7,
                  fontfamily="DejaVu Sans Mono")
    ax.set_xticks(range(actions), col_labels, rotation=45 if actions > 3 else 0, ha="right")
    ax.set_xlabel("action (circled: the greedy one" + ("; grey: never tried)" if visits is not None
                                                        else ")"))
    ax.set_ylabel("state" + (" (best reward first)" if env is not None else ""))
    colorbar = ax.figure.colorbar(image, ax=ax, fraction=0.05, pad=0.02)
    colorbar.set_label("Q(state, action)", fontsize=8)
    colorbar.ax.tick_params(labelsize=7)
    _style(ax, title)
    return ax


def reward_trace(rewards, reset_steps=(), ceiling: float | None = None, ax=None,
                 title: str | None = None):
    """Reward after every step of one run (line gid ``"reward"``), the steps where the state was
    reset at random as red dashed lines (gid ``"reset"``) and the best reward any state has
    as a green dotted line (gid ``"ceiling"``). E.g. a ``TabularRun``'s ``rewards``,
    ``reset_steps`` and ``ceiling`` (notebook 06)."""
    values = _as_array(rewards, "rewards", 1).astype(float)
    if values.size == 0:
        raise BadParameterError("rewards is empty: give at least one step")
    ax = _axes(ax, 9.0, 3.0)
    steps = np.arange(1, values.size + 1)
    ax.step(steps, values, where="post", color=REWARD_COLOR, linewidth=1.0, gid="reward",
            label="reward")
    for i, step in enumerate(_as_array(reset_steps, "reset_steps", 1)):
        ax.axvline(float(step), color=RESET_COLOR, linestyle="--", linewidth=1.0, gid="reset",
                   label="random reset" if i == 0 else None)
    if ceiling is not None:
        ax.axhline(float(ceiling), color=CEILING_COLOR, linestyle=":", linewidth=1.4,
                   gid="ceiling", label=f"best possible ({float(ceiling):.0f})")
    low = min(values.min(), ceiling if ceiling is not None else values.min())
    high = max(values.max(), ceiling if ceiling is not None else values.max())
    ax.set_ylim(low - 0.05 * (high - low + 1), high + 0.12 * (high - low + 1))
    ax.set_xlim(0, values.size + 1)
    ax.set_xlabel("step")
    ax.set_ylabel("reward")
    ax.legend(fontsize=8, frameon=False, loc="lower right", ncols=3)
    _style(ax, title)
    return ax


def beta_sweep_curve(sweep, ax=None, title: str | None = None):
    """Mean reward against the MCMC inverse temperature beta (log axis) of a ``BetaSweep``:
    acting greedily after exploring (gid ``"greedy"``) and while exploring (gid
    ``"explore"``), each with standard-error bars over the repeats; the best beta starred
    (gid ``"best"``), the reward ceiling dotted (gid ``"ceiling"``). Notebook 06."""
    betas = _as_array(sweep.betas, "betas", 1).astype(float)
    if betas.size == 0 or (betas <= 0).any():
        raise BadParameterError("a log-beta axis needs betas > 0")
    ax = _axes(ax, 7.5, 3.6)
    ax.errorbar(betas, sweep.greedy_mean, yerr=sweep.greedy_sem, color=REWARD_COLOR, marker="o",
                markersize=4, capsize=3, linewidth=1.5, gid="greedy",
                label="greedy after exploring (mean ± SEM)")
    ax.errorbar(betas, sweep.explore_mean, yerr=sweep.explore_sem, color=Q_FUNCTION_COLORS["linear"],
                marker="s", markersize=3, capsize=3, linewidth=1.0, linestyle="--", gid="explore",
                label="while exploring (mean ± SEM)")
    best = int(np.argmax(sweep.greedy_mean))
    ax.plot([betas[best]], [sweep.greedy_mean[best]], marker="*", markersize=14, color=RESET_COLOR,
            linestyle="none", gid="best", label=f"best beta = {betas[best]:.2g}")
    ax.axhline(sweep.ceiling, color=CEILING_COLOR, linestyle=":", linewidth=1.4, gid="ceiling",
               label=f"best possible ({sweep.ceiling:.0f})")
    ax.set_xscale("log")
    ax.set_xlabel("beta (inverse temperature; log scale)")
    ax.set_ylabel("mean reward")
    ax.grid(axis="y", color=BEAT_LINE, linewidth=0.6)
    ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    _style(ax, title)
    return ax


def dqn_curves(runs, ax=None, reference: dict | None = None, title: str | None = None):
    """Training and evaluation rewards of DQN runs (``DQNRun``\\ s, e.g. linear and MLP), one
    colour per Q-function: the mean reward per step of each training episode as a faint moving
    average (gid ``"train"``), the greedy evaluations as dots joined by a line (gid ``"eval"``);
    ``reference`` maps names to rewards drawn dashed (e.g. a random policy's; gid
    ``"reference"``), the reward ceiling dotted (gid ``"ceiling"``). Notebook 06."""
    runs = list(runs.values()) if isinstance(runs, dict) else list(runs)
    if not runs:
        raise BadParameterError("runs is empty: give at least one DQNRun")
    ax = _axes(ax, 8.5, 3.8)
    for run in runs:
        color = Q_FUNCTION_COLORS.get(run.q_function, REFERENCE_COLOR)
        train = np.asarray(run.episode_rewards, dtype=float)
        if train.size:
            width = max(1, train.size // 12)
            ax.plot(run.episode_steps, _moving_average(train, width), color=color, alpha=0.45,
                    linewidth=1.0, gid="train", label=f"{run.q_function}: training episodes")
        ax.plot(run.eval_steps, run.eval_rewards, color=color, marker="o", markersize=4,
                linewidth=1.8, gid="eval", label=f"{run.q_function}: greedy evaluation")
    for i, (name, value) in enumerate((reference or {}).items()):
        ax.axhline(float(value), color=REFERENCE_COLOR, linestyle=(0, (4, 2 + 2 * i)),
                   linewidth=1.1, gid="reference", label=f"{name}: {float(value):.1f}")
    ax.axhline(runs[0].ceiling, color=CEILING_COLOR, linestyle=":", linewidth=1.4, gid="ceiling",
               label=f"best possible ({runs[0].ceiling:.0f})")
    ax.set_xlabel("training step")
    ax.set_ylabel("mean reward per step")
    ax.grid(axis="y", color=BEAT_LINE, linewidth=0.6)
    ax.legend(fontsize=7.5, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    _style(ax, title)
    return ax


def bar_vs_nearest(bar, nearest, ax=None, low_pitch: int | None = None,
                   labels=("generated", "nearest real bar"), title: str | None = None):
    """Two launchpad bars side by side (bool ``[notes, steps]`` each, row 0 the lowest note):
    lit pads amber (gid ``"cell"``), and the pads where the two differ ringed in red (gid
    ``"diff"``), so the Hamming distance can be counted by eye. ``low_pitch`` (MIDI pitch of
    row 0) names the rows. Notebook 06 compares the agent's bar with its nearest real bar."""
    from matplotlib.patches import Rectangle

    left = _as_array(bar, "bar", 2).astype(bool)
    right = _as_array(nearest, "nearest", 2).astype(bool)
    if left.shape != right.shape:
        raise BadParameterError(f"bar and nearest must have the same shape, got {left.shape} "
                                f"and {right.shape}")
    notes, steps = left.shape
    gap = max(2, steps // 8)
    ax = _axes(ax, width=min(14.0, 2.0 + (2 * steps + gap) * 0.22), height=1.2 + 0.3 * notes)
    ax.set_facecolor("white")
    for x0, grid in ((0, left), (steps + gap, right)):
        ax.add_patch(Rectangle((x0, 0), steps, notes, facecolor=LAUNCHPAD_BACK, edgecolor="none",
                               zorder=0))
        _pads(ax, grid, x0, 0.0)
        for r, s in zip(*np.nonzero(left != right)):
            ax.add_patch(Rectangle((x0 + s + 0.04, r + 0.04), 0.92, 0.92, fill=False,
                                   edgecolor=RESET_COLOR, linewidth=1.3, zorder=3, gid="diff"))
        for step in range(0, steps + 1, max(1, steps // 4)):
            ax.plot([x0 + step] * 2, [0, notes], color="#8a90a0", linewidth=1.0, zorder=4)
    for x0, label in ((0, labels[0]), (steps + gap, labels[1])):
        ax.text(x0 + steps / 2, notes + 0.3, label, ha="center", va="bottom", fontsize=9)
    rows = np.arange(notes)
    names = [_pitch_name(low_pitch + r) for r in rows] if low_pitch is not None else rows
    every = 1 if notes <= 12 else 2
    ax.set_yticks(rows[::every] + 0.5, [str(n) for n in names][::every])
    ticks = [x0 + s for x0 in (0, steps + gap) for s in range(0, steps, max(1, steps // 4))]
    ax.set_xticks(np.array(ticks) + 0.5, [str(t % (steps + gap)) for t in ticks])
    ax.set_xlim(-0.5, 2 * steps + gap + 0.5)
    ax.set_ylim(0, notes + 1.3)
    for side in ("left", "bottom"):
        ax.spines[side].set_visible(False)
    ax.set_xlabel(f"step  ·  {int((left != right).sum())} pads differ (ringed)")
    _style(ax, title)
    return ax


#: Colours of reward curves: the total reward, its log p part and its music-theory part.
REWARD_COLORS = {"total": "#2c3e50", "log_p": "#3a6ea5", "rules": "#e67e22"}


def reward_curves(history, ax=None, title: str | None = None):
    """Mean reward per step of every round of an RL tuning run, against compositions played.

    ``history``: a ``musiclab.rl.tuner.TuningHistory`` (or its dict). Three curves, each raw (faint)
    and as a moving average (solid, gids ``"total"``, ``"log_p"``, ``"rules"``): the total reward
    r = log p(a | s) + r_MT(a, s) / c, its learned part log p (nats) and its music-theory part
    r_MT / c. In the style of the RL Tuner's reward figures. Notebook 02 draws its live run with it.
    """
    from dataclasses import asdict, is_dataclass

    parts = dict(asdict(history)) if is_dataclass(history) else history
    if not isinstance(parts, dict) or not {"episodes", "log_p_reward", "rule_reward"} <= set(parts):
        raise BadParameterError(f"history must be a TuningHistory (or its dict), got {type(history).__name__}")
    episodes = np.asarray(parts["episodes"], dtype=float)
    log_p = np.asarray(parts["log_p_reward"], dtype=float)
    rules = np.asarray(parts["rule_reward"], dtype=float)
    if episodes.size == 0 or not episodes.size == log_p.size == rules.size:
        raise BadParameterError(f"history must hold one value per round: got {episodes.size} rounds, "
                                f"{log_p.size} log p values and {rules.size} rule values")
    ax = _axes(ax, 8.0, 3.6)
    width = max(1, episodes.size // 15)
    curves = (("total", log_p + rules, "total reward r"), ("log_p", log_p, "log p(a | s)"),
              ("rules", rules, "r_MT(a, s) / c"))
    for gid, values, label in curves:
        color = REWARD_COLORS[gid]
        ax.plot(episodes, values, color=color, alpha=0.25, linewidth=0.8, gid=f"{gid}_raw")
        ax.plot(episodes, _moving_average(values, width), color=color, linewidth=2.0 if gid == "total" else 1.5,
                gid=gid, label=label + (f" ({width}-round mean)" if width > 1 else ""))
    ax.axhline(0.0, color=BAR_LINE, linewidth=0.8)
    ax.set_xlim(0, episodes[-1])
    ax.set_xlabel("compositions played")
    ax.set_ylabel("mean reward per step")
    ax.grid(axis="y", color=BEAT_LINE, linewidth=0.6)
    ax.legend(fontsize=8, frameon=False, loc="lower right")
    _style(ax, title)
    return ax


def rules_vs_diversity(points, rule_key: str = "notes_in_motif", marked: str | None = None, ax=None,
                       title: str | None = None):
    """The price of the rules: one point per setting, a rule metric against diversity.

    ``points``: ``{label: metrics}`` where each metrics dict holds ``rule_key`` (y, e.g.
    ``'notes_in_motif'`` of :func:`musiclab.eval.paper.paper_metrics`) and ``'distinct_4gram_share'``
    (x, :func:`musiclab.eval.diversity.diversity_metrics`). Labels of the form ``'c=0.6,T=1'``
    connect the points of one temperature with a line. ``marked``: the label of the shipped setting,
    drawn as a star. Notebook 02.
    """
    if not points:
        raise BadParameterError("points must hold at least one setting: {label: metrics}")
    ax = _axes(ax, 6.5, 4.2)
    by_temperature: dict[str, list[tuple[float, float, str]]] = {}
    for label, metrics in points.items():
        for key in (rule_key, "distinct_4gram_share"):
            if key not in metrics:
                raise BadParameterError(f"the metrics of {label!r} lack {key!r}")
        group = label.split(",T=")[1] if ",T=" in label else ""
        by_temperature.setdefault(group, []).append((metrics["distinct_4gram_share"], metrics[rule_key], label))
    for group, rows in by_temperature.items():
        xs, ys, labels = zip(*rows)
        ax.plot(xs, ys, marker="o", linewidth=1.0, gid=f"T={group}", label=f"temperature {group}" if group else None)
        for x, y, label in rows:
            ax.annotate(label.split(",T=")[0], (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points")
    if marked is not None:
        if marked not in points:
            raise BadParameterError(f"marked must be one of the labels, got {marked!r}")
        ax.plot(points[marked]["distinct_4gram_share"], points[marked][rule_key], marker="*", markersize=16,
                color=REWARD_COLORS["rules"], linestyle="none", gid="marked", label=marked)
    ax.set_xlabel("distinct pitch 4-grams / all (diversity)")
    ax.set_ylabel(rule_key.replace("_", " "))
    ax.grid(color=BEAT_LINE, linewidth=0.6)
    ax.legend(fontsize=8, frameon=False)
    _style(ax, title)
    return ax


#: Colour of the ε-sweep curves (a sequential map, light = little exploration) and of preference bars.
SWEEP_CMAP, PREFERENCE_COLOR = "viridis", "#3a6ea5"


def epsilon_sweep_curves(sweep, ax=None, title: str | None = None):
    """The ε sweep of the drum tuner: one rolling-average reward curve per ε (gid ``"eps=<ε>"``).

    ``sweep``: a ``musiclab.rl.drum_tuning.SweepResult`` or its ``as_dict()`` (as stored in
    ``bench/results/drums.json``). x: transitions played; y: mean reward per step over the last
    ``window`` transitions, in nats. Notebook 05.
    """
    import matplotlib

    runs = sweep["runs"] if isinstance(sweep, dict) else {
        str(eps): {"transitions": sweep.curves[eps][0], "reward": sweep.curves[eps][1]} for eps in sweep.epsilons}
    window = sweep["window"] if isinstance(sweep, dict) else sweep.window
    if not runs:
        raise BadParameterError("the sweep holds no runs to draw")
    ax = _axes(ax, 8.0, 3.6)
    colors = matplotlib.colormaps[SWEEP_CMAP](np.linspace(0.0, 0.85, len(runs)))
    for color, (eps, run) in zip(colors, sorted(runs.items(), key=lambda item: float(item[0]))):
        x, y = np.asarray(run["transitions"], dtype=float), np.asarray(run["reward"], dtype=float)
        if x.size == 0 or x.size != y.size:
            raise BadParameterError(f"run ε={eps} must hold equally many transitions and rewards")
        ax.plot(x, y, color=color, linewidth=1.6, gid=f"eps={float(eps):g}", label=f"ε = {float(eps):g}")
    ax.set_xlabel("transitions played")
    ax.set_ylabel(f"reward per step ({window}-step rolling mean)")
    ax.grid(axis="y", color=BEAT_LINE, linewidth=0.6)
    ax.legend(fontsize=8, frameon=False, loc="lower right")
    _style(ax, title)
    return ax


def preference_bars(counts, chi_square=None, ax=None, title: str | None = None):
    """Preference counts of an A/B listening test as bars (gid ``"preference"``), with the χ² test
    (a ``ChiSquareResult``) in the title line when given. ``counts``: system → times preferred.
    Notebook 05 and its A/B panel."""
    if not counts:
        raise BadParameterError("counts is empty: give system -> times preferred")
    names, values = list(counts), np.asarray([float(v) for v in counts.values()])
    if np.any(values < 0):
        raise BadParameterError(f"counts must be non-negative, got {dict(counts)}")
    ax = _axes(ax, 1.6 + 1.1 * len(names), 2.8)
    bars = ax.bar(range(len(names)), values, color=PREFERENCE_COLOR, width=0.6)
    for bar in bars:
        bar.set_gid("preference")
    if chi_square is not None:
        ax.axhline(chi_square.expected[0], color=BAR_LINE, linestyle="--", linewidth=1.0, gid="expected",
                   label="no preference")
        ax.legend(fontsize=8, frameon=False, loc="upper right")
    for i, value in enumerate(values):
        ax.text(i, value, f"{value:g}", ha="center", va="bottom", fontsize=9)
    ax.set_xticks(range(len(names)), names)
    ax.set_ylabel("times preferred")
    ax.set_ylim(0, max(1.0, values.max()) * 1.25)
    if title is None and chi_square is not None:
        title = f"χ² = {chi_square.statistic:.2f}, p = {chi_square.p_value:.3g}"
    _style(ax, title)
    return ax


def satisfaction_curve(satisfaction, ax=None, title: str | None = None, target: float | None = None,
                       label: str = "this listener"):
    """A listener's satisfaction over a therapy session (notebook 07): per piece [P] the share of
    "more like this" (or the mean calm reading), 0..1, with its running mean and an optional
    ``target`` line. ``satisfaction`` may also be [listeners, P]: then the median and the
    interquartile band are drawn. Points drawn per piece carry gid ``"piece"``."""
    values = _as_array(satisfaction, "satisfaction", None).astype(np.float64)
    if values.ndim not in (1, 2) or values.shape[-1] == 0:
        raise BadParameterError(f"satisfaction must be [pieces] or [listeners, pieces], got shape {values.shape}")
    ax = _axes(ax, width=6.0, height=3.0)
    pieces = np.arange(1, values.shape[-1] + 1)
    if values.ndim == 2:
        low, middle, high = np.nanpercentile(values, [25, 50, 75], axis=0)
        ax.fill_between(pieces, low, high, color=NOTE_COLOR, alpha=0.2, linewidth=0, label="middle half")
        ax.plot(pieces, middle, "o-", color=NOTE_COLOR, gid="piece", label=f"median of {len(values)} listeners")
    else:
        ax.plot(pieces, values, "o", color=NOTE_COLOR, gid="piece", label=label)
        running = np.nancumsum(values) / np.cumsum(~np.isnan(values)).clip(min=1)
        ax.plot(pieces, running, "-", color=NOTE_EDGE, linewidth=1.5, label="running mean")
    if target is not None:
        ax.axhline(target, color=BAR_LINE, linestyle="--", linewidth=1.0, label=f"target {target:.0%}")
    ax.axhline(0.5, color=BEAT_LINE, linewidth=0.8)
    ax.set_xticks(pieces)
    ax.set_ylim(-0.03, 1.03)
    ax.set_xlabel("piece")
    ax.set_ylabel("satisfaction")
    ax.legend(fontsize=8, frameon=False, loc="lower right")
    _style(ax, title)
    return ax


def interpolation_grid(path_events, axes=None, ncols: int | None = None, title: str | None = None):
    """Piano rolls of an interpolation path (notebook 04): ``path_events`` [n_steps, T] events, one
    melody per point of the path, drawn left to right, top to bottom in a grid of ``ncols`` columns
    (default: up to 4). ``axes``: n_steps Axes to draw into (else a new figure). Every roll gets the
    same pitch range; the first and last are labelled A and B. Returns the Axes as a 1-D array."""
    path = _as_array(path_events, "path_events", 2)
    count = path.shape[0]
    if count == 0:
        raise BadParameterError("path_events holds no melodies (shape [0, T])")
    if axes is None:
        import matplotlib.pyplot as plt

        ncols = min(count, 4) if ncols is None else int(ncols)
        if ncols < 1:
            raise BadParameterError(f"ncols must be >= 1, got {ncols}")
        nrows = math.ceil(count / ncols)
        fig, grid = plt.subplots(nrows, ncols, figsize=(3.4 * ncols, 2.6 * nrows), layout="constrained",
                                 squeeze=False)
        for extra in grid.ravel()[count:]:
            extra.set_visible(False)
        axes = grid.ravel()[:count]
        if title:
            fig.suptitle(title, x=0.01, ha="left", fontsize=11)
    axes = np.asarray(axes, dtype=object).ravel()
    if len(axes) != count:
        raise BadParameterError(f"axes must hold {count} Axes (one per path step), got {len(axes)}")
    pitches = [pitch for events in path for pitch, _, _ in _melody_notes(events)] or [60, 72]
    low, high = min(pitches) - 1, max(pitches) + 1
    for i, (events, ax) in enumerate(zip(path, axes)):
        name = "A" if i == 0 else "B" if i == count - 1 else f"{i / (count - 1):.2f}"
        piano_roll(events, ax=ax, title=f"{i}: {name}")
        _keyboard_rows(ax, low, high, 0, len(events))  # one shared range, labelled at C, E and G
        ticks = [p for p in range(low, high + 1) if p % 12 in (0, 4, 7)]
        ax.set_yticks(ticks, [_pitch_name(p) for p in ticks])
        ax.set_xlabel("")
        ax.title.set_fontsize(9)
    return axes


def _first_windows(tunes, length: int, name: str) -> np.ndarray:
    """The first ``length`` events of each tune (a Tune with ``.events`` or a 1-D array) long enough: [N, length]."""
    rows = [np.asarray(getattr(tune, "events", tune))[:length] for tune in tunes]
    rows = [row for row in rows if row.ndim == 1 and len(row) == length]
    if not rows:
        raise BadParameterError(f"{name} holds no tune of at least {length} steps")
    return np.stack(rows).astype(np.int64)


def latent_map(model, tunes, highlight=None, ax=None, title: str | None = None,
               labels: tuple[str, str] = ("corpus", "calming")):
    """2-D PCA map of a MusicVAE's latent space (notebook 04): the posterior mean of the first window
    (``model.config.seq_len`` steps) of each tune in ``tunes`` as grey points, those of ``highlight``
    (e.g. the calming set) on top in colour. Tunes shorter than a window are left out. The two axes
    are the first two principal components of all points, labelled with their share of variance."""
    import torch

    window = model.config.seq_len
    base = _first_windows(tunes, window, "tunes")
    marked = _first_windows(highlight, window, "highlight") if highlight is not None else base[:0]
    events = torch.from_numpy(np.concatenate([base, marked]))
    with torch.no_grad():
        mu = torch.cat([model.encode(events[start:start + 512])[0].cpu()
                        for start in range(0, len(events), 512)]).numpy().astype(np.float64)
    centred = mu - mu.mean(axis=0)
    _, singular, basis = np.linalg.svd(centred, full_matrices=False)
    points = centred @ basis[:2].T
    share = singular[:2] ** 2 / max(float((singular ** 2).sum()), 1e-12)
    ax = _axes(ax, width=5.5, height=4.5)
    ax.scatter(points[:len(base), 0], points[:len(base), 1], s=6, color=BAR_LINE, alpha=0.5,
               linewidths=0, label=f"{labels[0]} ({len(base)})", gid="corpus")
    if len(marked):
        ax.scatter(points[len(base):, 0], points[len(base):, 1], s=18, color="#e07b39",
                   edgecolors=NOTE_EDGE, linewidths=0.4, label=f"{labels[1]} ({len(marked)})", gid="highlight")
    ax.set_xlabel(f"PC 1 ({share[0]:.0%} of variance)")
    ax.set_ylabel(f"PC 2 ({share[1]:.0%} of variance)" if len(share) > 1 else "PC 2")
    ax.legend(fontsize=8, frameon=False, loc="best")
    _style(ax, title)
    return ax
