"""Notes-and-chords tokens for the classic melody LSTM.

A score becomes a sequence of tokens, one per onset: a single note is its pitch name ("E4"), a
chord (several pitches starting together) is its pitches joined by dots ("C4.E4.G4"), or, in
the pitch-class style, its sorted pitch classes ("0.4.7"). Durations are dropped; on playback
tokens are spaced evenly. The vocabulary is built from the data. Sources: the Bach chorales
(all four parts, through music21) or any folder of MIDI files.

Used by notebooks 01 (classic LSTM variant) and 02 (its RL tuning and metric table).
"""
from __future__ import annotations

import os
import re
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pretty_midi
from tqdm.auto import tqdm

from musiclab.data.cache import cached
from musiclab.data.corpus import chorale_names
from musiclab.data.melody import key_shift, pitch_name
from musiclab.data.midi_files import midi_files, missing_file, no_melody, read_midi
from musiclab.data.pool import run_parallel
from musiclab.errors import BadFileError, BadParameterError, UnknownNameError, check_choice, check_range
from musiclab.limits import LimitError

_NOTE_RE = re.compile(r"^([A-G])(#?)(-?\d+)$")
_STEPS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


@dataclass(frozen=True)
class TokenConfig:
    """How scores become tokens and windows.

    ``grid``: onsets closer than this many quarter notes form one chord (0.25 = a 16th);
    ``chord_style``: 'pitch_classes' ("0.4.7", voiced in octave 4 on playback; a small
    vocabulary) or 'pitches' ("C3.E4.G4", exact voicing; a vocabulary several times larger);
    ``transpose``: move each piece to C major / A minor by its key signature;
    ``window``: tokens per training window; ``step_quarters``: token spacing on playback.
    """

    grid: float = 0.25
    chord_style: str = "pitch_classes"
    transpose: bool = True
    window: int = 40
    step_quarters: float = 0.5

    def __post_init__(self) -> None:
        check_range("grid", self.grid, 0, low_open=True)
        check_choice("chord_style", self.chord_style, ("pitches", "pitch_classes"))
        check_range("window", self.window, 1)
        check_range("step_quarters", self.step_quarters, 0, low_open=True)

    @classmethod
    def classic(cls) -> "TokenConfig":
        """The kit's classic-LSTM setting: 40-token windows of notes and pitch-class chords, in C."""
        return cls()

    @classmethod
    def skuli2017(cls) -> "TokenConfig":
        """Sigurður Skúli, "How to Generate Music using a LSTM Neural Network in Keras" (Towards
        Data Science, 2017): notes by name, chords as pitch classes, no transposition, 100-token
        windows, notes 0.5 quarter apart on playback."""
        return cls(transpose=False, window=100)


def token_pitches(token: str) -> list[int]:
    """MIDI pitches of a token: 'C4' -> [60]; 'C4.E4' -> [60, 64]; '0.4.7' -> [60, 64, 67]."""
    parts = token.split(".")
    if all(p.isdigit() and int(p) < 12 for p in parts):
        return [60 + int(p) for p in parts]
    pitches = []
    for part in parts:
        match = _NOTE_RE.match(part)
        if not match:
            raise BadParameterError(
                f"bad token {token!r}: expected note names like 'C#4' joined by '.', or pitch classes 0..11"
            )
        pitch = 12 * (int(match.group(3)) + 1) + _STEPS[match.group(1)] + (1 if match.group(2) else 0)
        check_range(f"pitch of token {token!r}", pitch, 0, 127)
        pitches.append(pitch)
    return pitches


def tokens_from_onsets(onsets: Iterable[tuple[float, int]], config: TokenConfig = TokenConfig(),
                       shift: int = 0) -> list[str]:
    """Tokens of ``(onset in quarter notes, MIDI pitch)`` pairs, one per onset group, in time order.

    Pitches are moved by ``shift`` semitones first.
    """
    groups: dict[int, set[int]] = {}
    for onset, pitch in onsets:
        groups.setdefault(int(round(onset / config.grid)), set()).add(int(pitch) + shift)
    tokens = []
    for slot in sorted(groups):
        pitches = sorted(p for p in groups[slot] if 0 <= p <= 127)
        if len(pitches) == 1:
            tokens.append(pitch_name(pitches[0]))
        elif config.chord_style == "pitch_classes":
            tokens.append(".".join(str(pc) for pc in sorted({p % 12 for p in pitches})))
        elif pitches:
            tokens.append(".".join(pitch_name(p) for p in pitches))
    return tokens


def tokens_from_pretty_midi(pm: pretty_midi.PrettyMIDI, config: TokenConfig = TokenConfig()) -> list[str]:
    """Tokens of all non-drum notes of a PrettyMIDI (transposed by its first key signature, if
    ``config.transpose`` and it has one)."""
    shift = 0
    if config.transpose and pm.key_signature_changes:
        number = pm.key_signature_changes[0].key_number
        shift = key_shift(number % 12, "minor" if number >= 12 else "major")
    onsets = [(pm.time_to_tick(n.start) / pm.resolution, n.pitch)
              for inst in pm.instruments if not inst.is_drum for n in inst.notes]
    return tokens_from_onsets(onsets, config, shift)


