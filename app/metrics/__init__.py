"""Prometheus metrics for the line (optional: off unless --metrics-port is given).

- ``observer``: :class:`LineMetrics`, the live figures (arrivals, pre-label time, calls per
  scan, failures by kind, arrival to ready, inbox backlog).
- ``store_collector``: :class:`StoreCollector`, figures read from the store at scrape time
  (review queue, decisions, arrival to decision, sync state, drift).
- ``exporter``: :class:`MetricsExporter`, its own registry and HTTP server, on 127.0.0.1
  unless told otherwise.

Qt-free; names follow Prometheus conventions (``ndelab_`` prefix, base units, ``_total``
counters, no scan ids or paths as labels).
"""

from ndelab.app.metrics.exporter import DEFAULT_ADDR, MetricsExporter
from ndelab.app.metrics.observer import LineMetrics, failure_kind

__all__ = ["DEFAULT_ADDR", "LineMetrics", "MetricsExporter", "failure_kind"]
