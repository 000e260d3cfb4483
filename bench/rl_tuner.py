"""Benchmark: the RL Tuner measured as the paper measured it, on several tuning seeds.

The paper's protocol (Jaques et al. 2017, Table 1, and its released evaluation code): each of 1,000
pieces of 32 steps is composed by *sampling* every step from the tuned policy at temperature 1
(softmax of Q for DQN, of Ψ for Ψ-learning, of log p + G for G-learning), and the pieces are counted
with :func:`musiclab.eval.paper.paper_metrics` (per-event metrics over N × 32 events, C4 as the
tonic, the paper's motif windows, repeats and leaps). Beside the rules, every row carries its
diversity (:mod:`musiclab.eval.diversity`): the share of distinct pieces, distinct pitch 4-grams /
all pitch 4-grams, the mean pairwise Hamming distance and the pitch-class entropy per piece.

Systems, per tuning seed k (0, 1, 2 by default), each tuned from the shipped ``note_rnn_fast``:

- ``note_rnn``: 1,000 samples of the Note-RNN itself (sampling seed k; not tuned);
- ``dqn``, ``psi``, ``g``: ``musiclab tune --algorithm A --seed k`` (the ``fast`` preset);
- ``rules_only``: the same DQN tuning with the log p reward dropped (``--rules-only``).

The pieces of tuning seed k are composed with sampling seed k.
retained_likelihood_ratio = (mean log p of a system − of the rules-only agent) / (mean log p of the
Note-RNN's samples − of the rules-only agent), per seed (1 for the Note-RNN, 0 for rules-only).

Also measured: the greedy lesson (the seed-0 DQN composing greedily, and ε-greedy around the greedy
event as this kit's earlier bench did: how many different tunes), the playground's c-conditioned
network over c and temperature, and throughput.

    python bench/rl_tuner.py            # 3 seeds × 4 tunings (~10 min with 2 jobs): rl_tuner.json,
                                        # and the counted pieces in rl_tuner_compositions/
    python bench/rl_tuner.py --quick    # the shipped checkpoints only (seed 0): rl_tuner_quick.json

Prints tables (medians, and the worst seed per metric) and writes JSON atomically.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from musiclab.checkpoints import CHECKPOINT_DIR, load_model  # noqa: E402
from musiclab.eval.diversity import diversity_metrics  # noqa: E402
from musiclab.eval.melody import LOG_P_KEY, metric_table  # noqa: E402
from musiclab.eval.paper import PAPER_DQN_ROW, PAPER_KEYS, paper_metrics  # noqa: E402
from musiclab.rl import compose as composing  # noqa: E402
from musiclab.rl import tuner as T  # noqa: E402
from musiclab.rl import tuner_config as TC  # noqa: E402
from musiclab.rl.rules import rule_set  # noqa: E402
from musiclab.runtime import atomic_write_bytes  # noqa: E402

RESULTS = ROOT / "bench" / "results"
COMPOSITIONS = RESULTS / "rl_tuner_compositions"
NOTE_RNN = CHECKPOINT_DIR / "note_rnn_fast.pt"
SYSTEMS = ("note_rnn", "dqn", "psi", "g", "rules_only")
TUNED = ("dqn", "psi", "g")
LENGTH = 32
#: The keys of every row of ``paper_protocol`` (the issue's list, in its order), then the rest of the diversity.
ROW_KEYS = (*PAPER_KEYS, LOG_P_KEY, "distinct_pieces", "distinct_4gram_share", "retained_likelihood_ratio",
            "tuning_seconds", "mean_pairwise_hamming", "pitch_class_entropy")
#: Targets for the tuned networks (medians over seeds): metric → (comparison, bound). The first eleven
#: beat the paper's DQN row (Jaques et al. 2017, Table 1).
TARGETS = {
    "notes_excessively_repeated": ("<=", 0.0005), "notes_not_in_key": ("<=", 0.005),
    "autocorrelation_lag1": ("|<=|", 0.11), "autocorrelation_lag2": ("|<=|", 0.03),
    "autocorrelation_lag3": ("|<=|", 0.03), "starts_with_tonic": (">=", 0.50),
    "leaps_resolved": (">=", 0.95), "unique_max": (">=", 0.75), "unique_min": (">=", 0.75),
    "notes_in_motif": (">=", 0.76), "notes_in_repeated_motif": (">=", 0.002),
    "distinct_pieces": (">=", 0.99), "distinct_4gram_share": (">=", 0.20),
    "retained_likelihood_ratio": (">=", 0.7), "tuning_seconds": ("<=", 180.0),
}
#: The playground network's grid: c values and sampling temperatures.
SWEEP_C = (0.1, 0.3, 0.6, 1.0, 3.0)
SWEEP_TEMPERATURES = (0.25, 0.5, 1.0)
NAMES = {"note_rnn": "Note-RNN", "dqn": "DQN", "psi": "Psi", "g": "G", "rules_only": "rules only"}


def rules_only_config(seed: int) -> TC.TunerConfig:
    """The rules-only agent: the fast preset's DQN with log p dropped from the reward."""
    return TC.preset("fast", algorithm="dqn", learned_reward=False, seed=seed)


