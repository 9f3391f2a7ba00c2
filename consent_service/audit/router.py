"""Routes: the auditor's view of the log (checkpoint, proofs, events, export) and a holder's
inclusion proof for one of their own events."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Header, Query, Request, Response
from fastapi.responses import PlainTextResponse, StreamingResponse

from consent_service.accounts import auditors
from consent_service.accounts.principal import Role
from consent_service.audit import export, note, reads, service
from consent_service.audit.schemas import (
    Checkpoint,
    CheckpointHistory,
    ConsistencyProof,
    CosignatureReceipt,
    EventPage,
    HolderEventProof,
    InclusionProof,
)
from consent_service.audit.witness import CheckpointNotes
from consent_service.deps import (
    AuditorOrAdmin,
    HolderOrAdmin,
    ReadSessionDep,
    ServicesDep,
    SessionDep,
    SignerDep,
    WritingRead,
)
from consent_service.errors import (
    DomainError,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
    problem_responses,
)

router = APIRouter(tags=["audit"])

SizeQuery = Annotated[int | None, Query(ge=0, le=2**53 - 1, description="Default: current size")]


def _notes(services: ServicesDep) -> CheckpointNotes:
    return services.checkpoint_notes


NotesDep = Annotated[CheckpointNotes, Depends(_notes)]
NOTE_MEDIA_TYPE = "text/plain; charset=utf-8"


def _wants_note(accept: str | None) -> bool:
    """Whether the client asked for the signed note (text/plain) rather than JSON."""
    best: tuple[float, str] | None = None
    for item in (accept or "").split(","):
        media, *params = (part.strip() for part in item.split(";"))
        if media not in ("text/plain", "application/json"):
            continue
        quality = 1.0
        for param in params:
            if param.startswith("q="):
                try:
                    quality = float(param[2:])
                except ValueError:
                    quality = 0.0
        if best is None or quality > best[0]:
            best = (quality, media)
    return best is not None and best[1] == "text/plain" and best[0] > 0


# The tree reads below fill the subtree-hash cache (audit/tree.py): WritingRead.
@router.get(
    "/v1/audit/checkpoint",
    dependencies=[WritingRead],
    response_model=Checkpoint,
    responses={
        200: {
            "description": "The JWS form (JSON), or with `Accept: text/plain` the C2SP "
            "tlog-checkpoint signed note with the witnesses' cosignatures",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        },
        **problem_responses(400, 401, 404, 422),
    },
    summary="The signed checkpoint: JWS form (JSON) or C2SP signed note (Accept: text/plain)",
)
def get_checkpoint(
    principal: AuditorOrAdmin,
    session: SessionDep,
    signer: SignerDep,
    notes: NotesDep,
    response: Response,
    accept: Annotated[str | None, Header()] = None,
    tree_size: SizeQuery = None,
) -> Checkpoint | Response:
    if _wants_note(accept):
        signed = notes.signed_checkpoint(session, tree_size=tree_size)
        # The note's second line is the tree size (C2SP tlog-checkpoint).
        served = int(signed.split("\n", 2)[1])
        auditors.note_log_read(session, principal, "audit_checkpoint", tree_size=served)
        return Response(
            signed,
            media_type=NOTE_MEDIA_TYPE,
            headers={"Cache-Control": "no-store", "Vary": "Accept"},
        )
    response.headers["Vary"] = "Accept"  # one URL, two representations
    if tree_size is None:
        checkpoint = Checkpoint(**service.latest_checkpoint(session, signer=signer))
    else:
        checkpoint = Checkpoint(
            **service.checkpoint_at(session, signer=signer, tree_size=tree_size)
        )
    auditors.note_log_read(session, principal, "audit_checkpoint", tree_size=checkpoint.tree_size)
    return checkpoint


class HistoryCursorsTogether(DomainError):
    code, status, title = "conflicting_cursors", 422, "Give `after` or `before`, not both"


@router.get(
    "/v1/audit/checkpoints",
    response_model=CheckpointHistory,
    responses=problem_responses(401, 404, 422),
    summary="The tree heads the registry signed (kept once per size), with their cosignatures",
    description="Every tree size the registry signed a checkpoint for, kept the first time it "
    "was signed (JWS and signed note), with the witnesses' cosignatures of it. Newest first, "
    "a page at a time (`before`, `next_before`); or with `after` the sizes above it in "
    "ascending order (`next_after`), for a monitor catching up.",
)
def list_checkpoints(
    principal: AuditorOrAdmin,
    session: SessionDep,
    after: Annotated[
        int | None, Query(ge=-1, le=2**53 - 1, description="Sizes above this, ascending")
    ] = None,
    before: Annotated[
        int | None, Query(ge=0, le=2**53 - 1, description="Sizes below this, newest first")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200, description="Page size")] = 50,
) -> CheckpointHistory:
    if after is not None and before is not None:
        raise HistoryCursorsTogether("give `after` (ascending) or `before` (newest first)")
    page = CheckpointHistory(
        **service.checkpoint_history(session, after=after, before=before, limit=limit)
    )
    sizes = [item.tree_size for item in page.items]
    auditors.note_log_read(
        session,
        principal,
        "audit_checkpoints",
        after=after,
        before=before,
        limit=limit,
        tree_sizes=[sizes[0], sizes[-1]] if sizes else [],
        count=len(sizes),
    )
    return page


@router.get(
    "/v1/audit/checkpoint/verifier-key",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/plain": {}}}},
    summary="The log's note verifier key (name+key ID+Ed25519 key), for witnesses and monitors",
)
def get_note_verifier_key(session: ReadSessionDep, notes: NotesDep) -> PlainTextResponse:
    return PlainTextResponse(notes.verifier(session).vkey + "\n", media_type=NOTE_MEDIA_TYPE)


@router.post(
    "/v1/audit/checkpoint/cosignatures",
    status_code=201,
    response_model=CosignatureReceipt,
    responses=problem_responses(400, 403, 409, 413, 415, 422),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"text/plain": {"schema": {"type": "string"}}},
        }
    },
    summary="A configured witness's cosignature (C2SP tlog-cosignature) on a checkpoint note",
)
def post_cosignatures(
    request: Request,
    session: SessionDep,
    notes: NotesDep,
    body: Annotated[bytes, Body(media_type="text/plain")],
) -> CosignatureReceipt:
    """Authenticated by the cosignature itself: only a configured witness's key verifies."""
    media = request.headers.get("content-type", "text/plain").split(";")[0].strip()
    if media != "text/plain" or not isinstance(body, bytes):
        raise UnsupportedMediaType("send the cosigned checkpoint note as text/plain")
    if len(body) > note.MAX_NOTE_BYTES:
        raise PayloadTooLarge(f"a note is at most {note.MAX_NOTE_BYTES} bytes")
    return CosignatureReceipt(**notes.add_cosignatures(session, body))


