"""Model commands: ``train``, ``evaluate``, ``models``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ndelab.cli.common import print_json
from ndelab.volumes.errors import UsageError


def add_parsers(sub: Any) -> None:
    p = sub.add_parser(
        "train",
        help="train the pre-label model on phantoms, or fine-tune it "
        "on an exported data set (--dataset)",
    )
    p.add_argument("--dataset", help="a folder written by ndelab export (fine-tune, register)")
    p.add_argument("--steps", type=int, default=200, help="fine-tuning steps")
    p.add_argument("--name", help="registry name of the fine-tuned version")
    p.add_argument("--version", help="version of the fine-tuned model")
    p.add_argument("--out", help="phantom training: where the model folder goes")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dims", type=int, choices=(2, 3), default=3)
    p.add_argument("--epochs", type=int)
    p.add_argument("--steps-per-epoch", type=int)
    p.add_argument("--batch", type=int)
    p.add_argument("--crop", type=int)
    p.add_argument("--not-default", action="store_true")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="recall, precision and POD on held-out phantoms")
    p.add_argument("--model", default="default", help="a registered name, or classical-baseline")
    p.add_argument("--seeds", default="10000-10005", help="A-B or A,B,C (10000 and up)")
    p.add_argument("--sizes", default="96,128,160")
    p.add_argument("--radiograph", action="store_true")
    p.add_argument("--plot", help="write the POD curve to this PNG")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("models", help="list or compare registered pre-label models")
    p.add_argument("action", choices=("list", "compare"))
    p.add_argument("names", nargs="*")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_models)


def cmd_train(args: argparse.Namespace) -> int:
    """On phantoms (the shipped recipe), or with --dataset: fine-tune on reviewed labels."""
    if args.dataset is None:
        from ndelab.inference.training import main as train_main

        if args.out is None:
            raise UsageError("train needs --out DIR (phantom training) or --dataset DIR")
        argv = ["--out", args.out, "--seed", str(args.seed), "--dims", str(args.dims)]
        for flag, value in (
            ("--epochs", args.epochs),
            ("--steps-per-epoch", args.steps_per_epoch),
            ("--batch", args.batch),
            ("--crop", args.crop),
        ):
            if value is not None:
                argv += [flag, str(value)]
        argv += [flag for flag, on in (("--not-default", args.not_default),) if on]
        return train_main(argv)
    from ndelab.inference.finetune import finetune

    result = finetune(
        args.dataset, name=args.name, version=args.version, steps=args.steps, batch=args.batch or 4
    )
    if args.json:
        print_json(result)
    else:
        print(
            f"registered {result['registered']} (default still {result['default']}): "
            f"val recall {result['new']['recall']} vs {result['current']['recall']}, "
            f"precision {result['new']['precision']} vs {result['current']['precision']}"
        )
    return 0


def _seeds(text: str) -> list[int]:
    try:
        if "-" in text:
            lo, hi = (int(v) for v in text.split("-", 1))
            return list(range(lo, hi + 1))
        return [int(v) for v in text.split(",")]
    except ValueError:
        raise UsageError(f"--seeds takes A-B or A,B,C; got {text!r}") from None


def cmd_evaluate(args: argparse.Namespace) -> int:
    from ndelab.inference.evaluation import evaluate, plot_pod

    seeds = _seeds(args.seeds)
    if min(seeds) < 10000:
        raise UsageError("evaluation seeds start at 10000: lower seeds are used for training")
    sizes = [int(v) for v in args.sizes.split(",")]
    result = evaluate(args.model, seeds, sizes, radiograph=args.radiograph)
    if args.plot:
        result["plot"] = str(plot_pod(result, Path(args.plot)))
    if args.json:
        print_json(result)
    else:
        print(json.dumps(result.get("summary", result), indent=2, default=str))
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from ndelab.inference.registry import Registry

    registry = Registry()
    if args.action == "list":
        defaults = {d: registry.default(d) for d in (2, 3)}
        rows = []
        for spec in registry.specs():
            row = spec.to_json()
            row["default"] = any(d is not None and d.key == spec.key for d in defaults.values())
            rows.append(row)
        if args.json:
            print_json(rows)
        else:
            for r in rows:
                print(
                    f"{r['name']}@{r['version']}  {r['dims']}D  {r.get('source', '')}"
                    + ("  (default)" if r["default"] else "")
                )
        return 0
    if len(args.names) != 2:
        raise UsageError("models compare takes two models: NAME[@VERSION] NAME[@VERSION]")
    specs = []
    for text in args.names:
        name, _, version = text.partition("@")
        specs.append(registry.get(name, version or None))
    out = {
        "models": [s.key for s in specs],
        "held_out": [s.metrics.get("held_out", s.metrics) for s in specs],
    }
    print_json(out)
    return 0
