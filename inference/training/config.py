"""The settings of one phantom training run, in one frozen record.

``ndelab train``, ``train_default``, ``train_weights`` and the model card all read the same
:class:`TrainConfig`, so a default lives in one place and the card's reproduce command is
derived from the record that model.json keeps.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ndelab.volumes.errors import UsageError

# Training sees phantoms of seeds 0-999 only; calibration uses 1000-1999 and evaluation seeds
# >= 10000, so no evaluated scan was ever trained on.
TRAIN_SEEDS = range(0, 1000)
CALIBRATION_SEEDS = range(1000, 2000)
EVAL_SEED_START = 10000

DEFAULT_ARCH: dict[str, Any] = {"base": 16, "levels": 2, "classes": 4, "in_channels": 1}
DEFAULT_ARCH_2D: dict[str, Any] = {"base": 16, "levels": 3, "classes": 4, "in_channels": 1}
DEFAULT_CROP = {3: 32, 2: 64}


@dataclass(frozen=True)
class TrainConfig:
    """What one training run does; ``crop=0`` and an empty ``arch`` take the defaults for
    ``dims`` (32³ crops and DEFAULT_ARCH in 3D, 64² crops and DEFAULT_ARCH_2D in 2D)."""

    dims: int = 3
    seed: int = 0
    epochs: int = 12
    steps_per_epoch: int = 50
    batch: int = 8
    crop: int = 0
    lr: float = 2e-3
    balance: bool = True  # each present defect kind equally likely in defect crops
    surface_negatives: bool = True  # crops on the part's surface (3D only)
    seeds: Sequence[int] = TRAIN_SEEDS
    arch: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.seeds, range):  # a consecutive run is kept as the range it is
            seeds = tuple(self.seeds)
            run = range(seeds[0], seeds[-1] + 1) if seeds else range(0)
            object.__setattr__(self, "seeds", run if seeds == tuple(run) else seeds)
        if self.dims not in (2, 3):
            raise UsageError(f"training dims must be 2 or 3, not {self.dims}")
        for name in ("epochs", "steps_per_epoch", "batch"):
            if getattr(self, name) < 1:
                raise UsageError(f"training {name} must be at least 1, not {getattr(self, name)}")
        if self.crop < 0:
            raise UsageError(f"training crop must be positive, not {self.crop}")
        if not self.seeds:
            raise UsageError("training needs at least one phantom seed")
        if any(s >= CALIBRATION_SEEDS.start for s in self.seeds):
            raise UsageError("training seeds must be below 1000 (higher seeds are held out)")
        # Resolve the dims-dependent defaults once, so equal runs compare equal.
        if self.crop == 0:
            object.__setattr__(self, "crop", DEFAULT_CROP[self.dims])
        arch = self.arch or (DEFAULT_ARCH if self.dims == 3 else DEFAULT_ARCH_2D)
        object.__setattr__(self, "arch", dict(arch))
        if self.dims == 2:  # radiographs have no surface crops
            object.__setattr__(self, "surface_negatives", False)

    @property
    def steps(self) -> int:
        return self.epochs * self.steps_per_epoch

    @property
    def crop_fractions(self) -> tuple[float, float, float]:
        """(p_defect, p_surface, p_part) of the crop sampler."""
        return (0.5, 0.2, 0.2) if self.surface_negatives else (0.6, 0.0, 0.3)

    def to_json(self) -> dict[str, Any]:
        """The settings as model.json's ``training`` record holds them (keys and order)."""
        return {
            "arch": dict(self.arch),
            "dims": self.dims,
            "seeds": [min(self.seeds), max(self.seeds)],
            "epochs": self.epochs,
            "steps_per_epoch": self.steps_per_epoch,
            "batch": self.batch,
            "crop": self.crop,
            "seed": self.seed,
            "lr": self.lr,
            "class_balanced_defect_crops": self.balance,
            "surface_negative_crops": self.surface_negatives,
        }

    @classmethod
    def from_json(cls, record: Mapping[str, Any]) -> TrainConfig:
        """The settings of a ``training`` record (results in it are ignored).

        Records written before the balance and surface options existed lack their keys:
        those runs used neither. A record keeps its seeds as [min, max], the range they span.
        """
        lo, hi = record.get("seeds", [TRAIN_SEEDS.start, TRAIN_SEEDS.stop - 1])
        return cls(
            dims=int(record.get("dims", 3)),
            seed=int(record["seed"]),
            epochs=int(record["epochs"]),
            steps_per_epoch=int(record["steps_per_epoch"]),
            batch=int(record["batch"]),
            crop=int(record["crop"]),
            lr=float(record.get("lr", cls.lr)),
            balance=bool(record.get("class_balanced_defect_crops", False)),
            surface_negatives=bool(record.get("surface_negative_crops", False)),
            seeds=range(int(lo), int(hi) + 1),
            arch=dict(record.get("arch", {})),
        )
