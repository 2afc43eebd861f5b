"""The window's choice of shared database (Qt-free): which URL the settings keep, which
this session syncs with, and whether the system keyring took the password.
"""

from __future__ import annotations

from dataclasses import dataclass

from ndelab.annotation.sync.credentials import (
    kept_password,
    keyring_available,
    save_password,
    with_password,
    without_password,
)

__all__ = ["RemoteChoice", "choose_remote", "keyring_available"]


@dataclass(frozen=True)
class RemoteChoice:
    saved_url: str | None  # for the settings: never a password
    session_url: str | None  # for this session's syncs: a typed password included
    keyring_refused: bool  # asked to remember the password, and the keyring said no


def choose_remote(
    url: str, typed: str, remember: bool, previous_session_url: str | None
) -> RemoteChoice:
    """A typed password goes to the keyring (when asked and available) or stays in this
    session; an empty one keeps the password this session had for the same server.
    NdelabError for a URL that cannot be used."""
    password = kept_password(url, typed, previous_session_url)
    session_url = with_password(url, password) if url and password else url
    refused = bool(password and remember and not save_password(url, password))
    return RemoteChoice(without_password(url) if url else None, session_url or None, refused)
