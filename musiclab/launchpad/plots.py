"""Figures of the RL-DJ launchpad (notebook 06): bars, basis vectors, Q-tables, reward traces, the
MCMC β sweep and DQN curves. Lit cells are patches with gid ``"cell"``."""
from __future__ import annotations

import math

import numpy as np

from musiclab.data.melody import pitch_name
from musiclab.errors import BadParameterError
from musiclab.launchpad.bars import BAR_STEPS, LOW_PITCH, NUM_PITCHES, check_bars
from musiclab.launchpad.buttons import basis_vectors
from musiclab.launchpad.view import LAUNCHPAD_BACK, LAUNCHPAD_OFF, LAUNCHPAD_ON
from musiclab.plots.core import (BEAT_LINE, BLACK_KEYS, as_array, axes_or_new, moving_average, step_lines,
                                 style)
from musiclab.plots.training import REFERENCE_COLOR


def launchpad_bar(bar, ax=None, title: str | None = None):
    """A launchpad bar ([24, 64] bool or 0/1: pitches MIDI 47..70 × 64th-note steps) as a grid of pads.

    Each onset is a lit pad, amber on a dark board; lines every 4 steps (a 16th) and every 16
    (a beat). Notebook 06 draws the agent's and the listener's bars with it.
    """
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import Rectangle

    bars = check_bars(as_array(bar, "bar", None))
    if len(bars) != 1:
        raise BadParameterError(f"bar must be one bar [{NUM_PITCHES}, {BAR_STEPS}], got {len(bars)} bars")
    lit = bars[0]
    ax = axes_or_new(ax, width=9.0, height=4.0)
    ax.set_facecolor(LAUNCHPAD_BACK)
    pads = [Rectangle((s + 0.08, LOW_PITCH + p - 0.42), 0.84, 0.84)
            for p in range(NUM_PITCHES) for s in range(BAR_STEPS) if not lit[p, s]]
    ax.add_collection(PatchCollection(pads, facecolor=LAUNCHPAD_OFF, edgecolor="none", zorder=0))
    for p, s in zip(*np.nonzero(lit)):
        ax.add_patch(Rectangle((s + 0.08, LOW_PITCH + p - 0.42), 0.84, 0.84, facecolor=LAUNCHPAD_ON,
                               edgecolor="none", zorder=2, gid="cell"))
    step_lines(ax, BAR_STEPS, 4, 16, color_beat="#3a3f4d", color_bar="#8a90a0")
    ticks = [LOW_PITCH + p for p in range(NUM_PITCHES) if (LOW_PITCH + p) % 12 not in BLACK_KEYS]
    ax.set_yticks(ticks, [pitch_name(t) for t in ticks])
    ax.set_ylim(LOW_PITCH - 0.5, LOW_PITCH + NUM_PITCHES - 0.5)
    ax.set_xlim(0, BAR_STEPS)
    ax.set_xticks(range(0, BAR_STEPS + 1, 16))
    ax.set_xlabel("step")
    ax.set_ylabel("pitch")
    style(ax, title)
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
    basis = basis_vectors(beats_log2)
    count, steps = basis.shape
    ax = axes_or_new(ax, width=min(12.0, 2.5 + steps * 0.28), height=1.0 + 0.42 * count)
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
    style(ax, title or f"Basis vectors of a bar of 2^{beats_log2} = {steps} steps")
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

    q = as_array(q_table, "q_table", 2).astype(float)
    states, actions = q.shape
    shown = q.copy()
    if visits is not None:
        visits = as_array(visits, "visits", 2)
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
    ax = axes_or_new(ax, width=2.8 + 0.75 * actions, height=min(12.0, 1.2 + 0.2 * states))
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
    style(ax, title)
    return ax


