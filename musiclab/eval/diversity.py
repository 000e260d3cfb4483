"""How many different tunes a generator plays: diversity beside every rule table (notebook 02, bench).

A composer that plays one tune can score well on every music-theory rule; these numbers show it.
Compositions are np.int64 [N, T] in the melody encoding (events ≥ 2 are pitch onsets).

- ``distinct_pieces``: distinct compositions / N.
- ``distinct_4gram_share``: distinct pitch 4-grams / all pitch 4-grams, pooled over the N pieces (a
  pitch 4-gram is four consecutive onsets of one piece, holds and rests skipped).
- ``mean_pairwise_hamming``: mean share of steps at which two different pieces differ, over all pairs
  (or ``max_pairs`` pairs drawn with a fixed seed).
- ``pitch_class_entropy``: per piece, the entropy (bits) of its onsets' pitch classes, averaged.
"""
from __future__ import annotations

import numpy as np

from musiclab.eval.melody import check_compositions
from musiclab.theory import FIRST_PITCH_EVENT
from musiclab.data.melody import PITCH_OFFSET
from musiclab.errors import check_seed

#: The keys :func:`diversity_metrics` returns.
DIVERSITY_KEYS = ("distinct_pieces", "distinct_4gram_share", "mean_pairwise_hamming", "pitch_class_entropy")
#: Pairs sampled for the mean Hamming distance when N(N − 1)/2 exceeds it.
MAX_PAIRS = 200_000


def pitch_ngrams(compositions: np.ndarray, n: int = 4) -> list[tuple[int, ...]]:
    """All pitch n-grams (n consecutive onsets of one piece, holds and rests skipped) of [N, T] compositions."""
    grams = []
    for row in compositions.tolist():
        pitches = [event for event in row if event >= FIRST_PITCH_EVENT]
        grams.extend(tuple(pitches[i:i + n]) for i in range(len(pitches) - n + 1))
    return grams


def distinct_4gram_share(compositions) -> float:
    """Distinct pitch 4-grams / all pitch 4-grams of the pieces (NaN when no piece has 4 onsets)."""
    grams = pitch_ngrams(check_compositions(compositions, length=None))
    return len(set(grams)) / len(grams) if grams else float("nan")


def mean_pairwise_hamming(compositions, max_pairs: int = MAX_PAIRS, seed: int = 0) -> float:
    """Mean share of steps at which two pieces differ, over all pairs of the N ≥ 2 pieces (or
    ``max_pairs`` pairs drawn with ``seed`` when there are more)."""
    pieces, seed = check_compositions(compositions, length=None), check_seed(seed)
    n = len(pieces)
    if n < 2:
        return float("nan")
    first, second = np.triu_indices(n, k=1)
    if len(first) > max_pairs:
        chosen = np.random.default_rng(seed).choice(len(first), size=max_pairs, replace=False)
        first, second = first[chosen], second[chosen]
    return float((pieces[first] != pieces[second]).mean())


def pitch_class_entropy(compositions) -> float:
    """Mean over pieces of the entropy (bits) of the pitch classes of each piece's onsets (0 to log2 12;
    pieces without onsets count 0)."""
    pieces = check_compositions(compositions, length=None)
    entropies = []
    for row in pieces:
        classes = (row[row >= FIRST_PITCH_EVENT] + PITCH_OFFSET) % 12
        if classes.size == 0:
            entropies.append(0.0)
            continue
        p = np.bincount(classes, minlength=12) / classes.size
        p = p[p > 0]
        entropies.append(float(-(p * np.log2(p)).sum()))
    return float(np.mean(entropies))


def diversity_metrics(compositions) -> dict[str, float]:
    """The four diversity numbers of the module docstring for compositions [N, T]: key → value."""
    pieces = check_compositions(compositions, length=None)
    return {
        "distinct_pieces": len({row.tobytes() for row in pieces}) / len(pieces),
        "distinct_4gram_share": distinct_4gram_share(pieces),
        "mean_pairwise_hamming": mean_pairwise_hamming(pieces),
        "pitch_class_entropy": pitch_class_entropy(pieces),
    }
