"""Model commands: ``train``, ``evaluate``, ``models``, ``drift``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ndelab.cli.common import open_db, print_json
from ndelab.volumes.errors import UsageError

if TYPE_CHECKING:
    from ndelab.inference.training import TrainConfig


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
    # Unset values take TrainConfig's defaults (one place), --batch also fine-tuning's 4.
    p.add_argument("--epochs", type=int, help="default 12")
    p.add_argument("--steps-per-epoch", type=int, help="default 50")
    p.add_argument("--batch", type=int, help="default 8 (fine-tuning: 4)")
    p.add_argument("--crop", type=int, help="default 32 (3D) or 64 (2D)")
    p.add_argument("--no-balance", action="store_true", help="defect crops uniform over defects")
    p.add_argument(
        "--no-surface-negatives", action="store_true", help="no crops on the part's surface (3D)"
    )
    p.add_argument("--not-default", action="store_true", help="do not mark it the default")
    p.add_argument(
        "--engine",
        choices=("local", "ray"),
        help="phantom training: local (this process, the default) or ray (Ray Train's "
        "TorchTrainer; the default when RAY_ADDRESS is set)",
    )
    p.add_argument("--train-workers", type=int, default=1, help="Ray Train workers (DDP)")
    p.add_argument(
        "--ray-storage",
        help="Ray Train's checkpoint folder: one every node can reach (default: a temp folder)",
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="recall, precision and POD on held-out phantoms")
    p.add_argument("--model", default="default", help="a registered name, or classical-baseline")
    p.add_argument("--seeds", default="10000-10005", help="A-B or A,B,C (10000 and up)")
    p.add_argument("--sizes", help="CT: default 96,128,160; xray: one side, default 512")
    p.add_argument("--kind", choices=("ct", "xray"), default="ct")
    p.add_argument("--radiograph", action="store_true", help="the same as --kind xray")
    p.add_argument(
        "--part", choices=("weld", "casting"), help="xray: only this part (default by seed parity)"
    )
    p.add_argument("--plot", help="write the POD curve to this PNG")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("models", help="list or compare registered pre-label models")
    p.add_argument("action", choices=("list", "compare"))
    p.add_argument("names", nargs="*")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_models)

    p = sub.add_parser(
        "drift",
        help="input drift of recent scans against a model's training reference, and output "
        "drift of its calls (scores, calls per scan, accept rate) from the review database",
    )
    p.add_argument("--db", required=True, help="database URL or SQLite file")
    p.add_argument(
        "--model",
        help="NAME or NAME@VERSION (default: every model with a drift reference, "
        "and every model version in the database)",
    )
    p.add_argument("--window", type=int, default=30, help="scans per window (default 30)")
    p.add_argument("--alerts", help="alert levels (default resources/drift/alerts.yaml)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_drift)


def train_config(args: argparse.Namespace) -> TrainConfig:
    """The phantom training settings that ``ndelab train`` flags ask for."""
    from ndelab.inference.training import TrainConfig

    given = {
        k: v
        for k in ("epochs", "steps_per_epoch", "batch", "crop")
        if (v := getattr(args, k)) is not None
    }
    return TrainConfig(
        dims=args.dims,
        seed=args.seed,
        balance=not args.no_balance,
        surface_negatives=not args.no_surface_negatives,
        **given,
    )


def cmd_train(args: argparse.Namespace) -> int:
    """On phantoms (the shipped recipe), or with --dataset: fine-tune on reviewed labels."""
    if args.dataset is None:
        if args.out is None:
            raise UsageError("train needs --out DIR (phantom training) or --dataset DIR")
        config = train_config(args)
        from ndelab.app.engines import default_engine_name, make_engine
        from ndelab.inference.training import train_default

        name = args.engine or default_engine_name()
        ray = {"storage_path": args.ray_storage, "train_workers": args.train_workers}
        engine = make_engine(name, **(ray if name == "ray" else {}))
        try:
            metrics = train_default(
                Path(args.out),
                config,
                make_default=not args.not_default,
                log=lambda s: print(s, flush=True),
                trainer=engine.train,
            )
        finally:
            engine.close()
        held = metrics["held_out"]
        print(json.dumps({k: held[k] for k in ("recall_by_diameter_vox", "precision")}, indent=2))
        return 0
    if args.engine == "ray":
        raise UsageError("--engine ray trains on phantoms (--out); fine-tuning runs locally")
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
    xray = args.kind == "xray" or args.radiograph
    try:
        sizes = [int(v) for v in (args.sizes or ("512" if xray else "96,128,160")).split(",")]
    except ValueError:
        raise UsageError(f"--sizes takes N or N,N,...; got {args.sizes!r}") from None
    if xray:
        from ndelab.inference.evaluation import evaluate_xray

        if min(sizes) < 64:
            raise UsageError("radiograph evaluation needs images of 64 pixels a side or more")
        result = evaluate_xray(args.model, seeds, sizes[0], part=args.part)
    else:
        if args.part:
            raise UsageError("--part is for radiographs: add --kind xray")
        result = evaluate(args.model, seeds, sizes)
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


def cmd_drift(args: argparse.Namespace) -> int:
    from ndelab.annotation.store.database import normalise_url
    from ndelab.app.drift_report import drift_report, summary_lines

    url = normalise_url(args.db)
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file():
        raise UsageError(f"database {args.db} does not exist")  # a typo makes no new database
    with open_db(args) as store:
        report = drift_report(
            store,
            model=args.model,
            window=args.window,
            alerts_path=None if args.alerts is None else Path(args.alerts),
        )
    if args.json:
        print_json(report)
    else:
        print("\n".join(summary_lines(report)))
    return 0
