"""SIGKILL the workstation in the middle of a keyboard review: nothing acknowledged is lost."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ndelab.annotation.store import audit, import_labels, list_calls, open_store
from ndelab.app.workspace import volume_sha256
from ndelab.volumes.io import open_volume

pytestmark = pytest.mark.gui


def _xdotool(*args: str) -> str:
    return subprocess.run(
        ["xdotool", *args], capture_output=True, text=True, timeout=150, check=True
    ).stdout.strip()


def test_kill_during_review_keeps_every_decision(qapp: Any, tmp_path: Path, require: Any) -> None:
    require(shutil.which("xdotool") is not None, "xdotool (Debian package xdotool)")
    data = np.full((40, 64, 64), 1000, np.uint16)
    data[4:36, 8:56, 8:56] = 22000
    labels = np.zeros(data.shape, np.uint16)
    rng = np.random.default_rng(5)
    for i in range(1, 41):
        z, y, x = rng.integers(6, 32), rng.integers(10, 52), rng.integers(10, 52)
        labels[z : z + 2, y : y + 2, x : x + 2] = i
    data[labels > 0] = 4000
    path = tmp_path / "part.npy"
    np.save(path, data)
    volume = open_volume(path)
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    with open_store(data_dir / "ndelab.db") as store:
        ids = import_labels(
            store,
            volume,
            labels,
            "pore",
            source="model:test@1",
            user="bot",
            sha256=volume_sha256(volume),
        )
    scan = ids["scan_id"]
    n_calls = len(ids["call_ids"])

    env = dict(
        os.environ,
        NDELAB_DATA_DIR=str(data_dir),
        NDELAB_CONFIG_DIR=str(tmp_path),
        QT_QPA_PLATFORM="xcb",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "ndelab.cli", "open", str(path)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wid = _xdotool("search", "--sync", "--name", "ndelab — part.npy").splitlines()[0]
        geometry = dict(
            line.split("=") for line in _xdotool("getwindowgeometry", "--shell", wid).splitlines()
        )
        # Click into the axial view to give the window the keyboard.
        ax = int(geometry["X"]) + int(0.37 * int(geometry["WIDTH"]))
        ay = int(geometry["Y"]) + int(0.3 * int(geometry["HEIGHT"]))
        _xdotool("mousemove", str(ax), str(ay), "click", "1")
        # The review loads in the background after the window shows: keep reviewing (N, A)
        # until the database has acknowledged a few decisions.
        accepted = 0
        end = time.monotonic() + 90
        with open_store(data_dir / "ndelab.db") as store:
            while time.monotonic() < end and accepted < 3:
                _xdotool("key", "--delay", "100", "n", "a")
                time.sleep(0.3)
                accepted = sum(c["status"] == "accepted" for c in list_calls(store, scan))
        assert accepted >= 3, "the key presses reached the review"
        # More decisions are in flight when the process dies.
        subprocess.Popen(["xdotool", "key", "--delay", "20", *(["a"] * 20)])
        time.sleep(0.3)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    with open_store(data_dir / "ndelab.db") as store:  # opening runs quick_check
        calls = list_calls(store, scan)
        events = audit(store, scan)
    assert len(calls) == n_calls
    accepts = [e for e in events if e["action"] == "accept"]
    accepted = [c for c in calls if c["status"] == "accepted"]
    # Every decision the database acknowledged is there, and nothing is half-written.
    assert {e["entity_id"] for e in accepts} == {c["id"] for c in accepted}
    assert len(accepts) == len(accepted) >= 3
    for call in calls:
        changes = [e for e in events if e["entity_id"] == call["id"] and e["action"] != "create"]
        assert call["revision"] == 1 + len(changes)
