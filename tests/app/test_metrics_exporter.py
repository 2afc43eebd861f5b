"""The metrics exporter: its own registry on loopback, live figures from the observer, the
store's figures at scrape time, names by Prometheus' conventions, the Grafana dashboard, and
a real Prometheus scraping it and answering PromQL."""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from model_calls import calls_from_labels
from prometheus_client import REGISTRY
from sqlalchemy import insert

from ndelab.annotation.store import Store, list_calls, open_store, review
from ndelab.annotation.store.schema import SYNC_STATE
from ndelab.app.metrics import DEFAULT_ADDR, MetricsExporter, failure_kind
from ndelab.app.metrics.store_collector import drift_families
from ndelab.app.workspace import attach_scan, store_calls
from ndelab.cli.common import METRICS_ADDR
from ndelab.volumes.identity import volume_sha256
from ndelab.volumes.phantom import make_ct_phantom

DASHBOARD = Path(__file__).resolve().parents[2] / "installers" / "grafana" / "ndelab-line.json"
NAME = re.compile(r"\bndelab_[a-z0-9_]+\b")


def _store_with_a_decision(path: Path) -> tuple[Store, int]:
    """A scan with its phantom's defects as calls, one of them accepted, and one sync."""
    store = open_store(path)
    ph = make_ct_phantom(40, seed=10_400)
    scan_id, _ = attach_scan(store, ph.volume, volume_sha256(ph.volume), "bot")
    calls = calls_from_labels(np.asarray(ph.labels), model="unet", version="2.0")
    store_calls(store, scan_id, calls, ph.volume, "bot")
    rows = list_calls(store, scan_id)
    review(store, rows[0]["id"], "accept", "ana")
    stamp = {"at": "2026-01-01T00:00:00+00:00", "user": "ana"}
    with store.transaction("test sync state") as conn:
        conn.execute(insert(SYNC_STATE).values(key="last_sync:x", value=json.dumps(stamp)))
    return store, len(rows)


def _observe(exporter: MetricsExporter) -> None:
    obs = exporter.observer
    for _ in range(3):
        obs.arrived("watch")
    obs.arrived("amqp")
    obs.duplicate("watch")
    obs.prelabelled(model="unet", version="2.0", modality="CT", seconds=1.5, calls=4)
    obs.prelabelled(model="unet", version="2.0", modality="DX", seconds=0.3, calls=0)
    obs.failed("/line/x.nrrd: cannot be read (truncated)")
    obs.ready(12.0)
    obs.queue_depth(2)


def _samples(exporter: MetricsExporter) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for family in exporter.registry.collect():
        for s in family.samples:
            out.setdefault(s.name, []).append(s)
    return out


def test_exporter_is_loopback_with_its_own_registry(tmp_path: Path) -> None:
    assert DEFAULT_ADDR == METRICS_ADDR == "127.0.0.1"
    with MetricsExporter(port=0) as exporter:
        assert exporter.url.startswith("http://127.0.0.1:")
        _observe(exporter)
        with urllib.request.urlopen(exporter.url, timeout=5) as reply:
            text = reply.read().decode()
        # Not on another interface: the socket is bound to loopback only.
        bound = exporter._server.socket.getsockname()[0]
        assert bound == "127.0.0.1"
    assert 'ndelab_scans_arrived_total{source="watch"} 3.0' in text
    assert 'ndelab_scans_failed_total{kind="unreadable"} 1.0' in text
    assert "ndelab_inbox_waiting_scans 2.0" in text
    assert not any(m.name.startswith("ndelab_") for m in REGISTRY.collect()), "own registry"
    with MetricsExporter(port=0) as first, pytest.raises(Exception, match="cannot listen"):
        MetricsExporter(port=first.port).start()


def test_store_figures_at_scrape_time(tmp_path: Path) -> None:
    store, n_calls = _store_with_a_decision(tmp_path / "a.db")
    with store:
        exporter = MetricsExporter(port=0, store=lambda: store, drift=False)
        samples = _samples(exporter)
        value = {s.name: s.value for ss in samples.values() for s in ss if not s.labels}
        assert value["ndelab_review_waiting_calls"] == n_calls - 1
        assert value["ndelab_review_waiting_scans"] == 1
        assert value["ndelab_arrival_to_decision_seconds_count"] == 1
        assert value["ndelab_sync_pending_events"] >= n_calls + 1  # never pushed
        assert value["ndelab_sync_open_conflicts"] == 0
        assert value["ndelab_sync_last_success_age_seconds"] > 0
        (decided,) = samples["ndelab_review_decisions_total"]
        assert decided.labels == {"decision": "accept", "model": "unet", "version": "2.0"}
        assert decided.value == 1
        # A second decision shows at the next scrape, with nothing told to the exporter.
        second = list_calls(store, None, status="proposed")[0]
        review(store, second["id"], "reject", "ana", "a scratch on the surface")
        after = _samples(exporter)["ndelab_review_decisions_total"]
        assert sorted(s.labels["decision"] for s in after) == ["accept", "reject"]


