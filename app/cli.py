"""The ``ndelab`` command: the GUI entry points and the automation contract.

Errors users cause print one sentence and exit 2; details go to the log file.
"""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ndelab.app import cli_server
from ndelab.app.logs import setup_logging
from ndelab.volumes.errors import NdelabError, UsageError

log = logging.getLogger(__name__)

EXIT_USER_ERROR = 2
EXIT_INTERNAL_ERROR = 1
# ndelab.annotation.export_dataset.FORMATS, spelled out so that building the parser does not
# import the annotation layer (half a second); a test keeps the two equal.
EXPORT_FORMATS = ("hdf5", "nifti", "nrrd", "coco", "dicom-seg")


def parse_shape(text: str | None) -> tuple[int, int, int] | None:
    if text is None:
        return None
    try:
        parts = tuple(int(p) for p in text.replace("x", ",").split(","))
    except ValueError:
        raise UsageError(f"--shape must be three integers Z,Y,X, got {text!r}") from None
    if len(parts) != 3 or min(parts) <= 0:
        raise UsageError(f"--shape must be three positive integers Z,Y,X, got {text!r}")
    return (parts[0], parts[1], parts[2])


def _add_read_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--shape", help="Z,Y,X for plain raw files")
    p.add_argument(
        "--dtype", help="voxel type for plain raw files (uint16, int16, float32, >u2 ...)"
    )
    p.add_argument("--header-bytes", type=int, default=0, help="bytes to skip in a raw file")
    p.add_argument("--dataset", help="dataset path inside an HDF5 file")


def _read_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "shape": parse_shape(args.shape),
        "dtype": args.dtype,
        "header_bytes": args.header_bytes,
        "dataset": args.dataset,
    }


def cmd_info(args: argparse.Namespace) -> int:
    from ndelab.volumes.io import open_volume
    from ndelab.volumes.readers.dicom import SOURCE_SLICES

    volume = open_volume(args.path, **_read_kwargs(args))
    info = volume.describe()
    slices = info["metadata"].get(SOURCE_SLICES)
    if isinstance(slices, list):  # one entry per slice: the count is what a reader wants here
        info["metadata"][SOURCE_SLICES] = f"{len(slices)} source instances"
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        for key in ("format", "shape", "dtype", "spacing_mm", "origin_mm", "modality", "source"):
            print(f"{key:>11}: {info[key]}")
        for warning in volume.warnings:
            print(f"    warning: {warning}")
    return 0


def cmd_convert(args: argparse.Namespace) -> int:
    from ndelab.volumes.io import open_volume, write_volume

    volume = open_volume(args.input, **_read_kwargs(args))
    write_volume(volume, args.output)
    print(f"wrote {args.output} ({'x'.join(map(str, volume.shape))} {volume.dtype})")
    return 0


def cmd_phantom(args: argparse.Namespace) -> int:
    from ndelab.volumes.phantom import make_ct_phantom, make_radiograph, save_phantom

    if args.size < 16 or args.size > 1024:
        raise UsageError(f"--size must be between 16 and 1024, got {args.size}")
    if args.kind == "ct":
        phantom = make_ct_phantom(args.size, seed=args.seed)
    else:
        phantom = make_radiograph(args.size, seed=args.seed)
    written = save_phantom(phantom, Path(args.outdir))
    summary = {
        "kind": args.kind,
        "seed": args.seed,
        "size": args.size,
        "defects": len(phantom.defects),
        "files": written,
    }
    print(json.dumps(summary, indent=2) if args.json else "\n".join(written.values()))
    return 0


def cmd_gui(args: argparse.Namespace) -> int:
    from ndelab.app.gui import run_gui

    path = getattr(args, "path", None)
    return run_gui(
        path=path, demo=args.command == "demo", read_options=_read_kwargs(args) if path else None
    )


def cmd_screenshot(args: argparse.Namespace) -> int:
    from ndelab.app.gui import take_screenshot

    if (args.path is None) == (not args.demo):
        raise UsageError("screenshot needs either a PATH or --demo")
    out = take_screenshot(
        path=args.path,
        demo=args.demo,
        out=Path(args.out),
        size=(args.width, args.height),
        read_options=_read_kwargs(args),
    )
    print(out)
    return 0


def _store(args: argparse.Namespace) -> Any:
    from ndelab.annotation import open_store

    return open_store(args.db)


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, default=str))


def cmd_calls(args: argparse.Namespace) -> int:
    from ndelab.annotation import list_calls

    with _store(args) as store:
        rows = list_calls(store, args.scan, status=args.status)
    if args.json:
        _print_json(rows)
    else:
        for r in rows:
            z, y, x = r["centroid_zyx"]
            print(
                f"{r['id']}  {r['status']:<9} {r['class']:<14} score {r['score'] or 0:.2f}  "
                f"Ø {r['equivalent_diameter_mm']:.3f} mm  at z {z:.0f} y {y:.0f} x {x:.0f}"
            )
    return 0


