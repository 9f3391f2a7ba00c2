"""Annotated dependency aliases shared by every router."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session

from consent_service.accounts import service as accounts
from consent_service.accounts.principal import Principal, Role
from consent_service.config import Settings
from consent_service.crypto.keyring import Keyring
from consent_service.crypto.signer import Signer
from consent_service.db import get_session
from consent_service.errors import NotFound, Unauthenticated

# scope="function": the session commits before the response is sent (see db.py).
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_keyring(request: Request) -> Keyring:
    keyring: Keyring = request.app.state.keyring
    return keyring


def get_signer(request: Request) -> Signer:
    signer: Signer = request.app.state.signer
    return signer


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
KeyringDep = Annotated[Keyring, Depends(get_keyring)]
SignerDep = Annotated[Signer, Depends(get_signer)]


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, credential = header.partition(" ")
    if scheme.lower() != "bearer" or not credential.strip():
        raise Unauthenticated("Use 'Authorization: Bearer <API key or access token>'")
    return credential.strip()


def get_optional_principal(
    request: Request, session: SessionDep, signer: SignerDep
) -> Principal | None:
    credential = _bearer(request)
    if credential is None:
        return None
    if credential.startswith(accounts.API_KEY_PREFIX):
        principal = accounts.principal_from_api_key(session, credential)
    else:
        principal = accounts.principal_from_access_token(session, signer=signer, token=credential)
    request.state.principal_role = principal.role.value
    return principal


OptionalPrincipal = Annotated[Principal | None, Depends(get_optional_principal)]


def get_principal(principal: OptionalPrincipal) -> Principal:
    if principal is None:
        raise Unauthenticated()
    return principal


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def require_roles(*roles: Role) -> Callable[[Principal], Principal]:
    """A dependency admitting only `roles`. Others get 404: they must not learn what exists."""

    def dependency(principal: CurrentPrincipal) -> Principal:
        if principal.role not in roles:
            raise NotFound()
        return principal

    return dependency


# The role aliases every router uses. "Holder" is the holder side: the holder itself or a
# representative acting for it (both have role holder; see accounts/principal.py).
Admin = Annotated[Principal, Depends(require_roles(Role.admin))]
Holder = Annotated[Principal, Depends(require_roles(Role.holder))]
HolderOrAdmin = Annotated[Principal, Depends(require_roles(Role.holder, Role.admin))]
HolderOrStudio = Annotated[Principal, Depends(require_roles(Role.holder, Role.studio))]
Studio = Annotated[Principal, Depends(require_roles(Role.studio))]
AuditorOrAdmin = Annotated[Principal, Depends(require_roles(Role.auditor, Role.admin))]
