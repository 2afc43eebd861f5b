"""A tiny SAM for tests and quick benchmarks: same classes, toy sizes, random weights.

Saved as an ordinary state dict, it goes through the real loader (``load_sam(path, "auto")``
reads the architecture off the shapes). Never used for real segmentation.
"""

from __future__ import annotations

from pathlib import Path

import torch

from .arch import SamArch, build_model

TINY = SamArch(
    encoder_embed_dim=32,
    encoder_depth=2,
    encoder_num_heads=2,
    encoder_global_attn_indexes=(1,),
    img_size=128,
    patch_size=16,
    window_size=4,
    prompt_embed_dim=32,
    decoder_mlp_dim=64,
    decoder_num_heads=8,
    iou_head_hidden_dim=32,
)


def save_tiny_checkpoint(path: str | Path, seed: int = 0, arch: SamArch = TINY) -> Path:
    """Write a randomly initialised (seeded) tiny SAM's state dict to ``path``."""
    gen_state = torch.random.get_rng_state()
    try:
        torch.manual_seed(seed)
        model = build_model(arch)
    finally:
        torch.random.set_rng_state(gen_state)
    out = Path(path)
    torch.save(model.state_dict(), out)
    return out
