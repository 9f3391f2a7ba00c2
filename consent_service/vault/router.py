"""Routes: upload, list, download and delete reference data (API.md, "Reference data")."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from consent_service.deps import (
    CurrentPrincipal,
    Holder,
    KeyringDep,
    ServicesDep,
    SessionDep,
    SettingsDep,
    WritingRead,
)
from consent_service.errors import problem_responses
from consent_service.pagination import CursorQuery, LimitQuery, Page, decode_cursor
from consent_service.vault import service as vault
from consent_service.vault.models import Reference
from consent_service.vault.schemas import Attribute, ReferenceOut
from consent_service.vault.storage import Storage
from consent_service.vault.upload import openapi_body, receive_upload

router = APIRouter(tags=["reference data"])

EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "audio/wav": "wav",
    "audio/flac": "flac",
    "audio/mpeg": "mp3",
    "audio/ogg": "ogg",
    "video/mp4": "mp4",
}
UPLOAD_BODY = openapi_body(attribute={"type": "string", "enum": [a.value for a in Attribute]})


def private_download(
    content: Iterator[bytes], *, media_type: str, size: int, headers: dict[str, str] | None = None
) -> StreamingResponse:
    """Decrypted media as a response that no cache keeps and no browser sniffs."""
    return StreamingResponse(
        content,
        media_type=media_type,
        headers={
            "Content-Length": str(size),
            **(headers or {}),
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


def get_storage(services: ServicesDep) -> Storage:
    return services.vault_storage


StorageDep = Annotated[Storage, Depends(get_storage)]


def _out(reference: Reference, duplicate: bool = False) -> ReferenceOut:
    return ReferenceOut(
        id=reference.id,
        holder_id=reference.holder_id,
        attribute=Attribute(reference.attribute),
        content_type=reference.content_type,
        size=reference.size,
        stripped_metadata=list(reference.stripped_metadata or []),
        created_at=reference.created_at,
        duplicate=duplicate,
    )


@router.post(
    "/v1/holders/{holder_id}/references",
    status_code=status.HTTP_201_CREATED,
    response_model=ReferenceOut,
    responses={
        200: {"description": "The same content was already stored: the existing reference"},
        **problem_responses(400, 401, 404, 413, 415, 422, 503),
    },
    openapi_extra=UPLOAD_BODY,
    summary="Upload a reference (multipart: file, attribute); streamed, cleaned, encrypted",
)
async def upload_reference(
    holder_id: str,
    request: Request,
    response: Response,
    principal: Holder,
    session: SessionDep,
    keyring: KeyringDep,
    storage: StorageDep,
    settings: SettingsDep,
) -> ReferenceOut:
    await run_in_threadpool(vault.live_holder, session, principal, holder_id)
    # End the read-only transaction of authentication before receiving the body: on SQLite a
    # transaction holds the database write lock, which must not wait on a client's upload.
    await run_in_threadpool(session.commit)
    upload = await receive_upload(
        request,
        tmp_dir=settings.data_dir / "tmp" / "uploads",
        limits={
            "image": settings.vault_max_image_bytes,
            "audio": settings.vault_max_audio_bytes,
            "video": settings.vault_max_video_bytes,
        },
    )
    try:
        stored = await run_in_threadpool(
            partial(
                vault.store_reference,
                session,
                keyring=keyring,
                storage=storage,
                principal=principal,
                holder_id=holder_id,
                upload=upload,
            )
        )
    finally:
        upload.discard()
    if stored.duplicate:
        response.status_code = status.HTTP_200_OK
    return _out(stored.reference, stored.duplicate)


@router.get(
    "/v1/holders/{holder_id}/references",
    response_model=Page[ReferenceOut],
    responses=problem_responses(400, 401, 404),
    summary="The holder's references (metadata only)",
)
def list_references(
    holder_id: str,
    principal: Holder,
    session: SessionDep,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[ReferenceOut]:
    rows = vault.list_references(
        session,
        principal=principal,
        holder_id=holder_id,
        limit=limit + 1,
        after=decode_cursor(cursor),
    )
    return Page.from_rows(rows, limit).map(_out)


@router.get(
    "/v1/references/{reference_id}/content",
    dependencies=[WritingRead],
    response_class=StreamingResponse,
    responses={
        200: {"description": "The cleaned content, decrypted", "content": {"*/*": {}}},
        **problem_responses(401, 404, 500, 503),
    },
    summary="Download a reference (the holder; a studio under a covering licence); audited",
)
def download_reference(
    reference_id: str,
    principal: CurrentPrincipal,
    session: SessionDep,
    keyring: KeyringDep,
    storage: StorageDep,
    services: ServicesDep,
) -> StreamingResponse:
    opened = vault.open_reference(
        session,
        keyring=keyring,
        storage=storage,
        principal=principal,
        reference_id=reference_id,
        licence_lookup=services.licence_lookup,
    )
    reference = opened.reference
    extension = EXTENSIONS.get(reference.content_type, "bin")
    return private_download(
        opened.content,
        media_type=reference.content_type,
        size=reference.size,
        headers={"Content-Disposition": f'attachment; filename="{reference.id}.{extension}"'},
    )


@router.delete(
    "/v1/references/{reference_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 404),
    summary="Delete a reference: its key is destroyed and the stored object removed",
)
def delete_reference(
    reference_id: str, principal: Holder, session: SessionDep, storage: StorageDep
) -> Response:
    vault.delete_reference(session, storage=storage, principal=principal, reference_id=reference_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
