"""``ndelab models show``: a model version's card with the aliases that name it now."""

from __future__ import annotations

from typing import Any

from ndelab.annotation.store import Store, list_aliases


def show_model(ref: str, store: Store | None = None) -> dict[str, Any]:
    """The card of NAME[@VERSION] (NAME alone: the version the registry serves by default),
    with ``aliases``: the aliases of the review database that point at it, and all of them."""
    from ndelab.inference.model_card import model_card
    from ndelab.inference.registry import Registry

    name, _, version = ref.partition("@")
    spec = Registry().get(name, version or None)
    card = model_card(spec)
    every = list_aliases(store) if store is not None else []
    card["aliases"] = [
        a["alias"] for a in every if (a["name"], a["version"]) == (spec.name, spec.version)
    ]
    card["all_aliases"] = every
    return card


def card_lines(card: dict[str, Any]) -> list[str]:
    """The card as a person reads it in a terminal."""
    held, lines = card["held_out"], []
    lines.append(f"{card['model']}  {card['dims']}D  {card['source']}  {card['folder']}")
    lines.append(f"aliases: {', '.join(card['aliases']) or '(none)'}")
    lines.append(f"weights sha256 {card['weights_sha256']}")
    lines.append(f"recipe ({card['recipe']['kind']}) sha256 {card['recipe_sha256']}")
    if card["reproduce"]:
        lines.append(f"reproduce: {card['reproduce']}")
    mm = f" ({held['a90_95_mm']} mm)" if held.get("a90_95_mm") is not None else ""
    lines.append(
        f"held-out phantoms: a90/95 {held.get('a90_95_vox')} vox{mm}, precision "
        f"{held.get('precision')}, false calls per scan {held.get('false_calls_per_scan')}, "
        f"class agreement {held.get('class_agreement')}"
    )
    if held.get("image_quality"):
        lines.append(f"  for {held['image_quality']}")
    sizing = held.get("sizing_pores") or {}
    if "bias_mm" in sizing:
        lines.append(
            f"  pore sizing (called - true diameter, {sizing['pores']} hits): bias "
            f"{sizing['bias_mm']} mm spread {sizing['spread_mm']} mm, median ratio "
            f"{sizing['median_ratio']}"
        )
    for truth, row in sorted((held.get("class_confusion") or {}).items()):
        called = ", ".join(f"{k} {v}" for k, v in sorted(row.items()))
        lines.append(f"  class confusion: {truth} called {called}")
    for f in card["frozen_sets"]:
        s = f["sizing_mm"]
        lines.append(
            f"frozen set {f['frozen_set']['name']} ({f['frozen_set']['sha256'][:12]}, "
            f"{f['frozen_set']['scans']} scans): recall {f['recall']}, precision "
            f"{f['precision']}, false calls per scan {f['false_calls_per_scan']}, sizing bias "
            f"{s['bias']} mm spread {s['spread']} mm, a90/95 {f['a90_95_mm']} mm"
        )
    if not card["frozen_sets"]:
        lines.append("frozen sets: none scored (ndelab models score NAME@VERSION --frozen DIR)")
    return lines


__all__ = ["card_lines", "show_model"]