def tokens_from_music21(score, config: TokenConfig = TokenConfig()) -> list[str]:
    """Tokens of every part of a music21 score (ties merged; transposed by its first key
    signature if ``config.transpose``)."""
    flat = score.stripTies().flatten()
    shift = 0
    signatures = flat.getElementsByClass("KeySignature")
    if config.transpose and signatures:
        shift = key_shift((7 * signatures[0].sharps) % 12, "major")
    onsets = [(float(element.offset), p.midi) for element in flat.notes
              if float(element.quarterLength) > 0 for p in element.pitches]
    return tokens_from_onsets(onsets, config, shift)


def tokens_from_midi(path: str | os.PathLike, config: TokenConfig = TokenConfig()) -> list[str]:
    """Tokens of one MIDI file; BadFileError naming the file if it is missing, a folder, damaged,
    or has no notes (or only drum notes); LimitError if it has more than ``LIMITS.max_notes``."""
    path = Path(path)
    missing = missing_file(path)
    if missing:
        raise BadFileError(f"MIDI file {path} {missing}")
    try:
        pm = read_midi(path)
    except LimitError:
        raise
    except Exception as exc:  # mido/pretty_midi raise many types for damaged files
        raise BadFileError(f"{path} is not a readable MIDI file ({type(exc).__name__}: {exc})") from None
    tokens = tokens_from_pretty_midi(pm, config)
    if not tokens:
        empty = no_melody(pm) or "has no notes in pitches 0..127 after transposing"
        raise BadFileError(f"MIDI file {path} {empty}")
    return tokens


@dataclass(frozen=True)
class Vocabulary:
    """Token <-> index. Build it with :meth:`from_sequences`; store it with :meth:`to_dict`."""

    tokens: tuple[str, ...]
    _index: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tokens", tuple(self.tokens))
        index = {token: i for i, token in enumerate(self.tokens)}
        if len(index) != len(self.tokens):
            raise BadParameterError("vocabulary tokens must be unique")
        object.__setattr__(self, "_index", index)

    @classmethod
    def from_sequences(cls, sequences: Iterable[Sequence[str]], min_count: int = 1) -> "Vocabulary":
        """All tokens seen at least ``min_count`` times, ordered by size then pitch (deterministic)."""
        check_range("min_count", min_count, 1)
        counts = Counter(token for sequence in sequences for token in sequence)
        kept = [t for t, n in counts.items() if n >= min_count]
        return cls(tuple(sorted(kept, key=lambda t: (len(token_pitches(t)), token_pitches(t), t))))

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: str) -> bool:
        return token in self._index

    def index(self, token: str) -> int:
        """The index of ``token``; UnknownNameError if it is not in the vocabulary."""
        try:
            return self._index[token]
        except KeyError:
            raise UnknownNameError(
                f"token {token!r} is not in the vocabulary ({len(self)} tokens, e.g. "
                f"{', '.join(map(repr, self.tokens[:5]))})"
            ) from None

    def encode(self, tokens: Sequence[str]) -> np.ndarray:
        """Indices of ``tokens``, shape ``[len(tokens)]`` int64."""
        return np.array([self.index(t) for t in tokens], dtype=np.int64)

    def decode(self, indices: Iterable[int]) -> list[str]:
        """Tokens of ``indices`` (BadParameterError for an index outside 0..len-1)."""
        out = []
        for i in indices:
            check_range("token index", int(i), 0, len(self) - 1)
            out.append(self.tokens[int(i)])
        return out

    def to_dict(self) -> dict:
        """Plain data (safe for ``torch.save`` with ``weights_only=True`` loading)."""
        return {"tokens": list(self.tokens)}

    @classmethod
    def from_dict(cls, data: dict) -> "Vocabulary":
        """The inverse of :meth:`to_dict`."""
        if not isinstance(data, dict) or not isinstance(data.get("tokens"), list):
            raise BadParameterError("a vocabulary dict needs a 'tokens' list")
        return cls(tuple(data["tokens"]))


