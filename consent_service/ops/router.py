"""Operations: liveness, readiness, Prometheus metrics."""

from __future__ import annotations

import hmac
from pathlib import Path
from typing import Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field
from sqlalchemy.exc import SQLAlchemyError

from consent_service import errors
from consent_service.accounts.principal import Role
from consent_service.db import check_database
from consent_service.deps import ServicesDep, SessionDep, SignerDep, get_optional_principal
from consent_service.errors import NotFound, Unauthenticated, problem_responses

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="The process is up")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


class Readiness(BaseModel):
    status: Literal["ready"]
    checks: dict[str, str] = Field(description="Each dependency checked, and `ok` or why not")


@router.get(
    "/readyz",
    summary="Database and storage are reachable",
    description="200 when every dependency answers; otherwise a 503 problem (`not_ready`) "
    "whose `checks` member says which one does not, and why.",
    response_model=Readiness,
    responses=problem_responses(503),
)
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
    if all(v == "ok" for v in checks.values()):
        return JSONResponse({"status": "ready", "checks": checks})
    failing = ", ".join(name for name, v in checks.items() if v != "ok")
    return errors.problem(
        status=503,
        code="not_ready",
        title="The service is not ready",
        detail=f"Not ready: {failing}",
        checks=checks,
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
    description="The Prometheus text exposition format. Send the metrics token "
    "(`CONSENT_METRICS_TOKEN`) or an admin's credential as `Authorization: Bearer`.",
    response_class=Response,
    responses={
        200: {
            "description": "Prometheus text format",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        },
        **problem_responses(401, 404),
    },
    openapi_extra={"security": [{"ApiKey": []}, {"OAuth2Password": []}]},
    dependencies=[Depends(metrics_reader)],
)
def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
