"""SAM over segment-anything's modules: load a checkpoint safely, encode slices, predict masks.

``encode``/``set_embedding`` (expensive, cached by the caller) are kept apart from
``predict`` (cheap, repeated). ``predict`` is a lean click-to-mask path: the dense positional
encoding, the image embedding plus the no-mask prompt and the decoder's first image
projections (decoder_cache) are computed once per image, the
decoder runs under ``torch.inference_mode``, only the chosen mask is upscaled and only where
it can be foreground, straight from the low-res logits to the slice size.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from segment_anything.modeling import Sam
from segment_anything.utils.transforms import ResizeLongestSide

from ndelab.volumes.errors import UsageError
from ndelab.volumes.progress import Cancel, Progress, check, report

from .arch import ARCHS, SamArch, arch_name, build_model, infer_arch
from .decoder_cache import ImageSide, image_side, two_way_transformer
from .embedding import Embedding, SamPrediction
from .errors import SamError
from .upsample import logits_to_mask

_PIXEL_MEAN = (123.675, 116.28, 103.53)  # SAM's ImageNet statistics, as its builders set them
_PIXEL_STD = (58.395, 57.12, 57.375)
ModelType = str  # "vit_b" | "vit_l" | "vit_h" | "auto"


def checkpoint_sha256(
    checkpoint: str | Path, progress: Progress | None = None, cancel: Cancel | None = None
) -> str:
    """SHA-256 of a checkpoint file (seconds for vit_h): SamError when it cannot be read."""
    path = Path(checkpoint)
    if not path.is_file():
        raise SamError(path, "no such SAM checkpoint file")
    digest = hashlib.sha256()
    try:
        total = max(path.stat().st_size, 1)
        done = 0
        with path.open("rb") as f:
            while chunk := f.read(1 << 20):
                check(cancel, "loading the SAM checkpoint")
                digest.update(chunk)
                done += len(chunk)
                report(progress, done / total)
    except OSError as e:
        raise SamError(path, f"cannot be read ({e.strerror or e})") from e
    return digest.hexdigest()


def _state_dict(path: Path, obj: object) -> dict[str, torch.Tensor]:
    if isinstance(obj, Mapping) and not any(str(k).startswith("image_encoder.") for k in obj):
        for wrapper in ("model", "state_dict"):  # common fine-tuning checkpoint layouts
            if isinstance(obj.get(wrapper), Mapping):
                obj = obj[wrapper]
                break
    if not isinstance(obj, Mapping) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items()
    ):
        raise SamError(path, "holds no state dict of tensors, so it is not a SAM checkpoint")
    # Half-precision checkpoints load into the float32 model.
    return {k: v.float() if v.is_floating_point() else v for k, v in obj.items()}


def _resolve_arch(path: Path, sd: Mapping[str, torch.Tensor], model_type: str | SamArch) -> SamArch:
    try:
        found = infer_arch(sd)
    except KeyError as e:
        raise SamError(path, f"is not a SAM checkpoint (it has no tensor {e.args[0]})") from None
    if isinstance(model_type, SamArch):
        wanted = model_type
    elif model_type == "auto":
        return found
    elif model_type in ARCHS:
        wanted = ARCHS[model_type]
    else:
        raise UsageError(
            f"unknown SAM model type {model_type!r} (expected vit_b, vit_l, vit_h or auto)"
        )
    # The decoder's head count does not show in the shapes; trust the requested one.
    if found != SamArch(**{**wanted.__dict__, "decoder_num_heads": found.decoder_num_heads}):
        raise SamError(path, f"holds a {arch_name(found)} model, not {arch_name(wanted)}")
    return wanted


def _build_loaded(path: Path, arch: SamArch, sd: dict[str, torch.Tensor]) -> Sam:
    # Build on the meta device (no random init of ~100M-600M weights), then adopt the tensors.
    with torch.device("meta"):
        model = build_model(arch)
    try:
        model.load_state_dict(sd, strict=True, assign=True)
    except RuntimeError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise SamError(path, f"does not fit the {arch_name(arch)} architecture ({first})") from e
    # pixel_mean/pixel_std are not saved in checkpoints: recreate them with real storage.
    model.register_buffer(
        "pixel_mean", torch.tensor([123.675, 116.28, 103.53]).view(-1, 1, 1), False
    )
    model.register_buffer("pixel_std", torch.tensor([58.395, 57.12, 57.375]).view(-1, 1, 1), False)
    left = [n for n, t in [*model.named_parameters(), *model.named_buffers()] if t.is_meta]
    if left:
        raise SamError(path, f"does not fit the {arch_name(arch)} architecture ({left[0]} unset)")
    return model.eval()


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def load_sam(
    checkpoint: str | Path,
    model_type: ModelType | SamArch = "auto",
    device: str | torch.device | None = None,
    *,
    expected_sha256: str | None = None,
) -> SamBackend:
    """Load a SAM checkpoint (vit_b/vit_l/vit_h, or ``auto``: read off the tensor shapes).

    The file is read with ``torch.load(weights_only=True)``: no pickled code runs. A missing,
    corrupt or mismatched file (or one whose SHA-256 differs from ``expected_sha256``) raises
    SamError naming it.
    """
    path = Path(checkpoint)
    sha = checkpoint_sha256(path)
    if expected_sha256 is not None and sha != expected_sha256.strip().lower():
        raise SamError(
            path,
            f"SHA-256 is {sha[:12]}…, not the expected {expected_sha256[:12]}… "
            "(a corrupt or incomplete download?)",
        )
    return load_hashed(path, sha, model_type, device)


def load_hashed(
    path: Path,
    sha256: str,
    model_type: ModelType | SamArch = "auto",
    device: str | torch.device | None = None,
) -> SamBackend:
    """``load_sam`` for a file whose SHA-256 the caller has just computed (see SamModels)."""
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # bad input: zip, pickle and storage errors all mean the same here
        raise SamError(
            path, f"is not a readable PyTorch checkpoint (truncated or corrupt: {type(e).__name__})"
        ) from e
    sd = _state_dict(path, obj)
    arch = _resolve_arch(path, sd, model_type)
    model = _build_loaded(path, arch, sd)
    dev = torch.device(device) if device is not None else default_device()
    return SamBackend(model.to(dev), model_id=f"{arch_name(arch)}-{sha256[:16]}", arch=arch)


class SamBackend:
    """One SAM model on one device, with at most one image (embedding) set at a time."""

    def __init__(self, model: Sam, *, model_id: str, arch: SamArch) -> None:
        self.model = model
        self.model_id = model_id
        self.arch = arch
        self.model_type = arch_name(arch)
        self.img_size = int(model.image_encoder.img_size)
        self._resize = ResizeLongestSide(self.img_size)
        with torch.inference_mode():
            self._image_pe = model.prompt_encoder.get_dense_pe()  # fixed per model
        self._embedding: Embedding | None = None
        self._src: torch.Tensor | None = None  # image embedding + the no-mask prompt
        self._side: ImageSide | None = None  # the decoder's prompt-independent projections

    @property
    def device(self) -> torch.device:
        return torch.device(self.model.device)

    @property
    def embedding(self) -> Embedding | None:
        return self._embedding

    # --- expensive: once per slice ---------------------------------------------------------

    def encode(self, rgb: npt.NDArray[np.uint8]) -> Embedding:
        """Run the image encoder on an (rows, cols, 3) uint8 RGB slice (see slice_to_rgb)."""
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError(f"encode needs (rows, cols, 3) uint8 RGB, got {rgb.dtype} {rgb.shape}")
        resized = self._resize.apply_image(rgb)
        with torch.inference_mode():
            x = torch.as_tensor(resized, device=self.device).permute(2, 0, 1)[None].float()
            feats = self.model.image_encoder(self.model.preprocess(x))
        return Embedding(
            features=feats.to("cpu", torch.float16).numpy(),
            original_size=(int(rgb.shape[0]), int(rgb.shape[1])),
            input_size=(int(resized.shape[0]), int(resized.shape[1])),
            model_id=self.model_id,
        )

    def set_embedding(self, embedding: Embedding) -> None:
        """Make ``embedding`` the image that ``predict`` segments."""
        if embedding.model_id != self.model_id:
            raise ValueError(f"embedding of {embedding.model_id}, backend is {self.model_id}")
        with torch.inference_mode():
            feats = torch.from_numpy(embedding.features).to(self.device, torch.float32)
            no_mask = self.model.prompt_encoder.no_mask_embed.weight.reshape(1, -1, 1, 1)
            self._src = feats + no_mask
            self._side = image_side(self.model.mask_decoder.transformer, self._src, self._image_pe)
        self._embedding = embedding

    def set_image(self, rgb: npt.NDArray[np.uint8]) -> Embedding:
        """encode + set_embedding; returns the embedding for the caller to cache."""
        emb = self.encode(rgb)
        self.set_embedding(emb)
        return emb

    # --- cheap: once per click -------------------------------------------------------------

    def features_tensor(self) -> torch.Tensor:
        """The current embedding as float32 (1, C, h, w) on the device (for peers and tests)."""
        if self._embedding is None:
            raise RuntimeError("no image set: call set_embedding or set_image first")
        return torch.from_numpy(self._embedding.features).to(self.device, torch.float32)

    def predict(
        self,
        points: Sequence[Sequence[float]] | npt.NDArray[np.floating[Any]] | None = None,
        labels: Sequence[int] | npt.NDArray[np.integer[Any]] | None = None,
        box: Sequence[float] | None = None,
        *,
        multimask: bool = True,
        mask_input: npt.NDArray[np.float32] | None = None,
    ) -> SamPrediction:
        """Segment the current slice from prompts in slice pixels.

        points: (N, 2) (row, col); labels: N values, 1 = object, 0 = background.
        box: (row0, col0, row1, col1). multimask: pick the best-scored of the model's
        candidate masks (better for a single click); otherwise its single mask.
        mask_input: a previous prediction's ``low_res_logits`` to refine.
        """
        emb, src = self._embedding, self._src
        if emb is None or src is None:
            raise RuntimeError("no image set: call set_embedding or set_image first")
        sy = emb.input_size[0] / emb.original_size[0]
        sx = emb.input_size[1] / emb.original_size[1]
        pts: tuple[torch.Tensor, torch.Tensor] | None = None
        if points is not None and len(points) > 0:
            p = np.asarray(points, dtype=np.float32).reshape(-1, 2)
            lab = np.asarray(labels if labels is not None else [], dtype=np.int64).reshape(-1)
            if lab.shape[0] != p.shape[0] or not np.isin(lab, (0, 1)).all():
                raise ValueError("predict needs one label, 0 or 1, per point")
            xy = np.stack([p[:, 1] * sx, p[:, 0] * sy], axis=1)
            pts = (
                torch.from_numpy(xy)[None].to(self.device),
                torch.from_numpy(lab)[None].to(self.device, torch.int32),
            )
        boxes: torch.Tensor | None = None
        if box is not None:
            r0, c0, r1, c1 = (float(v) for v in box)
            boxes = torch.tensor([[c0 * sx, r0 * sy, c1 * sx, r1 * sy]], device=self.device)
        if pts is None and boxes is None:
            raise ValueError("predict needs at least one point or a box")
        with torch.inference_mode():
            low, score, index = self._decode(pts, boxes, mask_input, src, multimask)
        low_np = low.to("cpu", torch.float32).numpy()
        mask = logits_to_mask(low_np, emb.input_size, emb.original_size, self.img_size)
        return SamPrediction(mask=mask, score=score, low_res_logits=low_np, mask_index=index)

    def _decode(
        self,
        pts: tuple[torch.Tensor, torch.Tensor] | None,
        boxes: torch.Tensor | None,
        mask_input: npt.NDArray[np.float32] | None,
        src: torch.Tensor,
        multimask: bool,
    ) -> tuple[torch.Tensor, float, int]:
        """The mask decoder for one prompt set, upscaling only the chosen mask token."""
        pe, dec = self.model.prompt_encoder, self.model.mask_decoder
        masks = None
        if mask_input is not None:
            masks = torch.as_tensor(mask_input, dtype=torch.float32, device=self.device)
            masks = masks.reshape(1, 1, *masks.shape[-2:])
        sparse, dense = pe(points=pts, boxes=boxes, masks=masks)
        if masks is not None:  # a mask prompt replaces the precomputed no-mask sum
            src = self.features_tensor() + dense
        tokens = torch.cat([dec.iou_token.weight, dec.mask_tokens.weight], dim=0)[None]
        tokens = torch.cat([tokens, sparse], dim=1)
        if masks is None and self._side is not None:
            hs, out = two_way_transformer(dec.transformer, self._side, tokens)
        else:
            hs, out = dec.transformer(src, self._image_pe, tokens)
        iou = dec.iou_prediction_head(hs[:, 0, :])[0]
        index = 1 + int(torch.argmax(iou[1:])) if multimask else 0
        _, c, h, w = src.shape
        grid = out.transpose(1, 2).reshape(1, c, h, w)
        # Each upscaled pixel depends on one grid cell only (2x2 stride-2 transposed convs,
        # per-pixel norm and activation), so the padding beyond the slice can be skipped.
        emb = self._embedding
        assert emb is not None
        patch = self.img_size // h
        # One cell more than the slice covers: the last rows' bilinear taps reach into it.
        gh = min(h, -(-emb.input_size[0] // patch) + 1)
        gw = min(w, -(-emb.input_size[1] // patch) + 1)
        up = dec.output_upscaling(grid[:, :, :gh, :gw])
        hyper = dec.output_hypernetworks_mlps[index](hs[:, 1 + index, :])
        low = (hyper @ up.flatten(2)).reshape(up.shape[-2], up.shape[-1])
        full = torch.full((4 * h, 4 * w), -20.0, device=low.device)  # padding: background
        full[: low.shape[0], : low.shape[1]] = low
        return full, float(iou[index]), index
