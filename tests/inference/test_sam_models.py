"""The SAM model cache: one load per checkpoint file content, whatever the scan or window."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from ndelab.inference.sam.cache import EmbeddingCache
from ndelab.inference.sam.errors import SamError
from ndelab.inference.sam.interactive import InteractiveSegmenter
from ndelab.inference.sam.models import SamModels
from ndelab.inference.sam.testing import TINY, save_tiny_checkpoint
from ndelab.volumes.progress import Cancelled


@pytest.fixture
def torch_loads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    real = torch.load
    loads: list[str] = []

    def load(path: Any, *args: Any, **kwargs: Any) -> Any:
        loads.append(str(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(torch, "load", load)
    return loads


def test_the_same_file_loads_once_and_a_changed_file_again(
    tmp_path: Path, torch_loads: list[str]
) -> None:
    ckpt = save_tiny_checkpoint(tmp_path / "tiny.pth", seed=0)
    models = SamModels(device="cpu")
    progress: list[float] = []
    first = models.load(ckpt, progress=progress.append)
    assert first.arch == TINY and progress[-1] == 1.0 and progress == sorted(progress)
    assert models.key(ckpt) == (str(ckpt.resolve()), hashlib.sha256(ckpt.read_bytes()).hexdigest())
    # The same bytes (by another spelling of the path too): the kept model, no torch.load.
    assert models.load(tmp_path / "." / "tiny.pth") is first
    assert len(torch_loads) == 1 and models.loads == 1
    save_tiny_checkpoint(ckpt, seed=1)  # replaced in place: other weights, same path
    second = models.load(ckpt)
    assert second is not first and second.model_id != first.model_id
    assert len(torch_loads) == 2 and models.loads == 2


def test_segmenters_of_other_windows_share_the_model(
    tmp_path: Path, torch_loads: list[str]
) -> None:
    models = SamModels(device="cpu")
    backend = models.load(save_tiny_checkpoint(tmp_path / "tiny.pth"))
    cache = EmbeddingCache(backend.model_id, tmp_path / "cache")
    data = np.full((6, 40, 40), 1000, np.uint16)
    data[:, 10:30, 10:30] = 20000
    for window in ((0, 30000), (500, 2000), (900, 21000)):
        seg = InteractiveSegmenter(
            data, window, backend=models.load(tmp_path / "tiny.pth"), cache=cache
        )
        assert seg.backend is backend and seg.encoder is not None
        assert seg.encoder.key(0, 2).window == window  # the window keys the embedding only
    assert len(torch_loads) == 1


def test_cancel_while_hashing_and_bad_files(tmp_path: Path, torch_loads: list[str]) -> None:
    ckpt = save_tiny_checkpoint(tmp_path / "tiny.pth")
    models = SamModels(device="cpu")
    with pytest.raises(Cancelled):
        models.load(ckpt, cancel=lambda: True)
    assert torch_loads == []
    with pytest.raises(SamError, match="no such SAM checkpoint file"):
        models.load(tmp_path / "missing.pth")
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(SamError, match=r"junk\.pth"):
        models.load(junk)


def test_a_slice_encoded_elsewhere_is_segmented_without_encoding(tmp_path: Path) -> None:
    backend = SamModels(device="cpu").load(save_tiny_checkpoint(tmp_path / "tiny.pth"))
    data = np.full((6, 40, 40), 1000, np.uint16)
    data[:, 10:30, 10:30] = 20000
    cache = EmbeddingCache(backend.model_id, tmp_path / "cache")
    seg = InteractiveSegmenter(data, (0, 30000), backend=backend, cache=cache, scan="s")
    assert seg.needs_encoding(0, 3)
    assert seg.encoder is not None
    embedding = seg.encoder.embedding(0, 3)  # what a worker thread does
    assert seg.encoder.encoded == 1 and not seg.needs_encoding(0, 3)  # cached now
    seg.use_embedding(0, 3, embedding)
    mask = seg.segment_2d(0, 3, [(20, 20)], [1])
    assert mask.source == "sam" and seg.encoder.encoded == 1
    # Another window's segmenter on the same model: its own embeddings; the backend's image
    # is no longer this one's, so this one sets its embedding again (from the cache).
    other = InteractiveSegmenter(data, (500, 2000), backend=backend, cache=cache, scan="s")
    assert other.needs_encoding(0, 3)
    other.segment_2d(0, 3, [(20, 20)], [1])
    assert backend.embedding is not embedding
    assert not seg.needs_encoding(0, 3)
    seg.segment_2d(0, 3, [(20, 20)], [1])
    assert backend.embedding is not None and seg.encoder.encoded == 1
    assert not InteractiveSegmenter(data, (0, 1)).needs_encoding(0, 3)  # region growing
