"""Reference solutions of notebook 06's exercises (the launchpad's size, tabular Q, a sparse reward)."""
from __future__ import annotations

import numpy as np


def launchpad_size(notes: int, beats_log2: int) -> tuple[int, int]:
    """06.1: (number of actions, number of states) of a launchpad with N notes and bars of 2^B steps."""
    actions = notes * (beats_log2 + 1) + notes * beats_log2 + 1  # toggles + shifts + no-op
    states = (2 ** (beats_log2 + 1) * 2 ** beats_log2) ** notes  # toggle sets x offsets, per note
    return actions, states


def q_update(q, state: int, action: int, reward: float, next_state: int, alpha: float, gamma: float):
    """06.2: one Q-learning update of the table q [states, actions]; returns the table."""
    q[state, action] += alpha * (reward + gamma * q[next_state].max() - q[state, action])
    return q


def sparse_reward_table(env) -> np.ndarray:
    """06.3: 0 for the states that reach the best reward of ``env``, −1 for every other state."""
    dense = env.reward_table()
    return np.where(dense == dense.max(), 0.0, -1.0)
