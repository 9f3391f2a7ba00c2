"""`consent-service vault ...`: operator commands for the reference store."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer
from sqlmodel import Session

vault_app = typer.Typer(no_args_is_help=True, help="Reference-data store.")


@vault_app.command("sweep")
def sweep(
    delete: Annotated[bool, typer.Option(help="Delete what is found (default: only list)")] = False,
    min_age_minutes: Annotated[int, typer.Option(help="Leave younger objects alone")] = 60,
) -> None:
    """List (or delete) stored objects that no live reference points to."""
    from consent_service.cli import _open_session, _settings_or_exit
    from consent_service.vault import service
    from consent_service.vault.storage import storage_from_settings

    storage = storage_from_settings(_settings_or_exit())
    engine, _keyring = _open_session()
    with Session(engine) as session:
        orphans = service.sweep_orphans(
            session,
            storage=storage,
            older_than=timedelta(minutes=min_age_minutes),
            delete=delete,
        )
    for name in orphans:
        typer.echo(name)
    typer.echo(f"{len(orphans)} orphaned object(s) {'deleted' if delete else 'found'}", err=True)
