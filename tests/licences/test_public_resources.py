"""The public resources verifiers fetch from browsers: JWKS and status lists.

CORS for GET (any origin, no credentials), gzip when asked, and 406 to an `Accept` they cannot
serve (RFC 9110 §12.5.1).
"""

from __future__ import annotations

import gzip
from urllib.parse import urlsplit

import httpx
from fastapi.testclient import TestClient


def _path(uri: str) -> str:
    return urlsplit(uri).path


def test_public_resources_are_readable_cross_origin_and_compressed(
    client: TestClient, issue, make_grant
):
    status_list = _path(issue(make_grant())["status_list"]["uri"])
    for url in ("/.well-known/jwks.json", status_list):
        r = client.get(url, headers={"Origin": "https://verifier.example"})
        assert r.status_code == 200, url
        assert r.headers["access-control-allow-origin"] == "*", url
        assert "access-control-allow-credentials" not in r.headers
        pre = client.options(
            url,
            headers={
                "Origin": "https://verifier.example",
                "Access-Control-Request-Method": "GET",
            },
        )
        assert pre.status_code == 200 and "GET" in pre.headers["access-control-allow-methods"]
        raw = client.get(url, headers={"Accept-Encoding": "gzip"})
        assert raw.headers["content-encoding"] == "gzip", url
        assert "accept-encoding" in raw.headers["vary"].lower()
        plain = client.get(url, headers={"Accept-Encoding": "identity"})
        assert "content-encoding" not in plain.headers
        # httpx decoded the gzip body: the same document (a status list is signed anew).
        assert raw.content[:20] == plain.content[:20] and len(raw.content) == len(plain.content)
    # The rest of the API is not cross-origin readable, nor compressed.
    r = client.get("/healthz", headers={"Origin": "https://x.example", "Accept-Encoding": "gzip"})
    assert "access-control-allow-origin" not in r.headers
    assert "content-encoding" not in r.headers


def test_gzip_bytes_on_the_wire(live_server: str):
    with httpx.stream(
        "GET", f"{live_server}/.well-known/jwks.json", headers={"Accept-Encoding": "gzip"}
    ) as r:
        wire = b"".join(r.iter_raw())
    assert r.headers["content-encoding"] == "gzip"
    assert gzip.decompress(wire).startswith(b'{"keys"')


def test_406_to_an_accept_they_cannot_serve(client: TestClient, issue, make_grant):
    status_list = _path(issue(make_grant())["status_list"]["uri"])
    jwks = "/.well-known/jwks.json"
    assert client.get(jwks, headers={"Accept": "text/html"}).status_code == 406
    assert client.get(status_list, headers={"Accept": "application/json"}).status_code == 406
    r = client.get(jwks, headers={"Accept": "application/json"})
    assert r.headers["content-type"].startswith("application/json")
    r = client.get(jwks, headers={"Accept": "text/html, application/*;q=0.5"})
    assert r.headers["content-type"].startswith("application/jwk-set+json")
    r = client.get(status_list, headers={"Accept": "application/statuslist+jwt"})
    assert r.status_code == 200
    r = client.get(status_list, headers={"Accept": "application/statuslist+jwt;q=0"})
    assert r.status_code == 406 and r.json()["code"] == "not_acceptable"
