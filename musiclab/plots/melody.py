"""Figures of melodies: piano rolls, event histograms, note-probability heatmaps, VAE paths and maps,
and the price of the rules (notebooks 00-04). Drawn notes are patches with gid ``"note"``."""
from __future__ import annotations

import math

import numpy as np

from musiclab.data.melody import pitch_name
from musiclab.errors import BadParameterError
from musiclab.plots.core import (ACCENT, BAR_LINE, BEAT_LINE, NOTE_COLOR, NOTE_EDGE, as_array, axes_or_new,
                                 keyboard_rows, step_lines, style)

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

    events = as_array(events, "events", 1)
    notes = _melody_notes(events)
    steps = max(len(events), 1)
    pitches = [pitch for pitch, _, _ in notes] or [60, 72]
    low, high = min(pitches) - 1, max(pitches) + 1
    if high - low < 12:  # show at least an octave, centred on the tune
        pad = 12 - (high - low)
        low, high = low - pad // 2, high + pad - pad // 2
    ax = axes_or_new(ax, width=min(14.0, max(6.0, steps / 16 * 2.6)),
               height=min(6.0, max(3.2, (high - low) * 0.15)))
    keyboard_rows(ax, low, high, 0, steps)
    beat, bar = STEPS_PER_QUARTER, 4 * STEPS_PER_QUARTER
    step_lines(ax, steps, beat if steps <= 16 * bar else bar, bar)  # long tunes: bar lines only
    for pitch, start, end in notes:
        ax.add_patch(Rectangle((start, pitch - 0.4), max(end - start, 0.3), 0.8, facecolor=NOTE_COLOR,
                               edgecolor=NOTE_EDGE, linewidth=0.8, zorder=2, gid="note"))
    ax.set_xlim(0, steps)
    ax.set_xticks(range(0, steps + 1, bar * math.ceil(steps / bar / 16)))  # at most ~16 labels
    ax.set_xlabel("16th-note step")
    style(ax, title)
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
    ax = axes_or_new(ax, width=min(14.0, max(6.0, end * 0.9)), height=min(6.0, max(2.8, (high - low) * 0.12)))
    keyboard_rows(ax, low, high, 0, end)
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
    style(ax, title)
    return ax


def event_histogram(melodies, ax=None, title=None):
    """Bar chart of how often each melody event occurs (note-off, no-event, each pitch) in ``melodies``.

    ``melodies``: an iterable of 1-D event arrays. Shows at a glance that holds dominate and the
    pitches of C major are the common ones. The y axis is scaled to the pitches; a bar taller than
    that (the holds, about 0.7 of all steps) is cut at the top, marked with a break and labelled
    with its share, so it does not squash the pitch bars. Used by notebook 00.
    """
    from musiclab.data.melody import NUM_CLASSES, event_names
    from musiclab.theory import FIRST_PITCH_EVENT

    counts = np.zeros(NUM_CLASSES, dtype=np.int64)
    for events in melodies:
        counts += np.bincount(as_array(events, "melody", 1).astype(np.int64), minlength=NUM_CLASSES)
    if counts.sum() == 0:
        raise BadParameterError("melodies hold no events to count")
    ax = axes_or_new(ax, 10, 3)
    shares = counts / counts.sum()
    top = 1.3 * max(float(shares[FIRST_PITCH_EVENT:].max()), float(np.sort(shares)[-3]), 1e-3)
    colors = [BAR_LINE if i < FIRST_PITCH_EVENT else NOTE_COLOR for i in range(NUM_CLASSES)]
    ax.bar(np.arange(NUM_CLASSES), np.minimum(shares, top), color=colors)
    for i in np.flatnonzero(shares > top):  # a cut bar: a white break near its top, its share beside it
        ax.plot([i - 0.5, i + 0.5], [0.84 * top, 0.88 * top], color="white", linewidth=3)
        ax.text(i + 0.5, 0.97 * top, f"{shares[i]:.2f}", ha="left", va="top", fontsize=8,
                fontweight="bold", color=BAR_LINE)
    ax.set_ylim(0, top)
    ax.set_xticks(np.arange(NUM_CLASSES), event_names(np.arange(NUM_CLASSES)), rotation=90, fontsize=7)
    ax.set_ylabel("share of steps")
    ax.set_xlim(-0.7, NUM_CLASSES - 0.3)
    ax.set_title(title or "How often each event occurs")
    return ax


