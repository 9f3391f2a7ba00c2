"""All SQL of the outbox."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, exists, func, or_, update
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from consent_service.outbox.models import MessageState, OutboxAttempt, OutboxMessage

PENDING = MessageState.pending.value


def add(session: Session, message: OutboxMessage) -> None:
    session.add(message)
    session.flush()


def claim(
    session: Session,
    *,
    channels: Sequence[str],
    now: datetime,
    lease_until: datetime,
    limit: int,
) -> list[OutboxMessage]:
    """Lease up to `limit` due messages, at most one per destination: its oldest undelivered one.

    A message is claimable when it is pending, due, not leased (or its lease ran out), and no
    older message of its destination is still pending: that keeps delivery in order per
    destination, even with several workers. On PostgreSQL the rows are locked with
    `FOR UPDATE SKIP LOCKED`, so two workers claiming at once take different messages; on
    SQLite the writing transaction (BEGIN IMMEDIATE) already serialises claims.
    """
    query = _claimable(channels, now).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=OutboxMessage)
    messages = list(session.exec(query))
    for message in messages:
        message.lease_until = lease_until
        session.add(message)
    session.flush()
    return messages


def any_claimable(session: Session, *, channels: Sequence[str], now: datetime) -> bool:
    """Whether `claim` would find something (a read: an idle worker takes no write lock)."""
    return session.exec(_claimable(channels, now).limit(1)).first() is not None


def _claimable(channels: Sequence[str], now: datetime) -> SelectOfScalar[OutboxMessage]:
    older = aliased(OutboxMessage)
    return (
        select(OutboxMessage)
        .where(
            col(OutboxMessage.state) == PENDING,
            col(OutboxMessage.channel).in_(list(channels)),
            col(OutboxMessage.due_at) <= now,
            or_(col(OutboxMessage.lease_until).is_(None), col(OutboxMessage.lease_until) <= now),
            ~exists().where(
                and_(
                    col(older.destination) == col(OutboxMessage.destination),
                    col(older.state) == PENDING,
                    col(older.seq) < col(OutboxMessage.seq),
                )
            ),
        )
        .order_by(col(OutboxMessage.seq))
    )


def get_for_update(session: Session, message_id: str) -> OutboxMessage | None:
    query = select(OutboxMessage).where(col(OutboxMessage.id) == message_id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    return session.exec(query).one_or_none()


def get(session: Session, message_id: str) -> OutboxMessage | None:
    query = select(OutboxMessage).where(col(OutboxMessage.id) == message_id)
    return session.exec(query).one_or_none()


def add_attempt(session: Session, attempt: OutboxAttempt) -> None:
    session.add(attempt)


def attempts_of(session: Session, message_ids: Sequence[str]) -> list[OutboxAttempt]:
    if not message_ids:
        return []
    query = (
        select(OutboxAttempt)
        .where(col(OutboxAttempt.message_id).in_(list(message_ids)))
        .order_by(col(OutboxAttempt.attempted_at), col(OutboxAttempt.id))
    )
    return list(session.exec(query))


def messages_of_destination(
    session: Session, destination: str, *, limit: int, before_seq: int | None = None
) -> list[OutboxMessage]:
    """The newest messages of one destination first (a delivery log page)."""
    query = select(OutboxMessage).where(col(OutboxMessage.destination) == destination)
    if before_seq is not None:
        query = query.where(col(OutboxMessage.seq) < before_seq)
    query = query.order_by(col(OutboxMessage.seq).desc()).limit(limit)
    return list(session.exec(query))


def cancel_pending_of_destination(session: Session, destination: str, now: datetime) -> int:
    """Cancel what is still to be sent to a destination that is gone (an endpoint deleted)."""
    result = session.execute(
        update(OutboxMessage)
        .where(
            col(OutboxMessage.destination) == destination,
            col(OutboxMessage.state) == PENDING,
        )
        .values(state=MessageState.cancelled.value, finished_at=now, lease_until=None)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def count_by_state(session: Session) -> dict[str, int]:
    query = select(col(OutboxMessage.state), func.count()).group_by(col(OutboxMessage.state))
    return {state: int(n) for state, n in session.exec(query).all()}
