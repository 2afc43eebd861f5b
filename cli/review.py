"""Review commands: ``calls``, ``review``, ``disposition``, ``audit``, ``prelabel``, ``export``."""

from __future__ import annotations

import argparse
import getpass
import json
from typing import Any

from ndelab.cli.common import (
    EXIT_USER_ERROR,
    add_engine_options,
    add_metrics_options,
    metrics_observer,
    open_db,
    print_json,
)
from ndelab.volumes.errors import UsageError

# ndelab.annotation.export.dataset.FORMATS, spelled out so that building the parser does not
# import the annotation layer (half a second); a test keeps the two equal.
EXPORT_FORMATS = ("hdf5", "nifti", "nrrd", "coco", "dicom-seg")


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("calls", help="list the calls (indications) in a review database")
    p.add_argument("--db", required=True, help="database URL or SQLite file")
    p.add_argument("--scan", help="only this scan id")
    p.add_argument("--status", choices=("proposed", "accepted", "rejected", "corrected"))
    p.add_argument(
        "--role",
        choices=("champion", "shadow", "all"),
        default="champion",
        help="whose calls: the champion's (default, what engineers review) or a shadow's",
    )
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
    p.add_argument(
        "--thickness-mm",
        type=float,
        help="the part's wall thickness t, for radiograph limits given as a fraction of t",
    )
    p.add_argument(
        "--magnification",
        type=float,
        help="radiograph geometric magnification (sizes = pixel spacing / this; default 1)",
    )
    p.add_argument(
        "--override-iq",
        action="store_true",
        help="sign although the radiograph failed its image-quality gate (audited; needs "
        "--reason and --user)",
    )
    p.add_argument("--reason", help="why the image may be read all the same (--override-iq)")
    p.add_argument("--user", help="who overrides the image-quality gate (--override-iq)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_disposition)

    p = sub.add_parser("audit", help="the audit log: who did what, when, and why")
    p.add_argument("--db", required=True)
    p.add_argument("--scan")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_audit)

    p = sub.add_parser("prelabel", help="pre-label scans and store the calls as proposed")
    p.add_argument("paths", nargs="+", help="scans, or folders of scans")
    p.add_argument("--db", required=True)
    p.add_argument(
        "--model",
        help="NAME[@VERSION], default or classical-baseline (unset: the database's champion "
        "alias, else the registry's default)",
    )
    p.add_argument(
        "--shadow",
        metavar="NAME@VERSION",
        help="also run this version in shadow (calls kept for the A/B, never shown); "
        "default: the database's shadow alias when one is set; 'none' for no shadow",
    )
    p.add_argument("--user")
    add_engine_options(p)
    add_metrics_options(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_prelabel)

    p = sub.add_parser("export", help="export reviewed labels as a data set for training")
    p.add_argument("--db", required=True)
    p.add_argument("--format", required=True, choices=EXPORT_FORMATS)
    p.add_argument("--out", required=True, help="an empty or new folder")
    p.add_argument("--val-fraction", type=float, default=0.2)
    p.add_argument("--seed", type=int, default=0, help="of the train/validation split by part")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_export)


def cmd_calls(args: argparse.Namespace) -> int:
    from ndelab.annotation.store import list_calls

    with open_db(args) as store:
        role = None if args.role == "all" else args.role
        rows = list_calls(store, args.scan, status=args.status, role=role)
    if args.json:
        print_json(rows)
    else:
        for r in rows:
            z, y, x = r["centroid_zyx"]
            print(
                f"{r['id']}  {r['status']:<9} {r['class']:<14} score {r['score'] or 0:.2f}  "
                f"Ø {r['equivalent_diameter_mm']:.3f} mm  at z {z:.0f} y {y:.0f} x {x:.0f}"
            )
    return 0


def cmd_review(args: argparse.Namespace) -> int:
    from ndelab.annotation.store import review

    action = next(a for a in ("accept", "reject", "reopen") if getattr(args, a))
    with open_db(args) as store:
        call = review(store, args.call_id, action, args.user, args.reason)
    if args.json:
        print_json(call)
    else:
        print(f"{call['id']} is now {call['status']} (revision {call['revision']})")
    return 0


