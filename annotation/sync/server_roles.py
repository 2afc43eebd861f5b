"""Roles on the shared PostgreSQL, enforced by the database itself.

Group roles (NOLOGIN): ndelab_labeler, ndelab_reviewer (a labeler who may also sign
dispositions) and ndelab_admin. Logins are members of one of them (create_user). Rules:
- every role reads everything, and creates and changes parts, scans and calls;
- only reviewers and admins insert dispositions (GRANT plus a row-level security policy);
- only reviewers and admins set model aliases (which model serves the line is a reviewer's
  decision; the audit event says who and why), labelers read them;
- review_events (the audit log) is append-only for everyone: UPDATE, DELETE and TRUNCATE are
  revoked and a trigger raises, so even a table owner who is not superuser is refused.
"""

from __future__ import annotations

import re

from sqlalchemy import create_engine, text

from ndelab.annotation.errors import StoreError
from ndelab.annotation.store.database import Store, driver_message
from ndelab.annotation.sync.credentials import resolve_url

ROLES = {"labeler": "ndelab_labeler", "reviewer": "ndelab_reviewer", "admin": "ndelab_admin"}
GROUPS = tuple(ROLES.values())
CHANGEABLE = ("parts", "scans", "indications", "sync_conflicts")
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

_SETUP = """
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ndelab_labeler') THEN
    CREATE ROLE ndelab_labeler NOLOGIN;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ndelab_reviewer') THEN
    CREATE ROLE ndelab_reviewer NOLOGIN;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ndelab_admin') THEN
    CREATE ROLE ndelab_admin NOLOGIN;
  END IF;
END
$$;
GRANT ndelab_labeler TO ndelab_reviewer;
GRANT ndelab_reviewer TO ndelab_admin;

GRANT USAGE ON SCHEMA public TO ndelab_labeler;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO ndelab_labeler;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO ndelab_labeler;
GRANT INSERT, UPDATE ON parts, scans, indications, sync_conflicts TO ndelab_labeler;
GRANT INSERT ON review_events, sync_state TO ndelab_labeler;
REVOKE UPDATE, DELETE, TRUNCATE ON review_events FROM PUBLIC, ndelab_labeler,
  ndelab_reviewer, ndelab_admin;
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON dispositions FROM ndelab_labeler;
GRANT INSERT ON dispositions TO ndelab_reviewer;
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON model_aliases FROM ndelab_labeler;
GRANT INSERT, UPDATE ON model_aliases TO ndelab_reviewer;
GRANT DELETE ON parts, scans, indications, dispositions, sync_conflicts, model_aliases
  TO ndelab_admin;

-- Row-level security: the INSERT grant alone would let a labeler who is somehow granted
-- INSERT sign; the policy checks role membership on every row, and that the signer is the
-- login writing it (a reviewer cannot push a signature someone else made, say a labeler
-- offline).
ALTER TABLE dispositions ENABLE ROW LEVEL SECURITY;
ALTER TABLE dispositions FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS ndelab_read ON dispositions;
CREATE POLICY ndelab_read ON dispositions FOR SELECT USING (true);
DROP POLICY IF EXISTS ndelab_sign ON dispositions;
CREATE POLICY ndelab_sign ON dispositions FOR INSERT WITH CHECK (
  pg_has_role(current_user, 'ndelab_reviewer', 'MEMBER') AND signed_by = current_user
);
DROP POLICY IF EXISTS ndelab_admin_delete ON dispositions;
CREATE POLICY ndelab_admin_delete ON dispositions FOR DELETE USING (
  pg_has_role(current_user, 'ndelab_admin', 'MEMBER')
);

CREATE OR REPLACE FUNCTION ndelab_audit_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'review_events is append-only: %% is not allowed', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END
$$;
DROP TRIGGER IF EXISTS ndelab_audit_no_change ON review_events;
CREATE TRIGGER ndelab_audit_no_change BEFORE UPDATE OR DELETE ON review_events
  FOR EACH ROW EXECUTE FUNCTION ndelab_audit_append_only();
DROP TRIGGER IF EXISTS ndelab_audit_no_truncate ON review_events;
CREATE TRIGGER ndelab_audit_no_truncate BEFORE TRUNCATE ON review_events
  FOR EACH STATEMENT EXECUTE FUNCTION ndelab_audit_append_only();
"""


def setup_roles(admin_url: str) -> None:
    """Migrate the shared database to the current schema and (re)apply roles, grants, row
    security and the audit trigger. Idempotent: run it again after every upgrade."""
    url = resolve_url(admin_url)
    with Store(url) as store:  # opening migrates to head
        if store.is_sqlite:
            raise StoreError(f"database {store.name} is SQLite; roles need PostgreSQL")
        with store.transaction("set up the ndelab roles") as conn:
            conn.exec_driver_sql(_SETUP)


def create_user(admin_url: str, name: str, role: str, password: str) -> None:
    """Create (or update the password and role of) a login in group labeler|reviewer|admin."""
    if role not in ROLES:
        raise StoreError(f"role {role!r} is not one of {', '.join(ROLES)}")
    if not _NAME.match(name):
        raise StoreError(f"user name {name!r} is not allowed; use lower-case letters, digits and _")
    if not password:
        raise StoreError(f"user {name} needs a non-empty password")
    engine = create_engine(resolve_url(admin_url))
    try:
        with engine.begin() as conn:
            exists = conn.execute(
                text("SELECT 1 FROM pg_roles WHERE rolname = :n"), {"n": name}
            ).first()
            # Identifiers cannot be bound parameters; the name is checked against _NAME above.
            # The password is hashed here (SCRAM, as the server is set to encrypt), so the
            # plain text never reaches the server's statement log or an error message.
            raw = conn.connection.driver_connection
            assert raw is not None
            hashed = raw.pgconn.encrypt_password(password.encode(), name.encode(), None)
            literal = conn.execute(
                text("SELECT quote_literal(:p)"), {"p": hashed.decode("ascii")}
            ).scalar()
            verb = "ALTER" if exists else "CREATE"
            conn.exec_driver_sql(f'{verb} ROLE "{name}" LOGIN PASSWORD {literal}')
            for group in GROUPS:
                conn.exec_driver_sql(f'REVOKE {group} FROM "{name}"')
            conn.exec_driver_sql(f'GRANT {ROLES[role]} TO "{name}"')
    except Exception as e:
        # The driver's message only: SQLAlchemy's rest quotes the statement.
        raise StoreError(f"could not create database user {name}: {driver_message(e)}") from None
    finally:
        engine.dispose()


__all__ = ["GROUPS", "ROLES", "create_user", "setup_roles"]
