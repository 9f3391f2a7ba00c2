"""Reads never write: every GET route takes no row lock and appends no audit event.

The data a GET could be tempted to "fix" is present: a grant past its end that no sweep has
recorded yet (a read used to expire it, locking the row and signing a receipt), a licence
under it, a pending request, a representative and the audit log they produced. Each GET route
of the app (walked from `app.routes`, so a new route cannot slip past) is called by every kind
of caller while the database statements are watched.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, func
from sqlmodel import Session, select

from consent_service.audit.models import AuditEvent
from consent_service.config import Settings
from consent_service.portal.session import SESSION_COOKIE
from tests.agreements.support import register_agreement
from tests.conftest import bearer
from tests.consents.conftest import accept, ask
from tests.licences.conftest import licence_scope
from tests.vault import media

# GETs that record an access by design: handing out a holder's personal data is itself an
# event of the log (DESIGN.md, "Audit"). They still take no row lock.
AUDITED_READS = {
    "/v1/holders/{holder_id}/export",
    "/v1/references/{reference_id}/content",
    "/v1/verifications/{case_id}/evidence/{evidence_id}",
}


# Reads by an auditor are on the log too (`auditor.read`, accounts/auditors.py): after the read,
# in a write of their own. These routes must append one when an auditor reads them.
AUDITOR_LOGGED_READS = {
    "/v1/consents",
    "/v1/consents/{consent_id}",
    "/v1/consent-requests",
    "/v1/consent-requests/{request_id}",
    "/v1/licences",
    "/v1/licences/{licence_id}",
    "/v1/licences/{licence_id}/usages",
    "/v1/verifications",
    "/v1/verifications/{case_id}",
    "/v1/holders/{holder_id}/assurance",
    # The log itself: its events, export, checkpoint and proofs (filters and range logged).
    "/v1/audit/events",
    "/v1/audit/export",
    "/v1/audit/checkpoint",
    "/v1/audit/proofs/inclusion",
    "/v1/audit/proofs/consistency",
    "/v1/audit/checkpoints",
}

# What a read of the log's tree may write, on its `WritingRead` route (deps.py): derived rows
# only, never an event. The subtree-hash cache (audit/tree.py) and the tree head kept the first
# time a checkpoint of its size is signed (audit_signed_checkpoint, audit/witness.py).
DERIVED_WRITES = re.compile(r"\s*INSERT INTO (audit_subtree|audit_signed_checkpoint)\b", re.I)


class StatementWatch:
    """Every statement sent to any engine, and which of them lock rows or write."""

    def __init__(self) -> None:
        self.locking: list[str] = []
        self.writing: list[str] = []
        self.on = False

    def before_execute(self, conn: Any, clauseelement: Any, *args: Any) -> None:
        # SQLite drops FOR UPDATE when compiling, so look at the statement itself too.
        if self.on and getattr(clauseelement, "_for_update_arg", None) is not None:
            self.locking.append(str(clauseelement))

    def before_cursor_execute(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not self.on:
            return
        if "FOR UPDATE" in statement.upper():
            self.locking.append(statement)
        if re.match(r"\s*(INSERT|UPDATE|DELETE)\b", statement, re.I):
            self.writing.append(statement)


@pytest.fixture
def watch() -> Iterator[StatementWatch]:
    w = StatementWatch()
    event.listen(Engine, "before_execute", w.before_execute)
    event.listen(Engine, "before_cursor_execute", w.before_cursor_execute)
    yield w
    event.remove(Engine, "before_execute", w.before_execute)
    event.remove(Engine, "before_cursor_execute", w.before_cursor_execute)


def get_paths(routes: list[Any], prefix: str = "") -> list[str]:
    """Every GET path the app serves, through included routers (OpenAPI leaves the portal out)."""
    paths: list[str] = []
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:  # FastAPI keeps included routers as one node
            paths += get_paths(included.routes, prefix + route.include_context.prefix)
        elif isinstance(route, APIRoute) and "GET" in route.methods:
            paths.append(prefix + route.path)
    return paths


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # No in-process outbox worker: its polls (claims lock rows on PostgreSQL) are not reads.
    return settings.model_copy(update={"outbox_in_process": False})


def _audit_count(app: FastAPI) -> int:
    with Session(app.state.services.engine) as session:
        return session.exec(select(func.count()).select_from(AuditEvent)).one()


def _actions_since(app: FastAPI, count: int) -> list[str]:
    with Session(app.state.services.engine) as session:
        rows = session.exec(select(AuditEvent.action).order_by(AuditEvent.seq).offset(count))
        return list(rows.all())


def _utc(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_no_get_route_locks_a_row_or_appends_an_event(
    client: TestClient, app: FastAPI, holder, studio, auditor, admin_headers, watch
):
    now = datetime.now(UTC)
    end = now + timedelta(seconds=3)
    req = ask(
        client,
        studio,
        holder.id,
        valid_from=_utc(now - timedelta(seconds=1)),
        valid_until=_utc(end),
    ).json()
    grant = accept(client, holder.headers, req).json()["consent"]
    licence = client.post(
        "/v1/licences",
        json={"consent_id": grant["id"], "scope": licence_scope()},
        headers=studio.headers,
    ).json()
    pending = ask(client, studio, holder.id).json()
    agreement = register_agreement(client, admin_headers)
    verifier = client.post(
        "/v1/verifiers",
        json={"name": "Vera Verifier", "email": "vera@registry.example"},
        headers=admin_headers,
    ).json()
    document = client.post(
        f"/v1/holders/{holder.id}/identity-documents",
        files={"file": ("passport.png", media.png_with_text(), "image/png")},
        data={"document_type": "passport", "issuing_country": "GB", "number_last4": "4821"},
        headers=holder.headers,
    )
    assert document.status_code == 201, document.text
    case = document.json()
    endpoint = client.post(
        "/v1/webhooks",
        json={"url": "http://127.0.0.1:9/hook", "event_types": ["consent.expired"]},
        headers=studio.headers,
    ).json()
    while datetime.now(UTC) <= end + timedelta(seconds=1):
        time.sleep(0.2)
    events = client.get("/v1/audit/events", params={"limit": 1000}, headers=auditor.headers)
    seq = max(e["seq"] for e in events.json()["items"])
    holder_seq = next(
        e["seq"] for e in events.json()["items"] if e["event"]["subjects"].get("holder_id")
    )
    values = {
        "holder_id": holder.id,
        "consent_id": grant["id"],
        "request_id": pending["id"],
        "licence_id": licence["id"],
        "list_id": licence["status_list"]["uri"].rsplit("/", 1)[-1],
        "organization_id": studio.id,
        "reference_id": "ref_aaaaaaaaaaaaaaaaaaaaaaaa",
        "agreement_id": agreement["id"],
        "case_id": case["id"],
        "evidence_id": case["evidence"][0]["id"],
        "endpoint_id": endpoint["id"],
        "code": "consent_not_active",  # /problems/{code}
        "seq": str(seq),  # /portal/audit/events/{seq}
        "tree_size": "1",  # /portal/audit/checkpoints/{tree_size}/note
    }
    params = {
        "/v1/audit/proofs/inclusion": {"seq": seq},
        "/v1/audit/proofs/consistency": {"from_size": 1},
        "/v1/holders/{holder_id}/audit-proofs": {"seq": holder_seq},
    }
    callers: dict[str, dict[str, Any]] = {
        "anonymous": {},
        "holder": {"headers": holder.headers},
        "studio": {"headers": studio.headers},
        "auditor": {"headers": auditor.headers},
        "admin": {"headers": admin_headers},
        "verifier": {"headers": bearer(verifier["key"])},
        "portal": {"cookies": {SESSION_COOKIE: holder.token}},
    }

    browsers = {
        who: TestClient(app, cookies=credentials.get("cookies"), follow_redirects=False)
        for who, credentials in callers.items()
    }
    answered: set[str] = set()
    auditor_logged: set[str] = set()
    routes = get_paths(app.routes)
    assert len(routes) >= 25
    for route in routes:
        path = re.sub(r"\{([^}]+)\}", lambda m: values[m.group(1)], route)
        for who, credentials in callers.items():
            before = _audit_count(app)
            watch.on = True
            r = browsers[who].get(
                path, params=params.get(route), headers=credentials.get("headers")
            )
            watch.on = False
            assert r.status_code < 500, (route, who, r.text[:300])
            if r.status_code == 200:
                answered.add(route)
            assert watch.locking == [], (route, who, watch.locking)
            if who == "auditor" and route in AUDITOR_LOGGED_READS and r.status_code == 200:
                # One event, the auditor's read, and nothing else.
                assert _actions_since(app, before) == ["auditor.read"], (route, r.text[:200])
                auditor_logged.add(route)
            elif route not in AUDITED_READS:
                assert _audit_count(app) == before, (route, who)
                other = [w for w in watch.writing if not DERIVED_WRITES.match(w)]
                assert other == [], (route, who, other)
            watch.writing.clear()

    # The walk reached the routes that used to write: grants past their end, read and listed.
    assert {
        "/v1/consents/{consent_id}",
        "/v1/consents",
        "/portal",
        "/portal/consents/{consent_id}",
        "/v1/licences/{licence_id}",
        "/v1/audit/checkpoint",
        "/v1/audit/checkpoints",
        "/v1/collective-agreements/{agreement_id}",
        "/v1/verifications",
        "/v1/verifications/{case_id}",
        "/v1/webhooks/{endpoint_id}/deliveries",
    } <= answered
    assert auditor_logged == AUDITOR_LOGGED_READS
    shown = client.get(f"/v1/consents/{grant['id']}", headers=holder.headers).json()
    assert shown["status"] == "expired"
    receipt = client.get(f"/v1/consents/{grant['id']}/receipt", headers=holder.headers).json()
    assert receipt["consent_state"] == "active"  # nothing was recorded by all those reads
