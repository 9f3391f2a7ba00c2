"""A body that is not JSON on a JSON route is a 415 problem, and nothing is written."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from tests.consents.conftest import make_terms


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"]
)
def test_a_non_json_body_on_a_json_route_is_415(client: TestClient, holder, studio, content_type):
    body = json.dumps({"holder_id": holder.id, "terms": make_terms()})
    r = client.post(
        "/v1/consent-requests",
        content=body,
        headers={**studio.headers, "Content-Type": content_type},
    )
    assert r.status_code == 415, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "unsupported_media_type"
    assert r.headers["x-request-id"]
    assert client.get("/v1/consent-requests", headers=studio.headers).json()["items"] == []


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8"])
def test_the_same_body_as_json_is_taken(client: TestClient, holder, studio, content_type):
    body = json.dumps({"holder_id": holder.id, "terms": make_terms()})
    r = client.post(
        "/v1/consent-requests",
        content=body,
        headers={**studio.headers, "Content-Type": content_type},
    )
    assert r.status_code == 201, r.text


def test_form_routes_still_take_forms(client: TestClient):
    r = client.post(
        "/v1/auth/token",
        data={"grant_type": "password", "username": "nobody@example.org", "password": "x"},
    )
    assert r.status_code != 415
    assert r.json()["code"] != "unsupported_media_type"
