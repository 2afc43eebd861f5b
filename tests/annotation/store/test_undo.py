"""Undo/redo: sparse mask deltas and field changes, each step a new audited event."""

from __future__ import annotations

import numpy as np
import pytest

from ndelab.annotation import ConflictError, ReviewError, SparseMask
from ndelab.annotation.store import (
    Store,
    UndoStack,
    audit,
    get_call,
    get_mask,
    import_labels,
    review,
)
from ndelab.volumes.volume import Volume

SHAPE = (64, 256, 256)  # 4 M voxels: a whole-volume copy would be megabytes


def _call(store: Store) -> tuple[str, str]:
    labels = np.zeros(SHAPE, np.int32)
    labels[30:34, 100:110, 100:112] = 1
    labels[5:8, 5:9, 5:9] = 2
    vol = Volume(np.zeros((1, 1, 1), np.uint8), spacing_mm=(0.3, 0.1, 0.1))
    vol.data = np.broadcast_to(np.uint8(0), SHAPE)  # no real voxels needed
    made = import_labels(store, vol, labels, "pore", source="model:m@1", user="model")
    return made["call_ids"][0], made["call_ids"][1]


def test_undo_and_redo_review_decisions_are_audited(store: Store) -> None:
    call, _ = _call(store)
    stack = UndoStack(store, "ana")
    stack.review(call, "reject", "looks like noise")
    assert get_call(store, call)["status"] == "rejected"
    back = stack.undo()
    assert (back["status"], back["reason"], back["revision"]) == ("proposed", None, 3)
    again = stack.redo()
    assert (again["status"], again["reason"], again["revision"]) == (
        "rejected",
        "looks like noise",
        4,
    )
    actions = [(e["action"], e["reason"]) for e in audit(store, call_id=call)]
    assert actions == [
        ("create", None),
        ("reject", "looks like noise"),
        ("undo", "undo of reject"),
        ("redo", "redo of reject"),
    ]
    with pytest.raises(ReviewError, match="nothing to redo"):
        stack.redo()


def test_mask_edits_store_only_a_sparse_delta(store: Store) -> None:
    call, _ = _call(store)
    original = get_mask(store, call)
    dense = np.zeros(SHAPE, bool)
    original.paste(dense)
    dense[34:36, 100:110, 100:112] = True  # grow the pore by two slices
    grown = SparseMask.from_local(dense)
    stack = UndoStack(store, "ana")
    stack.edit_mask(call, grown, "pore goes deeper")
    [step] = stack.undo_entries
    assert step.mask_delta is not None
    # The delta covers just the flipped voxels (2 x 10 x 12), not the scan or the pore's box.
    assert step.mask_delta.shape == (2, 10, 12)
    assert stack.nbytes() < 64
    assert get_call(store, call)["volume_mm3"] == pytest.approx(6 * 10 * 12 * 0.3 * 0.01)
    stack.undo()
    assert get_mask(store, call).same_as(original)
    assert get_call(store, call)["status"] == "proposed"
    stack.redo()
    assert get_mask(store, call).same_as(grown)
    events = audit(store, call_id=call)
    assert [e["action"] for e in events] == ["create", "correct", "undo", "redo"]
    assert "mask" in events[2]["after"] and "mask" in events[2]["before"]


def test_a_new_action_clears_redo_and_several_steps_unwind_in_order(store: Store) -> None:
    a, b = _call(store)
    stack = UndoStack(store, "ana")
    stack.review(a, "accept")
    stack.review(b, "correct", "it is an inclusion", cls="inclusion")
    stack.review(a, "reopen")
    stack.undo()
    assert stack.can_redo
    stack.review(a, "reject", "on second thought")
    assert not stack.can_redo
    stack.undo()
    stack.undo()
    stack.undo()
    assert get_call(store, a)["status"] == "proposed"
    assert get_call(store, b)["class"] == "pore" and get_call(store, b)["status"] == "proposed"
    with pytest.raises(ReviewError, match="nothing to undo"):
        stack.undo()


def test_undo_refuses_when_someone_else_changed_the_call(store: Store) -> None:
    call, _ = _call(store)
    stack = UndoStack(store, "ana")
    stack.review(call, "accept")
    review(store, call, "reject", "ben", "disagree")  # another reviewer, outside this stack
    with pytest.raises(ConflictError, match="changed since that step"):
        stack.undo()
    assert get_call(store, call)["status"] == "rejected"
