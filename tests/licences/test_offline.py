"""Offline verification: an independent JOSE library, the CLI from files and from the issuer."""

from __future__ import annotations

import json
import subprocess
import sys
import zlib
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import jwt
from fastapi.testclient import TestClient

from consent_service.crypto.signer import Signer
from consent_service.licences.service import OnlineVerifier
from tests.conftest import Org
from tests.licences.conftest import Grant

Issue = Callable[..., dict[str, Any]]


def run_cli(*args: str) -> tuple[int, dict[str, Any]]:
    result = subprocess.run(
        [sys.executable, "-m", "consent_service.cli", "verify", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = result.stdout.strip().splitlines()
    assert lines, result.stderr
    return result.returncode, dict(json.loads(lines[-1]))


def test_pyjwt_verifies_licences_and_status_lists_from_the_jwks_alone(
    client: TestClient, grant: Grant, issue: Issue
):
    issued = issue(grant)
    jwks = jwt.PyJWKSet.from_dict(client.get("/.well-known/jwks.json").json())
    header = jwt.get_unverified_header(issued["token"])
    assert header["typ"] == "licence+jwt"
    key = next(k for k in jwks.keys if k.key_id == header["kid"])
    claims = jwt.decode(
        issued["token"],
        key=key,
        algorithms=["ES256"],
        audience=grant.studio.id,
        issuer="http://testserver",
        options={"require": ["exp", "nbf", "iat", "iss", "aud", "sub", "jti"]},
    )
    assert claims["jti"] == issued["id"] and claims["consent"] == grant.id
    # `aud` is a plain string naming the studio: PyJWT's own audience check binds it too.
    try:
        jwt.decode(issued["token"], key=key, algorithms=["ES256"], audience="org_another")
    except jwt.InvalidAudienceError:
        pass
    else:
        raise AssertionError("a licence verified for another audience")
    # A tampered token does not verify with PyJWT either.
    head, payload, sig = issued["token"].split(".")
    flipped = sig[:-2] + ("AA" if sig[-2:] != "AA" else "BB")
    try:
        jwt.decode(
            f"{head}.{payload}.{flipped}", key=key, algorithms=["ES256"], audience=grant.studio.id
        )
    except jwt.InvalidSignatureError:
        pass
    else:
        raise AssertionError("tampered licence verified")

    # Withdraw, then read the licence's entry from the status list with PyJWT and zlib only.
    client.post(f"/v1/consents/{grant.id}/withdraw", json={}, headers=grant.holder.headers)
    ref = claims["status"]["status_list"]
    status_token = client.get(ref["uri"].removeprefix("http://testserver")).text
    assert jwt.get_unverified_header(status_token)["typ"] == "statuslist+jwt"
    status_claims = jwt.decode(
        status_token, key=key, algorithms=["ES256"], options={"require": ["exp", "iat", "sub"]}
    )
    assert status_claims["sub"] == ref["uri"]
    lst = status_claims["status_list"]["lst"]
    data = zlib.decompress(jwt.utils.base64url_decode(lst))
    bits = status_claims["status_list"]["bits"]
    value = (data[ref["idx"] * bits // 8] >> ((ref["idx"] * bits) % 8)) & ((1 << bits) - 1)
    assert value == 1


def test_cli_verifies_from_files_and_sees_a_withdrawal_after_refetching(
    client: TestClient, grant: Grant, issue: Issue, tmp_path: Path
):
    issued = issue(grant)
    jwks_file, status_file = tmp_path / "jwks.json", tmp_path / "status.jwt"
    uri = issued["status_list"]["uri"].removeprefix("http://testserver")

    def fetch() -> None:
        jwks_file.write_text(client.get("/.well-known/jwks.json").text)
        status_file.write_text(client.get(uri).text)

    fetch()
    files = ("--jwks", str(jwks_file), "--status-list", str(status_file))
    code, verdict = run_cli(issued["token"], "--any-use", *files)
    assert (code, verdict["code"], verdict["use_checked"]) == (0, "VALID", False)
    code, verdict = run_cli(issued["token"], "--use", "attribute=voice", *files)
    assert (code, verdict["code"]) == (1, "SCOPE_MISMATCH")
    files = ("--any-use", *files)

    client.post(f"/v1/consents/{grant.id}/withdraw", json={}, headers=grant.holder.headers)
    code, verdict = run_cli(issued["token"], *files)
    assert (code, verdict["code"]) == (0, "VALID")  # the old list, as fetched before
    fetch()
    code, verdict = run_cli(issued["token"], *files)
    assert (code, verdict["code"]) == (1, "REVOKED")

    code, verdict = run_cli("not-a-licence", *files)
    assert (code, verdict["code"]) == (1, "MALFORMED")
    code, verdict = run_cli(issued["token"], "--any-use", "--jwks", str(jwks_file))
    assert code == 2 and verdict["error"] == "cannot_check"
    code, verdict = run_cli(
        issued["token"],
        "--any-use",
        "--jwks",
        str(tmp_path / "missing.json"),
        "--status-list",
        str(status_file),
    )
    assert code == 2


def test_cli_binds_the_check_to_the_audience_and_a_use(
    client: TestClient,
    grant: Grant,
    issue: Issue,
    tmp_path: Path,
    make_org: Callable[..., Org],
):
    token = issue(grant)["token"]
    jwks_file, status_file = tmp_path / "jwks.json", tmp_path / "status.jwt"
    jwks_file.write_text(client.get("/.well-known/jwks.json").text)
    claims = jwt.decode(token, options={"verify_signature": False})
    status_uri = claims["status"]["status_list"]["uri"].removeprefix("http://testserver")
    status_file.write_text(client.get(status_uri).text)
    files = ("--jwks", str(jwks_file), "--status-list", str(status_file))
    use = "attribute=face,purpose=film_tv,territory=GB,medium=streaming"
    mine, other = grant.studio.id, make_org().id

    # Without --use the command will not say VALID, whatever the licence: exit 3.
    result = subprocess.run(
        [sys.executable, "-m", "consent_service.cli", "verify", token, *files],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 3, result.stdout + result.stderr
    assert json.loads(result.stdout)["error"] == "use_required"
    assert "--any-use" in result.stderr
    # --use and --any-use together are bad arguments (2).
    code, verdict = run_cli(token, "--use", use, "--any-use", *files)
    assert (code, verdict["error"]) == (2, "cannot_check")

    code, verdict = run_cli(token, "--use", use, "--audience", mine, *files)
    assert (code, verdict["code"], verdict["use_checked"]) == (0, "VALID", True)
    code, verdict = run_cli(token, "--use", use, "--audience", other, *files)
    assert (code, verdict["code"]) == (1, "AUDIENCE_MISMATCH")
    code, verdict = run_cli(token, "--any-use", "--audience", other, *files)
    assert (code, verdict["code"]) == (1, "AUDIENCE_MISMATCH")
    code, verdict = run_cli(token, "--any-use", "--audience", " ", *files)
    assert (code, verdict["error"]) == (2, "cannot_check")
    # All three together, as in docs/studios.md; the test holder is self-asserted.
    code, verdict = run_cli(
        token, "--use", use, "--audience", mine, "--min-assurance", "self_asserted", *files
    )
    assert (code, verdict["code"]) == (0, "VALID")
    code, verdict = run_cli(
        token, "--use", use, "--audience", mine, "--min-assurance", "document_verified", *files
    )
    assert (code, verdict["code"]) == (1, "INSUFFICIENT_ASSURANCE")


def test_cli_fetches_from_the_issuer(live_server: str, app: Any, grant: Grant):
    # Licences name the issuer they were signed for: serve this app as that issuer.
    services = app.state.services
    signer = Signer(keyring=services.keyring, issuer=live_server, operator=services.signer.operator)
    app.state.services = replace(
        services,
        settings=services.settings.model_copy(update={"issuer": live_server}),
        signer=signer,
        online_verifier=OnlineVerifier(engine=services.read_engine, signer=signer),
    )
    r = httpx.post(
        f"{live_server}/v1/licences",
        json={
            "consent_id": grant.id,
            "scope": {
                "attributes": ["face"],
                "purposes": ["film_tv"],
                "territories": ["GB"],
                "media": ["streaming"],
            },
        },
        headers=grant.studio.headers,
    )
    assert r.status_code == 201, r.text
    token = r.json()["token"]
    code, verdict = run_cli(token, "--any-use", "--issuer", live_server)
    assert (code, verdict["code"]) == (0, "VALID")
    # The holder's access token names the old issuer: log in again.
    login = httpx.post(
        f"{live_server}/v1/auth/token",
        data={
            "grant_type": "password",
            "username": grant.holder.email,
            "password": grant.holder.password,
        },
    )
    holder_headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    httpx.post(
        f"{live_server}/v1/consents/{grant.id}/withdraw", json={}, headers=holder_headers
    ).raise_for_status()
    code, verdict = run_cli(token, "--any-use", "--issuer", live_server)
    assert (code, verdict["code"]) == (1, "REVOKED")
    code, verdict = run_cli(token, "--any-use", "--issuer", "http://127.0.0.1:9")
    assert code == 2


def test_expiring_consents_from_the_cli_revokes_their_licences(
    client: TestClient, make_grant: Callable[..., Grant], issue: Issue, settings: Any
):
    import os
    import time
    from datetime import UTC, datetime, timedelta

    ends = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=3)
    grant = make_grant(valid_until=ends.isoformat())
    issued = issue(grant)
    time.sleep(max(0.0, (ends - datetime.now(UTC)).total_seconds()) + 1)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONSENT_")}
    env.update(
        {
            "CONSENT_DATABASE_URL": settings.database_url,
            "CONSENT_DATA_DIR": str(settings.data_dir),
            "CONSENT_MASTER_KEY": settings.master_key.get_secret_value(),
            "CONSENT_ISSUER": settings.issuer,
        }
    )
    result = subprocess.run(
        [sys.executable, "-m", "consent_service.cli", "consents", "expire"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert grant.id in result.stdout
    record = client.get(f"/v1/licences/{issued['id']}", headers=grant.studio.headers).json()
    assert record["status"] == "revoked" and record["revocation_cause"] == "consent_expired"
