"""Benchmark: the hostile-input suite (issue 14), every hostile file through every loader and command.

The suite makes its own hostile files (MIDI, ABC, checkpoints, folders) in a temporary folder,
then runs each (target, kind) case: a target is a public loader or a command that takes a file,
run in-process in one of a few worker processes (one per group of targets), so that each worker's
peak memory (VmHWM) is measured. Each case ends as a named error (a MusiclabError, or exit
status 2 with one line of message naming the file), a counted skip (a folder or collection loader
skipped the file and counted it), loaded (a file that is odd but valid), or unhandled (any other
exception: a bug). Outputs of commands are checked: absent or complete, never half written; the
pickled payload's code must never run. Prints a table and writes bench/results/hostile_inputs.json.

    python bench/hostile_inputs.py          # about a minute
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
import wave
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

#: A case slower than this counts as a hang.
HANG_SECONDS = 30.0
#: A worker whose peak memory passes this fails the suite (MB).
PEAK_MB_LIMIT = 2048.0
#: Hostile MIDI files; ``True`` marks the odd-but-valid ones that a loader may load.
MIDI_KINDS = {"empty": False, "random_bytes": False, "text_renamed": False, "header_lies": False,
              "truncated": False, "no_notes": False, "drums_only": True, "unmapped_drums": False,
              "out_of_range_pitches": True, "zero_length_notes": True, "notes_20000": False,
              "folder_as_file": False, "missing": False}
#: Hostile files in a folder of good ones (folder loaders), and an empty folder.
FOLDER_KINDS = {kind: valid for kind, valid in MIDI_KINDS.items() if kind not in ("folder_as_file", "missing")}
FOLDER_KINDS["empty_folder"] = False
ABC_KINDS = {"empty": False, "random_bytes": False, "text_renamed": False, "bad_abc": False,
             "notes_20000": False, "notes_210000": False}
CHECKPOINT_KINDS = {"empty": False, "random_bytes": False, "text_renamed": False, "truncated": False,
                    "bit_flipped": False, "nan_weights": False, "pickled_payload": False, "wrong_kind": False,
                    "folder_as_file": False}


def _midi(path: Path, notes, is_drum: bool = False) -> Path:
    """A one-instrument MIDI file of ``notes`` [(pitch, start s, end s)] at ``path``."""
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(initial_tempo=120.0)
    instrument = pretty_midi.Instrument(program=0, is_drum=is_drum)
    instrument.notes = [pretty_midi.Note(velocity=90, pitch=p, start=s, end=e) for p, s, e in notes]
    pm.instruments.append(instrument)
    pm.write(str(path))
    return path


def _steps(pitches, step: float = 0.125):
    return [(p, i * step, (i + 1) * step) for i, p in enumerate(pitches)]


def make_midi_files(folder: Path) -> dict[str, Path]:
    """One file (or folder, or missing path) per kind of MIDI_KINDS, plus ``good`` and ``good_drums``."""
    import numpy as np

    folder.mkdir(parents=True, exist_ok=True)
    files = {"good": _midi(folder / "good.mid", _steps([60, 62, 64, 65, 67, 69, 71, 72])),
             "good_drums": _midi(folder / "good_drums.mid", _steps([36, 42, 38, 42] * 8), is_drum=True)}
    good = files["good"].read_bytes()
    raw = {"empty": b"", "random_bytes": np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes(),
           "text_renamed": b"X:1\nT:ABC text, not MIDI\nK:C\nCDEF|\n",
           # a header that claims 3 tracks and a first track of a million bytes
           "header_lies": b"MThd\x00\x00\x00\x06\x00\x01\x00\x03\x00\x60MTrk\x00\x0f\x42\x40" + good[22:60],
           "truncated": good[: len(good) // 2]}
    for kind, data in raw.items():
        files[kind] = folder / f"{kind}.mid"
        files[kind].write_bytes(data)
    files["no_notes"] = _midi(folder / "no_notes.mid", [])
    files["drums_only"] = _midi(folder / "drums_only.mid", _steps([36, 38, 42, 38] * 8), is_drum=True)
    files["unmapped_drums"] = _midi(folder / "unmapped_drums.mid", _steps([100, 101, 102, 103] * 4), is_drum=True)
    files["out_of_range_pitches"] = _midi(folder / "out_of_range_pitches.mid", _steps([0, 127, 5, 120, 1, 126]))
    files["zero_length_notes"] = _midi(folder / "zero_length_notes.mid",
                                       [(60 + i, i * 0.25, i * 0.25) for i in range(8)])
    files["notes_20000"] = _midi(folder / "notes_20000.mid", _steps([60 + i % 12 for i in range(20_000)], 0.05))
    files["folder_as_file"] = folder / "folder_as_file.mid"
    files["folder_as_file"].mkdir()
    files["missing"] = folder / "missing.mid"
    return files


def make_abc_files(folder: Path) -> dict[str, Path]:
    """One ABC file per kind of ABC_KINDS."""
    import numpy as np

    folder.mkdir(parents=True, exist_ok=True)
    header = "X:1\nT:long\nM:4/4\nL:1/16\nK:C\n"
    texts = {"empty": b"", "random_bytes": np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8).tobytes(),
             "text_renamed": b"Dear reader, this is a letter, not music.\n",
             "bad_abc": b"X:1\nT:broken\nK:C\n((]]@@!!$$ |:: [[[ {{{ ^^^^^^ ___ === 0/0 //// ]]]\n",
             "notes_20000": (header + "CDEF GABc|\n" * 2_500).encode(),
             "notes_210000": (header + "CDEF GABc|\n" * 26_250).encode()}
    files = {}
    for kind, data in texts.items():
        files[kind] = folder / f"{kind}.abc"
        files[kind].write_bytes(data)
    return files


class _Payload:
    """Pickles as a call to os.system: loading it must never run the command."""

    def __init__(self, command: str):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


def make_checkpoint_files(folder: Path) -> dict[str, Path]:
    """One file per kind of CHECKPOINT_KINDS (from the shipped note_rnn_fast), plus ``sentinel``: the
    file the pickled payload would create if its code ran. ``wrong_kind`` is the drum Note-CNN, and
    ``wrong_kind_for_drums`` the Note-RNN (for the commands that take a drum model), ``wrong_kind_for_sample``
    the MusicVAE (``sample`` takes a Note-RNN or a drum Note-CNN)."""
    import torch

    from musiclab.checkpoints import load_checkpoint, shipped_path

    folder.mkdir(parents=True, exist_ok=True)
    good = shipped_path("note_rnn_fast").read_bytes()
    middle = len(good) // 2
    flipped = good[:middle] + bytes(b ^ 0xFF for b in good[middle:middle + 64]) + good[middle + 64:]
    raw = {"empty": b"", "random_bytes": os.urandom(4096), "text_renamed": b"not a checkpoint\n",
           "truncated": good[:middle], "bit_flipped": flipped}
    files = {kind: folder / f"{kind}.pt" for kind in CHECKPOINT_KINDS}
    for kind, data in raw.items():
        files[kind].write_bytes(data)
    payload = load_checkpoint(shipped_path("note_rnn_fast"))
    name = next(iter(payload["state_dict"]))
    payload["state_dict"][name] = torch.full_like(payload["state_dict"][name], float("nan"))
    torch.save(payload, files["nan_weights"])
    files["sentinel"] = folder / "payload_ran"
    torch.save({"kind": "note_rnn", "state_dict": _Payload(f"touch {files['sentinel']}")}, files["pickled_payload"])
    shutil.copyfile(shipped_path("drum_cnn_fast"), files["wrong_kind"])
    files["wrong_kind_for_drums"] = folder / "note_rnn.pt"
    shutil.copyfile(shipped_path("note_rnn_fast"), files["wrong_kind_for_drums"])
    files["wrong_kind_for_sample"] = folder / "music_vae.pt"
    shutil.copyfile(shipped_path("music_vae_cpu"), files["wrong_kind_for_sample"])
    files["folder_as_file"].mkdir()
    return files


# ---------------------------------------------------------------- targets: loaders and commands


def _cli(*argv) -> tuple[str, str]:
    """Run ``musiclab ARGV`` in-process: ('loaded', '') on exit 0, ('named error', stderr) on exit 2."""
    from musiclab import cli

    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        status = cli.main([str(a) for a in argv])
    if status == 0:
        return "loaded", ""
    if status == 2:
        return "named error", err.getvalue()
    raise RuntimeError(f"exit status {status}: {err.getvalue()}")


def _in_folder(loader, path: Path, work: Path, good: list[Path]) -> tuple[str, str]:
    """Run a folder ``loader`` on a folder of the ``good`` files and ``path``: counted skip if it
    counted ``path`` as skipped, loaded if it loaded it."""
    folder = work / "folder"
    folder.mkdir()
    if path.is_dir():  # the empty folder itself
        folder = path
    else:
        for file in good:
            shutil.copyfile(file, folder / file.name)
        shutil.copyfile(path, folder / path.name)
    loaded = loader(folder, quiet=True)
    skipped = getattr(loaded, "skipped_ids", None) or dict(getattr(loaded, "bad_files", []))
    return ("counted skip", str(skipped[path.name])) if path.name in skipped else ("loaded", "")


def _loaded(function):
    def run(path: Path, work: Path) -> tuple[str, str]:
        function(path, work)
        return "loaded", ""
    return run


def midi_targets(files: dict[str, Path]) -> dict:
    """name -> run(path, work) for every loader and command that takes one MIDI file. The audio
    targets also accept a file of no notes (a second of silence) and unmapped drums (played as written)."""
    from musiclab import audio
    from musiclab.data.chords import tokens_from_midi
    from musiclab.data.drum_midi import grid_from_midi
    from musiclab.data.midi_melodies import load_midi_melody
    from musiclab.data.primer import read_drum_primer, read_primer

    targets = {"audio.load_midi": _loaded(lambda p, w: audio.load_midi(p)),
               "audio.render_midi_file": _loaded(lambda p, w: audio.render_midi_file(p, w / "out.wav", 16000)),
               "musiclab render": lambda p, w: _cli("render", p, w / "out.wav", "--rate", "16000")}
    for run in targets.values():
        run.valid = ("no_notes", "unmapped_drums")
    primers = {"read_primer (MIDI)": _loaded(lambda p, w: read_primer(p)),
               "read_drum_primer": _loaded(lambda p, w: read_drum_primer(p)),
               "musiclab sample --primer": lambda p, w: _cli("sample", "note_rnn_fast", w / "out.mid", "--primer", p,
                                                             "--length", "64"),
               "musiclab compose --primer": lambda p, w: _cli("compose", "rl_tuner_dqn", w / "out.mid", "--primer",
                                                              p, "--length", "64"),
               "musiclab vae encode --primer": lambda p, w: _cli("vae", "encode", "music_vae_cpu", "--primer", p)}
    primers["read_drum_primer"].valid = ("unmapped_drums",)  # its unmapped notes read as silence, with a warning
    return {"load_midi_melody": _loaded(lambda p, w: load_midi_melody(p)),
            "tokens_from_midi": _loaded(lambda p, w: tokens_from_midi(p)),
            "grid_from_midi": _loaded(lambda p, w: grid_from_midi(p)), **targets, **primers}


def folder_targets(files: dict[str, Path]) -> dict:
    """name -> run(path, work) for every folder loader (the file among good ones)."""
    from musiclab.data.chords import load_midi_folder_tokens
    from musiclab.data.grooves import load_grooves
    from musiclab.data.folder_corpus import load_folder_melodies
    from musiclab.data.midi_melodies import load_midi_folder

    good = [files["good"], files["good_drums"]]
    return {name: (lambda loader: lambda p, w: _in_folder(loader, p, w, good))(loader) for name, loader in
            {"load_midi_folder": load_midi_folder, "load_midi_folder_tokens": load_midi_folder_tokens,
             "load_grooves": lambda folder, quiet: load_grooves(folder, quiet=quiet),
             "load_folder_melodies (train --corpus FOLDER)": load_folder_melodies}.items()}


def abc_targets(files: dict[str, Path]) -> dict:
    """name -> run(path, work): an ABC file read and converted by each converter."""
    from musiclab.data.abc import read_abc
    from musiclab.data.corpus import convert_abc

    def convert(converter: str):
        def run(path: Path, work: Path) -> tuple[str, str]:
            melodies = convert_abc(read_abc(path), "hostile", converter=converter, quiet=True)
            if melodies.skipped_ids:
                return "counted skip", next(iter(melodies.skipped_ids.values()))
            return "loaded", ""
        return run

    from musiclab.data.primer import read_primer

    converters = {f"read_abc + convert_abc ({converter})": convert(converter) for converter in ("abc2midi", "music21")
                  if converter == "music21" or shutil.which("abc2midi")}
    return {**converters, "read_primer (ABC)": _loaded(lambda p, w: read_primer(p))}


def checkpoint_targets(files: dict[str, Path]) -> dict:
    """name -> run(path, work) for every checkpoint loader and every command that takes a model."""
    from musiclab.checkpoints import load_checkpoint, load_model
    from musiclab.launchpad.dqn import load_agent
    from musiclab.models.melody_data import load_trained
    from musiclab.rl.tuner import load_q_network

    def tune_drums(path: Path, work: Path) -> tuple[str, str]:
        return _cli("tune", "--model", "drums", "--base", path, "--episodes", "1", "--quiet", "--out", work / "q.pt")

    def sample(path: Path, work: Path) -> tuple[str, str]:
        return _cli("sample", path, work / "out.mid", "--length", "16")

    tune_drums.files = {"wrong_kind": files["wrong_kind_for_drums"]}  # the drum tuner's wrong kind
    sample.files = {"wrong_kind": files["wrong_kind_for_sample"]}
    return {"load_checkpoint (note_rnn)": _loaded(lambda p, w: load_checkpoint(p, expected_kind="note_rnn")),
            "load_model (note_rnn)": _loaded(lambda p, w: load_model(p, expected_kind="note_rnn")),
            "load_trained (note_rnn)": _loaded(lambda p, w: load_trained(p, expected_kind="note_rnn")),
            "load_q_network": _loaded(lambda p, w: load_q_network(p)),
            "launchpad load_agent": _loaded(lambda p, w: load_agent(p)),
            "musiclab sample": sample,
            "musiclab compose": lambda p, w: _cli("compose", p, w / "out.mid", "--length", "16"),
            "musiclab vae encode": lambda p, w: _cli("vae", "encode", p, "--primer", "C4 D4 E4 - G4"),
            "musiclab tune --base": lambda p, w: _cli("tune", "--base", p, "--episodes", "1", "--quiet",
                                                      "--out", w / "q.pt"),
            "musiclab tune --model drums --base": tune_drums}


#: group -> (kinds, file maker, targets): one worker process per group.
GROUPS = {"midi": (MIDI_KINDS, make_midi_files, midi_targets),
          "folders": (FOLDER_KINDS, make_midi_files, folder_targets),
          "abc": (ABC_KINDS, make_abc_files, abc_targets),
          "checkpoints": (CHECKPOINT_KINDS, make_checkpoint_files, checkpoint_targets)}


def case_ids() -> list[str]:
    """``target|kind`` of every case the suite runs, without making any file."""
    from collections import defaultdict

    names = defaultdict(lambda: Path("unused"))
    return [f"{target}|{kind}" for kinds, _, targets in GROUPS.values() for target in targets(names) for kind in kinds]


def half_written(work: Path) -> list[str]:
    """Output files under ``work`` that are temporary leftovers or incomplete (none, when all is well)."""
    from musiclab.checkpoints import load_checkpoint

    bad = []
    for path in work.rglob("*"):
        if not path.is_file() or path.parent.name == "folder":
            continue
        try:
            if path.name.endswith(".tmp"):
                raise ValueError("temporary file left behind")
            if path.suffix == ".wav":
                with wave.open(str(path)) as wav:
                    if 44 + 2 * wav.getnframes() != path.stat().st_size:
                        raise ValueError("WAV shorter than its header says")
            elif path.suffix == ".mid":
                import pretty_midi

                pretty_midi.PrettyMIDI(str(path))
            elif path.suffix == ".pt":
                load_checkpoint(path)
        except Exception as exc:  # any failure to read an output back means it is half written
            bad.append(f"{path.name}: {type(exc).__name__}: {exc}")
    return bad


def run_case(run, kind: str, path: Path, work: Path) -> dict:
    """Run one case; its outcome, seconds, message (first line) and half-written outputs."""
    from musiclab.errors import MusiclabError

    work.mkdir(parents=True)
    start = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            outcome, message = run(path, work)
    except MusiclabError as exc:
        outcome, message = "named error", str(exc)
    except Exception as exc:  # the suite's whole point: any other exception is a bug, counted here
        outcome, message = "unhandled", f"{type(exc).__name__}: {exc}"
    seconds = time.perf_counter() - start
    lines = message.strip().splitlines()
    names_file = path.name in message or path.stem in message
    return {"kind": kind, "outcome": outcome, "seconds": round(seconds, 3), "message": lines[0] if lines else "",
            "one_line": len(lines) <= 1, "names_file": names_file, "half_written": half_written(work)}


def _peak_mb() -> float:
    """This process's peak resident memory (VmHWM), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_group(group: str, folder: Path) -> dict:
    """Every case of ``group`` in this process: {"cases": {target|kind: case}, "peak_mb": ...}."""
    os.environ["MUSICLAB_CACHE"] = str(folder / "cache")
    kinds, make, targets = GROUPS[group]
    files = make(folder / "files")
    cases = {}
    for target, run in targets(files).items():
        for kind in kinds:
            path = getattr(run, "files", {}).get(kind, files[kind]) if kind != "empty_folder" else folder / kind
            if kind == "empty_folder":
                path.mkdir(exist_ok=True)
            work = folder / "work" / f"{len(cases)}"
            valid = kinds[kind] or kind in getattr(run, "valid", ())
            cases[f"{target}|{kind}"] = {"target": target, "group": group, "valid_file": valid,
                                         **run_case(run, kind, path, work)}
    payload_ran = group == "checkpoints" and files["sentinel"].exists()
    return {"cases": cases, "peak_mb": round(_peak_mb(), 1), "payload_ran": payload_ran}


