"""The edit tools driven through the Qt-free EditSession, on a real SQLite store (no Qt here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from ndelab.annotation import ReviewError
from ndelab.annotation.store import audit, import_labels, open_store
from ndelab.app.editing import PREVIEW_CODE, TOOLS, Committed, EditSession
from ndelab.app.editing.sam import NO_MASK
from ndelab.app.editing.session import EMPTY_CALL
from ndelab.app.review_session import ReviewSession
from ndelab.app.viewer_state import ViewerState
from ndelab.volumes.display import Window
from ndelab.volumes.volume import Volume

SHAPE = (20, 30, 40)
BACKGROUND = 20000
CUBE = (slice(5, 8), slice(5, 8), slice(5, 8))  # call 1: a labelled 3x3x3 pore
BAR = (slice(15, 17), slice(2, 4), slice(20, 30))  # call 3: a labelled crack


@dataclass
class Bench:
    """An edit session over a scan with three calls, and what its listeners heard."""

    review: ReviewSession
    state: ViewerState
    segmenter: Any = None  # what the session's segmenter provider returns
    commits: list[Committed] = field(default_factory=list)
    previews: list[int] = field(default_factory=list)
    rulers: list[Any] = field(default_factory=list)
    finished: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.edits = EditSession(lambda: self.state, lambda: self.review, lambda: self.segmenter)
        self.edits.on_commit = self.commits.append
        self.edits.on_preview = lambda: self.previews.append(1)
        self.edits.on_ruler = self.rulers.append
        self.edits.on_ruler_finished = self.finished.append

    def call_id(self, voxel: tuple[int, int, int]) -> str:
        """The call whose mask holds ``voxel``."""
        for call_id, mask in self.review.masks.items():
            if mask.within((0, 0, 0), SHAPE)[voxel]:
                return call_id
        raise AssertionError(f"no call at {voxel}")

    def stroke(self, axis: int, *points: tuple[float, float, float]) -> None:
        """Press at the first point, drag through the others, release at the last."""
        assert self.edits.handle("press", axis, points[0])
        for p in points[1:]:
            assert self.edits.handle("drag", axis, p)
        assert self.edits.handle("release", axis, points[-1])

    def click(self, axis: int, zyx: tuple[float, float, float], shift: bool = False) -> None:
        assert self.edits.handle("press", axis, zyx, shift)
        assert self.edits.handle("release", axis, zyx, shift)


def _bench(tmp_path: Path, spacing: tuple[float, float, float] = (0.1, 0.1, 0.1)) -> Bench:
    labels = np.zeros(SHAPE, np.uint16)
    labels[CUBE] = 1
    labels[10:14, 20:24, 30:34] = 2
    labels[BAR] = 3
    data = np.full(SHAPE, BACKGROUND, np.uint16)
    volume = Volume(data, spacing_mm=spacing)
    store = open_store(tmp_path / "edits.db")
    ids = import_labels(
        store, volume, labels, {1: "pore", 2: "pore", 3: "crack"}, source="model:t@1", user="ana"
    )
    review = ReviewSession(store, ids["scan_id"], "ana")
    return Bench(review, ViewerState(volume))


@pytest.fixture
def bench(tmp_path: Path) -> Bench:
    return _bench(tmp_path)


def _disc(centre: tuple[float, float], radius: float) -> npt.NDArray[np.bool_]:
    """A disc on a (y, x) slice of the scan, computed independently of the kernels."""
    y, x = np.ogrid[: SHAPE[1], : SHAPE[2]]
    return np.asarray((y - centre[0]) ** 2 + (x - centre[1]) ** 2 <= radius**2)


def _dense(bench: Bench, call_id: str) -> npt.NDArray[np.bool_]:
    return bench.review.masks[call_id].within((0, 0, 0), SHAPE)


def _new_call(bench: Bench) -> dict[str, Any]:
    assert bench.review.current is not None
    return bench.review.row(bench.review.current)


# -- brush, eraser, sphere
def test_a_brush_stroke_with_nothing_selected_paints_a_new_accepted_manual_call(
    bench: Bench,
) -> None:
    bench.edits.set_tool("brush")
    bench.edits.radius = 1.5
    n = len(bench.review.rows)
    assert bench.edits.handle("press", 0, (12.0, 20.0, 5.0))
    assert bench.edits.handle("drag", 0, (12.0, 20.0, 7.0))
    # Before release: a preview on the stroke's slice, nothing in the store yet.
    expected = _disc((20, 5), 1.5) | _disc((20, 7), 1.5)
    preview = bench.edits.preview(0, 12, (30, 40))
    assert preview is not None and np.array_equal(preview == PREVIEW_CODE, expected)
    assert bench.edits.preview(0, 11, (30, 40)) is None
    assert len(bench.review.rows) == n and bench.commits == []
    assert bench.edits.handle("release", 0, (12.0, 20.0, 7.0))
    assert bench.edits.working is None and bench.edits.preview(0, 12, (30, 40)) is None
    assert len(bench.review.rows) == n + 1
    row = _new_call(bench)
    assert row["status"] == "accepted" and row["class"] == "pore"
    assert row["source"] == {"kind": "manual", "name": "ana", "version": None}
    painted = _dense(bench, row["id"])
    assert np.array_equal(painted[12], expected) and painted.sum() == expected.sum()
    assert bench.commits == [Committed("accept", row, added=True)]
    # A second session on the same database sees the call: it is durable.
    again = ReviewSession(bench.review.store, bench.review.scan_id, "bob")
    assert again.row(row["id"])["status"] == "accepted"


def test_a_brush_stroke_on_the_selected_call_is_one_correction(bench: Bench) -> None:
    cube = bench.call_id((6, 6, 6))
    bench.review.select(cube)
    bench.edits.set_tool("brush")
    bench.edits.radius = 1.0
    bench.stroke(0, (6.0, 8.0, 6.0))  # a disc reaching one voxel past the cube's face
    row = bench.review.row(cube)
    assert row["status"] == "corrected"
    expected = np.zeros(SHAPE, bool)
    expected[CUBE] = True
    expected[6] |= _disc((8, 6), 1.0)
    assert np.array_equal(_dense(bench, cube), expected)
    assert bench.commits == [Committed("correct", row, added=False)]
    reasons = [e["reason"] for e in audit(bench.review.store, bench.review.scan_id)]
    assert "mask edited with the brush tool" in reasons
    bench.review.undo()  # one stroke, one undo step
    assert bench.review.masks[cube].voxel_count == 27


def test_the_eraser_removes_voxels_and_never_empties_a_call(bench: Bench) -> None:
    cube = bench.call_id((6, 6, 6))
    bench.review.select(cube)
    bench.edits.set_tool("eraser")
    bench.edits.radius = 1.0
    bench.stroke(0, (6.0, 6.0, 6.0))
    dense = _dense(bench, cube)
    expected = np.zeros(SHAPE, bool)
    expected[CUBE] = True
    expected[6] &= ~_disc((6, 6), 1.0)
    assert np.array_equal(dense, expected) and dense.sum() == 27 - 5
    # Erasing all of it would leave an empty call: refused, the call is kept as it was.
    bench.edits.radius = 4.0
    bench.edits.handle("press", 0, (5.0, 6.0, 6.0))
    bench.edits.handle("drag", 0, (6.0, 6.0, 6.0))
    bench.edits.handle("drag", 0, (7.0, 6.0, 6.0))
    with pytest.raises(ReviewError, match=EMPTY_CALL.split(";")[0]):
        bench.edits.handle("release", 0, (7.0, 6.0, 6.0))
    assert np.array_equal(_dense(bench, cube), expected)
    assert bench.edits.working is None


def test_the_sphere_radius_is_in_voxels_of_the_finest_side_and_drawn_in_mm(
    tmp_path: Path,
) -> None:
    bench = _bench(tmp_path, spacing=(0.2, 0.1, 0.1))  # voxels twice as deep as wide
    bench.edits.set_tool("sphere")
    bench.edits.radius = 2.0  # 2 voxels of 0.1 mm: a ball of 0.2 mm, one slice each side
    bench.stroke(0, (10.0, 15.0, 20.0))
    z, y, x = np.ogrid[: SHAPE[0], : SHAPE[1], : SHAPE[2]]
    ball = ((z - 10) * 0.2) ** 2 + ((y - 15) * 0.1) ** 2 + ((x - 20) * 0.1) ** 2 <= 0.2**2 + 1e-12
    dense = _dense(bench, _new_call(bench)["id"])
    assert np.array_equal(dense, ball)
    assert dense[10].sum() == 13 and dense[9].sum() == dense[11].sum() == 1
    assert dense[:9].sum() == dense[12:].sum() == 0


# -- threshold box, region growing, polygon
def test_the_threshold_box_takes_the_voxels_darker_or_brighter_than_the_level(
    bench: Bench,
) -> None:
    data = bench.state.volume.data
    data[10, 5:9, 30:35] = 1000  # a dark pore (not labelled)
    data[10, 20:22, 10:12] = 40000  # a bright inclusion
    bench.state.window = Window(0.0, 30000.0)  # level 15000
    bench.edits.set_tool("threshold")
    bench.edits.radius = 1.0  # one slice each side of the box's slice
    bench.stroke(0, (10.0, 3.6, 28.7), (10.0, 10.2, 36.4))
    dark = _dense(bench, _new_call(bench)["id"])
    expected = np.zeros(SHAPE, bool)
    expected[10, 5:9, 30:35] = True
    assert np.array_equal(dark, expected)
    bench.review.select(None)
    bench.state.window = Window(20000.0, 40000.0)  # level 30000, above the material
    bench.edits.bright = True
    bench.stroke(0, (10.0, 18.0, 8.0), (10.0, 24.0, 14.0))
    bright = _dense(bench, _new_call(bench)["id"])
    expected[:] = False
    expected[10, 20:22, 10:12] = True
    assert np.array_equal(bright, expected)
    # A box with nothing beyond the level: one sentence, nothing recorded.
    bench.review.select(None)
    bench.edits.bright = False
    bench.state.window = Window(0.0, 30000.0)
    n = len(bench.review.rows)
    with pytest.raises(ReviewError, match="no voxel in the box"):
        bench.stroke(0, (2.0, 10.0, 10.0), (2.0, 14.0, 14.0))
    assert len(bench.review.rows) == n


def test_region_growing_from_a_seed_makes_a_call_of_the_pore(bench: Bench) -> None:
    bench.state.volume.data[2:4, 20:23, 5:8] = 3000  # an unlabelled 2x3x3 pore
    bench.edits.set_tool("grow")
    assert bench.edits.handle("press", 0, (2.4, 21.2, 6.0))
    dense = _dense(bench, _new_call(bench)["id"])
    expected = np.zeros(SHAPE, bool)
    expected[2:4, 20:23, 5:8] = True
    assert np.array_equal(dense, expected)
    # A seed in uniform material: nothing to grow, said in one sentence.
    bench.review.select(None)
    with pytest.raises(ReviewError, match="does not differ"):
        bench.edits.handle("press", 0, (10.0, 2.0, 2.0))


def test_a_polygon_is_filled_on_its_slice_by_double_click_or_enter(bench: Bench) -> None:
    bench.edits.set_tool("polygon")
    corners = [(5.0, 25.0), (5.0, 29.0), (9.0, 29.0), (9.0, 25.0)]
    assert bench.edits.handle("press", 0, (15.0, *corners[0]))
    bench.edits.handle("press", 0, (15.0, *corners[1]))
    bench.edits.handle("double", 0, (15.0, *corners[1]))  # two vertices: not yet a polygon
    bench.edits.finish()
    assert bench.commits == []
    for corner in corners[2:]:
        bench.edits.handle("press", 0, (15.0, *corner))
    preview = bench.edits.preview(0, 15, (30, 40))
    assert preview is not None and (preview == PREVIEW_CODE).sum() == 4
    assert bench.edits.preview(1, 5, (20, 40)) is None  # vertices belong to one view
    bench.edits.finish()
    dense = _dense(bench, _new_call(bench)["id"])
    expected = np.zeros(SHAPE, bool)
    expected[15, 5:10, 25:30] = True
    assert np.array_equal(dense, expected)
    # A click in another view starts a new polygon there; double click closes it.
    bench.review.select(None)
    bench.edits.handle("press", 0, (3.0, 10.0, 10.0))
    for zx in ((2.0, 20.0), (2.0, 24.0), (6.0, 24.0)):
        bench.edits.handle("press", 1, (zx[0], 8.0, zx[1]))
    bench.edits.handle("double", 1, (6.0, 8.0, 24.0))
    triangle = _dense(bench, _new_call(bench)["id"])
    assert triangle[:, 8].any() and triangle.sum() == triangle[:, 8].sum()
    assert not triangle[3, 10, 10]


# -- SAM with a fake segmenter
class FakeSegmenter:
    """Stands in for inference's InteractiveSegmenter: a 3x3 square per include click, less
    the exclude clicks' squares, or the box; records what it was asked."""

    def __init__(self, mode: str = "sam") -> None:
        self.mode = mode
        self.backend = SimpleNamespace(model_type="vit_t") if mode == "sam" else None
        self.asked: list[tuple[Any, ...]] = []

    def segment_2d(
        self,
        axis: int,
        index: int,
        points: list[tuple[int, int]],
        labels: list[int],
        box: tuple[int, int, int, int] | None,
    ) -> SimpleNamespace:
        self.asked.append((axis, index, list(points), list(labels), box))
        plane = [SHAPE[a] for a in range(3) if a != axis]
        mask = np.zeros(plane, bool)
        if box is not None:
            mask[box[0] : box[2] + 1, box[1] : box[3] + 1] = True
        for (r, c), label in zip(points, labels, strict=True):
            mask[max(0, r - 1) : r + 2, max(0, c - 1) : c + 2] = bool(label)
        return SimpleNamespace(mask=mask)

    def segment_3d(
        self,
        axis: int,
        index: int,
        points: list[tuple[int, int]],
        labels: list[int],
        box: tuple[int, int, int, int] | None,
    ) -> SimpleNamespace:
        """The slice mask repeated on the slices either side (axis 0 only, as the tests use)."""
        seed = self.segment_2d(axis, index, points, labels, box).mask
        rows, cols = np.nonzero(seed)
        crop = seed[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
        local = np.stack([crop] * 3)
        return SimpleNamespace(
            mask=SimpleNamespace(mask=local, offset=(index - 1, rows.min(), cols.min()))
        )


def test_sam_clicks_and_a_box_prompt_a_preview_and_enter_accepts_a_sam_call(
    bench: Bench,
) -> None:
    bench.segmenter = FakeSegmenter()
    bench.edits.set_tool("sam2d")
    with pytest.raises(ReviewError, match="click on the defect first"):
        bench.edits.finish()  # nothing to accept yet
    bench.click(0, (12.2, 10.0, 10.0))
    bench.click(0, (12.0, 10.0, 11.0), shift=True)  # Shift: exclude
    assert bench.segmenter.asked[-1] == (0, 12, [(10, 10), (10, 11)], [1, 0], None)
    mask = bench.edits.sam_mask
    assert mask is not None and mask.sum() == 3 and mask[9:12, 9].all()
    preview = bench.edits.preview(0, 12, (30, 40))
    assert preview is not None and np.array_equal(preview == PREVIEW_CODE, mask)
    assert bench.edits.preview(0, 13, (30, 40)) is None
    # A drag is a box; a prompt on another slice starts afresh.
    bench.stroke(0, (14.0, 4.0, 4.0), (14.0, 6.0, 6.0), (14.0, 8.0, 9.0))
    assert bench.segmenter.asked[-1] == (0, 14, [], [], (4, 4, 8, 9))
    bench.edits.finish()
    row = _new_call(bench)
    assert row["source"] == {"kind": "sam", "name": "vit_t", "version": None}
    assert row["status"] == "accepted"
    expected = np.zeros(SHAPE, bool)
    expected[14, 4:9, 4:10] = True
    assert np.array_equal(_dense(bench, row["id"]), expected)
    assert bench.edits.sam_mask is None  # the prompts went with the accepted mask


def test_sam_2d_on_the_selected_call_replaces_that_slice_only(bench: Bench) -> None:
    bench.segmenter = FakeSegmenter()
    bar = bench.call_id((15, 2, 20))
    bench.review.select(bar)
    bench.edits.set_tool("sam2d")
    bench.click(0, (15.0, 3.0, 22.0))
    bench.edits.finish()
    assert bench.review.row(bar)["status"] == "corrected"
    expected = np.zeros(SHAPE, bool)
    expected[16, 2:4, 20:30] = True  # the other slice is kept
    expected[15, 2:5, 21:24] = True  # this slice is what SAM drew
    assert np.array_equal(_dense(bench, bar), expected)
    reasons = [e["reason"] for e in audit(bench.review.store, bench.review.scan_id)]
    assert "mask edited with the sam2d tool" in reasons


def test_sam_3d_extends_the_click_and_the_fallback_says_it_is_not_sam(bench: Bench) -> None:
    bench.segmenter = FakeSegmenter()
    bench.edits.set_tool("sam3d")
    bench.click(0, (6.0, 20.0, 12.0))
    bench.edits.finish()
    row = _new_call(bench)
    assert row["source"]["kind"] == "sam"
    expected = np.zeros(SHAPE, bool)
    expected[5:8, 19:22, 11:14] = True
    assert np.array_equal(_dense(bench, row["id"]), expected)
    # Without SAM the segmenter grows regions, and the call's source says so.
    bench.segmenter = FakeSegmenter(mode="region-growing")
    bench.review.select(None)
    bench.edits.set_tool("sam2d")
    bench.click(0, (3.0, 25.0, 35.0))
    bench.edits.finish()
    assert _new_call(bench)["source"] == {
        "kind": "manual",
        "name": "region-growing",
        "version": None,
    }


def test_sam_without_a_segmenter_proposes_nothing(bench: Bench) -> None:
    bench.edits.set_tool("sam2d")
    bench.click(0, (12.0, 10.0, 10.0))
    assert bench.edits.sam_mask is None and bench.edits.preview(0, 12, (30, 40)) is None
    with pytest.raises(ReviewError) as raised:
        bench.edits.finish()
    assert str(raised.value) == NO_MASK


def test_a_late_sam_proposal_is_shown_when_it_comes_and_a_stale_one_is_dropped(
    tmp_path: Path,
) -> None:
    """In the window a click on a slice not encoded yet is answered after a background
    encode: the proposal arrives later, and only the latest prompt's counts."""
    bench = _bench(tmp_path)
    fake = FakeSegmenter()
    pending: list[tuple[tuple[Any, ...], Any]] = []

    def propose(axis: int, index: int, points: Any, labels: Any, box: Any, answer: Any) -> None:
        pending.append(((axis, index, points, labels, box), answer))

    edits = EditSession(lambda: bench.state, lambda: bench.review, lambda: fake, propose)
    redraws: list[int] = []
    edits.on_preview = lambda: redraws.append(1)
    edits.set_tool("sam2d")
    for zyx in ((12.0, 10.0, 10.0), (12.0, 20.0, 20.0)):
        assert edits.handle("press", 0, zyx) and edits.handle("release", 0, zyx)
    assert edits.sam_mask is None  # nothing answered yet
    (first, answer_first), (second, answer_second) = pending
    answer_first(fake.segment_2d(*first), fake)  # the older prompt: dropped
    assert edits.sam_mask is None
    before = len(redraws)
    answer_second(fake.segment_2d(*second), fake)
    mask = edits.sam_mask
    assert mask is not None and mask[10, 10] and mask[20, 20] and len(redraws) == before + 1
    edits.cancel()
    assert edits.sam_mask is None
    assert edits.handle("press", 0, (12.0, 5.0, 5.0)) and edits.handle(
        "release", 0, (12.0, 5.0, 5.0)
    )
    _, answer_third = pending[-1]
    edits.cancel()  # Esc before the encode is done: its answer must not bring the mask back
    answer_third(fake.segment_2d(*pending[-1][0]), fake)
    assert edits.sam_mask is None


# -- Esc, the ruler, navigate
def test_esc_cancels_what_is_in_progress_and_commits_nothing(bench: Bench) -> None:
    bench.segmenter = FakeSegmenter()
    bench.edits.set_tool("brush")
    bench.edits.handle("press", 0, (12.0, 20.0, 5.0))
    assert bench.edits.working is not None
    bench.edits.cancel()
    assert bench.edits.working is None and bench.edits.preview(0, 12, (30, 40)) is None
    bench.edits.handle("release", 0, (12.0, 20.0, 5.0))  # the stroke was dropped
    bench.edits.set_tool("threshold")
    bench.edits.handle("press", 0, (10.0, 3.0, 28.0))
    bench.edits.cancel()
    bench.edits.handle("release", 0, (10.0, 10.0, 36.0))
    bench.edits.set_tool("polygon")
    for zyx in ((15.0, 5.0, 25.0), (15.0, 5.0, 29.0), (15.0, 9.0, 29.0)):
        bench.edits.handle("press", 0, zyx)
    bench.edits.cancel()
    bench.edits.finish()
    bench.edits.set_tool("sam2d")
    bench.click(0, (12.0, 10.0, 10.0))
    bench.edits.set_tool("navigate")  # Esc in the window: back to navigating
    assert bench.edits.sam_mask is None and bench.edits.tool == "navigate"
    assert bench.commits == [] and len(bench.review.rows) == 3


def test_the_ruler_needs_no_review_and_stays_on_its_slice(tmp_path: Path) -> None:
    bench = _bench(tmp_path)
    bench.edits = EditSession(lambda: bench.state, lambda: None)
    bench.edits.on_ruler = bench.rulers.append
    bench.edits.on_ruler_finished = bench.finished.append
    bench.edits.set_tool("brush")
    assert not bench.edits.handle("press", 0, (5.0, 5.0, 5.0))  # painting needs a review
    bench.edits.set_tool("ruler")
    bench.stroke(0, (4.0, 20.0, 10.0), (4.0, 20.0, 30.0), (7.0, 20.0, 35.0))
    ruler = bench.edits.ruler
    assert ruler is not None and ruler.start == (4.0, 20.0, 10.0)
    assert ruler.end == (4.0, 20.0, 35.0)  # the release's z is ignored
    assert len(bench.rulers) == 4 and bench.finished == [ruler]  # every move
    bench.edits.set_tool("navigate")
    assert bench.edits.ruler is None and bench.rulers[-1] is None


def test_navigate_leaves_clicks_to_the_crosshair_and_tool_names_are_checked(
    bench: Bench,
) -> None:
    assert bench.edits.tool == "navigate"
    assert not bench.edits.handle("press", 0, (5.0, 5.0, 5.0))
    assert set(TOOLS) == {
        "navigate",
        "ruler",
        "brush",
        "eraser",
        "sphere",
        "threshold",
        "grow",
        "polygon",
        "sam2d",
        "sam3d",
    }
    with pytest.raises(ValueError, match="unknown edit tool"):
        bench.edits.set_tool("lasso")
    assert bench.edits.status_text() == {"tool": "navigate", "radius": 2.0, "class": "pore"}
    no_scan = EditSession(lambda: None, lambda: bench.review)
    no_scan.set_tool("brush")
    assert not no_scan.handle("press", 0, (5.0, 5.0, 5.0))
