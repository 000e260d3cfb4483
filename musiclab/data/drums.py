"""Drum grids: two bars of 4/4 as 32 sixteenth steps, each step one of 9 drums or silence.

A grid is a 1-D ``np.int64`` array of :data:`GRID_STEPS` = 32 class indices in 0..9
(:data:`DRUM_CLASSES`). Notebook 05 (drum Note-CNN + DQN) trains on them. They come from

* Debian's ``mma`` (Musical MIDI Accompaniment): every groove of its library is rendered for
  two bars (``RndSeed 1``, humanising time jitter off), see :func:`render_mma_grooves`;
* any folder of drum MIDI files, nested as in the Groove MIDI Dataset: every 2-bar window of
  every file, see :func:`load_grooves`.

The General MIDI drum map onto the 9 drums follows the 9-instrument reduction of the Groove
MIDI Dataset (Gillick, Roberts, Engel, Eck & Bamman 2019, "Learning to Groove with Inverse
Sequence Transformations", ICML), whose class order this module keeps:

=============  =====================  ==========================================
class          GM pitches             notes
=============  =====================  ==========================================
kick           35, 36
snare          37, 38, 39, 40         39 (hand clap) added: it plays the backbeat
high_tom       48, 50
low_mid_tom    45, 47
floor_tom      41, 43, 58             58: floor-tom rim on the Roland TD-11 (GMD)
open_hihat     26, 46                 26: open hi-hat edge on the TD-11
closed_hihat   22, 42, 44             22: closed hi-hat edge; 44 pedal hi-hat
crash          49, 52, 55, 57         Chinese cymbal and splash count as crashes
ride           51, 53, 59             53 ride bell
=============  =====================  ==========================================

Every other pitch (tambourine, shakers, congas, cowbell, ...) is ignored and counted.
Onsets are quantised to the nearest 16th; a step with no hit is silence.

When several drums hit in one step, the grid keeps one, by :data:`STEP_PRIORITY`:
kick > snare > high tom > low-mid tom > floor tom > crash > open hi-hat > closed hi-hat > ride.
The drums that shape the groove come first, then fills and accents, and last the time-keepers,
which play on most steps: kept first (as a "loudest hit wins" rule often does, mma's hi-hats
being loud), they would hide the kick and the snare under them. On mma's library the loudest-hit
rule left 9 % of the grids as nothing but one cymbal ticking (``musiclab.eval.drums``'s
"monotonous" flag) and 18 % of their 8-step openings a single drum; see ``bench/drums.py``.
"""
from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
import subprocess
import tempfile
import warnings
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import mido
import numpy as np
import pretty_midi
from tqdm.auto import tqdm

from musiclab.data.cache import cached
from musiclab.data.midi_files import midi_files, missing_file
from musiclab.errors import BadFileError, BadParameterError, MusiclabError, check_range
from musiclab.runtime import cache_dir

#: Names of the 10 grid classes, in index order (9 drums, then silence).
DRUM_CLASSES = ("kick", "snare", "high_tom", "low_mid_tom", "floor_tom",
                "open_hihat", "closed_hihat", "crash", "ride", "silence")
NUM_DRUM_CLASSES = 10
#: Class index of a step with no hit.
SILENCE = 9
#: Steps in a grid: 2 bars of 4/4 in sixteenth notes.
GRID_STEPS = 32
#: Sixteenth steps in one 4/4 bar.
STEPS_PER_BAR = 16
#: Which drum a step keeps when several hit in it: class indices, first = kept (module docstring).
STEP_PRIORITY = tuple(DRUM_CLASSES.index(name) for name in (
    "kick", "snare", "high_tom", "low_mid_tom", "floor_tom", "crash", "open_hihat", "closed_hihat",
    "ride"))
