"""`consent-service consents ...`: operator commands for consents (cron-friendly)."""

from __future__ import annotations

import typer

consents_app = typer.Typer(no_args_is_help=True, help="Consents (grants).")


@consents_app.command("expire")
def expire() -> None:
    """Mark every grant whose term has ended `expired` (and revoke what hangs off it).

    Reads also apply expiry, so this only makes the change visible to listeners (licences,
    status lists) without waiting for a read. Safe to run at any time, e.g. from cron.
    """
    from consent_service.cli import open_services
    from consent_service.consents.service import expire_due_grants
    from consent_service.db import utcnow

    services = open_services()  # its sessions carry the grant listeners (licences' cascade)
    total = 0
    while True:
        with services.session() as session:
            ids = expire_due_grants(
                session, utcnow(), keyring=services.keyring, issuer=services.settings.issuer
            )
            session.commit()
        for grant_id in ids:
            typer.echo(grant_id)
        total += len(ids)
        if not ids:
            break
    services.close()
    typer.echo(f"{total} consent(s) expired", err=True)
