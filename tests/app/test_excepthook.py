"""The excepthook's logic: the traceback to the log, one sentence to the user, one at a time."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from ndelab.app.excepthook import ErrorReporter, install
from ndelab.volumes.errors import NdelabError


def _raise(exc: BaseException) -> tuple[type[BaseException], BaseException, object]:
    try:
        raise exc
    except BaseException as caught:
        return type(caught), caught, caught.__traceback__


def test_an_error_is_logged_with_its_traceback_and_shown_as_one_sentence(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    shown: list[str] = []
    reporter = ErrorReporter(tmp_path / "ndelab.log", lambda text, _closed: shown.append(text))
    with caplog.at_level(logging.ERROR):
        reporter(*_raise(ZeroDivisionError("division by zero")))  # type: ignore[arg-type]
    assert caplog.records[-1].exc_info is not None  # the traceback goes to the log
    assert "ZeroDivisionError" in caplog.text and "Traceback" in caplog.text
    (text,) = shown
    assert str(tmp_path / "ndelab.log") in text
    assert "\n" not in text and "Traceback" not in text and "division by zero" not in text


def test_errors_while_a_notice_is_up_are_logged_but_not_shown(tmp_path: Path) -> None:
    shown: list[Callable[[], None]] = []
    reporter = ErrorReporter(tmp_path / "ndelab.log", lambda _text, closed: shown.append(closed))
    for _ in range(5):
        reporter(*_raise(RuntimeError("timer")))  # type: ignore[arg-type]
    assert len(shown) == 1 and reporter.reported == 5 and reporter.unshown == 4
    shown[0]()  # the user closed the dialog: the next error is shown again
    reporter(*_raise(RuntimeError("again")))  # type: ignore[arg-type]
    assert len(shown) == 2


def test_a_domain_error_says_its_own_sentence(tmp_path: Path) -> None:
    shown: list[str] = []
    reporter = ErrorReporter(tmp_path / "ndelab.log", lambda text, _closed: shown.append(text))
    reporter(*_raise(NdelabError("scan.nrrd: the header names no sizes")))  # type: ignore[arg-type]
    assert shown[0].startswith("scan.nrrd: the header names no sizes")


def test_a_failing_notice_does_not_block_the_next(tmp_path: Path) -> None:
    calls: list[str] = []

    def notify(text: str, _closed: Callable[[], None]) -> None:
        calls.append(text)
        raise RuntimeError("no screen")

    reporter = ErrorReporter(tmp_path / "ndelab.log", notify)
    reporter(*_raise(ValueError("one")))  # type: ignore[arg-type]
    reporter(*_raise(ValueError("two")))  # type: ignore[arg-type]
    assert len(calls) == 2 and not reporter.showing


def test_install_and_uninstall_put_the_previous_hook_back(tmp_path: Path) -> None:
    before = sys.excepthook
    reporter = ErrorReporter(tmp_path / "ndelab.log", lambda _t, _c: None)
    uninstall = install(reporter)
    try:
        assert sys.excepthook is reporter
    finally:
        uninstall()
    assert sys.excepthook is before
