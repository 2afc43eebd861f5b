"""The ``ndelab`` command: the GUI entry points and the automation contract.

One module per command group adds its own sub-commands. Errors users cause print one
sentence and exit 2; details go to the log file.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence

from ndelab.app.logs import setup_logging
from ndelab.cli import bench, gui, line, models, quality, review, sync_server, volumes
from ndelab.cli.common import EXIT_INTERNAL_ERROR, EXIT_USER_ERROR, METRICS_ADDR
from ndelab.cli.review import EXPORT_FORMATS
from ndelab.volumes.errors import NdelabError

log = logging.getLogger(__name__)

GROUPS = (gui, volumes, review, sync_server, models, bench, quality, line)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ndelab", description="NDE review and labeling workstation"
    )
    # The bare ``ndelab`` (the window) takes the exporter's options before any command; their
    # own dest, since a sub-command's defaults would overwrite a shared one.
    parser.add_argument(
        "--metrics-port", dest="top_metrics_port", type=int,
        help="the window: serve Prometheus metrics on this port (off unless set)",
    )  # fmt: skip
    parser.add_argument(
        "--metrics-addr", dest="top_metrics_addr", default=METRICS_ADDR,
        help=f"address to serve metrics on (default {METRICS_ADDR}: this machine only)",
    )  # fmt: skip
    sub = parser.add_subparsers(dest="command")
    for group in GROUPS:
        group.add_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    log_file = setup_logging()
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] = getattr(args, "func", None) or gui.cmd_no_command
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


__all__ = ["EXIT_INTERNAL_ERROR", "EXIT_USER_ERROR", "EXPORT_FORMATS", "build_parser", "main"]
