"""Licences through the HTTP API: issuance rules, claims, cascade, revocation, visibility."""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from consent_service.licences.verifier import StatusList, decode_lst
from consent_service.ops.rate_limit import RateLimiter
from tests.conftest import HolderAccount, Org
from tests.licences.conftest import Grant, licence_scope

Issue = Callable[..., dict[str, Any]]


def b64json(part: str) -> dict[str, Any]:
    return dict(json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))))


def verify(client: TestClient, token: str, use: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"token": token}
    if use is not None:
        body["use"] = use
    r = client.post("/v1/licences/verify", json=body)
    assert r.status_code == 200, r.text
    return dict(r.json())


def list_status(client: TestClient, uri: str, idx: int) -> int:
    r = client.get(uri.removeprefix("http://testserver"))
    assert r.status_code == 200, r.text
    claims = b64json(r.text.split(".")[1])
    body = claims["status_list"]
    return StatusList(
        claims["sub"], body["bits"], decode_lst(body["lst"]), 0, None, None
    ).status_at(idx)


def test_studio_gets_a_signed_licence_with_the_designed_claims(
    client: TestClient, grant: Grant, issue: Issue
):
    issued = issue(grant)
    assert issued["status"] == "active" and issued["id"].startswith("lic_")
    header_part, claims_part, _sig = issued["token"].split(".")
    header, claims = b64json(header_part), b64json(claims_part)
    assert header["alg"] == "ES256" and header["typ"] == "licence+jwt" and header["kid"]
    assert claims["iss"] == "http://testserver"
    assert claims["sub"] == grant.holder.id and claims["aud"] == grant.studio.id
    assert claims["jti"] == issued["id"] and claims["consent"] == grant.id
    assert claims["nbf"] <= claims["iat"] < claims["exp"]
    assert claims["exp"] <= datetime.fromisoformat(grant.body["valid_until"]).timestamp()
    assert claims["scope"]["attributes"] == ["face"] and claims["scope"]["project"] == "Night Train"
    assert "sexual_content" in claims["scope"]["prohibited_uses"]
    ref = claims["status"]["status_list"]
    assert ref == issued["status_list"]
    assert ref["uri"].startswith("http://testserver/v1/status-lists/sl_")
    verdict = verify(client, issued["token"])
    assert verdict["valid"] is True and verdict["code"] == "VALID"
    assert verdict["licence_id"] == issued["id"] and verdict["holder_id"] == grant.holder.id
    assert verdict["studio_id"] == grant.studio.id and verdict["consent_id"] == grant.id
    assert verdict["scope"]["territories"] == ["GB"]


@pytest.mark.parametrize(
    "scope",
    [
        licence_scope(attributes=["body"]),
        licence_scope(purposes=["ai_training"]),
        licence_scope(territories=["GB", "US"]),
        licence_scope(territories=["WORLDWIDE"]),
        licence_scope(media=["broadcast"]),
        licence_scope(project="Another Film"),
    ],
    ids=["attribute", "purpose", "territory", "worldwide", "medium", "project"],
)
def test_issuance_refuses_a_scope_beyond_the_consent(
    client: TestClient, grant: Grant, scope: dict[str, Any]
):
    r = client.post(
        "/v1/licences", json={"consent_id": grant.id, "scope": scope}, headers=grant.studio.headers
    )
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "scope_exceeds_consent"
    assert r.json()["errors"]


def test_a_worldwide_consent_covers_any_territory(
    client: TestClient, make_grant: Callable[..., Grant], issue: Issue
):
    worldwide = make_grant(territories=["WORLDWIDE"])
    issued = issue(worldwide, scope=licence_scope(territories=["JP", "BR"]))
    assert verify(client, issued["token"], {"territory": "JP"})["code"] == "VALID"
    assert verify(client, issued["token"], {"territory": "GB"})["code"] == "SCOPE_MISMATCH"
    issue(worldwide, scope=licence_scope(territories=["WORLDWIDE"]))


def test_issuance_refuses_a_prohibited_use(
    client: TestClient, make_grant: Callable[..., Grant], issue: Issue
):
    grant = make_grant(prohibited_uses=["advertising", "sexual_content"])
    r = client.post(
        "/v1/licences",
        json={"consent_id": grant.id, "scope": licence_scope(purposes=["advertising"])},
        headers=grant.studio.headers,
    )
    assert r.status_code == 422 and r.json()["code"] == "scope_exceeds_consent"
    issued = issue(grant)
    verdict = verify(
        client, issued["token"], {"purpose": "film_tv", "categories": ["sexual_content"]}
    )
    assert verdict["code"] == "SCOPE_MISMATCH" and "prohibited" in verdict["detail"]


