"""What an unexpected exception in the GUI becomes: its traceback in the log file, one sentence
for the user (with the log's path), and the program keeps running.

Qt-free: ``ErrorReporter`` takes a ``notify(sentence, closed)`` callback that shows the
sentence (the window shows a dialog and calls ``closed`` when it is dismissed). While one
notice is up, further errors are only logged: a failing timer cannot stack dialogs.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from ndelab.volumes.errors import NdelabError

log = logging.getLogger(__name__)

Notify = Callable[[str, Callable[[], None]], None]
ExceptHook = Callable[[type[BaseException], BaseException, TracebackType | None], object]


class ErrorReporter:
    def __init__(self, log_file: Path, notify: Notify) -> None:
        self.log_file = log_file
        self._notify = notify
        self.showing = False
        self.reported = 0  # unexpected errors logged
        self.unshown = 0  # of those, the ones that came while a notice was up

    def sentence(self, exc: BaseException) -> str:
        """One sentence, never a traceback: a domain error says what is wrong itself."""
        if isinstance(exc, NdelabError):
            return f"{exc} (details are in {self.log_file})"
        return (
            f"Something went wrong ({type(exc).__name__}); the window stays open and the "
            f"details are in {self.log_file}"
        )

    def __call__(
        self,
        exc_type: type[BaseException],
        exc: BaseException,
        tb: TracebackType | None,
    ) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        log.error("unexpected error in the GUI", exc_info=(exc_type, exc, tb))
        self.reported += 1
        if self.showing:
            self.unshown += 1
            return
        self.showing = True
        try:
            self._notify(self.sentence(exc), self._closed)
        except Exception:
            self.showing = False
            log.exception("could not show the error notice")

    def _closed(self) -> None:
        self.showing = False


def install(hook: ExceptHook) -> Callable[[], None]:
    """Make ``hook`` sys.excepthook; returns what puts the previous one back."""
    previous = sys.excepthook
    sys.excepthook = hook

    def uninstall() -> None:
        if sys.excepthook is hook:
            sys.excepthook = previous

    return uninstall
