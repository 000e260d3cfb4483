"""Figures of drums: the drum grid (hits are patches with gid ``"hit"``) and the ε sweep of drum
tuning (notebook 05)."""
from __future__ import annotations

import numpy as np

from musiclab.errors import BadParameterError
from musiclab.plots.core import BEAT_LINE, as_array, axes_or_new, step_lines, style

#: Drum-class colours by family: drums warm, hi-hats and cymbals cool, silence grey.
DRUM_COLORS = {
    "kick": "#c0392b", "snare": "#e67e22", "high_tom": "#d4a017", "low_mid_tom": "#b8860b",
    "floor_tom": "#8d6e1f", "open_hihat": "#16a085", "closed_hihat": "#1abc9c",
    "crash": "#2980b9", "ride": "#6c5ce7", "silence": "#c8ccd2",
}


def drum_grid(grid, ax=None, title: str | None = None):
    """A 2-bar drum grid ([32] class indices 0..9) as 10 drum rows × 32 steps, one filled cell per step.

    Hits are coloured by drum family; silent steps are grey cells in the silence row. Beat lines
    every 4 steps, bar lines every 16. Notebook 05 draws grids with it.
    """
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import Rectangle

    from musiclab.data.drums import DRUM_CLASSES, SILENCE, check_grid

    grid = check_grid(as_array(grid, "grid", 1))
    steps, rows = grid.size, len(DRUM_CLASSES)
    ax = axes_or_new(ax, width=min(14.0, max(6.0, steps / 32 * 8.0)), height=3.4)
    empty = [Rectangle((s + 0.06, r - 0.44), 0.88, 0.88) for s in range(steps) for r in range(rows)]
    ax.add_collection(PatchCollection(empty, facecolor="#f3f4f6", edgecolor="none", zorder=0))
    for step, cls in enumerate(grid.tolist()):
        name = DRUM_CLASSES[cls]
        ax.add_patch(Rectangle((step + 0.06, cls - 0.44), 0.88, 0.88, facecolor=DRUM_COLORS[name],
                               edgecolor="none", zorder=2, gid="silence" if cls == SILENCE else "hit"))
    step_lines(ax, steps, 4, 16)
    ax.set_xlim(0, steps)
    ax.set_ylim(rows - 0.5, -0.5)  # class 0 (kick) on top, silence at the bottom
    ax.set_yticks(range(rows), [f"{name.replace('_', ' ')} ({i})" for i, name in enumerate(DRUM_CLASSES)])
    ax.set_xticks([s + 0.5 for s in range(0, steps, 4)], [str(s) for s in range(0, steps, 4)])
    ax.set_xlabel("16th-note step")
    style(ax, title)
    ax.spines["left"].set_visible(False)
    ax.tick_params(axis="y", length=0)
    return ax


#: Colour map of the ε-sweep curves (light = little exploration).
SWEEP_CMAP = "viridis"


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
    ax = axes_or_new(ax, 8.0, 3.6)
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
    style(ax, title)
    return ax
