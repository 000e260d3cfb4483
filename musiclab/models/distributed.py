"""Training past one process: torchrun's environment, DistributedDataParallel, shards, rank-0 writes.

Run a training command under ``torchrun --nproc_per_node=N`` (PyTorch's launcher) and the one loop
of :mod:`musiclab.models.train` trains with N processes: the process group starts from the
variables torchrun sets (``WORLD_SIZE``, ``RANK``, ``LOCAL_RANK``, ``MASTER_ADDR``/``PORT``) with
NCCL on GPUs and gloo on CPUs; the model is wrapped in ``DistributedDataParallel`` (gradients are
averaged over the processes in the backward pass); each step's global batch of
``TrainConfig.batch_size`` examples is split between the ranks by ``DistributedSampler``'s rule
(rank r takes positions r, r + N, ...), so N processes take the same optimizer steps on the same
global batches as one; losses and validation figures are all-reduced; only rank 0 shows progress
and writes checkpoints. Without torchrun (``WORLD_SIZE`` unset or 1) every function here is a no-op
and training is exactly the one-process run.
"""
from __future__ import annotations

import atexit
import os
from contextlib import contextmanager

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DistributedSampler

from musiclab.errors import BadParameterError
from musiclab.runtime import pick_device


def world_size() -> int:
    """Number of training processes (torchrun's ``WORLD_SIZE``; 1 without torchrun)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def rank() -> int:
    """This process's rank, 0..world_size()-1 (torchrun's ``RANK``; 0 without torchrun)."""
    return int(os.environ.get("RANK", "0"))


def is_main() -> bool:
    """True in the process that shows progress and writes files (rank 0)."""
    return rank() == 0


def active() -> bool:
    """True when running as one of several torchrun processes."""
    return world_size() > 1


def init(device=None) -> None:
    """Start the process group once, when several processes run: NCCL when training on CUDA
    (``device``, default :func:`musiclab.runtime.pick_device`), gloo otherwise. Destroyed at exit.
    A no-op for one process."""
    if not active() or dist.is_initialized():
        return
    device = local_device(pick_device(None if device is None else str(device)))
    cuda = device.type == "cuda"
    if cuda:
        torch.cuda.set_device(device)
    dist.init_process_group("nccl" if cuda else "gloo")
    atexit.register(lambda: dist.is_initialized() and dist.destroy_process_group())


def local_device(device: torch.device) -> torch.device:
    """``device``, or for CUDA under torchrun the GPU of this process (``cuda:LOCAL_RANK``)."""
    if active() and device.type == "cuda" and device.index is None:
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return device


def shard_positions(batch_size: int) -> torch.Tensor:
    """Positions in a global batch of ``batch_size`` that this rank trains on (all of them for one
    process). BadParameterError unless ``batch_size`` divides evenly between the processes."""
    if batch_size % world_size():
        raise BadParameterError(f"batch_size={batch_size} must be a multiple of the number of processes "
                                f"({world_size()}): each takes an equal share of the global batch")
    if not active():
        return torch.arange(batch_size)
    sampler = DistributedSampler(range(batch_size), num_replicas=world_size(), rank=rank(), shuffle=False)
    return torch.tensor(list(sampler), dtype=torch.long)


class _LossModule(nn.Module):
    """``compute(batch)`` as a forward pass, so DistributedDataParallel can hook the model's loss."""

    def __init__(self, model: nn.Module, compute) -> None:
        super().__init__()
        self.model, self.compute = model, compute

    def forward(self, batch):
        return self.compute(batch)


def loss_runner(model: nn.Module, compute):
    """What the loop calls for a training loss: ``compute`` itself for one process, else ``compute``
    inside DistributedDataParallel (which averages the gradients of every rank in ``backward``)."""
    if not active():
        return compute
    return DistributedDataParallel(_LossModule(model, compute))


def mean(value: float) -> float:
    """The mean of ``value`` over the processes (``value`` itself for one process)."""
    if not active():
        return float(value)
    on = torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else None
    total = torch.tensor([float(value)], dtype=torch.float64, device=on)  # NCCL reduces GPU tensors only
    dist.all_reduce(total)
    return total.item() / world_size()


def weighted_means(scores: dict[str, float], count: int) -> dict[str, float]:
    """Means over all processes of each process's means ``scores`` over its ``count`` examples (a
    process with ``count`` 0 contributes nothing). ``scores`` itself for one process."""
    if not active():
        return dict(scores)
    gathered: list = [None] * world_size()
    dist.all_gather_object(gathered, (dict(scores), int(count)))
    total = sum(n for _, n in gathered)
    keys = next(part for part, n in gathered if n)
    return {key: sum(part[key] * n for part, n in gathered if n) / total for key in keys}


def barrier() -> None:
    """Wait until every process gets here (a no-op for one process)."""
    if active() and dist.is_initialized():
        dist.barrier()


@contextmanager
def main_first(device=None):
    """Rank 0 runs the block first (e.g. building a data cache), the others after it finishes
    (reading that cache). Starts the process group for ``device`` (see :func:`init`) if it is not
    running. One process: just runs the block."""
    if not active():
        yield
        return
    init(device)
    if not is_main():
        dist.barrier()
    try:
        yield
    finally:
        if is_main():
            dist.barrier()
