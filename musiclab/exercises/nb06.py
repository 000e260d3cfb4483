"""Exercises of notebook 06 (launchpad DJ): the launchpad's size, the Q-learning update, and a
sparse reward to watch tabular Q-learning with.

In the notebook: ``from musiclab.exercises import nb06; nb06.check("06.2", q_update)``. The
reference solutions are in :mod:`musiclab.exercises.solutions.n06`.
"""
from __future__ import annotations

import numpy as np

from musiclab.errors import BadParameterError, check_choice
from musiclab.exercises.feedback import Feedback, attempt, failed, passed
from musiclab.exercises.numeric import as_floats, mismatch, short
from musiclab.exercises.registry import EXERCISES, Exercise, register
from musiclab.exercises.solutions import n06
from musiclab.launchpad.env import LaunchpadEnv, reduced_env

IDS = ("06.1", "06.2", "06.3")


def check(exercise_id: str, answer) -> Feedback:
    """Feedback on ``answer`` for one of notebook 06's exercises (``"06.1"`` … ``"06.3"``)."""
    return EXERCISES[check_choice("exercise id", exercise_id, IDS)].check(answer)


class WithRewards:
    """``env`` seen through a replaced reward table ``rewards`` [num_states] (exercise 06.3).

    Everything else (transitions, states, actions) is ``env``'s, so
    ``agents.q_learning(with_rewards(env, table))`` learns the same launchpad under another reward.
    """

    def __init__(self, env: LaunchpadEnv, rewards) -> None:
        table = np.asarray(rewards, dtype=np.float64)
        if table.shape != (env.num_states,):
            raise BadParameterError(f"rewards must be one value per state, shape ({env.num_states},), "
                                    f"got shape {table.shape}")
        self._env, self._rewards = env, table

    def reward_table(self) -> np.ndarray:
        return self._rewards

    def __getattr__(self, name: str):
        return getattr(self._env, name)


def with_rewards(env: LaunchpadEnv, rewards) -> WithRewards:
    """The launchpad ``env`` with its tabular reward replaced by ``rewards`` [num_states] (notebook 06)."""
    return WithRewards(env, rewards)


# ----- 06.1 the size of a launchpad ---------------------------------------------------------------
SIZES = ((1, 2), (8, 4), (3, 1), (24, 6))


def check_launchpad_size(answer) -> Feedback:
    expected = f"(actions, states) of LaunchpadEnv for (N, B) in {list(SIZES)}"
    hint = ("Per note: B + 1 toggles and B offset moves (+2^k, k < B); one no-op for the whole pad. "
            "A note's state is its 2^(B+1) toggle sets times 2^B offsets, and the notes are independent.")
    for notes, b in SIZES:
        pad = LaunchpadEnv(np.ones((1, notes, 2 ** b), bool), notes=notes, beats_log2=b, k=1)
        want = (pad.num_actions, int(pad.num_states))
        got, feedback = attempt("06.1", expected, hint, lambda: answer(notes, b))
        if feedback:
            return feedback
        try:
            same = tuple(int(v) for v in got) == want
        except (TypeError, ValueError, OverflowError):
            same = False
        if not same:
            return failed("06.1", expected, f"N = {notes}, B = {b}: {_size_text(got)} instead of {_size_text(want)}",
                          hint)
    return passed("06.1", expected, f"all 4 agree; the reduced pad (1, 2) has {n06.launchpad_size(1, 2)}")


def _size_text(size) -> str:
    """A (actions, states) answer as short text: big counts in scientific notation."""
    try:
        return "(" + ", ".join(str(int(v)) if abs(int(v)) < 10 ** 12 else f"{float(v):.3g}" for v in size) + ")"
    except (TypeError, ValueError, OverflowError):
        return short(size)


def _wrong_size(notes, beats_log2):
    return notes * (beats_log2 + 1) + 1, (2 ** (beats_log2 + 1)) ** notes  # forgot the offsets


# ----- 06.2 the Q-learning update -----------------------------------------------------------------
def _q_cases():
    """(q, s, a, r, s', alpha, gamma): random tables, a self-loop, and gamma = 0."""
    rng = np.random.default_rng(6)
    cases = []
    for i in range(4):
        q = rng.normal(size=(32, 6))
        s, a, s2 = (int(v) for v in rng.integers(0, (32, 6, 32)))
        cases.append((q, s, a, float(-rng.integers(0, 4)), s2 if i != 1 else s, 0.5, 0.999 if i != 2 else 0.0))
    return cases


