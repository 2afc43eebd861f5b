"""The batch driver: hand the scans to an engine, write each outcome through the store as it
comes back, and tell an observer (the metrics exporter) what happened.

The driver is the store's one writer: workers never open the database, so a pool of any size
(or a Ray cluster) needs no more database connections than one workstation does.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ndelab.annotation.model import CHAMPION, SHADOW
from ndelab.annotation.store import Store, add_indications, list_scans, record_scan
from ndelab.annotation.store.model_runs import model_runs, record_run
from ndelab.app.engines.base import Engine, ScanOutcome
from ndelab.app.engines.scan_paths import expand_scans
from ndelab.app.line_observer import LineObserver, NullObserver
from ndelab.volumes.progress import Cancel, Cancelled, Progress, check, report

log = logging.getLogger(__name__)


def store_outcome(store: Store, outcome: ScanOutcome, user: str) -> dict[str, Any]:
    """Record the scan and its calls (as proposed); returns the JSON ``prelabel`` prints."""
    assert outcome.header is not None and outcome.sha256 is not None
    _, scan_id = record_scan(
        store,
        outcome.header,
        user=user,
        sha256=outcome.sha256,
        part_volume=outcome.part_volume_mm3,
        features=outcome.features,
        image_quality=outcome.image_quality,
    )
    ids = add_indications(store, scan_id, outcome.items, user=user)
    record_run(
        store,
        scan_id,
        str(outcome.model),
        str(outcome.version),
        role=CHAMPION,
        calls=len(ids),
        user=user,
    )
    return {
        "scan_id": scan_id,
        "path": outcome.path,
        "status": "prelabelled",
        "model": {"name": outcome.model, "version": outcome.version},
        "device": outcome.device,
        "seconds": round(outcome.seconds, 3),
        "calls": [{"id": i, **c} for i, c in zip(ids, outcome.calls, strict=True)],
    }


def prelabel_batch(
    store: Store,
    paths: Sequence[str | Path],
    engine: Engine,
    *,
    user: str,
    model: str = "default",
    shadow: str | None = None,
    source: str = "batch",
    observer: LineObserver | None = None,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> list[dict[str, Any]]:
    """Pre-label every scan the paths name (folders expand to their scans) on ``engine``, and
    store the calls; a scan the store already holds (same sha256) is skipped, a scan that
    fails is reported with its sentence and the batch goes on. Returns one dict per scan.

    ``model`` is what the engine's replicas run (app.model_serving.batch_model: the champion
    per dimensionality). ``shadow`` (NAME@VERSION) runs next on every scan of the batch it has
    not run on yet, new or already stored: its calls are stored in shadow for the A/B."""
    obs: LineObserver = observer or NullObserver()
    scans = [str(p) for p in expand_scans(paths)]
    arrived_at = time.monotonic()
    for _ in scans:
        obs.arrived(source)
    waiting = len(scans)
    obs.queue_depth(waiting)
    known = {str(s["sha256"]) for s in list_scans(store) if s["sha256"]}
    out: list[dict[str, Any]] = []
    for outcome in engine.prelabel(scans, model=model, known=frozenset(known), cancel=cancel):
        if outcome.failure == "cancelled":
            raise Cancelled("the batch pre-label")
        if outcome.status == "failed":
            obs.failed(outcome.failure or "internal")
            out.append({"path": outcome.path, "status": "failed", "reason": outcome.reason})
        elif outcome.status == "duplicate" or outcome.sha256 in known:
            obs.duplicate(source)  # in the store already, or twice in this batch
            out.append({"path": outcome.path, "status": "duplicate", "sha256": outcome.sha256})
        else:
            row = store_outcome(store, outcome, user)
            known.add(str(outcome.sha256))
            obs.prelabelled(
                model=str(outcome.model),
                version=str(outcome.version),
                modality=str(outcome.modality),
                seconds=outcome.seconds,
                calls=len(row["calls"]),
            )
            obs.ready(time.monotonic() - arrived_at)
            out.append(row)
        waiting -= 1
        obs.queue_depth(waiting)
        report(progress, len(out) / len(scans))
        check(cancel, "the batch pre-label")
    if shadow is not None:
        run_shadow(store, engine, out, shadow, user=user, cancel=cancel)
    return out


def run_shadow(
    store: Store,
    engine: Engine,
    rows: list[dict[str, Any]],
    shadow: str,
    *,
    user: str,
    cancel: Cancel | None = None,
) -> None:
    """The shadow version on the batch's scans it has not run on (each run is recorded, so a
    batch given twice adds no second shadow run); its calls are stored with role shadow and
    counted in each row's "shadow". A shadow that is the version a scan was pre-labelled
    with is not run there: there would be nothing to compare."""
    by_sha = {str(s["sha256"]): str(s["id"]) for s in list_scans(store) if s["sha256"]}
    name, _, version = shadow.partition("@")
    ran = {
        r["scan_id"]
        for r in model_runs(store)
        if r["role"] == SHADOW and r["name"] == name and (not version or r["version"] == version)
    }
    todo = {}
    for row in rows:
        scan_id = row.get("scan_id") or by_sha.get(str(row.get("sha256")))
        served = row.get("model") or {}
        same = served.get("name") == name and (not version or served.get("version") == version)
        if scan_id is not None and scan_id not in ran and not same:
            todo[row["path"]] = (row, scan_id)
    if not todo:
        return
    for outcome in engine.prelabel(list(todo), model=shadow, known=frozenset(), cancel=cancel):
        row, scan_id = todo[outcome.path]
        if outcome.status != "prelabelled":
            row["shadow"] = {"status": "failed", "reason": outcome.reason}
            continue
        ids = add_indications(store, scan_id, outcome.items, user=user, role=SHADOW)
        record_run(
            store,
            scan_id,
            str(outcome.model),
            str(outcome.version),
            role=SHADOW,
            calls=len(ids),
            user=user,
        )
        # Counted, never listed: engineers see the champion's calls only.
        row["shadow"] = {
            "model": {"name": outcome.model, "version": outcome.version},
            "calls": len(ids),
        }


__all__ = ["prelabel_batch", "run_shadow", "store_outcome"]
