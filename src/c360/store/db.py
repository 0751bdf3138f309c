"""Connection to the operational store and its migrations."""

from __future__ import annotations

import fcntl
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    Delete,
    Engine,
    Insert,
    Update,
    create_engine,
    event,
    inspect,
    text,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from c360.errors import C360Error
from c360.lakehouse.declarations import Declarations
from c360.store.lock import advisory_key

MIGRATIONS = Path(__file__).parent / "migrations"


def resolve_url(url: str, workspace: Path) -> str:
    """Make relative SQLite paths relative to the workspace and create their folder."""
    u = make_url(url)
    if u.get_backend_name() == "sqlite" and u.database and u.database != ":memory:":
        db = Path(u.database)
        if not db.is_absolute():
            db = workspace / db
        db.parent.mkdir(parents=True, exist_ok=True)
        u = u.set(database=str(db))
    return u.render_as_string(hide_password=False)


class Store:
    """The operational store. ``migrate()`` brings the schema to the newest revision.

    Writes to a product table nobody declared (:mod:`c360.lakehouse.declarations`,
    ``store:<table>``) are refused before they reach the database.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        kwargs: dict[str, object] = {"future": True}
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"timeout": 30}
            # a server thread may hold two connections at once (a read inside a read); the
            # default 5 + 10 let 15 waiting threads each hold one and wait for a second
            kwargs["pool_size"] = 16
            kwargs["max_overflow"] = 112
        else:
            kwargs["pool_pre_ping"] = True
        self.engine: Engine = create_engine(url, **kwargs)
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        event.listen(self.engine, "before_execute", _refuse_undeclared)

    @cached_property
    def autocommit(self) -> Engine:
        """PostgreSQL: an engine of its own for one-statement reads (the consent gate's
        point checks): autocommit, no pre-ping and no reset on return, so a checkout
        costs no round trip. A bounded pool, like the main one: connections are held
        only for the statement, never per thread (a server's many threads would hold
        every connection of the pool and leave none for anything else)."""
        if self.dialect != "postgresql":
            return self.engine
        engine = create_engine(
            self.url,
            future=True,
            isolation_level="AUTOCOMMIT",
            pool_reset_on_return=None,
            pool_size=8,
            max_overflow=8,
        )
        event.listen(engine, "before_execute", _refuse_undeclared)
        return engine

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def migrate(self) -> None:
        """Apply every Alembic migration (all heads) — idempotent."""
        from alembic import command
        from alembic.config import Config as AlembicConfig

        cfg = AlembicConfig()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        try:
            with self._migration_lock(), self.engine.begin() as conn:
                if self.dialect == "sqlite":
                    # Python's sqlite3 opens a transaction before a data change only, so
                    # each CREATE TABLE committed by itself: a process killed half-way
                    # left tables behind without the revision that made them, and every
                    # later migrate stopped on "table already exists". One explicit
                    # transaction holds the whole migration, as on PostgreSQL.
                    conn.exec_driver_sql("BEGIN IMMEDIATE")
                if self.dialect == "postgresql":
                    # held until this transaction ends: concurrent migrations run one by one,
                    # and the later ones find the schema current
                    conn.execute(
                        text("SELECT pg_advisory_xact_lock(:k)"),
                        {"k": advisory_key("c360.migrate")},
                    )
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "heads")
        except SQLAlchemyError as exc:
            raise C360Error("store.unavailable", _failure("cannot migrate the store", exc)) from exc

    @contextmanager
    def _migration_lock(self) -> Iterator[None]:
        """SQLite: an exclusive flock beside the database file while migrating."""
        u = make_url(self.url)
        if self.dialect != "sqlite" or not u.database or u.database == ":memory:":
            yield
            return
        with open(f"{u.database}.migrate.lock", "a+b") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    def recover_interrupted(self) -> dict[str, int]:
        """Mark ingest batches and runs left ``running`` by a process that ended as
        ``interrupted`` (call only while holding the workspace write lock, when no other
        writer can be running them). An interrupted batch is pending: the next ingest
        resumes it from the Delta commits that already hold it."""
        from c360.store.schema import ingest_batches, runs

        now = datetime.now(UTC)
        msg = "the process running it ended before it finished; the next run resumes it"
        with self.begin() as conn:
            batches = conn.execute(
                update(ingest_batches)
                .where(ingest_batches.c.status == "running")
                .values(status="interrupted", error=msg, finished_at=now)
            ).rowcount
            n_runs = conn.execute(
                update(runs)
                .where(runs.c.status == "running")
                .values(status="interrupted", error=msg, finished_at=now)
            ).rowcount
        return {"batches": int(batches or 0), "runs": int(n_runs or 0)}

    def table_names(self) -> list[str]:
        return sorted(inspect(self.engine).get_table_names())

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A transaction; commits on success, rolls back on error."""
        try:
            with self.engine.begin() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise C360Error("store.unavailable", _failure("operational store error", exc)) from exc

    def dispose(self) -> None:
        if "autocommit" in self.__dict__ and self.autocommit is not self.engine:
            self.autocommit.dispose()
        self.engine.dispose()


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _failure(what: str, exc: SQLAlchemyError) -> str:
    """A store failure's message: the kind of failure, never the driver's text.

    The driver's text names the server, the database and user, and may quote a
    statement's parameters (personal data); it goes to the log for operators only.
    """
    orig = getattr(exc, "orig", None)
    logging.getLogger("c360.store").warning("%s: %s", what, orig or exc)
    return f"{what} ({type(orig or exc).__name__}; details in the log)"


LOCATION_FILE = ".c360/store-location"


def _portable(url: str, workspace: Path) -> str:
    """The URL without its password; SQLite files inside the workspace relative to it."""
    u = make_url(url)
    if u.get_backend_name() == "sqlite" and u.database and u.database != ":memory:":
        db = Path(u.database)
        if db.is_relative_to(workspace):
            return f"sqlite:///{db.relative_to(workspace).as_posix()}"
    return u.render_as_string(hide_password=True)


def check_location(url: str, workspace: Path) -> None:
    """Refuse to open a different store than the one this workspace's data lives in.

    The first open records where the store is (``.c360/store-location``); a later open
    whose ``store.url`` / ``C360_STORE_URL`` points elsewhere — say, the default SQLite
    file because the variable naming PostgreSQL is unset in this shell — is an error
    instead of a silently empty store (consent would answer ``unknown_subject``).
    """
    marker = workspace / LOCATION_FILE
    here = _portable(url, workspace)
    if not marker.exists():
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(here + "\n", encoding="utf-8")
        return
    recorded = marker.read_text(encoding="utf-8").strip()
    if recorded != here:
        raise C360Error(
            "workspace.store_mismatch",
            f"this workspace's store is {recorded}, but store.url / C360_STORE_URL now says "
            f"{here}; set store.url in c360.yaml (or C360_STORE_URL) to the recorded store, "
            f"or delete {marker} to adopt the new one",
            {"recorded": recorded, "configured": here},
        )


_DECLARATIONS = Declarations()
_checked: set[str] = set()


def _refuse_undeclared(conn: Any, clause: Any, *_args: Any, **_kw: Any) -> None:
    """Refuse INSERT/UPDATE/DELETE on a product table that has no declaration."""
    if not isinstance(clause, Insert | Update | Delete):
        return
    table = getattr(clause, "table", None)
    name = getattr(table, "name", None)
    if not name or name in _checked:
        return
    from c360.store.schema import metadata

    if name not in metadata.tables:  # transaction-local staging tables
        return
    _DECLARATIONS.require(f"store:{name}")
    _checked.add(name)
