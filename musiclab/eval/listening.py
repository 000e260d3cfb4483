"""Listening tests: pairwise A/B preference tests and the Turing-test tally (notebooks 02, 05).

An :class:`ABTest` holds pairs of clips, each clip made by a *system* (e.g. 'cnn' vs
'tuned'), records which clip a listener preferred ('A' or 'B') with a time stamp, keeps the
answers in a JSON file, counts preferences per system and tests the counts against "no
preference" with a χ² goodness-of-fit test. The widget that plays the clips and asks the
question lives in ``musiclab.widgets``; this module is the model behind it.

The file is rewritten atomically (temp file + ``os.replace``) and every write first re-reads
it under a lock, so two sessions (two notebooks, two listeners) appending to the same file
lose no answer.

The χ² statistic of observed counts o_i against expected counts e_i is
χ² = Σ (o_i − e_i)² / e_i with k − 1 degrees of freedom; :func:`chi_square_gof` computes it
and its p-value in closed form.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
from scipy import stats

from musiclab.errors import BadFileError, BadParameterError, UnknownNameError, check_seed
from musiclab.runtime import atomic_write_bytes

try:  # POSIX file locks; without them (Windows) writes stay atomic but are not serialised
    import fcntl
except ImportError:  # pragma: no cover - not on Linux/macOS
    fcntl = None

#: Version of the JSON layout written by :class:`ABTest`.
FORMAT = 1
#: The two answers of an A/B question.
ANSWERS = ("A", "B")
#: The two labels of a Turing test.
TURING_LABELS = ("human", "generated")


@dataclass(frozen=True)
class Pair:
    """One A/B question: ``pair_id`` names it; ``a`` and ``b`` are the systems whose clips
    play as A and B (the widget maps the pair id to the two clips)."""

    pair_id: str
    a: str
    b: str


@dataclass(frozen=True)
class Answer:
    """One recorded answer: which side the listener preferred, the system that side
    belongs to, who answered and when (ISO 8601, UTC)."""

    pair_id: str
    answer: str
    chosen: str
    listener: str
    time: str


@dataclass(frozen=True)
class ChiSquareResult:
    """A χ² goodness-of-fit test: the statistic, its p-value, degrees of freedom, and the
    observed and expected counts it was computed from (in the same order)."""

    statistic: float
    p_value: float
    dof: int
    observed: tuple[float, ...]
    expected: tuple[float, ...]


def make_pairs(n: int, systems: tuple[str, str], seed: int | np.random.Generator,
               prefix: str = "pair") -> list[Pair]:
    """``n`` pairs comparing two systems, each system playing as A in half of them (one more
    when n is odd), in a seeded random order so listeners cannot learn the side."""
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise BadParameterError(f"n must be a positive integer number of pairs, got {n!r}")
    first, second = systems
    if first == second:
        raise BadParameterError(f"systems must be two different names, got {systems!r}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(check_seed(seed))
    swapped = rng.permutation(np.arange(n) % 2 == 1)
    return [
        Pair(f"{prefix}{i:03d}", *((second, first) if swap else (first, second)))
        for i, swap in enumerate(swapped)
    ]


class ABTest:
    """Pairwise A/B listening test backed by a JSON file (notebook 05; the A/B widget).

    ``path`` is the answers file (created on the first write; None keeps everything in
    memory). ``pairs`` are registered at once (see :meth:`add_pair`). Every :meth:`record`
    re-reads the file, appends and rewrites it atomically, so several sessions can share it.
    """

    def __init__(self, path: str | os.PathLike | None = None, pairs: Sequence[Pair] = ()):
        self.path = None if path is None else Path(path)
        self._pairs: dict[str, Pair] = {}
        self._answers: list[Answer] = []
        if self.path is not None and self.path.exists():
            self._pairs, self._answers = self._read()
        for pair in pairs:
            self.add_pair(pair.pair_id, pair.a, pair.b)

    # -- pairs and answers ------------------------------------------------------------
    @property
    def pairs(self) -> dict[str, Pair]:
        """The registered pairs by id (a copy)."""
        return dict(self._pairs)

    @property
    def answers(self) -> list[Answer]:
        """Every recorded answer, oldest first (a copy)."""
        return list(self._answers)

    def add_pair(self, pair_id: str, a: str, b: str) -> Pair:
        """Register the question ``pair_id``: system ``a``'s clip as A, system ``b``'s as B.
        Re-adding the same pair is a no-op; the same id with other systems is an error."""
        if not pair_id or not a or not b:
            raise BadParameterError(f"pair id and both systems must be non-empty, got "
                                    f"{pair_id!r}, {a!r}, {b!r}")
        pair = Pair(str(pair_id), str(a), str(b))
        with self._locked():
            self._refresh()
            known = self._pairs.get(pair.pair_id)
            if known is not None and known != pair:
                raise BadParameterError(
                    f"pair {pair.pair_id!r} is already registered as {known.a!r} vs {known.b!r}, "
                    f"not {pair.a!r} vs {pair.b!r}"
                )
            if known is None:
                self._pairs[pair.pair_id] = pair
                self._write()
        return pair

    def record(self, pair_id: str, answer: str, listener: str = "anonymous",
               time: datetime | None = None) -> Answer:
        """Record that ``listener`` preferred side ``answer`` ('A' or 'B') of pair ``pair_id``
        (time stamp: ``time`` or now, UTC) and append it to the file."""
        if answer not in ANSWERS:
            raise BadParameterError(f"answer must be 'A' or 'B', got {answer!r}")
        stamp = (time or datetime.now(timezone.utc)).isoformat()
        with self._locked():
            self._refresh()
            if pair_id not in self._pairs:
                known = ", ".join(map(repr, list(self._pairs)[:10])) or "none registered yet"
                raise UnknownNameError(f"unknown pair {pair_id!r}; known pairs: {known}"
                                       + (" ..." if len(self._pairs) > 10 else ""))
            pair = self._pairs[pair_id]
            entry = Answer(pair_id, answer, pair.a if answer == "A" else pair.b,
                           str(listener), stamp)
            self._answers.append(entry)
            self._write()
        return entry

    # -- statistics -------------------------------------------------------------------
    def systems(self) -> list[str]:
        """Every system that appears in a pair, in order of first appearance."""
        return list(dict.fromkeys(name for pair in self._pairs.values() for name in (pair.a, pair.b)))

    def counts(self) -> dict[str, int]:
        """Number of times each system's clip was preferred (0 for systems never chosen)."""
        tally = {name: 0 for name in self.systems()}
        for entry in self._answers:
            tally[entry.chosen] = tally.get(entry.chosen, 0) + 1
        return tally

    def chi_square(self) -> ChiSquareResult:
        """χ² goodness-of-fit test of :meth:`counts` against no preference (equal expected
        counts), with ``scipy.stats.chisquare``. Needs at least one answer."""
        tally = self.counts()
        if not self._answers or len(tally) < 2:
            raise BadParameterError("the χ² test needs answers and at least two systems; "
                                    f"have {len(self._answers)} answers for systems {list(tally)}")
        observed = np.array(list(tally.values()), dtype=np.float64)
        expected = np.full_like(observed, observed.sum() / len(observed))
        result = stats.chisquare(observed, expected)
        return ChiSquareResult(float(result.statistic), float(result.pvalue), len(observed) - 1,
                               tuple(observed.tolist()), tuple(expected.tolist()))

    # -- storage ----------------------------------------------------------------------
    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold an exclusive lock on ``<path>.lock`` (no-op in memory or without fcntl)."""
        if self.path is None or fcntl is None:
            yield
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(self.path.name + ".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _refresh(self) -> None:
        """Merge what other sessions wrote: the file's pairs and answers become ours."""
        if self.path is None or not self.path.exists():
            return
        pairs, answers = self._read()
        for pair_id, pair in self._pairs.items():
            pairs.setdefault(pair_id, pair)
        self._pairs, self._answers = pairs, answers

    def _read(self) -> tuple[dict[str, Pair], list[Answer]]:
        """Parse the answers file; BadFileError naming it if it is not a valid one."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if data.get("format") != FORMAT:
                raise ValueError(f"format {data.get('format')!r}, expected {FORMAT}")
            pairs = {p["pair_id"]: Pair(**p) for p in data["pairs"]}
            answers = [Answer(**a) for a in data["answers"]]
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
            raise BadFileError(f"{self.path} is not a musiclab A/B answers file: {error}") from error
        return pairs, answers

    def _write(self) -> None:
        """Rewrite the answers file atomically (temp file in the same folder + os.replace)."""
        if self.path is None:
            return
        data = {"format": FORMAT, "pairs": [asdict(p) for p in self._pairs.values()],
                "answers": [asdict(a) for a in self._answers]}
        atomic_write_bytes(self.path, json.dumps(data, indent=1).encode("utf-8"))


def chi_square_sf(statistic: float, dof: int) -> float:
    """P(χ²_dof ≥ statistic): the χ² survival function in closed form for integer ``dof``
    (the regularised upper incomplete gamma Q(dof/2, statistic/2), summed term by term)."""
    if not isinstance(dof, (int, np.integer)) or dof < 1:
        raise BadParameterError(f"dof must be a positive integer, got {dof!r}")
    if statistic != statistic or statistic < 0:
        raise BadParameterError(f"statistic must be >= 0, got {statistic!r}")
    half = statistic / 2.0
    if dof % 2 == 0:  # Q(m, x) = e^-x Σ_{i<m} x^i / i!
        return math.exp(-half) * sum(half**i / math.factorial(i) for i in range(dof // 2))
    # Q(m + 1/2, x) = erfc(√x) + e^-x Σ_{i=1..m} x^(i-1/2) / Γ(i + 1/2)
    tail = sum(half ** (i - 0.5) / math.gamma(i + 0.5) for i in range(1, dof // 2 + 1))
    return math.erfc(math.sqrt(half)) + math.exp(-half) * tail


def chi_square_gof(observed: Sequence[float], expected: Sequence[float] | None = None) -> ChiSquareResult:
    """χ² goodness-of-fit test in closed form: χ² = Σ (o − e)² / e over k categories,
    k − 1 degrees of freedom; ``expected`` defaults to equal counts (no preference) and must
    have the same total as ``observed``."""
    o = np.asarray(observed, dtype=np.float64)
    if o.ndim != 1 or len(o) < 2 or np.any(o < 0) or o.sum() <= 0:
        raise BadParameterError(f"observed must be >= 2 non-negative counts with a positive "
                                f"total, got {list(np.atleast_1d(o))}")
    e = np.full_like(o, o.sum() / len(o)) if expected is None else np.asarray(expected, np.float64)
    if e.shape != o.shape or np.any(e <= 0) or not math.isclose(e.sum(), o.sum(), rel_tol=1e-8):
        raise BadParameterError(f"expected must be {len(o)} positive counts summing to "
                                f"{o.sum():g}, got {list(np.atleast_1d(e))}")
    statistic = float(((o - e) ** 2 / e).sum())
    return ChiSquareResult(statistic, chi_square_sf(statistic, len(o) - 1), len(o) - 1,
                           tuple(o.tolist()), tuple(e.tolist()))


@dataclass(frozen=True)
class TuringResult:
    """The Turing-test tally: ``confusion[truth][guess]`` counts, the share of correct
    guesses, the share of generated clips judged human (nan without generated clips), and a two-sided binomial test of
    the number correct against chance (p = 0.5)."""

    confusion: dict[str, dict[str, int]]
    n: int
    correct: int
    accuracy: float
    fooled: float
    p_value: float

    def __str__(self) -> str:
        corner = "truth / guess"
        rows = [f"{corner:<14}{'human':>8}{'generated':>11}"]
        rows += [f"{truth:<14}{self.confusion[truth]['human']:>8}{self.confusion[truth]['generated']:>11}"
                 for truth in TURING_LABELS]
        rows.append(f"accuracy {100 * self.accuracy:.1f} % of {self.n}; generated judged human "
                    f"{100 * self.fooled:.1f} %; binomial p = {self.p_value:.3g}")
        return "\n".join(rows)


def turing_tally(truths: Sequence[str], guesses: Sequence[str]) -> TuringResult:
    """Tally a Turing test as in the classic melody-LSTM paper (notebook 02): for each clip,
    its truth and the listener's guess, each 'human' or 'generated'."""
    truths, guesses = list(truths), list(guesses)
    if not truths or len(truths) != len(guesses):
        raise BadParameterError(f"truths and guesses must be equally long and non-empty, got "
                                f"{len(truths)} and {len(guesses)}")
    for name, labels in (("truths", truths), ("guesses", guesses)):
        bad = sorted({label for label in labels if label not in TURING_LABELS}, key=str)
        if bad:
            raise BadParameterError(f"{name} must be 'human' or 'generated', got {bad!r}")
    confusion = {t: {g: 0 for g in TURING_LABELS} for t in TURING_LABELS}
    for truth, guess in zip(truths, guesses):
        confusion[truth][guess] += 1
    correct = sum(confusion[label][label] for label in TURING_LABELS)
    generated = sum(confusion["generated"].values())
    fooled = confusion["generated"]["human"] / generated if generated else float("nan")
    p_value = float(stats.binomtest(correct, len(truths), 0.5).pvalue)
    return TuringResult(confusion, len(truths), correct, correct / len(truths), fooled, p_value)
