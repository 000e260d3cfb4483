"""Drum grid sets: mma's groove library rendered to grids, or a folder of drum MIDI files, cached.

Debian's ``mma`` (Musical MIDI Accompaniment) renders every groove of its library for two bars
(``RndSeed 1``, humanising time jitter off), see :func:`render_mma_grooves`; a folder of drum
MIDI files, nested as in the Groove MIDI Dataset, gives every 2-bar window of every file
(:mod:`musiclab.data.drum_midi`). :func:`load_grooves` loads either and caches the result.
Used by notebooks 00 (data) and 05 (drum Note-CNN + DQN).
"""
from __future__ import annotations

import hashlib
import json
import os
import pickle
import queue
import shutil
import subprocess
import tempfile
import warnings
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import mido
import numpy as np
import pretty_midi
from tqdm.auto import tqdm

from musiclab.data.cache import cached, files_digest
from musiclab.data.drum_midi import DrumTrack, UnusableFile, drum_track, folder_grids, window_grid
from musiclab.data.drums import DRUM_MAP, GRID_STEPS, SILENCE, STEP_PRIORITY, DrumSet, distinct_grids
from musiclab.data.midi_files import midi_files
from musiclab.errors import BadFileError, BadParameterError, MusiclabError
from musiclab.limits import LIMITS
from musiclab.runtime import cache_dir

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


class _Mma:
    """Runs mma command lines in ``workdir``: through :mod:`musiclab.data.mma_forkserver` (mma's
    modules loaded once; each run a fork of it) when mma is a Python script, else as processes.

    Use as a context manager; the server ends when it is closed, or with this process.
    """

    def __init__(self, home: Path, workdir: Path):
        self.home, self.workdir, self.server = home, workdir, None
        script = Path(shutil.which("mma") or "mma")
        interpreter = _python_of(script)
        if interpreter:
            server = Path(__file__).with_name("mma_forkserver.py")
            self.server = subprocess.Popen([*interpreter, str(server), str(script)], env=_mma_env(home),
                                           cwd=workdir, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                           text=True)

    def run(self, args: list[str], log: Path) -> tuple[int, str]:
        """(exit status, output) of ``mma *args``."""
        if self.server is None:
            done = subprocess.run(["mma", *args], env=_mma_env(self.home), cwd=self.workdir,
                                  capture_output=True, text=True)
            return done.returncode, done.stdout + done.stderr
        self.server.stdin.write(json.dumps([str(log), *args]) + "\n")
        self.server.stdin.flush()
        answer = self.server.stdout.readline()
        if not answer:
            raise MusiclabError(f"the mma server (musiclab/data/mma_forkserver.py) stopped with "
                                f"exit status {self.server.wait()}")
        return int(answer), log.read_text(errors="replace")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.server is not None:
            self.server.stdin.close()
            self.server.wait()
            self.server.stdout.close()


def _python_of(script: Path) -> list[str]:
    """The interpreter command of a Python script's ``#!`` line, or [] for any other file."""
    try:
        with open(script, "rb") as handle:
            first = handle.readline(200).decode(errors="replace")
    except OSError:
        return []
    interpreter = first[2:].split() if first.startswith("#!") else []
    return interpreter if any("python" in Path(part).name for part in interpreter) else []


def _render_batch(mma: _Mma, lib_file: str, grooves: list[str], workdir: Path):
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
    status, output = mma.run(["-i", str(rc), str(source), "-f", str(midi)], workdir / f"{stem}.log")
    folder = Path(lib_file).parent.as_posix()
    if status != 0 and "No data created" in output:  # nothing left but drums: none
        return [(f"{folder}/{groove}", None, "no drums", Counter()) for groove in grooves]
    if status != 0 or not midi.is_file():
        return None
    starts = _marker_positions(midi)
    if set(starts) != {f"G{i}" for i in range(len(grooves))}:
        return None
    pm = pretty_midi.PrettyMIDI(str(midi))
    try:
        track = drum_track(pm, lib_file)
    except UnusableFile:
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


