"""File ▸ Shared database…: the PostgreSQL server to sync with, and how to find its password.

The URL (without any password) goes to settings. A password typed here is kept in the system
keyring when the user asks and a keyring is there; otherwise it lives only in this session.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QWidget,
)

from ndelab.app.shared_db import keyring_available

HINT = (
    "postgresql+psycopg://user@host:5432/ndelab?sslmode=require\n"
    "Leave empty to work with this workstation's database only.\n"
    "Passwords are never written to the settings: they come from NDELAB_DB_PASSWORD,\n"
    "PGPASSWORD, the system keyring, or what you type here for this session."
)


class SharedDatabaseDialog(QDialog):
    def __init__(self, url: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Shared database")
        self.setMinimumWidth(680)
        self.url = QLineEdit(url)
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText("only if not in the environment or keyring")
        self.remember = QCheckBox("Remember the password in the system keyring")
        can_remember = keyring_available()
        self.remember.setEnabled(can_remember)
        if not can_remember:
            self.remember.setToolTip("no system keyring is available on this desktop")
        form = QFormLayout(self)
        form.addRow(QLabel(HINT))
        form.addRow("Server URL", self.url)
        form.addRow("Password", self.password)
        form.addRow(self.remember)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def values(self) -> tuple[str, str, bool]:
        """(URL, password or "", remember it)."""
        return self.url.text().strip(), self.password.text(), self.remember.isChecked()
