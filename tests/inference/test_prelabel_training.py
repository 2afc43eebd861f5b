"""Training: crops come from phantoms, and a tiny network's loss goes down in a few steps."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from ndelab.inference.models import BUILDERS
from ndelab.inference.registry import builtin_models_dir
from ndelab.inference.training import (
    DEFAULT_ARCH_2D,
    CropSampler,
    TrainConfig,
    dice_ce_loss,
    random_ct_params,
    reliability,
    reproduce_command,
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


def test_training_refuses_held_out_seeds(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="below 1000"):
        train_weights(tmp_path, TrainConfig(seeds=[5, 10001], epochs=1, steps_per_epoch=1))
    assert not (tmp_path / "weights.pt").exists()


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"dims": 4}, "dims must be 2 or 3"),
        ({"epochs": 0}, "epochs must be at least 1"),
        ({"batch": -1}, "batch must be at least 1"),
        ({"crop": -8}, "crop must be positive"),
        ({"seeds": []}, "at least one phantom seed"),
    ],
)
def test_config_refuses_bad_settings_in_one_sentence(kwargs: dict[str, object], words: str) -> None:
    with pytest.raises(UsageError, match=words):
        TrainConfig(**kwargs)  # type: ignore[arg-type]


def test_config_takes_the_defaults_of_its_dims() -> None:
    ct, xray = TrainConfig(), TrainConfig(dims=2)
    assert (ct.crop, ct.arch["levels"], ct.surface_negatives, ct.steps) == (32, 2, True, 600)
    assert (xray.crop, dict(xray.arch), xray.surface_negatives) == (64, DEFAULT_ARCH_2D, False)
    assert ct.crop_fractions == (0.5, 0.2, 0.2)
    assert TrainConfig(surface_negatives=False).crop_fractions == (0.6, 0.0, 0.3)
    assert TrainConfig(dims=3, crop=48).crop == 48
    assert TrainConfig(seeds=[2, 3, 4]) == TrainConfig(seeds=range(2, 5))
    assert TrainConfig(seeds=[4, 2]).seeds == (4, 2)


def test_config_round_trips_through_the_training_record() -> None:
    config = TrainConfig(dims=2, seed=3, epochs=2, batch=4, balance=False, seeds=range(5, 20))
    record = config.to_json()
    assert record["seeds"] == [5, 19] and record["class_balanced_defect_crops"] is False
    assert TrainConfig.from_json(json.loads(json.dumps(record))) == config


@pytest.mark.parametrize("name", ["ndelab-unet3d", "ndelab-unet2d"])
def test_shipped_cards_show_the_command_their_record_gives(name: str) -> None:
    folder = builtin_models_dir() / name
    entry = json.loads((folder / "model.json").read_text(encoding="utf-8"))
    config = TrainConfig.from_json(entry["training"])
    # The settings of the record are what the config writes back (older records lack keys).
    assert {k: v for k, v in config.to_json().items() if k in entry["training"]} == {
        k: entry["training"][k] for k in config.to_json() if k in entry["training"]
    }
    trained_as_default = entry.get("trained_as_default", entry["default"])
    command = reproduce_command(folder, config, make_default=trained_as_default)
    assert command.startswith(".venv/bin/ndelab train --out resources/models/" + name + " ")
    assert command in (folder / "README.md").read_text(encoding="utf-8").splitlines()


def test_reproduce_command_falls_back_to_python_for_settings_without_a_flag() -> None:
    config = TrainConfig(lr=1e-3, seeds=range(0, 10))
    command = reproduce_command(Path("out"), config, make_default=False)
    assert command.startswith(".venv/bin/python -c ") and "make_default=False" in command
    shown = command.split("train_default(Path('resources/models/out'), ", 1)[1]
    shown = shown.rsplit(", make_default=False)", 1)[0]
    assert eval(shown, {"TrainConfig": TrainConfig}) == config


def test_train_weights_records_its_config(tmp_path: Path) -> None:
    arch = {"base": 4, "levels": 1, "classes": 4, "in_channels": 1}
    config = TrainConfig(epochs=2, steps_per_epoch=1, batch=2, crop=16, seeds=[1], arch=arch)
    record = train_weights(tmp_path, config)
    assert (tmp_path / "weights.pt").is_file()
    assert list(record)[: len(config.to_json())] == list(config.to_json())
    assert TrainConfig.from_json(record) == config
    assert len(record["loss_per_epoch"]) == 2 and record["phantoms_generated"] >= 2


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
