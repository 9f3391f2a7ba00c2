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
