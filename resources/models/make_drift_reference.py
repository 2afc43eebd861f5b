"""Make drift_reference.json for each shipped model folder beside this script.

    python -m ndelab.resources.models.make_drift_reference [FOLDER ...]

Each reference holds the input features of 64 phantoms drawn from the model's training recipe
(its training seeds and sampler seed from model.json; see ndelab.inference.drift_reference).
Re-run it when the features (ndelab.volumes.features) or the training recipe change.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ndelab.inference.drift_reference import write_reference


def main(argv: list[str]) -> int:
    here = Path(__file__).resolve().parent
    cards = sorted(here.glob("*/model.json"))
    # A card with a role (the radiograph second stage) is part of a detector, not a model.
    models = [p.parent for p in cards if "role" not in json.loads(p.read_text(encoding="utf-8"))]
    folders = [Path(a) for a in argv] or models
    for folder in folders:
        path = write_reference(folder)
        print(f"{path} ({path.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
