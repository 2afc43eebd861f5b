"""A throwaway RabbitMQ node for tests and the line simulation: Debian's rabbitmq-server on
127.0.0.1, free ports, its database and logs in a temporary folder; stopped and deleted after.

Started from /usr/lib/rabbitmq/bin/rabbitmq-server (the /usr/sbin wrapper insists on the
rabbitmq system user and the system's folders). epmd, which the node starts, outlives it: it
is ended by its pid.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ndelab.benchmarks.pg_cluster import free_port
from ndelab.volumes.errors import NdelabError

SERVER = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")
CTL = Path("/usr/lib/rabbitmq/bin/rabbitmqctl")
READY_TIMEOUT_S = 60.0


class BrokerError(NdelabError):
    """The throwaway broker could not be started."""


def available() -> bool:
    """True when Debian's rabbitmq-server is installed here."""
    return SERVER.is_file() and CTL.is_file()


@dataclass
class Node:
    """A running node: ``url`` is its AMQP URL (guest may log in from loopback)."""

    root: Path
    name: str
    port: int
    epmd_port: int
    process: subprocess.Popen[bytes]
    env: dict[str, str] = field(repr=False)

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/%2F"

    def ctl(self, *args: str, timeout: float = 60.0) -> str:
        out = subprocess.run(
            [str(CTL), "-n", self.name, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if out.returncode != 0:
            raise BrokerError(f"rabbitmqctl {' '.join(args)} failed: {out.stderr.strip()[:300]}")
        return out.stdout

    def stop(self) -> None:
        with contextlib.suppress(BrokerError, subprocess.TimeoutExpired):
            self.ctl("stop", timeout=60)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        _kill_epmd(self.epmd_port)
        shutil.rmtree(self.root, ignore_errors=True)


def _kill_epmd(port: int) -> None:
    """End the epmd listening on ``port`` (ours alone: its port is one we chose)."""
    for pid_dir in Path("/proc").iterdir():
        if not pid_dir.name.isdigit():
            continue
        try:
            cmdline = (pid_dir / "cmdline").read_bytes().split(b"\0")
            environ = (pid_dir / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if not cmdline or not cmdline[0].endswith(b"epmd"):
            continue
        if f"ERL_EPMD_PORT={port}".encode() in environ:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid_dir.name), signal.SIGTERM)


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def start(timeout_s: float = READY_TIMEOUT_S) -> Node:
    """Start a node and wait until it accepts AMQP connections."""
    if not available():
        raise BrokerError(f"RabbitMQ is not installed ({SERVER} is missing)")
    root = Path(tempfile.mkdtemp(prefix="ndelab-rabbit-"))
    tag = root.name.rsplit("-", 1)[-1].lower().replace("_", "")
    name = f"ndelab{tag}@localhost"
    port, dist_port, epmd_port = free_port(), free_port(), free_port()
    env = {
        **os.environ,
        "RABBITMQ_NODENAME": name,
        "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
        "RABBITMQ_NODE_PORT": str(port),
        "RABBITMQ_DIST_PORT": str(dist_port),
        "ERL_EPMD_ADDRESS": "127.0.0.1",
        "ERL_EPMD_PORT": str(epmd_port),
        "RABBITMQ_MNESIA_BASE": str(root / "mnesia"),
        "RABBITMQ_LOG_BASE": str(root / "log"),
        "RABBITMQ_CONFIG_FILE": str(root / "rabbitmq"),
        "RABBITMQ_ENABLED_PLUGINS_FILE": str(root / "enabled_plugins"),
        "HOME": str(root),
    }
    (root / "enabled_plugins").write_text("[].\n")
    # The management and Prometheus plugins stay off; loopback guest is the default.
    (root / "rabbitmq.conf").write_text("loopback_users.guest = true\n")
    with (root / "server.out").open("wb") as out:
        process = subprocess.Popen(
            [str(SERVER)], env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    node = Node(root, name, port, epmd_port, process, env)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = (root / "server.out").read_text(errors="replace")[-500:]
            _kill_epmd(epmd_port)
            shutil.rmtree(root, ignore_errors=True)
            raise BrokerError(f"rabbitmq-server exited with {process.returncode}: {tail}")
        if _port_open(port):
            try:
                node.ctl("await_startup", timeout=max(1.0, deadline - time.monotonic()))
                return node
            except (BrokerError, subprocess.TimeoutExpired):
                pass
        time.sleep(0.3)
    node.stop()
    raise BrokerError(f"rabbitmq-server did not start within {timeout_s:g} s")


@contextlib.contextmanager
def running() -> Iterator[Node]:
    node = start()
    try:
        yield node
    finally:
        node.stop()
