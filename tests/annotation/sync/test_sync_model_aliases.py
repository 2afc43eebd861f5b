# ruff: noqa: F811  (pytest fixtures imported from pg_fixtures)
"""Model aliases travel through the shared PostgreSQL: one workstation sets the champion, the
other pulls it and serves the same model; two concurrent changes end on the later one on every
database (last-writer rule); only a reviewer's login may set one on the server."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from pg_fixtures import PgServer, pg_server, pg_url  # noqa: F401  (fixtures)
from sqlalchemy import select, update

from ndelab.annotation.store import Store, alias_history, get_alias, list_aliases, set_alias
from ndelab.annotation.store.schema import ALIASES, EVENTS
from ndelab.annotation.sync.engine import sync
from ndelab.annotation.sync.server_roles import create_user
from ndelab.app.model_serving import serving_model
from ndelab.inference.registry import Registry

pytestmark = pytest.mark.postgres


def test_a_champion_set_on_one_workstation_serves_on_the_other(
    tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NDELAB_DATA_DIR", str(tmp_path / "data"))
    registry = Registry()
    base = registry.default(3)
    assert base is not None
    registry.register(base.name, "1.1.0", base.weights, {}, base=base)
    with (
        Store(tmp_path / "a.db", workstation="ws-a") as a,
        Store(tmp_path / "b.db", workstation="ws-b") as b,
    ):
        assert serving_model(b, 3, registry).key == base.key  # nothing set: the default
        set_alias(a, "champion", base.name, "1.1.0", user="ana", reason="passed the gate")
        assert sync(a, pg_url, "ana")["pushed"] == 1
        assert sync(b, pg_url, "ben")["pulled"] == 1
        assert get_alias(b, "champion") == (base.name, "1.1.0")
        assert serving_model(b, 3, registry).key == f"{base.name}@1.1.0"
        (row,) = list_aliases(b)
        assert row["set_by"] == "ana" and row["reason"] == "passed the gate"
        with Store(pg_url) as server:
            assert get_alias(server, "champion") == (base.name, "1.1.0")
        # The audit trail of the change is on both workstations.
        assert [h["user"] for h in alias_history(b)] == ["ana"]


def _age(store: Store, by: timedelta) -> None:
    """Make this workstation's alias change look older (its clock ran behind)."""
    with store.transaction("age the alias change") as conn:
        mine = EVENTS.c.entity_type == "model_alias", EVENTS.c.server_seq.is_(None)
        for eid, at in conn.execute(select(EVENTS.c.id, EVENTS.c.at).where(*mine)).all():
            conn.execute(update(EVENTS).where(EVENTS.c.id == eid).values(at=at - by))
        for aid, at in conn.execute(select(ALIASES.c.id, ALIASES.c.updated_at)).all():
            conn.execute(update(ALIASES).where(ALIASES.c.id == aid).values(updated_at=at - by))


@pytest.mark.parametrize("later_pushes_first", [True, False])
def test_concurrent_changes_end_on_the_later_one_everywhere(
    tmp_path: Path, pg_url: str, later_pushes_first: bool
) -> None:
    with (
        Store(tmp_path / "a.db", workstation="ws-a") as a,
        Store(tmp_path / "b.db", workstation="ws-b") as b,
    ):
        set_alias(a, "champion", "m", "1", user="ana", reason="base")
        sync(a, pg_url, "ana")
        sync(b, pg_url, "ben")
        # Both change the champion offline; a's change was made earlier.
        set_alias(a, "champion", "m", "2", user="ana", reason="a's pick")
        set_alias(b, "champion", "m", "3", user="ben", reason="b's pick")
        _age(a, timedelta(minutes=5))
        order = (b, a) if later_pushes_first else (a, b)
        for _ in range(2):
            for ws in order:
                out = sync(ws, pg_url, "x")
                assert out["conflicts"] == 0  # never a conflict: the later change wins
        for ws in (a, b):
            assert get_alias(ws, "champion") == ("m", "3")
            assert list_aliases(ws)[0]["reason"] == "b's pick"
        with Store(pg_url) as server:
            assert get_alias(server, "champion") == ("m", "3")
        # The overwritten pick stays in the audit of the workstation that made it.
        assert "a's pick" in [h["reason"] for h in alias_history(a)]


def test_only_a_reviewer_sets_an_alias_on_the_server(
    tmp_path: Path, pg_server: PgServer, pg_url: str
) -> None:
    create_user(pg_url, "lena", "labeler", "lab-secret")
    create_user(pg_url, "rita", "reviewer", "rev-secret")
    with Store(tmp_path / "l.db", workstation="ws-l") as lab:
        set_alias(lab, "challenger", "m", "9", user="lena", reason="mine")
        out = sync(lab, pg_server.url_as(pg_url, "lena", "lab-secret"), "lena")
        assert out["refused"] == 1 and out["pushed"] == 0
        assert "a model alias is set only by a reviewer's login" in out["refused_message"]
    with Store(pg_url) as server:
        assert get_alias(server, "challenger") is None
    with Store(tmp_path / "r.db", workstation="ws-r") as rev:
        set_alias(rev, "challenger", "m", "9", user="rita", reason="reviewed")
        out = sync(rev, pg_server.url_as(pg_url, "rita", "rev-secret"), "rita")
        assert out["refused"] == 0 and out["pushed"] == 1
    with Store(pg_url) as server:
        assert get_alias(server, "challenger") == ("m", "9")
