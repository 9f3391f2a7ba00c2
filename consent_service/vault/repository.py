"""All SQL about reference objects."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session, col, or_, select

from consent_service.vault.models import Reference


def add(session: Session, reference: Reference) -> None:
    session.add(reference)
    session.flush()


def get_live(session: Session, reference_id: str) -> Reference | None:
    stmt = select(Reference).where(
        Reference.id == reference_id, col(Reference.deleted_at).is_(None)
    )
    return session.exec(stmt).first()


def get_live_of_holder(session: Session, reference_id: str, holder_id: str) -> Reference | None:
    stmt = select(Reference).where(
        Reference.id == reference_id,
        Reference.holder_id == holder_id,
        col(Reference.deleted_at).is_(None),
    )
    return session.exec(stmt).first()


def get_live_of_holder_for_update(
    session: Session, reference_id: str, holder_id: str
) -> Reference | None:
    stmt = (
        select(Reference)
        .where(
            Reference.id == reference_id,
            Reference.holder_id == holder_id,
            col(Reference.deleted_at).is_(None),
        )
        .with_for_update()
    )
    return session.exec(stmt).first()


def find_duplicate(
    session: Session, *, holder_id: str, content_hmac: str, attribute: str
) -> Reference | None:
    stmt = select(Reference).where(
        Reference.holder_id == holder_id,
        Reference.content_hmac == content_hmac,
        Reference.attribute == attribute,
        col(Reference.deleted_at).is_(None),
    )
    return session.exec(stmt).first()


def page_of_holder(
    session: Session, *, holder_id: str, limit: int, after: tuple[datetime, str] | None
) -> Sequence[Reference]:
    stmt = select(Reference).where(
        Reference.holder_id == holder_id, col(Reference.deleted_at).is_(None)
    )
    if after is not None:
        created, row_id = after
        stmt = stmt.where(
            or_(
                col(Reference.created_at) > created,
                (col(Reference.created_at) == created) & (col(Reference.id) > row_id),
            )
        )
    stmt = stmt.order_by(col(Reference.created_at), col(Reference.id)).limit(limit)
    return session.exec(stmt).all()


def all_of_holder(session: Session, holder_id: str) -> Sequence[Reference]:
    """Every reference row of a holder, deleted ones included (export, erasure)."""
    stmt = (
        select(Reference)
        .where(Reference.holder_id == holder_id)
        .order_by(col(Reference.created_at), col(Reference.id))
    )
    return session.exec(stmt).all()


def live_storage_names(session: Session, names: Sequence[str]) -> set[str]:
    """Which of `names` belong to a reference that is not deleted."""
    found: set[str] = set()
    for start in range(0, len(names), 500):
        batch = list(names[start : start + 500])
        stmt = select(Reference.storage_name).where(
            col(Reference.storage_name).in_(batch), col(Reference.deleted_at).is_(None)
        )
        found.update(session.exec(stmt).all())
    return found
