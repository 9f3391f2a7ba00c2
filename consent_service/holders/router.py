"""Routes: holder registration, the holder record, admin verification."""

from __future__ import annotations

from fastapi import APIRouter, Request, status

from consent_service.accounts import passwords
from consent_service.accounts.principal import Role
from consent_service.db import utcnow
from consent_service.deps import (
    CurrentPrincipal,
    KeyringDep,
    OptionalPrincipal,
    ServicesDep,
    SessionDep,
)
from consent_service.errors import problem_responses
from consent_service.holders import service as holders
from consent_service.holders.models import Holder
from consent_service.holders.schemas import (
    HolderPublic,
    HolderRecord,
    HolderRegister,
    HolderRegistered,
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
    responses=problem_responses(400, 409, 413, 422, 429),
    summary="Register a holder (self-registration, or by an admin)",
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
    holder, data = holders.register_holder(
        session, keyring=keyring, actor=principal, data=body, password_hash=password_hash
    )
    return HolderRegistered(
        id=holder.id,
        status=holders.status_on(data, utcnow().date()),
        verification=assurance_of(session, holder.id),
        created_at=holder.created_at,
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