#: General MIDI drum pitch → class index (see the module docstring for the table).
DRUM_MAP: dict[int, int] = {
    pitch: cls
    for cls, pitches in enumerate([
        (35, 36), (37, 38, 39, 40), (48, 50), (45, 47), (41, 43, 58),
        (26, 46), (22, 42, 44), (49, 52, 55, 57), (51, 53, 59),
    ])
    for pitch in pitches
}
#: One GM pitch per drum class, used to play a grid back (the GMD's canonical pitches).
CLASS_PITCHES = (36, 38, 50, 47, 43, 46, 42, 49, 51)
#: An onset further than this (in sixteenths) from the nearest 16th counts as off the grid.
OFF_GRID_TOLERANCE = 0.25
#: An mma groove is skipped when more than this fraction of its drum onsets is off the grid
#: (triplet and swing grooves); the rest are quantised to the nearest 16th.
MAX_OFF_GRID = 0.5

_MMA_INSTALL_HINT = ("install it with `sudo apt-get install mma` (Debian/Ubuntu), or pass a "
                     "folder of drum MIDI files: load_grooves('path/to/folder')")
_MMA_HOMES = ("/usr/local/share/mma", "/usr/share/mma")
_MMA_WORKERS = 2
# mma's pitched track types, switched off while rendering (only channel 10 is read).
_MMA_PITCHED_TRACKS = "Bass Chord Arpeggio Scale Walk Plectrum Melody Solo Aria"
# Everything that changes the grids a source yields; part of every cache key.
_ENCODING = {"map": sorted(DRUM_MAP.items()), "steps": GRID_STEPS, "priority": STEP_PRIORITY,
             "tolerance": OFF_GRID_TOLERANCE, "max_off_grid": MAX_OFF_GRID, "version": 2}
# Rank of each class in STEP_PRIORITY (silence last), for grid_from_hits.
_RANK = np.array([*(STEP_PRIORITY.index(c) for c in range(SILENCE)), SILENCE], dtype=np.int64)


@dataclass
class DrumSet:
    """A set of distinct drum grids with where each came from (notebook 05).

    ``grids``: np.int64 [N, 32] class indices; ``names``: N labels (``lib/GROOVE`` for mma,
    ``relative/path.mid@BAR`` for a folder, where ``grid_from_midi(path, bar=BAR)`` gives the
    grid back); ``skipped``: reason → count of grooves, files or windows left out (duplicates
    included); ``unmapped``: GM pitch → number of ignored hits; ``bad_files``: (file, reason)
    for every unusable file of a folder source.
    """

    grids: np.ndarray
    names: list[str]
    skipped: dict[str, int]
    unmapped: dict[int, int] = field(default_factory=dict)
    bad_files: list[tuple[str, str]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.names)

    def summary(self) -> str:
        """One line: how many distinct grids, and what was skipped why."""
        text = f"drums: {len(self):,} distinct 2-bar grids"
        if self.skipped:
            reasons = ", ".join(f"{n} {why}" for why, n in sorted(self.skipped.items()))
            text += f"; skipped {sum(self.skipped.values()):,} ({reasons})"
        return text


class _UnusableFile(BadFileError):
    """A MIDI file that yields no grid; ``reason`` is the short key batch loaders count."""

    def __init__(self, label: str, reason: str, detail: str = ""):
        super().__init__(f"{label}: {reason}{detail}")
        self.reason = reason


@dataclass(frozen=True)
class _DrumTrack:
    """Every drum onset of a MIDI file, positions in sixteenths from its start."""

    positions: np.ndarray
    pitches: np.ndarray
    time_signatures: tuple[tuple[float, int, int], ...]  # (position, numerator, denominator)

    def meter_at(self, position: float) -> tuple[int, int]:
        """(numerator, denominator) in force at ``position``; 4/4 when the file sets none."""
        meter = (4, 4)
        for start, num, den in self.time_signatures:
            if start <= position + 1e-6:
                meter = (num, den)
        return meter


# ---------------------------------------------------------------- grids


def check_grid(grid) -> np.ndarray:
    """Return ``grid`` as np.int64 [32] after checking it; raise BadParameterError otherwise.

    A valid grid has shape (32,) and integer class indices in 0..9 (9 = silence).
    """
    arr = np.asarray(grid)
    if arr.shape != (GRID_STEPS,):
        raise BadParameterError(
            f"grid must have shape ({GRID_STEPS},) (2 bars of 16th steps), got {arr.shape}")
    if arr.dtype.kind not in "iu":
        raise BadParameterError(f"grid must hold integer class indices, got dtype {arr.dtype}")
    if arr.min() < 0 or arr.max() >= NUM_DRUM_CLASSES:
        raise BadParameterError(
            f"grid values must be class indices in 0..{NUM_DRUM_CLASSES - 1} "
            f"({', '.join(DRUM_CLASSES)}), got values from {arr.min()} to {arr.max()}")
    return arr.astype(np.int64)


