"""Routes: record usages under a licence (its studio); read them (the studio, the holder,
auditors)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status

from consent_service.deps import CurrentPrincipal, Holder, SessionDep, SignerDep, Studio
from consent_service.errors import NotFound, problem_responses
from consent_service.pagination import CursorQuery, LimitQuery, Page, decode_cursor
from consent_service.usages import service as usages
from consent_service.usages.models import Usage
from consent_service.usages.schemas import (
    UsageBatch,
    UsageRecord,
    UsagesRecorded,
)

router = APIRouter(tags=["usages"])
# A full batch (1,000 usages) is about 450 KB of compact JSON; leave room for indented JSON.
BODY_LIMITS = {"/usages": 4 * 1024 * 1024}


_PLAIN_FIELDS = (
    *("id", "licence_id", "consent_id", "holder_id", "studio_id"),
    *("output_sha256", "media_type", "duration_ms", "width", "height", "used_at", "audit_seq"),
)


def _record_fields(row: dict[str, Any]) -> dict[str, Any]:
    """A usage row in the shape of `UsageRecord`, as plain data: a batch answers 1,000 of
    them, and FastAPI validates the response against its model once, in one pass."""
    fields = {name: row[name] for name in _PLAIN_FIELDS}
    fields["use"] = {d: row[d] for d in ("attribute", "purpose", "territory", "medium")}
    fields["tool"] = {"name": row["tool_name"], "version": row["tool_version"]}
    fields["recorded_at"] = row["created_at"]
    return fields


def _record(usage: Usage) -> UsageRecord:
    return UsageRecord.model_validate(_record_fields(usage.model_dump()))


@router.post(
    "/v1/licences/{licence_id}/usages",
    status_code=status.HTTP_201_CREATED,
    response_model=UsagesRecorded,
    responses=problem_responses(401, 404, 413, 422),
    summary="Record generated outputs under a licence (its studio), one or up to 1,000",
    description=(
        "Each usage is checked against the licence (term at its time, status now, scope). One "
        "refused usage refuses the whole batch: `output_hash_invalid`, `usage_in_future`, or "
        "`usage_not_allowed` with the licence verifier's code in `verdict`; `index` names it. "
        "Each accepted usage is an audit event and gets a signed receipt (usage-receipt+jwt)."
    ),
)
def record_usages(
    licence_id: str, body: UsageBatch, studio: Studio, session: SessionDep, signer: SignerDep
) -> dict[str, Any]:
    recorded = usages.record_usages(
        session=session,
        signer=signer,
        studio=studio,
        licence_id=licence_id,
        usages=body.usages,
    )
    # Validated and serialised as `UsagesRecorded` (the route's response_model) by FastAPI.
    return {
        "licence_id": licence_id,
        "usages": [{**_record_fields(r.row), "receipt": r.receipt} for r in recorded],
    }


@router.get(
    "/v1/licences/{licence_id}/usages",
    response_model=Page[UsageRecord],
    responses=problem_responses(400, 401, 404),
    summary="Usages recorded under a licence (its studio, its holder, auditors)",
)
def list_usages_of_licence(
    licence_id: str,
    principal: CurrentPrincipal,
    session: SessionDep,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[UsageRecord]:
    rows = usages.usages_of_licence(
        session=session,
        principal=principal,
        licence_id=licence_id,
        after=decode_cursor(cursor),
        limit=limit + 1,
    )
    return Page.from_rows(rows, limit).map(_record)


@router.get(
    "/v1/holders/me/usages",
    response_model=Page[UsageRecord],
    responses=problem_responses(400, 401, 404),
    summary="Where the caller's likeness was used: the usages under their licences",
)
def list_my_usages(
    holder: Holder,
    session: SessionDep,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
    licence_id: str | None = None,
) -> Page[UsageRecord]:
    if holder.holder_id is None:
        raise NotFound()
    rows = usages.usages_of_holder(
        session=session,
        holder_id=holder.holder_id,
        licence_id=licence_id,
        after=decode_cursor(cursor),
        limit=limit + 1,
    )
    return Page.from_rows(rows, limit).map(_record)
