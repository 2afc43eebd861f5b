"""``ndelab inbox`` and ``ndelab line``: bad usage is one sentence and exit 2; SIGTERM stops the
inbox cleanly; a small simulated line goes through the inbox and its report."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ndelab.benchmarks.pg_cluster import free_port
from ndelab.cli import main


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--db", "x.db"], "exactly one of --watch DIR or --amqp URL"),
        (["--watch", "w", "--amqp", "amqp://127.0.0.1/", "--db", "x.db"], "exactly one"),
        (["--amqp", "amqp://127.0.0.1/", "--db", "x.db"], "--amqp needs --queue"),
        (["--watch", "no-such-folder", "--db", "x.db"], "does not exist"),
    ],
)
def test_bad_inbox_usage_is_one_sentence_and_exit_2(
    args: list[str],
    says: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["inbox", *args]) == 2
    err = capsys.readouterr().err
    assert says in err and err.count("\n") == 1 and "Traceback" not in err


def test_an_unreachable_broker_is_one_sentence_without_the_password(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"amqp://line:s3cret@127.0.0.1:{free_port()}/%2F"
    assert main(["inbox", "--amqp", url, "--queue", "q", "--db", str(tmp_path / "x.db")]) == 2
    err = capsys.readouterr().err
    assert "cannot be reached" in err and "s3cret" not in err


def test_sigterm_stops_the_inbox_cleanly(tmp_path: Path) -> None:
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    env = dict(os.environ, NDELAB_DATA_DIR=str(tmp_path / "data"))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ndelab.cli",
            "inbox",
            "--watch",
            str(incoming),
            "--db",
            str(tmp_path / "line.db"),
            "--model",
            "classical-baseline",
            "--json",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        while not (tmp_path / "line.db").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err.decode()
    assert b"Traceback" not in err


def test_a_small_simulated_line_goes_through_the_inbox_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    args = [
        "line",
        "simulate",
        "--watch",
        str(incoming),
        "--count",
        "3",
        "--rate",
        "600",
        "--duplicates",
        "1",
        "--slow",
        "0.2",
        "--seed",
        "5",
        "--json",
    ]
    assert main(args) == 0
    dropped = json.loads(capsys.readouterr().out)
    assert dropped["scans"] == 3 and dropped["repeats"] == 1
    assert dropped["by_modality"] == {"CT": 2, "DX": 1}
    db = str(tmp_path / "line.db")
    assert (
        main(
            [
                "inbox",
                "--watch",
                str(incoming),
                "--db",
                db,
                "--once",
                "--settle",
                "0.3",
                "--model",
                "classical-baseline",
                "--json",
            ]
        )
        == 0
    )
    outcomes = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert sorted(o["state"] for o in outcomes) == ["duplicate", "ready", "ready", "ready"]
    ready = [o for o in outcomes if o["state"] == "ready"]
    assert {o["metadata"]["line"] for o in ready} == {"1"}
    assert main(["line", "report", "--db", db, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["states"]["ready"] == 3 and report["states"]["duplicate"] == 1
    assert report["scans_stored_twice"] == 0
    assert report["arrival_to_ready_s"]["n"] == 3