#: Colour map of note-probability heatmaps, and the outline of the chosen events.
PROBABILITY_CMAP, CHOSEN_EDGE = "Blues", "#e67e22"


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

    events = as_array(events, "events", 1).astype(np.int64)
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
    ax = axes_or_new(ax, width=min(14.0, max(6.0, steps * 0.13 + 2.0)),
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
    style(ax, title)
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
    ax = axes_or_new(ax, 6.5, 4.2)
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
                color=ACCENT, linestyle="none", gid="marked", label=marked)
    ax.set_xlabel("distinct pitch 4-grams / all (diversity)")
    ax.set_ylabel(rule_key.replace("_", " "))
    ax.grid(color=BEAT_LINE, linewidth=0.6)
    ax.legend(fontsize=8, frameon=False)
    style(ax, title)
    return ax


def interpolation_grid(path_events, axes=None, ncols: int | None = None, title: str | None = None):
    """Piano rolls of an interpolation path (notebook 04): ``path_events`` [n_steps, T] events, one
    melody per point of the path, drawn left to right, top to bottom in a grid of ``ncols`` columns
    (default: up to 4). ``axes``: n_steps Axes to draw into (else a new figure). Every roll gets the
    same pitch range; the first and last are labelled A and B. Returns the Axes as a 1-D array."""
    path = as_array(path_events, "path_events", 2)
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
        keyboard_rows(ax, low, high, 0, len(events))  # one shared range, labelled at C, E and G
        ticks = [p for p in range(low, high + 1) if p % 12 in (0, 4, 7)]
        ax.set_yticks(ticks, [pitch_name(p) for p in ticks])
        ax.set_xlabel("")
        ax.title.set_fontsize(9)
    return axes


def latent_map(points, highlight=None, ax=None, title: str | None = None,
               labels: tuple[str, str] = ("corpus", "calming"), variance_share=None):
    """2-D map of a latent space (notebook 04): points [N, 2] in grey, those where ``highlight``
    (bool [N]) is True on top in colour. ``variance_share`` (the share of variance along each axis)
    labels the axes as principal components. ``musiclab.eval.vae.latent_coordinates`` computes all
    three from a MusicVAE."""
    points = as_array(points, "points", 2)
    if points.shape[1] != 2:
        raise BadParameterError(f"points must have shape [N, 2], got {points.shape}")
    marked = np.zeros(len(points), dtype=bool) if highlight is None else as_array(highlight, "highlight", 1)
    if marked.shape != (len(points),):
        raise BadParameterError(f"highlight must hold one flag per point ({len(points)}), got {marked.shape}")
    marked = marked.astype(bool)
    base, top = points[~marked], points[marked]
    ax = axes_or_new(ax, width=5.5, height=4.5)
    ax.scatter(base[:, 0], base[:, 1], s=6, color=BAR_LINE, alpha=0.5,
               linewidths=0, label=f"{labels[0]} ({len(base)})", gid="corpus")
    if len(top):
        ax.scatter(top[:, 0], top[:, 1], s=18, color="#e07b39",
                   edgecolors=NOTE_EDGE, linewidths=0.4, label=f"{labels[1]} ({len(top)})", gid="highlight")
    share = [] if variance_share is None else list(variance_share)
    ax.set_xlabel(f"PC 1 ({share[0]:.0%} of variance)" if share else "PC 1")
    ax.set_ylabel(f"PC 2 ({share[1]:.0%} of variance)" if len(share) > 1 else "PC 2")
    ax.legend(fontsize=8, frameon=False, loc="best")
    style(ax, title)
    return ax
