"""SAM architectures: the three published ViT sizes, and reading one off a state dict's shapes.

Everything but the mask decoder's head count shows in the tensor shapes, so ``infer_arch``
rebuilds any SAM-shaped checkpoint (the tests' tiny one included) without a config file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import torch
from segment_anything.modeling import (
    ImageEncoderViT,
    MaskDecoder,
    PromptEncoder,
    Sam,
    TwoWayTransformer,
)


@dataclass(frozen=True)
class SamArch:
    """The hyper-parameters that fix a SAM model's tensor shapes."""

    encoder_embed_dim: int
    encoder_depth: int
    encoder_num_heads: int
    encoder_global_attn_indexes: tuple[int, ...]
    img_size: int = 1024
    patch_size: int = 16
    window_size: int = 14
    prompt_embed_dim: int = 256
    mask_in_chans: int = 16
    decoder_depth: int = 2
    decoder_mlp_dim: int = 2048
    decoder_num_heads: int = 8
    num_multimask_outputs: int = 3
    iou_head_depth: int = 3
    iou_head_hidden_dim: int = 256

    @property
    def embedding_size(self) -> int:
        """Side of the image embedding grid (64 for the published models)."""
        return self.img_size // self.patch_size


ARCHS: dict[str, SamArch] = {
    "vit_b": SamArch(768, 12, 12, (2, 5, 8, 11)),
    "vit_l": SamArch(1024, 24, 16, (5, 11, 17, 23)),
    "vit_h": SamArch(1280, 32, 16, (7, 15, 23, 31)),
}


def arch_name(arch: SamArch) -> str:
    """``vit_b``/``vit_l``/``vit_h`` for a published architecture, else a descriptive name."""
    for name, known in ARCHS.items():
        if known == arch:
            return name
    return f"custom_d{arch.encoder_embed_dim}x{arch.encoder_depth}_i{arch.img_size}"


def _shape(sd: Mapping[str, Any], key: str) -> tuple[int, ...]:
    value = sd.get(key)
    if not isinstance(value, torch.Tensor):
        raise KeyError(key)
    return tuple(int(s) for s in value.shape)


def _count(sd: Mapping[str, Any], pattern: str) -> int:
    rx = re.compile(pattern)
    found = {int(m.group(1)) for k in sd if (m := rx.match(k))}
    if found != set(range(len(found))):
        raise KeyError(pattern)
    return len(found)


def infer_arch(sd: Mapping[str, Any]) -> SamArch:
    """Read a SAM architecture off a state dict; KeyError names the first missing tensor."""
    embed, _, patch, _ = _shape(sd, "image_encoder.patch_embed.proj.weight")
    grid = _shape(sd, "image_encoder.pos_embed")[1]
    depth = _count(sd, r"image_encoder\.blocks\.(\d+)\.")
    global_idx: list[int] = []
    window = 0
    head_dim = 0
    for i in range(depth):
        span, head_dim = _shape(sd, f"image_encoder.blocks.{i}.attn.rel_pos_h")
        side = (span + 1) // 2
        if side == grid:
            global_idx.append(i)
        else:
            window = side
    prompt_dim = _shape(sd, "image_encoder.neck.0.weight")[0]
    return SamArch(
        encoder_embed_dim=embed,
        encoder_depth=depth,
        encoder_num_heads=embed // head_dim,
        encoder_global_attn_indexes=tuple(global_idx),
        img_size=grid * patch,
        patch_size=patch,
        window_size=window,
        prompt_embed_dim=prompt_dim,
        mask_in_chans=_shape(sd, "prompt_encoder.mask_downscaling.3.weight")[0],
        decoder_depth=_count(sd, r"mask_decoder\.transformer\.layers\.(\d+)\."),
        decoder_mlp_dim=_shape(sd, "mask_decoder.transformer.layers.0.mlp.lin1.weight")[0],
        num_multimask_outputs=_shape(sd, "mask_decoder.mask_tokens.weight")[0] - 1,
        iou_head_depth=_count(sd, r"mask_decoder\.iou_prediction_head\.layers\.(\d+)\."),
        iou_head_hidden_dim=_shape(sd, "mask_decoder.iou_prediction_head.layers.0.weight")[0],
    )


def build_model(arch: SamArch) -> Sam:
    """A SAM module of ``arch`` with untrained weights, in eval mode, on the CPU."""
    grid = arch.embedding_size
    dim = arch.prompt_embed_dim
    model = Sam(
        image_encoder=ImageEncoderViT(
            depth=arch.encoder_depth,
            embed_dim=arch.encoder_embed_dim,
            img_size=arch.img_size,
            mlp_ratio=4,
            norm_layer=partial(torch.nn.LayerNorm, eps=1e-6),
            num_heads=arch.encoder_num_heads,
            patch_size=arch.patch_size,
            qkv_bias=True,
            use_rel_pos=True,
            global_attn_indexes=arch.encoder_global_attn_indexes,
            window_size=arch.window_size,
            out_chans=dim,
        ),
        prompt_encoder=PromptEncoder(
            embed_dim=dim,
            image_embedding_size=(grid, grid),
            input_image_size=(arch.img_size, arch.img_size),
            mask_in_chans=arch.mask_in_chans,
        ),
        mask_decoder=MaskDecoder(
            num_multimask_outputs=arch.num_multimask_outputs,
            transformer=TwoWayTransformer(
                depth=arch.decoder_depth,
                embedding_dim=dim,
                mlp_dim=arch.decoder_mlp_dim,
                num_heads=arch.decoder_num_heads,
            ),
            transformer_dim=dim,
            iou_head_depth=arch.iou_head_depth,
            iou_head_hidden_dim=arch.iou_head_hidden_dim,
        ),
    )
    return model.eval()
