"""Figures read from the store at scrape time: the review queue, decisions, arrival to
decision, sync state and drift. A custom Collector, so Prometheus always sees the store as it
is now, whoever wrote it (this window, another process, a sync)."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from ndelab.annotation.store import Store
from ndelab.annotation.store.line_figures import line_figures
from ndelab.app.metrics.observer import WAIT_BUCKETS

log = logging.getLogger(__name__)

DRIFT_EVERY_S = 300.0  # the drift report reads every scan's features: not at every scrape
_VERDICT_LEVEL = {"ok": 0, "warning": 1, "alert": 2}


def histogram_buckets(values: list[float], bounds: tuple[float, ...]) -> list[tuple[str, float]]:
    """Cumulative (le, count) pairs, +Inf last, as Prometheus histograms expose them."""
    out = [(str(float(b)), float(sum(1 for v in values if v <= b))) for b in bounds]
    return [*out, ("+Inf", float(len(values)))]


def _split(key: str) -> tuple[str, str]:
    name, _, version = key.partition("@")
    return name, version


class StoreCollector(Collector):
    """``store()`` gives the open store, or None while there is none (the window opens its
    database in a job): then only the live figures are exported."""

    def __init__(self, store: Callable[[], Store | None], *, drift: bool = True) -> None:
        self._store = store
        self._drift = drift
        self._drift_at = -math.inf
        self._drift_cache: list[Metric] = []
        self._drift_thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def describe(self) -> list[Metric]:
        return []  # collected at scrape time only (no store is read at registration)

    def collect(self) -> Iterator[Metric]:
        store = self._store()
        if store is None:
            return
        try:
            figures = line_figures(store)
        except Exception:  # a scrape must not fail the exporter: the log says why
            log.exception("metrics: the store's figures could not be read")
            return
        yield from self._figures(figures)
        if self._drift:
            yield from self._drift_metrics(store)

    def _figures(self, f: dict[str, Any]) -> Iterator[Metric]:
        waiting = GaugeMetricFamily(
            "ndelab_review_waiting_scans", "Scans with calls waiting for review"
        )
        waiting.add_metric([], f["waiting_scans"])
        yield waiting
        calls = GaugeMetricFamily("ndelab_review_waiting_calls", "Calls waiting for review")
        calls.add_metric([], f["waiting_calls"])
        yield calls
        decisions = CounterMetricFamily(
            "ndelab_review_decisions",
            "Review decisions, by decision and by the model version that made the call",
            labels=["decision", "model", "version"],
        )
        for decision, model, version, n in f["decisions"]:
            decisions.add_metric([decision, model, version], n)
        yield decisions
        waits = f["arrival_to_decision_s"]
        hist = HistogramMetricFamily(
            "ndelab_arrival_to_decision_seconds",
            "Time from a scan's arrival to each review decision on its calls",
        )
        hist.add_metric([], histogram_buckets(waits, WAIT_BUCKETS), sum_value=float(sum(waits)))
        yield hist
        pending = GaugeMetricFamily(
            "ndelab_sync_pending_events", "Audit events not pushed to the shared database yet"
        )
        pending.add_metric([], f["sync_pending_events"])
        yield pending
        conflicts = GaugeMetricFamily("ndelab_sync_open_conflicts", "Sync conflicts not resolved")
        conflicts.add_metric([], f["open_conflicts"])
        yield conflicts
        if f["last_sync_at"] is not None:  # never synced: no sample, not a made-up age
            age = GaugeMetricFamily(
                "ndelab_sync_last_success_age_seconds", "Seconds since the last sync"
            )
            age.add_metric([], (datetime.now(UTC) - f["last_sync_at"]).total_seconds())
            yield age

    def _drift_metrics(self, store: Store) -> list[Metric]:
        """The last drift report's figures. A stale report is remade on a thread of its own
        (it reads every scan's features: seconds, longer than a scrape may take), so a scrape
        never waits for it; until the first is made there are no drift samples."""
        with self._lock:
            stale = time.monotonic() - self._drift_at >= DRIFT_EVERY_S
            if stale and self._drift_thread is None:
                self._drift_thread = threading.Thread(
                    target=self._refresh_drift, args=(store,), name="ndelab-drift", daemon=True
                )
                self._drift_thread.start()
            return self._drift_cache

    def _refresh_drift(self, store: Store) -> None:
        try:
            from ndelab.app.drift_report import drift_report

            families = list(drift_families(drift_report(store)))
        except Exception:
            log.exception("metrics: the drift report could not be made")
            families = []
        with self._lock:
            self._drift_cache = families
            self._drift_at = time.monotonic()
            self._drift_thread = None

    def wait_for_drift(self, timeout: float | None = None) -> None:
        """Until a drift report being made is done (tests, the benchmark)."""
        thread = self._drift_thread
        if thread is not None:
            thread.join(timeout)


def drift_families(report: dict[str, Any]) -> Iterator[Metric]:
    """PSI and KS per input feature per model, and each model's input drift level."""
    labels = ["model", "version", "feature"]
    psi = GaugeMetricFamily(
        "ndelab_drift_psi", "Population stability index of a scan feature", labels=labels
    )
    ks = GaugeMetricFamily("ndelab_drift_ks", "Kolmogorov-Smirnov distance of a scan feature",
                           labels=labels)  # fmt: skip
    level = GaugeMetricFamily(
        "ndelab_drift_level",
        "Input drift verdict of a model: 0 ok, 1 warning, 2 alert",
        labels=["model", "version"],
    )
    for inp in report.get("input", []):
        name, version = _split(str(inp["model"]))
        for feature, row in inp.get("features", {}).items():
            if "psi" in row:
                psi.add_metric([name, version, feature], float(row["psi"]))
                ks.add_metric([name, version, feature], float(row["ks"]))
        if inp.get("verdict") in _VERDICT_LEVEL:
            level.add_metric([name, version], _VERDICT_LEVEL[inp["verdict"]])
    return iter([psi, ks, level])


__all__ = ["StoreCollector", "drift_families", "histogram_buckets"]
