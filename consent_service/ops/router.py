"""Operations: liveness, readiness, Prometheus metrics."""

from __future__ import annotations

import hmac
import inspect
from html import escape
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, JSONResponse, Response
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
        status=errors.NotReady.status,
        code=errors.NotReady.code,
        title=errors.NotReady.title,
        detail=f"Not ready: {failing}",
        base=services.settings.issuer,
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


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: sans-serif; max-width: 44em; margin: 2em auto; line-height: 1.5">
{body}
</body></html>
"""


def _explanation(cls: type[errors.DomainError]) -> str:
    doc = inspect.getdoc(cls) or ""
    inherited = any(doc == (inspect.getdoc(base) or "") for base in cls.__mro__[1:])
    return cls.title if not doc or inherited else doc.split("\n\n")[0].replace("\n", " ")


@router.get(
    "/problems",
    summary="The problem types this API answers with",
    description="An HTML index of every problem `code`, each linking to its page.",
    response_class=HTMLResponse,
    responses={200: {"content": {"text/html": {"schema": {"type": "string"}}}}},
)
def problem_index() -> HTMLResponse:
    known = sorted(errors.known_problems().items())
    items = "\n".join(
        f'<li><a href="problems/{code}"><code>{code}</code></a> ({cls.status}): '
        f"{escape(cls.title)}</li>"
        for code, cls in known
    )
    body = (
        "<h1>Problem types</h1><p>Errors of this API are <code>application/problem+json"
        "</code> (RFC 9457). Each has a stable <code>code</code>, and a <code>type</code> URI "
        f"that leads to its page here.</p><ul>{items}</ul>"
    )
    return HTMLResponse(_PAGE.format(title="Problem types", body=body))


@router.get(
    "/problems/{code}",
    summary="What one problem `code` means (the page its `type` URI names)",
    description="A human-readable page for one problem code; 404 for a code this API does not use.",
    response_class=HTMLResponse,
    responses={
        200: {"content": {"text/html": {"schema": {"type": "string"}}}},
        **problem_responses(404),
    },
)
def problem_page(code: Annotated[str, PathParam(max_length=64)]) -> HTMLResponse:
    cls = errors.known_problems().get(code)
    if cls is None:
        raise NotFound(f"No problem type {code[:64]!r}")
    rule = (
        "<p>The <code>rule</code> and <code>source</code> members name the consent rule "
        "that refused the request, and <code>errors</code> the fields.</p>"
        if issubclass(cls, errors.RuleViolation)
        else ""
    )
    body = (
        f"<h1>{escape(cls.title)}</h1>"
        f"<p>Code <code>{escape(code)}</code>, HTTP status {cls.status}.</p>"
        f"<p>{escape(_explanation(cls))}</p>{rule}"
        "<p>The problem document's <code>detail</code> says what happened in this case. "
        '<a href="../problems">All problem types</a>.</p>'
    )
    return HTMLResponse(_PAGE.format(title=escape(cls.title), body=body))
