"""`consent-service c2pa ...`: make a development CA, sign files, verify them offline.

Exit status of `sign`: 0 signed; 1 refused (the licence is not valid for the use, or C2PA
cannot sign this file type); 2 cannot check or cannot sign (no key set or status list, no
signing certificate). Of `verify`: 0 the manifest validates and the licence is valid for the
recorded use; 1 it is not; 2 it cannot be checked. Both print one JSON object on stdout.

Like `consent-service verify`, these commands need nothing of the server: c2pa-python and the
offline verifier are imported when a command runs.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from consent_service import __version__
from consent_service.config import get_settings

if TYPE_CHECKING:
    from consent_service.licences.verifier import Verifier

EXIT_OK, EXIT_NOT_VALID, EXIT_CANNOT_CHECK = 0, 1, 2

c2pa_app = typer.Typer(
    no_args_is_help=True, help="C2PA manifests: the licence carried inside the media."
)

IssuerOption = Annotated[
    str | None,
    typer.Option(help="Registry URL: fetch its JWKS and status lists (online)"),
]
JwksOption = Annotated[Path | None, typer.Option(help="JWKS file (offline)")]
StatusListOption = Annotated[
    Path | None, typer.Option("--status-list", help="Status-list token file (offline)")
]


def _emit(answer: dict[str, Any], code: int) -> typer.Exit:
    typer.echo(json.dumps(answer))
    return typer.Exit(code)


def _licence_verifier(
    issuer: str | None, jwks: Path | None, status_list: Path | None, *, default_issuer: str | None
) -> Verifier:
    """The offline verifier from the options (`CannotCheck` when they do not make one)."""
    from consent_service.licences.verifier import CannotCheck, Verifier

    if issuer is not None and jwks is None and status_list is None:
        return Verifier.for_issuer(issuer)
    if issuer is None and jwks is not None and status_list is not None:
        return Verifier.from_files(jwks, status_list)
    if issuer is None and jwks is None and status_list is None and default_issuer:
        return Verifier.for_issuer(default_issuer)
    raise CannotCheck("give either --issuer URL, or --jwks FILE and --status-list FILE")


@c2pa_app.command("init-ca")
def init_ca(
    directory: Annotated[Path, typer.Argument(help="An empty directory for the chain")],
    days: Annotated[int, typer.Option(min=1, help="Validity of the signing certificate")] = 365,
) -> None:
    """DEVELOPMENT ONLY: make a root CA, an intermediate and a C2PA signing certificate."""
    from consent_service.provenance.ca import init_ca as make_chain

    try:
        files = make_chain(directory, days=days)
    except FileExistsError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(EXIT_CANNOT_CHECK) from exc
    typer.echo(
        "Development C2PA chain created (not for production: bring your own certificate).\n"
        f"  CONSENT_C2PA_CERT_CHAIN={files.chain}\n"
        f"  CONSENT_C2PA_PRIVATE_KEY={files.signing_key}\n"
        f"  CONSENT_C2PA_TRUST_ANCHORS={files.root_cert}   # for verifiers"
    )


@c2pa_app.command("sign")
def sign(
    input_file: Annotated[Path, typer.Argument(metavar="INPUT", help="The rendered file")],
    output_file: Annotated[Path, typer.Argument(metavar="OUTPUT", help="The signed copy")],
    licence: Annotated[str, typer.Option(help="The licence the file was made under (JWS)")],
    usage_receipt: Annotated[
        str | None,
        typer.Option("--usage-receipt", help="The usage receipt of this output (JWS)"),
    ] = None,
    use: Annotated[
        str | None,
        typer.Option(
            help="The use made: attribute=face,purpose=film_tv,territory=GB,medium=streaming"
            " (also project=, category=); checked now and recorded in the manifest"
        ),
    ] = None,
    cert_chain: Annotated[
        Path | None,
        typer.Option(help="Signing chain PEM (default CONSENT_C2PA_CERT_CHAIN)"),
    ] = None,
    private_key: Annotated[
        Path | None,
        typer.Option(help="Signing key PEM (default CONSENT_C2PA_PRIVATE_KEY)"),
    ] = None,
    tsa_url: Annotated[
        str | None, typer.Option(help="RFC 3161 time-stamp URL (default CONSENT_C2PA_TSA_URL)")
    ] = None,
    issuer: IssuerOption = None,
    jwks: JwksOption = None,
    status_list: StatusListOption = None,
) -> None:
    """Embed a C2PA manifest carrying the licence; the licence is verified first."""
    from consent_service.licences.verifier import CannotCheck, ProposedUse
    from consent_service.provenance import manifest, media

    settings = get_settings()
    licence = licence.strip()
    chain_path = cert_chain or settings.c2pa_cert_chain
    key_path = private_key or settings.c2pa_private_key
    if chain_path is None or key_path is None:
        raise _emit(
            {
                "signed": False,
                "error": "no_signing_certificate",
                "detail": "give --cert-chain and --private-key (or CONSENT_C2PA_CERT_CHAIN and"
                " CONSENT_C2PA_PRIVATE_KEY); `c2pa init-ca DIR` makes a development pair",
            },
            EXIT_CANNOT_CHECK,
        )
    try:
        proposed = ProposedUse.parse(use) if use else None
        chain_pem, key_pem = chain_path.read_bytes(), key_path.read_bytes()
    except (ValueError, OSError) as exc:
        raise _emit({"signed": False, "error": "bad_arguments", "detail": str(exc)}, 2) from exc
    # 1. The licence must be valid, now, for the use made.
    try:
        verifier = _licence_verifier(issuer, jwks, status_list, default_issuer=settings.issuer)
        verdict = verifier.verify(licence, proposed)
    except CannotCheck as exc:
        raise _emit(
            {"signed": False, "error": "cannot_check", "detail": str(exc)}, EXIT_CANNOT_CHECK
        ) from exc
    if not verdict.valid:
        answer = {"signed": False, "error": "licence_not_valid", "licence": verdict.to_dict()}
        answer["detail"] = f"{verdict.code}: {verdict.detail}"
        raise _emit(answer, EXIT_NOT_VALID)
    # 2. The manifest, from the verified licence's claims.
    claims = manifest.unverified_claims(licence)
    recorded_use = None
    if proposed is not None:
        recorded_use = {
            name: value
            for name in ("attribute", "purpose", "territory", "medium", "project")
            if (value := getattr(proposed, name)) is not None
        }
        if proposed.categories:
            recorded_use["categories"] = list(proposed.categories)
    definition = manifest.manifest_definition(
        licence=licence,
        claims=claims,
        issuer=str(claims["iss"]),
        usage_receipt=usage_receipt.strip() if usage_receipt else None,
        use=recorded_use,
        used_at=datetime.now(UTC),
        title=output_file.name,
        generator_version=__version__,
    )
    # 3. Sign and embed.
    try:
        media_type = media.sign_file(
            input_file,
            output_file,
            manifest=definition,
            cert_chain_pem=chain_pem,
            private_key_pem=key_pem,
            tsa_url=tsa_url or settings.c2pa_tsa_url,
        )
    except media.UnsupportedFormat as exc:
        raise _emit(
            {"signed": False, "error": exc.code, "detail": str(exc)}, EXIT_NOT_VALID
        ) from exc
    except (media.MediaError, OSError) as exc:
        raise _emit(
            {"signed": False, "error": "signing_failed", "detail": str(exc)}, EXIT_CANNOT_CHECK
        ) from exc
    training = manifest.training_mining(claims, issuer=str(claims["iss"]))
    raise _emit(
        {
            "signed": True,
            "output": str(output_file),
            "media_type": media_type,
            "licence_id": claims.get("jti"),
            "training_mining": training["entries"]["cawg.ai_training"]["use"],
        },
        EXIT_OK,
    )


@c2pa_app.command("verify")
def verify(
    file: Annotated[Path, typer.Argument(help="The file to check")],
    issuer: IssuerOption = None,
    jwks: JwksOption = None,
    status_list: StatusListOption = None,
    trust_anchors: Annotated[
        Path | None,
        typer.Option(
            help="PEM roots the manifest's signer must chain to (default"
            " CONSENT_C2PA_TRUST_ANCHORS; unset: the signer is not judged)"
        ),
    ] = None,
) -> None:
    """Check a file's C2PA manifest and its licence; prints one verdict (exit 0 / 1 / 2)."""
    from consent_service.licences.verifier import CannotCheck
    from consent_service.provenance import check

    anchors_path = trust_anchors or get_settings().c2pa_trust_anchors

    def cannot_check(detail: str) -> typer.Exit:
        answer = {"valid": False, "code": None, "error": "cannot_check", "detail": detail}
        return _emit(answer, EXIT_CANNOT_CHECK)

    try:
        anchors = anchors_path.read_text(encoding="ascii") if anchors_path else None
    except (OSError, UnicodeDecodeError) as exc:
        raise cannot_check(f"cannot read the trust anchors: {exc}") from exc
    if not file.is_file():
        raise cannot_check(f"no file {file}")
    try:
        # Never the issuer the file names: the caller chooses which registry it trusts.
        verifier = _licence_verifier(issuer, jwks, status_list, default_issuer=None)
        verdict = check.check_file(
            file,
            verify_licence=verifier.verify,
            receipt_key_for=verifier.public_key,
            trust_anchors_pem=anchors,
        )
    except CannotCheck as exc:
        raise cannot_check(str(exc)) from exc
    raise _emit(verdict.to_dict(), EXIT_OK if verdict.valid else EXIT_NOT_VALID)
