"""Benchmark: how long the data sets take to build from scratch and to load from the cache.

Each "scratch" run builds into a fresh temporary MUSICLAB_CACHE (nothing reused); "cached" runs
load the entry that build wrote. Times are in-process wall-clock seconds (imports excluded),
with the CPU seconds of this process and its workers alongside (robust when the machine is
busy); one row also times a new Python process loading the default melodies from the cache,
imports (torch among them) included. Prints a table and writes bench/results/data_build.json.

    python bench/data_build.py            # 3 scratch builds (drums: 1), 10 cached loads per row
    python bench/data_build.py --quick    # 1 scratch build, 3 cached loads per row
    python bench/data_build.py --no-drums # skip the drum grids (minutes to render)
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from musiclab.data.cache import atomic_write_bytes  # noqa: E402
from musiclab.runtime import CACHE_ENV  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "data_build.json"


@contextlib.contextmanager
def cache_folder(folder: Path):
    """Point MUSICLAB_CACHE at ``folder`` inside the block."""
    old = os.environ.get(CACHE_ENV)
    os.environ[CACHE_ENV] = str(folder)
    try:
        yield folder
    finally:
        if old is None:
            os.environ.pop(CACHE_ENV, None)
        else:
            os.environ[CACHE_ENV] = old


def cpu_seconds() -> float:
    """CPU seconds used so far by this process and its finished children (workers, abc2midi)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed(function: Callable, cpu: list[float] | None = None) -> tuple[float, object]:
    """Wall-clock seconds of one call, and its result; appends its CPU seconds to ``cpu``."""
    start, start_cpu = time.perf_counter(), cpu_seconds()
    result = function()
    if cpu is not None:
        cpu.append(cpu_seconds() - start_cpu)
    return time.perf_counter() - start, result


def measure(name: str, load: Callable, count: Callable, scratch_runs: int, cached_runs: int,
            workdir: Path) -> list[dict]:
    """Rows for ``name``: ``scratch_runs`` builds into fresh caches, then ``cached_runs`` loads."""
    scratch, cpu, size, folder = [], [], None, None
    for run in range(scratch_runs):
        folder = workdir / f"{name.replace('/', '_')}-{run}"
        with cache_folder(folder):
            seconds, result = timed(load, cpu)
        scratch.append(seconds)
        size = count(result)
    rows = [row(name, "scratch", scratch, size, cpu)]
    if cached_runs:
        cpu = []
        with cache_folder(folder):
            loads = [timed(load, cpu)[0] for _ in range(cached_runs)]
        rows.append(row(name, "cached", loads, size, cpu))
    return rows


def row(name: str, mode: str, seconds: list[float], size, cpu: list[float] | None = None) -> dict:
    """One table row: median, min and max of repeated wall-clock timings, median CPU seconds."""
    return {"data": name, "mode": mode, "runs": len(seconds), "median_s": statistics.median(seconds),
            "min_s": min(seconds), "max_s": max(seconds),
            "median_cpu_s": statistics.median(cpu) if cpu else None, "items": size}


def fresh_process_load(folder: Path, runs: int) -> dict:
    """A new Python process loading the default melodies from the cache, imports included."""
    code = "from musiclab.data.corpus import load_melodies; load_melodies(quiet=True)"
    env = {**os.environ, CACHE_ENV: str(folder)}
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True)
        seconds.append(time.perf_counter() - start)
    return row("essen/default", "cached, new process", seconds, None)


def converter_rate(tunes: int) -> list[dict]:
    """Per-tune cost of the two ABC converters on the same real Essen tunes."""
    from musiclab.data.abc import read_abc
    from musiclab.data.corpus import convert_abc, corpus_root

    sample = read_abc(corpus_root() / "essenFolksong" / "erk10.abc")[:tunes]
    rows = []
    for converter in ("abc2midi", "music21"):
        cpu: list[float] = []
        seconds, result = timed(lambda: convert_abc(sample, "essen", converter=converter, quiet=True), cpu)
        rows.append(row(f"erk10[:{tunes}] via {converter}", "convert", [seconds], len(result), cpu))
    return rows


def drum_rows(scratch_runs: int, cached_runs: int, workdir: Path) -> list[dict]:
    """Drum grid rows, or one row saying why they could not be measured."""
    from musiclab.data.grooves import load_grooves
    from musiclab.errors import MusiclabError

    try:
        return measure("drums/mma", lambda: load_grooves(quiet=True), lambda s: len(s.grids),
                       scratch_runs, cached_runs, workdir)
    except MusiclabError as exc:
        return [{"data": "drums/mma", "mode": "not measured", "note": str(exc)}]


def print_table(rows: list[dict]) -> None:
    print(f"{'data':32} {'mode':22} {'runs':>4} {'median s':>9} {'min s':>8} {'max s':>8} "
          f"{'cpu s':>7} {'items':>7}")
    for r in rows:
        if "median_s" not in r:
            print(f"{r['data']:32} {r['mode']:22} {r['note']}")
            continue
        items = "" if r["items"] is None else r["items"]
        cpu = "" if r["median_cpu_s"] is None else f"{r['median_cpu_s']:.2f}"
        print(f"{r['data']:32} {r['mode']:22} {r['runs']:>4} {r['median_s']:>9.3f} {r['min_s']:>8.3f} "
              f"{r['max_s']:>8.3f} {cpu:>7} {items:>7}")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="1 scratch build and 3 cached loads per row (default: 3 and 10)")
    parser.add_argument("--no-drums", action="store_true", help="skip the drum grids (minutes to render)")
    args = parser.parse_args(argv)
    scratch_runs, cached_runs = (1, 3) if args.quick else (3, 10)
    warnings.simplefilter("ignore")

    from musiclab.data.calming import calming_tunes
    from musiclab.data.abc import abc_converter
    from musiclab.data.corpus import load_melodies

    rows, load_at_start = [], list(os.getloadavg())
    with tempfile.TemporaryDirectory(prefix="musiclab-bench-") as tmp:
        workdir = Path(tmp)
        rows += measure("essen/default", lambda: load_melodies(quiet=True), len, scratch_runs, cached_runs,
                        workdir)
        rows.append(fresh_process_load(workdir / f"essen_default-{scratch_runs - 1}", 1 if args.quick else 3))
        rows += measure("essen/all", lambda: load_melodies(subset="all", quiet=True), len, 1, 0, workdir)
        rows += measure("oneill/default", lambda: load_melodies("oneill", quiet=True), len, 1, 0, workdir)
        rows += measure("calming", lambda: calming_tunes(quiet=True), len, scratch_runs, cached_runs, workdir)
        rows += converter_rate(60)
        if not args.no_drums:
            rows += drum_rows(1, cached_runs, workdir)
    result = {
        "benchmark": "data_build",
        "command": "python bench/data_build.py" + (" --quick" if args.quick else "")
                   + (" --no-drums" if args.no_drums else ""),
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform(), "abc_converter": abc_converter(),
                    "load_average_start": load_at_start, "load_average_end": list(os.getloadavg())},
        "rows": rows,
    }
    print_table(rows)
    atomic_write_bytes(RESULTS, (json.dumps(result, indent=2) + "\n").encode())
    print(f"wrote {RESULTS.relative_to(ROOT)}")
    return result


if __name__ == "__main__":
    main()