def _segment_grid(track: DrumTrack | None, start: float, stop: float):
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
    grid, ignored = window_grid(track, int(round(start)), start, stop)
    if (grid == SILENCE).all():
        return None, "only unmapped percussion", ignored
    return grid, None, ignored


def render_mma_grooves(files: list[str] | None = None, quiet: bool = False) -> DrumSet:
    """Render mma grooves to distinct grids: all of the library, or those of ``files``.

    ``files`` are library files relative to mma's ``lib/`` (keys of :func:`mma_library`, e.g.
    ``"stdlib/rhumba.mma"``). Each groove is rendered for 2 bars with ``RndSeed 1`` and mma's
    time humanising off, several grooves per mma run, 2 runs in parallel (each run a fork of
    a process that loaded mma once, see :mod:`musiclab.data.mma_forkserver`). Kept: 4/4 grooves
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
    with tempfile.TemporaryDirectory(prefix="musiclab-mma-") as tmp, ExitStack() as stack, \
            ThreadPoolExecutor(_MMA_WORKERS) as pool:
        work = Path(tmp)
        free = queue.SimpleQueue()  # one mma server per thread
        for _ in range(_MMA_WORKERS):
            free.put(stack.enter_context(_Mma(home, work)))

        def render(item):
            mma = free.get()
            try:
                return _render_file(mma, *item, work)
            finally:
                free.put(mma)

        jobs = pool.map(render, library.items())
        for results in tqdm(jobs, total=len(library), desc="rendering mma grooves", disable=quiet):
            for name, grid, reason, ignored in results:
                unmapped.update(ignored)
                if grid is None:
                    skipped[reason] += 1
                else:
                    grids.append(grid)
                    names.append(name)
    return DrumSet(**distinct_grids(grids, names, skipped, unmapped, []))


def _render_file(mma: _Mma, lib_file: str, grooves: list[str], workdir: Path):
    """All grooves of one library file; one mma run, or one run per groove if that fails."""
    results = _render_batch(mma, lib_file, grooves, workdir)
    if results is not None:
        return results
    folder = Path(lib_file).parent.as_posix()
    results = []
    for groove in grooves:
        alone = _render_batch(mma, lib_file, [groove], workdir)
        results += alone or [(f"{folder}/{groove}", None, "mma failed", Counter())]
    return results


def _mma_version(home: Path) -> str:
    run = subprocess.run(["mma", "-v"], env=_mma_env(home), capture_output=True, text=True)
    return run.stdout.strip().splitlines()[-1] if run.stdout.strip() else "unknown"


def load_grooves(source: str | os.PathLike = "mma", refresh: bool = False,
                 quiet: bool = False) -> DrumSet:
    """Distinct 2-bar drum grids from mma's groove library or from a folder (notebook 05).

    ``source='mma'`` renders every groove of Debian's mma library (see
    :func:`render_mma_grooves`); building its groove database (``mma -G``) happens first when
    it is missing, in a private copy under the cache dir when the system one is not writable.
    Any other ``source`` is a folder searched recursively for .mid/.midi files (the Groove
    MIDI Dataset layout); every non-silent 2-bar window of every 4/4 drum file becomes a grid.
    Unusable files are skipped, counted, listed in ``bad_files`` and named in a warning.
    Results are cached, a folder's by its content (``refresh=True`` rebuilds). Raises MusiclabError when mma is needed
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
    settings = {"source": str(folder), "encoding": _ENCODING, "max_notes": LIMITS.max_notes,
                "content": files_digest(folder, midi_files(folder))}
    data = cached("folder_drum_grids", settings, lambda: folder_grids(folder, quiet),
                  refresh=refresh, quiet=quiet)
    drums = DrumSet(**data)
    if drums.bad_files:
        shown = "; ".join(f"{f} ({why})" for f, why in drums.bad_files[:10])
        more = f"; and {len(drums.bad_files) - 10} more" if len(drums.bad_files) > 10 else ""
        warnings.warn(f"skipped {len(drums.bad_files)} unusable MIDI files in {folder}: {shown}{more}",
                      stacklevel=2)
    return drums
