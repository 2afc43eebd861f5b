"""A retraining round: review a phantom, export it, fine-tune, register, compare."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ndelab.cli import main


def _json(capsys: pytest.CaptureFixture[str], *argv: str) -> object:
    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


def test_retraining_round_registers_a_new_version(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "review.db")
    for i, seed in enumerate((10011, 10012, 10013, 10014)):
        assert main(["phantom", str(tmp_path / f"p{i}"), "--seed", str(seed), "--size", "64"]) == 0
        capsys.readouterr()
        out = _json(
            capsys,
            "prelabel",
            str(tmp_path / f"p{i}" / "volume.nrrd"),
            "--db",
            db,
            "--model",
            "classical-baseline",
            "--user",
            "bot",
            "--json",
        )
        assert isinstance(out, dict)
        for call in out["calls"]:
            _json(capsys, "review", "--db", db, call["id"], "--accept", "--user", "ana", "--json")
    summary = _json(
        capsys,
        "export",
        "--db",
        db,
        "--format",
        "hdf5",
        "--out",
        str(tmp_path / "dataset"),
        "--val-fraction",
        "0.5",
        "--json",
    )
    assert isinstance(summary, dict) and summary["splits"]["val"]["scans"] >= 1
    result = _json(
        capsys,
        "train",
        "--dataset",
        str(tmp_path / "dataset"),
        "--steps",
        "2",
        "--batch",
        "2",
        "--version",
        "1.0.0+test",
        "--json",
    )
    assert isinstance(result, dict)
    assert result["registered"].endswith("@1.0.0+test")
    assert result["default_unchanged"] and result["default"] == result["base"]
    assert {"recall", "precision"} <= set(result["new"]) and result["current"]["defects"] > 0
    models = _json(capsys, "models", "list", "--json")
    assert isinstance(models, list)
    assert any(m["version"] == "1.0.0+test" and not m["default"] for m in models)
    compared = _json(capsys, "models", "compare", result["base"], result["registered"])
    assert isinstance(compared, dict) and len(compared["held_out"]) == 2
