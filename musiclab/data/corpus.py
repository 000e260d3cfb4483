"""Melody corpora from the music21 wheel: Essen folk songs, O'Neill's 1850, Bach chorale sopranos.

Every tune is encoded as RL Tuner events (:mod:`musiclab.data.melody`), transposed to C major /
A minor by its key signature and moved by octaves into MIDI 48..83. Tunes that cannot be
encoded are skipped and counted, with their ids and reasons kept in the :class:`MelodySet`.

The two ABC corpora are split into tunes here (raw text, ``X:`` headers, so the raw ``T:``,
``R:``, ``M:``, ``K:`` fields are at hand) and converted with Debian's ``abc2midi`` (seconds for
all of Essen); without it, music21 parses them in parallel processes (minutes). The chorales
go through music21. Results are cached on disk (:mod:`musiclab.data.cache`).

Used by notebooks 00 (data), 01 (Note-RNN) and 03-04 (calming set, MusicVAE).
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pretty_midi
from tqdm.auto import tqdm

from musiclab.data.cache import cached
from musiclab.data.melody import (
    Note, encode_notes, fit_to_range, from_pretty_midi, make_windows, transpose_to_c,
)
from musiclab.data.midi_files import midi_files, missing_file, no_melody
from musiclab.data.pool import run_parallel
from musiclab.data.smf import midi_file_notes
from musiclab.errors import BadFileError, BadParameterError, MusiclabError, check_choice

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
_PITCH_CLASSES = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11, "H": 11}
_MODE_PREFIXES = {
    "": "major", "maj": "major", "ion": "major", "m": "minor", "min": "minor", "aeo": "minor",
    "dor": "dorian", "phr": "phrygian", "lyd": "lydian", "mix": "mixolydian", "loc": "locrian",
}
_KEY_RE = re.compile(r"^\s*([A-Ha-h])([#b]|es|is|s)?\s*([A-Za-z]*)")


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
        if self.skipped:
            reasons = ", ".join(f"{n} {why}" for why, n in sorted(self.skipped.items()))
            text += f"; skipped {sum(self.skipped.values())} ({reasons})"
        return text


@dataclass(frozen=True)
class AbcTune:
    """One tune of an ABC collection file: its id, header fields (first of each) and raw text."""

    tune_id: str
    fields: dict
    text: str

    def field(self, letter: str) -> str:
        """The raw header field ``letter`` (e.g. "R"), stripped; "" when absent."""
        return self.fields.get(letter, "")


def corpus_root() -> Path:
    """The folder of the music21 corpus that ships inside the music21 wheel."""
    import music21

    root = Path(music21.__file__).resolve().parent / "corpus"
    if not (root / _ABC_FOLDERS["essen"]).is_dir():
        raise MusiclabError(
            f"the music21 corpus is missing from {root}; reinstall music21 from PyPI (the wheel ships it)"
        )
    return root


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def read_abc(path: str | os.PathLike, prefix: str | None = None) -> list[AbcTune]:
    """Split an ABC collection file into tunes at its ``X:`` lines.

    Tune ids are ``PREFIX/X`` (``PREFIX`` defaults to the file stem). Raises BadFileError naming
    the file when it is missing, unreadable or holds no ``X:`` tune with a ``K:`` field.
    """
    path = Path(path)
    try:
        text = _read_text(path)
    except OSError as exc:
        raise BadFileError(f"cannot read ABC file {path}: {exc.strerror or exc}") from None
    prefix = path.stem if prefix is None else prefix
    tunes, seen = [], set()
    for chunk in re.split(r"(?m)^(?=X:)", text):
        if not chunk.startswith("X:"):
            continue
        fields: dict[str, str] = {}
        for line in chunk.splitlines():
            match = re.match(r"^([A-Za-z]):(.*)$", line)
            if match and match.group(1) not in fields:
                fields[match.group(1)] = match.group(2).strip()
            if match and match.group(1) == "K":
                break  # K: ends the header
        if "K" not in fields:
            continue
        number = fields["X"] or str(len(tunes) + 1)
        tune_id = f"{prefix}/{number}"
        while tune_id in seen:
            tune_id += "'"
        seen.add(tune_id)
        tunes.append(AbcTune(tune_id, fields, chunk))
    if not tunes:
        raise BadFileError(f"{path} holds no ABC tune (no 'X:' line followed by a 'K:' field)")
    return tunes


def parse_abc_key(key_field: str) -> tuple[int, str]:
    """``(tonic pitch class, mode)`` of an ABC ``K:`` field: "G" -> (7, 'major'), "Dmix" ->
    (2, 'mixolydian'), "Gm" -> (7, 'minor'); German "H" and "Es" are read too."""
    match = _KEY_RE.match(key_field)
    if not match:
        raise BadParameterError(f"cannot read the ABC key {key_field!r} (expected e.g. 'G', 'F#m', 'Ddor')")
    letter, accidental, mode_text = match.group(1).upper(), match.group(2) or "", match.group(3).lower()
    tonic = _PITCH_CLASSES[letter]
    if accidental == "#" or accidental == "is":
        tonic += 1
    elif accidental in ("b", "es", "s"):
        tonic -= 1
    prefix = mode_text if mode_text in ("", "m") else mode_text[:3]
    if prefix not in _MODE_PREFIXES:
        raise BadParameterError(
            f"cannot read the mode of ABC key {key_field!r}; valid modes: m, min, maj, dor, phr, lyd, mix, loc"
        )
    return tonic % 12, _MODE_PREFIXES[prefix]


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


def _finish(notes: list[Note], tonic: int, mode: str) -> tuple[np.ndarray | None, str]:
    """Shift to start at step 0, transpose to C, fit the range, encode; or a reason to skip."""
    if not notes:
        return None, "no notes"
    first = min(n.start for n in notes)
    notes = [Note(n.pitch, n.start - first, n.duration) for n in transpose_to_c(notes, tonic, mode)]
    try:
        notes = fit_to_range(notes)
    except BadParameterError:
        return None, "pitch range too wide"
    return encode_notes(notes), ""


def _drop_staccato(text: str) -> str:
    """Remove staccato dots from ABC music lines (abc2midi would halve those notes)."""
    lines = []
    for line in text.splitlines():
        is_field = re.match(r"^[A-Za-z]:", line) or line.startswith("%")
        lines.append(line if is_field else line.replace(".", ""))
    return "\n".join(lines)


def _convert_with_abc2midi(job: list[tuple[str, int, str]]) -> list[tuple[np.ndarray | None, str]]:
    """Worker: convert (abc text, tonic, mode) tunes with one abc2midi run; events or reasons."""
    with tempfile.TemporaryDirectory(prefix="musiclab-abc-") as folder:
        body = []
        for number, (text, _, _) in enumerate(job, start=1):
            renumbered = re.sub(r"^X:.*", f"X:{number}", _drop_staccato(text), count=1)
            body.append(renumbered.rstrip() + "\n\n")
        Path(folder, "t.abc").write_text("".join(body), encoding="utf-8", errors="replace")
        try:
            subprocess.run(["abc2midi", "t.abc", "-quiet", "-silent", "-NGRA"], cwd=folder,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=600, check=False)
        except subprocess.TimeoutExpired:
            return [(None, "abc2midi timed out")] * len(job)
        results = []
        for number, (_, tonic, mode) in enumerate(job, start=1):
            path = Path(folder, f"t{number}.mid")
            try:
                division, ticks = midi_file_notes(path.read_bytes())
            except (OSError, ValueError):
                results.append((None, "abc2midi could not convert it"))
                continue
            per_step = division / 4
            notes = []
            for on, off, pitch in ticks:
                start, end = int(round(on / per_step)), int(round(off / per_step))
                notes.append(Note(pitch, start, max(1, end - start)))
            results.append(_finish(notes, tonic, mode))
    return results


def _notes_from_music21(score) -> list[Note]:
    """Quantised notes of a music21 score or part (ties merged, grace notes dropped)."""
    notes = []
    for element in score.stripTies().flatten().notes:
        duration = float(element.quarterLength)
        if duration <= 0:
            continue
        pitch = max(p.midi for p in element.pitches)
        start = int(round(float(element.offset) * 4))
        end = int(round((float(element.offset) + duration) * 4))
        notes.append(Note(pitch, start, max(1, end - start)))
    return notes


def _convert_with_music21(job: list[tuple[str, int, str]]) -> list[tuple[np.ndarray | None, str]]:
    """Worker: parse (abc text, tonic, mode) tunes with music21 (repeats expanded); events or reasons."""
    from music21 import converter

    results = []
    for text, tonic, mode in job:
        try:
            score = converter.parse(text, format="abc")
            try:
                score = score.expandRepeats()
            except Exception:  # unbalanced repeat marks: keep the tune as written
                pass
            notes = _notes_from_music21(score)
        except Exception:  # music21 cannot parse this tune: count it, keep going
            results.append((None, "music21 could not parse it"))
            continue
        results.append(_finish(notes, tonic, mode))
    return results


def abc_converter() -> str:
    """'abc2midi' when Debian's abcmidi is installed, else 'music21' (about 50x slower)."""
    return "abc2midi" if shutil.which("abc2midi") else "music21"


