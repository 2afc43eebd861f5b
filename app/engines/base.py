"""What every batch engine shares: the outcome of one scan's work and the engine interface.

An engine runs the heavy part (read, hash, find the part, pre-label, measure the calls) on
its workers and hands each :class:`ScanOutcome` back to the driver, which alone writes the
store: one writer, whatever the number of workers.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np

from ndelab.annotation import NewIndication
from ndelab.volumes.progress import Cancel, Progress
from ndelab.volumes.volume import Volume

Status = Literal["prelabelled", "duplicate", "failed"]

# Failure kinds: a small fixed set, fit for a metric label (the sentence goes to the log).
FAILURE_KINDS = ("unreadable", "model", "cancelled", "internal")


@dataclass
class ScanOutcome:
    """One scan after a worker's pass: its calls measured and ready to store, or why not."""

    path: str
    status: Status
    sha256: str | None = None
    reason: str | None = None  # the one sentence, when failed
    failure: str | None = None  # one of FAILURE_KINDS, when failed
    header: Volume | None = None  # geometry and metadata; voxels left behind on the worker
    part_volume_mm3: float | None = None
    features: dict[str, Any] | None = None
    image_quality: dict[str, Any] | None = None  # a radiograph's gate record (volumes.quality)
    items: list[NewIndication] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)  # JSON of each stored call
    model: str | None = None
    version: str | None = None
    modality: str | None = None
    seconds: float = 0.0  # pre-label time on the worker
    device: str | None = None


class GeometryOnly:
    """Stands for the voxels in a header Volume sent back to the driver: the shape and type,
    and a clear error if anything tries to read them."""

    def __init__(self, shape: tuple[int, ...], dtype: np.dtype[Any]) -> None:
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)

    def __getitem__(self, key: Any) -> Any:
        raise RuntimeError("a scan header sent back by a batch worker holds no voxels")


class Engine(Protocol):
    """Batch work over many scans: ``prelabel`` yields outcomes as workers finish them (in
    any order); ``train`` runs the phantom recipe's training and returns its record."""

    name: str
    workers: int

    def prelabel(
        self,
        paths: Sequence[str | Path],
        *,
        model: str,
        known: frozenset[str],
        progress: Progress | None = None,
        cancel: Cancel | None = None,
    ) -> Iterator[ScanOutcome]: ...

    def train(
        self,
        out_dir: Path,
        config: Any,
        *,
        progress: Progress | None = None,
        cancel: Cancel | None = None,
        log: Any = None,
    ) -> dict[str, Any]: ...

    def close(self) -> None: ...


__all__ = ["FAILURE_KINDS", "Engine", "GeometryOnly", "ScanOutcome", "Status"]
