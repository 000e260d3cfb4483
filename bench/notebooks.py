"""How long a student waits for every notebook: on empty caches (the first Run All) and warm.

Executes every notebook of notebooks/ in course order (a copy: the stored outputs are not touched),
first with ``MUSICLAB_CACHE`` pointing at a fresh, empty temporary folder (cold: what the first Run
All after ``make lab`` builds; music21's own parse cache, kept under ``TMPDIR``, starts empty too),
then again on the caches that pass built (warm). Per notebook it
records the seconds from the start of the kernel to the end of the last cell, and to the end of
the first cell that shows an audio player (an HTML ``<audio>`` or an audio widget). Prints a table
and writes bench/results/notebooks.json atomically.

    python bench/notebooks.py [--runs 3] [--only 00_data_and_sound ...] [--isolated]

``--isolated`` gives every notebook its own empty cache folder in the cold pass (the worst case for
each notebook alone); by default the cold pass shares one folder, as a student's course does. ``--runs N`` repeats the
whole measurement (a new empty folder each time) and reports the median of each figure.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import nbformat

from musiclab.runtime import CACHE_ENV, atomic_write_bytes

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("notebook_tool", ROOT / "tools" / "notebook.py")
_tool = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_tool)
NotebookRunner = _tool.NotebookRunner  # nbclient's client, waiting on the kernel in short slices
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
RESULTS = ROOT / "bench" / "results" / "notebooks.json"
#: Targets from issue 16: a player in notebook 00 within 30 s, every notebook within 60 s and the
#: whole course within 4 minutes, on empty caches.
FIRST_SOUND_S, NOTEBOOK_S, COURSE_S = 30.0, 60.0, 240.0


def shows_audio(cell, widget_state: dict) -> bool:
    """True when the executed ``cell`` put a player on screen: an HTML audio element in its
    outputs, or an audio widget among the kernel's widgets."""
    for output in cell.get("outputs", []):
        html = output.get("data", {}).get("text/html", "")
        if "<audio" in ("".join(html) if isinstance(html, list) else html):
            return True
    return any(state.get("_model_name") == "AudioModel" for state in widget_state.values())


def run(path: Path, timeout_s: int = 900) -> dict:
    """Execute one notebook; seconds to the end of the run and to the first player (None if none)."""
    notebook = nbformat.read(path, as_version=4)
    marks: dict[str, float] = {}

    def started(**_):
        marks["start"] = time.perf_counter()

    def executed(cell, **_):
        if "sound" not in marks and shows_audio(cell, client.widget_state):
            marks["sound"] = time.perf_counter()

    client = NotebookRunner(notebook, timeout=timeout_s, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}},
                            on_notebook_start=started, on_cell_executed=executed)
    client.execute()
    end = time.perf_counter()
    sound = marks.get("sound")
    return {"seconds": round(end - marks["start"], 1),
            "first_sound_s": None if sound is None else round(sound - marks["start"], 1)}


def use_this_checkout() -> None:
    """Make the kernels import this checkout's ``musiclab`` (their working folder is notebooks/)."""
    paths = [str(ROOT), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    os.environ["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))


def course(names: list[str], cache_for) -> dict[str, dict]:
    """Run the notebooks in order, each with ``MUSICLAB_CACHE`` = ``cache_for(name)``."""
    results = {}
    for path in NOTEBOOKS:
        if names and path.stem not in names:
            continue
        os.environ[CACHE_ENV] = str(cache_for(path.stem))
        results[path.stem] = run(path)
        print(f"  {path.stem:24s} {results[path.stem]['seconds']:6.1f} s", flush=True)
    return results


def measure(only: list[str], isolated: bool) -> dict[str, dict]:
    """One cold pass on new empty caches, then one warm pass: per notebook the four figures."""
    outer_tmp = os.environ.get("TMPDIR")
    with tempfile.TemporaryDirectory(prefix="musiclab-bench-cache-") as scratch:
        # music21 keeps its own parse cache under the temporary folder: the kernels start that empty too
        os.environ["TMPDIR"] = str(Path(scratch) / "tmp")
        Path(os.environ["TMPDIR"]).mkdir()
        shared = Path(scratch) / "course"
        cache_for = (lambda name: Path(scratch) / name) if isolated else (lambda name: shared)
        print("cold: empty caches", flush=True)
        cold = course(only, cache_for)
        print("warm: the caches the cold pass built", flush=True)
        warm = course(only, cache_for)
    if outer_tmp is None:
        del os.environ["TMPDIR"]
    else:
        os.environ["TMPDIR"] = outer_tmp
    return {name: {"cold_s": cold[name]["seconds"], "warm_s": warm[name]["seconds"],
                   "first_sound_cold_s": cold[name]["first_sound_s"],
                   "first_sound_warm_s": warm[name]["first_sound_s"]} for name in cold}


def median(values: list):
    """The median of the figures of several runs (None when a notebook showed no player)."""
    values = [v for v in values if v is not None]
    return round(statistics.median(values), 1) if values else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", default=[], help="notebook names (stems) to run; default all")
    parser.add_argument("--isolated", action="store_true",
                        help="a fresh empty cache folder for every notebook in the cold pass")
    parser.add_argument("--runs", type=int, default=1, help="repeat the measurement; report medians")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error(f"--runs must be at least 1, got {args.runs}")
    use_this_checkout()
    rounds = [measure(args.only, args.isolated) for _ in range(args.runs)]
    rows = {name: {key: median([r[name][key] for r in rounds]) for key in rounds[0][name]} for name in rounds[0]}
    print(f"\n{'notebook':24s} {'cold s':>7s} {'warm s':>7s} {'sound cold':>11s} {'sound warm':>11s}")
    for name, row in rows.items():
        sounds = [f"{row[k]:11.1f}" if row[k] is not None else f"{'-':>11s}"
                  for k in ("first_sound_cold_s", "first_sound_warm_s")]
        print(f"{name:24s} {row['cold_s']:7.1f} {row['warm_s']:7.1f} {' '.join(sounds)}")
    total_cold = median([sum(r[name]["cold_s"] for name in r) for r in rounds])
    total_warm = median([sum(r[name]["warm_s"] for name in r) for r in rounds])
    print(f"{'course':24s} {total_cold:7.1f} {total_warm:7.1f}")
    payload = {
        "command": "python bench/notebooks.py" + (f" --runs {args.runs}" if args.runs > 1 else "")
                   + (" --isolated" if args.isolated else "")
                   + (f" --only {' '.join(args.only)}" if args.only else ""),
        "cold_cache": "one fresh folder per notebook" if args.isolated else "one fresh folder for the course",
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "load_average_1min": round(os.getloadavg()[0], 2)},
        "targets_s": {"first_sound_00": FIRST_SOUND_S, "notebook": NOTEBOOK_S, "course": COURSE_S},
        "runs": args.runs, "notebooks": rows, "course_cold_s": total_cold, "course_warm_s": total_warm,
    }
    atomic_write_bytes(RESULTS, (json.dumps(payload, indent=2) + "\n").encode())
    print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
