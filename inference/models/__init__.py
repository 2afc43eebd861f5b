"""Network definitions and the builder registry (a dict of builders, as segment-anything has)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

from ndelab.inference.models.unet import UNet

Builder = Callable[..., nn.Module]


def _unet3d(**params: Any) -> nn.Module:
    return UNet(dims=3, **params)


def _unet2d(**params: Any) -> nn.Module:
    return UNet(dims=2, **params)


BUILDERS: dict[str, Builder] = {"unet3d": _unet3d, "unet2d": _unet2d}

__all__ = ["BUILDERS", "Builder", "UNet"]
