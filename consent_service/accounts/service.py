"""Organizations, API keys, password logins and access tokens."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Mapping, MutableMapping
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlmodel import Session

from consent_service import audit
from consent_service.accounts import passwords, repository
from consent_service.accounts.models import ApiKey, Login, Organization, RevokedToken
from consent_service.accounts.principal import Principal, Role
from consent_service.audit.actions import Action
from consent_service.crypto.envelope import blind_index
from consent_service.crypto.keyring import BLIND_INDEX, Keyring
from consent_service.crypto.signer import Signer
from consent_service.crypto.signing import SignatureError
from consent_service.db import utcnow
from consent_service.errors import DomainError, InvalidCredentials, NotFound, Unauthenticated
from consent_service.ids import new_id

API_KEY_PREFIX = "csk_"
ACCESS_TOKEN_TYP = "at+jwt"  # RFC 9068
# The client id recorded when a client names none (every client is public: RFC 6749 §2.1).
DEFAULT_CLIENT_ID = "public"

# Login.principal_kind -> function building the Principal. Holders and representatives provide
# theirs; the composition root (wiring.py) binds the map to each session it opens.
PrincipalResolver = Callable[[Session, Login], Principal | None]
_RESOLVERS_KEY = "consent_service.principal_resolvers"


def bind_principal_resolvers(
    info: MutableMapping[Any, Any], resolvers: Mapping[str, PrincipalResolver]
) -> None:
    """Make `resolvers` the ones used for logins read through the session owning `info`."""
    info[_RESOLVERS_KEY] = resolvers


class ApiKeyExpired(DomainError):
    code, status, title = (
        "api_key_expired",
        401,
        "This auditor key has expired: ask an admin of the registry for a new one",
    )


class ExpiryNotInFuture(DomainError):
    code, status, title = "expiry_not_in_future", 422, "An API key's expiry must be in the future"


def key_expiry(requested: datetime | None, *, default_ttl_days: int = 0) -> datetime | None:
    """When a new key expires: the time asked for, else `default_ttl_days` from now (0: never).

    A requested time must carry its UTC offset and lie in the future (else 422).
    """
    now = utcnow()
    if requested is None:
        return now + timedelta(days=default_ttl_days) if default_ttl_days > 0 else None
    if requested.tzinfo is None or requested <= now:
        raise ExpiryNotInFuture(
            "expires_at must be a future time with its UTC offset, e.g. 2027-01-31T00:00:00Z"
        )
    return requested


def _hash_api_key(key: str) -> str:
    # API keys carry 256 random bits: a plain SHA-256 is a safe, fast lookup hash.
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_organization(
    session: Session, *, actor: Principal, name: str, kind: str
) -> Organization:
    org = Organization(id=new_id("org"), name=name, kind=kind)
    repository.add(session, org)
    audit.record(
        session,
        actor_id=actor.actor_id,
        action=Action.organization_created,
        subjects={"organization_id": org.id},
        payload={"kind": kind},
    )
    return org


def _new_key(
    session: Session,
    *,
    role: Role,
    name: str,
    organization_id: str | None,
    expires_at: datetime | None,
    email_index: str | None = None,
) -> tuple[ApiKey, str]:
    key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(
        id=new_id("key"),
        organization_id=organization_id,
        role=role.value,
        name=name,
        key_hash=_hash_api_key(key),
        key_prefix=key[:10],
        email_index=email_index,
        expires_at=expires_at,
    )
    repository.add(session, row)
    return row, key


def create_api_key(
    session: Session,
    *,
    actor: Principal,
    organization_id: str,
    name: str,
    expires_at: datetime | None = None,
    auditor_ttl_days: int = 0,
) -> tuple[ApiKey, str]:
    """A new key for a studio or auditor organization; the clear key is returned only here.

    It expires at `expires_at` if given; else an auditor's key `auditor_ttl_days` from now
    and a studio's never (a studio key runs an integration: an expiry nobody asked for would
    stop it unannounced).
    """
    org = repository.get_organization(session, organization_id)
    if org is None:
        raise NotFound("No such organization")
    role = Role(org.kind)
    expiry = key_expiry(
        expires_at, default_ttl_days=auditor_ttl_days if role is Role.auditor else 0
    )
    row, key = _new_key(session, role=role, name=name, organization_id=org.id, expires_at=expiry)
    audit.record(
        session,
        actor_id=actor.actor_id,
        action=Action.api_key_created,
        subjects={"organization_id": org.id, "api_key_id": row.id},
        payload=_expiry_payload(row),
    )
    return row, key


def _expiry_payload(row: ApiKey) -> dict[str, Any] | None:
    return {"expires_at": row.expires_at.isoformat()} if row.expires_at else None


def create_admin_key(
    session: Session, *, name: str, expires_at: datetime | None = None, ttl_days: int = 0
) -> tuple[ApiKey, str]:
    """An admin key (from the CLI); it expires at `expires_at`, else `ttl_days` from now."""
    row, key = _new_key(
        session,
        role=Role.admin,
        name=name,
        organization_id=None,
        expires_at=key_expiry(expires_at, default_ttl_days=ttl_days),
    )
    audit.record(
        session,
        actor_id="operator",
        action=Action.api_key_created,
        subjects={"api_key_id": row.id},
        payload={"role": "admin", **(_expiry_payload(row) or {})},
    )
    return row, key


def list_admin_keys(session: Session) -> list[ApiKey]:
    return list(repository.list_api_keys_of_role(session, Role.admin.value))


def _revoke_key_of_role(session: Session, *, role: Role, actor_id: str, key_id: str) -> ApiKey:
    """Revoke a key of `role` without an organization (admin, verifier); idempotent."""
    row = repository.get_api_key(session, key_id)
    if row is None or row.role != role.value:
        raise NotFound(f"No such {role.value} key")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        repository.add(session, row)
        audit.record(
            session,
            actor_id=actor_id,
            action=Action.api_key_revoked,
            subjects={"api_key_id": row.id},
            payload={"role": role.value},
        )
    return row


def revoke_admin_key(session: Session, *, key_id: str) -> ApiKey:
    """Revoke an admin key (the operator, from the CLI); refused from the next request on."""
    return _revoke_key_of_role(session, role=Role.admin, actor_id="operator", key_id=key_id)


def create_verifier_key(
    session: Session,
    *,
    keyring: Keyring,
    actor: Principal | None,
    name: str,
    email: str,
    expires_at: datetime | None = None,
) -> tuple[ApiKey, str]:
    """An API key for a verifier (registry staff); the clear key is returned only here.

    The verifier's email is kept only as its blind index, the same one holder and
    representative logins use, so a conflict of interest can be found without storing it.
    """
    row, key = _new_key(
        session,
        role=Role.verifier,
        name=name,
        organization_id=None,
        expires_at=key_expiry(expires_at),
        email_index=email_index(session, keyring, email),
    )
    audit.record(
        session,
        actor_id=actor.actor_id if actor else "operator",
        action=Action.api_key_created,
        subjects={"api_key_id": row.id},
        payload={"role": Role.verifier.value, **(_expiry_payload(row) or {})},
    )
    return row, key


def list_verifier_keys(session: Session) -> list[ApiKey]:
    return list(repository.list_api_keys_of_role(session, Role.verifier.value))


def revoke_verifier_key(session: Session, *, actor: Principal, key_id: str) -> ApiKey:
    return _revoke_key_of_role(session, role=Role.verifier, actor_id=actor.actor_id, key_id=key_id)


def verifier_email_index(session: Session, api_key_id: str) -> str | None:
    """The email blind index of the person behind a verifier key (None for other keys)."""
    row = repository.get_api_key(session, api_key_id)
    return row.email_index if row is not None and row.role == Role.verifier.value else None


def login_email_indexes(session: Session, principal_ids: list[str]) -> set[str]:
    """The email blind indexes of the live logins of these holders or representatives."""
    return repository.live_login_email_indexes(session, principal_ids)


def revoke_api_key(
    session: Session, *, actor: Principal, organization_id: str, key_id: str
) -> ApiKey:
    row = repository.get_api_key_of_org(session, key_id=key_id, org_id=organization_id)
    if row is None:
        raise NotFound("No such API key")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        repository.add(session, row)
        audit.record(
            session,
            actor_id=actor.actor_id,
            action=Action.api_key_revoked,
            subjects={"organization_id": organization_id, "api_key_id": row.id},
        )
    return row


def key_state(row: ApiKey, now: datetime) -> Literal["revoked", "expired", "active"]:
    """Whether a key is accepted at `now` ("active") or refused, and why."""
    if row.revoked_at is not None:
        return "revoked"
    if row.expires_at is not None and row.expires_at <= now:
        return "expired"
    return "active"


def principal_from_api_key(session: Session, key: str) -> Principal:
    row = repository.get_api_key_by_hash(session, _hash_api_key(key))
    state = key_state(row, utcnow()) if row is not None else None
    # An auditor's key expires by default (auditor_key_ttl_days): its holder is told so, with a
    # code of its own, so that they ask for a new one (only the key's holder can get this
    # answer). Other expired keys are refused exactly like unknown ones.
    if row is not None and state == "expired" and row.role == Role.auditor.value:
        raise ApiKeyExpired()
    if row is None or state != "active":
        raise Unauthenticated("The API key is unknown or revoked")
    return Principal(role=Role(row.role), actor_id=row.id, organization_id=row.organization_id)


# -- password logins --------------------------------------------------------------------------


def email_index(session: Session, keyring: Keyring, email: str) -> str:
    return blind_index(keyring.service_key(session, BLIND_INDEX), email)


def create_login(
    session: Session,
    *,
    keyring: Keyring,
    email: str,
    password_hash: str,
    principal_kind: str,
    principal_id: str,
) -> Login:
    """A password login; `password_hash` is `passwords.hash_password(...)`, computed by the caller
    before its write transaction began (argon2 must not run while the write lock is held)."""
    login = Login(
        id=new_id("lgn"),
        email_index=email_index(session, keyring, email),
        password_hash=password_hash,
        principal_kind=principal_kind,
        principal_id=principal_id,
    )
    repository.add(session, login)
    return login


def email_taken(session: Session, *, keyring: Keyring, email: str) -> bool:
    return (
        repository.get_login_by_email_index(session, email_index(session, keyring, email))
        is not None
    )


def forget_logins(session: Session, principal_id: str) -> None:
    """Erasure: disable the logins and drop what links them to a person.

    The email's blind index is replaced by a random value and the password hash by an unusable
    one, so the service no longer recognises the email (the person may register afresh) and
    nothing derived from their credentials remains.
    """
    for login in repository.logins_of_principal(session, principal_id):
        login.disabled_at = login.disabled_at or utcnow()
        login.email_index = "erased-" + secrets.token_hex(28)
        login.password_hash = "!erased"
        repository.add(session, login)


def issue_access_token(
    session: Session,
    *,
    signer: Signer,
    ttl_seconds: int,
    email: str,
    password: str,
    write_session: Callable[[], Session],
    client_id: str = DEFAULT_CLIENT_ID,
    totp: str | None = None,
) -> tuple[str, int]:
    """Check email, password and, for a login with a second factor, the TOTP code `totp`;
    return (access token, lifetime in seconds).

    An unknown email and a wrong password give the same error after the same work (one argon2
    verification), so the answer does not reveal who is registered.

    `session` only reads: pass one on the read-only engine (`Services.read_session`,
    deps.ReadSessionDep), so that no transaction, and on SQLite no write lock, is held while
    argon2 runs (tens of milliseconds at production cost, and an attacker decides how often).
    Sign-in writes one thing, and only for a login with a second factor once password and code
    are right: the code's time step, so that the code cannot be used again (RFC 6238 §5.2),
    in a short transaction of its own opened with `write_session`.
    """
    login = repository.get_login_by_email_index(
        session, email_index(session, signer.keyring, email)
    )
    candidate = (
        (login.id, login.password_hash, login.disabled_at, _password_epoch(login))
        if login
        else None
    )
    if session.in_transaction():
        session.commit()  # end the read before hashing (a no-op on the autocommit read engine)
    ok = passwords.verify_password(candidate[1] if candidate else None, password)
    if candidate is None or not ok or candidate[2] is not None:
        raise InvalidCredentials()
    login_id = candidate[0]
    # The second factor is looked at only after a correct password (accounts/auditors.py).
    from consent_service.accounts import auditors

    step = auditors.check_second_factor(
        session, keyring=signer.keyring, login_id=login_id, code=totp
    )
    # Its resolver may refuse the login after the password (holders: `holder_deceased`); a
    # token for a principal that resolves to nothing is refused when used, as before.
    current = repository.get_login(session, login_id)
    if current is not None:
        _principal_of_login(session, current)
    if step is not None:
        with write_session() as writing:
            try:
                auditors.claim_totp_step(writing, login_id=login_id, step=step)
                writing.commit()
            except BaseException:
                writing.rollback()
                raise
    now = utcnow()
    claims: dict[str, Any] = {
        "iss": signer.issuer,
        "aud": f"{signer.issuer}/v1",
        "sub": login_id,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=ttl_seconds)).timestamp()),
        "jti": secrets.token_urlsafe(12),
        # Which password this token was won with: changing it signs the token out.
        "pwe": candidate[3],
        "client_id": client_id,  # RFC 9068 §2.2: the client that asked for the token
    }
    return signer.sign(session, claims, typ=ACCESS_TOKEN_TYP), ttl_seconds


def _password_epoch(login: Login) -> int:
    """The instant the login's password was last set, in microseconds (0: never changed)."""
    changed = login.password_changed_at
    return int(changed.timestamp() * 1_000_000) if changed is not None else 0


