"""All SQL about representatives."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session, col, select

from consent_service.representatives.models import Representative


def add(session: Session, row: Representative) -> None:
    session.add(row)
    session.flush()


def get(session: Session, representative_id: str) -> Representative | None:
    return session.get(Representative, representative_id)


def get_for_update(session: Session, representative_id: str) -> Representative | None:
    stmt = select(Representative).where(Representative.id == representative_id).with_for_update()
    return session.exec(stmt).first()


def of_holder(session: Session, holder_id: str) -> Sequence[Representative]:
    stmt = (
        select(Representative)
        .where(Representative.holder_id == holder_id, col(Representative.revoked_at).is_(None))
        .order_by(col(Representative.created_at), col(Representative.id))
    )
    return session.exec(stmt).all()


def all_of_holder(session: Session, holder_id: str) -> Sequence[Representative]:
    """Every representative of the holder, revoked ones included, oldest first."""
    stmt = (
        select(Representative)
        .where(Representative.holder_id == holder_id)
        .order_by(col(Representative.created_at), col(Representative.id))
    )
    return session.exec(stmt).all()


def latest_post_mortem_record(session: Session, holder_id: str) -> Representative | None:
    stmt = (
        select(Representative)
        .where(
            Representative.holder_id == holder_id,
            Representative.kind == "executor",
            col(Representative.revoked_at).is_(None),
            col(Representative.post_mortem_rights_until).is_not(None),
        )
        .order_by(col(Representative.created_at).desc(), col(Representative.id).desc())
        .limit(1)
    )
    return session.exec(stmt).first()
