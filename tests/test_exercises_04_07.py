"""Exercises of notebooks 04–07: every reference solution passes its check, a typical wrong answer
fails with a hint, and the stub a student starts from reads "not yet" without raising."""
from __future__ import annotations

import numpy as np
import pytest

from musiclab.errors import BadParameterError, UnknownNameError
from musiclab.exercises import EXERCISES, nb04, nb05, nb06, nb07
from musiclab.exercises.feedback import NOT_YET
from musiclab.exercises.registry import LEVELS
from musiclab.launchpad import agents
from musiclab.launchpad.env import reduced_env

MODULES = {"04": nb04, "05": nb05, "06": nb06, "07": nb07}
IDS = sorted(i for i in EXERCISES if i[:2] in MODULES)


def _stub_answer(exercise):
    """The one name the stub source defines."""
    namespace: dict = {}
    exec(exercise.stub, namespace)
    names = [name for name in namespace if not name.startswith("__")]
    assert len(names) == 1, names
    return namespace[names[0]]


def test_each_notebook_from_04_to_07_has_three_exercises_from_warm_up_to_open_ended():
    for notebook, module in MODULES.items():
        ids = [i for i in IDS if i.startswith(notebook)]
        assert tuple(ids) == module.IDS
        assert [EXERCISES[i].level for i in ids] == list(LEVELS)
        assert all(0 < EXERCISES[i].minutes <= 30 for i in ids)


@pytest.mark.parametrize("exercise_id", IDS)
def test_the_reference_solution_passes(exercise_id):
    exercise = EXERCISES[exercise_id]
    feedback = MODULES[exercise_id[:2]].check(exercise_id, exercise.solution())
    assert feedback.passed, str(feedback)
    assert feedback.status == "solved" and feedback.got


@pytest.mark.parametrize("exercise_id", IDS)
def test_a_typical_wrong_answer_fails_with_expected_got_and_a_hint(exercise_id):
    exercise = EXERCISES[exercise_id]
    feedback = exercise.check(exercise.wrong())
    assert not feedback.passed
    assert feedback.status == "not right yet"
    assert feedback.expected and feedback.got and len(feedback.hint) > 20
    assert "hint:" in str(feedback) and "hint" in feedback._repr_html_()


@pytest.mark.parametrize("exercise_id", IDS)
def test_the_stub_reads_not_yet_and_the_check_never_raises(exercise_id):
    exercise = EXERCISES[exercise_id]
    stub = _stub_answer(exercise)
    feedback = exercise.check(stub)
    assert not feedback.passed and feedback.status == NOT_YET
    for nonsense in (None, "slerp", 42, lambda *args, **kwargs: 1 / 0):
        assert not exercise.check(nonsense).passed


def test_the_stub_defines_the_name_the_solution_cell_imports():
    for exercise_id in IDS:
        exercise = EXERCISES[exercise_id]
        assert _stub_answer(exercise).__name__ == exercise.solution().__name__


def test_a_check_says_which_case_failed():
    # slerp that forgets to normalise before the dot product: wrong only when the norms differ
    def careless(z0, z1, n_steps):
        import torch
        t = torch.linspace(0, 1, n_steps)[:, None]
        omega = torch.arccos(torch.clamp(z0 @ z1 / (z0.norm() ** 2), -1, 1))
        return (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(omega)

    feedback = nb04.check("04.2", careless)
    assert not feedback.passed and feedback.got.startswith("pair ")


def test_the_empty_bar_rule_check_catches_an_off_by_one_window():
    def one_short(pattern, action, step):
        if step % 16 != 15:
            return 0.0
        hits = sum(1 for drum in list(pattern[step - 14:step]) + [action] if drum != 9)
        return -1.0 if hits < 4 else 0.0

    assert not nb05.check("05.2", one_short).passed


def test_an_unknown_exercise_id_is_refused_with_the_valid_ones():
    with pytest.raises(UnknownNameError, match="06.1"):
        nb06.check("06.9", None)


def test_with_rewards_swaps_the_reward_that_tabular_q_learning_sees():
    env = reduced_env()
    sparse = nb06.with_rewards(env, np.where(env.reward_table() == 0, 0.0, -1.0))
    run = agents.q_learning(sparse, steps=400, reset_every=200, seed=0)
    assert set(np.unique(run.rewards)) <= {0.0, -1.0}
    assert run.ceiling == 0.0
    with pytest.raises(BadParameterError, match="one value per state"):
        nb06.with_rewards(env, np.zeros(5))
