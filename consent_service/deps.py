"""Annotated dependency aliases shared by every router.

Each reads a typed field of the app's `Services` (consent_service/wiring.py), the one object
`create_app` keeps on `app.state`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlmodel import Session

from consent_service.accounts import auditors
from consent_service.accounts import service as accounts
from consent_service.accounts.principal import Principal, Role
from consent_service.config import Settings
from consent_service.crypto.keyring import Keyring
from consent_service.crypto.signer import Signer
from consent_service.errors import NotFound, Unauthenticated
from consent_service.wiring import Services


# The accessors that only read an attribute (this one, get_settings_dep, get_keyring,
# get_signer) are `async def` on purpose: FastAPI runs a plain `def` dependency in a worker
# thread. As coroutines they cost no thread hop, which keeps POST /v1/licences/verify (async
# dependencies only) off the thread pool but for its one blocking call.
async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


# Methods that never change state (RFC 9110 "safe"): their session takes no write lock.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def writing_read() -> None:
    """Marker for a GET that writes by design.

    Two kinds: a read that hands out personal data appends an audit event; a read of the
    audit log's tree (checkpoint, proofs, export) fills the cache of subtree hashes. Declare it
    as `dependencies=[WritingRead]` on the route: its session then takes the write lock like
    any write (on SQLite, the other GETs' sessions are query-only and would refuse the write).
    """


WritingRead = Depends(writing_read)


def _writes(request: Request) -> bool:
    if request.method not in SAFE_METHODS:
        return True
    route = request.scope.get("route")
    return any(d.dependency is writing_read for d in getattr(route, "dependencies", ()))


def get_session(request: Request, services: ServicesDep) -> Iterator[Session]:
    """The unit of work of one request: commit once at the end, roll back on any error.

    A safe request (GET, HEAD, OPTIONS) reads without the write lock (db.py), unless its route
    is marked `WritingRead`.

    What an auditor read (noted by the services, accounts/auditors.py) goes on the log before
    the response leaves: in this transaction when it writes, else in a short write
    transaction of its own once the read has ended.
    """
    writes = _writes(request)
    reads: list[dict[str, Any]] = []
    with services.session(writes=writes) as session:
        try:
            yield session
            reads = auditors.take_reads(session)
            if reads and writes:
                auditors.record_reads(session, reads)
            session.commit()
        except BaseException:
            session.rollback()
            raise
    if reads and not writes:
        with services.session(writes=True) as log_session:
            try:
                auditors.record_reads(log_session, reads)
                log_session.commit()
            except BaseException:
                log_session.rollback()
                raise


def get_read_session(services: ServicesDep) -> Iterator[Session]:
    with services.read_session() as session:
        yield session


# scope="function": the session commits before the response is sent (see db.py).
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
# The read-only engine: public hot paths that never write (licences/reading.py).
ReadSessionDep = Annotated[Session, Depends(get_read_session)]


async def get_settings_dep(services: ServicesDep) -> Settings:
    return services.settings


async def get_keyring(services: ServicesDep) -> Keyring:
    return services.keyring


async def get_signer(services: ServicesDep) -> Signer:
    return services.signer


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
Auditor = Annotated[Principal, Depends(require_roles(Role.auditor))]
# Reads of consents and requests: the holder side, the studio, and auditors (read-only, and
# every read of theirs is an `auditor.read` event).
HolderStudioOrAuditor = Annotated[
    Principal, Depends(require_roles(Role.holder, Role.studio, Role.auditor))
]
