"""The auditor's pages over HTTP (both databases): who may open them, signing in with and
without a second factor, bad filters said in the page, the export, reads on the log.

The browser tests (tests/e2e/test_portal_auditor.py) check what a person sees; these check
the authorisation and the answers, on SQLite and PostgreSQL."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from consent_service.config import Settings
from tests.auditors.conftest import AuditorPerson, enable_totp, next_code, wrong_code
from tests.conftest import HolderAccount
from tests.licences.conftest import Grant
from tests.portal.conftest import Portal, hidden_field

AUDITOR_PAGES = (
    "/portal/audit",
    "/portal/audit/events/0",
    "/portal/audit/checkpoints",
    "/portal/audit/activity",
    "/portal/audit/activity.svg",
    "/portal/audit/export",
)


def auditor_login(portal: Portal, person: AuditorPerson, **extra: str):  # type: ignore[no-untyped-def]
    return portal.login(
        person.email,
        person.password,
        login_path="/portal/audit/login",
        home_path="/portal/audit",
        **extra,
    )


@pytest.fixture
def auditor_portal(
    open_portal: Callable[..., Portal], make_auditor: Callable[..., AuditorPerson]
) -> Portal:
    portal = open_portal()
    r = auditor_login(portal, make_auditor())
    assert r.status_code == 303 and r.headers["location"] == "/portal/audit", r.text
    return portal


@pytest.mark.parametrize("path", AUDITOR_PAGES)
def test_no_session_is_sent_to_the_auditor_login(
    open_portal: Callable[..., Portal], path: str
) -> None:
    r = open_portal().get(path)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/portal/audit/login")


@pytest.mark.parametrize("path", AUDITOR_PAGES)
def test_a_holder_session_opens_no_auditor_page(signed_in: Portal, path: str) -> None:
    assert signed_in.get("/portal").status_code == 200  # the holder's own session works
    r = signed_in.get(path)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/portal/audit/login")
    # ... and the auditor login form does not treat the holder as signed in.
    assert signed_in.get("/portal/audit/login").status_code == 200


def test_an_auditor_session_opens_no_holder_page(auditor_portal: Portal) -> None:
    for path in ("/portal", "/portal/account"):
        r = auditor_portal.get(path)
        assert r.status_code == 303, path
        assert r.headers["location"].startswith("/portal/login"), path
    assert auditor_portal.get("/portal/audit").status_code == 200


def test_a_holder_cannot_sign_in_on_the_auditor_form(
    open_portal: Callable[..., Portal], holder: HolderAccount
) -> None:
    portal = open_portal()
    r = portal.login(holder.email, holder.password, login_path="/portal/audit/login")
    assert r.status_code == 403
    assert "for auditors" in r.text
    assert "consent_portal" not in r.cookies


def test_an_auditor_cannot_sign_in_on_the_holder_form(
    open_portal: Callable[..., Portal], make_auditor: Callable[..., AuditorPerson]
) -> None:
    person = make_auditor()
    r = open_portal().login(person.email, person.password)
    assert r.status_code == 403


def test_sign_in_with_totp_asks_for_the_code_and_refuses_a_wrong_one(
    client: TestClient,
    open_portal: Callable[..., Portal],
    make_auditor: Callable[..., AuditorPerson],
) -> None:
    person = make_auditor()
    secret = enable_totp(client, person)
    portal = open_portal()
    r = auditor_login(portal, person)
    assert r.status_code == 401 and "second factor" in r.text
    r = auditor_login(portal, person, totp=wrong_code(secret))
    assert r.status_code == 401 and "code is not correct" in r.text
    assert portal.get("/portal/audit").status_code == 303  # still signed out
    r = auditor_login(portal, person, totp=next_code(secret))
    assert r.status_code == 303
    assert portal.get("/portal/audit").status_code == 200


def test_sign_out_ends_the_session(auditor_portal: Portal) -> None:
    token = auditor_portal.http.cookies["consent_portal"]
    r = auditor_portal.submit("/portal/audit/logout")
    assert r.status_code == 303 and "signed_out" in r.headers["location"]
    auditor_portal.http.cookies.set("consent_portal", token, path="/portal")
    assert auditor_portal.get("/portal/audit").status_code == 303  # the token was revoked
    r = auditor_portal.http.get(
        "/v1/audit/checkpoint", headers={"Authorization": f"Bearer {token}"}
    )
    assert r.status_code == 401


def test_sign_out_without_the_csrf_token_is_refused(auditor_portal: Portal) -> None:
    r = auditor_portal.submit("/portal/audit/logout", csrf=False)
    assert r.status_code == 403
    assert auditor_portal.get("/portal/audit").status_code == 200


@pytest.mark.parametrize(
    ("query", "said"),
    [
        ("action=consent.withdrawm", "unknown action"),
        ("licence_id=cns_abc", "licence_id must be an id of the form lic_"),
        ("from=yesterday", "from must be an RFC 3339 time"),
        ("studio=org_abc", "unknown query parameter"),
    ],
)
def test_a_bad_filter_is_said_in_the_page(auditor_portal: Portal, query: str, said: str) -> None:
    r = auditor_portal.get(f"/portal/audit?{query}")
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("text/html")
    assert said in r.text
    assert 'id="filter-error"' in r.text
    r = auditor_portal.get(f"/portal/audit/export?{query}&format=csv")
    assert r.status_code == 422 and said in r.text


def test_search_filters_and_the_export_match_the_api(
    client: TestClient,
    auditor_portal: Portal,
    make_auditor: Callable[..., AuditorPerson],
    grant: Grant,
) -> None:
    consent_id = grant.id
    r = auditor_portal.get(f"/portal/audit?consent_id={consent_id}&action=consent.granted")
    assert r.status_code == 200
    api = client.get(
        f"/v1/audit/events?consent_id={consent_id}&action=consent.granted",
        headers=make_auditor().headers,
    ).json()["items"]
    assert len(api) == 1
    assert f'href="/portal/audit/events/{api[0]["seq"]}"' in r.text
    assert r.text.count('href="/portal/audit/events/') == 1
    r = auditor_portal.get(f"/portal/audit/export?consent_id={consent_id}&format=jsonl")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/jsonl")
    lines = [json.loads(line) for line in r.text.splitlines()]
    assert [line["seq"] for line in lines[:-1]] == [
        e["seq"]
        for e in client.get(
            f"/v1/audit/events?consent_id={consent_id}", headers=make_auditor().headers
        ).json()["items"]
    ]
    assert all("inclusion_proof" in line for line in lines[:-1])
    assert "checkpoint" in lines[-1]


def test_event_page_reads_are_on_the_log(
    client: TestClient, auditor_portal: Portal, grant: Grant, admin_headers: dict[str, str]
) -> None:
    seq = client.get(
        f"/v1/audit/events?consent_id={grant.id}&action=consent.granted", headers=admin_headers
    ).json()["items"][0]["seq"]
    page = auditor_portal.get(f"/portal/audit/events/{seq}")
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    assert (
        "script-src 'self'" in csp and "connect-src 'self'" in csp and "default-src 'none'" in csp
    )
    assert "verified" in page.text and "does not verify</strong>" not in page.text
    reads = client.get("/v1/audit/events?action=auditor.read", headers=admin_headers).json()[
        "items"
    ]
    assert reads, "the event page read the consent it names: an auditor.read event"
    assert {"kind": "consent", "ids": [grant.id]} in reads[-1]["event"]["payload"]["reads"]
    assert auditor_portal.get("/portal/audit/events/999999").status_code == 404
    assert auditor_portal.get("/portal/audit/events/-1").status_code in (404, 422)


def test_static_files_and_chart_are_served_without_external_script(
    auditor_portal: Portal, settings: Settings
) -> None:
    js = auditor_portal.get("/portal/static/audit_proof.js")
    assert js.status_code == 200 and "crypto.subtle" in js.text
    svg = auditor_portal.get("/portal/audit/activity.svg?days=7")
    assert svg.status_code == 200 and svg.headers["content-type"] == "image/svg+xml"
    assert "<script" not in svg.text and "<title" in svg.text and "<desc" in svg.text
    page = auditor_portal.get("/portal/audit/activity?days=7")
    assert "<script" not in page.text
    assert hidden_field(page.text, "csrf_token") == auditor_portal.csrf


def test_search_pages_through_the_log(
    client: TestClient, auditor_portal: Portal, admin_headers: dict[str, str]
) -> None:
    for i in range(55):  # each creation is an event of the log
        r = client.post(
            "/v1/organizations", json={"name": f"Org {i}", "kind": "studio"}, headers=admin_headers
        )
        assert r.status_code == 201, r.text
    wanted = [
        e["seq"]
        for e in client.get(
            "/v1/audit/events",
            params={"action": "organization.created", "limit": 1000},
            headers=admin_headers,
        ).json()["items"]
    ]
    assert len(wanted) > 55
    seen: list[int] = []
    url: str | None = "/portal/audit?action=organization.created"
    while url:
        page = auditor_portal.get(url)
        assert page.status_code == 200
        rows = re.findall(r'href="/portal/audit/events/(\d+)"', page.text)
        assert 0 < len(rows) <= 50
        seen += [int(s) for s in rows]
        found = re.search(r'href="([^"]+)" rel="next"', page.text)
        url = html.unescape(found.group(1)) if found else None
    assert seen == wanted
