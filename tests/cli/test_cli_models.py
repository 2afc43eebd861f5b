from __future__ import annotations

import json

import pytest

from ndelab.cli import main


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
