"""A throwaway Prometheus for tests and benchmarks: Debian's ``prometheus`` on 127.0.0.1 on
a free port, its storage in a temporary folder, scraping the targets it is given; stopped
and deleted when done. ``query(promql)`` asks its HTTP API (urllib, loopback only)."""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ndelab.benchmarks.pg_cluster import free_port
from ndelab.volumes.errors import NdelabError

READY_TIMEOUT_S = 30.0


def find_prometheus() -> str | None:
    return shutil.which("prometheus")


@dataclass
class Prometheus:
    """A running throwaway server; ``url`` is its HTTP API's base."""

    process: subprocess.Popen[bytes]
    root: Path
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _get(self, path: str, **params: str) -> Any:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        with urllib.request.urlopen(f"{self.url}{path}{query}", timeout=10) as reply:
            return json.loads(reply.read())

    def query(self, promql: str) -> list[dict[str, Any]]:
        """An instant query's result vector: [{"metric": {...}, "value": [t, "v"]}, ...]."""
        body = self._get("/api/v1/query", query=promql)
        if body.get("status") != "success":
            raise NdelabError(f"Prometheus refused the query {promql!r}: {body.get('error')}")
        return list(body["data"]["result"])

    def targets_up(self) -> list[dict[str, Any]]:
        return list(self._get("/api/v1/targets")["data"]["activeTargets"])

    def wait_for_scrape(self, job: str, timeout: float = 30.0) -> None:
        """Until the job's target has been scraped successfully once."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for t in self.targets_up():
                if t["labels"].get("job") == job and t["health"] == "up":
                    return
            time.sleep(0.1)
        raise NdelabError(f"Prometheus did not scrape {job} within {timeout:.0f} s")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        shutil.rmtree(self.root, ignore_errors=True)


def _config(targets: Sequence[str], interval_s: float, job: str) -> str:
    listed = ", ".join(f'"{t}"' for t in targets)
    every = f"{max(1, round(interval_s * 1000))}ms"  # Prometheus durations take no fractions
    return (
        "global:\n"
        f"  scrape_interval: {every}\n"
        f"  scrape_timeout: {every}\n"
        "scrape_configs:\n"
        f"  - job_name: {job}\n"
        f"    static_configs:\n      - targets: [{listed}]\n"
    )


def start(targets: Sequence[str], *, interval_s: float = 1.0, job: str = "ndelab") -> Prometheus:
    """Start Prometheus scraping ``targets`` (host:port) every ``interval_s`` seconds."""
    binary = find_prometheus()
    if binary is None:
        raise NdelabError("Prometheus is not installed (Debian: apt-get install prometheus)")
    root = Path(tempfile.mkdtemp(prefix="ndelab-prometheus-"))
    (root / "prometheus.yml").write_text(_config(targets, interval_s, job))
    port = free_port()
    log = (root / "server.log").open("wb")
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={root / 'prometheus.yml'}",
            f"--storage.tsdb.path={root / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    server = Prometheus(process, root, port)
    end = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < end:
        if process.poll() is not None:
            tail = (root / "server.log").read_text(errors="replace")[-800:]
            server.stop()
            raise NdelabError(f"Prometheus exited at start: {tail.strip()}")
        with (
            contextlib.suppress(urllib.error.URLError, ConnectionError, TimeoutError),
            urllib.request.urlopen(f"{server.url}/-/ready", timeout=1) as reply,
        ):
            if reply.status == 200:
                return server
        time.sleep(0.05)
    server.stop()
    raise NdelabError(f"Prometheus was not ready within {READY_TIMEOUT_S:.0f} s")


@contextlib.contextmanager
def running(targets: Sequence[str], **kwargs: Any) -> Iterator[Prometheus]:
    server = start(targets, **kwargs)
    try:
        yield server
    finally:
        server.stop()


__all__ = ["Prometheus", "find_prometheus", "running", "start"]
