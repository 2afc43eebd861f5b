"""Recalibrate the shipped radiograph second stage for a changed first stage.

    .venv/bin/python resources/models/recalibrate_stage2.py --version 1.2.0

keeps resources/models/ndelab-xray-stage2/weights.pt (and its sha256), reruns the Platt
calibration and the threshold for the card's false-call target on calibration seeds
1000-1023 with the current first stage (shoulder seeds on unless --no-shoulders), writes the
card and README as the new version, and records the held-out figures (seeds 10000-10011).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--version", required=True)
    ap.add_argument("--no-shoulders", action="store_true")
    args = ap.parse_args()
    from ndelab.inference.radiograph.stage2_training import recalibrate

    card = recalibrate(HERE / "ndelab-xray-stage2", args.version, shoulders=not args.no_shoulders)
    print(json.dumps({"version": card["version"], "calibration": card["calibration"]}, indent=2))


if __name__ == "__main__":
    main()
