"""Which model serves: the champion alias of the review database when it is set, else the
registry's default pointer. ``ndelab prelabel`` without --model and the window's pre-label
both ask here, so a champion set on one workstation and synced is what every workstation of
the line runs.

Setting an alias checks that it names a registered NAME@VERSION: the store keeps pointers, the
registry knows what exists. The registry (and so torch) is imported only when asked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ndelab.annotation.store import Store, get_alias, list_aliases, set_alias
from ndelab.annotation.store.model_aliases import check_alias
from ndelab.volumes.errors import UsageError

if TYPE_CHECKING:
    from ndelab.inference.registry import ModelSpec, Registry


@dataclass(frozen=True)
class Serving:
    """The model a scan is pre-labelled with and why: "champion" (the alias) or "default"
    (the registry's pointer; also when the champion is of the other dimensionality)."""

    name: str
    version: str | None
    origin: str

    @property
    def key(self) -> str:
        return self.name if self.version is None else f"{self.name}@{self.version}"


def parse_ref(text: str) -> tuple[str, str]:
    """NAME@VERSION as (name, version); an alias must name one version exactly."""
    name, sep, version = text.strip().partition("@")
    if not sep or not name or not version:
        raise UsageError(f"model {text!r} must be given as NAME@VERSION (for example unet@1.0)")
    return name, version


def _registry(registry: Registry | None) -> Registry:
    if registry is not None:
        return registry
    from ndelab.inference.registry import Registry

    return Registry()


def registered(registry: Registry | None, name: str, version: str, what: str) -> ModelSpec:
    """The registry entry of name@version; one sentence naming ``what`` when it is not there."""
    from ndelab.inference.registry import ModelError

    try:
        return _registry(registry).get(name, version)
    except ModelError as e:
        raise ModelError(f"{what} {name}@{version} is not a registered model here ({e})") from None


def set_model_alias(
    store: Store,
    alias: str,
    ref: str,
    *,
    user: str,
    reason: str,
    registry: Registry | None = None,
) -> dict[str, Any]:
    """Point ``alias`` at the registered ``ref`` (NAME@VERSION): one audited change. Returns
    the alias as list_aliases shows it."""
    check_alias(alias)
    name, version = parse_ref(ref)
    registered(registry, name, version, f"model alias {alias} cannot name")
    set_alias(store, alias, name, version, user=user, reason=reason)
    return next(a for a in list_aliases(store) if a["alias"] == alias)


def serving_model(store: Store | None, dims: int = 3, registry: Registry | None = None) -> Serving:
    """The model that pre-labels a scan of ``dims`` dimensions on this workstation.

    A champion that is set but not registered here (synced from a workstation that has a
    version this one lacks) is one sentence, never a silent fall back to another model.
    """
    reg = _registry(registry)
    champion = get_alias(store, "champion") if store is not None else None
    if champion is not None:
        spec = registered(reg, *champion, "the champion")
        if spec.dims == dims:
            return Serving(spec.name, spec.version, "champion")
    default = reg.default(dims)
    if default is None:
        return Serving("default", None, "default")  # prelabel's own fall back (baseline)
    return Serving(default.name, default.version, "default")


def prelabel_args(store: Store | None, dims: int, model: str | None) -> dict[str, Any]:
    """``prelabel``'s model and version keywords: what the user asked for, else what serves."""
    if model is not None:
        name, _, version = model.partition("@")
        return {"model": name, "version": version or None}
    serving = serving_model(store, dims)
    return {"model": serving.name, "version": serving.version}


__all__ = ["Serving", "parse_ref", "prelabel_args", "serving_model", "set_model_alias"]
