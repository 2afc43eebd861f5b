"""The default recipe: train on phantoms, calibrate, evaluate held out, write the model card.

Training sees phantoms of seeds 0-999 only; calibration uses 1000-1999 and evaluation seeds
>= 10000, so no evaluated scan was ever trained on.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from ndelab.inference.registry import ModelSpec, load_network, sha256_of
from ndelab.inference.training.calibration import calibrate
from ndelab.inference.training.card import model_card, reproduce_command, write_model_json
from ndelab.inference.training.config import EVAL_SEED_START, TrainConfig
from ndelab.inference.training.loop import train_weights
from ndelab.volumes.progress import Cancel, Progress, report

CLASSES = ("background", "pore", "crack", "inclusion")

DEFAULT_NAME = "ndelab-unet3d"
DEFAULT_VERSION = "1.0.0"
DEFAULT_NAME_2D = "ndelab-unet2d"


def train_default(
    out_dir: Path,
    config: TrainConfig | None = None,
    *,
    calibration_seeds: Sequence[int] = tuple(range(1000, 1012)),
    eval_seeds: Sequence[int] = tuple(range(EVAL_SEED_START, EVAL_SEED_START + 12)),
    name: str | None = None,
    version: str = DEFAULT_VERSION,
    make_default: bool = True,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
    log: Callable[[str], None] | None = None,
    trainer: Callable[..., dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Train, calibrate and evaluate a default model; write weights.pt, model.json, pod.png.

    ``trainer`` trains the weights (default ``train_weights``, in this process; a batch
    engine's ``train``, e.g. on Ray Train) with the same arguments and training record.

    ``config.dims=3``: the CT model on 32³ crops; ``2``: the radiograph model on 64² crops.

    Returns the metrics written to the model card. Progress: 70 % training, the rest
    calibration and held-out evaluation.
    """
    out_dir = Path(out_dir)
    t0 = time.perf_counter()
    config = config or TrainConfig()
    record = (trainer or train_weights)(
        out_dir,
        config,
        progress=lambda f: report(progress, 0.7 * f),
        cancel=cancel,
        log=log,
    )
    metrics = finalize_model(
        out_dir,
        record,
        calibration_seeds=calibration_seeds,
        eval_seeds=eval_seeds,
        name=name or (DEFAULT_NAME if config.dims == 3 else DEFAULT_NAME_2D),
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
    command = reproduce_command(out_dir, TrainConfig.from_json(record), make_default=make_default)
    (out_dir / "README.md").write_text(model_card(card, command))
    return {"training": record, "calibration": cal, **metrics}
