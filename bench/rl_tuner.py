"""Benchmark: the RL Tuner's metric table for the tuned Q-networks, against the paper's DQN row.

For each system, 1,000 compositions of 32 steps are scored with ``melody_metrics`` (the RL Tuner's
table, Jaques et al. 2017) and their mean log p under the Note-RNN:

- ``note_rnn``: samples of the shipped fast Note-RNN (temperature 1);
- ``dqn``, ``psi``, ``g``: the tuned Q-networks, composed ε-greedily (ε = 0.1 by default; a random
  step is a sample of the Note-RNN) at their default c;
- ``rules_only``: the rules-only agent, the same tuner (``fast`` preset, DQN, same seed) with the
  log p term dropped from the reward and c fixed, composed the same way;
- the c sweep: the playground's c-conditioned DQN (``rl_tuner_playground``, the ``playground``
  preset) composing at c = 0.1 … 2, no retraining.

retained_likelihood_ratio = (mean log p of a tuned model − of the rules-only agent)
                          / (mean log p of the Note-RNN's own samples − of the rules-only agent).

``leaps_resolved`` is counted as the RL Tuner's evaluation counted it (resolved / (resolved +
doubled), see ``melody_metrics``), so it compares with the paper's 91.1 %; ``leaps_stepped_back``
(leaps the very next note steps back from / all leaps) is this kit's stricter reading and has no target.

Throughput (transitions per second, measured in this run): playing compositions 128 at a time
against one at a time, and a whole short tuning run (playing and updates) with 128 compositions
per round against one.

    python bench/rl_tuner.py --quick   # the shipped checkpoints (data/checkpoints), ~1-2 minutes
    python bench/rl_tuner.py           # tune from the shipped Note-RNN with 3 seeds: per-metric
                                       # medians (the per-seed rows are in the JSON too); the sweep
                                       # network is tuned with seed 0

Prints a table and writes bench/results/rl_tuner.json (atomically; ``--out`` elsewhere: the README
quotes the quick run from rl_tuner.json and the seed medians from rl_tuner_seeds.json).
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from musiclab.checkpoints import CHECKPOINT_DIR, load_model  # noqa: E402
from musiclab.data.cache import atomic_write_bytes  # noqa: E402
from musiclab.eval.melody import LOG_P_KEY, METRIC_KEYS, PAPER_DQN_ROW, melody_metrics, metric_table  # noqa: E402
from musiclab.rl import tuner as T  # noqa: E402
from musiclab.rl.rules import rule_set  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "rl_tuner.json"
NOTE_RNN = CHECKPOINT_DIR / "note_rnn_fast.pt"
ALGORITHMS = ("dqn", "psi", "g")
#: The c values of the playground network's c sweep (it composes at each, no retraining).
SWEEP_C = (0.1, 0.2, 0.5, 1.0, 2.0)
#: The targets every tuned model should meet: metric → (comparison, bound).
TARGETS = {
    "notes_excessively_repeated": ("<=", 0.001), "notes_not_in_key": ("<=", 0.005),
    "starts_with_tonic": (">=", 0.90), "leaps_resolved": (">=", 0.95), "unique_max": (">=", 0.75),
    "unique_min": (">=", 0.75), "notes_in_motif": (">=", 0.80), "notes_in_repeated_motif": (">=", 0.01),
    "autocorrelation_lag1": ("|<=|", 0.1), "autocorrelation_lag2": ("|<=|", 0.1),
    "autocorrelation_lag3": ("|<=|", 0.1), "retained_likelihood_ratio": (">=", 0.7),
    "tuning_seconds": ("<=", 180.0),
}


def shipped(name: str) -> Path:
    """Path of a shipped tuner checkpoint."""
    return CHECKPOINT_DIR / f"{name}.pt"


def rules_only_config(seed: int) -> T.TunerConfig:
    """The rules-only agent: the fast preset's DQN with log p dropped from the reward and c fixed."""
    return T.preset("fast", algorithm="dqn", learned_reward=False, c_range=None, seed=seed)


