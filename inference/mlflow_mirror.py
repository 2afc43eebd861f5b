"""A mirror of the registry in MLflow's model registry (optional extra ``ndelab[mlflow]``).

ndelab's registry stays the source of truth (model.json, sha256, weights_only loading). Each
version becomes an MLflow model version whose source is ndelab's own folder (no copy of the
weights), made by a run that holds its metrics; the review database's aliases (champion,
challenger, shadow) are mirrored as registered-model aliases. Running it again adds only what
is new and moves the aliases. MLflow is imported only here, when asked for (it is slow).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from ndelab.inference.registry import ModelSpec
from ndelab.volumes.errors import UsageError

EXPERIMENT = "ndelab-models"
VERSION_TAG = "ndelab.version"


def _client(tracking_uri: str) -> Any:
    try:
        from mlflow import MlflowClient
    except ImportError:
        raise UsageError(
            "the MLflow mirror needs the optional extra: pip install 'ndelab[mlflow]'"
        ) from None
    return MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)


def flat_metrics(spec: ModelSpec) -> dict[str, float]:
    """The registry's held-out figures as MLflow metrics (finite numbers only)."""
    held = spec.metrics.get("held_out", {})
    pod = held.get("pod_pores_diameter_vox", {})
    out: dict[str, Any] = {
        "precision": held.get("precision"),
        "recall": held.get("recall"),
        "false_calls": held.get("false_calls"),
        "class_agreement": held.get("class_agreement"),
        "a90_vox": pod.get("a90"),
        "a90_95_vox": pod.get("a90_95"),
    }
    for kind, row in held.get("recall_by_kind", {}).items():
        out[f"recall_{kind}"] = row.get("recall")
    return {
        k: float(v)
        for k, v in out.items()
        if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
    }


def mirror(
    tracking_uri: str, specs: Sequence[ModelSpec], aliases: Sequence[Mapping[str, Any]] = ()
) -> dict[str, Any]:
    """Mirror ``specs`` and ``aliases`` (list_aliases rows) into the MLflow registry at
    ``tracking_uri``. Returns what it registered, what was there already, and the aliases."""
    client = _client(tracking_uri)
    exp = client.get_experiment_by_name(EXPERIMENT)
    exp_id = exp.experiment_id if exp is not None else client.create_experiment(EXPERIMENT)
    registered, existing = [], []
    numbers: dict[tuple[str, str], str] = {}
    for spec in specs:
        if not client.search_registered_models(filter_string=f"name = '{spec.name}'"):
            client.create_registered_model(spec.name, tags={"ndelab.dims": str(spec.dims)})
        found = [
            v
            for v in client.search_model_versions(filter_string=f"name = '{spec.name}'")
            if v.tags.get(VERSION_TAG) == spec.version
        ]
        if found:
            numbers[(spec.name, spec.version)] = found[0].version
            existing.append(spec.key)
            continue
        run = client.create_run(
            exp_id,
            run_name=spec.key,
            tags={VERSION_TAG: spec.version, "ndelab.sha256": spec.sha256},
        )
        run_id = run.info.run_id
        for key, value in flat_metrics(spec).items():
            client.log_metric(run_id, key, value)
        client.log_param(run_id, "builder", spec.builder)
        client.log_param(run_id, "source", spec.source)
        client.set_terminated(run_id)
        version = client.create_model_version(
            spec.name,
            source=spec.folder.resolve().as_uri(),
            run_id=run_id,
            tags={VERSION_TAG: spec.version, "ndelab.sha256": spec.sha256},
            description=f"ndelab {spec.key}; weights {spec.weights.name} (sha256 {spec.sha256})",
        )
        numbers[(spec.name, spec.version)] = version.version
        registered.append(spec.key)
    mirrored = []
    names = {s.name for s in specs}
    for a in aliases:
        number = numbers.get((a["name"], a["version"]))
        if number is None:
            continue  # an alias naming a version this machine does not have
        for other in names - {a["name"]}:  # an alias names one model: move it off the others
            model = client.get_registered_model(other)
            if a["alias"] in (model.aliases or {}):
                client.delete_registered_model_alias(other, a["alias"])
        client.set_registered_model_alias(a["name"], a["alias"], number)
        mirrored.append(
            {"alias": a["alias"], "model": f"{a['name']}@{a['version']}", "mlflow_version": number}
        )
    return {
        "tracking_uri": tracking_uri,
        "registered": registered,
        "existing": existing,
        "aliases": mirrored,
    }


__all__ = ["EXPERIMENT", "flat_metrics", "mirror"]
