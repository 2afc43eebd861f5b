"""The decoder with its first image projections cached per image equals segment_anything's."""

from __future__ import annotations

import pytest
import torch

from ndelab.inference.sam.arch import build_model
from ndelab.inference.sam.decoder_cache import image_side, two_way_transformer
from ndelab.inference.sam.testing import TINY


@pytest.mark.parametrize("n_prompt_tokens", [1, 2, 4])
def test_cached_projections_give_the_same_decoder_output(n_prompt_tokens: int) -> None:
    torch.manual_seed(3)
    model = build_model(TINY).eval()
    dec = model.mask_decoder
    with torch.inference_mode():
        pe = model.prompt_encoder.get_dense_pe()
        src = torch.randn(1, pe.shape[1], pe.shape[2], pe.shape[3])
        side = image_side(dec.transformer, src, pe)
        for trial in range(3):  # the cache serves every click on the image
            tokens = torch.randn(1, 1 + dec.num_mask_tokens + n_prompt_tokens, pe.shape[1])
            want_q, want_k = dec.transformer(src, pe, tokens)
            got_q, got_k = two_way_transformer(dec.transformer, side, tokens)
            torch.testing.assert_close(got_q, want_q, rtol=1e-4, atol=1e-5, msg=str(trial))
            torch.testing.assert_close(got_k, want_k, rtol=1e-4, atol=1e-5, msg=str(trial))


def test_another_image_needs_its_own_side() -> None:
    torch.manual_seed(4)
    model = build_model(TINY).eval()
    t = model.mask_decoder.transformer
    with torch.inference_mode():
        pe = model.prompt_encoder.get_dense_pe()
        a, b = torch.randn(2, 1, *pe.shape[1:]).unbind(0)
        tokens = torch.randn(1, 7, pe.shape[1])
        from_a = two_way_transformer(t, image_side(t, a, pe), tokens)[0]
        want_b = t(b, pe, tokens)[0]
    assert not torch.allclose(from_a, want_b, atol=1e-3)  # the cache is not image-free
