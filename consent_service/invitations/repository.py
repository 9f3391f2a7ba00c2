"""SQL of invitations."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, or_
from sqlmodel import Session, col, select

from consent_service.invitations.models import Invitation


def add(session: Session, row: Invitation) -> None:
    session.add(row)


def get(session: Session, invitation_id: str) -> Invitation | None:
    return session.get(Invitation, invitation_id)


def get_for_update(session: Session, invitation_id: str) -> Invitation | None:
    stmt = select(Invitation).where(Invitation.id == invitation_id).with_for_update()
    return session.exec(stmt).first()


def by_token_for_update(session: Session, token_sha256: str) -> Invitation | None:
    stmt = select(Invitation).where(Invitation.token_sha256 == token_sha256).with_for_update()
    return session.exec(stmt).first()


def by_token(session: Session, token_sha256: str) -> Invitation | None:
    return session.exec(select(Invitation).where(Invitation.token_sha256 == token_sha256)).first()


def by_pending_key_for_update(session: Session, pending_key: str) -> Invitation | None:
    stmt = select(Invitation).where(Invitation.pending_key == pending_key).with_for_update()
    return session.exec(stmt).first()


def of_studio(
    session: Session, studio_id: str, *, after: tuple[datetime, str] | None, limit: int
) -> Sequence[Invitation]:
    stmt = select(Invitation).where(Invitation.studio_id == studio_id)
    if after is not None:
        created, row_id = after
        stmt = stmt.where(
            or_(
                col(Invitation.created_at) < created,
                and_(col(Invitation.created_at) == created, col(Invitation.id) < row_id),
            )
        )
    stmt = stmt.order_by(col(Invitation.created_at).desc(), col(Invitation.id).desc())
    return session.exec(stmt.limit(limit)).all()


def expired_pending_for_update(session: Session, now: datetime, limit: int) -> Sequence[Invitation]:
    stmt = (
        select(Invitation)
        .where(Invitation.status == "pending", col(Invitation.expires_at) <= now)
        .where(col(Invitation.email_sealed).is_not(None))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return session.exec(stmt).all()
