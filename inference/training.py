"""Train the default pre-label networks on synthetic phantoms.

Training sees phantoms of seeds 0-999 only; calibration uses 1000-1999 and evaluation seeds
>= 10000, so no evaluated scan was ever trained on. Crops are small (32³ by default) and
sampled mostly around defects, with hard negatives inside the part and some anywhere.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
import torch.nn.functional as F  # noqa: N812
from scipy import ndimage
from torch import nn

from ndelab.inference.device import configure_threads
from ndelab.inference.intensity import estimate_levels
from ndelab.inference.models import BUILDERS
from ndelab.inference.registry import ModelSpec, load_network, sha256_of
from ndelab.volumes.errors import UsageError
from ndelab.volumes.phantom import Phantom, make_ct_phantom, make_radiograph
from ndelab.volumes.progress import Cancel, Progress, check, report

TRAIN_SEEDS = range(0, 1000)
CALIBRATION_SEEDS = range(1000, 2000)
EVAL_SEED_START = 10000
PARTS = ("housing", "cylinder", "block", "bracket")
CLASSES = ("background", "pore", "crack", "inclusion")

DEFAULT_NAME = "ndelab-unet3d"
DEFAULT_VERSION = "1.0.0"
DEFAULT_ARCH: dict[str, Any] = {"base": 16, "levels": 2, "classes": 4, "in_channels": 1}
DEFAULT_NAME_2D = "ndelab-unet2d"
DEFAULT_ARCH_2D: dict[str, Any] = {"base": 16, "levels": 3, "classes": 4, "in_channels": 1}


def random_ct_params(rng: np.random.Generator) -> dict[str, Any]:
    """Scanner and part settings for one training phantom (sizes 96-160, mixed quality)."""
    return {
        "size": int(rng.integers(12, 21)) * 8,
        "noise": float(rng.uniform(0.5, 1.8)),
        "blur_sigma_vox": float(rng.uniform(0.5, 1.2)),
        "cupping": float(rng.uniform(0.0, 0.2)),
        "rings": float(rng.uniform(0.0, 0.4)),
        "part": str(rng.choice(PARTS)),
    }


def random_radiograph_params(rng: np.random.Generator) -> dict[str, Any]:
    """Radiograph settings for one training image: welds and casting plates, mixed quality."""
    return {
        "size": int(rng.integers(4, 8)) * 64,
        "kind": str(rng.choice(["weld", "casting"])),
        "noise": float(rng.uniform(0.5, 1.8)),
        "blur_sigma_px": float(rng.uniform(0.6, 1.4)),
    }


@dataclass
class Sample:
    """One normalised training scan and where its defects are."""

    image: npt.NDArray[np.float32]
    classes: npt.NDArray[np.uint8]
    part_mask: npt.NDArray[np.bool_]
    defect_centers: npt.NDArray[np.int64]  # (n, 3)
    defect_kinds: tuple[str, ...] = ()
    surface: npt.NDArray[np.int64] | None = None  # (n, 3) voxels on the part's surface


def _surface_points(part_mask: npt.NDArray[np.bool_], step: int = 2) -> npt.NDArray[np.int64]:
    """Voxels (on a coarse grid) where the part meets air: holes, bores, edges, thin walls."""
    sub = part_mask[::step, ::step, ::step]
    edge = sub & ~ndimage.binary_erosion(sub)
    return np.argwhere(edge).astype(np.int64) * step


def sample_from_phantom(ph: Phantom) -> Sample:
    levels = estimate_levels(ph.volume)
    image = levels.apply(np.asarray(ph.volume.data))
    centers = np.array(
        [np.round(d.center_zyx).astype(np.int64) for d in ph.defects], dtype=np.int64
    ).reshape(-1, 3)
    kinds = tuple(d.kind for d in ph.defects)
    return Sample(image, ph.classes, ph.part_mask, centers, kinds, _surface_points(ph.part_mask))


class CropSampler:
    """Random crops from a pool of phantoms that is refreshed as training goes on.

    Fractions: ``p_defect`` centred (jittered) on a defect, ``p_part`` anywhere in the part,
    ``p_surface`` on the part's surface (bolt holes, bores and edges are the hard negatives:
    air next to metal that is not a defect), the rest anywhere in the scan.
    """

    def __init__(
        self,
        seeds: Sequence[int],
        *,
        crop: int = 32,
        pool: int = 4,
        refresh_every: int = 8,
        p_defect: float = 0.6,
        p_part: float = 0.3,
        p_surface: float = 0.0,
        rng_seed: int = 0,
        make: Callable[[int, np.random.Generator], Phantom] | None = None,
        dims: int = 3,
        balance: bool = False,
    ) -> None:
        if not seeds:
            raise UsageError("training needs at least one phantom seed")
        self.seeds = list(seeds)
        self.crop = crop
        self.pool_size = pool
        self.refresh_every = refresh_every
        self.p_defect = p_defect
        self.p_part = p_part
        self.p_surface = p_surface
        self.rng = np.random.default_rng(rng_seed)
        self.dims = dims
        self.balance = balance
        self._make = make or (self._default_make if dims == 3 else self._default_make_2d)
        self._pool: list[Sample] = []
        self._draws = 0
        self.phantoms_used = 0

    @staticmethod
    def _default_make(seed: int, rng: np.random.Generator) -> Phantom:
        return make_ct_phantom(seed=seed, **random_ct_params(rng))

    @staticmethod
    def _default_make_2d(seed: int, rng: np.random.Generator) -> Phantom:
        return make_radiograph(seed=seed, **random_radiograph_params(rng))

    def _new_sample(self) -> Sample:
        seed = int(self.rng.choice(self.seeds))
        self.phantoms_used += 1
        return sample_from_phantom(self._make(seed, self.rng))

    def _refresh(self) -> None:
        if len(self._pool) < self.pool_size:
            self._pool.append(self._new_sample())
        else:
            self._pool[int(self.rng.integers(len(self._pool)))] = self._new_sample()

    def _pick_defect(self, s: Sample) -> int:
        """A defect index; with ``balance``, each present kind is equally likely first, so the
        few inclusions of a casting are not drowned by its many pores."""
        n = len(s.defect_centers)
        if not self.balance or len(s.defect_kinds) != n:
            return int(self.rng.integers(n))
        kinds = sorted(set(s.defect_kinds))
        kind = kinds[int(self.rng.integers(len(kinds)))]
        idx = [i for i, k in enumerate(s.defect_kinds) if k == kind]
        return idx[int(self.rng.integers(len(idx)))]

    def _corner(self, s: Sample) -> tuple[int, int, int]:
        shape = np.array(s.image.shape)
        c = self.crop
        size = np.array([1 if self.dims == 2 else c, c, c])
        u = self.rng.random()
        if u < self.p_defect and len(s.defect_centers):
            center = s.defect_centers[self._pick_defect(s)]
            center = center + self.rng.integers(-c // 3, c // 3 + 1, size=3)
        elif (
            u < self.p_defect + self.p_surface
            and s.surface is not None
            and len(s.surface)
            and self.dims == 3
        ):
            center = s.surface[int(self.rng.integers(len(s.surface)))]
            center = center + self.rng.integers(-c // 4, c // 4 + 1, size=3)
        elif u < self.p_defect + self.p_surface + self.p_part:
            idx = np.flatnonzero(s.part_mask[::2, ::2, ::2])
            z, y, x = np.unravel_index(self.rng.choice(idx), s.part_mask[::2, ::2, ::2].shape)
            center = np.array([z, y, x]) * 2
        else:
            center = self.rng.integers(0, shape)
        lo = np.clip(center - size // 2, 0, np.maximum(shape - size, 0))
        return (int(lo[0]), int(lo[1]), int(lo[2]))

    def batch(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(images (n,1,c,c,c) float32, targets (n,c,c,c) int64), flipped and permuted.

        2D: (n,1,c,c) and (n,c,c) from one-slice radiographs.
        """
        if not self._pool or self._draws % self.refresh_every == 0:
            self._refresh()
            while len(self._pool) < min(2, self.pool_size):
                self._refresh()
        self._draws += 1
        c = self.crop
        xs, ys = [], []
        for _ in range(n):
            s = self._pool[int(self.rng.integers(len(self._pool)))]
            z, y, x = self._corner(s)
            cz = 1 if self.dims == 2 else c
            img = s.image[z : z + cz, y : y + c, x : x + c]
            lab = s.classes[z : z + cz, y : y + c, x : x + c]
            if self.dims == 2:
                img, lab = img[0], lab[0]
            perm = tuple(int(a) for a in self.rng.permutation(self.dims))
            img, lab = img.transpose(perm), lab.transpose(perm)
            for ax in range(self.dims):
                if self.rng.random() < 0.5:
                    img, lab = np.flip(img, ax), np.flip(lab, ax)
            xs.append(np.ascontiguousarray(img))
            ys.append(np.ascontiguousarray(lab))
        images = torch.from_numpy(np.stack(xs)[:, None])
        targets = torch.from_numpy(np.stack(ys).astype(np.int64))
        return images, targets


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
    *,
    seeds: Iterable[int] = TRAIN_SEEDS,
    epochs: int = 12,
    steps_per_epoch: int = 50,
    batch: int = 8,
    crop: int = 32,
    seed: int = 0,
    lr: float = 2e-3,
    arch: dict[str, Any] | None = None,
    dims: int = 3,
    balance: bool = True,
    surface_negatives: bool = True,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Train the 3D (or, ``dims=2``, radiograph) network and save ``weights.pt``.

    Returns the training record.
    """
    seed_list = list(seeds)
    if any(s >= CALIBRATION_SEEDS.start for s in seed_list):
        raise UsageError("training seeds must be below 1000 (higher seeds are held out)")
    configure_threads()
    torch.manual_seed(seed)
    if arch is None:
        arch = DEFAULT_ARCH if dims == 3 else DEFAULT_ARCH_2D
    arch = dict(arch)
    model = BUILDERS["unet3d" if dims == 3 else "unet2d"](**arch)
    surface = surface_negatives and dims == 3
    p_defect, p_surface, p_part = (0.5, 0.2, 0.2) if surface else (0.6, 0.0, 0.3)
    sampler = CropSampler(
        seed_list,
        crop=crop,
        rng_seed=seed,
        dims=dims,
        balance=balance,
        p_defect=p_defect,
        p_surface=p_surface,
        p_part=p_part,
    )
    t0 = time.perf_counter()
    losses = train_network(
        model,
        sampler,
        steps=epochs * steps_per_epoch,
        batch=batch,
        lr=lr,
        progress=progress,
        cancel=cancel,
        log=log,
    )
    seconds = time.perf_counter() - t0
    out_dir.mkdir(parents=True, exist_ok=True)
    weights = out_dir / "weights.pt"
    torch.save(model.state_dict(), weights)
    per_epoch = [
        round(float(np.mean(losses[i : i + steps_per_epoch])), 4)
        for i in range(0, len(losses), steps_per_epoch)
    ]
    return {
        "arch": arch,
        "dims": dims,
        "seeds": [min(seed_list), max(seed_list)],
        "epochs": epochs,
        "steps_per_epoch": steps_per_epoch,
        "batch": batch,
        "crop": crop,
        "seed": seed,
        "lr": lr,
        "class_balanced_defect_crops": balance,
        "surface_negative_crops": surface,
        "phantoms_generated": sampler.phantoms_used,
        "loss_per_epoch": per_epoch,
        "train_seconds": round(seconds, 1),
        "threads": torch.get_num_threads(),
        "parameters": int(sum(p.numel() for p in model.parameters())),
    }


def write_model_json(out_dir: Path, record: dict[str, Any]) -> Path:
    path = out_dir / "model.json"
    path.write_text(json.dumps(record, indent=2) + "\n")
    return path


# --- calibration, evaluation and the model card ---------------------------------------------


def _logit(p: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    p = np.clip(p, 1e-4, 1 - 1e-4)
    out: npt.NDArray[np.float64] = np.log(p / (1 - p))
    return out


def reliability(scores: Sequence[float], truth: Sequence[bool], bins: int = 10) -> dict[str, Any]:
    """Brier score, expected calibration error and the reliability table of a set of scores."""
    s = np.asarray(scores, np.float64)
    t = np.asarray(truth, np.float64)
    if s.size == 0:
        return {"n": 0}
    idx = np.minimum((s * bins).astype(int), bins - 1)
    table = []
    ece = 0.0
    for b in range(bins):
        sel = idx == b
        if sel.any():
            conf, acc = float(s[sel].mean()), float(t[sel].mean())
            ece += sel.mean() * abs(conf - acc)
            table.append(
                {"bin": b, "n": int(sel.sum()), "score": round(conf, 3), "true": round(acc, 3)}
            )
    return {
        "n": int(s.size),
        "brier": round(float(np.mean((s - t) ** 2)), 4),
        "ece": round(float(ece), 4),
        "table": table,
    }


def calibrate(
    spec: ModelSpec,
    net: nn.Module,
    seeds: Sequence[int],
    sizes: Sequence[int] = (96, 128, 160),
    *,
    cancel: Cancel | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Platt-scale call scores on held-out phantoms (seeds 1000-1999): hit = true defect."""
    from ndelab.inference.evaluation import fit_logistic, make_eval_phantom, score_phantoms
    from ndelab.inference.prelabel import run_model

    if any(not CALIBRATION_SEEDS.start <= s < CALIBRATION_SEEDS.stop for s in seeds):
        raise UsageError("calibration seeds must lie in 1000-1999")
    raw_spec = replace(spec, calibration={})

    def phantoms() -> Iterable[tuple[str, Phantom]]:
        for i, seed in enumerate(seeds):
            yield make_eval_phantom(seed, int(sizes[i % len(sizes)]), radiograph=spec.dims == 2)
            report(progress, (i + 1) / len(seeds))

    raw = score_phantoms(
        phantoms(),
        lambda ph: run_model(ph.volume, raw_spec, min_voxels=3, net=net, cancel=cancel),
        cancel=cancel,
    )
    every = raw["calls"]
    # Calls that open onto air (bolt holes, bores, the outline): the limit is twice the 99th
    # percentile of the share of air around true calls (a rare true call on a pore that
    # touches a crack or a cluster may be far more open; one such must not lift the limit).
    open_true = [c.get("open_fraction", 0.0) for c in every if c["true"]]
    open_max = None
    if spec.dims == 3 and open_true:
        open_max = max(0.05, math.ceil(200 * float(np.percentile(open_true, 99))) / 100)
    calls = [c for c in every if open_max is None or c.get("open_fraction", 0.0) <= open_max]
    mean = np.array([c["fg_mean"] for c in calls])
    peak = np.array([c["fg_max"] for c in calls])
    truth = np.array([c["true"] for c in calls], dtype=bool)
    features = np.column_stack([_logit(mean), _logit(peak)])
    coef, _ = fit_logistic(features, truth, ridge=1e-3)
    after = 1 / (1 + np.exp(-(coef[0] + features @ coef[1:])))
    return {
        "method": "platt",
        "features": ["logit(mean foreground probability)", "logit(max foreground probability)"],
        "coef": [round(float(c), 5) for c in coef],
        "seeds": [min(seeds), max(seeds)],
        "open_fraction_max": open_max,
        "open_fraction_true_calls": {
            "p50": round(float(np.median(open_true)), 4) if open_true else None,
            "p99": round(float(np.percentile(open_true, 99)), 4) if open_true else None,
            "max": round(max(open_true), 4) if open_true else None,
        },
        "calls_before_open_filter": len(every),
        "true_calls_before_open_filter": int(sum(c["true"] for c in every)),
        "calls": len(calls),
        "true_calls": int(truth.sum()),
        "before": reliability(mean.tolist(), truth.tolist()),
        "after": reliability(after.tolist(), truth.tolist()),
    }


