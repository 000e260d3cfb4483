"""The launchpad's tabular view: every state numbered, with its reward and its successors (notebook 06).

Small launchpads only (the reduced problem has 32 states): tabular Q-learning and MCMC exploration
(:mod:`musiclab.launchpad.agents`) read these tables instead of stepping the environment. A mixin
of :class:`musiclab.launchpad.env.LaunchpadEnv`, whose encoding (``notes``, ``beats_log2``,
``bar_steps``, the actions, :meth:`rewards` of rendered bars) it reads; the mixed-radix state index
is :func:`musiclab.launchpad.buttons.encode_state`.
"""
from __future__ import annotations

import numpy as np

from musiclab.errors import BadParameterError, check_int
from musiclab.launchpad.buttons import LaunchpadState, decode_states, encode_state, note_radix

#: Largest ``num_states * num_actions`` for which tabular tables are built.
MAX_TABLE_ENTRIES = 50_000_000


class TabularView:
    """States as indices, and the transition and reward tables of a small launchpad (mixin of
    :class:`~musiclab.launchpad.env.LaunchpadEnv`)."""

    @property
    def num_states(self) -> int:
        """Number of distinct states: ``(2^(B+1) 2^B)^N``."""
        return note_radix(self.beats_log2) ** self.notes

    def state_index(self, state: LaunchpadState) -> int:
        """The index of ``state`` in ``[0, num_states)`` (mixed radix, note 0 least significant)."""
        return encode_state(state, self.beats_log2)

    def state_from_index(self, index: int) -> LaunchpadState:
        """Inverse of :meth:`state_index`."""
        index = check_int("index", index, 0, self.num_states - 1)
        toggles, offsets = decode_states([index], self.notes, self.beats_log2)
        return LaunchpadState(toggles[0], offsets[0])

    def _check_tabular(self) -> None:
        if self.num_states * self.num_actions > MAX_TABLE_ENTRIES:
            raise BadParameterError(
                f"a tabular view needs num_states x num_actions <= {MAX_TABLE_ENTRIES}; this "
                f"launchpad (notes={self.notes}, beats_log2={self.beats_log2}) has "
                f"{self.num_states} x {self.num_actions}: use fewer notes or a smaller beats_log2")

    def transition_table(self) -> np.ndarray:
        """Next-state index for every state and action: int64 ``[num_states, num_actions]``."""
        self._check_tabular()
        index = np.arange(self.num_states, dtype=np.int64)
        toggles, offsets = decode_states(index, self.notes, self.beats_log2)
        base = note_radix(self.beats_log2)
        table = np.empty((self.num_states, self.num_actions), dtype=np.int64)
        for action in range(self.num_actions):
            move = self.decode_action(action)
            if move.kind == "noop":
                table[:, action] = index
                continue
            place = base ** move.note
            if move.kind == "toggle":
                sign = np.where(toggles[:, move.note, move.k], -1, 1)
                table[:, action] = index + sign * (2 ** move.k) * self.bar_steps * place
            else:
                old = offsets[:, move.note]
                new = (old + 2 ** move.k) % self.bar_steps
                table[:, action] = index + (new - old) * place
        return table

    def reward_table(self) -> np.ndarray:
        """Reward of every state: float64 ``[num_states]`` (index as in :meth:`state_index`)."""
        self._check_tabular()
        out = np.empty(self.num_states)
        for lo in range(0, self.num_states, 4096):
            index = np.arange(lo, min(lo + 4096, self.num_states), dtype=np.int64)
            states = decode_states(index, self.notes, self.beats_log2)
            out[lo:lo + len(index)] = self.rewards(self.render_bars(*states))
        return out
