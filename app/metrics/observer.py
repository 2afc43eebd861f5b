"""Live figures of the line, counted as they happen: the observer the inbox and the batch
driver call (the six methods of app.line_observer.LineObserver)."""

from __future__ import annotations

import re

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

# Pre-label time of one scan: seconds on a small machine to minutes for a big CT.
PRELABEL_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800)
CALLS_BUCKETS = (0, 1, 2, 5, 10, 20, 50, 100, 200, 500)
# From arrival to ready for review, and to a decision: seconds to a day or more.
WAIT_BUCKETS = (1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 8 * 3600, 24 * 3600, 72 * 3600)

FAILURE_KINDS = ("unreadable", "model", "cancelled", "internal", "other")
_KIND_PATTERNS = (
    ("unreadable", re.compile(r"cannot be read|does not exist|is empty|truncated|not a volume|"
                              r"cannot parse|header|unsupported", re.I)),
    ("model", re.compile(r"\bmodel\b|weights", re.I)),
    ("cancelled", re.compile(r"cancelled", re.I)),
    ("internal", re.compile(r"internal error", re.I)),
)  # fmt: skip


def failure_kind(reason: str) -> str:
    """A small fixed label for a failure: a kind given as is, or one read from the sentence
    (the sentence itself names a file, so it is never a label)."""
    if reason in FAILURE_KINDS:
        return reason
    for kind, pattern in _KIND_PATTERNS:
        if pattern.search(reason):
            return kind
    return "other"


class LineMetrics:
    """Counters, histograms and gauges in ``registry``; no scan ids or paths as labels."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.arrived_total = Counter(
            "ndelab_scans_arrived", "Scans that arrived, by source", ["source"], registry=registry
        )
        self.duplicate_total = Counter(
            "ndelab_scans_duplicate",
            "Scans that arrived again (same sha256) and were not pre-labelled twice",
            ["source"],
            registry=registry,
        )
        self.failed_total = Counter(
            "ndelab_scans_failed", "Scans that could not be pre-labelled, by kind", ["kind"],
            registry=registry,
        )  # fmt: skip
        self.prelabel_seconds = Histogram(
            "ndelab_prelabel_duration_seconds",
            "Time to pre-label one scan",
            ["model", "version", "modality"],
            buckets=PRELABEL_BUCKETS,
            registry=registry,
        )
        self.calls_per_scan = Histogram(
            "ndelab_calls_per_scan", "Calls a model made on one scan", ["model", "version"],
            buckets=CALLS_BUCKETS, registry=registry,
        )  # fmt: skip
        self.arrival_to_ready = Histogram(
            "ndelab_arrival_to_ready_seconds",
            "Time from a scan's arrival to its calls being ready for review",
            buckets=WAIT_BUCKETS,
            registry=registry,
        )
        self.inbox_waiting = Gauge(
            "ndelab_inbox_waiting_scans",
            "Scans arrived and not yet pre-labelled",
            registry=registry,
        )
        for kind in FAILURE_KINDS:  # every kind shows 0 from the start, not "no data"
            self.failed_total.labels(kind)

    def arrived(self, source: str) -> None:
        self.arrived_total.labels(source).inc()

    def duplicate(self, source: str) -> None:
        self.duplicate_total.labels(source).inc()

    def prelabelled(
        self, *, model: str, version: str, modality: str, seconds: float, calls: int
    ) -> None:
        self.prelabel_seconds.labels(model, version, modality).observe(seconds)
        self.calls_per_scan.labels(model, version).observe(calls)

    def failed(self, reason: str) -> None:
        self.failed_total.labels(failure_kind(reason)).inc()

    def ready(self, seconds_since_arrival: float) -> None:
        self.arrival_to_ready.observe(max(0.0, seconds_since_arrival))

    def queue_depth(self, n: int) -> None:
        self.inbox_waiting.set(n)


__all__ = ["FAILURE_KINDS", "LineMetrics", "failure_kind"]
