"""A read-only session for the public hot paths: online verification and status lists.

On SQLite every transaction of the main engine starts with BEGIN IMMEDIATE (the write lock,
see db.py), which would make every verification queue behind every other one. Reads need no
lock: WAL gives each statement a consistent snapshot of what is committed. So on SQLite these
routes use a second engine without that hook, whose connections are `query_only`; on
PostgreSQL a second engine in autocommit mode (a lookup is one round trip). Nothing is ever
written through these engines.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import Engine, event
from sqlmodel import Session, create_engine

# As many as the worker threads that may read at once (anyio's default limiter: 40), so that
# connections are reused instead of opened and closed under load.
POOL_SIZE = 40


def read_engine(app: Any) -> Engine:
    """The engine for read-only work (created on first use, disposed at shutdown)."""
    state = app.state
    engine: Engine | None = getattr(state, "read_engine", None)
    if engine is not None:
        return engine
    main: Engine = state.engine
    if main.dialect.name != "sqlite":
        # Autocommit: a lookup is one round trip, without BEGIN before it and ROLLBACK after.
        engine = create_engine(
            main.url, isolation_level="AUTOCOMMIT", pool_size=POOL_SIZE, max_overflow=8
        )
    else:
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

    app.router.on_shutdown.append(engine.dispose)
    state.read_engine = engine
    return engine


def get_read_session(request: Request) -> Iterator[Session]:
    with Session(read_engine(request.app), expire_on_commit=False) as session:
        yield session


ReadSessionDep = Annotated[Session, Depends(get_read_session)]
