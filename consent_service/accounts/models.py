"""Organizations, API keys and password logins."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, LargeBinary
from sqlmodel import Field, SQLModel

from consent_service.db import UTCDateTime, utcnow


class Organization(SQLModel, table=True):
    __tablename__ = "organization"

    id: str = Field(primary_key=True, max_length=40)
    name: str = Field(max_length=200)
    kind: str = Field(max_length=16)  # "studio" | "auditor"
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ApiKey(SQLModel, table=True):
    """An API key, stored only as the SHA-256 of the key (keys are 256-bit random)."""

    __tablename__ = "api_key"

    id: str = Field(primary_key=True, max_length=40)
    organization_id: str | None = Field(
        default=None, foreign_key="organization.id", index=True, max_length=40
    )
    role: str = Field(max_length=16)  # "admin" | "studio" | "auditor" | "verifier"
    name: str = Field(max_length=200)
    # Verifier keys name a person: the keyed blind index of their email, so that a verifier
    # can be kept from reviewing a case about themselves (or a holder they represent).
    email_index: str | None = Field(default=None, max_length=64, index=True)
    key_hash: str = Field(max_length=64, unique=True)
    key_prefix: str = Field(max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # After this instant the key is refused like an unknown one (None: it does not expire).
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class RevokedToken(SQLModel, table=True):
    """An access token signed out before its expiry, by its JWT id (`jti`).

    Access tokens are short-lived (`access_token_ttl_seconds`), so a row is useless once
    `expires_at` (the token's own `exp`) has passed and is pruned then.
    """

    __tablename__ = "revoked_token"

    jti: str = Field(primary_key=True, max_length=64)
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)


class Login(SQLModel, table=True):
    """A password login for a holder (or, later, a representative acting for one).

    The email is not stored here: only its keyed blind index, for lookup and uniqueness.
    """

    __tablename__ = "login"

    id: str = Field(primary_key=True, max_length=40)
    email_index: str = Field(max_length=64, unique=True)
    password_hash: str = Field(max_length=255)
    principal_kind: str = Field(max_length=32)  # "holder" | "representative"
    principal_id: str = Field(max_length=40, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    disabled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # When its owner followed the confirmation link mailed to the address (None: not yet).
    email_confirmed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Access tokens issued before this instant stop working (a reset or change of password
    # signs every other session out).
    password_changed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # An optional TOTP second factor (RFC 6238): the secret sealed under the service key
    # "totp-seal", and when its owner confirmed it with a first code (None: sign-in does not
    # ask for a code yet). Auditor logins only, for now.
    totp_secret_sealed: bytes | None = Field(default=None, sa_type=LargeBinary)
    totp_confirmed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The RFC 6238 time step (Unix time // 30) of the last code accepted for this login: a
    # code of that step or an earlier one is refused (`totp_reused`, RFC 6238 §5.2).
    totp_last_step: int | None = Field(default=None, sa_type=BigInteger)


class Auditor(SQLModel, table=True):
    """A person of an auditor organization, who signs in with a password login.

    No name or email is kept here: the login holds the email's blind index only.
    """

    __tablename__ = "auditor"

    id: str = Field(primary_key=True, max_length=40)
    organization_id: str = Field(foreign_key="organization.id", index=True, max_length=40)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    disabled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class LoginToken(SQLModel, table=True):
    """A single-use token mailed to a login's address: confirm the address, reset the password.

    Only the token's SHA-256 is kept; the token itself exists in the mail (and, until the mail
    leaves, sealed in the outbox row). Used once, or never after `expires_at`.
    """

    __tablename__ = "login_token"

    token_sha256: str = Field(primary_key=True, max_length=64)
    login_id: str = Field(foreign_key="login.id", index=True, max_length=40)
    purpose: str = Field(max_length=16)  # "confirm_email" | "reset_password"
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