def convert_abc(tunes: Sequence[AbcTune], corpus: str, subset: str = "default",
                converter: str = "auto", quiet: bool = False) -> MelodySet:
    """Encode ABC tunes as a MelodySet, in parallel processes; unusable tunes are counted.

    ``converter``: 'abc2midi', 'music21' or 'auto' (abc2midi when installed).
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
        usable.append(tune)
        jobs_input.append((tune.text, tonic, mode))
    size = _CHUNK_TUNES if converter == "abc2midi" else max(1, _CHUNK_TUNES // 8)
    jobs = [jobs_input[i:i + size] for i in range(0, len(jobs_input), size)]
    work = _convert_with_abc2midi if converter == "abc2midi" else _convert_with_music21
    outputs = run_parallel(work, jobs, [len(j) for j in jobs], f"{corpus} melodies ({converter})",
                            "tune", quiet)
    melodies = []
    for tune, (events, reason) in zip(usable, (r for chunk in outputs for r in chunk)):
        if events is None:
            skipped_ids[tune.tune_id] = reason
            continue
        melodies.append(Tune(tune.tune_id, tune.field("T"), tune.field("K"), tune.field("M"),
                             tune.field("R"), events, tune.field("O")))
    return MelodySet(corpus, melodies, _count(skipped_ids), skipped_ids, subset)


def _count(skipped_ids: dict[str, str]) -> dict[str, int]:
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
            notes = _notes_from_music21(soprano)
            key_name = str(score.analyze("key"))
        except Exception:  # a chorale music21 cannot read: count it, keep going
            results.append((None, "music21 could not parse it"))
            continue
        events, reason = _finish(notes, (7 * sharps) % 12, "major")
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
    return MelodySet("chorales", tunes, _count(skipped_ids), skipped_ids, subset)


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


def _read_midi_melody(path: Path, fold: bool) -> tuple[np.ndarray | None, str, str]:
    """``(events, "", "")`` or ``(None, reason, detail)`` for one MIDI file."""
    missing = missing_file(path)
    if missing:
        return None, "missing", missing
    try:
        pm = pretty_midi.PrettyMIDI(str(path))
    except Exception as exc:  # mido/pretty_midi raise many types for damaged files
        return None, "not a readable MIDI file", f"is not a readable MIDI file ({type(exc).__name__}: {exc})"
    empty = no_melody(pm)
    if empty:
        return None, "no melody" if "drum" in empty else "no notes", empty
    melodic = [i for i, inst in enumerate(pm.instruments) if not inst.is_drum and inst.notes]
    try:
        return from_pretty_midi(pm, melodic[0], fold=fold), "", ""
    except BadParameterError as exc:
        return None, "pitch range too wide", str(exc)


def load_midi_melody(path: str | os.PathLike, fold: bool = False) -> np.ndarray:
    """Events of the melody of a MIDI file (its first non-drum instrument with notes).

    Quantised to 16ths, highest note kept, moved by octaves into 48..83 (not transposed).
    Raises BadFileError naming the file if it is missing, a folder, empty, truncated, not MIDI,
    has no notes or only drum notes, or spans too wide a range (unless ``fold=True``).
    """
    path = Path(path)
    events, _, detail = _read_midi_melody(path, fold)
    if events is None:
        raise BadFileError(f"MIDI file {path} {detail}")
    return events


def load_midi_folder(folder: str | os.PathLike, fold: bool = False, quiet: bool = False) -> MelodySet:
    """Melodies of every ``.mid``/``.midi`` file under ``folder`` (recursively); bad files are
    skipped, counted by reason and listed in ``skipped_ids`` (with a warning naming them).
    BadFileError when ``folder`` is not a folder, NoMidiFilesError when it holds no MIDI file."""
    folder = Path(folder)
    paths = midi_files(folder)
    tunes, skipped_ids = [], {}
    for path in tqdm(paths, desc=f"MIDI melodies in {folder.name}", unit="file", disable=quiet):
        name = str(path.relative_to(folder))
        events, reason, _ = _read_midi_melody(path, fold)
        if events is None:
            skipped_ids[name] = reason
        else:
            tunes.append(Tune(name, path.stem, "", "", "", events))
    if skipped_ids:
        warnings.warn(f"skipped {len(skipped_ids)} of {len(paths)} MIDI files in {folder}: "
                      + "; ".join(f"{name} ({why})" for name, why in skipped_ids.items()), stacklevel=2)
    return MelodySet(str(folder), tunes, _count(skipped_ids), skipped_ids, "all")
