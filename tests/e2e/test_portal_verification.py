"""Identity verification in the portal, in Chromium: the level in words, an identity document
uploaded from the browser, a rejection with its reason and what to do, a phrase then the live
recording, withdrawing evidence; a forged CSRF token stores nothing; axe-core finds nothing,
at desktop width and at 360 px."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.conftest import HolderAccount
from tests.e2e.a11y import check_page
from tests.e2e.helpers import sign_in
from tests.vault import media


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def _verifier_headers(client: TestClient, admin_headers: dict[str, str]) -> dict[str, str]:
    r = client.post(
        "/v1/verifiers",
        json={"name": "Vera Verifier", "email": "vera@registry.example"},
        headers=admin_headers,
    )
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['key']}"}


def _cases(live_server: str, holder: HolderAccount) -> list[dict[str, Any]]:
    r = httpx.get(f"{live_server}/v1/holders/{holder.id}/verifications", headers=holder.headers)
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


def _level(live_server: str, holder: HolderAccount) -> str:
    r = httpx.get(f"{live_server}/v1/holders/{holder.id}/assurance", headers=holder.headers)
    return str(r.json()["assurance"])


def _upload_document(page: Any, last4: str) -> None:
    page.get_by_label("Kind of document").select_option("passport")
    page.get_by_label("Country that issued it").select_option("FR")
    page.get_by_label("Last 4 letters or digits of its number").fill(last4)
    page.get_by_label("Photo of the document").set_input_files(
        {"name": "passport.png", "mimeType": "image/png", "buffer": media.png_with_text()}
    )
    page.get_by_role("button", name="Upload the document").click()
    page.wait_for_url("**/portal/verification?done=document")


def test_document_rejection_retry_phrase_capture_and_withdraw(
    live_server: str,
    page: Any,
    holder: HolderAccount,
    client: TestClient,
    admin_headers: dict[str, str],
) -> None:
    verifier = _verifier_headers(client, admin_headers)
    sign_in(page, live_server, holder)
    page.goto(f"{live_server}/portal/account")
    page.get_by_role("link", name="Verify your identity").click()
    page.wait_for_url(f"{live_server}/portal/verification")
    assert page.locator("#assurance-level").inner_text() == "Not verified yet"
    check_page(page, "verification-empty")

    # A forged CSRF token on the streamed upload: refused, nothing stored.
    forged = page.context.request.post(
        f"{live_server}/portal/verification/identity-documents",
        multipart={
            "document_type": "passport",
            "issuing_country": "FR",
            "number_last4": "1234",
            "csrf_token": "forged",
            "file": {"name": "p.png", "mimeType": "image/png", "buffer": media.png_with_text()},
        },
    )
    assert forged.status == 403
    assert _cases(live_server, holder) == []

    # The document, uploaded from the browser: a pending identity_document case.
    _upload_document(page, "12ab")
    (case,) = _cases(live_server, holder)
    assert case["kind"] == "identity_document" and case["status"] == "pending"
    assert case["details"]["number_last4"] == "12AB"
    assert case["details"]["issuing_country"] == "FR"
    assert "Waiting for review" in page.locator(f"#case-{case['id']}").inner_text()

    # Rejected: the page says why and what to do.
    r = httpx.post(
        f"{live_server}/v1/verifications/{case['id']}/reject",
        json={"reason": "The photo is blurred: the name cannot be read."},
        headers=verifier,
    )
    assert r.status_code == 200, r.text
    page.reload()
    rejected = page.locator(f"#case-{case['id']}").inner_text()
    assert "Rejected" in rejected
    assert "The photo is blurred: the name cannot be read." in rejected
    assert "What to do: Upload a new, sharp photo" in rejected
    check_page(page, "verification-rejected")

    # A second try, approved: the level goes up.
    _upload_document(page, "9876")
    second = next(c for c in _cases(live_server, holder) if c["status"] == "pending")
    r = httpx.post(
        f"{live_server}/v1/verifications/{second['id']}/approve",
        json={"reason": "matches"},
        headers=verifier,
    )
    assert r.status_code == 200, r.text
    page.reload()
    assert page.locator("#assurance-level").inner_text() == "Identity document checked"

    # The phrase, shown once, then the recording of it.
    page.get_by_role("button", name="Get a phrase to say").click()
    phrase = page.locator("#challenge-phrase").inner_text()
    assert len(phrase.split()) == 6
    check_page(page, "verification-phrase")
    page.get_by_label("Your recording").set_input_files(
        {"name": "me.wav", "mimeType": "audio/wav", "buffer": media.wav_with_info()}
    )
    page.get_by_role("button", name="Upload the recording").click()
    page.wait_for_url(f"{live_server}/portal/verification?done=capture")
    liveness = next(c for c in _cases(live_server, holder) if c["kind"] == "liveness")
    assert liveness["status"] == "pending"
    r = httpx.post(
        f"{live_server}/v1/verifications/{liveness['id']}/approve",
        json={"reason": "heard it", "heard_phrase": phrase},
        headers=verifier,
    )
    assert r.status_code == 200, r.text
    page.reload()
    assert (
        page.locator("#assurance-level").inner_text()
        == "Identity document and live recording checked"
    )
    assert _level(live_server, holder) == "liveness_verified"

    # Withdrawing the approved document lowers the level.
    page.locator(f"#case-{second['id']}").get_by_role("button", name="Withdraw").click()
    page.wait_for_url(f"{live_server}/portal/verification?done=withdrawn")
    assert _level(live_server, holder) == "self_asserted"
    assert page.locator("#assurance-level").inner_text() == "Not verified yet"


def test_an_image_as_the_recording_is_refused_with_a_message(
    live_server: str, page: Any, holder: HolderAccount
) -> None:
    sign_in(page, live_server, holder)
    page.goto(f"{live_server}/portal/verification")
    page.get_by_role("button", name="Get a phrase to say").click()
    page.get_by_label("Your recording").set_input_files(
        {"name": "me.png", "mimeType": "image/png", "buffer": media.png_with_text()}
    )
    page.get_by_role("button", name="Upload the recording").click()
    page.wait_for_url(f"{live_server}/portal/verification/captures")
    assert page.locator("h1").inner_text() == "That kind of file is not accepted here"
    assert _cases(live_server, holder) == []
    check_page(page, "verification-refused")