def test_names_follow_prometheus_conventions(tmp_path: Path) -> None:
    store, _ = _store_with_a_decision(tmp_path / "a.db")
    with store:
        exporter = MetricsExporter(port=0, store=lambda: store, drift=False)
        _observe(exporter)
        families = list(exporter.registry.collect())
    for family in families:
        assert family.name.startswith("ndelab_")
        if family.type == "counter":
            assert all(s.name.endswith(("_total", "_created")) for s in family.samples)
        for s in family.samples:
            assert not set(s.labels) & {"scan", "scan_id", "path", "file", "part", "serial"}
            for v in s.labels.values():
                assert "/" not in v, f"{s.name} has a path-like label {v!r}"
    times = [f.name for f in families if "duration" in f.name or "_to_" in f.name]
    assert times and all(n.endswith("_seconds") for n in times)


def test_failure_kinds_are_a_small_fixed_set() -> None:
    assert failure_kind("unreadable") == "unreadable"
    assert failure_kind("/a/b.nrrd: does not exist") == "unreadable"
    assert failure_kind("weights of model x@1 are missing") == "model"
    assert failure_kind("the batch pre-label was cancelled") == "cancelled"
    assert failure_kind("something else entirely") == "other"


def _drift_report() -> dict[str, Any]:
    feature = {"ks": 0.4, "p_value": 0.001, "psi": 0.6, "verdict": "alert"}
    return {
        "input": [
            {"model": "ndelab-unet3d@1.0.1", "verdict": "alert", "features": {"noise": feature}}
        ]
    }


def test_drift_figures_per_feature_per_model() -> None:
    families = {f.name: f for f in drift_families(_drift_report())}
    (psi,) = families["ndelab_drift_psi"].samples
    assert psi.labels == {"model": "ndelab-unet3d", "version": "1.0.1", "feature": "noise"}
    assert psi.value == 0.6
    assert families["ndelab_drift_ks"].samples[0].value == 0.4
    assert families["ndelab_drift_level"].samples[0].value == 2


def test_dashboard_names_only_metrics_the_exporter_has(tmp_path: Path) -> None:
    dashboard = json.loads(DASHBOARD.read_text())  # valid JSON
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    assert exprs and dashboard["uid"] == "ndelab-line"
    store, _ = _store_with_a_decision(tmp_path / "a.db")
    with store:
        exporter = MetricsExporter(port=0, store=lambda: store, drift=False)
        _observe(exporter)
        names = set(_samples(exporter))
    names |= {s.name for f in drift_families(_drift_report()) for s in f.samples}
    used = {n for e in exprs for n in NAME.findall(e)}
    assert used, "the dashboard queries ndelab metrics"
    assert used <= names, f"not exported: {sorted(used - names)}"
    families = {n.removesuffix("_total") for n in names}
    families = {re.sub(r"_(bucket|sum|count|created)$", "", n) for n in families}
    shown = {re.sub(r"_(bucket|sum|count|total)$", "", n) for n in used}
    assert families <= shown, f"exported but not on the dashboard: {sorted(families - shown)}"


def test_prometheus_scrapes_the_exporter(tmp_path: Path, prometheus_bin: str) -> None:
    from ndelab.benchmarks import prometheus_server

    store, n_calls = _store_with_a_decision(tmp_path / "a.db")
    with store, MetricsExporter(port=0, store=lambda: store, drift=False) as exporter:
        _observe(exporter)
        target = f"127.0.0.1:{exporter.port}"
        with prometheus_server.running([target], interval_s=0.5) as prom:
            prom.wait_for_scrape("ndelab")
            arrived = prom.query("sum by (source) (ndelab_scans_arrived_total)")
            assert {r["metric"]["source"]: float(r["value"][1]) for r in arrived} == {
                "watch": 3.0,
                "amqp": 1.0,
            }
            (waiting,) = prom.query("ndelab_review_waiting_calls")
            assert float(waiting["value"][1]) == n_calls - 1
            (decided,) = prom.query('ndelab_review_decisions_total{decision="accept"}')
            assert decided["metric"]["model"] == "unet" and float(decided["value"][1]) == 1


def test_drift_report_is_made_off_the_scrape_and_served_cached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ndelab.app.drift_report as drift_module

    made: list[object] = []

    def fake_report(store: object) -> dict[str, Any]:
        made.append(store)
        return _drift_report()

    monkeypatch.setattr(drift_module, "drift_report", fake_report)
    with open_store(tmp_path / "a.db") as store:
        exporter = MetricsExporter(port=0, store=lambda: store, drift=True)
        assert "ndelab_drift_psi" not in _samples(exporter)  # the first scrape does not wait
        assert exporter.store_collector is not None
        exporter.store_collector.wait_for_drift(30)
        assert _samples(exporter)["ndelab_drift_psi"][0].value == 0.6
        _samples(exporter)
        assert len(made) == 1, "cached between scrapes"
