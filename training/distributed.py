"""Multi-process fine-tuning with PyTorch's DistributedDataParallel, launched by ``torchrun``.

    torchrun --nproc_per_node 2 -m training.cli train --kind transformer [--device cuda] ...

Nothing changes for a single process: without torchrun's ``WORLD_SIZE`` every function here
is a no-op. Under torchrun:
- every rank runs the same command: reads the same data, fits the same (seeded) baseline,
  draws the same task schedule and the same *global* batches;
- each rank trains on its share of every global batch (``shard``, its loss weighted by the
  share's size), and DDP averages the gradients, so a step sees what one process with the
  same global batch would see (exactly for the type and topic losses, means over articles;
  closely for the summary loss, a mean over sentences);
- rank 0 alone writes checkpoints, the registry's holdout and the bundle; the others stop
  after fine-tuning (``fit_transformer`` returns ``None`` there), and ``--resume`` reads the
  checkpoint on every rank.
Backend: ``gloo`` on the CPU (what the tests use), ``nccl`` on CUDA devices.
"""
from __future__ import annotations

import os
from typing import Any, Sequence, TypeVar

T = TypeVar("T")


def world() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def rank() -> int:
    return int(os.environ.get("RANK", "0"))


def is_main() -> bool:
    return rank() == 0


def active() -> bool:
    """True once the process group is up (under torchrun, after ``start``)."""
    if world() <= 1:
        return False
    import torch.distributed as dist

    return dist.is_available() and dist.is_initialized()


def start(device: str = "cpu") -> None:
    """Join torchrun's process group (a no-op in a single process, or if already joined)."""
    if world() <= 1 or active():
        return
    import torch
    import torch.distributed as dist

    backend = "nccl" if device.startswith("cuda") else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group(backend=backend)


def device_for_rank(device: str) -> str:
    """Each rank its own GPU (``cuda`` -> ``cuda:LOCAL_RANK``); the CPU is shared."""
    if device == "cuda" and world() > 1:
        return f"cuda:{os.environ.get('LOCAL_RANK', '0')}"
    return device


def barrier() -> None:
    if active():
        import torch.distributed as dist

        dist.barrier()


def stop() -> None:
    if active():
        import torch.distributed as dist

        dist.destroy_process_group()


def shard(items: Sequence[T]) -> tuple[list[T], float]:
    """This rank's share of a global batch (every ``world``-th item, from ``rank``) and the weight
    of its loss: ``len(share) * world / len(items)``, so that DDP's mean of the ranks' gradients
    is the gradient of the whole batch's mean loss, even when the shares differ in size. A rank
    left without an item (a batch smaller than the world) gets one with weight 0: DDP needs
    every rank's backward pass."""
    if world() <= 1:
        return list(items), 1.0
    mine = list(items[rank()::world()])
    if not mine:
        return list(items[:1]), 0.0
    return mine, len(mine) * world() / len(items)


def mean_across_ranks(value: float) -> float:
    """The mean of ``value`` over the ranks (the global batch's loss, for logs and curves)."""
    if not active():
        return value
    import torch
    import torch.distributed as dist

    t = torch.tensor([value], dtype=torch.float64)
    dist.all_reduce(t)
    return float(t.item()) / world()


def any_rank(flag: bool) -> bool:
    """True on every rank if it is true on any (a stop decision all ranks must share)."""
    if not active():
        return flag
    import torch
    import torch.distributed as dist

    t = torch.tensor([1 if flag else 0])
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())


def wrap(net: Any, device: str) -> Any:
    """``net`` in DistributedDataParallel under torchrun, else ``net`` itself.

    Each step trains one task's head (partial labels), so the other heads' parameters get no
    gradient that step: ``find_unused_parameters`` lets DDP reduce the rest.
    """
    if not active():
        return net
    from torch.nn.parallel import DistributedDataParallel

    ids = [int(device.split(":")[1])] if device.startswith("cuda:") else None
    return DistributedDataParallel(net, device_ids=ids, find_unused_parameters=True)
