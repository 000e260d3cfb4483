"""Shared machinery of the checks: run the student's function and the kit's reference on the same cases.

A check in ``nb00`` … ``nb07`` lists a few cases (a label and the arguments), the kit's own answer
for each, and how two answers are compared; :func:`check_cases` reports the first case where the
student's answer differs, with what was expected, what came back and a hint. It never raises.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from musiclab.exercises.feedback import Feedback, attempt, failed, passed


def show(value, digits: int = 3, limit: int = 120) -> str:
    """A short readable form of an answer: numbers rounded to ``digits``, long text cut at ``limit``."""
    if isinstance(value, (float, np.floating)):
        text = f"{float(value):.{digits}f}"
    elif hasattr(value, "shape") or isinstance(value, (list, tuple)) and value and \
            all(isinstance(v, (int, float, np.number)) for v in value):
        array = np.asarray(value.detach().cpu() if hasattr(value, "detach") else value)
        text = np.array2string(np.round(array, digits) if array.dtype.kind == "f" else array,
                               separator=", ", max_line_width=10_000, threshold=64)
    else:
        text = repr(value)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def as_array(value) -> np.ndarray:
    """A numpy array from a list, a numpy array or a torch tensor (detached, on the CPU)."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def close(atol: float = 1e-5) -> Callable[[object, object], bool]:
    """A comparison: same shape and every element within ``atol`` (numbers, arrays or tensors)."""
    def same(got, want) -> bool:
        got, want = as_array(got).astype(float), as_array(want).astype(float)
        return got.shape == want.shape and bool(np.allclose(got, want, atol=atol, rtol=0))
    return same


def equal(got, want) -> bool:
    """A comparison: same shape and the same values (event lists, counts, rewards)."""
    got, want = as_array(got), as_array(want)
    return got.shape == want.shape and bool(np.array_equal(got, want))


def check_cases(exercise: str, answer, cases: Sequence[tuple[str, tuple]], reference: Callable, hint: str,
                same: Callable[[object, object], bool] = equal, what: str = "the kit's answer",
                diagnose: Callable[[object, object], str] | None = None) -> Feedback:
    """Call ``answer(*args)`` and ``reference(*args)`` for each ``(label, args)`` case; passed when all agree.

    ``hint``: what to look at; ``diagnose(got, want) -> str``, if given, reads a wrong answer for a
    more specific hint ("" keeps ``hint``). ``same(got, want)`` compares two answers; an answer it
    cannot compare (wrong type or shape) counts as different.
    """
    for label, args in cases:
        want = reference(*args)
        expected = f"{label} → {show(want)}"
        got, problem = attempt(exercise, expected, hint, lambda: answer(*args))
        if problem is not None:
            return problem
        try:
            agree = bool(same(got, want))
        except Exception:  # an answer of the wrong type or shape is a wrong answer, not a crash
            agree = False
        if not agree:
            return failed(exercise, expected, show(got), _diagnosis(diagnose, got, want) or hint)
    return passed(exercise, f"{what}, on {len(cases)} cases", f"the same answer on all {len(cases)}")


def _diagnosis(diagnose, got, want) -> str:
    """The specific hint for a wrong answer, or "" (also when reading the answer fails)."""
    if diagnose is None:
        return ""
    try:
        return diagnose(got, want)
    except Exception:  # a diagnosis of a strange answer must not crash the check
        return ""
