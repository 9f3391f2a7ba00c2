"""`consent-service vault ...`: operator commands for the reference store."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer

vault_app = typer.Typer(no_args_is_help=True, help="Reference-data store.")


@vault_app.command("sweep")
def sweep(
    delete: Annotated[bool, typer.Option(help="Delete what is found (default: only list)")] = False,
    min_age_minutes: Annotated[int, typer.Option(help="Leave younger objects alone")] = 60,
) -> None:
    """List (or delete) stored objects that no live reference points to."""
    from consent_service.cli import open_services
    from consent_service.vault import service

    services = open_services()
    with services.session() as session:
        orphans = service.sweep_orphans(
            session,
            storage=services.vault_storage,
            older_than=timedelta(minutes=min_age_minutes),
            delete=delete,
        )
    services.close()
    for name in orphans:
        typer.echo(name)
    typer.echo(f"{len(orphans)} orphaned object(s) {'deleted' if delete else 'found'}", err=True)
