"""Fixtures for the audit log: events made through the real API, exports, the verifier."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Org


@pytest.fixture
def make_events(client: TestClient, admin_headers: dict[str, str]) -> Callable[[int], None]:
    """Append `n` events by creating organizations (each creation is audited)."""

    def make(n: int) -> None:
        for i in range(n):
            r = client.post(
                "/v1/organizations",
                json={"name": f"Org {i}", "kind": "studio"},
                headers=admin_headers,
            )
            assert r.status_code == 201, r.text

    return make


def key_actor(client: TestClient, admin_headers: dict[str, str], org: Org) -> str:
    """The actor id the log names for `org`'s API key (its key id)."""
    r = client.get(f"/v1/organizations/{org.id}/api-keys", headers=admin_headers)
    assert r.status_code == 200, r.text
    [key] = r.json()["items"]
    return str(key["id"])


@pytest.fixture
def jwks_file(client: TestClient, tmp_path: Path) -> Path:
    path = tmp_path / "jwks.json"
    path.write_text(client.get("/.well-known/jwks.json").text)
    return path


@pytest.fixture
def export_to(client: TestClient, auditor: Org, tmp_path: Path) -> Callable[..., Path]:
    """Download an export into a file; keyword arguments become query parameters."""
    counter = iter(range(1000))

    def export(**params: Any) -> Path:
        r = client.get("/v1/audit/export", params=params, headers=auditor.headers)
        assert r.status_code == 200, r.text
        path = tmp_path / f"export-{next(counter)}.jsonl"
        path.write_bytes(r.content)
        return path

    return export


def read_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def write_lines(path: Path, lines: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path
