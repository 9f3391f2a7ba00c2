"""All SQL about reference objects."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, or_, select
from sqlmodel.sql.expression import SelectOfScalar

from consent_service.vault.models import Reference


def add(session: Session, reference: Reference) -> None:
    session.add(reference)
    session.flush()


# -- readable pieces of statements ----------------------------------------------------------


def _live() -> Any:
    """Not tombstoned: a deleted reference keeps its row (export, audit) but nothing else."""
    return col(Reference.deleted_at).is_(None)


def _of_holder(holder_id: str) -> Any:
    return Reference.holder_id == holder_id


def _after(after: tuple[datetime, str]) -> Any:
    """Strictly after the cursor's (created_at, id), the order every page is read in."""
    created, row_id = after
    return or_(
        col(Reference.created_at) > created,
        (col(Reference.created_at) == created) & (col(Reference.id) > row_id),
    )


def _live_reference(reference_id: str) -> SelectOfScalar[Reference]:
    return select(Reference).where(Reference.id == reference_id, _live())


# -- queries ------------------------------------------------------------------------------


def get_live(session: Session, reference_id: str) -> Reference | None:
    return session.exec(_live_reference(reference_id)).first()


def get_live_of_holder(session: Session, reference_id: str, holder_id: str) -> Reference | None:
    return session.exec(_live_reference(reference_id).where(_of_holder(holder_id))).first()


def get_live_of_holder_for_update(
    session: Session, reference_id: str, holder_id: str
) -> Reference | None:
    stmt = _live_reference(reference_id).where(_of_holder(holder_id)).with_for_update()
    return session.exec(stmt).first()


def find_duplicate(
    session: Session, *, holder_id: str, content_hmac: str, attribute: str
) -> Reference | None:
    same_content = (Reference.content_hmac == content_hmac) & (Reference.attribute == attribute)
    stmt = select(Reference).where(_of_holder(holder_id), _live(), same_content)
    return session.exec(stmt).first()


def page_of_holder(
    session: Session, *, holder_id: str, limit: int, after: tuple[datetime, str] | None
) -> Sequence[Reference]:
    stmt = select(Reference).where(_of_holder(holder_id), _live())
    if after is not None:
        stmt = stmt.where(_after(after))
    stmt = stmt.order_by(col(Reference.created_at), col(Reference.id)).limit(limit)
    return session.exec(stmt).all()


def all_of_holder(session: Session, holder_id: str) -> Sequence[Reference]:
    """Every reference row of a holder, deleted ones included (export, erasure)."""
    stmt = (
        select(Reference)
        .where(_of_holder(holder_id))
        .order_by(col(Reference.created_at), col(Reference.id))
    )
    return session.exec(stmt).all()


def live_storage_names(session: Session, names: Sequence[str]) -> set[str]:
    """Which of `names` belong to a reference that is not deleted."""
    found: set[str] = set()
    for start in range(0, len(names), 500):
        batch = list(names[start : start + 500])
        stmt = select(Reference.storage_name).where(col(Reference.storage_name).in_(batch), _live())
        found.update(session.exec(stmt).all())
    return found