def test_issuance_refuses_a_term_outside_the_consent(client: TestClient, grant: Grant):
    end = datetime.fromisoformat(grant.body["valid_until"])
    start = datetime.fromisoformat(grant.body["valid_from"])
    for term in (
        {"valid_until": (end + timedelta(days=1)).isoformat()},
        {"valid_from": (start - timedelta(days=1)).isoformat()},
        {"valid_until": (datetime.now(UTC) - timedelta(hours=1)).isoformat()},
    ):
        r = client.post(
            "/v1/licences",
            json={"consent_id": grant.id, "scope": licence_scope(), **term},
            headers=grant.studio.headers,
        )
        assert r.status_code == 422, r.text
        assert r.json()["code"] == "term_outside_consent"


def test_a_licence_may_be_shorter_than_its_consent(client: TestClient, grant: Grant, issue: Issue):
    until = datetime.now(UTC) + timedelta(days=30)
    issued = issue(grant, valid_until=until.isoformat())
    assert abs(datetime.fromisoformat(issued["expires_at"]) - until) < timedelta(seconds=1)


def test_only_the_grantee_studio_may_issue(
    client: TestClient, grant: Grant, make_org: Callable[..., Org]
):
    other = make_org("studio")
    body = {"consent_id": grant.id, "scope": licence_scope()}
    r = client.post("/v1/licences", json=body, headers=other.headers)
    assert r.status_code == 404 and r.json()["code"] == "consent_not_found"
    r = client.post("/v1/licences", json=body, headers=grant.holder.headers)
    assert r.status_code == 404
    r = client.post(
        "/v1/licences", json={**body, "consent_id": "cns_nothing"}, headers=grant.studio.headers
    )
    assert r.status_code == 404


def test_withdrawn_consent_makes_its_licences_revoked(
    client: TestClient, grant: Grant, issue: Issue
):
    first, second = issue(grant), issue(grant)
    assert list_status(client, first["status_list"]["uri"], first["status_list"]["idx"]) == 0
    r = client.post(f"/v1/consents/{grant.id}/withdraw", json={}, headers=grant.holder.headers)
    assert r.status_code == 200, r.text
    assert sorted(r.json()["revoked_licences"]) == sorted([first["id"], second["id"]])
    for issued in (first, second):
        assert verify(client, issued["token"])["code"] == "REVOKED"
        ref = issued["status_list"]
        assert list_status(client, ref["uri"], ref["idx"]) == 1
        record = client.get(f"/v1/licences/{issued['id']}", headers=grant.studio.headers).json()
        assert record["status"] == "revoked" and record["revocation_cause"] == "consent_withdrawn"
    r = client.post(
        "/v1/licences",
        json={"consent_id": grant.id, "scope": licence_scope()},
        headers=grant.studio.headers,
    )
    assert r.status_code == 409 and r.json()["code"] == "consent_not_active"


def test_suspension_suspends_and_resumption_restores_only_what_it_suspended(
    client: TestClient, grant: Grant, issue: Issue
):
    kept, revoked = issue(grant), issue(grant)
    r = client.post(
        f"/v1/licences/{revoked['id']}/revoke",
        json={"reason": "recast"},
        headers=grant.studio.headers,
    )
    assert r.status_code == 200 and r.json()["status"] == "revoked"
    r = client.post(f"/v1/consents/{grant.id}/suspend", json={}, headers=grant.holder.headers)
    assert r.status_code == 200, r.text
    assert verify(client, kept["token"])["code"] == "SUSPENDED"
    assert list_status(client, kept["status_list"]["uri"], kept["status_list"]["idx"]) == 2
    assert verify(client, revoked["token"])["code"] == "REVOKED"
    r = client.post(
        "/v1/licences",
        json={"consent_id": grant.id, "scope": licence_scope()},
        headers=grant.studio.headers,
    )
    assert r.status_code == 409 and r.json()["code"] == "consent_not_active"
    r = client.post(f"/v1/consents/{grant.id}/resume", json={}, headers=grant.holder.headers)
    assert r.status_code == 200, r.text
    assert verify(client, kept["token"])["code"] == "VALID"
    assert list_status(client, kept["status_list"]["uri"], kept["status_list"]["idx"]) == 0
    assert verify(client, revoked["token"])["code"] == "REVOKED"
    assert list_status(client, revoked["status_list"]["uri"], revoked["status_list"]["idx"]) == 1


