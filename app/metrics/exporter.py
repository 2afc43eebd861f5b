"""The Prometheus exporter: its own registry (not the process-wide one), on loopback unless
told otherwise, with the live figures (``observer``) and the store's (a collector)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest, start_http_server

from ndelab.annotation.store import Store
from ndelab.app.metrics.observer import LineMetrics
from ndelab.app.metrics.store_collector import StoreCollector
from ndelab.volumes.errors import UsageError

log = logging.getLogger(__name__)

DEFAULT_ADDR = "127.0.0.1"  # start_http_server alone would listen on every interface


class MetricsExporter:
    """``exporter.start()`` serves /metrics on ``addr:port`` (port 0: a free one, see
    ``port`` after start); ``exporter.observer`` takes the live figures."""

    def __init__(
        self,
        *,
        port: int,
        addr: str = DEFAULT_ADDR,
        store: Callable[[], Store | None] | None = None,
        drift: bool = True,
    ) -> None:
        if not 0 <= port <= 65535:
            raise UsageError(f"--metrics-port must be between 0 and 65535, not {port}")
        self.addr = addr
        self.port = port
        self.registry = CollectorRegistry(auto_describe=False)
        self.observer = LineMetrics(self.registry)
        self.store_collector: StoreCollector | None = None
        if store is not None:
            self.store_collector = StoreCollector(store, drift=drift)
            self.registry.register(self.store_collector)
        self._server: Any = None
        self._thread: Any = None

    def start(self) -> MetricsExporter:
        try:
            self._server, self._thread = start_http_server(
                self.port, addr=self.addr, registry=self.registry
            )
        except OSError as exc:
            raise UsageError(
                f"the metrics exporter cannot listen on {self.addr}:{self.port} "
                f"({exc.strerror or exc})"
            ) from None
        self.port = int(self._server.server_port)
        log.info("metrics exporter on http://%s:%d/metrics", self.addr, self.port)
        return self

    @property
    def url(self) -> str:
        host = f"[{self.addr}]" if ":" in self.addr else self.addr
        return f"http://{host}:{self.port}/metrics"

    def scrape(self) -> bytes:
        """The exposition text a scrape would get (in this process, no HTTP)."""
        return bytes(generate_latest(self.registry))

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> MetricsExporter:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


__all__ = ["DEFAULT_ADDR", "MetricsExporter"]
