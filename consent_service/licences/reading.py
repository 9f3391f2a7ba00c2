"""A read-only session for the public hot paths: online verification and status lists.

On SQLite every transaction of the main engine starts with BEGIN IMMEDIATE (the write lock,
see db.py), which would make every verification queue behind every other one. Reads need no
lock: WAL gives each statement a consistent snapshot of what is committed. So on SQLite these
routes use a second engine (`ReadSessionDep` in deps.py) without that hook, whose connections
are `query_only`; on PostgreSQL a second engine in autocommit mode (a lookup is one round
trip). Nothing is ever written through these engines.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, event
from sqlmodel import create_engine

# As many as the worker threads that may read at once (anyio's default limiter: 40), so that
# connections are reused instead of opened and closed under load.
POOL_SIZE = 40


def make_read_engine(main: Engine) -> Engine:
    """The engine for read-only work beside `main` (built by the composition root)."""
    if main.dialect.name != "sqlite":
        # Autocommit: a lookup is one round trip, without BEGIN before it and ROLLBACK after.
        return create_engine(
            main.url, isolation_level="AUTOCOMMIT", pool_size=POOL_SIZE, max_overflow=8
        )
    engine = create_engine(
        main.url,
        connect_args={"check_same_thread": False, "timeout": 30},
        pool_size=POOL_SIZE,
        max_overflow=8,
    )

    @event.listens_for(engine, "connect")
    def _read_only(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA query_only=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    return engine