def test_holder_studio_and_admin_may_revoke_a_licence_others_may_not(
    client: TestClient,
    grant: Grant,
    issue: Issue,
    admin_headers: dict[str, str],
    make_org: Callable[..., Org],
    register_holder: Callable[..., HolderAccount],
):
    stranger_studio, stranger_holder = make_org("studio"), register_holder()
    for headers in (stranger_studio.headers, stranger_holder.headers):
        issued = issue(grant)
        r = client.post(
            f"/v1/licences/{issued['id']}/revoke", json={"reason": "x"}, headers=headers
        )
        assert r.status_code == 404
        assert verify(client, issued["token"])["code"] == "VALID"
    for headers in (grant.holder.headers, grant.studio.headers, admin_headers):
        issued = issue(grant)
        r = client.post(
            f"/v1/licences/{issued['id']}/revoke",
            json={"reason": "no longer needed"},
            headers=headers,
        )
        assert r.status_code == 200, r.text
        assert r.json()["revocation_cause"] == "licence_revoked"
        assert verify(client, issued["token"])["code"] == "REVOKED"
    # Revoking again changes nothing and is not an error.
    again = client.post(
        f"/v1/licences/{issued['id']}/revoke", json={"reason": "again"}, headers=admin_headers
    )
    assert again.status_code == 200 and again.json()["status"] == "revoked"
    events = client.get("/v1/audit/events?limit=200", headers=admin_headers)
    assert events.status_code == 200
    actions = [e["event"]["action"] for e in events.json()["items"]]
    assert actions.count("licence.revoked") == 3


def test_studio_and_holder_see_their_licences_others_get_404(
    client: TestClient,
    grant: Grant,
    issue: Issue,
    make_org: Callable[..., Org],
    register_holder: Callable[..., HolderAccount],
):
    issued = [issue(grant) for _ in range(3)]
    for headers in (grant.studio.headers, grant.holder.headers):
        one = client.get(f"/v1/licences/{issued[0]['id']}", headers=headers)
        assert one.status_code == 200 and one.json()["consent_id"] == grant.id
        page = client.get(f"/v1/licences?consent_id={grant.id}&limit=2", headers=headers).json()
        assert len(page["items"]) == 2 and page["next_cursor"]
        rest = client.get(
            f"/v1/licences?consent_id={grant.id}&limit=2&cursor={page['next_cursor']}",
            headers=headers,
        ).json()
        seen = {item["id"] for item in page["items"] + rest["items"]}
        assert seen == {i["id"] for i in issued}
    for headers in (make_org("studio").headers, register_holder().headers):
        assert client.get(f"/v1/licences/{issued[0]['id']}", headers=headers).status_code == 404
        assert client.get("/v1/licences", headers=headers).json()["items"] == []
    assert client.get(f"/v1/licences/{issued[0]['id']}").status_code == 401


def test_status_list_is_a_signed_cacheable_token_of_131072_two_bit_entries(
    client: TestClient, grant: Grant, issue: Issue, settings: Any
):
    issued = issue(grant)
    r = client.get(issued["status_list"]["uri"].removeprefix("http://testserver"))
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/statuslist+jwt")
    assert r.headers["cache-control"] == f"public, max-age={settings.status_list_ttl_seconds}"
    header, claims = b64json(r.text.split(".")[0]), b64json(r.text.split(".")[1])
    assert header["typ"] == "statuslist+jwt" and header["alg"] == "ES256"
    assert claims["sub"] == issued["status_list"]["uri"]
    assert claims["ttl"] == settings.status_list_ttl_seconds and claims["exp"] > claims["iat"]
    assert claims["status_list"]["bits"] == 2
    assert len(decode_lst(claims["status_list"]["lst"])) * 4 >= 131072
    assert client.get("/v1/status-lists/sl_nothing").status_code == 404


def test_status_indexes_are_distinct(client: TestClient, grant: Grant, issue: Issue):
    slots = {
        (i["status_list"]["uri"], i["status_list"]["idx"])
        for i in (issue(grant) for _ in range(20))
    }
    assert len(slots) == 20


