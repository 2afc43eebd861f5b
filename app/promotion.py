"""Promote a challenger to champion through the gate (`ndelab models promote`).

The A/B report of the current champion against the candidate is judged by the rule file
(resources/promotion/default.yaml unless another is given). Refused: one sentence naming the
failing rule (PromotionRefusedError, exit 2), unless forced with a reason. Passed or forced: the
champion alias moves to the candidate, and the former champion becomes the shadow, so it keeps
running beside the new one (a regression shows in the next A/B, and rolling back is one
promote). One audit event records the promotion with the whole gate verdict.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import insert

from ndelab.annotation.promotion import evaluate_gate, load_rules
from ndelab.annotation.store import Store, get_alias, set_alias
from ndelab.annotation.store.ab import ab_report, parse_key, resolve_pair
from ndelab.annotation.store.audit_log import check_user, created_event, new_id
from ndelab.annotation.store.schema import EVENTS, utcnow
from ndelab.app.resources_paths import resources_dir
from ndelab.volumes.errors import UsageError

PROMOTION = "model_promotion"


class PromotionRefusedError(UsageError):
    """The promotion gate refused the challenger (and the promotion was not forced)."""


def default_rules_path() -> Path:
    return resources_dir() / "promotion" / "default.yaml"


def rules_path_for(given: str | Path | None) -> Path:
    """The rule file to read: the default, a path, or the name of a shipped file
    (``--rules recall-first.yaml``) when no such file is where the name points."""
    if given is None:
        return default_rules_path()
    path = Path(given)
    shipped = default_rules_path().parent / path.name
    if not path.exists() and path.parent == Path() and shipped.is_file():
        return shipped
    return path


def check_registered(key: str) -> None:
    """A version the registry on this machine knows (or the classical detectors)."""
    from ndelab.inference.prelabel import BASELINE_NAME, XRAY_CLASSICAL
    from ndelab.inference.registry import Registry

    name, _, version = key.rpartition("@")
    if name in (BASELINE_NAME, XRAY_CLASSICAL):
        return
    Registry().get(name, version)  # ModelError (one sentence) when it is not there


def gate(
    store: Store,
    candidate: str,
    *,
    champion: str | None = None,
    rules_path: str | Path | None = None,
) -> dict[str, Any]:
    """The A/B report of champion vs candidate and the gate's verdict on it."""
    rules = load_rules(rules_path_for(rules_path))
    champ, chall = resolve_pair(store, champion, parse_key(candidate))
    report = ab_report(store, champ, chall)
    return {"report": report, "verdict": evaluate_gate(report, rules)}


def promote(
    store: Store,
    candidate: str,
    *,
    user: str,
    rules_path: str | Path | None = None,
    force: bool = False,
    reason: str | None = None,
    champion: str | None = None,
) -> dict[str, Any]:
    """Make ``candidate`` (NAME@VERSION) the champion if the gate passes, or if forced with a
    reason. Returns {"promoted", "previous", "forced", "verdict", "report"}."""
    user = check_user(user)
    candidate = parse_key(candidate)
    if force and not (reason and reason.strip()):
        raise UsageError(f"forcing {candidate} past the promotion gate needs --reason TEXT")
    check_registered(candidate)
    judged = gate(store, candidate, champion=champion, rules_path=rules_path)
    verdict, report = judged["verdict"], judged["report"]
    if not verdict["passed"] and not force:
        raise PromotionRefusedError(f"promotion of {candidate} refused: {verdict['failing']}")
    previous = f"{report['champion']['model']['name']}@{report['champion']['model']['version']}"
    rules = verdict["rules"]
    result = "passed" if verdict["passed"] else f"failed ({verdict['failing']})"
    why = f"promoted through gate {rules['name']} v{rules['version']}: {result}" + (
        f"; forced by {user}: {reason.strip()}" if force and reason else ""
    )
    name, _, version = candidate.rpartition("@")
    set_alias(store, "champion", name, version, user=user, reason=why)
    old_name, _, old_version = previous.rpartition("@")
    set_alias(
        store,
        "shadow",
        old_name,
        old_version,
        user=user,
        reason=f"former champion, kept in shadow after {candidate} was promoted",
    )
    challenger = get_alias(store, "challenger")
    after = {
        "champion": candidate,
        "previous": previous,
        "forced": bool(force and not verdict["passed"]),
        "gate": verdict,
        "decided_scans": report["decided_scans"],
        "challenger_alias": None if challenger is None else "@".join(challenger),
    }
    event = created_event(store, PROMOTION, new_id(), None, user, utcnow(), after, action="promote")
    event["reason"] = why
    with store.transaction("record the promotion") as conn:
        conn.execute(insert(EVENTS), [event])
    return {
        "promoted": candidate,
        "previous": previous,
        "previous_becomes": "shadow",
        "forced": after["forced"],
        "verdict": verdict,
        "report": report,
    }
