"""The review store: opening, migrating and guarding the database.

SQLite (WAL, synchronous=FULL) in the per-user data directory is the embedded default; the
same schema runs on PostgreSQL. Every database failure a user can cause (locked, read-only,
damaged, unreachable) becomes a StoreError with one sentence naming the database.
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import platformdirs
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url

from ndelab.annotation.errors import StoreError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_MIGRATION_LOCK = threading.Lock()
SQLITE_MAGIC = b"SQLite format 3\x00"
WAL_AUTOCHECKPOINT_PAGES = 4000


def data_dir() -> Path:
    """Per-user data folder (NDELAB_DATA_DIR overrides platformdirs' choice)."""
    env = os.environ.get("NDELAB_DATA_DIR")
    return Path(env) if env else Path(platformdirs.user_data_dir("ndelab"))


def default_url() -> str:
    return f"sqlite:///{data_dir() / 'ndelab.db'}"


WORKSTATION_ENV = "NDELAB_WORKSTATION_ID"


def workstation_id() -> str:
    """A stable id for this machine's data folder (NDELAB_WORKSTATION_ID overrides it)."""
    env = os.environ.get(WORKSTATION_ENV)
    if env:
        return env
    path = data_dir() / "workstation-id"
    try:
        value = path.read_text(encoding="ascii").strip()
        if value:
            return value
    except OSError:
        pass
    value = str(uuid.uuid4())
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(value + "\n", encoding="ascii")
    except OSError:
        pass  # a read-only home still gets an id for this session
    return value


def normalise_url(url: str | Path | None) -> str:
    """A SQLAlchemy URL from a URL, a plain file path, or None (the default database)."""
    if url is None:
        return default_url()
    text_url = str(url)
    if "://" in text_url:
        return text_url
    return f"sqlite:///{Path(text_url).expanduser().resolve()}"


def alembic_config(connection: Connection | None = None) -> Config:
    """A programmatic Alembic config (no alembic.ini) pointing at the packaged migrations."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def is_permission_error(error: BaseException) -> bool:
    """True for PostgreSQL's insufficient_privilege (a GRANT or row-level security refusal)."""
    original = getattr(error, "orig", None) or error
    return getattr(original, "sqlstate", None) == "42501"


def driver_message(error: BaseException) -> str:
    """The driver's own message of a database error, one lower-case line without the SQL or
    parameters SQLAlchemy appends (which may quote secrets)."""
    return _describe(str(getattr(error, "orig", None) or error))


def _describe(message: str) -> str:
    """Lower-case driver message without SQL or parameters."""
    first = message.strip().splitlines()[0] if message.strip() else message
    first = re.sub(r"^\([^)]*\)\s*", "", first)
    return first.strip().rstrip(".").lower()


class Store:
    """An open review database. Use ``with Store(url) as store:`` or call ``close()``.

    url: "sqlite:///path", a plain path, "postgresql+psycopg://...", or None for the default
    database in the per-user data folder. busy_timeout_s: how long a write waits for another
    program's lock before a StoreError. check: run SQLite's quick_check on open.
    """

    def __init__(
        self,
        url: str | Path | None = None,
        *,
        busy_timeout_s: float = 5.0,
        check: bool = True,
        workstation: str | None = None,
    ) -> None:
        self.url = normalise_url(url)
        self.busy_timeout_s = busy_timeout_s
        self.workstation_id = workstation or workstation_id()
        parsed = make_url(self.url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        database = parsed.database if self.is_sqlite else None
        self.path: Path | None = Path(database) if database else None
        self.name = str(self.path) if self.path else parsed.render_as_string(hide_password=True)
        if self.is_sqlite and self.path is None:
            raise StoreError("an in-memory SQLite database cannot hold reviews; give a file path")
        self.engine = self._open_engine()
        try:
            self._prepare(check)
            if self.is_sqlite and workstation is None and not os.environ.get(WORKSTATION_ENV):
                # 36 characters like the machine id; the same machine and file, the same id.
                both = f"{self.workstation_id}:{self._database_id()}"
                self.workstation_id = str(uuid.uuid5(uuid.NAMESPACE_URL, both))
        except BaseException:
            self.engine.dispose()
            raise

    # -- opening -------------------------------------------------------------------------

    def _open_engine(self) -> Engine:
        if not self.is_sqlite:
            try:
                return create_engine(self.url, pool_pre_ping=True)
            except (sa_exc.ArgumentError, ImportError) as e:
                raise StoreError(f"database URL {self.name} is not usable: {e}") from e
        assert self.path is not None
        self._check_sqlite_file(self.path)
        engine = create_engine(
            f"sqlite:///{self.path}", connect_args={"timeout": self.busy_timeout_s}
        )

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            try:
                # WAL lets the GUI read while a write commits; FULL makes every commit durable.
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=FULL")
                # Checkpoints (copy WAL into the database, fsync it) stall the commit that
                # triggers them; a 16 MB WAL makes them rare. checkpoint() runs one at idle.
                cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")
                cursor.execute("PRAGMA foreign_keys=ON")
            finally:
                cursor.close()

        return engine

    def _check_sqlite_file(self, path: Path) -> None:
        """Refuse files we must not touch before SQLite writes anything to them."""
        if path.exists():
            if path.is_dir():
                raise StoreError(f"database {path} is a folder, not a database file")
            try:
                with path.open("rb") as f:
                    head = f.read(len(SQLITE_MAGIC))
            except OSError as e:
                raise StoreError(f"database {path} cannot be read: {e.strerror}") from e
            if head and head != SQLITE_MAGIC:
                raise StoreError(
                    f"database {path} is damaged or not an SQLite database (its header is wrong)"
                )
            if not os.access(path, os.W_OK) or not os.access(path.parent, os.W_OK):
                raise StoreError(
                    f"database {path} is read-only; ndelab needs to write review decisions to it"
                )
        else:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise StoreError(
                    f"database folder {path.parent} cannot be created: {e.strerror}"
                ) from e
            if not os.access(path.parent, os.W_OK):
                raise StoreError(f"database {path} cannot be created: its folder is read-only")

    def _prepare(self, check: bool) -> None:
        with self.guard("open"), self.engine.begin() as conn:
            if self.is_sqlite and check:
                result = conn.exec_driver_sql("PRAGMA quick_check").scalar()
                if result != "ok":
                    raise StoreError(
                        f"database {self.name} is damaged (SQLite integrity check: {result})"
                    )
            tables = set(inspect(conn).get_table_names())
            current = MigrationContext.configure(conn).get_current_revision()
            if tables and "alembic_version" not in tables:
                raise StoreError(
                    f"database {self.name} holds other tables; it is not an ndelab database"
                )
            head = head_revision()
            if current is not None and current != head:
                scripts = ScriptDirectory.from_config(alembic_config())
                known = {s.revision for s in scripts.walk_revisions()}
                if current not in known:
                    raise StoreError(
                        f"database {self.name} has schema {current}, newer than this ndelab knows"
                    )
            if current != head:
                # Alembic runs env.py through module-level globals (alembic.context): two
                # upgrades at once in one process (the window opens its store in a job) would
                # tear each other's context down. One at a time.
                with _MIGRATION_LOCK:
                    command.upgrade(alembic_config(conn), "head")

    def _database_id(self) -> str:
        """This database's own id (made by the migrations). A workstation store's events carry
        it inside their workstation id: two SQLite files on one machine are two workstations
        to the sync, which pulls only what other workstations made."""
        with self.reading("read the database id") as conn:
            value = conn.execute(
                text("SELECT value FROM sync_state WHERE key = 'database_id'")
            ).scalar()
        return str(value or "")

    # -- errors --------------------------------------------------------------------------

    def _translate(self, error: BaseException, doing: str) -> StoreError:
        original = getattr(error, "orig", None) or error
        msg = driver_message(error)
        name = self.name
        if "locked" in msg or "busy" in msg:
            return StoreError(
                f"database {name} is locked by another program (waited {self.busy_timeout_s:g} s"
                f" to {doing}); nothing was changed, try again when it is free"
            )
        if "readonly" in msg or "read-only" in msg:
            return StoreError(f"database {name} is read-only; could not {doing}")
        if "not a database" in msg or "malformed" in msg or "disk image" in msg:
            return StoreError(f"database {name} is damaged or not an SQLite database ({msg})")
        if "unable to open" in msg:
            return StoreError(f"database {name} cannot be opened ({msg})")
        if "disk" in msg and "full" in msg:
            return StoreError(f"database {name}: the disk is full; could not {doing}")
        if isinstance(original, sqlite3.Error):
            return StoreError(f"database {name}: could not {doing} ({msg})")
        if is_permission_error(error):
            login = self.engine.url.username or "this login"
            return StoreError(
                f"database {name} refused to let '{login}' {doing}: the role lacks the"
                f" permission ({msg}); nothing was changed"
            )
        return StoreError(f"database {name} could not {doing}: {msg}")

    @contextmanager
    def guard(self, doing: str) -> Iterator[None]:
        """Turn driver errors inside the block into one-sentence StoreErrors."""
        try:
            yield
        except StoreError:
            raise
        except (sa_exc.OperationalError, sa_exc.DatabaseError, sqlite3.Error) as e:
            raise self._translate(e, doing) from e

    @contextmanager
    def transaction(self, doing: str) -> Iterator[Connection]:
        """One durable transaction: committed when the block ends, rolled back on error."""
        with self.guard(doing), self.engine.begin() as conn:
            yield conn

    @contextmanager
    def reading(self, doing: str) -> Iterator[Connection]:
        with self.guard(doing), self.engine.connect() as conn:
            yield conn

    # -- lifetime ------------------------------------------------------------------------

    def schema_revision(self) -> str | None:
        with self.reading("read the schema version") as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def journal_mode(self) -> str:
        with self.reading("read the journal mode") as conn:
            return str(conn.exec_driver_sql("PRAGMA journal_mode").scalar())

    def checkpoint(self) -> None:
        """Copy the SQLite write-ahead log into the database (call when idle; PASSIVE, so it
        never waits for readers). No-op on PostgreSQL."""
        if self.is_sqlite:
            with self.reading("checkpoint the write-ahead log") as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")

    def close(self) -> None:
        # A locked or read-only file keeps its log; nothing is lost.
        with contextlib.suppress(StoreError):
            self.checkpoint()
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_store(url: str | Path | None = None, **kwargs: Any) -> Store:
    """Open (and create or migrate) a review database; see Store."""
    return Store(url, **kwargs)


__all__ = ["Store", "data_dir", "default_url", "open_store", "workstation_id"]
