"""Revocation and suspension reasons are personal data: sealed in the database, readable by
those who may see them, gone with the holder's key at erasure (issue 11 item 4)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import Session

from tests.licences.conftest import Grant

WORDS = "Ms Ada Example complained on the set"


def _row(app: FastAPI, sql: str, **params: Any) -> Any:
    with Session(app.state.services.engine) as session:
        return session.execute(text(sql), params).one()


def _grant_reason_columns(app: FastAPI, grant_id: str) -> tuple[str | None, bytes | None]:
    row = _row(
        app,
        "SELECT status_reason, status_reason_enc FROM consent_grant WHERE id = :id",
        id=grant_id,
    )
    return row[0], None if row[1] is None else bytes(row[1])


def test_suspension_and_revocation_reasons_are_sealed_and_read_back(
    app: FastAPI, client: TestClient, admin_headers: dict[str, str], grant: Grant
) -> None:
    holder = grant.holder
    r = client.post(
        f"/v1/consents/{grant.id}/suspend", json={"reason": WORDS}, headers=holder.headers
    )
    assert r.status_code == 200, r.text
    clear, sealed = _grant_reason_columns(app, grant.id)
    assert clear is None and sealed is not None and WORDS.encode() not in sealed
    got = client.get(f"/v1/consents/{grant.id}", headers=holder.headers).json()
    assert got["status"] == "suspended" and got["status_reason"] == WORDS

    r = client.post(
        f"/v1/consents/{grant.id}/revoke", json={"reason": "court order 77"}, headers=admin_headers
    )
    assert r.status_code == 200, r.text
    clear, sealed = _grant_reason_columns(app, grant.id)
    assert clear is None and sealed is not None and b"court order 77" not in sealed
    for headers in (holder.headers, grant.studio.headers):  # admins read no single grant
        got = client.get(f"/v1/consents/{grant.id}", headers=headers).json()
        assert got["status_reason"] == "court order 77"
    listed = client.get("/v1/consents", headers=holder.headers).json()["items"]
    assert [c["status_reason"] for c in listed if c["id"] == grant.id] == ["court order 77"]
    export = client.get(f"/v1/holders/{holder.id}/export", headers=holder.headers).json()
    assert [c["status_reason"] for c in export["consents"]] == ["court order 77"]


def test_licence_revocation_reason_is_sealed(
    app: FastAPI, client: TestClient, grant: Grant, issue: Callable[..., dict[str, Any]]
) -> None:
    licence = issue(grant)
    r = client.post(
        f"/v1/licences/{licence['id']}/revoke", json={"reason": WORDS}, headers=grant.studio.headers
    )
    assert r.status_code == 200, r.text
    clear, sealed = _row(
        app,
        "SELECT revocation_reason, revocation_reason_enc FROM licence WHERE id = :id",
        id=licence["id"],
    )
    assert clear is None and sealed is not None and WORDS.encode() not in bytes(sealed)


def test_erasure_makes_reasons_unreadable_and_keeps_system_causes(
    app: FastAPI,
    client: TestClient,
    admin_headers: dict[str, str],
    make_grant: Callable[..., Grant],
) -> None:
    revoked, suspended, legacy = make_grant(), make_grant(), make_grant()
    holder = revoked.holder
    r = client.post(
        f"/v1/consents/{revoked.id}/revoke", json={"reason": WORDS}, headers=admin_headers
    )
    assert r.status_code == 200, r.text
    r = client.post(
        f"/v1/consents/{suspended.id}/suspend", json={"reason": WORDS}, headers=holder.headers
    )
    assert r.status_code == 200, r.text
    # A reason written in clear before migration 0011 sealed them: still readable until erasure.
    r = client.post(f"/v1/consents/{legacy.id}/revoke", json={"reason": "x"}, headers=admin_headers)
    assert r.status_code == 200, r.text
    with Session(app.state.services.engine) as session:
        session.execute(
            text(
                "UPDATE consent_grant SET status_reason = :words, status_reason_enc = NULL "
                "WHERE id = :id"
            ),
            {"words": WORDS, "id": legacy.id},
        )
        session.commit()
    got = client.get(f"/v1/consents/{legacy.id}", headers=revoked.studio.headers).json()
    assert got["status_reason"] == WORDS

    r = client.delete(f"/v1/holders/{holder.id}", headers=holder.headers)
    assert r.status_code == 200, r.text

    # The revoked grant's sealed reason cannot be opened any more: it reads as null.
    got = client.get(f"/v1/consents/{revoked.id}", headers=revoked.studio.headers).json()
    assert got["status"] == "revoked" and got["status_reason"] is None
    got = client.get(f"/v1/consents/{legacy.id}", headers=revoked.studio.headers).json()
    assert got["status"] == "revoked" and got["status_reason"] is None
    assert _grant_reason_columns(app, legacy.id)[0] is None
    # The suspended one was withdrawn by the erasure: its cause is the system's code, in clear.
    got = client.get(f"/v1/consents/{suspended.id}", headers=revoked.studio.headers).json()
    assert got["status"] == "withdrawn" and got["status_reason"] == "erasure"
    assert _grant_reason_columns(app, suspended.id) == ("erasure", None)
    # No reason of the holder's is in clear anywhere in the two tables.
    with Session(app.state.services.engine) as session:
        for table, column in (
            ("consent_grant", "status_reason"),
            ("licence", "revocation_reason"),
        ):
            values = session.execute(text(f"SELECT {column} FROM {table}")).scalars().all()  # noqa: S608
            assert WORDS not in values
