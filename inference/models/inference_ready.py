"""An inference copy of a segmentation network: batch norm folded into the convolution before
it, and channels-last memory on the CPU.

In eval mode a batch norm is a fixed per-channel affine map, so it folds exactly into the
preceding bias-free convolution's weights and bias (one pass over the activations fewer).
oneDNN's CPU convolutions run about twice as fast on channels-last (N, D, H, W, C) data as
on the default layout for these small 3D U-Nets (measured: 0.41 s -> 0.19 s for a batch of
two 64³ windows on two cores). The caller's network is left untouched.
"""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval


def _foldable(layer: nn.Module, nxt: nn.Module | None) -> bool:
    """A convolution followed by its batch norm, one that keeps running statistics (without
    them a batch norm normalises each batch by itself and is no fixed map)."""
    pair = (isinstance(layer, nn.Conv3d) and isinstance(nxt, nn.BatchNorm3d)) or (
        isinstance(layer, nn.Conv2d) and isinstance(nxt, nn.BatchNorm2d)
    )
    return pair and getattr(nxt, "running_mean", None) is not None


def _fold(seq: nn.Sequential) -> None:
    layers = list(seq)
    folded: list[nn.Module] = []
    i = 0
    while i < len(layers):
        nxt = layers[i + 1] if i + 1 < len(layers) else None
        if _foldable(layers[i], nxt):
            folded.append(fuse_conv_bn_eval(layers[i], nxt))  # type: ignore[arg-type,type-var]
            i += 2
        else:
            folded.append(layers[i])
            i += 1
    for name in list(seq._modules):
        del seq._modules[name]
    for k, layer in enumerate(folded):
        seq.add_module(str(k), layer)


def memory_format(net: nn.Module, device: torch.device) -> torch.memory_format | None:
    """The input layout the inference copy wants (None: the default)."""
    if device.type != "cpu":
        return None
    return torch.channels_last if getattr(net, "dims", 3) == 2 else torch.channels_last_3d


def for_inference(net: nn.Module, device: torch.device) -> nn.Module:
    """An eval-mode copy of ``net`` with batch norms folded, laid out for ``device``."""
    ready = copy.deepcopy(net).eval()
    for module in list(ready.modules()):
        if isinstance(module, nn.Sequential):
            _fold(module)
    fmt = memory_format(ready, device)
    if fmt is not None:
        ready = ready.to(memory_format=fmt)
    return ready
