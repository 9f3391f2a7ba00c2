"""All SQL about the audit log."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session, col, select

from consent_service.audit.models import AuditEvent, AuditHead


def lock_head(session: Session) -> AuditHead:
    head = session.exec(select(AuditHead).where(AuditHead.id == 1).with_for_update()).first()
    if head is None:
        raise RuntimeError("audit_head row missing: the database was not migrated")
    return head


def add_event(session: Session, event: AuditEvent) -> None:
    session.add(event)
    session.flush()


def events_after(session: Session, *, after: int, limit: int) -> Sequence[AuditEvent]:
    stmt = (
        select(AuditEvent)
        .where(col(AuditEvent.seq) > after)
        .order_by(col(AuditEvent.seq))
        .limit(limit)
    )
    return session.exec(stmt).all()


def events_for_holder(session: Session, holder_id: str) -> Sequence[AuditEvent]:
    stmt = select(AuditEvent).where(AuditEvent.holder_id == holder_id).order_by(col(AuditEvent.seq))
    return session.exec(stmt).all()
