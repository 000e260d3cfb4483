"""Benchmark: the Launchpad DJ's agents and environment (notebook 06).

Tabular Q-learning on the paper's reduced problem (1 note, 4 steps): the steps to the maximal
reward within 300 steps, and the steps back to it after each random reset (resets every 500 of
3000 steps), medians over seeds. The MCMC beta sweep (13 betas over 0.01..10, 16 chains each):
the best beta per seed and the reward ceiling. DQN: the shipped linear and MLP agents (fast
preset on the 8-note x 16-step launchpad) against a random and a one-step-lookahead policy, mean
reward per step over 40 evaluation episodes; the full mode also trains both Q-functions again for
several seeds. Beside them, an off-the-shelf agent: stable-baselines3's DQN (``musiclab.envs.baselines``)
trained on the same launchpad for the same 6,000 steps, several seeds, measured by the same
episodes; the medians over seeds of the kit's MLP DQN and of it. Environment speed: steps per second of ``LaunchpadEnv.step`` (random actions),
and of the vectorised ``apply_batch`` + ``render_bars`` + ``rewards`` on 256 states at once, on
the full (24 x 64) and the small (8 x 16) launchpad, medians of repeated timings.
Prints a table and writes bench/results/launchpad.json.

    python bench/launchpad.py            # 16 seeds; DQN retrained for seeds 0-2, SB3 DQN seeds 0-4 (minutes)
    python bench/launchpad.py --quick    # 8 seeds, shipped DQN agents, SB3 DQN seeds 0-1 (minutes)
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# One BLAS thread: the reward's small matrix products run up to 10x slower with two threads on
# a busy 2-core machine. Set before NumPy loads; an explicit setting in the environment wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from musiclab.data.cache import atomic_write_bytes  # noqa: E402
from musiclab.launchpad.agents import (beta_sweep, lookahead_policy, play_policy,  # noqa: E402
                                       q_learning)
from musiclab.launchpad.dqn import DQNConfig, load_agent, q_network_policy, train_dqn  # noqa: E402
from musiclab.envs.baselines import launchpad_policy, train_off_the_shelf  # noqa: E402
from musiclab.launchpad.env import LaunchpadEnv, reduced_env  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "launchpad.json"
#: Evaluation episodes (seeds 1000, 1001, ...) for every DQN comparison.
EVAL_EPISODES = 40
#: States stepped at once in the vectorised timing.
BATCH = 256


def tabular(seeds: int) -> dict:
    """Steps to the maximum within 300 steps, and to recover after each reset, over seeds."""
    env = reduced_env()
    first = [q_learning(env, steps=300, reset_every=10_000, seed=s).first_max_step
             for s in range(seeds)]
    recover = np.concatenate([q_learning(env, steps=3000, reset_every=500, seed=s).recover_steps
                              for s in range(seeds)])
    reached = [f for f in first if np.isfinite(f)]
    return {"seeds": seeds, "reached_within_300": len(reached),
            "median_steps_to_max": float(np.median(reached)) if reached else None,
            "max_steps_to_max": float(max(reached)) if reached else None,
            "resets": int(recover.size), "recovered": int(np.isfinite(recover).sum()),
            "median_steps_to_recover": float(np.nanmedian(recover)),
            "p90_steps_to_recover": float(np.nanpercentile(recover, 90))}


def sweep(seeds: int) -> dict:
    """The best beta of :func:`beta_sweep` for each seed, and the curve of seed 0."""
    env = reduced_env()
    runs = [beta_sweep(env, repeats=16, seed=s, quiet=True) for s in range(seeds)]
    best = [r.best_beta for r in runs]
    first = runs[0]
    top = int(np.argmax(first.greedy_mean))
    gap = first.greedy_mean[top] - first.greedy_mean
    within = first.betas[gap <= 2 * np.hypot(first.greedy_sem, first.greedy_sem[top])]
    return {"seeds": seeds, "best_beta_median": float(np.median(best)),
            "best_beta_min": float(min(best)), "best_beta_max": float(max(best)),
            "plateau_seed0": [float(within.min()), float(within.max())],
            "ceiling": first.ceiling, "betas": first.betas.tolist(),
            "greedy_mean_seed0": first.greedy_mean.tolist(),
            "greedy_sem_seed0": first.greedy_sem.tolist()}


def evaluate(env: LaunchpadEnv, policy, epsilon: float = 0.0) -> dict:
    """Mean reward per step and mean final reward over the evaluation episodes."""
    episodes = [play_policy(env, policy, epsilon=epsilon, seed=1000 + i)
                for i in range(EVAL_EPISODES)]
    return {"mean_reward": float(np.mean([e.rewards.mean() for e in episodes])),
            "final_reward": float(np.mean([e.rewards[-1] for e in episodes]))}


def dqn(retrain_seeds: int, sb3_seeds: int) -> dict:
    """The shipped agents and the reference policies; optionally fresh runs of both Q-functions;
    stable-baselines3's DQN for ``sb3_seeds`` seeds; medians over seeds of the MLP and of SB3."""
    agents = {q: load_agent(f"launchpad_dqn_{q}") for q in ("linear", "mlp")}
    env = agents["mlp"].make_env()
    rows = {"random": evaluate(env, lookahead_policy, epsilon=1.0),
            "lookahead": evaluate(env, lookahead_policy)}
    for q, agent in agents.items():
        rows[f"shipped {q}"] = {**evaluate(env, agent.policy()),
                                "train_seconds": agent.extra["seconds"]}
    for q in ("linear", "mlp"):
        for seed in range(retrain_seeds):
            start = time.perf_counter()
            run = train_dqn(env, DQNConfig.fast(), q_function=q, seed=seed, quiet=True)
            rows[f"{q} seed {seed}"] = {**evaluate(env, q_network_policy(run.network)),
                                        "train_seconds": time.perf_counter() - start}
    steps, scale = DQNConfig.fast().steps, 1.0 / (env.notes * env.bar_steps)
    for seed in range(sb3_seeds):
        start = time.perf_counter()
        model = train_off_the_shelf(env, "dqn", steps=steps, seed=seed, reward_scale=scale)
        rows[f"sb3 dqn seed {seed}"] = {**evaluate(env, launchpad_policy(model)),
                                        "train_seconds": time.perf_counter() - start}
    mlp_rows = [row for name, row in rows.items() if name.startswith("mlp seed")] or [rows["shipped mlp"]]
    sb3_rows = [row for name, row in rows.items() if name.startswith("sb3 dqn seed")]
    medians = {name: {"seeds": len(chosen),
                      **{key: statistics.median(row[key] for row in chosen)
                         for key in ("mean_reward", "final_reward", "train_seconds")}}
               for name, chosen in (("kit mlp dqn", mlp_rows), ("sb3 dqn", sb3_rows)) if chosen}
    return {"launchpad": agents["mlp"].env_settings, "ceiling": env.reward_ceiling(),
            "episodes": EVAL_EPISODES, "train_steps": steps, "rows": rows, "medians": medians}


