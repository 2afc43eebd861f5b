"""Run-length code and sparse masks: round trips, deltas, and masks kept in the store."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ndelab.annotation import MaskDelta, SparseMask, rle
from ndelab.annotation.store import Store, get_mask, import_labels
from ndelab.volumes.volume import Volume


@settings(max_examples=150, deadline=None)
@given(hnp.arrays(bool, hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=9)))
def test_rle_round_trip_any_mask(mask: np.ndarray) -> None:
    code = rle.encode(mask)
    back = rle.decode(code, mask.shape)
    assert back.shape == mask.shape
    assert np.array_equal(back, mask)
    assert rle.foreground_count(code) == int(mask.sum())


def test_rle_long_runs_use_multibyte_numbers() -> None:
    mask = np.zeros(3_000_000, bool)
    mask[200:2_500_000] = True
    code = rle.encode(mask)
    assert len(code) < 12  # three runs, each a few bytes
    assert np.array_equal(rle.decode(code, mask.shape), mask)


def test_rle_rejects_a_code_that_does_not_fit_the_shape() -> None:
    code = rle.encode(np.ones((3, 3, 3), bool))
    with pytest.raises(ValueError, match="covers 27 voxels, not 8"):
        rle.decode(code, (2, 2, 2))
    with pytest.raises(ValueError, match="covers 27 voxels, not 8"):
        SparseMask((0, 0, 0), (2, 2, 2), code).local()
    with pytest.raises(ValueError, match="ends inside a number"):
        rle.decode(code[:1] + b"\x80", (1,))
    with pytest.raises(ValueError, match="format version"):
        rle.decode(b"\x07\x01", (1,))


def test_sparse_mask_crops_to_its_box_and_pastes_back() -> None:
    full = np.zeros((20, 30, 40), bool)
    full[3:7, 10:12, 5:25] = True
    full[6, 11, 30] = True
    m = SparseMask.from_local(full)
    assert m.bbox == (3, 10, 5, 7, 12, 31)
    assert m.voxel_count == int(full.sum())
    out = np.zeros_like(full)
    m.paste(out)
    assert np.array_equal(out, full)
    assert {tuple(i) for i in m.indices()} == {tuple(i) for i in np.argwhere(full)}
    with pytest.raises(ValueError, match="at least one voxel"):
        SparseMask.from_local(np.zeros((2, 2, 2), bool))


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_mask_delta_turns_either_mask_into_the_other(data: st.DataObject) -> None:
    shape = (6, 7, 8)
    a = data.draw(hnp.arrays(bool, shape))
    b = data.draw(hnp.arrays(bool, shape))
    if not a.any() or not b.any():
        return
    ma, mb = SparseMask.from_local(a), SparseMask.from_local(b)
    delta = MaskDelta.between(ma, mb)
    assert delta.apply(ma).same_as(mb)
    assert delta.apply(mb).same_as(ma)


def test_masks_round_trip_through_the_store(store: Store) -> None:
    rng = np.random.default_rng(3)
    labels = np.zeros((24, 32, 32), np.int32)
    for k in range(1, 6):
        z, y, x = rng.integers(0, 20, 3)
        labels[z : z + 4, y : y + 5, x : x + 6] = np.where(
            rng.random((4, 5, 6)) < 0.7, k, labels[z : z + 4, y : y + 5, x : x + 6]
        )
    vol = Volume(np.zeros(labels.shape, np.uint16), spacing_mm=(0.2, 0.1, 0.1))
    made = import_labels(store, vol, labels, "pore", source="manual", user="ana")
    rebuilt = np.zeros_like(labels)
    for i, call_id in enumerate(made["call_ids"]):
        get_mask(store, call_id).paste(rebuilt, i + 1)
    # Labels can be overwritten by later ones; compare per present label.
    present = [k for k in range(1, 6) if (labels == k).any()]
    assert len(made["call_ids"]) == len(present)
    for i, k in enumerate(present):
        assert np.array_equal(rebuilt == i + 1, labels == k)
