"""All SQL of webhook endpoints and once-only notices."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from consent_service.webhooks.models import EndpointStatus, NoticeSent, WebhookEndpoint


def add(session: Session, endpoint: WebhookEndpoint) -> None:
    session.add(endpoint)
    session.flush()


def get(session: Session, endpoint_id: str) -> WebhookEndpoint | None:
    return session.get(WebhookEndpoint, endpoint_id)


def get_of_studio(
    session: Session, endpoint_id: str, studio_id: str, *, lock: bool = False
) -> WebhookEndpoint | None:
    """The endpoint when it belongs to `studio_id` (ownership in the query: else None, a 404)."""
    query = select(WebhookEndpoint).where(
        col(WebhookEndpoint.id) == endpoint_id, col(WebhookEndpoint.studio_id) == studio_id
    )
    if lock and session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    return session.exec(query).one_or_none()


def of_studio(session: Session, studio_id: str) -> Sequence[WebhookEndpoint]:
    query = (
        select(WebhookEndpoint)
        .where(col(WebhookEndpoint.studio_id) == studio_id)
        .order_by(col(WebhookEndpoint.created_at), col(WebhookEndpoint.id))
    )
    return session.exec(query).all()


def enabled_of_studios(session: Session, studio_ids: Sequence[str]) -> Sequence[WebhookEndpoint]:
    if not studio_ids:
        return []
    query = (
        select(WebhookEndpoint)
        .where(
            col(WebhookEndpoint.studio_id).in_(list(studio_ids)),
            col(WebhookEndpoint.status) == EndpointStatus.enabled.value,
        )
        .order_by(col(WebhookEndpoint.created_at), col(WebhookEndpoint.id))
    )
    return session.exec(query).all()


def delete(session: Session, endpoint: WebhookEndpoint) -> None:
    session.delete(endpoint)
    session.flush()


def save(session: Session, endpoint: WebhookEndpoint) -> None:
    session.add(endpoint)
    session.flush()


def mark_notice_sent(session: Session, key: str) -> bool:
    """Record a once-only notice; False when it was already recorded (nothing is written)."""
    if session.get(NoticeSent, key) is not None:
        return False
    try:
        with session.begin_nested():
            session.add(NoticeSent(key=key))
            session.flush()
    except IntegrityError:  # a concurrent sweep recorded it first
        return False
    return True
