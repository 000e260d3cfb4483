"""Melody corpora from the music21 wheel: Essen folk songs, O'Neill's 1850, Bach chorale sopranos.

Every tune is encoded as RL Tuner events (:mod:`musiclab.data.melody`), transposed to C major /
A minor by its key signature and moved by octaves into MIDI 48..83. Tunes that cannot be
encoded are skipped and counted, with their ids and reasons kept in the :class:`MelodySet`.

The two ABC corpora are split into tunes and converted by :mod:`musiclab.data.abc` (Debian's
``abc2midi`` when installed, else music21 in parallel processes). The chorales go through
music21. Results are cached on disk (:mod:`musiclab.data.cache`).

Used by notebooks 00 (data), 01 (Note-RNN) and 03-04 (calming set, MusicVAE).
"""
from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from musiclab.data.abc import (
    AbcTune, abc_converter, abc_note_count, convert_with_abc2midi, convert_with_music21, parse_abc_key, read_abc,
)
from musiclab.data.cache import cached
from musiclab.data.melody import make_windows
from musiclab.data.pool import run_parallel
from musiclab.data.tune_encoding import encode_tune, notes_from_music21
from musiclab.errors import BadParameterError, MusiclabError, check_choice
from musiclab.limits import LIMITS

CORPORA = ("essen", "oneill", "chorales")
_ABC_FOLDERS = {"essen": "essenFolksong", "oneill": "oneills1850"}
#: Named subsets of the Essen collection files; any collection file stem ("kinder0") works too.
ESSEN_SUBSETS = {
    "default": "the European collections (all but han1, han2): about 7,300 tunes",
    "all": "every Essen tune, about 8,500",
    "china": "the Chinese collections han1 and han2: about 1,200 tunes",
}
#: Number of chorales in the chorale subset "sample" (the first ones by Riemenschneider number).
CHORALE_SAMPLE = 20
_CHUNK_TUNES = 200


@dataclass(eq=False)
class Tune:
    """One encoded melody and its raw metadata (``key``, ``meter``, ``rhythm`` as in the source).

    ``rhythm`` is the ABC ``R:`` field (genre, e.g. "Kinder -, Wiegen - Lied"); ``events`` is the
    1-D int64 event array, transposed to C major / A minor.
    """

    tune_id: str
    title: str
    key: str
    meter: str
    rhythm: str
    events: np.ndarray
    origin: str = ""

    @property
    def steps(self) -> int:
        """Length in 16th-note steps."""
        return int(len(self.events))


@dataclass
class MelodySet:
    """The tunes of one corpus, with the skipped ones counted by reason (``skipped``) and named
    (``skipped_ids``: tune id or file -> reason)."""

    corpus: str
    tunes: list[Tune]
    skipped: dict[str, int] = field(default_factory=dict)
    skipped_ids: dict[str, str] = field(default_factory=dict)
    subset: str = "default"
    files: int = 0
    """Files read, for a folder of your own (0 for the built-in corpora)."""

    def __len__(self) -> int:
        return len(self.tunes)

    @property
    def events(self) -> list[np.ndarray]:
        """The event arrays of all tunes, in order."""
        return [tune.events for tune in self.tunes]

    def windows(self, length: int, hop: int | None = None) -> np.ndarray:
        """All tunes cut into ``[N, length]`` windows (see :func:`make_windows`)."""
        return make_windows(self.events, length, hop)

    def split(self, fractions: Sequence[float] = (0.8, 0.1, 0.1), seed: int = 0) -> dict[str, list[Tune]]:
        """Train / valid / test lists by hashed tune id (see :func:`split_tunes`)."""
        return split_tunes(self.tunes, fractions, seed)

    def __getstate__(self) -> dict:
        """Pickle compactly: all events in one int8 array (a fast, small cache file)."""
        state = dict(self.__dict__)
        state["tunes"] = [{**t.__dict__, "events": None} for t in self.tunes]
        state["lengths"] = np.array([t.steps for t in self.tunes], dtype=np.int64)
        state["all_events"] = (np.concatenate(self.events) if self.tunes else np.zeros(0)).astype(np.int8)
        return state

    def __setstate__(self, state: dict) -> None:
        state = dict(state)
        lengths, all_events = state.pop("lengths"), state.pop("all_events").astype(np.int64)
        parts = np.split(all_events, np.cumsum(lengths)[:-1]) if len(lengths) else []
        state["tunes"] = [Tune(**{**meta, "events": events}) for meta, events in zip(state["tunes"], parts)]
        self.__dict__.update(state)

    def summary(self) -> str:
        """One line: how many tunes and steps, and what was skipped why."""
        steps = sum(t.steps for t in self.tunes)
        text = f"{self.corpus}/{self.subset}: {len(self.tunes):,} tunes, {steps:,} sixteenth steps"
        if self.files:
            text += f" from {self.files:,} files read"
        if self.skipped:
            reasons = ", ".join(f"{n} {why}" for why, n in sorted(self.skipped.items()))
            text += f"; skipped {sum(self.skipped.values())} ({reasons})"
        return text

