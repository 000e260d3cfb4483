"""Feedback on an exercise: what was expected, what came back, and a hint — never a bare pass/fail.

A check returns a :class:`Feedback`; it never raises, so a student copy with unsolved exercises
still runs top to bottom (an unsolved answer raises ``NotImplementedError``, read as "not yet").
"""
from __future__ import annotations

import html
import traceback
from dataclasses import dataclass
from typing import Callable

NOT_YET = "not yet"


@dataclass(frozen=True)
class Feedback:
    """The outcome of one check.

    exercise: the exercise id, e.g. ``"02.1"``; passed: whether the answer meets the check;
    expected / got: short human-readable statements; hint: what to look at next (empty if passed).
    """
    exercise: str
    passed: bool
    expected: str
    got: str
    hint: str = ""

    @property
    def status(self) -> str:
        if self.passed:
            return "solved"
        return NOT_YET if self.got.startswith("NotImplementedError") else "not right yet"

    def __str__(self) -> str:
        lines = [f"Exercise {self.exercise}: {self.status}", f"  expected: {self.expected}",
                 f"  got:      {self.got}"]
        if self.hint and not self.passed:
            lines.append(f"  hint:     {self.hint}")
        return "\n".join(lines)

    def __repr__(self) -> str:  # a notebook cell ending in a check shows the text form
        return str(self)

    def _repr_html_(self) -> str:
        colour = "#2e7d32" if self.passed else "#b26a00"
        rows = [("expected", self.expected), ("got", self.got)]
        if self.hint and not self.passed:
            rows.append(("hint", self.hint))
        body = "".join(f"<tr><th style='text-align:left'>{k}</th><td style='text-align:left'>"
                       f"{html.escape(v)}</td></tr>" for k, v in rows)
        return (f"<div><b style='color:{colour}'>Exercise {html.escape(self.exercise)}: {self.status}"
                f"</b><table>{body}</table></div>")


def passed(exercise: str, expected: str, got: str) -> Feedback:
    return Feedback(exercise, True, expected, got)


def failed(exercise: str, expected: str, got: str, hint: str) -> Feedback:
    return Feedback(exercise, False, expected, got, hint)


def attempt(exercise: str, expected: str, hint: str, call: Callable[[], object]) -> tuple[object, Feedback | None]:
    """Run the student's code; return ``(result, None)``, or ``(None, feedback)`` if it raised.

    ``NotImplementedError`` (the stub of an unsolved exercise) becomes "not yet"; any other
    exception becomes feedback that quotes its last line, so the check itself never raises.
    """
    try:
        return call(), None
    except NotImplementedError:
        return None, failed(exercise, expected, "NotImplementedError: the stub is still there", hint)
    except Exception as error:  # a student's bug is feedback, not a crash of the check
        where = traceback.extract_tb(error.__traceback__)[-1]
        return None, failed(exercise, expected, f"{type(error).__name__}: {error} (line {where.lineno})", hint)
