"""All SQL about verification cases, their evidence and challenges."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import and_, or_
from sqlmodel import Session, col, select

from consent_service.verification.models import Challenge, Evidence, VerificationCase


def add(session: Session, row: VerificationCase | Evidence | Challenge) -> None:
    session.add(row)
    session.flush()


def get_case(session: Session, case_id: str) -> VerificationCase | None:
    return session.get(VerificationCase, case_id)


def get_case_for_update(session: Session, case_id: str) -> VerificationCase | None:
    stmt = select(VerificationCase).where(VerificationCase.id == case_id).with_for_update()
    return session.exec(stmt).first()


def get_case_of_holder_for_update(
    session: Session, *, case_id: str, holder_id: str
) -> VerificationCase | None:
    stmt = (
        select(VerificationCase)
        .where(VerificationCase.id == case_id, VerificationCase.holder_id == holder_id)
        .with_for_update()
    )
    return session.exec(stmt).first()


def page_of_cases(
    session: Session,
    *,
    status: str | None,
    kind: str | None,
    holder_id: str | None = None,
    limit: int,
    after: tuple[datetime, str] | None,
) -> Sequence[VerificationCase]:
    stmt = select(VerificationCase)
    if status is not None:
        stmt = stmt.where(VerificationCase.status == status)
    if kind is not None:
        stmt = stmt.where(VerificationCase.kind == kind)
    if holder_id is not None:
        stmt = stmt.where(VerificationCase.holder_id == holder_id)
    if after is not None:
        created, row_id = after
        stmt = stmt.where(
            or_(
                col(VerificationCase.created_at) > created,
                and_(
                    col(VerificationCase.created_at) == created, col(VerificationCase.id) > row_id
                ),
            )
        )
    stmt = stmt.order_by(col(VerificationCase.created_at), col(VerificationCase.id)).limit(limit)
    return session.exec(stmt).all()


def approved_kinds_of_holder(session: Session, holder_id: str) -> set[str]:
    stmt = select(VerificationCase.kind).where(
        VerificationCase.holder_id == holder_id, VerificationCase.status == "approved"
    )
    return set(session.exec(stmt).all())


def has_approved_case(
    session: Session,
    *,
    kind: str,
    representative_id: str | None = None,
    request_id: str | None = None,
) -> bool:
    stmt = select(VerificationCase.id).where(
        VerificationCase.kind == kind, VerificationCase.status == "approved"
    )
    if representative_id is not None:
        stmt = stmt.where(VerificationCase.representative_id == representative_id)
    if request_id is not None:
        stmt = stmt.where(VerificationCase.request_id == request_id)
    return session.exec(stmt.limit(1)).first() is not None


def evidence_of_case(session: Session, case_id: str) -> Sequence[Evidence]:
    stmt = (
        select(Evidence)
        .where(Evidence.case_id == case_id)
        .order_by(col(Evidence.created_at), col(Evidence.id))
    )
    return session.exec(stmt).all()


def get_evidence_of_case(session: Session, *, case_id: str, evidence_id: str) -> Evidence | None:
    stmt = select(Evidence).where(Evidence.id == evidence_id, Evidence.case_id == case_id)
    return session.exec(stmt).first()


def get_challenge_of_holder(
    session: Session, *, challenge_id: str, holder_id: str, for_update: bool = False
) -> Challenge | None:
    stmt = select(Challenge).where(Challenge.id == challenge_id, Challenge.holder_id == holder_id)
    if for_update:
        stmt = stmt.with_for_update()
    return session.exec(stmt).first()


def cases_past_retention(
    session: Session, *, decided_before: datetime, uploaded_before: datetime
) -> Sequence[VerificationCase]:
    """Cases whose evidence the retention schedule says must go: decided (approved, rejected,
    withdrawn) before `decided_before`, or still pending since before `uploaded_before`."""
    decided_at = sa.func.coalesce(
        col(VerificationCase.withdrawn_at), col(VerificationCase.reviewed_at)
    )
    stmt = (
        select(VerificationCase)
        .where(
            or_(
                and_(col(VerificationCase.status) != "pending", decided_at < decided_before),
                and_(
                    col(VerificationCase.status) == "pending",
                    col(VerificationCase.created_at) < uploaded_before,
                ),
            )
        )
        .order_by(col(VerificationCase.created_at), col(VerificationCase.id))
        .with_for_update()
    )
    return session.exec(stmt).all()
