"""PostgreSQL for tests: one throwaway cluster per pytest worker (or NDELAB_TEST_PG_URL),
and a fresh database with ndelab's roles for each test that asks for one."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest
from sqlalchemy.engine import make_url

from ndelab.annotation.sync.server_roles import setup_roles
from ndelab.benchmarks import pg_cluster

IN_CI = os.environ.get("CI") == "true"


@dataclass
class PgServer:
    """Where to create databases: a superuser URL to the maintenance database."""

    admin_url: str

    def _connect(self) -> psycopg.Connection[tuple[object, ...]]:
        u = make_url(self.admin_url)
        return psycopg.connect(
            host=u.host,
            port=u.port,
            user=u.username,
            password=u.password,
            dbname=u.database,
            autocommit=True,
        )

    def new_database(self) -> str:
        name = f"ndelab_{uuid.uuid4().hex[:12]}"
        with self._connect() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)

    def url_as(self, db_url: str, user: str, password: str) -> str:
        u = make_url(db_url).set(username=user, password=password)
        return u.render_as_string(hide_password=False)

    def terminate(self, db_url: str, user: str | None = None) -> int:
        """Cut every connection to a database (of one user), as a network failure would."""
        db = make_url(db_url).database
        sql = "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = %s"
        args: list[object] = [db]
        if user is not None:
            sql += " AND usename = %s"
            args.append(user)
        with self._connect() as conn:
            row = conn.execute(sql, args).fetchone()
        return int(str(row[0])) if row else 0


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    env = os.environ.get("NDELAB_TEST_PG_URL")
    if env:
        yield PgServer(env)
        return
    if pg_cluster.find_bin() is None:
        why = "PostgreSQL server binaries (initdb, pg_ctl) are not installed"
        if IN_CI:
            pytest.fail(f"required in CI: {why}")
        pytest.skip(why)
    cluster = pg_cluster.start()
    try:
        yield PgServer(cluster.url())
    finally:
        cluster.stop()


@pytest.fixture
def pg_url(pg_server: PgServer) -> str:
    """A fresh migrated database with the ndelab roles; the superuser's URL to it."""
    url = pg_server.new_database()
    setup_roles(url)
    return url
