"""Routes: the auditor's view of the log (checkpoint, proofs, events, export) and a holder's
inclusion proof for one of their own events."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from consent_service.accounts.principal import Role
from consent_service.audit import export, service
from consent_service.audit.schemas import (
    Checkpoint,
    ConsistencyProof,
    EventPage,
    HolderEventProof,
    InclusionProof,
)
from consent_service.deps import (
    AuditorOrAdmin,
    HolderOrAdmin,
    ServicesDep,
    SessionDep,
    SignerDep,
    WritingRead,
)
from consent_service.errors import NotFound, problem_responses

router = APIRouter(tags=["audit"])

SizeQuery = Annotated[int | None, Query(ge=0, le=2**53 - 1, description="Default: current size")]


# The tree reads below fill the subtree-hash cache (audit/tree.py): WritingRead.
@router.get(
    "/v1/audit/checkpoint",
    dependencies=[WritingRead],
    response_model=Checkpoint,
    responses=problem_responses(401, 404),
)
def get_checkpoint(_: AuditorOrAdmin, session: SessionDep, signer: SignerDep) -> Checkpoint:
    return Checkpoint(**service.latest_checkpoint(session, signer=signer))


@router.get(
    "/v1/audit/proofs/inclusion",
    dependencies=[WritingRead],
    response_model=InclusionProof,
    responses=problem_responses(400, 401, 404, 422),
)
def get_inclusion_proof(
    _: AuditorOrAdmin,
    session: SessionDep,
    seq: Annotated[int, Query(ge=0, le=2**53 - 1)],
    tree_size: SizeQuery = None,
) -> InclusionProof:
    return InclusionProof(**service.inclusion_proof(session, seq=seq, tree_size=tree_size))


@router.get(
    "/v1/audit/proofs/consistency",
    dependencies=[WritingRead],
    response_model=ConsistencyProof,
    responses=problem_responses(400, 401, 404, 422),
)
def get_consistency_proof(
    _: AuditorOrAdmin,
    session: SessionDep,
    from_size: Annotated[int, Query(ge=1, le=2**53 - 1)],
    to_size: SizeQuery = None,
) -> ConsistencyProof:
    return ConsistencyProof(
        **service.consistency_proof(session, from_size=from_size, to_size=to_size)
    )


@router.get(
    "/v1/audit/events", response_model=EventPage, responses=problem_responses(401, 404, 422)
)
def list_events(
    _: AuditorOrAdmin,
    session: SessionDep,
    after: Annotated[int, Query(ge=-1, le=2**53 - 1, description="Last seq seen")] = -1,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> EventPage:
    return EventPage(**service.list_events(session, after=after, limit=limit))


@router.get(
    "/v1/audit/export",
    dependencies=[WritingRead],
    responses={
        200: {
            "description": "`format=jsonl`: JSON Lines (`application/jsonl`, one JSON object "
            "per line, UTF-8, as jsonlines.org describes; not an IANA-registered type, also "
            "known as NDJSON), the last line a signed checkpoint. `format=csv`: RFC 4180 CSV "
            "(`text/csv`, header row). The `Audit-Checkpoint` header carries the checkpoint's "
            "signature.",
            "content": {
                "application/jsonl": {"schema": {"type": "string"}},
                "text/csv": {"schema": {"type": "string"}},
            },
        },
        **problem_responses(401, 404, 422),
    },
    response_class=StreamingResponse,
    summary="Stream the log (JSON Lines ending with a signed checkpoint, or CSV)",
)
def export_log(
    _: AuditorOrAdmin,
    session: SessionDep,
    signer: SignerDep,
    services: ServicesDep,
    occurred_from: Annotated[datetime | None, Query(alias="from")] = None,
    occurred_to: Annotated[datetime | None, Query(alias="to")] = None,
    holder_id: Annotated[str | None, Query(max_length=40)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    format: Literal["jsonl", "csv"] = "jsonl",
) -> StreamingResponse:
    filters = export.make_filter(
        occurred_from=occurred_from, occurred_to=occurred_to, holder_id=holder_id, action=action
    )
    prepared = export.prepare_export(session, signer=signer, filters=filters)
    engine = services.engine
    headers = {
        "Audit-Checkpoint": prepared.checkpoint["signature"],
        "Content-Disposition": f'attachment; filename="audit-log.{format}"',
        "Cache-Control": "no-store",
    }
    if format == "csv":
        return StreamingResponse(
            export.stream_csv(engine, prepared), media_type="text/csv", headers=headers
        )
    return StreamingResponse(
        export.stream_jsonl(engine, prepared), media_type="application/jsonl", headers=headers
    )


@router.get(
    "/v1/holders/{holder_id}/audit-proofs",
    dependencies=[WritingRead],
    response_model=HolderEventProof,
    responses=problem_responses(401, 404, 422),
    tags=["holders"],
    summary="Inclusion proof of one of the holder's own audit events (seq from a receipt)",
)
def holder_audit_proof(
    holder_id: str,
    principal: HolderOrAdmin,
    session: SessionDep,
    signer: SignerDep,
    seq: Annotated[int, Query(ge=0, le=2**53 - 1)],
) -> HolderEventProof:
    if principal.role is Role.holder and principal.holder_id != holder_id:
        raise NotFound()
    return HolderEventProof(
        **service.holder_inclusion_proof(session, signer=signer, holder_id=holder_id, seq=seq)
    )