def corpus_root() -> Path:
    """The folder of the music21 corpus that ships inside the music21 wheel."""
    import music21

    root = Path(music21.__file__).resolve().parent / "corpus"
    if not (root / _ABC_FOLDERS["essen"]).is_dir():
        raise MusiclabError(
            f"the music21 corpus is missing from {root}; reinstall music21 from PyPI (the wheel ships it)"
        )
    return root

def abc_collection_files(corpus: str = "essen", subset: str = "default") -> list[Path]:
    """The ABC collection files of ``corpus`` ('essen' or 'oneill') in ``subset``.

    Subsets: 'default', 'all', for Essen also 'china' (see :data:`ESSEN_SUBSETS`), or the stem
    of one collection file (e.g. 'kinder0').
    """
    check_choice("ABC corpus", corpus, _ABC_FOLDERS)
    files = sorted((corpus_root() / _ABC_FOLDERS[corpus]).glob("*.abc"))
    stems = [f.stem for f in files]
    china = {"han1", "han2"} if corpus == "essen" else set()
    named = tuple(ESSEN_SUBSETS) if corpus == "essen" else ("default", "all")
    check_choice(f"{corpus} subset", subset, list(named) + stems)
    if subset == "all" or (subset == "default" and corpus == "oneill"):
        return files
    if subset == "default":
        return [f for f in files if f.stem not in china]
    if subset == "china":
        return [f for f in files if f.stem in china]
    return [f for f in files if f.stem == subset]