def test_verify_answers_a_verdict_for_any_token_string(
    client: TestClient, grant: Grant, issue: Issue
):
    token = issue(grant)["token"]
    head, payload, sig = token.split(".")
    rng = random.Random(4)
    alphabet = "abcdefXYZ0123456789-_.=+/ \\\"'{}[]:,é€😀\x00\n"
    samples = [
        "",
        " ",
        ".",
        "..",
        "...",
        "a.b.c",
        token + "x",
        token[:-5],
        f"{head}.{payload}.",
        f"{head}..{sig}",
        f".{payload}.{sig}",
        token.replace(".", "", 1),
        "\x00" * 10,
        "e30.e30.e30",
        "eyJhbGciOiJub25lIn0.e30.",
        head + "." + head + "." + sig,
        token * 3,
        "x" * 20000,
        "." * 5000,
    ]
    samples += [
        "".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 120))) for _ in range(250)
    ]
    samples += [
        ".".join(
            base64.urlsafe_b64encode(rng.randbytes(rng.randrange(0, 40))).decode().rstrip("=")
            for _ in range(3)
        )
        for _ in range(100)
    ]
    for sample in samples:
        r = client.post("/v1/licences/verify", json={"token": sample})
        assert r.status_code == 200, (sample, r.text)
        assert r.json()["valid"] is False
        assert r.json()["code"] in {"MALFORMED", "BAD_SIGNATURE", "UNKNOWN_KEY"}
    for bad_body in ({"token": 5}, {"token": None}, {}, {"token": "x", "use": {"nope": 1}}):
        assert client.post("/v1/licences/verify", json=bad_body).status_code == 422
    r = client.post(
        "/v1/licences/verify", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert r.status_code == 400


def test_verify_checks_the_proposed_use(client: TestClient, grant: Grant, issue: Issue):
    token = issue(grant)["token"]
    inside = {"attribute": "face", "purpose": "film_tv", "territory": "GB", "medium": "streaming"}
    verdict = verify(client, token, inside)
    assert verdict["code"] == "VALID" and verdict["use_checked"] is True
    for field, value in (
        ("attribute", "voice"),
        ("purpose", "advertising"),
        ("territory", "FR"),
        ("medium", "theatrical"),
    ):
        verdict = verify(client, token, {**inside, field: value})
        assert verdict["code"] == "SCOPE_MISMATCH" and verdict["valid"] is False, field
    later = (datetime.now(UTC) + timedelta(days=400)).isoformat()
    assert verify(client, token, {"at": later})["code"] == "EXPIRED"


def test_verify_answers_audience_mismatch_to_another_studio(
    client: TestClient, grant: Grant, issue: Issue, make_org: Callable[..., Org]
):
    token = issue(grant)["token"]
    other = make_org()
    use = {"attribute": "face", "purpose": "film_tv", "territory": "GB", "medium": "streaming"}
    mine = client.post(
        "/v1/licences/verify", json={"token": token, "use": use, "audience": grant.studio.id}
    ).json()
    assert (mine["code"], mine["valid"], mine["studio_id"]) == ("VALID", True, grant.studio.id)
    theirs = client.post(
        "/v1/licences/verify", json={"token": token, "use": use, "audience": other.id}
    ).json()
    assert (theirs["code"], theirs["valid"]) == ("AUDIENCE_MISMATCH", False)
    # The audience comes before status: after a withdrawal the other studio still hears only
    # that the licence is not its own.
    client.post(f"/v1/consents/{grant.id}/withdraw", json={}, headers=grant.holder.headers)
    theirs = client.post("/v1/licences/verify", json={"token": token, "audience": other.id})
    assert theirs.json()["code"] == "AUDIENCE_MISMATCH"
    mine = client.post("/v1/licences/verify", json={"token": token, "audience": grant.studio.id})
    assert mine.json()["code"] == "REVOKED"
    # A blank or overlong audience is bad input (422), not a verdict.
    for bad in ("", "o" * 65, 5):
        r = client.post("/v1/licences/verify", json={"token": token, "audience": bad})
        assert r.status_code == 422, bad
        assert r.headers["content-type"].startswith("application/problem+json")


def test_verify_is_rate_limited_per_client_address(client: TestClient, app: Any):
    app.state.services = replace(app.state.services, verify_rate_limiter=RateLimiter(per_minute=5))
    codes = [client.post("/v1/licences/verify", json={"token": "x"}).status_code for _ in range(6)]
    assert codes == [200] * 5 + [429]
    r = client.post("/v1/licences/verify", json={"token": "x"})
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "rate_limited"


def test_a_consent_revoked_by_an_admin_revokes_its_licences(
    client: TestClient, grant: Grant, issue: Issue, admin_headers: dict[str, str]
):
    issued = issue(grant)
    r = client.post(
        f"/v1/consents/{grant.id}/revoke", json={"reason": "court order"}, headers=admin_headers
    )
    assert r.status_code == 200, r.text
    assert verify(client, issued["token"])["code"] == "REVOKED"
    record = client.get(f"/v1/licences/{issued['id']}", headers=grant.holder.headers).json()
    assert record["status"] == "revoked" and record["revocation_cause"] == "consent_revoked"
