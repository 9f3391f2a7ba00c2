"""All SQL about organizations, API keys and logins."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from consent_service.accounts.models import (
    ApiKey,
    Auditor,
    Login,
    LoginToken,
    Organization,
    RevokedToken,
)


def add(
    session: Session, row: Organization | ApiKey | Login | RevokedToken | LoginToken | Auditor
) -> None:
    session.add(row)
    session.flush()


def get_organization(session: Session, org_id: str) -> Organization | None:
    return session.get(Organization, org_id)


def list_organizations(session: Session) -> Sequence[Organization]:
    return session.exec(select(Organization).order_by(col(Organization.created_at))).all()


def get_api_key_by_hash(session: Session, key_hash: str) -> ApiKey | None:
    return session.exec(select(ApiKey).where(ApiKey.key_hash == key_hash)).first()


def get_api_key(session: Session, key_id: str) -> ApiKey | None:
    return session.get(ApiKey, key_id)


def list_api_keys_of_role(session: Session, role: str) -> Sequence[ApiKey]:
    return session.exec(
        select(ApiKey)
        .where(ApiKey.role == role, col(ApiKey.organization_id).is_(None))
        .order_by(col(ApiKey.created_at))
    ).all()


def get_api_key_of_org(session: Session, *, key_id: str, org_id: str) -> ApiKey | None:
    return session.exec(
        select(ApiKey).where(ApiKey.id == key_id, ApiKey.organization_id == org_id)
    ).first()


def list_api_keys_of_org(session: Session, org_id: str) -> Sequence[ApiKey]:
    return session.exec(
        select(ApiKey).where(ApiKey.organization_id == org_id).order_by(col(ApiKey.created_at))
    ).all()


def get_login_by_email_index(session: Session, email_index: str) -> Login | None:
    return session.exec(select(Login).where(Login.email_index == email_index)).first()


def get_login(session: Session, login_id: str) -> Login | None:
    return session.get(Login, login_id)


def claim_totp_step(session: Session, login_id: str, step: int) -> bool:
    """Record `step` as the login's last accepted TOTP step, unless that step or a later one
    was accepted already (then False). One conditional UPDATE: of two concurrent sign-ins
    with the same code, one wins (the row's write lock orders them)."""
    result = session.execute(
        sa.update(Login)
        .where(col(Login.id) == login_id)
        .where(sa.or_(col(Login.totp_last_step).is_(None), col(Login.totp_last_step) < step))
        .values(totp_last_step=step)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def logins_of_principal(session: Session, principal_id: str) -> Sequence[Login]:
    return session.exec(select(Login).where(Login.principal_id == principal_id)).all()


def live_login_email_indexes(session: Session, principal_ids: Sequence[str]) -> set[str]:
    """The email blind indexes of the logins of these principals that are not disabled."""
    rows = session.exec(
        select(Login.email_index).where(
            col(Login.principal_id).in_(principal_ids), col(Login.disabled_at).is_(None)
        )
    ).all()
    return set(rows)


def get_revoked_token(session: Session, jti: str) -> RevokedToken | None:
    return session.get(RevokedToken, jti)


def prune_revoked_tokens(session: Session, *, before: datetime) -> None:
    """Drop revocations of tokens that expired before `before` (they are refused anyway)."""
    session.execute(sa.delete(RevokedToken).where(col(RevokedToken.expires_at) < before))


def get_login_token_for_update(session: Session, token_sha256: str) -> LoginToken | None:
    stmt = select(LoginToken).where(col(LoginToken.token_sha256) == token_sha256)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return session.exec(stmt).one_or_none()


def open_login_tokens(session: Session, login_id: str, purpose: str) -> Sequence[LoginToken]:
    stmt = select(LoginToken).where(
        col(LoginToken.login_id) == login_id,
        col(LoginToken.purpose) == purpose,
        col(LoginToken.used_at).is_(None),
    )
    return session.exec(stmt).all()


def get_login_for_update(session: Session, login_id: str) -> Login | None:
    stmt = select(Login).where(col(Login.id) == login_id)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return session.exec(stmt).one_or_none()


def get_auditor(session: Session, auditor_id: str) -> Auditor | None:
    return session.get(Auditor, auditor_id)


def list_auditors(session: Session) -> Sequence[Auditor]:
    return session.exec(select(Auditor).order_by(col(Auditor.created_at), col(Auditor.id))).all()
