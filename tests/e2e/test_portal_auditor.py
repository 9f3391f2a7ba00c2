"""An auditor's day in Chromium: signs in (with and without a second factor), searches the log
with the export's filters and reads a bad filter's message, downloads the filtered export,
opens an event whose inclusion proof the page's own script recomputes (and sees a tampered
proof refused), reads the kept checkpoint history with its witnesses and the consistency
checks between kept heads (and sees a rewritten log flagged), and the activity chart with its
table.

Every page passes axe at desktop width and at 360 px (tests/e2e/a11y.py keeps the phone
screenshots); desktop screenshots go to CONSENT_E2E_ARTEFACTS like the other browser tests.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any
from xml.etree import ElementTree

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from sqlmodel import Session

from consent_service.config import Settings
from tests.audit.test_offline_verify import _rewrite_event
from tests.audit.test_witness import WITNESS, raw, spec_cosign, spec_vkey
from tests.auditors.conftest import (  # noqa: F401
    AuditorPerson,
    enable_totp,
    make_auditor,
    next_code,
    wrong_code,
)
from tests.e2e.a11y import check_page
from tests.e2e.test_notice_receipt_browser import shot
from tests.licences.conftest import Grant, grant, make_grant  # noqa: F401
from tests.usages.conftest import usage

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def witness_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def settings(settings: Settings, witness_key: Ed25519PrivateKey) -> Settings:
    vkey = spec_vkey(WITNESS, 0x04, raw(witness_key.public_key()))
    return settings.model_copy(update={"audit_witnesses": vkey})


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(accept_downloads=True)
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


@pytest.fixture
def auditor_person(make_auditor: Callable[..., AuditorPerson]) -> AuditorPerson:  # noqa: F811
    return make_auditor()


@pytest.fixture
def activity(
    client: TestClient,
    make_grant: Callable[..., Grant],  # noqa: F811
    holder: Any,
) -> dict[str, Any]:
    """Two consents (one withdrawn), one licence, three usages: made through the API."""
    kept, withdrawn = make_grant(), make_grant()
    r = client.post(f"/v1/consents/{withdrawn.id}/withdraw", headers=holder.headers)
    assert r.status_code == 200, r.text
    r = client.post(
        "/v1/licences",
        json={
            "consent_id": kept.id,
            "scope": {
                "attributes": ["face"],
                "purposes": ["film_tv"],
                "territories": ["GB"],
                "media": ["streaming"],
            },
        },
        headers=kept.studio.headers,
    )
    assert r.status_code == 201, r.text
    licence = r.json()
    r = client.post(
        f"/v1/licences/{licence['id']}/usages",
        json={"usages": [usage(), usage(), usage()]},
        headers=kept.studio.headers,
    )
    assert r.status_code == 201, r.text
    return {"kept": kept, "withdrawn": withdrawn, "licence": licence}


def auditor_signs_in(page: Any, live_server: str, person: AuditorPerson, totp: str = "") -> None:
    page.goto(f"{live_server}/portal/audit")
    assert page.url.startswith(f"{live_server}/portal/audit/login")
    page.get_by_label("Email").fill(person.email)
    page.get_by_label("Password").fill(person.password)
    if totp:
        page.get_by_label("One-time code").fill(totp)
    page.get_by_role("button", name="Sign in").click()


def api_events(client: TestClient, person: AuditorPerson, **filters: str) -> list[dict[str, Any]]:
    r = client.get("/v1/audit/events", params={**filters, "limit": 1000}, headers=person.headers)
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


def test_sign_in_search_bad_filter_and_export(
    client: TestClient,
    live_server: str,
    page: Any,
    auditor_person: AuditorPerson,
    activity: dict[str, Any],
) -> None:
    auditor_signs_in(page, live_server, auditor_person)
    page.wait_for_url(f"{live_server}/portal/audit")
    page.get_by_role("heading", name="Events of the log").wait_for()
    check_page(page, "audit-search")
    shot(page, "audit-search")

    # By keyboard: the consent's id and an action, Enter submits the form.
    consent_id = activity["withdrawn"].id
    page.get_by_label("Consent id").fill(consent_id)
    page.get_by_label("Action").select_option("consent.withdrawn")
    page.get_by_label("Consent id").press("Enter")
    page.wait_for_url("**/portal/audit?*consent_id=*")
    expected = api_events(client, auditor_person, consent_id=consent_id, action="consent.withdrawn")
    assert len(expected) == 1
    rows = page.locator("#events tbody tr")
    assert rows.count() == 1
    assert rows.first.locator("td").nth(2).inner_text() == "consent.withdrawn"
    assert rows.first.locator("a").inner_text() == str(expected[0]["seq"])

    # A bad filter: said in the page, no table, no 500.
    page.get_by_label("Action").select_option("")
    page.get_by_label("Licence id").fill(consent_id)  # a consent id as a licence id
    page.get_by_role("button", name="Search").click()
    alert = page.locator("#filter-error")
    alert.wait_for()
    assert "licence_id must be an id of the form lic_" in alert.inner_text()
    assert page.locator("#events").count() == 0
    check_page(page, "audit-search-bad-filter")

    # The filtered export, from the page's links, with the page's filters.
    page.get_by_label("Licence id").fill("")
    page.get_by_role("button", name="Search").click()
    page.locator("#events").wait_for()
    wanted = [e["seq"] for e in api_events(client, auditor_person, consent_id=consent_id)]
    assert page.locator("#events tbody tr").count() == len(wanted) >= 2
    with page.expect_download() as download_info:
        page.locator("#export-csv").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".csv")
    with open(download.path(), encoding="utf-8", newline="") as handle:
        records = list(csv.reader(handle))
    assert records[0][:3] == ["seq", "leaf_hash", "time"]
    assert [int(r[0]) for r in records[1:-1]] == wanted
    assert all(r[8] for r in records[1:-1]), "a filtered export carries inclusion proofs"
    assert records[-1][0] == "checkpoint"
    checkpoint = json.loads(records[-1][7])
    assert checkpoint["tree_size"] > max(wanted)
    with page.expect_download() as download_info:
        page.locator("#export-jsonl").click()
    with open(download_info.value.path(), encoding="utf-8") as handle:
        lines = [json.loads(line) for line in handle]
    assert [line["seq"] for line in lines[:-1]] == wanted
    assert all(consent_id in json.dumps(line["event"]) for line in lines[:-1])
    assert "checkpoint" in lines[-1]

    # Signing out: the pages ask for the login again.
    page.get_by_role("button", name="Sign out").click()
    page.get_by_text("You are signed out.").wait_for()
    page.goto(f"{live_server}/portal/audit")
    assert page.url.startswith(f"{live_server}/portal/audit/login")


def test_sign_in_with_a_second_factor(
    client: TestClient, live_server: str, page: Any, auditor_person: AuditorPerson
) -> None:
    secret = enable_totp(client, auditor_person)
    auditor_signs_in(page, live_server, auditor_person)
    assert "second factor" in page.get_by_role("alert").inner_text()
    check_page(page, "audit-login-totp-required")
    auditor_signs_in(page, live_server, auditor_person, totp=wrong_code(secret))
    assert "code is not correct" in page.get_by_role("alert").inner_text()
    auditor_signs_in(page, live_server, auditor_person, totp=next_code(secret))
    page.wait_for_url(f"{live_server}/portal/audit")
    page.get_by_role("heading", name="Events of the log").wait_for()


def _verdict(page: Any) -> str:
    page.wait_for_selector("#proof-check[data-state]", state="attached")
    return str(page.locator("#proof-check-result").inner_text())


def test_event_page_checks_the_proof_in_the_browser_and_refuses_a_tampered_one(
    client: TestClient,
    live_server: str,
    page: Any,
    auditor_person: AuditorPerson,
    activity: dict[str, Any],
) -> None:
    consent_id = activity["kept"].id
    (granted,) = api_events(client, auditor_person, consent_id=consent_id, action="consent.granted")
    seq = granted["seq"]
    auditor_signs_in(page, live_server, auditor_person)
    page.wait_for_url(f"{live_server}/portal/audit")
    page.goto(f"{live_server}/portal/audit?consent_id={consent_id}&action=consent.granted")
    page.get_by_role("link", name=f"Event {seq}").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server}/portal/audit/events/{seq}")

    assert _verdict(page) == "verified"
    assert page.locator("#proof-check").get_attribute("data-state") == "verified"
    kid = page.evaluate(
        "() => JSON.parse(atob(document.getElementById('checkpoint-jws')"
        ".textContent.trim().split('.')[0].replace(/-/g, '+').replace(/_/g, '/')"
        " + '==='.slice((document.getElementById('checkpoint-jws').textContent"
        ".trim().split('.')[0].length + 3) % 4))).kid"
    )
    assert f"signed by key {kid}" in page.locator("#proof-check-detail").inner_text()
    assert "verified" in page.locator("#server-check").inner_text()
    # The page shows the event's own bytes and the path the server gives through the API.
    size = int(page.locator("#tree-size").inner_text())
    proof = client.get(
        "/v1/audit/proofs/inclusion",
        params={"seq": seq, "tree_size": size},
        headers=auditor_person.headers,
    ).json()
    shown_path = page.locator("#proof-path code").all_inner_texts()
    assert shown_path == proof["inclusion_proof"] and shown_path
    assert page.locator("#root-hash").inner_text() == proof["root_hash"]
    assert json.loads(page.locator("#event-bytes").inner_text()) == granted["event"]
    # Reading the consent the event names went on the log.
    assert consent_id in page.locator("#records").inner_text()
    reads = api_events(client, auditor_person, action="auditor.read")
    assert any(
        {"kind": "consent", "ids": [consent_id]} in e["event"]["payload"]["reads"] for e in reads
    )
    check_page(page, "audit-event")
    shot(page, "audit-event")

    # The same page with one hash of the path changed on its way to the browser: the
    # script recomputes a different root and says so.
    def tamper(route: Any) -> None:
        response = route.fetch()
        body = response.text()
        found = re.search(r'<ol id="proof-path" class="hashes">\s*<li><code>([0-9a-f]{64})', body)
        assert found
        first = found.group(1)
        flipped = ("0" if first[0] != "0" else "1") + first[1:]
        route.fulfill(response=response, body=body.replace(first, flipped, 1))

    page.route(f"{live_server}/portal/audit/events/{seq}", tamper)
    page.reload()
    assert _verdict(page) == "does not verify"
    assert page.locator("#proof-check").get_attribute("data-state") == "failed"
    assert "the signed checkpoint says" in page.locator("#proof-check-detail").inner_text()
    page.unroute(f"{live_server}/portal/audit/events/{seq}")

    # Event bytes changed instead: the leaf no longer matches.
    def tamper_event(route: Any) -> None:
        response = route.fetch()
        # In the page the bytes are HTML-escaped text: &#34; is a quotation mark.
        granted_text = "&#34;action&#34;:&#34;consent.granted&#34;"
        body = response.text()
        assert granted_text in body
        route.fulfill(
            response=response, body=body.replace(granted_text, granted_text[:-5] + "x&#34;")
        )

    page.route(f"{live_server}/portal/audit/events/{seq}", tamper_event)
    page.reload()
    assert _verdict(page) == "does not verify"
    assert "do not hash to the leaf hash" in page.locator("#proof-check-detail").inner_text()
    page.unroute(f"{live_server}/portal/audit/events/{seq}")

    # A checkpoint whose signature is not the registry's: refused before any hash is compared.
    # (Each page signs a checkpoint afresh: the one to forge is read from the page's answer.)
    def tamper_signature(route: Any) -> None:
        response = route.fetch()
        body = response.text()
        found = re.search(r'id="checkpoint-jws"[^>]*>([^<]+)</pre>', body)
        assert found
        jws = found.group(1).strip()
        head, signature = jws.rsplit(".", 1)
        middle = len(signature) // 2
        swapped = "A" if signature[middle] != "A" else "B"
        forged = f"{head}.{signature[:middle]}{swapped}{signature[middle + 1 :]}"
        route.fulfill(response=response, body=body.replace(jws, forged))

    page.route(f"{live_server}/portal/audit/events/{seq}", tamper_signature)
    page.reload()
    assert _verdict(page) == "does not verify"
    assert "signature does not verify" in page.locator("#proof-check-detail").inner_text()


def _history_rows(page: Any) -> dict[int, list[str]]:
    """The checkpoint history table: {tree size: cells}."""
    rows = page.locator("#history tbody tr")
    cells = [rows.nth(i).locator("td").all_inner_texts() for i in range(rows.count())]
    return {int(c[0]): c for c in cells}


def test_checkpoints_show_the_kept_history_with_witnesses_and_consistency(
    client: TestClient,
    live_server: str,
    page: Any,
    auditor_person: AuditorPerson,
    activity: dict[str, Any],
    witness_key: Ed25519PrivateKey,
) -> None:
    note = client.get(
        "/v1/audit/checkpoint", headers={**auditor_person.headers, "Accept": "text/plain"}
    ).text
    cosignature = spec_cosign(note, WITNESS, witness_key)
    r = client.post(
        "/v1/audit/checkpoint/cosignatures",
        content=(note + cosignature).encode(),
        headers={"Content-Type": "text/plain"},
    )
    assert r.status_code == 201, r.text
    cosigned_size = r.json()["tree_size"]

    auditor_signs_in(page, live_server, auditor_person)
    page.wait_for_url(f"{live_server}/portal/audit")
    page.get_by_role("link", name="Checkpoints").click()
    page.get_by_role("heading", name="Checkpoints and witnesses").wait_for()
    assert WITNESS in page.locator("#witnesses").inner_text()
    latest = int(page.locator("#latest-size").inner_text())
    assert latest > cosigned_size  # the auditor's reads since are on the log
    rows = _history_rows(page)
    # Newest first: the head the page signed now, then the cosigned one it extends.
    assert list(rows)[:2] == [latest, cosigned_size]
    assert rows[latest][3] == "none"
    assert rows[latest][4] == f"verifies from size {cosigned_size}"
    assert rows[cosigned_size][3] == WITNESS
    assert page.locator("#latest-note").inner_text().startswith("testserver/audit-log\n")
    check_page(page, "audit-checkpoints")
    shot(page, "audit-checkpoints")

    # Each kept head links to its signed note, with the witness's cosignature line.
    page.get_by_role("link", name=f"Signed note of tree size {cosigned_size}").click()
    page.wait_for_url(f"{live_server}/portal/audit/checkpoints/{cosigned_size}/note")
    assert page.locator("body").inner_text().strip() == (note + cosignature).strip()


def test_checkpoint_history_pages_and_flags_a_rewritten_log(
    db_session: Session,
    client: TestClient,
    live_server: str,
    page: Any,
    auditor_person: AuditorPerson,
    admin_headers: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from consent_service.portal import auditor as auditor_pages

    monkeypatch.setattr(auditor_pages, "HISTORY_PAGE_SIZE", 2)
    sizes = []
    for n in range(3):
        r = client.post(
            "/v1/organizations", json={"name": f"Org {n}", "kind": "studio"}, headers=admin_headers
        )
        assert r.status_code == 201, r.text
        sizes.append(client.get("/v1/audit/checkpoint", headers=admin_headers).json()["tree_size"])

    auditor_signs_in(page, live_server, auditor_person)
    page.wait_for_url(f"{live_server}/portal/audit")
    page.goto(f"{live_server}/portal/audit/checkpoints")
    latest = int(page.locator("#latest-size").inner_text())
    first = _history_rows(page)
    assert list(first) == [latest, sizes[2]]
    assert first[sizes[2]][4] == f"verifies from size {sizes[1]}"
    page.get_by_role("link", name="Older checkpoints").click()
    page.wait_for_url(f"{live_server}/portal/audit/checkpoints?before={sizes[2]}")
    older = _history_rows(page)
    assert list(older) == [sizes[1], sizes[0]]
    assert older[sizes[1]][4] == f"verifies from size {sizes[0]}"
    check_page(page, "audit-checkpoints-older")
    page.get_by_role("link", name="Newest checkpoints").click()
    page.wait_for_url(f"{live_server}/portal/audit/checkpoints")

    # Someone rewrites one stored event below the kept heads: the log's proofs are computed
    # from what is stored now, so they no longer join the kept roots.
    _rewrite_event(db_session, 1)
    page.reload()
    # The head the page signs now (over the rewritten event) does not extend the one kept
    # before the rewrite. (Older pairs may fail too: their proofs are read from the rewritten
    # events, depending on which subtrees the proof between their sizes uses.)
    rows = _history_rows(page)
    newest, previous = list(rows)[:2]
    assert rows[newest][4] == f"does not verify from size {previous}"
    check_page(page, "audit-checkpoints-rewritten")


def _series_values(svg: bytes) -> dict[str, list[int]]:
    """pygal's SVG: each series is a `g.series` whose bars carry their value in a desc."""
    root = ElementTree.fromstring(svg)
    found: dict[str, list[int]] = {}
    for group in root.iter(f"{SVG}g"):
        classes = (group.get("class") or "").split()
        if "series" not in classes:
            continue
        serie = next(c for c in classes if c.startswith("serie-"))
        values = [
            int(float(d.text or "0")) for d in group.iter(f"{SVG}desc") if d.get("class") == "value"
        ]
        if values:  # the bars' group; the overlays' groups of the same series hold none
            found.setdefault(serie, values)
    return found


