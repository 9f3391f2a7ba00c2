"""Domain errors and the one handler that turns them into RFC 9457 problem details.

Services raise subclasses of `DomainError`, never `HTTPException`. Each has a stable `code`
that clients may branch on; the HTTP status lives with the error, not with the router.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
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


class OAuthTokenError(DomainError):
    """An error of the token endpoint in RFC 6749 §5.2's own shape.

    The body carries `error` (and `error_description`) beside the problem members, as
    `application/json` with `Cache-Control: no-store`, so OAuth clients (authlib,
    requests-oauthlib) read it as the error it is and problem-aware clients still find `code`.
    """

    status = 400
    error: str = "invalid_request"


class InvalidRequest(OAuthTokenError):
    code = error = "invalid_request"
    title = "The token request is missing a parameter or is malformed"


class InvalidGrant(OAuthTokenError):
    code = error = "invalid_grant"
    title = "Email or password is not correct"


class UnsupportedGrantType(OAuthTokenError):
    code = error = "unsupported_grant_type"
    title = "Only the password grant is supported"


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


class MethodNotAllowed(DomainError):
    """The path exists, but not with this method; `Allow` lists the methods it takes."""

    code, status, title = "method_not_allowed", 405, "Method not allowed"


class NotAcceptable(DomainError):
    """None of the media types the `Accept` header names can be served by this resource."""

    code, status, title = "not_acceptable", 406, "No acceptable representation"


class UnstorableValue(DomainError):
    """A value passed the schema but the database cannot hold it (e.g. a NUL character)."""

    code, status, title = "unstorable_value", 422, "A value cannot be stored"


class InvalidCharacters(DomainError):
    """The URL carries a character no route accepts (a NUL)."""

    code, status, title = "invalid_characters", 400, "Bad request"


class NotReady(DomainError):
    """A dependency of the service (database, storage, KMS) does not answer (/readyz)."""

    code, status, title = "not_ready", 503, "The service is not ready"


def known_problems() -> dict[str, type[DomainError]]:
    """Every problem code a `DomainError` subclass declares (imported modules only)."""
    found: dict[str, type[DomainError]] = {}
    pending: list[type[DomainError]] = [DomainError]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.code != DomainError.code:  # abstract bases keep the base's placeholder code
            found.setdefault(cls.code, cls)
    return found


def problem_type(base: str, code: str) -> str:
    """The problem's `type`: an absolute URI whose page (GET /problems/{code}) explains it."""
    return f"{base.rstrip('/')}/problems/{code}"


