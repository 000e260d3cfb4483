"""How fast the c, ε & temperature playground (notebook 03) answers a slider release, on this machine.

Loads the shipped c-conditioned DQN, then times ``Playground.update`` at random (c, ε, temperature, seed)
settings: compose, score, draw (SVG piano roll), render audio, and the total from release to a
new player's bytes (the browser adds its round trip; tests/test_browser_playground.py prints it).
Prints a table of medians and writes bench/results/playground.json atomically.

    python bench/playground.py [--quick] [--updates N]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
from pathlib import Path

import numpy as np
import torch

from musiclab.rl.tuner import load_q_network  # noqa: E402
from musiclab.widgets.playground import Playground  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "playground.json"
#: The target from the issue: a new player less than half a second after release.
TARGET_MS = 500.0


def measure(updates: int, seed: int = 0) -> dict:
    """Median and 90th-percentile milliseconds of each part of ``updates`` random updates."""
    torch.set_num_threads(1)
    panel = Playground(load_q_network("rl_tuner_playground"), sample_rate=16000)
    rng = np.random.default_rng(seed)
    parts: dict[str, list[float]] = {}
    for _ in range(updates):
        panel.update(c=float(10 ** rng.uniform(-1, 1)), epsilon=float(rng.choice([0.0, 0.1, 0.3, 1.0])),
                     temperature=float(rng.choice([0.0, 0.5, 1.0, 1.5])), seed=int(rng.integers(0, 1000)))
        for name, seconds in panel.timings.items():
            parts.setdefault(name, []).append(1000 * seconds)
    return {name: {"median_ms": statistics.median(values), "p90_ms": float(np.percentile(values, 90))}
            for name, values in parts.items()}


def write_atomically(path: Path, payload: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, suffix=".tmp", delete=False) as handle:
        json.dump(payload, handle, indent=2)
    os.chmod(handle.name, 0o644)
    os.replace(handle.name, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 updates instead of 100")
    parser.add_argument("--updates", type=int, default=None, help="number of timed updates")
    args = parser.parse_args()
    updates = args.updates or (20 if args.quick else 100)
    timings = measure(updates)
    print(f"playground update, {updates} random settings (ms)")
    print(f"{'part':10s} {'median':>8s} {'p90':>8s}")
    for name, row in timings.items():
        print(f"{name:10s} {row['median_ms']:8.1f} {row['p90_ms']:8.1f}")
    total = timings["total"]["median_ms"]
    print(f"target {TARGET_MS:.0f} ms: {'met' if total < TARGET_MS else 'missed'} (median {total:.0f} ms)")
    write_atomically(RESULTS, {"updates": updates, "target_ms": TARGET_MS, "timings": timings,
                               "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform(),
                                           "torch": torch.__version__, "load_avg_1min": os.getloadavg()[0]}})


if __name__ == "__main__":
    main()
