"""Routes: a studio acknowledges deletion; the holder and auditors see what is owed."""

from __future__ import annotations

from fastapi import APIRouter, Query, status

from consent_service.deletions import service as deletions
from consent_service.deletions.models import DeletionAcknowledgement
from consent_service.deletions.schemas import AcknowledgementOut, AcknowledgementPage
from consent_service.deps import AuditorOrAdmin, CurrentPrincipal, SessionDep, Studio
from consent_service.errors import NotFound, problem_responses
from consent_service.pagination import CursorQuery, LimitQuery, Page, decode_cursor

router = APIRouter(tags=["deletion acknowledgements"])


def _out(row: DeletionAcknowledgement) -> AcknowledgementOut:
    return AcknowledgementOut(
        licence_id=row.licence_id,
        studio_id=row.studio_id,
        holder_id=row.holder_id,
        cause=row.cause,
        due_since=row.due_since,
        acknowledged_at=row.acknowledged_at,
        status="open" if row.acknowledged_at is None else "acknowledged",
    )


@router.post(
    "/v1/licences/{licence_id}/deletion-acknowledgement",
    status_code=status.HTTP_201_CREATED,
    response_model=AcknowledgementOut,
    responses=problem_responses(401, 404),
    summary="Confirm that the references downloaded under this licence are deleted (studio)",
)
def acknowledge_deletion(
    licence_id: str, studio: Studio, session: SessionDep
) -> AcknowledgementOut:
    return _out(deletions.acknowledge(session, studio=studio, licence_id=licence_id))


@router.get(
    "/v1/holders/{holder_id}/deletion-acknowledgements",
    response_model=AcknowledgementPage,
    responses=problem_responses(401, 404),
    summary="Who owes (or gave) a deletion acknowledgement for the holder's data",
)
def holder_acknowledgements(
    holder_id: str, principal: CurrentPrincipal, session: SessionDep
) -> AcknowledgementPage:
    if not (principal.acts_for(holder_id) or principal.role.value in ("admin", "auditor")):
        raise NotFound()
    return AcknowledgementPage(items=[_out(r) for r in deletions.of_holder(session, holder_id)])


@router.get(
    "/v1/deletion-acknowledgements",
    response_model=AcknowledgementPage,
    responses=problem_responses(400, 401, 404),
    summary="Every deletion acknowledgement, oldest due first (auditor, admin)",
)
def all_acknowledgements(
    _: AuditorOrAdmin,
    session: SessionDep,
    open_only: bool = Query(default=True, alias="open", description="Only those still owed"),
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> AcknowledgementPage:
    rows = deletions.page(
        session, open_only=open_only, after=decode_cursor(cursor), limit=limit + 1
    )
    page = Page[DeletionAcknowledgement].from_rows(
        rows, limit, key=lambda r: (r.due_since, r.licence_id)
    )
    return AcknowledgementPage(items=[_out(r) for r in page.items], next_cursor=page.next_cursor)
