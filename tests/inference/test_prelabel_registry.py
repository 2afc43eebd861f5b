"""Registry: hash check, weights_only loading, tampered files, user versions and the default."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest
import torch

from ndelab.inference.models import BUILDERS
from ndelab.inference.registry import ModelError, Registry, sha256_of, user_models_dir

ARCH = {"base": 2, "levels": 1, "classes": 4, "in_channels": 1}


def _builtin(root: Path, name: str = "tiny", version: str = "1.0.0") -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    torch.manual_seed(0)
    torch.save(BUILDERS["unet3d"](**ARCH).state_dict(), folder / "weights.pt")
    entry = {
        "name": name,
        "version": version,
        "dims": 3,
        "builder": "unet3d",
        "arch": ARCH,
        "weights": "weights.pt",
        "sha256": sha256_of(folder / "weights.pt"),
        "classes": ["background", "pore", "crack", "inclusion"],
        "input": {"window": 16, "normalisation": "air-material-peaks"},
        "default": True,
    }
    (folder / "model.json").write_text(json.dumps(entry))
    return folder


@pytest.fixture
def registry(tmp_path: Path) -> Registry:
    _builtin(tmp_path / "builtin")
    return Registry(builtin_dir=tmp_path / "builtin", user_dir=tmp_path / "user")


def test_default_loads_after_hash_check(registry: Registry) -> None:
    spec = registry.get()
    assert spec.key == "tiny@1.0.0"
    net = registry.load(spec)
    assert not net.training
    out = net(torch.zeros(1, 1, 8, 8, 8))
    assert out.shape == (1, 4, 8, 8, 8)


def test_tampered_weights_are_refused(registry: Registry) -> None:
    spec = registry.get("tiny")
    data = bytearray(spec.weights.read_bytes())
    data[-10] ^= 0xFF
    spec.weights.write_bytes(bytes(data))
    with pytest.raises(ModelError, match=r"does not match model tiny@1\.0\.0"):
        registry.load(spec)


def test_missing_weights_are_a_model_error(registry: Registry) -> None:
    spec = registry.get("tiny")
    spec.weights.unlink()
    with pytest.raises(ModelError, match="missing"):
        registry.load(spec)


class _Evil:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (print, ("this must never run",))


def test_pickled_code_is_never_run_even_with_matching_hash(tmp_path: Path) -> None:
    folder = _builtin(tmp_path / "builtin")
    with (folder / "weights.pt").open("wb") as f:
        pickle.dump({"x": _Evil()}, f, protocol=2)
    entry = json.loads((folder / "model.json").read_text())
    entry["sha256"] = sha256_of(folder / "weights.pt")
    (folder / "model.json").write_text(json.dumps(entry))
    reg = Registry(builtin_dir=tmp_path / "builtin", user_dir=tmp_path / "user")
    with pytest.raises(ModelError, match="cannot be loaded"):
        reg.load(reg.get())


def test_register_never_moves_the_default(registry: Registry, tmp_path: Path) -> None:
    torch.manual_seed(1)
    weights = tmp_path / "tuned.pt"
    torch.save(BUILDERS["unet3d"](**ARCH).state_dict(), weights)
    spec = registry.register("tiny", "1.1.0", weights, {"recall": 0.9})
    assert spec.source == "user" and spec.metrics == {"recall": 0.9}
    assert registry.get().key == "tiny@1.0.0"
    assert registry.get("tiny").key == "tiny@1.0.0"  # the default's version wins by name
    assert [s.version for s in registry.versions("tiny")] == ["1.0.0", "1.1.0"]
    assert registry.get("tiny", "1.1.0").sha256 == sha256_of(weights)
    with pytest.raises(ModelError, match="already exists"):
        registry.register("tiny", "1.1.0", weights, {})
    registry.set_default("tiny", "1.1.0")
    assert registry.get().key == "tiny@1.1.0"
    assert Registry(registry.builtin_dir, registry.user_dir).get().key == "tiny@1.1.0"


def test_register_refuses_weights_of_another_network(registry: Registry, tmp_path: Path) -> None:
    weights = tmp_path / "other.pt"
    torch.save(BUILDERS["unet3d"](base=3, levels=1).state_dict(), weights)
    with pytest.raises(ModelError, match="cannot be loaded"):
        registry.register("tiny", "2.0.0", weights, {})
    assert [s.version for s in registry.versions("tiny")] == ["1.0.0"]


def test_unknown_names_and_versions(registry: Registry) -> None:
    with pytest.raises(ModelError, match="unknown model 'nope'"):
        registry.get("nope")
    with pytest.raises(ModelError, match="has no version '9'"):
        registry.get("tiny", "9")
    assert registry.default(2) is None


def test_user_dir_follows_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NDELAB_DATA_DIR", str(tmp_path))
    assert user_models_dir() == tmp_path / "models"
