"""One engineer reviewing one scan: the queue rows, the selection, actions, undo and overlays.

Qt-free: the controller wraps it in signals, tests drive it directly. Every action goes
through the store via the annotation undo stack: at once (durable and audited when it
returns), or, once write_in_background gives it a DecisionWriter (the window does), the
decision keys (accept, reject, reopen, a class correction) change the rows at once and the
writer commits them in order behind the reviewer; anything that needs those commits in the
store first (undo, a mask edit, reports) settles them before it runs.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ndelab.annotation import (
    Criteria,
    ReviewError,
    Source,
    SparseMask,
    StoreError,
    load_criteria,
)
from ndelab.annotation.model import check_class, next_status
from ndelab.annotation.store import (
    Store,
    UndoStack,
    add_indications,
    disposition,
    get_call,
    get_masks,
    indications_from_masks,
    list_calls,
)
from ndelab.app.decision_writer import Decision, DecisionWriter


@dataclass
class Notices:
    """What the background writer settled: saved decisions, changed rows, failures."""

    saved: int = 0
    changed: list[str] = field(default_factory=list)  # call ids whose row now differs
    failures: list[str] = field(default_factory=list)  # one sentence each


#: Overlay codes per status; +SELECTED marks the selected call.
STATUS_CODES = {"proposed": 1, "accepted": 2, "rejected": 3, "corrected": 4}
SELECTED = 4
# Decoded mask crops kept for fast slice overlays, bounded by bytes: a slice of a scan with
# thousands of small pores crosses hundreds of them, and decoding them on every keypress
# (the selection moves the slices) cost more than the rest of the keypress together.
_DECODED_BYTES = 64 * 2**20
# Overlay planes kept per (axis, slice): a keypress redraws the three slices (twice where the
# selection moves them), and only the calls decided since a plane was drawn are repainted.
_PLANE_BYTES = 128 * 2**20
SETTLE_S = 2.0  # how long an undo or a report waits for decisions still being written
_DECIDED = ("status", "class", "revision")  # what a background decision changes in a row


@dataclass
class _Plane:
    """One slice's overlay without the selection, and which call owns each pixel."""

    codes: npt.NDArray[np.uint8]
    owner: npt.NDArray[np.int32]  # row index of the call drawn there, -1 where none
    seen: npt.NDArray[np.uint8]  # the session's codes when ``codes`` was last brought up to date

    @property
    def nbytes(self) -> int:
        return int(self.codes.nbytes + self.owner.nbytes + self.seen.nbytes)


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
        self._decoded_bytes = 0
        self._planes: OrderedDict[tuple[int, int, tuple[int, int]], _Plane] = OrderedDict()
        self._planes_bytes = 0
        self.writer: DecisionWriter | None = None
        self._unsaved: dict[str, list[Decision]] = {}  # per call, in the order made
        # Outcomes from the writer's thread, applied on the caller's (take_notices).
        self._inbox: deque[tuple[Decision, dict[str, Any] | None, str | None]] = deque()
        self._notices = Notices()
        #: Called on the writer's thread when an outcome waits in the inbox.
        self.on_outcome: Callable[[], None] | None = None
        # With a writer the criteria are re-evaluated by the caller, off the keypress.
        self.nearness_stale = False
        self.rows: list[dict[str, Any]] = []
        self._index: dict[str, int] = {}
        #: The image-quality gate (app.image_quality.iq_gate), read by the job that opens
        #: the review and after a signature; None until read.
        self.iq_gate: dict[str, Any] | None = None
        #: The criteria file to offer first (app.criteria_choice.default_criteria), read
        #: with the gate; None until read.
        self.criteria_default: Any = None
        self.reload()

    # -- rows
    def reload(self) -> None:
        """Read the queue rows and their masks (one query each, no per-row round trips);
        calls with decisions still being written keep the state those decisions give."""
        self.apply_outcomes()
        decided = {cid: self.row(cid) for cid in self._unsaved if cid in self._index}
        self.rows = list_calls(self.store, self.scan_id)
        self._index = {row["id"]: i for i, row in enumerate(self.rows)}
        for cid, old in decided.items():
            if cid in self._index:
                self.rows[self._index[cid]].update({k: old[k] for k in _DECIDED})
        self.masks: dict[str, SparseMask] = get_masks(self.store, [r["id"] for r in self.rows])
        self._decoded.clear()
        self._decoded_bytes = 0
        self._rebuild_boxes()
        self._decode_masks()
        self._refresh_nearness()

    def _rebuild_boxes(self) -> None:
        self._forget_planes()
        boxes = [r["bbox_zyx"] for r in self.rows]
        self.boxes = np.asarray(boxes, np.int64).reshape(-1, 6)
        self.codes = np.asarray([STATUS_CODES[r["status"]] for r in self.rows], np.uint8)

    def row(self, call_id: str) -> dict[str, Any]:
        return self.rows[self._index[call_id]]

    def _update_row(self, call: dict[str, Any], *, mask_changed: bool = True) -> dict[str, Any]:
        """Take an updated call from the store into the rows, boxes and (when its mask may
        have changed) the mask caches."""
        i = self._index[call["id"]]
        keep = self.rows[i].keys()
        self.rows[i] = {k: call[k] for k in keep if k in call}
        self.boxes[i] = call["bbox_zyx"]
        self.codes[i] = STATUS_CODES[call["status"]]
        if mask_changed:
            self.masks.update(get_masks(self.store, [call["id"]]))
            dropped = self._decoded.pop(call["id"], None)
            self._decoded_bytes -= 0 if dropped is None else dropped.nbytes
            self._forget_planes()  # its pixels moved
        self._changed()
        return self.rows[i]

    def _changed(self) -> None:
        """A decision changed the rows: re-evaluate the criteria now, or (with a writer)
        mark them for the caller to re-evaluate once the store has the decision."""
        if self.writer is None:
            self._refresh_nearness()
        else:
            self.nearness_stale = self.criteria is not None

    # -- criteria
    def set_criteria(self, criteria: Criteria | str | Path | None) -> None:
        if isinstance(criteria, str | Path):
            criteria = load_criteria(criteria)
        self.criteria = criteria
        self._refresh_nearness()

    def _refresh_nearness(self) -> None:
        self.apply_nearness(self.evaluate_nearness())
        self.nearness_stale = bool(self._unsaved) and self.criteria is not None

    def evaluate_nearness(self) -> dict[str, Any] | None:
        """The unsigned disposition of what the store holds (thread-safe: it reads only)."""
        criteria = self.criteria
        if criteria is None or not self.rows:
            return None
        return disposition(self.store, self.scan_id, criteria, include_nearness=True)

    def apply_nearness(self, preview: dict[str, Any] | None) -> None:
        self.preview = preview
        self.nearness = {} if preview is None else preview["nearness"]

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
        current = self.current
        if current is None or current not in order:
            target = order[0] if delta > 0 else order[-1]
        else:
            i = list(order).index(current) + delta
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
            raise ReviewError("select a call first")
        return self.current

    def act(self, action: str, reason: str | None = None) -> dict[str, Any]:
        call_id = self._require_current()
        if self.writer is not None:
            return self._decide(call_id, action, reason)
        return self._update_row(self.undo_stack.review(call_id, action, reason), mask_changed=False)

    def correct(
        self, *, mask: SparseMask | None = None, cls: str | None = None, reason: str | None = None
    ) -> dict[str, Any]:
        call_id = self._require_current()
        if self.writer is not None and mask is None:
            return self._decide(call_id, "correct", reason, cls=cls)
        self.settle("correct the mask")
        return self._update_row(
            self.undo_stack.review(call_id, "correct", reason, cls=cls, mask=mask),
            mask_changed=mask is not None,
        )

    # -- decisions written in the background
    def write_in_background(self, writer: DecisionWriter | None) -> None:
        """Send decisions to ``writer`` from now on (None: straight to the store)."""
        if writer is self.writer:
            return
        self.settle("switch the database writer")
        self.writer = writer
        self.undo_stack.store = writer.store if writer is not None else self.store
        self.apply_outcomes()

    def _decide(
        self, call_id: str, action: str, reason: str | None, *, cls: str | None = None
    ) -> dict[str, Any]:
        """Check the decision as the store would, show it in the rows, queue its commit."""
        assert self.writer is not None
        reason = reason.strip() if reason and reason.strip() else None
        if action == "reject" and reason is None:
            raise ReviewError(f"rejecting call {call_id} needs a reason")
        if action == "correct" and cls is None:
            raise ReviewError(f"correcting call {call_id} needs a new class or a new mask")
        if cls is not None:
            check_class(cls)
        row = self.row(call_id)
        status = next_status(action, row["status"], call_id)
        decision = Decision(call_id, action, self.user, int(row["revision"]), reason, cls)
        stack = self.undo_stack
        self.writer.submit(
            decision, lambda: stack.review(call_id, action, reason, cls=cls), self._outcome
        )
        self._unsaved.setdefault(call_id, []).append(decision)
        row["status"] = status
        row["revision"] = decision.base_revision + 1
        if cls is not None:
            row["class"] = cls
        self.codes[self._index[call_id]] = STATUS_CODES[status]
        self._changed()
        return row

    def _outcome(
        self, decision: Decision, call: dict[str, Any] | None, message: str | None
    ) -> None:
        """The writer's thread: keep the outcome for the session's own thread."""
        self._inbox.append((decision, call, message))
        if self.on_outcome is not None:
            self.on_outcome()

    def apply_outcomes(self) -> None:
        """Apply the writer's outcomes to the rows now (on the session's own thread); what
        they changed waits for take_notices."""
        while self._inbox:
            decision, call, message = self._inbox.popleft()
            mine = self._unsaved.get(decision.call_id)
            if not mine or decision not in mine:
                continue
            mine.remove(decision)
            if not mine:
                del self._unsaved[decision.call_id]
            if message is not None:
                self._notices.failures.append(
                    f"the {decision.action} of call {decision.call_id[:8]} was not saved: {message}"
                )
            elif call is not None:
                self._notices.saved += 1
            if mine or decision.call_id not in self._index:
                continue  # later decisions on this call decide what the row shows
            if message is not None:
                call = get_call(self.store, decision.call_id)  # what the store really holds
            assert call is not None
            row = self.row(decision.call_id)
            if any(row[k] != call[k] for k in _DECIDED):
                self._update_row(call, mask_changed=False)
                self._notices.changed.append(decision.call_id)
            elif self.criteria is not None:
                self.nearness_stale = True

    def take_notices(self) -> Notices:
        """What the writer settled since the last call: rows that changed, failures."""
        self.apply_outcomes()
        out, self._notices = self._notices, Notices()
        return out

    def unsaved(self, call_id: str) -> list[Decision]:
        """Decisions on the call that the store does not have yet, in the order made."""
        return list(self._unsaved.get(call_id, ()))

    @property
    def unsaved_count(self) -> int:
        return sum(len(v) for v in self._unsaved.values())

    def settle(self, doing: str) -> None:
        """Wait (up to SETTLE_S) until the writer has put every decision in the store;
        StoreError, with the decisions kept and still queued, when the database stays busy."""
        if self.writer is None:
            return
        if not self.writer.flush(SETTLE_S):
            raise StoreError(
                f"database {self.store.name} is busy (another program holds it):"
                f" {self.writer.pending} decision(s) are still waiting to be written and are"
                f" kept; {doing} once they are saved"
            )
        self.apply_outcomes()

    @property
    def can_undo(self) -> bool:
        return bool(self._unsaved) or self.undo_stack.can_undo

    @property
    def can_redo(self) -> bool:
        return not self._unsaved and self.undo_stack.can_redo

    def add_manual(
        self,
        mask: SparseMask,
        cls: str,
        spacing_mm: Sequence[float],
        source: Source | None = None,
    ) -> dict[str, Any]:
        """A new call drawn by the reviewer (manual unless ``source`` says, e.g. SAM), selected."""
        items = indications_from_masks(
            [mask], [cls], [None], [source or Source("manual", self.user)], spacing_mm=spacing_mm
        )
        (call_id,) = add_indications(self.store, self.scan_id, items, user=self.user)
        self.reload()
        self.current = call_id
        return self.row(call_id)

    def undo(self) -> dict[str, Any]:
        self.settle("undo")
        call = self.undo_stack.undo()
        self.current = call["id"]
        return self._update_row(call)

    def redo(self) -> dict[str, Any]:
        self.settle("redo")
        call = self.undo_stack.redo()
        self.current = call["id"]
        return self._update_row(call)

    def details(self, call_id: str) -> dict[str, Any]:
        return get_call(self.store, call_id)

    def counts(self) -> dict[str, int]:
        """Calls per status (from the codes array: the queue asks after every decision)."""
        per_code = np.bincount(self.codes, minlength=max(STATUS_CODES.values()) + 1)
        return {status: int(per_code[code]) for status, code in STATUS_CODES.items()}

    # -- overlays
    def _decode_masks(self) -> None:
        """Decode the masks while loading (the window loads off the GUI thread), up to the
        cache's budget: a keypress that moves the slices then decodes none."""
        for row in self.rows:
            mask = self.masks[row["id"]]
            if self._decoded_bytes + int(np.prod(mask.shape)) > _DECODED_BYTES:
                break
            self._local(row["id"])

    def _local(self, call_id: str) -> npt.NDArray[np.bool_]:
        local = self._decoded.get(call_id)
        if local is None:
            local = self.masks[call_id].local()
            self._decoded[call_id] = local
            self._decoded_bytes += local.nbytes
            while self._decoded_bytes > _DECODED_BYTES and len(self._decoded) > 1:
                self._decoded_bytes -= self._decoded.popitem(last=False)[1].nbytes
        else:
            self._decoded.move_to_end(call_id)
        return local

    def _forget_planes(self) -> None:
        self._planes.clear()
        self._planes_bytes = 0

    def _crossing(self, axis: int, index: int) -> npt.NDArray[np.intp]:
        return np.flatnonzero((self.boxes[:, axis] <= index) & (index < self.boxes[:, axis + 3]))

    def _region(self, i: int, axis: int) -> tuple[slice, slice]:
        others = [a for a in range(3) if a != axis]
        box = self.boxes[i]
        return (
            slice(box[others[0]], box[others[0] + 3]),
            slice(box[others[1]], box[others[1] + 3]),
        )

    def _plane(self, axis: int, index: int, plane_shape: tuple[int, int]) -> _Plane:
        """The slice's plane, drawn once and then only brought up to date."""
        key = (axis, index, plane_shape)
        plane = self._planes.get(key)
        if plane is None:
            codes = np.zeros(plane_shape, np.uint8)
            owner = np.full(plane_shape, -1, np.int32)
            for i in map(int, self._crossing(axis, index)):
                box = self.boxes[i]
                local = np.take(self._local(self.rows[i]["id"]), index - box[axis], axis=axis)
                rows, cols = self._region(i, axis)
                codes[rows, cols][local] = self.codes[i]
                owner[rows, cols][local] = i
            plane = _Plane(codes, owner, self.codes.copy())
            self._planes[key] = plane
            self._planes_bytes += plane.nbytes
            while self._planes_bytes > _PLANE_BYTES and len(self._planes) > 1:
                self._planes_bytes -= self._planes.popitem(last=False)[1].nbytes
        else:
            self._planes.move_to_end(key)
            for i in map(int, np.flatnonzero(plane.seen != self.codes)):  # decided since drawn
                box = self.boxes[i]
                if box[axis] <= index < box[axis + 3]:
                    rows, cols = self._region(i, axis)
                    plane.codes[rows, cols][plane.owner[rows, cols] == i] = self.codes[i]
            plane.seen[:] = self.codes
        return plane

    def overlay(self, axis: int, index: int, plane_shape: tuple[int, int]) -> npt.NDArray[np.uint8]:
        """Status codes of every call crossing slice ``index`` normal to ``axis``, 0 elsewhere;
        the selected call's pixels carry +SELECTED."""
        if not len(self.rows):
            return np.zeros(plane_shape, np.uint8)
        plane = self._plane(axis, index, plane_shape)
        out = plane.codes.copy()
        if self.current is not None:
            i = self._index[self.current]
            box = self.boxes[i]
            if box[axis] <= index < box[axis + 3]:
                rows, cols = self._region(i, axis)
                view = out[rows, cols]
                view[plane.owner[rows, cols] == i] += SELECTED
        return out
