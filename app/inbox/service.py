"""The inbox service: take arrivals from a source, pre-label each new scan once, commit it with
its calls, acknowledge; dead-letter what cannot be read and keep going.

Safe under at-least-once delivery: the scan's sha256 decides (annotation/store/inbox.py), and
the scan, its calls and 'ready' are one transaction, acknowledged only after it commits. A
process killed at any moment leaves a pending arrival that the redelivery finishes. A store
that fails (locked, unreachable) stops the service with its sentence and acknowledges nothing:
that is no fault of the scan.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from ndelab.annotation.errors import StoreError
from ndelab.annotation.store import Store
from ndelab.annotation.store import inbox as table
from ndelab.annotation.store.indications import indication_rows
from ndelab.annotation.store.ingest import scan_record
from ndelab.app.inbox.prelabel import Prelabelled, Prelabeller
from ndelab.app.inbox.source import Arrival, ScanSource
from ndelab.app.line_observer import LineObserver, NullObserver
from ndelab.volumes.errors import NdelabError
from ndelab.volumes.features import scan_features
from ndelab.volumes.identity import volume_sha256
from ndelab.volumes.io import open_volume
from ndelab.volumes.quality.gate import has_gate, image_quality_record
from ndelab.volumes.volume import Volume

log = logging.getLogger(__name__)

Outcome = dict[str, Any]


class InboxService:
    """Runs one source into one store. ``report(outcome)`` hears each arrival's outcome."""

    def __init__(
        self,
        source: ScanSource,
        store: Store,
        prelabel: Prelabeller,
        *,
        observer: LineObserver | None = None,
        user: str = "inbox",
        report: Callable[[Outcome], None] | None = None,
        after_ready: Callable[[str, Volume, Prelabelled], None] | None = None,
    ) -> None:
        self.source = source
        self.store = store
        self.prelabel = prelabel
        self.observer: LineObserver = observer or NullObserver()
        self.user = user
        self.report = report or (lambda outcome: None)
        # After a scan is committed and acknowledged: the run record and the shadow model
        # (app.inbox.shadow_hook). Its failure is logged, never a lost or repeated scan.
        self.after_ready = after_ready
        self.owner = str(uuid.uuid4())  # this run: rows a dead run left behind block nothing

    def run(self, stop: Callable[[], bool], *, once: bool = False) -> list[Outcome]:
        """Handle arrivals until ``stop()`` (or, with once, until the source is drained)."""
        outcomes = []
        self._depth()
        for arrival in self.source.arrivals(stop, once=once):
            outcome = self.handle(arrival)
            outcomes.append(outcome)
            self.report(outcome)
        return outcomes

    def _depth(self) -> None:
        counts = table.state_counts(self.store)
        self.observer.queue_depth(sum(counts[s] for s in table.PENDING))

    def handle(self, arrival: Arrival) -> Outcome:
        self.observer.arrived(arrival.source)
        arrival_id = table.arrive(
            self.store,
            source=arrival.source,
            location=str(arrival.location),
            metadata=arrival.metadata,
            owner=self.owner,
        )
        self._depth()
        out: Outcome = {
            "arrival_id": arrival_id,
            "source": arrival.source,
            "location": str(arrival.location),
            "metadata": arrival.metadata,
            "redelivered": arrival.redelivered,
        }
        try:
            return self._handle(arrival, arrival_id, out)
        finally:
            self._depth()

    def _handle(self, arrival: Arrival, arrival_id: str, out: Outcome) -> Outcome:
        if arrival.error is not None:
            return self._dead(arrival, arrival_id, arrival.error, out)
        try:
            volume = open_volume(arrival.location)
            sha = volume_sha256(volume)
        except StoreError:
            raise
        except NdelabError as exc:
            return self._dead(arrival, arrival_id, str(exc), out)
        out["sha256"] = sha
        claim = table.claim(self.store, arrival_id, sha, owner=self.owner)
        if claim.verdict == "duplicate":
            arrival.ack()
            self.observer.duplicate(arrival.source)
            return {**out, "state": "duplicate", "scan_id": claim.scan_id}
        try:
            result = self.prelabel(volume)
        except StoreError:
            raise
        except NdelabError as exc:
            return self._dead(arrival, arrival_id, str(exc), out, sha)
        except Exception as exc:  # a model's bug must not stop the line; the log has it
            log.exception("pre-labelling %s failed", arrival.location)
            reason = f"pre-labelling {arrival.location} failed unexpectedly ({exc})"
            return self._dead(arrival, arrival_id, reason, out, sha)
        self.observer.prelabelled(
            model=result.model,
            version=result.version,
            modality=volume.modality,
            seconds=result.seconds,
            calls=len(result.items),
        )
        meta = arrival.metadata
        record = scan_record(
            self.store,
            volume,
            user=self.user,
            sha256=sha,
            part_mask=result.part_mask,
            part_name=meta.get("part"),
            serial=meta.get("serial"),
            features=scan_features(volume),
            # A radiograph's image quality is measured as it is recorded, as the window does.
            image_quality=image_quality_record(volume) if has_gate(volume) else None,
            path=arrival.stored_path.resolve(),
        )
        rows = indication_rows(self.store, record.scan_id, result.items, user=self.user)
        table.commit_ready(
            self.store, arrival_id, record, rows, model=f"{result.model}@{result.version}"
        )
        row = table.get_arrival(self.store, arrival_id)
        arrival.ack()  # only now: the scan and its calls are committed
        if row["state"] == "duplicate":  # another process stored the same scan first
            self.observer.duplicate(arrival.source)
            return {**out, "state": "duplicate", "scan_id": row["scan_id"]}
        waited = _seconds(row["arrived_at"], row["ready_at"])
        self.observer.ready(waited)
        if self.after_ready is not None:
            try:
                self.after_ready(str(row["scan_id"]), volume, result)
            except Exception:  # the scan is safe in the store: the line goes on
                log.exception("after pre-labelling %s", arrival.location)
        return {
            **out,
            "state": "ready",
            "scan_id": row["scan_id"],
            "path": str(arrival.stored_path),
            "modality": volume.modality,
            "model": result.model,
            "version": result.version,
            "calls": len(result.items),
            "prelabel_s": round(result.seconds, 3),
            "arrival_to_ready_s": round(waited, 3),
            "attempts": row["attempts"],
        }

    def _dead(
        self,
        arrival: Arrival,
        arrival_id: str,
        reason: str,
        out: Outcome,
        sha256: str | None = None,
    ) -> Outcome:
        table.fail(self.store, arrival_id, reason, sha256=sha256)
        arrival.reject(reason)
        self.observer.failed(reason)
        log.warning("dead letter: %s", reason)
        return {**out, "state": "failed", "reason": reason}


def _seconds(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