def _access_token_claims(session: Session, *, signer: Signer, token: str) -> dict[str, Any]:
    """The claims of a valid, unexpired access token of this service (else 401)."""
    try:
        _header, claims = signer.verify(session, token, typ=ACCESS_TOKEN_TYP)
    except SignatureError as exc:
        raise Unauthenticated("The access token is not valid") from exc
    now = utcnow().timestamp()
    exp = claims.get("exp")
    jti = claims.get("jti")
    if (
        claims.get("iss") != signer.issuer
        or claims.get("aud") != f"{signer.issuer}/v1"
        or not isinstance(exp, int)
        or exp < now
        or not isinstance(claims.get("sub"), str)
        or not isinstance(jti, str)
        or not 0 < len(jti) <= 64
    ):
        raise Unauthenticated("The access token is expired or not for this service")
    return claims


def revoke_access_token(session: Session, *, signer: Signer, token: str) -> None:
    """Sign out: the token's id goes on the revocation list until the token expires anyway.

    Rows of tokens past their `exp` are pruned here, so the list holds at most the tokens
    signed out within the last `access_token_ttl_seconds`. Revoking twice is a no-op.
    """
    claims = _access_token_claims(session, signer=signer, token=token)
    repository.prune_revoked_tokens(session, before=utcnow())
    if repository.get_revoked_token(session, claims["jti"]) is None:
        repository.add(
            session,
            RevokedToken(
                jti=claims["jti"],
                expires_at=datetime.fromtimestamp(claims["exp"], tz=UTC),
            ),
        )


