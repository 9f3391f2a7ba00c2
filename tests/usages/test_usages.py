"""Usage receipts through the HTTP API: recording, refusals, receipts, who sees what."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient

from consent_service.audit import offline
from tests.conftest import HolderAccount, Org
from tests.licences.conftest import Grant
from tests.usages.conftest import usage

Issue = Callable[..., dict[str, Any]]
USE_KEYS = ("attribute", "purpose", "territory", "medium")


def post_usages(client: TestClient, licence_id: str, headers: dict[str, str], *usages: Any):
    return client.post(
        f"/v1/licences/{licence_id}/usages", json={"usages": list(usages)}, headers=headers
    )


def audit_events(client: TestClient, auditor: Org) -> list[dict[str, Any]]:
    items, after = [], -1
    while True:
        r = client.get(
            "/v1/audit/events", params={"after": after, "limit": 200}, headers=auditor.headers
        )
        assert r.status_code == 200, r.text
        items += r.json()["items"]
        if r.json()["next_after"] is None:
            return items
        after = r.json()["next_after"]


def usage_events(client: TestClient, auditor: Org) -> list[dict[str, Any]]:
    return [e for e in audit_events(client, auditor) if e["event"]["action"] == "usage.recorded"]


def test_a_recorded_usage_returns_a_receipt_that_verifies_with_the_jwks(
    client: TestClient, grant: Grant, issue: Issue, auditor: Org
):
    licence = issue(grant)
    sent = usage()
    r = post_usages(client, licence["id"], grant.studio.headers, sent)
    assert r.status_code == 201, r.text
    [recorded] = r.json()["usages"]
    assert recorded["output_sha256"] == sent["output_sha256"]
    assert recorded["use"] == sent["use"] and recorded["tool"] == sent["tool"]

    # The receipt is checked with an independent JOSE library and the published keys alone.
    jwks = jwt.PyJWKSet.from_dict(client.get("/.well-known/jwks.json").json())
    header = jwt.get_unverified_header(recorded["receipt"])
    assert header["typ"] == "usage-receipt+jwt" and header["alg"] == "ES256"
    key = next(k for k in jwks.keys if k.key_id == header["kid"])
    claims = jwt.decode(
        recorded["receipt"], key=key, algorithms=["ES256"], issuer="http://testserver"
    )
    assert claims["licence"] == licence["id"]
    assert claims["output_sha256"] == sent["output_sha256"]
    assert claims["use"] == sent["use"]
    assert claims["jti"] == recorded["id"]
    assert claims["audit_seq"] == recorded["audit_seq"]

    # The receipt names the audit event that records the usage.
    [event] = usage_events(client, auditor)
    assert event["seq"] == claims["audit_seq"]
    assert event["event"]["subjects"]["licence_id"] == licence["id"]
    assert event["event"]["subjects"]["usage_id"] == recorded["id"]
    assert event["event"]["payload"]["output_sha256"] == sent["output_sha256"]


def test_a_batch_gets_consecutive_audit_numbers_and_the_log_still_verifies(
    client: TestClient, grant: Grant, issue: Issue, auditor: Org, tmp_path: Path
):
    licence = issue(grant)
    batch = [usage() for _ in range(250)]
    r = post_usages(client, licence["id"], grant.studio.headers, *batch)
    assert r.status_code == 201, r.text
    recorded = r.json()["usages"]
    assert [u["output_sha256"] for u in recorded] == [u["output_sha256"] for u in batch]
    seqs = [u["audit_seq"] for u in recorded]
    assert seqs == list(range(seqs[0], seqs[0] + 250))
    # A later single event follows the batch with no gap.
    again = post_usages(client, licence["id"], grant.studio.headers, usage())
    assert again.json()["usages"][0]["audit_seq"] == seqs[-1] + 1

    # Every event's leaf hash, the Merkle tree and the signed checkpoint verify offline.
    export = client.get("/v1/audit/export", headers=auditor.headers)
    assert export.status_code == 200, export.text
    path, jwks = tmp_path / "log.jsonl", tmp_path / "jwks.json"
    path.write_bytes(export.content)
    jwks.write_text(client.get("/.well-known/jwks.json").text)
    report = offline.verify_file(path, keys=offline.load_jwks_file(jwks))
    assert report.ok, report.findings
    assert [e["seq"] for e in usage_events(client, auditor)] == [*seqs, seqs[-1] + 1]


@pytest.mark.parametrize(
    ("bad", "code", "verdict"),
    [
        (
            {
                "use": {
                    "attribute": "voice",
                    "purpose": "film_tv",
                    "territory": "GB",
                    "medium": "streaming",
                }
            },
            "usage_not_allowed",
            "SCOPE_MISMATCH",
        ),
        (
            {
                "use": {
                    "attribute": "face",
                    "purpose": "film_tv",
                    "territory": "US",
                    "medium": "streaming",
                }
            },
            "usage_not_allowed",
            "SCOPE_MISMATCH",
        ),
        (
            {"at": (datetime.now(UTC) - timedelta(days=30)).isoformat()},
            "usage_not_allowed",
            "NOT_YET_VALID",
        ),
        ({"at": (datetime.now(UTC) + timedelta(hours=1)).isoformat()}, "usage_in_future", None),
        ({"output_sha256": "ab" * 31}, "output_hash_invalid", None),
        ({"output_sha256": "zz" * 32}, "output_hash_invalid", None),
    ],
)
def test_one_bad_entry_refuses_the_whole_batch_and_names_it(
    client: TestClient,
    grant: Grant,
    issue: Issue,
    auditor: Org,
    bad: dict[str, Any],
    code: str,
    verdict: str | None,
):
    licence = issue(grant)
    batch = [usage(), usage(), usage(**bad), usage()]
    r = post_usages(client, licence["id"], grant.studio.headers, *batch)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert problem["code"] == code and problem["index"] == 2
    assert problem.get("verdict") == verdict
    # Nothing was recorded: no usage and no audit event.
    assert usage_events(client, auditor) == []
    listed = client.get(f"/v1/licences/{licence['id']}/usages", headers=grant.studio.headers)
    assert listed.json()["items"] == []


def test_malformed_entries_are_refused_with_the_entry_in_the_error(
    client: TestClient, grant: Grant, issue: Issue
):
    licence = issue(grant)
    cases = [
        usage(duration_ms=None, width=None, height=None),  # no size at all
        usage(width=None),  # height without width
        usage(media_type="not a type"),
        usage(tool={"name": "my tool with spaces", "version": "1"}),
        usage(use={"attribute": "face", "purpose": "film_tv", "territory": "GB"}),
    ]
    for bad in cases:
        r = post_usages(client, licence["id"], grant.studio.headers, usage(), bad)
        assert r.status_code == 422, r.text
        assert r.json()["code"] == "validation_error"
        assert any(e["loc"][:3] == ["body", "usages", "1"] for e in r.json()["errors"]), r.json()
    too_many = post_usages(client, licence["id"], grant.studio.headers, *[usage()] * 1001)
    assert too_many.status_code == 422
    empty = post_usages(client, licence["id"], grant.studio.headers)
    assert empty.status_code == 422


def test_usages_under_a_revoked_or_suspended_licence_are_refused(
    client: TestClient, grant: Grant, issue: Issue
):
    licence = issue(grant)
    r = client.post(f"/v1/consents/{grant.id}/suspend", json={}, headers=grant.holder.headers)
    assert r.status_code == 200, r.text
    r = post_usages(client, licence["id"], grant.studio.headers, usage())
    assert (r.status_code, r.json()["verdict"]) == (422, "SUSPENDED"), r.text
    r = client.post(f"/v1/consents/{grant.id}/resume", json={}, headers=grant.holder.headers)
    assert r.status_code == 200, r.text
    assert post_usages(client, licence["id"], grant.studio.headers, usage()).status_code == 201
    r = client.post(f"/v1/consents/{grant.id}/withdraw", json={}, headers=grant.holder.headers)
    assert r.status_code == 200, r.text
    r = post_usages(client, licence["id"], grant.studio.headers, usage())
    assert (r.status_code, r.json()["verdict"]) == (422, "REVOKED"), r.text


def test_each_usage_is_checked_against_the_term_at_its_own_time(
    client: TestClient, grant: Grant, issue: Issue
):
    # The licence starts when it is issued: an output dated an hour earlier was made before
    # the licence existed, whenever it is recorded.
    licence = issue(grant)
    started = datetime.fromisoformat(licence["valid_from"])
    inside = usage(at=(started + timedelta(seconds=1)).isoformat())
    assert post_usages(client, licence["id"], grant.studio.headers, inside).status_code == 201
    before = usage(at=(started - timedelta(hours=1)).isoformat())
    r = post_usages(client, licence["id"], grant.studio.headers, before)
    assert (r.status_code, r.json()["verdict"]) == (422, "NOT_YET_VALID")


def test_another_studios_licence_is_not_found(
    client: TestClient, grant: Grant, issue: Issue, make_org: Callable[..., Org], auditor: Org
):
    licence = issue(grant)
    other = make_org("studio")
    r = post_usages(client, licence["id"], other.headers, usage())
    assert (r.status_code, r.json()["code"]) == (404, "licence_not_found")
    r = post_usages(client, "lic_" + "a" * 24, grant.studio.headers, usage())
    assert r.status_code == 404
    # Holders and auditors cannot record usages either.
    assert post_usages(client, licence["id"], grant.holder.headers, usage()).status_code == 404
    assert post_usages(client, licence["id"], auditor.headers, usage()).status_code == 404
    assert (
        client.get(f"/v1/licences/{licence['id']}/usages", headers=other.headers).status_code == 404
    )
    assert usage_events(client, auditor) == []


def test_the_holder_the_studio_and_auditors_see_the_usages_and_others_do_not(
    client: TestClient,
    grant: Grant,
    issue: Issue,
    auditor: Org,
    register_holder: Callable[..., HolderAccount],
):
    licence = issue(grant)
    sent = [usage() for _ in range(3)]
    assert post_usages(client, licence["id"], grant.studio.headers, *sent).status_code == 201
    hashes = {u["output_sha256"] for u in sent}

    for headers in (grant.studio.headers, grant.holder.headers, auditor.headers):
        r = client.get(f"/v1/licences/{licence['id']}/usages", headers=headers)
        assert r.status_code == 200, r.text
        assert {u["output_sha256"] for u in r.json()["items"]} == hashes

    # The holder's own view pages through every usage of their likeness.
    page = client.get("/v1/holders/me/usages", params={"limit": 2}, headers=grant.holder.headers)
    assert page.status_code == 200, page.text
    rest = client.get(
        "/v1/holders/me/usages",
        params={"limit": 2, "cursor": page.json()["next_cursor"]},
        headers=grant.holder.headers,
    )
    seen = page.json()["items"] + rest.json()["items"]
    assert {u["output_sha256"] for u in seen} == hashes and rest.json()["next_cursor"] is None

    # Someone else sees none of it.
    stranger = register_holder()
    assert client.get("/v1/holders/me/usages", headers=stranger.headers).json()["items"] == []
    r = client.get(f"/v1/licences/{licence['id']}/usages", headers=stranger.headers)
    assert r.status_code == 404
    assert client.get("/v1/holders/me/usages", headers=grant.studio.headers).status_code == 404


def test_the_holder_export_lists_the_usages_and_they_carry_no_personal_data(
    client: TestClient, grant: Grant, issue: Issue, auditor: Org
):
    licence = issue(grant)
    sent = usage()
    assert post_usages(client, licence["id"], grant.studio.headers, sent).status_code == 201
    r = client.get(f"/v1/holders/{grant.holder.id}/export", headers=grant.holder.headers)
    assert r.status_code == 200, r.text
    [exported] = r.json()["usages"]
    assert exported["output_sha256"] == sent["output_sha256"]
    assert exported["licence_id"] == licence["id"] and exported["use"] == sent["use"]

    # No name, email or date of birth of the holder in what studios and auditors read.
    listed = client.get(f"/v1/licences/{licence['id']}/usages", headers=auditor.headers).text
    events = json.dumps(usage_events(client, auditor))
    for personal in (grant.holder.body["legal_name"], grant.holder.email, "1990-05-17"):
        assert personal not in listed and personal not in events


def test_auditors_export_the_events_of_one_licence_with_proofs_that_verify(
    client: TestClient, make_grant: Callable[..., Grant], issue: Issue, auditor: Org, tmp_path: Path
):
    grant = make_grant()
    mine, other = issue(grant), issue(grant)
    assert (
        post_usages(client, mine["id"], grant.studio.headers, usage(), usage()).status_code == 201
    )
    assert post_usages(client, other["id"], grant.studio.headers, usage()).status_code == 201
    r = client.get("/v1/audit/export", params={"licence_id": mine["id"]}, headers=auditor.headers)
    assert r.status_code == 200, r.text
    path, jwks = tmp_path / "licence.jsonl", tmp_path / "jwks.json"
    path.write_bytes(r.content)
    jwks.write_text(client.get("/.well-known/jwks.json").text)
    lines = [json.loads(line) for line in r.text.splitlines()][:-1]
    # The issuance and both usages of this licence, and nothing of the other licence.
    assert [line["event"]["action"] for line in lines] == [
        "licence.issued",
        "usage.recorded",
        "usage.recorded",
    ]
    assert {line["event"]["subjects"]["licence_id"] for line in lines} == {mine["id"]}
    report = offline.verify_file(path, keys=offline.load_jwks_file(jwks))
    assert report.ok, report.findings


def test_the_portal_shows_the_holder_where_their_likeness_was_used(
    client: TestClient, grant: Grant, issue: Issue, open_portal: Callable[..., Any]
):
    licence = issue(grant)
    sent = usage(media_type="image/png", duration_ms=None)
    assert post_usages(client, licence["id"], grant.studio.headers, sent).status_code == 201
    portal = open_portal()
    assert portal.login(grant.holder.email, grant.holder.password).status_code == 303
    page = portal.get(f"/portal/consents/{grant.id}")
    assert page.status_code == 200, page.text
    assert 'id="usages"' in page.text
    assert sent["output_sha256"] in page.text and "image/png" in page.text
    assert "comfyui 0.3.10" in page.text
