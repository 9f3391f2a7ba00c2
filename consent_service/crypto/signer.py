"""The one thing that signs: the keyring's active ES256 key together with the issuer it speaks for.

Every token the service makes (licences, status lists, consent receipts, checkpoints, access
tokens) names the issuer in `iss` and is signed with the active key. Passing the two as one
value means no code path can sign with one deployment's key under another's name, and no
service has an optional keyring "for tests". `Signer` is built once by the composition root
and handed to routes and services as a dependency. It also carries the deployment's operator
(`operator.Operator`, from settings): the party consent receipts name as PII controller, so a
receipt cannot name another deployment's controller either.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jose.backends.base import Key as JoseKey
from sqlmodel import Session

from consent_service.crypto.keyring import Keyring
from consent_service.operator import Operator


@dataclass(frozen=True, slots=True)
class Signer:
    """The keyring's signing side, the issuer (`iss`) of everything it signs, and the operator
    who answers for it (named as PII controller on consent receipts)."""

    keyring: Keyring
    issuer: str
    operator: Operator

    def sign(self, session: Session, claims: dict[str, Any], *, typ: str) -> str:
        """A compact JWS (ES256, `typ` in the header) over `claims` with the active key."""
        return self.keyring.sign(session, claims, typ=typ)

    def sign_many(self, session: Session, claims: list[dict[str, Any]], *, typ: str) -> list[str]:
        """Compact JWS over each of `claims`, in order, with the active key (batches)."""
        return self.keyring.sign_many(session, claims, typ=typ)

    def jwks(self, session: Session) -> dict[str, Any]:
        """The published public keys (RFC 7517 JWK Set)."""
        return self.keyring.jwks(session)

    def public_key(self, session: Session, kid: str) -> JoseKey | None:
        """The verification key for `kid`, or None when unknown or withdrawn."""
        return self.keyring.public_key(session, kid)

    def verify(
        self, session: Session, token: str, *, typ: str | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Verify a JWS this service made; raises `signing.SignatureError`."""
        return self.keyring.verify(session, token, typ=typ)
