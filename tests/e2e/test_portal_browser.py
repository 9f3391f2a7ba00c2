"""A holder, in a real browser, reads a notice, consents, sees it active, withdraws, and keeps
the signed receipt — against the app served by uvicorn (`live_server`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from consent_service.consents.receipts import RECEIPT_TYP
from consent_service.crypto import signing
from tests.conftest import HolderAccount, Org
from tests.licences.conftest import grant_terms, licence_scope

SCREENSHOT = Path("/tmp/portal-notice.png")


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(accept_downloads=True)
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


@pytest.fixture
def new_page(browser: Any) -> Iterator[Callable[[], Any]]:
    contexts: list[Any] = []

    def make() -> Any:
        context = browser.new_context(accept_downloads=True)
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def studio_asks(live_server: str, studio: Org, holder_id: str, **terms: Any) -> dict[str, Any]:
    r = httpx.post(
        f"{live_server}/v1/consent-requests",
        json={"holder_id": holder_id, "terms": grant_terms(**terms)},
        headers=studio.headers,
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def sign_in(page: Any, live_server: str, account: HolderAccount) -> None:
    page.goto(f"{live_server}/portal")
    assert page.url.startswith(f"{live_server}/portal/login")
    page.get_by_label("Email").fill(account.email)
    page.get_by_label("Password").fill(account.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server}/portal")


def test_a_holder_consents_then_withdraws_in_the_browser_and_keeps_a_valid_receipt(
    live_server: str, page: Any, holder: HolderAccount, studio: Org, tmp_path: Path
):
    req = studio_asks(live_server, studio, holder.id, project="Night Train")
    sign_in(page, live_server, holder)

    # The pending request is on the home page; the notice is shown exactly as it was hashed.
    page.get_by_role("link", name="Night Train").click()
    page.wait_for_url(f"{live_server}/portal/requests/{req['id']}")
    assert page.locator("#notice-text").text_content() == req["notice"]["text"]
    assert page.locator("#notice-sha256").text_content() == req["notice"]["sha256"]
    page.screenshot(path=str(SCREENSHOT), full_page=True)

    page.get_by_label("Type your full name to sign").fill("Imogen Testperson")
    page.get_by_role("button", name="I consent").click()
    page.wait_for_url(f"{live_server}/portal/consents/*")
    consent_id = page.url.split("/")[-1].split("?")[0]
    assert page.locator("#consent-status").text_content() == "active"

    # The studio takes a licence under it; the holder sees it active.
    r = httpx.post(
        f"{live_server}/v1/licences",
        json={"consent_id": consent_id, "scope": licence_scope()},
        headers=studio.headers,
    )
    assert r.status_code == 201, r.text
    licence = r.json()
    page.reload()
    row = page.locator("tr", has_text=licence["id"])
    assert row.locator(".status").text_content() == "active"

    # Withdrawing asks once; the page then says so and the licence is revoked.
    page.get_by_role("link", name="Withdraw consent").click()
    page.get_by_role("button", name="Yes, withdraw my consent").click()
    page.wait_for_url(f"{live_server}/portal/consents/{consent_id}?done=withdrawn")
    assert page.locator("#consent-status").text_content() == "withdrawn"
    assert page.get_by_role("status").text_content().startswith("You withdrew this consent.")
    assert page.locator("tr", has_text=licence["id"]).locator(".status").text_content() == (
        "revoked"
    )
    assert page.get_by_role("link", name="Withdraw consent").count() == 0

    # The signed receipt downloads as a file and verifies against the public key set.
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download the signed receipt").click()
    download = download_info.value
    assert download.suggested_filename == f"{consent_id}-receipt.jws"
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    keys = signing.keys_from_jwks(httpx.get(f"{live_server}/.well-known/jwks.json").json())
    _header, claims = signing.verify(target.read_text(), keys=keys, typ=RECEIPT_TYP)
    assert claims["iso27560"]["record_id"] == consent_id
    assert claims["consent_state"] == "withdrawn"


def test_a_form_post_without_the_csrf_token_is_refused(
    live_server: str, page: Any, holder: HolderAccount, studio: Org
):
    req = studio_asks(live_server, studio, holder.id)
    sign_in(page, live_server, holder)
    # The browser's own cookies go with it (same context); only the CSRF token is missing.
    r = page.context.request.post(
        f"{live_server}/portal/requests/{req['id']}/accept",
        form={"notice_sha256": req["notice"]["sha256"], "signed_name": "Imogen Testperson"},
        max_redirects=0,
    )
    assert r.status == 403
    assert "did not come from this site" in r.text()
    state = httpx.get(f"{live_server}/v1/consent-requests/{req['id']}", headers=holder.headers)
    assert state.json()["status"] == "pending"


def test_another_holder_cannot_open_the_first_holders_request(
    live_server: str,
    new_page: Callable[[], Any],
    holder: HolderAccount,
    register_holder: Callable[..., HolderAccount],
    studio: Org,
):
    req = studio_asks(live_server, studio, holder.id)
    someone = register_holder()
    page = new_page()
    sign_in(page, live_server, someone)
    response = page.goto(f"{live_server}/portal/requests/{req['id']}")
    assert response is not None and response.status == 404
    assert page.get_by_role("heading", level=1).text_content() == "Not found"
    assert req["notice"]["text"][:40] not in page.content()
