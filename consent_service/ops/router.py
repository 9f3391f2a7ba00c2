"""Operations: liveness, readiness, Prometheus metrics."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.exc import SQLAlchemyError

from consent_service.db import check_database
from consent_service.deps import ServicesDep

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


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
