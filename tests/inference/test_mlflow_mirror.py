"""The MLflow mirror against a local sqlite:/// tracking store: each registry version is an
MLflow model version whose source is ndelab's own folder, with its metrics; the aliases are
mirrored and move when the champion moves; a second run adds nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from ndelab.inference.mlflow_mirror import VERSION_TAG, mirror
from ndelab.inference.registry import Registry


def test_mirror_registers_versions_metrics_and_aliases(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Everything MLflow writes stays in tmp_path; no server, no network.
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'unused.db'}")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NDELAB_DATA_DIR", str(tmp_path / "data"))
    registry = Registry()
    base = registry.default(3)
    assert base is not None
    registry.register(base.name, "1.1.0", base.weights, base.metrics, base=base)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    champion = {"alias": "champion", "name": base.name, "version": base.version}
    out = mirror(uri, registry.specs(), [champion])
    assert sorted(out["registered"]) == sorted(s.key for s in registry.specs())
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    versions = client.search_model_versions(filter_string=f"name = '{base.name}'")
    by_tag = {v.tags[VERSION_TAG]: v for v in versions}
    assert set(by_tag) == {s.version for s in registry.versions(base.name)} >= {"1.1.0"}
    assert by_tag[base.version].source == base.folder.resolve().as_uri()  # no copy
    run = client.get_run(by_tag[base.version].run_id)
    assert run.data.metrics["precision"] == base.metrics["held_out"]["precision"]
    assert client.get_model_version_by_alias(base.name, "champion").tags[VERSION_TAG] == (
        base.version
    )

    again = mirror(uri, registry.specs(), [{**champion, "version": "1.1.0"}])
    assert again["registered"] == [] and len(again["existing"]) == len(registry.specs())
    assert client.get_model_version_by_alias(base.name, "champion").tags[VERSION_TAG] == "1.1.0"
    assert len(client.search_model_versions(filter_string=f"name = '{base.name}'")) == len(
        by_tag
    )  # nothing registered twice


def test_without_the_extra_one_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from ndelab.volumes.errors import UsageError

    monkeypatch.setitem(sys.modules, "mlflow", None)  # import mlflow raises ImportError
    with pytest.raises(
        UsageError, match=r"needs the optional extra: pip install 'ndelab\[mlflow\]'"
    ):
        mirror("sqlite:///x.db", [], [])
