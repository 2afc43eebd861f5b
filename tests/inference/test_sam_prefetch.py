"""Prefetch planning (focus first, then outwards, skipping ready slices) and slice encoding."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ndelab.inference.sam.cache import EmbeddingCache
from ndelab.inference.sam.embedding import Embedding
from ndelab.inference.sam.prefetch import (
    Prefetcher,
    SliceEncoder,
    prefetch_order,
    run_prefetch,
    scan_hash,
    volume_slice,
)
from ndelab.inference.sam.windowing import slice_to_rgb


class FakeEncoder:
    """Records what it encoded; the embedding holds the slice's mean so results are checkable."""

    model_id = "fake-0"

    def __init__(self) -> None:
        self.seen: list[np.ndarray] = []

    def encode(self, rgb: np.ndarray) -> Embedding:
        self.seen.append(rgb)
        feats = np.full((1, 2, 2, 2), rgb.mean(), dtype=np.float16)
        return Embedding(feats, (rgb.shape[0], rgb.shape[1]), (8, 8), self.model_id)


def test_prefetch_order() -> None:
    assert prefetch_order(5, 10, 3) == [5, 6, 4, 7, 3, 8, 2]
    assert prefetch_order(0, 10, 2) == [0, 1, 2]
    assert prefetch_order(9, 10, 2) == [9, 8, 7]
    assert prefetch_order(0, 1, 5) == [0]
    with pytest.raises(ValueError, match="outside"):
        prefetch_order(10, 10, 1)


def test_plan_skips_ready_follows_focus_and_cancels() -> None:
    ready = {(0, 6), (0, 3)}
    pf = Prefetcher((10, 20, 30), lambda a, i: (a, i) in ready, radius=2)
    assert pf.plan() == [] and pf.next_slice() is None  # no focus yet
    pf.focus(0, 5)
    assert pf.plan() == [(0, 5), (0, 4), (0, 7)]
    ready.add((0, 5))
    assert pf.next_slice() == (0, 4)
    pf.focus(2, 29)
    assert pf.plan() == [(2, 29), (2, 28), (2, 27)]
    pf.failed(2, 28)
    assert pf.plan() == [(2, 29), (2, 27)]
    with pytest.raises(ValueError, match="outside the scan"):
        pf.focus(1, 20)
    pf.cancel()
    assert pf.cancelled and pf.plan() == []


def test_run_prefetch_encodes_in_order_and_caches(tmp_path: Path) -> None:
    data = np.arange(6 * 5 * 4, dtype=np.uint16).reshape(6, 5, 4)
    enc = FakeEncoder()
    cache = EmbeddingCache(enc.model_id, tmp_path)
    se = SliceEncoder(enc, cache, data, "scan", (0, 119))
    pf = Prefetcher((6, 5, 4), se.is_ready, radius=2)
    pf.focus(1, 2)
    order: list[tuple[int, int]] = []
    fractions: list[float] = []

    def encode(a: int, i: int) -> Embedding:
        order.append((a, i))
        return se.embedding(a, i)

    assert run_prefetch(pf, encode, progress=fractions.append) == 5
    assert order == [(1, 2), (1, 3), (1, 1), (1, 4), (1, 0)]
    assert se.ready_slices(1) == {0, 1, 2, 3, 4} and se.ready_slices(0) == set()
    assert fractions[0] == 0.0 and fractions[-1] == 1.0 and fractions == sorted(fractions)
    np.testing.assert_array_equal(enc.seen[0], slice_to_rgb(data[:, 2, :], 0, 119))
    # everything is cached now: nothing more to encode, and embedding() reads the cache
    assert run_prefetch(pf, encode) == 0
    n = len(enc.seen)
    emb = se.embedding(1, 3)
    assert len(enc.seen) == n and emb.original_size == (6, 4)


def test_run_prefetch_cancel_and_failure(tmp_path: Path) -> None:
    enc = FakeEncoder()
    se = SliceEncoder(enc, EmbeddingCache(enc.model_id, tmp_path), np.zeros((9, 3, 3)), "s", (0, 1))
    pf = Prefetcher((9, 3, 3), se.is_ready, radius=8)
    pf.focus(0, 4)
    calls = 0

    def encode(a: int, i: int) -> None:
        nonlocal calls
        calls += 1
        se.embedding(a, i)

    assert run_prefetch(pf, encode, cancel=lambda: calls >= 3) == 3

    def broken(a: int, i: int) -> None:
        raise RuntimeError("out of memory")

    with pytest.raises(RuntimeError):
        run_prefetch(pf, broken)
    # 4, 5, 3 were encoded; 6 failed and is skipped from now on
    assert pf.plan() == [(0, 2), (0, 7), (0, 1), (0, 8), (0, 0)]
    pf.cancel()
    assert run_prefetch(pf, encode) == 0


def test_focus_from_another_thread_retargets(tmp_path: Path) -> None:
    enc = FakeEncoder()
    se = SliceEncoder(
        enc, EmbeddingCache(enc.model_id, tmp_path), np.zeros((40, 2, 2)), "s", (0, 1)
    )
    pf = Prefetcher((40, 2, 2), se.is_ready, radius=1)
    pf.focus(0, 0)
    order: list[int] = []

    def encode(a: int, i: int) -> None:
        order.append(i)
        se.embedding(a, i)
        if i == 0:  # the user scrolls away while slice 0 encodes
            t = threading.Thread(target=pf.focus, args=(0, 30))
            t.start()
            t.join()

    run_prefetch(pf, encode)
    assert order == [0, 30, 31, 29]


def test_scan_hash_and_volume_slice() -> None:
    a = np.random.default_rng(0).integers(0, 1000, (7, 8, 9)).astype(np.uint16)
    b = a.copy()
    assert scan_hash(a) == scan_hash(b)
    b[3, 4, 4] += 1  # a centre voxel lies on all three sampled middle slices
    assert scan_hash(a) != scan_hash(b)
    assert scan_hash(a, "x.raw") != scan_hash(a, "y.raw")
    assert scan_hash(a.astype(np.int16)) != scan_hash(a)
    np.testing.assert_array_equal(volume_slice(a, 1, 2), a[:, 2, :])
    np.testing.assert_array_equal(volume_slice(a, 2, 8), a[:, :, 8])


def test_two_threads_asking_for_one_slice_encode_it_once(tmp_path: Path) -> None:
    """The prefetcher and a click's encode job may want the same slice at the same time."""
    go, both_missed = threading.Event(), threading.Event()

    class SlowEncoder(FakeEncoder):
        def encode(self, rgb: np.ndarray) -> Embedding:
            go.wait(10)
            return super().encode(rgb)

    class WatchedCache(EmbeddingCache):
        misses = 0

        def get(self, key: Any) -> Embedding | None:
            emb = super().get(key)
            if emb is None:
                WatchedCache.misses += 1
                if WatchedCache.misses == 2:
                    both_missed.set()
            return emb

    enc = SlowEncoder()
    se = SliceEncoder(enc, WatchedCache(enc.model_id, tmp_path), np.ones((4, 6, 6)), "s", (0, 2))
    results: list[Embedding] = []
    threads = [threading.Thread(target=lambda: results.append(se.embedding(0, 2))) for _ in "ab"]
    for t in threads:
        t.start()
    assert both_missed.wait(10)  # both asked before either had the embedding
    go.set()
    for t in threads:
        t.join(10)
    assert len(results) == 2 and len(enc.seen) == 1 and se.encoded == 1
    np.testing.assert_array_equal(results[0].features, results[1].features)
