"""create_app(): the services (wiring.py), routers, error handlers and middleware."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi_offline import FastAPIOffline

from consent_service import __version__
from consent_service.accounts.router import router as accounts_router
from consent_service.agreements.router import router as agreements_router
from consent_service.audit.router import router as audit_router
from consent_service.config import Settings, get_settings
from consent_service.consents.router import router as consents_router
from consent_service.consents.sweep import ExpirySweeper, drain
from consent_service.crypto.envelope import DecryptionError, MasterKeyError
from consent_service.crypto.router import router as keys_router
from consent_service.deletions.router import router as deletions_router
from consent_service.errors import install_error_handlers
from consent_service.flows.notices import sweep_notices
from consent_service.flows.router import account_router
from consent_service.flows.router import router as flows_router
from consent_service.holders.router import router as holders_router
from consent_service.invitations import pages as invitation_pages
from consent_service.invitations import router as invitations
from consent_service.invitations import service as invitations_service
from consent_service.licences.router import router as licences_router
from consent_service.openapi import install_openapi
from consent_service.ops.http import DocsPolicy, HeadAsGet, PublicResources
from consent_service.ops.media_type import require_json_body
from consent_service.ops.middleware import RequestMiddleware, configure_logging
from consent_service.ops.router import router as ops_router
from consent_service.ops.startup import key_error_handler
from consent_service.outbox.worker import OutboxWorker
from consent_service.portal.account import router as portal_account_router
from consent_service.portal.auditor import router as portal_auditor_router
from consent_service.portal.rights import router as portal_rights_router
from consent_service.portal.router import router as portal_router
from consent_service.portal.verify import router as portal_verify_router
from consent_service.provenance import router as provenance
from consent_service.representatives.router import router as representatives_router
from consent_service.rights.router import router as rights_router
from consent_service.rights.service import destroy_keys_of_erased
from consent_service.usages import router as usages
from consent_service.vault.router import router as vault_router
from consent_service.verification import router as verification
from consent_service.webhooks.router import router as webhooks_router
from consent_service.wiring import Services, build_services

log = logging.getLogger("consent_service")

DESCRIPTION = """
Consent and licence registry for the use of people's likeness (face, voice, body) in synthetic
media. Holders grant and withdraw informed consent; studios receive signed licences (ES256 JWTs)
and check them online or offline; auditors export and verify the tamper-evident consent log.

Authentication: `Authorization: Bearer <credential>`, where the credential is an API key
(`csk_…`) or an access token from `POST /v1/auth/token` (OAuth 2.0 password grant). Callers
see only their own objects: anything else answers 404.

Errors are `application/problem+json` (RFC 9457) with a stable `code`, a `type` URI whose page
explains it, and, on 422, the offending fields in `errors`. The token endpoint's errors follow
RFC 6749 §5.2 (`error`) with the same members beside it.
"""


def _destroy_keys_left_by_a_crash(services: Services) -> None:
    """Erasure's last step, retried: a crash after an erasure committed left its key alive."""
    try:
        with services.session() as session:
            destroyed = destroy_keys_of_erased(session, services.keyring)
    except Exception:  # the service can still answer; readiness reports a missing key store
        log.exception("key store sweep at startup failed; run `consent-service keys sweep`")
        return
    if destroyed:
        log.info("key store sweep: %d data key(s) of erased holders destroyed", len(destroyed))


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    services: Services = app.state.services
    sweeper: ExpirySweeper = app.state.expiry_sweeper
    worker: OutboxWorker = app.state.outbox_worker
    _destroy_keys_left_by_a_crash(services)
    if services.settings.expiry_sweep_seconds > 0:
        sweeper.start()
    if services.settings.outbox_in_process and services.outbox_channels:
        worker.start()
    # Everything made at startup (modules, routes, schemas, the services) lives as long as the
    # process: freezing it keeps the cyclic garbage collector from walking it again and again
    # while large requests (a batch of 1,000 usages makes tens of thousands of short-lived
    # objects) trigger collections; bench/usage.py measured ~15% less CPU per usage.
    gc.freeze()
    try:
        yield
    finally:
        worker.stop()
        sweeper.stop()
        services.read_engine.dispose()  # the main engine is the caller's (tests reuse it)
        gc.unfreeze()  # collectable again (a test process starts many apps in turn)


def create_app(settings: Settings | None = None, services: Services | None = None) -> FastAPI:
    """The ASGI app over `services` (built from `settings` when not given)."""
    if services is None:
        services = build_services(settings or get_settings())
    configure_logging(services.settings.log_level)

    # /docs and /redoc with their scripts and styles served by the app from the
    # fastapi-offline package: they work with no network, and no third-party CDN sees who reads.
    app = FastAPIOffline(
        title="consent_service",
        version=__version__,
        description=DESCRIPTION,
        lifespan=_lifespan,
        swagger_ui_parameters={"persistAuthorization": False},
        dependencies=[Depends(require_json_body)],  # 415 for non-JSON bodies (ops/media_type.py)
    )
    app.state.services = services
    for key_error in (DecryptionError, MasterKeyError):  # 503/500 problem (ops/startup.py)
        app.add_exception_handler(key_error, key_error_handler)
    # A thread the app runs besides requests (the outbox worker below is the other): due
    # expiries are persisted by writes and by this sweep, never by reads
    # (consents/lifecycle.py). Started and stopped by the lifespan.
    app.state.expiry_sweeper = ExpirySweeper(
        open_session=services.session,
        signer=services.signer,
        interval=services.settings.expiry_sweep_seconds,
        also=(
            lambda: sweep_notices(services.session),
            lambda: drain(services.session, invitations_service.sweep_expired),
        ),
    )
    # The in-process outbox worker (webhooks, mail), unless CONSENT_OUTBOX_IN_PROCESS=false
    # because `consent-service worker` processes deliver instead.
    app.state.outbox_worker = services.outbox_worker()

    install_error_handlers(app)
    # licences first: route matching is linear and POST /v1/licences/verify is the hot path.
    for router in (
        licences_router,
        ops_router,
        keys_router,
        accounts_router,
        holders_router,
        representatives_router,
        consents_router,
        audit_router,
        vault_router,
        rights_router,
        agreements_router,
        verification.router,
        usages.router,
        flows_router,
        provenance.router,
        account_router,
        webhooks_router,
        deletions_router,
        portal_router,
        portal_account_router,
        portal_rights_router,
        invitations.router,
        invitation_pages.router,
        portal_verify_router,
        portal_auditor_router,
    ):
        app.include_router(router)
    install_openapi(app)

    # Innermost first: CORS and gzip for the public resources, HEAD served as GET, then the
    # request middleware (ids, body limits, access log) around everything.
    app.add_middleware(PublicResources)
    app.add_middleware(DocsPolicy)
    app.add_middleware(HeadAsGet)
    app.add_middleware(
        RequestMiddleware,
        problem_base=services.settings.issuer,
        max_body_bytes=services.settings.max_body_bytes,
        large_body_paths={
            "/references": services.settings.vault_max_upload_bytes,
            **verification.upload_body_limits(services.settings),
            **provenance.upload_body_limits(services.settings),
            **usages.BODY_LIMITS,
        },
    )
    return app


def app_factory() -> FastAPI:
    """Entry point for `uvicorn --factory consent_service.main:app_factory`."""
    return create_app()
