"""The promotion gate: may the challenger become the champion? Rules from a YAML file
(resources/promotion/default.yaml documents each), judged on an A/B report (annotation.ab).
Every rule that fails says so in one sentence; the first is what `models promote` prints.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ndelab.volumes.errors import UsageError

KNOWN: dict[str, Any] = {
    "name": str,
    "version": (int, str),
    "min_decided_scans": int,
    "max_recall_drop": float,
    "min_class_defects": int,
    "max_band_recall_drop": (float, type(None)),
    "max_false_call_rise": float,
    "min_human_found_ratio": (float, type(None)),
}


class GateRulesError(UsageError):
    """A promotion rule file is missing, unreadable or invalid."""


@dataclass(frozen=True)
class GateRules:
    name: str = "default"
    version: str = "1"
    min_decided_scans: int = 20
    max_recall_drop: float = 0.02
    min_class_defects: int = 5
    max_band_recall_drop: float | None = None
    max_false_call_rise: float = 0.0
    min_human_found_ratio: float | None = None
    path: str = ""


def load_rules(path: str | Path) -> GateRules:
    """Read and check a rule file; one sentence naming the file and the problem otherwise."""
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise GateRulesError(f"promotion rules {p} cannot be read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise GateRulesError(f"promotion rules {p} are not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise GateRulesError(f"promotion rules {p} must be a mapping of rule: value")
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key not in KNOWN:
            raise GateRulesError(
                f"promotion rules {p}: unknown rule {key!r}; known: {', '.join(KNOWN)}"
            )
        kind = KNOWN[key]
        if isinstance(value, int) and not isinstance(value, bool) and kind is float:
            value = float(value)
        if isinstance(value, bool) or not isinstance(value, kind):
            raise GateRulesError(f"promotion rules {p}: {key} has the wrong type ({value!r})")
        if isinstance(value, float | int) and value < 0:
            raise GateRulesError(f"promotion rules {p}: {key} must not be negative")
        values[key] = str(value) if key == "version" else value
    return GateRules(**values, path=str(p))


def _fmt(v: float | None) -> str:
    return "none" if v is None else f"{v:.3f}"


def _check(rule: str, ok: bool, sentence: str) -> dict[str, Any]:
    return {"rule": rule, "passed": ok, "sentence": sentence}


def evaluate_gate(report: Mapping[str, Any], rules: GateRules) -> dict[str, Any]:
    """{"passed", "failing" (first failing sentence or None), "checks": [{"rule", "passed",
    "sentence"}], "rules": file and name} for an A/B report's champion and challenger."""
    champ, chall = report["champion"], report["challenger"]
    who = f"{chall['model']['name']}@{chall['model']['version']}"
    base = f"{champ['model']['name']}@{champ['model']['version']}"
    src = f"rule file {Path(rules.path).name if rules.path else rules.name}"
    checks = []
    n = int(report["decided_scans"])
    checks.append(
        _check(
            "min_decided_scans",
            n >= rules.min_decided_scans,
            f"the A/B of {who} rests on {n} decided scans; {src} asks for at least "
            f"{rules.min_decided_scans}",
        )
    )

    def recall_drop(
        rule: str, what: str, a: Mapping[str, Any], b: Mapping[str, Any], limit: float
    ) -> None:
        ra, rb = a.get("recall"), b.get("recall")
        if ra is None or rb is None or int(a.get("n", 0)) < rules.min_class_defects:
            return
        drop = ra - rb
        checks.append(
            _check(
                rule,
                drop <= limit + 1e-12,
                f"{what} recall of {who} is {_fmt(rb)} against {_fmt(ra)} for {base} "
                f"(a drop of {drop:.3f}; {src} allows {limit:.3f})",
            )
        )

    recall_drop(
        "max_recall_drop", "overall", champ["recall"], chall["recall"], rules.max_recall_drop
    )
    for cls, a in champ["recall_by_class"].items():
        b = chall["recall_by_class"].get(cls, {"n": a["n"], "recall": 0.0})
        recall_drop("max_recall_drop", f"class {cls}", a, b, rules.max_recall_drop)
    if rules.max_band_recall_drop is not None:
        for a, b in zip(champ["recall_by_size"], chall["recall_by_size"], strict=True):
            hi = "up" if a["max_mm"] is None else f"{a['max_mm']}"
            recall_drop(
                "max_band_recall_drop",
                f"size band {a['min_mm']}-{hi} mm",
                a,
                b,
                rules.max_band_recall_drop,
            )
    fa, fb = champ["false_calls_per_scan"], chall["false_calls_per_scan"]
    if fa is not None and fb is not None:
        checks.append(
            _check(
                "max_false_call_rise",
                fb - fa <= rules.max_false_call_rise + 1e-12,
                f"{who} makes {fb:.3f} false calls per scan against {fa:.3f} for {base} "
                f"({src} allows a rise of {rules.max_false_call_rise:.3f})",
            )
        )
    if rules.min_human_found_ratio is not None:
        h = chall["human_found"]
        share = h["found"] / h["n"] if h["n"] else None
        checks.append(
            _check(
                "min_human_found_ratio",
                share is None or share >= rules.min_human_found_ratio,
                f"{who} finds {h['found']} of the {h['n']} defects engineers added by hand; "
                f"{src} asks for a share of at least {rules.min_human_found_ratio:.2f}",
            )
        )
    failing = [c for c in checks if not c["passed"]]
    return {
        "passed": not failing,
        "failing": failing[0]["sentence"] if failing else None,
        "checks": checks,
        "rules": {"name": rules.name, "version": rules.version, "path": rules.path},
    }
