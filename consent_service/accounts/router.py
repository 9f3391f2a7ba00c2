"""Routes: organizations, API keys, and the OAuth2 password token endpoint."""

from __future__ import annotations

import base64
import re
from typing import Annotated
from urllib.parse import unquote_plus

from fastapi import APIRouter, Form, Request, Response, status

from consent_service.accounts import auditors, passwords
from consent_service.accounts import service as accounts
from consent_service.accounts.models import ApiKey
from consent_service.accounts.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyOut,
    AuditorCreate,
    AuditorCreated,
    AuditorOut,
    OrganizationCreate,
    OrganizationOut,
    TokenOut,
    TotpCode,
    TotpEnabled,
    TotpEnrolment,
    VerifierCreate,
)
from consent_service.deps import (
    Admin,
    Auditor,
    KeyringDep,
    ReadSessionDep,
    ServicesDep,
    SessionDep,
    SettingsDep,
    SignerDep,
)
from consent_service.errors import (
    NO_STORE,
    DomainError,
    InvalidCredentials,
    InvalidGrant,
    InvalidRequest,
    UnsupportedGrantType,
    oauth_error_responses,
    problem_responses,
)
from consent_service.ops.rate_limit import check_login_rate
from consent_service.pagination import Page

router = APIRouter(prefix="/v1", tags=["accounts"])


@router.post(
    "/organizations",
    status_code=status.HTTP_201_CREATED,
    response_model=OrganizationOut,
    responses=problem_responses(401, 404, 422),
)
def create_organization(
    body: OrganizationCreate, admin: Admin, session: SessionDep
) -> OrganizationOut:
    org = accounts.create_organization(session, actor=admin, name=body.name, kind=body.kind)
    return OrganizationOut.model_validate(org, from_attributes=True)


@router.get(
    "/organizations", response_model=Page[OrganizationOut], responses=problem_responses(401, 404)
)
def list_organizations(admin: Admin, session: SessionDep) -> Page[OrganizationOut]:
    rows = accounts.list_organizations(session)
    return Page(items=[OrganizationOut.model_validate(r, from_attributes=True) for r in rows])


def _key_created(row: ApiKey, key: str) -> ApiKeyCreated:
    """The one response that shows a new key in clear (organization and verifier keys)."""
    return ApiKeyCreated(
        id=row.id,
        name=row.name,
        organization_id=row.organization_id,
        role=row.role,
        key=key,
        created_at=row.created_at,
        expires_at=row.expires_at,
    )


@router.post(
    "/organizations/{organization_id}/api-keys",
    status_code=status.HTTP_201_CREATED,
    response_model=ApiKeyCreated,
    responses=problem_responses(401, 404, 422),
)
def create_api_key(
    organization_id: str,
    body: ApiKeyCreate,
    admin: Admin,
    session: SessionDep,
    settings: SettingsDep,
) -> ApiKeyCreated:
    row, key = accounts.create_api_key(
        session,
        actor=admin,
        organization_id=organization_id,
        name=body.name,
        expires_at=body.expires_at,
        auditor_ttl_days=settings.auditor_key_ttl_days,
    )
    return _key_created(row, key)


@router.get(
    "/organizations/{organization_id}/api-keys",
    response_model=Page[ApiKeyOut],
    responses=problem_responses(401, 404),
)
def list_api_keys(organization_id: str, admin: Admin, session: SessionDep) -> Page[ApiKeyOut]:
    rows = accounts.list_api_keys(session, organization_id=organization_id)
    return Page(items=[ApiKeyOut.model_validate(r, from_attributes=True) for r in rows])


@router.delete(
    "/organizations/{organization_id}/api-keys/{key_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 404),
)
def revoke_api_key(
    organization_id: str, key_id: str, admin: Admin, session: SessionDep
) -> Response:
    accounts.revoke_api_key(session, actor=admin, organization_id=organization_id, key_id=key_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/verifiers",
    status_code=status.HTTP_201_CREATED,
    response_model=ApiKeyCreated,
    responses=problem_responses(401, 404, 422),
    summary="Create an API key for a verifier, who works the review queue (admin)",
)
def create_verifier(
    body: VerifierCreate, admin: Admin, session: SessionDep, keyring: KeyringDep
) -> ApiKeyCreated:
    row, key = accounts.create_verifier_key(
        session,
        keyring=keyring,
        actor=admin,
        name=body.name,
        email=str(body.email),
        expires_at=body.expires_at,
    )
    return _key_created(row, key)


