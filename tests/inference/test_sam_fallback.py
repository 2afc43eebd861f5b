"""Without a usable checkpoint the tool falls back to region growing, and says so."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ndelab.inference.sam.fallback import region_grow_2d
from ndelab.inference.sam.interactive import NOT_CONFIGURED, InteractiveSegmenter
from ndelab.inference.sam.testing import save_tiny_checkpoint
from ndelab.volumes.errors import UsageError


def _sphere_volume() -> tuple[np.ndarray, np.ndarray]:
    zz, yy, xx = np.mgrid[:40, :40, :40]
    pore = (zz - 20) ** 2 + (yy - 20) ** 2 + (xx - 20) ** 2 <= 49
    rng = np.random.default_rng(2)
    vol = np.where(pore, 400, 1200) + rng.normal(0, 15, pore.shape)
    return vol.astype(np.int16), pore


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return np.count_nonzero(a & b) / np.count_nonzero(a | b)


def test_no_checkpoint_means_region_growing() -> None:
    vol, pore = _sphere_volume()
    for seg in (
        InteractiveSegmenter(vol, (0, 2000)),
        InteractiveSegmenter.from_checkpoint(vol, (0, 2000), None),
        InteractiveSegmenter.from_checkpoint(vol, (0, 2000), ""),
    ):
        assert seg.mode == "region-growing" and seg.status_text == NOT_CONFIGURED
        assert seg.ready_slices(0) == set() and seg.prefetcher() is None
    s2 = seg.segment_2d(0, 20, [(20, 20)], [1])
    assert s2.source == "region-growing" and s2.score is None
    assert _iou(s2.mask, pore[20]) >= 0.9
    s3 = seg.segment_3d(1, 20, [(20, 20)], [1])
    assert s3.source == "region-growing+extend3d"
    assert _iou(s3.mask.full(vol.shape), pore) >= 0.8


def test_unusable_checkpoint_is_named(tmp_path: Path) -> None:
    vol, _ = _sphere_volume()
    bad = tmp_path / "sam_vit_b.pth"
    bad.write_bytes(b"truncated")
    seg = InteractiveSegmenter.from_checkpoint(vol, (0, 2000), bad)
    assert seg.mode == "region-growing"
    assert seg.status_text.startswith("SAM unavailable (")
    assert str(bad) in seg.status_text and seg.status_text.endswith("using region growing")
    missing = InteractiveSegmenter.from_checkpoint(vol, (0, 2000), tmp_path / "nope.pth")
    assert "no such SAM checkpoint file" in missing.status_text


def test_configured_checkpoint_means_sam(tmp_path: Path) -> None:
    vol, _ = _sphere_volume()
    ckpt = save_tiny_checkpoint(tmp_path / "tiny.pth")
    seg = InteractiveSegmenter.from_checkpoint(
        vol, (0, 2000), ckpt, device="cpu", cache_root=tmp_path / "cache"
    )
    assert seg.mode == "sam" and seg.status_text.startswith("SAM custom_d32x2_i128 on cpu")
    pf = seg.prefetcher(radius=1)
    assert pf is not None
    pf.focus(0, 5)
    assert pf.plan() == [(0, 5), (0, 6), (0, 4)]
    r = seg.segment_2d(0, 5, [(3, 3)], [1])
    assert r.source == "sam" and r.mask.shape == (40, 40) and r.score is not None
    assert pf.plan() == [(0, 6), (0, 4)]  # the click encoded slice 5


def test_region_grow_2d_clicks_and_boxes() -> None:
    img = np.full((60, 60), 1000.0, np.float32)
    img[10:30, 10:30] = 200  # left square
    img[10:30, 35:55] = 200  # right square, same intensity ...
    img[18:20, 30:35] = 200  # ... joined by a bridge
    img += np.random.default_rng(3).normal(0, 5, img.shape).astype(np.float32)
    both = region_grow_2d(img, [(20, 20)], [1], max_fraction=0.5)
    assert both[20, 45] and both[20, 20]
    left = region_grow_2d(img, [(20, 20), (20, 45)], [1, 0], max_fraction=0.5)
    assert left[20, 20] and not left[20, 45] and np.count_nonzero(left) >= 390
    boxed = region_grow_2d(img, [], [], box=(8, 8, 31, 31))
    assert boxed[10:30, 10:30].mean() >= 0.95 and not boxed[:, 32:].any()  # box is inclusive
    with pytest.raises(UsageError, match="positive click or a box"):  # the user's to fix
        region_grow_2d(img, [(5, 5)], [0])
    with pytest.raises(ValueError, match="one label per point"):
        region_grow_2d(img, [(5, 5)], [])
