"""Errors of the review workflow: one clear sentence naming the database, file or call."""

from __future__ import annotations

from ndelab.volumes.errors import NdelabError, UsageError


class StoreError(NdelabError):
    """The review database cannot be opened, read or written (locked, read-only, damaged)."""


class ReviewError(UsageError):
    """A review action that is not allowed (bad transition, missing reason, open calls)."""


class ConflictError(ReviewError):
    """The call changed since it was read (another session or workstation wrote it first)."""


class CriteriaError(UsageError):
    """An acceptance criteria file is missing, unreadable or invalid."""

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}")


__all__ = ["ConflictError", "CriteriaError", "NdelabError", "ReviewError", "StoreError"]
