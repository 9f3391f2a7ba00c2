"""All SQL about keys."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session, col, select

from consent_service.crypto.models import ServiceKey, SigningKey


def get_service_key(session: Session, purpose: str) -> ServiceKey | None:
    return session.get(ServiceKey, purpose)


def active_signing_key(session: Session) -> SigningKey | None:
    stmt = (
        select(SigningKey)
        .where(col(SigningKey.withdrawn_at).is_(None))
        .order_by(col(SigningKey.activated_at).desc(), col(SigningKey.kid))
        .limit(1)
    )
    return session.exec(stmt).first()


def published_signing_keys(session: Session) -> Sequence[SigningKey]:
    stmt = (
        select(SigningKey)
        .where(col(SigningKey.withdrawn_at).is_(None))
        .order_by(col(SigningKey.activated_at).desc(), col(SigningKey.kid))
    )
    return session.exec(stmt).all()


def get_signing_key(session: Session, kid: str) -> SigningKey | None:
    return session.get(SigningKey, kid)
