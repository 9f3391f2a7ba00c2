"""HTTP details clients and browsers rely on (RFC 9110, RFC 9457, CORS, compression)."""

from __future__ import annotations

import re

import httpx
from fastapi.testclient import TestClient

from consent_service.errors import known_problems


def _routes(app) -> list[tuple[str, str]]:
    return [
        (m.upper(), p) for p, item in app.openapi()["paths"].items() for m in item if m != "head"
    ]


def test_405_keeps_the_allow_header(client: TestClient):
    r = client.delete("/.well-known/jwks.json")
    assert r.status_code == 405
    assert r.headers["content-type"].startswith("application/problem+json")
    assert set(r.headers["allow"].split(", ")) == {"GET", "HEAD"}
    r = client.put("/v1/licences/verify", json={})
    assert (r.status_code, r.headers["allow"]) == (405, "POST")


def test_head_works_on_every_get(client: TestClient, app, admin_headers):
    for method, path in _routes(app):
        if method != "GET":
            continue
        url = re.sub(r"\{[^}]+\}", "x", path)
        get = client.get(url, headers=admin_headers)
        head = client.head(url, headers=admin_headers)
        assert head.status_code == get.status_code, (path, head.status_code, get.status_code)
        assert head.content == b"", path
        assert head.headers["content-type"] == get.headers["content-type"], path


def test_head_keeps_the_length_of_the_get(live_server: str):
    get = httpx.get(f"{live_server}/.well-known/jwks.json")
    head = httpx.head(f"{live_server}/.well-known/jwks.json")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == get.headers["content-length"]


def test_problem_types_are_absolute_and_resolve_to_a_page(client: TestClient, settings):
    problems = [
        client.get("/v1/consents/cns_nothing", headers={"Authorization": "Bearer nope"}),
        client.post("/v1/organizations", content=b"{", headers={"content-type": "x"}),
        client.get("/v1/nothing-here"),
        client.post(
            "/v1/auth/token", data={"grant_type": "password", "username": "a@b.c", "password": "x"}
        ),
    ]
    for r in problems:
        body = r.json()
        assert body["type"] == f"{settings.issuer}/problems/{body['code']}", body
        page = client.get(body["type"].removeprefix(settings.issuer))
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert body["code"] in page.text
    # Every code the service declares has its page, with its status.
    for code, cls in known_problems().items():
        page = client.get(f"/problems/{code}")
        assert page.status_code == 200 and f"HTTP status {cls.status}" in page.text, code
    index = client.get("/problems")
    assert index.status_code == 200 and "not_found" in index.text
    assert client.get("/problems/no_such_code").status_code == 404


def test_a_rule_refusal_points_to_the_rule_violation_page(client: TestClient, settings, studio):
    r = client.post(
        "/v1/consent-requests",
        json={"holder_id": "hld_x", "terms": {}},
        headers=studio.headers,
    )
    assert r.status_code in (404, 422)
    page = client.get(r.json()["type"].removeprefix(settings.issuer))
    assert page.status_code == 200
