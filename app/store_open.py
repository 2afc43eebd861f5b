"""Opening the window's review database, as a background job (quick_check and migrations
can take seconds on a large file): the store, the decisions a dead session left in its
journal, and the writer that commits this session's decisions.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ndelab.annotation.store import Store, open_store
from ndelab.app.decision_writer import DecisionWriter, ReplayReport, replay_journals
from ndelab.volumes.progress import Cancel, Cancelled, Progress, check, report

__all__ = ["OpenedStore", "Store", "open_review_store"]


@dataclass
class OpenedStore:
    store: Store
    writer: DecisionWriter
    replayed: ReplayReport

    def close(self) -> None:
        self.writer.close()
        self.store.close()


def open_review_store(
    url: str | Path | None, progress: Progress | None = None, cancel: Cancel | None = None
) -> OpenedStore:
    """Open (create, check, migrate) the database, replay journals of dead sessions, and
    start the decision writer. Cancelling closes what was opened."""
    what = "opening the review database"
    report(progress, 0.0)
    store = open_store(url)
    try:
        report(progress, 0.6)
        check(cancel, what)
        replayed = replay_journals(store, cancel=cancel)
        report(progress, 0.8)
        check(cancel, what)
        writer = DecisionWriter(store)
    except BaseException:
        store.close()
        raise
    if cancel is not None and cancel():
        writer.close()
        store.close()
        raise Cancelled(what)
    report(progress, 1.0)
    return OpenedStore(store, writer, replayed)
