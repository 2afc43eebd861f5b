"""Which model serves: the champion alias when set, else the registry's default; aliases must
name a registered NAME@VERSION; the window's pre-label path runs the champion."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from ndelab.annotation.store import Store, list_aliases, list_calls, set_alias
from ndelab.app.model_serving import parse_ref, serving_model, set_model_alias
from ndelab.app.workspace import attach_scan, prelabel_into
from ndelab.inference.registry import ModelError, Registry
from ndelab.volumes.errors import UsageError
from ndelab.volumes.phantom import make_ct_phantom
from ndelab.volumes.volume import Volume


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "review.db") as s:
        yield s


@pytest.fixture
def registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Registry:
    """The shipped models plus a user version 1.1.0 of the 3D one (its own weights copy)."""
    monkeypatch.setenv("NDELAB_DATA_DIR", str(tmp_path / "data"))
    reg = Registry()
    base = reg.default(3)
    assert base is not None
    reg.register(base.name, "1.1.0", base.weights, {"note": "test copy"}, base=base)
    return reg


def test_without_a_champion_the_registry_default_serves(registry: Registry, store: Store) -> None:
    default = registry.default(3)
    assert default is not None
    serving = serving_model(store, 3, registry)
    assert (serving.name, serving.version, serving.origin) == (
        default.name,
        default.version,
        "default",
    )
    assert serving_model(None, 3, registry).key == default.key


def test_the_champion_serves_its_dimensionality(registry: Registry, store: Store) -> None:
    row = set_model_alias(
        store, "champion", "ndelab-unet3d@1.1.0", user="ana", reason="r1", registry=registry
    )
    assert row["version"] == "1.1.0" and row["set_by"] == "ana"
    serving = serving_model(store, 3, registry)
    assert (serving.key, serving.origin) == ("ndelab-unet3d@1.1.0", "champion")
    # A 3D champion does not serve radiographs: their default does (none is shipped, so
    # prelabel's own fall back, the classical radiograph detector).
    assert registry.default(2) is None
    assert serving_model(store, 2, registry).key == "default"


@pytest.mark.parametrize(
    ("ref", "error", "words"),
    [
        ("ndelab-unet3d", UsageError, "must be given as NAME@VERSION"),
        ("ndelab-unet3d@9.9", ModelError, "has no version '9.9'"),
        ("nosuch@1", ModelError, "unknown model 'nosuch'"),
    ],
)
def test_an_alias_must_name_a_registered_version(
    registry: Registry, store: Store, ref: str, error: type[Exception], words: str
) -> None:
    with pytest.raises(error) as info:
        set_model_alias(store, "champion", ref, user="ana", reason="r", registry=registry)
    assert words in str(info.value) and "\n" not in str(info.value)
    assert list_aliases(store) == []


def test_a_champion_this_workstation_lacks_is_one_sentence(
    registry: Registry, store: Store
) -> None:
    set_alias(store, "champion", "ndelab-unet3d", "7.0", user="bo", reason="synced from B")
    with pytest.raises(ModelError, match=r"^the champion ndelab-unet3d@7\.0 is not a registered"):
        serving_model(store, 3, registry)


def test_parse_ref() -> None:
    assert parse_ref(" m@1.0 ") == ("m", "1.0")
    with pytest.raises(UsageError):
        parse_ref("@1")


def test_the_window_prelabel_runs_the_champion(registry: Registry, store: Store) -> None:
    set_model_alias(
        store, "champion", "ndelab-unet3d@1.1.0", user="ana", reason="r", registry=registry
    )
    ph = make_ct_phantom(48, seed=3)
    volume = Volume(np.asarray(ph.volume.data), spacing_mm=ph.volume.spacing_mm)
    scan_id, _ = attach_scan(store, volume, "sha-champion", "ana")
    summary = prelabel_into(store, scan_id, volume, "ana")
    assert (summary["model"], summary["version"]) == ("ndelab-unet3d", "1.1.0")
    calls = list_calls(store, scan_id)
    assert calls and {c["source"]["version"] for c in calls} == {"1.1.0"}
