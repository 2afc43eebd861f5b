"""The one place in widgets/ that turns a shortcut id of ndelab.app.shortcuts into Qt keys.

Nothing else in widgets/ spells a key: tests/widgets/test_shortcuts_window.py checks that.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence

from ndelab.app.shortcuts import keys

# The property a bound action carries, so the key help and the tests can tell which it is.
SHORTCUT_ID = "ndelab_shortcut_id"


def key_sequence(shortcut_id: str) -> QKeySequence:
    return QKeySequence(keys(shortcut_id))


def key_text(shortcut_id: str) -> str:
    """The keys as this platform writes them (Cmd symbols on macOS), for tips and messages."""
    return key_sequence(shortcut_id).toString(QKeySequence.SequenceFormat.NativeText)


def bind(action: QAction, shortcut_id: str) -> QAction:
    action.setShortcut(key_sequence(shortcut_id))
    action.setProperty(SHORTCUT_ID, shortcut_id)
    return action


def plain_key(shortcut_id: str) -> Qt.Key:
    """The key of a one-key shortcut without its modifiers, for a widget's own key handler."""
    return key_sequence(shortcut_id)[0].key()
