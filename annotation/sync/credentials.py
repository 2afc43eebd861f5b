"""Database credentials for the shared server: never stored in plain text in settings.

A password comes from the URL itself, NDELAB_DB_PASSWORD, PGPASSWORD, or the system keyring
(``keyring``: Secret Service, KWallet, macOS Keychain or Windows Credential Locker; a desktop
without one simply has no saved passwords). sslmode travels in the URL's
query to psycopg (libpq), which enforces it.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from ndelab.annotation.errors import StoreError

KEYRING_SERVICE = "ndelab"
SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")


def _keyring() -> Any | None:
    try:
        return importlib.import_module("keyring")
    except Exception:  # not installed, or no usable backend on this system
        return None


def keyring_key(url: URL) -> str:
    return f"{url.username}@{url.host}:{url.port or 5432}/{url.database}"


def keyring_password(url: URL) -> str | None:
    ring = _keyring()
    if ring is None:
        return None
    try:
        value = ring.get_password(KEYRING_SERVICE, keyring_key(url))
    except Exception:  # a locked or absent keyring backend is not fatal: no password
        return None
    return str(value) if value else None


def keyring_available() -> bool:
    """Whether a usable system keyring is there (keyring's fail backend has priority 0: a
    desktop without Secret Service, KWallet or the macOS/Windows stores)."""
    ring = _keyring()
    if ring is None:
        return False
    try:
        priority = float(ring.get_keyring().priority)
    except Exception:
        return False
    return priority > 0


def save_password(url: str, password: str) -> bool:
    """Keep a password in the system keyring; False when no keyring is available."""
    ring = _keyring()
    if ring is None:
        return False
    try:
        ring.set_password(KEYRING_SERVICE, keyring_key(_parse(url)), password)
    except Exception:
        return False
    return True


def with_password(url: str, password: str) -> str:
    """``url`` with ``password`` in it: for this session's connections only, never saved."""
    return _parse(url).set(password=password).render_as_string(hide_password=False)


def without_password(url: str) -> str:
    """The URL as settings may keep it: never with a password in it. (URL.set ignores None,
    so the password goes through _replace: URL is a named tuple.) An unparsable URL comes back
    as it is; the sync reports it when it tries it."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return url
    return parsed._replace(password=None).render_as_string(hide_password=False)


def kept_password(url: str, typed: str, previous: str | None) -> str:
    """The password for ``url``: the one typed, else the one this session already used for
    the same server and login (the dialog confirmed without retyping it)."""
    if typed or not previous:
        return typed
    try:
        before, now = _parse(previous), _parse(url)
    except StoreError:
        return typed
    # URL.set ignores None, so the password goes through _replace (URL is a named tuple).
    same = before._replace(password=None) == now._replace(password=None)
    return (before.password or "") if same else typed


def _parse(url: str) -> URL:
    try:
        return make_url(url)
    except ArgumentError as e:
        raise StoreError(f"database URL {url!r} is not a valid URL ({e})") from e


def resolve_url(url: str, *, sslmode: str | None = None) -> str:
    """The URL to connect with: driver psycopg, the password filled in from the environment
    or keyring when the URL has none, and ``sslmode`` (if given) in its query."""
    parsed = _parse(url)
    if parsed.get_backend_name() != "postgresql":
        return url
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    mode = sslmode or parsed.query.get("sslmode")
    if mode is not None:
        if not isinstance(mode, str) or mode not in SSLMODES:
            raise StoreError(
                f"database URL {parsed.render_as_string(hide_password=True)} has sslmode"
                f" {mode!r}; use one of {', '.join(SSLMODES)}"
            )
        parsed = parsed.update_query_dict({"sslmode": mode})
    if parsed.password is None:
        password = (
            os.environ.get("NDELAB_DB_PASSWORD")
            or os.environ.get("PGPASSWORD")
            or keyring_password(parsed)
        )
        if password:
            parsed = parsed.set(password=password)
    return parsed.render_as_string(hide_password=False)


def connect_params(url: str) -> dict[str, Any]:
    """The keyword arguments SQLAlchemy hands psycopg for this URL (what libpq receives)."""
    from sqlalchemy.dialects import registry

    parsed = _parse(url)
    dialect = registry.load(parsed.drivername.replace("+", "."))()
    _args, kwargs = dialect.create_connect_args(parsed)
    return dict(kwargs)


__all__ = [
    "connect_params",
    "kept_password",
    "keyring_available",
    "keyring_password",
    "resolve_url",
    "save_password",
    "with_password",
    "without_password",
]