def cmd_disposition(args: argparse.Namespace) -> int:
    from ndelab.annotation.disposition import IqOverride
    from ndelab.annotation.store import disposition

    override = None
    if args.override_iq:
        if not args.sign:
            raise UsageError("--override-iq applies to a signature: add --sign USER")
        if not (args.reason and args.reason.strip()) or not (args.user and args.user.strip()):
            raise UsageError("--override-iq needs --reason TEXT (why) and --user U (who)")
        override = IqOverride(args.user, args.reason)
    elif args.reason is not None or args.user is not None:
        raise UsageError("--reason and --user go with --override-iq")
    with open_db(args) as store:
        result = disposition(
            store,
            args.scan,
            args.criteria,
            sign_user=args.sign,
            thickness_mm=_positive(args.thickness_mm, "--thickness-mm"),
            magnification=_positive(args.magnification, "--magnification"),
            override_iq=override,
        )
    if args.json:
        print_json(result)
    else:
        from ndelab.app.report_radiograph import radiograph_lines

        print(
            f"verdict: {result['verdict']}" + (" (unsigned preview)" if result["preview"] else "")
        )
        for r in result["reasons"]:
            print(f"  {'pass' if r['passed'] else 'FAIL'}  {r['message']}")
        for line in radiograph_lines(result):
            print(f"  {line}")
    return 0


def _positive(value: float | None, option: str) -> float | None:
    from ndelab.volumes.errors import UsageError

    if value is not None and not value > 0:
        raise UsageError(f"{option} must be a positive number, got {value}")
    return value


def cmd_audit(args: argparse.Namespace) -> int:
    from ndelab.annotation.store import audit

    with open_db(args) as store:
        events = audit(store, args.scan)
    if args.json:
        print_json(events)
    else:
        for e in events:
            print(
                f"{e['at']}  {e['user']:<12} {e['action']:<8} {e['entity_type']} {e['entity_id']}"
                + (f"  ({e['reason']})" if e["reason"] else "")
            )
    return 0


def cmd_prelabel(args: argparse.Namespace) -> int:
    """Every scan the paths name, on the local engine (a process pool) or Ray; the calls
    stored by this process. A scan that fails is named on stderr and the rest go on."""
    import sys

    from ndelab.app.engines import make_engine, prelabel_batch
    from ndelab.app.model_serving import batch_model
    from ndelab.app.shadow import default_shadow

    user = args.user or getpass.getuser()
    engine = make_engine(args.engine, workers=args.workers)
    try:
        with open_db(args) as store, metrics_observer(args, store) as observer:
            shadow = default_shadow(store) if args.shadow is None else args.shadow
            if shadow is not None and shadow.lower() == "none":
                shadow = None
            rows = prelabel_batch(
                store,
                args.paths,
                engine,
                user=user,
                model=batch_model(store, args.model),
                shadow=shadow,
                observer=observer,
            )
    finally:
        engine.close()
    failed = [r for r in rows if r["status"] == "failed"]
    for row in rows:
        if args.json:
            print(json.dumps(row))  # one object per line with several scans
        elif row["status"] == "prelabelled":
            model = row["model"]
            sh = row.get("shadow") or {}
            extra = (
                f"; {sh['calls']} in shadow from {sh['model']['name']} {sh['model']['version']}"
                if "calls" in sh
                else ""
            )
            print(
                f"{row['path']}: {len(row['calls'])} calls from {model['name']} "
                f"{model['version']} (scan {row['scan_id']}){extra}"
            )
        elif row["status"] == "duplicate":
            print(f"{row['path']}: already in the database (same sha256), not pre-labelled again")
    for row in failed:
        print(f"ndelab: {row['reason']}", file=sys.stderr)
    return EXIT_USER_ERROR if failed else 0


def cmd_export(args: argparse.Namespace) -> int:
    from ndelab.annotation.export.dataset import export_dataset

    with open_db(args) as store:
        summary = export_dataset(
            store, args.out, fmt=args.format, val_fraction=args.val_fraction, seed=args.seed
        )
    if args.json:
        print_json(summary)
    else:
        splits = summary["splits"]
        print(
            f"exported {summary['labels']} labels of {summary['scans']} scans to {args.out} "
            f"(train {splits['train']['labels']}, val {splits['val']['labels']})"
        )
        for warning in summary.get("warnings", []):
            print(f"  warning: {warning}")
    return 0
