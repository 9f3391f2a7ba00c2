"""The `consent-service` command: serve, db, accounts, keys (and verify, audit verify).

These are the commands of the server install (the `server` extra of the package).
`verify` also runs from the base install, which holds only the offline verifier.
"""

# The installed script enters through console.py, which runs `verify` (licences/cli.py, the
# standard library only) without importing this module. Importing this module must stay cheap
# all the same: `audit verify` is an offline check run in shell pipelines and needs neither
# the web framework nor the database layer. So the server's parts (FastAPI, SQLModel, alembic,
# the services) are imported inside the commands that use them; tests/test_cli_startup.py
# holds that line.

from __future__ import annotations

import json
import os
import sys
from contextlib import closing
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer

from consent_service.audit.cli import audit_app
from consent_service.config import ConfigurationError, Settings, get_settings
from consent_service.consents.cli import consents_app
from consent_service.files import private_directory
from consent_service.flows.retention_cli import retention_app
from consent_service.licences import cli as licence_cli
from consent_service.provenance.cli import c2pa_app
from consent_service.vault.cli import vault_app

if TYPE_CHECKING:
    from consent_service.wiring import Services

app = typer.Typer(
    no_args_is_help=True, add_completion=False, help=__doc__, pretty_exceptions_enable=False
)
db_app = typer.Typer(no_args_is_help=True, help="Database schema (alembic migrations).")
accounts_app = typer.Typer(no_args_is_help=True, help="Operator accounts.")
keys_app = typer.Typer(no_args_is_help=True, help="Signing keys.")
app.add_typer(db_app, name="db")
app.add_typer(accounts_app, name="accounts")
app.add_typer(keys_app, name="keys")
app.add_typer(consents_app, name="consents")
app.add_typer(audit_app, name="audit")
app.add_typer(retention_app, name="retention")
app.add_typer(vault_app, name="vault")
app.add_typer(c2pa_app, name="c2pa")


