"""The Launchpad DJ environment: compose one bar by pressing buttons on a virtual launchpad.

Used by notebook 06. After "Reinforcement learning DJ" (C. Voss et al., Stanford CS234 project,
2018; github.com/CatalinVoss/music-morph).

The buttons (toggles of staggered basis vectors and offsets, :mod:`musiclab.launchpad.buttons`)
make a bar of ``N`` notes x ``2^B`` steps.

Actions (``N(2B + 1) + 1`` of them): for each note, ``B + 1`` toggles then ``B`` shifts of the
offset by ``2^k`` (``k = 0..B-1``, modulo ``2^B``); the last action does nothing. The reward of
a state is minus the smallest squared distance (the Hamming distance, bars being binary) from its
bar to ``K`` bars sampled once from a corpus of real bars.

A Gymnasium environment (``gymnasium.make("musiclab/Launchpad-v0")`` once :mod:`musiclab.envs` is
imported): ``reset(seed=, options=)`` -> (observation, info), ``step`` -> (observation, reward,
terminated, truncated, info). The tabular view lives in :mod:`musiclab.launchpad.tabular`, the
frames, MIDI and player in :mod:`musiclab.launchpad.view`.
"""
from __future__ import annotations

import gymnasium
import numpy as np
from gymnasium import spaces

from musiclab.errors import BadParameterError, check_choice, check_int, check_seed
from musiclab.launchpad.bars import check_bar_corpus, check_lowest, load_launchpad_bars, shrink_bars
from musiclab.launchpad.buttons import (MAX_BEATS_LOG2, MAX_NOTES, Action, LaunchpadState,
                                        basis_vectors, row_table)
from musiclab.launchpad.tabular import TabularView
from musiclab.launchpad.view import RENDER_MODES, BarView

#: How the state looks at the start of an episode.
STARTS = ("empty", "random")
#: What ``reset(options=...)`` accepts: ``{"state": LaunchpadState}`` starts from that state.
RESET_OPTIONS = ("state",)