def check_q_update(answer) -> Feedback:
    expected = "q_update(q, s, a, r, s', alpha, gamma): Q(s,a) += alpha (r + gamma max_a' Q(s',a') − Q(s,a)), " \
               "nothing else changed (4 cases)"
    hint = "Only q[s, a] changes; the target is r + gamma * q[s'].max(); move q[s, a] a fraction alpha towards it."
    for i, (q, s, a, r, s2, alpha, gamma) in enumerate(_q_cases()):
        want = q.copy()
        want[s, a] += alpha * (r + gamma * q[s2].max() - q[s, a])
        table = q.copy()
        got, feedback = attempt("06.2", expected, hint, lambda: answer(table, s, a, r, s2, alpha, gamma))
        if feedback:
            return feedback
        got = table if got is None else got  # updating in place is fine too
        problem = mismatch(got, want, atol=1e-9)
        array = as_floats(got)
        if problem and array is not None and array.shape == want.shape:
            cells = np.argwhere(~np.isclose(array, want, atol=1e-9, rtol=0.0))
            problem = "; ".join(f"q[{c}, {d}] = {array[c, d]:.4f} where {want[c, d]:.4f} was expected"
                                for c, d in cells[:2])
        if problem:
            return failed("06.2", expected, f"case {i + 1} (s={s}, a={a}, r={r:.0f}, s'={s2}, gamma={gamma}): {problem}",
                          hint)
    return passed("06.2", expected, "all 4 cases agree, including a self-loop and gamma = 0")


def _wrong_update(q, state, action, reward, next_state, alpha, gamma):
    q[state, action] += alpha * (reward + gamma * q[next_state, action] - q[state, action])  # not the max
    return q


# ----- 06.3 a sparse reward -----------------------------------------------------------------------
TARGETS = ((1, 0, 1, 1), (1, 1, 0, 0), (0, 1, 1, 1))


def check_sparse_reward_table(answer) -> Feedback:
    expected = f"sparse_reward_table(env) [32]: 0 where reward_table() is at its best, −1 elsewhere, for targets {list(TARGETS)}"
    hint = "Start from env.reward_table(); compare it with its max; np.where(best, 0.0, -1.0)."
    for target in TARGETS:
        env = reduced_env(target)
        dense = env.reward_table()
        want = np.where(dense == dense.max(), 0.0, -1.0)
        got, feedback = attempt("06.3", expected, hint, lambda: answer(env))
        if feedback:
            return feedback
        problem = mismatch(got, want, atol=1e-9)
        if problem:
            return failed("06.3", expected, f"target {list(target)}: {problem}", hint)
    best = int((want == 0).sum())
    return passed("06.3", expected, f"all 3 targets agree; {best} of 32 states earn 0 for target {list(TARGETS[-1])}")


register(Exercise(
    "06.1", "Count the buttons and the states", "warm-up", 10,
    'def launchpad_size(notes, beats_log2):\n'
    '    """(number of actions, number of states) of a launchpad with N notes and bars of 2^B steps."""\n'
    '    raise NotImplementedError("count toggles, offset moves and the no-op; then states per note")\n',
    check_launchpad_size, lambda: n06.launchpad_size, lambda: _wrong_size))
register(Exercise(
    "06.2", "Write the Q-learning update", "core", 10,
    'def q_update(q, state, action, reward, next_state, alpha, gamma):\n'
    '    """One Q-learning update of the table q [states, actions]; return the table."""\n'
    '    raise NotImplementedError("move q[state, action] towards reward + gamma * max Q(next_state)")\n',
    check_q_update, lambda: n06.q_update, lambda: _wrong_update))
register(Exercise(
    "06.3", "Change the reward and watch tabular Q", "open-ended", 20,
    'def sparse_reward_table(env):\n'
    '    """0 for the states that reach the best reward of env, -1 for every other state: [num_states]."""\n'
    '    raise NotImplementedError("start from env.reward_table()")\n',
    check_sparse_reward_table, lambda: n06.sparse_reward_table, lambda: (lambda env: env.reward_table())))
