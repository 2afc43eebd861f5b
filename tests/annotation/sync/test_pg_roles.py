# ruff: noqa: F811  (pytest fixtures imported from pg_fixtures)
"""PostgreSQL: the same migrations as SQLite, roles enforced by the database, credentials
and sslmode."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from pg_fixtures import PgServer, pg_server, pg_url  # noqa: F401
from sqlalchemy import insert

from ndelab.annotation.errors import StoreError
from ndelab.annotation.store import Store, add_part, add_scan
from ndelab.annotation.store.audit_log import new_id
from ndelab.annotation.store.schema import DISPOSITIONS, Base, utcnow
from ndelab.annotation.sync.credentials import connect_params, resolve_url
from ndelab.annotation.sync.server_roles import create_user, setup_roles

pytestmark = pytest.mark.postgres


def test_migrations_build_the_same_schema_on_postgresql(pg_url: str) -> None:
    with Store(pg_url) as store, store.reading("compare") as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    setup_roles(pg_url)  # idempotent


def _disposition_row(scan: str) -> dict[str, Any]:
    now = utcnow()
    return {
        "id": new_id(),
        "scan_id": scan,
        "verdict": "accept",
        "reasons": [],
        "criteria_name": "g",
        "criteria_version": "1",
        "criteria_sha256": "0" * 64,
        "criteria": {},
        "signed_by": "x",
        "signed_at": now,
        "revision": 1,
        "created_at": now,
        "updated_at": now,
        "updated_by": "x",
        "workstation_id": "w",
    }


def test_a_labeler_cannot_sign_or_rewrite_the_audit_log(
    pg_server: PgServer, pg_url: str, tmp_path: Path
) -> None:
    create_user(pg_url, "lena", "labeler", "lab-secret")
    create_user(pg_url, "rita", "reviewer", "rev-secret")
    create_user(pg_url, "rita", "reviewer", "rev-secret")  # idempotent
    with Store(pg_server.url_as(pg_url, "lena", "lab-secret")) as lab:
        part = add_part(lab, "casting", user="lena")  # labelers create and change rows
        scan = add_scan(lab, part, user="lena", path="s.nrrd", shape=(2, 2, 2), spacing_mm=(1,) * 3)
        denied = pytest.raises(StoreError, match="permission denied for table dispositions")
        with denied, lab.transaction("sign a disposition") as conn:
            conn.execute(insert(DISPOSITIONS), [_disposition_row(scan)])
        for sql in ("DELETE FROM review_events", "UPDATE review_events SET reason = 'x'"):
            denied = pytest.raises(StoreError, match="permission denied for table review_events")
            with denied, lab.transaction("change the audit log") as conn:
                conn.exec_driver_sql(sql)
    reviewer = Store(pg_server.url_as(pg_url, "rita", "rev-secret"))
    with reviewer as rev:
        with rev.transaction("sign a disposition") as conn:
            conn.execute(insert(DISPOSITIONS), [{**_disposition_row(scan), "signed_by": "rita"}])
        # A reviewer cannot write a signature in someone else's name (a labeler's, say).
        forged = pytest.raises(StoreError, match="row-level security")
        with forged, rev.transaction("sign a disposition") as conn:
            conn.execute(insert(DISPOSITIONS), [{**_disposition_row(scan), "signed_by": "lena"}])
    # Even an owner of the table who is not superuser is refused by the trigger.
    create_user(pg_url, "owner_admin", "admin", "adm-secret")
    with Store(pg_url) as su, su.transaction("hand over") as conn:
        conn.exec_driver_sql("ALTER TABLE review_events OWNER TO owner_admin")
    owner = Store(pg_server.url_as(pg_url, "owner_admin", "adm-secret"))
    refused = pytest.raises(StoreError, match="append-only")
    with owner as adm, refused, adm.transaction("empty the audit log") as conn:
        conn.exec_driver_sql("DELETE FROM review_events")
    with pytest.raises(StoreError, match="role"):
        create_user(pg_url, "x", "superhero", "pw")


def test_password_comes_from_the_environment_and_sslmode_reaches_libpq(
    pg_server: PgServer, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    create_user(pg_url, "eve", "labeler", "env-secret")
    bare = pg_server.url_as(pg_url, "eve", "").replace("eve:@", "eve@")
    monkeypatch.setenv("NDELAB_DB_PASSWORD", "env-secret")
    with Store(resolve_url(bare, sslmode="disable")) as store:
        assert store.schema_revision() is not None
        with store.reading("ask") as conn:
            assert conn.exec_driver_sql("SELECT current_user").scalar() == "eve"
    assert connect_params(resolve_url(bare, sslmode="require"))["sslmode"] == "require"
    assert connect_params(resolve_url(bare + "?sslmode=disable"))["sslmode"] == "disable"
    # The test server has no SSL: require must be refused, with the server named.
    with pytest.raises(StoreError, match=r"127\.0\.0\.1"):
        Store(resolve_url(bare, sslmode="require"))
    with pytest.raises(StoreError, match="sslmode"):
        resolve_url(bare, sslmode="sometimes")
    monkeypatch.setenv("NDELAB_DB_PASSWORD", "wrong")
    with pytest.raises(StoreError, match="password"):
        Store(resolve_url(bare))


def test_a_failed_user_creation_never_shows_the_password(pg_server: PgServer, pg_url: str) -> None:
    create_user(pg_url, "lou", "labeler", "lou-secret")
    as_labeler = pg_server.url_as(pg_url, "lou", "lou-secret")
    with pytest.raises(StoreError) as refused:
        create_user(as_labeler, "olga", "admin", "TOP-SECRET-PW")
    message = str(refused.value)
    assert "TOP-SECRET-PW" not in message and "\n" not in message
    assert "permission denied" in message
    assert refused.value.__cause__ is None and refused.value.__suppress_context__
