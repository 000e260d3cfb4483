"""The one exception family of musiclab.

Every error a user can cause (a bad file, a bad parameter, an unknown name) is raised as a
subclass of :class:`MusiclabError`, with a message that names the file or parameter and says
what would be valid.
"""
from __future__ import annotations

import numbers


class MusiclabError(Exception):
    """Base class of every error musiclab raises on bad input."""


class BadFileError(MusiclabError):
    """A file is missing, empty, truncated, corrupt or of the wrong kind."""


class BadParameterError(MusiclabError, ValueError):
    """A parameter value is outside what the function accepts."""


class UnknownNameError(MusiclabError, KeyError):
    """A name (corpus, preset, rule, algorithm, ...) is not one of the known ones."""

    def __str__(self) -> str:  # KeyError would quote the message; keep it readable
        return str(self.args[0]) if self.args else ""


def check_choice(parameter: str, value: str, choices) -> str:
    """Return ``value`` if it is one of ``choices``, else raise :class:`UnknownNameError`."""
    choices = list(choices)
    if value not in choices:
        raise UnknownNameError(
            f"unknown {parameter} {value!r}; valid: {', '.join(map(repr, choices))}"
        )
    return value


def check_range(parameter: str, value: float, low: float | None = None, high: float | None = None,
                *, low_open: bool = False, high_open: bool = False) -> float:
    """Return ``value`` if it lies in the given interval, else raise :class:`BadParameterError`.

    ``low_open``/``high_open`` exclude the bound itself (e.g. ``c > 0``).
    """
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high or value != value:  # value != value catches NaN
        lo = "(" if low_open else "["
        hi = ")" if high_open else "]"
        interval = f"{lo}{'-inf' if low is None else low}, {'inf' if high is None else high}{hi}"
        raise BadParameterError(f"{parameter} must be in {interval}, got {value!r}")
    return value


def check_int(parameter: str, value, low: int, high: int | None = None) -> int:
    """Return ``value`` as an int if it is an integer in ``[low, high]``, else raise
    :class:`BadParameterError` naming ``parameter`` and the valid range."""
    is_int = isinstance(value, numbers.Integral) and not isinstance(value, bool)  # NumPy ints count, bools not
    if not is_int or value < low or (high is not None and value > high):
        upper = "inf" if high is None else high
        raise BadParameterError(f"{parameter} must be an integer in [{low}, {upper}], "
                                f"got {value!r}")
    return int(value)


def check_seed(seed, parameter: str = "seed") -> int:
    """Return ``seed`` as an int if it is a non-negative integer (bool excluded), else raise
    :class:`BadParameterError` naming ``parameter``: every seed of the kit is one."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise BadParameterError(f"{parameter} must be a non-negative integer, got {seed!r}")
    return int(seed)


def check_fields(config_class, overrides: dict) -> dict:
    """Return ``overrides`` if every key is a field of the dataclass ``config_class``, else raise
    :class:`BadParameterError` naming the unknown fields and the valid ones (preset overrides)."""
    from dataclasses import fields

    names = {f.name for f in fields(config_class)}
    unknown = sorted(set(overrides) - names)
    if unknown:
        raise BadParameterError(
            f"unknown {config_class.__name__} field(s) {unknown}; valid: {', '.join(sorted(names))}")
    return overrides
