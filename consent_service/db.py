"""Database engine and the unit of work.

One request is one transaction: `get_session` (deps.py) yields a session, the route and the
services it calls only `flush()`, and the session commits once when the route has returned,
*before* the response is sent (the dependency is declared with `scope="function"`). A failure
anywhere rolls the whole request back, the audit event with it.

On SQLite a transaction that writes starts with `BEGIN IMMEDIATE` (it takes the database write
lock at once, the counterpart of `SELECT ... FOR UPDATE`). A read-only request must not take
that lock, or every GET would queue behind every write: its session is bound to the engine with
the execution option `DEFERRED_BEGIN`, and starts with a plain (deferred) `BEGIN`, which in WAL
mode reads a snapshot and never blocks a writer nor waits for one (and `PRAGMA query_only`
refuses any write attempted through it).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Engine, MetaData, event, text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import SQLModel, create_engine

# Stable constraint names so that alembic migrations are identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION
metadata: MetaData = SQLModel.metadata


def utcnow() -> datetime:
    return datetime.now(UTC)


def rfc3339(value: datetime) -> str:
    """RFC 3339 UTC text with microseconds, e.g. `2026-11-22T00:10:19.123456Z`."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the offset on its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# Execution option: this connection's transactions only read; on SQLite they begin deferred.
DEFERRED_BEGIN = "consent_deferred_begin"


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            **kwargs,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy issue BEGIN itself so that BEGIN IMMEDIATE below takes effect.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            # FULL: an acknowledged commit (a withdrawal) survives power loss, not only a crash.
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            if conn.get_execution_options().get(DEFERRED_BEGIN):
                # A read: a WAL snapshot, no lock. query_only makes a write attempted through
                # it fail loudly instead of racing the serialised writers.
                conn.exec_driver_sql("PRAGMA query_only=ON")
                conn.exec_driver_sql("BEGIN")
                return
            conn.exec_driver_sql("PRAGMA query_only=OFF")
            # Take the write lock at the start: the SQLite counterpart of SELECT ... FOR UPDATE,
            # so that two requests never both read a state and then both change it.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, **kwargs)


def check_database(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
