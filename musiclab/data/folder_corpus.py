"""Your own folder of music as a training corpus: MIDI and ABC files, searched recursively, cached by content.

Every tune is encoded as the built-in corpora are (:mod:`musiclab.data.corpus`): RL Tuner events,
transposed to C major / A minor and moved by octaves into MIDI 48..83. From a MIDI file the melody
is its highest non-drum part (:func:`musiclab.data.midi_files.melody_part`), transposed by the
file's first key signature or, without one, by the key its notes fit best (Krumhansl-Kessler key
profiles, weighted by duration). An ABC file may hold many tunes, each converted like the Essen
corpus (``abc2midi`` when installed). Files and tunes that cannot be used are skipped, counted by
reason and named (``MelodySet.skipped`` / ``skipped_ids``). The build runs in worker processes with a
progress bar and is cached under a key made of the folder's content (every file's path and bytes),
so editing, adding or removing a file rebuilds it and an unchanged folder loads in well under a
second. Used by ``musiclab train note-rnn --corpus PATH`` and ``music-vae --corpus PATH``
(through :func:`musiclab.models.melody_data.load_windows`) and ``bench/own_corpus.py``.
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np

from musiclab.data.abc import abc_converter, read_abc
from musiclab.data.cache import cached, files_digest
from musiclab.data.corpus import MelodySet, Tune, convert_abc, count_reasons
from musiclab.data.melody import Note, notes_from_pretty_midi
from musiclab.data.midi_files import MIDI_SUFFIXES, files_under, melody_part
from musiclab.data.midi_melodies import read_melody_file
from musiclab.data.pool import run_parallel
from musiclab.data.tune_encoding import encode_tune
from musiclab.errors import BadFileError

#: File name endings read from a folder (any case): MIDI and ABC.
FOLDER_SUFFIXES = (*MIDI_SUFFIXES, ".abc")
#: Krumhansl-Kessler key profiles (probe-tone ratings), from the tonic up, for :func:`estimate_key`.
MAJOR_PROFILE = (6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88)
MINOR_PROFILE = (6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17)
#: Bump when the way a folder is encoded changes (part of the cache key).
ENCODING_VERSION = 1
_MIDI_CHUNK = 50
_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


def folder_files(folder: Path) -> list[Path]:
    """Every MIDI and ABC file under ``folder`` (recursively), sorted; BadFileError when ``folder`` is
    not a folder, NoMidiFilesError when it holds none."""
    return files_under(folder, FOLDER_SUFFIXES, "music")


def estimate_key(notes: list[Note]) -> tuple[int, str]:
    """``(tonic pitch class, 'major' or 'minor')`` whose Krumhansl-Kessler profile correlates best
    with the notes' pitch-class durations (ties: the lower tonic, major first)."""
    weights = np.zeros(12)
    for note in notes:
        weights[note.pitch % 12] += note.duration
    best, best_r = (0, "major"), -np.inf
    for mode, profile in (("major", MAJOR_PROFILE), ("minor", MINOR_PROFILE)):
        for tonic in range(12):
            r = np.corrcoef(weights, np.roll(profile, tonic))[0, 1] if weights.std() > 0 else 0.0
            if r > best_r + 1e-12:
                best, best_r = (tonic, mode), r
    return best


def _midi_tune(path: Path) -> tuple[np.ndarray | None, str, str]:
    """``(events, '', key)`` of one MIDI file (``key`` says how it was found) or ``(None, reason, '')``."""
    pm, reason, _ = read_melody_file(path)
    if pm is None:
        return None, reason, ""
    notes = notes_from_pretty_midi(pm, melody_part(pm))
    if pm.key_signature_changes:
        number = pm.key_signature_changes[0].key_number
        tonic, mode, how = number % 12, "major" if number < 12 else "minor", "key signature"
    else:
        (tonic, mode), how = estimate_key(notes), "estimated"
    events, reason = encode_tune(notes, tonic, mode)
    return events, reason, f"{_NAMES[tonic]} {mode} ({how})"


def _read_midi_chunk(paths: list[str]) -> list[tuple[np.ndarray | None, str, str]]:
    """Worker: :func:`_midi_tune` of each path."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Tempo, Key or Time signature")
        return [_midi_tune(Path(path)) for path in paths]


def _abc_tunes(folder: Path, files: list[Path], quiet: bool) -> tuple[list[Tune], dict[str, str]]:
    tunes, skipped_ids = [], {}
    for path in files:
        name = path.relative_to(folder).as_posix()
        try:
            tunes.extend(read_abc(path, prefix=name))
        except BadFileError:
            skipped_ids[name] = "no ABC tune"
    if not tunes:
        return [], skipped_ids
    converted = convert_abc(tunes, folder.name, "folder", quiet=quiet)
    return converted.tunes, {**skipped_ids, **converted.skipped_ids}


def build_folder_melodies(folder: Path, quiet: bool = False) -> MelodySet:
    """Encode every tune of ``folder`` (not cached; :func:`load_folder_melodies` caches it)."""
    files = folder_files(folder)
    midi = [p for p in files if p.suffix.lower() in MIDI_SUFFIXES]
    jobs = [[str(p) for p in midi[i:i + _MIDI_CHUNK]] for i in range(0, len(midi), _MIDI_CHUNK)]
    outputs = run_parallel(_read_midi_chunk, jobs, [len(job) for job in jobs],
                           f"melodies in {folder.name}", "file", quiet)
    tunes, skipped_ids = [], {}
    for path, (events, reason, key) in zip(midi, (r for chunk in outputs for r in chunk)):
        name = path.relative_to(folder).as_posix()
        if events is None:
            skipped_ids[name] = reason
        else:
            tunes.append(Tune(name, path.stem, key, "", "", events))
    abc_tunes, abc_skipped = _abc_tunes(folder, [p for p in files if p not in set(midi)], quiet)
    skipped_ids.update(abc_skipped)
    return MelodySet(str(folder), tunes + abc_tunes, count_reasons(skipped_ids), skipped_ids, "folder",
                     files=len(files))


def load_folder_melodies(folder: str | os.PathLike, refresh: bool = False, quiet: bool = False) -> MelodySet:
    """The melodies of every MIDI and ABC file under ``folder`` (recursively), built in parallel on
    first use and cached by the folder's content. Skipped files are counted by reason in
    ``skipped`` and named in ``skipped_ids`` (and in a warning). BadFileError when ``folder`` is not
    a folder or no tune in it can be used; NoMidiFilesError when it holds no MIDI or ABC file."""
    folder = Path(folder).expanduser().resolve()
    files = folder_files(folder)
    settings = {"content": files_digest(folder, files), "encoding": ENCODING_VERSION,
                "abc": abc_converter() if any(p.suffix.lower() == ".abc" for p in files) else None}
    melodies = cached("folder_melodies", settings, lambda: build_folder_melodies(folder, quiet),
                      refresh=refresh, quiet=quiet)
    melodies.corpus = str(folder)  # the same content elsewhere shares the cache entry
    if not melodies.tunes:
        reasons = ", ".join(f"{n} {why}" for why, n in sorted(melodies.skipped.items()))
        raise BadFileError(f"{folder}: no usable melody in {len(files)} files ({reasons})")
    if melodies.skipped_ids:
        shown = "; ".join(f"{name} ({why})" for name, why in list(melodies.skipped_ids.items())[:10])
        more = f"; and {len(melodies.skipped_ids) - 10} more" if len(melodies.skipped_ids) > 10 else ""
        warnings.warn(f"skipped {len(melodies.skipped_ids)} files or tunes in {folder}: {shown}{more}",
                      stacklevel=2)
    return melodies
