"""Routes: holder registration, the holder record, admin verification."""

from __future__ import annotations

from fastapi import APIRouter, Request, status
from fastapi.responses import JSONResponse

from consent_service.accounts import passwords
from consent_service.accounts import service as accounts
from consent_service.accounts.principal import Role
from consent_service.db import utcnow
from consent_service.deps import (
    CurrentPrincipal,
    KeyringDep,
    OptionalPrincipal,
    ServicesDep,
    SessionDep,
)
from consent_service.errors import NotFound, problem_responses
from consent_service.flows import accounts as account_flows
from consent_service.holders import service as holders
from consent_service.holders.models import Holder
from consent_service.holders.schemas import (
    HolderMe,
    HolderPublic,
    HolderRecord,
    HolderRegister,
    HolderRegistered,
    RegistrationAccepted,
)
from consent_service.ops.rate_limit import check_registration_rate
from consent_service.verification.service import assurance_of

router = APIRouter(prefix="/v1/holders", tags=["holders"])


def _record(holder: Holder, data: holders.HolderData, assurance: str) -> HolderRecord:
    return HolderRecord(
        id=holder.id,
        legal_name=data.legal_name,
        stage_name=data.stage_name,
        email=data.email,
        date_of_birth=data.date_of_birth,
        date_of_death=data.date_of_death,
        jurisdiction=holder.jurisdiction,
        status=holders.status_on(data, utcnow().date()),
        verification=assurance,
        assurance=assurance,
        created_at=holder.created_at,
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=HolderRegistered,
    responses={
        202: {
            "model": RegistrationAccepted,
            "description": "Self sign-up: the same answer for a new and a registered address",
        },
        **problem_responses(400, 409, 413, 422, 429),
    },
    summary="Sign up as a holder (202, the same for any address), or register one (admin, 201)",
    description="Self sign-up answers 202 whether or not the address is registered: a new "
    "address gets a holder and a confirmation link by mail; a registered one gets a mail to "
    "its owner. Sign in and read `GET /v1/holders/me` for your id. An admin gets 201 with the "
    "new holder's id, or 409 when the address is taken.",
)
def register_holder(
    body: HolderRegister,
    request: Request,
    session: SessionDep,
    keyring: KeyringDep,
    services: ServicesDep,
    principal: OptionalPrincipal,
) -> HolderRegistered:
    if principal is None or not principal.is_admin:
        # Per client address, before the email is looked at (ops/rate_limit.py).
        check_registration_rate(
            services.registration_rate_limiter,
            address=request.client.host if request.client else "unknown",
        )
    # Hash before the write transaction: end the read of an admin's authentication first, so
    # that argon2 never runs while the transaction (on SQLite, the write lock) is held.
    session.commit()
    password_hash = passwords.hash_password(body.password)
    admin = principal if principal is not None and principal.is_admin else None
    holder = account_flows.register(
        session, keyring=keyring, actor=admin, data=body, password_hash=password_hash
    )
    if admin is None or holder is None:
        # One answer, whichever happened (the email's owner learns the rest by mail).
        return JSONResponse(  # type: ignore[return-value]
            status_code=status.HTTP_202_ACCEPTED,
            content=RegistrationAccepted().model_dump(),
        )
    return HolderRegistered(
        id=holder.id,
        status=holders.status_on(holders.decrypt_holder(session, keyring, holder), utcnow().date()),
        verification=assurance_of(session, holder.id),
        created_at=holder.created_at,
    )


@router.get(
    "/me",
    response_model=HolderMe,
    responses=problem_responses(401, 404),
    summary="Who am I: the signed-in holder's own record, id included",
)
def who_am_i(principal: CurrentPrincipal, session: SessionDep, keyring: KeyringDep) -> HolderMe:
    if principal.role is not Role.holder or principal.holder_id is None:
        raise NotFound("Only a holder's own sign-in has a holder record")
    holder, data = holders.get_holder_record(
        session, keyring=keyring, principal=principal, holder_id=principal.holder_id
    )
    login = accounts.login_of_principal(session, holder.id)
    return HolderMe(
        **_record(holder, data, assurance_of(session, holder.id)).model_dump(),
        email_confirmed=login is not None and login.email_confirmed_at is not None,
    )


@router.get(
    "/{holder_id}",
    response_model=HolderRecord | HolderPublic,
    responses=problem_responses(401, 404),
    summary="The holder record (holder, admin); {id, status, verification} for a studio that "
    "asked this holder for consent",
)
def get_holder(
    holder_id: str, principal: CurrentPrincipal, session: SessionDep, keyring: KeyringDep
) -> HolderRecord | HolderPublic:
    if principal.role is Role.studio:
        holder, data = holders.get_public_view(
            session, keyring=keyring, studio=principal, holder_id=holder_id
        )
        return HolderPublic(
            id=holder.id,
            status=holders.status_on(data, utcnow().date()),
            verification=assurance_of(session, holder.id),
            assurance=assurance_of(session, holder.id),
        )
    holder, data = holders.get_holder_record(
        session, keyring=keyring, principal=principal, holder_id=holder_id
    )
    return _record(holder, data, assurance_of(session, holder.id))
