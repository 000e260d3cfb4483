"""The attribute of melodies moved along a MusicVAE attribute vector, against the step (notebook 04)."""
from __future__ import annotations

import warnings

import numpy as np

from musiclab.errors import BadParameterError
from musiclab.plots.core import ACCENT, BAR_LINE, NOTE_COLOR, as_array, axes_or_new, style

#: Axis labels of the attributes of :mod:`musiclab.eval.vae_attributes`.
ATTRIBUTE_LABELS = {"note_density": "note onsets per 16th step", "interval_size": "mean |interval| (semitones)",
                    "calm": "calm score (see eval.vae_attributes)"}


def attribute_steps(values, scales=None, name: str = "attribute", ax=None, title: str | None = None,
                    marked: int | None = None):
    """The attribute of each decoded melody against its step along a vector (notebook 04).

    ``values``: float [n_steps] for one tune, or [n_tunes, n_steps] (each tune a thin grey line,
    their median in colour; NaN gaps skipped). ``scales``: the x value of each step (default
    0..n_steps-1, in vector lengths). ``marked``: a step index drawn as a dot (the slider's).
    """
    rows = as_array(values, "values", None).astype(np.float64)
    if rows.ndim == 1:
        rows = rows[None]
    if rows.ndim != 2 or rows.shape[1] == 0:
        raise BadParameterError(f"values must have shape [n_steps] or [n_tunes, n_steps], got {rows.shape}")
    steps = np.arange(rows.shape[1], dtype=np.float64) if scales is None else as_array(scales, "scales", 1)
    if steps.shape[0] != rows.shape[1]:
        raise BadParameterError(f"scales must hold one value per step ({rows.shape[1]}), got {steps.shape[0]}")
    ax = axes_or_new(ax, width=5.0, height=3.2)
    centre = rows[0]
    if len(rows) > 1:
        for row in rows:
            ax.plot(steps, row, color=BAR_LINE, linewidth=0.7, alpha=0.6, gid="tune")
        with warnings.catch_warnings():  # a step where every tune is NaN has no median: leave a gap
            warnings.simplefilter("ignore", RuntimeWarning)
            centre = np.nanmedian(rows, axis=0)
        ax.plot(steps, centre, color=NOTE_COLOR, linewidth=2.2, marker="o", label=f"median of {len(rows)} tunes",
                gid="median")
        ax.legend(fontsize=8, frameon=False)
    else:
        ax.plot(steps, rows[0], color=NOTE_COLOR, linewidth=2.0, marker="o", gid="tune")
    if marked is not None:
        if not 0 <= int(marked) < len(steps):
            raise BadParameterError(f"marked must be a step index in 0..{len(steps) - 1}, got {marked!r}")
        ax.plot([steps[int(marked)]], [centre[int(marked)]], "o", color=ACCENT, markersize=10,
                zorder=5, gid="marked")
    ax.set_xlabel("step along the vector (corpus standard deviations)")
    ax.set_ylabel(ATTRIBUTE_LABELS.get(name, name))
    style(ax, title)
    return ax
