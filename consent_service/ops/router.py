"""Operations: liveness, readiness, Prometheus metrics."""

from __future__ import annotations

import hmac
from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.exc import SQLAlchemyError

from consent_service.accounts.principal import Role
from consent_service.db import check_database
from consent_service.deps import ServicesDep, SessionDep, SignerDep, get_optional_principal
from consent_service.errors import NotFound, Unauthenticated

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="The process is up")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Database and storage are reachable")
def readyz(services: ServicesDep) -> JSONResponse:
    checks: dict[str, str] = {}
    try:
        check_database(services.engine)
        checks["database"] = "ok"
    except SQLAlchemyError as exc:
        checks["database"] = f"unreachable: {type(exc).__name__}"
    data_dir = services.settings.data_dir
    checks["data_dir"] = "ok" if data_dir.is_dir() and _writable(data_dir) else "not writable"
    for name, check in services.readiness_checks.items():  # the vault's storage, the KMS
        try:
            problem = check()
        except Exception as exc:  # a check must never crash the probe
            problem = f"failed: {type(exc).__name__}"
        checks[name] = problem or "ok"
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not_ready", "checks": checks},
        status_code=200 if ready else 503,
    )


def _writable(path: Path) -> bool:
    probe = path / ".readyz"
    try:
        probe.write_bytes(b"")
        probe.unlink()
        return True
    except OSError:
        return False


def metrics_reader(
    request: Request, services: ServicesDep, session: SessionDep, signer: SignerDep
) -> None:
    """Who may scrape /metrics: the bearer of CONSENT_METRICS_TOKEN, or an admin.

    The metrics name routes, statuses and volumes: an outsider learns how the service is used
    from them, so they are never served anonymously. Other roles get 404, as on admin routes.
    """
    token = services.settings.metrics_token
    scheme, _, credential = request.headers.get("authorization", "").partition(" ")
    if (
        token is not None
        and scheme.lower() == "bearer"
        and hmac.compare_digest(
            credential.strip().encode(), token.get_secret_value().strip().encode()
        )
    ):
        return
    principal = get_optional_principal(request, session, signer)
    if principal is None:
        raise Unauthenticated()
    if principal.role is not Role.admin:
        raise NotFound()


@router.get(
    "/metrics",
    summary="Prometheus metrics (the metrics token or an admin credential)",
    response_class=Response,
    dependencies=[Depends(metrics_reader)],
)
def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
