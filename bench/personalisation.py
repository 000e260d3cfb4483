"""Benchmark: does the therapy session's personalisation please simulated listeners, quickly, and
keep the music theory? (musiclab.therapy.feedback, notebook 07)

For each of N simulated listeners (hidden preferences over the window features, seeds 0..N-1), a
session of 6 pieces with 5 ±1 reactions each (30 feedback events) runs from the same starting
generator (default: the shipped tuned Q-network ``rl_tuner_therapy``, loaded by name, so a re-tuned
checkpoint of that name is picked up as it lands) with the ``fast`` personaliser preset.
Reported, as medians over listeners:

- **positive share**: the share of "more like this" among feedback events 1-10 (start, about
  chance) and 21-30 (target ≥ 80 %); also the listener's *expected* share of the same pieces (their
  hidden P(like) averaged over every moment of a piece), which is free of the ±1 draw noise;
- **round seconds**: wall time of each personalisation round (``Personaliser.personalise``, the
  re-tuning between two pieces; target ≤ 5 s), median and max over all rounds; and the seconds to
  compose the next piece (best of ``candidates``);
- **music-theory drift**: the RL Tuner's metric table (``musiclab.eval.melody.melody_metrics``) of
  128 pieces *as the listener would hear them next* (``Personaliser.compose_pieces``: the re-tuned
  network's candidates and their octave transpositions, the best by the learned preference among
  those matching the theory profile of the unpersonalised piece) against 128 pieces of the
  unpersonalised generator (a fresh personaliser, no feedback: the starting network's ε-greedy
  pieces; same seeds). Every metric of the
  table is a share in [0, 1] (the three autocorrelations lie in [−1, 1]); several sit near 0
  (notes not in key ≈ 0.5 %, excessively repeated notes 0 %), where a relative change means
  nothing (0.2 % → 0.4 % would be "+100 %"). So "within 10 % of the unpersonalised model" is
  read on the metric's own scale: **drift = |after − before|, target ≤ 0.10 for every metric**
  (10 points of a share; for the autocorrelations 5 % of their range, stricter). Metrics that are
  undefined (NaN) before or after are skipped. The **noise floor** is the same drift between two
  disjoint sets of 128 unpersonalised pieces: drift below it is sampling noise, not change.
  With the preset's theory match (``match_theory``) each piece the listener hears is chosen among
  candidates that match the unpersonalised piece of the same seed on its metric profile, so the
  comparison is paired piece by piece. For transparency the **network drift** is the same drift for
  the re-tuned network's own ε-greedy pieces (no choice, no match): how far re-tuning alone moved
  the generator.

    python bench/personalisation.py --quick          # 4 listeners, several minutes
    python bench/personalisation.py                  # 20 listeners, 37 minutes on 2 cores shared with a second run
    python bench/personalisation.py --first-listener 100   # a second set of 20 listeners (seeds 100-119)
    python bench/personalisation.py --start note_rnn # from the untuned fast Note-RNN
    python bench/personalisation.py --set candidates=8 --set weight=30 --out /tmp/x.json   # experiments

Prints a table and writes bench/results/personalisation.json (atomically; ``--out`` elsewhere).
"""
from __future__ import annotations

import argparse
import ast
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from musiclab.checkpoints import load_model  # noqa: E402
from musiclab.eval.melody import METRIC_KEYS, melody_metrics  # noqa: E402
from musiclab.rl.q_network import QNetwork  # noqa: E402
from musiclab.rl.compose import compose  # noqa: E402
from musiclab.rl.tuner import load_q_network  # noqa: E402
from musiclab.therapy import feedback, personaliser_config, simulation  # noqa: E402
from musiclab.therapy.preference import SimulatedListener  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "personalisation.json"
PIECES, REACTIONS = 6, 5
METRIC_PIECES, METRIC_SEED = 128, 999
DRIFT_TARGET = 0.10
#: The direction in which each metric is better by the RL Tuner's rules (+1 higher, −1 lower; the
#: autocorrelations are better nearer 0 and are compared as |r|).
BETTER = {"notes_excessively_repeated": -1, "notes_not_in_key": -1, "autocorrelation_lag1": -1,
          "autocorrelation_lag2": -1, "autocorrelation_lag3": -1, "starts_with_tonic": 1, "leaps_resolved": 1,
          "leaps_stepped_back": 1, "unique_max": 1, "unique_min": 1, "notes_in_motif": 1,
          "notes_in_repeated_motif": 1}


def starting_network(name: str) -> QNetwork:
    """'note_rnn': the fast Note-RNN as an untuned c-conditioned Q-network; else a shipped Q-network by name."""
    if name == "note_rnn":
        return QNetwork.from_model(load_model("note_rnn_fast", device="cpu"), "dqn", conditioned=True, c=0.2)
    return load_q_network(name)


