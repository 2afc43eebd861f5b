"""Image quality command: ``iq`` (duplex SRb, SNRn, wire IQI, verdict per ISO 17636-2)."""

from __future__ import annotations

import argparse
from typing import Any

from ndelab.cli.common import add_read_options, print_json, read_kwargs
from ndelab.volumes.errors import UsageError


def _four(text: str | None, option: str, *, whole: bool = False) -> list[float] | None:
    """Y0,X0,Y1,X1 from ``text``; one sentence naming ``option`` when it is not that."""
    if text is None:
        return None
    try:
        values = [float(p) for p in text.replace(" ", "").split(",")]
    except ValueError:
        raise UsageError(f"{option} must be four numbers Y0,X0,Y1,X1, got {text!r}") from None
    if len(values) != 4:
        raise UsageError(f"{option} must be four numbers Y0,X0,Y1,X1, got {text!r}")
    if whole and any(v != int(v) for v in values):
        raise UsageError(f"{option} must be four whole pixel indices Y0,X0,Y1,X1, got {text!r}")
    return values


def add_parsers(sub: Any) -> None:
    p = sub.add_parser(
        "iq",
        help="image quality of a radiograph: duplex SRb, SNRn, wire IQI, class verdict",
        description=(
            "Measure a digital radiograph's image quality (ISO 17636-2, ASTM E2698): the "
            "basic spatial resolution from a duplex wire IQI, the normalised SNR in a uniform "
            "ROI, the single-wire IQI's visible wire, and with --class a verdict against the "
            "class table (the shipped table holds example values)."
        ),
    )
    p.add_argument("radiograph")
    add_read_options(p)
    p.add_argument("--duplex", metavar="Y0,X0,Y1,X1", help="line across the duplex pairs, D1 first")
    p.add_argument(
        "--duplex-width",
        type=float,
        default=10.0,
        metavar="PX",
        help="half width of the band along the wires (pixels, default 10)",
    )
    p.add_argument("--no-find", action="store_true", help="do not look for the duplex IQI")
    p.add_argument("--roi", metavar="Y0,X0,Y1,X1", help="uniform region for the SNR (>= 20 x 55)")
    p.add_argument(
        "--wires",
        metavar="Y0,X0,Y1,X1",
        help="line from the coarsest single wire's axis to the finest's",
    )
    p.add_argument("--wire-set", default="W10-W16", help="single-wire set (default W10-W16)")
    p.add_argument("--wire-width", type=float, default=10.0, metavar="PX")
    p.add_argument(
        "--cnr-threshold",
        type=float,
        default=None,
        help="CNR at which a wire counts as visible (default 2.5)",
    )
    p.add_argument(
        "--class",
        dest="image_class",
        choices=("A", "B"),
        help="image quality class to judge against",
    )
    p.add_argument("--material", default="steel")
    p.add_argument("--thickness-mm", type=float, help="penetrated thickness")
    p.add_argument("--table", help="class table (YAML); default: the shipped example table")
    p.add_argument(
        "--magnification",
        type=float,
        default=1.0,
        help="of the IQI's plane onto the detector (1: IQI on the detector)",
    )
    p.add_argument("--pixel-mm", type=float, help="detector pixel pitch, if the file has none")
    p.add_argument(
        "--db",
        metavar="URL",
        help="store the verdict with the scan in this review database (recorded if new); "
        "without --class the gate's layout is used (a .iq.json beside the image)",
    )
    p.add_argument("--user", help="who measured it (with --db; default: $USER)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_iq)


def cmd_iq(args: argparse.Namespace) -> int:
    from ndelab.volumes.io import open_volume
    from ndelab.volumes.quality import DEFAULT_CNR_THRESHOLD, assess

    duplex = _four(args.duplex, "--duplex")
    roi = _four(args.roi, "--roi", whole=True)
    wires = _four(args.wires, "--wires")
    if args.image_class is not None and args.thickness_mm is None:
        raise UsageError("--class needs --thickness-mm (the penetrated thickness)")
    volume = open_volume(args.radiograph, **read_kwargs(args))
    if args.db is not None:
        return _store_iq(args, volume, duplex, roi, wires)
    report = assess(
        volume,
        duplex_line=duplex,
        duplex_half_width_px=args.duplex_width,
        find=not args.no_find,
        roi=roi,
        wire_line=wires,
        wire_set=args.wire_set,
        wire_half_width_px=args.wire_width,
        magnification=args.magnification,
        pixel_size_mm=args.pixel_mm,
        cnr_threshold=DEFAULT_CNR_THRESHOLD if args.cnr_threshold is None else args.cnr_threshold,
        image_class=args.image_class,
        material=args.material,
        thickness_mm=args.thickness_mm,
        table=args.table,
    )
    out = report.to_json()
    out["radiograph"] = args.radiograph
    if args.json:
        print_json(out)
        return 0
    d = report.duplex
    if d is None:
        print("SRb: not measured (no duplex IQI)")
    else:
        bound = {"=": "", "<": "under ", ">": "over "}[d.srb_bound]
        how = " (duplex IQI found automatically)" if report.duplex_found else ""
        print(f"SRb: {bound}{d.srb_um:.0f} µm, first unresolved pair {d.first_unresolved}{how}")
        print("  dips: " + ", ".join(f"{p.element} {p.dip_percent:.0f}%" for p in d.pairs))
    if report.snr is None:
        print("SNR: not measured (no --roi)")
    else:
        snrn = "" if report.snrn is None else f", SNRn {report.snrn:.0f}"
        print(f"SNR: {report.snr.snr:.1f} in ROI {report.snr.roi.to_list()}{snrn}")
    if report.wires is not None:
        w = report.wires
        print(f"single wires: finest visible {w.smallest_visible or 'none'} (CNR >= {w.threshold})")
        print("  CNR: " + ", ".join(f"{e.element} {e.cnr:.1f}" for e in w.elements))
    if report.verdict is not None:
        print(f"verdict: {report.verdict.status}: {report.verdict.reason}")
    return 0


def _store_iq(
    args: argparse.Namespace,
    volume: Any,
    duplex: list[float] | None,
    roi: list[float] | None,
    wires: list[float] | None,
) -> int:
    """Measure with the layout (the options given over the one found beside the image),
    judge, and store the record on the scan."""
    import dataclasses
    import getpass

    from ndelab.annotation.store import open_store
    from ndelab.app.image_quality import measure_and_store
    from ndelab.app.workspace import attach_scan
    from ndelab.volumes.identity import volume_sha256
    from ndelab.volumes.quality.gate import find_layout, has_gate

    if not has_gate(volume):
        raise UsageError(f"{args.radiograph} is a CT volume: no IQ gate for CT")
    given = {
        "duplex_line": None if duplex is None else tuple(duplex),
        "duplex_half_width_px": args.duplex_width if duplex is not None else None,
        "roi": None if roi is None else tuple(int(v) for v in roi),
        "wire_line": None if wires is None else tuple(wires),
        "wire_half_width_px": args.wire_width if wires is not None else None,
        "image_class": args.image_class,
        "material": args.material if args.image_class is not None else None,
        "thickness_mm": args.thickness_mm,
        "magnification": args.magnification if args.magnification != 1.0 else None,
        "table": args.table,
    }
    layout = find_layout(volume)
    layout = dataclasses.replace(
        layout,
        **{k: v for k, v in given.items() if v is not None},
        source=layout.source if not any(v is not None for v in given.values()) else "command line",
    )
    user = args.user or getpass.getuser()
    with open_store(args.db) as store:
        # Recorded unmeasured: the one measurement is this command's, with its layout.
        sha = volume_sha256(volume)
        scan_id, created = attach_scan(store, volume, sha, user, measure_quality=False)
        record = measure_and_store(store, scan_id, volume, user, layout=layout, source="cli")
    assert record is not None
    out = {"radiograph": args.radiograph, "scan_id": scan_id, "recorded": created, **record}
    if args.json:
        print_json(out)
    else:
        print(f"scan {scan_id}: {record['status']}: {record['reason']}")
    return 0
