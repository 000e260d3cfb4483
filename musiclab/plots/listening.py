"""Figures of listening tests: how often each system was preferred (notebook 05 and its A/B panel)."""
from __future__ import annotations

import numpy as np

from musiclab.errors import BadParameterError
from musiclab.plots.core import BAR_LINE, axes_or_new, style

#: Colour of the preference bars.
PREFERENCE_COLOR = "#3a6ea5"


def preference_bars(counts, chi_square=None, ax=None, title: str | None = None):
    """Preference counts of an A/B listening test as bars (gid ``"preference"``), with the χ² test
    (a ``ChiSquareResult``) in the title line when given. ``counts``: system → times preferred.
    Notebook 05 and its A/B panel."""
    if not counts:
        raise BadParameterError("counts is empty: give system -> times preferred")
    names, values = list(counts), np.asarray([float(v) for v in counts.values()])
    if np.any(values < 0):
        raise BadParameterError(f"counts must be non-negative, got {dict(counts)}")
    ax = axes_or_new(ax, 1.6 + 1.1 * len(names), 2.8)
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
    style(ax, title)
    return ax
