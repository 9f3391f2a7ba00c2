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


def _json_body_routes(app) -> list[tuple[str, str]]:
    """The (method, path) pairs whose documented body is JSON."""
    out = []
    for method, path in _routes(app):
        op = app.openapi()["paths"][path][method.lower()]
        if "application/json" in op.get("requestBody", {}).get("content", {}):
            out.append((method, path))
    return out


@pytest.mark.parametrize("who", ["anonymous", "admin"])
def test_a_text_plain_body_on_a_json_route_is_a_documented_415(
    client: TestClient, app, who, request
):
    headers = request.getfixturevalue("admin_headers") if who == "admin" else {}
    routes = _json_body_routes(app)
    assert len(routes) >= 30
    for method, path in routes:
        r = client.request(
            method,
            _fill(path, "hld_aaaaaaaaaaaaaaaaaaaaaaaa"),
            content=b'{"name": "x"}',
            headers={**headers, "content-type": "text/plain"},
        )
        assert r.status_code == 415, (who, method, path, r.status_code, r.text[:200])
        assert r.json()["code"] == "unsupported_media_type"
        assert 415 in _documented_errors(app, method, path), (method, path)


def test_a_body_over_the_limit_is_a_documented_413_on_every_body_route(
    client: TestClient, app, admin_headers
):
    # The declared length is enough: the limit is checked before a byte of the body is read
    # (ops/middleware.py), on every route, uploads included (their limits are higher).
    checked = 0
    for method, path in _routes(app):
        if method not in ("POST", "PUT", "PATCH"):
            continue
        r = client.request(
            method,
            _fill(path, "hld_aaaaaaaaaaaaaaaaaaaaaaaa"),
            content=b"{}",
            headers={**admin_headers, "content-length": str(10**12)},
        )
        assert r.status_code == 413, (method, path, r.status_code, r.text[:200])
        assert r.json()["code"] == "payload_too_large"
        assert 413 in _documented_errors(app, method, path), (method, path)
        checked += 1
    assert checked >= 40


def test_with_a_wrong_master_key_every_503_a_route_answers_is_documented(
    client: TestClient, app, settings, admin_headers, studio, holder
):
    """Routes that reach the service's keys answer 503 `master_key_unusable` when the master
    key does not open them (ops/startup.py); each must say so in the document."""
    import base64
    import secrets

    from pydantic import SecretStr

    from consent_service.main import create_app

    wrong = base64.b64encode(secrets.token_bytes(32)).decode()
    broken = create_app(settings.model_copy(update={"master_key": SecretStr(wrong)}))
    seen: set[tuple[str, str]] = set()
    try:
        with TestClient(broken, raise_server_exceptions=False) as other:
            callers = [{}, admin_headers, studio.headers, holder.headers]
            for method, path in _routes(app):
                for headers in callers:
                    kwargs: dict = {"json": {}}
                    if path == "/v1/auth/token":
                        kwargs = {
                            "data": {
                                "grant_type": "password",
                                "username": holder.email,
                                "password": holder.password,
                            }
                        }
                    r = other.request(
                        method,
                        _fill(path, "hld_aaaaaaaaaaaaaaaaaaaaaaaa"),
                        headers=headers,
                        **kwargs,
                    )
                    assert r.status_code != 500, (method, path, r.text[:200])
                    if r.status_code == 503 and path != "/readyz":
                        assert r.headers["content-type"] == "application/problem+json"
                        assert r.json()["code"] == "master_key_unusable", (method, path)
                        assert 503 in _documented_errors(app, method, path), (method, path)
                        seen.add((method, path))
    finally:
        broken.state.services.close()
    # The check reached the routes that need keys: sign-in (a keyed email index), the log's
    # signed checkpoint and export.
    assert {
        ("POST", "/v1/auth/token"),
        ("GET", "/v1/audit/checkpoint"),
        ("GET", "/v1/audit/export"),
    } <= seen, seen