def grid_to_onehot(grid) -> np.ndarray:
    """One-hot float32 [32, 10] of a grid (row t has a 1 at the class of step t)."""
    return np.eye(NUM_DRUM_CLASSES, dtype=np.float32)[check_grid(grid)]


def grid_from_hits(steps, pitches) -> np.ndarray:
    """Grid np.int64 [32] from quantised hits: step indices 0..31 and GM pitches, one per hit.

    Each step keeps the mapped hit that comes first in :data:`STEP_PRIORITY` (kick, snare, toms,
    crash, hi-hats, ride); pitches outside :data:`DRUM_MAP` are ignored; steps without a mapped
    hit are silence.
    """
    steps, pitches = (np.asarray(a, dtype=np.int64).ravel() for a in (steps, pitches))
    if len(steps) != len(pitches):
        raise BadParameterError(f"steps and pitches must have one entry per hit, got lengths "
                                f"{len(steps)} and {len(pitches)}")
    if len(steps) and (steps.min() < 0 or steps.max() >= GRID_STEPS):
        raise BadParameterError(f"steps must lie in 0..{GRID_STEPS - 1}, "
                                f"got {steps.min()}..{steps.max()}")
    grid = np.full(GRID_STEPS, SILENCE, dtype=np.int64)
    for step, pitch in zip(steps, pitches):
        cls = DRUM_MAP.get(int(pitch))
        if cls is not None and _RANK[cls] < _RANK[grid[step]]:
            grid[step] = cls
    return grid


def grid_to_pretty_midi(grid, tempo_bpm: float = 100.0) -> pretty_midi.PrettyMIDI:
    """A one-instrument drum PrettyMIDI of a grid: each hit a 16th note at velocity 100.

    Each class plays its :data:`CLASS_PITCHES` pitch; ``tempo_bpm`` in quarter notes per
    minute. Notebook 05 plays grids with it.
    """
    grid = check_grid(grid)
    check_range("tempo_bpm", tempo_bpm, 0, 1000, low_open=True)
    pm = pretty_midi.PrettyMIDI(initial_tempo=float(tempo_bpm))
    pm.time_signature_changes.append(pretty_midi.TimeSignature(4, 4, 0.0))
    drums = pretty_midi.Instrument(program=0, is_drum=True, name="drums")
    step_s = 60.0 / tempo_bpm / 4
    for step, cls in enumerate(grid):
        if cls != SILENCE:
            drums.notes.append(pretty_midi.Note(velocity=100, pitch=CLASS_PITCHES[cls],
                                                start=step * step_s, end=(step + 1) * step_s))
    pm.instruments.append(drums)
    return pm


# ---------------------------------------------------------------- MIDI files


def _read_pretty_midi(path: Path) -> pretty_midi.PrettyMIDI:
    """Parse a MIDI file, raising _UnusableFile (a BadFileError) naming it when it can't be."""
    if missing_file(path):
        raise _UnusableFile(str(path), "missing file", f" (it {missing_file(path)})")
    if path.stat().st_size == 0:
        raise _UnusableFile(str(path), "empty file", " (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Tempo, Key or Time signature")
            return pretty_midi.PrettyMIDI(str(path))
    except Exception as err:  # mido/pretty_midi raise many types for corrupt files
        raise _UnusableFile(str(path), "not a readable MIDI file",
                            f" ({type(err).__name__}: {err})") from err


