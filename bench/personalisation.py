"""Benchmark: does the therapy session's personalisation please simulated listeners, quickly, and
keep the music theory? (musiclab.rl.feedback, notebook 07)

For each of N simulated listeners (hidden preferences over the window features, seeds 0..N-1), a
session of 6 pieces with 5 ±1 reactions each (30 feedback events) runs from the same starting
generator with the ``fast`` personaliser preset. Reported, as medians over listeners:

- the share of positive feedback in events 1-10 (start, about chance) and 21-30 (target ≥ 80 %);
- the seconds of each personalisation round (target ≤ 5 s; median and max over all rounds);
- the RL Tuner's metric table (``melody_metrics``) of 64 pieces of each personalised generator
  against the starting one: the largest relative change of each metric (target ≤ 10 %).

    python bench/personalisation.py --quick          # 4 listeners, a few minutes
    python bench/personalisation.py                  # 20 listeners
    python bench/personalisation.py --start rl_tuner_dqn   # start from the shipped tuned DQN

Prints a table and writes bench/results/personalisation.json (atomically).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from musiclab.checkpoints import load_model  # noqa: E402
from musiclab.eval.melody import METRIC_KEYS, melody_metrics  # noqa: E402
from musiclab.rl import feedback  # noqa: E402
from musiclab.rl.preference import SimulatedListener  # noqa: E402
from musiclab.rl.q_network import QNetwork  # noqa: E402
from musiclab.rl.tuner import compose, load_q_network  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "personalisation.json"
PIECES, REACTIONS = 6, 5
#: Metrics compared before/after (fractions; the autocorrelations are compared as absolute values).
COMPARED = [key for key in METRIC_KEYS if key != "notes_excessively_repeated"]


def starting_network(name: str) -> QNetwork:
    """'note_rnn': the fast Note-RNN as an untuned c-conditioned Q-network; else a shipped Q-network."""
    if name == "note_rnn":
        return QNetwork.from_model(load_model("note_rnn_fast", device="cpu"), "dqn", conditioned=True, c=0.2)
    return load_q_network(name)


def metrics_of(q_net: QNetwork, c: float, epsilon: float) -> dict:
    """The metric table of 64 pieces of ``q_net`` (fixed seed)."""
    return melody_metrics(compose(q_net, 64, 32, c=c, epsilon=epsilon, seed=999))


def relative_change(before: float, after: float) -> float:
    """|after − before| / max(|before|, 0.1): relative, floored so near-zero metrics are not inflated."""
    return abs(after - before) / max(abs(before), 0.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4 listeners instead of 20")
    parser.add_argument("--listeners", type=int, default=None)
    parser.add_argument("--start", default="note_rnn", help="'note_rnn' or a shipped Q-network name")
    args = parser.parse_args()
    torch.set_num_threads(1)
    listeners = args.listeners or (4 if args.quick else 20)
    start = starting_network(args.start)
    config = feedback.personaliser_preset("fast")
    base = feedback.Personaliser(start, config)
    before = metrics_of(start, base.c, config.epsilon)
    rows, started = [], time.perf_counter()
    for seed in range(listeners):
        personaliser = feedback.Personaliser(start, config, scale=base.scale)
        listener = SimulatedListener.random(base.scale, seed=seed)
        session = feedback.simulate_session(personaliser, listener, PIECES, REACTIONS, seed=seed, quiet=True)
        after = metrics_of(personaliser.q_net, personaliser.c, config.epsilon)
        changes = {k: relative_change(before[k], after[k]) for k in COMPARED
                   if not (np.isnan(before[k]) or np.isnan(after[k]))}
        rows.append({"listener": seed, "start_share": session.positive_share(0, 10),
                     "end_share": session.positive_share(20, 30), "satisfaction": session.satisfaction,
                     "round_seconds": [r.seconds for r in session.rounds], "metrics_after": after,
                     "max_metric_change": max(changes.values()), "metric_changes": changes})
        print(f"listener {seed:2d}: positive {rows[-1]['start_share']:.0%} → {rows[-1]['end_share']:.0%}, "
              f"rounds {np.median(rows[-1]['round_seconds']):.1f} s, max metric change "
              f"{rows[-1]['max_metric_change']:.0%}", flush=True)
    seconds = [s for row in rows for s in row["round_seconds"]]
    summary = {
        "median_start_share": statistics.median(r["start_share"] for r in rows),
        "median_end_share": statistics.median(r["end_share"] for r in rows),
        "listeners_reaching_80pct": sum(r["end_share"] >= 0.8 for r in rows),
        "median_round_seconds": statistics.median(seconds), "max_round_seconds": max(seconds),
        "median_max_metric_change": statistics.median(r["max_metric_change"] for r in rows),
        "median_metric_change": {k: statistics.median(values) for k in COMPARED
                                 if (values := [r["metric_changes"][k] for r in rows if k in r["metric_changes"]])},
    }
    print(f"\n{'figure':34s} {'value':>8s}  target")
    print(f"{'positive share, events 1-10':34s} {summary['median_start_share']:8.0%}  ~50 %")
    print(f"{'positive share, events 21-30':34s} {summary['median_end_share']:8.0%}  >= 80 %")
    print(f"{'listeners at >= 80 %':34s} {summary['listeners_reaching_80pct']:8d}  of {listeners}")
    print(f"{'round seconds (median / max)':34s} {summary['median_round_seconds']:4.1f}/{summary['max_round_seconds']:3.1f}  <= 5 s")
    print(f"{'largest metric change (median)':34s} {summary['median_max_metric_change']:8.0%}  <= 10 %")
    for key, value in summary["median_metric_change"].items():
        print(f"  {key:32s} {value:8.0%}")
    result = {"benchmark": "personalisation", "command": "python bench/personalisation.py" + (" --quick" if args.quick else "")
              + (f" --start {args.start}" if args.start != "note_rnn" else ""),
              "date": time.strftime("%Y-%m-%d %H:%M:%S"), "start": args.start, "config": vars(config),
              "pieces": PIECES, "reactions_per_piece": REACTIONS, "listeners": listeners,
              "seconds": time.perf_counter() - started,
              "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                          "load_average": os.getloadavg()},
              "metrics_before": before, "summary": summary, "rows": rows}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=RESULTS.parent, suffix=".tmp", delete=False) as handle:
        json.dump(result, handle, indent=2, default=float)
    os.replace(handle.name, RESULTS)
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
