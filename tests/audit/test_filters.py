"""Exact filters on the export and the events page, made through the API like a client.

Every expected set is computed in the test from the complete export (the events as stored),
independently of the SQL that filters, and every filtered export must verify offline.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from consent_service.audit import offline
from consent_service.audit.actions import Action
from tests.audit.conftest import read_lines
from tests.conftest import HolderAccount, Org
from tests.licences.conftest import Grant, grant_terms, issue, make_grant  # noqa: F401


def names(event: dict[str, Any], kind: str, value: str) -> bool:
    """Whether an event names `value` as a `kind` (subjects, or a payload id / id list)."""
    if event["subjects"].get(kind) == value or event["payload"].get(kind) == value:
        return True
    listed = event["payload"].get(kind + "s")
    return isinstance(listed, list) and value in listed


@pytest.fixture
def story(
    client: TestClient,
    make_org: Callable[..., Org],
    make_grant: Callable[..., Grant],  # noqa: F811
    issue: Callable[..., dict[str, Any]],  # noqa: F811
    holder: HolderAccount,
) -> dict[str, Any]:
    """Two studios with consents from one holder, two licences, a suspension cascading to
    the licences (its event lists them in its payload), and a withdrawal."""
    other = make_org("studio")
    first = make_grant()
    second = make_grant(studio_org=other)
    lic_a, lic_b = issue(first), issue(first)
    r = client.post(f"/v1/consents/{first.id}/suspend", json={}, headers=holder.headers)
    assert r.status_code == 200, r.text
    r = client.post(f"/v1/consents/{second.id}/withdraw", json={}, headers=holder.headers)
    assert r.status_code == 200, r.text
    return {"first": first, "second": second, "lic_a": lic_a["id"], "lic_b": lic_b["id"]}


def test_filters_select_exactly_the_events_naming_the_id_and_verify(
    client: TestClient,
    auditor: Org,
    story: dict[str, Any],
    export_to: Callable[..., Path],
    jwks_file: Path,
) -> None:
    keys = offline.load_jwks_file(jwks_file)
    everything = [line for line in read_lines(export_to()) if "seq" in line]
    first: Grant = story["first"]
    cases: list[tuple[dict[str, str], Callable[[dict[str, Any]], bool]]] = [
        ({"licence_id": story["lic_a"]}, lambda e: names(e, "licence_id", story["lic_a"])),
        ({"consent_id": first.id}, lambda e: names(e, "consent_id", first.id)),
        ({"studio_id": first.studio.id}, lambda e: names(e, "studio_id", first.studio.id)),
        (
            {"holder_id": first.holder.id},
            lambda e: e["subjects"].get("holder_id") == first.holder.id,
        ),
        (
            {"licence_id": story["lic_b"], "action": "licence.suspended"},
            lambda e: names(e, "licence_id", story["lic_b"]) and e["action"] == "licence.suspended",
        ),
        (
            {"studio_id": story["second"].studio.id, "action": "consent.withdrawn"},
            lambda e: (
                names(e, "studio_id", story["second"].studio.id)
                and e["action"] == "consent.withdrawn"
            ),
        ),
    ]
    for params, matches in cases:
        expected = [line["seq"] for line in everything if matches(line["event"])]
        assert expected, params  # each case selects something
        path = export_to(**params)
        got = read_lines(path)
        assert [line["seq"] for line in got[:-1]] == expected, params
        assert all("inclusion_proof" in line for line in got[:-1])
        report = offline.verify_file(path, keys=keys)
        assert report.ok and not report.complete, (params, report.findings)
        # The events page answers the same selection.
        page = client.get(
            "/v1/audit/events", params={**params, "limit": 1000}, headers=auditor.headers
        )
        assert page.status_code == 200, page.text
        assert [item["seq"] for item in page.json()["items"]] == expected
    # The cascade's event names the licence only in its payload list, and is found.
    suspended = export_to(licence_id=story["lic_a"], action="licence.suspended")
    (line, _checkpoint) = read_lines(suspended)
    assert story["lic_a"] in line["event"]["payload"]["licence_ids"]
    assert "licence_id" not in line["event"]["subjects"]


def test_a_filtered_csv_export_verifies_on_its_own(
    client: TestClient, auditor: Org, story: dict[str, Any], tmp_path: Path, jwks_file: Path
) -> None:
    r = client.get(
        "/v1/audit/export",
        params={"consent_id": story["first"].id, "format": "csv"},
        headers=auditor.headers,
    )
    assert r.status_code == 200
    *rows, last = list(csv.DictReader(io.StringIO(r.text)))
    assert rows and all(row["inclusion_proof"] for row in rows)
    assert last["seq"] == "checkpoint"
    path = tmp_path / "export.data"  # no telling extension: told by content
    path.write_text(r.text)
    report = offline.verify_file(path, keys=offline.load_jwks_file(jwks_file))
    assert report.ok, report.findings
    assert (report.format, report.complete, report.events) == ("csv", False, len(rows))


def test_events_page_pages_through_a_filter(
    client: TestClient, auditor: Org, story: dict[str, Any]
) -> None:
    params = {"holder_id": story["first"].holder.id}
    full = client.get("/v1/audit/events", params={**params, "limit": 1000}, headers=auditor.headers)
    expected = [item["seq"] for item in full.json()["items"]]
    seen: list[int] = []
    after = -1
    while True:
        r = client.get(
            "/v1/audit/events",
            params={**params, "limit": 2, "after": after},
            headers=auditor.headers,
        )
        seen += [item["seq"] for item in r.json()["items"]]
        if r.json()["next_after"] is None:
            break
        after = r.json()["next_after"]
    assert seen == expected and len(expected) > 2


@pytest.mark.parametrize("path", ["/v1/audit/export", "/v1/audit/events"])
def test_unknown_filters_actions_and_wrong_types_are_refused_with_their_own_codes(
    client: TestClient, auditor: Org, path: str
) -> None:
    def problem(params: Any) -> dict[str, Any]:
        r = client.get(path, params=params, headers=auditor.headers)
        assert r.status_code == 422, (params, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        body: dict[str, Any] = r.json()
        return body

    # The issue's cases: `studio` instead of `studio_id` was silently ignored before.
    body = problem({"studio": "org_abc"})
    assert body["code"] == "unknown_filter" and body["parameter"] == "studio"
    assert {"from", "to", "holder_id", "studio_id", "consent_id", "licence_id", "action"} <= set(
        body["allowed"]
    )
    body = problem({"action": "consent.withdrawm"})
    assert body["code"] == "unknown_action"
    assert body["allowed"] == sorted(a.value for a in Action)
    for params in (
        {"from": "yesterday"},
        {"to": "2026-13-45T00:00:00Z"},
        {"licence_id": "cns_abc"},  # a consent id where a licence id belongs
        {"studio_id": "x"},
        [("action", "consent.granted"), ("action", "consent.withdrawn")],
    ):
        assert problem(params)["code"] == "invalid_filter_value", params
    if path == "/v1/audit/export":
        assert problem({"format": "xml"})["code"] == "invalid_filter_value"


def test_the_action_vocabulary_is_listed_in_the_auditor_guide() -> None:
    guide = (Path(__file__).parents[2] / "docs" / "auditors.md").read_text()
    missing = [a.value for a in Action if f"`{a.value}`" not in guide]
    assert missing == []


def test_export_has_no_personal_data_in_its_subject_index(story: dict[str, Any], app: Any) -> None:
    from sqlalchemy import text

    with app.state.services.engine.connect() as conn:
        refs = conn.execute(text("SELECT kind, ref FROM audit_event_subject")).all()
    assert refs
    assert all(kind.endswith("_id") and "_" in ref and " " not in ref for kind, ref in refs)
    assert json.dumps([list(r) for r in refs]).count("Imogen") == 0


def test_the_migration_indexes_events_recorded_before_it(
    story: dict[str, Any], app: Any, database_url: str
) -> None:
    """Downgrade below 0017 and upgrade again: the index rebuilt from the stored events is the
    one recorded with them."""
    from sqlalchemy import text

    from consent_service import migrations

    query = text("SELECT kind, ref, seq FROM audit_event_subject ORDER BY seq, kind, ref")
    engine = app.state.services.engine
    with engine.connect() as conn:
        recorded = conn.execute(query).all()
    engine.dispose()
    migrations.downgrade(database_url, "0016")  # to just before the subject index (0017)
    migrations.upgrade(database_url)
    with engine.connect() as conn:
        rebuilt = conn.execute(query).all()
    assert rebuilt == recorded and any(kind == "licence_id" for kind, _, _ in rebuilt)
