"""Benchmark: held-out NLL and accuracy of the shipped Note-RNNs against the baselines; training cost.

Scores (deterministic): every shipped melody model and the baselines on the Essen test split,
cut into non-overlapping windows of 64 steps, each scored from the begin-of-sequence input
(NLL in nats per step over all steps, and over steps 32-63, after a warm-up like the RL Tuner's
skipped losses; next-event accuracy = the most probable event is the true one). The baselines
are fitted on the training windows: the n-gram's order and add-k are chosen on the validation
windows. The notes-and-chords model is scored the same way on the chorale test split (windows
of 40 tokens) against an n-gram and a unigram over its vocabulary.

Timings (medians of repeated runs): training throughput in steps per second of each shipped
model's own training recipe, timed over a short run; the full training wall time stored in
each checkpoint; with ``--retrain``, each shipped training command run again (wall time with
data loading, and whether it reproduces the shipped weights bit for bit).
Prints a table and writes bench/results/note_rnn.json.

    python bench/note_rnn.py             # scores, 3 timed runs of 40 steps per model
    python bench/note_rnn.py --quick     # scores, 1 timed run of 10 steps (CI speed)
    python bench/note_rnn.py --retrain   # also re-run every shipped training command (minutes)
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from musiclab import cli  # noqa: E402
from musiclab.checkpoints import CHECKPOINT_DIR, SHIPPED, load_checkpoint  # noqa: E402
from musiclab.models import train as training, train_config  # noqa: E402
from musiclab.models.melody_data import (TOKEN_CORPUS, fit_baselines, load_trained,  # noqa: E402
                                         load_windows, score)
from musiclab.models.note_rnn import NoteRNN  # noqa: E402
from musiclab.runtime import atomic_write_bytes  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "note_rnn.json"
#: Steps of the melody test windows after which the "late" NLL is counted.
WARM_UP = 32


def shipped_models() -> dict[str, object]:
    """Every shipped Note-RNN checkpoint that exists, loaded on the CPU: name -> TrainedModel."""
    paths = {name: CHECKPOINT_DIR / entry.file for name, entry in SHIPPED.items()}
    return {name: load_trained(name, device="cpu") for name, path in paths.items()
            if path.is_file() and load_checkpoint(path)["kind"] == NoteRNN.kind}


def score_rows(data, models: dict[str, object], kinds: dict[str, str], warm_up: int | None) -> list[dict]:
    """One row per model: NLL (all steps and after ``warm_up``), bits, accuracy on ``data.test``."""
    rows = []
    for name, model in models.items():
        figures = score(model, data.test)
        row = {"data": f"{data.corpus} test", "model": name, "kind": kinds[name],
               "nll": figures["nll"], "bits": figures["bits"], "accuracy": figures["accuracy"],
               "steps": figures["steps"], "windows": int(data.test.shape[0]), "window": data.window}
        if warm_up is not None:
            row["nll_after_warm_up"] = score(model, data.test, skip_first=warm_up)["nll"]
        parameters = getattr(model, "parameters", None)
        row["parameters"] = sum(p.numel() for p in parameters()) if parameters else None
        rows.append(row)
    return rows


def throughput(trained, steps: int, runs: int) -> dict:
    """Median steps/s of ``runs`` short training runs with the model's own stored recipe."""
    stored = trained.extra["train_config"]
    config = train_config.TrainConfig(**{**stored, "steps": steps, "eval_every": 10 ** 9})
    data = trained.extra["data"]
    windows = load_windows(data["corpus"], window=data["window"], hop=data["hop"], subset=data["subset"],
                           split_seed=data["split_seed"], quiet=True).train
    rates = []
    for run in range(runs):
        torch.manual_seed(run)
        model = NoteRNN(trained.model.config)
        history = training.train(model, windows, None, config, device="cpu", quiet=True)
        rates.append(history.steps_per_second)
    rate = statistics.median(rates)
    return {"steps_per_second": rate, "min": min(rates), "max": max(rates), "runs": runs, "steps": steps,
            "windows_per_second": rate * config.batch_size,
            "events_per_second": rate * config.batch_size * config.window,
            "threads": config.num_threads or torch.get_num_threads()}


def retrain(name: str, trained) -> dict:
    """Run the shipped training command again into a temporary file; wall time and same weights?"""
    argv = shlex.split(trained.extra["command"])[1:]
    with tempfile.TemporaryDirectory(prefix="musiclab-retrain-") as folder:
        out = Path(folder) / "model.pt"
        argv[argv.index("--out") + 1] = str(out)
        start = time.perf_counter()
        status = cli.main(argv + ["--quiet"])
        seconds = time.perf_counter() - start
        if status != 0:
            return {"model": name, "status": status}
        again = load_checkpoint(out)
    shipped = load_checkpoint(CHECKPOINT_DIR / SHIPPED[name].file)["state_dict"]
    same = all(torch.equal(shipped[k], again["state_dict"][k]) for k in shipped)
    return {"model": name, "wall_seconds": seconds, "train_seconds": again["extra"]["seconds"],
            "valid_nll": again["extra"]["valid"]["nll"], "same_weights": same}


