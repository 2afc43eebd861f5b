from __future__ import annotations

import argparse
import json
import shlex
from pathlib import Path
from typing import Any

import pytest

from ndelab.cli import build_parser, main
from ndelab.cli.models import train_config
from ndelab.inference import training
from ndelab.inference.registry import builtin_models_dir
from ndelab.inference.training import TrainConfig


def test_models_list_shows_the_shipped_default(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    defaults = [r for r in rows if r["default"]]
    assert any(r["name"] == "ndelab-unet3d" for r in defaults)
    assert main(["models", "compare", "ndelab-unet3d", "ndelab-unet2d"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [m.split("@")[0] for m in out["models"]] == ["ndelab-unet3d", "ndelab-unet2d"]


def test_evaluate_refuses_training_seeds(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", "--seeds", "5-7", "--json"]) == 2
    assert "10000" in capsys.readouterr().err


def _train_args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["train", *argv])


def test_train_flags_map_to_the_config() -> None:
    assert train_config(_train_args("--out", "m")) == TrainConfig()
    assert train_config(_train_args("--out", "m", "--dims", "2")) == TrainConfig(dims=2, crop=64)
    config = train_config(
        _train_args(
            *("--out", "m", "--dims", "3", "--seed", "7", "--epochs", "2"),
            *("--steps-per-epoch", "3", "--batch", "4", "--crop", "16"),
            *("--no-balance", "--no-surface-negatives"),
        )
    )
    assert config == TrainConfig(
        dims=3,
        seed=7,
        epochs=2,
        steps_per_epoch=3,
        batch=4,
        crop=16,
        balance=False,
        surface_negatives=False,
    )


def test_train_runs_the_recipe_with_that_config(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seen: dict[str, object] = {}

    def fake_train_default(out_dir: Path, config: TrainConfig, **kwargs: object) -> dict[str, Any]:
        seen.update(out_dir=out_dir, config=config, **kwargs)
        return {"held_out": {"recall_by_diameter_vox": {"2-3.5": 0.5}, "precision": 0.9}}

    monkeypatch.setattr(training, "train_default", fake_train_default)
    out = tmp_path / "m"
    argv = ["train", "--out", str(out), "--epochs", "1", "--steps-per-epoch", "1"]
    assert main([*argv, "--batch", "2", "--not-default"]) == 0
    assert seen["out_dir"] == out and seen["make_default"] is False
    assert seen["config"] == TrainConfig(epochs=1, steps_per_epoch=1, batch=2)
    assert json.loads(capsys.readouterr().out)["precision"] == 0.9


def test_train_refuses_bad_settings_with_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--out", "m", "--epochs", "0"]) == 2
    assert "epochs must be at least 1" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["ndelab-unet3d", "ndelab-unet2d"])
def test_shipped_cards_reproduce_command_parses_to_their_record(name: str) -> None:
    folder = builtin_models_dir() / name
    entry = json.loads((folder / "model.json").read_text(encoding="utf-8"))
    card = (folder / "README.md").read_text(encoding="utf-8").splitlines()
    (command,) = [line for line in card if line.startswith(".venv/bin/ndelab train ")]
    args = _train_args(*shlex.split(command)[2:])
    assert train_config(args) == TrainConfig.from_json(entry["training"])
    # The flag the training ran with: a version served later may have taken the default.
    assert args.not_default is not entry.get("trained_as_default", entry["default"])
    assert args.out == f"resources/models/{name}" and args.dataset is None
