"""Background jobs: logic functions run off the GUI thread with progress and cancel.

A job wraps ``fn(progress, cancel)``; it knows nothing of the logic, and the logic nothing of
threads. Results and failures come back to the GUI thread as signals.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from ndelab.volumes.errors import NdelabError
from ndelab.volumes.progress import Cancel, Cancelled, Progress

log = logging.getLogger(__name__)

JobFunction = Callable[[Progress, Cancel], Any]


class Job(QObject):
    progress = Signal(float)
    finished = Signal(object)
    failed = Signal(str)  # one sentence for the user
    cancelled = Signal()

    def __init__(self, name: str, fn: JobFunction) -> None:
        super().__init__()
        self.name = name
        self._fn = fn
        self._cancel = threading.Event()
        self.done = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()

    def run(self) -> None:
        try:
            self._run()
        except RuntimeError as exc:  # the job's signals were destroyed: no one is listening
            log.info("%s ended with no one to tell: %s", self.name, exc)
        finally:
            self.done.set()

    def _run(self) -> None:
        try:
            result = self._fn(self.progress.emit, self._cancel.is_set)
        except Cancelled:
            self.cancelled.emit()
        except NdelabError as exc:
            log.info("%s failed: %s", self.name, exc)
            self.failed.emit(str(exc))
        except MemoryError:
            log.exception("%s ran out of memory", self.name)
            self.failed.emit(f"{self.name} ran out of memory")
        except Exception:
            if self._signals_gone():
                raise RuntimeError("signals deleted") from None
            log.exception("%s failed unexpectedly", self.name)
            self.failed.emit(f"{self.name} failed unexpectedly; details are in the log file")
        else:
            self.finished.emit(result)

    def _signals_gone(self) -> bool:
        from shiboken6 import isValid

        return not isValid(self)


class _Runner(QRunnable):
    def __init__(self, job: Job) -> None:
        super().__init__()
        self.job = job

    def run(self) -> None:
        self.job.run()


_running: set[Job] = set()  # keeps jobs alive until they finish


def wait_for_jobs(seconds: float) -> bool:
    """Wait for the running jobs to end (at exit, after they were cancelled); True if they did."""
    return bool(QThreadPool.globalInstance().waitForDone(int(seconds * 1000)))


def start(job: Job) -> Job:
    _running.add(job)
    job.finished.connect(lambda _r: _running.discard(job))
    job.failed.connect(lambda _m: _running.discard(job))
    job.cancelled.connect(lambda: _running.discard(job))
    QThreadPool.globalInstance().start(_Runner(job))
    return job


class JobSlot:
    """One kind of background work of which only the newest job counts.

    Starting a job cancels the one before, and whatever a superseded job reports afterwards
    (progress, result, failure) is dropped. A job so stays tied to what it was started for
    (the volume on screen, the slice clicked): a slow job for scan A never lands on scan B.
    """

    def __init__(self) -> None:
        self.job: Job | None = None
        self._generation = 0

    @property
    def busy(self) -> bool:
        return self.job is not None

    def start(
        self,
        job: Job,
        finished: Callable[[Any], None],
        *,
        failed: Callable[[str], None] | None = None,
        cancelled: Callable[[], None] | None = None,
        progress: Callable[[float], None] | None = None,
    ) -> Job:
        self.cancel()
        generation = self._generation

        def current() -> bool:
            return generation == self._generation

        def ended(callback: Callable[..., None] | None, *args: Any) -> None:
            if current():
                self.job = None
                if callback is not None:
                    callback(*args)

        job.finished.connect(lambda result: ended(finished, result))
        job.failed.connect(lambda message: ended(failed, message))
        job.cancelled.connect(lambda: ended(cancelled))
        if progress is not None:
            job.progress.connect(lambda f: progress(f) if current() else None)
        self.job = job
        start(job)
        return job

    def cancel(self) -> None:
        """Cancel the current job, if any; nothing it reports from now on arrives."""
        self._generation += 1
        if self.job is not None:
            self.job.cancel()
            self.job = None
