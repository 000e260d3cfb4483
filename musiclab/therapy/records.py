"""What a listener's profile holds, as plain records: :class:`Preferences`, :class:`Profile`,
:class:`Piece`, :class:`FeedbackEvent`, and the kinds of feedback a listener can give.

The records know nothing of SQLite: :class:`~musiclab.therapy.profiles.ProfileStore` keeps them
in a file; :mod:`musiclab.therapy.preference` learns from feedback values, whose kinds and ranges
(:data:`FEEDBACK_KINDS`) live here, once. Notebook 07.
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from musiclab.errors import BadParameterError, check_choice, check_range

#: Feedback kinds and the closed interval each one's value must lie in: ``more_less`` is
#: +1 "more like this" / −1 "less like this" (a slider may give values between); ``calm`` is
#: a calm-o-meter reading, 0 = agitated, 1 = calm.
FEEDBACK_KINDS: dict[str, tuple[float, float]] = {"more_less": (-1.0, 1.0), "calm": (0.0, 1.0)}
#: Units of a feedback position in a piece: 16th-note steps or seconds from the start.
POSITION_UNITS = ("step", "seconds")
#: Register names and the transposition (semitones) each one applies to generated melodies.
REGISTERS: dict[str, int] = {"low": -12, "middle": 0, "high": 12}


@dataclass(frozen=True)
class Preferences:
    """What a listener likes; stored as JSON with the profile. Notebook 07 turns these knobs."""

    instrument: int = 0
    """General MIDI program, 0..127 (0 = acoustic grand piano), as in ``audio.play_melody``."""
    tempo: float = 72.0
    """Playback tempo in quarter notes per minute, 30..200."""
    register: str = "middle"
    """'low', 'middle' or 'high': transposes generated melodies by ``REGISTERS[register]`` semitones."""
    c: float = 0.5
    """RL Tuner weight c > 0 in r = log p(a|s) + r_MT(a, s) / c (smaller c: more music theory)."""
    temperature: float = 1.0
    """Sampling temperature > 0 when generating (below 1: safer, above 1: more adventurous)."""

    def __post_init__(self):
        if isinstance(self.instrument, bool) or not isinstance(self.instrument, (int, np.integer)):
            raise BadParameterError(f"instrument must be a General MIDI program number (int 0..127), "
                                    f"got {self.instrument!r}")
        check_range("instrument", int(self.instrument), 0, 127)
        object.__setattr__(self, "instrument", int(self.instrument))
        check_choice("register", self.register, REGISTERS)
        for name, low, high in (("tempo", 30.0, 200.0), ("c", 0.0, None), ("temperature", 0.0, None)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
                raise BadParameterError(f"{name} must be a number, got {value!r}")
            check_range(name, float(value), low, high, low_open=name != "tempo")
            if not math.isfinite(value):
                raise BadParameterError(f"{name} must be finite, got {value!r}")
            object.__setattr__(self, name, float(value))

    @property
    def transpose(self) -> int:
        """Semitones to add to generated pitches for the chosen register."""
        return REGISTERS[self.register]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Preferences:
        """Preferences from a mapping of field → value; missing fields take their defaults."""
        if not isinstance(data, Mapping):
            raise BadParameterError(f"preferences must be a Preferences or a dict, got {type(data).__name__}")
        valid = [f.name for f in dataclasses.fields(cls)]
        for key in data:
            check_choice("preference", key, valid)
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        """The fields as a plain dict (what is stored as JSON)."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Profile:
    """A signed-in listener: what ``sign_up``/``sign_in`` return and every other call takes."""

    id: int
    name: str
    created: datetime
    """When the profile was made (UTC)."""
    preferences: Preferences


@dataclass(frozen=True)
class Piece:
    """A piece played to a listener: its events (or a reference) and the settings that made it."""

    id: int
    profile_id: int
    created: datetime
    """When the piece was added (UTC)."""
    events: np.ndarray | None
    """The encoded events (time on the last axis), e.g. melody events [T]; None if only a reference."""
    reference: str | None
    """Where the piece lives when its events are not stored (a file, a corpus id), else None."""
    settings: dict
    """The settings that generated it (model, c, seed, tempo, ...), as stored JSON."""


@dataclass(frozen=True)
class FeedbackEvent:
    """One reaction of a listener to a moment of a piece."""

    id: int
    profile_id: int
    piece_id: int
    time: datetime
    """When the listener reacted (UTC)."""
    position: float
    """Where in the piece, in ``unit``s from its start."""
    unit: str
    """'step' (16th-note steps) or 'seconds'."""
    value: float
    """The reaction, inside ``FEEDBACK_KINDS[kind]``."""
    kind: str
    """A key of ``FEEDBACK_KINDS``."""
