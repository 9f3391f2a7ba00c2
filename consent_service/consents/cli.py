"""`consent-service consents ...`: operator commands for consents (cron-friendly)."""

from __future__ import annotations

import typer

consents_app = typer.Typer(no_args_is_help=True, help="Consents (grants).")


@consents_app.command("expire")
def expire() -> None:
    """Mark every grant whose term has ended `expired` (and revoke what hangs off it).

    Reads show a grant past its end as expired without writing; this records it (with its
    audit event and receipt) and tells the listeners (licences, status lists). `serve` runs
    the same sweep on a timer (CONSENT_EXPIRY_SWEEP_SECONDS). Safe to run at any time.
    """
    from consent_service.cli import _open_session, _settings_or_exit
    from consent_service.consents.sweep import sweep_expired
    from consent_service.crypto.signer import Signer

    settings = _settings_or_exit()
    engine, keyring = _open_session()
    ids = sweep_expired(engine, Signer(keyring=keyring, issuer=settings.issuer))
    for grant_id in ids:
        typer.echo(grant_id)
    typer.echo(f"{len(ids)} consent(s) expired", err=True)
