"""One engineer reviewing one scan: the queue rows, the selection, actions, undo and overlays.

Qt-free: the controller wraps it in signals, tests drive it directly. Every action goes
through the store (durable and audited when it returns) via the annotation undo stack.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ndelab.annotation import Criteria, NewIndication, Source, SparseMask, load_criteria
from ndelab.annotation.measure import measure
from ndelab.annotation.store import (
    Store,
    UndoStack,
    add_indications,
    disposition,
    get_call,
    get_masks,
    list_calls,
)

#: Overlay codes per status; +SELECTED marks the selected call.
STATUS_CODES = {"proposed": 1, "accepted": 2, "rejected": 3, "corrected": 4}
SELECTED = 4
_DECODED_CACHE = 512  # decoded mask crops kept for fast slice overlays


class ReviewSession:
    def __init__(self, store: Store, scan_id: str, user: str) -> None:
        self.store = store
        self.scan_id = scan_id
        self.user = user
        self.undo_stack = UndoStack(store, user)
        self.criteria: Criteria | None = None
        self.nearness: dict[str, dict[str, Any]] = {}
        # The unsigned disposition under the criteria: one evaluation gives it and nearness.
        self.preview: dict[str, Any] | None = None
        self.current: str | None = None
        self._decoded: OrderedDict[str, npt.NDArray[np.bool_]] = OrderedDict()
        self.reload()

    # -- rows
    def reload(self) -> None:
        """Read the queue rows and their masks (one query each, no per-row round trips)."""
        self.rows: list[dict[str, Any]] = list_calls(self.store, self.scan_id)
        self._index = {row["id"]: i for i, row in enumerate(self.rows)}
        self.masks: dict[str, SparseMask] = get_masks(self.store, [r["id"] for r in self.rows])
        self._decoded.clear()
        self._rebuild_boxes()
        self._refresh_nearness()

    def _rebuild_boxes(self) -> None:
        boxes = [r["bbox_zyx"] for r in self.rows]
        self.boxes = np.asarray(boxes, np.int64).reshape(-1, 6)
        self.codes = np.asarray([STATUS_CODES[r["status"]] for r in self.rows], np.uint8)

    def row(self, call_id: str) -> dict[str, Any]:
        return self.rows[self._index[call_id]]

    def _update_row(self, call: dict[str, Any]) -> dict[str, Any]:
        """Take an updated call from the store into the rows, boxes and mask caches."""
        i = self._index[call["id"]]
        keep = self.rows[i].keys()
        self.rows[i] = {k: call[k] for k in keep if k in call}
        self.boxes[i] = call["bbox_zyx"]
        self.codes[i] = STATUS_CODES[call["status"]]
        self.masks.update(get_masks(self.store, [call["id"]]))
        self._decoded.pop(call["id"], None)
        self._refresh_nearness()
        return self.rows[i]

    # -- criteria
    def set_criteria(self, criteria: Criteria | str | Path | None) -> None:
        if isinstance(criteria, str | Path):
            criteria = load_criteria(criteria)
        self.criteria = criteria
        self._refresh_nearness()

    def _refresh_nearness(self) -> None:
        if self.criteria is None or not self.rows:
            self.nearness = {}
            self.preview = None
            return
        self.preview = disposition(self.store, self.scan_id, self.criteria, include_nearness=True)
        self.nearness = self.preview["nearness"]

    def nearness_ratio(self, call_id: str) -> float | None:
        entry = self.nearness.get(call_id)
        return None if entry is None else float(entry["ratio"])

    # -- selection and navigation (in the order the queue shows)
    def select(self, call_id: str | None) -> dict[str, Any] | None:
        self.current = call_id if call_id in self._index else None
        return self.row(self.current) if self.current else None

    def step(self, order: Sequence[str], delta: int) -> dict[str, Any] | None:
        """Next (+1) or previous (-1) call in ``order``; from nothing, the first or last."""
        if not order:
            return None
        if self.current not in order:
            target = order[0] if delta > 0 else order[-1]
        else:
            i = list(order).index(self.current) + delta
            target = order[max(0, min(i, len(order) - 1))]
        return self.select(target)

    def next_open(self, order: Sequence[str]) -> dict[str, Any] | None:
        """The next proposed call after the current one (wrapping), for a fast review flow."""
        ids = list(order)
        start = ids.index(self.current) + 1 if self.current in ids else 0
        for k in range(len(ids)):
            candidate = ids[(start + k) % len(ids)]
            if self.row(candidate)["status"] == "proposed":
                return self.select(candidate)
        return None

    # -- actions (durable when they return)
    def _require_current(self) -> str:
        if self.current is None:
            from ndelab.annotation import ReviewError

            raise ReviewError("select a call first")
        return self.current

    def act(self, action: str, reason: str | None = None) -> dict[str, Any]:
        call_id = self._require_current()
        return self._update_row(self.undo_stack.review(call_id, action, reason))

    def correct(
        self, *, mask: SparseMask | None = None, cls: str | None = None, reason: str | None = None
    ) -> dict[str, Any]:
        call_id = self._require_current()
        return self._update_row(
            self.undo_stack.review(call_id, "correct", reason, cls=cls, mask=mask)
        )

    def add_manual(
        self,
        mask: SparseMask,
        cls: str,
        spacing_mm: Sequence[float],
        source: Source | None = None,
    ) -> dict[str, Any]:
        """A new call drawn by the reviewer (manual unless ``source`` says, e.g. SAM), selected."""
        item = NewIndication(
            mask=mask,
            cls=cls,
            source=source or Source("manual", self.user),
            measurements=measure(mask, spacing_mm),
            score=None,
        )
        (call_id,) = add_indications(self.store, self.scan_id, [item], user=self.user)
        self.reload()
        self.current = call_id
        return self.row(call_id)

    def undo(self) -> dict[str, Any]:
        call = self.undo_stack.undo()
        self.current = call["id"]
        return self._update_row(call)

    def redo(self) -> dict[str, Any]:
        call = self.undo_stack.redo()
        self.current = call["id"]
        return self._update_row(call)

    def details(self, call_id: str) -> dict[str, Any]:
        return get_call(self.store, call_id)

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(STATUS_CODES, 0)
        for row in self.rows:
            out[row["status"]] += 1
        return out

    # -- overlays
    def _local(self, call_id: str) -> npt.NDArray[np.bool_]:
        local = self._decoded.get(call_id)
        if local is None:
            local = self.masks[call_id].local()
            self._decoded[call_id] = local
            if len(self._decoded) > _DECODED_CACHE:
                self._decoded.popitem(last=False)
        else:
            self._decoded.move_to_end(call_id)
        return local

    def overlay(self, axis: int, index: int, plane_shape: tuple[int, int]) -> npt.NDArray[np.uint8]:
        """Status codes of every call crossing slice ``index`` normal to ``axis``, 0 elsewhere."""
        out = np.zeros(plane_shape, np.uint8)
        if not len(self.rows):
            return out
        hit = np.flatnonzero((self.boxes[:, axis] <= index) & (index < self.boxes[:, axis + 3]))
        others = [a for a in range(3) if a != axis]
        for i in hit:
            call_id = self.rows[i]["id"]
            box = self.boxes[i]
            local = np.take(self._local(call_id), index - box[axis], axis=axis)
            code = self.codes[i] + (SELECTED if call_id == self.current else 0)
            r0, c0 = box[others[0]], box[others[1]]
            region = out[r0 : r0 + local.shape[0], c0 : c0 + local.shape[1]]
            region[local] = code
        return out
