"""All SQL about consent requests, grants and receipts.

Ownership lives in the queries (`..._for_holder`, `..._for_studio`): someone else's row is
simply not found, so the answer is 404, never a leak.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, and_, or_
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from consent_service.consents.models import ConsentGrant, ConsentReceipt, ConsentRequest

_Listed = TypeVar("_Listed", ConsentRequest, ConsentGrant)

NOT_ENDED = ("active", "suspended")


def add(session: Session, row: ConsentRequest | ConsentGrant | ConsentReceipt) -> None:
    session.add(row)
    session.flush()


# -- requests ----------------------------------------------------------------------------------


def get_request(session: Session, request_id: str) -> ConsentRequest | None:
    return session.get(ConsentRequest, request_id)


def get_request_for_update(session: Session, request_id: str) -> ConsentRequest | None:
    stmt = select(ConsentRequest).where(ConsentRequest.id == request_id).with_for_update()
    return session.exec(stmt).first()


def _page(
    stmt: SelectOfScalar[Any],
    model: type[ConsentRequest] | type[ConsentGrant],
    after: tuple[datetime, str] | None,
    limit: int,
) -> SelectOfScalar[Any]:
    if after is not None:
        created, row_id = after
        stmt = stmt.where(
            or_(
                col(model.created_at) < created,
                and_(col(model.created_at) == created, col(model.id) < row_id),
            )
        )
    return stmt.order_by(col(model.created_at).desc(), col(model.id).desc()).limit(limit)


def _owned_by(
    stmt: SelectOfScalar[_Listed],
    model: type[_Listed],
    *,
    holder_id: str | None,
    studio_id: str | None,
) -> SelectOfScalar[_Listed]:
    """Only the rows of this holder and/or this studio: ownership is part of the query."""
    if holder_id is not None:
        stmt = stmt.where(model.holder_id == holder_id)
    if studio_id is not None:
        stmt = stmt.where(model.studio_id == studio_id)
    return stmt


def _grant_status_now_is(status: str, now: datetime) -> ColumnElement[bool]:
    """The grant's state as of `now` is `status` (lifecycle.status_now, in SQL).

    An active or suspended grant whose `valid_until` has passed reads as expired until the
    sweep records it.
    """
    stored = col(ConsentGrant.status)
    past_its_end = col(ConsentGrant.valid_until) <= now
    if status == "expired":
        return or_(stored == "expired", and_(stored.in_(NOT_ENDED), past_its_end))
    if status in NOT_ENDED:
        return and_(stored == status, col(ConsentGrant.valid_until) > now)
    return stored == status


def list_requests(
    session: Session,
    *,
    holder_id: str | None,
    studio_id: str | None,
    status: str | None,
    after: tuple[datetime, str] | None,
    limit: int,
) -> Sequence[ConsentRequest]:
    requests = _owned_by(
        select(ConsentRequest), ConsentRequest, holder_id=holder_id, studio_id=studio_id
    )
    if status is not None:
        requests = requests.where(ConsentRequest.status == status)
    return session.exec(_page(requests, ConsentRequest, after, limit)).all()


def studio_has_request_or_grant(session: Session, *, studio_id: str, holder_id: str) -> bool:
    stmt = (
        select(ConsentRequest.id)
        .where(ConsentRequest.studio_id == studio_id, ConsentRequest.holder_id == holder_id)
        .limit(1)
    )
    # Every grant comes from a request of the same studio, so requests alone answer this.
    return session.exec(stmt).first() is not None


# -- grants ------------------------------------------------------------------------------------


def get_grant(session: Session, grant_id: str) -> ConsentGrant | None:
    return session.get(ConsentGrant, grant_id)


def get_grant_for_update(session: Session, grant_id: str) -> ConsentGrant | None:
    """The grant row, locked (SELECT ... FOR UPDATE) until the transaction ends."""
    stmt = (
        select(ConsentGrant)
        .where(ConsentGrant.id == grant_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return session.exec(stmt).first()


def open_grant_ids_of_holder(session: Session, holder_id: str) -> Sequence[str]:
    stmt = (
        select(ConsentGrant.id)
        .where(ConsentGrant.holder_id == holder_id, col(ConsentGrant.status).in_(NOT_ENDED))
        .order_by(col(ConsentGrant.created_at), col(ConsentGrant.id))
    )
    return session.exec(stmt).all()


def due_grant_ids(
    session: Session,
    *,
    now: datetime,
    holder_id: str | None = None,
    studio_id: str | None = None,
    limit: int = 1000,
) -> Sequence[str]:
    """Grants still active or suspended whose effective end has passed."""
    still_open = col(ConsentGrant.status).in_(NOT_ENDED)
    past_its_end = col(ConsentGrant.valid_until) <= now
    due = select(ConsentGrant.id).where(still_open, past_its_end)
    if holder_id is not None:
        due = due.where(ConsentGrant.holder_id == holder_id)
    if studio_id is not None:
        due = due.where(ConsentGrant.studio_id == studio_id)
    soonest_first = due.order_by(col(ConsentGrant.valid_until)).limit(limit)
    return session.exec(soonest_first).all()


def grants_ending_ids(
    session: Session, *, now: datetime, horizon: datetime, limit: int = 1000
) -> Sequence[str]:
    """Active grants ending after `now` and by `horizon` whose holder was not told yet."""
    stmt = (
        select(ConsentGrant.id)
        .where(
            ConsentGrant.status == "active",
            col(ConsentGrant.valid_until) > now,
            col(ConsentGrant.valid_until) <= horizon,
            col(ConsentGrant.ending_notice_at).is_(None),
        )
        .order_by(col(ConsentGrant.valid_until))
        .limit(limit)
    )
    return session.exec(stmt).all()


def list_grants(
    session: Session,
    *,
    holder_id: str | None,
    studio_id: str | None,
    status_now: str | None,
    now: datetime,
    after: tuple[datetime, str] | None,
    limit: int,
) -> Sequence[ConsentGrant]:
    """Grants of this holder/studio, newest first, whose state as of `now` is `status_now`."""
    grants = _owned_by(select(ConsentGrant), ConsentGrant, holder_id=holder_id, studio_id=studio_id)
    if status_now is not None:
        grants = grants.where(_grant_status_now_is(status_now, now))
    return session.exec(_page(grants, ConsentGrant, after, limit)).all()


# -- receipts ----------------------------------------------------------------------------------


def latest_receipt(session: Session, grant_id: str) -> ConsentReceipt | None:
    stmt = (
        select(ConsentReceipt)
        .where(ConsentReceipt.grant_id == grant_id)
        .order_by(col(ConsentReceipt.audit_seq).desc())
        .limit(1)
    )
    return session.exec(stmt).first()


def requests_of_holder(session: Session, holder_id: str) -> Sequence[ConsentRequest]:
    """Every request to the holder, whatever its status, oldest first."""
    stmt = (
        select(ConsentRequest)
        .where(ConsentRequest.holder_id == holder_id)
        .order_by(col(ConsentRequest.created_at), col(ConsentRequest.id))
    )
    return session.exec(stmt).all()


def grants_of_holder(session: Session, holder_id: str) -> Sequence[ConsentGrant]:
    """Every grant of the holder, whatever its status, oldest first."""
    stmt = (
        select(ConsentGrant)
        .where(ConsentGrant.holder_id == holder_id)
        .order_by(col(ConsentGrant.created_at), col(ConsentGrant.id))
    )
    return session.exec(stmt).all()


def receipts_of_grants(session: Session, grant_ids: Sequence[str]) -> Sequence[ConsentReceipt]:
    """Every receipt of the grants, in the order issued."""
    if not grant_ids:
        return []
    stmt = (
        select(ConsentReceipt)
        .where(col(ConsentReceipt.grant_id).in_(grant_ids))
        .order_by(col(ConsentReceipt.issued_at), col(ConsentReceipt.id))
    )
    return session.exec(stmt).all()