@app.command(
    "verify",
    add_help_option=False,
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
def verify(ctx: typer.Context) -> None:
    """Verify a licence offline (no server needed; consent-service verify --help)."""
    # One implementation, in the standard library (licences/cli.py), so that the base install
    # runs it without typer; this command only forwards its arguments.
    raise typer.Exit(licence_cli.main(ctx.args))


def _settings_or_exit() -> Settings:
    from pydantic import ValidationError

    try:
        settings = get_settings()
    except ValidationError as exc:  # a malformed CONSENT_ variable: one line, not a traceback
        from consent_service.ops.startup import describe_settings_error

        typer.echo(f"configuration error: {describe_settings_error(exc)}", err=True)
        raise typer.Exit(2) from exc
    try:
        settings.check_production()
    except ConfigurationError as exc:
        typer.echo(f"configuration error: {exc}", err=True)
        raise typer.Exit(2) from exc
    private_directory(settings.data_dir)
    return settings


def _start_up_or_exit(settings: Settings, *, migrate: bool) -> None:
    """Database reachable, migrations applied, master key right: else one line and exit 2."""
    from consent_service import migrations
    from consent_service.ops.startup import (
        StartupError,
        check_database_reachable,
        check_master_key,
    )

    try:
        check_database_reachable(settings.resolved_database_url)
        if migrate:
            migrations.upgrade(
                settings.resolved_database_url, keystore_url=settings.resolved_keystore_url
            )
        check_master_key(settings)
    except StartupError as exc:
        typer.echo(f"start-up error: {exc}", err=True)
        raise typer.Exit(2) from exc


def _development_issuer(settings: Settings, host: str, port: int) -> Settings:
    """In development the issuer follows the address served, unless CONSENT_ISSUER is set.

    Licences name their issuer and verifiers fetch its keys from there, so a development
    server on another port must not claim http://127.0.0.1:8000. The variable is set for the
    app's process too (uvicorn builds the app from the environment, in each worker).
    """
    if settings.is_production or "issuer" in settings.model_fields_set:
        return settings
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    if ":" in shown:
        shown = f"[{shown}]"
    issuer = f"http://{shown}:{port}"
    os.environ["CONSENT_ISSUER"] = issuer
    get_settings.cache_clear()
    return get_settings()


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply migrations up to REVISION (default: head)."""
    from consent_service import migrations

    settings = _settings_or_exit()
    migrations.upgrade(
        settings.resolved_database_url, revision, keystore_url=settings.resolved_keystore_url
    )
    typer.echo(f"database at {revision}")


@db_app.command("downgrade")
def db_downgrade(revision: str) -> None:
    """Revert migrations down to REVISION (e.g. base)."""
    from consent_service import migrations

    settings = _settings_or_exit()
    migrations.downgrade(
        settings.resolved_database_url, revision, keystore_url=settings.resolved_keystore_url
    )
    typer.echo(f"database at {revision}")


GETTING_STARTED = """
consent_service is starting on {base}
  Issuer:          {issuer}
  API reference:   {base}/docs
  Holder portal:   {base}/portal
  Health:          {base}/healthz  {base}/readyz
  Data directory:  {data_dir} ({db})

Get started (in another terminal):
  .venv/bin/consent-service accounts create-admin --name me   # prints an admin API key
  then follow the walkthrough in README.md.
"""


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on", envvar="PORT")] = 8000,
    workers: Annotated[int, typer.Option(help="uvicorn worker processes")] = 1,
    migrate: Annotated[bool, typer.Option(help="Apply migrations before serving")] = True,
) -> None:
    """Apply migrations, then serve the API with uvicorn."""
    import uvicorn

    settings = _development_issuer(_settings_or_exit(), host, port)
    _start_up_or_exit(settings, migrate=migrate)
    db = "SQLite" if settings.resolved_database_url.startswith("sqlite") else "external database"
    typer.echo(
        GETTING_STARTED.format(
            base=f"http://{host}:{port}",
            issuer=settings.issuer,
            data_dir=settings.data_dir.resolve(),
            db=db,
        )
    )
    uvicorn.run(
        "consent_service.main:app_factory",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,
        # X-Forwarded-For is believed only from these peers (the proxies in front): behind one,
        # each client gets its own throttle buckets; a direct client cannot forge an address.
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
    )


def open_services() -> Services:
    """Migrate the database, then build the services as the app does (wiring.py)."""
    from consent_service.wiring import build_services

    settings = _settings_or_exit()
    _start_up_or_exit(settings, migrate=True)
    return build_services(settings)


@app.command()
def worker(
    concurrency: Annotated[
        int | None, typer.Option(help="Deliveries at once (default CONSENT_OUTBOX_CONCURRENCY)")
    ] = None,
    once: Annotated[bool, typer.Option(help="Deliver what is due now, then exit")] = False,
) -> None:
    """Deliver outbound messages (webhooks, mail) from the outbox until stopped.

    Run as many as you like beside the API replicas (with CONSENT_OUTBOX_IN_PROCESS=false on
    the replicas); on PostgreSQL they share the work and never deliver a message twice at once.
    SIGTERM or Ctrl-C finishes the deliveries under way, then exits.
    """
    import signal

    services = open_services()
    with closing(services):
        if not services.outbox_channels:
            typer.echo("worker: no outbound channel is configured; nothing to deliver", err=True)
            raise typer.Exit(2)
        runner = services.outbox_worker(concurrency=concurrency)
        if once:
            typer.echo(f"worker: {runner.run_once()} message(s) attempted")
            return

        def _stop(_signum: int, _frame: object) -> None:
            runner.stop()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        typer.echo(
            f"worker: delivering {', '.join(sorted(services.outbox_channels))} "
            f"({runner.concurrency} at once); SIGTERM stops",
            err=True,
        )
        runner.run_forever()


EXPIRES_AT_HELP = "When the key stops working: ISO 8601 with UTC offset, e.g. 2027-03-01T00:00Z"


def _expires_at_or_exit(value: str | None) -> datetime | None:
    """The --expires-at option: a future ISO 8601 time with its offset (else exit 2)."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None or parsed <= datetime.now(UTC):
        typer.echo(f"--expires-at: {value!r} is not a future time with its UTC offset", err=True)
        raise typer.Exit(2)
    return parsed


@accounts_app.command("create-admin")
def create_admin(
    name: Annotated[str, typer.Option(help="Who the key is for")],
    expires_at: Annotated[
        str | None,
        typer.Option(help=EXPIRES_AT_HELP + " (default: CONSENT_ADMIN_KEY_TTL_DAYS from now)"),
    ] = None,
) -> None:
    """Create an admin API key; the key is printed alone on the last line of stdout."""
    from consent_service.accounts import service as accounts

    expiry = _expires_at_or_exit(expires_at)
    with closing(open_services()) as services, services.session() as session:
        row, key = accounts.create_admin_key(
            session, name=name, expires_at=expiry, ttl_days=services.settings.admin_key_ttl_days
        )
        session.commit()
    until = f", valid until {row.expires_at.isoformat()}" if row.expires_at else ""
    typer.echo(f"admin key {row.id} created for {name!r}{until}; it is shown once, store it now:")
    typer.echo(key)


@accounts_app.command("list-admins")
def list_admins() -> None:
    """List the admin API keys, one per line: id, state, created, expires, prefix, name."""
    from consent_service.accounts import service as accounts
    from consent_service.db import utcnow

    with closing(open_services()) as services, services.session() as session:
        rows = accounts.list_admin_keys(session)
        now = utcnow()
        for row in rows:
            state = accounts.key_state(row, now)
            expires = row.expires_at.isoformat() if row.expires_at else "never"
            typer.echo(
                f"{row.id}\t{state}\t{row.created_at.isoformat()}\t{expires}\t"
                f"{row.key_prefix}\t{row.name}"
            )


@accounts_app.command("revoke-admin")
def revoke_admin(key_id: Annotated[str, typer.Argument(help="The key's id (key_...)")]) -> None:
    """Revoke an admin API key at once; it is refused (401) from the next request."""
    from consent_service.accounts import service as accounts
    from consent_service.errors import NotFound

    try:
        with closing(open_services()) as services, services.session() as session:
            row = accounts.revoke_admin_key(session, key_id=key_id)
            session.commit()
    except NotFound as exc:
        typer.echo(f"no admin key {key_id!r}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"admin key {row.id} revoked")


@accounts_app.command("create-verifier")
def create_verifier(
    name: Annotated[str, typer.Option(help="Who the key is for")],
    email: Annotated[str, typer.Option(help="The verifier's own email (kept as a blind index)")],
    expires_at: Annotated[
        str | None, typer.Option(help=EXPIRES_AT_HELP + " (default: never)")
    ] = None,
) -> None:
    """Create a verifier API key; the key is printed alone on the last line of stdout."""
    from consent_service.accounts import service as accounts

    expiry = _expires_at_or_exit(expires_at)
    with closing(open_services()) as services, services.session() as session:
        row, key = accounts.create_verifier_key(
            session,
            keyring=services.keyring,
            actor=None,
            name=name,
            email=email,
            expires_at=expiry,
        )
        session.commit()
    typer.echo(f"verifier key {row.id} created for {name!r}; it is shown once, store it now:")
    typer.echo(key)


@keys_app.command("rotate")
def rotate() -> None:
    """Make a new ES256 signing key active; old keys stay in the JWKS."""
    from consent_service import audit
    from consent_service.audit.actions import Action

    with closing(open_services()) as services, services.session() as session:
        row = services.keyring.rotate_signing_key(session)
        audit.record(
            session,
            actor_id="operator",
            action=Action.signing_key_rotated,
            subjects={"kid": row.kid},
        )
        session.commit()
    typer.echo(row.kid)


@keys_app.command("sweep")
def sweep_keys(
    orphans: Annotated[
        bool,
        typer.Option(
            help="Also destroy keys, older than an hour, whose holder does not exist in the "
            "database (left by failed registrations). Only against the right database!"
        ),
    ] = False,
) -> None:
    """Destroy the data keys of erased holders left by a crash (the service also does at start)."""
    from consent_service.rights.service import destroy_keys_of_erased

    with closing(open_services()) as services, services.session() as session:
        destroyed = destroy_keys_of_erased(session, services.keyring, orphans=orphans)
    typer.echo(f"{len(destroyed)} data key(s) destroyed")


@keys_app.command("rewrap")
def rewrap(
    to: Annotated[
        str,
        typer.Option(
            help="The new master key: `kms` (--kms-key-id) or `local` (CONSENT_NEW_MASTER_KEY)"
        ),
    ],
    kms_key_id: Annotated[
        str | None, typer.Option(help="With --to kms: the KMS key id or ARN")
    ] = None,
    kms_endpoint_url: Annotated[
        str | None, typer.Option(help="With --to kms: a KMS endpoint other than AWS's")
    ] = None,
) -> None:
    """Re-wrap every stored key under another master key (local <-> KMS), in one transaction.

    The current key is the configured one (CONSENT_MASTER_KEY or CONSENT_KMS_KEY_ID). A new
    local key is read from the environment variable CONSENT_NEW_MASTER_KEY (base64 of 32
    bytes), never from the command line. Stop the service and the worker first; afterwards
    start them with the new key configured (docs/operations.md).
    """
    from consent_service import audit
    from consent_service.audit.actions import Action
    from consent_service.crypto.envelope import (
        LocalMasterKey,
        MasterKey,
        MasterKeyError,
        parse_master_key,
    )

    settings = _settings_or_exit()
    new_master: MasterKey
    try:
        if to == "local":
            text = os.environ.get("CONSENT_NEW_MASTER_KEY")
            if not text:
                raise MasterKeyError("--to local reads the new key from CONSENT_NEW_MASTER_KEY")
            new_master = LocalMasterKey(parse_master_key(text))
            then = "set CONSENT_MASTER_KEY to the new key and unset CONSENT_KMS_KEY_ID"
        elif to == "kms":
            import boto3

            from consent_service.crypto.kms import KmsMasterKey

            if not kms_key_id:
                raise MasterKeyError("--to kms needs --kms-key-id")
            endpoint = kms_endpoint_url or settings.kms_endpoint_url
            kms = KmsMasterKey(kms_key_id, boto3.client("kms", endpoint_url=endpoint))
            problem = kms.check()
            if problem is not None:
                raise MasterKeyError(problem)
            new_master = kms
            then = f"set CONSENT_KMS_KEY_ID={kms_key_id} and unset CONSENT_MASTER_KEY"
        else:
            raise MasterKeyError(f"--to must be `local` or `kms`, not {to!r}")
    except MasterKeyError as exc:
        typer.echo(f"rewrap refused: {exc}", err=True)
        raise typer.Exit(2) from exc

    with closing(open_services()) as services, services.session() as session:
        try:
            counts, undo = services.keyring.rewrap_all(session, new_master)
        except MasterKeyError as exc:
            session.rollback()
            typer.echo(f"rewrap refused, nothing changed: {exc}", err=True)
            raise typer.Exit(2) from exc
        try:
            audit.record(
                session,
                actor_id="operator",
                action=Action.master_key_rewrapped,
                subjects={"master_key": to},
                payload=counts,
            )
            session.commit()
        except Exception:
            undo()  # the key store committed on its own: put its old wrappings back
            raise
    typer.echo(
        f"re-wrapped {counts['service']} service, {counts['data']} data and "
        f"{counts['signing']} signing keys under the {to} key; now {then}, then start the service"
    )


@keys_app.command("list")
def list_keys() -> None:
    """Print the published JWKS."""
    with closing(open_services()) as services, services.session() as session:
        typer.echo(json.dumps(services.keyring.jwks(session), indent=2))


def main() -> None:
    app(prog_name="consent-service")


if __name__ == "__main__":
    main()
    sys.exit(0)
