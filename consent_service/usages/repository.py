"""All SQL about usages."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from consent_service.db import bulk_insert
from consent_service.usages.models import Usage

_usage = Usage.__table__  # type: ignore[attr-defined]


def add_many(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert usages (Core: rows are not loaded through the ORM; COPY on PostgreSQL)."""
    bulk_insert(session, _usage, rows)


def list_visible(
    session: Session,
    *,
    licence_id: str | None,
    holder_id: str | None,
    studio_id: str | None,
    after: tuple[datetime, str] | None,
    limit: int,
    consent_id: str | None = None,
) -> Sequence[Usage]:
    """Usages matching every filter given, newest first, after the cursor `after`."""
    stmt = select(Usage)
    if consent_id is not None:
        stmt = stmt.where(Usage.consent_id == consent_id)
    if licence_id is not None:
        stmt = stmt.where(Usage.licence_id == licence_id)
    if holder_id is not None:
        stmt = stmt.where(Usage.holder_id == holder_id)
    if studio_id is not None:
        stmt = stmt.where(Usage.studio_id == studio_id)
    if after is not None:
        created, row_id = after
        stmt = stmt.where(
            sa.or_(
                col(Usage.created_at) < created,
                sa.and_(col(Usage.created_at) == created, col(Usage.id) < row_id),
            )
        )
    stmt = stmt.order_by(col(Usage.created_at).desc(), col(Usage.id).desc()).limit(limit)
    return session.exec(stmt).all()


def of_holder(session: Session, holder_id: str) -> Sequence[Usage]:
    """Every usage of a holder's likeness, in the order recorded (the holder's export)."""
    stmt = select(Usage).where(Usage.holder_id == holder_id).order_by(col(Usage.audit_seq))
    return session.exec(stmt).all()


def delete_recorded_before(session: Session, before: datetime) -> int:
    """Delete the usage rows recorded before `before`; how many went."""
    result = session.execute(sa.delete(Usage).where(col(Usage.created_at) < before))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def count_recorded_before(session: Session, before: datetime) -> int:
    stmt = select(sa.func.count()).select_from(Usage).where(col(Usage.created_at) < before)
    return int(session.exec(stmt).one())
