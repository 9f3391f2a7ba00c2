"""All SQL about collective agreements."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, or_
from sqlmodel import Session, col, select

from consent_service.agreements.models import CollectiveAgreement


def add(session: Session, row: CollectiveAgreement) -> None:
    session.add(row)
    session.flush()


def get(session: Session, agreement_id: str) -> CollectiveAgreement | None:
    return session.get(CollectiveAgreement, agreement_id)


def get_for_update(session: Session, agreement_id: str) -> CollectiveAgreement | None:
    stmt = (
        select(CollectiveAgreement).where(CollectiveAgreement.id == agreement_id).with_for_update()
    )
    return session.exec(stmt).first()


def page(
    session: Session, *, after: tuple[datetime, str] | None, limit: int
) -> Sequence[CollectiveAgreement]:
    stmt = select(CollectiveAgreement)
    if after is not None:
        created, row_id = after
        stmt = stmt.where(
            or_(
                col(CollectiveAgreement.created_at) > created,
                and_(
                    col(CollectiveAgreement.created_at) == created,
                    col(CollectiveAgreement.id) > row_id,
                ),
            )
        )
    stmt = stmt.order_by(col(CollectiveAgreement.created_at), col(CollectiveAgreement.id))
    return session.exec(stmt.limit(limit)).all()