def reward_trace(rewards, reset_steps=(), ceiling: float | None = None, ax=None,
                 title: str | None = None):
    """Reward after every step of one run (line gid ``"reward"``), the steps where the state was
    reset at random as red dashed lines (gid ``"reset"``) and the best reward any state has
    as a green dotted line (gid ``"ceiling"``). E.g. a ``TabularRun``'s ``rewards``,
    ``reset_steps`` and ``ceiling`` (notebook 06)."""
    values = as_array(rewards, "rewards", 1).astype(float)
    if values.size == 0:
        raise BadParameterError("rewards is empty: give at least one step")
    ax = axes_or_new(ax, 9.0, 3.0)
    steps = np.arange(1, values.size + 1)
    ax.step(steps, values, where="post", color=REWARD_COLOR, linewidth=1.0, gid="reward",
            label="reward")
    for i, step in enumerate(as_array(reset_steps, "reset_steps", 1)):
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
    style(ax, title)
    return ax


def beta_sweep_curve(sweep, ax=None, title: str | None = None):
    """Mean reward against the MCMC inverse temperature beta (log axis) of a ``BetaSweep``:
    acting greedily after exploring (gid ``"greedy"``) and while exploring (gid
    ``"explore"``), each with standard-error bars over the repeats; the best beta starred
    (gid ``"best"``), the reward ceiling dotted (gid ``"ceiling"``). Notebook 06."""
    betas = as_array(sweep.betas, "betas", 1).astype(float)
    if betas.size == 0 or (betas <= 0).any():
        raise BadParameterError("a log-beta axis needs betas > 0")
    ax = axes_or_new(ax, 7.5, 3.6)
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
    style(ax, title)
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
    ax = axes_or_new(ax, 8.5, 3.8)
    for run in runs:
        color = Q_FUNCTION_COLORS.get(run.q_function, REFERENCE_COLOR)
        train = np.asarray(run.episode_rewards, dtype=float)
        if train.size:
            width = max(1, train.size // 12)
            ax.plot(run.episode_steps, moving_average(train, width), color=color, alpha=0.45,
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
    style(ax, title)
    return ax


def bar_vs_nearest(bar, nearest, ax=None, low_pitch: int | None = None,
                   labels=("generated", "nearest real bar"), title: str | None = None):
    """Two launchpad bars side by side (bool ``[notes, steps]`` each, row 0 the lowest note):
    lit pads amber (gid ``"cell"``), and the pads where the two differ ringed in red (gid
    ``"diff"``), so the Hamming distance can be counted by eye. ``low_pitch`` (MIDI pitch of
    row 0) names the rows. Notebook 06 compares the agent's bar with its nearest real bar."""
    from matplotlib.patches import Rectangle

    left = as_array(bar, "bar", 2).astype(bool)
    right = as_array(nearest, "nearest", 2).astype(bool)
    if left.shape != right.shape:
        raise BadParameterError(f"bar and nearest must have the same shape, got {left.shape} "
                                f"and {right.shape}")
    notes, steps = left.shape
    gap = max(2, steps // 8)
    ax = axes_or_new(ax, width=min(14.0, 2.0 + (2 * steps + gap) * 0.22), height=1.2 + 0.3 * notes)
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
    names = [pitch_name(low_pitch + r) for r in rows] if low_pitch is not None else rows
    every = 1 if notes <= 12 else 2
    ax.set_yticks(rows[::every] + 0.5, [str(n) for n in names][::every])
    ticks = [x0 + s for x0 in (0, steps + gap) for s in range(0, steps, max(1, steps // 4))]
    ax.set_xticks(np.array(ticks) + 0.5, [str(t % (steps + gap)) for t in ticks])
    ax.set_xlim(-0.5, 2 * steps + gap + 0.5)
    ax.set_ylim(0, notes + 1.3)
    for side in ("left", "bottom"):
        ax.spines[side].set_visible(False)
    ax.set_xlabel(f"step  ·  {int((left != right).sum())} pads differ (ringed)")
    style(ax, title)
    return ax
