"""A compact U-Net for 2D or 3D defect segmentation.

Small on purpose: it must train on a 2-core CPU in minutes and still see 2-voxel pores, so
the first level keeps full resolution and the depth stays shallow (receptive field ~40 voxels).
Batch norm, not instance norm: in eval mode it is a fixed affine map, so a sliding window of
any size gives the same answer as the training crops' statistics would.
"""

from __future__ import annotations

import torch
from torch import nn


def _block(dims: int, cin: int, cout: int) -> nn.Sequential:
    conv = nn.Conv3d if dims == 3 else nn.Conv2d
    norm = nn.BatchNorm3d if dims == 3 else nn.BatchNorm2d
    return nn.Sequential(
        conv(cin, cout, 3, padding=1, bias=False),
        norm(cout),
        nn.LeakyReLU(0.01, inplace=True),
        conv(cout, cout, 3, padding=1, bias=False),
        norm(cout),
        nn.LeakyReLU(0.01, inplace=True),
    )


class UNet(nn.Module):
    """Encoder-decoder with skip connections; input sides must be multiples of 2**levels.

    Returns class logits (N, classes, *spatial).
    """

    def __init__(
        self,
        *,
        dims: int = 3,
        in_channels: int = 1,
        classes: int = 4,
        base: int = 12,
        levels: int = 2,
    ) -> None:
        super().__init__()
        if dims not in (2, 3):
            raise ValueError(f"UNet dims must be 2 or 3, got {dims}")
        self.dims = dims
        self.levels = levels
        widths = [base * 2**i for i in range(levels + 1)]
        self.down = nn.ModuleList()
        cin = in_channels
        for w in widths:
            self.down.append(_block(dims, cin, w))
            cin = w
        pool = nn.MaxPool3d if dims == 3 else nn.MaxPool2d
        self.pool = pool(2)
        upconv = nn.ConvTranspose3d if dims == 3 else nn.ConvTranspose2d
        self.up = nn.ModuleList()
        self.merge = nn.ModuleList()
        for w_hi, w_lo in zip(reversed(widths[1:]), reversed(widths[:-1]), strict=True):
            self.up.append(upconv(w_hi, w_lo, 2, stride=2))
            self.merge.append(_block(dims, 2 * w_lo, w_lo))
        head = nn.Conv3d if dims == 3 else nn.Conv2d
        self.head = head(widths[0], classes, 1)

    @property
    def multiple(self) -> int:
        """Spatial sides must be divisible by this."""
        return int(2**self.levels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips: list[torch.Tensor] = []
        for i, block in enumerate(self.down):
            x = block(x)
            if i < self.levels:
                skips.append(x)
                x = self.pool(x)
        for up, merge in zip(self.up, self.merge, strict=True):
            x = up(x)
            x = merge(torch.cat([x, skips.pop()], dim=1))
        out: torch.Tensor = self.head(x)
        return out
