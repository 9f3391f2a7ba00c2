"""A person's account on their own: sign-up that does not leak, confirming the address, and
getting back in with a mailed single-use link (docs/holders.md, "Your account").

- **Sign-up answers the same** whether or not the address is registered. A new address gets a
  holder, a login and a confirmation link; a registered one gets a mail telling its owner that
  someone tried to sign up with it (and how to reset the password if that was them). Neither
  answer says which happened, and both hash a password, so they take the same time.
- **Confirmation:** the mailed link confirms that the person controls the address. A holder
  gives no consent before that (the acceptance routes check `require_confirmed_email`).
- **Password reset:** asking answers the same for any address; a known one gets a link that
  works once, for 30 minutes. Using it sets the new password, confirms the address (the link
  proved control of it) and tells the owner by mail that the password changed.

Mail is queued in the transaction of the change (mail/service.py) and carries nothing but the
person's name and, sealed until it leaves, the single-use token.
"""

from __future__ import annotations

from sqlmodel import Session

from consent_service import audit
from consent_service.accounts import links
from consent_service.accounts import service as accounts
from consent_service.accounts.links import LinkPurpose
from consent_service.accounts.models import Login
from consent_service.accounts.principal import Principal
from consent_service.audit.actions import Action
from consent_service.crypto.keyring import Keyring
from consent_service.db import utcnow
from consent_service.errors import DomainError, InvalidCredentials
from consent_service.holders import service as holders
from consent_service.holders.models import Holder
from consent_service.holders.schemas import HolderRegister
from consent_service.mail import service as mail


class EmailNotConfirmed(DomainError):
    code, status, title = (
        "email_not_confirmed",
        403,
        "Confirm your email address first: follow the link we mailed you",
    )


class CurrentPasswordIncorrect(DomainError):
    code, status, title = "current_password_incorrect", 400, "The current password is not correct"


def _recipient(login: Login) -> tuple[str, str]:
    # Logins belong to holders or to representatives; mail resolves either kind.
    return login.principal_kind, login.principal_id


def _send_confirmation(session: Session, keyring: Keyring, login: Login) -> None:
    kind, principal_id = _recipient(login)
    token = links.issue(session, login, LinkPurpose.confirm_email)
    mail.queue(
        session,
        recipient_kind=kind,
        recipient_id=principal_id,
        kind="account.confirm_email",
        secrets={"token": token},
        keyring=keyring,
    )


def register(
    session: Session,
    *,
    keyring: Keyring,
    actor: Principal | None,
    data: HolderRegister,
    password_hash: str,
) -> Holder | None:
    """Register a holder and mail the confirmation link; None when the address is taken.

    With `actor` None (self sign-up) a taken address is not an error: its owner is mailed,
    and the caller answers exactly as for a new address. An admin registering someone gets
    `EmailAlreadyRegistered` as before (admins are trusted with that fact).
    """
    holders.check_registrable(data)  # before the address is looked at
    existing = accounts.login_by_email(session, keyring=keyring, email=str(data.email))
    if existing is not None and actor is None:
        if existing.disabled_at is None:
            kind, principal_id = _recipient(existing)
            mail.queue(
                session,
                recipient_kind=kind,
                recipient_id=principal_id,
                kind="account.already_registered",
            )
        return None
    holder, _clear = holders.register_holder(
        session, keyring=keyring, actor=actor, data=data, password_hash=password_hash
    )
    login = accounts.login_of_principal(session, holder.id)
    if login is not None:
        _send_confirmation(session, keyring, login)
    return holder


def resend_confirmation(session: Session, *, keyring: Keyring, principal: Principal) -> bool:
    """A fresh confirmation link for the signed-in person; False if already confirmed."""
    login = accounts.login_of_principal(session, principal.actor_id)
    if login is None or login.email_confirmed_at is not None:
        return False
    _send_confirmation(session, keyring, login)
    return True


def confirm_email(session: Session, *, token: str) -> Login:
    login = links.redeem(session, token, LinkPurpose.confirm_email)
    if login.email_confirmed_at is None:
        login.email_confirmed_at = utcnow()
        accounts.save_login(session, login)
        audit.record(
            session,
            actor_id=login.principal_id,
            action=Action.account_email_confirmed,
            subjects=_subjects(login),
        )
    return login


def request_password_reset(session: Session, *, keyring: Keyring, email: str) -> None:
    """Mail a reset link if the address has a live login; nothing at all otherwise."""
    login = accounts.login_by_email(session, keyring=keyring, email=email)
    if login is None or login.disabled_at is not None:
        return
    kind, principal_id = _recipient(login)
    token = links.issue(session, login, LinkPurpose.reset_password)
    mail.queue(
        session,
        recipient_kind=kind,
        recipient_id=principal_id,
        kind="account.password_reset",
        secrets={"token": token},
        keyring=keyring,
    )


def reset_password(session: Session, *, token: str, password_hash: str) -> Login:
    """Use a reset link: the new password (hashed by the caller before this transaction)."""
    login = links.redeem(session, token, LinkPurpose.reset_password)
    _set_password(session, login, password_hash, Action.account_password_reset)
    if login.email_confirmed_at is None:
        login.email_confirmed_at = utcnow()  # the link proved control of the address
        accounts.save_login(session, login)
    return login


def change_password(session: Session, *, login_id: str, password_hash: str) -> Login:
    """Set a new password for a signed-in person whose current password the caller checked."""
    login = accounts.login_for_update(session, login_id)
    if login is None or login.disabled_at is not None:
        raise InvalidCredentials()
    _set_password(session, login, password_hash, Action.account_password_changed)
    return login


def _set_password(session: Session, login: Login, password_hash: str, action: Action) -> None:
    login.password_hash = password_hash
    login.password_changed_at = utcnow()
    accounts.save_login(session, login)
    audit.record(session, actor_id=login.principal_id, action=action, subjects=_subjects(login))
    kind, principal_id = _recipient(login)
    mail.queue(
        session, recipient_kind=kind, recipient_id=principal_id, kind="account.password_changed"
    )


def _subjects(login: Login) -> dict[str, str]:
    key = "holder_id" if login.principal_kind == "holder" else "representative_id"
    return {key: login.principal_id, "login_id": login.id}


def require_confirmed_email(session: Session, principal: Principal, *, required: bool) -> None:
    """Refuse a consent decision by a person whose login address is not confirmed yet."""
    if not required:
        return
    login = accounts.login_of_principal(session, principal.actor_id)
    if login is not None and login.email_confirmed_at is None:
        raise EmailNotConfirmed()