def _drum_track(pm: pretty_midi.PrettyMIDI, label: str) -> _DrumTrack:
    """Collect the onsets of every drum instrument (MIDI channel 10) of ``pm``."""
    notes = [note for inst in pm.instruments if inst.is_drum for note in inst.notes]
    if not notes:
        if any(inst.notes for inst in pm.instruments):
            raise _UnusableFile(label, "no drum track", " (no notes on MIDI channel 10)")
        raise _UnusableFile(label, "no notes", " (the file holds no notes at all)")
    if not any(note.pitch in DRUM_MAP for note in notes):
        pitches = sorted({note.pitch for note in notes})
        raise _UnusableFile(label, "no General MIDI drums", f" (drum pitches {pitches} are all outside DRUM_MAP)")
    per_16th = 4.0 / pm.resolution
    positions = np.array([pm.time_to_tick(n.start) * per_16th for n in notes])
    meters = tuple(sorted((pm.time_to_tick(ts.time) * per_16th, ts.numerator, ts.denominator)
                          for ts in pm.time_signature_changes))
    return _DrumTrack(positions, np.array([n.pitch for n in notes], dtype=np.int64), meters)


def _require_four_four(track: _DrumTrack, label: str) -> None:
    meters = {(num, den) for _, num, den in track.time_signatures} - {(4, 4)}
    if meters:
        found = ", ".join(f"{n}/{d}" for n, d in sorted(meters))
        raise _UnusableFile(label, "not 4/4", f" (time signature {found}; the grid is 2 bars of 4/4)")


def _window(track: _DrumTrack, first_step: int, low: float = -np.inf, high: float = np.inf):
    """The grid of steps first_step..first_step+31 and the ignored pitches in that window.

    Only onsets with low <= position < high are considered (mma segment bounds).
    """
    steps = np.rint(track.positions).astype(np.int64) - first_step
    keep = (steps >= 0) & (steps < GRID_STEPS) & (track.positions >= low) & (track.positions < high)
    grid = grid_from_hits(steps[keep], track.pitches[keep])
    unmapped = Counter(int(p) for p in track.pitches[keep] if int(p) not in DRUM_MAP)
    return grid, unmapped


def _bar_count(track: _DrumTrack) -> int:
    return int(np.rint(track.positions).max()) // STEPS_PER_BAR + 1


def grid_from_midi(path_or_pm, bar: int = 0) -> np.ndarray:
    """The grid np.int64 [32] of bars ``bar`` and ``bar + 1`` (0-based) of a drum MIDI file.

    ``path_or_pm`` is a path or a ``pretty_midi.PrettyMIDI``; the file must be in 4/4 (no time
    signature counts as 4/4). Raises BadFileError naming the file when it is missing, a folder,
    empty, truncated, corrupt or not MIDI, holds no notes, has no drum track (channel 10) or no
    drum in DRUM_MAP, or is not in 4/4; BadParameterError when ``bar`` lies past the last bar.
    """
    if isinstance(path_or_pm, pretty_midi.PrettyMIDI):
        pm, label = path_or_pm, "the PrettyMIDI object"
    else:
        label = str(path_or_pm)
        pm = _read_pretty_midi(Path(path_or_pm))
    track = _drum_track(pm, label)
    _require_four_four(track, label)
    last = _bar_count(track) - 1
    if isinstance(bar, bool) or not isinstance(bar, (int, np.integer)) or not 0 <= bar <= last:
        raise BadParameterError(f"bar must be an integer in [0, {last}] for {label} "
                                f"({last + 1} bars of drums), got {bar!r}")
    return _window(track, int(bar) * STEPS_PER_BAR)[0]


def _folder_grids(folder: Path, quiet: bool) -> dict:
    """Every non-silent 2-bar window of every usable drum MIDI file under ``folder``."""
    files = midi_files(folder)
    grids, names, skipped, unmapped, bad = [], [], Counter(), Counter(), []
    for path in tqdm(files, desc="reading drum MIDI files", disable=quiet):
        rel = path.relative_to(folder).as_posix()
        try:
            track = _drum_track(_read_pretty_midi(path), rel)
            _require_four_four(track, rel)
        except _UnusableFile as err:
            skipped[err.reason] += 1
            bad.append((rel, str(err).split(": ", 1)[1]))
            continue
        for first_bar in range(0, _bar_count(track), 2):
            grid, ignored = _window(track, first_bar * STEPS_PER_BAR)
            unmapped.update(ignored)
            if (grid == SILENCE).all():
                skipped["silent 2-bar window"] += 1
                continue
            grids.append(grid)
            names.append(f"{rel}@{first_bar}")
    if not grids:
        reasons = ", ".join(f"{n} {r}" for r, n in sorted(skipped.items()))
        raise BadFileError(f"{folder}: no usable drum grids in {len(files)} MIDI files ({reasons})")
    return _deduplicated(grids, names, skipped, unmapped, bad)


