"""Identity verification through the portal pages (both backends): the document upload is
stored only with this session's CSRF token, a bad field is refused with nothing stored, the
phrase is shown once and the capture for it opens a case, and withdrawing evidence works."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.conftest import HolderAccount
from tests.portal.conftest import Portal
from tests.vault import media


def _cases(client: TestClient, holder: HolderAccount) -> list[dict]:
    r = client.get(f"/v1/holders/{holder.id}/verifications", headers=holder.headers)
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


def _document(portal: Portal, csrf: str, **fields: str):
    data = {
        "document_type": "passport",
        "issuing_country": "FR",
        "number_last4": "12ab",
        "csrf_token": csrf,
        **fields,
    }
    return portal.http.post(
        "/portal/verification/identity-documents",
        data=data,
        files={"file": ("passport.png", media.png_with_text(), "image/png")},
    )


def test_document_upload_csrf_bad_field_phrase_capture_and_withdraw(
    signed_in: Portal, client: TestClient, holder: HolderAccount
) -> None:
    page = signed_in.get("/portal/verification")
    assert page.status_code == 200 and "Not verified yet" in page.text

    assert _document(signed_in, "forged").status_code == 403
    refused = _document(signed_in, signed_in.csrf, issuing_country="ZZ")
    assert refused.status_code == 422 and "issuing_country" in refused.text
    assert _cases(client, holder) == []

    ok = _document(signed_in, signed_in.csrf)
    assert ok.status_code == 303
    assert ok.headers["location"] == "/portal/verification?done=document"
    (case,) = _cases(client, holder)
    assert case["kind"] == "identity_document" and case["details"]["number_last4"] == "12AB"

    phrase_page = signed_in.submit("/portal/verification/challenge")
    assert phrase_page.status_code == 200
    phrase = re.search(r'id="challenge-phrase">([a-z ]+)<', phrase_page.text)
    challenge_id = re.search(r'name="challenge_id" value="([^"]+)"', phrase_page.text)
    assert phrase and len(phrase.group(1).split()) == 6 and challenge_id
    capture = signed_in.http.post(
        "/portal/verification/captures",
        data={"challenge_id": challenge_id.group(1), "csrf_token": signed_in.csrf},
        files={"file": ("me.wav", media.wav_with_info(), "audio/wav")},
    )
    assert capture.status_code == 303, capture.text
    # The phrase works once: a second capture for it is refused and stores nothing.
    again = signed_in.http.post(
        "/portal/verification/captures",
        data={"challenge_id": challenge_id.group(1), "csrf_token": signed_in.csrf},
        files={"file": ("me.wav", media.wav_with_info(), "audio/wav")},
    )
    assert again.status_code == 409
    assert sorted(c["kind"] for c in _cases(client, holder)) == ["identity_document", "liveness"]

    withdrawn = signed_in.submit(f"/portal/verification/{case['id']}/withdraw")
    assert withdrawn.status_code == 303
    assert {c["id"]: c["status"] for c in _cases(client, holder)}[case["id"]] == "withdrawn"
    assert (
        signed_in.submit(f"/portal/verification/{case['id']}/withdraw", csrf=False).status_code
        == 403
    )
