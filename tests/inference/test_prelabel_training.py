"""Training: crops come from phantoms, and a tiny network's loss goes down in a few steps."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ndelab.inference.models import BUILDERS
from ndelab.inference.training import (
    CropSampler,
    dice_ce_loss,
    random_ct_params,
    reliability,
    train_network,
    train_weights,
)
from ndelab.volumes.errors import UsageError
from ndelab.volumes.phantom import Phantom, make_ct_phantom


def _small(seed: int, rng: np.random.Generator) -> Phantom:
    return make_ct_phantom(48, seed=seed, part="cylinder", n_pores=12)


def test_sampler_gives_labelled_crops_around_defects() -> None:
    sampler = CropSampler([1, 2], crop=16, p_defect=1.0, p_part=0.0, make=_small)
    images, targets = sampler.batch(6)
    assert images.shape == (6, 1, 16, 16, 16) and images.dtype == torch.float32
    assert targets.shape == (6, 16, 16, 16) and targets.dtype == torch.int64
    assert int(targets.max()) >= 1  # crops centred on defects contain some
    assert 0.5 < float(images.max()) < 5.0  # normalised: material near 1


def test_tiny_network_loss_decreases() -> None:
    torch.manual_seed(0)
    net = BUILDERS["unet3d"](base=4, levels=1)
    sampler = CropSampler([3], crop=16, pool=1, refresh_every=10**6, rng_seed=1, make=_small)
    fixed_x, fixed_y = sampler.batch(4)

    def held_loss() -> float:
        net.eval()
        with torch.no_grad():
            return float(dice_ce_loss(net(fixed_x), fixed_y))

    before = held_loss()
    losses = train_network(net, sampler, steps=15, batch=4, lr=1e-2)
    after = held_loss()
    assert len(losses) == 15 and all(np.isfinite(losses))
    assert after < before * 0.9
    assert np.mean(losses[-5:]) < np.mean(losses[:5])


def test_training_refuses_held_out_seeds(tmp_path: object) -> None:
    from pathlib import Path

    with pytest.raises(UsageError, match="below 1000"):
        train_weights(Path(str(tmp_path)), seeds=[5, 10001], epochs=1, steps_per_epoch=1)


def test_random_params_stay_in_the_training_ranges() -> None:
    rng = np.random.default_rng(0)
    for _ in range(50):
        p = random_ct_params(rng)
        assert 96 <= p["size"] <= 160 and 0.5 <= p["noise"] <= 1.8


def test_reliability_of_perfect_scores() -> None:
    r = reliability([1.0, 1.0, 0.0, 0.0], [True, True, False, False])
    assert r["brier"] == 0.0 and r["ece"] == 0.0
    worst = reliability([1.0, 0.0], [False, True])
    assert worst["brier"] == 1.0