def run_suite(groups=tuple(GROUPS), timeout: float = 600.0) -> dict:
    """Run each group in a worker process; every case, and the summary of issue 14's targets."""
    cases, peaks, payload_ran = {}, {}, False
    with tempfile.TemporaryDirectory(prefix="musiclab-hostile-") as folder:
        for group in groups:
            work = Path(folder, group)
            work.mkdir()
            done = subprocess.run([sys.executable, __file__, "--worker", group, str(work)], cwd=ROOT,
                                  capture_output=True, text=True, timeout=timeout,
                                  env={**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)})
            if done.returncode != 0:
                raise RuntimeError(f"worker {group} failed:\n{done.stderr[-3000:]}")
            result = json.loads(done.stdout.strip().splitlines()[-1])
            cases.update(result["cases"])
            peaks[group] = result["peak_mb"]
            payload_ran |= result["payload_ran"]
    outcomes = [case["outcome"] for case in cases.values()]
    summary = {"cases": len(cases), "named errors": outcomes.count("named error"),
               "counted skips": outcomes.count("counted skip"), "loaded (valid files)": outcomes.count("loaded"),
               "unhandled": outcomes.count("unhandled"),
               "hangs over 30 s": sum(case["seconds"] > HANG_SECONDS for case in cases.values()),
               "half-written outputs": sum(bool(case["half_written"]) for case in cases.values()),
               "max seconds": max(case["seconds"] for case in cases.values()),
               "max peak MB": max(peaks.values()), "pickled code ran": payload_ran}
    return {"summary": summary, "peak_mb": peaks, "cases": cases}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--worker", nargs=2, metavar=("GROUP", "FOLDER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        result = run_group(args.worker[0], Path(args.worker[1]))
        print(json.dumps(result))
        return
    import platform

    from musiclab.runtime import atomic_write_bytes

    start = time.perf_counter()
    results = run_suite()
    results["seconds"] = round(time.perf_counter() - start, 1)
    results["machine"] = {"python": platform.python_version(), "cpus": os.cpu_count()}
    print(f"{'target':40s} {'cases':>5s} {'named':>5s} {'skips':>5s} {'loaded':>6s} {'unhandled':>9s} {'max s':>6s}")
    for target in dict.fromkeys(case["target"] for case in results["cases"].values()):
        rows = [c for c in results["cases"].values() if c["target"] == target]
        count = [sum(c["outcome"] == o for c in rows) for o in ("named error", "counted skip", "loaded", "unhandled")]
        print(f"{target:40s} {len(rows):5d} {count[0]:5d} {count[1]:5d} {count[2]:6d} {count[3]:9d} "
              f"{max(c['seconds'] for c in rows):6.2f}")
    for key, value in results["summary"].items():
        print(f"{key}: {value}")
    print(f"peak MB per worker: {results['peak_mb']}; {results['seconds']} s in all")
    atomic_write_bytes(ROOT / "bench" / "results" / "hostile_inputs.json",
                       (json.dumps(results, indent=1) + "\n").encode())


if __name__ == "__main__":
    main()
