"""All SQL about holders."""

from __future__ import annotations

from sqlmodel import Session, select

from consent_service.holders.models import Holder


def add(session: Session, holder: Holder) -> None:
    session.add(holder)
    session.flush()


def get(session: Session, holder_id: str) -> Holder | None:
    return session.get(Holder, holder_id)


def get_for_update(session: Session, holder_id: str) -> Holder | None:
    # populate_existing: the locked read is fresh even if this session loaded the row before.
    stmt = (
        select(Holder)
        .where(Holder.id == holder_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return session.exec(stmt).first()
