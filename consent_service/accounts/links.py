"""Single-use links mailed to a login's address: confirm the address, reset the password.

A token is 32 random bytes (URL-safe base64). Only its SHA-256 is stored (`login_token`); the
token itself travels sealed in the outbox row and then in the mail. It works once, within its
lifetime (a reset link 30 minutes, a confirmation link 7 days); issuing a new one voids the
login's earlier unused tokens of that purpose. A reused, expired, unknown or wrong-purpose
token gets one answer (`link_invalid`), so a guess learns nothing.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from enum import StrEnum

from sqlmodel import Session

from consent_service.accounts import repository
from consent_service.accounts.models import Login, LoginToken
from consent_service.db import utcnow
from consent_service.errors import DomainError


class LinkPurpose(StrEnum):
    confirm_email = "confirm_email"
    reset_password = "reset_password"


LIFETIME: dict[LinkPurpose, timedelta] = {
    LinkPurpose.confirm_email: timedelta(days=7),
    LinkPurpose.reset_password: timedelta(minutes=30),
}


class LinkInvalid(DomainError):
    code, status, title = (
        "link_invalid",
        400,
        "This link is not valid: it was used already, has expired, or was mistyped",
    )


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue(session: Session, login: Login, purpose: LinkPurpose, now: datetime | None = None) -> str:
    """A new token for `login`; earlier unused tokens of the same purpose stop working."""
    now = now or utcnow()
    for old in repository.open_login_tokens(session, login.id, purpose.value):
        old.used_at = now
        repository.add(session, old)
    token = secrets.token_urlsafe(32)
    repository.add(
        session,
        LoginToken(
            token_sha256=_digest(token),
            login_id=login.id,
            purpose=purpose.value,
            created_at=now,
            expires_at=now + LIFETIME[purpose],
        ),
    )
    session.flush()
    return token


def redeem(session: Session, token: str, purpose: LinkPurpose) -> Login:
    """Use a token once: its login (locked), or `LinkInvalid`. The caller's transaction
    commits the use together with what the link does."""
    if not token or len(token) > 128:
        raise LinkInvalid()
    row = repository.get_login_token_for_update(session, _digest(token))
    now = utcnow()
    if (
        row is None
        or row.purpose != purpose.value
        or row.used_at is not None
        or row.expires_at <= now
    ):
        raise LinkInvalid()
    login = repository.get_login_for_update(session, row.login_id)
    if login is None or login.disabled_at is not None:
        raise LinkInvalid()
    row.used_at = now
    repository.add(session, row)
    session.flush()
    return login
