"""Where inference runs: CUDA when present, else the CPU; batch size from free memory."""

from __future__ import annotations

import os

import psutil
import torch

from ndelab.volumes.errors import UsageError

# Bytes of activations per input voxel per unit of network width, measured for UNet
# (fp32, eval mode, both levels' blocks and skips alive at once) with headroom.
_BYTES_PER_VOXEL_PER_BASE = 160


# A batch engine running several model replicas on one machine gives each its share of the
# cores through this variable; one process alone takes them all.
THREADS_ENV = "NDELAB_TORCH_THREADS"


def configure_threads() -> int:
    """Use the cores this process may run on (affinity), or NDELAB_TORCH_THREADS when a batch
    engine set it, at least one; returns the count."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    share = os.environ.get(THREADS_ENV, "")
    n = max(1, min(cores, int(share)) if share.isdigit() else cores)
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n


def choose_device(device: str | None = None) -> torch.device:
    """``None`` or "auto": CUDA when available, else CPU. "cpu" / "cuda" / "cuda:N" explicit."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise UsageError(f"unknown device {device!r}: use cpu, cuda or cuda:N") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise UsageError(f"device {device!r} was asked for but no CUDA GPU is available")
    if dev.type not in ("cpu", "cuda"):
        raise UsageError(f"device {device!r} is not supported: use cpu or cuda")
    return dev


def free_memory_bytes(device: torch.device) -> int:
    """Free memory on the device: the GPU's free memory, or the host's available RAM."""
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return int(free)
    return int(psutil.virtual_memory().available)


def choose_batch_size(
    device: torch.device,
    window_voxels: int,
    base_width: int,
    *,
    max_batch: int | None = None,
    free_bytes: int | None = None,
) -> int:
    """How many windows fit in half the free memory; at most 4 on CPU (no gain beyond)."""
    free = free_memory_bytes(device) if free_bytes is None else free_bytes
    per_window = window_voxels * base_width * _BYTES_PER_VOXEL_PER_BASE
    fit = int((free // 2) // max(per_window, 1))
    cap = max_batch if max_batch is not None else (32 if device.type == "cuda" else 4)
    return max(1, min(fit, cap))