def _deduplicated(grids, names, skipped: Counter, unmapped: Counter, bad) -> dict:
    """Keep the first of identical grids; count the rest under 'duplicate grid'."""
    seen: set[bytes] = set()
    keep = []
    for i, grid in enumerate(grids):
        key = grid.tobytes()
        if key in seen:
            skipped["duplicate grid"] += 1
        else:
            seen.add(key)
            keep.append(i)
    return {"grids": np.stack([grids[i] for i in keep]) if keep else np.zeros((0, GRID_STEPS), np.int64),
            "names": [names[i] for i in keep], "skipped": dict(sorted(skipped.items())),
            "unmapped": dict(sorted(unmapped.items())), "bad_files": bad}


# ---------------------------------------------------------------- mma


def _mma_home() -> Path:
    """The mma home (``MMA/``, ``lib/``, ``includes/``) whose groove database is built.

    Uses the system library when its database exists (``mma -G`` was run); otherwise builds
    a private copy under the musiclab cache dir (no root needed) and uses that.
    """
    if shutil.which("mma") is None:
        raise MusiclabError(f"mma (Musical MIDI Accompaniment) is not installed, so its groove "
                            f"library cannot be rendered; {_MMA_INSTALL_HINT}")
    candidates = [os.environ["MMA_HOME"]] if os.environ.get("MMA_HOME") else list(_MMA_HOMES)
    homes = [Path(c) for c in candidates if (Path(c) / "MMA").is_dir() and (Path(c) / "lib").is_dir()]
    if not homes:
        raise MusiclabError(f"mma is installed but its library (MMA/ and lib/) is not in "
                            f"{', '.join(candidates)}; reinstall it: `sudo apt-get install --reinstall mma`")
    system = homes[0]
    if _has_database(system / "lib"):
        return system
    private = cache_dir() / "mma-home"
    if not _has_database(private / "lib"):
        _build_private_home(system, private)
    return private


def _has_database(lib: Path) -> bool:
    """True when every folder of ``lib`` holding .mma files has its ``.mmaDB``."""
    if not lib.is_dir():
        return False
    return all((Path(root) / ".mmaDB").is_file()
               for root, _, files in os.walk(lib) if any(f.endswith(".mma") for f in files))


def _build_private_home(system: Path, private: Path) -> None:
    """Copy the groove library next to links to mma's code and run ``mma -G`` on the copy."""
    private.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="mma-home-", dir=private.parent))
    shutil.copytree(system / "lib", staging / "lib", ignore=shutil.ignore_patterns(".mmaDB"))
    for part in ("MMA", "includes"):
        if (system / part).exists():
            (staging / part).symlink_to(system / part)
    result = subprocess.run(["mma", "-G"], env=_mma_env(staging), cwd=staging,
                            capture_output=True, text=True)
    if result.returncode != 0 or not _has_database(staging / "lib"):
        shutil.rmtree(staging, ignore_errors=True)
        raise MusiclabError(f"`mma -G` could not build the groove database in {staging}: "
                            f"{(result.stdout + result.stderr).strip()[-500:]}")
    if private.exists():  # another process finished first
        shutil.rmtree(staging, ignore_errors=True)
    else:
        staging.rename(private)


def _mma_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("MMA_LIBPATH", "MMA_INCPATH")}
    env["MMA_HOME"] = str(home)
    return env


def mma_library() -> dict[str, list[str]]:
    """mma's groove library: library file (relative to mma's ``lib/``) → its groove names.

    Builds the groove database first when needed (see :func:`load_grooves`). Raises
    MusiclabError saying how to install mma when it is missing.
    """
    lib = _mma_home() / "lib"
    library: dict[str, list[str]] = {}
    for db_path in sorted(lib.rglob(".mmaDB")):
        with open(db_path, "rb") as handle:
            handle.readline()  # mma's text header line
            database = pickle.load(handle)  # mma's own file: {path: [groove names]}
        folder = db_path.parent.relative_to(lib)
        for file, grooves in database.items():
            if grooves:
                library[(folder / Path(file).name).as_posix()] = list(grooves)
    stdlib_first = sorted(library, key=lambda f: (not f.startswith("stdlib/"), f))
    return {f: library[f] for f in stdlib_first}


