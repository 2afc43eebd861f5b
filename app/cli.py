"""The ``ndelab`` command: the GUI entry points and the automation contract.

Errors users cause print one sentence and exit 2; details go to the log file.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ndelab.app.logs import setup_logging
from ndelab.volumes.errors import NdelabError, UsageError

log = logging.getLogger(__name__)

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

    volume = open_volume(args.path, **_read_kwargs(args))
    info = volume.describe()
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