def problem(
    *,
    status: int,
    code: str,
    title: str,
    detail: str,
    base: str = "",
    type_code: str | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": problem_type(base, type_code or code),
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


def base_url(request: Request) -> str:
    """The service's public URL (its issuer), under which problem types resolve."""
    services = getattr(request.app.state, "services", None)
    issuer = getattr(getattr(services, "settings", None), "issuer", None)
    return str(issuer) if issuer else str(request.base_url).rstrip("/")


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


# RFC 6749 §5.1: token responses, successful or not, must not be cached.
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


async def _domain_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    base = base_url(request)
    if isinstance(exc, OAuthTokenError):
        response = problem(
            status=exc.status,
            code=exc.code,
            title=exc.title,
            detail=exc.detail,
            base=base,
            error=exc.error,
            error_description=exc.detail,
            **exc.extra,
        )
        response.headers.update(NO_STORE)
        response.headers["content-type"] = "application/json"
        return response
    # A code set per instance (a consent rule's name) has its class's page.
    type_code = exc.code if exc.code in known_problems() else type(exc).code
    return problem(
        status=exc.status,
        code=exc.code,
        title=exc.title,
        detail=exc.detail,
        base=base,
        type_code=type_code,
        **exc.extra,
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
            base=base_url(request),
        )
    fields = ", ".join(e["field"] for e in errors if e["field"])
    return problem(
        status=422,
        code=ValidationFailed.code,
        title=ValidationFailed.title,
        detail=f"Invalid or missing fields: {fields}" if fields else "Invalid request",
        base=base_url(request),
        errors=errors,
    )


_HTTP_ERRORS: dict[int, type[DomainError]] = {
    404: NotFound,
    405: MethodNotAllowed,
    401: Unauthenticated,
    406: NotAcceptable,
    413: PayloadTooLarge,
    415: UnsupportedMediaType,
    429: RateLimited,
}


async def _http_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    known = _HTTP_ERRORS.get(exc.status_code)
    detail = exc.detail if isinstance(exc.detail, str) else "Request cannot be processed"
    response = problem(
        status=exc.status_code,
        code=known.code if known else BadRequest.code,
        title=known.title if known else detail,
        detail=detail,
        base=base_url(request),
    )
    # RFC 9110 §15.5.6: a 405 lists the allowed methods in `Allow`; keep the headers given.
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    allow = response.headers.get("allow")
    if allow and "GET" in allow.split(", ") and "HEAD" not in allow:
        response.headers["allow"] = f"{allow}, HEAD"  # ops/http.HeadAsGet serves HEAD on GETs
    return response


async def _data_error_handler(request: Request, exc: Exception) -> JSONResponse:
    # The database refused a value the schemas let through (e.g. a NUL character, which
    # PostgreSQL text cannot hold). The transaction is rolled back: nothing was written.
    return problem(
        status=UnstorableValue.status,
        code=UnstorableValue.code,
        title=UnstorableValue.title,
        detail="A field holds a value the database cannot store (for example a NUL character)",
        base=base_url(request),
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error_handler)
    app.add_exception_handler(DataError, _data_error_handler)
    app.add_exception_handler(RequestValidationError, _validation_handler)
    app.add_exception_handler(StarletteHTTPException, _http_error_handler)


# What each status means in a route's documented responses (OpenAPI `description`).
STATUS_DESCRIPTIONS = {
    400: "Bad request: the body is not valid JSON or a parameter is malformed",
    401: "Missing or invalid credentials",
    403: "Forbidden",
    404: "Not found, or not visible to the caller",
    405: "Method not allowed",
    406: "None of the media types in `Accept` can be served",
    409: "Conflict with the current state",
    413: "The request body is too large",
    415: "Unsupported media type",
    422: "Invalid fields, or a rule refuses the request (`errors` lists the fields)",
    429: "Too many requests (see `Retry-After`)",
    503: "Not ready, or busy (see `Retry-After`)",
}


class FieldError(BaseModel):
    model_config = ConfigDict(extra="allow", json_schema_extra={"additionalProperties": True})

    field: str = Field(description="The field's dotted name")
    message: str
    loc: list[str] | None = Field(
        default=None, description="Where the field is: body, query, path, header"
    )
    type: str | None = Field(default=None, description="The kind of error (pydantic type)")
    code: str | None = Field(default=None, description="A consent rule's code, when one refused")


class Problem(BaseModel):
    """RFC 9457 problem details, the body of every error of this API."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"additionalProperties": True})

    type: str = Field(description="An absolute URI of a page describing the `code`")
    title: str
    status: int = Field(ge=400, le=599)
    detail: str
    code: str = Field(description="Stable, machine-readable error code")
    errors: list[FieldError] | None = Field(
        default=None, description="422 only: the offending fields"
    )
    retry_after_seconds: int | None = Field(
        default=None, description="429/503: seconds to wait (also in `Retry-After`)"
    )


class OAuthProblem(Problem):
    """An RFC 6749 §5.2 token error: `error` beside the problem members (application/json)."""

    error: str = Field(
        description="RFC 6749 error code: invalid_request, invalid_grant, unsupported_grant_type"
    )
    error_description: str


PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


# For `responses=` on routes, so the OpenAPI document lists each route's problems. The
# document's builder (consent_service/openapi.py) adds those every route of a kind can give.
def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {
        s: {
            "description": STATUS_DESCRIPTIONS.get(s, "Problem details (RFC 9457)"),
            "content": {PROBLEM_JSON: {"schema": PROBLEM_REF}},
        }
        for s in statuses
    }


def oauth_error_responses() -> dict[int | str, dict[str, Any]]:
    return {
        400: {
            "description": "RFC 6749 §5.2 error (invalid_request, invalid_grant, "
            "unsupported_grant_type), with the problem members beside it",
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/OAuthProblem"}}
            },
        }
    }