def drift(before: dict, after: dict) -> dict:
    """|after − before| per metric of the table, skipping metrics undefined (NaN) on either side."""
    return {k: abs(float(after[k]) - float(before[k])) for k in METRIC_KEYS
            if not (np.isnan(before[k]) or np.isnan(after[k]))}


def worsening(before: dict, after: dict) -> dict:
    """How much each metric got worse by the rules' direction (``BETTER``; |r| for autocorrelations), ≥ 0."""
    def value(key, table):
        return abs(float(table[key])) if key.startswith("autocorrelation") else float(table[key])
    return {k: max(0.0, BETTER[k] * (value(k, before) - value(k, after))) for k in drift(before, after)}


def expected_share(listener: SimulatedListener, piece: np.ndarray) -> float:
    """The listener's hidden P(like) averaged over every moment of ``piece`` [T]."""
    return float(listener.probability(np.repeat(piece[None], len(piece), axis=0), np.arange(len(piece))).mean())


def parse_overrides(pairs: list[str]) -> dict:
    """``key=value`` strings (values as Python literals) → a dict of PersonaliserConfig overrides."""
    overrides = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        overrides[key] = ast.literal_eval(value)
    return overrides


def plain_pieces(personaliser: feedback.Personaliser, seed: int) -> np.ndarray:
    """METRIC_PIECES ε-greedy pieces of the personaliser's network, no choice: [METRIC_PIECES, length]."""
    cfg = personaliser.config
    return compose(personaliser.q_net, METRIC_PIECES, cfg.length, c=personaliser.c, epsilon=cfg.epsilon, seed=seed,
                   temperature=cfg.compose_temperature).numpy()


def run_listener(seed: int, start: QNetwork, config: personaliser_config.PersonaliserConfig,
                 base: feedback.Personaliser, before: dict, network_before: dict) -> dict:
    """One simulated listener's session and its figures."""
    personaliser = feedback.Personaliser(start, config, scale=base.scale)
    listener = SimulatedListener.random(base.scale, seed=seed)
    session = simulation.simulate_session(personaliser, listener, PIECES, REACTIONS, seed=seed, quiet=True)
    started = time.perf_counter()
    personaliser.compose_piece(seed=METRIC_SEED)
    compose_seconds = time.perf_counter() - started
    after = melody_metrics(personaliser.compose_pieces(METRIC_PIECES, METRIC_SEED))
    changes, worse = drift(before, after), worsening(before, after)
    network = drift(network_before, melody_metrics(plain_pieces(personaliser, METRIC_SEED)))
    expected = [expected_share(listener, piece) for piece in session.pieces]
    return {"listener": seed, "start_share": session.positive_share(0, 10), "end_share": session.positive_share(20, 30),
            "expected_start": float(np.mean(expected[:2])), "expected_end": float(np.mean(expected[-2:])),
            "satisfaction": session.satisfaction, "round_seconds": [r.seconds for r in session.rounds],
            "compose_seconds": compose_seconds, "max_drift": max(changes.values()), "drift": changes,
            "max_worsening": max(worse.values()), "worsening": worse, "metrics_after": after,
            "network_max_drift": max(network.values()), "network_drift": network}


def summarise(rows: list[dict], noise: dict) -> dict:
    """Medians over listeners (and the worst round)."""
    seconds = [s for row in rows for s in row["round_seconds"]]
    med = lambda key: statistics.median(r[key] for r in rows)  # noqa: E731
    return {
        "median_start_share": med("start_share"), "median_end_share": med("end_share"),
        "listeners_reaching_80pct": sum(r["end_share"] >= 0.8 for r in rows),
        "median_expected_start": med("expected_start"), "median_expected_end": med("expected_end"),
        "median_round_seconds": statistics.median(seconds), "max_round_seconds": max(seconds),
        "median_compose_seconds": med("compose_seconds"),
        "median_max_drift": med("max_drift"),
        "listeners_within_drift": sum(r["max_drift"] <= DRIFT_TARGET for r in rows),
        "median_drift": {k: statistics.median(vals) for k in METRIC_KEYS
                         if (vals := [r["drift"][k] for r in rows if k in r["drift"]])},
        "median_max_worsening": med("max_worsening"),
        "listeners_within_worsening": sum(r["max_worsening"] <= DRIFT_TARGET for r in rows),
        "median_worsening": {k: statistics.median(vals) for k in METRIC_KEYS
                             if (vals := [r["worsening"][k] for r in rows if k in r["worsening"]])},
        "median_network_max_drift": med("network_max_drift"),
        "noise_floor_drift": noise,
    }


