"""All SQL of deletion acknowledgements."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session, col, or_, select

from consent_service.deletions.models import DeletionAcknowledgement


def get(session: Session, licence_id: str) -> DeletionAcknowledgement | None:
    return session.get(DeletionAcknowledgement, licence_id)


def get_of_studio_for_update(
    session: Session, licence_id: str, studio_id: str
) -> DeletionAcknowledgement | None:
    query = select(DeletionAcknowledgement).where(
        col(DeletionAcknowledgement.licence_id) == licence_id,
        col(DeletionAcknowledgement.studio_id) == studio_id,
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    return session.exec(query).one_or_none()


def add(session: Session, row: DeletionAcknowledgement) -> None:
    session.add(row)
    session.flush()


def of_holder(session: Session, holder_id: str) -> Sequence[DeletionAcknowledgement]:
    query = (
        select(DeletionAcknowledgement)
        .where(col(DeletionAcknowledgement.holder_id) == holder_id)
        .order_by(col(DeletionAcknowledgement.due_since), col(DeletionAcknowledgement.licence_id))
    )
    return session.exec(query).all()


def page(
    session: Session, *, open_only: bool, after: tuple[datetime, str] | None, limit: int
) -> Sequence[DeletionAcknowledgement]:
    query = select(DeletionAcknowledgement)
    if open_only:
        query = query.where(col(DeletionAcknowledgement.acknowledged_at).is_(None))
    if after is not None:
        due, licence_id = after
        query = query.where(
            or_(
                col(DeletionAcknowledgement.due_since) > due,
                (col(DeletionAcknowledgement.due_since) == due)
                & (col(DeletionAcknowledgement.licence_id) > licence_id),
            )
        )
    query = query.order_by(
        col(DeletionAcknowledgement.due_since), col(DeletionAcknowledgement.licence_id)
    ).limit(limit)
    return session.exec(query).all()


def open_to_remind(
    session: Session, *, reminded_before: datetime, limit: int
) -> Sequence[DeletionAcknowledgement]:
    query = (
        select(DeletionAcknowledgement)
        .where(
            col(DeletionAcknowledgement.acknowledged_at).is_(None),
            or_(
                col(DeletionAcknowledgement.last_reminded_at).is_(None),
                col(DeletionAcknowledgement.last_reminded_at) < reminded_before,
            ),
        )
        .order_by(col(DeletionAcknowledgement.due_since))
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return session.exec(query).all()