def _render_batch(home: Path, lib_file: str, grooves: list[str], workdir: Path):
    """Render the drums of ``grooves`` of one library file, 2 bars each, in one mma run.

    Returns [(name, grid or None, skip reason or None, ignored pitches)] in groove order, or
    None when mma fails on the batch.
    """
    stem = hashlib.sha1(json.dumps([lib_file, grooves]).encode()).hexdigest()[:16]
    source, midi, rc = workdir / f"{stem}.mma", workdir / f"{stem}.mid", workdir / "empty.rc"
    rc.touch()
    lines = [f"Use {lib_file}"]
    for i, groove in enumerate(grooves):
        lines += ["RndSeed 1", f"MidiMark G{i}", f"Groove {groove}", "AllTracks Drum RTime 0",
                  f"AllTracks {_MMA_PITCHED_TRACKS} Off", "C", "C"]
    source.write_text("\n".join(lines) + "\n")
    run = subprocess.run(["mma", "-i", str(rc), str(source), "-f", str(midi)],
                         env=_mma_env(home), cwd=workdir, capture_output=True, text=True)
    folder = Path(lib_file).parent.as_posix()
    if run.returncode != 0 and "No data created" in run.stdout:  # nothing left but drums: none
        return [(f"{folder}/{groove}", None, "no drums", Counter()) for groove in grooves]
    if run.returncode != 0 or not midi.is_file():
        return None
    starts = _marker_positions(midi)
    if set(starts) != {f"G{i}" for i in range(len(grooves))}:
        return None
    pm = pretty_midi.PrettyMIDI(str(midi))
    try:
        track = _drum_track(pm, lib_file)
    except _UnusableFile:
        track = None
    bounds = [starts[f"G{i}"] for i in range(len(grooves))] + [np.inf]
    return [(f"{folder}/{groove}", *_segment_grid(track, bounds[i], bounds[i + 1]))
            for i, groove in enumerate(grooves)]


def _marker_positions(midi: Path) -> dict[str, float]:
    """Marker text → position in sixteenths (pretty_midi does not keep markers)."""
    file = mido.MidiFile(str(midi))
    positions = {}
    for track in file.tracks:
        tick = 0
        for message in track:
            tick += message.time
            if message.type == "marker":
                positions[message.text] = tick * 4.0 / file.ticks_per_beat
    return positions


def _segment_grid(track: _DrumTrack | None, start: float, stop: float):
    """(grid or None, skip reason or None, ignored pitches) of one rendered groove."""
    inside = np.zeros(0, bool) if track is None else (track.positions >= start) & (track.positions < stop)
    if not inside.any():
        return None, "no drums", Counter()
    num, den = track.meter_at(start)
    if (num, den) != (4, 4):
        return None, f"not 4/4 ({num}/{den})", Counter()
    positions = track.positions[inside]
    if np.mean(np.abs(positions - np.rint(positions)) > OFF_GRID_TOLERANCE) > MAX_OFF_GRID:
        return None, "mostly off the 16th grid", Counter()
    grid, ignored = _window(track, int(round(start)), start, stop)
    if (grid == SILENCE).all():
        return None, "only unmapped percussion", ignored
    return grid, None, ignored