def print_table(summary: dict, listeners: int) -> None:
    """The README table."""
    print(f"\n{'figure':40s} {'value':>9s}  target")
    print(f"{'positive share, events 1-10':40s} {summary['median_start_share']:9.0%}  ~50 %")
    print(f"{'positive share, events 21-30':40s} {summary['median_end_share']:9.0%}  >= 80 %")
    print(f"{'listeners at >= 80 %':40s} {summary['listeners_reaching_80pct']:9d}  of {listeners}")
    print(f"{'expected share, pieces 1-2 / 5-6':40s} {summary['median_expected_start']:4.0%}/{summary['median_expected_end']:4.0%}")
    print(f"{'round seconds (median / max)':40s} {summary['median_round_seconds']:4.1f}/{summary['max_round_seconds']:4.1f}  <= 5 s")
    print(f"{'seconds to compose the next piece':40s} {summary['median_compose_seconds']:9.3f}")
    print(f"{'largest metric drift (median)':40s} {summary['median_max_drift']:9.3f}  <= {DRIFT_TARGET}")
    print(f"{'listeners with every drift <= 0.10':40s} {summary['listeners_within_drift']:9d}  of {listeners}")
    print(f"{'largest worsening by the rules (median)':40s} {summary['median_max_worsening']:9.3f}  (one-sided reading)")
    print(f"{'listeners with every worsening <= 0.10':40s} {summary['listeners_within_worsening']:9d}  of {listeners}")
    print(f"{'re-tuned network alone, largest drift':40s} {summary['median_network_max_drift']:9.3f}  (no choice; for comparison)")
    print(f"  {'metric (medians)':38s} {'drift':>9s} {'worsening':>10s}  {'noise floor':>11s}")
    for key, value in summary["median_drift"].items():
        print(f"  {key:38s} {value:9.3f} {summary['median_worsening'].get(key, float('nan')):10.3f}  "
              f"{summary['noise_floor_drift'].get(key, float('nan')):11.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4 listeners instead of 20")
    parser.add_argument("--listeners", type=int, default=None)
    parser.add_argument("--first-listener", type=int, default=0,
                        help="seed of the first simulated listener (100: a second set of 20 besides the usual 0-19)")
    parser.add_argument("--start", default="rl_tuner_therapy", help="a shipped Q-network name, or 'note_rnn'")
    parser.add_argument("--preset", default="fast",
                        help="personaliser preset (musiclab.therapy.personaliser_config.PRESETS)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config field")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    torch.set_num_threads(1)
    listeners = args.listeners or (4 if args.quick else 20)
    start = starting_network(args.start)
    config = personaliser_config.personaliser_preset(args.preset, **parse_overrides(args.set))
    base = feedback.Personaliser(start, config)
    before = melody_metrics(base.compose_pieces(METRIC_PIECES, METRIC_SEED))
    noise = drift(before, melody_metrics(base.compose_pieces(METRIC_PIECES, METRIC_SEED + 1)))
    network_before = melody_metrics(plain_pieces(base, METRIC_SEED))
    rows, started = [], time.perf_counter()
    for seed in range(args.first_listener, args.first_listener + listeners):
        rows.append(run_listener(seed, start, config, base, before, network_before))
        row = rows[-1]
        print(f"listener {seed:2d}: positive {row['start_share']:.0%} → {row['end_share']:.0%} (expected "
              f"{row['expected_start']:.0%} → {row['expected_end']:.0%}), rounds {np.median(row['round_seconds']):.1f} s, "
              f"largest drift {row['max_drift']:.3f} ({max(row['drift'], key=row['drift'].get)}; network alone "
              f"{row['network_max_drift']:.3f})", flush=True)
    summary = summarise(rows, noise)
    print_table(summary, listeners)
    command = " ".join(["python bench/personalisation.py"] + sys.argv[1:])
    result = {"benchmark": "personalisation", "command": command, "date": time.strftime("%Y-%m-%d %H:%M:%S"),
              "start": args.start, "preset": args.preset, "config": asdict(config), "pieces": PIECES,
              "reactions_per_piece": REACTIONS, "listeners": listeners, "first_listener": args.first_listener,
              "metric_pieces": METRIC_PIECES,
              "drift_target": DRIFT_TARGET, "seconds": time.perf_counter() - started,
              "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                          "torch": torch.__version__, "load_average": os.getloadavg()},
              "metrics_before": before, "summary": summary, "rows": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=args.out.parent, suffix=".tmp", delete=False) as handle:
        json.dump(result, handle, indent=2, default=float)
    os.replace(handle.name, args.out)
    print(f"wrote {args.out} in {result['seconds']:.0f} s")


if __name__ == "__main__":
    main()