def count(pieces, note_rnn) -> dict:
    """The paper's table of ``pieces`` [N, 32] with mean log p under the Note-RNN, and their diversity."""
    return {**paper_metrics(pieces, note_rnn), **diversity_metrics(pieces)}


def compose_pieces(system: str, seed: int, n: int, shipped: bool) -> tuple[list, float]:
    """Pieces [n][32] of ``system`` for tuning seed ``seed`` (tuned now, or the shipped checkpoint), and
    its tuning seconds. Runs in a worker process: one torch thread."""
    torch.set_num_threads(1)
    note_rnn = load_model(NOTE_RNN, device="cpu")
    if system == "note_rnn":
        return note_rnn.sample(n, LENGTH, seed=seed).tolist(), 0.0
    if shipped:
        q_net = T.load_q_network(f"rl_tuner_{system}")
        seconds = q_net.extra["tuning_seconds"]
    else:
        config = rules_only_config(seed) if system == "rules_only" else TC.preset("fast", algorithm=system, seed=seed)
        tuner = T.tune(note_rnn, config, quiet=True)
        q_net, seconds = tuner.q_net, tuner.history.seconds
    return composing.compose(q_net, n, LENGTH, seed=seed, temperature=1.0).tolist(), seconds


def _compose_task(task):
    return task, compose_pieces(*task)


def paper_protocol(seeds: list[int], n: int, shipped: bool, jobs: int) -> tuple[dict, dict]:
    """Every system on every seed: rows of ``ROW_KEYS`` per seed and their per-key medians; and the pieces."""
    note_rnn = load_model(NOTE_RNN, device="cpu")
    tasks = [(system, seed, n, shipped) for seed in seeds for system in SYSTEMS]
    with multiprocessing.get_context("spawn").Pool(jobs) as pool:
        done = dict(pool.imap_unordered(_compose_task, tasks))
    rows: dict[str, list[dict]] = {system: [] for system in SYSTEMS}
    pieces: dict[tuple[str, int], list] = {}
    for seed in seeds:
        counted = {}
        for system in SYSTEMS:
            composed, seconds = done[(system, seed, n, shipped)]
            pieces[(system, seed)] = composed
            counted[system] = {**count(np.array(composed), note_rnn), "tuning_seconds": seconds, "seed": seed}
        low, high = counted["rules_only"][LOG_P_KEY], counted["note_rnn"][LOG_P_KEY]
        for system in SYSTEMS:
            row = counted[system]
            row["retained_likelihood_ratio"] = (row[LOG_P_KEY] - low) / (high - low)
            rows[system].append({key: row[key] for key in ("seed", *ROW_KEYS)})
    result = {system: {**{key: statistics.median(row[key] for row in rows[system]) for key in ROW_KEYS},
                       "seeds": rows[system]} for system in SYSTEMS}
    return result, pieces


