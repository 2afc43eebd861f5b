"""The line benchmark: batch pre-labelling throughput, local process pool against Ray on this
machine, and the metrics exporter's cost per scrape. JSON sections: ``engines`` and
``exporter`` (and ``prometheus`` when Debian's prometheus is installed); the inbox's figures
join as an ``inbox`` section.

Each engine pre-labels the same small phantoms (CT 48³ and 128² radiographs) into a fresh
SQLite store; its time includes starting its workers (the local pool's processes import torch
and load the model; Ray's runtime and actors), because a batch pays that every time. Ray's
runtime start (ray.init) is also reported on its own.
"""

from __future__ import annotations

import contextlib
import statistics
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from ndelab.annotation.store import list_calls, open_store
from ndelab.app.engines import LocalEngine, prelabel_batch
from ndelab.app.engines.local import machine_cores
from ndelab.app.metrics import MetricsExporter
from ndelab.volumes.io import write_volume
from ndelab.volumes.phantom import make_ct_phantom, make_radiograph

SCRAPES = 50


def write_line_scans(folder: Path, n: int, *, seed: int = 10_600) -> list[Path]:
    """``n`` scans: three CT phantoms (48³) for each radiograph (128²)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        if i % 4 == 3:
            volume = make_radiograph(128, seed=seed + 100 + i).volume
        else:
            volume = make_ct_phantom(48, seed=seed + i).volume
        paths.append(folder / f"scan{i:02d}.nrrd")
        write_volume(volume, paths[-1])
    return paths


def _engine_case(engine: Any, scans: list[Path], db: Path, started_s: float) -> dict[str, Any]:
    ready: list[float] = []
    per_scan: list[float] = []

    class Observer:
        def arrived(self, source: str) -> None: ...
        def duplicate(self, source: str) -> None: ...
        def failed(self, reason: str) -> None: ...
        def queue_depth(self, n: int) -> None: ...

        def prelabelled(self, *, seconds: float, **_: Any) -> None:
            per_scan.append(seconds)

        def ready(self, seconds_since_arrival: float) -> None:
            ready.append(seconds_since_arrival)

    t0 = time.perf_counter()
    with open_store(db) as store:
        rows = prelabel_batch(store, scans, engine, user="bench", observer=Observer())
    seconds = time.perf_counter() - t0
    total = seconds + started_s
    return {
        "engine": engine.name,
        "workers": engine.workers,
        "scans": len(rows),
        "stored": sum(r["status"] == "prelabelled" for r in rows),
        "calls": sum(len(r.get("calls", [])) for r in rows),
        "start_seconds": round(started_s, 3),
        "batch_seconds": round(seconds, 3),
        "scans_per_min": round(60 * len(rows) / total, 2),
        "scans_per_min_after_start": round(60 * len(rows) / seconds, 2),
        "arrival_to_ready_s": {
            "median": round(statistics.median(ready), 3),
            "max": round(max(ready), 3),
        },
        "prelabel_seconds_per_scan_median": round(statistics.median(per_scan), 3),
    }


def _engines(
    scans: list[Path], again: list[Path], tmp: Path, which: tuple[str, ...]
) -> dict[str, Any]:
    """Each engine: a first batch (its workers start), then a second batch of other scans on
    the same engine (the local pool is warm; Ray Data starts a new actor pool per dataset)."""
    out: dict[str, Any] = {"cores": machine_cores()}
    if "local" in which:
        engine = LocalEngine()
        with contextlib.closing(engine):
            out["local"] = _engine_case(engine, scans, tmp / "local.db", 0.0)
            out["local"]["second_batch"] = _engine_case(engine, again, tmp / "local.db", 0.0)
    if "ray" in which:
        import ray

        from ndelab.app.engines.ray_engine import RayEngine

        reused = ray.is_initialized()
        t0 = time.perf_counter()
        engine = RayEngine()
        started = time.perf_counter() - t0
        with contextlib.closing(engine):
            case = _engine_case(engine, scans, tmp / "ray.db", started)
            case["second_batch"] = _engine_case(engine, again, tmp / "ray.db", 0.0)
        case["runtime_reused"] = reused  # True: ray.init was paid before (start_seconds ~0)
        out["ray"] = case
    if "local" in out and "ray" in out:
        local, ray_case = out["local"], out["ray"]
        out["ratio_ray_over_local_scans_per_min"] = round(
            ray_case["scans_per_min"] / local["scans_per_min"], 3
        )
        out["ratio_ray_over_local_after_start"] = round(
            ray_case["scans_per_min_after_start"] / local["scans_per_min_after_start"], 3
        )
        out["ratio_ray_over_local_second_batch"] = round(
            ray_case["second_batch"]["scans_per_min"] / local["second_batch"]["scans_per_min"], 3
        )
    return out


def _scrape_ms(url: str, n: int) -> tuple[float, int]:
    times, size = [], 0
    for _ in range(n):
        t0 = time.perf_counter()
        with urllib.request.urlopen(url, timeout=10) as reply:
            size = len(reply.read())
        times.append(time.perf_counter() - t0)
    return 1000 * statistics.median(times), size


def _exporter(db: Path, n: int) -> dict[str, Any]:
    """Per scrape over HTTP: live figures only (the peer), with the store's figures, and
    with drift too (its report cached between scrapes, so the first scrape pays it)."""
    with open_store(db) as store:
        live = MetricsExporter(port=0).start()
        with_store = MetricsExporter(port=0, store=lambda: store, drift=False).start()
        with_drift = MetricsExporter(port=0, store=lambda: store, drift=True).start()
        try:
            for e in (live, with_store, with_drift):
                e.observer.prelabelled(model="m", version="1", modality="CT", seconds=1, calls=3)
            t0 = time.perf_counter()
            _scrape_ms(with_drift.url, 1)  # starts the drift report on its own thread
            assert with_drift.store_collector is not None
            with_drift.store_collector.wait_for_drift()
            first_drift = time.perf_counter() - t0
            live_ms, live_bytes = _scrape_ms(live.url, n)
            store_ms, store_bytes = _scrape_ms(with_store.url, n)
            drift_ms, _ = _scrape_ms(with_drift.url, n)
            t0 = time.perf_counter()
            for _ in range(10_000):
                live.observer.prelabelled(model="m", version="1", modality="CT", seconds=1, calls=3)
            observe_us = (time.perf_counter() - t0) / 10_000 * 1e6
        finally:
            for e in (live, with_store, with_drift):
                e.stop()
        calls = len(list_calls(store))
    return {
        "scrapes": n,
        "store_calls": calls,
        "live_only_ms_per_scrape": round(live_ms, 3),
        "live_only_bytes": live_bytes,
        "with_store_ms_per_scrape": round(store_ms, 3),
        "with_store_bytes": store_bytes,
        "ratio_with_store_over_live": round(store_ms / live_ms, 2),
        "with_drift_cached_ms_per_scrape": round(drift_ms, 3),
        "drift_report_s_off_the_scrape": round(first_drift, 3),
        "observer_prelabelled_us": round(observe_us, 2),
    }


def _prometheus(db: Path) -> dict[str, Any] | None:
    from ndelab.benchmarks import prometheus_server

    if prometheus_server.find_prometheus() is None:
        return None
    with open_store(db) as store, MetricsExporter(port=0, store=lambda: store, drift=False) as e:
        for _ in range(8):
            e.observer.arrived("batch")
        with prometheus_server.running([f"127.0.0.1:{e.port}"], interval_s=0.5) as prom:
            prom.wait_for_scrape("ndelab")
            time.sleep(1.5)  # a few scrapes
            queries = {
                "sum(ndelab_scans_arrived_total)": None,
                "ndelab_review_waiting_calls": None,
                'scrape_duration_seconds{job="ndelab"}': None,
            }
            for q in queries:
                queries[q] = [
                    {"metric": r["metric"], "value": r["value"][1]} for r in prom.query(q)
                ]
    return {"queries": queries}


def run(*, quick: bool = False, engines: tuple[str, ...] = ("local", "ray")) -> dict[str, Any]:
    n = 2 if quick else 8
    with tempfile.TemporaryDirectory(prefix="ndelab-bench-line-") as tmp_name:
        tmp = Path(tmp_name)
        scans = write_line_scans(tmp / "scans", n)
        again = write_line_scans(tmp / "again", n, seed=10_800)
        result: dict[str, Any] = {
            "area": "line",
            "scans": {"count": n, "ct": "48^3", "radiograph": "128^2", "model": "default"},
            "engines": _engines(scans, again, tmp, engines),
        }
        db = tmp / ("local.db" if "local" in engines else "ray.db")
        result["exporter"] = _exporter(db, 5 if quick else SCRAPES)
        result["prometheus"] = _prometheus(db)
    return result


__all__ = ["run", "write_line_scans"]
