"""Training samples: the phantom distribution, normalised scans, and random crops from them.

Crops are small (32³ by default) and sampled mostly around defects, with hard negatives on
the part's surface and inside the part, and some anywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from scipy import ndimage

from ndelab.inference.intensity import estimate_levels
from ndelab.volumes.errors import UsageError
from ndelab.volumes.phantom import Phantom, make_ct_phantom, make_radiograph

PARTS = ("housing", "cylinder", "block", "bracket")


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
