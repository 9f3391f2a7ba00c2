"""The PDF consent receipt: what the receipt page shows, read back out of the PDF with pypdf.

A holder with an accented name signs through the portal (HTTP level, like a browser); the PDF
must name who signed, the signed name, what was agreed, the notice fingerprint and how to
check the signature, with the Unicode names intact. Only the holder gets it.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from pypdf import PdfReader

from tests.conftest import HolderAccount, Org
from tests.portal.conftest import Portal
from tests.portal.test_portal_choices import CHOICES, _post_accept


def _text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_the_pdf_receipt_carries_the_facts_of_the_receipt_page_in_unicode(
    client: TestClient,
    open_portal: Callable[..., Portal],
    register_holder: Callable[..., HolderAccount],
    make_org: Callable[..., Org],
    ask: Callable[..., dict[str, Any]],
):
    holder = register_holder(legal_name="José Ñúñez", stage_name="Zoë")
    studio = make_org("studio", name="Études Zoë Ltd")
    portal = open_portal()
    assert portal.login(holder.email, holder.password).status_code == 303
    req = ask(
        holder.id,
        studio,
        project="Ñandú: the Zoë story",
        purposes=["film_tv", "advertising", "ai_training"],
        optional=CHOICES,
    )
    r = _post_accept(portal, req["id"], ["media:theatrical"], name="José Ñúñez")
    assert r.status_code == 303, r.text
    consent_id = r.headers["location"].split("/")[-1].split("?")[0]

    page = portal.get(f"/portal/consents/{consent_id}/receipt/view")
    assert f'href="/portal/consents/{consent_id}/receipt/pdf"' in page.text

    r = portal.get(f"/portal/consents/{consent_id}/receipt/pdf")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"] == f'attachment; filename="{consent_id}-receipt.pdf"'
    assert r.headers["cache-control"] == "no-store"
    assert r.content.startswith(b"%PDF-")
    text = _text(r.content)
    receipt = client.get(f"/v1/consents/{consent_id}/receipt", headers=holder.headers).json()
    # Who signed, and the name they typed, in Unicode.
    assert "Who signed" in text and "the holder, in person" in text
    assert "José Ñúñez" in text
    assert "Études Zoë Ltd" in text and studio.id in text and holder.id in text
    # What was agreed: the project, the uses and places in words, choice by choice.
    assert "Ñandú: the Zoë story" in text
    assert "film and television" in text and "cinemas" in text
    assert "Use: training AI models" in text and "No" in text
    # How to check: the notice fingerprint, the receipt's id, the signing key and the keys' URL.
    assert req["notice"]["sha256"] in text
    header = json.loads(base64.urlsafe_b64decode(receipt["receipt"].split(".")[0] + "=="))
    assert receipt["claims"]["consentReceiptID"] in text and header["kid"] in text
    assert "/.well-known/jwks.json" in text and "ES256" in text


def test_only_the_holder_gets_the_pdf(
    open_portal: Callable[..., Portal],
    signed_in: Portal,
    holder: HolderAccount,
    register_holder: Callable[..., HolderAccount],
    ask: Callable[..., dict[str, Any]],
):
    req = ask(holder.id)
    r = _post_accept(signed_in, req["id"], [])
    consent_id = r.headers["location"].split("/")[-1].split("?")[0]
    assert signed_in.get(f"/portal/consents/{consent_id}/receipt/pdf").status_code == 200

    other = register_holder()
    someone_else = open_portal()
    assert someone_else.login(other.email, other.password).status_code == 303
    r = someone_else.get(f"/portal/consents/{consent_id}/receipt/pdf")
    assert r.status_code == 404 and not r.content.startswith(b"%PDF")
    assert signed_in.get("/portal/consents/cns_nope/receipt/pdf").status_code == 404
    # Not signed in: to the sign-in page, nothing of the receipt.
    r = open_portal().get(f"/portal/consents/{consent_id}/receipt/pdf")
    assert r.status_code == 303 and r.headers["location"].startswith("/portal/login")
