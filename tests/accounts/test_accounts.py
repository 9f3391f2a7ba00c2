"""Organizations, API keys, password login and authorisation, through the HTTP API."""

from __future__ import annotations

from dataclasses import replace

from fastapi.testclient import TestClient

from consent_service.accounts import passwords
from tests.conftest import bearer


def test_admin_creates_a_studio_and_its_key_authenticates(client: TestClient, admin_headers):
    r = client.post(
        "/v1/organizations", json={"name": "Acme Pictures", "kind": "studio"}, headers=admin_headers
    )
    assert r.status_code == 201
    org = r.json()
    assert org["id"].startswith("org_") and org["kind"] == "studio"

    r = client.post(
        f"/v1/organizations/{org['id']}/api-keys",
        json={"name": "render farm"},
        headers=admin_headers,
    )
    assert r.status_code == 201
    key = r.json()["key"]
    assert key.startswith("csk_")

    listed = client.get(f"/v1/organizations/{org['id']}/api-keys", headers=admin_headers).json()
    assert [k["id"] for k in listed["items"]] == [r.json()["id"]]
    assert "key" not in listed["items"][0], "the key is shown once, at creation only"


def test_revoked_api_key_is_refused_with_401(client: TestClient, admin_headers, studio):
    assert client.get("/v1/holders/hld_x", headers=studio.headers).status_code == 404
    key_id = client.get(f"/v1/organizations/{studio.id}/api-keys", headers=admin_headers).json()[
        "items"
    ][0]["id"]
    r = client.delete(f"/v1/organizations/{studio.id}/api-keys/{key_id}", headers=admin_headers)
    assert r.status_code == 204
    r = client.get("/v1/holders/hld_x", headers=studio.headers)
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "unauthenticated"


def test_unknown_and_malformed_credentials_are_401(client: TestClient):
    for header in ("Bearer csk_not-a-key", "Bearer not.a.jwt", "Basic abc", "Bearer "):
        r = client.get("/v1/holders/hld_x", headers={"Authorization": header})
        assert r.status_code == 401, header
        assert r.json()["code"] == "unauthenticated"
    assert client.get("/v1/holders/hld_x").status_code == 401


def test_non_admins_cannot_manage_organizations(client: TestClient, studio, holder):
    for headers in (studio.headers, holder.headers):
        r = client.post("/v1/organizations", json={"name": "x", "kind": "studio"}, headers=headers)
        assert r.status_code == 404
        assert client.get("/v1/organizations", headers=headers).status_code == 404


def test_login_with_wrong_password_and_unknown_email_look_the_same(
    client: TestClient, holder, monkeypatch
):
    calls: list[str] = []
    real = passwords._hasher

    class Spy(type(real)):  # type: ignore[misc]
        def verify(self, hash_, password):  # noqa: ANN001
            calls.append(hash_)
            return super().verify(hash_, password)

    monkeypatch.setattr(
        passwords, "_hasher", Spy(time_cost=real.time_cost, memory_cost=real.memory_cost)
    )
    wrong = client.post(
        "/v1/auth/token",
        data={"grant_type": "password", "username": holder.email, "password": "nope"},
    )
    unknown = client.post(
        "/v1/auth/token",
        data={"grant_type": "password", "username": "nobody@example.org", "password": "nope"},
    )
    assert wrong.status_code == unknown.status_code == 400
    assert wrong.json() == unknown.json()
    assert wrong.json()["error"] == "invalid_grant"
    # Same work on both paths: exactly one argon2 verification each.
    assert len(calls) == 2


def test_access_token_is_an_es256_jwt_bound_to_this_service(client: TestClient, holder):
    import base64
    import json

    header = json.loads(base64.urlsafe_b64decode(holder.token.split(".")[0] + "=="))
    assert header["alg"] == "ES256" and header["typ"] == "at+jwt"
    # A token with a flipped signature byte is refused.
    head, payload, sig = holder.token.split(".")
    forged = f"{head}.{payload}.{sig[:-2]}{'AA' if sig[-2:] != 'AA' else 'BB'}"
    assert client.get(f"/v1/holders/{holder.id}", headers=bearer(forged)).status_code == 401


def test_login_form_is_validated(client: TestClient):
    # RFC 6749 §5.2: a missing parameter is `invalid_request`, a 400.
    r = client.post("/v1/auth/token", data={"grant_type": "password", "username": "a@b.c"})
    assert r.status_code == 400
    assert r.json()["error"] == r.json()["code"] == "invalid_request"
    assert r.json()["missing"] == ["password"]


def test_password_guessing_is_throttled_per_account_and_per_address(
    client: TestClient, app, holder
):
    from consent_service.ops.rate_limit import LoginRateLimiters, RateLimiter

    def limit(by_address: int, by_account: int) -> None:
        app.state.services = replace(
            app.state.services,
            login_rate_limiters=LoginRateLimiters(
                by_address=RateLimiter(by_address), by_account=RateLimiter(by_account)
            ),
        )

    limit(1000, 3)
    for _ in range(3):
        r = client.post(
            "/v1/auth/token",
            data={"grant_type": "password", "username": holder.email, "password": "nope"},
        )
        assert r.status_code == 400
    # The account is throttled, even with the right password, and unknown emails alike.
    r = client.post(
        "/v1/auth/token",
        data={
            "grant_type": "password",
            "username": holder.email.upper(),
            "password": holder.password,
        },
    )
    assert r.status_code == 429 and r.json()["code"] == "rate_limited"
    assert r.json()["retry_after_seconds"] >= 1
    assert r.headers["Retry-After"] == str(r.json()["retry_after_seconds"])
    other = client.post(
        "/v1/auth/token",
        data={"grant_type": "password", "username": "someone@example.org", "password": "nope"},
    )
    assert other.status_code == 400, "another account is not affected"

    limit(2, 1000)
    codes = [
        client.post(
            "/v1/auth/token",
            data={"grant_type": "password", "username": f"u{i}@example.org", "password": "x"},
        ).status_code
        for i in range(3)
    ]
    assert codes == [400, 400, 429], "one address trying many accounts is throttled too"