@router.get("/verifiers", response_model=Page[ApiKeyOut], responses=problem_responses(401, 404))
def list_verifiers(admin: Admin, session: SessionDep) -> Page[ApiKeyOut]:
    rows = accounts.list_verifier_keys(session)
    return Page(items=[ApiKeyOut.model_validate(r, from_attributes=True) for r in rows])


@router.delete(
    "/verifiers/{key_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 404),
    summary="Revoke a verifier's API key (admin)",
)
def revoke_verifier(key_id: str, admin: Admin, session: SessionDep) -> Response:
    accounts.revoke_verifier_key(session, actor=admin, key_id=key_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


class LoginRefused(InvalidGrant):
    """A sign-in refused after the password at the token endpoint: RFC 6749 `invalid_grant`
    (what OAuth clients understand), with the problem `code` saying why (`totp_required`,
    `totp_invalid`, `totp_reused`, `holder_deceased`) and its own problem type."""

    def __init__(self, refused: DomainError) -> None:
        super().__init__(refused.detail)
        self.code = refused.code
        self.title = refused.title


_CLIENT_ID = re.compile(r"[A-Za-z0-9._~:-]{1,64}")


def _client_id(form_value: str | None, authorization: str | None) -> str:
    """The public client's id: the `client_id` parameter, or the user of HTTP Basic auth.

    Every client of this service is public (RFC 6749 §2.1): none holds a secret, so the id is
    not authenticated. It is recorded in the access token (RFC 9068 §2.2) for the record.
    """
    value = form_value
    if value is None and authorization and authorization[:6].lower() == "basic ":
        try:
            user = base64.b64decode(authorization[6:], validate=True).decode().partition(":")[0]
        except (ValueError, UnicodeDecodeError) as exc:
            raise InvalidRequest("The Basic authorization header is malformed") from exc
        value = unquote_plus(user)  # RFC 6749 §2.3.1: form-urlencoded before Basic encoding
    if value is None or value == "":
        return accounts.DEFAULT_CLIENT_ID
    if not _CLIENT_ID.fullmatch(value):
        raise InvalidRequest("client_id must be 1-64 of A-Z a-z 0-9 . _ ~ : -")
    return value


@router.post(
    "/auth/token",
    response_model=TokenOut,
    responses={**oauth_error_responses(), **problem_responses(403, 429)},
    summary="Sign in with email and password (OAuth 2.0 password grant)",
    description=(
        "RFC 6749 §4.3 resource owner password credentials grant, as a form "
        "(`application/x-www-form-urlencoded`): `grant_type=password` (required), `username` "
        "(the email), `password`, for an account with a second factor `totp` (the current "
        "code), and optionally `client_id` (or HTTP Basic with the client id and an empty "
        "secret). The answer is an RFC 9068 access token (ES256 JWT, `typ: at+jwt`, with "
        "`client_id`) to send as `Authorization: Bearer`. Errors follow RFC 6749 §5.2 (`error`: "
        "`invalid_request`, `invalid_grant`, `unsupported_grant_type`) beside the "
        "problem-details members; a refused second factor is `invalid_grant` with `code` "
        "`totp_required`, `totp_invalid` or `totp_reused`. Token responses and errors carry "
        "`Cache-Control: no-store`. A holder whose death is recorded is refused with "
        "`invalid_grant` and `code` `holder_deceased` (their executor signs in)."
    ),
)
def token(
    request: Request,
    response: Response,
    read_session: ReadSessionDep,
    signer: SignerDep,
    settings: SettingsDep,
    services: ServicesDep,
    grant_type: Annotated[
        str | None, Form(description="`password` (the only grant offered); required")
    ] = None,
    username: Annotated[str | None, Form(description="Your email")] = None,
    password: Annotated[str | None, Form(description="Your password")] = None,
    client_id: Annotated[
        str | None, Form(description="The public client's id (optional, 1-64 characters)")
    ] = None,
    scope: Annotated[
        str | None, Form(description="Ignored: tokens carry the person's role")
    ] = None,
    totp: Annotated[
        str | None,
        Form(
            max_length=10,
            description="The current TOTP code, for an account with a second factor",
        ),
    ] = None,
) -> TokenOut:
    # RFC 6749 §5.2: the grant type is checked first (required, §4.3.2), then the parameters
    # it needs.
    if not grant_type:
        raise InvalidRequest(
            "Missing parameter: grant_type (use grant_type=password)", missing=["grant_type"]
        )
    if grant_type != "password":
        raise UnsupportedGrantType(f"grant_type {grant_type[:40]!r} is not supported")
    missing = [n for n, v in (("username", username), ("password", password)) if not v]
    if missing or username is None or password is None:
        raise InvalidRequest(f"Missing parameter: {', '.join(missing)}", missing=missing)
    # Checked here rather than by the form's schema, so that they are RFC 6749 errors too.
    if len(username) > 320 or len(password) > 1024:
        raise InvalidRequest("username is at most 320 characters, password at most 1024")
    client = _client_id(client_id, request.headers.get("authorization"))
    check_login_rate(
        services.login_rate_limiters,
        address=request.client.host if request.client else "unknown",
        email=username,
    )
    # A read-only session: sign-in writes nothing and holds no transaction while hashing.
    try:
        access_token, expires_in = accounts.issue_access_token(
            read_session,
            signer=signer,
            ttl_seconds=settings.access_token_ttl_seconds,
            email=username,
            password=password,
            client_id=client,
            totp=totp,
            write_session=services.session,
        )
    except InvalidCredentials as exc:
        raise InvalidGrant(exc.detail) from exc
    except (auditors.TotpRequired, auditors.TotpInvalid, auditors.TotpReused) as exc:
        raise LoginRefused(exc) from exc
    except DomainError as exc:
        # The login's own refusal after the right password (a holder whose death is recorded:
        # `holder_deceased`) is an OAuth error too, never a bare 403 a client takes for a token.
        if exc.status == status.HTTP_403_FORBIDDEN:
            raise LoginRefused(exc) from exc
        raise
    response.headers.update(NO_STORE)
    return TokenOut(access_token=access_token, expires_in=expires_in)


# -- auditors ---------------------------------------------------------------------------------


@router.post(
    "/auditors",
    status_code=status.HTTP_201_CREATED,
    response_model=AuditorCreated,
    responses=problem_responses(401, 404, 409, 422),
    summary="Create an auditor (a person of an auditor organization) with a login (admin)",
)
def create_auditor(
    body: AuditorCreate, admin: Admin, session: SessionDep, keyring: KeyringDep
) -> AuditorCreated:
    # Hash before the write transaction: end the read of the admin's authentication first.
    session.commit()
    password = auditors.new_initial_password()
    password_hash = passwords.hash_password(password)
    row = auditors.create_auditor(
        session,
        keyring=keyring,
        actor_id=admin.actor_id,
        organization_id=body.organization_id,
        email=str(body.email),
        password_hash=password_hash,
    )
    return AuditorCreated(
        id=row.id,
        organization_id=row.organization_id,
        created_at=row.created_at,
        initial_password=password,
    )


@router.get("/auditors", response_model=Page[AuditorOut], responses=problem_responses(401, 404))
def list_auditors(admin: Admin, session: SessionDep) -> Page[AuditorOut]:
    rows = auditors.list_auditors(session)
    return Page(items=[AuditorOut.model_validate(r, from_attributes=True) for r in rows])


@router.post(
    "/auth/totp",
    response_model=TotpEnrolment,
    responses=problem_responses(401, 404, 409),
    summary="Start enrolling a TOTP second factor (auditor, signed in with a password)",
)
def enrol_totp(principal: Auditor, session: SessionDep, keyring: KeyringDep) -> TotpEnrolment:
    secret, uri = auditors.enrol_totp(
        session, keyring=keyring, principal=principal, account_name=principal.actor_id
    )
    return TotpEnrolment(secret=secret, provisioning_uri=uri)


@router.post(
    "/auth/totp/confirm",
    response_model=TotpEnabled,
    responses=problem_responses(401, 404, 409, 422, 429),
    summary="Confirm the TOTP enrolment with a first code; sign-in asks for codes from then on",
)
def confirm_totp(
    request: Request,
    body: TotpCode,
    principal: Auditor,
    session: SessionDep,
    keyring: KeyringDep,
    services: ServicesDep,
) -> TotpEnabled:
    check_login_rate(
        services.login_rate_limiters,
        address=request.client.host if request.client else "unknown",
        email=principal.actor_id,
    )
    auditors.confirm_totp(session, keyring=keyring, principal=principal, code=body.code)
    return TotpEnabled()
