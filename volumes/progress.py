"""Progress and cancel callbacks for long logic functions.

Logic knows nothing of threads: it calls ``progress(fraction)`` now and then and asks
``cancel()`` whether to stop, raising :class:`Cancelled` when told to.
"""

from __future__ import annotations

from collections.abc import Callable

from ndelab.volumes.errors import NdelabError

Progress = Callable[[float], None]
Cancel = Callable[[], bool]


class Cancelled(NdelabError):  # noqa: N818  (users read "cancelled", not "error")
    """The user cancelled a long operation."""

    def __init__(self, what: str = "the operation") -> None:
        super().__init__(f"{what} was cancelled")


def report(progress: Progress | None, fraction: float) -> None:
    if progress is not None:
        progress(min(max(fraction, 0.0), 1.0))


def check(cancel: Cancel | None, what: str = "the operation") -> None:
    if cancel is not None and cancel():
        raise Cancelled(what)