class LaunchpadEnv(TabularView, BarView, gymnasium.Env):
    """The launchpad composing environment of notebook 06 (see the module docstring).

    ``bars``: real bars, bool ``[M, notes, 2^beats_log2]``; ``k`` of them (without replacement,
    drawn with ``seed``) are the reward's targets. Episodes start from the ``start`` state
    (``"empty"``: all buttons off, offsets 0; ``"random"``: uniform, drawn from the generator that
    ``seed`` and then ``reset(seed=)`` seed) and are truncated after ``max_steps`` actions (a time
    limit: no state is terminal). ``lowest`` is the row of the full 24-row launchpad (MIDI 47 up)
    that row 0 plays, as in :func:`shrink_bars` (default: the middle rows); it places the notes in
    :meth:`pitch` and :meth:`to_pretty_midi`. ``render_mode``: None, ``"ansi"`` or
    ``"rgb_array"`` (:meth:`render`).

    Spaces: ``Discrete(num_actions)`` actions; observations float32 ``[observation_size]`` in
    ``[0, 1]`` (:meth:`observation`). ``info`` holds ``nearest_target`` (the index of the target bar
    nearest the current one) and its ``distance``.

    One class on purpose: actions, states, bars, rewards and the tabular view
    all read the same encoding (``N``, ``B``, the row table, the mixed-radix state index), and
    notebook 06, the agents and the panel use it as one object. The pure pieces (basis vectors,
    states and their indices, actions) live in :mod:`musiclab.launchpad.buttons`, the corpus in
    :mod:`musiclab.launchpad.bars`.
    """

    metadata = {"render_modes": list(RENDER_MODES), "render_fps": 4}

    def __init__(self, bars: np.ndarray, *, notes: int = 24, beats_log2: int = 6, k: int = 16,
                 max_steps: int = 32, start: str = "empty", seed: int = 0,
                 lowest: int | None = None, render_mode: str | None = None):
        self.notes = check_int("notes", notes, 1, MAX_NOTES)
        self.beats_log2 = check_int("beats_log2", beats_log2, 1, MAX_BEATS_LOG2)
        self.max_steps = check_int("max_steps", max_steps, 1)
        self.start = check_choice("start", start, STARTS)
        self.bar_steps = 2 ** self.beats_log2
        self.lowest = check_lowest(lowest, self.notes)
        self.seed = check_int("seed", seed, 0)
        corpus = check_bar_corpus(bars, self.notes, self.bar_steps)
        k = check_int("k", k, 1, corpus.shape[0])
        self.target_indices = np.sort(
            np.random.default_rng(seed).choice(corpus.shape[0], size=k, replace=False))
        self.targets = corpus[self.target_indices]
        target_flat = self.targets.reshape(len(self.targets), -1).astype(np.float32)
        self._target_columns = np.ascontiguousarray(target_flat.T)  # [N*L, K]
        self._target_sizes = target_flat.sum(axis=1)
        self.basis = basis_vectors(self.beats_log2)
        self._row_table = row_table(self.basis)
        self._code_weights = 1 << np.arange(self.beats_log2 + 1, dtype=np.int64)
        self.render_mode = None if render_mode is None else check_choice("render_mode", render_mode,
                                                                         RENDER_MODES)
        self.action_space = spaces.Discrete(self.num_actions)
        self.observation_space = spaces.Box(0.0, 1.0, shape=(self.observation_size,), dtype=np.float32)
        self.np_random = np.random.default_rng(seed)
        self.state = self.start_state()
        self.t = 0

    @classmethod
    def from_corpus(cls, *, notes: int = 24, beats_log2: int = 6, k: int = 16, max_steps: int = 32,
                    start: str = "empty", seed: int = 0, lowest: int | None = None,
                    render_mode: str | None = None, quiet: bool = False) -> LaunchpadEnv:
        """The environment on the real bars of :func:`musiclab.launchpad.bars.load_launchpad_bars`
        (24 notes x 64 steps; smaller launchpads use :func:`shrink_bars` on rows ``lowest ..
        lowest + notes - 1``) (notebook 06; ``musiclab/Launchpad-v0`` makes it)."""
        bars = load_launchpad_bars(quiet=quiet)
        lowest = check_lowest(lowest, notes)
        if (notes, 2 ** beats_log2) != bars.shape[1:]:
            bars = shrink_bars(bars, notes, beats_log2, lowest)
        return cls(bars, notes=notes, beats_log2=beats_log2, k=k, max_steps=max_steps,
                   start=start, seed=seed, lowest=lowest, render_mode=render_mode)

    def settings(self) -> dict:
        """The keyword arguments of :meth:`from_corpus` that rebuild this launchpad (shipped
        agents store them)."""
        return {"notes": self.notes, "beats_log2": self.beats_log2, "k": len(self.targets),
                "max_steps": self.max_steps, "start": self.start, "seed": self.seed,
                "lowest": self.lowest}

    # ----- actions ---------------------------------------------------------------------------
    @property
    def num_actions(self) -> int:
        """``N(2B + 1) + 1``: toggles and shifts for every note, plus the no-op (the last)."""
        return self.notes * (2 * self.beats_log2 + 1) + 1

    def decode_action(self, action: int) -> Action:
        """The :class:`Action` behind an action index."""
        action = self._check_action(action)
        if action == self.num_actions - 1:
            return Action("noop")
        note, slot = divmod(action, 2 * self.beats_log2 + 1)
        if slot <= self.beats_log2:
            return Action("toggle", note, slot)
        return Action("shift", note, slot - self.beats_log2 - 1)

    def encode_action(self, kind: str, note: int = 0, k: int = 0) -> int:
        """Index of the action ``kind`` (``toggle``/``shift``/``noop``) on ``note`` with ``k``."""
        check_choice("kind", kind, ("toggle", "shift", "noop"))
        if kind == "noop":
            return self.num_actions - 1
        note = check_int("note", note, 0, self.notes - 1)
        per_note = 2 * self.beats_log2 + 1
        if kind == "toggle":
            return note * per_note + check_int("k", k, 0, self.beats_log2)
        return note * per_note + self.beats_log2 + 1 + check_int("k", k, 0, self.beats_log2 - 1)

    def _check_action(self, action) -> int:
        return check_int("action", action, 0, self.num_actions - 1)

    def apply(self, state: LaunchpadState, action: int) -> LaunchpadState:
        """The state after ``action`` (a new object; ``state`` is left untouched)."""
        move = self.decode_action(action)
        new = state.copy()
        if move.kind == "toggle":
            new.toggles[move.note, move.k] = not new.toggles[move.note, move.k]
        elif move.kind == "shift":
            new.offsets[move.note] = (new.offsets[move.note] + 2 ** move.k) % self.bar_steps
        return new

    def apply_batch(self, toggles: np.ndarray, offsets: np.ndarray,
                    actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`apply` for many states at once: toggles bool ``[M, N, B + 1]``, offsets
        ``[M, N]``, actions int ``[M]`` -> new (toggles, offsets); the inputs are left untouched."""
        actions = np.asarray(actions, dtype=np.int64)
        if actions.shape != (len(toggles),) or (len(actions) and (
                actions.min() < 0 or actions.max() >= self.num_actions)):
            raise BadParameterError(f"actions must be {len(toggles)} integers in "
                                    f"[0, {self.num_actions - 1}], got {actions!r}")
        toggles, offsets = toggles.copy(), offsets.astype(np.int64)
        note, slot = np.divmod(actions, 2 * self.beats_log2 + 1)
        moved = actions < self.num_actions - 1
        flip = moved & (slot <= self.beats_log2)
        rows = np.flatnonzero(flip)
        toggles[rows, note[rows], slot[rows]] ^= True
        rows = np.flatnonzero(moved & ~flip)
        step = 2 ** (slot[rows] - self.beats_log2 - 1)
        offsets[rows, note[rows]] = (offsets[rows, note[rows]] + step) % self.bar_steps
        return toggles, offsets

    def successors(self, state: LaunchpadState) -> tuple[np.ndarray, np.ndarray]:
        """The state after each action: toggles ``[A, N, B + 1]``, offsets ``[A, N]`` (row ``a``
        is :meth:`apply` of action ``a``)."""
        count = self.num_actions
        return self.apply_batch(np.repeat(state.toggles[None], count, axis=0),
                                np.repeat(state.offsets[None], count, axis=0), np.arange(count))

    def describe_action(self, action: int) -> str:
        """The action in words: ``"toggle basis 2 of C4"``, ``"shift E4 by +4"``, ``"no-op"``."""
        move = self.decode_action(action)
        if move.kind == "noop":
            return "no-op"
        name = self.pitch_name(move.note)
        if move.kind == "toggle":
            return f"toggle basis {move.k} of {name}"
        return f"shift {name} by +{2 ** move.k}"

    # ----- states ----------------------------------------------------------------------------
    def start_state(self) -> LaunchpadState:
        """A fresh start state: all off (``start="empty"``) or uniform (``"random"``)."""
        if self.start == "random":
            return self.random_state(self.np_random)
        return LaunchpadState(np.zeros((self.notes, self.beats_log2 + 1), dtype=bool),
                              np.zeros(self.notes, dtype=np.int64))

    def random_state(self, rng: np.random.Generator) -> LaunchpadState:
        """A uniformly random state (each toggle on with probability 1/2, uniform offsets)."""
        return LaunchpadState(rng.random((self.notes, self.beats_log2 + 1)) < 0.5,
                              rng.integers(0, self.bar_steps, size=self.notes, dtype=np.int64))

    def check_state(self, state: LaunchpadState) -> LaunchpadState:
        """Return ``state`` if its shapes and offsets are valid, else raise BadParameterError."""
        shape = (self.notes, self.beats_log2 + 1)
        if np.shape(state.toggles) != shape or np.shape(state.offsets) != (self.notes,):
            raise BadParameterError(f"state must have toggles of shape {shape} and offsets of "
                                    f"shape ({self.notes},), got {np.shape(state.toggles)} and "
                                    f"{np.shape(state.offsets)}")
        offsets = np.asarray(state.offsets)
        if not np.issubdtype(offsets.dtype, np.integer) or offsets.min() < 0 or \
                offsets.max() >= self.bar_steps:
            raise BadParameterError(f"offsets must be integers in [0, {self.bar_steps - 1}], "
                                    f"got {offsets.tolist()}")
        return LaunchpadState(np.asarray(state.toggles, dtype=bool), offsets.astype(np.int64))

    def transposed(self, state: LaunchpadState, rows: int) -> LaunchpadState:
        """``state`` moved ``rows`` notes up (down when negative): each note takes the buttons of
        the note ``rows`` below it; notes pushed off the launchpad are lost, new ones start empty
        (a key change that the agent must recover from, notebook 06)."""
        rows = check_int("rows", rows, -self.notes, self.notes)
        toggles = np.zeros_like(state.toggles)
        offsets = np.zeros_like(state.offsets)
        src = slice(max(0, -rows), self.notes - max(0, rows))
        dst = slice(max(0, rows), self.notes - max(0, -rows))
        toggles[dst], offsets[dst] = state.toggles[src], state.offsets[src]
        return LaunchpadState(toggles, offsets)

    def reset(self, *, seed: int | None = None,
              options: dict | None = None) -> tuple[np.ndarray, dict]:
        """Start an episode: from ``options["state"]`` if given, else from :meth:`start_state`;
        ``seed`` reseeds the generator of random starts (Gymnasium's ``np_random``). Returns the
        observation (:meth:`observation`) and ``info``."""
        super().reset(seed=None if seed is None else check_seed(seed))
        options = dict(options or {})
        for key in options:
            check_choice("reset option", key, RESET_OPTIONS)
        state = options.get("state")
        self.state = self.start_state() if state is None else self.check_state(state).copy()
        self.t = 0
        return self.observation(self.state), self._info()

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        """Apply ``action``; return the new observation, its reward (``-`` the Hamming distance to
        the nearest target), ``terminated`` (always False: no state ends the game), ``truncated``
        (True once ``max_steps`` actions are taken) and ``info``."""
        self.state = self.apply(self.state, action)
        self.t += 1
        info = self._info()
        return (self.observation(self.state), float(-info["distance"]), False,
                self.t >= self.max_steps, info)

    def _info(self) -> dict:
        """``nearest_target`` (an index into :attr:`targets`) and its ``distance`` from the bar."""
        index, distance = self.nearest_target()
        return {"nearest_target": index, "distance": distance}

    def observation(self, state: LaunchpadState) -> np.ndarray:
        """The flattened state, float32 ``[N(B + 1) + N 2^B]``: toggle bits, one-hot offsets."""
        return self.observations(state.toggles[None], state.offsets[None])[0]

    def observations(self, toggles: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        """:meth:`observation` of many states: toggles ``[M, N, B + 1]``, offsets ``[M, N]`` ->
        float32 ``[M, observation_size]``."""
        count, bits = len(toggles), self.notes * (self.beats_log2 + 1)
        out = np.zeros((count, self.observation_size), dtype=np.float32)
        out[:, :bits] = toggles.reshape(count, bits)
        columns = bits + np.arange(self.notes) * self.bar_steps + offsets  # [count, N]
        out[np.arange(count)[:, None], columns] = 1.0
        return out

    @property
    def observation_size(self) -> int:
        """Length of :meth:`observation`."""
        return self.notes * (self.beats_log2 + 1 + self.bar_steps)

    # ----- bars and rewards ------------------------------------------------------------------
    def render_bars(self, toggles: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        """Bars of many states at once: toggles bool ``[M, N, B + 1]``, offsets ``[M, N]`` ->
        bool ``[M, N, 2^B]`` (one lookup in the table of all rotated row patterns)."""
        codes = toggles.astype(np.int64) @ self._code_weights
        return self._row_table[codes, offsets]

    def bar(self, state: LaunchpadState | None = None) -> np.ndarray:
        """The bar of ``state`` (default: the current one): bool ``[N, 2^B]``."""
        state = self.state if state is None else state
        return self.render_bars(state.toggles[None], state.offsets[None])[0]

    def distances(self, bars: np.ndarray) -> np.ndarray:
        """Hamming distances from bars ``[M, N, 2^B]`` to the ``K`` targets: int64 ``[M, K]``,
        computed as ``|x| + |b| - 2 x.b`` with one matrix product."""
        flat = bars.reshape(len(bars), -1).astype(np.float32)
        dist = flat.sum(axis=1, keepdims=True) + self._target_sizes[None, :] \
            - 2.0 * flat @ self._target_columns
        return np.rint(dist).astype(np.int64)

    def rewards(self, bars: np.ndarray) -> np.ndarray:
        """Rewards of bars ``[M, N, 2^B]``: ``-min_k distance``, float64 ``[M]``."""
        return (-self.distances(bars).min(axis=1)).astype(np.float64)

    def reward(self, state: LaunchpadState | None = None) -> float:
        """Reward of ``state`` (default: the current one): ``-min`` Hamming distance to targets."""
        return float(self.rewards(self.bar(state)[None])[0])

    def reward_ceiling(self) -> float:
        """The best reward any launchpad state can reach (0 only if a target is representable).

        Exact: the distance splits over notes, so each target row is matched against every
        row pattern (``2^(B+1)`` toggle sets x ``2^B`` offsets) and the best target wins.
        """
        rows = self.targets.reshape(-1, self.bar_steps).astype(np.float32)  # [K*N, L]
        best = np.full(len(rows), np.inf)
        for offset in range(self.bar_steps):
            patterns = self._row_table[:, offset].astype(np.float32)  # [2^(B+1), L]
            dist = patterns.sum(1)[:, None] + rows.sum(1)[None, :] - 2.0 * patterns @ rows.T
            best = np.minimum(best, dist.min(axis=0))
        return 0.0 - float(np.rint(best.reshape(len(self.targets), self.notes).sum(axis=1).min()))

    def nearest_target(self, state: LaunchpadState | None = None) -> tuple[int, int]:
        """``(i, d)``: the target bar ``self.targets[i]`` closest to the bar of ``state``
        (default: the current one) and its Hamming distance ``d`` (so the reward is ``-d``)."""
        dist = self.distances(self.bar(state)[None])[0]
        best = int(np.argmin(dist))
        return best, int(dist[best])


def reduced_env(target=(1, 0, 1, 1), *, max_steps: int = 500) -> LaunchpadEnv:
    """The paper's reduced launchpad: one note, ``B = 2`` (a 4-step bar), the single target bar
    ``target`` (default ``[1, 0, 1, 1]``), so 32 states and 6 actions (notebook 06)."""
    target = np.asarray(target)
    if target.shape != (4,):
        raise BadParameterError(f"target must be a bar of 4 binary steps, got shape {target.shape}")
    return LaunchpadEnv(target[None, None, :], notes=1, beats_log2=2, k=1, max_steps=max_steps)
