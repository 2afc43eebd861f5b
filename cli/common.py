"""What every command group shares: exit codes, read options, the database, JSON output."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ndelab.volumes.errors import UsageError

EXIT_USER_ERROR = 2
EXIT_INTERNAL_ERROR = 1


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


def add_read_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--shape", help="Z,Y,X for plain raw files")
    p.add_argument(
        "--dtype", help="voxel type for plain raw files (uint16, int16, float32, >u2 ...)"
    )
    p.add_argument("--header-bytes", type=int, default=0, help="bytes to skip in a raw file")
    p.add_argument("--dataset", help="dataset path inside an HDF5 file")


def read_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "shape": parse_shape(args.shape),
        "dtype": args.dtype,
        "header_bytes": args.header_bytes,
        "dataset": args.dataset,
    }


def add_engine_options(p: argparse.ArgumentParser) -> None:
    """``--engine`` and ``--workers`` of the batch commands (ndelab.app.engines)."""
    p.add_argument(
        "--engine",
        choices=("local", "ray"),
        help="local: a process pool on this machine (the default); ray: a Ray cluster "
        "(RAY_ADDRESS, or a local Ray runtime; the default when RAY_ADDRESS is set)",
    )
    p.add_argument("--workers", type=int, help="worker processes or Ray actors (default: cores)")


# ndelab.app.metrics.DEFAULT_ADDR, spelled out so that building the parser imports no
# exporter (a test keeps the two equal). start_http_server alone would listen everywhere.
METRICS_ADDR = "127.0.0.1"


def add_metrics_options(p: argparse.ArgumentParser) -> None:
    """``--metrics-port`` and ``--metrics-addr``: the Prometheus exporter (off unless set)."""
    p.add_argument(
        "--metrics-port", type=int, help="serve Prometheus metrics on this port (off unless set)"
    )
    p.add_argument(
        "--metrics-addr",
        default=METRICS_ADDR,
        help=f"address to serve metrics on (default {METRICS_ADDR}: this machine only)",
    )


@contextmanager
def metrics_observer(args: argparse.Namespace, store: Any) -> Iterator[Any]:
    """The Prometheus exporter ``--metrics-port`` asks for, serving while the block runs:
    yields its observer (the live figures), or None when no port was given."""
    if args.metrics_port is None:
        yield None
        return
    from ndelab.app.metrics import MetricsExporter

    with MetricsExporter(
        port=args.metrics_port, addr=args.metrics_addr, store=lambda: store
    ) as exporter:
        yield exporter.observer


def open_db(args: argparse.Namespace) -> Any:
    """The store named by --db (created or migrated on first use)."""
    from ndelab.annotation.store import open_store

    return open_store(args.db)


def print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, default=str))