def principal_from_access_token(session: Session, *, signer: Signer, token: str) -> Principal:
    claims = _access_token_claims(session, signer=signer, token=token)
    if repository.get_revoked_token(session, claims["jti"]) is not None:
        raise Unauthenticated("The access token was revoked (signed out)")
    login = repository.get_login(session, claims["sub"])
    if login is None or login.disabled_at is not None:
        raise Unauthenticated("The login behind this token is disabled")
    if claims.get("pwe", 0) != _password_epoch(login):
        raise Unauthenticated("The password changed since this token was issued: sign in again")
    principal = _principal_of_login(session, login)
    if principal is None:
        raise Unauthenticated("The login behind this token is disabled")
    return principal


def _principal_of_login(session: Session, login: Login) -> Principal | None:
    """The login's principal from its kind's resolver (which may refuse with its own error)."""
    resolvers: Mapping[str, PrincipalResolver] | None = session.info.get(_RESOLVERS_KEY)
    if resolvers is None:
        raise RuntimeError("this session has no principal resolvers: open it with Services")
    resolver = resolvers.get(login.principal_kind)
    return resolver(session, login) if resolver else None


def login_by_email(session: Session, *, keyring: Keyring, email: str) -> Login | None:
    return repository.get_login_by_email_index(session, email_index(session, keyring, email))


def login_of_principal(session: Session, principal_id: str) -> Login | None:
    """The (one) password login of a holder or representative, disabled or not."""
    rows = repository.logins_of_principal(session, principal_id)
    return rows[0] if rows else None


def login_for_update(session: Session, login_id: str) -> Login | None:
    return repository.get_login_for_update(session, login_id)


def save_login(session: Session, login: Login) -> None:
    repository.add(session, login)
    session.flush()


def password_hash_of(session: Session, login_id: str) -> str | None:
    """The stored hash of a live login (for checking a current password outside a write)."""
    login = repository.get_login(session, login_id)
    return login.password_hash if login is not None and login.disabled_at is None else None


def organization_name(session: Session, organization_id: str) -> str | None:
    """The display name of a studio or auditor organization (shown to holders by the portal)."""
    org = repository.get_organization(session, organization_id)
    return org.name if org else None


def list_organizations(session: Session) -> list[Organization]:
    return list(repository.list_organizations(session))


def list_api_keys(session: Session, *, organization_id: str) -> list[ApiKey]:
    if repository.get_organization(session, organization_id) is None:
        raise NotFound("No such organization")
    return list(repository.list_api_keys_of_org(session, organization_id))
