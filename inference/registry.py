"""Named, versioned pre-label models: shipped ones and the user's own (fine-tuned) versions.

Built-in entries are ``resources/models/<dir>/model.json`` next to their weights. User
versions live in ``<user data dir>/models/<name>/<version>/`` (``NDELAB_DATA_DIR`` overrides
platformdirs' ``user_data_dir("ndelab")``). Registering a version never moves the default:
the default for 2D and for 3D is a pointer (``default.json`` in the user models dir, else the
built-in entry marked ``"default": true``) that only :meth:`Registry.set_default` changes.

Weights load only from local files, after their sha256 matches the entry, and through
``torch.load(..., weights_only=True)``: a tampered file is refused, never unpickled.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs
import torch
from torch import nn

from ndelab.inference.models import BUILDERS
from ndelab.volumes.dataset_hash import file_sha256
from ndelab.volumes.errors import NdelabError

BASELINE_NAME = "classical-baseline"
_VERSION_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._+-]{0,63}$")
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
DRIFT_REFERENCE_FILE = "drift_reference.json"


class ModelError(NdelabError):
    """A model is unknown, its weights are missing, corrupt or do not match their entry."""


@dataclass(frozen=True)
class ModelSpec:
    """One registry entry (what ``model.json`` says, with its paths resolved)."""

    name: str
    version: str
    dims: int
    builder: str
    arch: dict[str, Any]
    weights: Path
    sha256: str
    classes: tuple[str, ...]
    input: dict[str, Any]
    calibration: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    source: str = "builtin"  # or "user"
    is_builtin_default: bool = False
    # The folder of its model.json (card, README, drift reference); None: the weights'. A
    # built-in version that serves another's weights differently names them "../dir/file".
    card_dir: Path | None = None

    @property
    def folder(self) -> Path:
        return self.weights.parent if self.card_dir is None else self.card_dir

    @property
    def key(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def window(self) -> int:
        return int(self.input.get("window", 64))

    @property
    def drift_reference(self) -> Path:
        """The input drift reference beside model.json (inference.drift_reference makes it;
        a fine-tuned user version has none until one is made for it)."""
        return self.folder / DRIFT_REFERENCE_FILE

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "dims": self.dims,
            "builder": self.builder,
            "arch": self.arch,
            "weights": self.weights.name,
            "sha256": self.sha256,
            "classes": list(self.classes),
            "input": self.input,
            "calibration": self.calibration,
            "metrics": self.metrics,
            "default": self.is_builtin_default,
        }


def sha256_of(path: Path) -> str:
    return file_sha256(path)


def builtin_models_dir() -> Path:
    import ndelab.resources

    return Path(ndelab.resources.__file__).resolve().parent / "models"


def user_models_dir() -> Path:
    root = os.environ.get("NDELAB_DATA_DIR")
    base = Path(root) if root else Path(platformdirs.user_data_dir("ndelab"))
    return base / "models"


def _version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    # Numeric parts compare as numbers, so 1.10.0 sorts after 1.9.0.
    parts = re.split(r"[.+-]", version)
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in parts)


def _read_spec(path: Path, source: str) -> ModelSpec:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return ModelSpec(
            name=str(raw["name"]),
            version=str(raw["version"]),
            dims=int(raw.get("dims", 3)),
            builder=str(raw["builder"]),
            arch=dict(raw.get("arch", {})),
            weights=path.parent / str(raw["weights"]),
            sha256=str(raw["sha256"]).lower(),
            classes=tuple(str(c) for c in raw["classes"]),
            input=dict(raw.get("input", {})),
            calibration=dict(raw.get("calibration", {})),
            metrics=dict(raw.get("metrics", {})),
            source=source,
            is_builtin_default=bool(raw.get("default", False)) and source == "builtin",
            card_dir=path.parent,
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"model entry {path} is unreadable: {exc}") from None


def _is_component(path: Path) -> bool:
    """A card with a ``role`` (the radiograph second stage) is part of another detector, not a
    pre-label model of its own: the registry leaves it to its owner."""
    try:
        return "role" in json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False  # _read_spec reports the unreadable entry


class Registry:
    """All models known on this machine; cheap to build (reads only the small JSON files)."""

    def __init__(self, builtin_dir: Path | None = None, user_dir: Path | None = None) -> None:
        self.builtin_dir = builtin_models_dir() if builtin_dir is None else builtin_dir
        self.user_dir = user_models_dir() if user_dir is None else user_dir

    # --- listing ---------------------------------------------------------------------------

    def specs(self) -> list[ModelSpec]:
        out = [
            _read_spec(p, "builtin")
            for p in sorted(self.builtin_dir.glob("*/model.json"))
            if not _is_component(p)
        ]
        out += [_read_spec(p, "user") for p in sorted(self.user_dir.glob("*/*/model.json"))]
        return out

    def versions(self, name: str) -> list[ModelSpec]:
        """Every version of ``name``, oldest first."""
        found = [s for s in self.specs() if s.name == name]
        return sorted(found, key=lambda s: _version_key(s.version))

    # --- the default pointer ---------------------------------------------------------------

    def _pointer_file(self) -> Path:
        return self.user_dir / "default.json"

    def _pointers(self) -> dict[str, dict[str, str]]:
        path = self._pointer_file()
        if not path.exists():
            return {}
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ModelError(f"default model pointer {path} is unreadable: {exc}") from None
        return {str(k): dict(v) for k, v in raw.items()}

    def default(self, dims: int = 3) -> ModelSpec | None:
        """The default model for 2D or 3D scans; None when there is none (use the baseline)."""
        pointer = self._pointers().get(f"{dims}d")
        if pointer is not None:
            return self.get(pointer["name"], pointer["version"])
        for spec in self.specs():
            if spec.is_builtin_default and spec.dims == dims:
                return spec
        return None

    def set_default(self, name: str, version: str) -> ModelSpec:
        """Point the default for the model's dimensionality at ``name@version`` (explicitly)."""
        spec = self.get(name, version)
        pointers = self._pointers()
        pointers[f"{spec.dims}d"] = {"name": spec.name, "version": spec.version}
        self.user_dir.mkdir(parents=True, exist_ok=True)
        tmp = self._pointer_file().with_suffix(".tmp")
        tmp.write_text(json.dumps(pointers, indent=2) + "\n", encoding="utf-8")
        tmp.replace(self._pointer_file())
        return spec

    # --- look-up ---------------------------------------------------------------------------

    def get(self, name: str = "default", version: str | None = None, *, dims: int = 3) -> ModelSpec:
        """``default`` (for ``dims``), or ``name`` at ``version``.

        Without a version: the default's version when ``name`` is the default model, else
        the newest version of ``name``.
        """
        if name == "default":
            spec = self.default(dims)
            if spec is None:
                raise ModelError(f"there is no default {dims}D model on this machine")
            return spec
        found = self.versions(name)
        if not found:
            known = sorted({s.name for s in self.specs()} | {BASELINE_NAME})
            raise ModelError(f"unknown model {name!r}; known models: {', '.join(known)}")
        if version is None:
            current = self.default(found[0].dims)
            if current is not None and current.name == name:
                return current
            return found[-1]
        for spec in found:
            if spec.version == version:
                return spec
        have = ", ".join(s.version for s in found)
        raise ModelError(f"model {name!r} has no version {version!r}; it has {have}")

    # --- loading ---------------------------------------------------------------------------

    def load(self, spec: ModelSpec, device: torch.device | str = "cpu") -> nn.Module:
        """Build the network and load its checked weights; eval mode, on ``device``."""
        return load_network(spec, device)

    # --- registering -----------------------------------------------------------------------

    def register(
        self,
        name: str,
        version: str,
        weights: Path,
        metrics: dict[str, Any],
        *,
        base: ModelSpec | None = None,
        calibration: dict[str, Any] | None = None,
        input_spec: dict[str, Any] | None = None,
    ) -> ModelSpec:
        """Add a user version; never replaces an existing one and never moves the default.

        The new entry copies architecture, input spec and classes from ``base`` (the current
        default of the same kind when not given), and its weights must load into that network.
        ``input_spec`` entries replace the base's (e.g. another operating ``threshold``).
        """
        if not _NAME_RE.match(name):
            raise ModelError(f"model name {name!r} must be lower-case letters, digits, . _ -")
        if not _VERSION_RE.match(version) or name == BASELINE_NAME:
            raise ModelError(f"model version {version!r} of {name!r} is not allowed")
        if any(s.version == version for s in self.versions(name)):
            raise ModelError(f"model {name}@{version} already exists; choose a new version")
        weights = Path(weights)
        if not weights.is_file():
            raise ModelError(f"weights file {weights} does not exist")
        if base is None:
            base = self.default(3)
            if base is None:
                raise ModelError("no base model to take the architecture from")
        target = self.user_dir / name / version
        target.mkdir(parents=True, exist_ok=False)
        try:
            dest = target / "weights.pt"
            shutil.copyfile(weights, dest)
            spec = ModelSpec(
                name=name,
                version=version,
                dims=base.dims,
                builder=base.builder,
                arch=dict(base.arch),
                weights=dest,
                sha256=sha256_of(dest),
                classes=base.classes,
                input=dict(base.input) | dict(input_spec or {}),
                calibration=_inherited(base, calibration),
                metrics=dict(metrics),
                source="user",
            )
            load_network(spec, "cpu")  # refuses weights that do not fit the architecture
            record = spec.to_json() | {"base": base.key}
            (target / "model.json").write_text(json.dumps(record, indent=2) + "\n")
        except BaseException:
            shutil.rmtree(target, ignore_errors=True)
            raise
        return spec


