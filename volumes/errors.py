"""Domain errors: one clear sentence that names the file or thing and what is wrong.

The CLI prints ``str(error)`` and exits 2; the GUI shows it in a dialog. Details go to the log.
"""

from __future__ import annotations

from pathlib import Path


class NdelabError(Exception):
    """An error the user caused (bad file, bad option, unreachable database)."""


class VolumeReadError(NdelabError):
    """A file or folder could not be read as a volume."""

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class VolumeWriteError(NdelabError):
    """A volume could not be written."""

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class UsageError(NdelabError):
    """A wrong option or combination of options."""


def fmt_bytes(n: int) -> str:
    """A byte count with thousands separators, as users read it: 4,000,000."""
    return f"{n:,}"
