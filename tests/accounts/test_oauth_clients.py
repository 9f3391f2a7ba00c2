"""The token endpoint as OAuth 2.0 libraries see it (RFC 6749 §4.3 and §5, RFC 9068).

authlib and requests-oauthlib talk to a live server on loopback over real HTTP: a sign-in, a
wrong password, a grant type the service does not offer and a refused second factor, each
read the way the library reads it.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pyotp
import pytest
from authlib.integrations.requests_client import OAuth2Session as AuthlibSession
from authlib.integrations.requests_client import OAuthError
from fastapi.testclient import TestClient
from oauthlib.oauth2 import InvalidGrantError, LegacyApplicationClient, UnsupportedGrantTypeError
from requests_oauthlib import OAuth2Session as RequestsOAuthSession

from tests.auditors.conftest import AuditorPerson, enable_totp, make_auditor, wrong_code  # noqa: F401


@pytest.fixture(autouse=True)
def _plain_http_on_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    # oauthlib refuses http:// unless told; the live server is on loopback, without TLS.
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")


def _claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def test_authlib_signs_in_and_gets_an_rfc9068_token(live_server: str, holder):
    with AuthlibSession(client_id="studio-pipeline") as oauth:
        token = oauth.fetch_token(
            f"{live_server}/v1/auth/token", username=holder.email, password=holder.password
        )
    assert token["token_type"] == "bearer" and token["expires_in"] > 0
    claims = _claims(token["access_token"])
    assert claims["client_id"] == "studio-pipeline"
    assert {"iss", "sub", "aud", "exp", "iat", "jti"} <= claims.keys()
    # The token works as a bearer credential.
    me = httpx.get(
        f"{live_server}/v1/holders/{holder.id}",
        headers={"Authorization": f"Bearer {token['access_token']}"},
    )
    assert me.status_code == 200


def test_authlib_reads_a_wrong_password_as_invalid_grant(live_server: str, holder):
    with AuthlibSession(client_id="studio-pipeline") as oauth:
        with pytest.raises(OAuthError) as caught:
            oauth.fetch_token(
                f"{live_server}/v1/auth/token", username=holder.email, password="not it"
            )
    assert caught.value.error == "invalid_grant"


def test_authlib_reads_an_unsupported_grant_type(live_server: str, holder):
    with AuthlibSession(client_id="studio-pipeline") as oauth:
        with pytest.raises(OAuthError) as caught:
            oauth.fetch_token(f"{live_server}/v1/auth/token", grant_type="client_credentials")
    assert caught.value.error == "unsupported_grant_type"


def test_requests_oauthlib_signs_in_with_the_legacy_application_client(live_server: str, holder):
    oauth = RequestsOAuthSession(client=LegacyApplicationClient(client_id="render-farm"))
    token = oauth.fetch_token(
        f"{live_server}/v1/auth/token",
        username=holder.email,
        password=holder.password,
        include_client_id=True,
    )
    assert _claims(token["access_token"])["client_id"] == "render-farm"
    assert oauth.get(f"{live_server}/v1/holders/{holder.id}").status_code == 200


def test_requests_oauthlib_sends_the_client_id_by_basic_auth(live_server: str, holder):
    # Without include_client_id, requests-oauthlib authenticates the client with HTTP Basic
    # (client id, empty secret): the id is read from there.
    oauth = RequestsOAuthSession(client=LegacyApplicationClient(client_id="render-farm"))
    token = oauth.fetch_token(
        f"{live_server}/v1/auth/token", username=holder.email, password=holder.password
    )
    assert _claims(token["access_token"])["client_id"] == "render-farm"


def test_requests_oauthlib_reads_a_wrong_password_as_invalid_grant(live_server: str, holder):
    oauth = RequestsOAuthSession(client=LegacyApplicationClient(client_id="render-farm"))
    with pytest.raises(InvalidGrantError):
        oauth.fetch_token(
            f"{live_server}/v1/auth/token",
            username=holder.email,
            password="not it",
            include_client_id=True,
        )


def test_requests_oauthlib_reads_an_unsupported_grant_type(live_server: str, holder):
    class ClientCredentialsAsked(LegacyApplicationClient):
        grant_type = "client_credentials"

    oauth = RequestsOAuthSession(client=ClientCredentialsAsked(client_id="render-farm"))
    with pytest.raises(UnsupportedGrantTypeError):
        oauth.fetch_token(
            f"{live_server}/v1/auth/token",
            username=holder.email,
            password=holder.password,
            include_client_id=True,
        )


def test_token_responses_are_never_cached_and_errors_are_rfc6749_json(live_server: str, holder):
    ok = httpx.post(
        f"{live_server}/v1/auth/token",
        data={"grant_type": "password", "username": holder.email, "password": holder.password},
    )
    assert ok.status_code == 200 and ok.headers["cache-control"] == "no-store"
    assert _claims(ok.json()["access_token"])["client_id"] == "public"
    wrong = httpx.post(
        f"{live_server}/v1/auth/token",
        data={"grant_type": "password", "username": holder.email, "password": "no"},
    )
    assert wrong.status_code == 400 and wrong.headers["cache-control"] == "no-store"
    assert wrong.headers["content-type"] == "application/json"
    body = wrong.json()
    assert body["error"] == "invalid_grant" and body["code"] == "invalid_grant"
    assert body["status"] == 400 and body["error_description"]
    other = httpx.post(
        f"{live_server}/v1/auth/token",
        data={"grant_type": "authorization_code", "code": "x", "username": holder.email},
    )
    assert (other.status_code, other.json()["error"]) == (400, "unsupported_grant_type")
    bad_client = httpx.post(
        f"{live_server}/v1/auth/token",
        data={
            "grant_type": "password",
            "username": holder.email,
            "password": holder.password,
            "client_id": "a b",
        },
    )
    assert (bad_client.status_code, bad_client.json()["error"]) == (400, "invalid_request")
    too_long = httpx.post(
        f"{live_server}/v1/auth/token",
        data={"grant_type": "password", "username": "a" * 321, "password": "x"},
    )
    assert (too_long.status_code, too_long.json()["error"]) == (400, "invalid_request")


def test_a_missing_grant_type_is_invalid_request_not_a_password_grant(live_server: str, holder):
    # RFC 6749 §4.3.2: grant_type is REQUIRED; §5.2: a missing parameter is invalid_request.
    for data in (
        {"username": holder.email, "password": holder.password},
        {"grant_type": "", "username": holder.email, "password": holder.password},
    ):
        r = httpx.post(f"{live_server}/v1/auth/token", data=data)
        assert r.status_code == 400, r.text
        assert r.headers["cache-control"] == "no-store"
        assert r.headers["content-type"] == "application/json"
        body = r.json()
        assert (body["error"], body["code"], body["missing"]) == (
            "invalid_request",
            "invalid_request",
            ["grant_type"],
        )
        assert "access_token" not in body


def test_oauth_clients_read_second_factor_refusals_as_invalid_grant(
    live_server: str,
    client: TestClient,
    make_auditor: Callable[..., AuditorPerson],  # noqa: F811
) -> None:
    person = make_auditor()
    secret = enable_totp(client, person)
    url = f"{live_server}/v1/auth/token"
    with AuthlibSession(client_id="audit-tool") as oauth:
        with pytest.raises(OAuthError) as missing:
            oauth.fetch_token(url, username=person.email, password=person.password)
        with pytest.raises(OAuthError) as wrong:
            oauth.fetch_token(
                url, username=person.email, password=person.password, totp=wrong_code(secret)
            )
    assert missing.value.error == wrong.value.error == "invalid_grant"
    # The next step's code (the current one confirmed the factor) signs in, once.
    code = pyotp.TOTP(secret).at(time.time(), counter_offset=1)
    with AuthlibSession(client_id="audit-tool") as oauth:
        token = oauth.fetch_token(url, username=person.email, password=person.password, totp=code)
    assert _claims(token["access_token"])["client_id"] == "audit-tool"
    requests_client = RequestsOAuthSession(client=LegacyApplicationClient(client_id="audit-tool"))
    with pytest.raises(InvalidGrantError) as reused:
        requests_client.fetch_token(
            url, username=person.email, password=person.password, totp=code, include_client_id=True
        )
    assert "already used" in reused.value.description
