"""Webhook endpoints (create, list, delete, rotate, enable) and publishing events to them.

`publish(session, ...)` is what other domains call in the transaction of their change: it
writes one outbox message per enabled endpoint of the studio subscribed to the event type, so
the event leaves if and only if the change commits (DESIGN.md, Outbound messages). The message
id is the `webhook-id`; the channel (channel.py) signs and sends it.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from consent_service import audit
from consent_service.accounts.principal import Principal
from consent_service.audit.actions import Action
from consent_service.consents.events import GrantStatusChange
from consent_service.crypto.envelope import aad_for, decrypt, encrypt
from consent_service.crypto.keyring import WEBHOOK_SECRETS, Keyring
from consent_service.db import utcnow
from consent_service.errors import Conflict, DomainError, NotFound
from consent_service.ids import new_id
from consent_service.outbox import service as outbox
from consent_service.outbox.models import OutboxAttempt, OutboxMessage
from consent_service.webhooks import repository, urls
from consent_service.webhooks.events import CONSENT_EVENTS, EventType
from consent_service.webhooks.models import EndpointStatus, WebhookEndpoint

CHANNEL = "webhook"
SECRET_PREFIX = "whsec_"


class WebhookEndpointNotFound(NotFound):
    code, title = "webhook_endpoint_not_found", "No such webhook endpoint"


class WebhookMessageNotFound(NotFound):
    code, title = "webhook_message_not_found", "No such message for this webhook endpoint"


class UnknownEventType(DomainError):
    code, status, title = "unknown_event_type", 422, "Unknown webhook event type"


class WebhookEndpointDisabled(Conflict):
    code, title = "webhook_endpoint_disabled", "The webhook endpoint is disabled"


# -- secrets ----------------------------------------------------------------------------------
def new_secret() -> str:
    """A Standard Webhooks secret: `whsec_` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def _seal(keyring: Keyring, session: Session, endpoint_id: str, field: str, secret: str) -> bytes:
    key = keyring.service_key(session, WEBHOOK_SECRETS)
    return encrypt(key, secret.encode("ascii"), aad=aad_for("webhook", endpoint_id, field))


def _open(keyring: Keyring, session: Session, endpoint_id: str, field: str, blob: bytes) -> str:
    key = keyring.service_key(session, WEBHOOK_SECRETS)
    return decrypt(key, blob, aad=aad_for("webhook", endpoint_id, field)).decode("ascii")


def signing_secrets(
    session: Session, keyring: Keyring, endpoint: WebhookEndpoint, now: datetime
) -> list[str]:
    """The secrets a delivery is signed with: the current one, and the previous one while its
    overlap after a rotation lasts (Standard Webhooks allows several signatures)."""
    found = [_open(keyring, session, endpoint.id, "secret", endpoint.secret_enc)]
    if (
        endpoint.previous_secret_enc is not None
        and endpoint.previous_secret_until is not None
        and endpoint.previous_secret_until > now
    ):
        found.append(
            _open(keyring, session, endpoint.id, "previous_secret", endpoint.previous_secret_enc)
        )
    return found


# -- endpoints --------------------------------------------------------------------------------
def _event_types(values: Iterable[str]) -> list[str]:
    known = {e.value for e in EventType}
    chosen: list[str] = []
    for value in values:
        if value not in known:
            raise UnknownEventType(
                f"{value!r} is not an event type; known: {', '.join(sorted(known))}",
                event_type=value,
            )
        if value not in chosen:
            chosen.append(value)
    return chosen


