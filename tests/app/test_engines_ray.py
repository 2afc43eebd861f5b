"""The Ray engine on a local Ray runtime (one for the whole run: the ray_session fixture):
the same scans and model give the same stored calls as the local engine; Ray Train trains
the phantom recipe's network to a checkpoint on the storage path."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest
from line_scans import stored_calls, write_scans

from ndelab.annotation.store import open_store
from ndelab.app.engines import LocalEngine, prelabel_batch
from ndelab.app.engines.ray_engine import RayEngine
from ndelab.cli import main

pytestmark = [pytest.mark.xdist_group("ray"), pytest.mark.slow]


def test_ray_stores_the_calls_the_local_engine_stores(
    tmp_path: Path, ray_session: object, capsys: pytest.CaptureFixture[str]
) -> None:
    scans = write_scans(tmp_path / "line", ct=3, xray=1, size=40)
    (tmp_path / "line" / "broken.nrrd").write_bytes(b"NRRD0004\nbroken header")
    results = {}
    # One thread per replica on both sides, so that float sums run in the same order.
    for engine in (LocalEngine(workers=2), RayEngine(workers=2, cpus_per_worker=1)):
        with open_store(tmp_path / f"{engine.name}.db") as store, contextlib.closing(engine):
            rows = prelabel_batch(store, [tmp_path / "line"], engine, user="bot")
            assert sorted(r["status"] for r in rows) == ["failed"] + ["prelabelled"] * 4
            results[engine.name] = stored_calls(store)
    assert len(results["local"]) == len(scans)
    assert all(results["local"].values())
    assert results["ray"] == results["local"]

    # The command line: --engine ray joins the running runtime; the scans are known already.
    db = str(tmp_path / "ray.db")
    argv = ["prelabel", str(tmp_path / "line"), "--db", db, "--engine", "ray", "--json"]
    capsys.readouterr()
    assert main(argv) == 2  # the broken file, named on stderr
    captured = capsys.readouterr()
    assert "broken.nrrd" in captured.err
    statuses = sorted(json.loads(x)["status"] for x in captured.out.splitlines())
    assert statuses == ["duplicate"] * 4 + ["failed"]


def test_ray_train_checkpoints_the_network(tmp_path: Path, ray_session: object) -> None:
    import torch

    from ndelab.inference.models import BUILDERS
    from ndelab.inference.training import TrainConfig

    config = TrainConfig(epochs=1, steps_per_epoch=2, batch=2, crop=16, seeds=range(0, 2))
    engine = RayEngine(storage_path=tmp_path / "ray-storage")
    record = engine.train(tmp_path / "model", config)
    assert record["engine"] == "ray" and record["workers"] == 1
    assert record["storage_path"] == str((tmp_path / "ray-storage").resolve())
    assert len(record["loss_per_epoch"]) == 1 and record["parameters"] > 0
    state = torch.load(tmp_path / "model" / "weights.pt", weights_only=True)
    BUILDERS["unet3d"](**config.arch).load_state_dict(state)  # a whole, loadable network
    assert any((tmp_path / "ray-storage").rglob("checkpoint_*")), "checkpointed on the path"
