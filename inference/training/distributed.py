"""The phantom training run on Ray Train: TorchTrainer with one loop per worker (DDP when
there are several), the weights checkpointed to a storage path every node can reach.

Each worker draws its own crops (crop seed + rank) and DDP averages the gradients, so ``n``
workers see ``n`` times the crops per step of ``train_weights``. ``train_weights_ray``
returns the same training record as ``train_weights``; finalize_model takes it from there.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ndelab.inference.device import configure_threads
from ndelab.inference.models import BUILDERS
from ndelab.inference.training.config import TrainConfig
from ndelab.inference.training.loop import crop_sampler, train_network
from ndelab.volumes.errors import NdelabError


def train_loop_per_worker(loop_config: dict[str, Any]) -> None:
    """Ray Train's worker loop: train, then rank 0 reports weights.pt as the checkpoint."""
    import ray.train
    import ray.train.torch

    config = TrainConfig.from_json(loop_config["config"])
    context = ray.train.get_context()
    rank, world = context.get_world_rank(), context.get_world_size()
    configure_threads()
    torch.manual_seed(config.seed)  # the same initial weights on every worker
    model = BUILDERS["unet3d" if config.dims == 3 else "unet2d"](**config.arch)
    parameters = int(sum(p.numel() for p in model.parameters()))
    model = ray.train.torch.prepare_model(model)
    sampler = crop_sampler(config, rng_seed=config.seed + 7919 * rank)
    t0 = time.perf_counter()
    losses = train_network(model, sampler, steps=config.steps, batch=config.batch, lr=config.lr)
    every = config.steps_per_epoch
    record = {
        "loss_per_epoch": [
            round(float(np.mean(losses[i : i + every])), 4) for i in range(0, len(losses), every)
        ],
        "train_seconds": round(time.perf_counter() - t0, 1),
        "phantoms_generated": sampler.phantoms_used,
        "threads": torch.get_num_threads(),
        "parameters": parameters,
    }
    with tempfile.TemporaryDirectory(prefix="ndelab-train-") as tmp:
        checkpoint = None
        if rank == 0:
            net = getattr(model, "module", model)  # DDP wraps the network
            torch.save(net.state_dict(), Path(tmp) / "weights.pt")
            (Path(tmp) / "record.json").write_text(json.dumps(record))
            checkpoint = ray.train.Checkpoint.from_directory(tmp)
        ray.train.report({"loss": float(np.mean(losses[-every:])), "world": world}, checkpoint)


def train_weights_ray(
    out_dir: Path,
    config: TrainConfig,
    *,
    workers: int = 1,
    storage_path: str | Path,
    use_gpu: bool = False,
) -> dict[str, Any]:
    """Train on ``workers`` Ray Train workers and save ``out_dir/weights.pt``; returns the
    training record (as ``train_weights``'s, with the engine, workers and storage path)."""
    from ray.train import RunConfig, ScalingConfig
    from ray.train.torch import TorchTrainer

    name = f"ndelab-train-{uuid.uuid4().hex[:8]}"
    trainer = TorchTrainer(
        train_loop_per_worker,
        train_loop_config={"config": config.to_json()},
        scaling_config=ScalingConfig(num_workers=workers, use_gpu=use_gpu),
        run_config=RunConfig(name=name, storage_path=str(storage_path)),
    )
    result = trainer.fit()
    if result.error is not None or result.checkpoint is None:
        raise NdelabError(f"Ray training run {name} failed: {result.error or 'no checkpoint'}")
    out_dir.mkdir(parents=True, exist_ok=True)
    with result.checkpoint.as_directory() as ckpt:
        shutil.copyfile(Path(ckpt) / "weights.pt", out_dir / "weights.pt")
        measured: dict[str, Any] = json.loads((Path(ckpt) / "record.json").read_text())
    return (
        config.to_json()
        | measured
        | {
            "engine": "ray",
            "workers": workers,
            "storage_path": str(storage_path),
            "run": name,
        }
    )


__all__ = ["train_loop_per_worker", "train_weights_ray"]
