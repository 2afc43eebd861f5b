"""The distributed engine: Ray Data over the list of scans with an actor pool (one model
replica per actor), outcomes streamed back to the driver, which writes the store; Ray Train's
TorchTrainer for retraining, its checkpoints on a storage path every node can reach.

Never the default: ``ray.init()`` costs about 10 s and 830 MB, and on one small machine a
process pool is faster (docs/line.md). With RAY_ADDRESS set it joins that cluster and passes
no resource arguments (the cluster says what it has); without, it starts a local runtime.
"""

from __future__ import annotations

import logging
import os
import pickle
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ndelab.app.engines.base import ScanOutcome
from ndelab.app.engines.local import THREADS_ENV, machine_cores
from ndelab.app.engines.work import process_scan
from ndelab.volumes.errors import NdelabError, UsageError
from ndelab.volumes.progress import Cancel, Progress, check

log = logging.getLogger(__name__)


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise UsageError(
            "the Ray engine needs Ray: install ndelab[ray] (pip install 'ndelab[ray]')"
        ) from None
    return ray


def connect(address: str | None = None, *, num_cpus: int | None = None) -> bool:
    """Join the cluster at ``address`` (or RAY_ADDRESS), or start a local runtime; returns
    True when this call started Ray (and so should shut it down). A session already started
    (by a test fixture, or an earlier engine) is used as it is."""
    ray = _ray()
    if ray.is_initialized():
        return False
    address = address or os.environ.get("RAY_ADDRESS") or None
    try:
        if address:
            # An existing cluster: no num_cpus or other resource arguments (Ray refuses them,
            # and the cluster, not this driver, knows its nodes).
            ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False)
        else:
            ray.init(
                num_cpus=num_cpus or machine_cores(),
                include_dashboard=False,
                logging_level=logging.WARNING,
                log_to_driver=False,
            )
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = f"the Ray cluster at {address}" if address else "a local Ray runtime"
        raise NdelabError(f"could not start or join {where}: {exc}") from exc
    return True


class _Actor:
    """One Ray Data actor: one model replica, kept for every scan it is given."""

    def __init__(self, model: str, threads: int, known: frozenset[str]) -> None:
        os.environ[THREADS_ENV] = str(threads)
        from ndelab.inference.replica import ModelReplica

        self.replica = ModelReplica(model)
        self.known = known

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        outcomes = [
            pickle.dumps(process_scan(str(p), known=self.known, replica=self.replica))
            for p in batch["path"]
        ]
        return {"outcome": np.array(outcomes, dtype=object)}


class RayEngine:
    """``workers`` actors of ``cpus_per_worker`` CPUs each (default: as many as the cluster's
    CPUs allow), each pre-labelling one scan at a time."""

    name = "ray"

    def __init__(
        self,
        workers: int | None = None,
        *,
        address: str | None = None,
        cpus_per_worker: int = 1,
        storage_path: str | Path | None = None,
        train_workers: int = 1,
    ) -> None:
        if cpus_per_worker < 1:
            raise UsageError(f"CPUs per Ray worker must be at least 1, not {cpus_per_worker}")
        self._owned = connect(address)
        ray = _ray()
        cpus = int(ray.cluster_resources().get("CPU", 1))
        self.cpus_per_worker = cpus_per_worker
        self.workers = workers or max(1, cpus // cpus_per_worker)
        self.storage_path = storage_path
        # DDP on one small machine only splits its cores: one training worker unless asked.
        self.train_workers = max(1, train_workers)
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = False  # the driver reports progress itself
        logging.getLogger("ray.data").setLevel(logging.WARNING)

    def prelabel(
        self,
        paths: Sequence[str | Path],
        *,
        model: str,
        known: frozenset[str],
        progress: Progress | None = None,
        cancel: Cancel | None = None,
    ) -> Iterator[ScanOutcome]:
        ray = _ray()
        todo = [str(p) for p in paths]
        if not todo:
            return
        ds = ray.data.from_items([{"path": p} for p in todo], override_num_blocks=len(todo))
        out = ds.map_batches(
            _Actor,
            fn_constructor_kwargs={
                "model": model,
                "threads": self.cpus_per_worker,
                "known": known,
            },
            batch_size=1,
            compute=ray.data.ActorPoolStrategy(size=min(self.workers, len(todo))),
            num_cpus=self.cpus_per_worker,
        )
        for done, row in enumerate(out.iter_rows(), start=1):
            check(cancel, "the batch pre-label")
            if progress is not None:
                progress(done / len(todo))
            yield pickle.loads(row["outcome"])

    def train(
        self,
        out_dir: Path,
        config: Any,
        *,
        progress: Progress | None = None,
        cancel: Cancel | None = None,
        log: Any = None,
    ) -> dict[str, Any]:
        """Ray Train's TorchTrainer (``inference.training.distributed``); checkpoints go to
        the storage path (shared by every node on a cluster; a temp folder locally)."""
        import tempfile

        from ndelab.inference.training.distributed import train_weights_ray

        check(cancel, "training")
        storage = self.storage_path or tempfile.mkdtemp(prefix="ndelab-ray-train-")
        if log is not None:
            log(f"training on Ray Train: {self.train_workers} worker(s), storage {storage}")
        record = train_weights_ray(
            out_dir, config, workers=self.train_workers, storage_path=Path(storage).resolve()
        )
        if progress is not None:
            progress(1.0)
        return record

    def close(self) -> None:
        if self._owned:
            _ray().shutdown()
            self._owned = False


__all__ = ["RayEngine", "connect"]
