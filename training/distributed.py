"""Data-parallel training across processes: the same ``xscreen train`` command under ``torchrun``.

``torchrun --standalone --nproc-per-node 2 -m xscreen.cli train ...`` starts one process per
rank with ``RANK``, ``WORLD_SIZE`` and a rendezvous in the environment; :func:`init_world` joins
them (gloo: the trainer runs on CPU). Each rank trains on its own slice of every epoch's sample
order, DistributedDataParallel averages the gradients, and rank 0 alone validates and writes the
run folder. The ranks agree on the clock (the slowest one's elapsed time) every step, so they take
the same learning rate and stop at the same step; at the end they compare their weights.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from xscreen.errors import UsageError


@dataclass(frozen=True)
class World:
    """This process's place among the training processes."""

    rank: int = 0
    size: int = 1
    local_size: int = 1

    @property
    def is_main(self) -> bool:
        """Rank 0 validates, logs and writes checkpoints."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1


SINGLE_PROCESS = World()


def init_world() -> World:
    """Join the process group that ``torchrun`` set up (a single process needs none)."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size <= 1:
        return SINGLE_PROCESS
    if not dist.is_initialized():
        dist.init_process_group(backend="gloo")
    return World(dist.get_rank(), dist.get_world_size(),
                 int(os.environ.get("LOCAL_WORLD_SIZE", str(size))))


def resolve_device(name: str, world: World = SINGLE_PROCESS) -> torch.device:
    """The device a run's step runs on: ``name`` is ``TrainConfig.device`` (auto, cpu, cuda,
    cuda:N); ``auto`` takes a CUDA GPU when torch sees one. UsageError when CUDA is asked for
    and absent, and for CUDA under ``torchrun``: data-parallel training here uses gloo on CPU
    processes, and several GPUs (NCCL) are not supported yet."""
    cuda = torch.cuda.is_available()
    if name == "auto":
        name = "cuda" if cuda and not world.distributed else "cpu"
    if name == "cpu":
        return torch.device("cpu")
    if not cuda:
        built = "built without CUDA" if torch.version.cuda is None else \
            f"built for CUDA {torch.version.cuda}, but no GPU is visible"
        raise UsageError(f"device {name}: no CUDA GPU here (torch {torch.__version__} is "
                         f"{built}); use --device cpu or auto")
    if world.distributed:
        raise UsageError(f"device {name}: data-parallel training under torchrun runs on CPU "
                         "processes only (gloo); train on one GPU with a single process")
    device = torch.device(name)
    if device.index is not None and device.index >= torch.cuda.device_count():
        raise UsageError(f"device {name}: only {torch.cuda.device_count()} GPU(s) here")
    return device


def device_description(device: torch.device) -> str:
    """What a card records of the training device: ``cpu`` or ``cuda (NVIDIA H200)``."""
    if device.type != "cuda":
        return device.type
    return f"cuda ({torch.cuda.get_device_name(device)})"


def close_world(world: World, wait: bool = False) -> None:
    """Leave the process group; ``wait``: first wait for every rank to get here (only after a
    run that finished everywhere: a rank that failed would never arrive)."""
    if world.distributed and dist.is_initialized():
        if wait:
            dist.barrier()
        dist.destroy_process_group()


def agree_max(value: float, world: World) -> float:
    """The largest ``value`` over all ranks (itself in a single process)."""
    if not world.distributed:
        return value
    tensor = torch.tensor([value], dtype=torch.float64)
    dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
    return float(tensor.item())


def average_buffers(module: nn.Module, world: World) -> None:
    """Average the floating-point buffers (BatchNorm running statistics) over the ranks.

    DDP averages gradients, so parameters stay equal; each rank's BatchNorm statistics follow
    its own batches, though, and would drift apart. Averaged after every step they stay equal
    and describe every rank's data.
    """
    if not world.distributed:
        return
    buffers = [b for b in module.buffers() if b.dtype.is_floating_point]
    if not buffers:
        return
    flat = torch.cat([b.detach().reshape(-1).to(torch.float64) for b in buffers])
    dist.all_reduce(flat, op=dist.ReduceOp.SUM)
    flat /= world.size
    offset = 0
    with torch.no_grad():
        for buffer in buffers:
            count = buffer.numel()
            buffer.copy_(flat[offset:offset + count].view_as(buffer).to(buffer.dtype))
            offset += count


def weights_digest(*modules: nn.Module) -> str:
    """SHA-256 over the parameters and buffers of ``modules``: equal only for equal weights."""
    digest = hashlib.sha256()
    for module in modules:
        for name, value in module.state_dict().items():
            digest.update(name.encode())
            digest.update(value.detach().contiguous().cpu().numpy().tobytes())
    return digest.hexdigest()


def gather_digests(digest: str, world: World) -> list[str]:
    """Every rank's digest, in rank order."""
    if not world.distributed:
        return [digest]
    gathered: list[object] = [None] * world.size
    dist.all_gather_object(gathered, digest)
    return [str(value) for value in gathered]
