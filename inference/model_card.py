"""A model version's card as data: what it is, how it was made (the recipe and its hash), how
good it is on held-out phantoms and on every frozen test set it was scored on.

Sizing bias and spread and the class confusion come from the frozen-set scores: the phantom
evaluation stored in model.json keeps recall, precision and class agreement only.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from ndelab.inference.frozen_set import brief, recorded_scores
from ndelab.inference.registry import ModelError, ModelSpec

_REPRODUCE = re.compile(r"## Reproduce\s+```\s*\n(.*?)\n```", re.S)


def recipe_of(entry: dict[str, Any]) -> dict[str, Any]:
    """How the version was made: the phantom training record, or what it was fine-tuned on."""
    if "training" in entry:
        return {"kind": "phantom training", **entry["training"]}
    tuned = entry.get("metrics", {}).get("fine_tuned_on")
    if tuned is not None:
        return {"kind": "fine-tuned", "base": entry.get("base"), **tuned}
    return {"kind": "unknown"}


def recipe_sha256(recipe: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()


def _round(v: Any) -> Any:
    return round(v, 3) if isinstance(v, float) else v


def _held_out(metrics: dict[str, Any]) -> dict[str, Any]:
    held = metrics.get("held_out", {})
    scans = metrics.get("held_out_scans") or held.get("scans") or []
    pod = held.get("pod_pores_diameter_vox", {})
    pod_mm = held.get("pod_pores_diameter_mm", {})
    out = {
        "what": "phantoms, seeds >= 10000 (exact ground truth)",
        "image_quality": held.get("image_quality"),
        "a90_vox": _round(pod.get("a90")),
        "a90_95_vox": _round(pod.get("a90_95")),
        "a90_mm": _round(pod_mm.get("a90")),
        "a90_95_mm": _round(pod_mm.get("a90_95")),
        "recall": held.get("recall"),
        "recall_by_kind": {k: v.get("recall") for k, v in held.get("recall_by_kind", {}).items()},
        "precision": held.get("precision"),
        "false_calls": held.get("false_calls"),
        "false_calls_per_scan": round(held["false_calls"] / len(scans), 3)
        if scans and held.get("false_calls") is not None
        else None,
        "class_agreement": held.get("class_agreement"),
        "class_confusion": held.get("class_confusion"),
        "sizing_pores": held.get("sizing_pores"),
    }
    return {k: v for k, v in out.items() if v not in (None, {})}


def model_card(spec: ModelSpec) -> dict[str, Any]:
    folder = spec.folder
    try:
        entry = json.loads((folder / "model.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"model entry {folder / 'model.json'} is unreadable: {exc}") from None
    readme_path = folder / "README.md"
    readme = readme_path.read_text(encoding="utf-8") if readme_path.is_file() else None
    recipe = recipe_of(entry)
    found = _REPRODUCE.search(readme or "")
    scores = recorded_scores(spec.key)
    return {
        "model": spec.key,
        "name": spec.name,
        "version": spec.version,
        "dims": spec.dims,
        "source": spec.source,
        "folder": str(folder),
        "weights_sha256": spec.sha256,
        "classes": [c for c in spec.classes if c != "background"],
        "base": entry.get("base"),
        "recipe": recipe,
        "recipe_sha256": recipe_sha256(recipe),
        "reproduce": found.group(1).strip() if found else None,
        "held_out": _held_out(spec.metrics),
        "compared_with": spec.metrics.get("compared_with"),
        "frozen_sets": [brief(s) for s in scores],
        "class_confusion": {s["frozen_set"]["sha256"]: s["class_confusion"] for s in scores},
        "readme": str(readme_path) if readme is not None else None,
        "readme_text": readme,
    }


__all__ = ["model_card", "recipe_of", "recipe_sha256"]
