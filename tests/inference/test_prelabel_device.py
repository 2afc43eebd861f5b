"""Device choice and batch size from free memory."""

from __future__ import annotations

import pytest
import torch

from ndelab.inference.device import choose_batch_size, choose_device, configure_threads
from ndelab.volumes.errors import UsageError


def test_cpu_and_auto() -> None:
    assert choose_device("cpu").type == "cpu"
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert choose_device(None).type == expected


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU refusal")
def test_cuda_without_gpu_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="no CUDA GPU"):
        choose_device("cuda")


def test_bad_device_name() -> None:
    with pytest.raises(UsageError):
        choose_device("tpu")


def test_batch_size_follows_free_memory() -> None:
    cpu, gpu = torch.device("cpu"), torch.device("cuda")
    win = 64**3
    small = choose_batch_size(gpu, win, 16, free_bytes=2 * 2**30)
    big = choose_batch_size(gpu, win, 16, free_bytes=40 * 2**30)
    assert 1 <= small < big <= 32
    assert choose_batch_size(gpu, win, 16, free_bytes=1) == 1
    assert choose_batch_size(cpu, win, 16, free_bytes=100 * 2**30) == 4


def test_threads_are_at_least_one() -> None:
    assert configure_threads() >= 1 and torch.get_num_threads() >= 1
