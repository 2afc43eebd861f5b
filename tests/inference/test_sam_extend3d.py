"""3D from one click on a synthetic pore: native extension from a slice mask, the orthogonal
SAM check (with an oracle and with the tiny SAM), and the crop it reads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ndelab.inference.sam.backend import load_sam
from ndelab.inference.sam.cache import EmbeddingCache
from ndelab.inference.sam.extend3d import Mask3D, extend_from_slice, refine_orthogonal
from ndelab.inference.sam.interactive import InteractiveSegmenter
from ndelab.inference.sam.testing import save_tiny_checkpoint

C, R = 24, 8  # the pore's centre (z = y = x) and radius


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    return 2 * np.count_nonzero(a & b) / (np.count_nonzero(a) + np.count_nonzero(b))


def _phantom(channel: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """A dark spherical pore in noisy material; optionally a dark channel leaving it along -z."""
    zz, yy, xx = np.mgrid[:48, :48, :48]
    pore = (zz - C) ** 2 + (yy - C) ** 2 + (xx - C) ** 2 <= R * R
    dark = pore.copy()
    if channel:
        dark |= (zz < C) & ((yy - C) ** 2 + (xx - C) ** 2 <= 9)
    rng = np.random.default_rng(0)
    vol = np.where(dark, 300.0, 1000.0) + rng.normal(0, 20, dark.shape)
    return vol.astype(np.float32), pore


class Recorder:
    """A lazy volume that records which boxes are read."""

    def __init__(self, data: np.ndarray) -> None:
        self.data, self.shape, self.dtype = data, data.shape, data.dtype
        self.reads: list[Any] = []

    def __getitem__(self, key: Any) -> np.ndarray:
        self.reads.append(key)
        return self.data[key]


def test_extension_recovers_the_pore_reading_a_crop() -> None:
    vol, pore = _phantom()
    lazy = Recorder(vol)
    m = extend_from_slice(lazy, pore[C], 0, C, max_extent=12, grow=1)
    assert _dice(m.full(vol.shape), pore) >= 0.9
    assert m.bbox[0] <= C - R + 1 and m.bbox[3] >= C + R
    (key,) = lazy.reads
    # only what growth can reach: ±max_extent slices, ±grow·max_extent pixels around the mask
    assert vol[key].shape == (2 * 12 + 1, 2 * R + 1 + 2 * 12, 2 * R + 1 + 2 * 12)
    # the same result as on the whole in-memory volume, and along other axes
    np.testing.assert_array_equal(
        extend_from_slice(vol, pore[C], 0, C, max_extent=12, grow=1).full(vol.shape),
        m.full(vol.shape),
    )
    m1 = extend_from_slice(vol, pore[:, C, :], 1, C, max_extent=12, grow=1)
    assert _dice(m1.full(vol.shape), pore) >= 0.9
    with pytest.raises(ValueError, match="empty"):
        extend_from_slice(vol, np.zeros((48, 48), bool), 0, C)
    with pytest.raises(ValueError, match="does not fit"):
        extend_from_slice(vol, np.ones((4, 4), bool), 0, C)


def test_mask3d_helpers() -> None:
    crop = np.zeros((4, 5, 6), bool)
    crop[1:3, 2, 3:5] = True
    m = Mask3D((10, 20, 30), crop)
    t = m.tight()
    assert t.offset == (11, 22, 33) and t.mask.shape == (2, 1, 2) and t.voxel_count == 4
    assert t.bbox == (11, 22, 33, 13, 23, 35)
    np.testing.assert_array_equal(t.full((20, 30, 40)), m.full((20, 30, 40)))
    assert t.centroid() == (11.5, 22.0, 33.5)
    assert Mask3D((0, 0, 0), np.zeros((2, 2, 2), bool)).tight().voxel_count == 0


def test_orthogonal_check_trims_a_leak() -> None:
    vol, pore = _phantom(channel=True)
    grown = extend_from_slice(vol, pore[C], 0, C, max_extent=32)
    leak = grown.full(vol.shape) & ~pore
    assert np.count_nonzero(leak[: C - R - 2]) > 50  # region growing ran down the channel

    seen: list[tuple[int, int]] = []

    def oracle(a: int, i: int, pts: Any, labels: Any, box: Any) -> np.ndarray:
        seen.append((a, i))
        r, c = pts[0]
        assert labels == [1] and box[0] <= r <= box[2] and box[1] <= c <= box[3]
        return np.take(pore, i, axis=a)

    ref = refine_orthogonal(grown, 0, oracle)
    assert sorted(a for a, _ in seen) == [1, 2] and ref.used_axes == [1, 2]
    out = ref.mask.full(vol.shape)
    assert not out[: C - R - 2].any()  # the channel is gone (a margin of 2 is kept)
    assert _dice(out, pore) > _dice(grown.full(vol.shape), pore)
    assert _dice(out, pore) >= 0.9

    # a SAM answer that disagrees is ignored, and says so
    ref2 = refine_orthogonal(grown, 0, lambda a, i, p, lab, b: np.zeros((48, 48), bool))
    assert ref2.used_axes == [] and all("ignored" in n for n in ref2.notes.values())
    np.testing.assert_array_equal(ref2.mask.full(vol.shape), grown.full(vol.shape))

    # union adds SAM's pixels on the central slices
    def wider(a: int, i: int, p: Any, lab: Any, b: Any) -> np.ndarray:
        s = np.take(pore, i, axis=a).copy()
        s[C - R - 1 : C + R + 2, C - R - 1 : C + R + 2] |= np.take(pore, i, axis=a)[C, C]
        return s

    ref3 = refine_orthogonal(Mask3D((0, 0, 0), pore), 0, wider, rule="union", min_iou=0.3)
    assert ref3.used_axes == [1, 2] and ref3.mask.voxel_count > int(pore.sum())


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_checkpoint(tmp_path_factory.mktemp("sam3d") / "tiny.pth", seed=0)


def test_segment_3d_from_a_sam_click(ckpt: Path, tmp_path: Path) -> None:
    vol, _ = _phantom()
    backend = load_sam(ckpt, device="cpu")
    seg = InteractiveSegmenter(
        vol, (0, 1200), backend=backend, cache=EmbeddingCache(backend.model_id, tmp_path)
    )
    assert seg.mode == "sam"
    res = seg.segment_3d(0, C, [(C, C)], [1], box=(C - R, C - R, C + R, C + R))
    assert res.seed.source == "sam" and res.seed.mask.shape == (48, 48)
    # random tiny weights give some mask; its 3D extension is exactly the native one
    assert res.seed.mask.any()  # (seeded weights: deterministic)
    if res.seed.mask.any():
        want = extend_from_slice(vol, res.seed.mask, 0, C)
        np.testing.assert_array_equal(res.mask.full(vol.shape), want.full(vol.shape))
    assert res.source.endswith("+extend3d") and res.notes == {}  # CPU: no refinement by default
    assert seg.ready_slices(0) == {C}
    refined = seg.segment_3d(0, C, [(C, C)], [1], box=(C - R, C - R, C + R, C + R), refine=True)
    assert set(refined.notes) == {1, 2}  # SAM ran on both orthogonal centre slices
    assert seg.ready_slices(1) and seg.ready_slices(2)
