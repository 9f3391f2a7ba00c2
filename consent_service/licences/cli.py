"""`consent-service verify TOKEN`: the offline verifier for shell pipelines.

Prints the verdict as one JSON object; exit status 0 when the licence is valid (and covers the
proposed use, when given), 1 when it is not, 2 when it cannot be checked (no key set or status
list, a stale or unverifiable status list, bad arguments).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from consent_service.licences.verifier import ASSURANCE_LEVELS, CannotCheck, ProposedUse, Verifier

EXIT_VALID, EXIT_NOT_VALID, EXIT_CANNOT_CHECK = 0, 1, 2


def _cannot_check(detail: str) -> typer.Exit:
    verdict = {"valid": False, "code": None, "error": "cannot_check", "detail": detail}
    typer.echo(json.dumps(verdict))
    return typer.Exit(EXIT_CANNOT_CHECK)


def verify(
    token: Annotated[str, typer.Argument(help="The licence (compact JWS), or - to read stdin")],
    use: Annotated[
        str | None,
        typer.Option(
            help="Proposed use: attribute=face,purpose=film_tv,territory=GB,medium=streaming"
            " (also project=, category=, at=RFC3339)"
        ),
    ] = None,
    issuer: Annotated[
        str | None, typer.Option(help="Issuer URL: fetch its JWKS and status lists")
    ] = None,
    jwks: Annotated[Path | None, typer.Option(help="JWKS file (offline)")] = None,
    status_list: Annotated[
        Path | None, typer.Option("--status-list", help="Status-list token file (offline)")
    ] = None,
    min_assurance: Annotated[
        str | None,
        typer.Option(
            "--min-assurance",
            help="Least holder identity assurance the licence must carry: "
            + " | ".join(ASSURANCE_LEVELS)
            + " (verdict INSUFFICIENT_ASSURANCE, exit 1, when lower or not stated)",
        ),
    ] = None,
) -> None:
    """Verify a licence offline; prints JSON, exits 0 valid / 1 not valid / 2 cannot check."""
    if token == "-":
        token = sys.stdin.read()
    token = token.strip()
    try:
        proposed = ProposedUse.parse(use) if use else None
    except ValueError as exc:
        raise _cannot_check(f"--use: {exc}") from exc
    if min_assurance is not None and min_assurance not in ASSURANCE_LEVELS:
        raise _cannot_check(f"--min-assurance must be one of {', '.join(ASSURANCE_LEVELS)}")
    try:
        if issuer is not None and jwks is None and status_list is None:
            verifier = Verifier.for_issuer(issuer)
        elif issuer is None and jwks is not None and status_list is not None:
            verifier = Verifier.from_files(jwks, status_list)
        else:
            raise _cannot_check("give either --issuer URL, or --jwks FILE and --status-list FILE")
        verdict = verifier.verify(token, proposed, min_assurance=min_assurance)
    except CannotCheck as exc:
        raise _cannot_check(str(exc)) from exc
    typer.echo(json.dumps(verdict.to_dict()))
    raise typer.Exit(EXIT_VALID if verdict.valid else EXIT_NOT_VALID)