def train_default(
    out_dir: Path,
    *,
    seeds: Iterable[int] = TRAIN_SEEDS,
    epochs: int = 12,
    steps_per_epoch: int = 50,
    batch: int = 8,
    crop: int = 32,
    seed: int = 0,
    calibration_seeds: Sequence[int] = tuple(range(1000, 1012)),
    eval_seeds: Sequence[int] = tuple(range(EVAL_SEED_START, EVAL_SEED_START + 12)),
    name: str | None = None,
    version: str = DEFAULT_VERSION,
    dims: int = 3,
    balance: bool = True,
    surface_negatives: bool = True,
    make_default: bool = True,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Train, calibrate and evaluate a default model; write weights.pt, model.json, pod.png.

    ``dims=3``: the CT model on 32³ crops; ``dims=2``: the radiograph model (pass
    ``crop=64``).

    Returns the metrics written to the model card. Progress: 70 % training, the rest
    calibration and held-out evaluation.
    """
    out_dir = Path(out_dir)
    t0 = time.perf_counter()
    record = train_weights(
        out_dir,
        seeds=seeds,
        epochs=epochs,
        steps_per_epoch=steps_per_epoch,
        batch=batch,
        crop=crop,
        seed=seed,
        dims=dims,
        balance=balance,
        surface_negatives=surface_negatives,
        progress=lambda f: report(progress, 0.7 * f),
        cancel=cancel,
        log=log,
    )
    metrics = finalize_model(
        out_dir,
        record,
        calibration_seeds=calibration_seeds,
        eval_seeds=eval_seeds,
        name=name or (DEFAULT_NAME if dims == 3 else DEFAULT_NAME_2D),
        version=version,
        make_default=make_default,
        progress=lambda f: report(progress, 0.7 + 0.3 * f),
        cancel=cancel,
        log=log,
    )
    metrics["total_seconds"] = round(time.perf_counter() - t0, 1)
    return metrics


def finalize_model(
    out_dir: Path,
    record: dict[str, Any],
    *,
    calibration_seeds: Sequence[int],
    eval_seeds: Sequence[int],
    name: str = DEFAULT_NAME,
    version: str = DEFAULT_VERSION,
    make_default: bool = True,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Calibrate and evaluate trained weights in ``out_dir``; write model.json and pod.png.

    ``make_default`` marks the entry as the built-in default for its dimensionality.
    """
    from ndelab.inference.evaluation import evaluate, plot_pod
    from ndelab.inference.prelabel import run_model

    t0 = time.perf_counter()
    weights = out_dir / "weights.pt"
    dims = int(record.get("dims", 3))
    spec = ModelSpec(
        name=name,
        version=version,
        dims=dims,
        builder="unet3d" if dims == 3 else "unet2d",
        arch=dict(record["arch"]),
        weights=weights,
        sha256=sha256_of(weights),
        classes=CLASSES,
        input={
            "window": 64 if dims == 3 else 256,
            "spacing_mm": None,
            "normalisation": "air-material-peaks" if dims == 3 else "percentiles-0.5-99.5",
            "note": "voxel-scale model: trained on 0.1 mm phantoms but uses no spacing",
        },
        is_builtin_default=make_default,
    )
    net = load_network(spec)
    cal = calibrate(
        spec,
        net,
        calibration_seeds,
        sizes=(96, 128, 160) if dims == 3 else (256, 384, 512),
        cancel=cancel,
        progress=lambda f: report(progress, 0.4 * f),
    )
    if log is not None:
        log(f"calibration: {json.dumps({k: cal[k] for k in ('coef', 'calls', 'true_calls')})}")
    spec = replace(
        spec, calibration=cal, input=spec.input | {"open_fraction_max": cal["open_fraction_max"]}
    )
    sizes = (96, 128, 160) if dims == 3 else (256, 384, 512)
    result = evaluate(
        seeds=eval_seeds,
        sizes=sizes,
        radiograph=dims == 2,
        run=lambda ph: run_model(ph.volume, spec, min_voxels=3, net=net, cancel=cancel),
        progress=lambda f: report(progress, 0.4 + 0.6 * f),
        cancel=cancel,
    )
    result["model"] = spec.key
    plot_pod(result, out_dir / "pod.png", title=f"POD, pores: {spec.key} (held-out phantoms)")
    metrics = {
        "held_out": {k: v for k, v in result.items() if k != "scans"},
        "held_out_scans": result["scans"],
        "finalize_seconds": round(time.perf_counter() - t0, 1),
    }
    card = spec.to_json() | {"training": record, "metrics": metrics}
    write_model_json(out_dir, card)
    command = reproduce_command(out_dir, record, make_default=make_default)
    (out_dir / "README.md").write_text(model_card(card, command))
    return {"training": record, "calibration": cal, **metrics}


def main(argv: Sequence[str] | None = None) -> int:
    """``train`` entry for the CLI: ``--out DIR --seed N --epochs E --steps-per-epoch S``.

    Returns the exit status; the lead's ``ndelab train`` passes its arguments through.
    """
    import argparse

    ap = argparse.ArgumentParser(prog="ndelab train", description=train_default.__doc__)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--steps-per-epoch", type=int, default=50)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--crop", type=int, default=None, help="default 32 (3D) or 64 (2D)")
    ap.add_argument("--dims", type=int, choices=(2, 3), default=3)
    ap.add_argument("--no-balance", action="store_true", help="defect crops uniform over defects")
    ap.add_argument("--no-surface-negatives", action="store_true")
    ap.add_argument("--not-default", action="store_true", help="do not mark it the default")
    args = ap.parse_args(argv)
    metrics = train_default(
        args.out,
        seed=args.seed,
        epochs=args.epochs,
        steps_per_epoch=args.steps_per_epoch,
        batch=args.batch,
        crop=args.crop or (32 if args.dims == 3 else 64),
        dims=args.dims,
        balance=not args.no_balance,
        surface_negatives=not args.no_surface_negatives,
        make_default=not args.not_default,
        log=lambda s: print(s, flush=True),
    )
    held = metrics["held_out"]
    print(json.dumps({k: held[k] for k in ("recall_by_diameter_vox", "precision")}, indent=2))
    return 0


