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


#: The limits in force.
LIMITS = Limits()
#: The command-line option that raises each limit.
OPTIONS = {"max_steps": "--max-steps", "max_pieces": "--max-pieces", "max_render_seconds": "--max-seconds"}


def check_limit(name: str, parameter: str, value: float) -> float:
    """Return ``value`` if it is within the limit ``name`` of :data:`LIMITS`, else raise LimitError."""
    limit = getattr(LIMITS, name)
    if value > limit:
        raise LimitError(f"{parameter}={value:g} is over the limit {name} = {limit:g}; raise it with "
                         f"musiclab.limits.LIMITS.{name} = ... or {OPTIONS[name]} on the command line")
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
