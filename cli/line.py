"""The production line: ``ndelab inbox`` (the headless scan inbox, a systemd service) and
``ndelab line simulate`` / ``ndelab line report``."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from ndelab.cli.common import add_metrics_options, metrics_observer, open_db, print_json
from ndelab.volumes.errors import UsageError


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("inbox", help="run the scan inbox: pre-label arriving scans into a db")
    p.add_argument("--watch", metavar="DIR", help="a folder the scanners drop scans into")
    p.add_argument("--amqp", metavar="URL", help="a RabbitMQ URL (amqp://user:pw@host/vhost)")
    p.add_argument("--queue", help="the RabbitMQ queue (with --amqp)")
    p.add_argument("--db", required=True, help="database URL or SQLite file")
    p.add_argument(
        "--model",
        help="NAME[@VERSION], default or classical-baseline (unset: the database's champion "
        "alias, else the registry's default)",
    )
    p.add_argument(
        "--shadow",
        metavar="NAME@VERSION",
        help="run this version in shadow beside the champion (default: the database's shadow "
        "alias when one is set; 'none' for no shadow)",
    )
    add_metrics_options(p)
    p.add_argument("--once", action="store_true", help="take what is waiting now, then stop")
    p.add_argument("--settle", type=float, default=1.0, help="seconds a file must stay unchanged")
    p.add_argument(
        "--give-up", type=float, default=30.0, help="seconds before an incomplete scan is dropped"
    )
    p.add_argument("--done", help="where taken scans move (default: done/ beside --watch)")
    p.add_argument("--dead-letter", help="where unreadable scans move (default: dead-letter/)")
    p.add_argument("--prefetch", type=int, default=1, help="messages the broker lends at once")
    p.add_argument("--user", help="who the calls are stored as (default: inbox)")
    p.add_argument("--json", action="store_true", help="one JSON line per arrival's outcome")
    p.set_defaults(func=cmd_inbox)

    p = sub.add_parser("line", help="the production line: simulate one, report on it")
    line_sub = p.add_subparsers(dest="line_command", required=True)
    s = line_sub.add_parser("simulate", help="drop phantom scans into a folder and a queue")
    s.add_argument("--watch", metavar="DIR", help="the inbox's watched folder")
    s.add_argument("--amqp", metavar="URL")
    s.add_argument("--queue")
    s.add_argument("--storage", help="where queued scans are written (default: beside --watch)")
    s.add_argument("--count", type=int, default=20)
    s.add_argument("--rate", type=float, default=60.0, help="scans per minute")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--duplicates", type=int, default=0, help="scans sent a second time")
    s.add_argument("--ct-size", type=int, default=48, help="CT phantom edge (voxels)")
    s.add_argument("--radiograph-size", type=int, default=160)
    s.add_argument("--slow", type=float, default=1.0, help="seconds to write each .raw")
    s.add_argument("--line", default="1", help="the line's name in the metadata")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_simulate)
    r = line_sub.add_parser("report", help="what the inbox did: states, twice-stored, waits")
    r.add_argument("--db", required=True)
    r.add_argument("--json", action="store_true")
    r.set_defaults(func=cmd_report)


def _source(args: argparse.Namespace) -> Any:
    if bool(args.watch) == bool(args.amqp):
        raise UsageError("give exactly one of --watch DIR or --amqp URL")
    if args.watch:
        from ndelab.app.inbox import FolderSource

        return FolderSource(
            args.watch,
            settle_s=args.settle,
            give_up_s=args.give_up,
            done=args.done,
            dead_letter=args.dead_letter,
        )
    if not args.queue:
        raise UsageError("--amqp needs --queue")
    from ndelab.app.inbox.amqp import AmqpSource

    return AmqpSource(args.amqp, args.queue, prefetch=args.prefetch)


def _stopper() -> threading.Event:
    """SIGTERM and SIGINT ask the inbox to stop after the scan in hand (a second one
    interrupts it: nothing is acknowledged that was not committed)."""
    stop = threading.Event()

    def handler(signum: int, frame: Any) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    return stop


def _print_outcome(outcome: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(outcome, default=str), flush=True)
        return
    state = outcome["state"]
    where = outcome.get("path") or outcome["location"]
    if state == "ready":
        extra = f"{outcome['calls']} calls from {outcome['model']} {outcome['version']}"
    elif state == "duplicate":
        extra = f"already in the store as scan {outcome.get('scan_id')}"
    else:
        extra = outcome.get("reason", "")
    print(f"{state:<9} {where}: {extra}", flush=True)


def cmd_inbox(args: argparse.Namespace) -> int:
    from ndelab.app.inbox import InboxService, model_prelabeller
    from ndelab.app.inbox.after_ready import after_ready_hook

    stop = _stopper()
    source = _source(args)
    user = args.user or "inbox"
    shadow = "alias" if args.shadow is None else args.shadow
    try:
        with open_db(args) as store, metrics_observer(args, store) as observer:
            service = InboxService(
                source,
                store,
                model_prelabeller(args.model, store),
                user=user,
                observer=observer,
                report=lambda outcome: _print_outcome(outcome, args.json),
                after_ready=after_ready_hook(
                    store, user, None if shadow.lower() == "none" else shadow
                ),
            )
            service.run(stop.is_set, once=args.once)
    finally:
        source.close()
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    from ndelab.app.inbox.simulate import simulate

    if not args.watch and not args.amqp:
        raise UsageError("give --watch DIR, --amqp URL --queue Q, or both")
    if args.count < 1 or args.rate <= 0:
        raise UsageError("--count must be at least 1 and --rate above 0")
    watch = Path(args.watch) if args.watch else None
    announce = None
    connection = None
    if args.amqp:
        if not args.queue:
            raise UsageError("--amqp needs --queue")
        from ndelab.app.inbox import amqp

        connection = amqp.connect(args.amqp)
        channel = connection.channel()
        channel.confirm_delivery()
        amqp.declare(channel, args.queue)

        def announce(message: dict[str, Any]) -> None:
            amqp.publish(channel, args.queue, message)

    storage = Path(args.storage) if args.storage else None
    if storage is None:
        storage = (watch.parent if watch else Path.cwd()) / "line-storage"
    dropped = []
    try:
        for d in simulate(
            watch=watch,
            count=args.count,
            rate_per_min=args.rate,
            seed=args.seed,
            announce=announce,
            storage=storage,
            duplicates=args.duplicates,
            ct_size=args.ct_size,
            radiograph_size=args.radiograph_size,
            slow_s=args.slow,
            line=args.line,
        ):
            dropped.append(d)
            if not args.json:
                tag = " (again)" if d.duplicate else ""
                print(f"{d.route:<6} {d.modality:<3} {d.path}{tag}", flush=True)
    finally:
        if connection is not None and connection.is_open:
            connection.close()
    if args.json:
        summary = {
            "scans": sum(not d.duplicate for d in dropped),
            "repeats": sum(d.duplicate for d in dropped),
            "by_route": {r: sum(d.route == r for d in dropped) for r in ("folder", "amqp")},
            "by_modality": {
                m: sum(d.modality == m and not d.duplicate for d in dropped)
                for m in sorted({d.modality for d in dropped})
            },
        }
        print_json(summary)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from ndelab.annotation.store.inbox import line_summary

    with open_db(args) as store:
        summary = line_summary(store)
    if args.json:
        print_json(summary)
    else:
        states = ", ".join(f"{k} {v}" for k, v in summary["states"].items())
        print(f"inbox: {states}; scans stored twice: {summary['scans_stored_twice']}")
        sys.stdout.flush()
    return 0
