"""Training under torchrun (DistributedDataParallel, gloo on the CPU) matches one process.

Two processes (``python -m torch.distributed.run --standalone --nproc_per_node=2``) train a tiny
Note-RNN for a few steps (tests/distributed_worker.py); the same worker run in this process is the
reference with the same global batch.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import distributed_worker
import numpy as np
import pytest
import torch

from musiclab.errors import BadParameterError
from musiclab.models import distributed

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """(one-process report, [rank-0 report, rank-1 report], the two-process output folder)."""
    single, double = tmp_path_factory.mktemp("one"), tmp_path_factory.mktemp("two")
    distributed_worker.main(single)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    env.pop("WORLD_SIZE", None)
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                           str(ROOT / "tests" / "distributed_worker.py"), str(double)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    reports = [json.loads((double / f"rank{r}.json").read_text()) for r in (0, 1)]
    return json.loads((single / "rank0.json").read_text()), reports, double


def test_two_ranks_train_on_different_halves_of_the_same_global_batches(runs):
    one, (rank0, rank1), _ = runs
    assert (rank0["world"], rank1["world"], rank0["rank"], rank1["rank"]) == (2, 2, 0, 1)
    assert len(rank0["seen"]) == len(one["seen"]) == distributed_worker.STEPS
    for whole, mine, theirs in zip(one["seen"], rank0["seen"], rank1["seen"]):
        assert len(mine) == len(theirs) == distributed_worker.BATCH // 2
        assert not set(mine) & set(theirs)
        assert sorted(mine + theirs) == sorted(whole)


def test_the_loss_after_each_step_matches_one_process_with_the_same_global_batch(runs):
    one, (rank0, rank1), _ = runs
    np.testing.assert_allclose(rank0["train_loss"], one["train_loss"], rtol=1e-5)
    assert rank0["train_loss"] == rank1["train_loss"]  # all-reduced: every rank reports the global loss
    np.testing.assert_allclose(rank0["valid"]["loss"], one["valid"]["loss"], rtol=1e-5)
    for mine, theirs, alone in zip(rank0["weights"], rank1["weights"], one["weights"]):
        assert mine == theirs  # the ranks stay in step
        np.testing.assert_allclose(mine, alone, atol=1e-4)


def test_only_rank_zero_writes_and_exactly_one_checkpoint_file_is_left(runs):
    _, (rank0, rank1), folder = runs
    assert len(rank0["saves"]) == distributed_worker.STEPS and rank1["saves"] == []
    assert [p.name for p in (folder / "checkpoints").iterdir()] == ["model.pt"]


def test_one_process_is_unchanged_and_a_batch_must_split_evenly(monkeypatch):
    assert not distributed.active() and distributed.is_main()
    assert distributed.shard_positions(8).tolist() == list(range(8))
    assert distributed.weighted_means({"loss": 2.0}, 3) == {"loss": 2.0}
    monkeypatch.setenv("WORLD_SIZE", "3")
    monkeypatch.setenv("RANK", "1")
    with pytest.raises(BadParameterError, match="batch_size=8 must be a multiple of the number of processes"):
        distributed.shard_positions(8)
    assert distributed.shard_positions(9).tolist() == [1, 4, 7]
    assert distributed.local_device(torch.device("cpu")) == torch.device("cpu")
