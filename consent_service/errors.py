"""Domain errors and the one handler that turns them into RFC 9457 problem details.

Services raise subclasses of `DomainError`, never `HTTPException`. Each has a stable `code`
that clients may branch on; the HTTP status lives with the error, not with the router.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"


class DomainError(Exception):
    code: str = "error"
    status: int = 400
    title: str = "Request cannot be processed"

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra


class BadRequest(DomainError):
    code, status, title = "bad_request", 400, "Bad request"


class BadCursor(DomainError):
    code, status, title = "bad_cursor", 400, "The cursor is not one this service gave out"


class MalformedBody(DomainError):
    code, status, title = "malformed_body", 400, "The request body could not be parsed"


class Unauthenticated(DomainError):
    code, status, title = "unauthenticated", 401, "Missing or invalid credentials"


class InvalidCredentials(DomainError):
    code, status, title = "invalid_credentials", 401, "Email or password is not correct"


class NotFound(DomainError):
    code, status, title = "not_found", 404, "Not found"


class Conflict(DomainError):
    code, status, title = "conflict", 409, "Conflict with the current state"


class PayloadTooLarge(DomainError):
    code, status, title = "payload_too_large", 413, "The request body is too large"


class UnsupportedMediaType(DomainError):
    code, status, title = "unsupported_media_type", 415, "Unsupported media type"


class RuleViolation(DomainError):
    """A rule of CONSENT_RULES.md marked *enforce* refused the request."""

    code, status, title = "rule_violation", 422, "A consent rule refuses this request"


class ValidationFailed(DomainError):
    code, status, title = "validation_error", 422, "The request has invalid fields"


class RateLimited(DomainError):
    code, status, title = "rate_limited", 429, "Too many requests"


def problem(*, status: int, code: str, title: str, detail: str, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    body.update(extra)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
    if status in (429, 503) and isinstance(extra.get("retry_after_seconds"), int):
        # RFC 9110 §10.2.3: clients and proxies back off on the header, not on the body.
        headers["Retry-After"] = str(extra["retry_after_seconds"])
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers or None)


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    errors = []
    for err in exc.errors():
        loc = [str(part) for part in err.get("loc", ())]
        errors.append(
            {
                "loc": loc,
                "field": ".".join(loc[1:]) or loc[0] if loc else "",
                "message": err.get("msg", ""),
                "type": err.get("type", ""),
            }
        )
    return errors


async def _domain_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    return problem(
        status=exc.status, code=exc.code, title=exc.title, detail=exc.detail, **exc.extra
    )


async def _validation_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = _validation_errors(exc)
    if any(e["type"] == "json_invalid" for e in errors):
        return problem(
            status=400,
            code=MalformedBody.code,
            title=MalformedBody.title,
            detail="The body is not valid JSON",
        )
    fields = ", ".join(e["field"] for e in errors if e["field"])
    return problem(
        status=422,
        code=ValidationFailed.code,
        title=ValidationFailed.title,
        detail=f"Invalid or missing fields: {fields}" if fields else "Invalid request",
        errors=errors,
    )


async def _http_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    codes = {
        404: "not_found",
        405: "method_not_allowed",
        401: "unauthenticated",
        413: "payload_too_large",
        415: "unsupported_media_type",
        429: "rate_limited",
    }
    code = codes.get(exc.status_code, f"http_{exc.status_code}")
    detail = exc.detail if isinstance(exc.detail, str) else "Request cannot be processed"
    titles = {404: "Not found", 405: "Method not allowed", 413: "The request body is too large"}
    return problem(
        status=exc.status_code, code=code, title=titles.get(exc.status_code, detail), detail=detail
    )


async def _data_error_handler(request: Request, exc: Exception) -> JSONResponse:
    # The database refused a value the schemas let through (e.g. a NUL character, which
    # PostgreSQL text cannot hold). The transaction is rolled back: nothing was written.
    return problem(
        status=422,
        code="unstorable_value",
        title="A value cannot be stored",
        detail="A field holds a value the database cannot store (for example a NUL character)",
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error_handler)
    app.add_exception_handler(DataError, _data_error_handler)
    app.add_exception_handler(RequestValidationError, _validation_handler)
    app.add_exception_handler(StarletteHTTPException, _http_error_handler)


# For `responses=` on routes, so the OpenAPI document lists each route's problems.
def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {
        s: {"description": "Problem details (RFC 9457)", "content": {PROBLEM_JSON: {}}}
        for s in statuses
    }
