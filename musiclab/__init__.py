"""musiclab: make music with deep learning and reinforcement learning, in notebooks.

The package holds every piece of logic; the numbered notebooks in ``notebooks/`` call it.
Layers, bottom up: ``data`` → ``models`` → ``rl`` → ``eval`` → ``audio``/``plots``/``widgets``.
"""
from musiclab.errors import BadFileError, BadParameterError, MusiclabError, UnknownNameError
from musiclab.runtime import pick_device, seed_everything

__version__ = "0.1.0"
__all__ = [
    "MusiclabError", "BadFileError", "BadParameterError", "UnknownNameError",
    "seed_everything", "pick_device", "__version__",
]
