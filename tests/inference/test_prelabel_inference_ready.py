"""The inference copy of a U-Net (batch norm folded, channels-last) computes the same logits."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ndelab.inference.models.inference_ready import for_inference, memory_format
from ndelab.inference.models.unet import UNet


def _trained_like(dims: int) -> UNet:
    """A U-Net whose batch norms hold non-trivial statistics, as after training."""
    torch.manual_seed(dims)
    net = UNet(dims=dims, classes=4, base=6, levels=2)
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d | nn.BatchNorm3d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    return net.eval()


@pytest.mark.parametrize("dims", [2, 3])
def test_same_logits_no_batch_norm_left_and_the_original_untouched(dims: int) -> None:
    net = _trained_like(dims)
    cpu = torch.device("cpu")
    ready = for_inference(net, cpu)
    norms = (nn.BatchNorm2d, nn.BatchNorm3d)
    assert not any(isinstance(m, norms) for m in ready.modules())
    assert any(isinstance(m, norms) for m in net.modules())  # the caller's net is unchanged
    shape = (2, 1, 16, 16) if dims == 2 else (2, 1, 16, 16, 16)
    x = torch.randn(shape)
    layout = memory_format(ready, cpu)
    assert layout == (torch.channels_last if dims == 2 else torch.channels_last_3d)
    with torch.inference_mode():
        want = net(x)
        got = ready(x.contiguous(memory_format=layout))
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)


def test_no_layout_change_off_the_cpu() -> None:
    assert memory_format(_trained_like(3), torch.device("meta")) is None


def test_a_batch_norm_without_running_statistics_is_left_alone() -> None:
    net = nn.Sequential(
        nn.Conv3d(1, 2, 3, padding=1, bias=False), nn.BatchNorm3d(2, track_running_stats=False)
    ).eval()
    ready = for_inference(net, torch.device("cpu"))
    assert isinstance(ready[1], nn.BatchNorm3d)  # it normalises each batch: no fixed map
    x = torch.randn(2, 1, 6, 6, 6)
    with torch.inference_mode():
        layout = memory_format(ready, torch.device("cpu"))
        torch.testing.assert_close(ready(x.contiguous(memory_format=layout)), net(x))
