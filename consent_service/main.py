"""create_app(): the services (wiring.py), routers, error handlers and middleware."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from consent_service import __version__
from consent_service.accounts.router import router as accounts_router
from consent_service.agreements.router import router as agreements_router
from consent_service.audit.router import router as audit_router
from consent_service.config import Settings, get_settings
from consent_service.consents.router import router as consents_router
from consent_service.consents.sweep import ExpirySweeper
from consent_service.crypto.router import router as keys_router
from consent_service.errors import install_error_handlers
from consent_service.flows.router import router as flows_router
from consent_service.holders.router import router as holders_router
from consent_service.licences.router import router as licences_router
from consent_service.openapi import install_openapi
from consent_service.ops.http import DocsPolicy, HeadAsGet, PublicResources
from consent_service.ops.middleware import RequestMiddleware, configure_logging
from consent_service.ops.router import router as ops_router
from consent_service.portal.router import router as portal_router
from consent_service.representatives.router import router as representatives_router
from consent_service.rights.router import router as rights_router
from consent_service.vault.router import router as vault_router
from consent_service.verification import router as verification
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


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    services: Services = app.state.services
    sweeper: ExpirySweeper = app.state.expiry_sweeper
    if services.settings.expiry_sweep_seconds > 0:
        sweeper.start()
    try:
        yield
    finally:
        sweeper.stop()
        services.read_engine.dispose()  # the main engine is the caller's (tests reuse it)


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
    )
    app.state.services = services
    # The one thread the app runs besides requests: due expiries are persisted by writes and
    # by this sweep, never by reads (consents/lifecycle.py). Started and stopped by the lifespan.
    app.state.expiry_sweeper = ExpirySweeper(
        open_session=services.session,
        signer=services.signer,
        interval=services.settings.expiry_sweep_seconds,
    )

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
        flows_router,
        portal_router,
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
        },
    )
    return app


def app_factory() -> FastAPI:
    """Entry point for `uvicorn --factory consent_service.main:app_factory`."""
    return create_app()
