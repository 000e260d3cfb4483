"""A therapy session with a simulated listener: the whole loop of notebook 07 without a person.

:func:`simulate_session` composes a piece with a :class:`~musiclab.therapy.feedback.Personaliser`,
lets a :class:`~musiclab.therapy.preference.SimulatedListener` react at random moments, learns from
the reactions, re-tunes, and repeats; :class:`SessionHistory` keeps what happened (headless
notebooks, tests, ``bench/personalisation.py``).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
from tqdm.auto import tqdm

from musiclab.data.melody import STEPS_PER_QUARTER
from musiclab.errors import BadParameterError, check_range, check_seed
from musiclab.therapy.feedback import Personaliser, record_feedback, seconds_to_step
from musiclab.therapy.preference import SimulatedListener
from musiclab.therapy.profiles import ProfileStore
from musiclab.therapy.records import FEEDBACK_KINDS, Profile


@dataclass
class SessionHistory:
    """What happened in a therapy session: per piece its events, reactions and satisfaction."""

    pieces: list = field(default_factory=list)
    """The pieces played, np.int64 [T] each."""
    positions: list = field(default_factory=list)
    """Per piece, the steps reacted to."""
    values: list = field(default_factory=list)
    """Per piece, the feedback values given."""
    satisfaction: list = field(default_factory=list)
    """Per piece: share of positive reactions ('more_less') or mean calm reading ('calm')."""
    rounds: list = field(default_factory=list)
    """RoundReport of each personalisation round."""
    kind: str = "more_less"
    """The feedback kind."""

    def feedback_values(self) -> np.ndarray:
        """Every feedback value in the order given: float64 [events]."""
        return np.concatenate([np.asarray(v, dtype=np.float64) for v in self.values]) if self.values else np.zeros(0)

    def positive_share(self, start: int, stop: int) -> float:
        """Share of liking reactions (> 0 for 'more_less', > 0.5 for 'calm') among events start..stop−1."""
        values = self.feedback_values()[start:stop]
        if values.size == 0:
            return float("nan")
        return float(np.mean(values > (0.0 if self.kind == "more_less" else 0.5)))

    def to_dict(self) -> dict:
        """Plain data (lists) for JSON."""
        return {"pieces": [p.tolist() for p in self.pieces], "positions": [list(map(int, p)) for p in self.positions],
                "values": [list(map(float, v)) for v in self.values], "satisfaction": list(self.satisfaction),
                "rounds": [asdict(r) for r in self.rounds], "kind": self.kind}


def satisfaction_of(values, kind: str = "more_less") -> float:
    """Satisfaction with one piece: share of +feedback ('more_less') or the mean reading ('calm')."""
    values = np.asarray(values, dtype=np.float64)
    if kind not in FEEDBACK_KINDS:
        raise BadParameterError(f"kind must be one of {', '.join(FEEDBACK_KINDS)}, got {kind!r}")
    if values.size == 0:
        return float("nan")
    return float(np.mean(values > 0)) if kind == "more_less" else float(values.mean())


def simulate_session(personaliser: Personaliser, listener: SimulatedListener, pieces: int = 8,
                     reactions: int = 4, seed: int = 0, tempo_bpm: float = 72.0,
                     store: ProfileStore | None = None, profile: Profile | None = None,
                     quiet: bool = False) -> SessionHistory:
    """A whole session with a simulated listener: compose, listen (``reactions`` feedback events at
    random moments of each piece, played at ``tempo_bpm``), learn, re-tune; ``pieces`` times.

    With ``store`` and ``profile`` every piece and reaction is stored as in a live session. Same
    seed, same session. Notebook 07, ``bench/personalisation.py``.
    """
    check_range("pieces", pieces, 1)
    check_range("reactions", reactions, 1)
    if (store is None) != (profile is None):
        raise BadParameterError("give both store and profile, or neither")
    rng = np.random.default_rng(check_seed(seed))
    cfg = personaliser.config
    step_seconds = 60.0 / tempo_bpm / STEPS_PER_QUARTER
    history = SessionHistory(kind=listener.kind)
    for number in tqdm(range(pieces), desc="session", unit="piece", disable=quiet, leave=False):
        piece = personaliser.compose_piece(seed=seed * 100_003 + number)
        piece_id = store.add_piece(profile, piece, {"seed": seed, "piece": number, "tempo": tempo_bpm,
                                                     "c": personaliser.c}) if store is not None else None
        moments = np.sort(rng.uniform(0, cfg.length * step_seconds, reactions))
        positions = np.array([seconds_to_step(s, tempo_bpm, cfg.length) for s in moments])
        values = listener.react(piece, positions, rng)
        for moment, position, value in zip(moments, positions, values):
            if store is not None:
                record_feedback(store, profile, piece_id, float(moment), float(value), tempo_bpm,
                                listener.kind, cfg.length)
            personaliser.observe(piece, int(position), float(value), listener.kind)
        history.pieces.append(piece)
        history.positions.append(positions)
        history.values.append(values)
        history.satisfaction.append(satisfaction_of(values, listener.kind))
        if number < pieces - 1:
            history.rounds.append(personaliser.personalise())
    return history
