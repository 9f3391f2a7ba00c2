"""All SQL of holder export and erasure: reads across the domains that hold data on a holder."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session, col, select

from consent_service.consents.models import ConsentGrant, ConsentReceipt, ConsentRequest
from consent_service.licences.models import Licence
from consent_service.representatives.models import Representative


def requests_of_holder(session: Session, holder_id: str) -> Sequence[ConsentRequest]:
    stmt = (
        select(ConsentRequest)
        .where(ConsentRequest.holder_id == holder_id)
        .order_by(col(ConsentRequest.created_at), col(ConsentRequest.id))
    )
    return session.exec(stmt).all()


def grants_of_holder(session: Session, holder_id: str) -> Sequence[ConsentGrant]:
    stmt = (
        select(ConsentGrant)
        .where(ConsentGrant.holder_id == holder_id)
        .order_by(col(ConsentGrant.created_at), col(ConsentGrant.id))
    )
    return session.exec(stmt).all()


def receipts_of_grants(session: Session, grant_ids: Sequence[str]) -> Sequence[ConsentReceipt]:
    if not grant_ids:
        return []
    stmt = (
        select(ConsentReceipt)
        .where(col(ConsentReceipt.grant_id).in_(grant_ids))
        .order_by(col(ConsentReceipt.issued_at), col(ConsentReceipt.id))
    )
    return session.exec(stmt).all()


def licences_of_holder(session: Session, holder_id: str) -> Sequence[Licence]:
    stmt = (
        select(Licence)
        .where(Licence.holder_id == holder_id)
        .order_by(col(Licence.created_at), col(Licence.id))
    )
    return session.exec(stmt).all()


def representatives_of_holder(session: Session, holder_id: str) -> Sequence[Representative]:
    stmt = (
        select(Representative)
        .where(Representative.holder_id == holder_id)
        .order_by(col(Representative.created_at), col(Representative.id))
    )
    return session.exec(stmt).all()