def load_network(spec: ModelSpec, device: torch.device | str = "cpu") -> nn.Module:
    """Check the weights' sha256, load them with ``weights_only=True``, build the network."""
    path = spec.weights
    if not path.is_file():
        raise ModelError(f"weights of model {spec.key} are missing: {path} does not exist")
    digest = sha256_of(path)
    if digest != spec.sha256:
        raise ModelError(
            f"weights file {path} does not match model {spec.key}: sha256 is {digest[:12]}…, "
            f"the entry expects {spec.sha256[:12]}…"
        )
    builder = BUILDERS.get(spec.builder)
    if builder is None:
        raise ModelError(f"model {spec.key} needs the unknown network builder {spec.builder!r}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        net = builder(**spec.arch)
        net.load_state_dict(state)
    except Exception as exc:  # pickle, zip or shape errors: all mean a bad weights file
        raise ModelError(
            f"weights file {path} of model {spec.key} cannot be loaded: {exc}"
        ) from None
    return net.to(device).eval()


def _inherited(base: ModelSpec, calibration: Mapping[str, Any] | None) -> dict[str, Any]:
    """The calibration a new version takes from ``base``: the Platt coefficients still map a
    call's features to a score, but the reliability table describes the calls of the version
    it was fitted on (``table_of``), not this one's (another operating point or new weights
    make other calls), so output drift must not judge this version's scores against it."""
    out = dict(base.calibration if calibration is None else calibration)
    if out:
        out.setdefault("table_of", base.key)
    return out
