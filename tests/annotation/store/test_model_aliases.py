"""Model aliases in the review database: set, read, list, every change audited, bad input one
sentence; migration 0006 both ways."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from ndelab.annotation.errors import ReviewError
from ndelab.annotation.store import (
    ALIASES,
    Store,
    alias_history,
    audit,
    get_alias,
    list_aliases,
    set_alias,
)
from ndelab.annotation.store.database import alembic_config
from ndelab.annotation.store.model_aliases import alias_id
from ndelab.annotation.store.schema import Base


def test_set_get_list_and_the_audit_trail(store: Store) -> None:
    assert ALIASES == ("champion", "challenger", "shadow")
    assert get_alias(store, "champion") is None and list_aliases(store) == []
    set_alias(store, "champion", "unet-phantom", "1.0", user="ana", reason="first line model")
    set_alias(store, "shadow", "unet-phantom", "1.1", user="ana", reason="retrained round 1")
    set_alias(store, "champion", "unet-phantom", "1.1", user="bo", reason="passed the gate")
    assert get_alias(store, "champion") == ("unet-phantom", "1.1")
    assert get_alias(store, "shadow") == ("unet-phantom", "1.1")
    assert get_alias(store, "challenger") is None
    rows = list_aliases(store)
    assert [r["alias"] for r in rows] == ["champion", "shadow"]
    champ = rows[0]
    assert champ["name"] == "unet-phantom" and champ["version"] == "1.1"
    assert champ["set_by"] == "bo" and champ["reason"] == "passed the gate"
    assert champ["set_at"].endswith("+00:00")
    events = [e for e in audit(store) if e["entity_type"] == "model_alias"]
    assert len(events) == 3
    last = events[-1]
    assert last["entity_id"] == alias_id("champion")
    assert last["user"] == "bo" and last["reason"] == "passed the gate"
    assert last["before"] == {
        "alias": "champion",
        "model_name": "unet-phantom",
        "model_version": "1.0",
    }
    assert last["after"]["model_version"] == "1.1"
    assert last["base_revision"] == 1 and last["revision"] == 2
    assert events[0]["before"] is None and events[0]["base_revision"] is None
    history = alias_history(store, "champion")
    assert [h["after"]["model_version"] for h in history] == ["1.0", "1.1"]
    assert [h["user"] for h in history] == ["ana", "bo"]


@pytest.mark.parametrize(
    ("alias", "name", "version", "user", "reason", "words"),
    [
        ("king", "m", "1", "ana", "why", "is not one of champion, challenger, shadow"),
        ("champion", "", "1", "ana", "why", "non-empty name"),
        ("champion", "m", " ", "ana", "why", "non-empty version"),
        ("champion", "m", "1", "", "why", "user id"),
        ("champion", "m", "1", "ana", "  ", "needs a reason"),
    ],
)
def test_bad_input_is_one_sentence_and_changes_nothing(
    store: Store, alias: str, name: str, version: str, user: str, reason: str, words: str
) -> None:
    with pytest.raises(ReviewError) as info:
        set_alias(store, alias, name, version, user=user, reason=reason)
    assert words in str(info.value) and "\n" not in str(info.value)
    assert list_aliases(store) == []
    assert [e for e in audit(store) if e["entity_type"] == "model_alias"] == []


def test_the_same_alias_is_the_same_row_everywhere(tmp_path: Path) -> None:
    with Store(tmp_path / "a.db") as a, Store(tmp_path / "b.db") as b:
        set_alias(a, "champion", "m", "1", user="ana", reason="x")
        set_alias(b, "champion", "m", "2", user="bo", reason="y")
        ea = [e for e in audit(a) if e["entity_type"] == "model_alias"]
        eb = [e for e in audit(b) if e["entity_type"] == "model_alias"]
    assert ea[0]["entity_id"] == eb[0]["entity_id"] == alias_id("champion")


def test_migration_0006_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    with Store(path) as store:
        set_alias(store, "champion", "m", "1", user="ana", reason="x")
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0005")
        assert "model_aliases" not in inspect(conn).get_table_names()
        command.upgrade(alembic_config(conn), "head")
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    engine.dispose()
    with Store(path) as store:
        # The table went with the downgrade; the audit log keeps the change.
        assert get_alias(store, "champion") is None
        assert [h["after"]["model_version"] for h in alias_history(store)] == ["1"]
        set_alias(store, "champion", "m", "2", user="ana", reason="again")
        assert get_alias(store, "champion") == ("m", "2")
