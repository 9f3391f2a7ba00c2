"""Apply alembic migrations programmatically (`consent-service db upgrade`, `serve`, tests).

One chain of migrations covers both databases: the data database (alembic's own connection)
and the key store (crypto/keystore.py), which the migrations that touch it open themselves
from `config.attributes["keystore_url"]` (default: derived from the database URL).
"""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config

from alembic import command

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def alembic_config(url: str, *, keystore_url: str | None = None) -> Config:
    ini = PROJECT_ROOT / "alembic.ini"
    if not ini.exists():
        raise FileNotFoundError(f"alembic.ini not found at {ini}: run from a source checkout")
    config = Config(str(ini))
    config.set_main_option("script_location", str(PROJECT_ROOT / "alembic"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["configure_logger"] = False
    if keystore_url is not None:
        config.attributes["keystore_url"] = keystore_url
    return config


def upgrade(url: str, revision: str = "head", *, keystore_url: str | None = None) -> None:
    command.upgrade(alembic_config(url, keystore_url=keystore_url), revision)


def downgrade(url: str, revision: str, *, keystore_url: str | None = None) -> None:
    command.downgrade(alembic_config(url, keystore_url=keystore_url), revision)
