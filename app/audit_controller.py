"""The reviewers' audit view's data (Qt-free): model-versus-human agreement and the calls
humans overruled, read as one job function (over every scan it reads every reviewed call
with its masks, seconds on a large store), and where a scan's file is, to jump to a call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ndelab.annotation.store import Store, get_scan
from ndelab.annotation.store.agreement import agreement, overruled
from ndelab.volumes.progress import Cancel, Progress, check, report

WHAT = "reading the model audit"
SETTLE_S = 10.0  # how long the audit waits for the reviewer's decisions still being written


@dataclass(frozen=True)
class AuditData:
    result: dict[str, Any] = field(default_factory=lambda: {"models": []})  # see agreement()
    overruled: list[dict[str, Any]] = field(default_factory=list)  # see overruled()

    def overruled_by(self, name: str | None, version: str | None) -> list[dict[str, Any]]:
        """The overruled calls of one model version."""
        return [
            r
            for r in self.overruled
            if r["model"].get("name") == name and r["model"].get("version") == version
        ]


def load_audit(
    store: Store,
    scan_id: str | None = None,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
    *,
    settle: Callable[[float], bool] | None = None,
) -> AuditData:
    """Agreement per model version and the overruled calls, of one scan or (None) all.

    ``settle(timeout_s)`` (a DecisionWriter's flush) first lets the decisions the reviewer
    just made reach the store; if the database stays busy the audit shows what is saved."""
    report(progress, 0.0)
    if settle is not None:
        settle(SETTLE_S)
    check(cancel, WHAT)
    result = agreement(store, scan_id=scan_id)
    report(progress, 0.7)
    check(cancel, WHAT)
    calls = overruled(store, scan_id=scan_id)
    report(progress, 1.0)
    return AuditData(result, calls)


def scan_file(store: Store, scan_id: str) -> str | None:
    """The file the scan was opened from, or None when none is recorded."""
    path = get_scan(store, scan_id)["path"]
    return str(path) if path else None


def load_ab(
    store: Store,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
    *,
    champion: str | None = None,
    challenger: str | None = None,
    rules_path: str | None = None,
) -> dict[str, Any]:
    """The A/B report of champion and challenger with the promotion gate's verdict (the
    audit window's A/B tab); {"error": sentence} when there is nothing to compare yet."""
    from ndelab.annotation.errors import ReviewError
    from ndelab.annotation.promotion import evaluate_gate, load_rules
    from ndelab.annotation.store.ab import ab_report
    from ndelab.app.promotion import rules_path_for

    report(progress, 0.0)
    check(cancel, "reading the A/B")
    try:
        result = ab_report(store, champion, challenger)
    except ReviewError as exc:
        return {"error": str(exc)}
    result["gate"] = evaluate_gate(result, load_rules(rules_path_for(rules_path)))
    report(progress, 1.0)
    return result


def load_drift(
    store: Store, progress: Progress | None = None, cancel: Cancel | None = None
) -> dict[str, Any]:
    """The drift report (input per feature, output per version) for the drift panel."""
    from ndelab.app.drift_report import drift_report

    return drift_report(store, progress=progress, cancel=cancel)
