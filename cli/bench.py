"""``ndelab bench AREA``: a benchmark against its named peer, in one process."""

from __future__ import annotations

import argparse
import json
from typing import Any


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("bench", help="run a benchmark against its peer")
    p.add_argument("area")
    p.add_argument("--json", action="store_true")
    p.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")
    p.set_defaults(func=cmd_bench)


def cmd_bench(args: argparse.Namespace) -> int:
    from ndelab.benchmarks import run_benchmark

    result = run_benchmark(args.area, quick=args.quick)
    print(json.dumps(result, indent=2))  # the figures are the report, with or without --json
    return 0
