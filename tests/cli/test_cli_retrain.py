"""A retraining round: review phantoms, export them, fine-tune, register, and compare the two
versions on the frozen test set (human truth), not on the accepted calls."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from scripted_review import scripted_review

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
        if i < 2:  # reviewed by accepting every call: training data, no human truth
            for call in out["calls"]:
                _json(
                    capsys, "review", "--db", db, call["id"], "--accept", "--user", "ana", "--json"
                )
        else:  # an engineer who corrects, rejects and draws the misses: the frozen set
            scripted_review(db, seed, 64)
    frozen = _json(
        capsys, "models", "frozen-set", "create", "--db", db, "--out", str(tmp_path / "frozen"),
        "--json",
    )  # fmt: skip
    assert isinstance(frozen, dict) and len(frozen["scans"]) >= 1
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
        "--frozen",
        str(tmp_path / "frozen"),
        "--json",
    )
    assert isinstance(result, dict)
    assert result["registered"].endswith("@1.0.0+test")
    assert result["default_unchanged"] and result["default"] == result["base"]
    assert result["compared_on"] == "frozen set"
    assert result["frozen_set"]["sha256"] == frozen["sha256"]
    assert {"recall", "precision", "false_calls_per_scan"} <= set(result["new"])
    assert result["current"]["frozen_set"]["labels"] > 0
    # The old figure is kept only under its name: on accepted calls it flatters the model.
    assert "1.0 by construction" in result["val_accepted_calls_biased"]["note"]
    # Both scores went into the cards.
    card = _json(capsys, "models", "show", result["registered"], "--json")
    assert isinstance(card, dict) and card["frozen_sets"][0]["recall"] == result["new"]["recall"]
    assert card["recipe"]["kind"] == "fine-tuned"
    models = _json(capsys, "models", "list", "--json")
    assert isinstance(models, list)
    assert any(m["version"] == "1.0.0+test" and not m["default"] for m in models)
    compared = _json(capsys, "models", "compare", result["base"], result["registered"])
    assert isinstance(compared, dict) and len(compared["held_out"]) == 2
