"""Routes: recording a holder's death (multipart, evidence) and registering an estate."""

from __future__ import annotations

from functools import partial

from fastapi import APIRouter, Request, status

from consent_service.accounts import passwords
from consent_service.accounts import service as accounts
from consent_service.deps import (
    CurrentPrincipal,
    KeyringDep,
    ReadSessionDep,
    ServicesDep,
    SessionDep,
    SettingsDep,
    SignerDep,
)
from consent_service.errors import problem_responses
from consent_service.flows import accounts as account_flows
from consent_service.flows import death, estate
from consent_service.flows.schemas import (
    AccountMessage,
    DeathCase,
    DeathRecordedOut,
    EmailConfirmation,
    EstateRegister,
    EstateRegistered,
    PasswordChange,
    PasswordReset,
    PasswordResetRequest,
)
from consent_service.ops.rate_limit import check_login_rate, check_registration_rate
from consent_service.vault.router import StorageDep
from consent_service.vault.upload import openapi_body
from consent_service.verification.router import UPLOAD_PROBLEMS, receive_evidence_then

router = APIRouter(tags=["death and estates"])
account_router = APIRouter(tags=["your account"])


@account_router.post(
    "/v1/auth/confirm-email",
    response_model=AccountMessage,
    responses=problem_responses(400, 422),
    summary="Confirm your email address with the token of the mailed link",
)
def confirm_email(body: EmailConfirmation, session: SessionDep) -> AccountMessage:
    account_flows.confirm_email(session, token=body.token)
    return AccountMessage(status="confirmed", detail="Your email address is confirmed.")


@account_router.post(
    "/v1/auth/confirm-email/resend",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=AccountMessage,
    responses=problem_responses(401, 429),
    summary="Mail a fresh confirmation link to the signed-in person",
)
def resend_confirmation(
    request: Request,
    principal: CurrentPrincipal,
    session: SessionDep,
    keyring: KeyringDep,
    services: ServicesDep,
) -> AccountMessage:
    check_registration_rate(services.registration_rate_limiter, address=_address(request))
    sent = account_flows.resend_confirmation(session, keyring=keyring, principal=principal)
    return AccountMessage(
        status="sent" if sent else "already_confirmed",
        detail="We mailed a new link." if sent else "Your address is already confirmed.",
    )


@account_router.post(
    "/v1/auth/password-reset",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=AccountMessage,
    responses=problem_responses(422, 429),
    summary="Ask for a password reset link (the same answer for any address)",
)
def request_password_reset(
    body: PasswordResetRequest,
    request: Request,
    session: SessionDep,
    keyring: KeyringDep,
    services: ServicesDep,
) -> AccountMessage:
    check_registration_rate(services.registration_rate_limiter, address=_address(request))
    account_flows.request_password_reset(session, keyring=keyring, email=str(body.email))
    return AccountMessage(
        status="check_your_email",
        detail="If this address has an account, we mailed it a link that works once, for "
        "30 minutes.",
    )


@account_router.post(
    "/v1/auth/password-reset/confirm",
    response_model=AccountMessage,
    responses=problem_responses(400, 422),
    summary="Set a new password with the token of the mailed reset link",
)
def reset_password(body: PasswordReset, session: SessionDep) -> AccountMessage:
    # Hash first, outside the write transaction (argon2 never runs under the write lock).
    session.commit()
    password_hash = passwords.hash_password(body.new_password)
    account_flows.reset_password(session, token=body.token, password_hash=password_hash)
    return AccountMessage(
        status="password_changed",
        detail="Your password is changed; every other session was signed out. Sign in again.",
    )


@account_router.post(
    "/v1/holders/me/password",
    response_model=AccountMessage,
    responses=problem_responses(400, 401, 422),
    summary="Change your password (the current one is asked again)",
)
def change_password(
    body: PasswordChange,
    principal: CurrentPrincipal,
    session: SessionDep,
    read_session: ReadSessionDep,
    request: Request,
    services: ServicesDep,
) -> AccountMessage:
    login = accounts.login_of_principal(read_session, principal.actor_id)
    # Throttled like sign-in: per address and per account.
    check_login_rate(
        services.login_rate_limiters,
        address=_address(request),
        email=login.id if login is not None else principal.actor_id,
    )
    stored = accounts.password_hash_of(read_session, login.id) if login is not None else None
    read_session.commit()
    session.commit()  # no transaction is held while argon2 runs
    if login is None or not passwords.verify_password(stored, body.current_password):
        raise account_flows.CurrentPasswordIncorrect()
    password_hash = passwords.hash_password(body.new_password)
    account_flows.change_password(session, login_id=login.id, password_hash=password_hash)
    return AccountMessage(
        status="password_changed",
        detail="Your password is changed; every other session was signed out.",
    )


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.post(
    "/v1/holders/{holder_id}/death",
    status_code=status.HTTP_201_CREATED,
    response_model=DeathRecordedOut,
    responses={**UPLOAD_PROBLEMS, **problem_responses(403)},
    openapi_extra=openapi_body(date_of_death={"type": "string", "format": "date"}),
    summary="Record the holder's death with the death certificate (a verifier, or the "
    "holder's executor once a verifier approved their authority)",
)
async def record_death(
    holder_id: str,
    request: Request,
    principal: CurrentPrincipal,
    session: SessionDep,
    signer: SignerDep,
    storage: StorageDep,
    settings: SettingsDep,
) -> DeathRecordedOut:
    recorded = await receive_evidence_then(
        request,
        session=session,
        settings=settings,
        text_fields={"date_of_death": 16},
        check=partial(
            death.check, session, signer=signer, principal=principal, holder_id=holder_id
        ),
        submit=partial(
            death.record,
            session,
            signer=signer,
            storage=storage,
            principal=principal,
            holder_id=holder_id,
        ),
    )
    return DeathRecordedOut(
        holder_id=recorded.holder_id,
        status="deceased",
        date_of_death=recorded.date_of_death,
        recorded_by=recorded.recorded_by,
        death_case=DeathCase(id=recorded.case.id, status=recorded.case.status),
        ended_consents=recorded.ended_consents,
        cut_consents=recorded.cut_consents,
        post_mortem_rights_until=recorded.post_mortem_rights_until,
    )


@router.post(
    "/v1/estates",
    status_code=status.HTTP_201_CREATED,
    response_model=EstateRegistered,
    responses=problem_responses(400, 409, 413, 422),
    summary="An executor registers a deceased person's estate (the holder and the executor's "
    "login); the executor acts once a verifier approved their authority",
)
def register_estate(
    body: EstateRegister, session: SessionDep, keyring: KeyringDep
) -> EstateRegistered:
    # Hash before the write transaction (argon2 never runs under SQLite's write lock).
    session.commit()
    password_hash = passwords.hash_password(body.executor.password)
    registered = estate.register_estate(
        session, keyring=keyring, data=body, password_hash=password_hash
    )
    holder_id, rep_id = registered.holder.id, registered.executor.row.id
    return EstateRegistered(
        holder_id=holder_id,
        executor_id=rep_id,
        death_recorded=False,
        next_steps=[
            f"POST /v1/holders/{holder_id}/representatives/{rep_id}/evidence: the letters "
            "testamentary or grant of probate (document_type), signed in as the executor",
            "wait for a verifier's approval of that case",
            f"POST /v1/holders/{holder_id}/death: date_of_death and the death certificate",
        ],
    )