def cmd_review(args: argparse.Namespace) -> int:
    from ndelab.annotation import review

    action = next(a for a in ("accept", "reject", "reopen") if getattr(args, a))
    with _store(args) as store:
        call = review(store, args.call_id, action, args.user, args.reason)
    if args.json:
        _print_json(call)
    else:
        print(f"{call['id']} is now {call['status']} (revision {call['revision']})")
    return 0


def cmd_disposition(args: argparse.Namespace) -> int:
    from ndelab.annotation import disposition

    with _store(args) as store:
        result = disposition(store, args.scan, args.criteria, sign_user=args.sign)
    if args.json:
        _print_json(result)
    else:
        print(
            f"verdict: {result['verdict']}" + (" (unsigned preview)" if result["preview"] else "")
        )
        for r in result["reasons"]:
            print(
                f"  {'pass' if r['passed'] else 'FAIL'}  {r.get('title') or r.get('rule')}: "
                f"{r['check']} measured {r.get('measured')} limit {r.get('limit')}"
            )
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    from ndelab.annotation import audit

    with _store(args) as store:
        events = audit(store, args.scan)
    if args.json:
        _print_json(events)
    else:
        for e in events:
            print(
                f"{e['at']}  {e['user']:<12} {e['action']:<8} {e['entity_type']} {e['entity_id']}"
                + (f"  ({e['reason']})" if e["reason"] else "")
            )
    return 0


def cmd_prelabel(args: argparse.Namespace) -> int:
    from ndelab.app.workspace import attach_scan, store_calls, volume_sha256
    from ndelab.inference.prelabel import prelabel
    from ndelab.volumes.io import open_volume

    user = args.user or getpass.getuser()
    with _store(args) as store:
        for path in args.paths:
            volume = open_volume(path)
            scan_id, _ = attach_scan(store, volume, volume_sha256(volume), user)
            result = prelabel(volume, model=args.model)
            ids = store_calls(store, scan_id, result.calls, volume.spacing_mm, user)
            kept = [c for c in result.calls if np.asarray(c.mask).any()]
            out = {
                "scan_id": scan_id,
                "path": str(path),
                "model": {"name": result.model_name, "version": result.model_version},
                "device": result.device,
                "seconds": round(result.seconds, 3),
                "calls": [
                    {
                        "id": call_id,
                        "class": c.class_name,
                        "score": round(c.score, 4),
                        "centroid_zyx": [round(v, 3) for v in c.centroid_zyx],
                        "bbox_zyx": list(c.bbox_zyx),
                        "volume_voxels": c.volume_voxels,
                        "volume_mm3": c.volume_mm3,
                    }
                    for call_id, c in zip(ids, kept, strict=True)
                ],
            }
            if args.json:
                print(json.dumps(out))  # one object per line with several paths
            else:
                print(
                    f"{path}: {len(ids)} calls from {result.model_name} {result.model_version} "
                    f"(scan {scan_id})"
                )
    return 0


def cmd_sync(args: argparse.Namespace) -> int:
    from ndelab.annotation.sync import sync

    with _store(args) as store:
        result = sync(
            store, args.remote, args.user, batch_size=args.batch_size, sslmode=args.sslmode
        )
    if args.json:
        _print_json(result)
    else:
        print(
            f"pushed {result['pushed']}, pulled {result['pulled']}, "
            f"conflicts {result['conflicts']} new ({result['open_conflicts']} open)"
        )
    if result["refused_message"]:
        print(f"ndelab: {result['refused_message']}", file=sys.stderr)
    return 0


