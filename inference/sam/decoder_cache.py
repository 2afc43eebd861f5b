"""The prompt-independent part of SAM's mask decoder, computed once per image.

SAM's two-way transformer starts with the image tokens (embedding + no-mask prompt) and their
positional encoding. Its first block projects them three times before any prompt touches them:
the keys and values the prompt tokens attend to, and the queries of the image-to-token
attention. Those three (4096 x 256 -> 128 linear maps, a third of the decoder's work per click)
are the same for every click on a slice, so ``image_side`` computes them once and
``two_way_transformer`` runs the rest with the same math as segment_anything's
TwoWayTransformer (its attention through PyTorch's fused kernel: equal up to rounding).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from segment_anything.modeling.transformer import Attention, TwoWayTransformer
from torch.nn.functional import scaled_dot_product_attention


@dataclass(frozen=True)
class ImageSide:
    keys: torch.Tensor  # (1, HW, C): image embedding + no-mask prompt, as tokens
    pe: torch.Tensor  # (1, HW, C): dense positional encoding, as tokens
    k0: torch.Tensor  # first block, token->image attention: projected keys
    v0: torch.Tensor  # ... and values
    q0: torch.Tensor  # first block, image->token attention: projected queries


def image_side(t: TwoWayTransformer, src: torch.Tensor, image_pe: torch.Tensor) -> ImageSide:
    """The first block's image projections for ``src`` (1, C, h, w) and ``image_pe``."""
    keys = src.flatten(2).permute(0, 2, 1)
    pe = image_pe.flatten(2).permute(0, 2, 1)
    first = t.layers[0]
    keyed = keys + pe
    return ImageSide(
        keys=keys,
        pe=pe,
        k0=first.cross_attn_token_to_image.k_proj(keyed),
        v0=first.cross_attn_token_to_image.v_proj(keys),
        q0=first.cross_attn_image_to_token.q_proj(keyed),
    )


def _attend(a: Attention, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Attention.forward after its input projections (q, k, v already projected)."""
    q, k, v = (a._separate_heads(x, a.num_heads) for x in (q, k, v))
    out: torch.Tensor = a.out_proj(a._recombine_heads(scaled_dot_product_attention(q, k, v)))
    return out


def two_way_transformer(
    t: TwoWayTransformer, side: ImageSide, tokens: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """TwoWayTransformer.forward(src, image_pe, tokens) with the first block's image
    projections taken from ``side``. Returns (queries, keys) like the original."""
    queries, keys, pe = tokens, side.keys, side.pe
    for i, layer in enumerate(t.layers):
        if layer.skip_first_layer_pe:
            queries = layer.self_attn(q=queries, k=queries, v=queries)
        else:
            q = queries + tokens
            queries = queries + layer.self_attn(q=q, k=q, v=queries)
        queries = layer.norm1(queries)

        cross = layer.cross_attn_token_to_image
        q = cross.q_proj(queries + tokens)
        if i == 0:
            k, v = side.k0, side.v0
        else:
            k, v = cross.k_proj(keys + pe), cross.v_proj(keys)
        queries = layer.norm2(queries + _attend(cross, q, k, v))
        queries = layer.norm3(queries + layer.mlp(queries))

        back = layer.cross_attn_image_to_token
        q = side.q0 if i == 0 else back.q_proj(keys + pe)
        toks = queries + tokens
        keys = layer.norm4(keys + _attend(back, q, back.k_proj(toks), back.v_proj(queries)))

    final = t.final_attn_token_to_image
    q = final.q_proj(queries + tokens)
    out = _attend(final, q, final.k_proj(keys + pe), final.v_proj(keys))
    return t.norm_final_attn(queries + out), keys
