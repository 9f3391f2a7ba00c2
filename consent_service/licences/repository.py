"""All SQL about licences and status lists."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Engine, and_, func, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from consent_service.consents.models import ConsentGrant
from consent_service.licences.models import Licence, LicenceStatus, StatusList


def add(session: Session, licence: Licence) -> None:
    session.add(licence)
    session.flush()


def get(session: Session, licence_id: str) -> Licence | None:
    return session.get(Licence, licence_id)


def get_for_update(session: Session, licence_id: str) -> Licence | None:
    stmt = (
        select(Licence)
        .where(Licence.id == licence_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return session.exec(stmt).first()


def get_visible(
    session: Session, licence_id: str, *, studio_id: str | None, holder_id: str | None
) -> Licence | None:
    """The licence when the caller may see it (its studio or its holder), else None."""
    stmt = select(Licence).where(Licence.id == licence_id)
    if studio_id is not None:
        stmt = stmt.where(Licence.studio_id == studio_id)
    if holder_id is not None:
        stmt = stmt.where(Licence.holder_id == holder_id)
    return session.exec(stmt).first()


def list_visible(
    session: Session,
    *,
    studio_id: str | None,
    holder_id: str | None,
    consent_id: str | None,
    after: tuple[datetime, str] | None,
    limit: int,
) -> Sequence[Licence]:
    stmt = select(Licence)
    if studio_id is not None:
        stmt = stmt.where(Licence.studio_id == studio_id)
    if holder_id is not None:
        stmt = stmt.where(Licence.holder_id == holder_id)
    if consent_id is not None:
        stmt = stmt.where(Licence.consent_id == consent_id)
    if after is not None:
        created, row_id = after
        stmt = stmt.where(
            or_(
                col(Licence.created_at) < created,
                and_(col(Licence.created_at) == created, col(Licence.id) < row_id),
            )
        )
    stmt = stmt.order_by(col(Licence.created_at).desc(), col(Licence.id).desc()).limit(limit)
    return session.exec(stmt).all()


def licence_status(engine: Engine, licence_id: str) -> str | None:
    """The stored status of one licence: the one indexed lookup of an online verification.

    Straight on a pooled DBAPI connection: this is the hot path, and a Session (or even a Core
    connection) costs several times the primary-key lookup itself.
    """
    placeholder = "?" if engine.dialect.paramstyle == "qmark" else "%s"
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        try:
            cursor.execute(f"SELECT status FROM licence WHERE id = {placeholder}", (licence_id,))
            row = cursor.fetchone()
        finally:
            cursor.close()
    finally:
        connection.close()
    return None if row is None else str(row[0])


def active_of_studio_for_holder(
    session: Session, *, studio_id: str, holder_id: str, now: datetime
) -> Sequence[Licence]:
    """Licences of the studio for the holder that are active at `now` under an active grant."""
    stmt = (
        select(Licence)
        .join(ConsentGrant, col(ConsentGrant.id) == col(Licence.consent_id))
        .where(
            Licence.studio_id == studio_id,
            Licence.holder_id == holder_id,
            Licence.status == "active",
            col(Licence.valid_from) <= now,
            col(Licence.valid_until) > now,
            ConsentGrant.status == "active",
            col(ConsentGrant.valid_until) > now,
        )
        .order_by(col(Licence.created_at), col(Licence.id))
    )
    return session.exec(stmt).all()


def active_ending_between(
    session: Session, *, start: datetime, end: datetime, limit: int
) -> Sequence[Licence]:
    """Active licences whose validity ends in (start, end], soonest first."""
    stmt = (
        select(Licence)
        .where(
            Licence.status == "active",
            col(Licence.valid_until) > start,
            col(Licence.valid_until) <= end,
        )
        .order_by(col(Licence.valid_until), col(Licence.id))
        .limit(limit)
    )
    return session.exec(stmt).all()


def of_holder(session: Session, holder_id: str) -> Sequence[Licence]:
    """Every licence of a holder, oldest first (the holder's export)."""
    stmt = (
        select(Licence)
        .where(Licence.holder_id == holder_id)
        .order_by(col(Licence.created_at), col(Licence.id))
    )
    return session.exec(stmt).all()


def lock_licences_of_grant(
    session: Session, consent_id: str, statuses: Sequence[str]
) -> Sequence[Licence]:
    stmt = (
        select(Licence)
        .where(Licence.consent_id == consent_id, col(Licence.status).in_(list(statuses)))
        .order_by(col(Licence.id))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return session.exec(stmt).all()


# -- status lists ----------------------------------------------------------------------------


def get_status_list(session: Session, list_id: str) -> StatusList | None:
    return session.get(StatusList, list_id)


def lock_open_status_list(session: Session) -> StatusList | None:
    """The oldest list with room left, locked: index allocation is serialised per list."""
    stmt = (
        select(StatusList)
        .where(col(StatusList.allocated) < col(StatusList.capacity))
        .order_by(col(StatusList.seq))
        .limit(1)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return session.exec(stmt).first()


def create_status_list(session: Session, status_list: StatusList) -> bool:
    """Insert a new list in a savepoint; False when a concurrent request made it first."""
    next_seq = session.exec(select(func.coalesce(func.max(StatusList.seq), 0))).one() + 1
    status_list.seq = next_seq
    try:
        with session.begin_nested():
            session.add(status_list)
    except IntegrityError:
        return False
    return True


def index_taken(session: Session, list_id: str, index: int) -> bool:
    stmt = select(Licence.id).where(
        Licence.status_list_id == list_id, Licence.status_list_index == index
    )
    return session.exec(stmt).first() is not None


def entries_not_valid(session: Session, list_id: str) -> Sequence[tuple[int, str]]:
    """(index, status) of every licence in the list that is not active."""
    stmt = select(Licence.status_list_index, Licence.status).where(
        Licence.status_list_id == list_id, Licence.status != LicenceStatus.active.value
    )
    return [(int(index), str(status)) for index, status in session.exec(stmt).all()]
