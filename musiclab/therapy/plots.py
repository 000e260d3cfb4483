"""Figures of the therapy session (notebook 07): a listener's satisfaction over a session.

Shared look and helpers come from :mod:`musiclab.plots.core`; ``fn(..., ax=None) -> Axes`` as everywhere.
"""
from __future__ import annotations

import numpy as np

from musiclab.errors import BadParameterError
from musiclab.plots.core import BAR_LINE, BEAT_LINE, NOTE_COLOR, NOTE_EDGE, as_array, axes_or_new, style


def satisfaction_curve(satisfaction, ax=None, title: str | None = None, target: float | None = None,
                       label: str = "this listener"):
    """A listener's satisfaction over a therapy session (notebook 07): per piece [P] the share of
    "more like this" (or the mean calm reading), 0..1, with its running mean and an optional
    ``target`` line. ``satisfaction`` may also be [listeners, P]: then the median and the
    interquartile band are drawn. Points drawn per piece carry gid ``"piece"``."""
    values = as_array(satisfaction, "satisfaction", None).astype(np.float64)
    if values.ndim not in (1, 2) or values.shape[-1] == 0:
        raise BadParameterError(f"satisfaction must be [pieces] or [listeners, pieces], got shape {values.shape}")
    ax = axes_or_new(ax, width=6.0, height=3.0)
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
    style(ax, title)
    return ax
