"""`consent-service retention ...`: apply the retention schedule (cron-friendly)."""

from __future__ import annotations

from typing import Annotated

import typer

retention_app = typer.Typer(no_args_is_help=True, help="Retention of evidence and usages.")


@retention_app.command("apply")
def apply(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would go; change nothing")
    ] = False,
) -> None:
    """Delete verification evidence and usage rows past their retention period.

    The schedule is CONSENT_EVIDENCE_RETENTION_DAYS (after a case's decision),
    CONSENT_PENDING_EVIDENCE_RETENTION_DAYS (after upload, for a case nobody decided) and
    CONSENT_USAGE_RETENTION_DAYS (after a usage was recorded). Audit events stay: the log and
    its proofs verify as before. Safe to run at any time, e.g. daily from cron.
    """
    from consent_service.cli import open_services
    from consent_service.flows import retention

    services = open_services()
    try:
        with services.session() as session:
            result = retention.apply(
                session,
                settings=services.settings,
                storage=services.vault_storage,
                dry_run=dry_run,
            )
            session.commit()
    finally:
        services.close()
    for case_id in result.case_ids:
        typer.echo(case_id)
    verb = "would be" if dry_run else "were"
    typer.echo(
        f"{len(result.case_ids)} verification case(s) {verb} scrubbed "
        f"({result.evidence_objects} evidence object(s)); "
        f"{result.usages} usage row(s) {verb} deleted",
        err=True,
    )