def score(compositions, note_rnn) -> dict:
    """The metric table of ``compositions`` [N, T] with the mean log p under the Note-RNN."""
    return melody_metrics(compositions, note_rnn)


def compose_scores(q_net, n: int, epsilon: float, seed: int, note_rnn) -> dict:
    """Compose ``n`` 32-step melodies ε-greedily at the network's default c and score them."""
    return score(T.compose(q_net, n, 32, epsilon=epsilon, seed=seed), note_rnn)


def c_sweep(q_net, n: int, epsilon: float, note_rnn) -> dict:
    """The metric table of a conditioned Q-network at each c of ``SWEEP_C``: c → metrics."""
    return {str(c): score(T.compose(q_net, n, 32, c=c, epsilon=epsilon, seed=1), note_rnn) for c in SWEEP_C}


def retained(tuned: float, rules_only: float, data: float) -> float:
    """(log p tuned − log p rules-only) / (log p Note-RNN samples − log p rules-only)."""
    return (tuned - rules_only) / (data - rules_only)


def throughput(note_rnn, quick: bool) -> dict:
    """Transitions per second: playing (with the rules) batched vs one at a time, and whole tuning
    runs; and the median milliseconds ``compose`` takes for one 32-step melody."""
    rules = rule_set("rl_tuner")
    q_net = T.Tuner(note_rnn, T.preset("fast")).q_net
    gen = torch.Generator().manual_seed(0)
    batched_n, single_n = (256, 16) if quick else (1024, 64)
    start = time.perf_counter()
    for _ in range(batched_n // 128):
        T.play(q_net, 128, 32, epsilon=0.1, rules=rules, generator=gen)
    play_batched = batched_n * 32 / (time.perf_counter() - start)
    start = time.perf_counter()
    for _ in range(single_n):
        T.play(q_net, 1, 32, epsilon=0.1, rules=rules, generator=gen)
    play_single = single_n * 32 / (time.perf_counter() - start)
    times = []
    for seed in range(20):
        start = time.perf_counter()
        T.compose(q_net, 1, 32, epsilon=0.1, seed=seed)
        times.append(time.perf_counter() - start)
    tune_batched = T.tune(note_rnn, T.preset("fast", episodes=batched_n), quiet=True).history
    tune_single = T.tune(note_rnn, T.preset("fast", episodes=single_n * 2, batch_size=1), quiet=True).history
    return {
        "play_batched_transitions_per_second": play_batched,
        "play_one_at_a_time_transitions_per_second": play_single,
        "play_speedup": play_batched / play_single,
        "tune_batched_transitions_per_second": tune_batched.transitions_per_second,
        "tune_one_at_a_time_transitions_per_second": tune_single.transitions_per_second,
        "tune_speedup": tune_batched.transitions_per_second / tune_single.transitions_per_second,
        "compose_one_melody_ms": 1000 * statistics.median(times),
    }


def check(value: float, rule: tuple[str, float]) -> bool:
    """Whether ``value`` meets the target ``rule``."""
    op, bound = rule
    if op == "<=":
        return value <= bound
    if op == ">=":
        return value >= bound
    return abs(value) <= bound


def median_row(rows: list[dict]) -> dict:
    """Per-key median of several result rows."""
    return {key: statistics.median(row[key] for row in rows) for key in rows[0]}


def run(quick: bool, seeds: int, n: int, epsilon: float) -> tuple[dict, dict]:
    """Score every system; return the results per model and the playground network's c sweep."""
    torch.set_num_threads(1)
    note_rnn = load_model(NOTE_RNN, device="cpu")
    data = score(note_rnn.sample(n, 32, seed=0), note_rnn)
    results: dict[str, dict] = {"note_rnn": data}
    if quick:
        for algorithm in ALGORITHMS:
            q_net = T.load_q_network(shipped(f"rl_tuner_{algorithm}"))
            results[algorithm] = {**compose_scores(q_net, n, epsilon, 1, note_rnn),
                                  "tuning_seconds": q_net.extra["tuning_seconds"], "c": q_net.config.c}
        sweep = c_sweep(T.load_q_network(shipped("rl_tuner_playground")), n, epsilon, note_rnn)
        rules_only = T.load_q_network(shipped("rl_tuner_rules_only"))
        results["rules_only"] = {**compose_scores(rules_only, n, epsilon, 1, note_rnn),
                                 "tuning_seconds": rules_only.extra["tuning_seconds"]}
    else:
        per_seed: dict[str, list[dict]] = {name: [] for name in (*ALGORITHMS, "rules_only")}
        for seed in range(seeds):
            for algorithm in ALGORITHMS:
                tuner = T.tune(note_rnn, T.preset("fast", algorithm=algorithm, seed=seed), quiet=True)
                per_seed[algorithm].append({**compose_scores(tuner.q_net, n, epsilon, 1, note_rnn),
                                            "tuning_seconds": tuner.history.seconds, "c": tuner.config.c})
            tuner = T.tune(note_rnn, rules_only_config(seed), quiet=True)
            per_seed["rules_only"].append({**compose_scores(tuner.q_net, n, epsilon, 1, note_rnn),
                                           "tuning_seconds": tuner.history.seconds})
        results.update({name: {**median_row(rows), "per_seed": rows} for name, rows in per_seed.items()})
        sweep = c_sweep(T.tune(note_rnn, T.preset("playground", seed=0), quiet=True).q_net, n, epsilon, note_rnn)
    for algorithm in ALGORITHMS:
        results[algorithm]["retained_likelihood_ratio"] = retained(
            results[algorithm][LOG_P_KEY], results["rules_only"][LOG_P_KEY], data[LOG_P_KEY])
    return results, sweep


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="score the shipped checkpoints instead of tuning")
    parser.add_argument("--seeds", type=int, default=3, help="tuning seeds without --quick (medians reported)")
    parser.add_argument("--n", type=int, default=1000, help="compositions per system")
    parser.add_argument("--epsilon", type=float, default=0.1, help="ε of the ε-greedy compositions")
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"JSON to write (default {RESULTS.relative_to(ROOT)})")
    args = parser.parse_args()
    started = time.perf_counter()
    results, sweep = run(args.quick, args.seeds, args.n, args.epsilon)
    figures = throughput(load_model(NOTE_RNN, device="cpu"), args.quick)
    names = {"note_rnn": "Note-RNN", "dqn": "DQN", "psi": "Psi", "g": "G", "rules_only": "rules only"}
    table = {names[key]: row for key, row in results.items()}
    table["paper DQN"] = PAPER_DQN_ROW
    print(metric_table(table, list(METRIC_KEYS) + [LOG_P_KEY]))
    print("\nThe playground's c-conditioned DQN at several c (one network, no retraining):")
    print(metric_table({f"c = {c}": row for c, row in sweep.items()}, list(METRIC_KEYS) + [LOG_P_KEY]))
    print()
    met = {}
    for algorithm in ALGORITHMS:
        row = results[algorithm]
        met[algorithm] = {key: bool(check(row[key], rule)) for key, rule in TARGETS.items()}
        missed = [key for key, ok in met[algorithm].items() if not ok]
        print(f"{names[algorithm]:>4}: retained likelihood {row['retained_likelihood_ratio']:.2f}, "
              f"tuned in {row['tuning_seconds']:.0f} s; targets missed: {', '.join(missed) or 'none'}")
    for key, value in figures.items():
        print(f"{key}: {value:,.1f}")
    payload = {
        "benchmark": "rl_tuner", "quick": args.quick, "seeds": 1 if args.quick else args.seeds,
        "compositions": args.n, "length": 32, "epsilon": args.epsilon,
        "python": platform.python_version(), "torch": torch.__version__, "machine": platform.machine(),
        "seconds": time.perf_counter() - started,
        "models": results, "playground_c_sweep": sweep, "paper_dqn": PAPER_DQN_ROW, "throughput": figures,
        "targets": {key: list(rule) for key, rule in TARGETS.items()}, "targets_met": met,
    }
    atomic_write_bytes(args.out, json.dumps(payload, indent=2).encode())
    print(f"\nwrote {args.out} in {payload['seconds']:.0f} s")


if __name__ == "__main__":
    main()
