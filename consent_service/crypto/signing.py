"""ES256 signing keys, the JWKS, and every JWS the service makes or checks.

Standards: RFC 7515 (JWS), RFC 7517/7518 (JWK, ES256 on P-256), RFC 7638 (`kid` = JWK
thumbprint). All signing and verification in the service goes through this module and
python-jose, with an algorithm allow-list of exactly `ES256`: no `none`, no HMAC with a public
key, no algorithm chosen by the token.

The pure functions here need no database; `Keyring` (consent_service.crypto.keyring) stores
the keys, wrapped by the master key.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jose import jwk as jose_jwk
from jose import jws as jose_jws
from jose.backends.base import Key as JoseKey
from jose.exceptions import JOSEError

ALGORITHM = "ES256"
ALLOWED_ALGORITHMS = [ALGORITHM]


class SignatureError(Exception):
    """A JWS could not be verified. `code` is one of MALFORMED, UNKNOWN_KEY, BAD_SIGNATURE."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def jwk_thumbprint(public_jwk: dict[str, Any]) -> str:
    """RFC 7638 thumbprint of an EC public JWK: SHA-256 over the required members, sorted."""
    required = {name: public_jwk[name] for name in ("crv", "kty", "x", "y")}
    canonical = json.dumps(required, separators=(",", ":"), sort_keys=True).encode("ascii")
    return _b64url(hashlib.sha256(canonical).digest())


def public_jwk_of(private_key: ec.EllipticCurvePrivateKey) -> dict[str, Any]:
    """The public JWK (with `kid`, `alg`, `use`) of a P-256 private key."""
    numbers = private_key.public_key().public_numbers()
    jwk: dict[str, Any] = {
        "kty": "EC",
        "crv": "P-256",
        "x": _b64url(numbers.x.to_bytes(32, "big")),
        "y": _b64url(numbers.y.to_bytes(32, "big")),
    }
    jwk.update({"kid": jwk_thumbprint(jwk), "alg": ALGORITHM, "use": "sig"})
    return jwk


def generate_private_key() -> ec.EllipticCurvePrivateKey:
    """A new P-256 private key."""
    return ec.generate_private_key(ec.SECP256R1())


def private_key_to_pem(private_key: ec.EllipticCurvePrivateKey) -> bytes:
    """PKCS#8 PEM, unencrypted: callers wrap it with the master key before storing it."""
    return private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def sign(payload: dict[str, Any], *, private_pem: bytes, kid: str, typ: str) -> str:
    """A compact JWS (ES256) over the JSON `payload`, with `kid` and `typ` in the header."""
    token: str = jose_jws.sign(
        payload,
        private_pem.decode("ascii"),
        headers={"kid": kid, "typ": typ},
        algorithm=ALGORITHM,
    )
    return token


def sign_many(
    payloads: list[dict[str, Any]], *, private_pem: bytes, kid: str, typ: str
) -> list[str]:
    """Compact JWS (ES256) over each payload, as `sign` makes them, parsing the key once.

    For batches (usage receipts): python-jose parses a PEM key on every `sign`, which costs
    more than the signature itself; handing it the parsed key signs the same tokens.
    """
    key = jose_jwk.construct(private_pem.decode("ascii"), ALGORITHM)
    headers = {"kid": kid, "typ": typ}
    return [
        str(jose_jws.sign(payload, key, headers=headers, algorithm=ALGORITHM))
        for payload in payloads
    ]


def construct_public_key(public_jwk: dict[str, Any]) -> JoseKey:
    """A python-jose key object for a public JWK (build once, verify many times)."""
    key: JoseKey = jose_jwk.construct(public_jwk, ALGORITHM)
    return key


def read_header(token: str) -> dict[str, Any]:
    """The protected header of a compact JWS, unverified; `SignatureError(MALFORMED)` if bad."""
    # 1. Form: three base64url parts, a JSON object header.
    if not isinstance(token, str) or token.count(".") != 2 or len(token) > 16384:
        raise SignatureError("MALFORMED", "not a compact JWS")
    try:
        header = json.loads(_b64url_decode(token.split(".", 1)[0]))
    except (ValueError, UnicodeDecodeError) as exc:
        raise SignatureError("MALFORMED", "header is not base64url JSON") from exc
    if not isinstance(header, dict):
        raise SignatureError("MALFORMED", "header is not a JSON object")
    # 2. Algorithm allow-list, before any key is touched.
    if header.get("alg") != ALGORITHM:
        raise SignatureError("MALFORMED", f"algorithm must be {ALGORITHM}")
    if not isinstance(header.get("kid"), str):
        raise SignatureError("MALFORMED", "header has no kid")
    return header


def verify(
    token: str, *, keys: dict[str, JoseKey], typ: str | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Verify a compact JWS against `keys` (kid → key); return (header, payload).

    Checks, in order: form and algorithm, `typ` when given, key known, signature,
    payload is a JSON object. Raises `SignatureError` with the failing check's code.
    """
    header = read_header(token)
    if typ is not None and header.get("typ") != typ:
        raise SignatureError("MALFORMED", f"typ must be {typ}")
    key = keys.get(header["kid"])
    if key is None:
        raise SignatureError("UNKNOWN_KEY", "signed with a key that is not in the key set")
    try:
        raw = jose_jws.verify(token, key, algorithms=ALLOWED_ALGORITHMS)
    except JOSEError as exc:
        raise SignatureError("BAD_SIGNATURE", "signature does not verify") from exc
    try:
        payload = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SignatureError("MALFORMED", "payload is not JSON") from exc
    if not isinstance(payload, dict):
        raise SignatureError("MALFORMED", "payload is not a JSON object")
    return header, payload


def keys_from_jwks(jwks: dict[str, Any]) -> dict[str, JoseKey]:
    """kid → key for every ES256 P-256 signing key in a JWKS document; others are ignored."""
    keys: dict[str, JoseKey] = {}
    for entry in jwks.get("keys", []) if isinstance(jwks, dict) else []:
        if not isinstance(entry, dict):
            continue
        if entry.get("kty") != "EC" or entry.get("crv") != "P-256":
            continue
        if entry.get("alg", ALGORITHM) != ALGORITHM or entry.get("use", "sig") != "sig":
            continue
        try:
            kid = entry.get("kid") or jwk_thumbprint(entry)
            keys[str(kid)] = construct_public_key(entry)
        except (JOSEError, KeyError, ValueError, TypeError):
            continue
    return keys
