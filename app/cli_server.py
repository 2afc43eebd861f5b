"""`ndelab server`: the administrator's commands for the shared PostgreSQL database.

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

from ndelab.volumes.errors import UsageError

NEW_PASSWORD_ENV = "NDELAB_NEW_PASSWORD"
ROLE_NAMES = ("labeler", "reviewer", "admin")


def add_parser(sub: Any) -> None:
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


def cmd_server_init(args: argparse.Namespace) -> int:
    from ndelab.annotation import Store
    from ndelab.annotation.credentials import resolve_url
    from ndelab.annotation.pg_roles import setup_roles

    setup_roles(args.db)
    with Store(resolve_url(args.db)) as store:
        result = {"database": store.name, "schema": store.schema_revision(), "roles": "applied"}
    _say(args, result, f"{result['database']}: schema {result['schema']}, roles applied")
    return 0


def cmd_server_user(args: argparse.Namespace) -> int:
    from ndelab.annotation.pg_roles import create_user

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
