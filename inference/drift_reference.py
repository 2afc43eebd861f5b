"""Drift references: the input features of scans drawn from a model's training recipe.

The shipped models were trained on phantoms of seeds 0-999 with the scanner settings of
``training.sampling.random_ct_params`` (CT) or ``random_radiograph_params`` (radiographs),
drawn as the training sampler draws them (a seed, then its settings, from one generator). A
reference is the features (``volumes.features``) of ``count`` such phantoms, so a scan whose
features fall outside their spread is one the model has not seen the like of.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ndelab.inference.drift import DriftReference, reference_from_features
from ndelab.inference.registry import DRIFT_REFERENCE_FILE
from ndelab.inference.training.config import TRAIN_SEEDS
from ndelab.inference.training.sampling import random_ct_params, random_radiograph_params
from ndelab.volumes.features import scan_features
from ndelab.volumes.phantom import Phantom, make_ct_phantom, make_radiograph
from ndelab.volumes.progress import Cancel, Progress, check, report

DEFAULT_COUNT = 64

Tweak = Callable[[dict[str, Any]], dict[str, Any]]


def recipe_phantoms(
    dims: int,
    count: int,
    *,
    seeds: Sequence[int] = TRAIN_SEEDS,
    rng_seed: int = 0,
    tweak: Tweak | None = None,
) -> Iterator[Phantom]:
    """``count`` phantoms of the training recipe; ``tweak`` may change each one's settings
    (a fixed size for quick tests, or a shifted noise or blur to simulate drift)."""
    rng = np.random.default_rng(rng_seed)
    pool = list(seeds)
    for _ in range(count):
        seed = int(rng.choice(pool))
        params = random_ct_params(rng) if dims == 3 else random_radiograph_params(rng)
        if tweak is not None:
            params = tweak(dict(params))
        if dims == 3:
            yield make_ct_phantom(seed=seed, **params)
        else:
            yield make_radiograph(seed=seed, **params)


def make_reference(
    model: str,
    dims: int,
    *,
    count: int = DEFAULT_COUNT,
    seeds: Sequence[int] = TRAIN_SEEDS,
    rng_seed: int = 0,
    tweak: Tweak | None = None,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> DriftReference:
    """The drift reference of a model trained on the phantom recipe of ``dims``."""
    records = []
    for i, ph in enumerate(
        recipe_phantoms(dims, count, seeds=seeds, rng_seed=rng_seed, tweak=tweak)
    ):
        check(cancel, "making the drift reference")
        records.append(scan_features(ph.volume))
        report(progress, (i + 1) / count)
    recipe = {
        "phantoms": "random_ct_params" if dims == 3 else "random_radiograph_params",
        "seeds": [min(seeds), max(seeds)],
        "rng_seed": rng_seed,
        "count": count,
    }
    return reference_from_features(model, dims, records, recipe)


def write_reference(model_dir: Path, **kwargs: Any) -> Path:
    """Make ``drift_reference.json`` beside a model's model.json, from the seeds and sampler
    seed its training record names."""
    model_dir = Path(model_dir)
    card = json.loads((model_dir / "model.json").read_text(encoding="utf-8"))
    training = card.get("training") or {}
    lo, hi = training.get("seeds") or [TRAIN_SEEDS.start, TRAIN_SEEDS.stop - 1]
    reference = make_reference(
        f"{card['name']}@{card['version']}",
        int(card.get("dims", 3)),
        seeds=range(int(lo), int(hi) + 1),
        rng_seed=int(training.get("seed", 0)),
        **kwargs,
    )
    return reference.write(model_dir / DRIFT_REFERENCE_FILE)
