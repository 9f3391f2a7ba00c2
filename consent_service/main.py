"""create_app(): settings, keys, database, routers, error handlers and middleware."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from consent_service import __version__
from consent_service.accounts import passwords
from consent_service.accounts.router import router as accounts_router
from consent_service.audit.router import router as audit_router
from consent_service.config import Settings, get_settings
from consent_service.consents.router import router as consents_router
from consent_service.consents.sweep import ExpirySweeper
from consent_service.crypto.keyring import Keyring, load_master_key
from consent_service.crypto.router import router as keys_router
from consent_service.crypto.signer import Signer
from consent_service.db import make_engine
from consent_service.errors import install_error_handlers
from consent_service.holders.router import router as holders_router
from consent_service.licences.router import router as licences_router
from consent_service.ops.middleware import RequestMiddleware, configure_logging
from consent_service.ops.router import router as ops_router
from consent_service.portal.router import router as portal_router
from consent_service.representatives.router import router as representatives_router
from consent_service.rights.router import router as rights_router
from consent_service.vault import router as vault

log = logging.getLogger("consent_service")

DESCRIPTION = """
Consent and licence registry for the use of people's likeness (face, voice, body) in synthetic
media. Holders grant and withdraw informed consent; studios receive signed licences (ES256 JWTs)
and check them online or offline; auditors export and verify the tamper-evident consent log.

Errors are `application/problem+json` (RFC 9457) with a stable `code`.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    settings.check_production()
    configure_logging(settings.log_level)
    settings.data_dir.mkdir(parents=True, exist_ok=True)

    passwords.configure(
        time_cost=settings.argon2_time_cost, memory_cost_kib=settings.argon2_memory_kib
    )
    engine = make_engine(settings.resolved_database_url)
    keyring = Keyring(load_master_key(settings))
    keyring.bootstrap(engine)

    signer = Signer(keyring=keyring, issuer=settings.issuer)
    sweeper = ExpirySweeper(engine=engine, signer=signer, interval=settings.expiry_sweep_seconds)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Due expiries are persisted by writes and by this sweep, never by reads.
        if settings.expiry_sweep_seconds > 0:
            sweeper.start()
        try:
            yield
        finally:
            sweeper.stop()

    app = FastAPI(
        title="consent_service", version=__version__, description=DESCRIPTION, lifespan=lifespan
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.keyring = keyring
    app.state.signer = signer
    app.state.expiry_sweeper = sweeper
    app.state.readiness_checks = {}

    install_error_handlers(app)
    vault.install(app)
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
        vault.router,
        rights_router,
        portal_router,
    ):
        app.include_router(router)

    app.add_middleware(
        RequestMiddleware,
        max_body_bytes=settings.max_body_bytes,
        large_body_paths={"/references": settings.vault_max_upload_bytes},
    )
    return app


def app_factory() -> FastAPI:
    """Entry point for `uvicorn --factory consent_service.main:app_factory`."""
    return create_app()
