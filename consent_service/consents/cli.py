"""`consent-service consents ...`: operator commands for consents (cron-friendly)."""

from __future__ import annotations

import typer
from sqlmodel import Session

consents_app = typer.Typer(no_args_is_help=True, help="Consents (grants).")


@consents_app.command("expire")
def expire() -> None:
    """Mark every grant whose term has ended `expired` (and revoke what hangs off it).

    Reads also apply expiry, so this only makes the change visible to listeners (licences,
    status lists) without waiting for a read. Safe to run at any time, e.g. from cron.
    """
    from consent_service.cli import _open_session, _settings_or_exit
    from consent_service.consents.service import expire_due_grants
    from consent_service.db import utcnow

    settings = _settings_or_exit()
    engine, keyring = _open_session()
    total = 0
    while True:
        with Session(engine, expire_on_commit=False) as session:
            ids = expire_due_grants(session, utcnow(), keyring=keyring, issuer=settings.issuer)
            session.commit()
        for grant_id in ids:
            typer.echo(grant_id)
        total += len(ids)
        if not ids:
            break
    typer.echo(f"{total} consent(s) expired", err=True)
