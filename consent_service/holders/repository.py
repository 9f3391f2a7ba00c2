"""All SQL about holders."""

from __future__ import annotations

from sqlmodel import Session, col, select

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


def erased_flags(session: Session, holder_ids: list[str]) -> dict[str, bool]:
    """For each of `holder_ids` that exists: whether it is erased."""
    flags: dict[str, bool] = {}
    for start in range(0, len(holder_ids), 500):
        chunk = holder_ids[start : start + 500]
        stmt = select(Holder.id, Holder.erased_at).where(col(Holder.id).in_(chunk))
        for holder_id, erased_at in session.exec(stmt):
            flags[holder_id] = erased_at is not None
    return flags