@dataclass
class TokenSet:
    """Token sequences of a source (``names[i]`` names ``sequences[i]``), their vocabulary, and
    the skipped pieces (``skipped``: reason -> count; ``skipped_ids``: piece -> reason)."""

    source: str
    names: list[str]
    sequences: list[list[str]]
    vocab: Vocabulary
    config: TokenConfig
    skipped: dict[str, int] = field(default_factory=dict)
    skipped_ids: dict[str, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.sequences)

    def encoded(self) -> list[np.ndarray]:
        """Every sequence as vocabulary indices (int64 arrays)."""
        return [self.vocab.encode(s) for s in self.sequences]

    def windows(self, length: int | None = None, hop: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """Training pairs: inputs ``[N, length]`` and next-token targets ``[N]`` (see :func:`token_windows`)."""
        return token_windows(self.encoded(), self.config.window if length is None else length, hop)


def token_windows(sequences: Iterable[np.ndarray], length: int = 40,
                  hop: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Slide a window over each sequence: inputs ``[N, length]`` int64 and the token that follows
    each window ``[N]`` int64 (a sequence shorter than ``length + 1`` gives none)."""
    check_range("length", length, 1)
    check_range("hop", hop, 1)
    inputs, targets = [], []
    for sequence in sequences:
        sequence = np.asarray(sequence, dtype=np.int64)
        for start in range(0, len(sequence) - length, hop):
            inputs.append(sequence[start:start + length])
            targets.append(sequence[start + length])
    if not inputs:
        return np.zeros((0, length), dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.stack(inputs), np.array(targets, dtype=np.int64)


def tokens_to_pretty_midi(tokens: Sequence[str], step_quarters: float = 0.5, tempo_bpm: float = 120.0,
                          program: int = 0) -> pretty_midi.PrettyMIDI:
    """Play tokens one after another, each lasting ``step_quarters`` quarter notes."""
    check_range("step_quarters", step_quarters, 0, low_open=True)
    check_range("tempo_bpm", tempo_bpm, 0, low_open=True)
    check_range("program", program, 0, 127)
    step = step_quarters * 60.0 / tempo_bpm
    pm = pretty_midi.PrettyMIDI(initial_tempo=tempo_bpm)
    instrument = pretty_midi.Instrument(program=int(program), name="notes and chords")
    for i, token in enumerate(tokens):
        for pitch in token_pitches(token):
            instrument.notes.append(pretty_midi.Note(velocity=80, pitch=pitch, start=i * step, end=(i + 1) * step))
    pm.instruments.append(instrument)
    return pm


def _make_set(source: str, names: list[str], results: list[tuple[list[str] | None, str]],
              config: TokenConfig) -> TokenSet:
    sequences, kept, skipped_ids = [], [], {}
    for name, (tokens, reason) in zip(names, results):
        if tokens:
            sequences.append(tokens)
            kept.append(name)
        else:
            skipped_ids[name] = reason or "no notes"
    counts = dict(Counter(skipped_ids.values()))
    return TokenSet(source, kept, sequences, Vocabulary.from_sequences(sequences), config, counts, skipped_ids)


def _skip_reason(message: str) -> str:
    """The short reason a folder loader counts for the BadFileError ``message`` of one file."""
    if "drum notes" in message:
        return "no melody"
    return "no notes" if "no notes" in message else "not a readable MIDI file"


def load_midi_folder_tokens(folder: str | os.PathLike, config: TokenConfig = TokenConfig(),
                            quiet: bool = False) -> TokenSet:
    """Tokens of every ``.mid``/``.midi`` under ``folder``; bad files are skipped, counted and named
    (with a warning). BadFileError if the folder is missing or no file is usable, NoMidiFilesError
    if it holds no MIDI file."""
    folder = Path(folder)
    paths = midi_files(folder)
    results = []
    for path in tqdm(paths, desc=f"tokens of {folder.name}", unit="file", disable=quiet):
        try:
            results.append((tokens_from_midi(path, config), ""))
        except BadFileError as exc:
            results.append((None, _skip_reason(str(exc))))
        except LimitError:
            results.append((None, "over the notes limit"))
    token_set = _make_set(str(folder), [str(p.relative_to(folder)) for p in paths], results, config)
    if not token_set.sequences:
        raise BadFileError(f"no usable MIDI file in {folder} ({len(paths)} .mid/.midi files found)")
    if token_set.skipped_ids:
        warnings.warn(f"skipped {len(token_set.skipped_ids)} of {len(paths)} MIDI files in {folder}: "
                      + "; ".join(f"{n} ({why})" for n, why in token_set.skipped_ids.items()), stacklevel=2)
    return token_set


def _chorale_tokens_job(job: tuple[list[str], TokenConfig]) -> list[tuple[list[str] | None, str]]:
    """Worker: tokens of chorales by music21 corpus name."""
    from music21 import corpus

    names, config = job
    results = []
    for name in names:
        try:
            results.append((tokens_from_music21(corpus.parse(name), config), ""))
        except Exception:  # a chorale music21 cannot read: count it, keep going
            results.append((None, "music21 could not parse it"))
    return results


def chorale_tokens(config: TokenConfig = TokenConfig(), subset: str = "default", refresh: bool = False,
                   quiet: bool = False) -> TokenSet:
    """Tokens of the Bach chorales (all four parts; 371, or subset 'sample' = the first 20),
    parsed with music21 in parallel and cached with their vocabulary. Used by notebook 01."""
    import music21

    names = chorale_names(subset)
    settings = {"subset": subset, "music21": music21.__version__, **config.__dict__}

    def build() -> TokenSet:
        jobs = [(names[i:i + 10], config) for i in range(0, len(names), 10)]
        outputs = run_parallel(_chorale_tokens_job, jobs, [len(j[0]) for j in jobs],
                               "chorale tokens (music21)", "chorale", quiet)
        return _make_set("chorales", names, [r for chunk in outputs for r in chunk], config)

    return cached("tokens-chorales", settings, build, refresh=refresh, quiet=quiet)
