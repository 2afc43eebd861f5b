# ruff: noqa: F811  (pytest fixtures imported from keyring_fixtures)
"""File ▸ Shared database…: the URL is saved without a password; a typed password goes to the
keyring when asked, or stays in this session."""

from __future__ import annotations

from typing import Any

import keyring
import pytest
from keyring_fixtures import MemoryKeyring, ring  # noqa: F401  (fixture)
from sqlalchemy.engine import make_url

pytestmark = pytest.mark.gui

URL = "postgresql+psycopg://rita@127.0.0.1:1/ndelab?sslmode=disable"


def _choose(w: Any, monkeypatch: pytest.MonkeyPatch, values: tuple[str, str, bool]) -> None:
    from ndelab.widgets.shared_db_dialog import SharedDatabaseDialog

    monkeypatch.setattr(SharedDatabaseDialog, "exec", lambda self: self.DialogCode.Accepted)
    monkeypatch.setattr(SharedDatabaseDialog, "values", lambda self: values)
    w.choose_remote()


@pytest.mark.parametrize("remember", [True, False])
def test_a_typed_password_is_never_saved_in_settings(
    qapp: Any,
    make_main_window: Any,
    monkeypatch: pytest.MonkeyPatch,
    ring: MemoryKeyring,
    remember: bool,
) -> None:
    from ndelab.app.settings import config_dir

    w = make_main_window()
    _choose(w, monkeypatch, (URL, "pa55-word", remember))
    saved = config_dir() / "settings.json"
    assert w.settings.remote_url == URL
    assert "pa55-word" not in saved.read_text()
    assert make_url(w.sync.remote_url).password == "pa55-word"  # this session syncs with it
    assert (list(ring.items.values()) == ["pa55-word"]) is remember
    w.sync.stop()


def test_the_dialog_offers_the_keyring_only_when_there_is_one(qapp: Any) -> None:
    from keyring.backends import fail

    from ndelab.widgets.shared_db_dialog import SharedDatabaseDialog

    before = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        dialog = SharedDatabaseDialog(URL)
        assert not dialog.remember.isEnabled()
        dialog.password.setText("x")
        assert dialog.values() == (URL, "x", False)
        dialog.deleteLater()
    finally:
        keyring.set_keyring(before)


def test_a_refusal_from_a_background_sync_never_opens_a_dialog(
    qapp: Any, make_main_window: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = make_main_window()
    shown: list[str] = []
    monkeypatch.setattr(w, "error", lambda _title, message: shown.append(message))
    refusal = {
        "pushed": 0,
        "pulled": 0,
        "conflicts": 0,
        "open_conflicts": 0,
        "refused": 1,
        "refused_changes": [{"event_id": "e1"}],
        "refused_message": "server x refused 1 change(s)",
    }
    w.sync.running_by_user = False  # the timer's sync
    w._after_sync(refusal)
    assert shown == [] and "refused 1 change(s)" in w.statusBar().currentMessage()
    w.sync.running_by_user = True  # Review > Sync: the user asked, so a dialog may interrupt
    w._after_sync({**refusal, "refused_changes": [{"event_id": "e2"}]})
    assert shown == ["server x refused 1 change(s)"]


def test_a_password_inside_the_url_is_not_saved_either(
    qapp: Any, make_main_window: Any, monkeypatch: pytest.MonkeyPatch, ring: MemoryKeyring
) -> None:
    from ndelab.app.settings import config_dir

    w = make_main_window()
    _choose(w, monkeypatch, (URL.replace("rita@", "rita:in-url@"), "", False))
    assert w.settings.remote_url == URL
    assert "in-url" not in (config_dir() / "settings.json").read_text()
    assert make_url(w.sync.remote_url).password == "in-url"  # this session still syncs
    w.sync.stop()
