"""Model commands: ``train``, ``evaluate``, ``models`` (list, compare, show, alias, mirror,
frozen-set, score, ab, promote), ``drift``."""

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
    p.add_argument(
        "--frozen",
        help="fine-tuning: the frozen test set both versions are compared on "
        "(ndelab models frozen-set create)",
    )
    p.add_argument("--steps", type=int, default=200, help="fine-tuning steps")
    p.add_argument(
        "--base",
        help="fine-tuning: the version to start from, NAME@VERSION (e.g. the champion in "
        "service; default: the registry's default 3D model)",
    )
    p.add_argument(
        "--physical-class",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="fine-tuning: the new version sets each call's class from physics: the sign of "
        "its contrast (inclusions brighter, voids darker), then a void's elongation (crack "
        "or pore); default: as the base has it",
    )
    p.add_argument(
        "--classical-inclusions",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="fine-tuning: the new version adds the classical detector's inclusions that "
        "its network does not call (default: as the base has it)",
    )
    p.add_argument("--name", help="registry name of the fine-tuned version")
    p.add_argument("--version", help="version of the fine-tuned model")
    p.add_argument("--out", help="phantom training: where the model folder goes")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dims", type=int, choices=(2, 3), default=3)
    p.add_argument(
        "--second-stage",
        action="store_true",
        help="radiographs (--dims 2): the candidate classifier behind the classical detector",
    )
    p.add_argument("--phantoms", type=int, help="second stage: training radiographs (default 240)")
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

    add_models_parsers(sub)

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


