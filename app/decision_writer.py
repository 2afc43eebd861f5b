"""Review decisions written to the store in the background: in order, retried, never lost.

A decision key applies its decision to the session at once and hands the store commit to a
DecisionWriter, whose one thread commits the decisions in the order they were made. While
another connection (a sync, another process) holds SQLite's write lock, the writer retries
and the reviewer keeps working: only this thread waits on the lock.

Before its commit each decision is appended to a journal beside the database (one fsync per
batch; no database lock can delay it), and marked done after. A journal left by a process
that died is replayed, once and in order, the next time the database opens
(replay_journals). Qt-free: each decision's ``done`` callback runs on the writer's thread.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

from ndelab.annotation.errors import ConflictError, ReviewError, StoreError
from ndelab.annotation.store import Store, audit, review
from ndelab.volumes.errors import NdelabError
from ndelab.volumes.progress import Cancel, Progress, check, report

try:  # POSIX: a live writer's journal is locked, so no other process replays it
    import fcntl
except ImportError:  # pragma: no cover  (Windows: journals are still written and replayed)
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

#: How long one commit attempt waits for SQLite's write lock before the writer looks for
#: new decisions to journal and tries again.
WRITE_WAIT_S = 0.2
RETRY_S = 0.05
# A commit waits for a pause in the keys (QUIET_S), at most MAX_DEFER_S: a burst of decisions
# is journaled at once (durable) and committed in the gaps, not while the next key is handled.
QUIET_S = 0.03
MAX_DEFER_S = 0.25
JOURNAL_GLOB = "{name}.decisions-*.jsonl"


@dataclass(frozen=True)
class Decision:
    """One reviewer decision on one call, as made (before the store has it)."""

    call_id: str
    action: str
    user: str
    base_revision: int  # the call's revision the reviewer saw
    reason: str | None = None
    cls: str | None = None
    id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def to_json(self) -> dict[str, Any]:
        return {"op": "decision", **asdict(self)}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Decision:
        return cls(
            call_id=str(raw["call_id"]),
            action=str(raw["action"]),
            user=str(raw["user"]),
            base_revision=int(raw["base_revision"]),
            reason=raw.get("reason"),
            cls=raw.get("cls"),
            id=str(raw["id"]),
        )


Commit = Callable[[], dict[str, Any]]
#: Called on the writer's thread once a decision is settled: (decision, the call as stored,
#: None) when saved, (decision, None, one sentence) when it could not be.
Done = Callable[[Decision, "dict[str, Any] | None", "str | None"], None]


def is_busy(error: BaseException) -> bool:
    """True when a store error means "another connection holds the lock; try again"."""
    seen: BaseException | None = error
    while seen is not None:
        original = getattr(seen, "orig", None) or seen
        if isinstance(original, sqlite3.OperationalError):
            text = str(original).lower()
            return "locked" in text or "busy" in text
        seen = seen.__cause__
    return False


def journal_paths(store: Store) -> list[Path]:
    """Decision journals beside a SQLite database, oldest first."""
    if store.path is None:
        return []
    found = store.path.parent.glob(JOURNAL_GLOB.format(name=store.path.name))
    return sorted(found, key=lambda p: (p.stat().st_mtime, p.name))


class _Journal:
    """An append-only JSON-lines file, locked while its writer lives."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[bytes] | None = None
        self.entries = 0

    def _open(self) -> IO[bytes]:
        if self._file is None:
            self._file = self.path.open("ab")
            if fcntl is not None:
                fcntl.flock(self._file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        return self._file

    def append(self, records: list[dict[str, Any]], *, sync: bool) -> None:
        f = self._open()
        f.write(b"".join(json.dumps(r).encode() + b"\n" for r in records))
        f.flush()
        if sync:
            os.fsync(f.fileno())
        self.entries += len(records)

    def clear(self) -> None:
        """Everything in it is in the store: start it again empty (still locked)."""
        if self._file is not None and self.entries:
            self._file.truncate(0)
            self._file.flush()
            self.entries = 0

    def close(self) -> None:
        """Close it; an empty journal is removed, one with decisions stays to be replayed."""
        if self._file is None:
            return
        empty = self.entries == 0
        if empty:
            self.path.unlink(missing_ok=True)  # before the lock goes: no one replays it
        self._file.close()
        self._file = None


class DecisionWriter:
    """Commits decisions in order on one thread; see the module docstring.

    ``store`` is the session's store; the writer opens its own connection to the same
    database with a short lock wait (WRITE_WAIT_S), so that a held lock never stops it from
    journaling what arrives meanwhile. ``self.store`` is that connection: the session's undo
    stack writes through it too.
    """

    def __init__(
        self,
        store: Store,
        *,
        journal: bool = True,
        write_wait_s: float = WRITE_WAIT_S,
    ) -> None:
        self.main_store = store
        if store.is_sqlite:
            self.store = Store(
                store.url,
                busy_timeout_s=write_wait_s,
                check=False,
                workstation=store.workstation_id,
            )
        else:
            self.store = store
        self._journal: _Journal | None = None
        if journal and store.path is not None:
            name = f"{store.path.name}.decisions-{uuid.uuid4()}.jsonl"
            self._journal = _Journal(store.path.parent / name)
        self._cv = threading.Condition()
        self._incoming: list[tuple[Decision, Commit, Done]] = []
        # Journaled, not yet committed (with when it was journaled); only the writer's thread
        # touches it.
        self._queue: deque[tuple[Decision, Commit, Done, float]] = deque()
        self._pending = 0  # submitted and not yet saved or failed
        self._last_submit = 0.0
        self._hurry = 0  # callers waiting in flush: commit without waiting for a pause
        self._stopping = False
        self._deadline: float | None = None
        self.busy_retries = 0  # commit attempts that found the database locked
        self._thread = threading.Thread(target=self._run, name="ndelab-decision-writer")
        self._thread.daemon = True  # a kill leaves the journal; the next open replays it
        self._thread.start()

    # -- the caller's side ------------------------------------------------------------

    def submit(self, decision: Decision, commit: Commit, done: Done) -> None:
        """Queue a decision and return at once. On the writer's thread ``commit`` writes it
        and returns the call as stored; ``done`` then hears how it went."""
        with self._cv:
            if self._stopping:
                raise ReviewError("the review is closing; the decision was not taken")
            self._incoming.append((decision, commit, done))
            self._pending += 1
            self._last_submit = time.monotonic()
            self._cv.notify_all()

    @property
    def pending(self) -> int:
        """Decisions submitted and not yet in the store (nor failed)."""
        with self._cv:
            return self._pending

    def flush(self, timeout_s: float | None = None) -> bool:
        """Wait until every submitted decision is saved or has failed; False on timeout."""
        end = None if timeout_s is None else time.monotonic() + timeout_s
        with self._cv:
            self._hurry += 1
            self._cv.notify_all()
            try:
                while self._pending:
                    left = None if end is None else end - time.monotonic()
                    if left is not None and left <= 0:
                        return False
                    self._cv.wait(left)
                return True
            finally:
                self._hurry -= 1

    def close(self, timeout_s: float = 5.0) -> bool:
        """Stop taking decisions, commit what is queued (waiting up to ``timeout_s`` for a
        lock) and end the thread. Returns whether everything reached the store; what did
        not stays in the journal for the next open."""
        with self._cv:
            self._stopping = True
            self._deadline = time.monotonic() + timeout_s
            self._cv.notify_all()
        self._thread.join(timeout_s + 1.0)
        done = self.pending == 0
        if self.store is not self.main_store:
            self.store.close()
        return done

    # -- the writer's thread ----------------------------------------------------------

    def _run(self) -> None:
        try:
            self._loop()
        finally:
            if self._journal is not None:
                with contextlib.suppress(OSError):
                    self._journal.close()

    def _loop(self) -> None:
        while True:
            with self._cv:
                while not self._incoming and not self._queue and not self._stopping:
                    self._cv.wait()
                batch, self._incoming = self._incoming, []
                if self._stopping and not batch and not self._queue:
                    return
                late = self._deadline is not None and time.monotonic() > self._deadline
            if batch:
                self._write_journal([d.to_json() for d, _, _ in batch], sync=True)
                self._queue.extend((d, c, f, time.monotonic()) for d, c, f in batch)
            if late:
                return
            if self._wait_for_a_pause():
                continue
            decision, commit, done, _ = self._queue[0]
            outcome = self._commit(decision, commit, done)
            if outcome is None:  # locked: journal what arrives meanwhile, then try again
                self.busy_retries += 1
                with self._cv:
                    if not self._incoming:
                        self._cv.wait(RETRY_S)
                continue
            self._queue.popleft()
            self._write_journal([{"op": "done", "id": decision.id, "outcome": outcome}])
            with self._cv:
                self._pending -= 1
                if not self._pending and not self._queue and self._journal is not None:
                    with contextlib.suppress(OSError):
                        self._journal.clear()
                self._cv.notify_all()

    def _wait_for_a_pause(self) -> bool:
        """Wait while the reviewer is still pressing keys (see QUIET_S); True when it waited
        (the caller then journals what arrived meanwhile)."""
        with self._cv:
            if self._stopping or self._hurry:
                return False
            now = time.monotonic()
            wait = min(QUIET_S - (now - self._last_submit), MAX_DEFER_S - (now - self._queue[0][3]))
            if wait <= 0:
                return False
            self._cv.wait(wait)
            return True

    def _write_journal(self, records: list[dict[str, Any]], *, sync: bool = False) -> None:
        if self._journal is None:
            return
        try:
            self._journal.append(records, sync=sync)
        except OSError as exc:  # the store commit still happens; only the crash cover is gone
            log.warning("could not write the decision journal %s: %s", self._journal.path, exc)

    def _commit(self, decision: Decision, commit: Commit, done: Done) -> str | None:
        """'saved', 'failed', or None when the database is locked (try again)."""
        message: str | None = None
        call: dict[str, Any] | None = None
        try:
            call = commit()
        except StoreError as exc:
            if is_busy(exc):
                return None
            message = str(exc)
        except NdelabError as exc:
            message = str(exc)
        except Exception:
            log.exception("writing the %s of call %s failed", decision.action, decision.call_id)
            message = "it failed unexpectedly; details are in the log file"
        if message is not None:
            log.info("%s of call %s not saved: %s", decision.action, decision.call_id, message)
        try:
            done(decision, call, message)
        except Exception:  # a listener's bug must not stop the decisions behind this one
            log.exception("the listener of a saved decision failed")
        return "saved" if message is None else "failed"


# -- replay -----------------------------------------------------------------------------


@dataclass
class ReplayReport:
    saved: int = 0  # decisions the store lacked, now written
    present: int = 0  # decisions already in the store (done mark lost in the crash)
    failed: list[str] = field(default_factory=list)  # one sentence each

    @property
    def journals(self) -> int:
        return self.saved + self.present + len(self.failed)


def _read_journal(path: Path) -> list[Decision]:
    """The decisions of a journal not marked done, in order (a torn last line is skipped)."""
    decisions: dict[str, Decision] = {}
    for line in path.read_bytes().splitlines():
        try:
            raw = json.loads(line)
        except ValueError:
            continue  # the line being written when the process died
        if raw.get("op") == "decision":
            d = Decision.from_json(raw)
            decisions[d.id] = d
        elif raw.get("op") == "done":
            decisions.pop(str(raw.get("id")), None)
    return list(decisions.values())


def _already_stored(store: Store, d: Decision) -> bool:
    return any(
        e["action"] == d.action
        and e["base_revision"] == d.base_revision
        and e["user"] == d.user
        and e["workstation_id"] == store.workstation_id
        for e in audit(store, call_id=d.call_id)
    )


def replay_journals(
    store: Store, progress: Progress | None = None, cancel: Cancel | None = None
) -> ReplayReport:
    """Write the decisions that journals of dead processes hold and the store lacks, in
    order, once; then remove those journals. A live writer's journal is left alone."""
    out = ReplayReport()
    paths = journal_paths(store)
    for k, path in enumerate(paths):
        check(cancel, "opening the review database")
        try:
            f = path.open("rb+")
        except OSError as exc:
            log.warning("cannot read the decision journal %s: %s", path, exc)
            continue
        with f:
            if fcntl is not None:
                try:
                    fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    continue  # its writer is alive (another window or process)
            for d in _read_journal(path):
                try:
                    review(
                        store,
                        d.call_id,
                        d.action,
                        d.user,
                        d.reason,
                        cls=d.cls,
                        base_revision=d.base_revision,
                    )
                    out.saved += 1
                except (ConflictError, ReviewError) as exc:
                    if _already_stored(store, d):
                        out.present += 1
                    else:
                        out.failed.append(
                            f"the {d.action} of call {d.call_id} by {d.user} from the last"
                            f" session was not saved: {exc}"
                        )
            path.unlink(missing_ok=True)
        report(progress, (k + 1) / len(paths))
    return out
