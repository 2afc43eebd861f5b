"""The image-quality gate in the window, driven through its real dialogs: a radiograph whose
image failed the gate opens with weld radiograph criteria and the gate shown; signing is
refused until an override with a reason is given; the audit log then holds it."""

from __future__ import annotations

import time
from collections import deque
from pathlib import Path
from typing import Any

import pytest

from ndelab.annotation.store import audit, dispositions
from ndelab.cli import main

pytestmark = pytest.mark.gui


def _wait(qapp: Any, done: Any, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < end, "timed out waiting for the GUI"
        qapp.processEvents()
        time.sleep(0.01)


class Answers:
    """Answers the modal input dialogs as they open, in order: text to type and OK, or None
    for Cancel. Records each dialog's label text."""

    def __init__(self, qapp: Any, answers: list[str | None]) -> None:
        from PySide6.QtCore import QTimer

        self.qapp = qapp
        self.left: deque[str | None] = deque(answers)
        self.labels: list[str] = []
        self.timer = QTimer()
        self.timer.setInterval(20)
        self.timer.timeout.connect(self._answer)
        self.timer.start()

    def _answer(self) -> None:
        from PySide6.QtWidgets import QApplication, QInputDialog

        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, QInputDialog) or not dialog.isVisible() or not self.left:
            return
        answer = self.left.popleft()
        self.labels.append(dialog.labelText())
        if answer is None:
            dialog.reject()
        else:
            dialog.setTextValue(answer)
            dialog.accept()

    def stop(self) -> None:
        self.timer.stop()
        assert not self.left, f"dialogs not shown: {list(self.left)}"


def test_a_failed_radiograph_is_signed_only_with_an_audited_override(
    qapp: Any, make_main_window: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from ndelab.app.workspace import open_review
    from ndelab.volumes.io import open_volume

    out = tmp_path / "xray"
    args = ["phantom", str(out), "--kind", "xray", "--size", "512", "--seed", "2", "--iqi"]
    assert main(args) == 0
    capsys.readouterr()
    volume = open_volume(out / "volume.nrrd")  # its layout (volume.iq.json) lies beside it
    w = make_main_window()
    errors: list[str] = []
    w.error = lambda _title, message: errors.append(message)
    w.show()
    w.show_volume(volume)
    store = w.wait_for_store()
    assert store is not None
    session = open_review(store, volume, w.user)  # records the scan, measures its gate
    w.review.set_session(session)
    qapp.processEvents()
    # Weld radiograph criteria for a radiograph, not the aluminium casting file.
    assert Path(w.disposition.criteria_path).name == "weld-radiograph-iso10675-level-2.yaml"
    # The gate shows: SRb about 148 µm is over class A's 130 µm at the default blur.
    assert "NOT INTERPRETABLE" in w.disposition.gate.text()
    assert w.disposition.sign.text() == "Sign with image-quality override…"
    assert "NOT INTERPRETABLE" in w.inspector.toPlainText()
    # Refused: the override dialog cancelled, then answered with no reason.
    for answer in (None, "   "):
        answers = Answers(qapp, ["rev", answer])
        w.sign_disposition()
        answers.stop()
        assert answers.labels[1].startswith("This image is NOT INTERPRETABLE:\nSRb")
        assert dispositions(store, session.scan_id) == []
    # Overridden with a reason: signed, and the override is audited with who and why.
    why = "resolution confirmed on the second exposure, report 12"
    answers = Answers(qapp, ["rev", why])
    w.sign_disposition()
    answers.stop()
    assert not errors, errors
    (signed,) = dispositions(store, session.scan_id)
    assert signed["signed_by"] == "rev"
    (event,) = [e for e in audit(store, session.scan_id) if e["action"] == "override_iq"]
    assert event["user"] == "rev" and event["reason"] == why
    assert event["after"]["image_quality"]["failed"] == "srb"
    assert event["after"]["disposition_id"] == signed["id"]
    # The window shows it: the gate line and the inspector name the override.
    assert "OVERRIDDEN by rev" in w.disposition.gate.text() and why in w.disposition.gate.text()
    assert "IQ override" in w.inspector.toPlainText()
