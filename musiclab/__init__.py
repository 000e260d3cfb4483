"""musiclab: make music with deep learning and reinforcement learning, in notebooks.

The package holds every piece of logic; the numbered notebooks in ``notebooks/`` call it.
Layers, bottom up: ``errors``/``runtime`` → ``data`` → ``theory``/``checkpoints``/``audio`` → ``models`` →
``eval`` → ``rl`` → ``plots`` → ``widgets`` → the systems ``launchpad`` and ``therapy`` → ``cli``
(README, Architecture; ``tests/test_layout.py`` keeps it so).
"""
from musiclab.errors import BadFileError, BadParameterError, MusiclabError, UnknownNameError
from musiclab.runtime import import_pyfluidsynth_quietly, pick_device, seed_everything

try:  # before pretty_midi does it less quietly (see import_pyfluidsynth_quietly)
    import_pyfluidsynth_quietly()
except (ImportError, OSError):
    pass  # audio falls back to the simple synth, with a warning that says how to install it

__version__ = "0.1.0"
__all__ = [
    "MusiclabError", "BadFileError", "BadParameterError", "UnknownNameError",
    "seed_everything", "pick_device", "__version__",
]
