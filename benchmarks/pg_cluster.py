"""A throwaway PostgreSQL cluster for tests and benchmarks: initdb in a temporary folder,
listen on 127.0.0.1 on a free port only (unix socket inside the folder), stop and delete.

The superuser ``postgres`` logs in without a password from 127.0.0.1 (trust); every other
role needs its password (scram-sha-256). initdb refuses to run as root, so as root the
server runs as the ``postgres`` system user through runuser.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ndelab.annotation.errors import StoreError

SEARCH = ("/usr/lib/postgresql/*/bin", "/usr/local/pgsql/bin", "/opt/homebrew/bin", "/usr/bin")
SUPERUSER = "postgres"

_HBA = """\
local   all   postgres                 trust
host    all   postgres   127.0.0.1/32  trust
local   all   all                      scram-sha-256
host    all   all        127.0.0.1/32  scram-sha-256
"""


def find_bin() -> Path | None:
    """The folder holding initdb and pg_ctl (PG_BIN overrides), newest version first."""
    env = os.environ.get("PG_BIN")
    candidates: list[Path] = [Path(env)] if env else []
    for pattern in SEARCH:
        root = Path(pattern.split("*")[0])
        if "*" in pattern and root.is_dir():
            found = sorted(root.glob("*/bin"), key=lambda p: _version(p.parent.name), reverse=True)
            candidates.extend(found)
        else:
            candidates.append(Path(pattern))
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    return None


def _version(name: str) -> float:
    try:
        return float(name)
    except ValueError:
        return 0.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Cluster:
    """A running throwaway cluster; ``url(user, password, db)`` builds connection URLs."""

    bin: Path
    root: Path
    port: int
    as_postgres: bool

    @property
    def data(self) -> Path:
        return self.root / "data"

    def url(self, user: str = SUPERUSER, password: str | None = None, db: str = "postgres") -> str:
        auth = f"{user}:{password}" if password else user
        return f"postgresql+psycopg://{auth}@127.0.0.1:{self.port}/{db}"

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bin / args[0]), *args[1:]]
        if self.as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)

    def create_database(self, name: str) -> str:
        """A new empty database; returns its superuser URL."""
        import psycopg

        with psycopg.connect(
            host="127.0.0.1", port=self.port, user=SUPERUSER, dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(db=name)

    def stop(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


def start(*, durable: bool = False, bin_dir: Path | None = None) -> Cluster:
    """initdb and start a cluster; durable=False turns fsync off (tests: speed, not safety)."""
    folder = bin_dir or find_bin()
    if folder is None:
        raise StoreError("PostgreSQL's initdb and pg_ctl were not found (set PG_BIN)")
    as_postgres = os.geteuid() == 0
    root = Path(tempfile.mkdtemp(prefix="ndelab-pg-"))
    if as_postgres:
        entry = pwd.getpwnam("postgres")
        os.chown(root, entry.pw_uid, entry.pw_gid)
    cluster = Cluster(folder, root, 0, as_postgres)
    try:
        done = cluster._run(
            "initdb", "-D", str(cluster.data), "-U", SUPERUSER, "-A", "trust", "-E", "UTF8",
            "--no-sync", "--locale=C.UTF-8",
        )  # fmt: skip
        if done.returncode != 0:
            raise StoreError(f"initdb failed in {root}: {done.stderr.strip() or done.stdout}")
        (cluster.data / "pg_hba.conf").write_text(_HBA)
        options = [
            "-c listen_addresses=127.0.0.1",
            f"-k {root}",
            "-c password_encryption=scram-sha-256",
            "-c max_connections=60",
        ]
        if not durable:
            options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        for _attempt in range(5):
            cluster.port = free_port()
            opts = " ".join([f"-p {cluster.port}", *options])
            log = str(root / "server.log")
            done = cluster._run("pg_ctl", "-D", str(cluster.data), "-l", log, "-o", opts, "-w",
                                "-t", "60", "start")  # fmt: skip
            if done.returncode == 0:
                return cluster
        tail = (root / "server.log").read_text(errors="replace")[-800:]
        raise StoreError(f"PostgreSQL did not start in {root}: {tail.strip()}")
    except BaseException:
        cluster.stop()
        raise


@contextlib.contextmanager
def running(*, durable: bool = False) -> Iterator[Cluster]:
    cluster = start(durable=durable)
    try:
        yield cluster
    finally:
        cluster.stop()


__all__ = ["Cluster", "find_bin", "free_port", "running", "start"]
