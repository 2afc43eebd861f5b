"""SIGKILL ``ndelab inbox`` while it pre-labels, start it again: nothing lost, nothing twice.
Both sources: a watched folder and a real RabbitMQ queue."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pika
import pytest
from rabbit_fixtures import amqp_queue, amqp_url  # noqa: F401  (fixtures)

from ndelab.annotation.store import Store, list_calls, list_scans
from ndelab.annotation.store import inbox as table
from ndelab.app.inbox.amqp import declare, publish
from ndelab.volumes.io import write_volume
from ndelab.volumes.phantom import make_ct_phantom

N = 3


def _inbox(args: list[str], env: dict[str, str], out: Path) -> subprocess.Popen[bytes]:
    with out.open("ab") as fh:
        return subprocess.Popen(
            [sys.executable, "-m", "ndelab.cli", "inbox", *args, "--json"],
            env=env,
            stdout=fh,
            stderr=subprocess.STDOUT,
        )


def _states(db: Path) -> list[str]:
    if not db.exists():
        return []
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            return [r[0] for r in conn.execute("SELECT state FROM inbox ORDER BY arrived_at")]
    except sqlite3.OperationalError:
        return []  # not migrated yet


def _wait(pred: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
@pytest.mark.parametrize("route", ["folder", "amqp"])
def test_kill_while_prelabelling_then_restart_loses_and_repeats_nothing(
    route: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    db = tmp_path / "line.db"
    incoming = tmp_path / "incoming"
    storage = tmp_path / "storage"
    incoming.mkdir()
    storage.mkdir()
    folder = incoming if route == "folder" else storage
    paths = []
    for i in range(N):
        # 64³ with the default 3D model: a few seconds of pre-labelling to land the kill in.
        volume = make_ct_phantom(64, seed=40 + i, part="cylinder").volume
        hidden = folder / f".scan{i}.tmp.nrrd"
        write_volume(volume, hidden)
        paths.append(hidden.replace(folder / f"scan{i}.nrrd"))
    if route == "folder":
        args = ["--watch", str(incoming), "--settle", "0.3"]
    else:
        url = request.getfixturevalue("amqp_url")
        queue = request.getfixturevalue("amqp_queue")
        connection = pika.BlockingConnection(pika.URLParameters(url))
        channel = connection.channel()
        channel.confirm_delivery()
        declare(channel, queue)
        for p in paths:
            publish(channel, queue, {"location": str(p), "serial": p.stem})
        connection.close()
        args = ["--amqp", url, "--queue", queue]
    args += ["--db", str(db), "--model", "default"]
    env = dict(os.environ, NDELAB_DATA_DIR=str(tmp_path / "data"))
    log = tmp_path / "inbox.jsonl"

    first = _inbox(args, env, log)
    try:
        # Kill it in the middle of the second scan's pre-labelling: one scan is ready.
        _wait(
            lambda: _states(db).count("ready") == 1 and "prelabelling" in _states(db),
            240,
            "the second scan's pre-labelling",
        )
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
    assert _states(db).count("prelabelling") == 1  # the one it died in

    second = _inbox([*args, "--once"], env, log)
    assert second.wait(timeout=300) == 0, log.read_text()[-2000:]

    outcomes = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    with Store(db) as store:
        summary = table.line_summary(store)
        scans = list_scans(store)
        assert summary["states"] == {
            "arrived": 0,
            "prelabelling": 0,
            "ready": N,
            "failed": 0,
            # The folder keeps nothing it was not told of; the broker redelivers only the
            # unacknowledged one, which the restart finishes (not a duplicate).
            "duplicate": 0,
        }
        assert len(scans) == N
        assert summary["scans_stored_twice"] == 0
        assert summary["scans_whose_calls_do_not_match"] == 0
        assert summary["prelabel_attempts"]["max"] == 2  # the killed one ran again, once
        rows = table.list_arrivals(store)
        assert sorted(r["attempts"] for r in rows) == [1, 1, 2]
        for scan in scans:  # every stored call belongs to the one committed run
            ready = next(r for r in rows if r["scan_id"] == scan["id"])
            assert len(list_calls(store, scan["id"])) == ready["calls"]
    assert sorted(o["state"] for o in outcomes) == ["ready"] * N
    if route == "folder":
        assert not [p for p in incoming.iterdir() if not p.name.startswith(".")]
        assert sorted(p.name for p in (tmp_path / "done").iterdir()) == [
            f"scan{i}.nrrd" for i in range(N)
        ]
