"""The IQI element tables: duplex wire pairs (ISO 19232-5 / ASTM E2002) and single wires
(ISO 19232-1).

NOTE: these are the nominal sizes as commonly published; check them against your licensed copy
of ISO 19232-5 / ASTM E2002 and ISO 19232-1 before relying on a reading. Tolerances, wire
materials and the IQI's outer dimensions are in the standards and not modelled here.
"""

from __future__ import annotations

import re

from ndelab.volumes.errors import UsageError

# Duplex wire pairs: element -> wire diameter in mm. In a pair the gap between the two wires
# equals the diameter, so the pair's unsharpness is twice it and its basic spatial resolution
# (SRb) is the diameter itself. Ordered from D1 (coarsest) to D13 (finest).
DUPLEX_PAIRS_MM: dict[str, float] = {
    "D1": 0.80,
    "D2": 0.63,
    "D3": 0.50,
    "D4": 0.40,
    "D5": 0.32,
    "D6": 0.25,
    "D7": 0.20,
    "D8": 0.16,
    "D9": 0.13,
    "D10": 0.10,
    "D11": 0.08,
    "D12": 0.063,
    "D13": 0.05,
}

# Single-wire IQI: element -> wire diameter in mm (W1 coarsest).
SINGLE_WIRES_MM: dict[str, float] = {
    "W1": 3.2,
    "W2": 2.5,
    "W3": 2.0,
    "W4": 1.6,
    "W5": 1.25,
    "W6": 1.0,
    "W7": 0.8,
    "W8": 0.63,
    "W9": 0.5,
    "W10": 0.4,
    "W11": 0.32,
    "W12": 0.25,
    "W13": 0.2,
    "W14": 0.16,
    "W15": 0.125,
    "W16": 0.1,
    "W17": 0.08,
    "W18": 0.063,
    "W19": 0.05,
}

# The four seven-wire sets of ISO 19232-1.
WIRE_SETS = ("W1-W7", "W6-W12", "W10-W16", "W13-W19")


def element_number(name: str) -> int:
    """The number of an element name: "D9" -> 9, "W13" -> 13."""
    m = re.fullmatch(r"[DWdw](\d+)", name.strip())
    if m is None:
        raise UsageError(f"{name!r} is not an IQI element name such as D9 or W13")
    return int(m.group(1))


def wire_set(name: str) -> list[str]:
    """The element names of a single-wire set such as "W10-W16", coarsest first."""
    m = re.fullmatch(r"[Ww](\d+)\s*-\s*[Ww]?(\d+)", name.strip())
    if m is None:
        raise UsageError(f"wire set {name!r} is not of the form W10-W16")
    first, last = int(m.group(1)), int(m.group(2))
    if not 1 <= first < last <= len(SINGLE_WIRES_MM):
        raise UsageError(f"wire set {name!r} must run from a coarser to a finer wire in W1-W19")
    return [f"W{i}" for i in range(first, last + 1)]
