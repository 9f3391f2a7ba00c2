"""Routes: the registry of collective agreements (admin writes; studios and holders read)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status

from consent_service.accounts.principal import Principal, Role
from consent_service.agreements import service as agreements
from consent_service.agreements.models import CollectiveAgreement
from consent_service.agreements.schemas import AgreementCreate, AgreementOut, AgreementUpdate
from consent_service.deps import Admin, SessionDep, require_roles
from consent_service.errors import problem_responses
from consent_service.pagination import CursorQuery, LimitQuery, Page

router = APIRouter(prefix="/v1/collective-agreements", tags=["collective agreements"])

# Studios read the list to name an agreement in a request; holders (and their
# representatives) to see what they are asked to sign under. Auditors see names in the terms.
Reader = Annotated[Principal, Depends(require_roles(Role.admin, Role.studio, Role.holder))]


def _out(row: CollectiveAgreement) -> AgreementOut:
    return AgreementOut.model_validate(row, from_attributes=True)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=AgreementOut,
    responses=problem_responses(401, 404, 422),
    summary="Register a collective agreement (admin)",
)
def create_agreement(body: AgreementCreate, admin: Admin, session: SessionDep) -> AgreementOut:
    return _out(agreements.create(session, admin=admin, body=body))


@router.get(
    "",
    response_model=Page[AgreementOut],
    responses=problem_responses(400, 401, 404),
    summary="The collective agreements a consent request may name (admin, studio, holder)",
)
def list_agreements(
    reader: Reader, session: SessionDep, limit: LimitQuery = 50, cursor: CursorQuery = None
) -> Page[AgreementOut]:
    return agreements.list_page(session, cursor=cursor, limit=limit).map(_out)


@router.get(
    "/{agreement_id}",
    response_model=AgreementOut,
    responses=problem_responses(401, 404),
    summary="One collective agreement (admin, studio, holder)",
)
def get_agreement(agreement_id: str, reader: Reader, session: SessionDep) -> AgreementOut:
    return _out(agreements.get(session, agreement_id))


@router.patch(
    "/{agreement_id}",
    response_model=AgreementOut,
    responses=problem_responses(401, 404, 422),
    summary="Change a collective agreement (admin); requests are checked against it when accepted",
)
def update_agreement(
    agreement_id: str, body: AgreementUpdate, admin: Admin, session: SessionDep
) -> AgreementOut:
    return _out(agreements.update(session, admin=admin, agreement_id=agreement_id, body=body))
