"""The default engine: a process pool over this machine's cores, one model replica per
process, each with its share of the cores for torch's threads."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from ndelab.app.engines.base import ScanOutcome
from ndelab.app.engines.work import process_scan
from ndelab.volumes.errors import NdelabError, UsageError
from ndelab.volumes.progress import Cancel, Progress, check

THREADS_ENV = "NDELAB_TORCH_THREADS"  # inference.device reads it (not imported: no torch here)

_replica: Any = None  # this worker process's model replica


def machine_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _start_worker(model: str, threads: int) -> None:
    global _replica
    os.environ[THREADS_ENV] = str(threads)
    from ndelab.inference.replica import ModelReplica

    _replica = ModelReplica(model)


def _work(path: str, known: frozenset[str]) -> ScanOutcome:
    return process_scan(path, known=known, replica=_replica)


class LocalEngine:
    """``workers`` processes (default: one per core); scans go to whichever is free. The pool
    starts with the first batch and serves the next ones (a long-running inbox, a second
    pass) until ``close()``: its processes import torch and load the model once."""

    name = "local"

    def __init__(self, workers: int | None = None) -> None:
        cores = machine_cores()
        self.workers = cores if workers is None else workers
        if self.workers < 1:
            raise UsageError(f"--workers must be at least 1, not {self.workers}")
        self.threads = max(1, cores // self.workers)
        self._pool: ProcessPoolExecutor | None = None
        self._model: str | None = None

    def _pool_for(self, model: str) -> ProcessPoolExecutor:
        if self._pool is not None and self._model != model:
            self.close()  # each process holds one model's replica
        if self._pool is None:
            # spawn, not fork: the parent may hold torch's threads, which fork leaves broken.
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_worker,
                initargs=(model, self.threads),
            )
            self._model = model
        return self._pool

    def prelabel(
        self,
        paths: Sequence[str | Path],
        *,
        model: str,
        known: frozenset[str],
        progress: Progress | None = None,
        cancel: Cancel | None = None,
    ) -> Iterator[ScanOutcome]:
        todo = [str(p) for p in paths]
        pool = self._pool_for(model)
        pending: set[Future[ScanOutcome]] = set()
        try:
            pending = {pool.submit(_work, p, known) for p in todo}
            done_count = 0
            while pending:
                done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                check(cancel, "the batch pre-label")
                for future in done:
                    done_count += 1
                    if progress is not None:
                        progress(done_count / len(todo))
                    try:
                        outcome = future.result()
                    except BrokenProcessPool:
                        self._pool = None
                        raise NdelabError(
                            "a worker process of the local engine died (out of memory, or "
                            "killed); the scans stored so far are kept: run the batch again "
                            "to do the rest"
                        ) from None
                    yield outcome
        finally:
            for future in pending:  # cancelled, or the caller stopped early
                future.cancel()

    def train(
        self,
        out_dir: Path,
        config: Any,
        *,
        progress: Progress | None = None,
        cancel: Cancel | None = None,
        log: Any = None,
    ) -> dict[str, Any]:
        """In this process: torch already spreads one training step over every core."""
        from ndelab.inference.training import train_weights

        record: dict[str, Any] = train_weights(
            out_dir, config, progress=progress, cancel=cancel, log=log
        )
        return record

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


__all__ = ["LocalEngine", "machine_cores"]
