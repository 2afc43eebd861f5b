"""``ndelab models ab`` and ``ndelab models promote``: the A/B of champion and challenger on
the engineers' decisions, and the promotion gate that reads it."""

from __future__ import annotations

import argparse
import getpass
from pathlib import Path
from typing import Any

from ndelab.cli.common import open_db, print_json
from ndelab.volumes.errors import UsageError


def _need_db(args: argparse.Namespace) -> None:
    from ndelab.annotation.store.database import normalise_url

    if not args.db:
        raise UsageError(f"models {args.action} needs --db URL (the review database)")
    url = normalise_url(args.db)
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file():
        raise UsageError(f"database {args.db} does not exist")  # a typo makes no new database


def _ci(r: dict[str, Any]) -> str:
    if r["recall"] is None:
        return "–"
    lo, hi = r["ci95"]
    return f"{r['recall']:.3f} [{lo:.2f}, {hi:.2f}] of {r['n']}"


def summary_lines(report: dict[str, Any], verdict: dict[str, Any] | None) -> list[str]:
    lines = [f"{report['decided_scans']} decided scans; truth {report['truth']}"]
    for role in ("champion", "challenger"):
        v = report[role]
        m = v["model"]
        lines.append(
            f"{role} {m['name']}@{m['version']}: {v['calls']} calls, would accept "
            f"{v['would_accept']}, correct {v['would_correct']}, reject {v['would_reject']}, "
            f"unconfirmed {v['unconfirmed']}; {v['false_calls_per_scan']} false calls per scan; "
            f"found {v['human_found']['found']} of {v['human_found']['n']} added by hand; "
            f"recall {_ci(v['recall'])}"
        )
        for cls, r in v["recall_by_class"].items():
            lines.append(f"    {cls:<14} {_ci(r)}")
    if verdict is not None:
        lines.append(
            "gate: passes" if verdict["passed"] else f"gate: refuses: {verdict['failing']}"
        )
    return lines


def cmd_ab(args: argparse.Namespace) -> int:
    from ndelab.annotation.promotion import evaluate_gate, load_rules
    from ndelab.annotation.store.ab import ab_report
    from ndelab.app.promotion import rules_path_for

    _need_db(args)
    rules = load_rules(rules_path_for(args.rules))
    with open_db(args) as store:
        report = ab_report(store, args.champion, args.challenger)
    report["gate"] = evaluate_gate(report, rules)
    if args.json:
        print_json(report)
    else:
        print("\n".join(summary_lines(report, report["gate"])))
    return 0


def cmd_promote(args: argparse.Namespace) -> int:
    from ndelab.app.promotion import promote

    _need_db(args)
    if len(args.names) != 1:
        raise UsageError("models promote takes one model: NAME@VERSION")
    if args.reason and not args.force:
        raise UsageError("--reason goes with --force (a promotion through the gate needs none)")
    with open_db(args) as store:
        out = promote(
            store,
            args.names[0],
            user=args.user or getpass.getuser(),
            rules_path=args.rules,
            force=args.force,
            reason=args.reason,
            champion=args.champion,
        )
    if args.json:
        print_json({k: v for k, v in out.items() if k != "report"})
    else:
        how = "forced past the gate" if out["forced"] else "the gate passed"
        print(f"{out['promoted']} is the champion ({how}); {out['previous']} now runs in shadow")
    return 0
