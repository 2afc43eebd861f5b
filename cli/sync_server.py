"""Shared-database commands: ``sync``, ``conflicts`` and ``server`` (the administrator's).

sync pushes this workstation's decisions and pulls everyone else's; conflicts lists or
resolves the clashes, never applied silently. server init|user set up the shared PostgreSQL:

init: migrate the schema and (re)apply the roles, grants, row security and the audit
trigger (run again after every upgrade). user: create a login in one of the groups, or change
its password and group. The new login's password comes from NDELAB_NEW_PASSWORD or a prompt,
never from the command line, where it would stay in the shell history.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from typing import Any

from ndelab.cli.common import open_db, print_json
from ndelab.volumes.errors import UsageError

NEW_PASSWORD_ENV = "NDELAB_NEW_PASSWORD"
ROLE_NAMES = ("labeler", "reviewer", "admin")


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("sync", help="push local review work to the shared database and pull")
    p.add_argument("--db", required=True, help="the local (SQLite) store")
    p.add_argument("--remote", required=True, help="postgresql+psycopg://user@host/db")
    p.add_argument("--user", required=True)
    p.add_argument("--batch-size", type=int, default=2000)
    p.add_argument(
        "--sslmode", choices=("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_sync)

    p = sub.add_parser("conflicts", help="list (or resolve) sync conflicts")
    p.add_argument("--db", required=True)
    p.add_argument("--all", action="store_true", help="resolved ones too")
    p.add_argument("--resolve", nargs=2, metavar=("CONFLICT_ID", "mine|theirs"))
    p.add_argument("--user")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_conflicts)

    p = sub.add_parser("server", help="set up the shared PostgreSQL database (administrators)")
    commands = p.add_subparsers(dest="server_command", required=True)
    q = commands.add_parser("init", help="migrate the schema and apply the roles")
    q.add_argument("--db", required=True, help="postgresql+psycopg://admin@host/db")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_server_init)
    q = commands.add_parser("user", help="create a login, or change its password and role")
    q.add_argument("name")
    q.add_argument("--role", required=True, choices=ROLE_NAMES)
    q.add_argument("--db", required=True, help="postgresql+psycopg://admin@host/db")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_server_user)


def cmd_sync(args: argparse.Namespace) -> int:
    from ndelab.annotation.sync.engine import sync

    with open_db(args) as store:
        result = sync(
            store, args.remote, args.user, batch_size=args.batch_size, sslmode=args.sslmode
        )
    if args.json:
        print_json(result)
    else:
        print(
            f"pushed {result['pushed']}, pulled {result['pulled']}, "
            f"conflicts {result['conflicts']} new ({result['open_conflicts']} open)"
        )
    if result["refused_message"]:
        print(f"ndelab: {result['refused_message']}", file=sys.stderr)
    return 0


def cmd_conflicts(args: argparse.Namespace) -> int:
    from ndelab.annotation.sync.conflicts import list_conflicts, resolve_conflict

    with open_db(args) as store:
        if args.resolve:
            conflict_id, how = args.resolve
            if args.user is None:
                raise UsageError("resolving a conflict needs --user")
            print_json(resolve_conflict(store, conflict_id, how, args.user))
            return 0
        conflicts = list_conflicts(store, status=None if args.all else "open")
    if args.json:
        print_json(conflicts)
    else:
        for c in conflicts:
            print(f"{c['id']}  {c.get('status')}  call {c.get('entity_id')}")
    return 0


def cmd_server_init(args: argparse.Namespace) -> int:
    from ndelab.annotation.store import Store
    from ndelab.annotation.sync.credentials import resolve_url
    from ndelab.annotation.sync.server_roles import setup_roles

    setup_roles(args.db)
    with Store(resolve_url(args.db)) as store:
        result = {"database": store.name, "schema": store.schema_revision(), "roles": "applied"}
    _say(args, result, f"{result['database']}: schema {result['schema']}, roles applied")
    return 0


def cmd_server_user(args: argparse.Namespace) -> int:
    from ndelab.annotation.sync.server_roles import create_user

    password = os.environ.get(NEW_PASSWORD_ENV)
    if not password:
        if not sys.stdin.isatty():
            raise UsageError(
                f"the new login's password comes from {NEW_PASSWORD_ENV} or a prompt;"
                " set the variable when no terminal is attached"
            )
        password = getpass.getpass(f"password for {args.name}: ")
        if password != getpass.getpass("again: "):
            raise UsageError("the two passwords differ; nothing was changed")
    create_user(args.db, args.name, args.role, password)
    result = {"user": args.name, "role": args.role}
    _say(args, result, f"login {args.name} is a {args.role}")
    return 0


def _say(args: argparse.Namespace, result: dict[str, Any], text: str) -> None:
    print(json.dumps(result, indent=2) if args.json else text)
