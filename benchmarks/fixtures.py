"""What the store benchmarks review: a scan with n small proposed calls on a grid (one mask
shape, measured once, moved about), so the store's own cost is what is timed."""

from __future__ import annotations

import numpy as np

from ndelab.annotation import Measurements, NewIndication, Source, SparseMask
from ndelab.annotation.store import Store, add_indications, add_part, add_scan


def grid_of_calls(
    store: Store, n: int, *, user: str, part: str, path: str
) -> tuple[str, list[str]]:
    """A part, a scan and n proposed calls with distinct masks; returns (scan id, call ids)."""
    part_id = add_part(store, part, user=user)
    side = int(np.ceil(n ** (1 / 3))) + 1
    scan = add_scan(
        store, part_id, user=user, path=path, shape=(4 * side,) * 3, spacing_mm=(0.1,) * 3
    )
    local = np.ones((2, 3, 3), bool)
    items = []
    for k in range(n):
        z, y, x = 4 * (k // (side * side)), 4 * (k // side % side), 4 * (k % side)
        mask = SparseMask.from_local(local, (z, y, x))
        m = Measurements(18, 0.018, 0.325, 0.47, 0.42, 0.8, (z + 0.5, y + 1.0, x + 1.0))
        items.append(NewIndication(mask, "pore", Source("model", "bench", "1"), m, 0.5))
    return scan, add_indications(store, scan, items, user=user)
