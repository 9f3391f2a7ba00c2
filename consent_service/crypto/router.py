"""The public JWKS: every key still needed to verify what the service signed."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from consent_service.deps import KeyringDep, SessionDep
from consent_service.errors import problem_responses
from consent_service.ops.http import negotiate

router = APIRouter(tags=["keys"])


JWK_SET_JSON = "application/jwk-set+json"  # RFC 7517 §8.5.1

_JWK_SET_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["keys"],
    "properties": {"keys": {"type": "array", "items": {"type": "object"}}},
}


@router.get(
    "/.well-known/jwks.json",
    summary="Public signing keys (RFC 7517 JWK Set)",
    description="Every public key still needed to verify what the service signed (licences, "
    "receipts, status lists, checkpoints), as an RFC 7517 JWK Set. Cacheable for 5 minutes; "
    "readable cross-origin (CORS) and gzip-compressed when asked. Served as "
    "`application/jwk-set+json`, or `application/json` to a client that accepts only that; "
    "406 to an `Accept` admitting neither.",
    response_class=Response,
    responses={
        200: {
            "description": "JWK Set",
            "content": {
                JWK_SET_JSON: {"schema": _JWK_SET_SCHEMA},
                "application/json": {"schema": _JWK_SET_SCHEMA},
            },
        },
        **problem_responses(406),
    },
)
def jwks(request: Request, session: SessionDep, keyring: KeyringDep) -> Response:
    media_type = negotiate(request.headers.get("accept"), (JWK_SET_JSON, "application/json"))
    return JSONResponse(
        keyring.jwks(session),
        media_type=media_type,
        headers={"Cache-Control": "public, max-age=300"},
    )