def reproduce_command(out_dir: Path, record: dict[str, Any], *, make_default: bool) -> str:
    """The ``main`` call (run in the repository root) that trains, calibrates and evaluates
    this model again."""
    args = [
        "--out", f"resources/models/{out_dir.name}", "--dims", str(record.get("dims", 3)),
        "--seed", str(record["seed"]), "--epochs", str(record["epochs"]),
        "--steps-per-epoch", str(record["steps_per_epoch"]), "--batch", str(record["batch"]),
        "--crop", str(record["crop"]),
    ]  # fmt: skip
    if not record.get("class_balanced_defect_crops", False):
        args.append("--no-balance")
    if not record.get("surface_negative_crops", False) and record.get("dims", 3) == 3:
        args.append("--no-surface-negatives")
    if not make_default:
        args.append("--not-default")
    return (
        '.venv/bin/python -c "from ndelab.inference.training import main; main('
        + repr(args)
        + ')"  # or: ndelab train '
        + " ".join(args)
    )


def model_card(entry: dict[str, Any], command: str, notes: str = "") -> str:
    """A Markdown model card from a model.json entry and the command that reproduces it."""
    tr = entry.get("training", {})
    met = entry.get("metrics", {}).get("held_out", {})
    cal = entry.get("calibration", {})
    pod = met.get("pod_pores_diameter_vox", {})
    lines = [
        f"# {entry['name']} {entry['version']}",
        "",
        f"{entry['dims']}D U-Net ({tr.get('parameters', '?')} parameters, arch {entry['arch']}),"
        f" classes {', '.join(entry['classes'])}. "
        + ("The built-in default." if entry.get("default") else "Not the default."),
        "",
        *([notes, ""] if notes else []),
        "## Reproduce",
        "",
        "```",
        command,
        "```",
        "",
        f"Training phantom seeds {tr.get('seeds')} (never >= 1000), {tr.get('epochs')} epochs x "
        f"{tr.get('steps_per_epoch')} steps, batch {tr.get('batch')} crops of {tr.get('crop')} "
        f"voxels, seed {tr.get('seed')}, {tr.get('phantoms_generated')} phantoms generated, "
        f"{tr.get('train_seconds')} s on {tr.get('threads')} CPU threads (shared machine). "
        f"Class-balanced defect crops: {tr.get('class_balanced_defect_crops', False)}; "
        f"surface hard negatives: {tr.get('surface_negative_crops', False)}.",
        f"Loss per epoch: {tr.get('loss_per_epoch')}.",
        "",
        "## Calibration",
        "",
        f"Platt scaling on {', '.join(cal.get('features', []))}; coef {cal.get('coef')}; fitted on"
        f" seeds {cal.get('seeds')} ({cal.get('calls')} calls, {cal.get('true_calls')} true)."
        f" ECE {cal.get('before', {}).get('ece')} -> {cal.get('after', {}).get('ece')}, Brier"
        f" {cal.get('before', {}).get('brier')} -> {cal.get('after', {}).get('brier')}.",
        "",
        "## Held-out quality (seeds >= 10000; size, noise, blur, cupping and part vary)",
        "",
        "| pore diameter (vox) | pores | recall | all defects recall |",
        "|---|---|---|---|",
    ]
    for key, row in met.get("recall_by_diameter_vox", {}).items():
        p, a = row["pores"], row["all_defects"]
        lines.append(f"| {key} | {p['n']} | {p['recall']} | {a['recall']} |")
    kinds = met.get("recall_by_kind", {})
    lines += [
        "",
        "Recall by kind: "
        + ", ".join(f"{k} {v['recall']} (n={v['n']})" for k, v in kinds.items())
        + "."
        f" Precision {met.get('precision')} ({met.get('false_calls')} false of {met.get('calls')}"
        f" calls); class agreement on hits {met.get('class_agreement')}.",
        f"POD (hit/miss, ML logistic on ln diameter, Wald 95 % bound): a50 {_r(pod.get('a50'))},"
        f" a90 {_r(pod.get('a90'))}, a90/95 {_r(pod.get('a90_95'))} voxels (pod.png).",
        f"Evaluated scans: seeds {met.get('seeds')}, sizes {met.get('sizes')}.",
        "",
    ]
    return "\n".join(lines)


def _r(v: Any) -> str:
    return "n/a" if v is None else f"{float(v):.2f}"