def _url_sha256(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class CreatedEndpoint:
    endpoint: WebhookEndpoint
    secret: str


def create_endpoint(
    session: Session,
    *,
    keyring: Keyring,
    studio: Principal,
    url: str,
    event_types: Sequence[str],
    allow_private: bool,
) -> CreatedEndpoint:
    """Register an endpoint for the studio; the secret is returned here only, sealed at rest."""
    chosen = _event_types(event_types)
    urls.check(url, allow_private=allow_private)
    endpoint_id = new_id("whe")
    secret = new_secret()
    endpoint = WebhookEndpoint(
        id=endpoint_id,
        studio_id=_studio_id(studio),
        url=url,
        event_types=chosen,
        secret_enc=_seal(keyring, session, endpoint_id, "secret", secret),
    )
    repository.add(session, endpoint)
    audit.record(
        session,
        actor_id=studio.actor_id,
        action=Action.webhook_endpoint_created,
        subjects={"studio_id": endpoint.studio_id, "webhook_endpoint_id": endpoint.id},
        payload={"url_sha256": _url_sha256(url), "event_types": chosen},
    )
    return CreatedEndpoint(endpoint, secret)


def _studio_id(studio: Principal) -> str:
    if not studio.organization_id:
        raise WebhookEndpointNotFound()
    return studio.organization_id


def get_endpoint(
    session: Session, *, studio: Principal, endpoint_id: str, lock: bool = False
) -> WebhookEndpoint:
    endpoint = repository.get_of_studio(session, endpoint_id, _studio_id(studio), lock=lock)
    if endpoint is None:
        raise WebhookEndpointNotFound()
    return endpoint


def list_endpoints(session: Session, *, studio: Principal) -> Sequence[WebhookEndpoint]:
    return repository.of_studio(session, _studio_id(studio))


def delete_endpoint(session: Session, *, studio: Principal, endpoint_id: str) -> None:
    """Delete an endpoint; what was still to be sent to it is cancelled."""
    endpoint = get_endpoint(session, studio=studio, endpoint_id=endpoint_id, lock=True)
    cancelled = outbox.cancel_destination(session, endpoint.id)
    repository.delete(session, endpoint)
    audit.record(
        session,
        actor_id=studio.actor_id,
        action=Action.webhook_endpoint_deleted,
        subjects={"studio_id": endpoint.studio_id, "webhook_endpoint_id": endpoint.id},
        payload={"cancelled_messages": cancelled},
    )


def rotate_secret(
    session: Session, *, keyring: Keyring, studio: Principal, endpoint_id: str, overlap: timedelta
) -> CreatedEndpoint:
    """A new secret; the old one keeps signing (beside the new) for `overlap`."""
    endpoint = get_endpoint(session, studio=studio, endpoint_id=endpoint_id, lock=True)
    now = utcnow()
    old = _open(keyring, session, endpoint.id, "secret", endpoint.secret_enc)
    secret = new_secret()
    endpoint.secret_enc = _seal(keyring, session, endpoint.id, "secret", secret)
    if overlap > timedelta(0):
        endpoint.previous_secret_enc = _seal(keyring, session, endpoint.id, "previous_secret", old)
        endpoint.previous_secret_until = now + overlap
    else:
        endpoint.previous_secret_enc = None
        endpoint.previous_secret_until = None
    repository.save(session, endpoint)
    audit.record(
        session,
        actor_id=studio.actor_id,
        action=Action.webhook_secret_rotated,
        subjects={"studio_id": endpoint.studio_id, "webhook_endpoint_id": endpoint.id},
        payload={"overlap_seconds": int(overlap.total_seconds())},
    )
    return CreatedEndpoint(endpoint, secret)


def enable_endpoint(session: Session, *, studio: Principal, endpoint_id: str) -> WebhookEndpoint:
    """Enable a disabled endpoint again (messages given up on can then be redelivered)."""
    endpoint = get_endpoint(session, studio=studio, endpoint_id=endpoint_id, lock=True)
    if endpoint.status != EndpointStatus.enabled.value:
        endpoint.status = EndpointStatus.enabled.value
        endpoint.disabled_at = None
        repository.save(session, endpoint)
        audit.record(
            session,
            actor_id=studio.actor_id,
            action=Action.webhook_endpoint_enabled,
            subjects={"studio_id": endpoint.studio_id, "webhook_endpoint_id": endpoint.id},
        )
    return endpoint


def disable_after_give_up(session: Session, endpoint_id: str, message_id: str) -> None:
    """The outbox gave up on a message (max age): disable the endpoint and tell the studio.

    The studio is told by an audit event and a `webhook.endpoint_disabled` event to its other
    enabled endpoints that subscribe to it. Messages still pending for the disabled endpoint
    are cancelled by the channel when their turn comes; the delivery log keeps them.
    """
    endpoint = repository.get(session, endpoint_id)
    if endpoint is None or endpoint.status == EndpointStatus.disabled.value:
        return
    now = utcnow()
    endpoint.status = EndpointStatus.disabled.value
    endpoint.disabled_at = now
    repository.save(session, endpoint)
    audit.record(
        session,
        actor_id="system",
        action=Action.webhook_endpoint_disabled,
        subjects={"studio_id": endpoint.studio_id, "webhook_endpoint_id": endpoint.id},
        payload={"message_id": message_id, "cause": "max_age"},
    )
    publish(
        session,
        EventType.webhook_endpoint_disabled,
        studio_ids=[endpoint.studio_id],
        data={"webhook_endpoint_id": endpoint.id, "message_id": message_id},
    )


# -- delivery log and redelivery --------------------------------------------------------------
def delivery_log(
    session: Session, *, studio: Principal, endpoint_id: str, limit: int, before_seq: int | None
) -> list[tuple[OutboxMessage, list[OutboxAttempt]]]:
    endpoint = get_endpoint(session, studio=studio, endpoint_id=endpoint_id)
    return outbox.delivery_log(session, endpoint.id, limit=limit, before_seq=before_seq)


def redeliver(
    session: Session, *, studio: Principal, endpoint_id: str, message_id: str
) -> OutboxMessage:
    """Queue a message of this endpoint again (same `webhook-id`); the endpoint must be enabled."""
    endpoint = get_endpoint(session, studio=studio, endpoint_id=endpoint_id)
    message = outbox.get_message(session, message_id)
    if message is None or message.channel != CHANNEL or message.destination != endpoint.id:
        raise WebhookMessageNotFound()
    if endpoint.status != EndpointStatus.enabled.value:
        raise WebhookEndpointDisabled("Enable the endpoint first: POST /v1/webhooks/{id}/enable")
    again = outbox.redeliver(session, message_id)
    assert again is not None
    audit.record(
        session,
        actor_id=studio.actor_id,
        action=Action.webhook_redelivery_requested,
        subjects={"studio_id": endpoint.studio_id, "webhook_endpoint_id": endpoint.id},
        payload={"message_id": message_id},
    )
    return again


# -- publishing -------------------------------------------------------------------------------
def publish(
    session: Session,
    event_type: EventType,
    *,
    studio_ids: Iterable[str],
    data: Mapping[str, Any],
) -> list[str]:
    """Queue `event_type` for every enabled endpoint of these studios subscribed to it.

    Runs in the caller's transaction: the messages exist only if the change commits. `data`
    holds ids, codes and times only. Returns the outbox message ids (the `webhook-id`s).
    """
    wanted = sorted({s for s in studio_ids if s})
    ids: list[str] = []
    for endpoint in repository.enabled_of_studios(session, wanted):
        if event_type.value not in endpoint.event_types:
            continue
        message = outbox.enqueue(
            session,
            channel=CHANNEL,
            destination=endpoint.id,
            kind=event_type.value,
            payload=dict(data),
        )
        ids.append(message.id)
    return ids


def publish_once(
    session: Session,
    key: str,
    event_type: EventType,
    *,
    studio_ids: Iterable[str],
    data: Mapping[str, Any],
) -> bool:
    """`publish`, unless a notice under `key` was already published (then nothing)."""
    if not repository.mark_notice_sent(session, key):
        return False
    publish(session, event_type, studio_ids=studio_ids, data=data)
    return True


def grant_status_webhook(session: Session, change: GrantStatusChange) -> list[str]:
    """Grant listener (wiring.py): a consent status change becomes a `consent.*` event.

    Returns no ids: the listeners' ids are the licences a change revoked, and this changes none.
    """
    event_type = CONSENT_EVENTS.get(change.new_status)
    if event_type is not None:
        publish(
            session,
            event_type,
            studio_ids=[change.studio_id],
            data={
                "consent_id": change.grant_id,
                "holder_id": change.holder_id,
                "status": change.new_status,
                "previous_status": change.old_status,
            },
        )
    return []
