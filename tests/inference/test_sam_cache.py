"""The on-disk embedding cache: keys, hits and misses, LRU eviction, ready slices."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ndelab.inference.sam.cache import EmbeddingCache
from ndelab.inference.sam.embedding import Embedding

MODEL = "tiny-0123456789abcdef"


def _emb(seed: int, model: str = MODEL) -> Embedding:
    rng = np.random.default_rng(seed)
    feats = rng.normal(size=(1, 8, 4, 4)).astype(np.float16)
    return Embedding(feats, (100, 80), (64, 51), model)


def test_roundtrip_hit_and_miss(tmp_path: Path) -> None:
    cache = EmbeddingCache(MODEL, tmp_path)
    key = cache.key("scan1", 0, 7, (-1000, 3000))
    assert key not in cache and cache.get(key) is None
    path = cache.put(key, _emb(1))
    assert path.is_file() and path.is_relative_to(tmp_path / MODEL / "scan1")
    got = cache.get(key)
    assert got is not None and got == Embedding(got.features, (100, 80), (64, 51), MODEL)
    np.testing.assert_array_equal(got.features, _emb(1).features)
    assert got.features.dtype == np.float16
    # every part of the key matters
    for other in (
        cache.key("scan2", 0, 7, (-1000, 3000)),
        cache.key("scan1", 1, 7, (-1000, 3000)),
        cache.key("scan1", 0, 8, (-1000, 3000)),
        cache.key("scan1", 0, 7, (-1000, 3000.5)),
        EmbeddingCache("other-model", tmp_path).key("scan1", 0, 7, (-1000, 3000)),
    ):
        assert other not in cache
    assert (
        EmbeddingCache("other-model", tmp_path).get(
            EmbeddingCache("other-model", tmp_path).key("scan1", 0, 7, (-1000, 3000))
        )
        is None
    )
    # the same window spelt differently is the same key
    assert cache.key("scan1", 0, 7, (np.int16(-1000), 3000.0)) in cache


def test_rejects_unsafe_names_and_foreign_embeddings(tmp_path: Path) -> None:
    cache = EmbeddingCache(MODEL, tmp_path)
    with pytest.raises(ValueError, match="file-name safe"):
        cache.key("../evil", 0, 0, (0, 1))
    with pytest.raises(ValueError, match="file-name safe"):
        EmbeddingCache("a/b", tmp_path)
    with pytest.raises(ValueError, match="bad slice"):
        cache.key("s", 3, 0, (0, 1))
    with pytest.raises(ValueError, match="under a key of"):
        cache.put(cache.key("s", 0, 0, (0, 1)), _emb(0, "another"))


def test_ready_slices(tmp_path: Path) -> None:
    cache = EmbeddingCache(MODEL, tmp_path)
    win = (0.0, 255.0)
    assert cache.ready_slices("s", 0, win) == set()
    for i in (3, 4, 10):
        cache.put(cache.key("s", 0, i, win), _emb(i))
    cache.put(cache.key("s", 1, 5, win), _emb(5))
    cache.put(cache.key("s", 0, 6, (0.0, 100.0)), _emb(6))
    assert cache.ready_slices("s", 0, win) == {3, 4, 10}
    assert cache.ready_slices("s", 1, win) == {5}
    assert cache.ready_slices("s", 0, (0.0, 100.0)) == {6}
    assert cache.ready_slices("t", 0, win) == set()


def test_lru_eviction(tmp_path: Path) -> None:
    probe = EmbeddingCache(MODEL, tmp_path / "probe")
    size = probe.put(probe.key("s", 0, 0, (0, 1)), _emb(0)).stat().st_size
    cache = EmbeddingCache(MODEL, tmp_path / "c", max_bytes=3 * size)
    keys = [cache.key("s", 0, i, (0, 1)) for i in range(5)]
    for i in range(3):
        cache.put(keys[i], _emb(i))
    assert cache.total_bytes() == 3 * size
    assert cache.get(keys[0]) is not None  # 0 is now the most recently used
    cache.put(keys[3], _emb(3))  # over budget: 1 (least recently used) goes
    assert [k in cache for k in keys] == [True, False, True, True, False]
    cache.put(keys[4], _emb(4))  # then 2
    assert [k in cache for k in keys] == [True, False, False, True, True]
    assert cache.total_bytes() == 3 * size
    # a fresh instance counts what is on disk and keeps the order across sessions
    again = EmbeddingCache(MODEL, tmp_path / "c", max_bytes=2 * size)
    assert again.total_bytes() == 3 * size
    assert again.evict() == 1
    assert keys[0] not in again and keys[3] in again and keys[4] in again
    again.clear()
    assert again.total_bytes() == 0 and keys[4] not in again


def test_damaged_entry_is_a_miss(tmp_path: Path) -> None:
    cache = EmbeddingCache(MODEL, tmp_path)
    key = cache.key("s", 2, 1, (0, 1))
    cache.put(key, _emb(1)).write_bytes(b"garbage")
    assert cache.get(key) is None
    assert key not in cache  # dropped, so it will be re-encoded
