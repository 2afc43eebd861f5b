"""Write a built-in version that serves another version's weights with a different input.

    .venv/bin/python resources/models/make_served_version.py --base ndelab-unet3d \
        --version 1.0.2 --set classical_pores=true --default

makes resources/models/ndelab-unet3d-1.0.2/: a model.json whose weights are the base's
("../ndelab-unet3d/weights.pt", the same sha256), the base's input with the --set entries,
the base's calibration and training record, the held-out figures of the new version
(`ndelab evaluate` on seeds 10000-10011, sizes 96, 128 and 160) beside the base's, its POD
plot, the base's input drift reference (same weights, same inputs) and a README. With
--default it becomes the built-in default and the base stops being it.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SEEDS = list(range(10000, 10012))
SIZES = [96, 128, 160]


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _recall(r: dict[str, Any]) -> str:
    return f"{r['recall']} ({r['hit']}/{r['n']})"


def readme(card: dict[str, Any], base: dict[str, Any], changed: dict[str, Any]) -> str:
    held, old = card["metrics"]["held_out"], base["metrics"]["held_out"]
    name, version = card["name"], card["version"]

    def row(label: str, m: dict[str, Any]) -> str:
        bins = m["recall_by_diameter_vox"]
        kinds = m["recall_by_kind"]
        pod = m.get("pod_pores_diameter_mm", {})
        a9095 = f"{pod['a90_95']:.3f}" if "a90_95" in pod else "-"
        return (
            f"| {label} | {_recall(bins['0-2']['pores'])} | {_recall(bins['2-3.5']['pores'])} | "
            f"{_recall(bins['>=3.5']['pores'])} | {kinds['crack']['recall']} | "
            f"{kinds['inclusion']['recall']} | {m['precision']} | "
            f"{m['false_calls'] / len(m['seeds']):.2f} | {m['class_agreement']} | {a9095} |"
        )

    sizing = held["sizing_pores"]
    confusion = "\n".join(
        f"| {truth} | "
        + " | ".join(str(held["class_confusion"].get(truth, {}).get(c, 0)) for c in CLASSES)
        + " |"
        for truth in CLASSES
    )
    settings = ", ".join(f"`{k}: {json.dumps(v)}`" for k, v in changed.items())
    sets = " ".join(f"--set {k}={json.dumps(v)}" for k, v in changed.items())
    default = " --default" if card.get("default") else ""
    command = (
        f".venv/bin/python resources/models/make_served_version.py --base "
        f"{card['weights'].split('/')[-2]} --version {version} {sets}{default}"
    )
    return f"""# {name} {version}

{version} serves the {base["version"]} weights (`../{card["weights"].split("/")[-2]}/`, the same
sha256 `{card["sha256"][:12]}…`) with a different input: {settings}. See
`inference/hybrid.py`: the classical detector's calls of those kinds that no network call
stands for come in as calls of this version, and so do the pores of a classical cluster blob
that the network's calls cover only in part (a void whose box meets a classical inclusion is
that inclusion's halo and stays out). They are read off the cascade's own candidate map at the
classical detector's threshold, so the scan is filtered once. The rest of the path is
{base["version"]}'s: the cascade, the physical class, the classical inclusions. The training
recipe and its record are the base's (see its README).

## Reproduce

```
{command}
```

## Held-out phantoms

Seeds {SEEDS[0]}-{SEEDS[-1]}, sizes {", ".join(map(str, SIZES))}, the same scans for both rows;
{held["image_quality"]}. Recall of pores by equivalent diameter (voxels), of cracks and
inclusions; false calls per scan; a90/95 of pores in mm (0.1 mm voxels).

{HEADER}
{row(f"{version}", held)}
{row(f"{base['version']}", old)}

Pore sizing of {version}'s hits (called minus true equivalent diameter, {sizing["pores"]} pores):
bias {sizing["bias_mm"]} mm, spread {sizing["spread_mm"]} mm (standard deviation), median
ratio called / true {sizing["median_ratio"]}.

Class confusion of {version}'s hits (rows: truth, columns: called):

| truth | {" | ".join(CLASSES)} |
|---|---|---|---|
{confusion}

POD: pod.png. Reproduce: `.venv/bin/ndelab evaluate --model {name}@{version} --seeds
{SEEDS[0]}-{SEEDS[-1]} --json --plot POD.png`.
"""


CLASSES = ("pore", "crack", "inclusion")
HEADER = (
    "| version | pores 0-2 | pores 2-3.5 | pores >= 3.5 | cracks | inclusions | precision "
    "| false calls / scan | class agreement | a90/95 (mm) |\n"
    "|---|---|---|---|---|---|---|---|---|---|"
)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base", required=True, help="the folder under resources/models")
    ap.add_argument("--version", required=True)
    ap.add_argument("--set", action="append", default=[], metavar="KEY=JSON")
    ap.add_argument("--default", action="store_true")
    args = ap.parse_args()

    from ndelab.inference.evaluation import evaluate, plot_pod

    base_dir = HERE / args.base
    base = json.loads((base_dir / "model.json").read_text(encoding="utf-8"))
    changed = {k: _value(v) for k, v in (s.split("=", 1) for s in args.set)}
    out = HERE / f"{args.base}-{args.version}"
    out.mkdir(exist_ok=True)
    card = {
        **base,
        "version": args.version,
        "weights": f"../{args.base}/{base['weights']}",
        "input": {**base["input"], **changed},
        "default": False,
        "served_from": f"{base['name']}@{base['version']}",
        "metrics": {},
    }
    (out / "model.json").write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    # The base's input drift reference (same weights, same inputs), under the new version.
    ref = json.loads((base_dir / "drift_reference.json").read_text(encoding="utf-8"))
    ref["model"] = f"{card['name']}@{args.version}"
    (out / "drift_reference.json").write_text(json.dumps(ref, indent=2) + "\n", encoding="utf-8")
    held = evaluate(f"{card['name']}@{args.version}", seeds=SEEDS, sizes=SIZES)
    plot_pod(held, out / "pod.png", title=f"{card['name']} {args.version}, held-out phantoms")
    held_out = {k: v for k, v in held.items() if k != "scans"}
    card["metrics"] = {
        "held_out": held_out,
        "held_out_scans": held["scans"],
        f"held_out_{base['version'].replace('.', '_')}": base["metrics"].get("held_out"),
    }
    card["default"] = bool(args.default)
    (out / "model.json").write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    (out / "README.md").write_text(readme(card, base, changed), encoding="utf-8")
    if args.default and base.get("default"):
        # The base's README still shows the training command that made it the default.
        base["default"], base["trained_as_default"] = False, True
        (base_dir / "model.json").write_text(json.dumps(base, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: held_out[k] for k in ("recall_by_kind", "precision")}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
