"""Routes: a studio's webhook endpoints, their delivery log and redelivery."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Query, Response, status

from consent_service.deps import KeyringDep, SessionDep, SettingsDep, Studio
from consent_service.errors import BadCursor, problem_responses
from consent_service.outbox.models import MessageState, OutboxAttempt, OutboxMessage
from consent_service.pagination import LimitQuery
from consent_service.webhooks import service as webhooks
from consent_service.webhooks.models import WebhookEndpoint
from consent_service.webhooks.schemas import (
    AttemptOut,
    DeliveryLog,
    DeliveryOut,
    EndpointCreate,
    EndpointList,
    EndpointOut,
    EndpointWithSecret,
    RedeliveryOut,
)

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])


def _out(row: WebhookEndpoint) -> EndpointOut:
    return EndpointOut.model_validate(row, from_attributes=True)


def _with_secret(created: webhooks.CreatedEndpoint) -> EndpointWithSecret:
    return EndpointWithSecret(**_out(created.endpoint).model_dump(), secret=created.secret)


def _delivery(message: OutboxMessage, attempts: list[OutboxAttempt]) -> DeliveryOut:
    return DeliveryOut(
        message_id=message.id,
        event_type=message.kind,
        state=message.state,
        created_at=message.created_at,
        next_attempt_at=message.due_at if message.state == MessageState.pending.value else None,
        attempts=[AttemptOut.model_validate(a, from_attributes=True) for a in attempts],
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=EndpointWithSecret,
    responses=problem_responses(401, 404, 422),
    summary="Register a webhook endpoint (studio); the secret is shown only in this answer",
)
def create_endpoint(
    body: EndpointCreate,
    studio: Studio,
    session: SessionDep,
    keyring: KeyringDep,
    settings: SettingsDep,
) -> EndpointWithSecret:
    created = webhooks.create_endpoint(
        session,
        keyring=keyring,
        studio=studio,
        url=body.url,
        event_types=body.event_types,
        allow_private=settings.webhook_private_urls_allowed,
    )
    return _with_secret(created)


@router.get(
    "",
    response_model=EndpointList,
    responses=problem_responses(401, 404),
    summary="The studio's webhook endpoints (without secrets)",
)
def list_endpoints(studio: Studio, session: SessionDep) -> EndpointList:
    return EndpointList(items=[_out(e) for e in webhooks.list_endpoints(session, studio=studio)])


@router.get(
    "/{endpoint_id}",
    response_model=EndpointOut,
    responses=problem_responses(401, 404),
    summary="One webhook endpoint of the studio",
)
def get_endpoint(endpoint_id: str, studio: Studio, session: SessionDep) -> EndpointOut:
    return _out(webhooks.get_endpoint(session, studio=studio, endpoint_id=endpoint_id))


@router.delete(
    "/{endpoint_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 404),
    summary="Delete a webhook endpoint; undelivered messages to it are cancelled",
)
def delete_endpoint(endpoint_id: str, studio: Studio, session: SessionDep) -> Response:
    webhooks.delete_endpoint(session, studio=studio, endpoint_id=endpoint_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{endpoint_id}/rotate-secret",
    response_model=EndpointWithSecret,
    responses=problem_responses(401, 404),
    summary="A new signing secret (shown once); the old one also signs for an overlap period",
)
def rotate_secret(
    endpoint_id: str,
    studio: Studio,
    session: SessionDep,
    keyring: KeyringDep,
    settings: SettingsDep,
) -> EndpointWithSecret:
    rotated = webhooks.rotate_secret(
        session,
        keyring=keyring,
        studio=studio,
        endpoint_id=endpoint_id,
        overlap=timedelta(seconds=settings.webhook_secret_overlap_seconds),
    )
    return _with_secret(rotated)


@router.post(
    "/{endpoint_id}/enable",
    response_model=EndpointOut,
    responses=problem_responses(401, 404),
    summary="Enable an endpoint that was disabled after 3 days of failed deliveries",
)
def enable_endpoint(endpoint_id: str, studio: Studio, session: SessionDep) -> EndpointOut:
    return _out(webhooks.enable_endpoint(session, studio=studio, endpoint_id=endpoint_id))


def _before_seq(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    if not cursor.isdigit() or len(cursor) > 19:
        raise BadCursor()
    return int(cursor)


@router.get(
    "/{endpoint_id}/deliveries",
    response_model=DeliveryLog,
    responses=problem_responses(400, 401, 404),
    summary="The endpoint's delivery log, newest first, with every attempt",
)
def delivery_log(
    endpoint_id: str,
    studio: Studio,
    session: SessionDep,
    limit: LimitQuery = 50,
    cursor: str | None = Query(default=None, max_length=20, description="From `next_cursor`"),
) -> DeliveryLog:
    rows = webhooks.delivery_log(
        session,
        studio=studio,
        endpoint_id=endpoint_id,
        limit=limit + 1,
        before_seq=_before_seq(cursor),
    )
    shown = rows[:limit]
    next_cursor = str(shown[-1][0].seq) if len(rows) > limit and shown else None
    return DeliveryLog(items=[_delivery(m, a) for m, a in shown], next_cursor=next_cursor)


@router.post(
    "/{endpoint_id}/deliveries/{message_id}/redeliver",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=RedeliveryOut,
    responses=problem_responses(401, 404, 409),
    summary="Send a message again, with the same webhook-id",
)
def redeliver(
    endpoint_id: str, message_id: str, studio: Studio, session: SessionDep
) -> RedeliveryOut:
    message = webhooks.redeliver(
        session, studio=studio, endpoint_id=endpoint_id, message_id=message_id
    )
    return RedeliveryOut(message_id=message.id, state=message.state)
