"""Volume commands: ``info``, ``convert``, ``phantom``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ndelab.cli.common import add_read_options, read_kwargs
from ndelab.volumes.errors import UsageError


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("info", help="describe a volume file")
    p.add_argument("path")
    add_read_options(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("convert", help="convert between volume formats")
    p.add_argument("input")
    p.add_argument("output")
    add_read_options(p)
    p.set_defaults(func=cmd_convert)

    p = sub.add_parser("phantom", help="write a synthetic part with ground truth")
    p.add_argument("outdir")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--kind", choices=("ct", "xray"), default="ct")
    p.add_argument(
        "--iqi",
        action="store_true",
        help="xray: lay a duplex and a single-wire IQI on the plate (needs --size 384 or more)",
    )
    p.add_argument("--noise", type=float, default=1.0, help="xray: noise level (default 1)")
    p.add_argument(
        "--blur", type=float, default=1.0, help="xray: detector blur sigma in pixels (default 1)"
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_phantom)


def cmd_info(args: argparse.Namespace) -> int:
    from ndelab.volumes.io import open_volume
    from ndelab.volumes.readers.dicom import SOURCE_SLICES

    volume = open_volume(args.path, **read_kwargs(args))
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

    volume = open_volume(args.input, **read_kwargs(args))
    write_volume(volume, args.output)
    print(f"wrote {args.output} ({'x'.join(map(str, volume.shape))} {volume.dtype})")
    return 0


def cmd_phantom(args: argparse.Namespace) -> int:
    from ndelab.volumes.phantom import make_ct_phantom, make_radiograph, save_phantom

    if args.size < 16 or args.size > 1024:
        raise UsageError(f"--size must be between 16 and 1024, got {args.size}")
    if args.iqi and args.kind != "xray":
        raise UsageError("--iqi is for radiographs: add --kind xray")
    if args.kind == "ct":
        phantom = make_ct_phantom(args.size, seed=args.seed)
    else:
        phantom = make_radiograph(
            args.size, seed=args.seed, iqi=args.iqi, noise=args.noise, blur_sigma_px=args.blur
        )
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
