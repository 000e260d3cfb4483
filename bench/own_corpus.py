"""Benchmark: train on your own folder — build, skip counts, held-out NLL, and 1 vs 2 processes.

1. Writes a folder of MIDI files rendered from the Essen corpus: ``--tunes`` (2,000) tunes drawn
   (seeded) from the built-in Essen *training* split, each put back into its original key (the
   inverse of the corpus's transposition to C), at a random tempo, nested by collection. Three in
   four carry a key signature (the rest leave the key to the loader's estimate); one in three has a
   bass part (listed first) and a drum track, so the loader must find the melody as the highest
   part. Plus 20 broken files: 4 each of random bytes, truncated, empty, drums only, no notes.
2. Builds the folder's cache from scratch (``--runs`` times, median; every run in a fresh cache
   folder, workers on all cores), then from the cache; checks every broken file was skipped and
   counted, and how many tunes came back exactly as the built-in corpus encodes them.
3. Trains ``musiclab train note-rnn --preset fast --seed 0`` on the folder and on the built-in
   Essen corpus, and scores both on the same held-out set: the built-in Essen *test* split (none of
   its tunes is in the folder), non-overlapping windows of 64 steps, NLL in nats per step.
4. Times the same command on the folder with 1 process and under ``torchrun --nproc_per_node=2``
   (gloo, one thread each; the 2-process run splits every global batch of 64 in two).

Prints a table and writes bench/results/own_corpus.json (``--quick``: own_corpus_quick.json), with the
machine's load average.

    python bench/own_corpus.py             # 2,000 tunes, 3 cold builds, 200-step 1 vs 2 process timing
    python bench/own_corpus.py --quick     # 400 tunes, 1 cold build, 40-step timing
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pretty_midi  # noqa: E402

from musiclab import cli  # noqa: E402
from musiclab.data.abc import parse_abc_key  # noqa: E402
from musiclab.data.corpus import load_melodies  # noqa: E402
from musiclab.data.folder_corpus import load_folder_melodies  # noqa: E402
from musiclab.data.melody import MODE_OFFSETS, key_shift, to_pretty_midi  # noqa: E402
from musiclab.models.melody_data import load_trained, load_windows, score  # noqa: E402
from musiclab.runtime import CACHE_ENV, atomic_write_bytes  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "own_corpus.json"
#: Where ``--quick`` writes, so that ``make bench`` leaves the full figures alone.
QUICK_RESULTS = ROOT / "bench" / "results" / "own_corpus_quick.json"
BROKEN_KINDS = ("random bytes", "truncated", "empty", "drums only", "no notes")
#: What the loader should call each kind of broken file.
EXPECTED_REASON = {"random bytes": "not a readable MIDI file", "truncated": "not a readable MIDI file",
                   "empty": "not a readable MIDI file", "drums only": "no melody", "no notes": "no notes"}


def write_folder(folder: Path, count: int, seed: int = 0) -> dict:
    """Render ``count`` Essen training tunes and 20 broken files into ``folder``; return what was written."""
    essen = load_melodies("essen", quiet=True)
    train = essen.split()["train"]
    rng = np.random.default_rng(seed)
    chosen = [train[i] for i in sorted(rng.choice(len(train), count, replace=False))]
    written = {}
    for i, tune in enumerate(chosen):
        tonic, mode = parse_abc_key(tune.key)
        major_tonic = (tonic - MODE_OFFSETS[mode]) % 12
        pm = to_pretty_midi(tune.events, tempo_bpm=float(rng.uniform(70, 160)), program=73)
        for note in pm.instruments[0].notes:  # back to the key it was written in
            note.pitch -= key_shift(tonic, mode)
        if rng.random() < 0.75:
            pm.key_signature_changes = [pretty_midi.KeySignature(major_tonic, 0.0)]
        if rng.random() < 1 / 3:
            bass = pretty_midi.Instrument(program=33, name="bass")
            kit = pretty_midi.Instrument(program=0, is_drum=True, name="drums")
            for note in pm.instruments[0].notes:
                bass.notes.append(pretty_midi.Note(70, note.pitch - 24, note.start, note.end))
                kit.notes.append(pretty_midi.Note(70, 36, note.start, note.start + 0.05))
            pm.instruments = [bass, pm.instruments[0], kit]
        _, collection, number = tune.tune_id.split("/")
        name = f"{collection}/{number}.mid"
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        pm.write(str(path))
        written[name] = tune.events
    good = next(iter(written))
    for k in range(20):
        kind = BROKEN_KINDS[k % len(BROKEN_KINDS)]
        path = folder / "broken" / f"{kind.replace(' ', '_')}_{k}.mid"
        path.parent.mkdir(parents=True, exist_ok=True)
        if kind == "random bytes":
            path.write_bytes(rng.integers(0, 256, 500, dtype=np.uint8).tobytes())
        elif kind == "truncated":
            path.write_bytes((folder / good).read_bytes()[:40])
        elif kind == "empty":
            path.write_bytes(b"")
        else:
            pm = pretty_midi.PrettyMIDI()
            kit = pretty_midi.Instrument(program=0, is_drum=kind == "drums only")
            if kind == "drums only":
                kit.notes += [pretty_midi.Note(90, 36 + j % 3, j * 0.25, j * 0.25 + 0.1) for j in range(16)]
            pm.instruments.append(kit)
            pm.write(str(path))
    return written


def cold_builds(folder: Path, runs: int) -> tuple[list[float], list[float]]:
    """Wall seconds and CPU seconds (this process and its workers) of ``runs`` builds of the folder's
    cache from scratch, each in a fresh cache folder. CPU time hardly depends on how busy the machine is."""
    seconds, cpu = [], []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="own-corpus-cache-") as cache:
            os.environ[CACHE_ENV] = cache
            before = cpu_seconds()
            started = time.perf_counter()
            quiet_load(folder)
            seconds.append(time.perf_counter() - started)
            cpu.append(cpu_seconds() - before)
    return seconds, cpu


def cpu_seconds() -> float:
    """User + system CPU seconds of this process and of its finished child processes."""
    usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    return sum(u.ru_utime + u.ru_stime for u in usage)


def quiet_load(folder: Path):
    """``load_folder_melodies(folder)`` without its progress bars and skip warnings."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_folder_melodies(folder, quiet=True)


