"""Every right in the portal, in Chromium: suspend and resume, withdraw after one confirmation
(which offers suspend), a licence read in words, the data export as a download, references and
representatives seen and removed, and erasure after a confirmation that names what goes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import HolderAccount, Org
from tests.e2e.helpers import sign_in, studio_asks
from tests.licences.conftest import licence_scope
from tests.vault import media


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(accept_downloads=True)
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def consent_with_licence(
    live_server: str, page: Any, holder: HolderAccount, studio: Org, project: str
) -> tuple[str, dict[str, Any]]:
    req = studio_asks(live_server, studio, holder.id, project=project)
    page.goto(f"{live_server}/portal/requests/{req['id']}")
    page.get_by_label("Type your full name to sign").fill("Imogen Testperson")
    page.get_by_role("button", name="I consent").click()
    page.wait_for_url(f"{live_server}/portal/consents/*")
    consent_id = page.url.split("/")[-1].split("?")[0]
    r = httpx.post(
        f"{live_server}/v1/licences",
        json={"consent_id": consent_id, "scope": licence_scope(purposes=["film_tv"])},
        headers=studio.headers,
    )
    assert r.status_code == 201, r.text
    return consent_id, r.json()


def licence_status(live_server: str, studio: Org, licence_id: str) -> str:
    r = httpx.get(f"{live_server}/v1/licences/{licence_id}", headers=studio.headers)
    return str(r.json()["status"])


def test_suspend_resume_then_withdraw_after_one_confirmation(
    live_server: str, page: Any, holder: HolderAccount, studio: Org
) -> None:
    sign_in(page, live_server, holder)
    consent_id, licence = consent_with_licence(live_server, page, holder, studio, "Low Tide")
    page.reload()

    # The licence, in words.
    page.get_by_role("link", name=licence["id"]).click()
    allows = page.locator("#licence-allows").inner_text()
    assert "may use your face for film and television." in allows
    assert "It may be shown in streaming services, in United Kingdom." in allows
    page.get_by_role("link", name="The consent it was issued under").click()

    page.get_by_role("button", name="Suspend consent").click()
    page.wait_for_url(f"{live_server}/portal/consents/{consent_id}?done=suspended")
    assert page.locator("#consent-status").inner_text() == "suspended"
    assert licence_status(live_server, studio, licence["id"]) == "suspended"
    page.get_by_role("button", name="Resume consent").click()
    page.wait_for_url(f"{live_server}/portal/consents/{consent_id}?done=resumed")
    assert page.locator("#consent-status").inner_text() == "active"
    assert licence_status(live_server, studio, licence["id"]) == "active"

    # Withdraw asks once, says what happens, and offers suspending instead.
    page.get_by_role("link", name="Withdraw consent").click()
    page.wait_for_url(f"{live_server}/portal/consents/{consent_id}/withdraw")
    text = page.locator("main").inner_text()
    assert "cannot be undone" in text and "The 1 licence issued under this consent" in text
    page.get_by_role("button", name="Suspend instead").click()
    page.wait_for_url(f"{live_server}/portal/consents/{consent_id}?done=suspended")
    page.get_by_role("link", name="Withdraw consent").click()
    page.get_by_role("button", name="Yes, withdraw my consent").click()
    page.wait_for_url(f"{live_server}/portal/consents/{consent_id}?done=withdrawn")
    assert page.locator("#consent-status").inner_text() == "withdrawn"
    assert licence_status(live_server, studio, licence["id"]) == "revoked"
    assert page.get_by_role("link", name="Withdraw consent").count() == 0


def test_export_download_references_representatives_and_erasure(
    live_server: str, page: Any, holder: HolderAccount, studio: Org, tmp_path: Path
) -> None:
    sign_in(page, live_server, holder)
    consent_id, licence = consent_with_licence(live_server, page, holder, studio, "Salt Road")

    # A reference uploaded from the browser: cleaned of its GPS tag and stored.
    page.goto(f"{live_server}/portal/account")
    page.get_by_role("link", name="Your references").click()
    page.get_by_label("What it shows").select_option("face")
    page.get_by_label("File").set_input_files(
        {"name": "me.jpg", "mimeType": "image/jpeg", "buffer": media.jpeg_with_gps()}
    )
    page.get_by_role("button", name="Upload").click()
    page.wait_for_url(f"{live_server}/portal/references?done=uploaded")
    listed = httpx.get(f"{live_server}/v1/holders/{holder.id}/references", headers=holder.headers)
    (ref,) = listed.json()["items"]
    assert "exif.gps" in ref["stripped_metadata"]
    # The same upload without this session's CSRF token stores nothing.
    forged = page.context.request.post(
        f"{live_server}/portal/references",
        multipart={
            "attribute": "voice",
            "csrf_token": "forged",
            "file": {"name": "v.wav", "mimeType": "audio/wav", "buffer": media.wav_with_info()},
        },
    )
    assert forged.status == 403
    again = httpx.get(f"{live_server}/v1/holders/{holder.id}/references", headers=holder.headers)
    assert len(again.json()["items"]) == 1

    # A representative added in the browser can sign in.
    page.goto(f"{live_server}/portal/representatives")
    page.get_by_label("They are your").select_option("agent")
    page.get_by_label("Their name").fill("Ann Agent")
    page.get_by_label("Their email").fill("ann-agent@example.org")
    page.get_by_label("A password for their sign-in").fill("short")
    page.locator("form[action='/portal/representatives']").evaluate("f => f.noValidate = true")
    page.get_by_role("button", name="Add this person").click()
    assert "at least 12 characters" in page.get_by_role("alert").inner_text()
    page.get_by_label("A password for their sign-in").fill("representative passphrase")
    page.get_by_label("Kind of document").select_option("agency_agreement")
    page.get_by_label("Its number or reference").fill("AG-1")
    page.get_by_label("Issued by").fill("Agency")
    page.get_by_label("Issued on").fill("2026-01-01")
    page.get_by_role("button", name="Add this person").click()
    page.wait_for_url(f"{live_server}/portal/representatives?done=added")
    rep_token = httpx.post(
        f"{live_server}/v1/auth/token",
        data={
            "grant_type": "password",
            "username": "ann-agent@example.org",
            "password": "representative passphrase",
        },
    )
    assert rep_token.status_code == 200, rep_token.text
    reps = httpx.get(
        f"{live_server}/v1/holders/{holder.id}/representatives", headers=holder.headers
    )
    (rep,) = reps.json()["items"]

    # The export downloads as a file holding this holder's data.
    page.goto(f"{live_server}/portal/account")
    with page.expect_download() as info:
        page.get_by_role("button", name="Download my data").click()
    download = info.value
    assert download.suggested_filename == f"holder-export-{holder.id}.json"
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    exported = json.loads(target.read_text())
    assert exported["holder"]["id"] == holder.id

    # Representatives: listed, revoked; their sign-in stops working.
    page.get_by_role("link", name="People who act for you").click()
    assert "Ann Agent" in page.locator(f"#rep-{rep['id']}").inner_text()
    page.get_by_role("button", name="Revoke Ann Agent").click()
    page.wait_for_url(f"{live_server}/portal/representatives?done=revoked")
    assert page.locator(f"#rep-{rep['id']}").count() == 0
    token = httpx.post(
        f"{live_server}/v1/auth/token",
        data={
            "grant_type": "password",
            "username": "ann-agent@example.org",
            "password": "representative passphrase",
        },
    )
    # A revoked representative's login no longer signs in (RFC 6749: 400 invalid_grant).
    assert token.status_code == 400 and token.json()["error"] == "invalid_grant"

    # References: listed, deleted.
    page.goto(f"{live_server}/portal/references")
    ref_id = ref["id"]
    assert "face" in page.locator(f"#ref-{ref_id}").inner_text()
    page.locator(f"#ref-{ref_id}").get_by_role("button").click()
    page.wait_for_url(f"{live_server}/portal/references?done=deleted")
    assert page.locator(f"#ref-{ref_id}").count() == 0
    gone = httpx.get(f"{live_server}/v1/references/{ref_id}/content", headers=holder.headers)
    assert gone.status_code == 404

    # Erasure: the confirmation names what goes; without the box ticked nothing happens.
    page.goto(f"{live_server}/portal/account")
    page.get_by_role("link", name="Erase my account and my data").click()
    listed = page.locator("#erase-list").inner_text()
    assert "Your 1 open consent is withdrawn" in listed
    assert "email address" in listed and "reference" in listed
    refused = page.context.request.post(
        f"{live_server}/portal/account/erase",
        form={"csrf_token": page.locator("input[name=csrf_token]").last.input_value()},
    )
    assert refused.status == 422 and "Nothing was erased" in refused.text()
    assert httpx.get(f"{live_server}/v1/holders/me", headers=holder.headers).status_code == 200
    page.get_by_label("I understand that this erases my account").check()
    page.get_by_role("button", name="Erase my account").click()
    page.get_by_role("heading", name="Your account is erased").wait_for()
    assert licence_status(live_server, studio, licence["id"]) == "revoked"
    assert httpx.get(f"{live_server}/v1/holders/me", headers=holder.headers).status_code == 401
    page.goto(f"{live_server}/portal")
    assert page.url.startswith(f"{live_server}/portal/login")
