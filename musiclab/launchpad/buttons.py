"""The launchpad's buttons: basis vectors, states and their indices, actions; no bar or reward yet.

The state holds, for each of ``N`` notes (rows of the bar), ``B + 1`` toggle bits and an offset
in ``[0, 2^B)``. Toggle bit ``k`` switches on the periodic *basis vector* ``k``: a beat every
``2^(k+1)`` steps starting at step ``2^k - 1`` (so ``k = B`` is a single beat at the last step).
A step ``t`` belongs to basis vector ``k`` exactly when ``t + 1`` has ``k`` trailing zero bits,
so the ``B + 1`` vectors never overlap and together cover the whole bar of ``2^B`` steps. A
note's row is the union of its switched-on basis vectors, rotated later in time by its offset.
The tabular view numbers the states in mixed radix, one digit of :func:`note_radix` values per note.

:class:`musiclab.launchpad.env.LaunchpadEnv` encodes, applies and scores them (notebook 06).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from musiclab.errors import check_int

#: Largest ``B`` (bar length ``2^B`` steps) the environment accepts.
MAX_BEATS_LOG2 = 8
#: Largest number of notes (rows) the environment accepts.
MAX_NOTES = 128


def basis_vectors(beats_log2: int) -> np.ndarray:
    """The ``B + 1`` staggered basis vectors of a bar of ``2^B`` steps: bool ``[B + 1, 2^B]``.

    Row ``k < B`` has a beat every ``2^(k+1)`` steps from step ``2^k - 1``; row ``B`` is the
    single beat at step ``2^B - 1``. The rows are disjoint and their union is every step.
    """
    beats_log2 = check_int("beats_log2", beats_log2, 1, MAX_BEATS_LOG2)
    steps = np.arange(2 ** beats_log2)
    k = np.arange(beats_log2 + 1)[:, None]
    return (steps[None, :] + 1) % (2 ** (k + 1)) == 2 ** k


def row_table(basis: np.ndarray) -> np.ndarray:
    """Every row a note can play: bool ``[2^(B+1), 2^B, 2^B]`` indexed by (toggle code, offset),
    where bit ``k`` of the code switches on basis vector ``k``."""
    count, steps = basis.shape
    codes = np.arange(2 ** count)
    rows = ((codes[:, None] >> np.arange(count)) & 1).astype(np.uint8) @ basis.astype(np.uint8)
    table = np.empty((2 ** count, steps, steps), dtype=bool)
    for offset in range(steps):
        table[:, offset] = np.roll(rows, offset, axis=1).astype(bool)
    return table


@dataclass(frozen=True)
class Action:
    """One decoded action: ``kind`` is ``"toggle"``, ``"shift"`` or ``"noop"``.

    ``toggle`` flips basis vector ``k`` of ``note``; ``shift`` adds ``2^k`` to its offset.
    """

    kind: str
    note: int = -1
    k: int = -1


@dataclass
class LaunchpadState:
    """Launchpad buttons: toggles bool ``[N, B + 1]``, offsets int64 ``[N]`` in 0..2^B-1."""

    toggles: np.ndarray
    offsets: np.ndarray

    def copy(self) -> LaunchpadState:
        """An independent copy."""
        return LaunchpadState(self.toggles.copy(), self.offsets.copy())


def note_radix(beats_log2: int) -> int:
    """Values one note's digit takes in a state index: ``2^(B+1)`` toggle sets x ``2^B`` offsets."""
    return 2 ** (beats_log2 + 1) * 2 ** beats_log2


def encode_state(state: LaunchpadState, beats_log2: int) -> int:
    """The index of ``state`` (mixed radix, note 0 least significant; a Python int of any size)."""
    bits = (state.toggles.astype(np.int64) << np.arange(beats_log2 + 1)).sum(axis=1)
    digits = bits * 2 ** beats_log2 + state.offsets
    base = note_radix(beats_log2)
    return int(sum(int(d) * base ** n for n, d in enumerate(digits)))


def decode_states(indices, notes: int, beats_log2: int) -> tuple[np.ndarray, np.ndarray]:
    """The states behind indices ``[M]`` (inverse of :func:`encode_state`, as int64): toggles
    bool ``[M, N, B + 1]``, offsets ``[M, N]``."""
    base, indices = note_radix(beats_log2), np.asarray(indices, dtype=np.int64)
    digits = (indices[:, None] // base ** np.arange(notes, dtype=np.int64)) % base
    bits, offsets = np.divmod(digits, 2 ** beats_log2)
    toggles = (bits[..., None] >> np.arange(beats_log2 + 1)) & 1 == 1
    return toggles, offsets
