"""Figures, by topic: ``fn(..., ax=None) -> Axes`` everywhere (see :mod:`musiclab.plots.core`).

Notebooks write ``from musiclab import plots`` and call ``plots.piano_roll(...)``: every public figure of
the topic modules is named here. Topics: ``melody`` (piano rolls, heatmaps, VAE paths, the price of
the rules), ``attributes`` (a VAE attribute against the step), ``training`` (loss and reward curves),
``drums`` and ``listening`` (A/B preferences). The systems keep their figures with them: :mod:`musiclab.launchpad.plots` (notebook 06) and
:mod:`musiclab.therapy.plots` (notebook 07).
"""
from musiclab.plots.attributes import attribute_steps
from musiclab.plots.drums import drum_grid, epsilon_sweep_curves
from musiclab.plots.listening import preference_bars
from musiclab.plots.melody import (event_histogram, interpolation_grid, latent_map, note_probabilities, piano_roll,
                                   pianoroll_pm, rules_vs_diversity)
from musiclab.plots.training import reward_curves, training_curves

__all__ = [
    "attribute_steps", "drum_grid", "epsilon_sweep_curves", "event_histogram", "interpolation_grid", "latent_map",
    "note_probabilities", "piano_roll", "pianoroll_pm", "preference_bars", "reward_curves", "rules_vs_diversity", "training_curves",
]
