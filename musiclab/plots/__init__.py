"""Figures, by topic: ``fn(..., ax=None) -> Axes`` everywhere (see :mod:`musiclab.plots.core`).

Notebooks write ``from musiclab import plots`` and call ``plots.piano_roll(...)``: every public figure of
the topic modules is named here. Topics: ``melody`` (piano rolls, heatmaps, VAE paths, the price of
the rules), ``training`` (loss and reward curves), ``drums``, ``listening`` (A/B preferences),
and ``launchpad`` (notebook 06). The therapy session's figure lives with its system
(``musiclab.therapy.plots``, notebook 07).
"""
from musiclab.plots.drums import drum_grid, epsilon_sweep_curves
from musiclab.plots.launchpad import (bar_vs_nearest, beta_sweep_curve, dqn_curves, launchpad_bar, launchpad_basis,
                                      q_table_heatmap, reward_trace)
from musiclab.plots.listening import preference_bars
from musiclab.plots.melody import (event_histogram, interpolation_grid, latent_map, note_probabilities, piano_roll,
                                   pianoroll_pm, rules_vs_diversity)
from musiclab.plots.training import reward_curves, training_curves

__all__ = [
    "bar_vs_nearest", "beta_sweep_curve", "dqn_curves", "drum_grid", "epsilon_sweep_curves", "event_histogram",
    "interpolation_grid", "latent_map", "launchpad_bar", "launchpad_basis", "note_probabilities", "piano_roll",
    "pianoroll_pm", "preference_bars", "q_table_heatmap", "reward_curves", "reward_trace", "rules_vs_diversity",
    "training_curves",
]