def convert_abc(tunes: Sequence[AbcTune], corpus: str, subset: str = "default",
                converter: str = "auto", quiet: bool = False) -> MelodySet:
    """Encode ABC tunes as a MelodySet, in parallel processes; unusable tunes are counted.

    ``converter``: 'abc2midi', 'music21' or 'auto' (abc2midi when installed). A tune of more
    notes than ``musiclab.limits.LIMITS.max_abc_notes`` (a count of its text) is skipped before parsing.
    """
    check_choice("converter", converter, ("auto", "abc2midi", "music21"))
    if converter == "auto":
        converter = abc_converter()
    if converter == "music21" and abc_converter() == "music21":
        warnings.warn("abc2midi not found: parsing ABC with music21 instead, which takes minutes "
                      "for a whole corpus; `apt-get install abcmidi` makes it take seconds", stacklevel=2)
    skipped_ids: dict[str, str] = {}
    usable, jobs_input = [], []
    for tune in tunes:
        try:
            tonic, mode = parse_abc_key(tune.field("K"))
        except BadParameterError:
            skipped_ids[tune.tune_id] = "unreadable key"
            continue
        if abc_note_count(tune.text) > LIMITS.max_abc_notes:
            skipped_ids[tune.tune_id] = f"over the notes limit (LIMITS.max_abc_notes = {LIMITS.max_abc_notes:,})"
            continue
        usable.append(tune)
        jobs_input.append((tune.text, tonic, mode))
    size = _CHUNK_TUNES if converter == "abc2midi" else max(1, _CHUNK_TUNES // 8)
    jobs = [jobs_input[i:i + size] for i in range(0, len(jobs_input), size)]
    work = convert_with_abc2midi if converter == "abc2midi" else convert_with_music21
    outputs = run_parallel(work, jobs, [len(j) for j in jobs], f"{corpus} melodies ({converter})",
                            "tune", quiet)
    melodies = []
    for tune, (events, reason) in zip(usable, (r for chunk in outputs for r in chunk)):
        if events is None:
            skipped_ids[tune.tune_id] = reason
            continue
        melodies.append(Tune(tune.tune_id, tune.field("T"), tune.field("K"), tune.field("M"),
                             tune.field("R"), events, tune.field("O")))
    return MelodySet(corpus, melodies, count_reasons(skipped_ids), skipped_ids, subset)


def count_reasons(skipped_ids: dict[str, str]) -> dict[str, int]:
    """How many skipped tunes or files per reason, from ``skipped_ids`` (id -> reason)."""
    counts: dict[str, int] = {}
    for reason in skipped_ids.values():
        counts[reason] = counts.get(reason, 0) + 1
    return counts


def chorale_names(subset: str = "default") -> list[str]:
    """music21 corpus names of the chorales ('bach/bwv269', ...) in Riemenschneider order;
    subset 'default'/'all' (371) or 'sample' (the first :data:`CHORALE_SAMPLE`)."""
    from music21.corpus import chorales

    check_choice("chorales subset", subset, ("default", "all", "sample"))
    names = list(chorales.Iterator(returnType="filename"))
    return names[:CHORALE_SAMPLE] if subset == "sample" else names


def _convert_chorales(job: list[str]) -> list[tuple[Tune | None, str]]:
    """Worker: soprano melodies of chorales (music21 corpus names like 'bach/bwv269')."""
    from music21 import corpus

    results = []
    for name in job:
        try:
            score = corpus.parse(name)
            soprano = score.parts[0]
            signatures = soprano.flatten().getElementsByClass("KeySignature")
            meters = soprano.flatten().getElementsByClass("TimeSignature")
            sharps = signatures[0].sharps if signatures else 0
            notes = notes_from_music21(soprano)
            key_name = str(score.analyze("key"))
        except Exception:  # a chorale music21 cannot read: count it, keep going
            results.append((None, "music21 could not parse it"))
            continue
        events, reason = encode_tune(notes, (7 * sharps) % 12, "major")
        if events is None:
            results.append((None, reason))
            continue
        bwv = name.split("/")[-1].upper().replace("BWV", "BWV ")
        title = (score.metadata.title if score.metadata else None) or bwv
        meter = meters[0].ratioString if meters else ""
        results.append((Tune(f"chorales/{name.split('/')[-1]}", title, key_name, meter, "chorale",
                             events, "J. S. Bach"), ""))
    return results


def _build_chorales(subset: str, quiet: bool) -> MelodySet:
    names = chorale_names(subset)
    jobs = [names[i:i + 10] for i in range(0, len(names), 10)]
    outputs = run_parallel(_convert_chorales, jobs, [len(j) for j in jobs], "chorale sopranos (music21)",
                            "chorale", quiet)
    tunes, skipped_ids = [], {}
    for name, (tune, reason) in zip(names, (r for chunk in outputs for r in chunk)):
        if tune is None:
            skipped_ids[f"chorales/{name.split('/')[-1]}"] = reason
        else:
            tunes.append(tune)
    return MelodySet("chorales", tunes, count_reasons(skipped_ids), skipped_ids, subset)


def load_melodies(corpus: str = "essen", subset: str = "default", refresh: bool = False,
                  quiet: bool = False) -> MelodySet:
    """Load (building and caching on first use) the encoded melodies of a music21 corpus.

    ``corpus``: 'essen' (default), 'oneill' or 'chorales' (sopranos). ``subset``: 'default';
    'all'; Essen 'china' or a collection stem such as 'kinder0'; O'Neill a file stem; chorales
    'sample' (the first 20). The default Essen build takes seconds with abc2midi and well under
    a second from cache. Used by notebooks 00, 01 and 04.
    """
    check_choice("corpus", corpus, CORPORA)
    import music21

    if corpus == "chorales":
        chorale_names(subset)  # validate before building
        settings = {"corpus": corpus, "subset": subset, "music21": music21.__version__}
        return cached(f"melodies-{corpus}", settings, lambda: _build_chorales(subset, quiet),
                      refresh=refresh, quiet=quiet)
    files = abc_collection_files(corpus, subset)
    converter = abc_converter()
    settings = {"corpus": corpus, "subset": subset, "converter": converter,
                "music21": music21.__version__}

    def build() -> MelodySet:
        tunes = [t for path in files for t in read_abc(path, prefix=f"{corpus}/{path.stem}")]
        return convert_abc(tunes, corpus, subset, converter, quiet)

    return cached(f"melodies-{corpus}", settings, build, refresh=refresh, quiet=quiet)


def split_tunes(tunes: Iterable[Tune], fractions: Sequence[float] = (0.8, 0.1, 0.1),
                seed: int = 0) -> dict[str, list[Tune]]:
    """Split into 'train', 'valid', 'test' by a hash of ``(seed, tune_id)``.

    Deterministic, and adding tunes never moves other tunes between splits. ``fractions`` are
    the expected shares (three non-negative numbers summing to 1).
    """
    fractions = tuple(float(f) for f in fractions)
    if len(fractions) != 3 or min(fractions) < 0 or abs(sum(fractions) - 1.0) > 1e-6:
        raise BadParameterError(
            f"fractions must be three non-negative numbers summing to 1 (train, valid, test), got {fractions}"
        )
    splits: dict[str, list[Tune]] = {"train": [], "valid": [], "test": []}
    for tune in tunes:
        digest = hashlib.sha256(f"{seed}/{tune.tune_id}".encode()).digest()
        u = int.from_bytes(digest[:8], "big") / 2**64
        name = "train" if u < fractions[0] else "valid" if u < fractions[0] + fractions[1] else "test"
        splits[name].append(tune)
    return splits

