"""The SAM tool's domain error (kept apart from the backend so that importing it needs no torch)."""

from __future__ import annotations

from pathlib import Path

from ndelab.volumes.errors import NdelabError


class SamError(NdelabError):
    """A SAM checkpoint or cache could not be used: one sentence naming the file and the problem."""

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")
