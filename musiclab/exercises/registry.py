"""The catalogue of exercises: one :class:`Exercise` per task, registered by the module of its notebook.

Each exercise has an id ``"NN.k"`` (notebook NN, k-th exercise), a level, the minutes it takes in a
lab, the stub a student starts from (source text), its check and its reference solution. The
student-copy builder (``tools/student.py``) swaps each ``# SOLUTION NN.k`` cell for the stub; tests
run every solution and every typical wrong answer through its check.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from musiclab.errors import check_choice
from musiclab.exercises.feedback import Feedback

LEVELS = ("warm-up", "core", "open-ended")


@dataclass(frozen=True)
class Exercise:
    """One exercise.

    check(answer) -> Feedback takes what the student's cell defines (a function, a number, ...);
    solution() returns the reference answer; wrong() returns a typical wrong answer whose
    feedback must be helpful. stub: the source of the student's starting cell (it must define the
    same name as the solution cell and raise ``NotImplementedError`` where work is to be done).
    """
    id: str
    title: str
    level: str
    minutes: int
    stub: str
    check: Callable[[object], Feedback]
    solution: Callable[[], object]
    wrong: Callable[[], object]

    def __post_init__(self):
        check_choice("exercise level", self.level, LEVELS)


EXERCISES: dict[str, Exercise] = {}


def register(exercise: Exercise) -> Exercise:
    if exercise.id in EXERCISES:
        raise ValueError(f"exercise {exercise.id} is registered twice")
    EXERCISES[exercise.id] = exercise
    return exercise


def exercise(exercise_id: str) -> Exercise:
    """The registered exercise ``exercise_id`` (all notebook modules are imported first)."""
    import musiclab.exercises  # noqa: F401  (registers every notebook's exercises)
    return EXERCISES[check_choice("exercise id", exercise_id, sorted(EXERCISES))]


def check(exercise_id: str, answer) -> Feedback:
    """Check ``answer`` (what the student's cell defined) against exercise ``exercise_id``; never raises
    for a wrong or unfinished answer. A notebook's check cell: ``nb02.check("02.1", tonic_ending_rule)``."""
    return exercise(exercise_id).check(answer)