def cmd_conflicts(args: argparse.Namespace) -> int:
    from ndelab.annotation.conflicts import list_conflicts, resolve_conflict

    with _store(args) as store:
        if args.resolve:
            conflict_id, how = args.resolve
            if args.user is None:
                raise UsageError("resolving a conflict needs --user")
            _print_json(resolve_conflict(store, conflict_id, how, args.user))
            return 0
        conflicts = list_conflicts(store, status=None if args.all else "open")
    if args.json:
        _print_json(conflicts)
    else:
        for c in conflicts:
            print(f"{c['id']}  {c.get('status')}  call {c.get('entity_id')}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from ndelab.annotation.export_dataset import export_dataset

    with _store(args) as store:
        summary = export_dataset(
            store, args.out, fmt=args.format, val_fraction=args.val_fraction, seed=args.seed
        )
    if args.json:
        _print_json(summary)
    else:
        splits = summary["splits"]
        print(
            f"exported {summary['labels']} labels of {summary['scans']} scans to {args.out} "
            f"(train {splits['train']['labels']}, val {splits['val']['labels']})"
        )
        for warning in summary.get("warnings", []):
            print(f"  warning: {warning}")
    return 0


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
        _print_json(result)
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
        _print_json(result)
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
            _print_json(rows)
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
    _print_json(out)
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from ndelab.benchmarks import run_benchmark

    result = run_benchmark(args.area, quick=args.quick)
    print(json.dumps(result, indent=2) if args.json else _bench_text(result))
    return 0


def _bench_text(result: dict[str, Any]) -> str:
    return json.dumps(result, indent=2)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ndelab", description="NDE review and labeling workstation"
    )
    sub = parser.add_subparsers(dest="command")

    p = sub.add_parser("open", help="open the workstation on a file or folder")
    p.add_argument("path")
    _add_read_options(p)
    p.set_defaults(func=cmd_gui)

    p = sub.add_parser("demo", help="open the workstation on a phantom part")
    p.set_defaults(func=cmd_gui, path=None, shape=None, dtype=None, header_bytes=0, dataset=None)

    p = sub.add_parser("info", help="describe a volume file")
    p.add_argument("path")
    _add_read_options(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("convert", help="convert between volume formats")
    p.add_argument("input")
    p.add_argument("output")
    _add_read_options(p)
    p.set_defaults(func=cmd_convert)

    p = sub.add_parser("phantom", help="write a synthetic part with ground truth")
    p.add_argument("outdir")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--kind", choices=("ct", "xray"), default="ct")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_phantom)

    p = sub.add_parser("screenshot", help="render the main window to a PNG")
    p.add_argument("path", nargs="?")
    p.add_argument("--demo", action="store_true")
    p.add_argument("--out", required=True)
    p.add_argument("--width", type=int, default=1600)
    p.add_argument("--height", type=int, default=1000)
    _add_read_options(p)
    p.set_defaults(func=cmd_screenshot)

    p = sub.add_parser("calls", help="list the calls (indications) in a review database")
    p.add_argument("--db", required=True, help="database URL or SQLite file")
    p.add_argument("--scan", help="only this scan id")
    p.add_argument("--status", choices=("proposed", "accepted", "rejected", "corrected"))
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_calls)

    p = sub.add_parser("review", help="accept, reject or reopen one call")
    p.add_argument("--db", required=True)
    p.add_argument("call_id")
    group = p.add_mutually_exclusive_group(required=True)
    for action in ("accept", "reject", "reopen"):
        group.add_argument(f"--{action}", action="store_true")
    p.add_argument("--user", required=True)
    p.add_argument("--reason", help="why (required to reject)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_review)

    p = sub.add_parser("disposition", help="sentence a scan against acceptance criteria")
    p.add_argument("--db", required=True)
    p.add_argument("--scan", required=True)
    p.add_argument("--criteria", required=True, help="criteria file (.json or .yaml)")
    p.add_argument("--sign", metavar="USER", help="sign the disposition as this reviewer")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_disposition)

    p = sub.add_parser("audit", help="the audit log: who did what, when, and why")
    p.add_argument("--db", required=True)
    p.add_argument("--scan")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_audit)

    p = sub.add_parser("prelabel", help="pre-label scans and store the calls as proposed")
    p.add_argument("paths", nargs="+")
    p.add_argument("--db", required=True)
    p.add_argument("--model", default="default", help="model name, or classical-baseline")
    p.add_argument("--user")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_prelabel)

    p = sub.add_parser("sync", help="push local review work to the shared database and pull")
    p.add_argument("--db", required=True, help="the local (SQLite) store")
    p.add_argument("--remote", required=True, help="postgresql+psycopg://user@host/db")
    p.add_argument("--user", required=True)
    p.add_argument("--batch-size", type=int, default=2000)
    p.add_argument(
        "--sslmode", choices=("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_sync)

    p = sub.add_parser("conflicts", help="list (or resolve) sync conflicts")
    p.add_argument("--db", required=True)
    p.add_argument("--all", action="store_true", help="resolved ones too")
    p.add_argument("--resolve", nargs=2, metavar=("CONFLICT_ID", "mine|theirs"))
    p.add_argument("--user")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_conflicts)

    p = sub.add_parser("export", help="export reviewed labels as a data set for training")
    p.add_argument("--db", required=True)
    p.add_argument("--format", required=True, choices=EXPORT_FORMATS)
    p.add_argument("--out", required=True, help="an empty or new folder")
    p.add_argument("--val-fraction", type=float, default=0.2)
    p.add_argument("--seed", type=int, default=0, help="of the train/validation split by part")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_export)

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

    cli_server.add_parser(sub)

    p = sub.add_parser("bench", help="run a benchmark against its peer")
    p.add_argument("area")
    p.add_argument("--json", action="store_true")
    p.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")
    p.set_defaults(func=cmd_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    log_file = setup_logging()
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] = getattr(args, "func", None) or _no_command
    try:
        return func(args)
    except NdelabError as exc:
        log.info("user error in %s: %s", args.command, exc)
        print(f"ndelab: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except BrokenPipeError:
        # The reader of our output went away (`ndelab info X --json | head`): not an error.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("ndelab: interrupted", file=sys.stderr)
        return 130
    except Exception:
        log.exception("internal error in %s", args.command)
        print(f"ndelab: internal error; details are in {log_file}", file=sys.stderr)
        return EXIT_INTERNAL_ERROR


def _no_command(args: argparse.Namespace) -> int:
    from ndelab.app.gui import run_gui

    return run_gui(path=None, demo=False, read_options=None)


if __name__ == "__main__":
    sys.exit(main())