def timed_command(command: list[str], env: dict) -> float:
    """Run a ``musiclab train`` command line; return the steps/s it prints."""
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    return float(re.search(r"([0-9.]+) steps/s\)", done.stdout).group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="400 tunes, 1 cold build, 40 timed steps")
    parser.add_argument("--tunes", type=int, default=None, help="tunes in the folder (default 2000)")
    parser.add_argument("--runs", type=int, default=None, help="cold builds to time (default 3)")
    parser.add_argument("--steps", type=int, default=None, help="steps of the 1 vs 2 process timing (default 200)")
    args = parser.parse_args()
    tunes = args.tunes or (400 if args.quick else 2000)
    runs = args.runs or (1 if args.quick else 3)
    steps = args.steps or (40 if args.quick else 200)
    results: dict = {"tunes": tunes, "broken": 20, "load_before": os.getloadavg(), "cpus": os.cpu_count(),
                     "python": platform.python_version()}
    with tempfile.TemporaryDirectory(prefix="own-corpus-") as work_dir:
        work = Path(work_dir)
        folder = work / "my_folder"
        written = write_folder(folder, tunes)
        cold, cold_cpu = cold_builds(folder, runs)
        os.environ[CACHE_ENV] = str(work / "cache")
        quiet_load(folder)  # build once into this run's cache ...
        started = time.perf_counter()
        melodies = quiet_load(folder)  # ... and time reading it back
        warm = time.perf_counter() - started
        same = sum(np.array_equal(t.events, written[t.tune_id]) for t in melodies.tunes)
        broken = {name: why for name, why in melodies.skipped_ids.items() if name.startswith("broken/")}
        results["build"] = {
            "files": melodies.files, "cold_seconds": cold, "cold_median_seconds": statistics.median(cold),
            "cold_cpu_seconds": cold_cpu,
            "from_cache_seconds": warm, "tunes_read": len(melodies), "skipped": melodies.skipped,
            "broken_skipped": len(broken),
            "broken_reasons_as_expected": all(EXPECTED_REASON[k] == broken.get(f"broken/{k.replace(' ', '_')}_{i}.mid")
                                              for i, k in ((i, BROKEN_KINDS[i % 5]) for i in range(20))),
            "good_files_skipped": len(melodies.skipped_ids) - len(broken),
            "identical_to_builtin_encoding": same,
            "key_from_signature": sum(t.key.endswith("(key signature)") for t in melodies.tunes),
            "key_estimated": sum(t.key.endswith("(estimated)") for t in melodies.tunes),
        }
        models, figures = {}, {}
        for name, corpus in (("own folder", str(folder)), ("built-in essen", "essen")):
            out = work / f"{name.replace(' ', '_')}.pt"
            started = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                cli.main(["train", "note-rnn", "--preset", "fast", "--corpus", corpus, "--seed", "0",
                          "--quiet", "--out", str(out)])
            models[name] = load_trained(str(out), device="cpu")
            figures[name] = {"train_windows": models[name].extra["data"]["windows"]["train"],
                             "train_seconds": time.perf_counter() - started,
                             "own_valid_nll": models[name].extra["valid"]["nll"]}
        test = load_windows("essen", "fast", quiet=True).test
        for name, trained in models.items():
            figures[name].update({f"heldout_{k}": v for k, v in score(trained.model, test).items()})
        ratio = figures["own folder"]["heldout_nll"] / figures["built-in essen"]["heldout_nll"]
        results["nll"] = {"held_out_set": f"built-in Essen test split (split_seed 0), {test.shape[0]} "
                                          f"non-overlapping windows of {test.shape[1]} steps",
                          "models": figures, "ratio_own_to_builtin": ratio}
        env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
        command = ["train", "note-rnn", "--preset", "fast", "--corpus", str(folder), "--steps", str(steps),
                   "--eval-every", str(10 * steps), "--quiet", "--out"]
        one = timed_command([sys.executable, "-m", "musiclab.cli", *command, str(work / "one.pt")], env)
        two = timed_command([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                             "-m", "musiclab.cli", *command, str(work / "two.pt")], env)
        results["processes"] = {"steps": steps, "global_batch": 64, "one_process_steps_per_s": one,
                                "two_processes_steps_per_s": two}
    results["load_after"] = os.getloadavg()
    path = QUICK_RESULTS if args.quick else RESULTS
    atomic_write_bytes(path, (json.dumps(results, indent=2) + "\n").encode())
    build, nll = results["build"], results["nll"]
    print(f"folder: {tunes:,} Essen tunes as MIDI + 20 broken files ({build['files']:,} files)")
    print(f"cache build from scratch: median {build['cold_median_seconds']:.1f} s over {runs} "
          f"({', '.join(f'{s:.1f}' for s in cold)}; CPU time {statistics.median(cold_cpu):.1f} s); from cache {build['from_cache_seconds']:.2f} s "
          f"(load {results['load_before'][0]:.1f} before, {results['load_after'][0]:.1f} after)")
    print(f"skipped: {build['skipped']} (broken skipped {build['broken_skipped']}/20, reasons as expected: "
          f"{build['broken_reasons_as_expected']}; good files skipped {build['good_files_skipped']}); "
          f"identical to the built-in encoding {build['identical_to_builtin_encoding']:,}/{build['tunes_read']:,}")
    print(f"held-out set: {nll['held_out_set']}")
    print(f"{'model':16s} {'train windows':>13s} {'held-out NLL':>12s} {'accuracy':>8s} {'own valid NLL':>13s}")
    for name, row in nll["models"].items():
        print(f"{name:16s} {row['train_windows']:13,} {row['heldout_nll']:12.4f} {row['heldout_accuracy']:8.4f} "
              f"{row['own_valid_nll']:13.4f}")
    print(f"NLL ratio own / built-in: {nll['ratio_own_to_builtin']:.4f} (target <= 1.05)")
    processes = results["processes"]
    print(f"steps/s, fast preset, global batch 64, {steps} steps: 1 process {processes['one_process_steps_per_s']:.1f}, "
          f"2 processes (torchrun, gloo) {processes['two_processes_steps_per_s']:.1f}")
    print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