def test_activity_chart_and_its_table_count_the_days_events(
    live_server: str, page: Any, auditor_person: AuditorPerson, activity: dict[str, Any]
) -> None:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    auditor_signs_in(page, live_server, auditor_person)
    page.wait_for_url(f"{live_server}/portal/audit")
    page.get_by_role("link", name="Activity").click()
    page.get_by_role("heading", name="Activity per day").wait_for()
    page.get_by_role("link", name="Last 7 days").click()
    page.wait_for_url("**/activity?days=7")
    today = datetime.now(UTC).date().isoformat()
    # What the fixture did today: 2 grants, 1 withdrawal, 1 licence, 3 usages.
    expected = [2, 1, 1, 3]
    row = page.locator("#activity-table tbody tr").last
    assert row.locator("th").inner_text() == today
    assert [int(n) for n in row.locator("td").all_inner_texts()] == expected
    totals = page.locator("#activity-table tfoot td").all_inner_texts()
    assert [int(n) for n in totals] == expected

    image = page.locator("#activity-chart")
    assert page.evaluate("img => img.complete && img.naturalWidth > 0", image.element_handle())
    src = image.get_attribute("src")
    response = page.request.get(f"{live_server}{src}")
    assert response.status == 200 and response.headers["content-type"] == "image/svg+xml"
    svg = response.body()
    assert b"<script" not in svg and b'href="http' not in svg
    root = ElementTree.fromstring(svg)
    assert root.find(f"{SVG}title") is not None and root.find(f"{SVG}desc") is not None
    values = _series_values(svg)
    assert [values[f"serie-{i}"][-1] for i in range(4)] == expected
    assert all(
        len(v) == 7 and sum(v) == n
        for v, n in zip((values[f"serie-{i}"] for i in range(4)), expected, strict=True)
    )
    check_page(page, "audit-activity")
    shot(page, "audit-activity")
    # Each number opens the events it counts.
    page.get_by_role("link", name=f"3 usages recorded on {today}: the events").click()
    page.locator("#events").wait_for()
    actions = page.locator("#events tbody tr td:nth-child(3)").all_inner_texts()
    assert actions == ["usage.recorded"] * 3
    # Nothing the pages loaded came from outside the app.
    assert requested and all(url.startswith(live_server) for url in requested), requested
