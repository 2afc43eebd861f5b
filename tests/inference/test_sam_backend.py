"""The SAM loader (through real checkpoint files) and the fast predict path vs upstream."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch
from segment_anything import SamPredictor

from ndelab.inference.sam.arch import ARCHS, arch_name, build_model, infer_arch
from ndelab.inference.sam.backend import SamBackend, load_sam
from ndelab.inference.sam.errors import SamError
from ndelab.inference.sam.testing import TINY, save_tiny_checkpoint
from ndelab.volumes.errors import NdelabError, UsageError


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_checkpoint(tmp_path_factory.mktemp("sam") / "tiny.pth", seed=0)


@pytest.fixture(scope="module")
def backend(ckpt: Path) -> SamBackend:
    return load_sam(ckpt, "auto", "cpu")


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.count_nonzero(a | b)
    return 1.0 if union == 0 else np.count_nonzero(a & b) / union


# --- loader --------------------------------------------------------------------------------


def test_auto_reads_the_architecture_and_weights(ckpt: Path, backend: SamBackend) -> None:
    assert backend.arch == TINY
    sha = hashlib.sha256(ckpt.read_bytes()).hexdigest()
    assert backend.model_id == f"{arch_name(TINY)}-{sha[:16]}"
    saved = torch.load(ckpt, weights_only=True)
    for name, tensor in backend.model.state_dict().items():
        torch.testing.assert_close(tensor, saved[name], rtol=0, atol=0)
    assert not any(t.is_meta for t in backend.model.buffers())
    torch.testing.assert_close(
        backend.model.pixel_std.flatten(), torch.tensor([58.395, 57.12, 57.375])
    )


@pytest.mark.parametrize("name", ["vit_b", "vit_l", "vit_h"])
def test_infer_arch_recognises_published_sizes(name: str) -> None:
    with torch.device("meta"):
        sd = build_model(ARCHS[name]).state_dict()
    assert infer_arch(sd) == ARCHS[name]
    assert arch_name(infer_arch(sd)) == name


def test_explicit_types(ckpt: Path) -> None:
    assert load_sam(ckpt, TINY, "cpu").arch == TINY
    with pytest.raises(SamError, match=r"tiny\.pth: holds a custom_d32x2_i128 model, not vit_b"):
        load_sam(ckpt, "vit_b", "cpu")
    with pytest.raises(UsageError, match="unknown SAM model type 'vit_x'"):
        load_sam(ckpt, "vit_x", "cpu")


def test_expected_hash(ckpt: Path) -> None:
    sha = hashlib.sha256(ckpt.read_bytes()).hexdigest()
    assert load_sam(ckpt, expected_sha256=sha.upper(), device="cpu").arch == TINY
    with pytest.raises(SamError, match=r"SHA-256 is .* not the expected 000000000000"):
        load_sam(ckpt, expected_sha256="0" * 64, device="cpu")


def test_missing_truncated_and_garbage_files(ckpt: Path, tmp_path: Path) -> None:
    with pytest.raises(SamError, match=r"nope\.pth: no such SAM checkpoint file"):
        load_sam(tmp_path / "nope.pth")
    cut = tmp_path / "cut.pth"
    cut.write_bytes(ckpt.read_bytes()[: ckpt.stat().st_size // 2])
    with pytest.raises(SamError, match=r"cut\.pth: is not a readable PyTorch checkpoint"):
        load_sam(cut)
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"\x00not a checkpoint" * 100)
    with pytest.raises(SamError, match=r"junk\.pth: is not a readable PyTorch checkpoint"):
        load_sam(junk)
    with pytest.raises(NdelabError) as err:
        load_sam(tmp_path)  # a folder, not a file
    assert "no such SAM checkpoint file" in str(err.value)


def test_pickled_code_is_refused(tmp_path: Path) -> None:
    class Evil:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (print, ("pickled code ran",))

    p = tmp_path / "evil.pth"
    torch.save({"model": Evil()}, p)
    with pytest.raises(SamError, match="not a readable PyTorch checkpoint"):
        load_sam(p)


def test_wrong_contents(ckpt: Path, tmp_path: Path) -> None:
    sd = torch.load(ckpt, weights_only=True)
    cases = {
        "list.pth": [1, 2, 3],
        "partial.pth": {k: v for k, v in sd.items() if not k.startswith("mask_decoder.iou")},
        "other.pth": {"layer.weight": torch.zeros(3)},
        "shape.pth": {**sd, "mask_decoder.iou_token.weight": torch.zeros(1, 7)},
        "extra.pth": {**sd, "unexpected.weight": torch.zeros(1)},
    }
    messages = {
        "list.pth": "holds no state dict of tensors",
        "partial.pth": "is not a SAM checkpoint (it has no tensor ",
        "other.pth": "is not a SAM checkpoint (it has no tensor image_encoder.patch_embed",
        "shape.pth": "does not fit the custom_d32x2_i128 architecture",
        "extra.pth": "does not fit the custom_d32x2_i128 architecture",
    }
    for name, obj in cases.items():
        torch.save(obj, tmp_path / name)
        with pytest.raises(SamError) as err:
            load_sam(tmp_path / name, device="cpu")
        assert str(err.value).startswith(str(tmp_path / name)), err.value
        assert messages[name] in str(err.value), err.value
        assert "\n" not in str(err.value)


def test_wrapped_and_half_precision_checkpoints(ckpt: Path, tmp_path: Path) -> None:
    sd = torch.load(ckpt, weights_only=True)
    torch.save({"model": {k: v.half() for k, v in sd.items()}}, tmp_path / "half.pth")
    b = load_sam(tmp_path / "half.pth", device="cpu")
    assert b.arch == TINY
    assert all(p.dtype == torch.float32 for p in b.model.parameters())


# --- predict -------------------------------------------------------------------------------


def _rgb(shape: tuple[int, int], seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    disk = ((yy - shape[0] / 2) ** 2 + (xx - shape[1] / 2) ** 2) < (min(shape) / 4) ** 2
    img = (disk * 180 + rng.integers(0, 60, shape)).astype(np.uint8)
    return np.repeat(img[:, :, None], 3, axis=2)


def test_encode_and_predict_shapes(backend: SamBackend) -> None:
    emb = backend.set_image(_rgb((100, 80), 0))
    assert emb.features.dtype == np.float16 and emb.features.shape == (1, 32, 8, 8)
    assert emb.original_size == (100, 80) and emb.input_size == (128, 102)
    p = backend.predict([(50, 40)], [1])
    assert p.mask.shape == (100, 80) and p.mask.dtype == bool
    assert p.mask_index in (1, 2, 3) and p.low_res_logits.shape == (32, 32)
    q = backend.predict([(10, 10), (60, 30)], [1, 0], box=(5, 5, 90, 70), multimask=False)
    assert q.mask.shape == (100, 80) and q.mask_index == 0
    r = backend.predict(box=(20, 10, 70, 60))
    assert r.mask.shape == (100, 80)
    s = backend.predict([(50, 40)], [1], mask_input=p.low_res_logits, multimask=False)
    assert s.mask.shape == (100, 80) and np.isfinite(s.score)
    with pytest.raises(ValueError, match="one label"):
        backend.predict([(1, 1)], [2])
    with pytest.raises(ValueError, match="at least one point or a box"):
        backend.predict()


@pytest.mark.parametrize("shape", [(128, 128), (64, 64), (100, 80), (300, 200), (77, 129)])
def test_fast_predict_matches_upstream(backend: SamBackend, shape: tuple[int, int]) -> None:
    rgb = _rgb(shape, 3)
    backend.set_image(rgb)
    upstream = SamPredictor(backend.model)
    upstream.set_image(rgb)  # its own geometry ...
    upstream.features = backend.features_tensor()  # ... and the very same embedding
    rng = np.random.default_rng(7)
    nonempty = 0
    for i in range(8):
        pts = rng.integers(0, shape, size=(1 + i % 3, 2))
        labels = np.r_[1, rng.integers(0, 2, size=len(pts) - 1)]
        box = None
        if i % 2:
            r0, c0 = rng.integers(0, (shape[0] // 2, shape[1] // 2))
            box = (int(r0), int(c0), int(r0 + shape[0] // 3), int(c0 + shape[1] // 3))
        for multimask in (True, False):
            ours = backend.predict(pts, labels, box, multimask=multimask)
            masks, scores, low = upstream.predict(
                pts[:, ::-1].astype(float),
                labels,
                None if box is None else np.array([box[1], box[0], box[3], box[2]]),
                multimask_output=multimask,
            )
            best = int(np.argmax(scores))
            assert ours.mask_index == (best + 1 if multimask else 0)
            assert ours.score == pytest.approx(float(scores[best]), abs=1e-5)
            assert _iou(ours.mask, masks[best]) >= 0.999
            nonempty += bool(masks[best].any() and not masks[best].all())
            h, w = -(-shape[0] * 128 // max(shape) // 4), -(-shape[1] * 128 // max(shape) // 4)
            np.testing.assert_allclose(ours.low_res_logits[:h, :w], low[best][:h, :w], atol=1e-4)
    assert nonempty >= 4  # the comparison saw real masks, not only empty or full ones