def env_speed(repeats: int, steps: int) -> dict:
    """Median steps per second, single and vectorised, on the full and the small launchpad."""
    rng = np.random.default_rng(0)
    out = {}
    for name, notes, beats_log2 in (("full 24x64", 24, 6), ("small 8x16", 8, 4)):
        bars = rng.random((32, notes, 2 ** beats_log2)) < 0.2
        env = LaunchpadEnv(bars, notes=notes, beats_log2=beats_log2, k=16, max_steps=10 ** 9)
        actions = rng.integers(0, env.num_actions, size=steps)
        single, batched = [], []
        for _ in range(repeats):
            env.reset()
            start = time.perf_counter()
            for action in actions:
                env.step(int(action))
            single.append(steps / (time.perf_counter() - start))
            toggles = rng.random((BATCH, notes, beats_log2 + 1)) < 0.5
            offsets = rng.integers(0, env.bar_steps, size=(BATCH, notes))
            start = time.perf_counter()
            for _ in range(steps // 10):
                toggles, offsets = env.apply_batch(
                    toggles, offsets, rng.integers(0, env.num_actions, size=BATCH))
                env.rewards(env.render_bars(toggles, offsets))
            batched.append(BATCH * (steps // 10) / (time.perf_counter() - start))
        out[name] = {"single_steps_per_second": statistics.median(single),
                     "vectorised_steps_per_second": statistics.median(batched),
                     "batch": BATCH, "actions": env.num_actions, "repeats": repeats}
    return out


def print_table(result: dict) -> None:
    t = result["tabular"]
    print(f"tabular Q, reduced launchpad ({t['seeds']} seeds): reached the maximum within 300 "
          f"steps in {t['reached_within_300']}/{t['seeds']} runs, median "
          f"{t['median_steps_to_max']:.1f} steps (max {t['max_steps_to_max']:.0f}); recovered "
          f"after {t['recovered']}/{t['resets']} "
          f"resets, median {t['median_steps_to_recover']:.1f} steps (90th pct "
          f"{t['p90_steps_to_recover']:.1f})")
    s = result["beta_sweep"]
    print(f"MCMC beta sweep ({s['seeds']} seeds): best beta median {s['best_beta_median']:.3g} "
          f"(range {s['best_beta_min']:.3g}-{s['best_beta_max']:.3g}); seed 0 within 2 SE of its "
          f"best for beta in {s['plateau_seed0'][0]:.3g}-{s['plateau_seed0'][1]:.3g}; ceiling "
          f"{s['ceiling']:.0f}")
    d = result["dqn"]
    print(f"\nDQN, {d['launchpad']['notes']} notes x {2 ** d['launchpad']['beats_log2']} steps "
          f"(ceiling {d['ceiling']:.0f}), {d['episodes']} evaluation episodes:")
    print(f"{'policy':18} {'mean reward':>12} {'final reward':>13} {'train s':>8}")
    for name, row in d["rows"].items():
        seconds = f"{row['train_seconds']:8.1f}" if "train_seconds" in row else f"{'':8}"
        print(f"{name:18} {row['mean_reward']:12.2f} {row['final_reward']:13.2f} {seconds}")
    print(f"\nmedians over seeds, {d['train_steps']:,} training steps each:")
    for name, row in d["medians"].items():
        print(f"{name:18} {row['mean_reward']:12.2f} {row['final_reward']:13.2f} "
              f"{row['train_seconds']:8.1f}  ({row['seeds']} seeds)")
    print(f"\n{'launchpad':12} {'actions':>7} {'steps/s single':>15} {'steps/s vectorised':>19}")
    for name, row in result["env_speed"].items():
        print(f"{name:12} {row['actions']:7d} {row['single_steps_per_second']:15,.0f} "
              f"{row['vectorised_steps_per_second']:19,.0f}")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="8 seeds, no DQN retraining, 2 SB3 seeds, 3 speed timings (minutes)")
    args = parser.parse_args(argv)
    seeds, sweep_seeds, retrain, sb3, repeats = (8, 3, 0, 2, 3) if args.quick else (16, 8, 3, 5, 5)
    torch.set_num_threads(1)
    load_at_start = list(os.getloadavg())
    started = time.perf_counter()
    result = {"tabular": tabular(seeds), "beta_sweep": sweep(sweep_seeds), "dqn": dqn(retrain, sb3),
              "env_speed": env_speed(repeats, 2000)}
    result["meta"] = {"quick": args.quick, "seconds": time.perf_counter() - started,
                      "load_at_start": load_at_start, "cpus": os.cpu_count(),
                      "torch": str(torch.__version__), "python": platform.python_version(),
                      "torch_threads": 1,
                      "openblas_threads": os.environ["OPENBLAS_NUM_THREADS"]}
    print_table(result)
    atomic_write_bytes(RESULTS, (json.dumps(result, indent=2) + "\n").encode())
    print(f"\n{result['meta']['seconds']:.0f} s; wrote {RESULTS.relative_to(ROOT)}")
    return result


if __name__ == "__main__":
    main()
