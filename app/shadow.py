"""Pre-label a scan with the champion and, beside it, a shadow model: one function for batch
pre-labelling (`ndelab prelabel --shadow`) and the inbox.

The champion's calls are stored for review; the shadow's are stored with role "shadow" (never
shown, never counted) for the A/B against the engineers' decisions. Each run is recorded, so a
version that found nothing on a scan still counts there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from ndelab.annotation.model import CHAMPION, SHADOW
from ndelab.annotation.store import Store, get_alias
from ndelab.annotation.store.model_runs import record_run
from ndelab.app.workspace import store_calls
from ndelab.volumes.part import segment_part
from ndelab.volumes.progress import Cancel, Progress
from ndelab.volumes.volume import Volume

# (volume, name, version, progress, cancel) -> PrelabelResult; tests may pass their own.
Runner = Callable[[Volume, str, str | None, Progress | None, Cancel | None], Any]


def split_spec(text: str) -> tuple[str, str | None]:
    """'NAME@VERSION', 'NAME' or 'default' as (name, version or None)."""
    name, _, version = text.strip().partition("@")
    return name, version or None


def default_shadow(store: Store) -> str | None:
    """The shadow alias as NAME@VERSION, or None when no shadow is set."""
    alias = get_alias(store, "shadow")
    return None if alias is None else f"{alias[0]}@{alias[1]}"


def _prelabel(
    volume: Volume, name: str, version: str | None, progress: Progress | None, cancel: Cancel | None
) -> Any:
    from ndelab.inference.prelabel import prelabel  # torch loads only when asked for

    return prelabel(volume, model=name, version=version, progress=progress, cancel=cancel)


def _span(progress: Progress | None, lo: float, hi: float) -> Progress | None:
    return None if progress is None else (lambda f: progress(lo + (hi - lo) * f))


def prelabel_with_shadow(
    store: Store,
    scan_id: str,
    volume: Volume,
    user: str,
    *,
    champion: str | None = "default",
    shadow: str | None = None,
    part_mask: npt.NDArray[np.bool_] | None = None,
    run: Runner = _prelabel,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> dict[str, Any]:
    """Run ``champion`` (stored for review) and ``shadow`` (stored in shadow) on the scan.

    Returns {"scan_id", "champion": run, "shadow": run or None}, each run {"model": {"name",
    "version"}, "call_ids", "result"} (the PrelabelResult). A shadow that is the champion's
    own version is not run twice. ``champion`` None runs only the shadow: a new challenger
    replayed on scans already pre-labelled (and perhaps decided)."""
    if part_mask is None:
        part_mask = segment_part(volume)  # the same depths for both versions' calls
    out: dict[str, Any] = {"scan_id": scan_id, "champion": None, "shadow": None}
    plan = ([(CHAMPION, champion)] if champion else []) + ([(SHADOW, shadow)] if shadow else [])
    for k, (role, spec) in enumerate(plan):
        name, version = split_spec(spec)
        result = run(
            volume, name, version, _span(progress, k / len(plan), (k + 1) / len(plan)), cancel
        )
        key = (result.model_name, result.model_version)
        if (
            role == SHADOW
            and out["champion"] is not None
            and key == tuple(out["champion"]["model"].values())
        ):
            break  # the shadow is what is served: nothing to compare
        ids = store_calls(store, scan_id, result.calls, volume, user, part_mask, role=role)
        record_run(store, scan_id, key[0], key[1], role=role, calls=len(ids), user=user)
        out[role] = {
            "model": {"name": key[0], "version": key[1]},
            "call_ids": ids,
            "result": result,
        }
    return out