def render_mma_grooves(files: list[str] | None = None, quiet: bool = False) -> DrumSet:
    """Render mma grooves to distinct grids: all of the library, or those of ``files``.

    ``files`` are library files relative to mma's ``lib/`` (keys of :func:`mma_library`, e.g.
    ``"stdlib/rhumba.mma"``). Each groove is rendered for 2 bars with ``RndSeed 1`` and mma's
    time humanising off, several grooves per mma run, 2 runs in parallel. Kept: 4/4 grooves
    with drums whose onsets are mostly on the 16th grid; the rest are counted in ``skipped``.
    Not cached: :func:`load_grooves` caches the whole library.
    """
    home = _mma_home()
    library = mma_library()
    if files is not None:
        unknown = [f for f in files if f not in library]
        if unknown:
            raise BadParameterError(f"files {unknown} are not mma groove files; valid files are "
                                    f"keys of mma_library(), e.g. {list(library)[:3]}")
        library = {f: library[f] for f in files}
    grids, names, skipped, unmapped = [], [], Counter(), Counter()
    with tempfile.TemporaryDirectory(prefix="musiclab-mma-") as tmp, \
            ThreadPoolExecutor(_MMA_WORKERS) as pool:
        work = Path(tmp)
        jobs = pool.map(lambda item: _render_file(home, *item, work), library.items())
        for results in tqdm(jobs, total=len(library), desc="rendering mma grooves", disable=quiet):
            for name, grid, reason, ignored in results:
                unmapped.update(ignored)
                if grid is None:
                    skipped[reason] += 1
                else:
                    grids.append(grid)
                    names.append(name)
    return DrumSet(**_deduplicated(grids, names, skipped, unmapped, []))


def _render_file(home: Path, lib_file: str, grooves: list[str], workdir: Path):
    """All grooves of one library file; one mma run, or one run per groove if that fails."""
    results = _render_batch(home, lib_file, grooves, workdir)
    if results is not None:
        return results
    folder = Path(lib_file).parent.as_posix()
    results = []
    for groove in grooves:
        alone = _render_batch(home, lib_file, [groove], workdir)
        results += alone or [(f"{folder}/{groove}", None, "mma failed", Counter())]
    return results


def _mma_version(home: Path) -> str:
    run = subprocess.run(["mma", "-v"], env=_mma_env(home), capture_output=True, text=True)
    return run.stdout.strip().splitlines()[-1] if run.stdout.strip() else "unknown"


# ---------------------------------------------------------------- entry point


def load_grooves(source: str | os.PathLike = "mma", refresh: bool = False,
                 quiet: bool = False) -> DrumSet:
    """Distinct 2-bar drum grids from mma's groove library or from a folder (notebook 05).

    ``source='mma'`` renders every groove of Debian's mma library (see
    :func:`render_mma_grooves`); building its groove database (``mma -G``) happens first when
    it is missing, in a private copy under the cache dir when the system one is not writable.
    Any other ``source`` is a folder searched recursively for .mid/.midi files (the Groove
    MIDI Dataset layout); every non-silent 2-bar window of every 4/4 drum file becomes a grid.
    Unusable files are skipped, counted, listed in ``bad_files`` and named in a warning.
    Results are cached (``refresh=True`` rebuilds). Raises MusiclabError when mma is needed
    but missing, BadFileError when the folder is missing or yields no grid.
    """
    if str(source) == "mma":
        home = _mma_home()
        library = mma_library()
        settings = {"source": "mma", "mma": _mma_version(home), "encoding": _ENCODING,
                    "library": hashlib.sha256(json.dumps(library).encode()).hexdigest()}
        data = cached("mma_drum_grids", settings,
                      lambda: vars(render_mma_grooves(quiet=quiet)), refresh=refresh, quiet=quiet)
        return DrumSet(**data)
    folder = Path(source).expanduser()
    if not folder.is_dir():
        raise BadFileError(f"source {str(source)!r} is neither 'mma' nor an existing folder of drum MIDI files")
    folder = folder.resolve()
    listing = [(p.relative_to(folder).as_posix(), p.stat().st_size, p.stat().st_mtime_ns)
               for p in midi_files(folder)]
    settings = {"source": str(folder), "encoding": _ENCODING,
                "files": hashlib.sha256(json.dumps(listing).encode()).hexdigest()}
    data = cached("folder_drum_grids", settings, lambda: _folder_grids(folder, quiet),
                  refresh=refresh, quiet=quiet)
    drums = DrumSet(**data)
    if drums.bad_files:
        shown = "; ".join(f"{f} ({why})" for f, why in drums.bad_files[:10])
        more = f"; and {len(drums.bad_files) - 10} more" if len(drums.bad_files) > 10 else ""
        warnings.warn(f"skipped {len(drums.bad_files)} unusable MIDI files in {folder}: {shown}{more}",
                      stacklevel=2)
    return drums
