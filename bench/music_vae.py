"""Benchmark: the shipped MusicVAE (cpu preset) on held-out Essen 2-bar windows and on lullaby paths.

1. Reconstruction on random windows of the Essen test split: accuracy with no teacher forcing
   (posterior mean, argmax, the decoder fed its own outputs), teacher-forced accuracy, KL (bits per
   melody) and reconstruction loss (nats per melody). Target from the paper's models: >= 0.95.
2. Interpolation quality along 8-step paths between pairs of lullabies (first 2 bars each): share
   of notes in C major, mean step-to-step change between neighbours, and plausibility: mean log p
   (nats per step) of the inner steps under the shipped Note-RNN ``note_rnn_fast``, an independent
   melody model, for slerp and lerp in the latent space against note-space blends ('random'
   per-step mixing, 'splice'), and the two original windows for reference.
3. Training time of the shipped model, from its checkpoint extra.

    python bench/music_vae.py --quick   # 1,024 test windows, 6 lullaby pairs
    python bench/music_vae.py           # 4,096 test windows, 20 lullaby pairs

Prints a table and writes bench/results/music_vae.json (atomically).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from musiclab.checkpoints import load_checkpoint, load_model, shipped_path  # noqa: E402
from musiclab.data.cache import atomic_write_bytes  # noqa: E402
from musiclab.data.calming import calming_tunes  # noqa: E402
from musiclab.eval.melody import mean_log_p  # noqa: E402
from musiclab.models import latent  # noqa: E402
from musiclab.models import music_vae as V  # noqa: E402
from musiclab.eval import vae as VT  # noqa: E402
from musiclab.models import vae_training  # noqa: E402
from musiclab.models.train import evaluate  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "music_vae.json"
NAME = "music_vae_cpu"
#: The independent melody model that scores plausibility.
JUDGE = "note_rnn_fast"
PATH_STEPS = 8
TARGET_ACCURACY = 0.95


def _paths(model, a: np.ndarray, b: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    """The four 8-step paths from window a to window b, by method name."""
    return {"slerp": latent.interpolate(model, a, b, PATH_STEPS, method="slerp").numpy(),
            "lerp": latent.interpolate(model, a, b, PATH_STEPS, method="lerp").numpy(),
            "random_blend": VT.note_space_blend(a, b, PATH_STEPS, mode="random", seed=seed),
            "splice_blend": VT.note_space_blend(a, b, PATH_STEPS, mode="splice")}


def interpolation_quality(model, judge, pairs: int, seed: int) -> dict[str, dict[str, float]]:
    """Mean in-key share, step change and log p under ``judge`` per method over ``pairs`` lullaby pairs."""
    windows = [t.events[:vae_training.WINDOW] for t in calming_tunes(("lullaby",), quiet=True) if t.steps >= vae_training.WINDOW]
    rng = np.random.default_rng(seed)
    scores: dict[str, dict[str, list[float]]] = {}
    for _ in range(pairs):
        i, j = rng.choice(len(windows), 2, replace=False)
        originals = np.stack([windows[i], windows[j]])
        reference = scores.setdefault("originals", {"in_key_share": [], "step_change": [], "log_p": []})
        reference["in_key_share"].append(VT.in_key_share(originals))
        reference["step_change"].append(VT.step_change(originals))
        reference["log_p"].append(mean_log_p(originals, judge))
        for method, path in _paths(model, windows[i], windows[j], seed).items():
            inner = path[1:-1]  # the endpoints of the note-space blends are the originals themselves
            entry = scores.setdefault(method, {"in_key_share": [], "step_change": [], "log_p": []})
            entry["in_key_share"].append(VT.in_key_share(inner))
            entry["step_change"].append(VT.step_change(path))
            entry["log_p"].append(mean_log_p(inner, judge))
    return {method: {key: float(np.nanmean(values)) for key, values in entry.items()}
            for method, entry in scores.items()}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer test windows and lullaby pairs")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    started = time.perf_counter()
    model = load_model(NAME, device="cpu")
    extra = load_checkpoint(shipped_path(NAME))["extra"]
    windows = vae_training.essen_windows("test", 1024 if args.quick else 4096, seed=args.seed + 1)
    recon_started = time.perf_counter()
    accuracy = V.reconstruction_accuracy(model, windows)
    recon_seconds = time.perf_counter() - recon_started
    torch.manual_seed(args.seed)  # the loss samples z from the posterior
    forced = evaluate(model, windows, batch_size=512)
    pairs = 6 if args.quick else 20
    quality = interpolation_quality(model, load_model(JUDGE, device="cpu"), pairs, args.seed)
    result = {
        "quick": args.quick, "seed": args.seed, "machine": platform.processor() or platform.machine(),
        "torch_threads": 1, "checkpoint": NAME, "command": extra["command"],
        "test_windows": int(len(windows)),
        "reconstruction_accuracy": accuracy, "target_accuracy": TARGET_ACCURACY,
        "target_met": accuracy >= TARGET_ACCURACY,
        "teacher_forced_accuracy": forced["accuracy"], "kl_bits": forced["kl_bits"],
        "recon_nats": forced["recon_nats"], "reconstruction_seconds": recon_seconds,
        "interpolation_pairs": pairs, "interpolation_steps": PATH_STEPS, "interpolation_judge": JUDGE,
        "interpolation": quality,
        "training_steps": extra["steps"], "training_seconds": extra["train_seconds"],
        "total_seconds": time.perf_counter() - started,
        "load_average_1_5_15min": [round(x, 2) for x in os.getloadavg()],
    }
    print(f"{NAME}: {extra['steps']} steps, trained in {extra['train_seconds']:.0f} s ({extra['command']})")
    print(f"{len(windows)} Essen test windows: reconstruction accuracy {accuracy:.3f} (no teacher forcing; "
          f"target {TARGET_ACCURACY}: {'met' if result['target_met'] else 'NOT met'}), teacher-forced "
          f"{forced['accuracy']:.3f}, KL {forced['kl_bits']:.1f} bits, recon {forced['recon_nats']:.2f} nats/melody, "
          f"{recon_seconds:.1f} s")
    print(f"{pairs} lullaby pairs, {PATH_STEPS}-step paths (inner steps; log p under {JUDGE}, nats/step):")
    print(f"{'method':>14} {'in key':>7} {'step change':>12} {'log p':>7}")
    for method, scores in quality.items():
        print(f"{method:>14} {scores['in_key_share']:7.3f} {scores['step_change']:12.3f} {scores['log_p']:7.3f}")
    print(f"total {result['total_seconds']:.1f} s (load average {result['load_average_1_5_15min']}, "
          f"{os.cpu_count()} CPUs)")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(RESULTS, json.dumps(result, indent=1).encode())
    return result


if __name__ == "__main__":
    main()