def train_second_stage(args: argparse.Namespace) -> int:
    """``ndelab train --dims 2 --second-stage --out DIR``: the radiograph candidate classifier."""
    if args.dims != 2:
        raise UsageError("--second-stage is the radiograph detector's: use --dims 2")
    if args.out is None:
        raise UsageError("train --second-stage needs --out DIR")
    if args.dataset is not None:
        raise UsageError("the second stage trains on phantoms only: drop --dataset")
    from ndelab.inference.radiograph.stage2_training import Stage2Config, train_stage2

    given = {
        k: v
        for k, v in (("epochs", args.epochs), ("batch", args.batch), ("phantoms", args.phantoms))
        if v is not None
    }
    card = train_stage2(Path(args.out), Stage2Config(seed=args.seed, **given))
    if args.json:
        print_json(card)
    else:
        print(json.dumps(card["calibration"], indent=2))
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    """On phantoms (the shipped recipe), or with --dataset: fine-tune on reviewed labels."""
    if args.second_stage:
        return train_second_stage(args)
    if args.phantoms is not None:
        raise UsageError("--phantoms is for the radiograph second stage: add --second-stage")
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
        args.dataset,
        name=args.name,
        version=args.version,
        base_model=args.base,
        input_spec={
            k: v
            for k, v in (
                ("physical_class", args.physical_class),
                ("classical_inclusions", args.classical_inclusions),
            )
            if v is not None
        },
        steps=args.steps,
        batch=args.batch or 4,
        frozen=args.frozen,
    )
    if args.json:
        print_json(result)
    elif result["new"] is None:
        print(
            f"registered {result['registered']} (default still {result['default']}); "
            f"{result['note']}"
        )
    else:
        new, cur = result["new"], result["current"]
        print(
            f"registered {result['registered']} (default still {result['default']}): on the "
            f"frozen set recall {new['recall']} vs {cur['recall']}, precision "
            f"{new['precision']} vs {cur['precision']}"
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


def add_models_parsers(sub: Any) -> None:
    """``ndelab models``: list, compare, show (the card), alias, mirror, frozen-set, score."""
    models = sub.add_parser("models", help="the model registry: list, compare, cards, aliases")
    msub = models.add_subparsers(dest="models_command", required=True)
    p = msub.add_parser("list", help="registered pre-label models")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_models_list)
    p = msub.add_parser("compare", help="the held-out figures of two models side by side")
    p.add_argument("names", nargs="*", metavar="NAME[@VERSION]")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_models_compare)
    p = msub.add_parser("show", help="a model's card: metrics, recipe, frozen-set scores, aliases")
    p.add_argument("model", metavar="NAME[@VERSION]")
    p.add_argument("--db", help="review database whose aliases to show")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_models_show)

    alias = msub.add_parser("alias", help="champion, challenger and shadow (audited, synced)")
    asub = alias.add_subparsers(dest="alias_command", required=True)
    p = asub.add_parser("set", help="point an alias at a registered NAME@VERSION")
    p.add_argument("alias", choices=("champion", "challenger", "shadow"))
    p.add_argument("model", metavar="NAME@VERSION")
    p.add_argument("--db", required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--reason", required=True, help="why (kept in the audit log)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_alias_set)
    p = asub.add_parser("list", help="the aliases of a review database")
    p.add_argument("--db", required=True)
    p.add_argument("--history", action="store_true", help="every change, oldest first")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_alias_list)

    p = msub.add_parser("mirror", help="mirror the registry and aliases into MLflow")
    p.add_argument("--tracking-uri", required=True, help="sqlite:///PATH or an MLflow server")
    p.add_argument("--db", help="review database whose aliases to mirror")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_mirror)

    frozen = msub.add_parser("frozen-set", help="the frozen test set (human truth only)")
    fsub = frozen.add_subparsers(dest="frozen_command", required=True)
    p = fsub.add_parser("create", help="write the scans labelled or corrected by hand")
    p.add_argument("--db", required=True)
    p.add_argument("--out", required=True, help="a new or empty folder")
    p.add_argument("--name", default="frozen")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_frozen_create)
    p = msub.add_parser(
        "ab", help="champion against challenger on the engineers' decisions, and the gate"
    )
    p.add_argument("--db", required=True, help="database URL or SQLite file")
    p.add_argument("--champion", metavar="NAME@V", help="default: the champion alias")
    p.add_argument(
        "--challenger",
        metavar="NAME@V",
        help="default: the challenger alias, else the shadow alias, else the shadow's calls",
    )
    p.add_argument("--rules", help="gate rules (default resources/promotion/default.yaml)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_ab, action="ab")
    p = msub.add_parser("promote", help="a challenger through the promotion gate to champion")
    p.add_argument("names", nargs=1, metavar="NAME@VERSION")
    p.add_argument("--db", required=True, help="database URL or SQLite file")
    p.add_argument("--user", help="who promotes (default: the login)")
    p.add_argument("--rules", help="gate rules (default resources/promotion/default.yaml)")
    p.add_argument("--champion", metavar="NAME@V", help="default: the champion alias")
    p.add_argument("--force", action="store_true", help="promote past a failing gate")
    p.add_argument("--reason", help="--force: why (audited)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_promote, action="promote")
    p = msub.add_parser("score", help="score a model version on a frozen set (kept for its card)")
    p.add_argument("model", metavar="NAME@VERSION")
    p.add_argument("--frozen", required=True, help="a folder made by models frozen-set create")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_models_score)


def _cmd_ab(args: argparse.Namespace) -> int:
    from ndelab.cli.model_ab import cmd_ab

    return cmd_ab(args)


def _cmd_promote(args: argparse.Namespace) -> int:
    from ndelab.cli.model_ab import cmd_promote

    return cmd_promote(args)


def cmd_models_list(args: argparse.Namespace) -> int:
    from ndelab.inference.registry import Registry

    registry = Registry()
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


def cmd_models_compare(args: argparse.Namespace) -> int:
    from ndelab.inference.registry import Registry

    registry = Registry()
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


def _existing_db(args: argparse.Namespace) -> None:
    from ndelab.annotation.store.database import normalise_url

    url = normalise_url(args.db)
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file():
        raise UsageError(f"database {args.db} does not exist")  # a typo makes no new database


def cmd_models_show(args: argparse.Namespace) -> int:
    from ndelab.app.model_card import card_lines, show_model

    if args.db is None:
        card = show_model(args.model)
    else:
        _existing_db(args)
        with open_db(args) as store:
            card = show_model(args.model, store)
    if args.json:
        print_json(card)
    else:
        print("\n".join(card_lines(card)))
    return 0


def cmd_alias_set(args: argparse.Namespace) -> int:
    from ndelab.app.model_serving import set_model_alias

    with open_db(args) as store:
        row = set_model_alias(store, args.alias, args.model, user=args.user, reason=args.reason)
    if args.json:
        print_json(row)
    else:
        print(f"{row['alias']} is {row['name']}@{row['version']} (set by {row['set_by']})")
    return 0


def cmd_alias_list(args: argparse.Namespace) -> int:
    from ndelab.annotation.store import alias_history, list_aliases

    _existing_db(args)
    with open_db(args) as store:
        rows = alias_history(store) if args.history else list_aliases(store)
    if args.json:
        print_json(rows)
    elif args.history:
        for h in rows:
            before = h["before"] or {}
            print(
                f"{h['at']}  {h['user']:<12} {h['alias']}: "
                f"{before.get('model_name', '-')}@{before.get('model_version', '-')} -> "
                f"{h['after']['model_name']}@{h['after']['model_version']}  ({h['reason']})"
            )
    else:
        for r in rows:
            print(f"{r['alias']:<10} {r['name']}@{r['version']}  {r['set_by']} {r['set_at']}")
    return 0


def cmd_mirror(args: argparse.Namespace) -> int:
    from ndelab.inference.mlflow_mirror import mirror
    from ndelab.inference.registry import Registry

    aliases: list[dict[str, Any]] = []
    if args.db is not None:
        from ndelab.annotation.store import list_aliases

        _existing_db(args)
        with open_db(args) as store:
            aliases = list_aliases(store)
    result = mirror(args.tracking_uri, Registry().specs(), aliases)
    if args.json:
        print_json(result)
    else:
        print(
            f"MLflow {result['tracking_uri']}: {len(result['registered'])} version(s) "
            f"registered, {len(result['existing'])} there already, "
            f"{len(result['aliases'])} alias(es) mirrored"
        )
    return 0


def cmd_frozen_create(args: argparse.Namespace) -> int:
    from ndelab.annotation.export.frozen_set import create_frozen_set

    _existing_db(args)
    with open_db(args) as store:
        summary = create_frozen_set(store, args.out, name=args.name)
    if args.json:
        print_json(summary)
    else:
        print(
            f"frozen set {summary['name']} ({summary['sha256']}): {len(summary['scans'])} "
            f"scans, {summary['labels']} labels in {summary['path']}"
        )
    return 0


def cmd_models_score(args: argparse.Namespace) -> int:
    from ndelab.inference.frozen_set import record_scores, runner_for, score_frozen

    name, _, version = args.model.partition("@")
    key, run = runner_for(name, version or None)
    result = score_frozen(args.frozen, run, model=key)
    result["recorded"] = str(record_scores(result))
    if args.json:
        print_json(result)
    else:
        s = result["sizing_mm"]
        print(
            f"{key} on frozen set {result['frozen_set']['sha256'][:12]}: recall "
            f"{result['recall']}, precision {result['precision']}, false calls per scan "
            f"{result['false_calls_per_scan']}, sizing bias {s['bias']} mm"
        )
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
