"""`ndelab server`: the CLI's role names are the database's groups."""

from __future__ import annotations

from ndelab.annotation.sync.server_roles import ROLES
from ndelab.cli.sync_server import ROLE_NAMES


def test_the_role_choices_are_the_database_groups() -> None:
    assert tuple(ROLES) == ROLE_NAMES