def worst_seed(rows: list[dict]) -> dict:
    """Per metric with a target, the value of the seed farthest on the wrong side of it."""
    worst = {}
    for key, (op, _) in TARGETS.items():
        values = [row[key] for row in rows]
        worst[key] = (max(values) if op == "<=" else min(values) if op == ">=" else max(values, key=abs))
    return worst


def check(value: float, rule: tuple[str, float]) -> bool:
    """Whether ``value`` meets the target ``rule``."""
    op, bound = rule
    if value != value:
        return False
    return value <= bound if op == "<=" else value >= bound if op == ">=" else abs(value) <= bound


def greedy_lesson(q_net, n: int, note_rnn) -> dict:
    """What composing without sampling does: greedy, and ε-greedy (ε = 0.1) around the greedy event."""
    return {"greedy": count(composing.compose(q_net, n, LENGTH, seed=0, temperature=0), note_rnn),
            "epsilon_greedy_0.1": count(composing.compose(q_net, n, LENGTH, seed=0, epsilon=0.1, temperature=0), note_rnn),
            "sampled_t1": count(composing.compose(q_net, n, LENGTH, seed=0, temperature=1.0), note_rnn)}


def playground_grid(q_net, n: int, note_rnn) -> dict:
    """The c-conditioned network composing at each c of ``SWEEP_C`` and temperature of ``SWEEP_TEMPERATURES``."""
    return {f"c={c:g},T={t:g}": count(composing.compose(q_net, n, LENGTH, c=c, seed=0, temperature=t), note_rnn)
            for c in SWEEP_C for t in SWEEP_TEMPERATURES}


