"""Benchmark: the drum Note-CNN against a drum n-gram, and the drum metrics of the tuned Q-networks.

1. Held-out NLL (nats per step, steps 8-31) and accuracy on the mma grooves' test split of the
   shipped fast Note-CNN (``--quick``) or one trained here, against the drum n-gram whose order and
   add-k were chosen on the validation split.
2. Drum metrics (``musiclab.eval.drums``) of 1,000 two-bar patterns per system, every pattern
   started from an 8-step primer cut from a training grid (the same primers for every system):
   ``cnn`` samples the Note-CNN (temperature 1); ``log_p_tuned``, ``rule_tuned`` (drum rules 'groove'
   as r_MT, c = 0.25) and ``rules_only`` (the same tuner with log p dropped from the reward) play
   greedily. Every tuner is trained on compositions started from training openings too. mean log p
   is scored by the Note-CNN over steps 8-31.
   retained_likelihood_ratio = (mean log p of a tuned model − of the rules-only agent)
                             / (mean log p of the CNN's own samples − of the rules-only agent).
   Where "monotonous" comes from (``monotony_sources``): its share among the real grids of each
   split, the share of primers that hold one drum only, and per system its share among patterns
   whose primer holds one drum only and among the rest.
3. The ε sweep {0.01, 0.05, 0.1, 0.3, 0.5} (learned reward only, constant ε): final rolling-average
   reward (window 1000 transitions) and wall time per run, and the sweep's total wall time.

    python bench/drums.py --quick   # shipped CNN and Q-networks; short rules-only run and sweep
    python bench/drums.py           # train the CNN, tune all three agents, a longer sweep

Prints a table and writes bench/results/drums.json (atomically).
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from musiclab.checkpoints import CHECKPOINT_DIR, load_model  # noqa: E402
from musiclab.data.cache import atomic_write_bytes  # noqa: E402
from musiclab.data.drums import SILENCE  # noqa: E402
from musiclab.eval.drums import drum_metrics, metric_table, pattern_metrics  # noqa: E402
from musiclab.models import drum_data  # noqa: E402
from musiclab.rl import drum_tuning as D  # noqa: E402
from musiclab.rl import tuner as T  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "drums.json"
PATTERNS = 1000
#: The targets: metric of a system → (comparison, bound).
TARGETS = {("rule_tuned", "monotonous"): ("<=", 0.01),
           ("rule_tuned", "retained_likelihood_ratio"): (">=", 0.7)}


def _agents(quick: bool, cnn, seed: int, primers) -> tuple[dict, dict]:
    """The tuned Q-networks by system name, and the seconds each took to tune (None: shipped)."""
    settings = {"log_p_tuned": {"rules": None}, "rule_tuned": {"rules": "groove"},
                "rules_only": {"rules": "groove", "learned_reward": False}}
    shipped = {"log_p_tuned": "drum_q_logp.pt", "rule_tuned": "drum_q_groove.pt"}
    agents, seconds = {}, {}
    for name, kwargs in settings.items():
        if quick and name in shipped:
            agents[name], seconds[name] = T.load_q_network(CHECKPOINT_DIR / shipped[name]), None
            continue
        episodes = 2000 if quick else 8000
        started = time.perf_counter()
        run = D.tune_drums(cnn, D.drum_config(0.1, seed=seed, episodes=episodes, num_threads=1, **kwargs),
                           primers=primers, quiet=True)
        agents[name], seconds[name] = run.q_net, time.perf_counter() - started
    return agents, seconds


def _monotony_sources(data, primers, patterns: dict) -> dict:
    """Shares of "monotonous" grids: real ones per split, and per system split by whether the
    primer holds a single drum (or none)."""
    one_drum = np.array([len(set(row) - {SILENCE}) <= 1 for row in primers.tolist()])
    sources = {"real": {split: float(pattern_metrics(data.split(split).numpy())["monotonous"].mean())
                        for split in drum_data.SPLITS},
               "primers_with_one_drum": float(one_drum.mean())}
    for name, grids in patterns.items():
        flagged = pattern_metrics(grids.numpy())["monotonous"].astype(bool)
        sources[name] = {"after_one_drum_primer": float(flagged[one_drum].mean()),
                         "after_other_primer": float(flagged[~one_drum].mean()),
                         "from_one_drum_primers": int(flagged[one_drum].sum()), "total": int(flagged.sum())}
    return sources


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shipped checkpoints, short runs")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    data = drum_data.load_drum_data(quiet=True)
    started = time.perf_counter()
    if args.quick:
        cnn, cnn_seconds = load_model(CHECKPOINT_DIR / "drum_cnn_fast.pt"), None
    else:
        cnn, history = drum_data.train_drum_cnn("fast", args.seed, data=data, quiet=True, num_threads=1)
        cnn_seconds = history.seconds
    ngram = drum_data.fit_drum_ngram(data)
    held_out = {"note_cnn": drum_data.held_out_scores(cnn, data),
                f"n-gram (n={ngram.order}, k={ngram.k:g})": drum_data.held_out_scores(ngram, data)}

    openings = D.training_primers(data)
    agents, tune_seconds = _agents(args.quick, cnn, args.seed, openings)
    primers = drum_data.primers(data.train, PATTERNS, seed=args.seed)
    patterns = {"cnn": cnn.sample(PATTERNS, 32, primer=primers, seed=args.seed)}
    patterns.update({name: D.compose_drums(q_net, primers) for name, q_net in agents.items()})
    metrics = {name: drum_metrics(grids.numpy(), cnn, drum_data.SKIP_FIRST) for name, grids in patterns.items()}
    for name in ("log_p_tuned", "rule_tuned"):
        metrics[name]["retained_likelihood_ratio"] = D.retained_likelihood(
            metrics[name]["mean_log_p"], metrics["rules_only"]["mean_log_p"], metrics["cnn"]["mean_log_p"])

    sweep_started = time.perf_counter()
    sweep = D.epsilon_sweep(cnn, seed=args.seed, quiet=True, num_threads=1, primers=openings,
                            **({"episodes": 512, "batch_size": 16} if args.quick else {"episodes": 4000, "batch_size": 16}))
    sweep_seconds = time.perf_counter() - sweep_started

    targets = {f"{system}.{metric}": {"rule": f"{op} {bound}", "value": metrics[system][metric],
                                      "met": metrics[system][metric] <= bound if op == "<=" else metrics[system][metric] >= bound}
               for (system, metric), (op, bound) in TARGETS.items()}
    result = {"quick": args.quick, "seed": args.seed, "machine": platform.processor() or platform.machine(),
              "torch_threads": 1, "data": data.describe(), "held_out_test": held_out,
              "cnn_training_seconds": cnn_seconds, "tuning_seconds": tune_seconds, "patterns": PATTERNS,
              "metrics": metrics, "monotony_sources": _monotony_sources(data, primers, patterns),
              "targets": targets, "sweep": sweep.as_dict(),
              "sweep_final_reward": {str(k): v for k, v in sweep.final_rewards().items()},
              "sweep_seconds": sweep_seconds, "total_seconds": time.perf_counter() - started}
    print(data.summary())
    for name, scores in held_out.items():
        print(f"{name:>24}: test NLL {scores['nll']:.3f} nats/step, accuracy {scores['accuracy']:.3f}")
    print(metric_table(metrics))
    for name in ("log_p_tuned", "rule_tuned"):
        print(f"retained likelihood ratio {name}: {metrics[name]['retained_likelihood_ratio']:.3f}")
    sources = result["monotony_sources"]
    print("monotonous real grids: " + ", ".join(f"{k} {100 * v:.1f} %" for k, v in sources["real"].items())
          + f"; primers holding one drum: {100 * sources['primers_with_one_drum']:.1f} %")
    for name in patterns:
        row = sources[name]
        print(f"monotonous {name:>12}: {100 * row['after_one_drum_primer']:5.1f} % after one-drum primers, "
              f"{100 * row['after_other_primer']:5.1f} % after the others "
              f"({row['from_one_drum_primers']} of {row['total']} from one-drum primers)")
    for eps, reward in sweep.final_rewards().items():
        print(f"ε = {eps:<5g} final rolling reward {reward:.3f} nats/step, {sweep.seconds[eps]:.1f} s")
    print(f"sweep wall time {sweep_seconds:.1f} s")
    for key, target in targets.items():
        print(f"target {key} {target['rule']}: {target['value']:.3f} {'met' if target['met'] else 'NOT met'}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(RESULTS, json.dumps(result, indent=1).encode())
    return result


if __name__ == "__main__":
    main()