@router.get(
    "/v1/audit/proofs/inclusion",
    dependencies=[WritingRead],
    response_model=InclusionProof,
    responses=problem_responses(400, 401, 404, 422),
)
def get_inclusion_proof(
    principal: AuditorOrAdmin,
    session: SessionDep,
    seq: Annotated[int, Query(ge=0, le=2**53 - 1)],
    tree_size: SizeQuery = None,
) -> InclusionProof:
    proof = InclusionProof(**service.inclusion_proof(session, seq=seq, tree_size=tree_size))
    auditors.note_log_read(
        session, principal, "audit_inclusion_proof", seq=seq, tree_size=proof.tree_size
    )
    return proof


@router.get(
    "/v1/audit/proofs/consistency",
    dependencies=[WritingRead],
    response_model=ConsistencyProof,
    responses=problem_responses(400, 401, 404, 422),
)
def get_consistency_proof(
    principal: AuditorOrAdmin,
    session: SessionDep,
    from_size: Annotated[int, Query(ge=1, le=2**53 - 1)],
    to_size: SizeQuery = None,
) -> ConsistencyProof:
    proof = ConsistencyProof(
        **service.consistency_proof(session, from_size=from_size, to_size=to_size)
    )
    auditors.note_log_read(
        session,
        principal,
        "audit_consistency_proof",
        from_size=proof.from_size,
        to_size=proof.to_size,
    )
    return proof


_FILTER_DOC = (
    "Exact filters: `from` (inclusive), `to` (exclusive) RFC 3339 times (no offset: UTC); "
    "`holder_id`, `studio_id`, `consent_id`, `licence_id` (an event matches when it names the "
    "id); `action` (one of the audit actions, docs/auditors.md). An unknown parameter answers "
    "422 `unknown_filter`, an unknown action 422 `unknown_action`, a value of the wrong type "
    "422 `invalid_filter_value`; each names the allowed values."
)
# Declared for the API description only: the values are read by `export.parse_filters`, which
# refuses what FastAPI would silently ignore (unknown parameters) with the log's own codes.
FromQuery = Annotated[str | None, Query(alias="from", description="RFC 3339 time, inclusive")]
ToQuery = Annotated[str | None, Query(alias="to", description="RFC 3339 time, exclusive")]
IdQuery = Annotated[str | None, Query(description="An event naming this id")]
ActionQuery = Annotated[str | None, Query(description="An audit action, e.g. consent.withdrawn")]


@router.get(
    "/v1/audit/events",
    response_model=EventPage,
    responses=problem_responses(401, 404, 422),
    description="Events in sequence order, a page at a time. " + _FILTER_DOC,
)
def list_events(
    principal: AuditorOrAdmin,
    request: Request,
    session: SessionDep,
    after: Annotated[int, Query(ge=-1, le=2**53 - 1, description="Last seq seen")] = -1,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    occurred_from: FromQuery = None,
    occurred_to: ToQuery = None,
    holder_id: IdQuery = None,
    studio_id: IdQuery = None,
    consent_id: IdQuery = None,
    licence_id: IdQuery = None,
    action: ActionQuery = None,
) -> EventPage:
    filters, _extra = export.parse_filters(
        request.query_params.multi_items(), extra=("after", "limit")
    )
    page = EventPage(**reads.events_page(session, principal, filters, after=after, limit=limit))
    return page


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
    summary="Stream the log (JSON Lines or CSV, each ending with a signed checkpoint)",
    description=_FILTER_DOC + " `format`: `jsonl` (default) or `csv`.",
)
def export_log(
    principal: AuditorOrAdmin,
    request: Request,
    session: SessionDep,
    signer: SignerDep,
    services: ServicesDep,
    occurred_from: FromQuery = None,
    occurred_to: ToQuery = None,
    holder_id: IdQuery = None,
    studio_id: IdQuery = None,
    consent_id: IdQuery = None,
    licence_id: IdQuery = None,
    action: ActionQuery = None,
    format: Annotated[str | None, Query(description="jsonl (default) or csv")] = None,
) -> StreamingResponse:
    filters, extra = export.parse_filters(request.query_params.multi_items(), extra=("format",))
    return reads.export_response(
        session,
        principal,
        signer=signer,
        engine=services.engine,
        filters=filters,
        kind=reads.export_format(extra),
        filename="audit-log",
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
