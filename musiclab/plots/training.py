"""Figures of training: loss curves of supervised training (notebook 01) and the reward curves of
RL tuning (notebook 02)."""
from __future__ import annotations

import numpy as np

from musiclab.errors import BadParameterError
from musiclab.plots.core import BAR_LINE, BEAT_LINE, axes_or_new, moving_average, style

#: Colours of training curves: training loss (raw and smoothed), validation, reference lines.
TRAIN_COLOR, VALID_COLOR, REFERENCE_COLOR = "#3a6ea5", "#c0392b", "#7d8590"


def training_curves(history, ax=None, title: str | None = None, reference: dict | None = None):
    """Training loss per step and validation NLL per evaluation of a ``train_state.TrainHistory``.

    ``history``: a TrainHistory, or the dict a checkpoint stores in ``extra['history']``. The raw
    per-step loss is a faint line (gid ``"train"``), its moving average a solid one
    (``"train_smooth"``), validation NLL dots joined by a line (``"valid"``), the best one
    starred; ``reference`` maps names to NLLs drawn as dashed lines (e.g. a baseline's). All in
    nats per step. Notebook 01 draws its live training run with it.
    """
    from musiclab.models.train_state import TrainHistory

    if isinstance(history, dict):
        history = TrainHistory(**history)
    if not isinstance(history, TrainHistory):
        raise BadParameterError(f"history must be a TrainHistory (or its dict), got {type(history).__name__}")
    if not history.train_loss:
        raise BadParameterError("history holds no training steps to draw")
    ax = axes_or_new(ax, 8.0, 3.6)
    loss = np.asarray(history.train_loss, dtype=float)
    steps = np.arange(1, loss.size + 1)
    ax.plot(steps, loss, color=TRAIN_COLOR, alpha=0.25, linewidth=0.8, gid="train",
            antialiased=False)  # a noisy anti-aliased line makes a PNG several times larger
    width = max(1, loss.size // 40)
    ax.plot(steps, moving_average(loss, width), color=TRAIN_COLOR, linewidth=1.8, gid="train_smooth",
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
    style(ax, title)
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
    ax = axes_or_new(ax, 8.0, 3.6)
    width = max(1, episodes.size // 15)
    curves = (("total", log_p + rules, "total reward r"), ("log_p", log_p, "log p(a | s)"),
              ("rules", rules, "r_MT(a, s) / c"))
    for gid, values, label in curves:
        color = REWARD_COLORS[gid]
        ax.plot(episodes, values, color=color, alpha=0.25, linewidth=0.8, gid=f"{gid}_raw")
        ax.plot(episodes, moving_average(values, width), color=color, linewidth=2.0 if gid == "total" else 1.5,
                gid=gid, label=label + (f" ({width}-round mean)" if width > 1 else ""))
    ax.axhline(0.0, color=BAR_LINE, linewidth=0.8)
    ax.set_xlim(0, episodes[-1])
    ax.set_xlabel("compositions played")
    ax.set_ylabel("mean reward per step")
    ax.grid(axis="y", color=BEAT_LINE, linewidth=0.6)
    ax.legend(fontsize=8, frameon=False, loc="lower right")
    style(ax, title)
    return ax
