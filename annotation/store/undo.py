"""Undo and redo of review work as sparse diffs.

Each entry keeps the changed fields (status, class, reason, depth) and, for a mask edit, a
MaskDelta: the XOR of old and new masks over their union box. Nothing the size of the scan is
ever copied. Undo and redo are new audited actions ("undo", "redo"): the audit log stays
append-only and every step can be traced.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from ndelab.annotation.errors import ConflictError, ReviewError
from ndelab.annotation.mask import MaskDelta, SparseMask
from ndelab.annotation.store.database import Store
from ndelab.annotation.store.indications import apply_change, get_call, get_mask, review

_FIELDS = ("status", "class", "reason", "distance_to_surface_mm")


@dataclass(frozen=True)
class Change:
    """One undoable step on one call."""

    call_id: str
    action: str
    before: dict[str, Any]
    after: dict[str, Any]
    mask_delta: MaskDelta | None
    revision: int  # the call's revision right after this step

    @property
    def nbytes(self) -> int:
        """Bytes held for the mask (the fields are a few words)."""
        return self.mask_delta.nbytes if self.mask_delta else 0


class UndoStack:
    """Review actions through an undo/redo history for one user's session.

    A new action clears the redo side. Undo refuses (ConflictError) when the call changed
    since the step, e.g. another reviewer or workstation touched it.
    """

    def __init__(self, store: Store, user: str, limit: int = 500) -> None:
        self.store = store
        self.user = user
        self.limit = limit
        self._undo: list[Change] = []
        self._redo: list[Change] = []
        # Revision each call had after this stack last wrote it: any other revision means
        # someone outside the stack changed the call since.
        self._known: dict[str, int] = {}

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    @property
    def undo_entries(self) -> list[Change]:
        return list(self._undo)

    @property
    def redo_entries(self) -> list[Change]:
        return list(self._redo)

    def nbytes(self) -> int:
        return sum(c.nbytes for c in self._undo) + sum(c.nbytes for c in self._redo)

    def review(
        self,
        call_id: str,
        action: str,
        reason: str | None = None,
        *,
        cls: str | None = None,
        mask: SparseMask | None = None,
    ) -> dict[str, Any]:
        """Run review and remember how to take it back."""
        before = get_call(self.store, call_id)
        old_mask = get_mask(self.store, call_id) if mask is not None else None
        after = review(
            self.store,
            call_id,
            action,
            self.user,
            reason,
            cls=cls,
            mask=mask,
            base_revision=before["revision"],
        )
        delta = None
        if mask is not None and old_mask is not None and not mask.same_as(old_mask):
            delta = MaskDelta.between(old_mask, mask)
        self._undo.append(
            Change(
                call_id,
                action,
                {k: before[k] for k in _FIELDS},
                {k: after[k] for k in _FIELDS},
                delta,
                after["revision"],
            )
        )
        del self._undo[: -self.limit]
        self._redo.clear()
        self._known[call_id] = after["revision"]
        return after

    def edit_mask(
        self, call_id: str, mask: SparseMask, reason: str | None = None
    ) -> dict[str, Any]:
        """Replace a call's mask (a correction) undoably."""
        return self.review(call_id, "correct", reason, mask=mask)

    def _apply(self, change: Change, fields: dict[str, Any], action: str) -> dict[str, Any]:
        current = get_call(self.store, change.call_id)
        expected = self._known.get(change.call_id, change.revision)
        if current["revision"] != expected:
            raise ConflictError(
                f"call {change.call_id} changed since that step (revision {current['revision']},"
                f" expected {expected}); it cannot be {action}ne"
            )
        mask = None
        if change.mask_delta is not None:
            mask = change.mask_delta.apply(get_mask(self.store, change.call_id))
        return apply_change(
            self.store,
            change.call_id,
            user=self.user,
            action=action,
            status=fields["status"],
            cls=fields["class"],
            mask=mask,
            reason=fields["reason"],
            distance_to_surface_mm=fields["distance_to_surface_mm"],
            base_revision=expected,
            event_reason=f"{action} of {change.action}",
        )

    def undo(self) -> dict[str, Any]:
        """Take back the last step; returns the call as it is now."""
        if not self._undo:
            raise ReviewError("there is nothing to undo")
        change = self._undo[-1]
        out = self._apply(change, change.before, "undo")
        self._known[change.call_id] = out["revision"]
        self._undo.pop()
        self._redo.append(replace(change, revision=out["revision"]))
        return out

    def redo(self) -> dict[str, Any]:
        """Do again the last undone step; returns the call as it is now."""
        if not self._redo:
            raise ReviewError("there is nothing to redo")
        change = self._redo[-1]
        out = self._apply(change, change.after, "redo")
        self._known[change.call_id] = out["revision"]
        self._redo.pop()
        self._undo.append(replace(change, revision=out["revision"]))
        return out
