"""The OpenAPI 3.1 document, made to describe the API as it answers (served at /openapi.json).

FastAPI writes a first draft from the routes. This module completes it from the same routes'
dependencies, so a new route cannot be documented wrongly by forgetting a line:

- **Security.** `securitySchemes` for the two credentials (an access token from the OAuth 2.0
  password flow, or an API key, both sent as `Authorization: Bearer`). An operation behind
  `get_principal` requires one; behind only `get_optional_principal` it takes one optionally
  (`{}` among its requirements); with neither it is public (`security: []`). A route may set
  its own `security` in `openapi_extra` (e.g. /metrics, which also takes the metrics token).
- **Errors.** Every 4xx/5xx response is `application/problem+json` with the one `Problem`
  schema (RFC 9457), the token endpoint's RFC 6749 errors excepted. Beside the statuses a
  route lists in `responses=`, each route gets those its kind can give: 400 (a malformed URL
  or body) everywhere, 413 on every POST, PUT and PATCH (the body limit is app-wide,
  ops/middleware.py, uploads included), 415 where the route reads a JSON body (a body of
  another media type is refused, ops/media_type.py), 401 where a credential is read, 404
  where roles are restricted (other roles are told "not found"), 422 where there are
  parameters, and 503 `master_key_unusable` wherever the route reaches the service (its
  database, keyring and signer): when the master key does not open the stored keys, the
  app-wide key error handler answers it (ops/startup.py).
- **Descriptions.** Every operation says who may call it, after its docstring or summary.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts

from consent_service.deps import get_optional_principal, get_principal, get_services
from consent_service.errors import (
    PROBLEM_JSON,
    PROBLEM_REF,
    STATUS_DESCRIPTIONS,
    OAuthProblem,
    Problem,
)
from consent_service.ops.media_type import takes_json_body

OAUTH2 = "OAuth2Password"
API_KEY = "ApiKey"

SECURITY_SCHEMES: dict[str, Any] = {
    OAUTH2: {
        "type": "oauth2",
        "description": "An access token (ES256 JWT, RFC 9068) from the password grant at "
        "`POST /v1/auth/token`, for holders, their representatives and staff with a password.",
        "flows": {"password": {"tokenUrl": "/v1/auth/token", "scopes": {}}},
    },
    API_KEY: {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "API key (csk_…)",
        "description": "An API key of an organization (studio, auditor), an admin or a "
        "verifier, shown once when created: `Authorization: Bearer csk_…`.",
    },
}
SIGNED_IN: list[dict[str, list[str]]] = [{OAUTH2: []}, {API_KEY: []}]

TAGS: list[dict[str, str]] = [
    {"name": "accounts", "description": "Organizations, API keys, verifiers and sign-in."},
    {"name": "holders", "description": "People whose likeness is registered."},
    {"name": "representatives", "description": "Guardians, agents, executors, attorneys."},
    {"name": "consents", "description": "Consent requests, grants and their lifecycle."},
    {"name": "licences", "description": "Signed licences, their verification and status lists."},
    {"name": "reference data", "description": "Encrypted reference media of a holder."},
    {"name": "holder rights", "description": "Export and erasure (GDPR Art. 15, 17, 20)."},
    {"name": "verification", "description": "Identity and authority evidence, the review queue."},
    {"name": "death and estates", "description": "Recording a death; executors and estates."},
    {"name": "collective agreements", "description": "Union agreements that may cover replicas."},
    {"name": "audit", "description": "The tamper-evident log: events, export, Merkle proofs."},
    {"name": "keys", "description": "Public keys to verify what the service signs."},
    {"name": "operations", "description": "Probes and metrics for operators."},
    {
        "name": "your account",
        "description": "Confirming your address, resetting and changing your password.",
    },
    {
        "name": "usages",
        "description": "Outputs generated under a licence, each with a signed receipt.",
    },
    {
        "name": "provenance",
        "description": "Checking the C2PA manifest and licence inside a media file.",
    },
    {"name": "webhooks", "description": "Signed notifications of consent and licence changes."},
    {
        "name": "deletion acknowledgements",
        "description": "Studios confirming they deleted reference media.",
    },
    {"name": "invitations", "description": "Studios inviting a person by email."},
]


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for dep in dependant.dependencies:
        if dep.call is not None:
            yield dep.call
        yield from _calls(dep)


def _roles(calls: list[Callable[..., Any]]) -> list[str] | None:
    """The roles a `require_roles(...)` dependency admits, or None when there is none."""
    for call in calls:
        if getattr(call, "__qualname__", "").startswith("require_roles."):
            roles = inspect.getclosurevars(call).nonlocals.get("roles", ())
            return [getattr(r, "value", str(r)) for r in roles]
    return None


def _problem_content() -> dict[str, Any]:
    return {PROBLEM_JSON: {"schema": PROBLEM_REF}}


def _add(responses: dict[str, Any], status: int) -> None:
    responses.setdefault(str(status), {"description": STATUS_DESCRIPTIONS[status]})


BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
MASTER_KEY_UNUSABLE = (
    "The service cannot use its keys (`master_key_unusable`): its master key does not open "
    "the stored keys; /readyz says so too"
)


def _complete_operation(route: RouteContext, method: str, op: dict[str, Any]) -> None:
    calls = list(_calls(route.dependant))
    required = get_principal in calls
    optional = not required and get_optional_principal in calls
    roles = _roles(calls)
    responses: dict[str, Any] = op.setdefault("responses", {})

    # Security requirements (a route's own `security` in openapi_extra wins).
    if "security" not in op:
        op["security"] = SIGNED_IN if required else [{}, *SIGNED_IN] if optional else []
    secured = bool(op["security"])

    # The errors every route of its kind can give.
    _add(responses, 400)  # a NUL in the URL, a malformed body or parameter
    if route.body_field is not None or method in BODY_METHODS:
        _add(responses, 413)
    original = route.original_route
    if isinstance(original, APIRoute) and takes_json_body(original):
        _add(responses, 415)
    # /readyz reports the master key as its own 503 `not_ready` (with the checks), not this.
    if get_services in calls and route.path_format != "/readyz":
        unusable = responses.setdefault("503", {"description": MASTER_KEY_UNUSABLE})
        if unusable["description"] != MASTER_KEY_UNUSABLE:  # a route's own 503 (busy)
            unusable["description"] += "; or: " + MASTER_KEY_UNUSABLE
    if secured:
        _add(responses, 401)
    if roles is not None:
        _add(responses, 404)
    params = route.dependant.path_params or route.dependant.query_params
    if params or route.body_field is not None or "422" in responses:
        _add(responses, 422)
    for status, response in responses.items():
        if status[0] not in "45":
            continue
        content = response.get("content", {})
        if any("OAuthProblem" in str(v.get("schema", "")) for v in content.values()):
            continue  # the token endpoint's RFC 6749 errors
        response["content"] = _problem_content()
        if status == "422" or response.get("description") in (None, "Validation Error"):
            response["description"] = STATUS_DESCRIPTIONS.get(int(status), "Problem details")

    # Who may call it, after the docstring or the summary.
    if not secured:
        who = "Anyone: no credential is needed."
    elif roles is not None:
        who = f"Signed-in callers with the role {' or '.join(roles)}; others are told 404."
    elif optional:
        who = "Anyone; a credential, when sent, is checked (and may widen what is allowed)."
    else:
        who = "Any signed-in caller; what each sees is limited to its own objects."
    text = (op.get("description") or op.get("summary") or "").strip()
    if text and not text.endswith("."):
        text += "."
    op["description"] = f"{text}\n\n**Who may call it:** {who}".strip()


def build_openapi(app: FastAPI) -> dict[str, Any]:
    doc = get_openapi(
        title=app.title,
        version=app.version,
        openapi_version=app.openapi_version,
        description=app.description,
        routes=app.routes,
        tags=TAGS,
    )
    components = doc.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for model in (Problem, OAuthProblem):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    components["securitySchemes"] = SECURITY_SCHEMES

    # FastAPI >= 0.16x keeps included routers as such: walk the effective routes.
    for route in iter_route_contexts(app.routes):
        if not isinstance(route.original_route, APIRoute) or not route.include_in_schema:
            continue
        for method in route.methods or ():
            op = doc["paths"].get(route.path_format, {}).get(method.lower())
            if op is not None:
                _complete_operation(route, method, op)

    # FastAPI's own validation error shape is never sent (errors.py answers 422 as a problem).
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    return doc


def install_openapi(app: FastAPI) -> None:
    """Serve the completed document at /openapi.json (built once, on first request)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build_openapi(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
