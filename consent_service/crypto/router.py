"""The public JWKS: every key still needed to verify what the service signed."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from consent_service.deps import KeyringDep, SessionDep

router = APIRouter(tags=["keys"])


@router.get("/.well-known/jwks.json", summary="Public signing keys (RFC 7517 JWK Set)")
def jwks(session: SessionDep, keyring: KeyringDep) -> Any:
    return JSONResponse(
        keyring.jwks(session),
        media_type="application/jwk-set+json",
        headers={"Cache-Control": "public, max-age=300"},
    )