def print_scores(rows: list[dict]) -> None:
    print(f"{'data':22} {'model':34} {'NLL':>7} {'late':>7} {'bits':>6} {'acc':>6} {'params':>9}")
    for r in rows:
        late = f"{r['nll_after_warm_up']:7.3f}" if "nll_after_warm_up" in r else f"{'':7}"
        params = "" if r["parameters"] is None else f"{r['parameters']:,}"
        print(f"{r['data']:22} {r['model']:34} {r['nll']:7.3f} {late} {r['bits']:6.3f} "
              f"{r['accuracy']:6.3f} {params:>9}")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 timed run of 10 steps per model (default 3 of 40)")
    parser.add_argument("--retrain", action="store_true", help="re-run every shipped training command, timed")
    args = parser.parse_args(argv)
    runs, steps = (1, 10) if args.quick else (3, 40)
    load_at_start = list(os.getloadavg())
    started = time.perf_counter()

    shipped = shipped_models()
    melody = {n: t for n, t in shipped.items() if t.vocabulary is None}
    tokens = {n: t for n, t in shipped.items() if t.vocabulary is not None}
    essen = load_windows("essen", "fast", quiet=True)
    baselines = fit_baselines(essen)
    models = {**{n: t.model for n, t in melody.items()}, **baselines}
    kinds = {**{n: "Note-RNN" for n in melody}, **{n: "baseline" for n in baselines}}
    rows = score_rows(essen, models, kinds, WARM_UP)
    ngram_name = next(iter(baselines))
    by_model = {r["model"]: r for r in rows}
    summary = {"ngram": ngram_name, "ngram_nll": by_model[ngram_name]["nll"],
               "ngram_accuracy": by_model[ngram_name]["accuracy"],
               "ngram_nll_over_model_nll": {name: by_model[ngram_name]["nll"] / by_model[name]["nll"]
                                            for name in melody}}
    for name, trained in tokens.items():
        data = trained.extra["data"]
        chorales = load_windows(TOKEN_CORPUS, window=data["window"], hop=data["hop"], subset=data["subset"],
                                split_seed=data["split_seed"], quiet=True)
        token_baselines = fit_baselines(chorales)
        token_models = {name: trained.model, **token_baselines}
        rows += score_rows(chorales, token_models,
                           {name: "Note-RNN", **{n: "baseline" for n in token_baselines}}, None)

    speed = {}
    for name, trained in shipped.items():
        speed[name] = {**throughput(trained, steps, runs), "stored_train_seconds": trained.extra["seconds"],
                       "stored_steps_per_second": trained.extra["steps_per_second"],
                       "stored_steps": len(trained.extra["history"]["train_loss"]),
                       "command": trained.extra["command"]}
    retrained = [retrain(name, trained) for name, trained in shipped.items()] if args.retrain else []

    print_scores(rows)
    print()
    for name, ratio in summary["ngram_nll_over_model_nll"].items():
        print(f"{summary['ngram']} NLL / {name} NLL = {ratio:.3f} "
              f"({summary['ngram_nll']:.3f} vs {by_model[name]['nll']:.3f} nats per step)")
    print(f"\n{'model':26} {'steps/s':>8} {'min':>7} {'max':>7} {'events/s':>9} {'thr':>3} "
          f"{'stored train s':>15} {'steps':>6}")
    for name, s in speed.items():
        print(f"{name:26} {s['steps_per_second']:8.2f} {s['min']:7.2f} {s['max']:7.2f} "
              f"{s['events_per_second']:9.0f} {s['threads']:>3} {s['stored_train_seconds']:15.1f} "
              f"{s['stored_steps']:>6}")
    for r in retrained:
        if "wall_seconds" in r:
            print(f"retrained {r['model']}: {r['wall_seconds']:.1f} s wall ({r['train_seconds']:.1f} s training), "
                  f"valid NLL {r['valid_nll']:.4f}, same weights as shipped: {r['same_weights']}")
        else:
            print(f"retrained {r['model']}: the command failed with status {r['status']}")
    result = {
        "benchmark": "note_rnn",
        "command": "python bench/note_rnn.py" + (" --quick" if args.quick else "")
                   + (" --retrain" if args.retrain else ""),
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "torch": str(torch.__version__),
                    "platform": platform.platform(), "load_average_start": load_at_start,
                    "load_average_end": list(os.getloadavg())},
        "protocol": {"melody_test": essen.describe(), "warm_up_steps": WARM_UP,
                     "ngram_choice": "order 1-8 and k in (0.01, 0.1, 0.5) by validation NLL",
                     "throughput": {"runs": runs, "steps": steps}},
        "summary": summary,
        "scores": rows,
        "throughput": speed,
        "retrain": retrained,
        "seconds": time.perf_counter() - started,
    }
    atomic_write_bytes(RESULTS, (json.dumps(result, indent=2) + "\n").encode())
    print(f"wrote {RESULTS.relative_to(ROOT)} ({result['seconds']:.0f} s)")
    return result


if __name__ == "__main__":
    main()
