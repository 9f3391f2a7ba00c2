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
    It also records, once per grant, that an active grant ends within 30 days
    (`consent.ending_soon`), which mails the holder.
    """
    from consent_service.cli import open_services
    from consent_service.consents.sweep import sweep_ending, sweep_expired

    services = open_services()  # its sessions carry the grant listeners (licences' cascade)
    ids = sweep_expired(services.session, services.signer)
    told = sweep_ending(services.session)
    # The time-driven webhooks ride on the same cron line (flows/notices.py).
    from consent_service.flows.notices import sweep_notices

    notices = sweep_notices(services.session)
    # Invitations past their expiry: ended, and the invited address erased.
    from consent_service.consents.sweep import drain
    from consent_service.invitations import service as invitations

    invitations_ended = drain(services.session, invitations.sweep_expired)
    services.close()
    for grant_id in ids:
        typer.echo(grant_id)
    typer.echo(f"{len(ids)} consent(s) expired", err=True)
    typer.echo(f"{len(told)} holder(s) told their consent ends within 30 days", err=True)
    typer.echo(
        f"{notices.expiry_warnings} expiry warning(s), "
        f"{notices.acknowledgement_reminders} acknowledgement reminder(s) queued",
        err=True,
    )
    typer.echo(f"{invitations_ended} invitation(s) expired", err=True)
