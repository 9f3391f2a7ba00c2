"""Cross-cutting checks over every route the app serves, so new routes cannot slip past them.

- every route outside a short public list refuses a request without credentials;
- no route answers 5xx to malformed input, whoever sends it;
- every error is `application/problem+json` with a `code` (the token endpoint's are RFC 6749
  §5.2 `application/json`, with `error` beside the problem members).
"""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

# (method, path) pairs anyone may call without a credential, and why.
PUBLIC = {
    ("GET", "/healthz"),  # liveness probe
    ("GET", "/readyz"),  # readiness probe
    ("GET", "/.well-known/jwks.json"),  # public keys for offline verification
    ("GET", "/v1/schemas/consent-receipt"),  # the JSON Schema receipts follow
    ("POST", "/v1/holders"),  # self-registration
    ("POST", "/v1/estates"),  # an executor registers an estate (acts only once approved)
    ("POST", "/v1/auth/token"),  # login
    ("POST", "/v1/auth/confirm-email"),  # the mailed link's single-use token is the credential
    ("POST", "/v1/auth/password-reset"),  # asking for a link (same answer for any address)
    ("POST", "/v1/auth/password-reset/confirm"),  # the mailed link's single-use token
    ("POST", "/v1/invitations/decline"),  # the invitation mail's single-use token
    ("POST", "/v1/licences/verify"),  # anyone may check a licence
    ("POST", "/v1/provenance/verify"),  # anyone may check a file's manifest and licence
    ("GET", "/v1/status-lists/{status_list_id}"),  # offline verifiers fetch it
    ("GET", "/v1/status-lists/{list_id}"),
    ("GET", "/v1/status-lists/{id}"),
    # The audit log's note verifier key is a public key, for witnesses and monitors.
    ("GET", "/v1/audit/checkpoint/verifier-key"),
    # Witnesses' cosignatures: authenticated by the cosignature (a configured witness's key).
    ("POST", "/v1/audit/checkpoint/cosignatures"),
    ("GET", "/problems"),  # the pages that problem `type` URIs name
    ("GET", "/problems/{code}"),
}

JUNK_BODIES = [
    b"",
    b"{",
    b"null",
    b"[]",
    b'"text"',
    b"12345678901234567890123456789",
    b'{"a": ' * 50 + b"1" + b"}" * 50,
    '{"\u0000": "\ud800"}'.encode("utf-8", "surrogatepass"),
    b"\xff\xfe\xfd",
    b'{"name": "nul\\u0000inside", "reason": "\\u0000", "kind": "studio"}',
]
JUNK_IDS = ["x", "hld_" + "a" * 24, "%00", "..%2F..%2Fetc", "a" * 300, "' OR 1=1 --"]


def _routes(app) -> list[tuple[str, str]]:
    """Every (method, path) of the OpenAPI document: the routes clients can see."""
    out = []
    for path, operations in app.openapi()["paths"].items():
        for method in operations:
            if method.upper() in {"GET", "POST", "PUT", "PATCH", "DELETE"}:
                out.append((method.upper(), path))
    return out


def _documented_errors(app, method: str, path: str) -> set[int]:
    responses = app.openapi()["paths"][path][method.lower()]["responses"]
    return {int(s) for s in responses if s[0] in "45"}


def _fill(path: str, value: str) -> str:
    return re.sub(r"\{[^}]+\}", value, path)


def test_every_non_public_route_requires_a_credential(client: TestClient, app):
    checked = 0
    for method, path in _routes(app):
        if (method, path) in PUBLIC:
            continue
        r = client.request(method, _fill(path, "hld_aaaaaaaaaaaaaaaaaaaaaaaa"), json={})
        assert r.status_code in (401, 404), (method, path, r.status_code, r.text[:200])
        assert r.status_code in _documented_errors(app, method, path), (method, path)
        if r.status_code == 401:
            assert r.json()["code"] == "unauthenticated"
        checked += 1
    assert checked >= 5


@pytest.mark.parametrize("who", ["anonymous", "admin", "studio", "holder"])
def test_no_route_answers_5xx_to_junk(client: TestClient, app, who, request):
    headers: dict[str, str] = {}
    if who == "admin":
        headers = request.getfixturevalue("admin_headers")
    elif who == "studio":
        headers = request.getfixturevalue("studio").headers
    elif who == "holder":
        headers = request.getfixturevalue("holder").headers
    for method, path in _routes(app):
        for junk_id in JUNK_IDS[:3] if who != "admin" else JUNK_IDS:
            url = _fill(path, junk_id)
            bodies = JUNK_BODIES if method in ("POST", "PUT", "PATCH") else [b""]
            for body in bodies:
                r = client.request(
                    method,
                    url,
                    content=body,
                    headers={**headers, "content-type": "application/json"},
                    params={"limit": "-1", "cursor": "%%%", "after": "x", "seq": "-5"},
                )
                assert r.status_code < 500, (who, method, url, body[:40], r.text[:300])
                if r.status_code >= 400:
                    # The OpenAPI document lists every error a route was seen to give.
                    assert r.status_code in _documented_errors(app, method, path), (
                        who,
                        method,
                        url,
                        r.status_code,
                    )
                    media = "application/problem+json"
                    if path == "/v1/auth/token" and r.status_code == 400:
                        media = "application/json"
                        assert "error" in r.json()
                    assert r.headers["content-type"].startswith(media), (
                        method,
                        url,
                        r.headers["content-type"],
                    )
                    assert "code" in r.json()
