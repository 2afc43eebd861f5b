"""The training loop: the loss, the optimiser schedule, and one run that saves weights.pt."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from ndelab.inference.device import configure_threads
from ndelab.inference.models import BUILDERS
from ndelab.inference.training.config import TrainConfig
from ndelab.inference.training.sampling import CropSampler
from ndelab.volumes.progress import Cancel, Progress, check, report


def dice_ce_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Cross-entropy plus soft Dice over the defect classes and over 'any defect'."""
    ce = F.cross_entropy(logits, target)
    prob = logits.softmax(1)
    onehot = F.one_hot(target, logits.shape[1]).movedim(-1, 1).to(prob.dtype)
    dims = (0, *range(2, logits.ndim))
    eps = 1.0
    inter = (prob * onehot).sum(dims)
    denom = prob.sum(dims) + onehot.sum(dims)
    dice_cls = 1 - (2 * inter[1:] + eps) / (denom[1:] + eps)
    fg_p, fg_t = 1 - prob[:, 0], 1 - onehot[:, 0]
    dice_fg = 1 - (2 * (fg_p * fg_t).sum() + eps) / (fg_p.sum() + fg_t.sum() + eps)
    return ce + dice_cls.mean() + dice_fg


def crop_sampler(config: TrainConfig, *, rng_seed: int) -> CropSampler:
    """The recipe's crops (what ``config`` asks for), drawn from ``rng_seed``."""
    p_defect, p_surface, p_part = config.crop_fractions
    return CropSampler(
        config.seeds,
        crop=config.crop,
        rng_seed=rng_seed,
        dims=config.dims,
        balance=config.balance,
        p_defect=p_defect,
        p_surface=p_surface,
        p_part=p_part,
    )


def train_network(
    model: nn.Module,
    sampler: CropSampler,
    *,
    steps: int,
    batch: int = 8,
    lr: float = 2e-3,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
    log: Callable[[str], None] | None = None,
) -> list[float]:
    """AdamW with a cosine schedule; returns the loss of every step."""
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=max(steps, 1))
    losses: list[float] = []
    t0 = time.perf_counter()
    for step in range(steps):
        check(cancel, "training")
        images, targets = sampler.batch(batch)
        loss = dice_ce_loss(model(images), targets)
        opt.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        opt.step()
        sched.step()
        losses.append(float(loss.detach()))
        report(progress, (step + 1) / steps)
        if log is not None and (step % 20 == 0 or step == steps - 1):
            recent = float(np.mean(losses[-20:]))
            log(f"step {step + 1}/{steps} loss {recent:.4f} {time.perf_counter() - t0:.0f} s")
    model.eval()
    return losses


def train_weights(
    out_dir: Path,
    config: TrainConfig | None = None,
    *,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Train the 3D (or, ``dims=2``, radiograph) network and save ``weights.pt``.

    Returns the training record: ``config.to_json()`` and what the run measured.
    """
    config = config or TrainConfig()
    configure_threads()
    torch.manual_seed(config.seed)
    model = BUILDERS["unet3d" if config.dims == 3 else "unet2d"](**config.arch)
    sampler = crop_sampler(config, rng_seed=config.seed)
    t0 = time.perf_counter()
    losses = train_network(
        model,
        sampler,
        steps=config.steps,
        batch=config.batch,
        lr=config.lr,
        progress=progress,
        cancel=cancel,
        log=log,
    )
    seconds = time.perf_counter() - t0
    out_dir.mkdir(parents=True, exist_ok=True)
    weights = out_dir / "weights.pt"
    torch.save(model.state_dict(), weights)
    every = config.steps_per_epoch
    per_epoch = [
        round(float(np.mean(losses[i : i + every])), 4) for i in range(0, len(losses), every)
    ]
    return config.to_json() | {
        "phantoms_generated": sampler.phantoms_used,
        "loss_per_epoch": per_epoch,
        "train_seconds": round(seconds, 1),
        "threads": torch.get_num_threads(),
        "parameters": int(sum(p.numel() for p in model.parameters())),
    }
