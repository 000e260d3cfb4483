"""Limits on the size of one piece of work, so a typo cannot hang the machine or fill its memory.

Each limit is a field of :data:`LIMITS`, visible and raisable: ``musiclab.limits.LIMITS.max_steps =
1_000_000`` in Python, or the matching ``--max-...`` option of the command line. Going over one is a
:class:`LimitError` that names the parameter, the limit and how to raise it.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

from musiclab.errors import BadParameterError


class LimitError(BadParameterError):
    """A request over one of the kit's size limits (see :data:`LIMITS`)."""


@dataclass
class Limits:
    """The kit's size limits; change a field to raise one for the session."""

    max_steps: int = 100_000
    """Events (16th steps or tokens) per sampled or composed piece."""
    max_pieces: int = 100_000
    """Pieces sampled or composed in one call."""
    max_render_seconds: float = 3600.0
    """Seconds of audio one render may produce."""
    max_notes: int = 10_000
    """Notes in one input MIDI file, counted before it is parsed."""
    max_abc_notes: int = 2_000
    """Notes in one ABC tune, counted in its text before it is parsed (music21's time grows faster
    than the tune: about 5 s for 1,000 notes, 15 s for 2,000, minutes for 10,000; the longest
    Essen or O'Neill tune has 726)."""


#: The limits in force.
LIMITS = Limits()
#: The command-line option that raises each limit.
OPTIONS = {"max_steps": "--max-steps", "max_pieces": "--max-pieces", "max_render_seconds": "--max-seconds",
           "max_notes": "--max-notes"}


def limit_error(name: str, what: str) -> LimitError:
    """The LimitError for ``what`` (e.g. "length=1e+09") going over the limit ``name``: it says the
    limit and how to raise it."""
    option = f" or {OPTIONS[name]} on the command line" if name in OPTIONS else ""
    return LimitError(f"{what} is over the limit {name} = {getattr(LIMITS, name):g}; raise it with "
                      f"musiclab.limits.LIMITS.{name} = ...{option}")


def check_limit(name: str, parameter: str, value: float) -> float:
    """Return ``value`` if it is within the limit ``name`` of :data:`LIMITS`, else raise LimitError."""
    if value > getattr(LIMITS, name):
        raise limit_error(name, f"{parameter}={value:g}")
    return value


@contextmanager
def limits_set(**values):
    """Set limits of :data:`LIMITS` by name for a ``with`` block, then restore them (a ``--max-...``
    option of the command line holds for that command only)."""
    saved = {name: getattr(LIMITS, name) for name in values}
    try:
        for name, value in values.items():
            setattr(LIMITS, name, value)
        yield LIMITS
    finally:
        for name, value in saved.items():
            setattr(LIMITS, name, value)
