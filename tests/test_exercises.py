"""The exercises (musiclab.exercises): every reference solution passes its check, every typical wrong
answer fails with a helpful message, every stub reads "not yet" without raising, and the registry
holds what the student-copy builder needs. Parametrised over the whole registry, so the exercises
of every notebook are covered."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from musiclab.errors import UnknownNameError
from musiclab.exercises import EXERCISES, Feedback, exercise
from musiclab.exercises.feedback import NOT_YET
from musiclab.exercises.registry import LEVELS, check

IDS = sorted(EXERCISES)


def stub_answer(ex):
    """Run the exercise's stub (as the student copy does) and return the name it defines."""
    names = [node.name for node in ast.parse(ex.stub).body if isinstance(node, ast.FunctionDef)]
    namespace: dict = {}
    exec(ex.stub, namespace)  # the stub is source the student copy runs: run it the same way
    return namespace[names[0]]


def test_the_registry_has_at_least_ten_exercises_across_notebooks_00_to_03():
    early = [i for i in IDS if i[:2] in ("00", "01", "02", "03")]
    assert len(early) >= 10
    for notebook in ("00", "01", "02", "03"):
        assert 2 <= sum(i.startswith(notebook + ".") for i in IDS) <= 4, notebook


@pytest.mark.parametrize("exercise_id", IDS)
def test_an_exercise_is_well_formed(exercise_id):
    ex = exercise(exercise_id)
    notebook, number = exercise_id.split(".")
    assert len(notebook) == 2 and notebook.isdigit() and number.isdigit()
    assert ex.level in LEVELS and 1 <= ex.minutes <= 60 and ex.title
    assert "NotImplementedError" in ex.stub


@pytest.mark.parametrize("exercise_id", IDS)
def test_the_reference_solution_passes_its_check(exercise_id):
    ex = exercise(exercise_id)
    feedback = ex.check(ex.solution())
    assert isinstance(feedback, Feedback)
    assert feedback.passed, str(feedback)
    assert feedback.status == "solved" and feedback.expected and feedback.got


@pytest.mark.parametrize("exercise_id", IDS)
def test_a_typical_wrong_answer_fails_with_a_hint(exercise_id):
    ex = exercise(exercise_id)
    feedback = ex.check(ex.wrong())
    assert not feedback.passed
    assert feedback.status == "not right yet", str(feedback)
    assert feedback.hint.strip(), "a failed check must say what to look at"
    assert feedback.got != feedback.expected
    assert f"hint:     {feedback.hint}" in str(feedback)


@pytest.mark.parametrize("exercise_id", IDS)
def test_the_stub_reads_not_yet_and_never_raises(exercise_id):
    ex = exercise(exercise_id)
    feedback = check(exercise_id, stub_answer(ex))
    assert not feedback.passed and feedback.status == NOT_YET
    assert feedback.hint and str(feedback).startswith(f"Exercise {exercise_id}: not yet")


@pytest.mark.parametrize("exercise_id", [i for i in IDS if i[:2] in ("00", "01", "02", "03")])
def test_a_check_never_raises_on_an_answer_of_the_wrong_kind(exercise_id):
    for answer in (None, 42, lambda *args: None, lambda *args: 1 / 0):
        feedback = exercise(exercise_id).check(answer)
        assert not feedback.passed and feedback.hint, (answer, str(feedback))


def test_an_unknown_exercise_id_names_the_valid_ones():
    with pytest.raises(UnknownNameError, match="00.1"):
        exercise("99.9")


def test_the_readme_lists_every_exercise_with_its_level_and_minutes():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme.split("## For instructors", 1)[1].split("\n## ", 1)[0]
    rows = {cells[0]: cells for cells in (
        [cell.strip() for cell in line.strip("|").split("|")] for line in section.splitlines()
        if line.startswith("| ") and line[2:4].isdigit())}
    for exercise_id in IDS:
        ex = EXERCISES[exercise_id]
        assert exercise_id in rows, f"README 'For instructors' has no row for exercise {exercise_id}"
        assert rows[exercise_id][-2:] == [ex.level, str(ex.minutes)], rows[exercise_id]