def throughput(note_rnn, quick: bool) -> dict:
    """Transitions per second: playing (with the rules) 128 at a time vs one at a time, and whole tuning
    runs; and the median milliseconds ``compose`` takes for one 32-step melody."""
    rules = rule_set(TC.preset("fast").rules)
    q_net = T.Tuner(note_rnn, TC.preset("fast")).q_net
    gen = torch.Generator().manual_seed(0)
    batched_n, single_n = (256, 16) if quick else (1024, 64)
    start = time.perf_counter()
    for _ in range(batched_n // 128):
        composing.play(q_net, 128, LENGTH, temperature=1.0, rules=rules, generator=gen)
    play_batched = batched_n * LENGTH / (time.perf_counter() - start)
    start = time.perf_counter()
    for _ in range(single_n):
        composing.play(q_net, 1, LENGTH, temperature=1.0, rules=rules, generator=gen)
    play_single = single_n * LENGTH / (time.perf_counter() - start)
    times = []
    for seed in range(20):
        start = time.perf_counter()
        composing.compose(q_net, 1, LENGTH, seed=seed)
        times.append(time.perf_counter() - start)
    tune_batched = T.tune(note_rnn, TC.preset("fast", episodes=batched_n), quiet=True).history
    tune_single = T.tune(note_rnn, TC.preset("fast", episodes=single_n * 2, batch_size=1), quiet=True).history
    return {
        "play_batched_transitions_per_second": play_batched,
        "play_one_at_a_time_transitions_per_second": play_single,
        "play_speedup": play_batched / play_single,
        "tune_batched_transitions_per_second": tune_batched.transitions_per_second,
        "tune_one_at_a_time_transitions_per_second": tune_single.transitions_per_second,
        "tune_speedup": tune_batched.transitions_per_second / tune_single.transitions_per_second,
        "compose_one_melody_ms": 1000 * statistics.median(times),
    }


def write_pieces(pieces: dict) -> None:
    """One JSON file per system and seed: a list of pieces, each a list of 32 event ints."""
    for (system, seed), composed in pieces.items():
        atomic_write_bytes(COMPOSITIONS / f"{system}_seed{seed}.json", json.dumps(composed).encode())


def report(protocol: dict, lesson: dict, grid: dict, figures: dict) -> dict:
    """Print the tables; return which targets each tuned network meets (medians and worst seed)."""
    keys = [*PAPER_KEYS, LOG_P_KEY, "distinct_pieces", "distinct_4gram_share", "mean_pairwise_hamming",
            "pitch_class_entropy", "retained_likelihood_ratio"]
    print("The paper's protocol (1,000 pieces sampled at temperature 1, counted as the paper counted): medians")
    print(metric_table({**{NAMES[s]: protocol[s] for s in SYSTEMS}, "paper DQN": PAPER_DQN_ROW}, keys))
    print("\nThe worst seed of each tuned network, metric by metric:")
    print(metric_table({NAMES[s]: worst_seed(protocol[s]["seeds"]) for s in TUNED}, list(TARGETS)[:-1]))
    print("\nGreedy composing plays one tune (seed-0 DQN):")
    print(metric_table(lesson, ["distinct_pieces", "distinct_4gram_share", "notes_in_motif", "leaps_resolved"]))
    print("\nThe playground's c-conditioned DQN over c and temperature:")
    print(metric_table(grid, ["leaps_resolved", "notes_in_motif", "unique_max", "distinct_4gram_share", LOG_P_KEY]))
    met = {}
    for system in TUNED:
        median_ok = {key: check(protocol[system][key], rule) for key, rule in TARGETS.items()}
        worst_ok = {key: check(value, TARGETS[key]) for key, value in worst_seed(protocol[system]["seeds"]).items()}
        met[system] = {"median": median_ok, "worst_seed": worst_ok}
        missed = [key for key, ok in median_ok.items() if not ok]
        print(f"{NAMES[system]:>4}: median misses {', '.join(missed) or 'no target'}; worst seed misses "
              f"{', '.join(k for k, ok in worst_ok.items() if not ok) or 'no target'}")
    for key, value in figures.items():
        print(f"{key}: {value:,.1f}")
    return met


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="count the shipped checkpoints (seed 0) instead of tuning")
    parser.add_argument("--seeds", type=int, default=3, help="tuning seeds 0..SEEDS-1 (default 3)")
    parser.add_argument("--n", type=int, default=1000, help="pieces per system and seed (default 1000, the paper's)")
    parser.add_argument("--jobs", type=int, default=2, help="tunings run in parallel, one thread each (default 2)")
    parser.add_argument("--out", type=Path, default=None,
                        help="JSON to write (default bench/results/rl_tuner.json, rl_tuner_quick.json with --quick)")
    args = parser.parse_args()
    for name in ("seeds", "n", "jobs"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1, got {getattr(args, name)}")
    out = args.out or RESULTS / ("rl_tuner_quick.json" if args.quick else "rl_tuner.json")
    torch.set_num_threads(1)
    started = time.perf_counter()
    seeds = [0] if args.quick else list(range(args.seeds))
    protocol, pieces = paper_protocol(seeds, args.n, args.quick, args.jobs)
    note_rnn = load_model(NOTE_RNN, device="cpu")
    lesson = greedy_lesson(T.load_q_network("rl_tuner_dqn"), args.n, note_rnn)
    grid = playground_grid(T.load_q_network("rl_tuner_playground"), args.n, note_rnn)
    figures = throughput(note_rnn, args.quick)
    met = report(protocol, lesson, grid, figures)
    if not args.quick and args.n == 1000:
        write_pieces(pieces)
    payload = {
        "benchmark": "rl_tuner", "quick": args.quick, "seeds": seeds, "compositions": args.n, "length": LENGTH,
        "protocol": "sampled from the policy at temperature 1, first event after the start token; "
                    "counted by musiclab.eval.paper.paper_metrics",
        "python": platform.python_version(), "torch": torch.__version__, "machine": platform.machine(),
        "seconds": time.perf_counter() - started,
        "paper_protocol": protocol, "paper_dqn": PAPER_DQN_ROW, "greedy_lesson": lesson,
        "playground_grid": grid, "throughput": figures,
        "targets": {key: list(rule) for key, rule in TARGETS.items()}, "targets_met": met,
    }
    atomic_write_bytes(out, json.dumps(payload, indent=2).encode())
    print(f"\nwrote {out} in {payload['seconds']:.0f} s")


if __name__ == "__main__":
    main()
