"""`consent-service audit verify`: check an export offline (no server, no database)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

audit_app = typer.Typer(no_args_is_help=True, help="The tamper-evident audit log.")


@audit_app.command("verify")
def verify(
    file: Annotated[
        Path, typer.Argument(help="An export, JSON Lines or CSV (GET /v1/audit/export)")
    ],
    jwks: Annotated[
        Path | None, typer.Option(help="The service's key set (saved /.well-known/jwks.json)")
    ] = None,
    issuer: Annotated[
        str | None, typer.Option(help="Fetch the key set from ISSUER/.well-known/jwks.json")
    ] = None,
    previous_checkpoint: Annotated[
        Path | None,
        typer.Option(help="A checkpoint kept from before (a checkpoint JSON or an old export)"),
    ] = None,
    consistency_proof: Annotated[
        Path | None,
        typer.Option(help="GET /v1/audit/proofs/consistency output (for a filtered export)"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False,
) -> None:
    """Recompute leaf hashes and the root, check inclusion proofs, the checkpoint signature and
    consistency with a previous checkpoint. Exit 0 only when everything holds (1: problems
    found, 2: the inputs could not be read)."""
    from consent_service.audit import offline

    try:
        if (jwks is None) == (issuer is None):
            raise offline.VerifierInputError("give exactly one of --jwks FILE or --issuer URL")
        keys = offline.load_jwks_file(jwks) if jwks is not None else offline.fetch_jwks(str(issuer))
        previous = (
            offline.load_checkpoint_file(previous_checkpoint)
            if previous_checkpoint is not None
            else None
        )
        proof: dict[str, Any] | None = None
        if consistency_proof is not None:
            loaded = json.loads(consistency_proof.read_bytes())
            proof = loaded if isinstance(loaded, dict) else {}
        if not file.is_file():
            raise offline.VerifierInputError(f"{file} is not a file")
    except (offline.VerifierInputError, OSError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc

    from consent_service.audit.progress import progress

    with progress("verifying", total=file.stat().st_size) as advance:
        report = offline.verify_file(
            file,
            keys=keys,
            previous_checkpoint=previous,
            consistency_proof=proof,
            on_bytes=lambda n: advance(n, events=1),
        )
    label = "CSV" if report.format == offline.CSV else "JSON Lines"
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "ok": report.ok,
                    "format": report.format,
                    "events": report.events,
                    "complete": report.complete,
                    "checkpoint": report.checkpoint,
                    "findings": [
                        {"code": f.code, "line": f.line, "message": f.message}
                        for f in report.findings
                    ],
                    "suppressed": report.suppressed,
                }
            )
        )
    else:
        for finding in report.findings:
            typer.echo(f"FAIL {finding}")
        for code, count in report.suppressed.items():
            typer.echo(f"FAIL [{code}] … and {count} more")
        kind = "complete" if report.complete else "filtered"
        if report.ok and report.checkpoint is not None:
            typer.echo(
                f"OK: {report.events} events ({kind} export, read as {label}) verified "
                f"against checkpoint "
                f"tree_size={report.checkpoint['tree_size']} "
                f"root_hash={report.checkpoint['root_hash']}"
                + (" and the previous checkpoint" if previous is not None else "")
            )
        else:
            typer.echo(
                f"FAILED: {len(report.findings) + sum(report.suppressed.values())} problem(s) "
                f"(read as {label})"
            )
    raise typer.Exit(0 if report.ok else 1)


ApiKey = Annotated[
    str | None,
    typer.Option(
        "--api-key",
        envvar="CONSENT_AUDITOR_KEY",
        help="Your auditor API key (or set CONSENT_AUDITOR_KEY)",
        show_default=False,
    ),
]
Url = Annotated[
    str,
    typer.Option("--url", envvar="CONSENT_URL", help="The registry, e.g. https://consent.example"),
]


@audit_app.command("monitor")
def monitor(
    state: Annotated[
        Path, typer.Option("--state", help="Directory keeping the log key and last checkpoint")
    ],
    url: Url,
    api_key: ApiKey = None,
    log_key: Annotated[
        str | None,
        typer.Option(help="The log's note verifier key (first run; kept in --state after)"),
    ] = None,
    witness: Annotated[
        list[str] | None,
        typer.Option(help="A witness you trust: its verifier key (name+id+key); repeatable"),
    ] = None,
    min_witnesses: Annotated[
        int,
        typer.Option(
            min=0,
            help="Trusted cosignatures a head needs to be kept; no such head at or past the "
            "kept one: exit 3",
        ),
    ] = 0,
    quiet: Annotated[bool, typer.Option(help="Print nothing when all holds")] = False,
) -> None:
    """Fetch the latest checkpoint note, check the log's signature, your witnesses'
    cosignatures and consistency with the checkpoint kept from the last run. Keep the latest
    when --min-witnesses of your witnesses cosigned it; else keep the newest head of the
    registry's history (at or past the kept one) they cosigned, checked the same way and
    extended by the latest. Exit 0 when all holds, 1 on a fork, rewrite or bad signature,
    2 when it could not run, 3 when no head at or past the kept one has --min-witnesses
    trusted cosignatures. Made for cron."""
    from consent_service.audit import monitor as mon
    from consent_service.audit import note
    from consent_service.audit.progress import progress

    try:
        witnesses = [note.parse_verifier_key(w) for w in witness or []]
        if any(w.sig_type != note.COSIGNATURE_V1 for w in witnesses):
            raise mon.MonitorError("a witness key has signature type 0x04 (tlog-cosignature)")
        client = mon.Client(url, api_key)
        with progress("monitoring", total=4) as advance:
            outcome = mon.run(
                state,
                client,
                log_key=log_key,
                witnesses=witnesses,
                min_witnesses=min_witnesses,
                step=lambda done, events: advance(done, events=events),
            )
    except (mon.MonitorError, note.NoteError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(mon.CANNOT_RUN) from exc
    if outcome.code == mon.OK:
        if not quiet:
            typer.echo(outcome.message)
    else:
        typer.echo(outcome.message, err=True)
    raise typer.Exit(outcome.code)


@audit_app.command("export")
def export_command(
    output: Annotated[Path, typer.Option("--output", "-o", help="File to write the export to")],
    url: Url,
    api_key: ApiKey = None,
    since: Annotated[str | None, typer.Option("--from", help="RFC 3339 time, inclusive")] = None,
    until: Annotated[str | None, typer.Option("--to", help="RFC 3339 time, exclusive")] = None,
    holder_id: Annotated[str | None, typer.Option(help="Events naming this holder")] = None,
    studio_id: Annotated[str | None, typer.Option(help="Events naming this studio")] = None,
    consent_id: Annotated[str | None, typer.Option(help="Events naming this consent")] = None,
    licence_id: Annotated[str | None, typer.Option(help="Events naming this licence")] = None,
    action: Annotated[str | None, typer.Option(help="One audit action")] = None,
    format: Annotated[str, typer.Option(help="jsonl or csv")] = "jsonl",
) -> None:
    """Download an export (GET /v1/audit/export) with the same filters as the API, showing
    progress on a terminal. The file verifies with `consent-service audit verify`."""
    from consent_service.audit import monitor as mon
    from consent_service.audit.progress import progress

    params = {
        name: value
        for name, value in (
            ("from", since),
            ("to", until),
            ("holder_id", holder_id),
            ("studio_id", studio_id),
            ("consent_id", consent_id),
            ("licence_id", licence_id),
            ("action", action),
            ("format", format),
        )
        if value is not None
    }
    try:
        client = mon.Client(url, api_key)
        with progress("exporting", total=None) as advance:
            sized: dict[str, int] = {}

            def started(tree_size: int) -> None:
                sized["tree_size"] = tree_size
                advance.set_total(tree_size)

            count = mon.download(
                client,
                params,
                output,
                step=lambda done, events: advance(done, events=events),
                started=started,
            )
    except (mon.MonitorError, OSError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"wrote {count} events to {output} (log size {sized.get('tree_size', 0)})")
