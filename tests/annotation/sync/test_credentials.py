# ruff: noqa: F811  (pytest fixtures imported from keyring_fixtures)
"""Passwords come from the URL, the environment or the system keyring, never from settings."""

from __future__ import annotations

import keyring
import pytest
from keyring.backends import fail
from keyring_fixtures import MemoryKeyring, ring  # noqa: F401  (fixture)
from sqlalchemy.engine import make_url

from ndelab.annotation.sync.credentials import (
    keyring_available,
    keyring_password,
    resolve_url,
    save_password,
)

URL = "postgresql+psycopg://rita@db.plant.local:5432/ndelab"


def test_a_saved_password_fills_the_url(ring: MemoryKeyring) -> None:
    assert keyring_available()
    assert save_password(URL, "s3cret")
    assert keyring_password(make_url(URL)) == "s3cret"
    assert make_url(resolve_url(URL)).password == "s3cret"
    # Another login or server does not get it.
    assert make_url(resolve_url(URL.replace("rita", "lena"))).password is None


def test_the_environment_comes_before_the_keyring(
    ring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    save_password(URL, "from-keyring")
    monkeypatch.setenv("NDELAB_DB_PASSWORD", "from-env")
    assert make_url(resolve_url(URL)).password == "from-env"
    with_password = URL.replace("rita@", "rita:typed@")
    assert make_url(resolve_url(with_password)).password == "typed"


def test_no_keyring_backend_means_no_saving(monkeypatch: pytest.MonkeyPatch) -> None:
    before = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        assert not keyring_available()
        assert not save_password(URL, "x")
        assert keyring_password(make_url(URL)) is None
    finally:
        keyring.set_keyring(before)


def test_a_confirmed_dialog_keeps_the_session_password_for_the_same_server() -> None:
    from ndelab.annotation.sync.credentials import kept_password

    before = URL.replace("rita@", "rita:typed-earlier@")
    assert kept_password(URL, "", before) == "typed-earlier"
    assert kept_password(URL, "new", before) == "new"
    assert kept_password(URL.replace("rita@", "lena@"), "", before) == ""  # another login
    assert kept_password(URL, "", None) == ""


def test_settings_never_get_the_password_typed_into_the_url() -> None:
    from ndelab.annotation.sync.credentials import without_password

    typed = "postgresql+psycopg://rita:s3cret@db.plant.local:5432/ndelab?sslmode=require"
    kept = without_password(typed)
    assert "s3cret" not in kept
    assert kept == "postgresql+psycopg://rita@db.plant.local:5432/ndelab?sslmode=require"
    assert without_password("not a url") == "not a url"
