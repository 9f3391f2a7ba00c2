"""Alembic environment: one code path for SQLite (batch mode) and PostgreSQL."""

from __future__ import annotations

from logging.config import fileConfig
from typing import Any

import sqlalchemy as sa
from alembic import context

from consent_service import models
from consent_service.config import Settings
from consent_service.crypto.keystore import keystore_url_for
from consent_service.db import UTCDateTime, make_engine

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = models.metadata


def _url() -> str:
    return config.get_main_option("sqlalchemy.url") or Settings().resolved_database_url


def _keystore_url(url: str) -> str:
    """Where the key store is (crypto/keystore.py): given by the caller, the setting, or derived."""
    given = config.attributes.get("keystore_url") or Settings().keystore_url
    return given or keystore_url_for(url)


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    # Migrations must not depend on application types: render them as plain SQLAlchemy types.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if type_ == "type" and type(obj).__name__ == "AutoString":
        length = getattr(obj, "length", None)
        return f"sa.String(length={length})" if length else "sa.String()"
    return False


def run_migrations() -> None:
    url = _url()
    # Migrations that reach the key store read its URL from here (0017 and later).
    config.attributes["keystore_url"] = _keystore_url(url)
    engine = make_engine(url) if url.startswith("sqlite") else sa.create_engine(url)
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Batch mode rebuilds a table (copy, drop, rename). With foreign keys enforced, the
            # DROP of a table other rows point at fails, so enforcement is off while migrating
            # (SQLite ignores this PRAGMA inside a transaction: it goes to the driver before
            # any BEGIN) and the whole database is checked once the migrations ran.
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=sqlite,
            render_item=render_item,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        if sqlite:
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            connection.commit()
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")
            # No page as it was before a migration (e.g. 0017's dropped keys) left in the WAL.
            connection.connection.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            if broken:
                raise RuntimeError(f"migrations left rows with broken foreign keys: {broken[:5]}")
    engine.dispose()


run_migrations()
